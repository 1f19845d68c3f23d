/*
 * kbd.c - a guest that reads the PS/2 keyboard: the 8042 at ports 0x60/0x64.
 *
 * A PC keyboard sends scancodes, not characters: a make code when a key
 * goes down, the same code with bit 7 set when it comes up, and Shift is a
 * key like any other. Through the 8042 (translation on, as firmware leaves
 * it) a kernel sees scancode set 1 and raises IRQ 1 for each byte. This
 * kernel takes IRQ 1 through the 8259, reads one byte per interrupt (so a
 * controller that raised IRQ 1 once for several bytes would lose them; a
 * byte already waiting when it starts is read by polling),
 * prints every scancode, turns them into characters with a US layout and
 * its own Shift state, and stops at the release of Enter.
 *
 * Its golden is QEMU typing the same keys through its monitor's `sendkey`
 * (tests/golden/kbd.sendkey); ringside types tests/golden/kbd.in, the same
 * characters, with `run --keyboard`.
 */
#include "kernel.h"

#define KBD_DATA 0x60
#define KBD_STATUS 0x64
#define MAX_CODES 256

static volatile uint8_t codes[MAX_CODES];
static volatile unsigned ncodes, irqs, polled;

/* One byte from the output buffer, if it holds one. */
static int take_byte(void)
{
    if (!(inb(KBD_STATUS) & 1))
        return 0;
    uint8_t b = inb(KBD_DATA);
    if (ncodes < MAX_CODES)
        codes[ncodes++] = b;
    return 1;
}

static void on_kbd(struct trap_frame *tf)
{
    irqs += take_byte();
    pic_eoi(1);
}

static const char plain[0x3A] =
    "\0\0331234567890-=\b\tqwertyuiop[]\n\0asdfghjkl;'`\0\\zxcvbnm,./\0\0\0 ";
static const char shifted[0x3A] =
    "\0\0!@#$%^&*()_+\0\0QWERTYUIOP{}\n\0ASDFGHJKL:\"~\0|ZXCVBNM<>?\0\0\0 ";

int kmain(uint32_t magic, struct multiboot_info *mbi)
{
    char line[128];
    unsigned n = 0, seen = 0;
    int shift = 0;

    con_init();
    desc_init();
    pic_remap();
    trap_set_handler(IRQ_BASE + 1, on_kbd);
    pic_unmask(1);
    kprintf("kbd: type a line\n");
    /* A byte that reached the 8042 before the 8259 was programmed raised
       IRQ 1 into the old setup; read it by polling, as drivers flush at
       start: the next one raises IRQ 1 again. */
    __asm__ volatile("cli");
    polled = take_byte();
    __asm__ volatile("sti");
    for (;;) {
        while (seen == ncodes)
            __asm__ volatile("pause");
        uint8_t sc = codes[seen++];
        kprintf("%02x ", sc);
        if (sc == 0x2A || sc == 0x36 || sc == 0xAA || sc == 0xB6) {
            shift = !(sc & 0x80);
            continue;
        }
        if (sc == 0x9C)
            break;
        if (sc & 0x80 || sc >= 0x3A)
            continue;
        char c = shift ? shifted[sc] : plain[sc];
        if (c && c != '\n' && n < sizeof line - 1)
            line[n++] = c;
    }
    __asm__ volatile("cli");
    line[n] = 0;
    kprintf("\nkbd: %u scancodes, each read once (%s), line \"%s\"\n", seen,
            irqs + polled == seen ? "yes" : "no", line);
    return EXIT_OK;
}
