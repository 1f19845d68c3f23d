/*
 * hostile.c - the helpers of hostile.h: the kernel's own (large) GDT, an
 * LDT, and fault-catching probes through FS.
 *
 * A probe sets hx_resume to the instruction after the access before making
 * it; the fault handlers below record the vector and error code and resume
 * there, so a kernel can print every outcome and go on. Only the probe
 * sequences in this file fault on purpose.
 */
#include "hostile.h"

uint64_t hx_gdt[8192] __attribute__((aligned(4096)));
volatile uint32_t hx_err, hx_cr2;
static volatile uint32_t hx_vec;
volatile uint32_t hx_resume;

struct hx_dtr {
    uint16_t limit;
    uint32_t base;
} __attribute__((packed));

static uint16_t hx_gdt_limit;

void hx_gdt_lgdt(void)
{
    struct hx_dtr p = { hx_gdt_limit, (uint32_t)hx_gdt };
    __asm__ volatile("lgdt %0" : : "m"(p) : "memory");
}

void hx_gdt_init(unsigned entries)
{
    /* the library's GDT is at its fixed address (link.ld); SGDT would show
       the VMM's shadow under trap (a sensitive instruction) */
    struct hx_dtr p = { (uint16_t)(entries * 8u - 1u), (uint32_t)hx_gdt };
    memcpy(hx_gdt, (const void *)0x200000, 6 * 8);
    hx_gdt_limit = p.limit;
    __asm__ volatile("lgdt %0" : : "m"(p) : "memory");
}

void hx_ldt_load(unsigned slot, uint64_t *table, unsigned entries)
{
    hx_gdt[slot] = hx_desc((uint32_t)table, entries * 8u - 1u, ACC_LDT, 0);
    __asm__ volatile("lldt %w0" : : "r"((uint16_t)(slot * 8u)) : "memory");
}

static void on_fault(struct trap_frame *tf)
{
    if (!hx_resume) {
        kprintf("unexpected %s at eip 0x%08x err 0x%x\n", trap_name((int)tf->vector),
                tf->eip, tf->err);
        kexit(EXIT_BAD_TRAP);
    }
    hx_vec = tf->vector;
    hx_err = tf->err;
    if (tf->vector == 14)
        hx_cr2 = read_cr2();
    tf->eip = hx_resume;
    hx_resume = 0;
}

void hx_catch_init(void)
{
    static const int vecs[] = { 6, 11, 12, 13, 14 };
    for (unsigned i = 0; i < sizeof vecs / sizeof vecs[0]; i++)
        trap_set_handler(vecs[i], on_fault);
}

int hx_load_fs(uint16_t sel)
{
    hx_vec = 0;
    __asm__ volatile("movl $1f, hx_resume\n\t"
                     "mov %w0, %%fs\n"
                     "1:\n\t"
                     "movl $0, hx_resume"
                     : : "r"(sel) : "memory");
    return (int)hx_vec;
}

int hx_read32(uint32_t off, uint32_t *val)
{
    uint32_t v = 0xDEADDEADu;
    hx_vec = 0;
    __asm__ volatile("movl $1f, hx_resume\n\t"
                     "movl %%fs:(%1), %0\n"
                     "1:\n\t"
                     "movl $0, hx_resume"
                     : "+r"(v) : "r"(off) : "memory");
    *val = v;
    return (int)hx_vec;
}

int hx_write32(uint32_t off, uint32_t val)
{
    hx_vec = 0;
    __asm__ volatile("movl $1f, hx_resume\n\t"
                     "movl %1, %%fs:(%0)\n"
                     "1:\n\t"
                     "movl $0, hx_resume"
                     : : "r"(off), "r"(val) : "memory");
    return (int)hx_vec;
}

static void show_fault(int vec)
{
    if (vec == 14)
        kprintf("fault %s(0x%x) cr2=0x%08x\n", trap_name(vec), hx_err, hx_cr2);
    else
        kprintf("fault %s(0x%x)\n", trap_name(vec), hx_err);
}

void hx_show_read(const char *name, uint32_t off)
{
    uint32_t v;
    int vec = hx_read32(off, &v);
    kprintf("  read  %-18s fs:0x%08x -> ", name, off);
    if (vec)
        show_fault(vec);
    else
        kprintf("0x%08x\n", v);
}

void hx_show_write(const char *name, uint32_t off, uint32_t val)
{
    int vec = hx_write32(off, val);
    kprintf("  write %-18s fs:0x%08x <- 0x%08x: ", name, off, val);
    if (vec)
        show_fault(vec);
    else
        kprintf("ok\n");
}

void hx_show_load(const char *name, uint16_t sel)
{
    int vec = hx_load_fs(sel);
    kprintf("load fs=0x%04x (%s): ", sel, name);
    if (vec)
        show_fault(vec);
    else
        kprintf("ok\n");
}

int hx_int41(void)
{
    hx_vec = 0;
    __asm__ volatile("movl $1f, hx_resume\n\t"
                     "int $0x41\n"
                     "1:\n\t"
                     "movl $0, hx_resume"
                     : : : "memory");
    return (int)hx_vec;
}
