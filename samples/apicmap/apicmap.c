/*
 * apicmap.c - the local and I/O APIC with paging on, as a kernel that maps
 * its devices (xv6 maps them 1:1 at 0xFE000000 up; others alias them).
 *
 * Guest RAM is mapped 1:1 in 4 MiB pages, the device window 0xFEC00000 is
 * mapped 1:1 in a 4 MiB page too, and a page table at 0xC0000000 aliases
 * the local APIC page (0xC0000000) and the I/O APIC page (0xC0001000) in
 * 4 KiB pages. The kernel reads and writes registers through both
 * mappings (a TPR written through one reads back through the other), runs
 * a read-modify-write instruction on the SVR, reads the I/O APIC's
 * version and first redirection entry, and takes a one-shot timer
 * interrupt and a self-IPI whose EOIs go through the alias. Only register
 * values and interrupt counts are printed, so QEMU's output is the golden.
 * Under a VMM every access is to a page the VMM never maps for the guest:
 * a hidden fault (trap, bt) or a VM exit (hw) into the device model.
 */
#include "kernel.h"

#define MIB 0x100000u
#define PTE_P 0x001u
#define PTE_W 0x002u
#define PTE_PCD 0x010u
#define PDE_PS 0x080u
#define CR0_PG 0x80000000u
#define CR4_PSE 0x010u

#define APIC_PA 0xFEE00000u
#define IOAPIC_PA 0xFEC00000u
#define ALIAS 0xC0000000u          /* local APIC alias */
#define IOALIAS 0xC0001000u        /* I/O APIC alias */

#define R_VER 0x30
#define R_TPR 0x80
#define R_PPR 0xA0
#define R_EOI 0xB0
#define R_SVR 0xF0
#define R_ICRLO 0x300
#define R_ICRHI 0x310
#define R_TIMER 0x320
#define R_TICR 0x380
#define R_TCCR 0x390
#define R_TDCR 0x3E0

#define V_TIMER 0x40
#define V_SELF 0x41

typedef uint32_t page_table[1024] __attribute__((aligned(4096)));
static page_table pd, pt_dev;

static uint32_t rd(uint32_t base, uint32_t r) { return *(volatile uint32_t *)(base + r); }
static void wr(uint32_t base, uint32_t r, uint32_t v) { *(volatile uint32_t *)(base + r) = v; }

static volatile unsigned timer_irqs, self_irqs;

static void on_timer(struct trap_frame *tf)
{
    timer_irqs++;
    wr(ALIAS, R_EOI, 0);
}

static void on_self(struct trap_frame *tf)
{
    self_irqs++;
    wr(ALIAS, R_EOI, 0);
}

static void paging_on(void)
{
    for (uint32_t i = 0; i < 8; i++)                       /* 32 MiB of RAM 1:1 */
        pd[i] = (i * 4 * MIB) | PDE_PS | PTE_P | PTE_W;
    pd[IOAPIC_PA >> 22] = IOAPIC_PA | PDE_PS | PTE_PCD | PTE_P | PTE_W;   /* the window 1:1 */
    pt_dev[0] = APIC_PA | PTE_PCD | PTE_P | PTE_W;
    pt_dev[1] = IOAPIC_PA | PTE_PCD | PTE_P | PTE_W;
    pd[ALIAS >> 22] = (uint32_t)pt_dev | PTE_P | PTE_W;
    write_cr4(read_cr4() | CR4_PSE);
    write_cr3((uint32_t)pd);
    write_cr0(read_cr0() | CR0_PG);
    kprintf("paging on: PG=%u\n", read_cr0() >> 31);
}

static uint32_t ioapic_rd(uint32_t base, uint32_t reg)
{
    wr(base, 0x00, reg);
    return rd(base, 0x10);
}

int kmain(uint32_t magic, struct multiboot_info *mbi)
{
    con_init();
    desc_init();
    pic_remap();
    trap_set_handler(V_TIMER, on_timer);
    trap_set_handler(V_SELF, on_self);
    paging_on();
    kprintf("version 1:1 0x%08x alias 0x%08x\n", rd(APIC_PA, R_VER), rd(ALIAS, R_VER));
    wr(ALIAS, R_TPR, 0x20);
    kprintf("tpr written via alias reads 0x%x 1:1, ppr 0x%x\n", rd(APIC_PA, R_TPR),
            rd(ALIAS, R_PPR));
    wr(APIC_PA, R_TPR, 0);
    wr(APIC_PA, R_SVR, 0xFF);
    __asm__ volatile("orl $0x100, (%0)" : : "r"(ALIAS + R_SVR) : "memory");
    kprintf("svr after orl 0x%08x\n", rd(APIC_PA, R_SVR));
    kprintf("ioapic version 1:1 0x%08x alias 0x%08x, redir 0 0x%08x\n",
            ioapic_rd(IOAPIC_PA, 1), ioapic_rd(IOALIAS, 1), ioapic_rd(IOALIAS, 0x10));
    wr(ALIAS, R_TDCR, 0x3);
    wr(ALIAS, R_TIMER, V_TIMER);                   /* one-shot */
    wr(ALIAS, R_TICR, 100000);
    for (unsigned i = 0; i < 1000 && timer_irqs == 0; i++)
        __asm__ volatile("sti; hlt; cli");
    kprintf("one-shot: %u interrupt(s), current %u\n", timer_irqs, rd(ALIAS, R_TCCR));
    wr(APIC_PA, R_ICRHI, 0);
    wr(APIC_PA, R_ICRLO, 1u << 18 | V_SELF);       /* self-IPI */
    __asm__ volatile("sti; nop; nop; cli");
    kprintf("self-IPI: %u interrupt(s), icr 0x%08x\n", self_irqs, rd(ALIAS, R_ICRLO));
    return EXIT_OK;
}
