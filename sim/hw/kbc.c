/*
 * kbc.c - the 8042 keyboard controller (see kbc.h).
 */
#include "hw/kbc.h"

#include <string.h>

#define ST_OBF     0x01u
#define ST_SYS     0x04u
#define ST_UNLOCK  0x10u
#define CB_IRQ1    0x01u

static void update_irq(struct kbc *k)
{
    irq_set(k->irq, k->count && (k->cmd_byte & CB_IRQ1) ? 1 : 0);
}

static void push(struct kbc *k, uint8_t b)
{
    if (k->count == KBC_QUEUE)
        return;
    k->queue[(k->head + k->count) % KBC_QUEUE] = b;
    k->count++;
    update_irq(k);
}

int kbc_room(const struct kbc *k)
{
    return KBC_QUEUE - k->count;
}

bool kbc_key(struct kbc *k, uint8_t scancode)
{
    if (k->count == KBC_QUEUE)
        return false;
    push(k, scancode);
    return true;
}

static uint32_t kbc_read(void *dev, uint16_t port, int size)
{
    struct kbc *k = dev;
    if (port == KBC_CMD)
        return (k->count ? ST_OBF : 0u) | ST_SYS | ST_UNLOCK;
    if (!k->count)
        return 0;
    uint8_t b = k->queue[k->head];
    k->head = (uint8_t)((k->head + 1) % KBC_QUEUE);
    k->count--;
    k->bytes_out++;
    irq_set(k->irq, 0);         /* the next byte raises IRQ 1 anew, as the 8042 does */
    update_irq(k);
    return b;
}

static void controller_command(struct kbc *k, uint8_t c)
{
    switch (c) {
    case 0x20: push(k, k->cmd_byte); break;
    case 0x60: case 0xD1: case 0xD2: k->pending = c; break;
    case 0xAA: push(k, 0x55); break;
    case 0xAB: push(k, 0x00); break;
    case 0xAD: k->cmd_byte |= 0x10u; break;
    case 0xAE: k->cmd_byte &= (uint8_t)~0x10u; break;
    case 0xFE: k->reset_requested = true; break;
    default: break;
    }
}

static void kbc_write(void *dev, uint16_t port, int size, uint32_t val)
{
    struct kbc *k = dev;
    uint8_t b = (uint8_t)val;
    if (port == KBC_CMD) {
        controller_command(k, b);
        return;
    }
    uint8_t p = k->pending;
    k->pending = 0;
    if (p == 0x60) {
        k->cmd_byte = b;
        update_irq(k);
    } else if (p == 0xD1) {
        if (!(b & 1u))
            k->reset_requested = true;             /* output port bit 0: reset line */
    } else if (p == 0xD2) {
        push(k, b);                                /* write keyboard output buffer */
    } else {
        push(k, 0xFA);                             /* the keyboard acknowledges */
        if (b == 0xFF)
            push(k, 0xAA);                         /* reset: self test passed */
    }
}

void kbc_reset(struct kbc *k)
{
    struct irq_line irq = k->irq;
    memset(k, 0, sizeof *k);
    k->irq = irq;
    k->cmd_byte = 0x61;
}

void kbc_init(struct kbc *k, struct bus *b, struct irq_line irq)
{
    k->irq = irq;
    kbc_reset(k);
    bus_map_io(b, KBC_DATA, 1, k, kbc_read, kbc_write);
    bus_map_io(b, KBC_CMD, 1, k, kbc_read, kbc_write);
}
