/*
 * trace_run.h - recording a machine's run into a trace file (trace.h).
 *
 * Used by `ringside run --trace` and by the TUI's record key: trace_start
 * writes the header and subscribes the recorder to the machine's events,
 * trace_stop writes the trailer. Between the two, either let the machine run
 * as usual or call trace_step_run for one record per instruction.
 */
#ifndef RS_TRACE_RUN_H
#define RS_TRACE_RUN_H

#include "trace.h"
#include "machine.h"

struct trace_start_args {
    const char *path;              /* the trace file to create */
    const char *kernel;            /* the kernel file (name, hash, symbols) */
    const char *events;            /* kinds to record ("trap,ring"), NULL = all */
    const char *options;           /* the run's options as one line, or NULL */
    const char *ringside_version;  /* "0.1" */
    bool per_insn;                 /* the caller will use trace_step_run */
};

/* 0, or -1 with a one-line err (bad kind list, unreadable kernel, cannot
   create the file). */
int trace_start(struct trace_recorder *r, struct machine *m, const struct trace_start_args *a,
                char *err, size_t errlen);
/* Write the trailer (how the run ended) and close. 0, or -1 with err. */
int trace_stop(struct trace_recorder *r, const struct machine *m, char *err, size_t errlen);
/* machine_run(m, insn_limit), one instruction at a time, recording each. */
enum machine_end trace_step_run(struct trace_recorder *r, struct machine *m,
                                uint64_t insn_limit);

#endif
