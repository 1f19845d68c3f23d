/*
 * run_until.c - the --until matcher (see run_until.h).
 */
#include "run_until.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "machine.h"

static void until_out(void *ctx, uint8_t byte)
{
    struct run_until *u = ctx;
    if (u->next)
        u->next(u->next_ctx, byte);
    if (u->hit)
        return;
    if (u->have == u->len) {
        memmove(u->tail, u->tail + 1, u->len - 1);
        u->have--;
    }
    u->tail[u->have++] = (char)byte;
    if (u->have == u->len && memcmp(u->tail, u->text, u->len) == 0) {
        u->hit = true;
        machine_request_pause(u->m);
    }
}

int run_until_attach(struct run_until *u, struct machine *m, const char *text)
{
    memset(u, 0, sizeof *u);
    u->len = strlen(text);
    u->tail = malloc(u->len ? u->len : 1);
    if (!u->tail)
        return -1;
    u->text = text, u->m = m;
    u->next = m->out, u->next_ctx = m->out_ctx;
    m->out = until_out, m->out_ctx = u;
    return 0;
}

void run_until_free(struct run_until *u)
{
    free(u->tail);
    u->tail = NULL;
}

bool run_until_check(struct run_until *u)
{
    if (!u->hit || u->m->end != END_NONE)
        return false;
    u->m->end = END_UNTIL;
    snprintf(u->m->end_msg, sizeof u->m->end_msg, "the guest printed the --until text");
    return true;
}
