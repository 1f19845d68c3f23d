/*
 * lesson_bg.c - a lesson's background commands: `start NAME:`, `wait NAME:`
 * and `kill NAME:` (docs/lessons.md).
 *
 * Some lessons need a process that keeps running while later steps talk to
 * it: a `ringside host --control` serving the management protocol, a
 * standby receiving checkpoints, a primary that the lesson then kills to
 * show disaster recovery. Such a command runs as its own process group, its
 * standard output and error captured in files of ${TMP}, and dies with the
 * lesson (PR_SET_PDEATHSIG), so a lesson never leaves a process behind:
 * not when it ends, not when a check fails, not when it is itself killed.
 * Readiness is waited for, never slept for: until a Unix socket accepts a
 * connection, until the output holds a text, or until the process ends,
 * each within LESSON_WAIT_S seconds and failing at once if the command
 * dies first. `kill NAME:` sends SIGKILL (a computer that fails gives a
 * process no chance to clean up) to the whole group and reaps it; the
 * record NAME then has the command's status, output and errors, like a
 * `run`'s.
 */
#define _GNU_SOURCE
#include "lesson_run.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct lesson_bg *bg_running(struct lesson_session *s, const char *name)
{
    for (int i = 0; i < LESSON_MAX_BG; i++)
        if (s->bg[i].pid > 0 && !strcmp(s->bg[i].name, name))
            return &s->bg[i];
    return NULL;
}

/* The background command an item names, or NULL with err. */
static struct lesson_bg *bg_named(struct lesson_session *s, const struct lesson_item *it,
                                  char *err, size_t errlen)
{
    struct lesson_bg *b = bg_running(s, it->run_name);
    if (!b)
        snprintf(err, errlen, "'%s' is not running", it->run_name);
    return b;
}

static int open_capture(const struct lesson_session *s, const char *name, const char *what,
                        char *path, size_t len)
{
    snprintf(path, len, "%s/.bg-%s.%s", s->l->tmpdir, name, what);
    return open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
}

int lesson_bg_start(struct lesson_session *s, const char *name, char **argv, int argc,
                    char *err, size_t errlen)
{
    struct lesson_bg *b = NULL;
    for (int i = 0; i < LESSON_MAX_BG && !b; i++)
        if (s->bg[i].pid <= 0)
            b = &s->bg[i];
    if (bg_running(s, name) || !b) {
        snprintf(err, errlen, "'%s' is already running, or %d are", name, LESSON_MAX_BG);
        return -1;
    }
    memset(b, 0, sizeof *b);
    snprintf(b->name, sizeof b->name, "%s", name);
    int out = open_capture(s, name, "out", b->out, sizeof b->out);
    int er = open_capture(s, name, "err", b->err, sizeof b->err);
    b->stats_wanted = lesson_wants_stats(argv, argc);
    int st = b->stats_wanted ? open_capture(s, name, "json", b->stats, sizeof b->stats) : -2;
    pid_t pid = -1;
    if (out >= 0 && er >= 0 && st != -1) {
        if (b->stats_wanted) {
            argv[argc++] = "--stats-json";
            argv[argc++] = b->stats;
            argv[argc] = NULL;
        }
        fflush(NULL);
        pid = lesson_spawn(s->l->srcdir, argv, out, er, LS_BACKGROUND);
    }
    if (pid < 0)
        snprintf(err, errlen, "cannot start %s in the background: %s", name, strerror(errno));
    for (int fd, k = 0; k < 3; k++)
        if ((fd = k == 0 ? out : k == 1 ? er : st) >= 0)
            close(fd);
    b->pid = pid > 0 ? pid : 0;
    return pid > 0 ? 0 : -1;
}

/* NAME's record: what it printed so far; once it has ended (status >= 0)
   also its exit status (128 + signal) and any statistics it wrote. */
static void bg_record(struct lesson_session *s, const struct lesson_bg *b, int status)
{
    char err[256];
    json_t *rec = NULL;
    if (status >= 0 && b->stats_wanted)
        rec = lesson_read_stats(b->stats, err, sizeof err);   /* none after a SIGKILL */
    if (!rec)
        rec = json_object();
    if (status >= 0)
        json_object_set_new(rec, "status", json_integer(status));
    json_object_set_new(rec, "output", lesson_read_text(b->out));
    json_object_set_new(rec, "errors", lesson_read_text(b->err));
    json_object_set_new(s->runs, b->name, rec);
}

static int status_of(int st)
{
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Reaped if it has ended: its status, else -1. */
static int bg_poll(struct lesson_bg *b)
{
    int st;
    pid_t r = waitpid(b->pid, &st, WNOHANG);
    if (r != b->pid)
        return -1;
    b->pid = 0;
    return status_of(st);
}

static void bg_reap_killed(struct lesson_session *s, struct lesson_bg *b, bool record)
{
    int st = 0;
    kill(-b->pid, SIGKILL);
    kill(b->pid, SIGKILL);
    while (waitpid(b->pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (record)
        bg_record(s, b, status_of(st));
    b->pid = 0;
}

static bool socket_accepts(const char *path)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

static bool output_holds(const struct lesson_bg *b, const char *text)
{
    json_t *o = lesson_read_text(b->out);
    bool ok = strstr(json_string_value(o), text) != NULL;
    json_decref(o);
    return ok;
}

static bool ready(const struct lesson_bg *b, const struct lesson_item *it, const char *arg)
{
    return it->wait == LW_SOCKET ? socket_accepts(arg)
         : it->wait == LW_OUTPUT ? output_holds(b, arg) : false;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* The socket's path as the commands see it: relative to the source tree. */
static char *wait_arg(struct lesson_session *s, const struct lesson_item *it)
{
    char *x = lesson_expand(s->l, it->text);
    if (it->wait != LW_SOCKET || x[0] == '/')
        return x;
    char *abs = malloc(strlen(s->l->srcdir) + strlen(x) + 2);
    if (!abs)
        exit(12);
    sprintf(abs, "%s/%s", s->l->srcdir, x);
    free(x);
    return abs;
}

static int first_line(const char *path, char *buf, size_t len)
{
    json_t *o = lesson_read_text(path);
    const char *t = json_string_value(o);
    int n = snprintf(buf, len, "%.*s", (int)strcspn(t, "\n"), t);
    json_decref(o);
    return n;
}

int lesson_bg_wait(struct lesson_session *s, const struct lesson_item *it, char *err,
                   size_t errlen)
{
    struct lesson_bg *b = bg_named(s, it, err, errlen);
    if (!b)
        return -1;
    char *arg = wait_arg(s, it);
    int rc = -1;
    if (it->wait == LW_SOCKET && strlen(arg) >= sizeof ((struct sockaddr_un *)0)->sun_path) {
        snprintf(err, errlen, "the socket path %s is too long for a Unix socket", arg);
        goto done;
    }
    for (double deadline = now_s() + LESSON_WAIT_S;;) {
        if (ready(b, it, arg)) {
            bg_record(s, b, -1);
            rc = 0;
            break;
        }
        struct lesson_bg was = *b;
        int status = bg_poll(b);
        if (status >= 0) {
            bg_record(s, &was, status);
            rc = it->wait == LW_END ? 0 : -1;
            if (rc) {
                int n = snprintf(err, errlen, "%s ended (status %d) before it was ready: ",
                                 it->run_name, status);
                first_line(was.err, err + n, errlen - (size_t)n);
            }
            break;
        }
        if (now_s() > deadline) {
            snprintf(err, errlen, "%s was not ready after %d s", it->run_name, LESSON_WAIT_S);
            break;
        }
        struct timespec ts = { 0, 10 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
done:
    free(arg);
    return rc;
}

int lesson_bg_kill(struct lesson_session *s, const struct lesson_item *it, char *err,
                   size_t errlen)
{
    struct lesson_bg *b = bg_named(s, it, err, errlen);
    if (!b)
        return -1;
    bg_reap_killed(s, b, true);
    return 0;
}

void lesson_bg_stop_all(struct lesson_session *s)
{
    for (int i = 0; i < LESSON_MAX_BG; i++)
        if (s->bg[i].pid > 0)
            bg_reap_killed(s, &s->bg[i], false);
}
