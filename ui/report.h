/*
 * report.h - what a finished run tells people: the -v summary on stderr and
 * the --stats-json file (schema in docs/stats.md).
 */
#ifndef RS_REPORT_H
#define RS_REPORT_H

#include <stdio.h>
#include "machine.h"
#include "options.h"

/* One word naming how the run ended ("guest_exit", "triple_fault", ...). */
const char *report_end_name(enum machine_end e);
void report_summary(FILE *f, const struct machine *m, const struct run_options *o);
/* Returns 0, or -1 after printing a one-line error. */
int report_stats_json(const char *path, const struct machine *m,
                      const struct run_options *o, int exit_status);

#endif
