/*
 * trap.c - the C side of interrupt and exception handling.
 *
 * trapasm.S turns every vector into a call of trap_dispatch() with a pointer
 * to the saved registers. A kernel registers a handler per vector with
 * trap_set_handler(); a vector without a handler is a bug in the sample, so
 * the dispatcher prints the frame and exits with EXIT_BAD_TRAP instead of
 * looping forever. For hardware interrupts from the PIC (vectors 0x20-0x2F)
 * the dispatcher sends the end-of-interrupt after the handler ran.
 */
#include "kernel.h"

static trap_handler_t handlers[256];

static const char *const exc_names[20] = {
    "#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
    "#BR bound range", "#UD invalid opcode", "#NM no math coprocessor",
    "#DF double fault", "coprocessor segment overrun", "#TS invalid TSS",
    "#NP segment not present", "#SS stack fault", "#GP general protection",
    "#PF page fault", "reserved", "#MF x87 error", "#AC alignment check",
    "#MC machine check", "#XM SIMD error",
};

const char *trap_name(int vector)
{
    if (vector >= 0 && vector < (int)ARRAY_SIZE(exc_names))
        return exc_names[vector];
    if (vector >= IRQ_BASE && vector < IRQ_BASE + 16)
        return "hardware interrupt";
    return "software interrupt";
}

void trap_set_handler(int vector, trap_handler_t h)
{
    handlers[vector & 0xFF] = h;
}

static void trap_unexpected(struct trap_frame *tf)
{
    kprintf("unexpected trap: vector %u (%s), error 0x%x, eip 0x%08x, cs 0x%04x\n",
            tf->vector, trap_name((int)tf->vector), tf->err, tf->eip, tf->cs & 0xFFFF);
    kexit(EXIT_BAD_TRAP);
}

void trap_dispatch(struct trap_frame *tf)
{
    trap_handler_t h = handlers[tf->vector & 0xFF];

    if (!h)
        trap_unexpected(tf);
    h(tf);
    if (tf->vector >= IRQ_BASE && tf->vector < IRQ_BASE + 16)
        pic_eoi((int)tf->vector - IRQ_BASE);
}
