/*
 * gdtrewrite.c - hostile kernel: rewrite a GDT entry in memory, then use
 * the segment register loaded before (its hidden cache keeps the old
 * descriptor, SDM vol. 3, 3.4.3) and after a reload (the new one). Under
 * trap and bt the shadow used to keep the stale descriptor on reload.
 * Also a rewrite that turns the entry into an expand-down window over the
 * top 4 MiB, and one that makes it not present.
 */
#include "hostile.h"

static uint32_t a[4] = { 0xAAAA0000u, 0xAAAA0001u, 0xAAAA0002u, 0xAAAA0003u };
static uint32_t b[4] = { 0xBBBB0000u, 0xBBBB0001u, 0xBBBB0002u, 0xBBBB0003u };

static uint32_t read_ds(uint16_t sel, uint32_t off)
{
    uint32_t v;
    __asm__ volatile("push %%ds\n\tmov %w1, %%ds\n\tmovl (%2), %0\n\tpop %%ds"
                     : "=r"(v) : "r"(sel), "r"(off) : "memory");
    return v;
}

int kmain(uint32_t magic, struct multiboot_info *mbi)
{
    con_init();
    desc_init();
    hx_catch_init();
    hx_gdt_init(16);
    hx_gdt[6] = hx_desc((uint32_t)a, 15, ACC_DATA_RW, FL_DB);
    kprintf("gdtrewrite: entry 6 over a[]\n");
    hx_show_load("a", 0x30);
    hx_show_read("fs:4", 4);
    hx_gdt[6] = hx_desc((uint32_t)b, 7, ACC_DATA_RW, FL_DB);
    kprintf("entry 6 rewritten in memory to b[], limit 7\n");
    hx_show_read("fs:4 (cached a)", 4);
    hx_show_read("fs:12 (cached a)", 12);
    hx_show_load("reload", 0x30);
    hx_show_read("fs:4 (b)", 4);
    hx_show_read("fs:12 (b, limit)", 12);
    kprintf("ds reload right after a rewrite: ");
    hx_gdt[6] = hx_desc((uint32_t)a, 15, ACC_DATA_RW, FL_DB);
    uint32_t v1 = read_ds(0x30, 8);
    hx_gdt[6] = hx_desc((uint32_t)b, 15, ACC_DATA_RW, FL_DB);
    uint32_t v2 = read_ds(0x30, 8);
    kprintf("0x%08x then 0x%08x\n", v1, v2);
    kprintf("entry 6 rewritten to expand-down over the top 4 MiB\n");
    hx_gdt[6] = hx_desc(0, 0xFFBFF, ACC_DATA_DOWN, FL_G | FL_DB);
    hx_show_read("fs:4 (cached b)", 4);
    hx_show_load("reload", 0x30);
    hx_show_read("shadow gdt", 0xFFC00030u);
    hx_show_write("shadow gdt", 0xFFC00030u, 0x0000FFFFu);
    hx_show_read("shadow gdt", 0xFFC00030u);
    hx_show_read("fs:4", 4);
    kprintf("entry 6 rewritten not present\n");
    hx_gdt[6] = hx_desc((uint32_t)a, 15, 0x13, FL_DB);
    hx_show_read("still cached", 0xFFC00030u);
    hx_show_load("null first", 0);      /* a trap frame would pop fs = 0x30 */
    hx_show_load("reload", 0x30);
    kprintf("entry 7 written as code, far jump through it\n");
    hx_gdt[7] = hx_desc(0x100000u, 0xFFFFF, ACC_CODE_RX, FL_DB);
    uint32_t v;
    __asm__ volatile("ljmp $0x38, $(1f - 0x100000)\n"
                     "1:\n\t"
                     "movl $0x5A5A0002, %0\n\t"
                     "ljmp $0x08, $2f\n"
                     "2:"
                     : "=r"(v) : : "memory");
    kprintf("  came back with 0x%08x\n", v);
    kprintf("gdtrewrite: done\n");
    return EXIT_OK;
}
