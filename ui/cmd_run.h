/*
 * cmd_run.h - `ringside run`: run a kernel headless and report.
 */
#ifndef RS_CMD_RUN_H
#define RS_CMD_RUN_H

#include "options.h"

/* Returns the process exit status (see options.h). */
int cmd_run(int argc, char **argv);
int cmd_run_options(const struct run_options *o);

#endif
