/*
 * ctl_migrate.h - `ringside ctl ADDR migrate VM --to ADDR2 [options]`: the
 * migrate command's words and its report (cmd_ctl.c does the rest).
 */
#ifndef RS_CTL_MIGRATE_H
#define RS_CTL_MIGRATE_H

#include <jansson.h>
#include <stdio.h>

/* The words after "migrate" as KEY=VALUE words (malloc'd, *out_argc of
   them, in *out_argv): VM -> vm=VM, --to A -> to=A, --bandwidth B (bits/s,
   k/M/G suffixes) -> bandwidth=N, --latency US, --max-rounds N,
   --stop-pages N, --to-token-file F (else the ctl's own token file) ->
   token=...; KEY=VALUE words pass through. -1 with a message on stderr. */
int ctl_migrate_words(int argc, char **argv, const char *token_file, int *out_argc,
                      char ***out_argv);
void ctl_migrate_words_free(int argc, char **argv);
/* The migrate reply as a table of rounds and the totals. */
void ctl_migrate_print(FILE *f, json_t *ret);

#endif
