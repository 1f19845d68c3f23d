/*
 * lesson_expr.c - the expressions lessons check and answer with.
 *
 * A check such as `bt.cycles.total < trap.cycles.total` or an answer such as
 * `pct(native.cycles.total, bt.cycles.total)` reads the runs' measurements
 * by name, so a lesson never copies a number out of a run into its text.
 * The grammar is small enough for a teacher (docs/lessons.md):
 *
 *   expr := and ('or' and)*          and := cmp ('and' cmp)*
 *   cmp  := sum [op sum]             op  := == != < <= > >= contains
 *   sum  := prod (('+'|'-') prod)*   prod := unary (('*'|'/') unary)*
 *   unary := '-' unary | 'not' unary | NUMBER | "STRING" | '(' expr ')'
 *          | FUNC '(' expr {',' expr} ')' | 'len' '(' REF ')'
 *          | REF := RUN {'.' KEY | '[' "KEY" ']' | '[' N ']'}
 *
 * One recursive-descent parser both checks syntax (runs == NULL, when the
 * lesson is loaded) and evaluates. A reference walks the run's JSON record
 * (its stats JSON plus "status" and "output"); a missing key is an error
 * that names the path, never a silent zero.
 */
#include "lesson.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPR_MAX_DEPTH 32

struct ex {
    const char *s;        /* the rest of the expression */
    json_t *runs;         /* NULL: syntax only */
    char *err;
    size_t errlen;
    int depth;
    bool failed;
    char strbuf[4][256];  /* string literals, so values may point at them */
    int nstr;
};

static void ex_fail(struct ex *e, const char *fmt, ...)
{
    if (e->failed)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->err, e->errlen, fmt, ap);
    va_end(ap);
    e->failed = true;
}

static void skip_ws(struct ex *e)
{
    while (isspace((unsigned char)*e->s))
        e->s++;
}

/* The next token is the word w (not a prefix of a longer word). */
static bool accept_word(struct ex *e, const char *w)
{
    skip_ws(e);
    size_t n = strlen(w);
    if (strncmp(e->s, w, n) || isalnum((unsigned char)e->s[n]) || e->s[n] == '_')
        return false;
    e->s += n;
    return true;
}

static bool accept(struct ex *e, const char *op)
{
    skip_ws(e);
    size_t n = strlen(op);
    if (strncmp(e->s, op, n))
        return false;
    e->s += n;
    return true;
}

static void expect(struct ex *e, const char *op)
{
    if (!accept(e, op))
        ex_fail(e, "expected '%s' at '%.20s'", op, e->s);
}

static struct lesson_value num(double d)
{
    return (struct lesson_value){ .num = d };
}

/* Types are known only with runs: a syntax check lets every value pass. */
static bool want_num(struct ex *e, struct lesson_value v, const char *what)
{
    if (!e->runs)
        return true;
    if (v.is_str && !e->failed)
        ex_fail(e, "%s needs a number, got the text \"%.30s\"", what, v.str);
    return !v.is_str;
}

static struct lesson_value parse_or(struct ex *e);

/* ---- primaries ---- */

static int read_word(struct ex *e, char *buf, size_t len)
{
    skip_ws(e);
    size_t n = 0;
    while (isalnum((unsigned char)e->s[n]) || e->s[n] == '_' || e->s[n] == '-')
        n++;
    if (n == 0 || n >= len) {
        ex_fail(e, "expected a name at '%.20s'", e->s);
        return -1;
    }
    memcpy(buf, e->s, n);
    buf[n] = 0;
    e->s += n;
    return 0;
}

static int read_string(struct ex *e, char *buf, size_t len)
{
    size_t n = 0;
    e->s++; /* the opening quote */
    while (*e->s && *e->s != '"') {
        if (n + 1 >= len) {
            ex_fail(e, "a text literal longer than %zu characters", len - 1);
            return -1;
        }
        buf[n++] = *e->s++;
    }
    if (*e->s != '"') {
        ex_fail(e, "unterminated text literal");
        return -1;
    }
    e->s++;
    buf[n] = 0;
    return 0;
}

static struct lesson_value json_value(struct ex *e, json_t *j, const char *path)
{
    if (json_is_integer(j))
        return num((double)json_integer_value(j));
    if (json_is_real(j))
        return num(json_real_value(j));
    if (json_is_boolean(j))
        return num(json_is_true(j));
    if (json_is_string(j))
        return (struct lesson_value){ .is_str = true, .str = json_string_value(j) };
    ex_fail(e, "%s is not a number or text (a group: name one of its fields)", path);
    return num(0);
}

/* RUN.key.key["key with spaces"][N]: the JSON value it names (NULL in a
   syntax check or after an error). */
static json_t *ref_json(struct ex *e, const char *run, char *path, size_t pathlen);

static struct lesson_value parse_ref(struct ex *e, const char *run)
{
    char path[256];
    json_t *j = ref_json(e, run, path, sizeof path);
    return j ? json_value(e, j, path) : num(0);
}

/* len(REF): the number of elements of an array or an object, or of
   characters of a text. */
static struct lesson_value parse_len(struct ex *e)
{
    char run[64], path[256];
    if (read_word(e, run, sizeof run))
        return num(0);
    json_t *j = ref_json(e, run, path, sizeof path);
    expect(e, ")");
    if (!j)
        return num(e->runs ? 0 : 1);
    if (json_is_array(j))
        return num((double)json_array_size(j));
    if (json_is_object(j))
        return num((double)json_object_size(j));
    if (json_is_string(j))
        return num((double)json_string_length(j));
    ex_fail(e, "len(%s): not a list, a group or a text", path);
    return num(0);
}

static json_t *ref_json(struct ex *e, const char *run, char *path, size_t pathlen)
{
    char key[128];
    snprintf(path, pathlen, "%s", run);
    json_t *j = e->runs ? json_object_get(e->runs, run) : NULL;
    if (e->runs && !j)
        ex_fail(e, "no run named '%s' before this line", run);
    for (;;) {
        if (accept(e, ".")) {
            if (read_word(e, key, sizeof key))
                return NULL;
        } else if (accept(e, "[")) {
            skip_ws(e);
            if (isdigit((unsigned char)*e->s)) {
                char *end;
                unsigned long i = strtoul(e->s, &end, 10);
                e->s = end;
                expect(e, "]");
                size_t n = strlen(path);
                snprintf(path + n, pathlen - n, "[%lu]", i);
                if (j && !(j = json_array_get(j, i)))
                    ex_fail(e, "%s: no such element", path);
                continue;
            }
            if (*e->s != '"') {
                ex_fail(e, "expected \"KEY\" or a number after '['");
                return NULL;
            }
            if (read_string(e, key, sizeof key))
                return NULL;
            expect(e, "]");
        } else
            break;
        size_t n = strlen(path);
        snprintf(path + n, pathlen - n, ".%s", key);
        if (j && !(j = json_object_get(j, key)))
            ex_fail(e, "%s: no such field", path);
    }
    return e->failed ? NULL : j;
}

static struct lesson_value call(struct ex *e, const char *f, struct lesson_value *a, int n)
{
    struct { const char *name; int args; } fns[] = {
        { "pct", 2 }, { "min", 2 }, { "max", 2 }, { "abs", 1 }, { "round", 1 },
    };
    int i = 0;
    while (i < 5 && strcmp(fns[i].name, f))
        i++;
    if (i == 5) {
        ex_fail(e, "unknown function '%s' (pct, min, max, abs, round, len)", f);
        return num(0);
    }
    if (n != fns[i].args) {
        ex_fail(e, "%s takes %d argument%s", f, fns[i].args, fns[i].args > 1 ? "s" : "");
        return num(0);
    }
    for (int k = 0; k < n; k++)
        if (!want_num(e, a[k], f))
            return num(0);
    if (!e->runs)
        return num(1);
    switch (i) {
    case 0:
        if (a[1].num == 0)
            ex_fail(e, "pct: the second value is 0");
        return num(a[1].num ? 100.0 * a[0].num / a[1].num : 0);
    case 1: return num(fmin(a[0].num, a[1].num));
    case 2: return num(fmax(a[0].num, a[1].num));
    case 3: return num(fabs(a[0].num));
    default: return num(round(a[0].num));
    }
}

static struct lesson_value parse_name(struct ex *e)
{
    char word[64];
    if (read_word(e, word, sizeof word))
        return num(0);
    if (!accept(e, "("))
        return parse_ref(e, word);
    if (!strcmp(word, "len"))
        return parse_len(e);
    struct lesson_value a[4];
    int n = 0;
    if (!accept(e, ")")) {
        do {
            struct lesson_value v = parse_or(e);
            if (n < 4)
                a[n] = v;
            n++;
        } while (!e->failed && accept(e, ","));
        expect(e, ")");
    }
    return call(e, word, a, n > 4 ? 5 : n);
}

static struct lesson_value parse_unary(struct ex *e)
{
    if (e->failed)
        return num(0);
    if (++e->depth > EXPR_MAX_DEPTH) {
        ex_fail(e, "expression nested deeper than %d", EXPR_MAX_DEPTH);
        return num(0);
    }
    struct lesson_value v = num(0);
    skip_ws(e);
    if (accept(e, "-")) {
        v = parse_unary(e);
        v = num(want_num(e, v, "'-'") ? -v.num : 0);
    } else if (accept_word(e, "not")) {
        v = parse_unary(e);
        v = num(want_num(e, v, "'not'") ? v.num == 0 : 0);
    } else if (accept(e, "(")) {
        v = parse_or(e);
        expect(e, ")");
    } else if (*e->s == '"') {
        if (e->nstr == 4) {
            ex_fail(e, "more than 4 text literals");
        } else if (!read_string(e, e->strbuf[e->nstr], sizeof e->strbuf[0])) {
            v = (struct lesson_value){ .is_str = true, .str = e->strbuf[e->nstr++] };
        }
    } else if (isdigit((unsigned char)*e->s) || *e->s == '.') {
        char *end;
        v = num(strtod(e->s, &end));
        if (end == e->s || isalpha((unsigned char)*end))
            ex_fail(e, "bad number at '%.20s'", e->s);
        e->s = end;
    } else if (isalpha((unsigned char)*e->s) || *e->s == '_') {
        v = parse_name(e);
    } else {
        ex_fail(e, *e->s ? "unexpected '%.10s'" : "the expression ends too early", e->s);
    }
    e->depth--;
    return v;
}

/* ---- operators ---- */

static struct lesson_value parse_prod(struct ex *e)
{
    struct lesson_value v = parse_unary(e);
    for (;;) {
        bool mul = accept(e, "*");
        if (!mul && !accept(e, "/"))
            return v;
        struct lesson_value r = parse_unary(e);
        if (!want_num(e, v, mul ? "'*'" : "'/'") || !want_num(e, r, mul ? "'*'" : "'/'"))
            return num(0);
        if (!mul && e->runs && r.num == 0)
            ex_fail(e, "division by zero");
        v = num(mul ? v.num * r.num : (r.num ? v.num / r.num : 0));
    }
}

static struct lesson_value parse_sum(struct ex *e)
{
    struct lesson_value v = parse_prod(e);
    for (;;) {
        bool add = accept(e, "+");
        if (!add && !accept(e, "-"))
            return v;
        struct lesson_value r = parse_prod(e);
        if (!want_num(e, v, add ? "'+'" : "'-'") || !want_num(e, r, add ? "'+'" : "'-'"))
            return num(0);
        v = num(add ? v.num + r.num : v.num - r.num);
    }
}

static struct lesson_value compare(struct ex *e, int op, struct lesson_value a,
                                   struct lesson_value b)
{
    if (!e->runs)
        return num(1);
    if (op == 6) {
        if (!a.is_str || !b.is_str) {
            ex_fail(e, "'contains' compares two texts");
            return num(0);
        }
        return num(strstr(a.str, b.str) != NULL);
    }
    if (a.is_str != b.is_str) {
        ex_fail(e, "cannot compare a number with a text");
        return num(0);
    }
    int c = a.is_str ? strcmp(a.str, b.str) : (a.num < b.num ? -1 : a.num > b.num);
    switch (op) {
    case 0: return num(c == 0);
    case 1: return num(c != 0);
    case 2: return num(c <= 0);
    case 3: return num(c >= 0);
    case 4: return num(c < 0);
    default: return num(c > 0);
    }
}

static struct lesson_value parse_cmp(struct ex *e)
{
    static const char *ops[] = { "==", "!=", "<=", ">=", "<", ">" };
    struct lesson_value v = parse_sum(e);
    int op = -1;
    for (int i = 0; i < 6 && op < 0; i++)
        if (accept(e, ops[i]))
            op = i;
    if (op < 0 && accept_word(e, "contains"))
        op = 6;
    if (op < 0)
        return v;
    return compare(e, op, v, parse_sum(e));
}

static struct lesson_value parse_and(struct ex *e)
{
    struct lesson_value v = parse_cmp(e);
    while (accept_word(e, "and")) {
        struct lesson_value r = parse_cmp(e);
        v = num(want_num(e, v, "'and'") && want_num(e, r, "'and'") && v.num && r.num);
    }
    return v;
}

static struct lesson_value parse_or(struct ex *e)
{
    struct lesson_value v = parse_and(e);
    while (accept_word(e, "or")) {
        struct lesson_value r = parse_and(e);
        v = num(want_num(e, v, "'or'") && want_num(e, r, "'or'") && (v.num || r.num));
    }
    return v;
}

static int run_expr(const char *expr, json_t *runs, struct lesson_value *out, char *err,
                    size_t errlen)
{
    struct ex *e = calloc(1, sizeof *e);
    if (!e)
        exit(12);
    e->s = expr;
    e->runs = runs;
    e->err = err;
    e->errlen = errlen;
    struct lesson_value v = parse_or(e);
    skip_ws(e);
    if (!e->failed && *e->s)
        ex_fail(e, "unexpected '%.20s' after the expression", e->s);
    int rc = e->failed ? -1 : 0;
    /* a text result must outlive e: only run fields (not literals) may be
       returned as text */
    const char *lit = (const char *)e->strbuf;
    if (!rc && v.is_str && v.str >= lit && v.str < lit + sizeof e->strbuf) {
        ex_fail(e, "the expression is only a text literal");
        rc = -1;
    }
    if (out)
        *out = v;
    free(e);
    return rc;
}

int lesson_eval(const char *expr, json_t *runs, struct lesson_value *out, char *err,
                size_t errlen)
{
    json_t *empty = runs ? NULL : json_object();
    int rc = run_expr(expr, runs ? runs : empty, out, err, errlen);
    json_decref(empty);
    return rc;
}

int lesson_expr_syntax(const char *expr, char *err, size_t errlen)
{
    return run_expr(expr, NULL, NULL, err, errlen);
}
