/*
 * lapic.c - the local APIC at 0xFEE00000, register by register.
 *
 * Prints what the firmware leaves (IA32_APIC_BASE, ID, version, TPR, SVR,
 * the LVT entries), then exercises the timer in one-shot and periodic mode
 * with a divide configuration, a masked timer, TPR holding an interrupt in
 * IRR, ISR/EOI, a self-IPI through the ICR, INIT and STARTUP to an absent
 * CPU, and the error status register. Nothing printed depends on how fast
 * the machine is (only counts of interrupts, bits and register values), so
 * the output under qemu-system-i386 is the golden for ringside.
 */
#include "kernel.h"

#define APIC 0xFEE00000u
#define R_ID 0x20
#define R_VER 0x30
#define R_TPR 0x80
#define R_PPR 0xA0
#define R_EOI 0xB0
#define R_LDR 0xD0
#define R_DFR 0xE0
#define R_SVR 0xF0
#define R_ISR 0x100
#define R_TMR 0x180
#define R_IRR 0x200
#define R_ESR 0x280
#define R_ICRLO 0x300
#define R_ICRHI 0x310
#define R_TIMER 0x320
#define R_LINT0 0x350
#define R_LINT1 0x360
#define R_ERROR 0x370
#define R_TICR 0x380
#define R_TCCR 0x390
#define R_TDCR 0x3E0

#define V_TIMER 0x40
#define V_SELF 0x41

static uint32_t rd(uint32_t r) { return *(volatile uint32_t *)(APIC + r); }
static void wr(uint32_t r, uint32_t v) { *(volatile uint32_t *)(APIC + r) = v; }

static volatile unsigned timer_irqs, self_irqs, isr_seen;

static int vec_bit(uint32_t base, int v) { return (rd(base + 0x10u * (unsigned)(v / 32)) >> (v % 32)) & 1; }

static void on_timer(struct trap_frame *tf)
{
    timer_irqs++;
    isr_seen = (unsigned)vec_bit(R_ISR, V_TIMER);
    wr(R_EOI, 0);
}

static void on_self(struct trap_frame *tf)
{
    self_irqs++;
    wr(R_EOI, 0);
}

static uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (uint64_t)hi << 32 | lo;
}

/* Halt until `*counter` reaches n, at most `bound` wake-ups. */
static void wait_for(volatile unsigned *counter, unsigned n, unsigned bound)
{
    while (*counter < n && bound--)
        __asm__ volatile("sti; hlt; cli");
}

/* Until the count reads 0, then a while longer: QEMU raises the timer
   interrupt from its own timer callback, some time after the count that
   reads 0. */
static void spin_until_zero(void)
{
    for (unsigned i = 0; i < 100000000u && rd(R_TCCR) != 0; i++)
        ;
    for (volatile int i = 0; i < 2000000; i++)
        ;
}

static void reset_values(void)
{
    uint32_t d[4];
    __asm__ volatile("cpuid" : "=a"(d[0]), "=b"(d[1]), "=c"(d[2]), "=d"(d[3]) : "a"(1));
    kprintf("cpuid.1 edx apic %u\n", (d[3] >> 9) & 1);
    kprintf("IA32_APIC_BASE 0x%08x\n", (uint32_t)rdmsr(0x1b));
    kprintf("id 0x%08x version 0x%08x tpr 0x%x ppr 0x%x ldr 0x%08x dfr 0x%08x svr 0x%08x\n",
            rd(R_ID), rd(R_VER), rd(R_TPR), rd(R_PPR), rd(R_LDR), rd(R_DFR), rd(R_SVR));
    kprintf("lvt timer 0x%08x lint0 0x%08x lint1 0x%08x error 0x%08x\n",
            rd(R_TIMER), rd(R_LINT0), rd(R_LINT1), rd(R_ERROR));
    kprintf("timer initial %u current %u divide 0x%x esr 0x%x\n",
            rd(R_TICR), rd(R_TCCR), rd(R_TDCR), rd(R_ESR));
}

static void timer_tests(void)
{
    wr(R_TDCR, 0xB);
    kprintf("divide config 0xb reads 0x%x", rd(R_TDCR));
    wr(R_TDCR, 0x3);
    kprintf(", 0x3 reads 0x%x\n", rd(R_TDCR));
    wr(R_TIMER, V_TIMER);                          /* one-shot */
    wr(R_TICR, 200000);
    kprintf("one-shot: current <= initial %u\n", rd(R_TCCR) <= 200000);
    wait_for(&timer_irqs, 1, 1000);
    spin_until_zero();
    __asm__ volatile("sti; nop; nop; cli");
    kprintf("one-shot: %u interrupt(s), ISR bit in handler %u, now %u, current %u\n",
            timer_irqs, isr_seen, vec_bit(R_ISR, V_TIMER), rd(R_TCCR));
    timer_irqs = 0;
    wr(R_TIMER, V_TIMER | 1u << 17);               /* periodic */
    wr(R_TICR, 100000);
    wait_for(&timer_irqs, 5, 1000);
    wr(R_TIMER, V_TIMER | 1u << 16 | 1u << 17);    /* masked */
    kprintf("periodic: %u interrupts, lvt 0x%08x, still counting %u\n", timer_irqs,
            rd(R_TIMER), rd(R_TCCR) != 0);
    wr(R_TICR, 0);
    timer_irqs = 0;
    wr(R_TIMER, V_TIMER | 1u << 16);               /* masked one-shot */
    wr(R_TICR, 5000);
    spin_until_zero();
    __asm__ volatile("sti; nop; nop; cli");
    kprintf("masked: %u interrupts, irr bit %u\n", timer_irqs, vec_bit(R_IRR, V_TIMER));
}

static void priority_tests(void)
{
    timer_irqs = 0;
    wr(R_TPR, 0x50);                               /* class 5 blocks vector 0x40 */
    wr(R_TIMER, V_TIMER);
    wr(R_TICR, 5000);
    spin_until_zero();
    __asm__ volatile("sti; nop; nop; cli");
    kprintf("tpr 0x50: %u interrupts, irr bit %u, ppr 0x%x\n", timer_irqs,
            vec_bit(R_IRR, V_TIMER), rd(R_PPR));
    wr(R_TPR, 0);
    __asm__ volatile("sti; nop; nop; cli");
    kprintf("tpr 0: %u interrupts, irr bit %u, isr bit %u\n", timer_irqs,
            vec_bit(R_IRR, V_TIMER), vec_bit(R_ISR, V_TIMER));
}

static void icr_tests(void)
{
    wr(R_ICRHI, 0);
    wr(R_ICRLO, 1u << 18 | V_SELF);                /* shorthand self, fixed */
    __asm__ volatile("sti; nop; nop; cli");
    kprintf("self-IPI: %u interrupt(s), icr 0x%08x\n", self_irqs, rd(R_ICRLO));
    wr(R_ESR, 0);
    wr(R_ICRHI, 5u << 24);                         /* APIC ID 5: no such CPU */
    wr(R_ICRLO, 0x00004500);                       /* INIT, assert */
    for (int i = 0; i < 1000 && (rd(R_ICRLO) & 1u << 12); i++)
        ;
    kprintf("INIT to APIC 5: icr 0x%08x hi 0x%08x\n", rd(R_ICRLO), rd(R_ICRHI));
    wr(R_ICRLO, 0x00000608);                       /* STARTUP at 0x8000 */
    for (int i = 0; i < 1000 && (rd(R_ICRLO) & 1u << 12); i++)
        ;
    wr(R_ESR, 0);
    kprintf("SIPI to APIC 5: icr 0x%08x esr 0x%x\n", rd(R_ICRLO), rd(R_ESR));
    wr(R_ICRHI, 0);
    wr(R_ICRLO, 1u << 18 | 3);                     /* illegal vector 3 to self */
    wr(R_ESR, 0);
    kprintf("vector 3 to self: esr 0x%x, interrupts %u\n", rd(R_ESR), self_irqs);
    wr(R_ESR, 0);
    kprintf("esr after write 0x%x\n", rd(R_ESR));
}

int kmain(uint32_t magic, struct multiboot_info *mbi)
{
    con_init();
    desc_init();
    pic_remap();
    trap_set_handler(V_TIMER, on_timer);
    trap_set_handler(V_SELF, on_self);
    reset_values();
    wr(R_SVR, 0x1FF);
    kprintf("svr 0x1ff reads 0x%08x\n", rd(R_SVR));
    timer_tests();
    priority_tests();
    icr_tests();
    return EXIT_OK;
}
