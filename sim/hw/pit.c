/*
 * pit.c - the 8254 (see pit.h). References are to the Intel 8254 datasheet,
 * "8254 Programmable Interval Timer", order no. 231164.
 *
 * A channel's state is computed from the tick its count was loaded in, never
 * stepped: the count, OUT and the next OUT edge are all functions of
 * d = now_tick - load_tick. That keeps long idle periods (HLT skipped by the
 * machine) as cheap and as exact as short ones.
 */
#include <assert.h>
#include <string.h>
#include "hw/clock.h"
#include "hw/pit.h"

/* ---- the counting model ------------------------------------------------ */

static uint64_t pit_tick(const struct pit *p)
{
    return clock_cycles_to_pit(p->now);
}

static bool chan_running(const struct pit_channel *c)
{
    return c->counting && c->gate && c->mode != 1 && c->mode != 5;
}

/* First tick > t at which OUT rises, UINT64_MAX if none. */
static uint64_t chan_next_edge(const struct pit_channel *c, uint64_t t)
{
    if (!chan_running(c))
        return UINT64_MAX;
    uint64_t d = t - c->load_tick, edge;
    switch (c->mode) {
    case 2: case 3: /* periodic: OUT rises as each period ends */
        return c->load_tick + (d / c->reload + 1) * c->reload;
    case 0:         /* OUT goes high at terminal count and stays high */
        edge = c->load_tick + c->reload;
        break;
    default:        /* 4: OUT strobes low for one CLK at terminal count */
        edge = c->load_tick + c->reload + 1;
        break;
    }
    return edge > t ? edge : UINT64_MAX;
}

/* Binary value of the count at tick t, 1..65536 in modes 2 and 3. */
static uint32_t chan_count(const struct pit_channel *c, uint64_t t)
{
    if (!chan_running(c))
        return c->reload;
    uint64_t d = t - c->load_tick;
    uint32_t n = c->reload;
    switch (c->mode) {
    case 2: return n - (uint32_t)(d % n);       /* N, N-1, ..., 1 */
    case 3: return n - (uint32_t)((2 * d) % n); /* by twos, twice a period */
    default: {                                  /* 0, 4: wraps after 0 */
        uint32_t m = c->bcd ? 10000 : 0x10000;
        return (n + m - (uint32_t)(d % m)) % m;
    }
    }
}

/* OUT pin at tick t (datasheet, "Mode Definitions"). */
static bool chan_out(const struct pit_channel *c, uint64_t t)
{
    if (!chan_running(c))
        return c->mode != 0;
    uint64_t d = t - c->load_tick, n = c->reload;
    switch (c->mode) {
    case 0: return d >= n;
    case 2: return d % n != n - 1;     /* low for the CLK in which count = 1 */
    case 3: return d % n < (n + 1) / 2; /* high for the first (larger) half */
    default: return d != n;             /* 4 */
    }
}

static uint16_t bin_to_bcd(uint32_t v)
{
    v %= 10000;
    return (uint16_t)((v / 1000) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 | v % 10);
}

static uint32_t bcd_to_bin(uint16_t v)
{
    return (v >> 12 & 15) * 1000 + (v >> 8 & 15) * 100 + (v >> 4 & 15) * 10 + (v & 15);
}

/* The count as the chip presents it: 16 bits, binary or BCD. */
static uint16_t chan_visible_count(const struct pit_channel *c, uint64_t t)
{
    uint32_t v = chan_count(c, t);
    return c->bcd ? bin_to_bcd(v) : (uint16_t)v;
}

uint16_t pit_read_count(const struct pit *p, int i)
{
    assert(i >= 0 && i < 3);
    return chan_visible_count(&p->ch[i], pit_tick(p));
}

/* ---- time -------------------------------------------------------------- */

static void pit_raise_irq0(struct pit *p)
{
    p->irq0_edges++;
    irq_set(p->irq0, 1); /* the PIC latches the edge ...        */
    irq_set(p->irq0, 0); /* ... and the line is ready for the next */
}

/* First cycle of PIT tick `tick` (see edge_memo_tick in pit.h). */
static uint64_t edge_cycle(struct pit *p, uint64_t tick)
{
    if (p->edge_memo_tick != tick) {
        p->edge_memo_tick = tick;
        p->edge_memo_cycle = clock_pit_to_cycles(tick);
    }
    return p->edge_memo_cycle;
}

void pit_advance(struct pit *p, uint64_t now_cycles)
{
    assert(now_cycles >= p->now);
    p->now = now_cycles;
    struct pit_channel *c = &p->ch[0];
    /* t < next_edge exactly when now < the edge's first cycle (clock.h) */
    if (c->next_edge == UINT64_MAX || now_cycles < edge_cycle(p, c->next_edge))
        return;
    pit_raise_irq0(p);
    c->next_edge = chan_next_edge(c, pit_tick(p));
}

uint64_t pit_next_event(struct pit *p, uint64_t now_cycles)
{
    (void)now_cycles;
    uint64_t e = p->ch[0].next_edge;
    return e == UINT64_MAX ? UINT64_MAX : edge_cycle(p, e);
}

/* ---- programming ------------------------------------------------------- */

/* A complete initial count was written: start counting in this tick. */
static void chan_load(struct pit *p, struct pit_channel *c, uint16_t raw)
{
    uint32_t n = c->bcd ? bcd_to_bin(raw) : raw;
    c->reload = n ? n : (c->bcd ? 10000 : 0x10000); /* 0 is the largest count */
    c->load_tick = pit_tick(p);
    c->counting = true;
    c->next_edge = chan_next_edge(c, c->load_tick);
}

static void chan_write(struct pit *p, struct pit_channel *c, uint8_t val)
{
    switch (c->rw) {
    case 2: chan_load(p, c, (uint16_t)(val << 8)); break;
    case 3:
        if (!c->write_msb) {
            c->write_lsb = val;
            c->write_msb = true;
            if (c->mode == 0) { /* datasheet: writing the LSB stops mode 0 */
                c->counting = false;
                c->next_edge = UINT64_MAX;
            }
        } else {
            c->write_msb = false;
            chan_load(p, c, (uint16_t)(c->write_lsb | val << 8));
        }
        break;
    default: chan_load(p, c, val); break;
    }
}

/* LSB or MSB of v, as the access mode and the read flip-flop select. */
static uint8_t chan_pick_byte(struct pit_channel *c, uint16_t v)
{
    bool msb = c->rw == 2 || (c->rw == 3 && c->read_msb);
    if (c->rw == 3)
        c->read_msb = !c->read_msb;
    return msb ? (uint8_t)(v >> 8) : (uint8_t)v;
}

/* Status first, then a latched count, then the live count (datasheet,
 * "Read-Back Command": if both are latched the status comes first). */
static uint8_t chan_read(struct pit *p, struct pit_channel *c)
{
    if (c->status_latched) {
        c->status_latched = false;
        return c->status;
    }
    if (c->latch_left) {
        c->latch_left--;
        return chan_pick_byte(c, c->latch);
    }
    return chan_pick_byte(c, chan_visible_count(c, pit_tick(p)));
}

/* Counter latch: later latches are ignored until the value is read. */
static void chan_latch_count(struct pit *p, struct pit_channel *c)
{
    if (c->latch_left)
        return;
    c->latch = chan_visible_count(c, pit_tick(p));
    c->latch_left = c->rw == 3 ? 2 : 1;
}

static void chan_latch_status(struct pit *p, struct pit_channel *c)
{
    if (c->status_latched)
        return;
    c->status = (uint8_t)(chan_out(c, pit_tick(p)) << 7 | !c->counting << 6 |
                          c->rw << 4 | c->mode << 1 | c->bcd);
    c->status_latched = true;
}

/* Read-back: bit 5 = 0 latches counts, bit 4 = 0 latches status, bits
 * 3-1 select counters 2-0. */
static void pit_read_back(struct pit *p, uint8_t val)
{
    for (int i = 0; i < 3; i++) {
        if (!(val & (2 << i)))
            continue;
        if (!(val & 0x20))
            chan_latch_count(p, &p->ch[i]);
        if (!(val & 0x10))
            chan_latch_status(p, &p->ch[i]);
    }
}

/* Control word: SC1 SC0 RW1 RW0 M2 M1 M0 BCD. Writing one resets the
 * counter's control logic; OUT takes the mode's initial state and counting
 * waits for a new initial count. Modes 6 and 7 are modes 2 and 3. */
static void pit_control(struct pit *p, uint8_t val)
{
    int sc = val >> 6, rw = (val >> 4) & 3;
    if (sc == 3) {
        pit_read_back(p, val);
        return;
    }
    struct pit_channel *c = &p->ch[sc];
    if (rw == 0) {
        chan_latch_count(p, c);
        return;
    }
    int mode = (val >> 1) & 7;
    c->mode = (uint8_t)(mode >= 6 ? mode - 4 : mode);
    c->rw = (uint8_t)rw;
    c->bcd = val & 1;
    c->counting = false;
    c->next_edge = UINT64_MAX;
    c->read_msb = c->write_msb = false;
    c->latch_left = 0;
    c->status_latched = false;
}

/* ---- port handlers ----------------------------------------------------- */

static uint32_t pit_port_read(void *dev, uint16_t port, int size)
{
    struct pit *p = dev;
    int i = port - PIT_BASE;
    return i == 3 ? 0xFF : chan_read(p, &p->ch[i]); /* 0x43 is write-only */
}

static void pit_port_write(void *dev, uint16_t port, int size, uint32_t val)
{
    struct pit *p = dev;
    int i = port - PIT_BASE;
    if (i == 3)
        pit_control(p, (uint8_t)val);
    else
        chan_write(p, &p->ch[i], (uint8_t)val);
}

static void chan_reset(struct pit *p, struct pit_channel *c, int mode, int rw, bool gate)
{
    memset(c, 0, sizeof(*c));
    c->mode = (uint8_t)mode;
    c->rw = (uint8_t)rw;
    c->gate = gate;
    chan_load(p, c, 0);
}

void pit_reset(struct pit *p)
{
    chan_reset(p, &p->ch[0], 2, 3, true);
    chan_reset(p, &p->ch[1], 3, 0, true);
    chan_reset(p, &p->ch[2], 3, 0, false);
    p->irq0_edges = 0;
}

void pit_init(struct pit *p, struct bus *b, struct irq_line irq0)
{
    memset(p, 0, sizeof(*p));
    p->irq0 = irq0;
    pit_reset(p);
    bus_map_io(b, PIT_BASE, 4, p, pit_port_read, pit_port_write);
}
