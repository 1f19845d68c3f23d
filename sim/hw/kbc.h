/*
 * kbc.h - the 8042 keyboard controller at ports 0x60 (data) and 0x64
 * (status / command), IRQ 1.
 *
 * What a kernel's console driver needs from it: the status register (bit 0
 * output buffer full, bit 2 system flag set by POST, bit 4 keyboard not
 * inhibited), a data register fed from an output queue, and the controller
 * commands firmware and kernels use: 0x20/0x60 read/write the command byte
 * (bit 0 enables IRQ 1; SeaBIOS leaves 0x61 as QEMU shows), 0xAA self test
 * (0x55), 0xAB interface test (0x00), 0xAD/0xAE disable/enable the
 * keyboard, 0xFE pulse reset (ends the run, as port 0x92 bit 0 does).
 * Bytes written to 0x60 go to the keyboard, which acknowledges each with
 * 0xFA (0xFF reset: 0xFA then 0xAA). kbc_key() queues a set-1 scancode, as
 * a typed key would (`ringside run --keyboard` and the TUI type characters
 * through kbd_keys.h); with nothing typed a console poll of 0x64 finds the
 * buffer empty, not 0xFF. Each byte read from 0x60 with more queued lowers
 * and raises IRQ 1 again, so an edge-triggered controller sees one
 * interrupt per byte, as the 8042 raises it when it loads the next byte.
 */
#ifndef RS_HW_KBC_H
#define RS_HW_KBC_H

#include <stdint.h>
#include <stdbool.h>
#include "hw/bus.h"
#include "hw/irq.h"

#define KBC_DATA 0x60
#define KBC_CMD  0x64
#define KBC_QUEUE 16

struct kbc {
    uint8_t queue[KBC_QUEUE];
    uint8_t head, count;
    uint8_t cmd_byte;          /* the controller's command byte */
    uint8_t pending;           /* a controller command waiting for its data byte */
    bool reset_requested;
    uint64_t bytes_out;
    struct irq_line irq;       /* re-wired by the owner after a restore */
};

void kbc_init(struct kbc *k, struct bus *b, struct irq_line irq);
void kbc_reset(struct kbc *k);
/* Queue a byte for the guest (a scancode); false if the queue is full. */
bool kbc_key(struct kbc *k, uint8_t scancode);
/* Bytes the output queue can still take. */
int kbc_room(const struct kbc *k);

#endif
