/*
 * cmos.c - RTC and CMOS RAM (see cmos.h).
 */
#include "hw/cmos.h"
#include "hw/clock.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

enum { R_SEC = 0, R_MIN = 2, R_HOUR = 4, R_WDAY = 6, R_MDAY = 7, R_MON = 8, R_YEAR = 9,
       R_A = 0x0A, R_B = 0x0B, R_C = 0x0C, R_D = 0x0D, R_CENTURY = 0x32 };
#define B_SET 0x80u
#define B_BINARY 0x04u
#define B_24H 0x02u

/* The divider runs (status A 0x20, as firmware leaves it) and SET is clear. */
static bool clock_running(const struct cmos *c)
{
    return !(c->ram[R_B] & B_SET) && (c->ram[R_A] & 0x70u) <= 0x20u;
}

int64_t cmos_time(const struct cmos *c)
{
    uint64_t since = c->now > c->epoch_cycle ? c->now - c->epoch_cycle : 0;
    return c->epoch + (int64_t)(since / CLOCK_CPU_HZ);
}

void cmos_time_text(const struct cmos *c, char *buf, size_t len)
{
    time_t t = (time_t)cmos_time(c);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d UTC", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static uint8_t to_reg(const struct cmos *c, int v)
{
    return c->ram[R_B] & B_BINARY ? (uint8_t)v : (uint8_t)((v / 10) << 4 | v % 10);
}

static int from_reg(const struct cmos *c, uint8_t v)
{
    return c->ram[R_B] & B_BINARY ? v : (v >> 4) * 10 + (v & 15);
}

/* The time registers from the running clock, in status B's format. */
static void clock_to_regs(struct cmos *c)
{
    time_t t = (time_t)cmos_time(c);
    struct tm tm;
    gmtime_r(&t, &tm);
    c->ram[R_SEC] = to_reg(c, tm.tm_sec);
    c->ram[R_MIN] = to_reg(c, tm.tm_min);
    if (c->ram[R_B] & B_24H) {
        c->ram[R_HOUR] = to_reg(c, tm.tm_hour);
    } else {
        int h = tm.tm_hour % 12;
        c->ram[R_HOUR] = (uint8_t)(to_reg(c, h ? h : 12) | (tm.tm_hour >= 12 ? 0x80 : 0));
    }
    c->ram[R_WDAY] = to_reg(c, tm.tm_wday + 1);
    c->ram[R_MDAY] = to_reg(c, tm.tm_mday);
    c->ram[R_MON] = to_reg(c, tm.tm_mon + 1);
    c->ram[R_YEAR] = to_reg(c, (tm.tm_year + 1900) % 100);
    c->ram[R_CENTURY] = to_reg(c, (tm.tm_year + 1900) / 100);
}

/* Restart the clock from the time registers at the current cycle. */
static void regs_to_clock(struct cmos *c)
{
    struct tm tm = { 0 };
    tm.tm_sec = from_reg(c, c->ram[R_SEC]);
    tm.tm_min = from_reg(c, c->ram[R_MIN]);
    if (c->ram[R_B] & B_24H) {
        tm.tm_hour = from_reg(c, c->ram[R_HOUR]);
    } else {
        tm.tm_hour = from_reg(c, c->ram[R_HOUR] & 0x7Fu) % 12;
        if (c->ram[R_HOUR] & 0x80u)
            tm.tm_hour += 12;
    }
    tm.tm_mday = from_reg(c, c->ram[R_MDAY]);
    tm.tm_mon = from_reg(c, c->ram[R_MON]) - 1;
    tm.tm_year = from_reg(c, c->ram[R_YEAR]) + from_reg(c, c->ram[R_CENTURY]) * 100 - 1900;
    int64_t t = (int64_t)timegm(&tm);     /* out-of-range fields normalise, as QEMU's mktimegm */
    c->epoch = t < 0 ? 0 : t > CMOS_LAST_EPOCH ? CMOS_LAST_EPOCH : t;
    c->epoch_cycle = c->now;
}

/* The registers the running clock computes (not the alarms, 1, 3 and 5). */
static bool is_time_reg(uint8_t r)
{
    return (r <= R_YEAR && r != 1 && r != 3 && r != 5) || r == R_CENTURY;
}

static uint32_t cmos_read(void *dev, uint16_t port, int size)
{
    struct cmos *c = dev;
    if (port == CMOS_INDEX)
        return 0xFF;                          /* the index port is write-only */
    c->reads++;
    uint8_t r = c->index & 0x7Fu;
    if (is_time_reg(r) && clock_running(c))
        clock_to_regs(c);
    return c->ram[r];
}

static void write_status_b(struct cmos *c, uint8_t val)
{
    bool was_set = c->ram[R_B] & B_SET;
    if ((val & B_SET) && clock_running(c))
        clock_to_regs(c);                     /* SET: the registers hold the time now */
    c->ram[R_B] = val;
    if (was_set && !(val & B_SET))
        regs_to_clock(c);
}

static void cmos_write(void *dev, uint16_t port, int size, uint32_t val)
{
    struct cmos *c = dev;
    if (port == CMOS_INDEX) {
        c->index = (uint8_t)val;
        return;
    }
    uint8_t r = c->index & 0x7Fu;
    c->writes++;
    if (r == R_C || r == R_D)
        return;                               /* status C and D are read-only */
    if (r == R_B) {
        write_status_b(c, (uint8_t)val);
        return;
    }
    bool timed = is_time_reg(r) && clock_running(c);
    if (timed)
        clock_to_regs(c);                     /* the other fields as they are now */
    c->ram[r] = (uint8_t)val;
    if (timed)
        regs_to_clock(c);
}

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

void cmos_reset(struct cmos *c, uint32_t ram_size, int64_t epoch)
{
    memset(c, 0, sizeof *c);
    c->epoch = epoch ? epoch : CMOS_DEFAULT_EPOCH;
    c->ram[R_A] = 0x26;                       /* 32.768 kHz base, 1024 Hz rate */
    c->ram[R_B] = B_24H;                      /* 24-hour, BCD */
    c->ram[R_D] = 0x80;                       /* valid RAM and time */
    clock_to_regs(c);
    c->ram[0x14] = 0x20;                      /* equipment: 80x25 colour */
    put16(c->ram + 0x15, 640);
    uint32_t ext = ram_size > (1u << 20) ? (ram_size - (1u << 20)) / 1024 : 0;
    if (ext > 65535)
        ext = 65535;
    put16(c->ram + 0x17, ext);
    put16(c->ram + 0x30, ext);
    uint32_t above16 = ram_size > (16u << 20) ? (ram_size - (16u << 20)) / 65536 : 0;
    put16(c->ram + 0x34, above16 > 65535 ? 65535 : above16);
}

void cmos_init(struct cmos *c, struct bus *b, uint32_t ram_size)
{
    cmos_reset(c, ram_size, 0);
    bus_map_io(b, CMOS_INDEX, 2, c, cmos_read, cmos_write);
}
