/*
 * options.h - the `ringside run` command line, parsed into a plain struct.
 *
 * The command line is a contract that outside tests rely on (issue #2):
 * options may be added, never changed. Parsing is separate from running so
 * that the TUI and the run command share it, and so that every malformed
 * option produces one clear line and exit status 2 instead of a crash.
 */
#ifndef RS_OPTIONS_H
#define RS_OPTIONS_H

#include <stdint.h>
#include <stdbool.h>

#define OPT_MAX_MODULES 16
#define OPT_MAX_SNAPS 16

struct run_options {
    const char *mode;          /* "native" or "trap" (more engines later) */
    uint32_t mem_mib;          /* --mem, default 32 */
    uint64_t max_insns;        /* --max-insns, 0 = no limit */
    const char *append;        /* --append STR: kernel command line */
    const char *modules[OPT_MAX_MODULES]; /* --module FILE, repeatable */
    int nmodules;
    const char *disks[2];      /* --disk FILE[,index=N], repeatable: IDE master, slave */
    int ndisks;
    bool disk_write;           /* --disk-write: guest writes reach the image files */
    const char *stats_json;    /* --stats-json FILE */
    const char *costs;         /* --costs FILE: cost profile (docs/costs.md) */
    const char *trace;         /* --trace FILE: record the event stream (docs/traces.md) */
    const char *trace_events;  /* --trace-events LIST: kinds to record (default all) */
    bool trace_insns;          /* --trace-insns: one record per instruction (short runs) */
    uint32_t tc_size_kib;      /* --tc-size KIB: translation cache (bt), 0 = default */
    const char *tc_policy;     /* --tc-policy flush|fifo (bt), NULL = flush */
    int tc_block_insns;        /* --tc-block-insns N (bt), 0 = default 12 */
    struct { uint64_t at; const char *file; } snap_at[OPT_MAX_SNAPS];
    int nsnap_at;              /* --snapshot-at N FILE, repeatable (docs/snapshot.md) */
    uint64_t snap_every;       /* --snapshot-every N DIR: DIR/snap-<insns>.rsnap */
    const char *snap_dir;
    const char *restore;       /* --restore FILE: continue from a snapshot */
    bool mode_given;           /* --mode was on the command line */
    int gdb_port;              /* --gdb PORT: wait for gdb on 127.0.0.1:PORT (0: none) */
    const char *record;        /* --record FILE: log COM1 input (docs/replay.md) */
    const char *replay;        /* --replay FILE: take COM1 input from a recording */
    uint64_t checkpoint_every; /* --checkpoint-every N: reverse execution's interval */
    bool checkpoint_given;     /*   (default HIST_DEFAULT_EVERY with --gdb and the TUI) */
    bool verbose;              /* -v: summary on stderr */
    bool npt;                  /* --npt: nested paging under --mode hw */
    bool reference_cpu;        /* --reference-cpu: the CPU's reference interpreter */
    const char *until;         /* --until TEXT: end the run (status 0) once the guest printed it */
    bool rtc_now;              /* --rtc-now: the RTC starts at the host's time, not 2026-01-01 */
    int64_t rtc_epoch;         /* the RTC's start a --replay recording names, 0: 2026-01-01 */
    bool keyboard;             /* --keyboard: standard input types on the 8042, not COM1 */
    const char *kernel;        /* the positional KERNEL */
};

/* Exit statuses of `ringside run` (README, `ringside run --help`). Guest
   exits through isa-debug-exit are odd ((V << 1) | 1); ours are even. */
enum {
    EXIT_OK = 0,            /* help printed, TUI quit, the --until text printed */
    EXIT_BAD_INPUT = 2,     /* bad option, missing/malformed kernel or module */
    EXIT_TRIPLE_FAULT = 4,
    EXIT_HALTED = 6,        /* HLT with interrupts off, or nothing can wake it */
    EXIT_BUDGET = 8,        /* --max-insns exhausted */
    EXIT_UNSUPPORTED = 10,  /* the guest used a feature ringside does not model */
    EXIT_INTERNAL = 12,     /* ringside itself failed (out of memory...) */
};

/* Parse argv (after the subcommand). Returns 0, 1 if --help was printed, or
   -1 after printing a one-line error to stderr. */
int options_parse_run(int argc, char **argv, struct run_options *o);
void options_print_run_help(void);

#endif
