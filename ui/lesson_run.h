/*
 * lesson_run.h - doing a lesson's steps: running its commands, checking,
 * grading answers. Shared by the headless runner and the TUI lesson pane,
 * so both show the same numbers and grade the same way.
 */
#ifndef RS_LESSON_RUN_H
#define RS_LESSON_RUN_H

#include <stdbool.h>
#include <stddef.h>

#include "lesson.h"

struct lesson_session {
    struct lesson *l;
    json_t *runs;             /* run name -> record (stats JSON + status + output) */
};

/* The source tree the running program belongs to (where lessons/ and
   samples/ are), or -1 if there is none. */
int lesson_root(char *buf, size_t len);

int lesson_session_init(struct lesson_session *s, struct lesson *l, char *err, size_t errlen);
void lesson_session_free(struct lesson_session *s);

/* Do an LI_RUN (the ringside command it names, from the source tree), an
   LI_MAKE (make in ${WORK}) or an LI_READ (a file): its output, exit status
   and statistics recorded under its name. 0, or -1 with err (the command
   could not start, or printed no statistics). */
int lesson_do_run(struct lesson_session *s, const struct lesson_item *it, char *err,
                  size_t errlen);
/* What a run item does, as the class should read it: "$ ringside run ...",
   "$ make kernel.elf", "(reading answer.txt)". */
void lesson_item_command(struct lesson_session *s, const struct lesson_item *it, char *buf,
                         size_t len);
/* Evaluate an LI_CHECK: 1 holds, 0 does not, -1 error (err). */
int lesson_do_check(struct lesson_session *s, const struct lesson_item *it, char *err,
                    size_t errlen);
/* The expected answer of an LI_ASK as text ("7631", "b"), or -1 with err. */
int lesson_answer_text(struct lesson_session *s, const struct lesson_item *it, char *buf,
                       size_t len, char *err, size_t errlen);
/* Is the student's answer right? (numbers within the tolerance, a choice
   letter in either case). */
bool lesson_answer_right(const struct lesson_item *it, const char *expected,
                         const char *given);
/* The record of run `name` as text for display: "status 1, 4,686,754 guest
   instructions, 22,652,131 cycles" and the first lines of output. */
void lesson_run_summary(struct lesson_session *s, const char *name, char *buf, size_t len);

#endif
