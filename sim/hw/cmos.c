/*
 * cmos.c - RTC and CMOS RAM (see cmos.h).
 */
#include "hw/cmos.h"

#include <string.h>

static uint32_t cmos_read(void *dev, uint16_t port, int size)
{
    struct cmos *c = dev;
    if (port == CMOS_INDEX)
        return 0xFF;                          /* the index port is write-only */
    c->reads++;
    return c->ram[c->index & 0x7Fu];
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
    if (r == 0x0C || r == 0x0D)
        return;                               /* status C and D are read-only */
    c->ram[r] = (uint8_t)val;
}

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

void cmos_reset(struct cmos *c, uint32_t ram_size)
{
    static const uint8_t clock[10] = { 0x00, 0, 0x00, 0, 0x00, 0, 0x05, 0x01, 0x01, 0x26 };
    memset(c, 0, sizeof *c);
    memcpy(c->ram, clock, sizeof clock);      /* Thursday 2026-01-01 00:00:00 */
    c->ram[0x0A] = 0x26;                      /* 32.768 kHz base, 1024 Hz rate */
    c->ram[0x0B] = 0x02;                      /* 24-hour, BCD */
    c->ram[0x0D] = 0x80;                      /* valid RAM and time */
    c->ram[0x14] = 0x20;                      /* equipment: 80x25 colour */
    put16(c->ram + 0x15, 640);
    uint32_t ext = ram_size > (1u << 20) ? (ram_size - (1u << 20)) / 1024 : 0;
    if (ext > 65535)
        ext = 65535;
    put16(c->ram + 0x17, ext);
    put16(c->ram + 0x30, ext);
    uint32_t above16 = ram_size > (16u << 20) ? (ram_size - (16u << 20)) / 65536 : 0;
    put16(c->ram + 0x34, above16 > 65535 ? 65535 : above16);
    c->ram[0x32] = 0x20;                      /* century */
}

void cmos_init(struct cmos *c, struct bus *b, uint32_t ram_size)
{
    cmos_reset(c, ram_size);
    bus_map_io(b, CMOS_INDEX, 2, c, cmos_read, cmos_write);
}
