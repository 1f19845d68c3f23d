/*
 * taskswitch.c - hardware task switches: TSSes, task gates, NT and the
 * back link (Intel SDM vol. 3, chapter 7).
 *
 * Before software task switching took over, the 386 could switch tasks by
 * itself: a far JMP or CALL to a TSS descriptor (or a task gate naming one)
 * saves every register in the running task's TSS and loads every register
 * from the new one. CALL nests: the new TSS's "previous task link" gets the
 * old TR and EFLAGS.NT is set, so the new task's IRET returns through that
 * link. An interrupt or exception whose IDT entry is a task gate switches
 * the same way (a double-fault handler in its own task, with a known-good
 * stack, is the classic use). The busy bit of each TSS descriptor (type 9 ->
 * 11) keeps a task from being entered while it is still running.
 *
 * This kernel runs as the library's task (TR = 0x28) and:
 *   1. ljmps to task A and A ljmps back: no nesting, no NT, no back link;
 *   2. lcalls a task gate for task B, which IRETs: NT set, back link 0x28;
 *   3. tries the busy, bad-limit and not-present faults (#GP, #TS, #NP),
 *      and a task whose DS is bad: #TS raised after the switch, in it;
 *   4. divides by zero with vector 0 a task gate for task C, and raises a
 *      #GP through a task gate for task D, which pops the error code from
 *      its own stack;
 *   5. turns a #GP into a double fault (gate 13 absent) whose handler is a
 *      task, F: the classic use of task gates, a known-good stack for #DF;
 * printing the registers, links, busy bits and flags it sees.
 */
#include "kernel.h"

#define SEL_TSS_A   0x30
#define SEL_TSS_B   0x38
#define SEL_GATE_B  0x40
#define SEL_TSS_C   0x48
#define SEL_TSS_BAD 0x50   /* limit 0x50 < 0x67: #TS */
#define SEL_TSS_NP  0x58   /* not present: #NP */
#define SEL_TSS_D   0x60
#define SEL_TSS_E   0x68   /* DS 0x78 (past the GDT limit): #TS in task E */
#define SEL_TSS_F   0x70   /* the double-fault handler task */
#define GDT_SIZE    15
#define EFLAGS_NT   0x4000u

struct tss32 {
    uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2;
    uint32_t cr3, eip, eflags;
    uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
    uint32_t es, cs, ss, ds, fs, gs, ldt;
    uint16_t trap, iomap_base;
};

static uint64_t gdt[GDT_SIZE] __attribute__((aligned(8)));
static struct tss32 tss_a, tss_b, tss_c, tss_d, tss_e, tss_f;
static uint8_t stack_a[4096], stack_b[4096], stack_c[4096], stack_d[4096], stack_e[4096], stack_f[4096];

struct dt_ptr {
    uint16_t limit;
    uint32_t base;
} __attribute__((packed));

static uint64_t tss_desc(const void *base, uint32_t limit, int present)
{
    uint32_t b = (uint32_t)base;
    uint64_t d = limit & 0xFFFFu;
    d |= (uint64_t)(b & 0xFFFFFFu) << 16;
    d |= (uint64_t)((present ? 0x80u : 0) | 0x09u) << 40;   /* 32-bit TSS, DPL 0 */
    d |= (uint64_t)(b >> 24) << 56;
    return d;
}

static uint64_t task_gate(uint16_t tss_sel)
{
    return (uint64_t)tss_sel << 16 | (uint64_t)0x85u << 40;   /* P, DPL 0, type 5 */
}

/* The library's tables sit at fixed addresses (samples/lib/desc.c): the
   kernel names them directly, because SGDT, SIDT and STR are sensitive
   instructions that would show a trap-and-emulate VMM's own tables. */
#define LIB_GDT ((const uint64_t *)0x200000)
#define LIB_IDT ((uint64_t *)0x201000)

/* Copy the library's GDT (with its busy TSS 0x28) into a bigger one. */
static void gdt_extend(void)
{
    memcpy(gdt, LIB_GDT, GDT_ENTRIES * 8);
    gdt[SEL_TSS_A >> 3] = tss_desc(&tss_a, sizeof tss_a - 1, 1);
    gdt[SEL_TSS_B >> 3] = tss_desc(&tss_b, sizeof tss_b - 1, 1);
    gdt[SEL_GATE_B >> 3] = task_gate(SEL_TSS_B);
    gdt[SEL_TSS_C >> 3] = tss_desc(&tss_c, sizeof tss_c - 1, 1);
    gdt[SEL_TSS_BAD >> 3] = tss_desc(&tss_a, 0x50, 1);
    gdt[SEL_TSS_NP >> 3] = tss_desc(&tss_a, sizeof tss_a - 1, 0);
    gdt[SEL_TSS_D >> 3] = tss_desc(&tss_d, sizeof tss_d - 1, 1);
    gdt[SEL_TSS_E >> 3] = tss_desc(&tss_e, sizeof tss_e - 1, 1);
    gdt[SEL_TSS_F >> 3] = tss_desc(&tss_f, sizeof tss_f - 1, 1);
    struct dt_ptr n = { sizeof gdt - 1, (uint32_t)gdt };
    __asm__ volatile("lgdt %0" : : "m"(n) : "memory");
}

static void tss_prepare(struct tss32 *t, void (*entry)(void), uint8_t *stack, uint32_t ebx)
{
    memset(t, 0, sizeof *t);
    t->eip = (uint32_t)entry;
    t->eflags = EFLAGS_RESERVED1;
    t->esp = (uint32_t)(stack + 4096);
    t->ebx = ebx;
    t->cs = SEL_KCODE;
    t->ss = t->ds = t->es = t->fs = t->gs = SEL_KDATA;
    t->iomap_base = sizeof *t;
}

static const char *busy(uint16_t sel)
{
    uint32_t type = (uint32_t)(gdt[sel >> 3] >> 40) & 0xFu;
    return type == 0xB ? "busy" : type == 0x9 ? "available" : "?";
}

static void show_task(const char *who, uint32_t ebx, const struct tss32 *mine)
{
    uint32_t fl = read_eflags();
    kprintf("  %s: EBX=0x%08x NT=%u link=0x%02x CR0.TS=%u\n", who, ebx, (fl & EFLAGS_NT) ? 1u : 0u, mine->link & 0xFFFFu, (read_cr0() >> 3) & 1u);
}

/* ---- the tasks: entered by the CPU with EBX from their TSS ---- */

__attribute__((used)) void task_a_body(uint32_t ebx)
{
    show_task("task A", ebx, &tss_a);
    kprintf("  busy bits: 0x28 %s, A %s\n", busy(0x28), busy(SEL_TSS_A));
}

__attribute__((used)) void task_b_body(uint32_t ebx)
{
    show_task("task B", ebx, &tss_b);
    kprintf("  busy bits: 0x28 %s, B %s\n", busy(0x28), busy(SEL_TSS_B));
}

void task_c_body(uint32_t ebx);
void task_d_body(uint32_t ebx, uint32_t err);

void task_a_entry(void), task_b_entry(void), task_c_entry(void), task_d_entry(void);
void task_e_entry(void), task_e_exit(void), task_f_entry(void);
void task_f_body(uint32_t ebx, uint32_t err);
__asm__(".text\n"
        "task_a_entry:\n"
        "    push %ebx\n call task_a_body\n add $4, %esp\n"
        "    ljmp $0x28, $0\n"               /* back to the kernel's task */
        "1:  jmp 1b\n"
        "task_b_entry:\n"
        "    push %ebx\n call task_b_body\n add $4, %esp\n"
        "    iret\n"                          /* NT=1: back through the link */
        "1:  jmp 1b\n"
        "task_c_entry:\n"                     /* #DE handler task, re-entered */
        "    push %ebx\n call task_c_body\n add $4, %esp\n"
        "    iret\n"
        "    jmp task_c_entry\n"
        "task_d_entry:\n"                     /* #GP handler task: error code */
        "    pop %eax\n"                      /* pushed on this task's stack */
        "    push %eax\n push %ebx\n call task_d_body\n add $8, %esp\n"
        "    iret\n"
        "    jmp task_d_entry\n"
        "task_f_entry:\n"                     /* #DF handler task: error code 0 */
        "    pop %eax\n"
        "    push %eax\n push %ebx\n call task_f_body\n add $8, %esp\n"
        "    iret\n"
        "    jmp task_f_entry\n"
        "task_e_entry:\n"                     /* never runs: DS faults first */
        "    hlt\n"
        "task_e_exit:\n"                      /* where the #TS handler resumes */
        "    ljmp $0x28, $0\n");

/* The kernel's own TSS: the library's (TR 0x28 at boot). */
static struct tss32 *main_tss(void)
{
    return (struct tss32 *)(uintptr_t)((gdt[5] >> 16 & 0xFFFFFFu) | (gdt[5] >> 56 << 24));
}

extern const char de_insn[], de_end[], gp_insn[], gp_end[], df_insn[], df_end[];

__attribute__((used)) void task_c_body(uint32_t ebx)
{
    struct tss32 *k = main_tss();
    show_task("task C (#DE)", ebx, &tss_c);
    kprintf("  kernel task saved eip = de_insn%+d, EAX=0x%08x\n",
            (int)(k->eip - (uint32_t)de_insn), k->eax);
    k->eip = (uint32_t)de_end;            /* resume after the division */
}

__attribute__((used)) void task_d_body(uint32_t ebx, uint32_t err)
{
    struct tss32 *k = main_tss();
    show_task("task D (#GP)", ebx, &tss_d);
    kprintf("  error code 0x%04x on task D's stack, saved eip = gp_insn%+d\n", err,
            (int)(k->eip - (uint32_t)gp_insn));
    k->eip = (uint32_t)gp_end;
}

__attribute__((used)) void task_f_body(uint32_t ebx, uint32_t err)
{
    struct tss32 *k = main_tss();
    show_task("task F (#DF)", ebx, &tss_f);
    kprintf("  error code 0x%04x on task F's stack, saved eip = df_insn%+d\n", err,
            (int)(k->eip - (uint32_t)df_insn));
    k->eip = (uint32_t)df_end;
}

/* ---- faults raised before the switch: the kernel's own #GP/#TS/#NP ---- */

static volatile uint32_t fault_resume;
static volatile int fault_seen;

static void on_fault(struct trap_frame *tf)
{
    kprintf("  vector %u %s, error code 0x%04x\n", tf->vector, trap_name((int)tf->vector),
            tf->err);
    fault_seen++;
    tf->eip = fault_resume;
}

/* #TS after the commit point: the handler runs in task E, on its stack.
   (The EIP it reports is not printed: the SDM (7.3, step 14) has it at the
   new task's first instruction, as ringside does; QEMU 7.2 pushes the
   EIP of the old task's ljmp instead.) */
static void on_ts_in_new_task(struct trap_frame *tf)
{
    kprintf("  vector %u %s, error code 0x%04x, ds = 0x%02x\n",
            tf->vector, trap_name((int)tf->vector), tf->err, tf->ds);
    kprintf("  busy bits: 0x28 %s, E %s; kernel saved eip is past its ljmp: %s\n",
            busy(0x28), busy(SEL_TSS_E), main_tss()->eip == fault_resume ? "yes" : "no");
    tf->ds = SEL_KDATA;
    tf->eip = (uint32_t)task_e_exit;
}

static void try_far(const char *what, uint16_t sel, int jmp)
{
    struct { uint32_t off; uint16_t sel; } __attribute__((packed)) far = { 0, sel };
    kprintf("%s 0x%02x:\n", jmp ? "ljmp" : "lcall", sel);
    fault_seen = 0;
    if (jmp)
        __asm__ volatile("movl $1f, %1\n\t ljmp *%0\n 1:" : : "m"(far), "m"(fault_resume)
                         : "memory");
    else
        __asm__ volatile("movl $1f, %1\n\t lcall *%0\n 1:" : : "m"(far), "m"(fault_resume)
                         : "memory");
    kprintf("  %s; 0x28 still %s\n", what, busy(0x28));
}

static void set_task_gate(int vector, uint16_t tss_sel)
{
    LIB_IDT[vector] = task_gate(tss_sel);
}

/* ljmp/lcall with callee registers the task switch must give back. */
static uint32_t far_with_regs(int jmp, uint16_t sel)
{
    uint32_t esi = 0x51515151, edi = 0xD1D1D1D1, check;
    struct { uint32_t off; uint16_t sel; } __attribute__((packed)) far = { 0, sel };
    if (jmp)
        __asm__ volatile("ljmp *%2" : "+S"(esi), "+D"(edi) : "m"(far) : "eax", "ecx", "edx", "ebx", "memory");
    else
        __asm__ volatile("lcall *%2" : "+S"(esi), "+D"(edi) : "m"(far) : "eax", "ecx", "edx", "ebx", "memory");
    check = esi == 0x51515151 && edi == 0xD1D1D1D1;
    return check;
}

int kmain(uint32_t magic, struct multiboot_info *mbi)
{
    con_init();
    desc_init();
    gdt_extend();
    kprintf("taskswitch: hardware task switches through TSSes and task gates\n");
    kprintf("kernel task 0x28 %s, CR0.TS=%u\n", busy(0x28), (read_cr0() >> 3) & 1u);

    kprintf("ljmp 0x30 (task A), A ljmps back:\n");
    tss_prepare(&tss_a, task_a_entry, stack_a, 0xAAAA0001);
    uint32_t ok = far_with_regs(1, SEL_TSS_A);
    kprintf("  back: 0x28 %s, ESI/EDI %s NT=%u, A %s, A saved eip = entry%+d\n",
            busy(0x28), ok ? "restored" : "LOST", (read_eflags() & EFLAGS_NT) ? 1u : 0u,
            busy(SEL_TSS_A), (int)(tss_a.eip - (uint32_t)task_a_entry));

    kprintf("lcall 0x40 (task gate for B), B IRETs:\n");
    tss_prepare(&tss_b, task_b_entry, stack_b, 0xBBBB0002);
    ok = far_with_regs(0, SEL_GATE_B);
    kprintf("  back: 0x28 %s, ESI/EDI %s NT=%u, B %s, B link=0x%02x, B NT saved=%u\n",
            busy(0x28), ok ? "restored" : "LOST", (read_eflags() & EFLAGS_NT) ? 1u : 0u,
            busy(SEL_TSS_B), tss_b.link, (tss_b.eflags & EFLAGS_NT) ? 1u : 0u);

    trap_set_handler(10, on_fault);
    trap_set_handler(11, on_fault);
    trap_set_handler(13, on_fault);
    try_far("busy TSS refused", 0x28, 1);
    try_far("busy TSS refused", 0x28, 0);
    try_far("limit below 0x67 refused", SEL_TSS_BAD, 1);
    try_far("absent TSS refused", SEL_TSS_NP, 0);
    gdt[SEL_TSS_B >> 3] |= 2ull << 40;        /* mark B busy by hand */
    try_far("gate to a busy TSS refused", SEL_GATE_B, 0);
    gdt[SEL_TSS_B >> 3] &= ~(2ull << 40);

    kprintf("ljmp 0x68 (task E with DS=0x78): #TS after the switch, in task E:\n");
    tss_prepare(&tss_e, task_e_entry, stack_e, 0xEEEE0005);
    tss_e.ds = 0x78;
    trap_set_handler(10, on_ts_in_new_task);
    __asm__ volatile("movl $1f, %0\n\t ljmp $0x68, $0\n 1:" : "=m"(fault_resume) : : "memory");
    kprintf("  back: 0x28 %s, E %s\n", busy(0x28), busy(SEL_TSS_E));

    kprintf("divl by zero, vector 0 a task gate for task C:\n");
    tss_prepare(&tss_c, task_c_entry, stack_c, 0xCCCC0003);
    set_task_gate(0, SEL_TSS_C);
    __asm__ volatile("mov $0x1234, %%eax\n\t xor %%edx, %%edx\n\t xor %%ecx, %%ecx\n"
                     ".globl de_insn\n de_insn: divl %%ecx\n"
                     ".globl de_end\n de_end:" : : : "eax", "ecx", "edx", "memory");
    kprintf("  back: 0x28 %s, NT=%u, C %s, C link=0x%02x\n", busy(0x28),
            (read_eflags() & EFLAGS_NT) ? 1u : 0u, busy(SEL_TSS_C), tss_c.link);

    kprintf("mov 0x78 to %%fs, vector 13 a task gate for task D:\n");
    tss_prepare(&tss_d, task_d_entry, stack_d, 0xDDDD0004);
    set_task_gate(13, SEL_TSS_D);
    __asm__ volatile("mov $0x78, %%eax\n"
                     ".globl gp_insn\n gp_insn: mov %%ax, %%fs\n"
                     ".globl gp_end\n gp_end:" : : : "eax", "memory");
    kprintf("  back: 0x28 %s, NT=%u, D %s, D link=0x%02x\n", busy(0x28),
            (read_eflags() & EFLAGS_NT) ? 1u : 0u, busy(SEL_TSS_D), tss_d.link);

    kprintf("#GP with gate 13 absent (#NP while delivering: #DF), vector 8 a task gate:\n");
    tss_prepare(&tss_f, task_f_entry, stack_f, 0xFFFF0006);
    set_task_gate(8, SEL_TSS_F);
    LIB_IDT[13] &= ~(1ull << 47);             /* gate 13 not present */
    __asm__ volatile("mov $0x78, %%eax\n"
                     ".globl df_insn\n df_insn: mov %%ax, %%fs\n"
                     ".globl df_end\n df_end:" : : : "eax", "memory");
    kprintf("  back: 0x28 %s, NT=%u, F %s, F link=0x%02x\n", busy(0x28),
            (read_eflags() & EFLAGS_NT) ? 1u : 0u, busy(SEL_TSS_F), tss_f.link);
    kprintf("done\n");
    return EXIT_OK;
}
