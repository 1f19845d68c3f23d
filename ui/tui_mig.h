/*
 * tui_mig.h - the TUI's two-host view (`ringside tui --migrate`): the model
 * behind the screen, without ncurses (tests drive it directly).
 *
 * Two hosts in this process, as `ringside migrate` has them (cmd_migrate.h:
 * the same options, the same start point, the same report): the kernel
 * boots on the source; at --at guest instructions (or when asked) it is
 * live-migrated to the target by iterative pre-copy (sim/host/migrate.c),
 * which calls back after every slice and round so the view can redraw while
 * the VM keeps printing on the source; then it pauses, and goes on printing
 * on the target. Each host's COM1 output is kept apart, so the screen shows
 * what the guest printed where.
 */
#ifndef RS_TUI_MIG_H
#define RS_TUI_MIG_H

#include <stdbool.h>
#include <stddef.h>

#include "cmd_migrate.h"

#define TUI_MIG_CONSOLE 65536     /* bytes of COM1 kept per host */

enum tui_mig_phase {
    TM_BEFORE = 0,                /* on the source, the migration not begun */
    TM_PRECOPY,                   /* pre-copy rounds: the VM runs on the source */
    TM_STOPPED,                   /* paused on the source: the stop-and-copy */
    TM_MOVED,                     /* on the target */
    TM_FAILED,                    /* did not move: runs on at the source */
};

struct tui_mig_console {
    char text[TUI_MIG_CONSOLE];
    size_t len;                   /* bytes kept (output beyond the buffer is dropped) */
    size_t total;                 /* bytes the guest printed on this host */
};

struct tui_mig {
    struct host *hosts;           /* [0] the source, [1] the target (calloc'd) */
    struct mig_cli cli;           /* --at and the link, as `ringside migrate` */
    struct run_options o;         /* the kernel and its run options */
    int round_ms;                 /* --round-ms: host ms each round stays on screen */
    const char *stats_json;       /* --stats-json: the migration's JSON at the end */
    bool autorun, exit_at_end;    /* --run, --exit-at-end */
    enum tui_mig_phase phase;
    struct mig_report rep;        /* the migration's report (so far) */
    int rounds_done;              /* rounds of rep that have ended (MIG_PHASE_ROUND) */
    char err[256];                /* TM_FAILED: why */
    struct tui_mig_console con[2];
    size_t printed_before;        /* source console bytes when the migration began */
    /* the view's redraw while migrate_vm runs (NULL: none) */
    void (*redraw)(void *ctx, enum mig_phase phase);
    void *redraw_ctx;
};

/* `ringside tui --migrate ...` (argv: every argument after "tui"): the
   screen (tui_mig_main.c). The process exit status. */
int tui_mig_main(int argc, char **argv);

/* `ringside tui --migrate` arguments (every one but the program's name):
   --run, --exit-at-end, --stats-json, --round-ms, the migrate options,
   KERNEL and its run options.
   0, 1 (help printed), or -1 (one line on stderr). */
int tui_mig_parse(struct tui_mig *tm, int argc, char **argv);
/* Boot the kernel on the source. 0, or -1 with err. */
int tui_mig_open(struct tui_mig *tm, char *err, size_t errlen);
void tui_mig_close(struct tui_mig *tm);

/* The host the VM is on now (the target once moved). */
struct host *tui_mig_host(struct tui_mig *tm);
/* One step of the run: before the move a short slice towards --at (then the
   migration, if it is due), after it a slice of the target. false when the
   VM's run has ended. */
bool tui_mig_step(struct tui_mig *tm);
/* Migrate now (TM_BEFORE only): TM_MOVED, or TM_FAILED with tm->err. */
void tui_mig_migrate(struct tui_mig *tm);
/* The VM's run has ended (on whichever host). */
bool tui_mig_ended(struct tui_mig *tm);
/* `ringside run`'s exit status of the VM. */
int tui_mig_exit_status(struct tui_mig *tm);
/* --stats-json: the line `ringside migrate --json` prints. 0, or -1. */
int tui_mig_write_json(const struct tui_mig *tm, const char *path);

#endif
