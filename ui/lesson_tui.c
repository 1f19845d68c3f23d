/*
 * lesson_tui.c - a lesson on a full screen: the Lesson pane, the question and
 * the student's answer checked on the spot.
 *
 * The pane is a log of what the step has said, run, checked and asked, wrapped
 * on words to the window's width at every redraw (so it fits 80x24 and 100x30
 * and survives a resize) and scrolled to its end. The steps are done by
 * lesson_run.c exactly as the text runner does them; this file only shows
 * them. `t` leaves the pane for the machine TUI on the step's kernel
 * (`ringside tui ...` as its own process) and comes back to the lesson.
 */
#include "cmd_lesson.h"

#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lesson_run.h"
#include "options.h"
#include "tui_view.h"
#include "words.h"

#define LOG_MAX 200
#define ANSWER_MAX 40

struct log_entry {
    enum tui_style style;
    char *text;
};

struct lesson_screen {
    struct lesson_session s;
    struct log_entry log[LOG_MAX];
    int nlog;
    int step;
    int right, questions;
    const char *tui_args;      /* the current step's tui: line, if any */
    char status[160];
    struct tui_text text;      /* the log wrapped to the window, at each draw */
};

static void log_add(struct lesson_screen *ls, enum tui_style st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void log_add(struct lesson_screen *ls, enum tui_style st, const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (ls->nlog == LOG_MAX) {
        free(ls->log[0].text);
        memmove(ls->log, ls->log + 1, sizeof ls->log[0] * (LOG_MAX - 1));
        ls->nlog--;
    }
    ls->log[ls->nlog].style = st;
    ls->log[ls->nlog++].text = strdup(buf);
}

static void log_clear(struct lesson_screen *ls)
{
    for (int i = 0; i < ls->nlog; i++)
        free(ls->log[i].text);
    ls->nlog = 0;
}

static chtype attr_of(enum tui_style st)
{
    return st == TS_HEAD ? A_BOLD : st == TS_CURRENT ? A_REVERSE | A_BOLD
         : st == TS_BREAK ? A_BOLD | A_UNDERLINE : A_NORMAL;
}

/* Title line, the Lesson pane (the log's last lines that fit), the answer
   line and the status line. */
static void draw(struct lesson_screen *ls, const char *prompt, const char *answer)
{
    int rows, cols;
    getmaxyx(stdscr, rows, cols);
    erase();
    const struct lesson *l = ls->s.l;
    attron(A_REVERSE);
    mvhline(0, 0, ' ', cols);
    mvprintw(0, 1, "Lesson %d: %.*s", l->number, cols > 30 ? cols - 30 : 1, l->title);
    mvprintw(0, cols - 14 > 0 ? cols - 14 : 0, "step %d/%d", ls->step + 1, l->nsteps);
    attroff(A_REVERSE);
    int top = 1, height = rows - 3;
    mvhline(top, 0, ACS_HLINE, cols);
    mvprintw(top, 2, " Lesson ");
    struct tui_text *t = &ls->text;
    tui_text_init(t, cols - 4 > 10 ? cols - 4 : 10);
    for (int i = 0; i < ls->nlog; i++) {
        int first = t->n;
        tui_text_wrap(t, ls->log[i].style, ls->log[i].text);
        for (int k = first; k < t->n; k++)
            t->line[k].style[0] = (uint8_t)ls->log[i].style;
    }
    int shown = height - 1, from = t->n > shown ? t->n - shown : 0;
    for (int k = from; k < t->n; k++) {
        attron(attr_of(t->line[k].style[0]));
        mvprintw(top + 1 + k - from, 2, "%s", t->line[k].text);
        attroff(attr_of(t->line[k].style[0]));
    }
    if (prompt) {
        attron(A_BOLD);
        mvprintw(rows - 2, 1, "%s", prompt);
        attroff(A_BOLD);
        printw(" %s", answer);
    }
    attron(A_REVERSE);
    mvhline(rows - 1, 0, ' ', cols);
    mvprintw(rows - 1, 1, "%.*s", cols - 2, ls->status);
    attroff(A_REVERSE);
    if (prompt) {
        curs_set(1);
        move(rows - 2, 2 + (int)strlen(prompt) + (int)strlen(answer));
    } else
        curs_set(0);
    refresh();
}

/* The machine TUI on `args`, as its own process; back to the lesson after. */
static void open_machine_tui(struct lesson_screen *ls)
{
    char *line = lesson_expand(ls->s.l, ls->tui_args);
    char *argv[40] = { "ringside", "tui" };
    int n = words_split(line, argv + 2, 37);
    argv[n < 0 ? 2 : n + 2] = NULL;   /* a line that does not split: the TUI's usage */
    def_prog_mode();
    endwin();
    pid_t pid = fork();
    if (pid == 0) {
        if (chdir(ls->s.l->srcdir) == 0)
            execv("/proc/self/exe", argv);
        _exit(127);
    }
    if (pid > 0)
        waitpid(pid, NULL, 0);
    reset_prog_mode();
    free(line);
}

/* Read a line; NULL when the student quits (q on an empty line, Esc). */
static const char *read_answer(struct lesson_screen *ls, const char *prompt, char *buf)
{
    int n = 0;
    buf[0] = 0;
    snprintf(ls->status, sizeof ls->status,
             "type the answer, Enter to check it  |  Esc quit%s",
             ls->tui_args ? "  |  Tab: open the TUI" : "");
    for (;;) {
        draw(ls, prompt, buf);
        int c = getch();
        if (c == 27)
            return NULL;
        if (c == '\t' && ls->tui_args)
            open_machine_tui(ls);
        else if (c == '\n' || c == '\r' || c == KEY_ENTER)
            return buf;
        else if ((c == KEY_BACKSPACE || c == 127 || c == 8) && n > 0)
            buf[--n] = 0;
        else if (c >= 32 && c < 127 && n < ANSWER_MAX) {
            buf[n++] = (char)c;
            buf[n] = 0;
        }
    }
}

/* false when the student quits */
static bool ask(struct lesson_screen *ls, const struct lesson_item *it)
{
    char err[512], expected[256], buf[ANSWER_MAX + 1];
    ls->questions++;
    log_add(ls, TS_HEAD, "Q%d. %s", ls->questions, it->text);
    for (int c = 0; c < it->nchoices; c++)
        log_add(ls, TS_NORMAL, "  %c) %s", 'a' + c, it->choices[c]);
    if (lesson_answer_text(&ls->s, it, expected, sizeof expected, err, sizeof err)) {
        log_add(ls, TS_BREAK, "error: %s", err);
        return true;
    }
    char prompt[32];
    snprintf(prompt, sizeof prompt, "Answer Q%d:", ls->questions);
    const char *given = read_answer(ls, prompt, buf);
    if (!given)
        return false;
    bool right = lesson_answer_right(it, expected, given);
    ls->right += right;
    log_add(ls, right ? TS_HEAD : TS_BREAK, right ? "right: %s" : "not quite (%s): the answer is %s",
            right ? expected : given, expected);
    return true;
}

static void do_run(struct lesson_screen *ls, const struct lesson_item *it)
{
    char err[512], cmd[4096];
    lesson_item_command(&ls->s, it, cmd, sizeof cmd);
    log_add(ls, TS_CURRENT, "%s", cmd);
    snprintf(ls->status, sizeof ls->status, "running...");
    draw(ls, NULL, "");
    if (lesson_do_run(&ls->s, it, err, sizeof err)) {
        log_add(ls, TS_BREAK, "error: %s", err);
        return;
    }
    char sum[4096];
    lesson_run_summary(&ls->s, it->run_name, sum, sizeof sum);
    char *nl = strchr(sum, '\n');
    if (nl)
        *nl = 0;
    log_add(ls, TS_NORMAL, "[%s: %s]", it->run_name, sum);
}

/* One step; false when the student quits. */
static bool do_step(struct lesson_screen *ls)
{
    const struct lesson_step *st = &ls->s.l->steps[ls->step];
    char err[512];
    log_clear(ls);
    ls->tui_args = NULL;
    log_add(ls, TS_HEAD, "%s", st->title);
    for (int i = 0; i < st->nitems; i++) {
        const struct lesson_item *it = &st->items[i];
        int ok;
        switch (it->kind) {
        case LI_SAY:
            log_add(ls, TS_NORMAL, "%s", it->text);
            break;
        case LI_TUI:
            ls->tui_args = it->text;
            log_add(ls, TS_NORMAL, "(Tab opens the TUI: ringside tui %s)", it->text);
            break;
        case LI_RUN:
        case LI_MAKE:
        case LI_READ:
        case LI_START:
        case LI_WAIT:
        case LI_KILL:
            do_run(ls, it);
            break;
        case LI_CHECK:
            ok = lesson_do_check(&ls->s, it, err, sizeof err);
            log_add(ls, ok > 0 ? TS_NORMAL : TS_BREAK, ok < 0 ? "check error: %s" :
                    ok ? "check ok: %s" : "check FAILED: %s", ok < 0 ? err : it->text);
            break;
        case LI_ASK:
            if (!ask(ls, it))
                return false;
            break;
        }
    }
    bool last = ls->step + 1 == ls->s.l->nsteps;
    snprintf(ls->status, sizeof ls->status, "%s  |  q quit%s",
             last ? "Enter: finish" : "Enter: next step",
             ls->tui_args ? "  |  t: open the TUI" : "");
    for (;;) {
        draw(ls, NULL, "");
        int c = getch();
        if (c == 'q' || c == 27)
            return false;
        if (c == 't' && ls->tui_args)
            open_machine_tui(ls);
        if (c == '\n' || c == '\r' || c == KEY_ENTER || c == ' ')
            return true;
    }
}

int lesson_tui(struct lesson *l)
{
    struct lesson_screen *ls = calloc(1, sizeof *ls);   /* large: not on the stack */
    char err[512];
    if (!ls)
        return EXIT_INTERNAL;
    if (lesson_session_init(&ls->s, l, err, sizeof err)) {
        fprintf(stderr, "ringside: %s\n", err);
        free(ls);
        return EXIT_BAD_INPUT;
    }
    initscr();
    cbreak();
    noecho();
    keypad(stdscr, TRUE);
    set_escdelay(25);
    bool done = true;
    for (ls->step = 0; ls->step < l->nsteps && done; ls->step++)
        done = do_step(ls);
    endwin();
    log_clear(ls);
    lesson_session_free(&ls->s);
    printf("lesson %s: %d of %d questions right%s\n", l->name, ls->right, ls->questions,
           done ? "" : " (left before the end)");
    free(ls);
    return EXIT_OK;
}
