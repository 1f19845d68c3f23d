/*
 * desc.c - the descriptor tables: GDT, TSS and IDT.
 *
 * Protected mode needs a GDT even when everything is flat. Ours has the
 * classic layout (Intel SDM vol. 3, 3.4.5 and 5.2):
 *
 *   0x00 null   0x08 kernel code (DPL 0)   0x10 kernel data (DPL 0)
 *   0x18 user code (DPL 3)   0x20 user data (DPL 3)   0x28 TSS
 *
 * All four code/data segments have base 0 and a 4 GiB limit. Their
 * "accessed" bit is set in advance so the CPU never has to write it back,
 * which keeps LAR results identical on every implementation. The TSS is
 * used only for ESP0/SS0: the stack the CPU switches to when an interrupt
 * arrives while ring 3 runs (SDM vol. 3, 6.12.1). Its I/O map base points
 * past the limit, so ring 3 has no I/O permission at all.
 *
 * The IDT has all 256 vectors pointing at the stubs in trapasm.S (16 bytes
 * each). They start as DPL-0 interrupt gates; kernels open individual
 * vectors to ring 3 (int 0x80) with idt_set_gate().
 */
#include "kernel.h"

struct tss {
    uint32_t link;            /* previous task (unused) */
    uint32_t esp0, ss0;       /* ring-0 stack for traps from ring 3 */
    uint32_t esp1, ss1, esp2, ss2;
    uint32_t cr3, eip, eflags;
    uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
    uint32_t es, cs, ss, ds, fs, gs, ldt;
    uint16_t trap;            /* debug trap on task switch */
    uint16_t iomap_base;      /* offset of the I/O bitmap; >= limit: none */
};

struct dt_ptr {
    uint16_t limit;
    uint32_t base;
} __attribute__((packed));

/* At fixed addresses (link.ld): GDT 0x200000, IDT 0x201000, TSS 0x202000. */
static uint64_t gdt[GDT_ENTRIES] FIXED("00_gdt");
static uint64_t idt[256] FIXED("01_idt");
static struct tss tss FIXED("02_tss");
static uint8_t trap_stack[8192] __attribute__((aligned(16))); /* TSS.ESP0 */

extern const char trap_stubs[]; /* trapasm.S: 256 stubs, 16 bytes apart */

/* access: P|DPL|S|type byte; flags: G and D/B nibble (SDM vol. 3, fig. 3-8) */
static uint64_t make_desc(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
    uint64_t d = limit & 0xFFFFu;
    d |= (uint64_t)(base & 0xFFFFFFu) << 16;
    d |= (uint64_t)access << 40;
    d |= (uint64_t)((limit >> 16) & 0xFu) << 48;
    d |= (uint64_t)(flags & 0xFu) << 52;
    d |= (uint64_t)(base >> 24) << 56;
    return d;
}

static void gdt_load(void)
{
    struct dt_ptr p = { sizeof(gdt) - 1, (uint32_t)gdt };
    __asm__ volatile(
        "lgdt %0\n\t"
        "ljmp %1, $1f\n"        /* reload CS with the new kernel code selector */
        "1:\n\t"
        "mov %2, %%ax\n\t"
        "mov %%ax, %%ds\n\t"
        "mov %%ax, %%es\n\t"
        "mov %%ax, %%fs\n\t"
        "mov %%ax, %%gs\n\t"
        "mov %%ax, %%ss\n\t"
        : : "m"(p), "i"(SEL_KCODE), "i"(SEL_KDATA) : "eax", "memory");
}

static void tss_init(void)
{
    memset(&tss, 0, sizeof(tss));
    tss.ss0 = SEL_KDATA;
    tss.esp0 = (uint32_t)(trap_stack + sizeof(trap_stack));
    tss.iomap_base = sizeof(tss);   /* beyond the limit: no I/O bitmap */
    __asm__ volatile("ltr %w0" : : "r"(SEL_TSS));
}

void tss_set_esp0(uint32_t esp0)
{
    tss.esp0 = esp0;
}

void idt_set_gate(int vector, int type, int dpl)
{
    uint32_t off = (uint32_t)(trap_stubs + 16 * vector);
    uint64_t g = off & 0xFFFFu;
    g |= (uint64_t)SEL_KCODE << 16;
    g |= (uint64_t)(0x80u | (dpl & 3) << 5 | (type & 0xF)) << 40;
    g |= (uint64_t)(off >> 16) << 48;
    idt[vector] = g;
}

/* A gate to the kernel's own entry code instead of a trap stub (for
   handlers that must be a few instructions, e.g. the nanobenchmarks). */
void idt_set_handler(int vector, void (*entry)(void), int type, int dpl)
{
    uint32_t off = (uint32_t)entry;
    uint64_t g = off & 0xFFFFu;
    g |= (uint64_t)SEL_KCODE << 16;
    g |= (uint64_t)(0x80u | (dpl & 3) << 5 | (type & 0xF)) << 40;
    g |= (uint64_t)(off >> 16) << 48;
    idt[vector] = g;
}

static void idt_load(void)
{
    struct dt_ptr p = { sizeof(idt) - 1, (uint32_t)idt };
    for (int v = 0; v < 256; v++)
        idt_set_gate(v, GATE_INTR, 0);
    __asm__ volatile("lidt %0" : : "m"(p));
}

void desc_init(void)
{
    gdt[0] = 0;
    gdt[1] = make_desc(0, 0xFFFFF, 0x9B, 0xC); /* code, ring 0, exec/read, accessed */
    gdt[2] = make_desc(0, 0xFFFFF, 0x93, 0xC); /* data, ring 0, read/write, accessed */
    gdt[3] = make_desc(0, 0xFFFFF, 0xFB, 0xC); /* code, ring 3 */
    gdt[4] = make_desc(0, 0xFFFFF, 0xF3, 0xC); /* data, ring 3 */
    gdt[5] = make_desc((uint32_t)&tss, sizeof(tss) - 1, 0x89, 0x0); /* 32-bit TSS */
    gdt_load();
    tss_init();
    idt_load();
}
