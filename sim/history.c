/*
 * history.c - input log, checkpoints, and going back (history.h).
 *
 * A run under a history stops at three kinds of positions, all exact
 * instruction counts (machine_run's limit): where a logged input is due,
 * where a checkpoint is due (every `every` guest instructions), and where a
 * checkpoint already exists (one taken by hand, or one a re-execution
 * passes again). At an existing checkpoint the live state is replaced by
 * the checkpoint's, which is what the first pass did right after taking it:
 * so every pass over a stretch of the past is the same computation.
 */
#include "history.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/optable.h"
#include "le.h"
#include "snapshot.h"
#include "vm.h"

static struct machine *hm(struct history *h)
{
    return &h->vm->m;
}

static uint64_t guest_now(struct history *h)
{
    return cpu_guest_insns(&hm(h)->cpu);
}

static uint64_t next_multiple(uint64_t every, uint64_t after)
{
    return every ? (after / every + 1) * every : UINT64_MAX;
}

/* ---- checkpoints ---- */

static void ckpt_drop(struct history *h, int i)
{
    h->ck_bytes -= h->ck[i].len;
    free(h->ck[i].img);
    memmove(&h->ck[i], &h->ck[i + 1], (size_t)(h->nck - i - 1) * sizeof *h->ck);
    h->nck--;
}

/* The index of the checkpoint at exactly `guest`, else -1. */
static int ckpt_at(const struct history *h, uint64_t guest)
{
    for (int i = 0; i < h->nck; i++)
        if (h->ck[i].guest == guest)
            return i;
    return -1;
}

/* The newest checkpoint at or before `guest`, else -1. */
static int ckpt_before(const struct history *h, uint64_t guest)
{
    int best = -1;
    for (int i = 0; i < h->nck && h->ck[i].guest <= guest; i++)
        best = i;
    return best;
}

/* Guest position of the first checkpoint after `guest`, else UINT64_MAX. */
static uint64_t ckpt_after(const struct history *h, uint64_t guest)
{
    for (int i = 0; i < h->nck; i++)
        if (h->ck[i].guest > guest)
            return h->ck[i].guest;
    return UINT64_MAX;
}

/* Over budget: drop the unpinned checkpoint (not the first, not one of the
   newest HIST_DENSE) whose neighbours are closest together. */
static void ckpt_thin(struct history *h)
{
    while (h->nck > HIST_DENSE + 1 &&
           (h->nck > h->max_ckpts || h->ck_bytes > h->max_bytes)) {
        int victim = -1;
        uint64_t best = UINT64_MAX;
        for (int i = 1; i < h->nck - HIST_DENSE; i++) {
            uint64_t gap = h->ck[i + 1].guest - h->ck[i - 1].guest;
            if (!h->ck[i].pinned && gap < best)
                best = gap, victim = i;
        }
        if (victim < 0)
            return;
        ckpt_drop(h, victim);
    }
}

/* Put checkpoint i's state into the VM. */
static int ckpt_restore(struct history *h, int i)
{
    struct machine *m = hm(h);
    const struct hist_ckpt *c = &h->ck[i];
    char err[150];
    if (snapshot_restore_image(h->vm, c->img, c->len, err, sizeof err) != 0) {
        snprintf(h->msg, sizeof h->msg, "restoring the checkpoint at %llu: %s",
                 (unsigned long long)c->guest, err);
        return -1;
    }
    m->idle_cycles = c->idle_cycles;
    m->wd_insns = c->wd_insns;
    m->wd_vectors = c->wd_vectors;
    h->cursor = c->ninputs < h->nin ? c->ninputs : h->nin;
    h->next_ck = next_multiple(h->every, c->guest);
    h->restores++;
    return 0;
}

/* A checkpoint of the current position, inserted in order, then taken back
   into the live VM (history.h: why). 0, or -1 (the VM is not at a guest
   boundary the snapshot code accepts; msg says why). */
static int ckpt_take(struct history *h, bool pinned)
{
    struct machine *m = hm(h);
    struct hist_ckpt c = { .guest = guest_now(h), .insns = m->cpu.insns, .cycles = m->cpu.cycles,
                           .ninputs = h->cursor, .idle_cycles = m->idle_cycles,
                           .wd_insns = m->wd_insns, .wd_vectors = m->wd_vectors,
                           .pinned = pinned };
    char err[200];
    if (snapshot_save_image(h->vm, &c.img, &c.len, err, sizeof err) != 0) {
        snprintf(h->msg, sizeof h->msg, "%s", err);
        return -1;
    }
    struct hist_ckpt *grown = realloc(h->ck, (size_t)(h->nck + 1) * sizeof *h->ck);
    if (!grown) {
        free(c.img);
        snprintf(h->msg, sizeof h->msg, "out of memory for a checkpoint");
        return -1;
    }
    h->ck = grown;
    int at = ckpt_before(h, c.guest) + 1;
    memmove(&h->ck[at + 1], &h->ck[at], (size_t)(h->nck - at) * sizeof *h->ck);
    h->ck[at] = c;
    h->nck++;
    h->ck_bytes += c.len;
    int rc = ckpt_restore(h, at);
    h->restores--;                      /* not a move back in time */
    ckpt_thin(h);
    return rc;
}

/* At a position where a checkpoint is due or exists. */
static int ckpt_arrive(struct history *h)
{
    uint64_t g = guest_now(h);
    int i = ckpt_at(h, g);
    int rc = 0;
    if (i >= 0) {
        rc = ckpt_restore(h, i);
        h->restores--;
    } else if (g == h->next_ck && !h->searching && ckpt_take(h, false) != 0) {
        h->next_ck = g + 1;             /* not at a boundary: the next instruction */
        return 0;
    }
    if (g >= h->next_ck)
        h->next_ck = next_multiple(h->every, g);
    return rc;
}

/* ---- setup ---- */

static void hist_out(void *ctx, uint8_t byte);

struct history *history_attach(struct vm *vm, uint64_t every)
{
    struct history *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->vm = vm;
    h->every = every;
    h->max_ckpts = HIST_DEFAULT_MAX_CKPTS;
    h->max_bytes = HIST_DEFAULT_MAX_BYTES;
    h->next_ck = every ? guest_now(h) : UINT64_MAX;
    vm->hist = h;
    if (every && vm->m.end == END_NONE)
        ckpt_arrive(h);                 /* the start of the run: always kept */
    return h;
}

void history_free(struct history *h)
{
    if (!h)
        return;
    while (h->nck)
        ckpt_drop(h, h->nck - 1);
    free(h->ck);
    free(h->in);
    if (h->vm && h->vm->m.out == hist_out)
        h->vm->m.out = h->out, h->vm->m.out_ctx = h->out_ctx;
    if (h->vm && h->vm->hist == h)
        h->vm->hist = NULL;
    free(h);
}

static int inputs_reserve(struct history *h, size_t n)
{
    if (n <= h->cap)
        return 0;
    size_t cap = h->cap ? h->cap : 256;
    while (cap < n)
        cap *= 2;
    struct hist_input *p = realloc(h->in, cap * sizeof *p);
    if (!p)
        return -1;
    h->in = p;
    h->cap = cap;
    return 0;
}

int history_load_inputs(struct history *h, const struct hist_input *in, size_t n,
                        char *err, size_t errlen)
{
    if (inputs_reserve(h, n) != 0) {
        snprintf(err, errlen, "out of memory for %zu recorded inputs", n);
        return -1;
    }
    if (n)
        memcpy(h->in, in, n * sizeof *in);   /* a recording with no inputs: h->in may be NULL */
    h->nin = n;
    h->cursor = 0;
    h->replaying = true;
    return 0;
}

/* ---- running ---- */

static int diverge(struct history *h, const struct hist_input *in)
{
    struct machine *m = hm(h);
    h->diverged = true;
    snprintf(h->msg, sizeof h->msg,
             "replay diverged: an input recorded at instruction %llu, cycle %llu met the "
             "machine at instruction %llu, cycle %llu (another kernel, engine or options?)",
             (unsigned long long)in->insns, (unsigned long long)in->cycles,
             (unsigned long long)m->cpu.insns, (unsigned long long)m->cpu.cycles);
    m->end = END_INTERNAL;
    snprintf(m->end_msg, sizeof m->end_msg, "%.159s", h->msg);
    return -1;
}

/* Deliver the logged inputs due at the current position. */
static int deliver_due(struct history *h)
{
    struct machine *m = hm(h);
    while (h->cursor < h->nin && h->in[h->cursor].insns <= m->cpu.insns) {
        const struct hist_input *in = &h->in[h->cursor];
        if (in->insns != m->cpu.insns || in->cycles != m->cpu.cycles ||
            !machine_input(m, (enum machine_input_dest)in->dest, in->byte))
            return diverge(h, in);
        h->cursor++;
    }
    return 0;
}

/* The instruction limit for the next machine_run: the caller's, the next
   input's position, the next checkpoint's (due or existing). */
static uint64_t stop_limit(struct history *h, uint64_t limit)
{
    struct machine *m = hm(h);
    uint64_t lim = limit ? limit : UINT64_MAX, g = guest_now(h);
    if (h->cursor < h->nin && h->in[h->cursor].insns < lim)
        lim = h->in[h->cursor].insns;
    uint64_t ck = ckpt_after(h, g);
    if (h->every && h->next_ck < ck)
        ck = h->next_ck;
    if (ck != UINT64_MAX && m->cpu.insns + (ck - g) < lim)
        lim = m->cpu.insns + (ck - g);   /* retired >= guest: never past it */
    return lim;
}

/* Guest output passes once: bytes a re-execution transmits again (the
   UART's count, restored with a checkpoint, is not past what went out) are
   not sent a second time. */
static void hist_out(void *ctx, uint8_t byte)
{
    struct history *h = ctx;
    uint64_t n = h->vm->m.uart.tx_bytes;
    if (n <= h->tx_frontier)
        return;
    h->tx_frontier = n;
    if (h->out)
        h->out(h->out_ctx, byte);
}

static void wrap_output(struct history *h)
{
    struct machine *m = hm(h);
    if (m->out == hist_out)
        return;
    h->out = m->out, h->out_ctx = m->out_ctx;
    if (h->tx_frontier < m->uart.tx_bytes)
        h->tx_frontier = m->uart.tx_bytes;
    m->out = hist_out, m->out_ctx = h;
}

int history_run(struct history *h, uint64_t insn_limit)
{
    struct machine *m = hm(h);
    wrap_output(h);
    for (;;) {
        if (m->end != END_NONE || deliver_due(h) != 0)
            return m->end;
        if (insn_limit && m->cpu.insns >= insn_limit)
            return END_NONE;
        uint64_t lim = stop_limit(h, insn_limit);
        enum machine_end e = machine_run(m, lim == UINT64_MAX ? 0 : lim);
        if (e != END_NONE)
            return e;
        uint64_t g = guest_now(h);
        if ((h->every && g >= h->next_ck) || ckpt_at(h, g) >= 0)
            if (ckpt_arrive(h) != 0)
                return END_INTERNAL;
        if (lim == UINT64_MAX || m->cpu.insns < lim)
            return END_NONE;              /* paused (machine_request_pause) */
    }
}

/* Typed in the past: the inputs and checkpoints after now are another
   future, which this input replaces. */
static void cut_future(struct history *h)
{
    uint64_t g = guest_now(h);
    h->nin = h->cursor;
    while (h->nck && h->ck[h->nck - 1].guest > g)
        ckpt_drop(h, h->nck - 1);
    int kept = 0;
    for (int i = 0; i < h->nnamed; i++)
        if (h->named[i] <= g)
            h->named[kept++] = h->named[i];
    h->nnamed = kept;
    h->next_ck = next_multiple(h->every, g);
}

bool history_input(struct history *h, uint8_t dest, uint8_t byte)
{
    struct machine *m = hm(h);
    if (h->replaying || !machine_input_room(m, (enum machine_input_dest)dest) ||
        inputs_reserve(h, h->nin + 1) != 0)
        return false;
    if (h->cursor < h->nin)
        cut_future(h);
    struct hist_input in = { .insns = m->cpu.insns, .cycles = m->cpu.cycles, .byte = byte,
                             .dest = dest };
    h->in[h->nin++] = in;
    h->cursor = h->nin;
    machine_input(m, (enum machine_input_dest)dest, byte);
    if (h->sink)
        h->sink(h->sink_ctx, &in);
    return true;
}

/* The guest position of the next checkpoint, due or existing. */
static uint64_t next_ckpt_guest(const struct history *h)
{
    uint64_t g = cpu_guest_insns(&h->vm->m.cpu), ck = ckpt_after(h, g);
    return h->every && h->next_ck < ck ? h->next_ck : ck;
}

int history_run_to_guest(struct history *h, uint64_t guest)
{
    struct machine *m = hm(h);
    int e = END_NONE;
    while (e == END_NONE && guest_now(h) < guest) {
        /* Under bt the TC's own instructions make several stops necessary,
           and where a run stops changes its cycles: approach the next
           checkpoint the same way whatever the final target, so every run
           through a checkpoint reaches it in the same state. */
        uint64_t ck = next_ckpt_guest(h), to = ck < guest ? ck : guest;
        uint64_t before = m->cpu.insns;
        e = history_run(h, m->cpu.insns + (to - guest_now(h)));
        h->reexec_insns += m->cpu.insns - before;
    }
    return e;
}

/* ---- going back ---- */

uint64_t history_oldest(const struct history *h)
{
    return h->nck ? h->ck[0].guest : cpu_guest_insns(&h->vm->m.cpu);
}

int history_goto(struct history *h, uint64_t guest)
{
    uint64_t now = guest_now(h);
    if (guest < now || hm(h)->end != END_NONE) {
        int i = ckpt_before(h, guest);
        if (i < 0) {
            snprintf(h->msg, sizeof h->msg, "instruction %llu is before the oldest checkpoint (%llu)",
                     (unsigned long long)guest, (unsigned long long)history_oldest(h));
            return -1;
        }
        if (ckpt_restore(h, i) != 0)
            return -1;
    }
    history_run_to_guest(h, guest);
    if (guest_now(h) != guest) {
        snprintf(h->msg, sizeof h->msg, "the run ended at guest instruction %llu, before %llu",
                 (unsigned long long)guest_now(h), (unsigned long long)guest);
        return -1;
    }
    return 0;
}

int history_reverse_step(struct history *h)
{
    uint64_t now = guest_now(h);
    if (now == 0 || now <= history_oldest(h)) {
        snprintf(h->msg, sizeof h->msg, "at the oldest position kept (%llu)",
                 (unsigned long long)now);
        return -1;
    }
    return history_goto(h, now - 1);
}

/* Search (from, to] forward for the last position where hit() holds (the
   start too when `with_start`); 0 if none. */
static uint64_t segment_last_hit(struct history *h, uint64_t from, uint64_t to, bool with_start,
                                 bool (*hit)(void *ctx), void (*reset)(void *ctx), void *ctx,
                                 bool *found)
{
    uint64_t last = 0;
    *found = false;
    if (history_goto(h, from) != 0)
        return 0;
    reset(ctx);
    if (with_start && hit(ctx))
        last = from, *found = true;
    for (uint64_t g = from + 1; g <= to; g++) {
        if (history_run_to_guest(h, g) != END_NONE || guest_now(h) != g)
            break;
        if (hit(ctx))
            last = g, *found = true;
    }
    return last;
}

/* Where a search ended: from the checkpoint before `guest`, as any other
   pass. A search's walk stops at every instruction, which under bt is not
   the computation a run is (where a run stops changes its cycles), so it
   takes no checkpoints (a thinned one re-taken there would keep its state)
   and its own state is not where the search leaves the VM. */
static int goto_after_search(struct history *h, uint64_t guest)
{
    h->searching = false;
    int i = ckpt_before(h, guest);
    if (i >= 0 && ckpt_restore(h, i) != 0)
        return -1;
    return history_goto(h, guest);
}

int history_reverse_find(struct history *h, bool (*hit)(void *ctx), void (*reset)(void *ctx),
                         void *ctx)
{
    uint64_t now = guest_now(h);
    if (now == 0 || now <= history_oldest(h)) {
        snprintf(h->msg, sizeof h->msg, "at the oldest position kept");
        return -1;
    }
    uint64_t end = now - 1;               /* the last position to look at */
    h->searching = true;
    for (int i = ckpt_before(h, end); i >= 0; i--) {
        bool found;
        uint64_t from = h->ck[i].guest;
        uint64_t at = segment_last_hit(h, from, end, i == 0, hit, reset, ctx, &found);
        if (found)
            return goto_after_search(h, at) == 0 ? 1 : -1;
        end = from;                       /* the older segment ends at this checkpoint */
    }
    return goto_after_search(h, history_oldest(h)) == 0 ? 0 : -1;
}

/* ---- reverse step-over ---- */

/* The guest's instruction at CS:EIP (its own view under any engine) and its
   state; false when the bytes cannot be read. Reads only: a search through
   the past must not change what it re-executes. */
static bool insn_here(struct history *h, struct cpu_state *s, struct insn *in)
{
    uint8_t bytes[16];
    vm_guest_state(h->vm, s);
    uint32_t lin = s->seg[S_CS].base + s->eip, n = sizeof bytes;
    if (vm_read_linear(h->vm, lin, bytes, n) != 0) {
        n = 0x1000u - (lin & 0xFFFu);    /* the instruction may end before the page does */
        if (n > sizeof bytes || vm_read_linear(h->vm, lin, bytes, n) != 0)
            return false;
    }
    return decode(bytes, (int)n, (s->seg[S_CS].flags & SEGF_DB) != 0, in) > 0;
}

/* The CALL a RET returns from: a near CALL, on the same stack, from above
   the slot the RET pops (so not a deeper call of a recursion), whose return
   address is the one the RET pops. */
struct over_ctx {
    struct history *h;
    uint16_t cs, ss;                 /* the RET's code and stack selectors */
    uint32_t esp;                    /* ESP at the RET: the return address's slot */
    uint32_t ret_to;                 /* the return address in that slot */
};

static bool over_hit(void *ctx)
{
    struct over_ctx *o = ctx;
    struct cpu_state s;
    struct insn in;
    return insn_here(o->h, &s, &in) && in.row->op == OP_CALL &&
           s.seg[S_CS].sel == o->cs && s.seg[S_SS].sel == o->ss && s.r[R_ESP] > o->esp &&
           s.eip + in.len == o->ret_to;
}

static void over_reset(void *ctx)
{
    (void)ctx;
}

/* At a RET: what over_hit looks for. false if the slot cannot be read. */
static bool over_target(struct history *h, const struct insn *ret, struct over_ctx *o)
{
    struct cpu_state s;
    uint8_t slot[4] = { 0 };
    vm_guest_state(h->vm, &s);
    *o = (struct over_ctx){ .h = h, .cs = s.seg[S_CS].sel, .ss = s.seg[S_SS].sel,
                            .esp = s.r[R_ESP] };
    if (vm_read_linear(h->vm, s.seg[S_SS].base + s.r[R_ESP], slot, ret->opsize) != 0)
        return false;
    o->ret_to = ret->opsize == 4 ? le_get32(slot) : le_get16(slot);
    return true;
}

int history_reverse_step_over(struct history *h)
{
    struct cpu_state s;
    struct insn in;
    struct over_ctx o;
    h->msg[0] = 0;
    if (history_reverse_step(h) != 0)
        return -1;
    uint64_t ret_at = guest_now(h);
    if (!insn_here(h, &s, &in) || in.row->op != OP_RET)
        return 0;                         /* not a return: one instruction back */
    if (over_target(h, &in, &o) && ret_at > history_oldest(h)) {
        int rc = history_reverse_find(h, over_hit, over_reset, &o);
        if (rc != 0)
            return rc;                    /* at the CALL, or an error */
    }
    if (history_goto(h, ret_at) != 0)
        return -1;
    snprintf(h->msg, sizeof h->msg, "the CALL this RET returns from is before the oldest "
             "position kept (%llu): one instruction back", (unsigned long long)history_oldest(h));
    return 0;
}

/* ---- snapshots by hand ---- */

int history_take_named(struct history *h)
{
    uint64_t g = guest_now(h);
    int i = ckpt_at(h, g);
    if (i < 0 && ckpt_take(h, true) != 0)
        return -1;
    i = ckpt_at(h, g);
    if (i < 0) {
        snprintf(h->msg, sizeof h->msg, "the checkpoint could not be kept");
        return -1;
    }
    h->ck[i].pinned = true;
    for (int k = 0; k < h->nnamed; k++)
        if (h->named[k] == g)
            return 0;
    if (h->nnamed == HIST_MAX_NAMED) {
        int old = ckpt_at(h, h->named[0]);
        if (old >= 0)
            h->ck[old].pinned = false;
        memmove(h->named, h->named + 1, (HIST_MAX_NAMED - 1) * sizeof *h->named);
        h->nnamed--;
    }
    h->named[h->nnamed++] = g;
    return 0;
}

int history_revert_named(struct history *h, int i)
{
    if (i < 0 || i >= h->nnamed) {
        snprintf(h->msg, sizeof h->msg, "no snapshot %d", i + 1);
        return -1;
    }
    return history_goto(h, h->named[i]);
}
