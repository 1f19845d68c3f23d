/*
 * lesson.h - a lesson: the story of one lecture, as a teacher writes it.
 *
 * A lesson file (lessons/NN-name.lesson, format in docs/lessons.md) is plain
 * text a teacher edits without reading C: a header (name, title, minutes,
 * numeric parameters for per-student variants), then steps. A step says
 * something, runs ringside commands, asserts on what they measured (checks)
 * and asks questions whose answers are computed from the same runs. The
 * numbers are therefore never written into the lesson: they are the run's,
 * under the engine and cost profile in use, so the story stays true when
 * the simulator changes.
 *
 * This header is the lesson as data (parsed strictly: lesson_parse.c) and
 * the expressions that checks and answers are written in (lesson_expr.c).
 */
#ifndef RS_LESSON_H
#define RS_LESSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define LESSON_MAX_PARAMS 8
#define LESSON_MAX_CHOICES 8

enum lesson_item_kind {
    LI_SAY,      /* narration */
    LI_RUN,      /* run NAME: a ringside command line, measured */
    LI_MAKE,     /* make NAME: make in ${WORK} (labs: build the student's kernel) */
    LI_READ,     /* read NAME: a file's text (labs: the student's answers) */
    LI_TUI,      /* tui: open the TUI on a kernel (skipped headless) */
    LI_CHECK,    /* check: an expression that must hold */
    LI_ASK,      /* ask: a question with a computed answer */
    LI_START,    /* start NAME: a ringside command line in the background */
    LI_WAIT,     /* wait NAME: until a background command is ready (wait_kind) */
    LI_KILL,     /* kill NAME: SIGKILL a background command, reap it, record it */
};

/* What `wait NAME:` waits for (each at most LESSON_WAIT_S seconds). */
enum lesson_wait_kind {
    LW_SOCKET,   /* "socket PATH": a Unix socket at PATH accepts a connection */
    LW_OUTPUT,   /* "output contains "TEXT"": NAME's standard output holds TEXT */
    LW_END,      /* "end": NAME has exited by itself */
};

#define LESSON_WAIT_S 60
#define LESSON_MAX_BG 8           /* background commands running at once */

struct lesson_item {
    enum lesson_item_kind kind;
    int line;                 /* in the lesson file, for messages */
    char *text;               /* say/ask text, run/tui command line, check expr */
    char run_name[32];        /* LI_RUN, LI_MAKE, LI_READ, LI_START, LI_WAIT, LI_KILL */
    enum lesson_wait_kind wait; /* LI_WAIT; text is the PATH or the TEXT */
    int points;               /* LI_CHECK in a lab: what the criterion is worth */
    /* LI_ASK */
    char *answer;             /* an expression, or a choice letter */
    double within;            /* tolerance (0: exact) ... */
    bool within_pct;          /* ... relative, in percent of the answer */
    char *choices[LESSON_MAX_CHOICES];
    int nchoices;             /* > 0: multiple choice, answer is a letter a.. */
};

struct lesson_step {
    char *title;
    int line;
    struct lesson_item *items;
    int nitems;
};

struct lesson_param {
    char name[32];
    int64_t lo, hi;           /* an integer drawn in [lo, hi] from the seed */
    int64_t value;            /* lo until lesson_set_seed */
};

struct lesson {
    char path[256];
    char name[64];
    char title[128];
    int number;
    int minutes;
    struct lesson_param params[LESSON_MAX_PARAMS];
    int nparams;
    struct lesson_step *steps;
    int nsteps;
    /* the built-in variables: ${TMP} a directory of this session's own,
       ${WORK} the student's directory (labs), ${SRC} the source tree */
    char tmpdir[128];
    char workdir[4096];
    char srcdir[4096];
};

/* Parse a lesson file. NULL with err "FILE:LINE: what is wrong". */
struct lesson *lesson_load(const char *path, char *err, size_t errlen);
/* Parse text (NUL-terminated) named `path` in messages. */
struct lesson *lesson_parse(const char *path, const char *text, char *err, size_t errlen);
void lesson_free(struct lesson *l);

/* Draw every parameter from seed (0: each parameter's low end, the lesson
   as written). */
void lesson_set_seed(struct lesson *l, uint64_t seed);
/* s with ${NAME} replaced by the parameter and built-in values (malloc'd). */
char *lesson_expand(const struct lesson *l, const char *s);

/* ---- expressions (lesson_expr.c) ---- */

/* The value of an expression. Numbers are doubles; strings appear only as
   literals and as run fields (output, mode, end). */
struct lesson_value {
    bool is_str;
    double num;
    const char *str;          /* borrowed from the expression or the runs */
};

/* Evaluate expr against the runs measured so far: a JSON object mapping a
   run name to that run's record (its stats JSON fields plus "status" and
   "output"). 0, or -1 with err (a missing field, a type mismatch, a syntax
   error, division by zero). */
int lesson_eval(const char *expr, json_t *runs, struct lesson_value *out,
                char *err, size_t errlen);
/* Check that expr is well formed without evaluating it (for the parser). */
int lesson_expr_syntax(const char *expr, char *err, size_t errlen);

#endif
