/*
 * pic.h - the PC's two Intel 8259A programmable interrupt controllers.
 *
 * The master answers at 0x20/0x21 and takes IRQ 0-7; the slave answers at
 * 0xA0/0xA1 and takes IRQ 8-15, its INT output wired to the master's IR2
 * (cascade). Modeled after the Intel 8259A datasheet (order no. 231468):
 * ICW1-ICW4 initialization, OCW1 (IMR), OCW2 (non-specific, specific and
 * rotating EOI, set priority), OCW3 (read IRR/ISR, poll, special mask mode),
 * AEOI, rotation, special fully nested mode, edge- and level-triggered
 * inputs, priority resolution and the spurious IRQ 7 / IRQ 15 rules.
 *
 * Reset state: what QEMU's `-kernel` path leaves, since guests run under
 * both. SeaBIOS's pic_setup() (src/hw/pic.c) sends ICW1 0x11, ICW2 0x08 /
 * 0x70, ICW3 0x04 / 0x02, ICW4 0x01 to master / slave, and by the time the
 * kernel is entered the IMRs read 0xB8 (master) and 0x8E (slave) (measured
 * with qemu-system-i386 and SeaBIOS; IRQs 0, 1, 2, 6, 8, 12, 13, 14 enabled).
 * pic_reset() reproduces that; guests reprogram the PICs anyway.
 */
#ifndef RS_HW_PIC_H
#define RS_HW_PIC_H

#include <stdint.h>
#include <stdbool.h>
#include "hw/bus.h"
#include "hw/irq.h"

#define PIC_MASTER_BASE 0x20
#define PIC_SLAVE_BASE  0xA0
#define PIC_CASCADE_IRQ 2

/* One 8259A. */
struct pic_chip {
    uint8_t irr;          /* interrupt request register */
    uint8_t isr;          /* in-service register */
    uint8_t imr;          /* interrupt mask register (OCW1) */
    uint8_t line;         /* current level of each IR input */
    uint8_t vector_base;  /* ICW2, low 3 bits zero */
    uint8_t priority_add; /* IR number that has the lowest priority, plus 1 */
    uint8_t init_state;   /* 0 ready, 1-3: expecting ICW2, ICW3, ICW4 */
    bool need_icw4;       /* ICW1 IC4 */
    bool single;          /* ICW1 SNGL: no ICW3 */
    bool level_mode;      /* ICW1 LTIM: level-triggered inputs */
    bool auto_eoi;        /* ICW4 AEOI */
    bool rotate_aeoi;     /* OCW2 rotate in automatic EOI mode */
    bool sfnm;            /* ICW4 special fully nested mode */
    bool special_mask;    /* OCW3 SMM */
    bool read_isr;        /* OCW3 RIS: command port reads ISR, not IRR */
    bool poll;            /* OCW3 P: next command-port read is a poll */
};

struct pic {
    struct pic_chip chip[2]; /* [0] master, [1] slave */
    uint64_t spurious;       /* INTAs answered with a spurious IR7 vector */
};

/* Reset both chips to the firmware state and map 0x20-0x21, 0xA0-0xA1. */
void pic_init(struct pic *p, struct bus *b);
void pic_reset(struct pic *p);

/* Drive input `irq` (0-15) to `level` (0 or 1). */
void pic_set_irq(struct pic *p, int irq, int level);

/* The master's INT output: an unmasked request outranks what is in service. */
bool pic_intr_pending(struct pic *p);

/* Cheap pre-check the CPU can afford before every instruction: false means
   the master has no unmasked request at all, so pic_intr_pending is false
   (the slave's output reaches the master as its IR2 request). */
static inline bool pic_maybe_pending(const struct pic *p)
{
    return (p->chip[0].irr & ~p->chip[0].imr) != 0;
}

/*
 * The CPU's INTA cycles: returns the vector and moves the request into
 * service. With nothing pending (the request went away) the chip answers
 * with its IR7 vector and sets no ISR bit: the spurious interrupt.
 */
int pic_ack(struct pic *p);

/* The line a device on input `irq` should hold. */
static inline struct irq_line pic_line(struct pic *p, int irq)
{
    return (struct irq_line){ .pic = p, .irq = irq };
}

#endif
