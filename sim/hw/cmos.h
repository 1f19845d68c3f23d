/*
 * cmos.h - the MC146818 real-time clock and CMOS RAM at ports 0x70/0x71.
 *
 * Port 0x70 selects one of 128 bytes (bit 7 is the NMI mask, kept but not
 * modelled), 0x71 reads or writes it. Bytes 0x00-0x09 are the clock
 * (seconds, minutes, hours, weekday, day, month, year), 0x0A-0x0D status
 * registers A-D, the rest CMOS RAM with what QEMU's pc machine puts there:
 * equipment (0x14), base memory 640 KiB (0x15/0x16), extended memory
 * (0x17/0x18 and 0x30/0x31, KiB above 1 MiB up to 63 MiB), memory above 16
 * MiB in 64 KiB units (0x34/0x35), century 0x20 (0x32).
 *
 * The date is fixed so that every run is the same: 2026-01-01 00:00:00,
 * BCD, 24-hour mode (status B 0x02), the update-in-progress bit never set.
 * It does not advance (the clock registers are writable; writes stick).
 */
#ifndef RS_HW_CMOS_H
#define RS_HW_CMOS_H

#include <stdint.h>
#include "hw/bus.h"

#define CMOS_INDEX 0x70

struct cmos {
    uint8_t index;
    uint8_t ram[128];
    uint64_t reads, writes;
};

void cmos_init(struct cmos *c, struct bus *b, uint32_t ram_size);
void cmos_reset(struct cmos *c, uint32_t ram_size);

#endif
