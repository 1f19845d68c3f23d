/*
 * echo.c - a guest that reads COM1: the input ringside records and replays.
 *
 * Everything the other samples do comes from inside the VM; this one waits
 * for bytes from outside, the one nondeterministic input a ringside guest
 * has (docs/replay.md). It polls the 16550's line status register for Data
 * Ready (LSR bit 0), reads each byte from the receive buffer, echoes it in
 * upper case and keeps a count and a checksum, until a '.' or 4096 bytes.
 * What it prints depends only on the bytes, never on when they came, so
 * QEMU fed the same bytes on its serial prints the same (tests/golden/echo.in
 * is the input of its golden). How long it polled for each byte does depend
 * on when it came: that shows in the modeled cycles, which a replay must
 * reproduce exactly.
 */
#include "kernel.h"

#define COM1_DATA 0x3F8
#define COM1_LSR  0x3FD
#define LSR_DR    0x01
#define MAX_BYTES 4096

static uint8_t read_byte(void)
{
    while (!(inb(COM1_LSR) & LSR_DR))
        __asm__ volatile("pause");
    return inb(COM1_DATA);
}

static char upper(char c)
{
    return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

int kmain(uint32_t magic, struct multiboot_info *mbi)
{
    unsigned n = 0, lines = 0;
    uint32_t sum = 0;

    con_init();
    kprintf("echo: type a line, end with '.'\n");
    while (n < MAX_BYTES) {
        char c = (char)read_byte();
        n++;
        sum = sum * 31u + (uint8_t)c;
        if (c == '\r')
            c = '\n';
        if (c == '\n')
            lines++;
        con_putc(upper(c));
        if (c == '.')
            break;
    }
    kprintf("\necho: %u bytes, %u lines, checksum 0x%08x\n", n, lines, sum);
    return EXIT_OK;
}
