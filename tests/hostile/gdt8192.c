/*
 * gdt8192.c - hostile kernel: a GDT with all 8192 entries. The selectors
 * 0xFFD8-0xFFF8 named the VMM's own shadow descriptors (TC data, TC code,
 * VMM code, VMM data, VMM TSS) before issue 11; the guest must see its own
 * descriptors there: data segments over its own buffers, loaded into FS and
 * DS, and a code segment (based at 1 MiB) it far-jumps through.
 */
#include "hostile.h"

static uint32_t bufs[5][4] __attribute__((aligned(16)));

static uint32_t read_ds(uint16_t sel, uint32_t off)
{
    uint32_t v;
    __asm__ volatile("push %%ds\n\tmov %w1, %%ds\n\tmovl (%2), %0\n\tpop %%ds"
                     : "=r"(v) : "r"(sel), "r"(off) : "memory");
    return v;
}

/* ljmp through slot 8188 (a code segment based at 0x100000), then back */
static uint32_t far_trip(void)
{
    uint32_t v;
    __asm__ volatile("ljmp $0xFFE0, $(1f - 0x100000)\n"
                     "1:\n\t"
                     "movl $0x5A5A0001, %0\n\t"
                     "ljmp $0x08, $2f\n"
                     "2:"
                     : "=r"(v) : : "memory");
    return v;
}

int kmain(uint32_t magic, struct multiboot_info *mbi)
{
    con_init();
    desc_init();
    hx_catch_init();
    for (unsigned i = 0; i < 5; i++)
        for (unsigned k = 0; k < 4; k++)
            bufs[i][k] = 0xA0000000u | (8187u + i) << 8 | k;
    hx_gdt_init(8192);
    for (unsigned i = 0; i < 5; i++)
        hx_gdt[8187 + i] = hx_desc((uint32_t)bufs[i], 15, ACC_DATA_RW, FL_DB);
    hx_gdt[8188] = hx_desc(0x100000u, 0xFFFFF, ACC_CODE_RX, FL_DB);  /* code */
    hx_gdt_lgdt();
    kprintf("gdt8192: 8192 entries, slots 8187-8191 the guest's\n");
    static const uint16_t sels[5] = { 0xFFD8, 0xFFE0, 0xFFE8, 0xFFF0, 0xFFF8 };
    for (unsigned i = 0; i < 5; i++) {
        hx_show_load("top slot", sels[i]);
        hx_show_read("offset 0", 0);
        hx_show_read("offset 12", 12);
        hx_show_read("past limit", 16);
    }
    kprintf("ds=0xffd8 reads 0x%08x, ds=0xfff8 reads 0x%08x, ds=0xfff0 reads 0x%08x\n",
            read_ds(0xFFD8, 4), read_ds(0xFFF8, 8), read_ds(0xFFF0, 0));
    hx_show_load("ljmp target as data", 0xFFE0);
    hx_show_read("code as data", 0);
    kprintf("ljmp 0xffe0: came back with 0x%08x\n", far_trip());
    kprintf("gdt8192: done\n");
    return EXIT_OK;
}
