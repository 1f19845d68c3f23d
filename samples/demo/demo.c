/*
 * demo.c - the kernel ./ringside runs when given no arguments.
 *
 * A short tour of everything a virtual machine monitor has to get right,
 * meant to be watched in the terminal UI in a classroom:
 *
 *  1. boot: a banner, then the kernel's own GDT, IDT and TSS;
 *  2. compute at ring 0: Fibonacci numbers, primes, a CRC - plain code
 *     that a monitor can run directly or translate almost verbatim;
 *  3. a user program at ring 3 that talks to the kernel only through
 *     int 0x80 system calls (each one a ring transition 3 -> 0 -> 3);
 *  4. timer interrupts from the PIT arriving while ring 3 waits for ten
 *     ticks (each one an external interrupt taken from ring 3);
 *  5. back at ring 0, exit through the isa-debug-exit port with code 0.
 */
#include "kernel.h"

enum { SYS_WRITE = 1, SYS_TICKS = 2, SYS_SQUARE = 3, SYS_EXIT = 4 };

#define DEMO_TICKS 10

static volatile uint32_t ticks;
static uint8_t user_stack[8192] __attribute__((aligned(16)));

static uint32_t fib(uint32_t n)
{
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

static uint32_t count_primes(uint32_t limit)
{
    uint32_t count = 0;
    for (uint32_t n = 2; n < limit; n++) {
        uint32_t d = 2;
        while (d * d <= n && n % d)
            d++;
        count += d * d > n;
    }
    return count;
}

static uint32_t crc32(const char *s)
{
    uint32_t c = 0xFFFFFFFFu;
    while (*s) {
        c ^= (uint8_t)*s++;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & -(c & 1));
    }
    return ~c;
}

static void banner(void)
{
    kprintf("+------------------------------------------------+\n");
    kprintf("|  ringside demo guest: a tiny multiboot kernel  |\n");
    kprintf("+------------------------------------------------+\n");
}

static void compute(void)
{
    kprintf("[ring 0] computing:\n");
    for (uint32_t n = 5; n <= 25; n += 5)
        kprintf("  fib(%u) = %u\n", n, fib(n));
    kprintf("  primes below 5000: %u\n", count_primes(5000));
    kprintf("  crc32(\"ringside\") = 0x%08x\n", crc32("ringside"));
}

/* ---- ring 3 ---------------------------------------------------------------- */

static void user_main(void)
{
    uprintf("[ring 3] hello from user mode; asking the kernel for squares:\n");
    for (uint32_t i = 1; i <= 5; i++)
        uprintf("  square(%u) = %u\n", i, syscall3(SYS_SQUARE, i, 0, 0));
    uprintf("[ring 3] waiting for %u timer ticks...\n", DEMO_TICKS);
    while (syscall3(SYS_TICKS, 0, 0, 0) < DEMO_TICKS)
        for (volatile int i = 0; i < 500; i++)
            ;
    uprintf("[ring 3] %u ticks seen, exiting\n", DEMO_TICKS);
    syscall3(SYS_EXIT, 0, 0, 0);
}

/* ---- ring 0 handlers ---------------------------------------------------------- */

static void on_syscall(struct trap_frame *tf)
{
    switch (tf->eax) {
    case SYS_WRITE:  con_write((const char *)tf->ebx, tf->ecx); break;
    case SYS_TICKS:  tf->eax = ticks; break;
    case SYS_SQUARE: tf->eax = tf->ebx * tf->ebx; break;
    case SYS_EXIT:   user_return(tf->ebx);
    default:         tf->eax = (uint32_t)-1; break;
    }
}

static void on_timer(struct trap_frame *tf)
{
    ticks++;
}

int kmain(uint32_t magic, struct multiboot_info *mbi)
{
    con_init();
    banner();
    desc_init();
    kprintf("[ring 0] GDT, IDT and TSS loaded; int 0x80 open to ring 3\n");
    idt_set_gate(SYSCALL_VECTOR, GATE_INTR, 3);
    trap_set_handler(SYSCALL_VECTOR, on_syscall);
    trap_set_handler(IRQ_BASE + 0, on_timer);
    compute();
    pic_remap();
    pit_set_divisor(1193);                  /* ~1 kHz */
    pic_unmask(0);
    kprintf("[ring 0] timer on; entering ring 3\n");
    uint32_t code = user_run(user_main, (uint32_t)(user_stack + sizeof(user_stack)),
                             EFLAGS_IF | EFLAGS_RESERVED1);
    pic_mask(0);
    kprintf("[ring 0] user program exited with %u; %s timer ticks taken\n", code,
            ticks >= DEMO_TICKS ? "at least 10" : "too few");
    kprintf("[ring 0] goodbye\n");
    return code == 0 && ticks >= DEMO_TICKS ? EXIT_OK : EXIT_FAIL;
}
