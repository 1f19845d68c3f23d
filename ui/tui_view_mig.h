/*
 * tui_view_mig.h - the two-host view's panes (tui --migrate) as styled
 * text: each host and its VM, each host's console, the pre-copy report,
 * the status bar (no ncurses; unit-tested).
 */
#ifndef RS_TUI_VIEW_MIG_H
#define RS_TUI_VIEW_MIG_H

#include <stdbool.h>

#include "tui_mig.h"
#include "tui_view.h"

#define TUI_T_SOURCE  "Source host"
#define TUI_T_TARGET  "Target host"
#define TUI_T_PRECOPY "Pre-copy"

/* Host `side` (0 source, 1 target): its VM, the VM's state (running,
   paused, gone, incoming, arrived, exited), instructions and cycles. */
void tui_view_mig_host(struct tui_mig *tm, int side, bool running, struct tui_text *out);
/* The last `rows` lines of what the guest printed on host `side`. */
void tui_view_mig_console(const struct tui_mig *tm, int side, int rows, struct tui_text *out);
/* The report of `ringside migrate` (ctl_migrate_print's text): the rounds
   so far while pre-copy runs, all of it once the VM has moved. */
void tui_view_mig_precopy(const struct tui_mig *tm, struct tui_text *out);
/* The status bar: the phase, the keys, a message. */
void tui_view_mig_status(struct tui_mig *tm, bool running, const char *msg, struct tui_text *out);

#endif
