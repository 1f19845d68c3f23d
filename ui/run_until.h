/*
 * run_until.h - `ringside run --until TEXT`: end the run once the guest has
 * printed TEXT.
 *
 * A real kernel such as xv6 never powers the machine off: once its test
 * program says "ALL TESTS PASSED" it sits at a shell prompt. A script that
 * types into it needs the run to end there, at a point that is the same on
 * every run, so the figures of the summary and the stats JSON are the run's
 * and not wherever a timeout happened to land. The matcher sits between the
 * machine's COM1 output and the real sink; the byte that completes TEXT
 * asks the machine to pause after the instruction that sent it, and the run
 * loop then ends the run as END_UNTIL (exit status 0).
 */
#ifndef RINGSIDE_RUN_UNTIL_H
#define RINGSIDE_RUN_UNTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct machine;

struct run_until {
    const char *text;             /* what to wait for */
    size_t len;
    char *tail;                   /* the last len bytes the guest printed */
    size_t have;
    bool hit;
    struct machine *m;
    void (*next)(void *ctx, uint8_t byte);  /* where the bytes go on to */
    void *next_ctx;
};

/* Put the matcher in front of m's COM1 sink. 0, or -1 out of memory. */
int run_until_attach(struct run_until *u, struct machine *m, const char *text);
void run_until_free(struct run_until *u);
/* After a slice: if the text was printed, end the run (END_UNTIL). */
bool run_until_check(struct run_until *u);

#endif
