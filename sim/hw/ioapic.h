/*
 * ioapic.h - the I/O APIC at 0xFEC00000 (Intel 82093AA datasheet).
 *
 * Two registers in the page: IOREGSEL at offset 0x00 selects an internal
 * register, IOWIN at 0x10 reads or writes it. Internal registers: 0x00 ID
 * (bits 24-27), 0x01 version (0x00170020 as QEMU 7.2's IOAPIC_VER_DEF:
 * version 0x20, 24 redirection entries; the MP table SeaBIOS writes says
 * 0x11, and so does firmware.c's), 0x02 arbitration, 0x10 + 2n / 0x11 + 2n the low
 * and high halves of redirection entry n: vector, delivery mode,
 * destination mode, delivery status (read-only), polarity, remote IRR
 * (read-only), trigger mode, mask (set at reset), destination (bits 56-63).
 *
 * An input pin (the ISA IRQs: IRQ 0 on pin 2, IRQ n on pin n otherwise, as
 * the MP table says) sends its entry's vector to the local APIC: an edge
 * entry on each rising edge while unmasked (a masked edge is lost), a level
 * entry while the line is high, unmasked and remote IRR clear; remote IRR
 * is set on delivery and cleared by the local APIC's EOI of that vector,
 * after which a line still high is delivered again. Only fixed and
 * lowest-priority delivery to the one CPU (physical ID, broadcast 0xFF or a
 * logical match) reaches it; other destinations are counted as lost.
 */
#ifndef RS_HW_IOAPIC_H
#define RS_HW_IOAPIC_H

#include <stdint.h>
#include <stdbool.h>

#define IOAPIC_BASE    0xFEC00000u
#define IOAPIC_PINS    24
#define IOAPIC_VERSION 0x00170020u

struct lapic;

struct ioapic {
    uint32_t sel;                      /* IOREGSEL */
    uint32_t id;                       /* ID register (bits 24-27) */
    uint64_t redir[IOAPIC_PINS];       /* redirection table */
    uint32_t level;                    /* input pin levels, one bit each */
    uint64_t delivered, lost;          /* messages sent to the CPU, not deliverable */
    struct lapic *lapic;               /* the CPU's local APIC; re-wired by the owner */
};

void ioapic_init(struct ioapic *io, struct lapic *lapic);
void ioapic_reset(struct ioapic *io);
uint32_t ioapic_read(struct ioapic *io, uint32_t off, int size);
void ioapic_write(struct ioapic *io, uint32_t off, int size, uint32_t val);
/* Drive input `pin` to `level` (0 or 1). */
void ioapic_set_irq(struct ioapic *io, int pin, int level);
/* The local APIC retired level-triggered `vector`: clear remote IRR. */
void ioapic_eoi(void *io, int vector);
/* The pin ISA IRQ `irq` is wired to. */
static inline int ioapic_isa_pin(int irq) { return irq == 0 ? 2 : irq; }

#endif
