/*
 * pic.c - the 8259A pair (see pic.h). References are to the Intel 8259A
 * datasheet, "8259A Programmable Interrupt Controller", order no. 231468.
 *
 * Priorities: IR (priority_add + k) & 7 has priority level k, 0 highest.
 * Fully nested mode starts with priority_add = 0 (IR0 highest); rotation
 * moves priority_add so the IR just serviced becomes lowest.
 *
 * The slave's INT output is the master's IR2 input: whenever the slave's
 * state changes, its output level is recomputed and driven into the master
 * (pic_sync_cascade), so the master sees the edges a real cascade shows.
 */
#include <assert.h>
#include <string.h>
#include "hw/pic.h"

/* ---- priority resolution ---------------------------------------------- */

/* Priority level (0 highest) of the best bit in `mask`; 8 if none. */
static int chip_priority(const struct pic_chip *c, uint8_t mask)
{
    if (mask == 0)
        return 8;
    int level = 0;
    while (!(mask & (1u << ((level + c->priority_add) & 7))))
        level++;
    return level;
}

/*
 * The IR the chip would interrupt for now, or -1. A request interrupts only
 * if it outranks everything in service (fully nested mode). In special mask
 * mode masked in-service levels do not block (datasheet, "Special Mask
 * Mode"); in special fully nested mode the master lets the slave interrupt
 * again while IR2 is in service ("Special Fully Nest Mode").
 */
static int chip_get_irq(const struct pic_chip *c, bool is_master)
{
    int req = chip_priority(c, c->irr & ~c->imr);
    if (req == 8)
        return -1;
    uint8_t busy = c->isr;
    if (c->special_mask)
        busy &= ~c->imr;
    if (c->sfnm && is_master)
        busy &= ~(1u << PIC_CASCADE_IRQ);
    if (req >= chip_priority(c, busy))
        return -1;
    return (req + c->priority_add) & 7;
}

/* Edge-triggered: a rising edge sets IRR (datasheet, "Edge and Level
 * Triggered Modes"). Level-triggered: IRR follows the line. */
static void chip_set_line(struct pic_chip *c, int ir, int level)
{
    uint8_t bit = (uint8_t)(1u << ir);
    if (level) {
        if (c->level_mode || !(c->line & bit))
            c->irr |= bit;
        c->line |= bit;
    } else {
        if (c->level_mode)
            c->irr &= ~bit;
        c->line &= ~bit;
    }
}

static void pic_sync_cascade(struct pic *p)
{
    int out = chip_get_irq(&p->chip[1], false) >= 0;
    chip_set_line(&p->chip[0], PIC_CASCADE_IRQ, out);
}

/* INTA on one chip: IRR -> ISR (or, in AEOI mode, the EOI right away). */
static void chip_intack(struct pic_chip *c, int ir)
{
    uint8_t bit = (uint8_t)(1u << ir);
    if (c->auto_eoi) {
        if (c->rotate_aeoi)
            c->priority_add = (uint8_t)((ir + 1) & 7);
    } else {
        c->isr |= bit;
    }
    if (!c->level_mode)
        c->irr &= ~bit;
}

/* ---- the CPU side ------------------------------------------------------ */

void pic_set_irq(struct pic *p, int irq, int level)
{
    assert(irq >= 0 && irq < 16);
    if (irq >= 8) {
        chip_set_line(&p->chip[1], irq - 8, level);
        pic_sync_cascade(p);
    } else {
        chip_set_line(&p->chip[0], irq, level);
    }
}

bool pic_intr_pending(struct pic *p)
{
    return chip_get_irq(&p->chip[0], true) >= 0;
}

/* Slave part of INTA for a cascaded request: its vector, spurious IR7 if
 * the slave's request went away (datasheet: the slave then sends IR7). */
static int pic_ack_slave(struct pic *p)
{
    struct pic_chip *s = &p->chip[1];
    int ir = chip_get_irq(s, false);
    if (ir < 0) {
        p->spurious++;
        return s->vector_base + 7;
    }
    chip_intack(s, ir);
    return s->vector_base + ir;
}

int pic_ack(struct pic *p)
{
    struct pic_chip *m = &p->chip[0];
    int ir = chip_get_irq(m, true);
    if (ir < 0) {
        p->spurious++;
        return m->vector_base + 7;
    }
    int vector = ir == PIC_CASCADE_IRQ && !m->single ? pic_ack_slave(p)
                                                     : m->vector_base + ir;
    chip_intack(m, ir);
    pic_sync_cascade(p);
    return vector;
}

/* ---- command port (A0 = 0): ICW1, OCW2, OCW3 --------------------------- */

/* ICW1 (datasheet, "Initialization Command Words"): the edge sense latch is
 * cleared, IMR cleared, IR7 lowest priority, special mask mode off, status
 * read set to IRR; without IC4 all ICW4 functions are zero. Latched edge
 * requests are dropped, as QEMU's i8259 does. */
static void chip_icw1(struct pic_chip *c, uint8_t val)
{
    uint8_t base = c->vector_base, line = c->line;
    memset(c, 0, sizeof(*c));
    c->vector_base = base;
    c->line = line; /* a line already high must go low, then high again */
    c->need_icw4 = val & 0x01;
    c->single = val & 0x02;
    c->level_mode = val & 0x08;
    c->init_state = 1;
}

/* Non-specific EOI: clear the highest-priority ISR bit. */
static void chip_eoi(struct pic_chip *c, bool rotate)
{
    int level = chip_priority(c, c->isr);
    if (level == 8)
        return;
    int ir = (level + c->priority_add) & 7;
    c->isr &= ~(1u << ir);
    if (rotate)
        c->priority_add = (uint8_t)((ir + 1) & 7);
}

/* OCW2: R SL EOI in bits 7-5, level in bits 2-0 (datasheet, figure 9). */
static void chip_ocw2(struct pic_chip *c, uint8_t val)
{
    int ir = val & 7;
    switch (val >> 5) {
    case 0: c->rotate_aeoi = false; break;           /* clear rotate in AEOI */
    case 4: c->rotate_aeoi = true; break;            /* set rotate in AEOI */
    case 1: chip_eoi(c, false); break;               /* non-specific EOI */
    case 5: chip_eoi(c, true); break;                /* rotate on non-specific EOI */
    case 3: c->isr &= ~(1u << ir); break;            /* specific EOI */
    case 7:                                          /* rotate on specific EOI */
        c->isr &= ~(1u << ir);
        c->priority_add = (uint8_t)((ir + 1) & 7);
        break;
    case 6: c->priority_add = (uint8_t)((ir + 1) & 7); break; /* set priority */
    default: break;                                  /* 2: no operation */
    }
}

/* OCW3: ESMM SMM in bits 6-5, P in bit 2, RR RIS in bits 1-0. */
static void chip_ocw3(struct pic_chip *c, uint8_t val)
{
    if (val & 0x04)
        c->poll = true;
    if (val & 0x02)
        c->read_isr = val & 0x01;
    if (val & 0x40)
        c->special_mask = (val >> 5) & 1;
}

static void chip_write_cmd(struct pic_chip *c, uint8_t val)
{
    if (val & 0x10)
        chip_icw1(c, val);
    else if (val & 0x08)
        chip_ocw3(c, val);
    else
        chip_ocw2(c, val);
}

/* ---- data port (A0 = 1): ICW2-ICW4, OCW1 ------------------------------- */

static void chip_write_data(struct pic_chip *c, uint8_t val)
{
    switch (c->init_state) {
    case 0: /* OCW1 */
        c->imr = val;
        break;
    case 1: /* ICW2: T7-T3 of the vector (8086 mode) */
        c->vector_base = val & 0xF8;
        c->init_state = !c->single ? 2 : c->need_icw4 ? 3 : 0;
        break;
    case 2: /* ICW3: cascade wiring; the PC's is fixed, so ignored */
        c->init_state = c->need_icw4 ? 3 : 0;
        break;
    default: /* ICW4: uPM (8086 assumed), AEOI bit 1, SFNM bit 4 */
        c->auto_eoi = (val >> 1) & 1;
        c->sfnm = (val >> 4) & 1;
        c->init_state = 0;
        break;
    }
}

/* Poll command: the read is the INTA, returning 0x80 | IR, or 0 if none
 * (datasheet, "The Poll Command"). */
static uint8_t chip_poll(struct pic_chip *c, bool is_master)
{
    c->poll = false;
    int ir = chip_get_irq(c, is_master);
    if (ir < 0)
        return 0;
    chip_intack(c, ir);
    return (uint8_t)(0x80 | ir);
}

/* ---- port handlers ----------------------------------------------------- */

static struct pic_chip *port_chip(struct pic *p, uint16_t port)
{
    return &p->chip[(port & 0xF0) == PIC_SLAVE_BASE];
}

static uint32_t pic_read(void *dev, uint16_t port, int size)
{
    struct pic *p = dev;
    struct pic_chip *c = port_chip(p, port);
    uint32_t v;
    if (c->poll)
        v = chip_poll(c, c == &p->chip[0]);
    else if ((port & 1) == 0)
        v = c->read_isr ? c->isr : c->irr;
    else
        v = c->imr;
    pic_sync_cascade(p);
    return v;
}

static void pic_write(void *dev, uint16_t port, int size, uint32_t val)
{
    struct pic *p = dev;
    struct pic_chip *c = port_chip(p, port);
    if ((port & 1) == 0)
        chip_write_cmd(c, (uint8_t)val);
    else
        chip_write_data(c, (uint8_t)val);
    pic_sync_cascade(p);
}

/* The chip as SeaBIOS leaves it: 8086 mode, edge-triggered, fully nested. */
static void chip_firmware_state(struct pic_chip *c, uint8_t base, uint8_t imr)
{
    memset(c, 0, sizeof(*c));
    c->vector_base = base;
    c->need_icw4 = true;
    c->imr = imr;
}

void pic_reset(struct pic *p)
{
    chip_firmware_state(&p->chip[0], 0x08, 0xB8);
    chip_firmware_state(&p->chip[1], 0x70, 0x8E);
    p->spurious = 0;
}

void pic_init(struct pic *p, struct bus *b)
{
    pic_reset(p);
    bus_map_io(b, PIC_MASTER_BASE, 2, p, pic_read, pic_write);
    bus_map_io(b, PIC_SLAVE_BASE, 2, p, pic_read, pic_write);
}
