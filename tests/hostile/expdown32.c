/*
 * expdown32.c - hostile kernel: a 32-bit expand-down data segment whose
 * valid offsets are exactly the top 4 MiB (base 0, limit 0xFFBFFFFF, B=1),
 * where a VMM keeps its shadow GDT, IDT, TSS, page directory, vcpu page
 * and translation cache. Natively (no RAM there) reads see open bus and
 * writes vanish; under a VMM the guest must see the same and never the
 * VMM's bytes (issue 11: this window used to print them and let the guest
 * write a shadow GDT slot). Also a wrapping expand-down segment whose top
 * wraps past 4 GiB into the kernel's own memory.
 */
#include "hostile.h"

/* at a fixed address (link.ld): its address is printed in the probes */
static volatile uint32_t marker FIXED("50_hx_marker");

int kmain(uint32_t magic, struct multiboot_info *mbi)
{
    con_init();
    desc_init();
    hx_catch_init();
    marker = 0x600DF00Du;
    hx_gdt_init(16);
    kprintf("expdown32: expand-down B=1 base 0 limit 0xffbfffff\n");
    hx_gdt[6] = hx_desc(0, 0xFFBFF, ACC_DATA_DOWN, FL_G | FL_DB);
    hx_gdt_lgdt();
    hx_show_load("top 4 MiB", 0x30);
    hx_show_read("below limit", 0x00100000u);
    hx_show_read("shadow gdt", 0xFFC00008u);
    hx_show_read("shadow gdt+4", 0xFFC0000Cu);
    hx_show_read("hardware idt", 0xFFC10000u);
    hx_show_read("vmm tss esp0", 0xFFC11004u);
    hx_show_read("vmm page dir", 0xFFC12000u);
    hx_show_read("vcpu page", 0xFFC30000u);
    hx_show_read("tc", 0xFFE00000u);
    hx_show_read("tc+16", 0xFFE00010u);
    hx_show_read("last dword", 0xFFFFFFFCu);
    hx_show_read("across the end", 0xFFFFFFFEu);
    hx_show_write("shadow gdt slot 1", 0xFFC00008u, 0x12345678u);
    hx_show_read("shadow gdt slot 1", 0xFFC00008u);
    hx_show_write("vmm page dir", 0xFFC12000u, 0x00000087u);
    hx_show_read("vmm page dir", 0xFFC12000u);
    /* rep movs out of the window into RAM */
    static uint32_t copy[4];
    __asm__ volatile("push %%ds\n\tpush %%es\n\t"
                     "mov %%ds, %%ax\n\tmov %%ax, %%es\n\t"
                     "mov %%fs, %%ax\n\tmov %%ax, %%ds\n\t"
                     "cld\n\trep movsl\n\t"
                     "pop %%es\n\tpop %%ds"
                     : : "S"(0xFFC00000u), "D"(copy), "c"(4) : "eax", "memory");
    kprintf("  rep movsl from fs:0xffc00000: %08x %08x %08x %08x\n",
            copy[0], copy[1], copy[2], copy[3]);

    kprintf("expdown32: expand-down B=1 base 0x10000000 limit 0 (wraps)\n");
    hx_gdt[7] = hx_desc(0x10000000u, 0, ACC_DATA_DOWN, FL_DB);
    hx_gdt_lgdt();
    hx_show_load("wrapping", 0x38);
    hx_show_read("region via wrap", 0xEFC00000u);
    hx_show_read("tc via wrap", 0xEFE00000u);
    hx_show_read("marker via wrap", (uint32_t)&marker + 0xF0000000u);
    hx_show_write("marker via wrap", (uint32_t)&marker + 0xF0000000u, 0xCAFE0001u);
    kprintf("  marker now 0x%08x\n", marker);
    hx_show_read("offset 0", 0);
    kprintf("expdown32: done\n");
    return EXIT_OK;
}
