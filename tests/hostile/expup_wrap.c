/*
 * expup_wrap.c - hostile kernel: expand-up segments whose base + limit
 * wraps past 4 GiB (through the VMM region and on into low memory), one
 * based inside the region, and a read-only one (a write through it must
 * stay #GP, not become an open-bus write).
 */
#include "hostile.h"

/* at a fixed address (link.ld): its address is printed in the probes */
static volatile uint32_t marker FIXED("50_hx_marker");

int kmain(uint32_t magic, struct multiboot_info *mbi)
{
    con_init();
    desc_init();
    hx_catch_init();
    marker = 0x0DDBA11u;
    hx_gdt_init(16);
    kprintf("expup_wrap: base 0x10000000 limit 4G (wraps)\n");
    hx_gdt[6] = hx_desc(0x10000000u, 0xFFFFF, ACC_DATA_RW, FL_G | FL_DB);
    hx_gdt_lgdt();
    hx_show_load("wrapping", 0x30);
    hx_show_read("ram", (uint32_t)&marker - 0x10000000u);
    hx_show_read("region start", 0xEFC00000u);
    hx_show_read("shadow gdt+8", 0xEFC00008u);
    hx_show_read("tc", 0xEFE00000u);
    hx_show_read("region end", 0xEFFFFFFCu);
    hx_show_read("marker", (uint32_t)&marker + 0xF0000000u);
    hx_show_write("marker", (uint32_t)&marker + 0xF0000000u, 0xB0B0B0B0u);
    kprintf("  marker now 0x%08x\n", marker);
    hx_show_write("vmm page dir", 0xEFC12000u, 0x87u);
    hx_show_read("vmm page dir", 0xEFC12000u);
    kprintf("expup_wrap: base 0xffc00000 limit 0xfffff (inside the region)\n");
    hx_gdt[7] = hx_desc(0xFFC00000u, 0xFFFFF, ACC_DATA_RW, FL_DB);
    hx_gdt_lgdt();
    hx_show_load("inside", 0x38);
    hx_show_read("offset 0", 0);
    hx_show_read("idt", 0x10000);
    hx_show_read("past limit", 0x100000);
    kprintf("expup_wrap: base 0xffff0000 limit 0x1ffff (wraps to 0..0xffff)\n");
    hx_gdt[8] = hx_desc(0xFFFF0000u, 0x1FFFF, ACC_DATA_RW, FL_DB);
    *(volatile uint32_t *)0x7100 = 0x31323334u;
    hx_gdt_lgdt();
    hx_show_load("short wrap", 0x40);
    hx_show_read("region part", 0xFFF0);
    hx_show_read("low marker", 0x17100);
    kprintf("expup_wrap: read-only flat (0x91)\n");
    hx_gdt[9] = hx_desc(0, 0xFFFFF, 0x91, FL_G | FL_DB);
    hx_gdt_lgdt();
    hx_show_load("read-only", 0x48);
    hx_show_read("region", 0xFFC00000u);
    hx_show_write("region", 0xFFC00000u, 1);
    hx_show_write("ram", (uint32_t)&marker, 1);
    kprintf("expup_wrap: done\n");
    return EXIT_OK;
}
