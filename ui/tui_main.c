/*
 * tui_main.c - `ringside tui`: options, the main loop, keys, demo mode.
 *
 * The loop alternates guest execution with input and drawing. Running at
 * full speed, the guest gets slices of instructions sized so that one takes
 * about 5 ms of host time, and the screen is redrawn at most every 33 ms
 * (about 30 frames a second): drawing then costs a few per cent of the
 * guest's throughput (`make bench` measures it). At a limited speed (the
 * classroom's few instructions a second) every instruction is stepped and
 * marked with its path. The terminal is restored on every way out: `q`,
 * Ctrl-C, SIGTERM/SIGHUP, and crash signals (the handler ends curses and
 * re-raises).
 */
#include "tui.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curses.h>

#include "cpu/optable.h"
#include "cmd_run.h"
#include "history.h"
#include "report.h"
#include "vm.h"
#include "trace_run.h"
#include "tui_captions.h"
#include "tui_host.h"
#include "tui_host_keys.h"
#include "tui_mig.h"
#include "tui_ui.h"
#include "tui_view.h"

/* Instructions per second for + and -; 0 = as fast as possible. */
static const uint64_t speeds[] = { 1, 3, 10, 30, 100, 1000, 10000, 100000, 1000000, 0 };
#define SPEED_FULL ((int)(sizeof speeds / sizeof *speeds) - 1)
#define FRAME_NS 33000000LL   /* about 30 frames a second */
#define SLACK_NS 2000000LL    /* a run chunk may overshoot its deadline by this */

struct tui_args {
    bool demo;              /* --demo */
    double demo_pause;      /* --demo-pause SECONDS */
    bool autorun;           /* --run: start running */
    bool exit_at_end;       /* --exit-at-end: quit when the guest's run ends */
    bool host;              /* --host: several VMs on one host (tui_host.h) */
};

/* Set from signal handlers only (the UI's own state, DESIGN.md §6.4). */
static volatile sig_atomic_t quit_signal;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- signals: the terminal is always restored --------------------------- */

static void on_quit_signal(int sig)
{
    quit_signal = sig;
}

static void on_crash_signal(int sig)
{
    tui_draw_end();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void signals_install(void)
{
    signal(SIGINT, on_quit_signal);
    signal(SIGTERM, on_quit_signal);
    signal(SIGHUP, on_quit_signal);
    static const int crash[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
    for (unsigned i = 0; i < sizeof crash / sizeof *crash; i++)
        signal(crash[i], on_crash_signal);
}

/* ---- demo mode ---------------------------------------------------------- */


#define DEMO_ENGINES 8

/* One engine's result, for the closing table. */
struct demo_result {
    char mode[16];
    double speed_pct;        /* % of native (tui_speed_pct) */
    uint64_t traps, silent;  /* traps; silent sensitive instructions */
    uint64_t tc_bytes;       /* translation cache bytes in use (bt) */
    bool has_tc;
};

struct demo {
    bool on;
    double pause_s;
    uint32_t pending;        /* EV_BIT of kinds not narrated yet */
    int64_t resume_at;       /* ns: when the current pause ends (0: none) */
    bool ended;              /* the end has been narrated */
    bool finished;           /* every engine has run: the demo stops */
    char first[16];          /* the engine the demo began with */
    struct demo_result res[DEMO_ENGINES];
    int nres;
};

static void demo_intro(struct tui_ui *u, struct demo *d)
{
    if (!d->first[0])
        snprintf(d->first, sizeof d->first, "%s", u->s->mode);
    d->pending = tui_caption_kinds();
    d->ended = false;
    snprintf(u->caption, sizeof u->caption, "DEMO, mode %s. %s The run pauses at the first "
             "event of each interesting kind and explains it. Keys work as usual; q quits.",
             u->s->mode, !strcmp(u->s->mode, "native")
                 ? "The guest owns the hardware: its kernel runs at ring 0, every "
                   "instruction on the native path."
                 : !strcmp(u->s->mode, "hw")
                 ? "The guest kernel runs at its own ring 0 in the CPU's VMX non-root mode; "
                   "the VMM sees only the VM exits the VMCS asks for."
                 : "A VMM owns the hardware; the guest kernel runs deprivileged.");
    d->resume_at = now_ns() + (int64_t)(d->pause_s * 1e9);
    u->s->stop_mask = d->pending;
    u->s->stop_hit = false;
}

static void demo_detail(const struct event *ev, char *buf, size_t len)
{
    if ((ev->kind == EV_TRAP || ev->kind == EV_SENSITIVE) && ev->a < op_table_len)
        snprintf(buf, len, "%s at %08x", vmm_row_label(&op_table[ev->a]), ev->eip);
    else if (ev->kind == EV_RING)
        snprintf(buf, len, "CPL %u -> %u, real %u -> %u", ev->a, ev->b, ev->c, ev->d);
    else if (ev->kind == EV_VMEXIT || ev->kind == EV_INJECT)
        tui_event_text(ev, buf, len);             /* "vmexit io qual 0x..." */
    else
        buf[0] = 0;
}

/* The run stopped at a narrated event: explain it and pause. */
static void demo_narrate(struct tui_ui *u, struct demo *d)
{
    const struct event *ev = &u->s->stop_ev;
    char detail[160];
    demo_detail(ev, detail, sizeof detail);
    struct tui_caption_ctx c = { .mode = u->s->mode, .detail = detail,
                                 .costs = &u->s->m->costs,
                                 .block_insns = u->s->opt.tc_block_insns ? u->s->opt.tc_block_insns
                                                                         : BT_BLOCK_INSNS_DEFAULT };
    tui_caption(ev->kind, &c, u->caption, sizeof u->caption);
    d->pending &= ~EV_BIT(ev->kind);
    u->s->stop_mask = d->pending;
    u->s->stop_hit = false;
    d->resume_at = now_ns() + (int64_t)(d->pause_s * 1e9);
}

static void demo_tick(struct tui_ui *u, struct demo *d)
{
    if (!d->on || !d->resume_at || now_ns() < d->resume_at)
        return;
    d->resume_at = 0;
    if (d->finished)
        return;
    if (d->ended) {                 /* next engine, from the start */
        char err[160];
        tui_session_restart(u->s, tui_next_mode(u->s->mode), err, sizeof err);
        demo_intro(u, d);
        return;
    }
    u->running = true;
}

/* Keep the engine's figures (replacing an earlier run of the same engine). */
static void demo_record(struct tui_ui *u, struct demo *d)
{
    const struct machine *m = u->s->m;
    int i = 0;
    while (i < d->nres && strcmp(d->res[i].mode, u->s->mode))
        i++;
    if (i == DEMO_ENGINES)
        return;
    if (i == d->nres)
        d->nres++;
    struct demo_result *r = &d->res[i];
    snprintf(r->mode, sizeof r->mode, "%s", u->s->mode);
    r->speed_pct = tui_speed_pct(u->s);
    r->traps = m->stats.by_kind[EV_TRAP];
    r->silent = m->stats.by_kind[EV_SENSITIVE];
    r->has_tc = tui_bt(u->s) != NULL;
    r->tc_bytes = u->s->tc_bytes;
}

/* The closing table: one row per engine run so far. */
static size_t demo_table(const struct demo *d, char *buf, size_t len)
{
    size_t n = (size_t)snprintf(buf, len, "  engine   speed (%% of native)   traps   "
                                "silent sensitive   TC memory\n");
    for (int i = 0; i < d->nres && n < len; i++) {
        const struct demo_result *r = &d->res[i];
        char tc[32] = "-";
        if (r->has_tc)
            snprintf(tc, sizeof tc, "%.1f KiB", (double)r->tc_bytes / 1024.0);
        n += (size_t)snprintf(buf + n, len - n, "  %-8s %18.1f%% %7" PRIu64 " %18" PRIu64
                              " %11s%s\n", r->mode, r->speed_pct, r->traps, r->silent, tc,
                              r->silent ? " (wrong)" : "");
    }
    return n < len ? n : len;
}

static void demo_end(struct tui_ui *u, struct demo *d)
{
    char table[600];
    demo_record(u, d);
    demo_table(d, table, sizeof table);
    const char *next = tui_next_mode(u->s->mode);
    d->finished = !strcmp(next, d->first);
    if (d->finished)
        snprintf(u->caption, sizeof u->caption, "THE END (mode %s): %s.\n%sEvery engine has "
                 "run the same kernel: the demo stops here. R runs this engine again, m the "
                 "next one, q quits.", u->s->mode, u->s->m->end_msg, table);
    else
        snprintf(u->caption, sizeof u->caption, "THE END (mode %s): %s.\n%sNext: the same "
                 "kernel under %s.", u->s->mode, u->s->m->end_msg, table, next);
    d->ended = true;
    d->resume_at = d->finished ? 0 : now_ns() + (int64_t)(d->pause_s * 2e9);
}

/* ---- running ------------------------------------------------------------ */

static void set_speed(struct tui_ui *u, int speed)
{
    u->speed = speed < 0 ? 0 : speed > SPEED_FULL ? SPEED_FULL : speed;
    if (speeds[u->speed])
        snprintf(u->speed_text, sizeof u->speed_text, "%llu/s",
                 (unsigned long long)speeds[u->speed]);
    else
        snprintf(u->speed_text, sizeof u->speed_text, "full");
}

static void report_stop(struct tui_ui *u, enum tui_stop r)
{
    char text[160];
    u->running = false;
    switch (r) {
    case TUI_STOP_BREAK:
        snprintf(u->msg, sizeof u->msg, "breakpoint at %08x", tui_guest_eip(u->s));
        break;
    case TUI_STOP_EVENT:
        tui_event_text(&u->s->stop_ev, text, sizeof text);
        snprintf(u->msg, sizeof u->msg, "stopped at: %s", text);
        break;
    case TUI_STOP_END:
        snprintf(u->msg, sizeof u->msg, "%s", u->s->m->end_msg);
        break;
    default:
        break;
    }
}

struct runner {
    uint64_t chunk;          /* instructions per full-speed chunk */
    int64_t last_tick;       /* ns: speed-limited accounting */
    double owed;             /* instructions due at a limited speed */
};

/* Run for up to one frame; returns how the run stopped (NONE: still going). */
static enum tui_stop run_frame(struct tui_ui *u, struct runner *rn, int64_t frame_end)
{
    enum tui_stop r = TUI_STOP_NONE;
    if (u->th) {                          /* the host's scheduler, slice by slice */
        while (r == TUI_STOP_NONE && now_ns() < frame_end)
            r = tui_host_run(u->th, 1);
        return r;
    }
    if (speeds[u->speed]) {
        int64_t t = now_ns();
        rn->owed += (double)(t - rn->last_tick) * 1e-9 * (double)speeds[u->speed];
        rn->last_tick = t;
        uint64_t n = (uint64_t)rn->owed;
        if (n > 200000)
            n = 200000;
        rn->owed -= (double)n;
        if (n)
            r = tui_step(u->s, n) == TUI_STOP_STEP ? TUI_STOP_NONE : u->s->m->end != END_NONE
                ? TUI_STOP_END : u->s->stop_hit ? TUI_STOP_EVENT : TUI_STOP_BREAK;
        if (r == TUI_STOP_NONE && u->s->nbp && tui_bp_has(u->s, tui_guest_eip(u->s)) && n)
            r = TUI_STOP_BREAK;
        return r;
    }
    while (r == TUI_STOP_NONE && now_ns() < frame_end) {
        int64_t t0 = now_ns();
        r = tui_run(u->s, rn->chunk);
        int64_t dt = now_ns() - t0;
        if (dt < SLACK_NS / 2 && rn->chunk < 50000000)
            rn->chunk *= 2;
        else if (dt > SLACK_NS && rn->chunk > 1000)
            rn->chunk /= 2;
    }
    return r;
}

static void start_running(struct tui_ui *u, struct runner *rn)
{
    u->running = true;
    u->msg[0] = 0;
    rn->last_tick = now_ns();
    rn->owed = 0;
    tui_snapshot_regs(u->s);
}

/* ---- keys --------------------------------------------------------------- */

static void key_breakpoint(struct tui_ui *u)
{
    char text[128];
    uint32_t eip;
    if (!tui_draw_prompt(u, "breakpoint at (address or symbol, Enter = EIP):", text, sizeof text)) {
        eip = tui_guest_eip(u->s);
    } else if (tui_parse_location(u->s, text, &eip) != 0) {
        snprintf(u->msg, sizeof u->msg, "no symbol or address '%s'", text);
        return;
    }
    bool set = tui_bp_toggle(u->s, eip);
    char sym[96];
    snprintf(u->msg, sizeof u->msg, "breakpoint %s at %08x %s", set ? "set" : "cleared", eip,
             tui_symbolize(u->s, eip, sym, sizeof sym));
}

static const struct { int key; uint32_t mask; const char *name; } run_kinds[] = {
    { 't', EV_BIT(EV_TRAP), "trap" },
    { 'x', EV_BIT(EV_TRANSLATE), "translation" },
    { 'g', EV_BIT(EV_RING), "ring change" },
    { 'm', EV_BIT(EV_TC_MISS), "TC miss" },
    { 'h', EV_BIT(EV_TC_HIT), "TC hit" },
    { 'c', EV_BIT(EV_CALLOUT), "callout" },
    { 'f', EV_BIT(EV_REFLECT), "reflection" },
    { 's', EV_BIT(EV_SENSITIVE), "silent sensitive" },
    { 'i', EV_BIT(EV_IO), "I/O" },
    { 'e', EV_BIT(EV_EXCEPTION) | EV_BIT(EV_INTERRUPT) | EV_BIT(EV_SOFTINT), "exception/interrupt" },
};

static void key_run_until(struct tui_ui *u, struct runner *rn)
{
    int ch = tui_draw_menu(u, "run until: t trap  x translation  g ring change  m TC miss  "
                           "h TC hit  c callout  f reflection  s sensitive  i I/O  "
                           "e exception/interrupt  (Esc: cancel)");
    for (unsigned i = 0; i < sizeof run_kinds / sizeof *run_kinds; i++) {
        if (run_kinds[i].key != ch)
            continue;
        u->s->stop_mask = run_kinds[i].mask;
        u->s->stop_hit = false;
        start_running(u, rn);
        snprintf(u->msg, sizeof u->msg, "running until the next %s", run_kinds[i].name);
        return;
    }
}

/* ---- T: recording a trace of the event stream (docs/traces.md) ---------- */

static void trace_end(struct tui_ui *u)
{
    char err[200];
    if (!u->tracing)
        return;
    u->tracing = false;
    if (trace_stop(&u->trace, u->s->m, err, sizeof err) != 0)
        snprintf(u->msg, sizeof u->msg, "trace: %.150s", err);
    else
        snprintf(u->msg, sizeof u->msg, "trace %.100s written (%llu events)", u->trace.path,
                 (unsigned long long)u->trace.records);
}

/* Record into the first free ringside-N.rtrace in the current directory. */
static void trace_begin(struct tui_ui *u)
{
    char path[64], err[200];
    for (int n = 1; n < 1000; n++) {
        snprintf(path, sizeof path, "ringside-%d.rtrace", n);
        FILE *f = fopen(path, "r");
        if (!f)
            break;
        fclose(f);
    }
    struct trace_start_args a = { .path = path, .kernel = u->s->opt.kernel,
                                  .ringside_version = "0.1" };
    if (trace_start(&u->trace, u->s->m, &a, err, sizeof err) != 0) {
        snprintf(u->msg, sizeof u->msg, "trace: %.150s", err);
        return;
    }
    u->tracing = true;
    snprintf(u->msg, sizeof u->msg, "recording events to %s (T stops)", path);
}

static void key_trace(struct tui_ui *u)
{
    if (u->tracing)
        trace_end(u);
    else
        trace_begin(u);
}

static void key_restart(struct tui_ui *u, const char *mode, struct demo *d)
{
    char err[200];
    u->running = false;
    trace_end(u);
    if (tui_session_restart(u->s, mode, err, sizeof err) != 0)
        snprintf(u->msg, sizeof u->msg, "cannot restart: %.150s", err);
    else
        snprintf(u->msg, sizeof u->msg, "restarted in mode %s", u->s->mode);
    if (d->on)
        demo_intro(u, d);
}

static void key_focus(struct tui_ui *u)
{
    u->focus = (u->focus + 1) % PANE_COUNT;
    if (tui_draw_compact() && u->focus == PANE_GUEST)
        u->focus = PANE_TC;
}

/* A key while the Console has focus goes to the guest (COM1, or the
   PS/2 keyboard with --keyboard); Tab and Esc always
   reach ringside (Esc gives the focus back to the Guest code). */
static bool key_console(struct tui_ui *u, int ch)
{
    if (u->focus != PANE_CONSOLE || ch == '\t' || ch > 0xff)
        return false;
    if (ch == 27) {
        u->focus = tui_draw_compact() ? PANE_REGS : PANE_GUEST;
        snprintf(u->msg, sizeof u->msg, "keys go to ringside again (Tab to the Console to type "
                 "to the guest)");
        return true;
    }
    /* to COM1, or with --keyboard as a key pressed on the 8042 */
    vm_input(u->s->vm, u->s->opt.keyboard ? INPUT_KEYBOARD : INPUT_COM1,
             (uint8_t)(ch == '\n' ? '\r' : ch));
    return true;
}

/* ---- the past (docs/replay.md): S snapshot, U revert, < N C reverse ---- */

static void key_snapshot(struct tui_ui *u)
{
    struct history *h = u->s->vm->hist;
    u->running = false;
    if (history_take_named(h) != 0)
        snprintf(u->msg, sizeof u->msg, "no snapshot: %.150s", h->msg);
    else
        snprintf(u->msg, sizeof u->msg, "snapshot %d taken at instruction %llu (U reverts)",
                 h->nnamed, (unsigned long long)vm_guest_insns(u->s->vm));
}

static void key_revert(struct tui_ui *u)
{
    struct history *h = u->s->vm->hist;
    char list[200] = "revert to:", text[32];
    u->running = false;
    if (!h->nnamed) {
        snprintf(u->msg, sizeof u->msg, "no snapshot yet (S takes one)");
        return;
    }
    for (int i = 0; i < h->nnamed; i++) {
        size_t n = strlen(list);
        snprintf(list + n, sizeof list - n, " %d=%llu", i + 1, (unsigned long long)h->named[i]);
    }
    if (!tui_draw_prompt(u, list, text, sizeof text))
        return;
    int i = atoi(text) - 1;
    tui_snapshot_regs(u->s);
    if (history_revert_named(h, i) != 0)
        snprintf(u->msg, sizeof u->msg, "cannot revert: %.150s", h->msg);
    else
        snprintf(u->msg, sizeof u->msg, "reverted to snapshot %d (instruction %llu)", i + 1,
                 (unsigned long long)vm_guest_insns(u->s->vm));
}

static void key_reverse_step(struct tui_ui *u)
{
    struct history *h = u->s->vm->hist;
    u->running = false;
    tui_snapshot_regs(u->s);
    if (history_reverse_step(h) != 0)
        snprintf(u->msg, sizeof u->msg, "no step back: %.120s (S takes a snapshot, "
                 "--checkpoint-every N keeps them)", h->msg);
    else
        snprintf(u->msg, sizeof u->msg, "stepped back to instruction %llu",
                 (unsigned long long)vm_guest_insns(u->s->vm));
}

/* N: back like < but over a whole call (history_reverse_step_over). */
static void key_reverse_step_over(struct tui_ui *u)
{
    struct history *h = u->s->vm->hist;
    u->running = false;
    tui_snapshot_regs(u->s);
    int rc = history_reverse_step_over(h);
    unsigned long long at = (unsigned long long)vm_guest_insns(u->s->vm);
    if (rc < 0)
        snprintf(u->msg, sizeof u->msg, "no step back: %.120s (S takes a snapshot, "
                 "--checkpoint-every N keeps them)", h->msg);
    else if (rc > 0)
        snprintf(u->msg, sizeof u->msg, "stepped back over the call to instruction %llu", at);
    else if (h->msg[0])
        snprintf(u->msg, sizeof u->msg, "stepped back to instruction %llu: %.120s", at, h->msg);
    else
        snprintf(u->msg, sizeof u->msg, "stepped back to instruction %llu", at);
}

/* A breakpoint at the guest's EIP (the test the forward run makes). */
static bool bp_here(void *ctx)
{
    struct tui_session *s = ctx;
    return s->nbp && tui_bp_has(s, tui_guest_eip(s));
}

static void bp_reset(void *ctx)
{
    (void)ctx;
}

/* C: back to the last earlier position at a breakpoint, else the oldest kept. */
static void key_reverse_continue(struct tui_ui *u)
{
    struct history *h = u->s->vm->hist;
    u->running = false;
    tui_snapshot_regs(u->s);
    int rc = history_reverse_find(h, bp_here, bp_reset, u->s);
    unsigned long long at = (unsigned long long)vm_guest_insns(u->s->vm);
    if (rc < 0)
        snprintf(u->msg, sizeof u->msg, "no reverse continue: %.120s", h->msg);
    else if (rc > 0)
        snprintf(u->msg, sizeof u->msg, "back at breakpoint %08x (instruction %llu)",
                 tui_guest_eip(u->s), at);
    else
        snprintf(u->msg, sizeof u->msg, "at instruction %llu, the oldest kept: no breakpoint "
                 "hit before", at);
}

static void key_step(struct tui_ui *u, int ch)
{
    u->running = false;
    u->msg[0] = 0;
    u->s->stop_mask = 0;
    enum tui_stop r = u->th ? tui_host_step(u->th, ch)    /* the host charges the step */
                    : ch == 's' ? tui_step(u->s, 1) : ch == 'n' ? tui_step_over(u->s)
                                                                : tui_step_block(u->s);
    if (r != TUI_STOP_STEP && r != TUI_STOP_NONE)
        report_stop(u, r);
}

/* Returns false to quit. */
static bool handle_key(struct tui_ui *u, int ch, struct runner *rn, struct demo *d)
{
    u->welcome = false;
    if (u->help) {
        u->help = false;
        return ch != 'q';
    }
    if (key_console(u, ch) || tui_host_key(u, ch))
        return true;
    switch (ch) {
    case 'q': return false;
    case '?': u->help = true; break;
    case 's': case 'n': case 't': key_step(u, ch); break;
    case 'c': case ' ':
        if (u->running)
            u->running = false;
        else
            u->s->stop_mask = d->on ? d->pending : 0, start_running(u, rn);
        break;
    case '+': case '=': set_speed(u, u->speed + 1); break;
    case '-': case '_': set_speed(u, u->speed - 1); break;
    case 'b': key_breakpoint(u); break;
    case 'r': key_run_until(u, rn); break;
    case 'm': key_restart(u, tui_next_mode(u->s->mode), d); break;
    case 'R': key_restart(u, NULL, d); break;
    case 'v': u->vga = !u->vga; break;
    case 'd': u->devices = !u->devices; break;
    case 'T': key_trace(u); break;
    case 'S': key_snapshot(u); break;
    case 'U': key_revert(u); break;
    case '<': key_reverse_step(u); break;
    case 'N': key_reverse_step_over(u); break;
    case 'C': key_reverse_continue(u); break;
    case '\t': key_focus(u); break;
    case KEY_RESIZE: clearok(stdscr, TRUE); break;
    default: break;
    }
    return true;
}

/* ---- the loop ----------------------------------------------------------- */

static void after_run(struct tui_ui *u, struct demo *d, enum tui_stop r)
{
    if (r == TUI_STOP_NONE)
        return;
    if (u->th && r == TUI_STOP_END) {
        u->running = false;
        snprintf(u->msg, sizeof u->msg, "%s", tui_host_all_ended(u->th)
                 ? "every VM's run has ended (R boots the selected one again, q quits)"
                 : "no VM is runnable (p resumes the selected one)");
        return;
    }
    if (d->on && r == TUI_STOP_EVENT) {
        u->running = false;
        demo_narrate(u, d);
        return;
    }
    report_stop(u, r);
    if (d->on && r == TUI_STOP_END)
        demo_end(u, d);
}

static int tui_loop(struct tui_ui *u, const struct tui_args *a)
{
    struct runner rn = { .chunk = 10000 };
    struct demo d = { .on = a->demo, .pause_s = a->demo_pause };
    int64_t next_frame = 0;
    if (d.on)
        demo_intro(u, &d);
    if (a->autorun)
        start_running(u, &rn);
    for (;;) {
        if (quit_signal)
            return 0;
        int ch;
        while ((ch = getch()) != ERR)
            if (!handle_key(u, ch, &rn, &d))
                return 0;
        demo_tick(u, &d);
        if (u->running)
            after_run(u, &d, run_frame(u, &rn, next_frame - SLACK_NS));
        if (a->exit_at_end && (u->th ? tui_host_all_ended(u->th) : u->s->m->end != END_NONE))
            return 1;
        int64_t t = now_ns();
        if (t >= next_frame - SLACK_NS) {
            tui_draw_frame(u);
            next_frame = t + FRAME_NS;
            u->draw_ns += now_ns() - t;
        }
        if (!u->running)
            napms(10);
    }
}

/* ---- command line ------------------------------------------------------- */

static void tui_help(void)
{
    puts("usage: ringside tui [--mode MODE] [--demo] [--demo-pause S] [--run]\n"
         "                    [--exit-at-end] [run options] KERNEL\n"
         "       ringside tui --host [--run] [--exit-at-end] [host options] --vm \"KERNEL ...\" ...\n"
         "       ringside tui --migrate [--run] [--exit-at-end] [migrate options] KERNEL [...]\n"
         "\n"
         "The terminal UI: guest code marked by execution path, translated code,\n"
         "guest vs hardware registers, paths, translation cache, overhead, events and\n"
         "the guest console, with gdb-style stepping. Press ? inside for every key.\n"
         "\n"
         "  --demo           classroom demo: narrate and pause at each kind of event\n"
         "  --demo-pause S   seconds each narration stays (default 4)\n"
         "  --run            start running at once (default: paused at the entry)\n"
         "  --exit-at-end    quit when the guest's run ends, with `ringside run`'s\n"
         "                   exit status (for scripts and `make bench`)\n"
         "  --host           several VMs on one host, with the options of ringside host\n"
         "                   (--hypervisor, --mem, --page-sharing, --config, ... as for\n"
         "                   ringside host --help; docs/tui.md)\n"
         "  --migrate        two hosts side by side, the VM live-migrating between them,\n"
         "                   with the options of ringside migrate (tui --migrate --help)\n"
         "  other options as for `ringside run` (see ringside run --help)");
}

/* Take the TUI's own options out of argv; the rest go to options_parse_run. */
static int split_args(int argc, char **argv, struct tui_args *a, char **rest, int *nrest)
{
    *a = (struct tui_args){ .demo_pause = 4.0 };
    *nrest = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--demo"))
            a->demo = true;
        else if (!strcmp(argv[i], "--run"))
            a->autorun = true;
        else if (!strcmp(argv[i], "--exit-at-end"))
            a->exit_at_end = true;
        else if (!strcmp(argv[i], "--host"))
            a->host = true;
        else if (!strcmp(argv[i], "--demo-pause")) {
            char *end;
            if (i + 1 >= argc || (a->demo_pause = strtod(argv[++i], &end)) < 0 || *end) {
                fprintf(stderr, "ringside: --demo-pause needs a number of seconds\n");
                return -1;
            }
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            tui_help();
            return 1;
        } else
            rest[(*nrest)++] = argv[i];
    }
    return 0;
}

static int tui_start(const struct run_options *o, const struct tui_args *a)
{
    static struct tui_session s;     /* large (event log, marks): not on the stack */
    char err[256];
    if (tui_session_open(&s, o, err, sizeof err) != 0) {
        fprintf(stderr, "ringside: %s\n", err);
        return EXIT_BAD_INPUT;
    }
    struct tui_ui u = { .s = &s, .demo = a->demo, .focus = PANE_GUEST,
                        .welcome = !a->demo && !a->autorun };
    /* the demo runs at full speed between its narrated stops: a limited speed
       steps every instruction, which leaves the translator mid-block and
       changed the closing table (bt: 68 KiB of TC instead of 16) */
    set_speed(&u, SPEED_FULL);
    signals_install();
    tui_draw_begin();
    int64_t t0 = now_ns();
    int ended = tui_loop(&u, a);
    trace_end(&u);
    double secs = (double)(now_ns() - t0) * 1e-9;
    tui_draw_end();
    int status = ended && a->exit_at_end ? cmd_run_exit_status(s.m) : EXIT_OK;
    /* --stats-json: the same file `ringside run` writes, for the engine on
       screen at the end (tests/test_tui.c compares the two) */
    if (o->stats_json && s.m->end != END_NONE &&
        report_stats_json(o->stats_json, s.m, &s.opt, cmd_run_exit_status(s.m)) != 0)
        status = EXIT_BAD_INPUT;
    if (a->exit_at_end)
        fprintf(stderr, "ringside tui: %u frames in %.2f s (%.1f fps, drawing %.1f%% of the "
                "time), %llu guest instructions (%.1f MIPS)\n", u.frames, secs,
                u.frames / secs, 100.0 * (double)u.draw_ns * 1e-9 / secs,
                (unsigned long long)s.m->cpu.insns, (double)s.m->cpu.insns / secs / 1e6);
    tui_session_close(&s);
    return status;
}

/* tui --host: the host view; exit status and --stats-json as `ringside host`. */
static int tui_host_start(struct tui_host *th, const struct tui_args *a)
{
    char err[256];
    if (a->demo) {
        fprintf(stderr, "ringside tui --host: --demo narrates one VM (ringside tui --demo KERNEL)\n");
        return EXIT_BAD_INPUT;
    }
    if (tui_host_open(th, err, sizeof err) != 0) {
        fprintf(stderr, "ringside tui --host: %s\n", err);
        return EXIT_BAD_INPUT;
    }
    struct tui_ui u = { .s = tui_host_selected(th), .th = th, .focus = PANE_GUEST,
                        .welcome = !a->autorun };
    set_speed(&u, SPEED_FULL);
    signals_install();
    tui_draw_begin();
    int ended = tui_loop(&u, a);
    trace_end(&u);
    tui_draw_end();
    int status = ended && a->exit_at_end ? host_exit_status(&th->host) : EXIT_OK;
    if (th->stats_json && tui_host_all_ended(th) &&
        host_write_stats(th->stats_json, &th->host, NULL, NULL) != 0)
        status = EXIT_BAD_INPUT;
    return status;
}

int cmd_tui(int argc, char **argv)
{
    struct tui_args a = { 0 };
    struct run_options o;
    static struct tui_host th;       /* large (the host's VM table): not on the stack */
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--migrate"))
            return tui_mig_main(argc, argv);     /* two hosts (tui_mig.h) */
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    int nrest, rc = rest ? split_args(argc, argv, &a, rest, &nrest) : -1;
    if (rc == 0)
        rc = a.host ? tui_host_parse(&th, nrest, rest) : options_parse_run(nrest, rest, &o);
    if (rc != 0 || a.host) {
        rc = rc ? (rc > 0 ? EXIT_OK : EXIT_BAD_INPUT) : tui_host_start(&th, &a);
        if (a.host)
            tui_host_close(&th);
        free(rest);                  /* the host's --vm strings pointed into argv, not here */
        return rc;
    }
    free(rest);
    return tui_start(&o, &a);
}

int tui_open_demo(const char *kernel)
{
    char *argv[] = { (char *)kernel };
    return cmd_tui(1, argv);
}
