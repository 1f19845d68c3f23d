/*
 * lesson_parse.c - reading a lesson file, strictly.
 *
 * A teacher edits lessons by hand, so every mistake must come back as the
 * file, the line and what is wrong - never as a lesson that silently skips a
 * check or a crash in front of a class. The format (docs/lessons.md) is
 * line based: "key: value" lines, continuation lines that start with
 * whitespace, "[step TITLE]" headers, "#" comments. Expressions are checked
 * for syntax here and evaluated later against the runs (lesson_expr.c).
 */
#include "lesson.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/hostfile.h"

#define LESSON_MAX_FILE (256u << 10)
#define LESSON_MAX_LINE 1000
#define LESSON_MAX_STEPS 64
#define LESSON_MAX_ITEMS 64

struct parser {
    struct lesson *l;
    const char *path;
    int line;
    char *err;
    size_t errlen;
    char **cont;             /* the value continuation lines append to */
    struct lesson_item *ask; /* the open question (answer/within/choice) */
    char bg[LESSON_MAX_BG][32]; /* background commands started and not yet gone, */
    int nbg;                    /* in the order of the file (the order they run) */
};

static int fail(struct parser *p, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(p->err, p->errlen, "%s:%d: %s", p->path, p->line, msg);
    return -1;
}

static char *dup_str(const char *s)
{
    char *d = strdup(s);
    if (!d) {
        fputs("ringside: out of memory\n", stderr);
        exit(12);
    }
    return d;
}

/* A continuation line joins the value with a space; "." alone breaks the
   paragraph (the next line starts a new one). */
static char *append_line(char *old, const char *more)
{
    bool para = !strcmp(more, "."), fresh = *old && old[strlen(old) - 1] == '\n';
    size_t n = strlen(old), m = para ? 0 : strlen(more);
    char *s = realloc(old, n + m + 2);
    if (!s) {
        fputs("ringside: out of memory\n", stderr);
        exit(12);
    }
    if (para) {
        s[n] = '\n';
        s[n + 1] = 0;
        return s;
    }
    if (!fresh)
        s[n++] = ' ';
    memcpy(s + n, more, m + 1);
    return s;
}

static bool is_ident(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n >= max || !(isalpha((unsigned char)*s) || *s == '_'))
        return false;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_'))
            return false;
    return true;
}

static int parse_int(struct parser *p, const char *s, long lo, long hi, long *out,
                     const char *what)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return fail(p, "%s must be a whole number from %ld to %ld, not '%s'", what, lo, hi, s);
    *out = v;
    return 0;
}

/* Every ${NAME} in s names a parameter of the lesson; in a command line
   (records true) also ${NAME.FIELD...}, a field of an earlier record (read
   when the command runs: a student's file of options in a lab). */
static int check_refs_in(struct parser *p, const char *s, bool records)
{
    for (const char *q = strstr(s, "${"); q; q = strstr(q + 2, "${")) {
        const char *e = strchr(q, '}');
        char name[32];
        size_t n = e ? (size_t)(e - q - 2) : 0;
        if (!e || n == 0 || n >= sizeof name)
            return fail(p, "unterminated or empty ${...}");
        memcpy(name, q + 2, n);
        name[n] = 0;
        char *dot = strchr(name, '.');
        if (dot && records && dot > name && dot[1]) {
            *dot = 0;
            if (!is_ident(name, sizeof name))
                return fail(p, "${%s...}: a record's name is a word (letters, digits, _)", name);
            continue;
        }
        int i = 0;
        while (i < p->l->nparams && strcmp(p->l->params[i].name, name))
            i++;
        if (i == p->l->nparams && strcmp(name, "TMP") && strcmp(name, "WORK") &&
            strcmp(name, "SRC"))
            return fail(p, "${%s} is not a param of this lesson", name);
    }
    return 0;
}

static int check_refs(struct parser *p, const char *s)
{
    return check_refs_in(p, s, false);
}

/* The syntax of an expression with its ${...} filled in (as written: each
   param's low end; paths are not numbers, but no expression needs them). */
static int expr_syntax(struct parser *p, const char *v, char *err, size_t errlen)
{
    char *x = lesson_expand(p->l, v);
    int rc = lesson_expr_syntax(x, err, errlen);
    free(x);
    return rc;
}

/* ---- header ---- */

static int header_param(struct parser *p, const char *v)
{
    struct lesson *l = p->l;
    char name[32], range[64];
    long lo, hi;
    if (l->nparams == LESSON_MAX_PARAMS)
        return fail(p, "more than %d params", LESSON_MAX_PARAMS);
    if (sscanf(v, "%31s %63s", name, range) != 2 || !is_ident(name, sizeof name))
        return fail(p, "param needs a name and a range: 'param: K 3..9'");
    char *dots = strstr(range, "..");
    if (!dots)
        return fail(p, "param range must be LOW..HIGH, not '%s'", range);
    *dots = 0;
    if (parse_int(p, range, 0, 1000000000, &lo, "a param bound") ||
        parse_int(p, dots + 2, 0, 1000000000, &hi, "a param bound"))
        return -1;
    if (lo > hi)
        return fail(p, "param %s: low end %ld above high end %ld", name, lo, hi);
    for (int i = 0; i < l->nparams; i++)
        if (!strcmp(l->params[i].name, name))
            return fail(p, "param %s given twice", name);
    struct lesson_param *pa = &l->params[l->nparams++];
    snprintf(pa->name, sizeof pa->name, "%s", name);
    pa->lo = lo;
    pa->hi = hi;
    pa->value = lo;
    return 0;
}

static int header_key(struct parser *p, const char *key, const char *v)
{
    struct lesson *l = p->l;
    long n;
    if (!strcmp(key, "lesson")) {
        for (const char *c = v; *c; c++)
            if (!(islower((unsigned char)*c) || isdigit((unsigned char)*c) || *c == '-'))
                return fail(p, "lesson name '%s': lower-case letters, digits and '-' only", v);
        if (!*v || strlen(v) >= sizeof l->name)
            return fail(p, "lesson name must be 1 to %zu characters", sizeof l->name - 1);
        snprintf(l->name, sizeof l->name, "%s", v);
        return 0;
    }
    if (!strcmp(key, "title")) {
        if (!*v || strlen(v) >= sizeof l->title)
            return fail(p, "title must be 1 to %zu characters", sizeof l->title - 1);
        snprintf(l->title, sizeof l->title, "%s", v);
        return 0;
    }
    if (!strcmp(key, "number")) {
        if (parse_int(p, v, 1, 99, &n, "number"))
            return -1;
        l->number = (int)n;
        return 0;
    }
    if (!strcmp(key, "minutes")) {
        if (parse_int(p, v, 1, 240, &n, "minutes"))
            return -1;
        l->minutes = (int)n;
        return 0;
    }
    if (!strcmp(key, "param"))
        return header_param(p, v);
    return fail(p, "unknown header key '%s' (lesson, title, number, minutes, param)", key);
}

/* ---- steps ---- */

static struct lesson_step *cur_step(struct parser *p)
{
    return &p->l->steps[p->l->nsteps - 1];
}

static struct lesson_item *new_item(struct parser *p, enum lesson_item_kind k, const char *text)
{
    struct lesson_step *s = cur_step(p);
    if (s->nitems == LESSON_MAX_ITEMS) {
        fail(p, "more than %d lines in one step", LESSON_MAX_ITEMS);
        return NULL;
    }
    if (check_refs_in(p, text, k == LI_RUN || k == LI_START || k == LI_MAKE))
        return NULL;
    struct lesson_item *it = &s->items[s->nitems++];
    memset(it, 0, sizeof *it);
    it->kind = k;
    it->line = p->line;
    it->text = dup_str(text);
    return it;
}

static int open_question_done(struct parser *p)
{
    if (p->ask && !p->ask->answer)
        return fail(p, "the question on line %d has no answer", p->ask->line);
    p->ask = NULL;
    return 0;
}

static int step_header(struct parser *p, const char *s)
{
    size_t n = strlen(s);
    if (n < 7 || strncmp(s, "[step ", 6) || s[n - 1] != ']')
        return fail(p, "a section is written '[step TITLE]'");
    if (!p->l->name[0] || !p->l->title[0] || !p->l->minutes)
        return fail(p, "the header needs lesson:, title: and minutes: before the first step");
    if (open_question_done(p))
        return -1;
    if (p->l->nsteps && !cur_step(p)->nitems)
        return fail(p, "the step on line %d is empty", cur_step(p)->line);
    if (p->l->nsteps == LESSON_MAX_STEPS)
        return fail(p, "more than %d steps", LESSON_MAX_STEPS);
    struct lesson_step *st = &p->l->steps[p->l->nsteps++];
    st->title = dup_str(s + 6);
    st->title[n - 7] = 0;
    st->line = p->line;
    st->items = calloc(LESSON_MAX_ITEMS, sizeof *st->items);
    if (!st->items)
        exit(12);
    p->cont = NULL;
    return 0;
}

static int answer_key(struct parser *p, const char *key, const char *v)
{
    struct lesson_item *q = p->ask;
    if (!q)
        return fail(p, "'%s:' must follow an 'ask:' line", key);
    if (!strcmp(key, "choice")) {
        if (q->answer)
            return fail(p, "choices come before the answer");
        if (q->nchoices == LESSON_MAX_CHOICES)
            return fail(p, "more than %d choices", LESSON_MAX_CHOICES);
        if (check_refs(p, v))
            return -1;
        q->choices[q->nchoices] = dup_str(v);
        p->cont = &q->choices[q->nchoices++];
        return 0;
    }
    if (!strcmp(key, "answer")) {
        if (q->answer)
            return fail(p, "a second answer for the question on line %d", q->line);
        if (q->nchoices) {
            if (strlen(v) != 1 || *v < 'a' || *v >= 'a' + q->nchoices)
                return fail(p, "the answer to a multiple-choice question is a letter a-%c",
                            'a' + q->nchoices - 1);
        } else {
            char e[160];
            if (check_refs(p, v))
                return -1;
            if (expr_syntax(p, v, e, sizeof e))
                return fail(p, "answer: %s", e);
        }
        q->answer = dup_str(v);
        p->cont = NULL;
        return 0;
    }
    /* within */
    if (!q->answer || q->nchoices)
        return fail(p, "'within:' follows the numeric answer it applies to");
    char *end;
    errno = 0;
    double w = strtod(v, &end);
    bool pct = *end == '%';
    if (errno || end == v || (pct ? end[1] != 0 : *end != 0) || w < 0 || w > 1e12)
        return fail(p, "within: a tolerance such as '2' or '5%%', not '%s'", v);
    q->within = w;
    q->within_pct = pct;
    return 0;
}

/* ---- background commands: start, wait, kill ---- */

static int bg_find(struct parser *p, const char *name)
{
    for (int i = 0; i < p->nbg; i++)
        if (!strcmp(p->bg[i], name))
            return i;
    return -1;
}

/* NAME of "WORD NAME", which must (or must not) be running at this line:
   its index among those running (0 for one not running), or -1. */
static int bg_name(struct parser *p, const char *key, size_t n, bool running)
{
    const char *name = key + n;
    if (!is_ident(name, sizeof p->bg[0]))
        return fail(p, "'%.*sNAME:' needs NAME a word (letters, digits, _)", (int)n, key);
    int i = bg_find(p, name);
    if (running && i < 0)
        return fail(p, "'%s' names no background command running here (start %s: first)",
                    key, name);
    if (!running && i >= 0)
        return fail(p, "'%s' is already running (kill %s: or wait %s: end first)", name, name,
                    name);
    if (!running && p->nbg == LESSON_MAX_BG)
        return fail(p, "more than %d background commands at once", LESSON_MAX_BG);
    return running ? i : 0;
}

static void bg_gone(struct parser *p, int i)
{
    memmove(p->bg[i], p->bg[i + 1], sizeof p->bg[0] * (size_t)(p->nbg - i - 1));
    p->nbg--;
}

/* "socket PATH", "output contains "TEXT"" or "end": the kind, and the PATH
   or TEXT in *arg (pointing into v, which it may cut short). */
static int wait_spec(struct parser *p, char *v, enum lesson_wait_kind *kind, char **arg)
{
    size_t n = strlen(v);
    if (!strcmp(v, "end")) {
        *kind = LW_END;
        *arg = v + n;
        return 0;
    }
    if (!strncmp(v, "socket ", 7) && v[7] && !strchr(v + 7, ' ')) {
        *kind = LW_SOCKET;
        *arg = v + 7;
        return 0;
    }
    if (!strncmp(v, "output contains \"", 17) && n > 18 && v[n - 1] == '"' &&
        !memchr(v + 17, '"', n - 18)) {
        *kind = LW_OUTPUT;
        v[n - 1] = 0;
        *arg = v + 17;
        return 0;
    }
    return fail(p, "wait: 'socket PATH', 'output contains \"TEXT\"' or 'end', not '%s'", v);
}

static int bg_key(struct parser *p, const char *key, char *v)
{
    struct lesson_item *it;
    int i;
    if (!strncmp(key, "start ", 6)) {
        if (!*v)
            return fail(p, "'%s:' needs a command", key);
        if (bg_name(p, key, 6, false) == -1 || !(it = new_item(p, LI_START, v)))
            return -1;
        snprintf(p->bg[p->nbg++], sizeof p->bg[0], "%s", key + 6);
    } else if (!strncmp(key, "kill ", 5)) {
        if (*v)
            return fail(p, "'%s:' takes no value (it sends SIGKILL)", key);
        if ((i = bg_name(p, key, 5, true)) < 0 || !(it = new_item(p, LI_KILL, "")))
            return -1;
        bg_gone(p, i);
    } else {
        enum lesson_wait_kind kind = LW_END;
        char *arg = v;
        if ((i = bg_name(p, key, 5, true)) < 0 || wait_spec(p, v, &kind, &arg) ||
            !(it = new_item(p, LI_WAIT, arg)))
            return -1;
        it->wait = kind;
        if (kind == LW_END)
            bg_gone(p, i);
    }
    snprintf(it->run_name, sizeof it->run_name, "%s", strchr(key, ' ') + 1);
    return 0;
}

static bool is_bg_key(const char *key)
{
    return !strncmp(key, "start ", 6) || !strncmp(key, "wait ", 5) || !strncmp(key, "kill ", 5);
}

static int step_key(struct parser *p, const char *key, char *v)
{
    if (!p->l->nsteps)
        return header_key(p, key, v);
    if (!strcmp(key, "answer") || !strcmp(key, "within") || !strcmp(key, "choice"))
        return answer_key(p, key, v);
    if (open_question_done(p))
        return -1;
    if (is_bg_key(key)) {
        p->cont = NULL;
        return bg_key(p, key, v);
    }
    if (!*v)
        return fail(p, "'%s:' needs a value", key);
    struct lesson_item *it;
    char e[160];
    if (!strcmp(key, "say") || !strcmp(key, "ask")) {
        if (!(it = new_item(p, *key == 's' ? LI_SAY : LI_ASK, v)))
            return -1;
        p->cont = &it->text;
        if (*key == 'a')
            p->ask = it;
        return 0;
    }
    p->cont = NULL;
    if (!strcmp(key, "tui"))
        return new_item(p, LI_TUI, v) ? 0 : -1;
    if (!strcmp(key, "check") || !strncmp(key, "check ", 6)) {
        long pts = 0;
        if (key[5] && parse_int(p, key + 6, 0, 1000, &pts, "a check's points"))
            return -1;
        if (expr_syntax(p, v, e, sizeof e))
            return fail(p, "check: %s", e);
        if (!(it = new_item(p, LI_CHECK, v)))
            return -1;
        it->points = (int)pts;
        return 0;
    }
    static const struct { const char *word; enum lesson_item_kind kind; } named[] = {
        { "run ", LI_RUN }, { "make ", LI_MAKE }, { "read ", LI_READ },
    };
    for (int k = 0; k < 3; k++) {
        size_t n = strlen(named[k].word);
        if (strncmp(key, named[k].word, n))
            continue;
        if (!is_ident(key + n, sizeof it->run_name))
            return fail(p, "'%sNAME:' needs NAME a word (letters, digits, _)", named[k].word);
        if (!(it = new_item(p, named[k].kind, v)))
            return -1;
        snprintf(it->run_name, sizeof it->run_name, "%s", key + n);
        return 0;
    }
    return fail(p, "unknown key '%s' (say, run NAME, make NAME, read NAME, start NAME, "
                   "wait NAME, kill NAME, tui, check, ask, choice, answer, within)", key);
}

static void trim_right(char *s)
{
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = 0;
}

static int parse_line(struct parser *p, char *s)
{
    for (const char *c = s; *c; c++)
        if ((unsigned char)*c < 0x20 && *c != '\t')
            return fail(p, "control character 0x%02x", (unsigned char)*c);
    if (strlen(s) > LESSON_MAX_LINE)
        return fail(p, "line longer than %d characters", LESSON_MAX_LINE);
    trim_right(s);
    if (!*s || *s == '#')
        return 0;
    if (isspace((unsigned char)*s)) {
        while (isspace((unsigned char)*s))
            s++;
        if (!p->cont)
            return fail(p, "an indented line continues say:, ask: or choice: only");
        if (check_refs(p, s))
            return -1;
        *p->cont = append_line(*p->cont, s);
        return 0;
    }
    if (*s == '[')
        return step_header(p, s);
    char *colon = strchr(s, ':');
    if (!colon)
        return fail(p, "expected 'key: value'");
    *colon = 0;
    char *v = colon + 1;
    while (isspace((unsigned char)*v))
        v++;
    if (p->l->nsteps == 0)
        p->cont = NULL;
    return step_key(p, s, v);
}

static int finish(struct parser *p)
{
    struct lesson *l = p->l;
    if (!l->name[0] || !l->title[0] || !l->minutes)
        return fail(p, "the header needs lesson:, title: and minutes:");
    if (!l->nsteps)
        return fail(p, "a lesson needs at least one [step TITLE]");
    if (!cur_step(p)->nitems)
        return fail(p, "the step on line %d is empty", cur_step(p)->line);
    return open_question_done(p);
}

struct lesson *lesson_parse(const char *path, const char *text, char *err, size_t errlen)
{
    struct lesson *l = calloc(1, sizeof *l);
    if (!l || !(l->steps = calloc(LESSON_MAX_STEPS, sizeof *l->steps)))
        exit(12);
    char *copy = dup_str(text);
    struct parser p = { .l = l, .path = path, .err = err, .errlen = errlen };
    snprintf(l->path, sizeof l->path, "%s", path);
    int rc = 0;
    char *s = copy;
    for (char *nl; rc == 0 && s; s = nl) {
        nl = strchr(s, '\n');
        if (nl)
            *nl++ = 0;
        p.line++;
        size_t n = strlen(s);
        if (n && s[n - 1] == '\r')
            s[n - 1] = 0;
        rc = parse_line(&p, s);
    }
    if (rc == 0)
        rc = finish(&p);
    free(copy);
    if (rc) {
        lesson_free(l);
        return NULL;
    }
    return l;
}

struct lesson *lesson_load(const char *path, char *err, size_t errlen)
{
    uint8_t *data;
    size_t len;
    if (hostfile_read(path, LESSON_MAX_FILE, &data, &len, err, errlen))
        return NULL;
    if (memchr(data, 0, len)) {
        snprintf(err, errlen, "%s: not a text file (a NUL byte)", path);
        free(data);
        return NULL;
    }
    struct lesson *l = lesson_parse(path, (const char *)data, err, errlen);
    free(data);
    return l;
}

void lesson_free(struct lesson *l)
{
    if (!l)
        return;
    for (int s = 0; s < l->nsteps; s++) {
        struct lesson_step *st = &l->steps[s];
        for (int i = 0; i < st->nitems; i++) {
            struct lesson_item *it = &st->items[i];
            free(it->text);
            free(it->answer);
            for (int c = 0; c < it->nchoices; c++)
                free(it->choices[c]);
        }
        free(st->items);
        free(st->title);
    }
    free(l->steps);
    free(l);
}

/* splitmix64: a small, well-known generator; the same seed gives every
   student of a class the same instance on every machine. */
static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void lesson_set_seed(struct lesson *l, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < l->nparams; i++) {
        struct lesson_param *pa = &l->params[i];
        uint64_t span = (uint64_t)(pa->hi - pa->lo) + 1;
        pa->value = seed ? pa->lo + (int64_t)(splitmix(&x) % span) : pa->lo;
    }
}

/* The value of ${name} (n characters), or NULL if it names nothing. */
static const char *var_value(const struct lesson *l, const char *name, size_t n, char *buf,
                             size_t len)
{
    static const char *const builtin[] = { "TMP", "WORK", "SRC" };
    const char *value[] = { l->tmpdir[0] ? l->tmpdir : "/tmp", l->workdir, l->srcdir };
    for (int i = 0; i < 3; i++)
        if (strlen(builtin[i]) == n && !strncmp(builtin[i], name, n))
            return value[i];
    for (int i = 0; i < l->nparams; i++)
        if (strlen(l->params[i].name) == n && !strncmp(l->params[i].name, name, n)) {
            snprintf(buf, len, "%lld", (long long)l->params[i].value);
            return buf;
        }
    return NULL;
}

char *lesson_expand(const struct lesson *l, const char *s)
{
    size_t cap = strlen(s) + 1, n = 0;
    char *out = malloc(cap);
    if (!out)
        exit(12);
    while (*s) {
        const char *e = !strncmp(s, "${", 2) ? strchr(s, '}') : NULL;
        char num[24];
        const char *v = e ? var_value(l, s + 2, (size_t)(e - s - 2), num, sizeof num) : NULL;
        size_t k = v ? strlen(v) : 1;
        if (n + k + 1 > cap && !(out = realloc(out, cap = (cap + k) * 2)))
            exit(12);
        if (v) {
            memcpy(out + n, v, k);
            s = e + 1;
        } else
            out[n] = *s++;
        n += k;
    }
    out[n] = 0;
    return out;
}
