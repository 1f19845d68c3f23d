/*
 * tui_view.h - the TUI's view model: engine state formatted into styled text
 * lines, one function per pane, with no ncurses in sight.
 *
 * Keeping the formatting apart from the drawing lets the unit tests check
 * what a pane says (the counts, the marks, the highlighting) without a
 * terminal, and keeps tui_draw.c a thin layer that maps styles to colours.
 * Every line carries one style byte per character, so a pane can mark a
 * single register value as changed (reverse video) or different between the
 * guest's and the hardware's view.
 */
#ifndef RS_TUI_VIEW_H
#define RS_TUI_VIEW_H

#include <stdbool.h>
#include <stdint.h>

#include "tui_session.h"

#define TUI_LINE_MAX 240   /* characters per line */
#define TUI_TEXT_MAX 128   /* lines per pane */

/* What a character means; tui_draw.c turns this into colour + attributes,
   and every style also reads on a monochrome terminal (glyphs, bold, reverse). */
enum tui_style {
    TS_NORMAL = 0,
    TS_DIM,         /* secondary text, legends */
    TS_HEAD,        /* column headings */
    TS_CURRENT,     /* the instruction at EIP */
    TS_BREAK,       /* breakpoint glyph */
    TS_NATIVE,      /* path colours: one per enum ev_path */
    TS_DIRECT,
    TS_TRANSLATED,
    TS_EMULATED,
    TS_CHANGED,     /* value changed by the last step: reverse video */
    TS_DIFF,        /* guest view differs from the hardware's */
    TS_CALLOUT,     /* a callout into the VMM in TC code */
    TS_STATUS,      /* the status bar */
    TS_COUNT
};

struct tui_line {
    char text[TUI_LINE_MAX + 1];
    uint8_t style[TUI_LINE_MAX + 1];
    int len;
};

struct tui_text {
    struct tui_line line[TUI_TEXT_MAX];
    int n;
    int width;            /* characters per line the pane can show */
};

/* Pane titles: tests and people find panes by these words. */
#define TUI_T_GUEST    "Guest code"
#define TUI_T_TC       "Translated code"
#define TUI_T_REGS     "Registers"
#define TUI_T_PATHS    "Paths"
#define TUI_T_TCACHE   "Translation cache"
#define TUI_T_VMEXITS  "VM exits"      /* in the Translation cache's place under hw */
#define TUI_T_OVERHEAD "Overhead"
#define TUI_T_EVENTS   "Events"
#define TUI_T_CONSOLE  "Console"
#define TUI_T_CAPTION  "Narration"

/* ---- building text ---- */
void tui_text_init(struct tui_text *t, int width);
/* Start a new line with formatted text in `style`; returns the line. */
struct tui_line *tui_text_line(struct tui_text *t, enum tui_style style, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Append to the last line (starting one if there is none). */
void tui_text_put(struct tui_text *t, enum tui_style style, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Restyle a whole line. */
void tui_line_style(struct tui_line *l, enum tui_style style);
/* Append `text` wrapped on words to the width (\n: a forced break); returns
   the lines added. */
int tui_text_wrap(struct tui_text *t, enum tui_style style, const char *text);
/* Index of the first line containing `needle`, or -1 (tests). */
int tui_text_find(const struct tui_text *t, const char *needle);

/* ---- panes (tui_view.c) ---- */
/* One glyph per path, so the marks read without colour: N D T E. */
char tui_path_glyph(int path);
enum tui_style tui_path_style(int path);
/* "<kmain+0x12>" or "" into buf. */
const char *tui_symbolize(const struct tui_session *s, uint32_t addr, char *buf, size_t len);
void tui_view_guest_code(const struct tui_session *s, int rows, struct tui_text *out);
void tui_view_tc_code(const struct tui_session *s, int rows, struct tui_text *out);
void tui_view_registers(struct tui_session *s, struct tui_text *out);

/* ---- panes (tui_view_stats.c) ---- */
void tui_view_paths(const struct tui_session *s, struct tui_text *out);
void tui_view_tcache(const struct tui_session *s, struct tui_text *out);
void tui_view_overhead(const struct tui_session *s, struct tui_text *out);
/* ---- panes (tui_view_dev.c) ---- */
/* The PC's devices: PICs, PIT, RTC, APICs, COM1, 8042, IDE, CRT cursor. */
void tui_view_devices(const struct tui_session *s, struct tui_text *out);
/* ---- panes (tui_view_hw.c) ---- */
/* hw: exits by reason, injections, the last exit and the VMCS fields it changed. */
void tui_view_vmexits(const struct tui_session *s, struct tui_text *out);
/* The engine is hw (the pane shows VM exits, not the TC). */
bool tui_is_hw(const struct tui_session *s);
void tui_view_events(const struct tui_session *s, int rows, struct tui_text *out);
/* One event as a line of text (no cycle stamp): "trap  cli  eip 0x1000a2". */
void tui_event_text(const struct event *ev, char *buf, size_t len);
void tui_view_console(const struct tui_session *s, int rows, bool vga, struct tui_text *out);
/* The status bar: mode, state, EIP and symbol, cycle count, a message. */
void tui_view_status(const struct tui_session *s, enum tui_state st, const char *speed,
                     const char *msg, struct tui_text *out);
/* Every key; `host`: the host view's (tui --host). */
void tui_view_help(struct tui_text *out, bool host);
/* The first status bar: which keys to press, fitted to `cols`. */
void tui_view_welcome(const struct tui_session *s, int cols, struct tui_text *out);
/* The guest's share of native speed, 100 * native_equiv / total (100 natively). */
double tui_speed_pct(const struct tui_session *s);

#endif
