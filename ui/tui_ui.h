/*
 * tui_ui.h - the TUI's own state between the main loop (tui_main.c) and the
 * ncurses drawing (tui_draw.c): which panes show, focus, speed, messages.
 * This is UI view state, allowed to live outside sim/ (DESIGN.md §6.4).
 */
#ifndef RS_TUI_UI_H
#define RS_TUI_UI_H

#include <stdbool.h>
#include <stddef.h>

#include "tui_session.h"
#include "trace.h"

enum tui_pane {
    PANE_GUEST = 0, PANE_TC, PANE_REGS, PANE_PATHS, PANE_TCACHE, PANE_OVERHEAD,
    PANE_EVENTS, PANE_CONSOLE, PANE_COUNT
};

struct tui_host;
struct tui_text;

struct tui_ui {
    struct tui_session *s;          /* the guest on screen (on a host: the selected VM's) */
    struct tui_host *th;            /* tui --host: the host, else NULL */
    bool running;           /* c / space */
    int speed;              /* index into the speed table (tui_main.c) */
    char speed_text[24];    /* "full", "10/s" */
    bool vga;               /* Console shows the VGA text screen */
    bool devices;           /* the Paths pane shows the Devices view instead (key d) */
    int focus;              /* enum tui_pane with focus */
    bool help;              /* ? overlay showing */
    bool demo;              /* --demo: the Narration pane shows */
    char msg[200];          /* one-off message in the status bar */
    bool welcome;           /* the status bar says which keys to press (until one is) */
    char caption[1024];     /* demo narration */
    struct trace_recorder trace; /* T: recording the event stream */
    bool tracing;           /* trace is open */
    unsigned frames;        /* frames drawn */
    long long draw_ns;      /* host time spent drawing them */
};

/* Start curses (colours if the terminal has them); stop it (idempotent). */
void tui_draw_begin(void);
void tui_draw_end(void);
/* Draw everything for the current terminal size. */
void tui_draw_frame(struct tui_ui *u);
/* True when the terminal is too small for all panes (Tab shows one at a time). */
bool tui_draw_compact(void);
/* Read a line in the status bar. Returns false if cancelled (Esc). */
bool tui_draw_prompt(struct tui_ui *u, const char *question, char *buf, size_t len);
/* Show a menu line and wait for one key. */
int tui_draw_menu(struct tui_ui *u, const char *text);
/* For views with their own layout (tui --migrate): a box titled `title`
   at (y, x) of h x w holding t; t's first line as the status bar. */
void tui_draw_text_box(int y, int x, int h, int w, const char *title, const struct tui_text *t);
void tui_draw_status_text(const struct tui_text *t);

#endif
