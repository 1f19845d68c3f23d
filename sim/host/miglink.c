/*
 * miglink.c - the two ways a migrating host reaches its target (migrate.h):
 * a client connection to the target's control socket (a real `ringside
 * host --control` process; loopback TCP with its token, or a Unix socket),
 * or, in one process (tests, a two-host demo), the target host's
 * control_handle called directly with the same request lines.
 */
#include "host/migrate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/control.h"
#include "host/ctlclient.h"

/* ---- over the control socket ---- */

struct tcp_link {
    struct mig_link l;
    struct ctl_conn c;
};

static int tcp_send(void *ctx, const char *line)
{
    return ctlc_send_line(&((struct tcp_link *)ctx)->c, line);
}

static char *tcp_recv(void *ctx)
{
    return ctlc_line(&((struct tcp_link *)ctx)->c);
}

static void tcp_destroy(struct mig_link *l)
{
    struct tcp_link *t = l->ctx;
    ctlc_close(&t->c);
    free(t);
}

struct mig_link *mig_link_connect(const char *addr, const char *token, char *err, size_t errlen)
{
    struct tcp_link *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (ctlc_connect(&t->c, addr, true, MIG_TIMEOUT_MS, err, errlen) != 0) {
        free(t);
        return NULL;
    }
    if (token && ctlc_auth(&t->c, token) != 0) {
        snprintf(err, errlen, "the target host at %s refused the token", addr);
        tcp_destroy(&t->l);
        return NULL;
    }
    t->l = (struct mig_link){ .send = tcp_send, .recv = tcp_recv, .ctx = t,
                              .destroy = tcp_destroy };
    return &t->l;
}

/* ---- in one process ---- */

struct local_link {
    struct mig_link l;
    struct host *target;
    char **replies;             /* a FIFO of reply lines */
    size_t head, tail, cap;
};

static int local_send(void *ctx, const char *line)
{
    struct local_link *k = ctx;
    struct control_effect fx;
    if (k->tail == k->cap && k->head > 0) {
        memmove(k->replies, k->replies + k->head, (k->tail - k->head) * sizeof *k->replies);
        k->tail -= k->head;
        k->head = 0;
    }
    if (k->tail == k->cap) {
        size_t cap = k->cap ? 2 * k->cap : 64;
        char **p = realloc(k->replies, cap * sizeof *p);
        if (!p)
            return -1;
        k->replies = p;
        k->cap = cap;
    }
    k->replies[k->tail++] = control_handle(k->target, line, &fx);
    return 0;
}

static char *local_recv(void *ctx)
{
    struct local_link *k = ctx;
    return k->head < k->tail ? k->replies[k->head++] : NULL;
}

static void local_destroy(struct mig_link *l)
{
    struct local_link *k = l->ctx;
    while (k->head < k->tail)
        free(k->replies[k->head++]);
    free(k->replies);
    free(k);
}

struct mig_link *mig_link_local(struct host *target)
{
    struct local_link *k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    k->target = target;
    k->l = (struct mig_link){ .send = local_send, .recv = local_recv, .ctx = k,
                              .destroy = local_destroy };
    return &k->l;
}

void mig_link_close(struct mig_link *l)
{
    if (l)
        l->destroy(l);
}
