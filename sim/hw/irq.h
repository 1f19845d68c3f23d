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

struct irq_line {
    struct pic *pic; /* the PIC pair, NULL when unconnected */
    int irq;         /* input 0-15 (8-15 on the slave) */
};

void pic_set_irq(struct pic *p, int irq, int level); /* pic.c */

static inline void irq_set(struct irq_line line, int level)
{
    if (line.pic)
        pic_set_irq(line.pic, line.irq, level);
}

#endif
