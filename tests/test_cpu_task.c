/*
 * test_cpu_task.c - unit tests of hardware task switches in the CPU
 * (sim/cpu/task.c; Intel SDM vol. 3, chapter 7 and the JMP/CALL/IRET/INT n
 * pseudo-code of vol. 2).
 *
 * A small machine: 4 MiB of RAM, a GDT at 0x1000 with the running task's
 * TSS (0x28, busy) and the TSSes and gates the tests switch through, an IDT
 * at 0x2000, code at 0x10000 and the new tasks' code at 0x11000. Every
 * exception is intercepted, so a fault stops the CPU with its vector, error
 * code and EIP. The error codes of the fault cases are those QEMU 7.2
 * raises for the same descriptors (samples/taskswitch, whose golden comes
 * from qemu-system-i386: #GP(0x28) for a busy TSS, #TS(sel) for a limit
 * below 0x67, #NP(sel) for an absent TSS, #GP(TSS) for a gate to a busy TSS).
 */
#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>
#include "cpu/cpu.h"
#include "cpu/cpu_internal.h"

#define RAM_SIZE (4u << 20)
#define GDT 0x1000u
#define IDT 0x2000u
#define TSS0 0x3000u      /* the running task */
#define TSS1 0x3100u
#define TSS2 0x3200u
#define CODE 0x10000u
#define TASK_CODE 0x11000u
#define STACK0 0x90000u
#define STACK1 0x80000u

enum {
    SEL_KCODE = 0x08, SEL_KDATA = 0x10, SEL_UCODE = 0x1b, SEL_UDATA = 0x23,
    SEL_TSS0 = 0x28, SEL_TSS1 = 0x30, SEL_GATE1 = 0x38, SEL_SHORT = 0x40,
    SEL_ABSENT = 0x48, SEL_TSS2 = 0x50, SEL_UGATE = 0x58, GDT_ENTRIES = 12
};

struct tm {
    struct cpu cpu;
    uint8_t *ram;
};

static uint64_t mkdesc(uint32_t base, uint32_t limit, uint32_t access, uint32_t gdb)
{
    uint32_t lo = (limit & 0xffffu) | (base << 16);
    uint32_t hi = ((base >> 16) & 0xffu) | (access << 8) | (limit & 0xf0000u) |
                  (gdb << 20) | (base & 0xff000000u);
    return ((uint64_t)hi << 32) | lo;
}

static uint64_t mktaskgate(uint16_t tss, uint32_t access)
{
    return (uint64_t)tss << 16 | (uint64_t)access << 40;
}

static void put16(struct tm *t, uint32_t pa, uint16_t v) { memcpy(t->ram + pa, &v, 2); }
static void put32(struct tm *t, uint32_t pa, uint32_t v) { memcpy(t->ram + pa, &v, 4); }
static uint32_t get32(struct tm *t, uint32_t pa) { uint32_t v; memcpy(&v, t->ram + pa, 4); return v; }
static uint16_t get16(struct tm *t, uint32_t pa) { uint16_t v; memcpy(&v, t->ram + pa, 2); return v; }
static void put64(struct tm *t, uint32_t pa, uint64_t v) { memcpy(t->ram + pa, &v, 8); }

/* Type nibble of the GDT descriptor for `sel` (9 available, 11 busy). */
static unsigned gdt_type(struct tm *t, uint16_t sel)
{
    return t->ram[GDT + (sel & ~7u) + 5] & 0xfu;
}

/* A TSS for a ring-0 task at TASK_CODE + off with EBX = ebx. */
static void tss_fill(struct tm *t, uint32_t at, uint32_t off, uint32_t ebx)
{
    memset(t->ram + at, 0, 0x68);
    put32(t, at + 0x20, TASK_CODE + off);       /* EIP */
    put32(t, at + 0x24, 0x2);                   /* EFLAGS */
    put32(t, at + 0x34, ebx);                   /* EBX */
    put32(t, at + 0x38, STACK1);                /* ESP */
    put16(t, at + 0x4c, SEL_KCODE);             /* CS */
    put16(t, at + 0x48, SEL_KDATA);             /* ES */
    put16(t, at + 0x50, SEL_KDATA);             /* SS */
    put16(t, at + 0x54, SEL_KDATA);             /* DS */
    put16(t, at + 0x58, SEL_KDATA);             /* FS */
    put16(t, at + 0x5c, SEL_KDATA);             /* GS */
}

static void tm_gdt(struct tm *t)
{
    uint64_t d[GDT_ENTRIES] = {
        0,
        mkdesc(0, 0xfffff, 0x9b, 0xc),          /* 0x08 kernel code */
        mkdesc(0, 0xfffff, 0x93, 0xc),          /* 0x10 kernel data */
        mkdesc(0, 0xfffff, 0xfb, 0xc),          /* 0x18 user code */
        mkdesc(0, 0xfffff, 0xf3, 0xc),          /* 0x20 user data */
        mkdesc(TSS0, 0x67, 0x8b, 0),            /* 0x28 running TSS, busy */
        mkdesc(TSS1, 0x67, 0x89, 0),            /* 0x30 available TSS */
        mktaskgate(SEL_TSS1, 0x85),             /* 0x38 task gate for 0x30 */
        mkdesc(TSS2, 0x50, 0x89, 0),            /* 0x40 limit 0x50 < 0x67 */
        mkdesc(TSS2, 0x67, 0x09, 0),            /* 0x48 not present */
        mkdesc(TSS2, 0x67, 0x89, 0),            /* 0x50 available TSS */
        mktaskgate(SEL_TSS1, 0xe5),             /* 0x58 task gate DPL 3 */
    };
    for (int i = 0; i < GDT_ENTRIES; i++)
        put64(t, GDT + 8u * (uint32_t)i, d[i]);
    t->cpu.s.gdtr = (struct dtr){ GDT, GDT_ENTRIES * 8 - 1 };
}

static void tm_set_seg(struct tm *t, int sreg, uint16_t sel)
{
    uint64_t d;
    memcpy(&d, t->ram + GDT + (sel & ~7u), 8);
    seg_from_desc(&t->cpu.s.seg[sreg], sel, d);
}

static struct tm *tm_new(void)
{
    struct tm *t = calloc(1, sizeof *t);
    t->ram = calloc(1, RAM_SIZE);
    struct cpu_bus bus = { .ctx = t, .ram = t->ram, .ram_size = RAM_SIZE };
    CU_ASSERT_FATAL(cpu_init(&t->cpu, &bus) == 0);
    cpu_reset_multiboot(&t->cpu, CODE, 0x2badb002u, 0);
    tm_gdt(t);
    t->cpu.s.idtr = (struct dtr){ IDT, 32 * 8 - 1 };
    uint64_t d;
    memcpy(&d, t->ram + GDT + SEL_TSS0, 8);
    seg_from_desc(&t->cpu.s.tr, SEL_TSS0, d);
    tss_fill(t, TSS0, 0, 0);
    tss_fill(t, TSS1, 0, 0x1111);
    tss_fill(t, TSS2, 0, 0x2222);
    tm_set_seg(t, S_CS, SEL_KCODE);
    for (int s = 0; s < S_COUNT; s++)
        if (s != S_CS)
            tm_set_seg(t, s, SEL_KDATA);
    t->cpu.s.cpl = 0;
    t->cpu.s.r[R_ESP] = STACK0;
    t->cpu.intercept = 0xffffffffu;
    return t;
}

static void tm_free(struct tm *t)
{
    cpu_free(&t->cpu);
    free(t->ram);
    free(t);
}

static enum cpu_stop tm_run(struct tm *t, uint32_t at, const uint8_t *code, size_t len)
{
    memcpy(t->ram + at, code, len);
    cpu_notify_phys_write(&t->cpu, at, (uint32_t)len);
    t->cpu.s.eip = at;
    t->cpu.s.halted = false;
    return cpu_run(&t->cpu, t->cpu.cycles + 100000);
}

static enum cpu_stop tm_continue(struct tm *t)
{
    t->cpu.s.halted = false;
    return cpu_run(&t->cpu, t->cpu.cycles + 100000);
}

/* A far JMP (0xEA) or CALL (0x9A) to sel:0 at CODE; the fault it raises. */
static void expect_far_fault(struct tm *t, uint8_t op, uint16_t sel, int vec, uint32_t err)
{
    uint8_t c[] = { op, 0, 0, 0, 0, (uint8_t)sel, (uint8_t)(sel >> 8), 0xf4 };
    CU_ASSERT_EQUAL(tm_run(t, CODE, c, sizeof c), CPU_STOP_INTERCEPT);
    CU_ASSERT_EQUAL(t->cpu.stop_vector, vec);
    CU_ASSERT_EQUAL(t->cpu.stop_error, err);
    CU_ASSERT_EQUAL(t->cpu.s.eip, CODE);            /* nothing done */
    CU_ASSERT_EQUAL(t->cpu.s.tr.sel, SEL_TSS0);
    CU_ASSERT_EQUAL(gdt_type(t, SEL_TSS0), 0xb);
}

/* Before the commit point: the fault is the old task's, nothing changed. */
static void test_task_faults(void)
{
    struct tm *t = tm_new();
    expect_far_fault(t, 0xea, SEL_TSS0, EXC_GP, SEL_TSS0);     /* busy */
    expect_far_fault(t, 0x9a, SEL_TSS0, EXC_GP, SEL_TSS0);
    expect_far_fault(t, 0xea, SEL_SHORT, EXC_TS, SEL_SHORT);   /* limit 0x50 */
    expect_far_fault(t, 0x9a, SEL_ABSENT, EXC_NP, SEL_ABSENT); /* not present */
    put64(t, GDT + SEL_TSS1, mkdesc(TSS1, 0x67, 0x8b, 0));     /* 0x30 busy */
    expect_far_fault(t, 0x9a, SEL_GATE1, EXC_GP, SEL_TSS1);    /* gate to busy */
    put64(t, GDT + SEL_TSS1, mkdesc(TSS1, 0x67, 0x89, 0));
    expect_far_fault(t, 0xea, SEL_TSS1 | 3, EXC_GP, SEL_TSS1); /* RPL 3 > DPL 0 */
    CU_ASSERT_EQUAL(gdt_type(t, SEL_TSS1), 0x9);
    tm_free(t);
}

/* CALL through a task gate, then IRET back through the link (SDM 7.4). */
static void test_task_call_iret(void)
{
    static const uint8_t c_call[] = { 0x9a, 0, 0, 0, 0, SEL_GATE1, 0, 0xf4 };
    static const uint8_t c_task[] = { 0xf4, 0xcf };            /* hlt; iret */
    struct tm *t = tm_new();
    memcpy(t->ram + TASK_CODE, c_task, sizeof c_task);
    t->cpu.s.r[R_ESI] = 0x5151;
    CU_ASSERT_EQUAL(tm_run(t, CODE, c_call, sizeof c_call), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(t->cpu.s.eip, TASK_CODE + 1);
    CU_ASSERT_EQUAL(t->cpu.s.tr.sel, SEL_TSS1);
    CU_ASSERT_EQUAL(t->cpu.s.r[R_EBX], 0x1111);
    CU_ASSERT_EQUAL(t->cpu.s.r[R_ESI], 0);
    CU_ASSERT_EQUAL(t->cpu.s.r[R_ESP], STACK1);
    CU_ASSERT(cpu_get_eflags(&t->cpu) & FL_NT);                /* nested */
    CU_ASSERT(t->cpu.s.cr0 & CR0_TS);
    CU_ASSERT_EQUAL(get16(t, TSS1), SEL_TSS0);                 /* back link */
    CU_ASSERT_EQUAL(gdt_type(t, SEL_TSS0), 0xb);               /* both busy */
    CU_ASSERT_EQUAL(gdt_type(t, SEL_TSS1), 0xb);
    CU_ASSERT_EQUAL(get32(t, TSS0 + 0x20), CODE + 7);          /* old EIP saved */
    CU_ASSERT_EQUAL(get32(t, TSS0 + 0x40), 0x5151);            /* old ESI saved */
    CU_ASSERT_EQUAL(get16(t, TSS0 + 0x4c), SEL_KCODE);         /* old CS saved */
    CU_ASSERT_EQUAL(tm_continue(t), CPU_STOP_HLT);             /* IRET: back */
    CU_ASSERT_EQUAL(t->cpu.s.eip, CODE + 8);
    CU_ASSERT_EQUAL(t->cpu.s.tr.sel, SEL_TSS0);
    CU_ASSERT_EQUAL(t->cpu.s.r[R_ESI], 0x5151);
    CU_ASSERT_EQUAL(t->cpu.s.r[R_ESP], STACK0);
    CU_ASSERT_FALSE(cpu_get_eflags(&t->cpu) & FL_NT);
    CU_ASSERT_EQUAL(gdt_type(t, SEL_TSS1), 0x9);               /* left: available */
    CU_ASSERT_EQUAL(gdt_type(t, SEL_TSS0), 0xb);
    CU_ASSERT_EQUAL(get32(t, TSS1 + 0x20), TASK_CODE + 2);     /* B's EIP after IRET */
    tm_free(t);
}

/* JMP does not nest: no link, no NT, the old task becomes available. */
static void test_task_jmp(void)
{
    static const uint8_t c_jmp[] = { 0xea, 0, 0, 0, 0, SEL_TSS2, 0 };
    struct tm *t = tm_new();
    t->ram[TASK_CODE] = 0xf4;
    put16(t, TSS2, 0x7777);
    CU_ASSERT_EQUAL(tm_run(t, CODE, c_jmp, sizeof c_jmp), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(t->cpu.s.tr.sel, SEL_TSS2);
    CU_ASSERT_EQUAL(t->cpu.s.r[R_EBX], 0x2222);
    CU_ASSERT_FALSE(cpu_get_eflags(&t->cpu) & FL_NT);
    CU_ASSERT_EQUAL(get16(t, TSS2), 0x7777);                   /* link untouched */
    CU_ASSERT_EQUAL(gdt_type(t, SEL_TSS0), 0x9);
    CU_ASSERT_EQUAL(gdt_type(t, SEL_TSS2), 0xb);
    /* IRET with NT=1 whose link names an available TSS: #TS(link) */
    put16(t, TSS2, SEL_TSS1);
    static const uint8_t c_iret[] = { 0xcf };
    cpu_set_eflags(&t->cpu, cpu_get_eflags(&t->cpu) | FL_NT);
    CU_ASSERT_EQUAL(tm_run(t, TASK_CODE + 0x10, c_iret, 1), CPU_STOP_INTERCEPT);
    CU_ASSERT_EQUAL(t->cpu.stop_vector, EXC_TS);
    CU_ASSERT_EQUAL(t->cpu.stop_error, SEL_TSS1);
    CU_ASSERT_EQUAL(t->cpu.s.tr.sel, SEL_TSS2);
    tm_free(t);
}

/* After the commit point a bad segment faults in the *new* task (table
   7-1): #TS(selector) with TR and EIP the new task's. */
static void test_task_fault_after_commit(void)
{
    static const uint8_t c_jmp[] = { 0xea, 0, 0, 0, 0, SEL_TSS1, 0 };
    struct tm *t = tm_new();
    put16(t, TSS1 + 0x54, 0x78);                   /* DS past the GDT limit */
    CU_ASSERT_EQUAL(tm_run(t, CODE, c_jmp, sizeof c_jmp), CPU_STOP_INTERCEPT);
    CU_ASSERT_EQUAL(t->cpu.stop_vector, EXC_TS);
    CU_ASSERT_EQUAL(t->cpu.stop_error, 0x78);
    CU_ASSERT_EQUAL(t->cpu.s.tr.sel, SEL_TSS1);
    CU_ASSERT_EQUAL(t->cpu.s.eip, TASK_CODE);
    CU_ASSERT_EQUAL(t->cpu.s.seg[S_DS].sel, 0x78);
    CU_ASSERT_EQUAL(t->cpu.s.seg[S_DS].flags, 0);  /* unusable */
    CU_ASSERT_EQUAL(t->cpu.s.seg[S_SS].sel, SEL_KDATA);  /* SS came before DS */
    CU_ASSERT_EQUAL(gdt_type(t, SEL_TSS1), 0xb);
    CU_ASSERT_EQUAL(get32(t, TSS0 + 0x20), CODE + 7);
    /* a ring-3 TSS selector for a DPL-0 code descriptor: #TS(CS) */
    t = (tm_free(t), tm_new());
    put16(t, TSS1 + 0x4c, SEL_KCODE | 3);
    CU_ASSERT_EQUAL(tm_run(t, CODE, c_jmp, sizeof c_jmp), CPU_STOP_INTERCEPT);
    CU_ASSERT_EQUAL(t->cpu.stop_vector, EXC_TS);
    CU_ASSERT_EQUAL(t->cpu.stop_error, SEL_KCODE);
    tm_free(t);
}

/* An exception through an IDT task gate: the error code on the new task's
   stack, the old task resuming at the faulting instruction. */
static void test_task_gate_exception(void)
{
    static const uint8_t c_fault[] = { 0xb8, 0x78, 0, 0, 0, 0x8e, 0xe0, 0xf4 }; /* mov $0x78,%eax; mov %ax,%fs */
    struct tm *t = tm_new();
    put64(t, IDT + 8 * EXC_GP, mktaskgate(SEL_TSS1, 0x85));
    t->ram[TASK_CODE] = 0xf4;
    t->cpu.intercept = 0;
    CU_ASSERT_EQUAL(tm_run(t, CODE, c_fault, sizeof c_fault), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(t->cpu.s.tr.sel, SEL_TSS1);
    CU_ASSERT_EQUAL(t->cpu.s.r[R_ESP], STACK1 - 4);
    CU_ASSERT_EQUAL(get32(t, STACK1 - 4), 0x78);               /* #GP(0x78) */
    CU_ASSERT_EQUAL(get32(t, TSS0 + 0x20), CODE + 5);          /* the fault */
    CU_ASSERT_EQUAL(get16(t, TSS1), SEL_TSS0);
    CU_ASSERT(cpu_get_eflags(&t->cpu) & FL_NT);
    /* INT n through a DPL-0 task gate from ring 3: #GP(vector * 8 + 2) */
    tm_free(t);
    t = tm_new();
    put64(t, IDT + 8 * 0x40, mktaskgate(SEL_TSS1, 0x85));
    t->cpu.s.idtr.limit = 0x41 * 8 - 1;
    tm_set_seg(t, S_CS, SEL_UCODE);
    tm_set_seg(t, S_SS, SEL_UDATA);
    t->cpu.s.cpl = 3;
    static const uint8_t c_int[] = { 0xcd, 0x40 };
    CU_ASSERT_EQUAL(tm_run(t, CODE, c_int, sizeof c_int), CPU_STOP_INTERCEPT);
    CU_ASSERT_EQUAL(t->cpu.stop_vector, EXC_GP);
    CU_ASSERT_EQUAL(t->cpu.stop_error, 0x40 * 8 + 2);
    CU_ASSERT_EQUAL(t->cpu.s.tr.sel, SEL_TSS0);
    tm_free(t);
}

/* A 16-bit TSS is refused with a clear stop, not half switched. */
static void test_task_16bit_refused(void)
{
    static const uint8_t c_jmp[] = { 0xea, 0, 0, 0, 0, SEL_TSS2, 0 };
    struct tm *t = tm_new();
    put64(t, GDT + SEL_TSS2, mkdesc(TSS2, 0x2b, 0x81, 0));     /* type 1 */
    CU_ASSERT_EQUAL(tm_run(t, CODE, c_jmp, sizeof c_jmp), CPU_STOP_UNSUPPORTED);
    CU_ASSERT_PTR_NOT_NULL(strstr(t->cpu.stop_msg, "16-bit TSS"));
    CU_ASSERT_EQUAL(t->cpu.s.tr.sel, SEL_TSS0);
    CU_ASSERT_EQUAL(gdt_type(t, SEL_TSS0), 0xb);
    tm_free(t);
}

void suite_cpu_task_register(void)
{
    CU_pSuite s = CU_add_suite("cpu_task", NULL, NULL);
    CU_add_test(s, "faults before the commit point (#GP busy, #TS limit, #NP)", test_task_faults);
    CU_add_test(s, "CALL through a task gate, IRET through the link", test_task_call_iret);
    CU_add_test(s, "JMP to a TSS; IRET to an available TSS", test_task_jmp);
    CU_add_test(s, "faults after the commit point, in the new task", test_task_fault_after_commit);
    CU_add_test(s, "exception and INT n through IDT task gates", test_task_gate_exception);
    CU_add_test(s, "16-bit TSS refused", test_task_16bit_refused);
}
