/*
 * ldt.c - hostile kernel: the same tricks through an LDT (8192 entries):
 * an expand-down window over the top 4 MiB, a wrapping expand-up segment,
 * the selectors 0xFFDC-0xFFFC, a far jump through an LDT code segment, and
 * an LDT entry rewritten in memory then reloaded.
 */
#include "hostile.h"

static uint64_t ldt[8192] __attribute__((aligned(4096)));
static uint32_t bufs[5][4];
/* at a fixed address (link.ld): its address is printed in the probes */
static volatile uint32_t marker FIXED("50_hx_marker");

int kmain(uint32_t magic, struct multiboot_info *mbi)
{
    con_init();
    desc_init();
    hx_catch_init();
    marker = 0x1D71D7u;
    hx_gdt_init(16);
    for (unsigned i = 0; i < 5; i++)
        for (unsigned k = 0; k < 4; k++)
            bufs[i][k] = 0xC0000000u | (8187u + i) << 8 | k;
    ldt[1] = hx_desc(0, 0xFFBFF, ACC_DATA_DOWN, FL_G | FL_DB);
    ldt[2] = hx_desc(0x10000000u, 0xFFFFF, ACC_DATA_RW, FL_G | FL_DB);
    ldt[3] = hx_desc(0xFFC00000u, 0, ACC_DATA_DOWN, 0);
    for (unsigned i = 0; i < 5; i++)
        ldt[8187 + i] = hx_desc((uint32_t)bufs[i], 15, ACC_DATA_RW, FL_DB);
    ldt[4] = hx_desc(0x100000u, 0xFFFFF, ACC_CODE_RX, FL_DB);
    hx_ldt_load(10, ldt, 8192);
    kprintf("ldt: 8192 entries loaded\n");
    hx_show_load("expand-down top", 0x0C);
    hx_show_read("shadow gdt", 0xFFC00008u);
    hx_show_read("tc", 0xFFE00000u);
    hx_show_write("vmm page dir", 0xFFC12000u, 0x87u);
    hx_show_read("vmm page dir", 0xFFC12000u);
    hx_show_read("below limit", 0x1000);
    hx_show_load("wrapping", 0x14);
    hx_show_read("region", 0xEFC00000u);
    hx_show_read("marker", (uint32_t)&marker + 0xF0000000u);
    hx_show_load("16-bit region", 0x1C);
    hx_show_read("offset 8", 8);
    static const uint16_t sels[5] = { 0xFFDC, 0xFFE4, 0xFFEC, 0xFFF4, 0xFFFC };
    for (unsigned i = 0; i < 5; i++) {
        hx_show_load("top ldt slot", sels[i]);
        hx_show_read("offset 4", 4);
    }
    uint32_t v;
    __asm__ volatile("ljmp $0x24, $(1f - 0x100000)\n"
                     "1:\n\t"
                     "movl $0x5A5A0003, %0\n\t"
                     "ljmp $0x08, $2f\n"
                     "2:"
                     : "=r"(v) : : "memory");
    kprintf("ljmp 0x24 (ldt code): came back with 0x%08x\n", v);
    kprintf("ldt entry 8191 rewritten to bufs[0]\n");
    hx_show_load("0xfffc", 0xFFFC);
    ldt[8191] = hx_desc((uint32_t)bufs[0], 15, ACC_DATA_RW, FL_DB);
    hx_show_read("cached", 4);
    hx_show_load("reload", 0xFFFC);
    hx_show_read("new", 4);
    hx_show_load("null ldt: lldt 0 then 0x0c", 0);
    __asm__ volatile("lldt %w0" : : "r"((uint16_t)0));
    hx_show_load("no ldt", 0x0C);
    kprintf("ldt: done\n");
    return EXIT_OK;
}
