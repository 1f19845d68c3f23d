/*
 * cmd_migrate.h - `ringside migrate`: live migration between two hosts in
 * one process (docs/migration.md). The options, the two hosts, the run to
 * the start point and the report are shared with the TUI's two-host view
 * (`ringside tui --migrate`, tui_mig.h), so both move the same VM at the
 * same instruction and report the same figures.
 */
#ifndef RS_CMD_MIGRATE_H
#define RS_CMD_MIGRATE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "host/migrate.h"
#include "options.h"

#define MIG_CLI_AT_DEFAULT 1000000ull  /* --at: guest instructions before the move */
#define MIG_CLI_TARGET "the second host"   /* the report's "to" */

struct mig_cli {
    uint64_t at;                  /* --at INSNS */
    struct mig_options o;         /* --bandwidth, --latency, --stop-pages, --max-rounds */
    bool json;                    /* --json */
};

int cmd_migrate(int argc, char **argv);

/* Take the migration's options out of argv (the rest are `run` options);
   c must start as { .at = MIG_CLI_AT_DEFAULT }. 0, or -1 with one line on
   stderr prefixed `prog`. */
int mig_cli_take(int *argc, char **argv, struct mig_cli *c, const char *prog);
/* hosts[0] and hosts[1] initialised, the kernel of `o` on hosts[0] as VM 0
   ("vm"). 0, or -1 with err (the hosts are freed). */
int mig_cli_open(struct host hosts[2], struct run_options *o, char *err, size_t errlen);
/* One short slice (~20,000 cycles) of the source towards `at` guest
   instructions: false when the VM is there (or is not runnable). */
bool mig_cli_source_step(struct host *h, int i, uint64_t at);
/* The report: --json's one line of JSON (mig_report_json), or the table. */
void mig_cli_report(FILE *f, bool json, const struct mig_report *rep);

#endif
