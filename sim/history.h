/*
 * history.h - a VM's past: the inputs it took and checkpoints to go back to.
 *
 * ringside is deterministic: the same kernel, options and inputs give the
 * same instructions, cycles and output. The only things that enter a VM
 * from outside are the bytes its COM1 receiver gets (typed keys, a pipe on
 * standard input). A history logs each of them with the exact position it
 * was delivered at - retired instructions and modeled cycles - so that
 *
 *  - a run can be recorded and replayed (`--record` / `--replay`,
 *    replayfile.h): the replay delivers every byte at its position and
 *    reproduces the run byte for byte;
 *  - a run can go backwards: automatic checkpoints (in-memory snapshots,
 *    snapshot.h) every `every` guest instructions, and "go to guest
 *    instruction N" restores the nearest checkpoint at or before N and
 *    re-executes to N, re-delivering the logged inputs on the way. Reverse
 *    step is "go to N-1"; reverse step-over goes on back to the CALL when
 *    N-1 is a RET; reverse continue searches the segments between
 *    checkpoints backwards for the last position where a condition held.
 *
 * A checkpoint's state is also put back into the live VM the moment it is
 * taken (the caches a restore rebuilds - translation cache, shadow page
 * tables, decoded instructions - are rebuilt in the live run too), so going
 * forward from a checkpoint the first time and again after a restore are
 * the same computation in every engine, modeled cycles included.
 *
 * Memory is bounded: past `max_ckpts` checkpoints or `max_bytes` of them,
 * the oldest-but-not-first checkpoint whose removal leaves the smallest gap
 * goes (the newest HIST_DENSE stay), so recent history stays dense.
 */
#ifndef RS_HISTORY_H
#define RS_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;

/* One byte that entered the VM, where it entered. */
struct hist_input {
    uint64_t insns;               /* retired instructions (the TC's too) at delivery */
    uint64_t cycles;              /* modeled cycles at delivery (checked on replay) */
    uint8_t byte;
    uint8_t dest;                 /* enum machine_input_dest: COM1 or a key typed */
};

/* A saved state: a whole snapshot image (snapshot.h) in memory. */
struct hist_ckpt {
    uint64_t guest, insns, cycles;   /* where it was taken */
    size_t ninputs;                  /* inputs delivered before it */
    uint64_t idle_cycles, wd_insns;  /* machine fields outside a snapshot */
    uint32_t wd_vectors;
    bool pinned;                     /* taken by hand: never thinned */
    uint8_t *img;
    size_t len;
};

#define HIST_DENSE 8                 /* newest checkpoints never thinned */
#define HIST_DEFAULT_EVERY 5000000ull
#define HIST_DEFAULT_MAX_CKPTS 64
#define HIST_DEFAULT_MAX_BYTES (256ull << 20)
#define HIST_MAX_NAMED 16            /* snapshots taken by hand (the TUI's S) */

struct history {
    struct vm *vm;
    uint64_t every;                  /* guest insns between checkpoints (0: none) */
    int max_ckpts;
    size_t max_bytes;
    struct hist_input *in;           /* every input, in delivery order */
    size_t nin, cap;
    size_t cursor;                   /* inputs delivered in the current timeline */
    bool replaying;                  /* inputs come from a recording: live ones refused */
    struct hist_ckpt *ck;            /* automatic checkpoints, ascending */
    int nck;
    size_t ck_bytes;
    uint64_t next_ck;                /* guest insns at which the next one is due */
    uint64_t named[HIST_MAX_NAMED];  /* guest positions of pinned checkpoints */
    int nnamed;
    /* a new input is also handed to this sink (the --record file) */
    int (*sink)(void *ctx, const struct hist_input *in);
    void *sink_ctx;
    void (*out)(void *ctx, uint8_t byte); /* the VM's own COM1 sink, wrapped: */
    void *out_ctx;
    uint64_t tx_frontier;            /*   bytes already sent out; a re-execution's
                                        repeats of them are not sent again */
    bool diverged;                   /* a replayed input met a different machine */
    bool searching;                  /* a reverse search's walk: no checkpoints taken */
    char msg[200];                   /* why, or why a reverse move failed */
    uint64_t restores, reexec_insns; /* what going back cost (figures) */
};

/* A history for vm (vm->hist is set; vm_run goes through history_run from
   then on). every: guest instructions between checkpoints, 0 for none
   (record/replay only). NULL when out of memory. */
struct history *history_attach(struct vm *vm, uint64_t every);
void history_free(struct history *h);

/* Load a recording's inputs as the future: replay mode. */
int history_load_inputs(struct history *h, const struct hist_input *in, size_t n,
                        char *err, size_t errlen);

/* Run as machine_run does (limit: total retired instructions, 0: none),
   delivering logged inputs at their positions and taking checkpoints when
   due. A replayed input whose cycles differ ends the run (END_INTERNAL,
   h->diverged). */
int history_run(struct history *h, uint64_t insn_limit);

/* A live byte for COM1 at the current position: logged and delivered.
   false when the FIFO is full or a recording is being replayed. Typed in
   the past (after going back), it starts a new future: later inputs and
   checkpoints are dropped. */
bool history_input(struct history *h, uint8_t dest, uint8_t byte);

/* Go to exactly `guest` guest instructions (restore + re-execute). 0, or -1
   with h->msg (before the oldest checkpoint, or the run ended first). */
int history_goto(struct history *h, uint64_t guest);
/* One guest instruction back. */
int history_reverse_step(struct history *h);

/* Reverse continue: the last position before now where hit(ctx) is true
   (evaluated after each guest instruction; reset(ctx) is called at the
   start of each segment searched). 1: found and gone there; 0: no earlier
   hit, now at the oldest position kept; -1 error (h->msg). */
int history_reverse_find(struct history *h, bool (*hit)(void *ctx), void (*reset)(void *ctx),
                         void *ctx);

/* Reverse step-over (gdb's reverse-nexti; forward, the TUI's n): one
   guest instruction back, except that when the instruction stepped back
   over is a near RET, on to the CALL it returned from - the last earlier
   position where a near CALL executed on the same stack (SS), from above
   the RET's return-address slot (ESP greater), with the return address the
   RET popped. So a whole call is gone back over as one step, recursion
   included. 1: at that CALL; 0: one instruction back (not a RET, or its
   CALL is before the oldest position kept: h->msg says so, else empty);
   -1 error (h->msg). */
int history_reverse_step_over(struct history *h);

/* Run forward to exactly `guest` guest instructions (never mid translated
   block: TC extras are run as needed). The machine end, or END_NONE. */
int history_run_to_guest(struct history *h, uint64_t guest);

/* Snapshots by hand (the TUI's S and U), named by their guest instruction
   count: a pinned checkpoint at the current position. 0 or -1 + h->msg. */
int history_take_named(struct history *h);
int history_revert_named(struct history *h, int i);

/* The oldest guest position that can be gone back to. */
uint64_t history_oldest(const struct history *h);

#endif
