/*
 * hm_noprog.c - a guest that never retires another instruction.
 *
 * The #UD handler is itself UD2: every delivery faults at once and
 * delivers again, forever, with no instruction retiring (QEMU spins on it;
 * real hardware would too). --max-insns can never end such a run, so
 * ringside's no-progress watchdog must: status 12 in every engine
 * (README, docs/vmm.md). The stack is moved to 31 MiB first so that the
 * frames pushed meanwhile land in free RAM.
 */
#include "hm.h"

void ud_loop(void);
__asm__(".text\n.globl ud_loop\nud_loop:\n    ud2\n");

int kmain(uint32_t magic, struct multiboot_info *mbi)
{
    hm_init();
    idt_set_handler(6, ud_loop, GATE_INTR, 0);
    kprintf("noprog: #UD handler is UD2\n");
    __asm__ volatile("movl $0x01F00000, %%esp\n\tud2" : : : "memory");
    return EXIT_FAIL;
}
