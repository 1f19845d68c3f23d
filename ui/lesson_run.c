/*
 * lesson_run.c - doing a lesson's steps (see lesson_run.h).
 *
 * A lesson's `run NAME:` line is an ordinary ringside command line, run as
 * its own process of this same program from the source tree. That keeps the
 * lesson honest - the class sees exactly what typing the command prints -
 * and keeps a guest that crashes, or a command that fails, from taking the
 * lesson down with it. `run` and `host` commands are given --stats-json so
 * checks and answers can read every documented statistic (docs/stats.md).
 */
#define _GNU_SOURCE
#include "lesson_run.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hw/hostfile.h"
#include "source_tree.h"
#include "words.h"

#define RUN_MAX_ARGS 64
#define RUN_MAX_OUTPUT (1u << 20)
#define RUN_TIMEOUT_S 300

int lesson_root(char *buf, size_t len)
{
    if (source_tree_path("lessons", buf, len))
        return -1;
    buf[strlen(buf) - strlen("/lessons")] = 0;
    return 0;
}

int lesson_session_init(struct lesson_session *s, struct lesson *l, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->l = l;
    if (lesson_root(l->srcdir, sizeof l->srcdir)) {
        snprintf(err, errlen, "the source tree (lessons/, samples/) is not next to this program");
        return -1;
    }
    const char *dir = getenv("TMPDIR");
    snprintf(l->tmpdir, sizeof l->tmpdir, "%s/ringside-lesson-XXXXXX",
             dir && *dir && strlen(dir) < 80 ? dir : "/tmp");
    if (!mkdtemp(l->tmpdir)) {
        snprintf(err, errlen, "cannot create a temporary directory: %s", strerror(errno));
        return -1;
    }
    s->runs = json_object();
    return 0;
}

/* ${TMP} holds what the lesson's commands wrote (snapshots...): gone after. */
static void remove_tmpdir(const char *path)
{
    DIR *d = opendir(path);
    for (struct dirent *e; d && (e = readdir(d));) {
        char f[PATH_MAX];
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(f, sizeof f, "%s/%s", path, e->d_name);
            unlink(f);
        }
    }
    if (d)
        closedir(d);
    rmdir(path);
}

void lesson_session_free(struct lesson_session *s)
{
    lesson_bg_stop_all(s);
    json_decref(s->runs);
    s->runs = NULL;
    if (s->l && s->l->tmpdir[0])
        remove_tmpdir(s->l->tmpdir);
}

static int temp_file(char *path, size_t len)
{
    const char *dir = getenv("TMPDIR");
    snprintf(path, len, "%s/ringside-lesson-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd >= 0)
        fcntl(fd, F_SETFD, FD_CLOEXEC);
    return fd;
}

/* The child's side of a background command: a process group of its own
   (so `kill NAME:` reaches whatever it starts) that dies with this process
   (PR_SET_PDEATHSIG: a lesson killed by a signal leaves no orphan). */
static void background_child(pid_t parent)
{
    setpgid(0, 0);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
        _exit(127);   /* the lesson is already gone */
}

pid_t lesson_spawn(const char *root, char **argv, int out_fd, int err_fd,
                   enum lesson_spawn_kind kind)
{
    pid_t parent = getpid(), pid = fork();
    if (pid > 0 && kind == LS_BACKGROUND)
        setpgid(pid, pid);   /* also here: no window in which kill(-pid) misses it */
    if (pid != 0)
        return pid;
    if (kind == LS_BACKGROUND)
        background_child(parent);
    int null = open("/dev/null", O_RDWR);
    if (null < 0 || chdir(root) != 0)
        _exit(127);
    dup2(null, 0);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    if (kind == LS_MAKE)
        execvp("make", argv);
    else
        execv("/proc/self/exe", argv);
    _exit(127);
}

/* Wait for pid, killing it after RUN_TIMEOUT_S; its exit status or
   128 + signal. */
static int wait_bounded(pid_t pid)
{
    time_t deadline = time(NULL) + RUN_TIMEOUT_S;
    int st;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR)
            return 127;
        if (time(NULL) > deadline)
            kill(pid, SIGKILL);
        struct timespec ts = { 0, 5 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

json_t *lesson_read_text(const char *path)
{
    int fd = open(path, O_RDONLY);
    char *buf = malloc(RUN_MAX_OUTPUT + 1);
    size_t n = 0;
    ssize_t k;
    while (fd >= 0 && buf && n < RUN_MAX_OUTPUT &&
           (k = read(fd, buf + n, RUN_MAX_OUTPUT - n)) > 0)
        n += (size_t)k;
    if (fd >= 0)
        close(fd);
    json_t *j = buf ? json_stringn_nocheck(buf, n) : json_string("");
    free(buf);
    return j;
}

json_t *lesson_read_stats(const char *path, char *err, size_t errlen)
{
    uint8_t *data;
    size_t len;
    if (hostfile_read(path, 16u << 20, &data, &len, err, errlen))
        return NULL;
    json_error_t je;
    json_t *j = len ? json_loadb((const char *)data, len, 0, &je) : NULL;
    free(data);
    if (!json_is_object(j)) {
        json_decref(j);
        snprintf(err, errlen, "the command wrote no statistics");
        return NULL;
    }
    return j;
}

/* A CSV table (the output of `paper --csv`, `compare --csv`) as
   {ROW: {COLUMN: value}}: the first column names the row, the header line
   the columns; numbers become numbers. */
static json_t *csv_table(const char *text)
{
    json_t *table = json_object();
    char *copy = strdup(text), *save = NULL, *cols[32];
    int ncols = 0;
    for (char *line = copy ? strtok_r(copy, "\n", &save) : NULL; line;
         line = strtok_r(NULL, "\n", &save)) {
        char *cell[32], *cs = NULL;
        int n = 0;
        for (char *c = strtok_r(line, ",", &cs); c && n < 32; c = strtok_r(NULL, ",", &cs))
            cell[n++] = c;
        if (!ncols) {
            memcpy(cols, cell, sizeof cell[0] * (size_t)n);
            ncols = n;
            continue;
        }
        json_t *row = json_object();
        for (int i = 1; i < n && i < ncols; i++) {
            char *end;
            double d = strtod(cell[i], &end);
            json_object_set_new(row, cols[i], *end || end == cell[i] ? json_string(cell[i])
                                                                     : json_real(d));
        }
        json_object_set_new(table, cell[0], row);
    }
    free(copy);
    return table;
}

/* The last line of text that is a whole JSON object (what `--json`
   commands such as `migrate --json` print beside the guest's output), or
   NULL. */
static json_t *json_line(const char *text)
{
    json_t *found = NULL;
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        size_t len = strcspn(p, "\n");
        if (len < 2 || p[0] != '{' || p[len - 1] != '}')
            continue;
        json_error_t je;
        json_t *j = json_loadb(p, len, 0, &je);
        if (json_is_object(j)) {
            json_decref(found);
            found = j;
        } else
            json_decref(j);
    }
    return found;
}

static bool has_word(char **argv, int argc, const char *w)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], w))
            return true;
    return false;
}

bool lesson_wants_stats(char **argv, int argc)
{
    if (argc < 2 || (strcmp(argv[1], "run") && strcmp(argv[1], "host")))
        return false;
    return !has_word(argv, argc, "--stats-json") && !has_word(argv, argc, "--help");
}

/* LI_READ: a file of the student's (relative to ${WORK}) as the record's
   output; status 1 when it cannot be read. */
static int do_read(struct lesson_session *s, const struct lesson_item *it)
{
    char *name = lesson_expand(s->l, it->text), path[PATH_MAX + 4200], err[256];
    snprintf(path, sizeof path, "%s%s%s", name[0] == '/' ? "" : s->l->workdir,
             name[0] == '/' ? "" : "/", name);
    uint8_t *data = NULL;
    size_t len = 0;
    int bad = hostfile_read(path, RUN_MAX_OUTPUT, &data, &len, err, sizeof err);
    json_t *rec = json_object();
    json_object_set_new(rec, "status", json_integer(bad ? 1 : 0));
    json_object_set_new(rec, "output", bad ? json_string("")
                                           : json_stringn_nocheck((char *)data, len));
    json_object_set_new(s->runs, it->run_name, rec);
    free(data);
    free(name);
    return 0;
}

/* A command line with its ${...} filled in: params and the built-ins, then
   each ${NAME.FIELD...} left, a field of a record made so far (a text as it
   is, so a `read` file's words become words of the command; a number
   without a fraction as an integer). NULL with err when one cannot be read. */
static char *expand_command(struct lesson_session *s, const char *text, char *err,
                            size_t errlen)
{
    char *x = lesson_expand(s->l, text), *out = NULL;
    size_t cap = 0;
    FILE *f = open_memstream(&out, &cap);
    if (!f)
        exit(12);
    for (const char *q = x; *q;) {
        const char *e = !strncmp(q, "${", 2) ? strchr(q, '}') : NULL;
        if (!e) {
            fputc(*q++, f);
            continue;
        }
        char ref[256];
        snprintf(ref, sizeof ref, "%.*s", (int)(e - q - 2), q + 2);
        struct lesson_value v;
        if (lesson_eval(ref, s->runs, &v, err, errlen)) {
            fclose(f);
            free(out);
            free(x);
            return NULL;
        }
        if (v.is_str) {           /* a file's lines: words on one line */
            size_t len = strlen(v.str);
            while (len && isspace((unsigned char)v.str[len - 1]))
                len--;
            for (size_t i = 0; i < len; i++)
                fputc(isspace((unsigned char)v.str[i]) ? ' ' : v.str[i], f);
        }
        else if (v.num == floor(v.num) && fabs(v.num) < 1e15)
            fprintf(f, "%lld", (long long)v.num);
        else
            fprintf(f, "%.17g", v.num);
        q = e + 1;
    }
    fclose(f);
    free(x);
    return out;
}

int lesson_do_run(struct lesson_session *s, const struct lesson_item *it, char *err,
                  size_t errlen)
{
    if (it->kind == LI_READ)
        return do_read(s, it);
    if (it->kind == LI_WAIT)
        return lesson_bg_wait(s, it, err, errlen);
    if (it->kind == LI_KILL)
        return lesson_bg_kill(s, it, err, errlen);
    bool make = it->kind == LI_MAKE;
    char *line = expand_command(s, it->text, err, errlen);
    if (!line)
        return -1;
    char *argv[RUN_MAX_ARGS + 8], src_var[4200];
    int pre = 1;
    argv[0] = make ? "make" : "ringside";
    if (make) {   /* make -s -C WORK RINGSIDE_SRC=SRC TARGETS... */
        snprintf(src_var, sizeof src_var, "RINGSIDE_SRC=%s", s->l->srcdir);
        argv[1] = "-s";
        argv[2] = "-C";
        argv[3] = s->l->workdir;
        argv[4] = src_var;
        pre = 5;
    }
    int argc = words_split(line, argv + pre, RUN_MAX_ARGS);
    if (argc < 0)
        snprintf(err, errlen, "more than %d words, or a quote left open, in the command",
                 RUN_MAX_ARGS);
    else
        argv[pre + argc] = NULL;
    int rc = -1;
    char out_path[PATH_MAX], err_path[PATH_MAX], stats_path[PATH_MAX] = "";
    int out_fd = -1, err_fd = -1, stats_fd = -1;
    if (argc < 0 || (argc == 0 && !make)) {
        if (argc == 0)
            snprintf(err, errlen, "an empty command");
        goto done;
    }
    argc += pre;
    if (it->kind == LI_START) {
        rc = lesson_bg_start(s, it->run_name, argv, argc, err, errlen);
        goto done;
    }
    bool stats = !make && lesson_wants_stats(argv, argc);
    if ((out_fd = temp_file(out_path, sizeof out_path)) < 0 ||
        (err_fd = temp_file(err_path, sizeof err_path)) < 0 ||
        (stats && (stats_fd = temp_file(stats_path, sizeof stats_path)) < 0)) {
        snprintf(err, errlen, "cannot create a temporary file: %s", strerror(errno));
        goto done;
    }
    if (stats) {
        argv[argc++] = "--stats-json";
        argv[argc++] = stats_path;
        argv[argc] = NULL;
    }
    fflush(NULL);
    pid_t pid = lesson_spawn(s->l->srcdir, argv, out_fd, err_fd, make ? LS_MAKE : LS_RINGSIDE);
    if (pid < 0) {
        snprintf(err, errlen, "cannot start %s: %s", argv[0], strerror(errno));
        goto done;
    }
    int status = wait_bounded(pid);
    json_t *rec = stats ? lesson_read_stats(stats_path, err, errlen) : json_object();
    if (!rec) {
        json_t *o = lesson_read_text(err_path);
        const char *t = json_string_value(o);
        size_t n = strlen(err);
        snprintf(err + n, errlen - n, " (status %d): %.200s", status, t ? t : "");
        json_decref(o);
        goto done;
    }
    json_object_set_new(rec, "status", json_integer(status));
    json_object_set_new(rec, "output", lesson_read_text(out_path));
    json_object_set_new(rec, "errors", lesson_read_text(err_path));
    if (has_word(argv, argc, "--json")) {   /* the reply line: on stdout, else stderr */
        json_t *jl = json_line(json_string_value(json_object_get(rec, "output")));
        if (!jl)
            jl = json_line(json_string_value(json_object_get(rec, "errors")));
        if (jl)
            json_object_set_new(rec, "json", jl);
    }
    if (has_word(argv, argc, "--csv"))
        json_object_set_new(rec, "table",
                            csv_table(json_string_value(json_object_get(rec, "output"))));
    json_object_set_new(s->runs, it->run_name, rec);
    rc = 0;
done:
    if (out_fd >= 0) {
        close(out_fd);
        unlink(out_path);
    }
    if (err_fd >= 0) {
        close(err_fd);
        unlink(err_path);
    }
    if (stats_fd >= 0) {
        close(stats_fd);
        unlink(stats_path);
    }
    free(line);
    return rc;
}

void lesson_item_command(struct lesson_session *s, const struct lesson_item *it, char *buf,
                         size_t len)
{
    static const char *const wait_fmt[] = {
        [LW_SOCKET] = "(waiting until %s's socket %s accepts a connection)",
        [LW_OUTPUT] = "(waiting until %s prints \"%s\")",
        [LW_END] = "(waiting for %s to end%s)",
    };
    char e[8];
    char *cmd = it->kind == LI_RUN || it->kind == LI_START || it->kind == LI_MAKE
                    ? expand_command(s, it->text, e, sizeof e) : NULL;
    if (!cmd)
        cmd = lesson_expand(s->l, it->text);
    if (it->kind == LI_WAIT)
        snprintf(buf, len, wait_fmt[it->wait], it->run_name, cmd);
    else if (it->kind == LI_KILL)
        snprintf(buf, len, "$ kill -KILL %s", it->run_name);
    else
        snprintf(buf, len, it->kind == LI_READ ? "(reading %s)" : it->kind == LI_MAKE ? "$ make %s"
                           : it->kind == LI_START ? "$ ringside %s &" : "$ ringside %s", cmd);
    free(cmd);
}

int lesson_do_check(struct lesson_session *s, const struct lesson_item *it, char *err,
                    size_t errlen)
{
    char *e = lesson_expand(s->l, it->text);
    struct lesson_value v;
    int rc = lesson_eval(e, s->runs, &v, err, errlen);
    free(e);
    if (rc)
        return -1;
    if (v.is_str) {
        snprintf(err, errlen, "a check must be true or false, not a text");
        return -1;
    }
    return v.num != 0;
}

static void format_number(double d, char *buf, size_t len)
{
    if (d == floor(d) && fabs(d) < 1e15)
        snprintf(buf, len, "%.0f", d);
    else
        snprintf(buf, len, "%.2f", d);
}

int lesson_answer_text(struct lesson_session *s, const struct lesson_item *it, char *buf,
                       size_t len, char *err, size_t errlen)
{
    if (it->nchoices) {
        snprintf(buf, len, "%s", it->answer);
        return 0;
    }
    char *e = lesson_expand(s->l, it->answer);
    struct lesson_value v;
    int rc = lesson_eval(e, s->runs, &v, err, errlen);
    free(e);
    if (rc)
        return -1;
    if (v.is_str)
        snprintf(buf, len, "%s", v.str);
    else
        format_number(v.num, buf, len);
    return 0;
}

static bool parse_number(const char *s, double *out)
{
    char clean[64];
    size_t n = 0;
    for (; *s && n + 1 < sizeof clean; s++)
        if (*s != ',' && *s != '_' && *s != ' ' && *s != '%')
            clean[n++] = *s;
    clean[n] = 0;
    char *end;
    *out = strtod(clean, &end);
    return n > 0 && *end == 0;
}

bool lesson_answer_right(const struct lesson_item *it, const char *expected, const char *given)
{
    while (*given == ' ')
        given++;
    if (it->nchoices)
        return (given[0] | 0x20) == expected[0] && (given[1] == 0 || given[1] == ')' ||
                                                    given[1] == ' ' || given[1] == '\n');
    double want, got;
    if (!parse_number(expected, &want))
        return strcasecmp(expected, given) == 0;
    if (!parse_number(given, &got))
        return false;
    double tol = it->within_pct ? fabs(want) * it->within / 100.0 : it->within;
    return fabs(got - want) <= tol + 1e-9 * fmax(1.0, fabs(want));
}

static uint64_t field(json_t *rec, const char *a, const char *b)
{
    json_t *j = json_object_get(rec, a);
    if (b)
        j = json_object_get(j, b);
    return json_is_integer(j) ? (uint64_t)json_integer_value(j) : 0;
}

void lesson_run_summary(struct lesson_session *s, const char *name, char *buf, size_t len)
{
    json_t *rec = json_object_get(s->runs, name);
    const char *out = json_string_value(json_object_get(rec, "output"));
    int n = json_object_get(rec, "status") ? snprintf(buf, len, "status %d",
                                                      (int)field(rec, "status", NULL))
                                           : snprintf(buf, len, "running");
    if (json_object_get(rec, "guest_insns"))
        n += snprintf(buf + n, len - (size_t)n, ", %llu guest instructions, %llu cycles",
                      (unsigned long long)field(rec, "guest_insns", NULL),
                      (unsigned long long)field(rec, "cycles", "total"));
    if (out && *out && (size_t)n + 2 < len)
        snprintf(buf + n, len - (size_t)n, "\n%s", out);
}
