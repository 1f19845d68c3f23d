/*
 * nanobench.c - the Adams & Agesen nanobenchmarks, timed from inside the guest.
 *
 * Adams & Agesen (ASPLOS 2006, figure 4) explain where software and hardware
 * virtualization win and lose with seven tiny operations, each run in a loop
 * and timed with RDTSC. This kernel does the same on the simulated PC:
 *
 *   1 syscall  INT 0x81 from ring 3 to a handler that only IRETs
 *   2 in       IN from port 0x80 (the POST port) at ring 0
 *   3 cli      CLI at ring 0 (the 32-bit stand-in for the paper's cr8wr:
 *              a privileged instruction a binary translator handles in the TC)
 *   4 callret  CALL to a function that only RETs
 *   5 pgfault  a read of a not-present page; the guest's #PF handler skips
 *              the instruction (a *true* fault under shadow paging)
 *   6 divzero  DIV by zero; the #DE handler skips the instruction
 *   7 ptemod   a write of an unchanged value to a live PTE (under shadow
 *              paging the page table is traced: a tracing fault)
 *
 * and four of kvm-unit-tests' x86 `vmexit` family (the outside reference
 * for per-exit costs of a hardware VMM), in their 32-bit form:
 *
 *   8 cpuid    CPUID leaf 0 (VT-x exits on it unconditionally)
 *   9 inl      IN of a dword from port 0xb008 (kvm's inl_from_pmtimer; no
 *              device there in ringside: the read gives all ones)
 *  10 cr0wp    toggle CR0.WP and back (two MOVs to CR0)
 *  11 cr4pge   toggle CR4.PGE and back (two MOVs to CR4)
 *  12 vmcall   VMCALL with EAX = 0 (the hypercall ABI's version call): an
 *              unconditional exit under hw; elsewhere (native, trap, bt,
 *              QEMU's TCG) it is #UD, whose handler skips its 3 bytes
 *
 * (kvm's mov to/from CR8 has no 32-bit form here: CR8 exists only in
 * 64-bit mode.)
 *
 * Each test times N iterations of the operation ("loops=N", default 100)
 * and the same loop without it, and prints "nanobench <name> <cycles per
 * op>". Each measurement runs twice and the second is kept (a warm-up, as
 * the paper's steady-state numbers assume: BT has translated the very code
 * that is timed, the shadow is filled, adaptive BT has adapted). RDTSC reads
 * ringside's *modeled* cycles, which advance with the cost of the engine in
 * use, so the guest measures its own virtualization overhead. Paging is on
 * (one page table identity-maps 0-4 MiB), so every VMM run shadows it.
 *
 * "test=N" on the command line runs only test N; the default runs all.
 * `ringside paper` runs each test under every engine and prints the table.
 * (Under QEMU the numbers are the host's real cycles: this kernel has no
 * golden output.)
 */
#include "kernel.h"

#define PTE_P   0x001u
#define PTE_W   0x002u
#define PTE_U   0x004u
#define CR0_PG  0x80000000u
#define HOLE_VA 0x003FF000u   /* the one page left not present */

static uint32_t nb_pd[1024] FIXED("40_nb_pd");
static uint32_t nb_pt[1024] FIXED("41_nb_pt");
static uint8_t nb_user_stack[4096] FIXED("42_nb_user_stack");
static volatile uint64_t nb_user_cycles[2];   /* ring-3 results: with op, without */
static uint32_t nb_loops = 100;               /* "loops=N" on the command line */

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

/* Bare entry points: no trap frame, no C (the paper times the hardware
   round trip, not a kernel's dispatcher). Faulting instructions are 2
   bytes long, so the handlers return past them; VMCALL's #UD skips 3. */
void nb_iret(void);
void nb_skip_pf(void);
void nb_skip_de(void);
void nb_skip_ud(void);
void nb_leaf(void);
__asm__(".text\n"
        ".globl nb_iret\nnb_iret:\n    iret\n"
        ".globl nb_skip_pf\nnb_skip_pf:\n    addl $4, %esp\n    addl $2, (%esp)\n    iret\n"
        ".globl nb_skip_de\nnb_skip_de:\n    addl $2, (%esp)\n    iret\n"
        ".globl nb_skip_ud\nnb_skip_ud:\n    addl $3, (%esp)\n    iret\n"
        ".globl nb_leaf\nnb_leaf:\n    ret\n");

static void nb_paging_on(void)
{
    for (uint32_t i = 0; i < 1024; i++)
        nb_pt[i] = (i << 12) | PTE_P | PTE_W | PTE_U;
    nb_pt[HOLE_VA >> 12] = 0;
    nb_pd[0] = (uint32_t)nb_pt | PTE_P | PTE_W | PTE_U;
    write_cr3((uint32_t)nb_pd);
    write_cr0(read_cr0() | CR0_PG);
}

/* ---- the operations: LOOPS iterations with (op = 1) and without ---- */

#define NB_LOOP(op, body)                                                   \
    do {                                                                    \
        for (uint32_t i = 0; i < nb_loops; i++) {                           \
            if (op)                                                         \
                __asm__ volatile(body ::: "eax", "ecx", "edx", "memory");   \
            else                                                            \
                __asm__ volatile("" ::: "memory");                          \
        }                                                                   \
    } while (0)

static void nb_in(int op)      { NB_LOOP(op, "inb $0x80, %%al"); }
static void nb_cli(int op)     { NB_LOOP(op, "cli"); }
static void nb_callret(int op) { NB_LOOP(op, "call nb_leaf"); }
static void nb_pgfault(int op)
{
    NB_LOOP(op, "movl $0x003FF000, %%ecx\n\t.byte 0x8b, 0x01");   /* movl (%ecx),%eax */
}
static void nb_divzero(int op)
{
    NB_LOOP(op, "xorl %%edx, %%edx\n\tmovl $1, %%eax\n\txorl %%ecx, %%ecx\n\t"
                ".byte 0xf7, 0xf1");                                 /* divl %ecx */
}
static void nb_cpuid(int op)
{
    NB_LOOP(op, "pushl %%ebx\n\txorl %%eax, %%eax\n\tcpuid\n\tpopl %%ebx");   /* EBX kept */
}
static void nb_inl(int op)     { NB_LOOP(op, "movw $0xb008, %%dx\n\tinl %%dx, %%eax"); }
static void nb_cr0wp(int op)
{
    NB_LOOP(op, "movl %%cr0, %%eax\n\txorl $0x10000, %%eax\n\tmovl %%eax, %%cr0\n\t"
                "xorl $0x10000, %%eax\n\tmovl %%eax, %%cr0");
}
static void nb_vmcall(int op)  { NB_LOOP(op, "xorl %%eax, %%eax\n\tvmcall"); }
static void nb_cr4pge(int op)
{
    NB_LOOP(op, "movl %%cr4, %%eax\n\txorl $0x80, %%eax\n\tmovl %%eax, %%cr4\n\t"
                "xorl $0x80, %%eax\n\tmovl %%eax, %%cr4");
}

static void nb_ptemod(int op)
{
    volatile uint32_t *pte = &nb_pt[0x100];
    for (uint32_t i = 0; i < nb_loops; i++) {
        uint32_t val = *pte;
        if (op)
            *pte = val;         /* the same value: nothing changes */
        __asm__ volatile("" ::: "memory");
    }
}

/* Ring 3: time INT 0x81 round trips, then leave through INT 0x80. */
static __attribute__((noinline)) void nb_user_measure(void)
{
    uint64_t t0 = rdtsc();
    NB_LOOP(1, "int $0x81");
    uint64_t t1 = rdtsc();
    NB_LOOP(0, "");
    uint64_t t2 = rdtsc();
    nb_user_cycles[0] = t1 - t0;
    nb_user_cycles[1] = t2 - t1;
}

static void nb_user_syscall(void)
{
    nb_user_measure();                  /* warm-up */
    nb_user_measure();
    syscall3(2, 0, 0, 0);
}

static void on_syscall(struct trap_frame *tf)
{
    user_return(0);
}

static uint64_t nb_syscall(void)
{
    user_run(nb_user_syscall, (uint32_t)(nb_user_stack + sizeof(nb_user_stack)),
             EFLAGS_RESERVED1);
    return nb_user_cycles[0] - nb_user_cycles[1];
}

/* Cycles of nb_loops operations minus the bare loop. */
static __attribute__((noinline)) uint64_t nb_measure(void (*fn)(int))
{
    uint64_t t0 = rdtsc();
    fn(1);
    uint64_t t1 = rdtsc();
    fn(0);
    uint64_t t2 = rdtsc();
    uint64_t with = t1 - t0, without = t2 - t1;
    return with > without ? with - without : 0;
}

static uint64_t nb_time(void (*fn)(int))
{
    nb_measure(fn);                     /* warm-up: the same code, untimed */
    return nb_measure(fn);
}

static const struct {
    const char *name;
    void (*fn)(int);
} nb_tests[] = {
    { "syscall", NULL }, { "in", nb_in }, { "cli", nb_cli }, { "callret", nb_callret },
    { "pgfault", nb_pgfault }, { "divzero", nb_divzero }, { "ptemod", nb_ptemod },
    { "cpuid", nb_cpuid }, { "inl", nb_inl }, { "cr0wp", nb_cr0wp }, { "cr4pge", nb_cr4pge },
    { "vmcall", nb_vmcall },
};

static void nb_run(unsigned t)
{
    uint64_t total = t == 0 ? nb_syscall() : nb_time(nb_tests[t].fn);
    uint32_t per = (uint32_t)(total / nb_loops);
    kprintf("nanobench %s %u\n", nb_tests[t].name, per);
}

int kmain(uint32_t magic, struct multiboot_info *mbi)
{
    con_init();
    desc_init();
    idt_set_handler(0x81, nb_iret, GATE_TRAP, 3);
    idt_set_handler(14, nb_skip_pf, GATE_INTR, 0);
    idt_set_handler(0, nb_skip_de, GATE_INTR, 0);
    idt_set_handler(6, nb_skip_ud, GATE_INTR, 0);
    idt_set_gate(SYSCALL_VECTOR, GATE_INTR, 3);
    trap_set_handler(SYSCALL_VECTOR, on_syscall);
    nb_paging_on();
    unsigned only = mb_arg_uint(mbi, "test=", 0);
    nb_loops = mb_arg_uint(mbi, "loops=", 100);
    if (nb_loops == 0)
        nb_loops = 1;
    kprintf("nanobench: %u iterations, cycles per operation (RDTSC)\n", (unsigned)nb_loops);
    for (unsigned t = 0; t < ARRAY_SIZE(nb_tests); t++)
        if (only == 0 || only == t + 1)
            nb_run(t);
    return EXIT_OK;
}
