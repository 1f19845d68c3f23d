/*
 * irq.h - an interrupt request line from a device to the 8259A pair.
 *
 * A device holds a `struct irq_line` naming the PIC and the input (IRQ 0-15)
 * its interrupt pin is wired to, and drives it with irq_set(). The level is
 * what the pin shows; the PIC decides whether a rising edge or the level
 * requests an interrupt (ICW1 LTIM). The pic pointer is the only host
 * pointer in a device; the owner re-wires it after a restore. A line whose
 * pic is NULL is unconnected and irq_set() on it does nothing.
 */
#ifndef RS_HW_IRQ_H
#define RS_HW_IRQ_H

struct pic;
struct ioapic;

/* An ISA line goes to both interrupt controllers, as on QEMU's pc machine:
   the 8259A input `irq` and, when `ioapic` is set, its pin for that IRQ
   (ioapic_isa_pin: IRQ 0 on pin 2). */
struct irq_line {
    struct pic *pic; /* the PIC pair, NULL when unconnected */
    int irq;         /* input 0-15 (8-15 on the slave) */
    struct ioapic *ioapic; /* the I/O APIC, NULL: not wired to one */
};

void pic_set_irq(struct pic *p, int irq, int level);     /* pic.c */
void ioapic_set_isa_irq(struct ioapic *io, int irq, int level); /* ioapic.c */

static inline void irq_set(struct irq_line line, int level)
{
    if (line.pic)
        pic_set_irq(line.pic, line.irq, level);
    if (line.ioapic)
        ioapic_set_isa_irq(line.ioapic, line.irq, level);
}

#endif
