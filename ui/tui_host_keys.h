/*
 * tui_host_keys.h - the host view's keys (tui --host), beside tui_main.c's.
 */
#ifndef RS_TUI_HOST_KEYS_H
#define RS_TUI_HOST_KEYS_H

#include <stdbool.h>

#include "tui_ui.h"

/* A key with a host meaning: true if it was handled (false: not on a host,
   or a key the one-VM TUI handles the same way). */
bool tui_host_key(struct tui_ui *u, int ch);

#endif
