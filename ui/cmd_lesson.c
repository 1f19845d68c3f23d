/*
 * cmd_lesson.c - `ringside lesson`: list the lessons, give one, or check them.
 *
 *   ringside lesson                     the lessons in lessons/, numbered
 *   ringside lesson NAME                the lesson in the TUI (text when not on a terminal)
 *   ringside lesson NAME --headless     the lesson as text; questions read from stdin
 *   ringside lesson [NAME] --check      run every command and checkpoint, compute every
 *                                       answer; status 0 only if all hold (make test)
 *   ringside lesson NAME --answers      the questions and their answers
 *   --seed S                            this student's variant of the numbers
 *
 * The steps themselves are done by lesson_run.c, so the text runner, the
 * checker and the TUI pane (lesson_tui.c) show and grade the same things.
 */
#include "cmd_lesson.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lesson_run.h"
#include "options.h"
#include "tui_view.h"

#define MAX_LESSONS 64

enum lesson_mode { LM_TEXT, LM_CHECK, LM_ANSWERS };

struct lesson_args {
    const char *name;
    enum lesson_mode mode;
    bool headless;
    uint64_t seed;
};

/* ---- finding lessons ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The lesson files of lessons/, sorted (their names start with the number). */
static int lesson_files(const char *root, char **out, int max)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/lessons", root);
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d)) && n < max;) {
        size_t len = strlen(e->d_name);
        if (len > 7 && !strcmp(e->d_name + len - 7, ".lesson")) {
            char path[4500];
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            if (!(out[n++] = strdup(path)))
                exit(EXIT_INTERNAL);
        }
    }
    if (d)
        closedir(d);
    qsort(out, (size_t)n, sizeof *out, cmp_str);
    return n;
}

static void free_files(char **f, int n)
{
    for (int i = 0; i < n; i++)
        free(f[i]);
}

static bool names_lesson(const struct lesson *l, const char *name)
{
    char *end;
    long num = strtol(name, &end, 10);
    return !strcmp(l->name, name) || (*end == 0 && end != name && num == l->number);
}

/* NAME (a lesson's name or number) or a path to a .lesson file. */
static struct lesson *find_lesson(const char *root, const char *name)
{
    char err[512];
    if (strchr(name, '/') || strstr(name, ".lesson")) {
        struct lesson *l = lesson_load(name, err, sizeof err);
        if (!l)
            fprintf(stderr, "ringside: %s\n", err);
        return l;
    }
    char *files[MAX_LESSONS];
    int n = lesson_files(root, files, MAX_LESSONS);
    struct lesson *found = NULL;
    for (int i = 0; i < n && !found; i++) {
        struct lesson *l = lesson_load(files[i], err, sizeof err);
        if (!l)
            fprintf(stderr, "ringside: %s\n", err);
        else if (names_lesson(l, name))
            found = l;
        else
            lesson_free(l);
    }
    free_files(files, n);
    if (!found)
        fprintf(stderr, "ringside: no lesson '%s' (ringside lesson lists them)\n", name);
    return found;
}

/* ---- the text runner ---- */

static void print_wrapped(const char *text, const char *indent)
{
    struct tui_text *t = malloc(sizeof *t);   /* large for the stack */
    if (!t)
        exit(EXIT_INTERNAL);
    tui_text_init(t, 76 - (int)strlen(indent));
    tui_text_wrap(t, TS_NORMAL, text);
    for (int i = 0; i < t->n; i++)
        printf("%s%s\n", indent, t->line[i].text);
    free(t);
}

static void print_run(struct lesson_session *s, const struct lesson_item *it)
{
    char buf[2048];
    lesson_run_summary(s, it->run_name, buf, sizeof buf);
    char *nl = strchr(buf, '\n');
    if (nl)
        *nl++ = 0;
    printf("  [%s: %s]\n", it->run_name, buf);
    for (int lines = 0; nl && *nl && lines < 8; lines++) {
        char *next = strchr(nl, '\n');
        if (next)
            *next++ = 0;
        printf("  | %s\n", nl);
        nl = next;
    }
}

static void print_question(const struct lesson_item *it, int qn)
{
    char head[16];
    snprintf(head, sizeof head, "Q%d. ", qn);
    printf("%s", head);
    print_wrapped(it->text, "");
    for (int c = 0; c < it->nchoices; c++) {
        char line[600];
        snprintf(line, sizeof line, "%c) %s", 'a' + c, it->choices[c]);
        print_wrapped(line, "    ");
    }
}

/* Ask on stdin; true if answered right. */
static bool ask_student(const struct lesson_item *it, const char *expected)
{
    char line[256];
    printf("> ");
    fflush(stdout);
    if (!fgets(line, sizeof line, stdin)) {
        printf("\n  (no answer) the answer is %s\n", expected);
        return false;
    }
    line[strcspn(line, "\n")] = 0;
    if (!isatty(0))
        printf("%s\n", line);    /* a transcript shows what was answered */
    bool right = lesson_answer_right(it, expected, line);
    if (right)
        printf("  right: %s\n", expected);
    else
        printf("  not quite: the answer is %s\n", expected);
    return right;
}

struct tally {
    int checks, failed, questions, right, errors;
    int points, points_max;     /* labs: criteria with points */
};

static void do_item(struct lesson_session *s, const struct lesson_item *it, enum lesson_mode m,
                    struct tally *t)
{
    char err[512], ans[256];
    switch (it->kind) {
    case LI_SAY:
        if (m == LM_TEXT)
            print_wrapped(it->text, "");
        return;
    case LI_TUI:
        if (m == LM_TEXT) {
            char *cmd = lesson_expand(s->l, it->text);
            printf("  (in the TUI: ringside tui %s)\n", cmd);
            free(cmd);
        }
        return;
    case LI_RUN:
    case LI_MAKE:
    case LI_READ:
    case LI_START:
    case LI_WAIT:
    case LI_KILL: {
        char cmd[4096];
        lesson_item_command(s, it, cmd, sizeof cmd);
        printf("%s\n", cmd);
        fflush(stdout);
        if (lesson_do_run(s, it, err, sizeof err)) {
            printf("  ERROR %s:%d: %s\n", s->l->path, it->line, err);
            t->errors++;
        } else if (m == LM_TEXT)
            print_run(s, it);
        return;
    }
    case LI_CHECK: {
        int ok = lesson_do_check(s, it, err, sizeof err);
        t->checks++;
        if (ok < 0 && !it->points) {
            printf("  ERROR %s:%d: %s\n", s->l->path, it->line, err);
            t->errors++;
        }
        char *text = lesson_expand(s->l, it->text);
        if (it->points) {   /* a lab's criterion: an error is a failure, with its reason */
            t->failed += ok <= 0;
            t->points += ok > 0 ? it->points : 0;
            printf("  [%s] %3d/%-3d %s%s%s%s\n", ok > 0 ? " ok " : "FAIL", ok > 0 ? it->points : 0,
                   it->points, text, ok < 0 ? " (" : "", ok < 0 ? err : "", ok < 0 ? ")" : "");
        } else if (ok >= 0) {
            t->failed += !ok;
            printf("  check %s: %s\n", ok ? "ok" : "FAILED", text);
        }
        free(text);
        t->points_max += it->points;
        return;
    }
    case LI_ASK:
        t->questions++;
        if (lesson_answer_text(s, it, ans, sizeof ans, err, sizeof err)) {
            printf("  ERROR %s:%d: %s\n", s->l->path, it->line, err);
            t->errors++;
            return;
        }
        if (m == LM_TEXT) {
            print_question(it, t->questions);
            t->right += ask_student(it, ans);
        } else if (m == LM_ANSWERS) {
            print_question(it, t->questions);
            printf("  answer: %s\n", ans);
        } else
            printf("  answer Q%d: %s\n", t->questions, ans);
        return;
    }
}

static int give_lesson(struct lesson *l, enum lesson_mode m)
{
    char err[512];
    struct lesson_session s;
    if (lesson_session_init(&s, l, err, sizeof err)) {
        fprintf(stderr, "ringside: %s\n", err);
        return EXIT_BAD_INPUT;
    }
    struct tally t = { 0 };
    printf("Lesson %d: %s (%d minutes)\n", l->number, l->title, l->minutes);
    for (int i = 0; i < l->nsteps; i++) {
        printf("\n== Step %d/%d: %s ==\n", i + 1, l->nsteps, l->steps[i].title);
        for (int k = 0; k < l->steps[i].nitems; k++)
            do_item(&s, &l->steps[i].items[k], m, &t);
    }
    lesson_session_free(&s);
    if (t.points_max)
        printf("\n%s: %d of %d points%s\n", l->title, t.points, t.points_max,
               t.failed || t.errors ? "" : " - all criteria met");
    else if (m == LM_TEXT)
        printf("\nEnd of lesson %d: %d of %d questions right.\n", l->number, t.right,
               t.questions);
    else
        printf("\nlesson %s: %d checks, %d failed, %d answers, %d errors\n", l->name,
               t.checks, t.failed, t.questions, t.errors);
    return t.failed || t.errors ? 1 : 0;
}

int lesson_give(struct lesson *l, bool check)
{
    return give_lesson(l, check ? LM_CHECK : LM_TEXT);
}

/* ---- listing and checking all ---- */

static int each_lesson(const char *root, const struct lesson_args *a)
{
    char *files[MAX_LESSONS], err[512];
    int n = lesson_files(root, files, MAX_LESSONS), rc = 0, bad = 0;
    if (n == 0) {
        fprintf(stderr, "ringside: no lessons in %s/lessons\n", root);
        return EXIT_BAD_INPUT;
    }
    if (a->mode != LM_CHECK)
        printf(" #  %-14s %4s  %s\n", "lesson", "min", "title");
    for (int i = 0; i < n; i++) {
        struct lesson *l = lesson_load(files[i], err, sizeof err);
        if (!l) {
            fprintf(stderr, "ringside: %s\n", err);
            bad = 1;
            continue;
        }
        lesson_set_seed(l, a->seed);
        if (a->mode == LM_CHECK)
            rc |= give_lesson(l, LM_CHECK);
        else
            printf("%2d  %-14s %4d  %s\n", l->number, l->name, l->minutes, l->title);
        lesson_free(l);
    }
    free_files(files, n);
    return bad ? EXIT_BAD_INPUT : rc;
}

static void usage(void)
{
    puts("usage: ringside lesson                      list the lessons\n"
         "       ringside lesson NAME|N|FILE          give a lesson (the TUI on a terminal)\n"
         "       ringside lesson NAME --headless      as text; answers read from stdin\n"
         "       ringside lesson [NAME] --check       run every check; status 0 if all hold\n"
         "       ringside lesson NAME --answers       the questions with their answers\n"
         "  --seed S   this student's variant of the lesson's numbers\n"
         "Lessons are plain text in lessons/ (format: docs/lessons.md).");
}

static int parse_args(int argc, char **argv, struct lesson_args *a)
{
    for (int i = 0; i < argc; i++) {
        const char *o = argv[i];
        if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
            usage();
            return 1;
        } else if (!strcmp(o, "--headless"))
            a->headless = true;
        else if (!strcmp(o, "--check"))
            a->mode = LM_CHECK;
        else if (!strcmp(o, "--answers"))
            a->mode = LM_ANSWERS;
        else if (!strcmp(o, "--seed")) {
            char *end;
            errno = 0;
            if (i + 1 == argc || !*argv[i + 1] || *argv[i + 1] == '-' ||
                (a->seed = strtoull(argv[++i], &end, 10), errno || *end)) {
                fprintf(stderr, "ringside: --seed needs a whole number\n");
                return -1;
            }
        } else if (*o == '-') {
            fprintf(stderr, "ringside: lesson: unknown option '%s' (see ringside lesson --help)\n", o);
            return -1;
        } else if (a->name) {
            fprintf(stderr, "ringside: lesson: one lesson at a time ('%s', '%s')\n", a->name, o);
            return -1;
        } else
            a->name = o;
    }
    if (a->mode == LM_ANSWERS && !a->name) {
        fprintf(stderr, "ringside: lesson --answers needs a lesson name\n");
        return -1;
    }
    return 0;
}

int cmd_lesson(int argc, char **argv)
{
    struct lesson_args a = { 0 };
    int p = parse_args(argc, argv, &a);
    if (p)
        return p > 0 ? EXIT_OK : EXIT_BAD_INPUT;
    char root[4096];
    if (lesson_root(root, sizeof root)) {
        fprintf(stderr, "ringside: the lessons/ folder is not next to this program\n");
        return EXIT_BAD_INPUT;
    }
    if (!a.name)
        return each_lesson(root, &a);
    struct lesson *l = find_lesson(root, a.name);
    if (!l)
        return EXIT_BAD_INPUT;
    lesson_set_seed(l, a.seed);
    int rc;
    if (a.mode == LM_TEXT && !a.headless && isatty(0) && isatty(1))
        rc = lesson_tui(l);
    else
        rc = give_lesson(l, a.mode);
    lesson_free(l);
    return rc;
}
