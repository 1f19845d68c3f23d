/*
 * tmux.h - a terminal program driven as a person would: started in a private
 * tmux server, keys sent, the screen read back. Used by the TUI and lesson
 * suites.
 */
#ifndef RS_TEST_TMUX_H
#define RS_TEST_TMUX_H

#include <stdbool.h>

struct tmux {
    char sock[64];
    char screen[16384];
};

/* `ringside ARGS` in a cols x rows window; when it ends the window shows
   "TUI EXIT <status>" (and whatever it printed). */
bool tmux_run(struct tmux *t, int cols, int rows, const char *args);
/* Kill the private server and remove its socket file. */
void tmux_stop(struct tmux *t);
/* tmux send-keys arguments, e.g. "q" or "'99.8' Enter". */
void tmux_keys(struct tmux *t, const char *keys);
const char *tmux_capture(struct tmux *t);
/* Poll the screen until `needle` shows (true) or `seconds` pass (bounded: a
   slow sanitizer build only makes the wait longer, never the test wrong). */
bool tmux_wait(struct tmux *t, const char *needle, int seconds);
/* Poll until `needle` is no longer on the screen. */
bool tmux_wait_gone(struct tmux *t, const char *needle, int seconds);

#endif
