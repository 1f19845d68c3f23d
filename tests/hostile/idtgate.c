/*
 * idtgate.c - hostile kernel: through an expand-down window over the top
 * 4 MiB, write an interrupt gate for vector 0x41 where a VMM keeps its
 * hardware IDT (0xFFC10000), pointing at `evil` through the VMM's old code
 * selector 0xFFE8, then raise int $0x41. Before issue 11 the handler ran
 * at real CPL 0. Natively the write goes nowhere and the guest's own IDT
 * delivers 0x41 to the guest's handler.
 */
#include "hostile.h"

static void evil(void)
{
    kprintf("EVIL: planted gate ran\n");
    kexit(0x55);
}

static int hits;

/* Like hx_show_write without the value: the gate holds evil's address,
   which depends on the compiler's layout (the golden must not). */
static void plant(const char *name, uint32_t off, uint32_t val)
{
    int vec = hx_write32(off, val);
    kprintf("  write %-18s fs:0x%08x: %s\n", name, off, vec ? trap_name(vec) : "ok");
}

static void on_41(struct trap_frame *tf)
{
    hits++;
    kprintf("guest handler: vector 0x%x from eip in kernel: %s\n", tf->vector,
            tf->eip > 0x100000 && tf->eip < 0x200000 ? "yes" : "no");
}

int kmain(uint32_t magic, struct multiboot_info *mbi)
{
    con_init();
    desc_init();
    hx_catch_init();
    trap_set_handler(0x41, on_41);
    hx_gdt_init(16);
    hx_gdt[6] = hx_desc(0, 0xFFBFF, ACC_DATA_DOWN, FL_G | FL_DB);
    hx_gdt[8189] = 0;
    hx_gdt_lgdt();
    hx_show_load("top 4 MiB", 0x30);
    uint32_t off = (uint32_t)evil;
    uint32_t lo = (off & 0xFFFFu) | 0xFFE8u << 16;
    uint32_t hi = (off & 0xFFFF0000u) | 0xEE00u;       /* P, DPL 3, 32-bit interrupt gate */
    plant("idt[0x41] low", 0xFFC10000u + 0x41 * 8, lo);
    plant("idt[0x41] high", 0xFFC10004u + 0x41 * 8, hi);
    hx_show_read("idt[0x41] low", 0xFFC10000u + 0x41 * 8);
    hx_show_read("idt[0x41] high", 0xFFC10004u + 0x41 * 8);
    for (int v = 0x40; v < 0x44; v++) {
        plant("idt gate low", 0xFFC10000u + (uint32_t)v * 8, lo);
        plant("idt gate high", 0xFFC10004u + (uint32_t)v * 8, hi);
    }
    __asm__ volatile("int $0x41");
    int vec = hx_int41();
    kprintf("second int 0x41: %s\n", vec ? trap_name(vec) : "no fault");
    kprintf("int 0x41 twice: guest handler ran %d times\n", hits);
    kprintf("idtgate: done\n");
    return EXIT_OK;
}
