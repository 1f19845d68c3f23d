/*
 * cmd_trace.h - `ringside trace info|dump|export`, and recording for `run`.
 *
 * cmd_trace is the subcommand (docs/traces.md). The run_trace_* functions
 * are the glue `ringside run --trace FILE` uses around its run loop: they do
 * nothing when --trace was not given, so the run loop calls them always.
 */
#ifndef RS_CMD_TRACE_H
#define RS_CMD_TRACE_H

#include "machine.h"
#include "options.h"
#include "trace.h"

#include "version.h"

/* argv after "trace". Returns the process exit status. */
int cmd_trace(int argc, char **argv);

/* Start recording if o->trace is set. 0, or -1 after a one-line error. */
int run_trace_begin(struct trace_recorder *rec, struct machine *m, const struct run_options *o);
/* machine_run, or per-instruction recording with --trace-insns. */
enum machine_end run_trace_slice(struct trace_recorder *rec, struct machine *m,
                                 const struct run_options *o, uint64_t insn_limit);
/* Finish the file (trailer). 0, or -1 after a one-line error. */
int run_trace_end(struct trace_recorder *rec, struct machine *m);

#endif
