/*
 * tui_draw.c - the ncurses layer of the TUI: layout, borders, colours.
 *
 * Everything shown is produced as styled text by tui_view.c; this file only
 * decides where each pane goes and maps styles to attributes. Three layouts:
 * on a large terminal (at least 120x36) every pane has its place, code on the
 * left, counters on the right (as gdb's TUI keeps source beside registers,
 * and Blinkenlights keeps memory beside code); on a projector (100x30 up: a
 * terminal with a large font) the four panes a lecture points at, Guest code
 * and Translated code on the left, Paths and Overhead on the right, with Tab
 * showing any other pane in the Paths place; on a small one (80x24) the
 * Guest code stays on top and the other panes take turns below (Tab). Every
 * style has a monochrome form (bold, reverse, underline) and the path marks
 * are letters, so nothing depends on colour. Borders are drawn in normal
 * intensity (dim lines wash out on a projector); the focused pane's title
 * is in reverse video. The narration wraps on words and its box grows to
 * hold it (up to a bound per layout).
 */
#include "tui_ui.h"

#include <curses.h>
#include <string.h>

#include "tui_view.h"
#include "tui_view_host.h"

struct rect { int y, x, h, w; };

static const char *const pane_titles[PANE_COUNT] = {
    TUI_T_GUEST, TUI_T_TC, TUI_T_REGS, TUI_T_PATHS, TUI_T_TCACHE, TUI_T_OVERHEAD,
    TUI_T_EVENTS, TUI_T_CONSOLE,
};

/* ---- styles ------------------------------------------------------------- */

static chtype style_attr[TS_COUNT];   /* UI view state: set once in begin */
static bool curses_on;

static void styles_init(void)
{
    static const struct { short fg; chtype mono; } map[TS_COUNT] = {
        [TS_NORMAL] = { -1, A_NORMAL },        [TS_DIM] = { -1, A_NORMAL }, /* dim washes out */
        [TS_HEAD] = { -1, A_BOLD },            [TS_CURRENT] = { -1, A_REVERSE | A_BOLD },
        [TS_BREAK] = { COLOR_RED, A_BOLD },    [TS_NATIVE] = { -1, A_NORMAL },
        [TS_DIRECT] = { COLOR_GREEN, A_NORMAL }, [TS_TRANSLATED] = { COLOR_CYAN, A_NORMAL },
        [TS_EMULATED] = { COLOR_YELLOW, A_BOLD }, [TS_CHANGED] = { -1, A_REVERSE },
        [TS_DIFF] = { COLOR_MAGENTA, A_BOLD | A_UNDERLINE },
        [TS_CALLOUT] = { COLOR_RED, A_BOLD },  [TS_STATUS] = { -1, A_REVERSE },
    };
    bool colour = has_colors() && start_color() == OK;
    if (colour)
        use_default_colors();
    for (int i = 0; i < TS_COUNT; i++) {
        style_attr[i] = map[i].mono;
        if (colour && map[i].fg >= 0 && init_pair((short)(i + 1), map[i].fg, -1) == OK)
            style_attr[i] = COLOR_PAIR(i + 1) | (map[i].mono & (A_BOLD | A_UNDERLINE));
    }
}

void tui_draw_begin(void)
{
    initscr();
    cbreak();
    noecho();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    curs_set(0);
    set_escdelay(25);              /* Esc is a key here (leaves the Console) */
    styles_init();
    curses_on = true;
}

void tui_draw_end(void)
{
    if (!curses_on)
        return;
    curses_on = false;
    curs_set(1);
    endwin();
}

bool tui_draw_compact(void)
{
    return COLS < 100 || LINES < 30;
}

/* 100x30 up to the full layout: the projector's four panes. */
static bool projector(void)
{
    return !tui_draw_compact() && (COLS < 120 || LINES < 36);
}

/* ---- drawing text ------------------------------------------------------- */

/* One line clipped to w columns, in runs of equal style. */
static void put_line(int y, int x, int w, const struct tui_line *l)
{
    int i = 0;
    while (i < l->len && i < w) {
        int j = i;
        while (j < l->len && j < w && l->style[j] == l->style[i])
            j++;
        attrset(style_attr[l->style[i] < TS_COUNT ? l->style[i] : 0]);
        mvaddnstr(y, x + i, l->text + i, j - i);
        i = j;
    }
    attrset(A_NORMAL);
}

static void draw_box(struct rect r, const char *title, bool focus)
{
    if (r.h < 2 || r.w < 4)
        return;
    attrset(focus ? A_BOLD : A_NORMAL);
    mvhline(r.y, r.x + 1, '-', r.w - 2);          /* ASCII: reads in any terminal, */
    mvhline(r.y + r.h - 1, r.x + 1, '-', r.w - 2);  /* locale and screen capture */
    mvvline(r.y + 1, r.x, '|', r.h - 2);
    mvvline(r.y + 1, r.x + r.w - 1, '|', r.h - 2);
    mvaddch(r.y, r.x, '+');
    mvaddch(r.y, r.x + r.w - 1, '+');
    mvaddch(r.y + r.h - 1, r.x, '+');
    mvaddch(r.y + r.h - 1, r.x + r.w - 1, '+');
    attrset(focus ? A_BOLD | A_REVERSE : A_BOLD);
    mvprintw(r.y, r.x + 2, " %.*s ", r.w - 6, title);
    attrset(A_NORMAL);
}

static void draw_text(struct rect r, const struct tui_text *t)
{
    for (int i = 0; i < t->n && i < r.h - 2; i++)
        put_line(r.y + 1 + i, r.x + 1, r.w - 2, &t->line[i]);
}

/* Format pane `p` for an inner area of rows x width. */
static void pane_text(struct tui_ui *u, int p, int rows, int width, struct tui_text *t)
{
    tui_text_init(t, width);
    switch (p) {
    case PANE_GUEST:    tui_view_guest_code(u->s, rows, t); break;
    case PANE_TC:       tui_view_tc_code(u->s, rows, t); break;
    case PANE_REGS:     tui_view_registers(u->s, t); break;
    case PANE_PATHS:
        if (u->devices)
            tui_view_devices(u->s, t);
        else
            tui_view_paths(u->s, t);
        break;
    case PANE_TCACHE:
        if (tui_is_hw(u->s))
            tui_view_vmexits(u->s, t);
        else
            tui_view_tcache(u->s, t);
        break;
    case PANE_OVERHEAD: tui_view_overhead(u->s, t); break;
    case PANE_EVENTS:   tui_view_events(u->s, rows, t); break;
    default:            tui_view_console(u->s, rows, u->vga, t); break;
    }
}

static void draw_pane(struct tui_ui *u, int p, struct rect r, const char *suffix)
{
    static struct tui_text t;    /* large: kept off the stack */
    char title[96];
    if (r.h < 3 || r.w < 8)
        return;
    const char *console = u->vga ? " (VGA text, v: COM1)" : " (COM1, v: VGA)";
    if (p == PANE_CONSOLE && u->focus == PANE_CONSOLE)
        console = " (typing goes to the guest; Esc: back to ringside)";
    const char *name = p == PANE_TCACHE && tui_is_hw(u->s) ? TUI_T_VMEXITS
                       : p == PANE_PATHS && u->devices ? "Devices" : pane_titles[p];
    snprintf(title, sizeof title, "%s%s%s", name, p == PANE_CONSOLE ? console : "", suffix);
    draw_box(r, title, u->focus == p);
    pane_text(u, p, r.h - 2, r.w - 2, &t);
    draw_text(r, &t);
}

/* The narration wrapped for a box `width` wide: its height, at most max_rows
   of text (+2 for the borders). */
static int caption_rows(struct tui_ui *u, int width, int max_rows)
{
    static struct tui_text t;
    tui_text_init(&t, width - 2);
    int n = tui_text_wrap(&t, TS_HEAD, u->caption);
    return (n < 1 ? 1 : n > max_rows ? max_rows : n) + 2;
}

static void draw_caption(struct tui_ui *u, struct rect r)
{
    static struct tui_text t;
    draw_box(r, TUI_T_CAPTION " (demo)", false);
    tui_text_init(&t, r.w - 2);
    tui_text_wrap(&t, TS_HEAD, u->caption);
    draw_text(r, &t);
}

/* ---- layouts ------------------------------------------------------------ */

/* Every layout fills rows [top, top + rows) of the screen. */
static void layout_full(struct tui_ui *u, int top, int rows)
{
    int right = COLS * 55 / 100, left = COLS - right, half = right / 2;
    int y = top;
    if (u->demo) {
        y += caption_rows(u, left, 10);
        draw_caption(u, (struct rect){ top, 0, y - top, left });
    }
    int avail = top + rows - y, gh = avail * 45 / 100, th = avail * 25 / 100;
    draw_pane(u, PANE_GUEST, (struct rect){ y, 0, gh, left }, "  [N native D direct T translated E emulated]");
    draw_pane(u, PANE_TC, (struct rect){ y + gh, 0, th, left }, "");
    draw_pane(u, PANE_CONSOLE, (struct rect){ y + gh + th, 0, avail - gh - th, left }, "");
    int upper = rows * 45 / 100 < 21 ? 21 : rows * 45 / 100, mid = 14;
    if (top && upper + mid + 3 > rows)                /* under a host's VM list */
        upper = rows - mid - 3;
    draw_pane(u, PANE_REGS, (struct rect){ top, left, upper, half }, "");
    draw_pane(u, PANE_PATHS, (struct rect){ top, left + half, upper, right - half }, "");
    draw_pane(u, PANE_TCACHE, (struct rect){ top + upper, left, mid, half }, "");
    draw_pane(u, PANE_OVERHEAD, (struct rect){ top + upper, left + half, mid, right - half }, "");
    draw_pane(u, PANE_EVENTS, (struct rect){ top + upper + mid, left, rows - upper - mid, right }, "");
}

/* Small screens: Guest code on top, the focused pane (Tab) below. */
static void layout_compact(struct tui_ui *u, int top, int rows)
{
    int y = top;
    if (u->demo) {
        y += caption_rows(u, COLS, 7);
        draw_caption(u, (struct rect){ top, 0, y - top, COLS });
    }
    int avail = top + rows - y, gh = avail * 45 / 100;
    draw_pane(u, PANE_GUEST, (struct rect){ y, 0, gh, COLS }, "");
    int p = u->focus == PANE_GUEST ? PANE_REGS : u->focus;
    draw_pane(u, p, (struct rect){ y + gh, 0, avail - gh, COLS }, "  [Tab: next pane]");
}

/* Projector: Guest code over Translated code, Paths over Overhead; a pane
   given focus with Tab (Registers, Events...) takes the Paths place. */
static void layout_projector(struct tui_ui *u, int top, int rows)
{
    int y = top;
    if (u->demo) {
        y += caption_rows(u, COLS, 7);
        draw_caption(u, (struct rect){ top, 0, y - top, COLS });
    }
    int left = COLS / 2, right = COLS - left, avail = top + rows - y;   /* Overhead needs ~50 */
    int gh = avail * 55 / 100, ph = avail / 2;
    draw_pane(u, PANE_GUEST, (struct rect){ y, 0, gh, left }, "  [N D T E: path]");
    draw_pane(u, PANE_TC, (struct rect){ y + gh, 0, avail - gh, left }, "");
    bool other = u->focus != PANE_GUEST && u->focus != PANE_TC && u->focus != PANE_PATHS &&
                 u->focus != PANE_OVERHEAD;
    draw_pane(u, other ? u->focus : PANE_PATHS, (struct rect){ y, left, ph, right },
              other ? "  [Tab: next]" : "");
    draw_pane(u, PANE_OVERHEAD, (struct rect){ y + ph, left, avail - ph, right }, "");
}

/* ---- the host view (tui --host) ----------------------------------------- */

static void draw_host_text(struct rect r, const char *title, const struct tui_text *t)
{
    draw_box(r, title, false);
    draw_text(r, t);
}

/* The VM list, and beside it (if there is room) the memory map. Returns
   the rows used. */
static int host_strip(struct tui_ui *u)
{
    static struct tui_text t;
    struct tui_host *th = u->th;
    int n = th->host.nvms, want = (n > 8 ? 8 : n) + 4;
    if (want < 9 && COLS >= 150)
        want = 9;                                 /* room for the memory map */
    int h = want > LINES / 3 && LINES / 3 >= 6 ? LINES / 3 : want;
    int list_w = COLS >= 150 ? 96 : COLS;
    tui_text_init(&t, list_w - 2);
    tui_view_vm_list(th, u->running, &t);
    draw_host_text((struct rect){ 0, 0, h, list_w }, TUI_T_VMS " (1-9 select, w next, p pause, "
                   "a add, k kill, | side by side)", &t);
    if (COLS - list_w >= 30) {
        tui_text_init(&t, COLS - list_w - 2);
        tui_view_memmap(th, h - 2, &t);
        draw_host_text((struct rect){ 0, list_w, h, COLS - list_w }, TUI_T_MEMMAP, &t);
    }
    return h;
}

/* One VM's column in the side-by-side view: its code, overhead and console. */
static void side_column(struct tui_ui *u, struct tui_session *s, struct rect r)
{
    struct tui_session *keep = u->s;
    char suffix[64];
    u->s = s;
    snprintf(suffix, sizeof suffix, "  [vm %s, %s]", s->name, s->mode);
    int gh = r.h * 45 / 100, oh = r.h < 30 ? r.h - gh : 13;
    draw_pane(u, PANE_GUEST, (struct rect){ r.y, r.x, gh, r.w }, suffix);
    draw_pane(u, PANE_OVERHEAD, (struct rect){ r.y + gh, r.x, oh, r.w }, suffix);
    draw_pane(u, PANE_CONSOLE, (struct rect){ r.y + gh + oh, r.x, r.h - gh - oh, r.w }, suffix);
    u->s = keep;
}

static void layout_host(struct tui_ui *u, int rows)
{
    int top = host_strip(u);
    struct tui_host *th = u->th;
    if (th->other >= 0) {
        int half = COLS / 2;
        side_column(u, th->sess[th->sel], (struct rect){ top, 0, rows - top, half });
        side_column(u, th->sess[th->other], (struct rect){ top, half, rows - top, COLS - half });
    } else if (tui_draw_compact() || rows - top < 30) {
        layout_compact(u, top, rows - top);
    } else if (projector() || rows - top < 36) {
        layout_projector(u, top, rows - top);
    } else {
        layout_full(u, top, rows - top);
    }
}

static void draw_help(bool host)
{
    static struct tui_text t;
    tui_text_init(&t, 86);
    tui_view_help(&t, host);
    int h = t.n + 2, w = 88;
    if (w > COLS)
        w = COLS;
    if (h > LINES)
        h = LINES;
    struct rect r = { (LINES - h) / 2, (COLS - w) / 2, h, w };
    for (int i = 0; i < r.h; i++)
        mvhline(r.y + i, r.x, ' ', r.w);
    draw_box(r, "Help: every key", true);
    draw_text(r, &t);
}

void tui_draw_status_text(const struct tui_text *t)
{
    move(LINES - 1, 0);
    attrset(style_attr[TS_STATUS]);
    hline(' ', COLS);
    attrset(A_NORMAL);
    if (t->n)
        put_line(LINES - 1, 0, COLS, &t->line[0]);
}

void tui_draw_text_box(int y, int x, int h, int w, const char *title, const struct tui_text *t)
{
    struct rect r = { y, x, h, w };
    draw_box(r, title, false);
    draw_text(r, t);
}

static void draw_status(struct tui_ui *u)
{
    static struct tui_text t;
    tui_text_init(&t, COLS);
    if (u->welcome)
        tui_view_welcome(u->s, COLS, &t);
    else
        tui_view_status(u->s, tui_session_state(u->s, u->running), u->speed_text, u->msg, &t);
    tui_draw_status_text(&t);
}

void tui_draw_frame(struct tui_ui *u)
{
    erase();
    int rows = LINES - 1;
    if (u->th)
        layout_host(u, rows);
    else if (tui_draw_compact())
        layout_compact(u, 0, rows);
    else if (projector())
        layout_projector(u, 0, rows);
    else
        layout_full(u, 0, rows);
    draw_status(u);
    if (u->help)
        draw_help(u->th != NULL);
    refresh();
    u->frames++;
}

/* ---- input in the status bar -------------------------------------------- */

bool tui_draw_prompt(struct tui_ui *u, const char *question, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = 0;
    nodelay(stdscr, FALSE);
    curs_set(1);
    for (;;) {
        move(LINES - 1, 0);
        attrset(style_attr[TS_STATUS]);
        hline(' ', COLS);
        mvprintw(LINES - 1, 0, " %s %s", question, buf);
        attrset(A_NORMAL);
        refresh();
        int ch = getch();
        if (ch == 27 || ch == ERR) {
            n = 0;
            break;
        }
        if (ch == '\n' || ch == '\r' || ch == KEY_ENTER)
            break;
        if ((ch == KEY_BACKSPACE || ch == 127 || ch == 8) && n > 0)
            buf[--n] = 0;
        else if (ch >= 0x20 && ch < 0x7f && n + 1 < len)
            buf[n++] = (char)ch, buf[n] = 0;
    }
    curs_set(0);
    nodelay(stdscr, TRUE);
    return n > 0;
}

int tui_draw_menu(struct tui_ui *u, const char *text)
{
    move(LINES - 1, 0);
    attrset(style_attr[TS_STATUS]);
    hline(' ', COLS);
    mvprintw(LINES - 1, 0, " %.*s", COLS - 2, text);
    attrset(A_NORMAL);
    refresh();
    nodelay(stdscr, FALSE);
    int ch = getch();
    nodelay(stdscr, TRUE);
    return ch;
}
