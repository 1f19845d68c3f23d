/*
 * cmos.h - the MC146818 real-time clock and CMOS RAM at ports 0x70/0x71.
 *
 * Port 0x70 selects one of 128 bytes (bit 7 is the NMI mask, kept but not
 * modelled), 0x71 reads or writes it. Bytes 0x00-0x09 are the clock
 * (seconds, minutes, hours, weekday, day, month, year; 1, 3, 5 the alarm),
 * 0x0A-0x0D status registers A-D, 0x32 the century, the rest CMOS RAM with
 * what QEMU's pc machine puts there: equipment (0x14), base memory 640 KiB
 * (0x15/0x16), extended memory (0x17/0x18 and 0x30/0x31, KiB above 1 MiB up
 * to 63 MiB), memory above 16 MiB in 64 KiB units (0x34/0x35).
 *
 * The clock runs on modeled time, the machine's only clock (clock.h): it
 * reads `epoch` seconds since 1970 (UTC) at cycle `epoch_cycle` plus the
 * whole seconds of CLOCK_CPU_HZ cycles since. So every run is the same, and
 * a guest that times itself by the RTC sees its engine's overhead. The
 * start is 2026-01-01 00:00:00 unless the VM is built with another epoch
 * (`--rtc-now`: the host's time when the VM is made, logged by --record).
 * As in QEMU's mc146818rtc: the time registers are computed when read, in
 * the format status B selects (bit 2 binary, else BCD; bit 1 24-hour, else
 * 12-hour with bit 7 of the hour for PM), the weekday from the date; with
 * status B bit 7 (SET) the clock stands still and the registers hold what
 * was written; a write to a time register while it runs, or clearing SET,
 * restarts the clock from the registers at that cycle. The update-in-
 * progress bit is never set, and there are no periodic, alarm or update
 * interrupts (no kernel here uses IRQ 8). A time written outside 1970-9999
 * is held at the nearest end.
 */
#ifndef RS_HW_CMOS_H
#define RS_HW_CMOS_H

#include <stddef.h>
#include <stdint.h>
#include "hw/bus.h"

#define CMOS_INDEX 0x70
#define CMOS_DEFAULT_EPOCH 1767225600ll     /* 2026-01-01 00:00:00 UTC */
#define CMOS_LAST_EPOCH 253402300799ll      /* 9999-12-31 23:59:59: the clock holds 1970-9999 */

struct cmos {
    uint8_t index;
    uint8_t ram[128];
    uint64_t reads, writes;
    int64_t epoch;             /* the clock read this many seconds since 1970 ... */
    uint64_t epoch_cycle;      /* ... at this modeled cycle */
    uint64_t now;              /* the cycle the device is brought to */
};

void cmos_init(struct cmos *c, struct bus *b, uint32_t ram_size);
/* Power-on state; the clock starts at `epoch` (0: CMOS_DEFAULT_EPOCH) at cycle 0. */
void cmos_reset(struct cmos *c, uint32_t ram_size, int64_t epoch);
/* Bring the device to modeled cycle `now` (monotonic). */
static inline void cmos_advance(struct cmos *c, uint64_t now) { c->now = now; }
/* The clock's time now, in seconds since 1970 (UTC). */
int64_t cmos_time(const struct cmos *c);
/* The same as "YYYY-MM-DD hh:mm:ss UTC" (the UI and -v show it). */
void cmos_time_text(const struct cmos *c, char *buf, size_t len);

#endif
