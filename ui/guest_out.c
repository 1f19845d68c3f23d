/*
 * guest_out.c - line-sized write(2)s of guest output (see guest_out.h).
 *
 * The signal handler may only use async-signal-safe calls, so it never
 * touches stdio: it writes buf[0, n) with write(2), restores the default
 * action and raises the signal again. The one unsafe moment is when the
 * main path is itself writing buf (the handler would write the same bytes
 * twice): then `busy` is set and the handler only records the signal, which
 * the main path raises as soon as its write is done. Putting a byte stores
 * it before counting it (a compiler fence keeps the order), so the handler
 * sees either the old line or the new one, never garbage. A reader that
 * stopped reading cannot keep ringside alive: see write_all.
 */
#include "guest_out.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const int guest_out_signals[] = { SIGTERM, SIGINT, SIGHUP };
#define NSIGNALS (int)(sizeof guest_out_signals / sizeof guest_out_signals[0])

static struct guest_out *guest_out_active;   /* for the handler (ui/, not sim/) */
static struct sigaction guest_out_saved[NSIGNALS];
static bool guest_out_caught[NSIGNALS];

void guest_out_init(struct guest_out *o, int fd, bool each_byte)
{
    memset(o, 0, sizeof *o);
    o->fd = fd;
    o->each_byte = each_byte;
}

/* Write buf[0, n) whole (async-signal-safe). Once a signal has come (the
   handler, or the main path's write interrupted: handlers are installed
   without SA_RESTART) each write first waits at most a second for the pipe
   to take bytes: ringside dies promptly even if nobody reads its output. */
static void write_all(struct guest_out *o, bool in_handler)
{
    size_t done = 0, n = (size_t)o->n;
    while (done < n && !o->broken) {
        struct pollfd p = { .fd = o->fd, .events = POLLOUT };
        if ((in_handler || o->pending) && poll(&p, 1, 1000) <= 0) {
            o->broken = true;
            break;
        }
        ssize_t w = write(o->fd, o->buf + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            o->broken = true;
        else
            done += (size_t)w;
    }
    o->n = 0;
}

/* Die of sig with its default action (from the handler or after a write). */
static void reraise(int sig)
{
    signal(sig, SIG_DFL);
    raise(sig);   /* in the handler: delivered as soon as it returns */
}

static void on_signal(int sig)
{
    struct guest_out *o = guest_out_active;
    int saved = errno;
    if (o && o->busy) {
        o->pending = sig;
        errno = saved;
        return;
    }
    if (o)
        write_all(o, true);
    reraise(sig);
    errno = saved;
}

void guest_out_flush(struct guest_out *o)
{
    o->busy = 1;
    write_all(o, false);
    o->busy = 0;
    if (o->pending)
        reraise(o->pending);
}

static uint64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &t);   /* vDSO: a few ns */
    return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

void guest_out_put(void *ctx, uint8_t byte)
{
    struct guest_out *o = ctx;
    sig_atomic_t n = o->n;
    o->buf[n] = (char)byte;
    atomic_signal_fence(memory_order_seq_cst);
    o->n = n + 1;
    if (o->each_byte || n + 1 == GUEST_OUT_BUF) {
        guest_out_flush(o);
    } else if (byte == '\n') {
        uint64_t t = now_ms();
        if (t - o->last_ms >= GUEST_OUT_LINGER_MS) {
            o->last_ms = t;
            guest_out_flush(o);
        }
    }
}

void guest_out_catch_signals(struct guest_out *o)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = 0;   /* no SA_RESTART: a blocked write must not outlive a signal */
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < NSIGNALS; i++)
        sigaddset(&sa.sa_mask, guest_out_signals[i]);   /* one handler at a time */
    guest_out_active = o;
    for (int i = 0; i < NSIGNALS; i++) {
        int sig = guest_out_signals[i];
        guest_out_caught[i] = false;
        if (sigaction(sig, NULL, &guest_out_saved[i]) != 0 ||
            guest_out_saved[i].sa_handler == SIG_IGN)
            continue;    /* nohup, `cmd &`: ignored on purpose, stays ignored */
        guest_out_caught[i] = sigaction(sig, &sa, NULL) == 0;
    }
}

void guest_out_release_signals(void)
{
    for (int i = 0; i < NSIGNALS; i++)
        if (guest_out_caught[i])
            sigaction(guest_out_signals[i], &guest_out_saved[i], NULL);
    guest_out_active = NULL;
}
