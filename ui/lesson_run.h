/*
 * lesson_run.h - doing a lesson's steps: running its commands, checking,
 * grading answers. Shared by the headless runner and the TUI lesson pane,
 * so both show the same numbers and grade the same way.
 */
#ifndef RS_LESSON_RUN_H
#define RS_LESSON_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "lesson.h"

/* A `start NAME:` command running in the background (lesson_bg.c). */
struct lesson_bg {
    char name[32];
    pid_t pid;                /* > 0 while it runs (also its process group) */
    char out[256], err[256], stats[256];   /* its captures, in ${TMP} */
    bool stats_wanted;        /* given --stats-json (run and host commands) */
};

struct lesson_session {
    struct lesson *l;
    json_t *runs;             /* run name -> record (stats JSON + status + output) */
    struct lesson_bg bg[LESSON_MAX_BG];
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

/* ---- shared by the runner's files ---- */

enum lesson_spawn_kind { LS_RINGSIDE, LS_MAKE, LS_BACKGROUND };
/* argv as its own process from the source tree root, stdout to out_fd,
   stderr to err_fd: ringside itself, `make`, or ringside in the background
   (its own process group, killed with SIGKILL if this process dies). */
pid_t lesson_spawn(const char *root, char **argv, int out_fd, int err_fd,
                   enum lesson_spawn_kind kind);
/* A file's text as a JSON string (at most 1 MiB; "" if unreadable). */
json_t *lesson_read_text(const char *path);
/* A --stats-json file as an object, or NULL with err. */
json_t *lesson_read_stats(const char *path, char *err, size_t errlen);
/* Should this ringside command line get --stats-json? (run and host) */
bool lesson_wants_stats(char **argv, int argc);

/* ---- background commands (lesson_bg.c) ---- */

/* LI_START: argv (argc words, room for 2 more) in the background under
   `name`; 0, or -1 with err. */
int lesson_bg_start(struct lesson_session *s, const char *name, char **argv, int argc,
                    char *err, size_t errlen);
/* LI_WAIT: until the condition holds (at most LESSON_WAIT_S seconds); the
   record NAME then holds the output so far (and, once it has ended, its
   status and statistics). 0, or -1 with err (timeout, or it ended first). */
int lesson_bg_wait(struct lesson_session *s, const struct lesson_item *it, char *err,
                   size_t errlen);
/* LI_KILL: SIGKILL to its process group, reaped; its record: status (137
   when the signal killed it), output, errors. 0, or -1 with err. */
int lesson_bg_kill(struct lesson_session *s, const struct lesson_item *it, char *err,
                   size_t errlen);
/* Every background command still running: SIGKILL and reaped (the end of
   a lesson, however it ends). */
void lesson_bg_stop_all(struct lesson_session *s);

#endif
