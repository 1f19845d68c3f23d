/*
 * pit.h - the Intel 8254 programmable interval timer at 0x40-0x43.
 *
 * Channel 0 drives IRQ 0 and is the guest's clock tick; channels 1 and 2
 * (DRAM refresh, speaker) count but drive nothing. Modeled after the Intel
 * 8254 datasheet (order no. 231164): modes 0 (interrupt on terminal count),
 * 2 (rate generator), 3 (square wave) and 4 (software strobe); modes 1 and
 * 5 wait for a gate edge that never comes on these channels. Access modes
 * LSB, MSB, LSB-then-MSB; counter latch and read-back commands; BCD.
 *
 * Time is virtual: the PIT counts CLOCK_PIT_HZ ticks derived from the CPU's
 * modeled cycles (clock.h), integers only. A count loaded in PIT tick L
 * starts at L (QEMU's convention; the real chip takes one more CLK to load),
 * so in modes 2 and 3 OUT rises, and IRQ 0 gets an edge, at ticks
 * L + k*N for k = 1, 2, ... The owner calls pit_advance(now) before every
 * port access and between CPU slices; if many periods passed, one edge is
 * raised (the PIC latches one request anyway) and the phase stays exact.
 *
 * Reset state: what QEMU's -kernel path leaves: SeaBIOS programs channel 0
 * for mode 2, LSB-then-MSB, count 0 (65536, 18.2 Hz), measured read-back
 * status 0x34; channels 1 and 2 are in QEMU's reset mode 3, count 65536
 * (status 0x86), channel 2's gate low.
 */
#ifndef RS_HW_PIT_H
#define RS_HW_PIT_H

#include <stdint.h>
#include <stdbool.h>
#include "hw/bus.h"
#include "hw/irq.h"

#define PIT_BASE 0x40

struct pit_channel {
    uint64_t load_tick;  /* PIT tick in which the current count was loaded */
    uint64_t next_edge;  /* PIT tick of the next OUT rising edge, UINT64_MAX if none */
    uint32_t reload;     /* initial count N, 1..65536 (binary) or 10000 (BCD) */
    uint8_t mode;        /* 0-5 */
    uint8_t rw;          /* access: 0 (as LSB), 1 LSB, 2 MSB, 3 LSB then MSB */
    bool bcd;            /* counts in BCD */
    bool counting;       /* a count was loaded after the last control word */
    bool gate;           /* GATE input (high on channels 0 and 1) */
    bool read_msb;       /* read flip-flop: next read returns the MSB */
    bool write_msb;      /* write flip-flop: next write is the MSB */
    uint8_t write_lsb;   /* LSB waiting for its MSB */
    uint8_t latch_left;  /* bytes of `latch` still to read; 0: not latched */
    uint16_t latch;      /* latched count */
    bool status_latched; /* a read-back status byte waits to be read */
    uint8_t status;      /* latched status byte */
};

struct pit {
    struct pit_channel ch[3]; /* counters 0-2 */
    uint64_t now;             /* cycle the state is brought to */
    uint64_t irq0_edges;      /* rising edges sent to IRQ 0 */
    struct irq_line irq0;     /* re-wired by the owner after a restore */
    /* clock_pit_to_cycles(edge_memo_tick), remembered: the run loop asks
       for the next edge's cycle at every slice (every instruction when
       stepping) and the conversion is a 128-bit division. Correct for any
       pair it holds (zeroed: 0 -> 0), so it is never saved nor reset. */
    uint64_t edge_memo_tick, edge_memo_cycle;
};

void pit_init(struct pit *p, struct bus *b, struct irq_line irq0);
void pit_reset(struct pit *p);

/* Bring the state to cycle `now_cycles` (monotonic), raising IRQ 0 edges. */
void pit_advance(struct pit *p, uint64_t now_cycles);

/* Cycle of the next IRQ 0 rising edge, UINT64_MAX if none is scheduled.
 * A value <= now_cycles means pit_advance() has an edge to deliver. */
uint64_t pit_next_event(struct pit *p, uint64_t now_cycles);

/* The count a read of channel `i` would return now (for UIs and tests). */
uint16_t pit_read_count(const struct pit *p, int i);

#endif
