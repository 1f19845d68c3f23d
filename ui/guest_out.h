/*
 * guest_out.h - the guest's COM1 bytes on standard output, nothing held.
 *
 * Why not stdio: a pipe makes stdout fully buffered, and a process killed by
 * SIGTERM or SIGINT (`timeout`, Ctrl-C in a pipeline) never flushes it, so the
 * last few KiB the guest printed were lost. Here bytes are written with
 * write(2): at a newline when GUEST_OUT_LINGER_MS have passed since the last
 * write, when the buffer fills, at the end of every run slice (guest_out_flush
 * from the run loop, a few ms of guest time) and at the end; every byte at
 * once when interactive. A line therefore reaches stdout within about 10 ms
 * of the guest writing it, at one write(2) per 4 KiB when the guest prints
 * fast (a write per line cost a print-bound guest 17% more CPU). A handler
 * for SIGTERM/SIGINT/SIGHUP writes what is pending and then dies of the same
 * signal, so nothing the guest wrote is lost and the shell sees the
 * conventional status 128 + signal.
 */
#ifndef RINGSIDE_GUEST_OUT_H
#define RINGSIDE_GUEST_OUT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#define GUEST_OUT_BUF 4096        /* at most this much pending (a full buffer goes out) */
#define GUEST_OUT_LINGER_MS 10    /* a newline writes when the last write is this old */

struct guest_out {
    char buf[GUEST_OUT_BUF];      /* the unfinished line */
    volatile sig_atomic_t n;      /* bytes in buf */
    volatile sig_atomic_t busy;   /* a write of buf is under way */
    volatile sig_atomic_t pending;/* signal that came while busy: raised after */
    int fd;                       /* where the bytes go (1) */
    bool each_byte;               /* interactive: write every byte at once */
    bool broken;                  /* a write failed (EPIPE...): drop the rest */
    uint64_t last_ms;             /* monotonic time of the last newline write */
};

void guest_out_init(struct guest_out *o, int fd, bool each_byte);
/* The machine's output callback (m->out, with m->out_ctx = o). */
void guest_out_put(void *ctx, uint8_t byte);
/* Write what is pending (the run loop calls it after every slice). */
void guest_out_flush(struct guest_out *o);
/* While set, SIGTERM, SIGINT and SIGHUP (unless ignored when ringside
   started) flush o and end the process with that signal. One at a time. */
void guest_out_catch_signals(struct guest_out *o);
void guest_out_release_signals(void);

#endif
