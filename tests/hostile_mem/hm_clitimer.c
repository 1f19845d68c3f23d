/*
 * hm_clitimer.c - a long CLI with the PIT running, then STI.
 *
 * While IF = 0 the 8259A latches IRQ 0 in one IRR bit: however many timer
 * edges pass, one interrupt is taken after STI (the next only at the next
 * edge). A monitor that acknowledges the first edge at the PIC and queues
 * it lets the PIC latch another edge behind it and delivers two (issue 11:
 * trap did). The kernel spins with interrupts off for far longer than a
 * timer period (three PIT reloads, polled), opens a window of a few hundred instructions with STI ... CLI and
 * counts the interrupts taken in it, five times, with paging off and on.
 */
#include "hm.h"

static volatile uint32_t ticks;

static void on_timer(struct trap_frame *tf)
{
    ticks++;
    pic_eoi(0);
}

/* PIT channel 0's current count (counter latch command). */
static uint16_t pit_count(void)
{
    outb(0x43, 0x00);
    uint8_t lo = inb(0x40);
    return (uint16_t)(lo | inb(0x40) << 8);
}

/* Wait until the count has reloaded n times: n timer edges went by. */
static void wait_edges(int n)
{
    uint16_t prev = pit_count();
    while (n > 0) {
        uint16_t c = pit_count();
        n -= c > prev;
        prev = c;
    }
}

static uint32_t one_round(void)
{
    __asm__ volatile("cli");
    wait_edges(3);
    ticks = 0;
    __asm__ volatile("sti" : : : "memory");
    for (volatile uint32_t i = 0; i < 50; i++)      /* far less than a period */
        ;
    __asm__ volatile("cli" : : : "memory");
    return ticks;
}

int kmain(uint32_t magic, struct multiboot_info *mbi)
{
    hm_init();
    trap_set_handler(IRQ_BASE + 0, on_timer);
    pic_remap();
    pit_set_divisor(1193);                          /* ~1 kHz */
    pic_unmask(0);
    one_round();                    /* warm-up: an edge latched before pic_remap */
    for (int r = 0; r < 5; r++) {
        if (r == 3)
            hm_paging_on();
        kprintf("round %d: %u timer interrupt(s) in the STI window\n", r, one_round());
    }
    hm_paging_off();
    return EXIT_OK;
}
