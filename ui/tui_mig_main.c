/*
 * tui_mig_main.c - `ringside tui --migrate`: the two-host view's screen,
 * keys and loop (the model is tui_mig.c, the panes' text tui_view_mig.c).
 *
 * The source host on the left, the target on the right, each with its VM
 * (and the VM's state: running, paused, gone; incoming, arrived) over the
 * console the guest printed on that host; below them the pre-copy report
 * of `ringside migrate`, one line per round as the rounds end. While the
 * migration runs (inside migrate_vm) the screen is redrawn from its
 * progress callback, so the VM is seen printing on the source during
 * pre-copy, pausing, and printing on the target after. A view of its own
 * (not the one-VM or host loop of tui_main.c): its keys are few (c, m, q)
 * and its run is two hosts, one after the other.
 */
#include "tui_mig.h"

#include <curses.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cmd_run.h"
#include "tui_ui.h"
#include "tui_view_mig.h"

#define MIG_FRAME_NS 33000000LL   /* about 30 frames a second */

struct mig_ui {
    struct tui_mig *tm;
    bool running;                 /* c / space */
    char msg[200];
    long long last_draw;          /* ns */
};

static volatile sig_atomic_t mig_quit;   /* set from signal handlers only */

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void on_quit(int sig)
{
    mig_quit = sig;
}

static void on_crash(int sig)
{
    tui_draw_end();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void signals_install(void)
{
    static const int quit[] = { SIGINT, SIGTERM, SIGHUP };
    static const int crash[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
    for (unsigned i = 0; i < sizeof quit / sizeof *quit; i++)
        signal(quit[i], on_quit);
    for (unsigned i = 0; i < sizeof crash / sizeof *crash; i++)
        signal(crash[i], on_crash);
}

/* ---- the screen --------------------------------------------------------- */

static void draw_side(struct mig_ui *u, int side, int x, int w, int hh, int ch)
{
    static struct tui_text t;
    char title[96];
    tui_text_init(&t, w - 2);
    tui_view_mig_host(u->tm, side, u->running, &t);
    tui_draw_text_box(0, x, hh, w, side ? TUI_T_TARGET : TUI_T_SOURCE, &t);
    tui_text_init(&t, w - 2);
    tui_view_mig_console(u->tm, side, ch - 2, &t);
    snprintf(title, sizeof title, "%s (COM1 on the %s)", TUI_T_CONSOLE, side ? "target" : "source");
    tui_draw_text_box(hh, x, ch, w, title, &t);
}

static void draw(struct mig_ui *u)
{
    static struct tui_text t;
    erase();
    int rows = LINES - 1, half = COLS / 2;
    tui_text_init(&t, COLS - 2);
    tui_view_mig_precopy(u->tm, &t);
    int ph = t.n + 2, hh = 7;
    if (ph > rows / 2)
        ph = rows / 2;
    if (ph < 4)
        ph = 4;
    tui_draw_text_box(rows - ph, 0, ph, COLS, TUI_T_PRECOPY " (iterative pre-copy over the "
                      "modeled link; the figures of ringside migrate)", &t);
    int ch = rows - ph - hh;
    draw_side(u, 0, 0, half, hh, ch);
    draw_side(u, 1, half, COLS - half, hh, ch);
    tui_text_init(&t, COLS);
    tui_view_mig_status(u->tm, u->running, u->msg, &t);
    tui_draw_status_text(&t);
    refresh();
    u->last_draw = now_ns();
}

/* migrate_vm's progress, through the model: the frame at each round and
   the pause, and at most every 33 ms in between. */
static void redraw(void *ctx, enum mig_phase phase)
{
    struct mig_ui *u = ctx;
    if (phase != MIG_PHASE_RUN || now_ns() - u->last_draw >= MIG_FRAME_NS)
        draw(u);
}

/* ---- keys and the loop -------------------------------------------------- */

static void ended(struct mig_ui *u)
{
    u->running = false;
    snprintf(u->msg, sizeof u->msg, "%.150s (q quits)",
             tui_mig_host(u->tm)->vms[0].vm->m.end_msg);
}

static void key_migrate(struct mig_ui *u)
{
    struct tui_mig *tm = u->tm;
    if (tm->phase != TM_BEFORE) {
        snprintf(u->msg, sizeof u->msg, "the migration has been made");
        return;
    }
    snprintf(u->msg, sizeof u->msg, "migrating...");
    tui_mig_migrate(tm);
    snprintf(u->msg, sizeof u->msg, "%.180s", tm->phase == TM_MOVED ? "moved to the target"
                                              : tm->err);
}

/* false: quit. */
static bool handle_key(struct mig_ui *u, int ch)
{
    switch (ch) {
    case 'q': return false;
    case 'c': case ' ':
        u->running = !u->running && !tui_mig_ended(u->tm);
        u->msg[0] = 0;
        break;
    case 'm': key_migrate(u); break;
    case KEY_RESIZE: clearok(stdscr, TRUE); break;
    default: break;
    }
    return true;
}

/* 1 when the run ended with --exit-at-end, else 0 (quit). */
static int loop(struct mig_ui *u)
{
    struct tui_mig *tm = u->tm;
    for (;;) {
        int ch;
        if (mig_quit)
            return 0;
        while ((ch = getch()) != ERR)
            if (!handle_key(u, ch))
                return 0;
        long long frame_end = now_ns() + MIG_FRAME_NS - 8000000LL;
        while (u->running && now_ns() < frame_end)
            if (!tui_mig_step(tm))
                ended(u);
        if (tui_mig_ended(tm) && tm->exit_at_end)
            return 1;
        if (now_ns() - u->last_draw >= MIG_FRAME_NS)
            draw(u);
        if (!u->running)
            napms(10);
    }
}

int tui_mig_main(int argc, char **argv)
{
    static struct tui_mig tm;            /* large (two consoles): not on the stack */
    char err[256];
    int rc = tui_mig_parse(&tm, argc, argv);
    if (rc != 0)
        return rc > 0 ? EXIT_OK : EXIT_BAD_INPUT;
    if (tui_mig_open(&tm, err, sizeof err) != 0) {
        fprintf(stderr, "ringside tui --migrate: %s\n", err);
        return EXIT_BAD_INPUT;
    }
    struct mig_ui u = { .tm = &tm, .running = tm.autorun };
    snprintf(u.msg, sizeof u.msg, "%s", tm.autorun ? "" : "Welcome! c runs the VM");
    tm.redraw = redraw;
    tm.redraw_ctx = &u;
    signals_install();
    tui_draw_begin();
    int end = loop(&u);
    tui_draw_end();
    int status = end ? tui_mig_exit_status(&tm) : EXIT_OK;
    if (tm.stats_json && tm.phase == TM_MOVED && tui_mig_write_json(&tm, tm.stats_json) != 0)
        status = EXIT_BAD_INPUT;
    else if (tm.stats_json && tm.phase != TM_MOVED)
        fprintf(stderr, "ringside tui --migrate: --stats-json %s not written: the VM did not "
                "move\n", tm.stats_json);
    tui_mig_close(&tm);
    return status;
}
