/*
 * tui_session.h - what the terminal UI drives: one machine, its kernel, and
 * everything the UI remembers about the run (no ncurses here).
 *
 * The TUI is a subscriber to the machine's event stream (sim/event.h) like
 * the statistics and the trace recorder: from the events it keeps a log of
 * the last ones, which path each guest instruction last ran on, the bytes
 * and hottest blocks of the translation cache, and it stops a run at the next
 * event of a chosen kind. Stepping, breakpoints and the mode switch live here
 * so the view model (tui_view.h) and the tests can use them without a
 * terminal. Engines are picked up by name (machine_mode_name), so a new
 * engine appears under the `m` key without changes here.
 */
#ifndef RS_TUI_SESSION_H
#define RS_TUI_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "machine.h"
#include "options.h"
#include "hw/elf.h"
#include "vmm/bt/bt.h"

#define TUI_LOG_MAX     512   /* events kept for the Events pane */
#define TUI_BP_MAX      32    /* breakpoints */
#define TUI_MARKS       4096  /* path marks: open-addressed, by guest EIP */
#define TUI_HOT         64    /* blocks tracked for "hottest" */
#define TUI_CONSOLE     16384 /* COM1 bytes kept */
#define TUI_BLOCK_MAX   12    /* `t`: at most this many insns (a translation unit) */

enum tui_state { TUI_PAUSED = 0, TUI_RUNNING, TUI_HALTED, TUI_EXITED };

/* Why a step or a run slice stopped. */
enum tui_stop {
    TUI_STOP_NONE = 0,    /* the slice's budget ran out; keep going */
    TUI_STOP_STEP,        /* the requested steps are done */
    TUI_STOP_BREAK,       /* a breakpoint */
    TUI_STOP_EVENT,       /* an event of a kind in stop_mask */
    TUI_STOP_END,         /* the machine ended (m->end) */
};

struct tui_mark { uint32_t eip; uint8_t path; uint8_t used; };
#define TUI_EXIT_FIELDS 17          /* VMCS fields the VM-exits pane follows */
struct tui_hot { uint32_t eip; uint64_t hits; };

struct tui_session {
    struct run_options opt;         /* the command line (mode may change) */
    char mode[16];                  /* current engine name (opt.mode points here) */
    char name[32];                  /* the VM's name on a host (tui --host), else "" */
    bool attached;                  /* the VM is a host's (tui_session_attach): not ours */
    char kernel[256];               /* attached: its kernel (opt.kernel points here) */
    struct vm *vm;                  /* the guest (vm.h) */
    struct machine *m;              /* &vm->m */
    uint8_t *image;                 /* the kernel file, kept for restarts */
    size_t image_len;
    struct elf_symtab syms;         /* the kernel's .symtab */

    uint32_t bp[TUI_BP_MAX];        /* breakpoints (guest EIP) */
    int nbp;

    struct event log[TUI_LOG_MAX];  /* ring of recent events (not EV_INSNS) */
    unsigned log_next;              /* next slot to write */
    uint64_t log_total;             /* events ever logged */

    uint32_t stop_mask;             /* EV_BIT of kinds that end a run */
    bool stop_hit;                  /* one of them happened */
    struct event stop_ev;           /* the one that did */

    struct tui_mark marks[TUI_MARKS]; /* last path per guest EIP */
    struct tui_hot hot[TUI_HOT];    /* TC hits per block start */
    uint64_t tc_bytes, tc_guest_bytes; /* summed from EV_TRANSLATE */
    uint64_t tc_guest_insns;        /* guest instructions translated */
    uint32_t last_block;            /* guest EIP of the last translated/hit block */
    bool have_block;

    char console[TUI_CONSOLE];      /* COM1 output ring */
    size_t con_len;                 /* bytes written ever */

    uint64_t slice_end;             /* where the headless runner's slice ends
                                       (CMD_RUN_SLICE): free runs stop there */

    uint32_t exit_prev[TUI_EXIT_FIELDS]; /* hw: VMCS fields at the exit before the last */
    uint32_t exit_cur[TUI_EXIT_FIELDS];  /* ... and at the last one (tui_view_hw.c) */
    uint64_t exits_seen;            /* EV_VMEXIT events seen */

    struct cpu_state prev;          /* registers before the last step/run */
    uint32_t prev_vcr0, prev_vcr3;  /* guest CR0/CR3 (vcpu) before it */
    int prev_vcpl;
    bool prev_vif;
    bool have_prev;
};

/* hw: record the VMCS's followed fields at a VM exit (tui_view_hw.c). */
void tui_exit_capture(struct tui_session *s);

/* Load o->kernel and build the machine. 0, or -1 with a one-line err. */
int tui_session_open(struct tui_session *s, const struct run_options *o,
                     char *err, size_t errlen);
void tui_session_close(struct tui_session *s);
/* Follow a VM that a host owns (tui --host): its events and console, and
   the symbols of `kernel`. The session never destroys it; after the host
   rebuilds or removes the VM, close the session (and attach again). 0, or
   -1 with err. */
int tui_session_attach(struct tui_session *s, struct vm *vm, const char *name,
                       const char *kernel, char *err, size_t errlen);
/* Rebuild the machine under engine `mode` (NULL: the same) from the start. */
int tui_session_restart(struct tui_session *s, const char *mode, char *err, size_t errlen);
/* The engine after the current one, cycling ("native" -> "trap" -> ...). */
const char *tui_next_mode(const char *mode);

enum tui_state tui_session_state(const struct tui_session *s, bool running);

/* Step `n` guest instructions (stops early at the end of the run). */
enum tui_stop tui_step(struct tui_session *s, uint64_t n);
/* `n`: over a CALL (runs to the instruction after it), else one step. */
enum tui_stop tui_step_over(struct tui_session *s);
/* `t`: to the end of the current block: a control transfer or 12 insns. */
enum tui_stop tui_step_block(struct tui_session *s);
/* Run about max_insns instructions; stops at breakpoints and stop_mask.
   With breakpoints set or max_insns < 64, steps them one by one. Otherwise
   runs whole slices of the headless runner (CMD_RUN_SLICE, at least one,
   until max_insns are done), so that a free run from the start gives exactly
   the figures of `ringside run` (same TC state, same counters); --max-insns
   ends the run with END_BUDGET as the headless runner does. */
enum tui_stop tui_run(struct tui_session *s, uint64_t max_insns);
/* Remember the registers, so the view can show what the next step changed. */
void tui_snapshot_regs(struct tui_session *s);

/* Breakpoints. Toggle returns true if the breakpoint is now set. */
bool tui_bp_toggle(struct tui_session *s, uint32_t eip);
bool tui_bp_has(const struct tui_session *s, uint32_t eip);
/* "0x1000f0", "1000f0" or a symbol ("kmain", "kmain+4"). 0 or -1. */
int tui_parse_location(const struct tui_session *s, const char *text, uint32_t *eip);

/* The guest's EIP (linear, as the guest sees it) and the hardware's. */
uint32_t tui_guest_eip(const struct tui_session *s);
bool tui_in_vmm_region(const struct tui_session *s);
/* Read linear memory as the screen shows it: through the hardware's page
   tables, or (a guest address they do not map) the guest's own, without
   side effects. False if neither maps all of it. */
bool tui_peek(const struct tui_session *s, uint32_t lin, void *buf, uint32_t len);
/* The binary translator (--mode bt), or NULL. */
struct bt *tui_bt(const struct tui_session *s);
/* The path an EIP last ran on, or -1 if never seen. */
int tui_mark_get(const struct tui_session *s, uint32_t eip);
void tui_mark_set(struct tui_session *s, uint32_t eip, enum ev_path path);
/* The path instructions take in this engine when not trapping. */
enum ev_path tui_default_path(const struct tui_session *s);

/* Event log access: i = 0 is the newest. NULL past the end. */
const struct event *tui_log_get(const struct tui_session *s, unsigned i);
unsigned tui_log_count(const struct tui_session *s);
/* The subscriber itself (tests feed it synthetic events). */
void tui_on_event(void *ctx, const struct event *ev);

/* COM1 text: the last `max` bytes (returns a pointer into a static-free copy). */
size_t tui_console_tail(const struct tui_session *s, char *buf, size_t max);

#endif
