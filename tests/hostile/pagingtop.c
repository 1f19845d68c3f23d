/*
 * pagingtop.c - hostile kernel: the expand-down window over the top 4 MiB
 * with guest paging on. The guest's page directory maps only its first
 * 8 MiB, so natively every access through the window is a #PF (CR2 the
 * linear address, error code as the walk gives it). Under a VMM the
 * truncated access is executed again with the region unmapped; the guest
 * must get the same #PF, and never the VMM's bytes.
 */
#include "hostile.h"

static uint32_t pd[1024] FIXED("60_hx_pd");

int kmain(uint32_t magic, struct multiboot_info *mbi)
{
    con_init();
    desc_init();
    hx_catch_init();
    for (int i = 0; i < 2; i++)
        pd[i] = (uint32_t)i << 22 | 0x87u;              /* 4 MiB pages: P | W | U | PS */
    write_cr4(read_cr4() | 0x10u);                      /* PSE */
    write_cr3((uint32_t)pd);
    write_cr0(read_cr0() | 0x80000000u);
    kprintf("pagingtop: paging on, 8 MiB mapped\n");
    hx_gdt_init(16);
    hx_gdt[6] = hx_desc(0, 0xFFBFF, ACC_DATA_DOWN, FL_G | FL_DB);
    hx_gdt[7] = hx_desc(0x10000000u, 0, ACC_DATA_DOWN, FL_DB);   /* wraps to 0 */
    hx_gdt_lgdt();
    hx_show_load("top 4 MiB", 0x30);
    hx_show_read("shadow gdt", 0xFFC00008u);
    hx_show_read("tc", 0xFFE00000u);
    hx_show_write("vmm page dir", 0xFFC12000u, 0x87u);
    hx_show_read("below limit", 0x1000);
    hx_show_load("wrapping", 0x38);
    hx_show_read("region via wrap", 0xEFC00004u);
    hx_show_read("low memory", 0xF0100000u);           /* linear 1 MiB: mapped */
    hx_show_read("unmapped", 0xF0900000u);             /* linear 9 MiB */
    kprintf("pagingtop: done\n");
    return EXIT_OK;
}
