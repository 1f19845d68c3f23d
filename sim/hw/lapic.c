/*
 * lapic.c - the local APIC (see lapic.h).
 */
#include "hw/lapic.h"
#include "hw/clock.h"

#include <string.h>

/* ---- bit vectors of 256 ---- */

static bool vbit(const uint32_t *v, int n) { return (v[n >> 5] >> (n & 31)) & 1u; }
static void vset(uint32_t *v, int n) { v[n >> 5] |= 1u << (n & 31); }
static void vclr(uint32_t *v, int n) { v[n >> 5] &= ~(1u << (n & 31)); }

static int vhighest(const uint32_t *v)
{
    for (int w = 7; w >= 0; w--)
        if (v[w])
            return w * 32 + 31 - __builtin_clz(v[w]);
    return -1;
}

static uint32_t ppr(const struct lapic *a)
{
    int isrv = vhighest(a->isr);
    uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xF0u;
    return (a->tpr & 0xF0u) >= isr_class ? a->tpr & 0xFFu : isr_class;
}

/* ---- the timer ---- */

static uint64_t bus_tick(uint64_t cycle)
{
    return (uint64_t)((unsigned __int128)cycle * LAPIC_BUS_HZ / CLOCK_CPU_HZ);
}

/* First cycle at which `tick` bus ticks have completed. */
static uint64_t tick_cycle(uint64_t tick)
{
    unsigned __int128 c = ((unsigned __int128)tick * CLOCK_CPU_HZ + LAPIC_BUS_HZ - 1)
                          / LAPIC_BUS_HZ;
    return c > UINT64_MAX ? UINT64_MAX : (uint64_t)c;
}

/* Divide configuration (SDM figure 10-10): bits 0, 1, 3 -> 2^(n+1), 0b111 -> 1. */
static uint32_t divisor(const struct lapic *a)
{
    uint32_t n = (a->tdcr & 3u) | ((a->tdcr >> 1) & 4u);
    return n == 7 ? 1u : 2u << n;
}

static uint64_t period_ticks(const struct lapic *a)
{
    return (uint64_t)a->ticr * divisor(a);
}

/* Schedule the expiry after the one at or before `after` (bus ticks). */
static void timer_schedule(struct lapic *a, uint64_t after)
{
    uint64_t p = period_ticks(a);
    if (p == 0) {
        a->next_fire = UINT64_MAX;
        return;
    }
    uint64_t end = a->timer_start + p;
    if (a->lvt[LVT_TIMER] & LVT_PERIODIC) {
        if (after >= end)
            end += (after - end) / p * p + p;
    } else if (after >= end) {
        a->next_fire = UINT64_MAX;
        return;
    }
    a->next_fire = tick_cycle(end);
}

uint32_t lapic_timer_count(const struct lapic *a)
{
    uint64_t p = period_ticks(a);
    if (p == 0)
        return 0;
    uint64_t elapsed = bus_tick(a->now) - a->timer_start;
    if (a->lvt[LVT_TIMER] & LVT_PERIODIC)
        return a->ticr - (uint32_t)((elapsed % p) / divisor(a));
    return elapsed >= p ? 0 : a->ticr - (uint32_t)(elapsed / divisor(a));
}

void lapic_advance(struct lapic *a, uint64_t now)
{
    if (now < a->now)
        return;
    a->now = now;
    if (a->next_fire > now)
        return;
    a->timer_fires++;
    if (!(a->lvt[LVT_TIMER] & LVT_MASKED))
        lapic_accept(a, (int)(a->lvt[LVT_TIMER] & 0xFFu), false);
    timer_schedule(a, bus_tick(now));   /* many periods passed: one interrupt */
}

uint64_t lapic_next_event(const struct lapic *a)
{
    return a->next_fire;
}

/* ---- accepting and delivering ---- */

void lapic_accept(struct lapic *a, int vector, bool level)
{
    if (vector < 16)
        return;
    a->accepted++;
    vset(a->irr, vector);
    if (level)
        vset(a->tmr, vector);
    else
        vclr(a->tmr, vector);
}

bool lapic_pending(const struct lapic *a)
{
    int v = vhighest(a->irr);
    return v >= 0 && ((uint32_t)v & 0xF0u) > (ppr(a) & 0xF0u);
}

int lapic_ack(struct lapic *a)
{
    if (!lapic_pending(a))
        return (int)(a->svr & 0xFFu);
    int v = vhighest(a->irr);
    vclr(a->irr, v);
    vset(a->isr, v);
    return v;
}

bool lapic_pic_passes(const struct lapic *a)
{
    return !(a->lvt[LVT_LINT0] & LVT_MASKED);
}

static void do_eoi(struct lapic *a)
{
    int v = vhighest(a->isr);
    if (v < 0)
        return;
    a->eois++;
    vclr(a->isr, v);
    if (vbit(a->tmr, v) && a->eoi)
        a->eoi(a->eoi_ctx, v);
}

/* ---- the ICR ---- */

static bool ipi_hits_self(const struct lapic *a, uint32_t lo, uint32_t hi)
{
    uint32_t dest = hi >> 24;
    switch ((lo >> 18) & 3u) {
    case 1: case 2: return true;                  /* self; all including self */
    case 3: return false;                         /* all excluding self */
    default:
        if (lo & (1u << 11))                      /* logical, flat model */
            return ((a->ldr >> 24) & dest) != 0;
        return dest == 0xFF || dest == a->id >> 24;
    }
}

static bool ipi_hits_others(const struct lapic *a, uint32_t lo, uint32_t hi)
{
    uint32_t sh = (lo >> 18) & 3u;
    if (sh == 1)
        return false;
    if (sh >= 2)
        return true;
    return (lo & (1u << 11)) ? ((hi >> 24) & ~(a->ldr >> 24)) != 0
                             : (hi >> 24) != a->id >> 24;
}

static void send_ipi(struct lapic *a)
{
    uint32_t mode = (a->icr_lo >> 8) & 7u;
    if (ipi_hits_self(a, a->icr_lo, a->icr_hi) && (mode == 0 || mode == 1)) {
        a->ipis_self++;
        lapic_accept(a, (int)(a->icr_lo & 0xFFu), false);
    }
    if (ipi_hits_others(a, a->icr_lo, a->icr_hi))
        a->ipis_absent++;                         /* no other CPU to receive it */
}

/* ---- registers ---- */

static const uint32_t lvt_writable[LAPIC_NLVT] = {
    0x300FFu,      /* timer: vector, mask, periodic */
    0x107FFu,      /* thermal: vector, mode, mask */
    0x107FFu,      /* performance counters */
    0x1A7FFu,      /* LINT0: vector, mode, polarity, trigger, mask */
    0x1A7FFu,      /* LINT1 */
    0x100FFu,      /* error: vector, mask */
};

static uint32_t read_reg(struct lapic *a, uint32_t reg)
{
    switch (reg) {
    case 0x20: return a->id;
    case 0x30: return LAPIC_VERSION;
    case 0x80: return a->tpr;
    case 0xA0: return ppr(a);
    case 0xD0: return a->ldr;
    case 0xE0: return a->dfr;
    case 0xF0: return a->svr;
    case 0x280: return a->esr;
    case 0x300: return a->icr_lo;
    case 0x310: return a->icr_hi;
    case 0x380: return a->ticr;
    case 0x390: return lapic_timer_count(a);
    case 0x3E0: return a->tdcr;
    }
    if (reg >= 0x100 && reg < 0x180)
        return a->isr[(reg - 0x100) >> 4];
    if (reg >= 0x180 && reg < 0x200)
        return a->tmr[(reg - 0x180) >> 4];
    if (reg >= 0x200 && reg < 0x280)
        return a->irr[(reg - 0x200) >> 4];
    if (reg >= 0x320 && reg < 0x380)
        return a->lvt[(reg - 0x320) >> 4];
    return 0;
}

static void write_svr(struct lapic *a, uint32_t v)
{
    a->svr = v & 0x13FFu;
    if (!(a->svr & 0x100u))                       /* software disable masks every LVT */
        for (int i = 0; i < LAPIC_NLVT; i++)
            a->lvt[i] |= LVT_MASKED;
}

static void write_lvt(struct lapic *a, int i, uint32_t v)
{
    uint32_t keep = a->lvt[i] & ~lvt_writable[i];
    a->lvt[i] = keep | (v & lvt_writable[i]);
    if (!(a->svr & 0x100u))
        a->lvt[i] |= LVT_MASKED;
    if (i == LVT_TIMER)
        timer_schedule(a, bus_tick(a->now));
}

static void write_reg(struct lapic *a, uint32_t reg, uint32_t v)
{
    switch (reg) {
    case 0x20: a->id = v & 0xFF000000u; return;
    case 0x80: a->tpr = v & 0xFFu; return;
    case 0xB0: do_eoi(a); return;
    case 0xD0: a->ldr = v & 0xFF000000u; return;
    case 0xE0: a->dfr = v | 0x0FFFFFFFu; return;
    case 0xF0: write_svr(a, v); return;
    case 0x280: a->esr = 0; return;               /* no error is ever latched */
    case 0x300: a->icr_lo = v & 0x000CEFFFu; send_ipi(a); return;
    case 0x310: a->icr_hi = v & 0xFF000000u; return;
    case 0x380:
        a->ticr = v;
        a->timer_start = bus_tick(a->now);
        timer_schedule(a, a->timer_start);
        return;
    case 0x3E0: a->tdcr = v & 0xBu; timer_schedule(a, bus_tick(a->now)); return;
    }
    if (reg >= 0x320 && reg < 0x380)
        write_lvt(a, (int)(reg - 0x320) >> 4, v);
}

uint32_t lapic_read(struct lapic *a, uint32_t off, int size)
{
    uint32_t v = read_reg(a, off & 0xFF0u);
    uint32_t shift = 8u * (off & 3u);
    v >>= shift;
    return size >= 4 ? v : v & ((1u << (8 * size)) - 1u);
}

void lapic_write(struct lapic *a, uint32_t off, int size, uint32_t val)
{
    if ((off & 0xFu) == 0)                        /* registers take aligned writes */
        write_reg(a, off & 0xFF0u, val);
}

void lapic_reset(struct lapic *a)
{
    void (*eoi)(void *, int) = a->eoi;
    void *ctx = a->eoi_ctx;
    memset(a, 0, sizeof *a);
    a->eoi = eoi;
    a->eoi_ctx = ctx;
    a->dfr = 0xFFFFFFFFu;
    a->svr = 0x1FFu;                              /* as SeaBIOS leaves it */
    for (int i = 0; i < LAPIC_NLVT; i++)
        a->lvt[i] = LVT_MASKED;
    a->lvt[LVT_LINT0] = 0x8700u;                  /* ExtINT: the 8259A's INTR */
    a->lvt[LVT_LINT1] = 0x8400u;                  /* NMI */
    a->next_fire = UINT64_MAX;
}

void lapic_init(struct lapic *a, void (*eoi)(void *, int), void *eoi_ctx)
{
    a->eoi = eoi;
    a->eoi_ctx = eoi_ctx;
    lapic_reset(a);
}
