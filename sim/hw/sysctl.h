/*
 * sysctl.h - port 0x92, system control port A ("fast A20 and reset").
 *
 * Bit 1 gates address line 20 and bit 0, written as 1, resets the CPU
 * (the PS/2 convention every PC chipset keeps). ringside's A20 is always
 * enabled, as QEMU leaves it after SeaBIOS, so bit 1 reads 1 and clearing
 * it is recorded but wraps no address; a reset request ends the run (the
 * machine has no BIOS to restart through), reported like a triple fault.
 */
#ifndef RS_HW_SYSCTL_H
#define RS_HW_SYSCTL_H

#include <stdint.h>
#include <stdbool.h>
#include "hw/bus.h"

#define SYSCTL_PORT 0x92

struct sysctl {
    uint8_t value;       /* last value written, bit 1 set at reset */
    bool reset_requested;
};

void sysctl_init(struct sysctl *s, struct bus *b);
void sysctl_reset(struct sysctl *s);

#endif
