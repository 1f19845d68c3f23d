/*
 * expdown16.c - hostile kernel: 16-bit (B=0) expand-down data segments,
 * whose upper bound is 0xFFFF. One is based at 0xFFC00000, so its valid
 * offsets (limit, 0xFFFF] are the first 64 KiB of the VMM region (the
 * shadow GDT); one is based at 0xFFFF8000, so its top wraps past 4 GiB
 * into low memory, where the kernel planted a marker; one straddles the
 * region's start (only its part inside the region is read: the part below
 * is above guest RAM, where a VMM stops the run, a memory issue of its own).
 */
#include "hostile.h"

int kmain(uint32_t magic, struct multiboot_info *mbi)
{
    con_init();
    desc_init();
    hx_catch_init();
    hx_gdt_init(16);
    volatile uint32_t *low = (volatile uint32_t *)0x7000;
    *low = 0x10111213u;
    kprintf("expdown16: B=0 base 0xffc00000 limit 0 (the shadow GDT)\n");
    hx_gdt[6] = hx_desc(0xFFC00000u, 0, ACC_DATA_DOWN, 0);
    hx_gdt_lgdt();
    hx_show_load("region 64K", 0x30);
    hx_show_read("offset 0", 0);
    hx_show_read("gdt slot 1", 0x0008);
    hx_show_read("gdt slot 2", 0x0010);
    hx_show_read("gdt slot 8191", 0xFFF8);
    hx_show_read("top word", 0xFFFC);
    hx_show_read("past 0xffff", 0xFFFE);
    hx_show_read("past 64K", 0x10000);
    hx_show_write("gdt slot 1", 0x0008, 0x0000FFFFu);
    hx_show_read("gdt slot 1", 0x0008);
    kprintf("expdown16: B=0 base 0xffff8000 limit 0xfff (wraps to 0..0x7fff)\n");
    hx_gdt[7] = hx_desc(0xFFFF8000u, 0xFFF, ACC_DATA_DOWN, 0);
    hx_gdt_lgdt();
    hx_show_load("wrapping 16-bit", 0x38);
    hx_show_read("below limit", 0x0800);
    hx_show_read("region part", 0x1000);
    hx_show_read("region top", 0x7FFC);
    hx_show_read("low marker", 0xF000);
    hx_show_write("low marker", 0xF000, 0x20212223u);
    kprintf("  marker now 0x%08x\n", *low);
    kprintf("expdown16: B=0 base 0xffbff000 limit 0x7ff (straddles the region)\n");
    hx_gdt[8] = hx_desc(0xFFBFF000u, 0x7FF, ACC_DATA_DOWN, 0);
    hx_gdt_lgdt();
    hx_show_load("straddling", 0x40);
    hx_show_read("below limit", 0x0700);
    hx_show_read("first inside", 0x1000);
    hx_show_read("top", 0xFFFC);
    kprintf("expdown16: done\n");
    return EXIT_OK;
}
