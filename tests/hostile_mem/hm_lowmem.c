/*
 * hm_lowmem.c - the guest overwrites all of its low memory.
 *
 * Physical 0 - 640 KiB (conventional memory: above it QEMU has VGA and ROM) belongs to the guest: nothing of the VMM may live
 * there or be derived from it. The kernel fills 0x0 - 0x9FFFF with a
 * pattern (the multiboot information and command line are gone after
 * this), then takes an exception, enters ring 3 and makes a system call,
 * turns paging on and off, and reads the pattern back (issue 11: under trap
 * this triple-faulted, under bt the host process hung).
 */
#include "hm.h"

static uint8_t user_stack[4096] __attribute__((aligned(16)));

static void on_bp(struct trap_frame *tf)
{
    kprintf("  #BP from %s\n", (tf->cs & 3) == 3 ? "user" : "kernel");
}

static void user_main(void)
{
    __asm__ volatile("int3");
    hm_user_exit(7);
}

static uint32_t sum_low(void)
{
    uint32_t s = 0;
    for (uint32_t *p = (uint32_t *)0; p < (uint32_t *)0xA0000; p++)
        s = s * 31u + *p;
    return s;
}

int kmain(uint32_t magic, struct multiboot_info *mbi)
{
    hm_init();
    hm_syscalls_init();
    idt_set_gate(3, GATE_INTR, 3);
    trap_set_handler(3, on_bp);
    kprintf("lowmem: filling 0x00000000-0x0009ffff\n");
    for (uint32_t *p = (uint32_t *)0; p < (uint32_t *)0xA0000; p++)
        *p = 0x9C9C0000u ^ (uint32_t)p;
    kprintf("  checksum 0x%08x\n", sum_low());
    __asm__ volatile("int3");
    uint32_t v = user_run(user_main, (uint32_t)(user_stack + sizeof user_stack),
                          EFLAGS_RESERVED1);
    kprintf("  user returned %u\n", v);
    hm_paging_on();
    for (uint32_t *p = (uint32_t *)0x1000; p < (uint32_t *)0x2000; p++)
        *p = ~*p;
    hm_paging_off();
    kprintf("  checksum 0x%08x\n", sum_low());
    return EXIT_OK;
}
