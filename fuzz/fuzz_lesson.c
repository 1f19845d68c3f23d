/*
 * fuzz_lesson.c - libFuzzer target for the lesson parser and expressions
 * (ui/lesson_parse.c, ui/lesson_expr.c).
 *
 * Why: teachers write lessons by hand and share them. lesson_parse must
 * accept or refuse every text with one "FILE:LINE: reason" line, never read
 * past the text; an accepted lesson's expressions must evaluate (against an
 * empty set of runs) to a value or one error line, and ${...} expansion must
 * stay within its buffer.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lesson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void eval_all(struct lesson *l, json_t *runs)
{
    for (int s = 0; s < l->nsteps; s++)
        for (int i = 0; i < l->steps[s].nitems; i++) {
            const struct lesson_item *it = &l->steps[s].items[i];
            const char *expr = it->kind == LI_CHECK ? it->text
                             : it->kind == LI_ASK && !it->nchoices ? it->answer : NULL;
            if (!expr)
                continue;
            char *x = lesson_expand(l, expr), err[256] = "";
            struct lesson_value v;
            if (lesson_eval(x, runs, &v, err, sizeof err) != 0 && (!err[0] || strchr(err, '\n')))
                abort();
            free(x);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;
    char err[256] = "";
    struct lesson *l = lesson_parse("fuzz.lesson", text, err, sizeof err);
    if (!l) {
        if (strncmp(err, "fuzz.lesson:", 12) || strchr(err, '\n'))
            abort();
    } else {
        json_t *runs = json_object();
        json_object_set_new(runs, "a", json_pack("{s:i, s:s, s:[i,i]}", "x", 3, "output", "hi",
                                                 "v", 1, 2));
        lesson_set_seed(l, size);
        eval_all(l, runs);
        json_decref(runs);
        lesson_free(l);
    }
    free(text);
    return 0;
}
