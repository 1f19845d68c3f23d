/*
 * tmux.c - see tmux.h.
 */
#include "tmux.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return system(cmd);
}

bool tmux_run(struct tmux *t, int cols, int rows, const char *args)
{
    static int seq;
    snprintf(t->sock, sizeof t->sock, "ringside-test-%d-%d", (int)getpid(), seq++);
    return sh("tmux -L %s new-session -d -x %d -y %d \"sh -c '%s %s; "
              "echo TUI EXIT \\$?; sleep 600'\" 2>/dev/null", t->sock, cols, rows,
              proc_ringside(), args) == 0;
}

void tmux_stop(struct tmux *t)
{
    sh("p=$(tmux -L %s display -p '#{socket_path}' 2>/dev/null); "
       "tmux -L %s kill-server 2>/dev/null; [ -n \"$p\" ] && rm -f \"$p\"", t->sock, t->sock);
}

void tmux_keys(struct tmux *t, const char *keys)
{
    sh("tmux -L %s send-keys %s", t->sock, keys);
}

const char *tmux_capture(struct tmux *t)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "tmux -L %s capture-pane -p 2>/dev/null", t->sock);
    FILE *p = popen(cmd, "r");
    size_t n = p ? fread(t->screen, 1, sizeof t->screen - 1, p) : 0;
    t->screen[n] = 0;
    if (p)
        pclose(p);
    return t->screen;
}

bool tmux_wait(struct tmux *t, const char *needle, int seconds)
{
    for (int i = 0; i < seconds * 20; i++) {
        if (strstr(tmux_capture(t), needle))
            return true;
        usleep(50000);
    }
    return false;
}

bool tmux_wait_gone(struct tmux *t, const char *needle, int seconds)
{
    for (int i = 0; i < seconds * 20; i++) {
        if (!strstr(tmux_capture(t), needle))
            return true;
        usleep(50000);
    }
    return false;
}
