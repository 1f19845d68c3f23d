/*
 * cmd_run.h - `ringside run`: run a kernel headless and report.
 */
#ifndef RS_CMD_RUN_H
#define RS_CMD_RUN_H

#include "options.h"

struct machine;

/* Returns the process exit status (see options.h). */
/* Instructions per machine_run call of a headless run. The TUI's free runs
   stop only at the same boundaries, so it leaves the translation cache where
   a headless run does and gives the same figures (ui/tui_session.c). */
#define CMD_RUN_SLICE 2000000ull
/* ... with --record or --replay, and while standard input has bytes the
   receive FIFO has no room for */
#define CMD_RUN_INPUT_SLICE 20000ull

int cmd_run(int argc, char **argv);
int cmd_run_options(const struct run_options *o);
/* The exit status for how a machine's run ended (options.h); EXIT_INTERNAL
   if it has not ended. */
int cmd_run_exit_status(const struct machine *m);
/* `ringside tc-dump [run options] KERNEL` (cmd_tcdump.c). */
int cmd_tcdump(int argc, char **argv);

#endif
