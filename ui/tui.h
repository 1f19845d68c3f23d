/*
 * tui.h - `ringside tui`: the terminal UI (ncurses + Capstone).
 *
 * What a class sees on the projector: the guest's code marked by the path
 * each instruction took (native, direct, translated, emulated), translated
 * code beside the guest code it came from, the guest's registers beside the
 * hardware's, the counters of traps, translations and overhead, the event
 * log and the guest console, with gdb-style stepping. docs/tui.md has the
 * key map and the layout. The modules: tui_session (the machine and what the
 * UI learns from its events), tui_view (panes as text), tui_draw (ncurses),
 * tui_main (options, the loop, keys, demo mode).
 */
#ifndef RS_TUI_H
#define RS_TUI_H

/* `ringside tui [options] KERNEL`: returns the process exit status. */
int cmd_tui(int argc, char **argv);
/* `ringside` with no arguments on a terminal: the TUI on `kernel`. */
int tui_open_demo(const char *kernel);

#endif
