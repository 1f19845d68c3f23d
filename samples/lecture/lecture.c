/*
 * lecture.c - one workload per mechanism, for `ringside compare`.
 *
 * The lecture's claim (Adams & Agesen 2006) is that a binary translator
 * runs compute-bound guest code at close to native speed and pays its
 * overhead where the guest kernel does privileged work: system calls,
 * faults, device I/O. Each phase below is dominated by one of those, and
 * is long enough that translation (the warm-up) is a small share of it:
 *
 *   compute  ring 0: recursion, loops, a CRC (calls and returns are the
 *            translator's indirect branches)
 *   syscall  ring 3: int 0x80 system calls, each a trip through the kernel
 *   fault    ring 3: privileged instructions that fault (#GP) and are
 *            handled by the kernel, which skips them
 *   io       ring 0: reads of the UART's line-status port
 *
 * Every phase starts with a line "phase: NAME" on COM1; `ringside compare`
 * measures between those lines. The output has no timings, so it is the
 * same under QEMU and every engine. "scale=N" multiplies every phase (default 20: past the warm-up).
 */
#include "kernel.h"

enum { SYS_WRITE = 1, SYS_ADD = 2, SYS_EXIT = 3 };   /* uprintf uses SYS_WRITE */

static uint8_t user_stack[8192] __attribute__((aligned(16)));
static unsigned scale = 1;
static volatile uint32_t faults;

static uint32_t fib(uint32_t n)
{
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

static uint32_t crc32_buf(const uint8_t *p, uint32_t n, uint32_t c)
{
    while (n--) {
        c ^= *p++;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & -(c & 1));
    }
    return c;
}

static void phase_compute(void)
{
    kprintf("phase: compute\n");
    uint32_t f = 0, c = 0xFFFFFFFFu;
    static uint8_t buf[4096];
    for (uint32_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 7 + 3);
    for (unsigned r = 0; r < 4 * scale; r++) {
        f += fib(20);
        c = crc32_buf(buf, sizeof buf, c);
    }
    kprintf("  fib sum %u, crc 0x%08x\n", f, ~c);
}

/* ---- ring 3 ---- */

static void user_main(void)
{
    uint32_t sum = 0;
    for (uint32_t i = 0; i < 2000 * scale; i++)
        sum = syscall3(SYS_ADD, sum, i, 0);
    uprintf("  system calls: sum %u\n", sum);
    uprintf("phase: fault\n");
    for (uint32_t i = 0; i < 1000 * scale; i++)
        __asm__ volatile("cli");            /* IOPL 0 < CPL 3: #GP, skipped */
    uprintf("  faults handled: %u\n", faults);
    syscall3(SYS_EXIT, 0, 0, 0);
}

static void on_syscall(struct trap_frame *tf)
{
    switch (tf->eax) {
    case SYS_WRITE: con_write((const char *)tf->ebx, tf->ecx); break;
    case SYS_ADD:   tf->eax = tf->ebx + tf->ecx; break;
    case SYS_EXIT:  user_return(tf->ebx);
    }
}

static void on_gp(struct trap_frame *tf)
{
    faults++;
    tf->eip += 1;                           /* skip the one-byte cli */
}

static void phase_io(void)
{
    kprintf("phase: io\n");
    uint32_t ready = 0;
    for (uint32_t i = 0; i < 2000 * scale; i++)
        ready += (inb(0x3fd) & 0x20) != 0;  /* LSR: transmitter empty */
    kprintf("  line-status reads with THRE set: %u\n", ready);
}

int kmain(uint32_t magic, struct multiboot_info *mbi)
{
    con_init();
    scale = mb_arg_uint(mbi, "scale=", 20);
    if (scale == 0)
        scale = 1;
    kprintf("lecture: one phase per mechanism, scale=%u\n", scale);
    desc_init();
    idt_set_gate(SYSCALL_VECTOR, GATE_INTR, 3);
    trap_set_handler(SYSCALL_VECTOR, on_syscall);
    trap_set_handler(13, on_gp);
    pic_remap();            /* every IRQ masked: the firmware's 18.2 Hz timer stays out */
    phase_compute();
    kprintf("phase: syscall\n");
    uint32_t code = user_run(user_main, (uint32_t)(user_stack + sizeof(user_stack)),
                             EFLAGS_IF | EFLAGS_RESERVED1);
    phase_io();
    kprintf("phase: end\n");
    return code == 0 && faults == 1000 * scale ? EXIT_OK : EXIT_FAIL;
}
