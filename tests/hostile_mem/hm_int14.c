/*
 * hm_int14.c - software INT 14 with guest paging on, at ring 0 and ring 3.
 *
 * INT $14 is not a page fault: the CPU pushes no error code and leaves CR2
 * alone (Intel SDM vol. 3, 6.4.2). A monitor that takes every vector-14
 * stop for a #PF walks the guest tables at a stale CR2, finds the page
 * mapped, "fills" a hidden fault and resumes at the INT again: the guest
 * never moves (issue 11). The kernel first takes one real #PF (so CR2 is
 * stale), then runs INT $14 three times at ring 0 and twice at ring 3
 * (gate DPL 3), and a real #PF again to show the vector still works.
 */
#include "hm.h"

volatile uint32_t int14_count;
void int14_entry(void);
__asm__(".text\n.globl int14_entry\nint14_entry:\n"
        "    incl int14_count\n"
        "    iret\n");

static uint8_t user_stack[4096] __attribute__((aligned(16)));

static void real_fault(void)
{
    hm_skip = 2;                                /* movl (%ecx), %eax */
    __asm__ volatile(".byte 0x8b, 0x01" : : "c"(HM_WIN + 0x123) : "eax", "memory");
    hm_skip = 0;
}

static void user_main(void)
{
    __asm__ volatile("int $14; int $14" : : : "memory");
    hm_user_exit(int14_count);
}

int kmain(uint32_t magic, struct multiboot_info *mbi)
{
    hm_init();
    hm_syscalls_init();
    hm_pf_skip_init();
    hm_paging_on();
    kprintf("int14: paging on\n");
    real_fault();
    kprintf("ring 0: int $14 x3 (CR2 stale at 0x%08x)\n", read_cr2());
    idt_set_handler(14, int14_entry, GATE_INTR, 3);
    __asm__ volatile("int $14; int $14; int $14" : : : "memory");
    kprintf("  handler ran %u times, CR2=0x%08x\n", int14_count, read_cr2());
    kprintf("ring 3: int $14 x2\n");
    uint32_t n = user_run(user_main, (uint32_t)(user_stack + sizeof user_stack),
                          EFLAGS_RESERVED1);
    kprintf("  user saw count %u, CR2=0x%08x\n", n, read_cr2());
    idt_set_gate(14, GATE_INTR, 0);
    kprintf("a real #PF again:\n");
    real_fault();
    kprintf("int14: done\n");
    return int14_count == 5 ? EXIT_OK : EXIT_FAIL;
}
