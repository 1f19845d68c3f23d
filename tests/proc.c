/*
 * proc.c - fork/exec with captured stdout and stderr (see proc.h).
 */
#define _GNU_SOURCE
#include "proc.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct buf {
    char *data;
    size_t len, cap;
};

static void buf_add(struct buf *b, const char *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->data = realloc(b->data, b->cap);
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
}

static void child(char *const argv[], int out[2], int err[2])
{
    dup2(out[1], 1);
    dup2(err[1], 2);
    close(out[0]);
    close(err[0]);
    int devnull = open("/dev/null", 0);
    if (devnull >= 0)
        dup2(devnull, 0);
    execvp(argv[0], argv);
    fprintf(stderr, "exec %s failed\n", argv[0]);
    _exit(127);
}

/* Drain both pipes until EOF or timeout; kills the child on timeout. */
static void drain(pid_t pid, int fo, int fe, int timeout_s, struct buf *bo, struct buf *be)
{
    struct pollfd p[2] = { { fo, POLLIN, 0 }, { fe, POLLIN, 0 } };
    time_t deadline = time(NULL) + timeout_s;
    int open_fds = 2;
    char tmp[65536];
    while (open_fds > 0) {
        if (time(NULL) > deadline) {
            kill(pid, SIGKILL);
            break;
        }
        if (poll(p, 2, 1000) <= 0)
            continue;
        for (int i = 0; i < 2; i++) {
            if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP)))
                continue;
            ssize_t n = read(p[i].fd, tmp, sizeof tmp);
            if (n <= 0) {
                p[i].fd = -1;
                open_fds--;
            } else {
                buf_add(i ? be : bo, tmp, (size_t)n);
            }
        }
    }
}

int proc_run(char *const argv[], int timeout_s, struct proc_result *r)
{
    int out[2], err[2];
    memset(r, 0, sizeof *r);
    if (pipe(out) || pipe(err))
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0)
        child(argv, out, err);
    close(out[1]);
    close(err[1]);
    struct buf bo = { 0 }, be = { 0 };
    buf_add(&bo, "", 0);
    buf_add(&be, "", 0);
    drain(pid, out[0], err[0], timeout_s, &bo, &be);
    close(out[0]);
    close(err[0]);
    int st;
    waitpid(pid, &st, 0);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    r->out = bo.data;
    r->out_len = bo.len;
    r->err = be.data;
    return 0;
}

void proc_result_free(struct proc_result *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

const char *proc_ringside(void)
{
    const char *p = getenv("RINGSIDE");
    return p && *p ? p : "./ringside";
}

char *proc_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct buf b = { 0 };
    char tmp[65536];
    size_t n;
    buf_add(&b, "", 0);
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        buf_add(&b, tmp, n);
    fclose(f);
    if (len)
        *len = b.len;
    return b.data;
}
