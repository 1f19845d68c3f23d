/*
 * rings.c - privilege rings: system calls, timer interrupts and #GP.
 *
 * The kernel (ring 0) sets up a GDT with ring-3 segments, a TSS whose ESP0
 * is the stack the CPU switches to when ring 3 is interrupted, and an IDT in
 * which only vector 0x80 is callable from ring 3 (gate DPL 3). It then IRETs
 * into user_main at ring 3 with interrupts enabled. From there:
 *
 *  1. ring 3 makes system calls with int 0x80 (EAX = number): write a
 *     string, getpid, add three numbers;
 *  2. the PIT interrupts ring 3 about once a millisecond while it spins,
 *     polling the tick counter through a system call until it reaches 5;
 *  3. ring 3 tries privileged instructions (cli, hlt, mov to cr3, out): each
 *     raises #GP with error code 0; the handler prints the vector, the error
 *     code and the CPL of the interrupted frame (CS & 3), then skips it;
 *  4. ring 3 exits through a system call and the kernel resumes at ring 0.
 *
 * Nothing timing-dependent is printed: only whether the tick counter got to
 * 5 and whether every tick interrupted ring 3.
 */
#include "kernel.h"

enum { SYS_WRITE = 1, SYS_GETPID = 2, SYS_ADD = 3, SYS_TICKS = 4, SYS_EXIT = 5 };

#define TICKS_WANTED 5
#define USER_EXIT_CODE 42

static volatile uint32_t ticks;             /* IRQ 0 count */
static volatile uint32_t ticks_in_ring3;    /* of which interrupted CPL 3 */
static uint8_t user_stack[8192] __attribute__((aligned(16)));

/* Privileged instructions ring 3 will try; each label marks one. */
void user_try_privileged(void);
extern const char user_cli[], user_hlt[], user_mov_cr3[], user_out[], user_priv_end[];
__asm__(".text\n"
        ".globl user_try_privileged\n"
        "user_try_privileged:\n"
        ".globl user_cli\n user_cli: cli\n"
        ".globl user_hlt\n user_hlt: hlt\n"
        ".globl user_mov_cr3\n user_mov_cr3: mov %eax, %cr3\n"
        ".globl user_out\n user_out: outb %al, $0x80\n"
        ".globl user_priv_end\n user_priv_end: ret\n");

struct priv_insn {
    const char *start, *end;  /* the instruction's bytes */
    const char *text;         /* what it is */
};

static const struct priv_insn priv_insns[] = {
    { user_cli, user_hlt, "cli (IOPL 0 < CPL 3)" },
    { user_hlt, user_mov_cr3, "hlt (CPL 0 only)" },
    { user_mov_cr3, user_out, "mov %eax, %cr3 (CPL 0 only)" },
    { user_out, user_priv_end, "outb %al, $0x80 (IOPL 0, no I/O bitmap)" },
};

static uint32_t cpl_now(void)
{
    uint16_t cs;
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    return cs & 3;
}

/* ---- ring 3 ---------------------------------------------------------------- */

static void user_spin(void)
{
    for (volatile int i = 0; i < 1000; i++)
        ;
}

static void user_main(void)
{
    uprintf("user: hello from ring 3 (CPL %u), printing through int 0x80\n", cpl_now());
    uprintf("user: getpid() = %u\n", syscall3(SYS_GETPID, 0, 0, 0));
    uprintf("user: add(1, 2, 39) = %u\n", syscall3(SYS_ADD, 1, 2, 39));
    while (syscall3(SYS_TICKS, 0, 0, 0) < TICKS_WANTED)
        user_spin();
    uprintf("user: the tick counter reached %u while ring 3 was spinning\n", TICKS_WANTED);
    uprintf("user: now trying privileged instructions\n");
    user_try_privileged();
    uprintf("user: exiting with code %u\n", USER_EXIT_CODE);
    syscall3(SYS_EXIT, USER_EXIT_CODE, 0, 0);
}

/* ---- ring 0: trap handlers -------------------------------------------------- */

static void on_syscall(struct trap_frame *tf)
{
    switch (tf->eax) {
    case SYS_WRITE:
        con_write((const char *)tf->ebx, tf->ecx);
        tf->eax = tf->ecx;
        break;
    case SYS_GETPID:
        kprintf("kernel: syscall getpid from CPL %u\n", tf->cs & 3);
        tf->eax = 1;
        break;
    case SYS_ADD:
        kprintf("kernel: syscall add(%u, %u, %u) from CPL %u\n",
                tf->ebx, tf->ecx, tf->edx, tf->cs & 3);
        tf->eax = tf->ebx + tf->ecx + tf->edx;
        break;
    case SYS_TICKS:
        tf->eax = ticks;
        break;
    case SYS_EXIT:
        kprintf("kernel: syscall exit(%u) from CPL %u\n", tf->ebx, tf->cs & 3);
        user_return(tf->ebx);
    default:
        tf->eax = (uint32_t)-1;
        break;
    }
}

static void on_timer(struct trap_frame *tf)
{
    ticks++;
    if ((tf->cs & 3) == 3)
        ticks_in_ring3++;
}

static void on_gp(struct trap_frame *tf)
{
    for (size_t i = 0; i < ARRAY_SIZE(priv_insns); i++) {
        const struct priv_insn *p = &priv_insns[i];
        if (tf->eip != (uint32_t)p->start)
            continue;
        kprintf("kernel: vector %u (%s), error code 0x%04x, faulting CPL %u: %s"
                " -> skip %u bytes\n", tf->vector, trap_name((int)tf->vector),
                tf->err, tf->cs & 3, p->text, (unsigned)(p->end - p->start));
        tf->eip = (uint32_t)p->end;
        return;
    }
    kprintf("kernel: unexpected #GP, error 0x%x at eip 0x%08x, CPL %u\n",
            tf->err, tf->eip, tf->cs & 3);
    kexit(EXIT_FAIL);
}

int kmain(uint32_t magic, struct multiboot_info *mbi)
{
    con_init();
    kprintf("rings: ring 0 -> ring 3 -> ring 0, system calls, timer IRQs, #GP\n");
    desc_init();
    idt_set_gate(SYSCALL_VECTOR, GATE_INTR, 3);   /* int 0x80 allowed from ring 3 */
    trap_set_handler(SYSCALL_VECTOR, on_syscall);
    trap_set_handler(IRQ_BASE + 0, on_timer);
    trap_set_handler(13, on_gp);
    pic_remap();
    pit_set_divisor(1193);                        /* ~1000 Hz */
    pic_unmask(0);
    kprintf("kernel: entering ring 3 with IF=1, PIT at ~1 kHz\n");

    uint32_t code = user_run(user_main, (uint32_t)(user_stack + sizeof(user_stack)),
                             EFLAGS_IF | EFLAGS_RESERVED1);
    pic_mask(0);
    kprintf("kernel: back from ring 3, user exit code %u\n", code);
    kprintf("kernel: timer ticks >= %u: %s; every tick interrupted ring 3: %s\n",
            TICKS_WANTED, ticks >= TICKS_WANTED ? "yes" : "no",
            ticks == ticks_in_ring3 ? "yes" : "no");
    return code == USER_EXIT_CODE && ticks == ticks_in_ring3 ? EXIT_OK : EXIT_FAIL;
}
