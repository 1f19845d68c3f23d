/*
 * debugexit.h - QEMU's isa-debug-exit device (hw/misc/debugexit.c).
 *
 * A test harness device, not PC hardware: a guest ends the run by writing a
 * value V, of any size, to any of its ports; QEMU then exits with status
 * (V << 1) | 1, so a guest can never produce status 0 by accident. ringside
 * records the request and the machine stops at the end of the instruction.
 * The process exit status the host sees is code & 0xFF, as with QEMU.
 *
 * Reads: QEMU's device has no read handler; under qemu-system-i386 IN from
 * its ports returns 0 for every access size (measured), and so does this.
 */
#ifndef RS_HW_DEBUGEXIT_H
#define RS_HW_DEBUGEXIT_H

#include <stdint.h>
#include <stdbool.h>
#include "hw/bus.h"

#define DEBUGEXIT_BASE 0xF4
#define DEBUGEXIT_SIZE 4

struct debugexit {
    uint16_t base;  /* first port */
    uint16_t size;  /* number of ports */
    bool exited;    /* the guest asked to exit */
    uint32_t value; /* V, the value of the first write */
    uint32_t code;  /* (V << 1) | 1, truncated to 32 bits */
};

void debugexit_init(struct debugexit *d, struct bus *b, uint16_t base, uint16_t size);
void debugexit_reset(struct debugexit *d);

#endif
