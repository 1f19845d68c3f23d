/*
 * tui_view_host.h - the host view's panes (tui --host) as styled text: the
 * VM list and the machine-memory map (no ncurses; unit-tested).
 */
#ifndef RS_TUI_VIEW_HOST_H
#define RS_TUI_VIEW_HOST_H

#include <stdbool.h>

#include "tui_host.h"
#include "tui_view.h"

#define TUI_T_VMS    "VMs"
#define TUI_T_MEMMAP "Machine memory"

/* One line per VM (the selected one marked), then the host's totals.
   `running`: the host is running (a runnable VM says so). */
void tui_view_vm_list(const struct tui_host *th, bool running, struct tui_text *out);
/* Frames by owner, shared and free, in `rows` lines of out->width cells. */
void tui_view_memmap(const struct tui_host *th, int rows, struct tui_text *out);

#endif
