/*
 * lapic.h - the local APIC of the one CPU, memory-mapped at 0xFEE00000.
 *
 * Registers as the Intel SDM vol. 3A chapter 10 describes the xAPIC, with
 * the values QEMU's APIC shows (measured under qemu-system-i386 7.2 with
 * samples/lapic, whose output is tests/golden/lapic.out): version
 * 0x00050014 (six LVT entries), and what SeaBIOS leaves before a multiboot
 * kernel: SVR 0x1FF (software-enabled, spurious vector 0xFF), LINT0 ExtINT
 * (0x8700: the 8259A's INTR reaches the CPU through it), LINT1 NMI
 * (0x8400), the timer and error entries masked, DFR flat (all ones).
 *
 *  - Interrupts: IRR, ISR and TMR, 256 bits each; a vector is delivered
 *    when its priority class is above the processor priority (PPR =
 *    max(TPR, highest in-service class)); EOI retires the highest ISR bit
 *    and, for a level-triggered one, tells the I/O APIC (eoi callback).
 *    Vectors 0-15 are not accepted (QEMU drops them and, as QEMU, sets no
 *    ESR bit).
 *  - Timer: counts at the APIC bus clock (LAPIC_BUS_HZ, 1 GHz as in QEMU)
 *    divided by the divide configuration (1 to 128), one-shot or periodic,
 *    derived from the CPU's modeled cycles (clock.h), so its interrupts come
 *    at the same cycle on every run. lapic_next_event() bounds the run
 *    loop's slices as the PIT does.
 *  - ICR: fixed and lowest-priority IPIs to itself (shorthand self, all,
 *    or its own ID/logical match) set IRR; INIT, STARTUP and NMI to other
 *    CPUs find none (there is one CPU): they are counted (ipis_absent),
 *    the delivery status reads idle at once, as on QEMU.
 *
 * Global enable is IA32_APIC_BASE bit 11 (the CPU's MSR): the machine
 * decodes the MMIO page only while it is set.
 */
#ifndef RS_HW_LAPIC_H
#define RS_HW_LAPIC_H

#include <stdint.h>
#include <stdbool.h>

#define LAPIC_BASE    0xFEE00000u
#define LAPIC_BUS_HZ  1000000000ull
#define LAPIC_VERSION 0x00050014u
#define LAPIC_NLVT    6             /* timer, thermal, perf, LINT0, LINT1, error */

enum { LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR };

#define LVT_MASKED   (1u << 16)
#define LVT_PERIODIC (1u << 17)

struct lapic {
    uint32_t id;                    /* APIC ID register (ID in bits 24-31) */
    uint32_t tpr, ldr, dfr, svr, esr, icr_lo, icr_hi;
    uint32_t lvt[LAPIC_NLVT];
    uint32_t tdcr, ticr;            /* divide configuration, initial count */
    uint32_t irr[8], isr[8], tmr[8];
    uint64_t timer_start;           /* bus tick at which ticr was written */
    uint64_t next_fire;             /* cycle of the next timer expiry, UINT64_MAX: none */
    uint64_t now;                   /* cycle the timer is brought to */
    uint64_t timer_fires, ipis_self, ipis_absent, eois, accepted;
    void (*eoi)(void *ctx, int vector);   /* level EOI to the I/O APIC; re-wired */
    void *eoi_ctx;
};

void lapic_init(struct lapic *a, void (*eoi)(void *, int), void *eoi_ctx);
void lapic_reset(struct lapic *a);

/* Register access at offset `off` (0..0xFFF) of the page. */
uint32_t lapic_read(struct lapic *a, uint32_t off, int size);
void lapic_write(struct lapic *a, uint32_t off, int size, uint32_t val);

/* Bring the timer to cycle `now` (monotonic), raising its interrupt. */
void lapic_advance(struct lapic *a, uint64_t now);
/* Cycle of the next timer expiry, UINT64_MAX if none. */
uint64_t lapic_next_event(const struct lapic *a);

/* An interrupt message (from the I/O APIC or an IPI): vector, level-triggered. */
void lapic_accept(struct lapic *a, int vector, bool level);
/* True if a vector in IRR beats the processor priority. */
bool lapic_pending(const struct lapic *a);
/* INTA: the highest pending vector moves to ISR; the spurious vector if none. */
int lapic_ack(struct lapic *a);
/* Whether the 8259A's INTR reaches the CPU: LINT0 unmasked (QEMU's rule). */
bool lapic_pic_passes(const struct lapic *a);
/* The current count register (for tests and the UI). */
uint32_t lapic_timer_count(const struct lapic *a);

#endif
