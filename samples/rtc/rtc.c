/*
 * rtc.c - the MC146818 real-time clock, read and set as a kernel does.
 *
 * The PC's clock answers at ports 0x70 (index) and 0x71 (data). Its time
 * registers (seconds 0, minutes 2, hours 4, weekday 6, day 7, month 8,
 * year 9, century 0x32) are BCD or binary and 24- or 12-hour as status
 * register B says. The golden run is QEMU with -rtc base=2026-01-01T00:00:00
 * (ringside's fixed start); this kernel:
 *
 *  1. reads the date at boot in the firmware's format (BCD, 24-hour);
 *  2. sets SET (status B bit 7: updates stop), writes 2026-12-31 23:59:59
 *     with a wrong weekday, reads it back unchanged while SET holds;
 *  3. clears SET (the clock restarts from the registers) and reads the same
 *     time in binary and in 12-hour BCD (the hour's bit 7 is PM), and the
 *     weekday the clock computes from the date (Thursday, 5);
 *  4. waits for the next second: 2027-01-01 00:00:00, a Friday (6), the
 *     hour 12 AM in 12-hour mode;
 *  5. writes the minutes alone while the clock runs: the rest is kept.
 *
 * Nothing it prints depends on how fast the machine is, only on the order
 * of the seconds.
 */
#include "kernel.h"

enum { SEC = 0, MIN = 2, HOUR = 4, WDAY = 6, MDAY = 7, MON = 8, YEAR = 9,
       STA = 0x0A, STB = 0x0B, CENTURY = 0x32 };

static uint8_t rd(uint8_t r)
{
    outb(0x70, r);
    return inb(0x71);
}

static void wr(uint8_t r, uint8_t v)
{
    outb(0x70, r);
    outb(0x71, v);
}

static void show(const char *what)
{
    kprintf("%s: %02x%02x-%02x-%02x %02x:%02x:%02x weekday %x\n", what, rd(CENTURY), rd(YEAR),
            rd(MON), rd(MDAY), rd(HOUR), rd(MIN), rd(SEC), rd(WDAY));
}

/* Wait until the seconds register changes (bounded). */
static int next_second(void)
{
    uint8_t s = rd(SEC);
    for (unsigned i = 0; i < 100000000u; i++)
        if (rd(SEC) != s)
            return 0;
    return -1;
}

int kmain(uint32_t magic, struct multiboot_info *mbi)
{
    kprintf("status A %02x B %02x\n", rd(STA), rd(STB));
    kprintf("boot: %02x%02x-%02x-%02x %02x:%02x weekday %x\n", rd(CENTURY), rd(YEAR),
            rd(MON), rd(MDAY), rd(HOUR), rd(MIN), rd(WDAY));

    wr(STB, 0x82);                                /* SET, 24-hour, BCD */
    wr(CENTURY, 0x20), wr(YEAR, 0x26), wr(MON, 0x12), wr(MDAY, 0x31);
    wr(HOUR, 0x23), wr(MIN, 0x59), wr(SEC, 0x59), wr(WDAY, 0x02);
    show("set, held");
    wr(STB, 0x02);                                /* run */
    show("running, BCD 24h");
    wr(STB, 0x06);
    show("binary 24h");
    wr(STB, 0x00);
    show("BCD 12h");
    if (next_second() != 0) {
        kprintf("the clock did not advance\n");
        return 1;
    }
    show("next second, BCD 12h");
    wr(STB, 0x02);
    show("BCD 24h");
    wr(MIN, 0x30);
    show("minutes written");
    return 0;
}
