/*
 * test_cpu_sys.c - unit tests of the CPU's protected-mode system
 * architecture: segmentation checks, paging and the TLB, exception and
 * interrupt delivery, IRET and far transfers, and the sensitive
 * instructions that leak privileged state without trapping.
 *
 * Each test builds a tiny machine (8 MiB RAM, a GDT at 0x1000, an IDT at
 * 0x2000 whose handlers are one-byte HLT stubs at 0x20000 + 16 * vector, a
 * TSS at 0x3000 with ESP0 = 0x80000 and a full I/O bitmap) and either calls
 * the memory/segment primitives directly (catching the raised fault with
 * setjmp, as the run loop does) or runs hand-assembled machine code (bytes
 * from GNU as, the source in the comment beside them) until a HLT.
 * Expected values come from the Intel SDM (sections cited per test), not
 * from ringside itself.
 */
#include <CUnit/CUnit.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include "cpu/cpu.h"
#include "cpu/cpu_internal.h"

#define RAM_SIZE (8u << 20)
#define GDT 0x1000u
#define IDT 0x2000u
#define TSS 0x3000u
#define STUBS 0x20000u
#define KCODE 0x10000u
#define UCODE 0x30000u
#define KSTACK 0x90000u   /* ESP of the kernel tests (same-privilege frames) */
#define ESP0 0x80000u     /* TSS ring-0 stack (inner-privilege frames) */
#define USTACK 0x70000u
#define PD 0x100000u
#define PT 0x101000u

/* Selectors of the test GDT. */
enum {
    SEL_KCODE = 0x08, SEL_KDATA = 0x10, SEL_UCODE = 0x1b, SEL_UDATA = 0x23,
    SEL_TSS = 0x28, SEL_SMALL = 0x30, SEL_RODATA = 0x38, SEL_EXPDOWN = 0x40,
    SEL_NOTPRESENT = 0x48, SEL_XONLY = 0x50, SEL_GATE = 0x68, GDT_ENTRIES = 14
};

struct tm {
    struct cpu cpu;
    uint8_t *ram;
    int io_reads;        /* io_in calls */
};

static uint32_t tm_io_in(void *ctx, uint16_t port, int size)
{
    ((struct tm *)ctx)->io_reads++;
    return 0x5a;
}

static void tm_io_out(void *ctx, uint16_t port, int size, uint32_t val) { }

static uint64_t mkdesc(uint32_t base, uint32_t limit, uint32_t access, uint32_t gdb)
{
    uint32_t lo = (limit & 0xffffu) | (base << 16);
    uint32_t hi = ((base >> 16) & 0xffu) | (access << 8) | (limit & 0xf0000u) |
                  (gdb << 20) | (base & 0xff000000u);
    return ((uint64_t)hi << 32) | lo;
}

static uint64_t mkgate(uint16_t sel, uint32_t off, uint32_t access, uint32_t params)
{
    uint32_t lo = (off & 0xffffu) | ((uint32_t)sel << 16);
    uint32_t hi = (off & 0xffff0000u) | (access << 8) | params;
    return ((uint64_t)hi << 32) | lo;
}

static void put32(struct tm *t, uint32_t pa, uint32_t v) { memcpy(t->ram + pa, &v, 4); }
static uint32_t get32(struct tm *t, uint32_t pa) { uint32_t v; memcpy(&v, t->ram + pa, 4); return v; }
static void put64(struct tm *t, uint32_t pa, uint64_t v) { memcpy(t->ram + pa, &v, 8); }

static void tm_gdt(struct tm *t)
{
    static const struct { uint32_t base, limit, access, gdb; } d[GDT_ENTRIES] = {
        { 0, 0, 0, 0 },
        { 0, 0xfffff, 0x9b, 0xc },          /* 0x08 kernel code */
        { 0, 0xfffff, 0x93, 0xc },          /* 0x10 kernel data */
        { 0, 0xfffff, 0xfb, 0xc },          /* 0x18 user code DPL 3 */
        { 0, 0xfffff, 0xf3, 0xc },          /* 0x20 user data DPL 3 */
        { TSS, 0x2068, 0x89, 0x0 },         /* 0x28 32-bit TSS */
        { 0x50000, 0xfff, 0x93, 0x4 },      /* 0x30 small data, limit 0xfff */
        { 0, 0xfffff, 0x91, 0xc },          /* 0x38 read-only data */
        { 0, 0xfff, 0x97, 0x4 },            /* 0x40 expand-down, limit 0xfff */
        { 0, 0xfffff, 0x13, 0xc },          /* 0x48 not present */
        { 0, 0xfffff, 0x99, 0xc },          /* 0x50 execute-only code */
        { 0, 0xfffff, 0xbb, 0xc },          /* 0x58 ring-1 code */
        { 0, 0xfffff, 0xb3, 0xc },          /* 0x60 ring-1 data */
        { 0, 0, 0, 0 },                     /* 0x68 call gate, below */
    };
    for (int i = 0; i < GDT_ENTRIES; i++)
        put64(t, GDT + 8u * (uint32_t)i, mkdesc(d[i].base, d[i].limit, d[i].access, d[i].gdb));
    put64(t, GDT + SEL_GATE, mkgate(SEL_KCODE, 0x10200, 0xec, 0));
    t->cpu.s.gdtr = (struct dtr){ GDT, GDT_ENTRIES * 8 - 1 };
}

/* Interrupt gates (DPL 0) for 0-31 and 0x81, a DPL-3 trap gate for 0x80. */
static void tm_idt(struct tm *t)
{
    for (uint32_t v = 0; v < 0x82; v++) {
        uint32_t access = v == 0x80 ? 0xef : 0x8e;
        put64(t, IDT + 8 * v, mkgate(SEL_KCODE, STUBS + 16 * v, access, 0));
        t->ram[STUBS + 16 * v] = 0xf4;                    /* hlt */
    }
    t->cpu.s.idtr = (struct dtr){ IDT, 0x82 * 8 - 1 };
}

static void tm_tss(struct tm *t)
{
    put32(t, TSS + 4, ESP0);
    put32(t, TSS + 8, SEL_KDATA);
    put32(t, TSS + 0x64, 0x68u << 16);                   /* I/O map base */
    t->ram[TSS + 0x68 + 0x2000] = 0xff;                  /* bitmap end */
    uint64_t d = mkdesc(TSS, 0x2068, 0x8b, 0);           /* busy */
    seg_from_desc(&t->cpu.s.tr, SEL_TSS, d);
}

static uint64_t tm_desc(struct tm *t, uint16_t sel)
{
    uint64_t d;
    memcpy(&d, t->ram + GDT + (sel & ~7u), 8);
    return d;
}

static void tm_set_seg(struct tm *t, int sreg, uint16_t sel)
{
    seg_from_desc(&t->cpu.s.seg[sreg], sel, tm_desc(t, sel));
}

static struct tm *tm_new(void)
{
    struct tm *t = calloc(1, sizeof *t);
    t->ram = calloc(1, RAM_SIZE);
    struct cpu_bus bus = { .ctx = t, .ram = t->ram, .ram_size = RAM_SIZE,
                           .io_in = tm_io_in, .io_out = tm_io_out };
    CU_ASSERT_FATAL(cpu_init(&t->cpu, &bus) == 0);
    cpu_reset_multiboot(&t->cpu, KCODE, 0x2badb002u, 0);
    tm_gdt(t);
    tm_idt(t);
    tm_tss(t);
    tm_set_seg(t, S_CS, SEL_KCODE);
    for (int s = 0; s < S_COUNT; s++)
        if (s != S_CS)
            tm_set_seg(t, s, SEL_KDATA);
    t->cpu.s.cpl = 0;
    t->cpu.s.r[R_ESP] = KSTACK;
    return t;
}

static void tm_free(struct tm *t)
{
    cpu_free(&t->cpu);
    free(t->ram);
    free(t);
}

/* Switch to CPL 3 with user segments (as after an IRET to user mode). */
static void tm_user(struct tm *t)
{
    tm_set_seg(t, S_CS, SEL_UCODE);
    for (int s = 0; s < S_COUNT; s++)
        if (s != S_CS)
            tm_set_seg(t, s, SEL_UDATA);
    t->cpu.s.cpl = 3;
    t->cpu.s.r[R_ESP] = USTACK;
}

/* Put code at `at` and run it until it stops (HLT, fault stop, ...). */
static enum cpu_stop tm_run(struct tm *t, uint32_t at, const uint8_t *code, size_t len)
{
    memcpy(t->ram + at, code, len);
    cpu_notify_phys_write(&t->cpu, at, (uint32_t)len);
    t->cpu.s.eip = at;
    t->cpu.s.halted = false;
    return cpu_run(&t->cpu, t->cpu.cycles + 100000);
}

/* Vector whose HLT stub stopped the CPU, or -1. */
static int tm_vector(struct tm *t)
{
    uint32_t eip = t->cpu.s.eip;
    if (t->cpu.stop != CPU_STOP_HLT || eip <= STUBS || eip > STUBS + 16 * 0x82)
        return -1;
    return (int)((eip - STUBS - 1) / 16);
}

/* Dword i of the stack (SS base 0). */
static uint32_t tm_stack(struct tm *t, int i)
{
    return get32(t, t->cpu.s.r[R_ESP] + 4u * (uint32_t)i);
}

/* Run one primitive and catch the fault it raises: the vector or -1. */
#define TRY(t, stmt) ({ volatile int v_ = -1;                        \
        if (setjmp((t)->cpu.fault_jmp) == 0) { stmt; }         \
        else v_ = (t)->cpu.pending_vector;                     \
        v_; })
#define ERR(t) ((t)->cpu.pending_error)

/* ---- segmentation (SDM vol. 3, 5.3 limit, 5.4 type, 5.5-5.6 privilege) ---- */

static void test_seg_limit_type(void)
{
    struct tm *t = tm_new();
    uint32_t v = 0;
    tm_set_seg(t, S_DS, SEL_SMALL);
    put32(t, 0x50ffc, 0xcafef00d);
    CU_ASSERT_EQUAL(TRY(t, v = mem_read(&t->cpu, S_DS, 0xffc, 4)), -1);
    CU_ASSERT_EQUAL(v, 0xcafef00d);
    /* the last byte (0x1001) is beyond the limit: #GP(0) */
    CU_ASSERT_EQUAL(TRY(t, mem_read(&t->cpu, S_DS, 0xffe, 4)), EXC_GP);
    CU_ASSERT_EQUAL(ERR(t), 0);
    CU_ASSERT_EQUAL(TRY(t, mem_write(&t->cpu, S_DS, 0x1000, 1, 0)), EXC_GP);
    /* through SS the same violation is #SS(0) */
    tm_set_seg(t, S_SS, SEL_SMALL);
    CU_ASSERT_EQUAL(TRY(t, mem_read(&t->cpu, S_SS, 0x1000, 1)), EXC_SS);
    CU_ASSERT_EQUAL(ERR(t), 0);
    t->cpu.s.r[R_ESP] = 2;
    CU_ASSERT_EQUAL(TRY(t, stack_push(&t->cpu, 4, 1)), EXC_SS);
    CU_ASSERT_EQUAL(t->cpu.s.r[R_ESP], 2);
    /* read-only data: reads work, writes #GP(0) */
    tm_set_seg(t, S_ES, SEL_RODATA);
    CU_ASSERT_EQUAL(TRY(t, mem_read(&t->cpu, S_ES, 0x100, 4)), -1);
    CU_ASSERT_EQUAL(TRY(t, mem_write(&t->cpu, S_ES, 0x100, 4, 1)), EXC_GP);
    CU_ASSERT_EQUAL(TRY(t, mem_check_write(&t->cpu, S_ES, 0x100, 8)), EXC_GP);
    /* expand-down, limit 0xfff: valid offsets are 0x1000..0xffffffff */
    tm_set_seg(t, S_FS, SEL_EXPDOWN);
    CU_ASSERT_EQUAL(TRY(t, mem_read(&t->cpu, S_FS, 0x800, 1)), EXC_GP);
    CU_ASSERT_EQUAL(TRY(t, mem_read(&t->cpu, S_FS, 0xffe, 4)), EXC_GP);
    CU_ASSERT_EQUAL(TRY(t, mem_read(&t->cpu, S_FS, 0x2000, 4)), -1);
    /* code segment through a data register: never writable */
    tm_set_seg(t, S_GS, SEL_KCODE);
    CU_ASSERT_EQUAL(TRY(t, mem_write(&t->cpu, S_GS, 0x100, 4, 1)), EXC_GP);
    CU_ASSERT_EQUAL(TRY(t, mem_read(&t->cpu, S_GS, 0x100, 4)), -1);
    tm_free(t);
}

static void test_seg_load_rules(void)
{
    struct tm *t = tm_new();
    struct cpu *c = &t->cpu;
    /* null selector: fine for DS, the first use faults #GP(0) (5.4.1) */
    CU_ASSERT_EQUAL(TRY(t, seg_load(c, S_DS, 0)), -1);
    CU_ASSERT_EQUAL(TRY(t, mem_read(c, S_DS, 0, 4)), EXC_GP);
    CU_ASSERT_EQUAL(ERR(t), 0);
    /* ... but #GP(0) for SS, even with an RPL */
    CU_ASSERT_EQUAL(TRY(t, seg_load(c, S_SS, 3)), EXC_GP);
    CU_ASSERT_EQUAL(ERR(t), 0);
    /* beyond the GDT limit: #GP(selector) */
    CU_ASSERT_EQUAL(TRY(t, seg_load(c, S_DS, 0x400)), EXC_GP);
    CU_ASSERT_EQUAL(ERR(t), 0x400);
    /* not present: #NP(sel) for data, #SS(sel) for SS */
    CU_ASSERT_EQUAL(TRY(t, seg_load(c, S_DS, SEL_NOTPRESENT)), EXC_NP);
    CU_ASSERT_EQUAL(ERR(t), SEL_NOTPRESENT);
    CU_ASSERT_EQUAL(TRY(t, seg_load(c, S_SS, SEL_NOTPRESENT)), EXC_SS);
    CU_ASSERT_EQUAL(ERR(t), SEL_NOTPRESENT);
    /* execute-only code and system descriptors are not data */
    CU_ASSERT_EQUAL(TRY(t, seg_load(c, S_ES, SEL_XONLY)), EXC_GP);
    CU_ASSERT_EQUAL(ERR(t), SEL_XONLY);
    CU_ASSERT_EQUAL(TRY(t, seg_load(c, S_ES, SEL_TSS)), EXC_GP);
    CU_ASSERT_EQUAL(TRY(t, seg_load(c, S_ES, SEL_KCODE)), -1);  /* readable code */
    CU_ASSERT_EQUAL(TRY(t, seg_load(c, S_SS, SEL_RODATA)), EXC_GP);
    /* at CPL 3: DPL 0 data -> #GP(sel); SS needs RPL = DPL = CPL */
    c->s.cpl = 3;
    CU_ASSERT_EQUAL(TRY(t, seg_load(c, S_DS, SEL_KDATA | 3)), EXC_GP);
    CU_ASSERT_EQUAL(ERR(t), SEL_KDATA);
    CU_ASSERT_EQUAL(TRY(t, seg_load(c, S_DS, SEL_UDATA)), -1);
    CU_ASSERT_EQUAL(TRY(t, seg_load(c, S_SS, SEL_UDATA & ~3)), EXC_GP);
    CU_ASSERT_EQUAL(ERR(t), SEL_UDATA & ~3);
    CU_ASSERT_EQUAL(TRY(t, seg_load(c, S_SS, SEL_UDATA)), -1);
    CU_ASSERT_EQUAL(c->s.seg[S_SS].sel, SEL_UDATA);
    /* RPL 3 at CPL 0 on DPL 0 data: #GP too (max(CPL, RPL) > DPL) */
    c->s.cpl = 0;
    CU_ASSERT_EQUAL(TRY(t, seg_load(c, S_FS, SEL_KDATA | 3)), EXC_GP);
    tm_free(t);
}

/* Loading a descriptor sets its accessed bit in the table (SDM 3.4.5.1). */
static void test_seg_accessed(void)
{
    struct tm *t = tm_new();
    t->ram[GDT + SEL_SMALL + 5] = 0x92;                  /* clear A */
    CU_ASSERT_EQUAL(TRY(t, seg_load(&t->cpu, S_DS, SEL_SMALL)), -1);
    CU_ASSERT_EQUAL(t->ram[GDT + SEL_SMALL + 5], 0x93);
    CU_ASSERT_EQUAL(t->cpu.s.seg[S_DS].base, 0x50000);
    CU_ASSERT_EQUAL(t->cpu.s.seg[S_DS].limit, 0xfff);
    tm_free(t);
}

/* ---- paging (SDM vol. 3, 4.3 32-bit paging, 4.6 rights, 4.7 #PF, 4.8 A/D) ---- */

#define PG_P 1u
#define PG_W 2u
#define PG_U 4u

/* Identity map 0-4 MiB user/writable, with a few special pages. */
static void tm_paging(struct tm *t)
{
    put32(t, PD, PT | PG_P | PG_W | PG_U);
    for (uint32_t i = 0; i < 1024; i++)
        put32(t, PT + 4 * i, (i << 12) | PG_P | PG_W | PG_U);
    put32(t, PT + 4 * 0x200, 0x200000 | PG_P | PG_U);   /* user read-only */
    put32(t, PT + 4 * 0x201, 0x201000 | PG_P | PG_W);   /* supervisor */
    put32(t, PT + 4 * 0x202, 0);                        /* not present */
    put32(t, PT + 4 * 0x203, 0x203000 | PG_P);          /* supervisor r/o */
    put32(t, PT + 4 * 0x206, 0);                        /* not present */
    t->cpu.s.cr3 = PD;
    t->cpu.s.cr0 |= CR0_PG;
    tlb_flush_all(&t->cpu);
}

/* #PF for access (lin, write, user): returns the error code or -1. */
static int tm_pf(struct tm *t, uint32_t lin, bool write, bool user)
{
    int v = TRY(t, write ? mem_write_lin(&t->cpu, lin, 4, 0, user)
                         : (void)mem_read_lin(&t->cpu, lin, 4, user));
    if (v == -1)
        return -1;
    CU_ASSERT_EQUAL(v, EXC_PF);
    CU_ASSERT_EQUAL(t->cpu.s.cr2, lin);
    return (int)ERR(t);
}

static void test_pf_error_codes(void)
{
    struct tm *t = tm_new();
    tm_paging(t);
    /* not present: P = 0, W/R and U/S say what was tried */
    CU_ASSERT_EQUAL(tm_pf(t, 0x202010, false, false), 0);
    CU_ASSERT_EQUAL(tm_pf(t, 0x202010, true, false), PF_W);
    CU_ASSERT_EQUAL(tm_pf(t, 0x202010, false, true), PF_U);
    CU_ASSERT_EQUAL(tm_pf(t, 0x202010, true, true), PF_W | PF_U);
    /* protection: user access to a supervisor page */
    CU_ASSERT_EQUAL(tm_pf(t, 0x201000, false, true), PF_P | PF_U);
    CU_ASSERT_EQUAL(tm_pf(t, 0x201000, true, true), PF_P | PF_W | PF_U);
    CU_ASSERT_EQUAL(tm_pf(t, 0x201000, true, false), -1);
    /* user write to a user read-only page; user read is fine */
    CU_ASSERT_EQUAL(tm_pf(t, 0x200000, true, true), PF_P | PF_W | PF_U);
    CU_ASSERT_EQUAL(tm_pf(t, 0x200000, false, true), -1);
    /* supervisor write to a read-only page: allowed unless CR0.WP */
    CU_ASSERT_EQUAL(tm_pf(t, 0x203000, true, false), -1);
    t->cpu.s.cr0 |= CR0_WP;
    tlb_flush_all(&t->cpu);
    CU_ASSERT_EQUAL(tm_pf(t, 0x203000, true, false), PF_P | PF_W);
    CU_ASSERT_EQUAL(tm_pf(t, 0x200000, true, false), PF_P | PF_W);
    /* a read-only PDE restricts the whole table (rights combine) */
    t->cpu.s.cr0 &= ~CR0_WP;
    put32(t, PD, PT | PG_P | PG_U);
    tlb_flush_all(&t->cpu);
    CU_ASSERT_EQUAL(tm_pf(t, 0x100000 - 8, true, true), PF_P | PF_W | PF_U);
    tm_free(t);
}

static void test_pf_accessed_dirty(void)
{
    struct tm *t = tm_new();
    tm_paging(t);
    uint32_t pte = PT + 4 * 0x204, pde_a;
    CU_ASSERT_EQUAL(tm_pf(t, 0x204000, false, false), -1);
    pde_a = get32(t, PD) & 0x20u;
    CU_ASSERT_EQUAL(pde_a, 0x20u);                        /* PDE.A */
    CU_ASSERT_EQUAL(get32(t, pte), 0x204000u | 7u | 0x20u); /* A, not D */
    CU_ASSERT_EQUAL(tm_pf(t, 0x204000, true, false), -1);
    CU_ASSERT_EQUAL(get32(t, pte), 0x204000u | 7u | 0x60u); /* A and D */
    CU_ASSERT_EQUAL(get32(t, PD) & 0x40u, 0);              /* no D in a PDE */
    /* a PDE used on the way to a faulting PTE is marked accessed (SDM 4.8,
       6.15 #PF footnote; QEMU's walker does the same); a protection fault
       leaves the leaf's A clear (model specific; QEMU and Bochs) */
    put32(t, PD, PT | 7u);
    tlb_flush_all(&t->cpu);
    CU_ASSERT_EQUAL(tm_pf(t, 0x202000, false, true), PF_U);
    CU_ASSERT_EQUAL(get32(t, PD), PT | 7u | 0x20u);
    CU_ASSERT_EQUAL(tm_pf(t, 0x201000, false, true), PF_P | PF_U);
    CU_ASSERT_EQUAL(get32(t, PT + 4 * 0x201) & 0x20u, 0);
    /* the debugger translation has no side effects */
    uint32_t pa = 0;
    CU_ASSERT_TRUE(cpu_linear_to_phys(&t->cpu, 0x205123, true, 0, &pa));
    CU_ASSERT_EQUAL(pa, 0x205123);
    CU_ASSERT_EQUAL(get32(t, PT + 4 * 0x205) & 0x60u, 0);
    CU_ASSERT_FALSE(cpu_linear_to_phys(&t->cpu, 0x202000, false, 0, &pa));
    tm_free(t);
}

/* An access crossing into a not-present page faults before writing
   anything, with CR2 = the start of the second page (as Bochs/QEMU). */
static void test_pf_split(void)
{
    struct tm *t = tm_new();
    tm_paging(t);
    put32(t, 0x205ffc, 0x11111111);
    CU_ASSERT_EQUAL(TRY(t, mem_write_lin(&t->cpu, 0x205ffe, 4, 0xaabbccdd, false)), EXC_PF);
    CU_ASSERT_EQUAL(t->cpu.s.cr2, 0x206000);
    CU_ASSERT_EQUAL(ERR(t), PF_W);
    CU_ASSERT_EQUAL(get32(t, 0x205ffc), 0x11111111);
    /* a crossing access between two present pages works */
    put32(t, 0x207ffe, 0);
    CU_ASSERT_EQUAL(TRY(t, mem_write_lin(&t->cpu, 0x207ffe, 4, 0xaabbccdd, false)), -1);
    CU_ASSERT_EQUAL(get32(t, 0x207ffe), 0xaabbccdd);
    tm_free(t);
}

/* 4 MiB pages with CR4.PSE (SDM 4.3, table 4-4): A and D in the PDE. */
static void test_pse_4m(void)
{
    struct tm *t = tm_new();
    tm_paging(t);
    put32(t, PD + 4 * 2, 0x400000u | 0x80u | PG_P | PG_W);    /* 8 MiB -> 4 MiB */
    put32(t, 0x412344, 0x4d4d4d4d);
    t->cpu.s.cr4 |= CR4_PSE;
    tlb_flush_all(&t->cpu);
    uint32_t v = 0;
    CU_ASSERT_EQUAL(TRY(t, v = mem_read_lin(&t->cpu, 0x812344, 4, false)), -1);
    CU_ASSERT_EQUAL(v, 0x4d4d4d4d);
    CU_ASSERT_EQUAL(get32(t, PD + 8), 0x400000u | 0x80u | 0x20u | 3u);
    CU_ASSERT_EQUAL(TRY(t, mem_write_lin(&t->cpu, 0x812344, 4, 1, false)), -1);
    CU_ASSERT_EQUAL(get32(t, PD + 8), 0x400000u | 0x80u | 0x60u | 3u);
    CU_ASSERT_EQUAL(tm_pf(t, 0x812344, false, true), PF_P | PF_U);
    tm_free(t);
}

/* The TLB is not coherent: a changed PTE is seen only after INVLPG or a
   CR3 reload (SDM 4.10.4). Direct primitives, then the instructions. */
static void test_tlb_invalidation(void)
{
    struct tm *t = tm_new();
    tm_paging(t);
    uint32_t v = 0;
    put32(t, 0x207000, 0x77777777);
    put32(t, 0x300000, 0x33333333);
    CU_ASSERT_EQUAL(TRY(t, v = mem_read_lin(&t->cpu, 0x207000, 4, false)), -1);
    put32(t, PT + 4 * 0x207, 0x300000 | 3u);
    CU_ASSERT_EQUAL(TRY(t, v = mem_read_lin(&t->cpu, 0x207000, 4, false)), -1);
    CU_ASSERT_EQUAL(v, 0x77777777);                        /* stale */
    tlb_flush_page(&t->cpu, 0x207abc);
    CU_ASSERT_EQUAL(TRY(t, v = mem_read_lin(&t->cpu, 0x207000, 4, false)), -1);
    CU_ASSERT_EQUAL(v, 0x33333333);
    tm_free(t);
}

/* mov eax,[ebx]; mov dword [PT+0x200*4], 0x201003; mov ecx,[ebx];
   invlpg [ebx]; mov edx,[ebx]; mov esi,cr3; mov cr3,esi; hlt */
static const uint8_t c_invlpg[] = { 0x8b, 0x03, 0xc7, 0x05, 0x00, 0x18, 0x10, 0x00,
    0x03, 0x10, 0x20, 0x00, 0x8b, 0x0b, 0x0f, 0x01, 0x3b, 0x8b, 0x13, 0x0f, 0x20,
    0xde, 0x0f, 0x22, 0xde, 0xf4 };

static void test_invlpg_insn(void)
{
    struct tm *t = tm_new();
    tm_paging(t);
    put32(t, 0x200000, 0xaaaa0000);
    put32(t, 0x201000, 0xbbbb1111);
    t->cpu.s.r[R_EBX] = 0x200000;
    CU_ASSERT_EQUAL(tm_run(t, KCODE, c_invlpg, sizeof c_invlpg), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(t->cpu.s.r[R_EAX], 0xaaaa0000);
    CU_ASSERT_EQUAL(t->cpu.s.r[R_ECX], 0xaaaa0000);        /* stale TLB */
    CU_ASSERT_EQUAL(t->cpu.s.r[R_EDX], 0xbbbb1111);        /* after INVLPG */
    CU_ASSERT_EQUAL(t->cpu.s.r[R_ESI], PD);
    tm_free(t);
}

/* ---- exception delivery (SDM vol. 3, 6.12.1, figure 6-4) ---- */

static const uint8_t c_ud2[] = { 0x0f, 0x0b };
static const uint8_t c_mov_ds[] = { 0x8e, 0xd8, 0xf4 };    /* mov ds, ax; hlt */

static void test_deliver_same_privilege(void)
{
    struct tm *t = tm_new();
    /* no error code: EIP, CS, EFLAGS; EIP is the faulting instruction */
    CU_ASSERT_EQUAL(tm_run(t, KCODE, c_ud2, sizeof c_ud2), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(tm_vector(t), EXC_UD);
    CU_ASSERT_EQUAL(t->cpu.s.r[R_ESP], KSTACK - 12);
    CU_ASSERT_EQUAL(tm_stack(t, 0), KCODE);
    CU_ASSERT_EQUAL(tm_stack(t, 1), SEL_KCODE);
    CU_ASSERT_EQUAL(tm_stack(t, 2) & 0x2u, 0x2u);
    tm_free(t);
    /* with an error code: #NP(sel) from MOV DS */
    t = tm_new();
    t->cpu.s.r[R_EAX] = SEL_NOTPRESENT;
    CU_ASSERT_EQUAL(tm_run(t, KCODE, c_mov_ds, sizeof c_mov_ds), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(tm_vector(t), EXC_NP);
    CU_ASSERT_EQUAL(t->cpu.s.r[R_ESP], KSTACK - 16);
    CU_ASSERT_EQUAL(tm_stack(t, 0), SEL_NOTPRESENT);
    CU_ASSERT_EQUAL(tm_stack(t, 1), KCODE);
    CU_ASSERT_EQUAL(tm_stack(t, 2), SEL_KCODE);
    CU_ASSERT_EQUAL(t->cpu.s.seg[S_DS].sel, SEL_KDATA);   /* unchanged */
    tm_free(t);
}

static void test_deliver_inner_privilege(void)
{
    struct tm *t = tm_new();
    tm_user(t);
    cpu_set_eflags(&t->cpu, 0x202);                      /* IF = 1 */
    t->cpu.s.r[R_EAX] = SEL_KDATA;                       /* DPL 0: #GP(0x10) */
    CU_ASSERT_EQUAL(tm_run(t, UCODE, c_mov_ds, sizeof c_mov_ds), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(tm_vector(t), EXC_GP);
    CU_ASSERT_EQUAL(t->cpu.s.cpl, 0);
    CU_ASSERT_EQUAL(t->cpu.s.seg[S_CS].sel, SEL_KCODE);
    CU_ASSERT_EQUAL(t->cpu.s.seg[S_SS].sel, SEL_KDATA);   /* SS0 from the TSS */
    CU_ASSERT_EQUAL(t->cpu.s.r[R_ESP], ESP0 - 24);
    CU_ASSERT_EQUAL(tm_stack(t, 0), SEL_KDATA);           /* error code */
    CU_ASSERT_EQUAL(tm_stack(t, 1), UCODE);
    CU_ASSERT_EQUAL(tm_stack(t, 2), SEL_UCODE);
    CU_ASSERT_EQUAL(tm_stack(t, 3), 0x202);
    CU_ASSERT_EQUAL(tm_stack(t, 4), USTACK);
    CU_ASSERT_EQUAL(tm_stack(t, 5), SEL_UDATA);
    CU_ASSERT_EQUAL(cpu_get_eflags(&t->cpu) & FL_IF, 0);  /* interrupt gate */
    tm_free(t);
}

/* int 0x80 through a DPL-3 trap gate: no error code, IF kept, the pushed
   EIP is the next instruction; int 0x81 (DPL 0 gate) gives #GP(0x81*8+2). */
static const uint8_t c_int80[] = { 0xcd, 0x80, 0xf4 };
static const uint8_t c_int81[] = { 0xcd, 0x81, 0xf4 };

static void test_int_n(void)
{
    struct tm *t = tm_new();
    tm_user(t);
    cpu_set_eflags(&t->cpu, 0x202);
    CU_ASSERT_EQUAL(tm_run(t, UCODE, c_int80, sizeof c_int80), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(tm_vector(t), 0x80);
    CU_ASSERT_EQUAL(t->cpu.s.r[R_ESP], ESP0 - 20);
    CU_ASSERT_EQUAL(tm_stack(t, 0), UCODE + 2);
    CU_ASSERT_EQUAL(tm_stack(t, 1), SEL_UCODE);
    CU_ASSERT_EQUAL(cpu_get_eflags(&t->cpu) & FL_IF, FL_IF); /* trap gate */
    tm_free(t);
    t = tm_new();
    tm_user(t);
    CU_ASSERT_EQUAL(tm_run(t, UCODE, c_int81, sizeof c_int81), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(tm_vector(t), EXC_GP);
    CU_ASSERT_EQUAL(tm_stack(t, 0), 0x81u * 8 + 2);      /* IDT, EXT = 0 */
    CU_ASSERT_EQUAL(tm_stack(t, 1), UCODE);               /* the INT itself */
    tm_free(t);
}

/* ---- IRET (SDM vol. 2, IRET: same level and return to outer level) ---- */

static const uint8_t c_iret[] = { 0xcf };

static void test_iret_same_level(void)
{
    struct tm *t = tm_new();
    t->ram[KCODE + 0x100] = 0xf4;
    t->cpu.s.r[R_ESP] = KSTACK - 12;
    put32(t, KSTACK - 12, KCODE + 0x100);
    put32(t, KSTACK - 8, SEL_KCODE);
    put32(t, KSTACK - 4, 0x2c3);                         /* IF ZF CF ... */
    CU_ASSERT_EQUAL(tm_run(t, KCODE, c_iret, sizeof c_iret), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(t->cpu.s.eip, KCODE + 0x101);
    CU_ASSERT_EQUAL(t->cpu.s.r[R_ESP], KSTACK);
    CU_ASSERT_EQUAL(cpu_get_eflags(&t->cpu) & 0x2c3u, 0x2c3u);
    tm_free(t);
}

static void test_iret_outer_level(void)
{
    struct tm *t = tm_new();
    static const uint8_t user_hlt[] = { 0xf4 };         /* HLT at CPL 3: #GP(0) */
    memcpy(t->ram + UCODE, user_hlt, 1);
    tm_set_seg(t, S_ES, SEL_UDATA);
    t->cpu.s.r[R_ESP] = KSTACK - 20;
    put32(t, KSTACK - 20, UCODE);
    put32(t, KSTACK - 16, SEL_UCODE);
    put32(t, KSTACK - 12, 0x3202);                       /* IOPL 3, IF */
    put32(t, KSTACK - 8, USTACK);
    put32(t, KSTACK - 4, SEL_UDATA);
    t->cpu.intercept = 1u << EXC_GP;
    CU_ASSERT_EQUAL(tm_run(t, KCODE, c_iret, sizeof c_iret), CPU_STOP_INTERCEPT);
    CU_ASSERT_EQUAL(t->cpu.stop_vector, EXC_GP);
    CU_ASSERT_EQUAL(t->cpu.s.eip, UCODE);
    CU_ASSERT_EQUAL(t->cpu.s.cpl, 3);
    CU_ASSERT_EQUAL(t->cpu.s.seg[S_CS].sel, SEL_UCODE);
    CU_ASSERT_EQUAL(t->cpu.s.seg[S_SS].sel, SEL_UDATA);
    CU_ASSERT_EQUAL(t->cpu.s.r[R_ESP], USTACK);
    CU_ASSERT_EQUAL(t->cpu.s.seg[S_DS].sel, 0);           /* DPL 0 nulled */
    CU_ASSERT_EQUAL(t->cpu.s.seg[S_ES].sel, SEL_UDATA);   /* DPL 3 kept */
    CU_ASSERT_EQUAL(cpu_get_eflags(&t->cpu) & (FL_IOPL | FL_IF), 0x3200u);
    tm_free(t);
}

/* ---- double and triple faults (SDM vol. 3, 6.15 table 6-5, interrupt 8) ---- */

static void test_double_fault(void)
{
    struct tm *t = tm_new();
    /* #GP with a not-present #GP gate -> #NP during #GP -> #DF, error 0 */
    t->ram[IDT + 8 * EXC_GP + 5] &= 0x7f;
    t->cpu.s.r[R_EAX] = 0x400;                          /* beyond the GDT */
    CU_ASSERT_EQUAL(tm_run(t, KCODE, c_mov_ds, sizeof c_mov_ds), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(tm_vector(t), EXC_DF);
    CU_ASSERT_EQUAL(tm_stack(t, 0), 0);
    CU_ASSERT_EQUAL(tm_stack(t, 1), KCODE);
    tm_free(t);
    /* #PF with a not-present #PF gate: page fault then contributory */
    t = tm_new();
    tm_paging(t);
    t->ram[IDT + 8 * EXC_PF + 5] &= 0x7f;
    static const uint8_t c_read_ebx[] = { 0x8b, 0x03, 0xf4 };
    t->cpu.s.r[R_EBX] = 0x202000;
    CU_ASSERT_EQUAL(tm_run(t, KCODE, c_read_ebx, sizeof c_read_ebx), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(tm_vector(t), EXC_DF);
    CU_ASSERT_EQUAL(t->cpu.s.cr2, 0x202000);
    tm_free(t);
    /* a benign #UD whose gate is missing: only #NP, no #DF */
    t = tm_new();
    t->ram[IDT + 8 * EXC_UD + 5] &= 0x7f;
    CU_ASSERT_EQUAL(tm_run(t, KCODE, c_ud2, sizeof c_ud2), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(tm_vector(t), EXC_NP);
    CU_ASSERT_EQUAL(tm_stack(t, 0), 8u * EXC_UD + 2 + 1);  /* IDT, EXT */
    tm_free(t);
}

static void test_triple_fault(void)
{
    struct tm *t = tm_new();
    t->cpu.s.idtr.limit = 0;
    CU_ASSERT_EQUAL(tm_run(t, KCODE, c_ud2, sizeof c_ud2), CPU_STOP_TRIPLE);
    tm_free(t);
}

/* ---- POPF, I/O, sensitive instructions ---- */

/* pushfd; pop ebx; push 0; popfd; pushfd; pop ecx; int 0x80 */
static const uint8_t c_popf[] = { 0x9c, 0x5b, 0x6a, 0x00, 0x9d, 0x9c, 0x59, 0xcd, 0x80 };

/* SDM vol. 2 POPF: at CPL 3 with IOPL 0, IF and IOPL stay silently. */
static void test_popf_cpl3(void)
{
    struct tm *t = tm_new();
    tm_user(t);
    cpu_set_eflags(&t->cpu, 0x202);
    CU_ASSERT_EQUAL(tm_run(t, UCODE, c_popf, sizeof c_popf), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(tm_vector(t), 0x80);                 /* no fault on the way */
    CU_ASSERT_EQUAL(t->cpu.s.r[R_EBX] & FL_IF, FL_IF);
    CU_ASSERT_EQUAL(t->cpu.s.r[R_ECX] & FL_IF, FL_IF);   /* the leak */
    tm_free(t);
    /* at CPL 0 the same POPF clears IF */
    t = tm_new();
    cpu_set_eflags(&t->cpu, 0x3202);
    static const uint8_t c_popf0[] = { 0x6a, 0x00, 0x9d, 0x9c, 0x59, 0xf4 };
    CU_ASSERT_EQUAL(tm_run(t, KCODE, c_popf0, sizeof c_popf0), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(t->cpu.s.r[R_ECX] & (FL_IF | FL_IOPL), 0);
    tm_free(t);
}

/* SDM vol. 1, 19.5: at CPL > IOPL the TSS I/O bitmap decides. */
static void test_io_bitmap(void)
{
    static const uint8_t c_in[] = { 0xe4, 0x71, 0xcd, 0x80 }; /* in al,0x71; int 0x80 */
    struct tm *t = tm_new();
    tm_user(t);
    CU_ASSERT_EQUAL(tm_run(t, UCODE, c_in, sizeof c_in), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(tm_vector(t), 0x80);
    CU_ASSERT_EQUAL(t->io_reads, 1);
    CU_ASSERT_EQUAL(t->cpu.s.r[R_EAX] & 0xff, 0x5a);
    tm_free(t);
    t = tm_new();
    tm_user(t);
    t->ram[TSS + 0x68 + 0x71 / 8] = 1u << (0x71 % 8);
    CU_ASSERT_EQUAL(tm_run(t, UCODE, c_in, sizeof c_in), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(tm_vector(t), EXC_GP);
    CU_ASSERT_EQUAL(tm_stack(t, 0), 0);
    CU_ASSERT_EQUAL(t->io_reads, 0);
    tm_free(t);
}

/* SGDT, SMSW, STR at CPL 3: no fault, real values (Robin & Irvine). */
static void test_sensitive_leaks(void)
{
    /* sgdt [0x31000]; smsw eax; str ebx; int 0x80 */
    static const uint8_t c[] = { 0x0f, 0x01, 0x05, 0x00, 0x10, 0x03, 0x00, 0x0f,
                                 0x01, 0xe0, 0x0f, 0x00, 0xcb, 0xcd, 0x80 };
    struct tm *t = tm_new();
    tm_user(t);
    CU_ASSERT_EQUAL(tm_run(t, UCODE, c, sizeof c), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(tm_vector(t), 0x80);
    CU_ASSERT_EQUAL(t->ram[0x31000] | t->ram[0x31001] << 8, GDT_ENTRIES * 8 - 1);
    CU_ASSERT_EQUAL(get32(t, 0x31002), GDT);
    CU_ASSERT_EQUAL(t->cpu.s.r[R_EAX] & CR0_PE, CR0_PE);
    CU_ASSERT_EQUAL(t->cpu.s.r[R_EBX], SEL_TSS);
    tm_free(t);
}

/* LAR/LSL/VERR/VERW set ZF per visibility (SDM vol. 2). */
static void test_lar_lsl_verr(void)
{
    /* lar eax,bx; setz cl; lsl edx,bx; setz ch; hlt */
    static const uint8_t c_lar[] = { 0x0f, 0x02, 0xc3, 0x0f, 0x94, 0xc1, 0x0f, 0x03,
                                     0xd3, 0x0f, 0x94, 0xc5, 0xf4 };
    /* verr bx; setz cl; verw bx; setz ch; hlt */
    static const uint8_t c_verr[] = { 0x0f, 0x00, 0xe3, 0x0f, 0x94, 0xc1, 0x0f, 0x00,
                                      0xeb, 0x0f, 0x94, 0xc5, 0xf4 };
    struct tm *t = tm_new();
    t->cpu.s.r[R_EBX] = SEL_SMALL;
    CU_ASSERT_EQUAL(tm_run(t, KCODE, c_lar, sizeof c_lar), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(t->cpu.s.r[R_EAX], 0x00409300);
    CU_ASSERT_EQUAL(t->cpu.s.r[R_EDX], 0xfff);
    CU_ASSERT_EQUAL(t->cpu.s.r[R_ECX] & 0xffff, 0x0101);
    /* limit bits 19:16 read as 0, as under QEMU (samples/sensitive) */
    t->cpu.s.r[R_EBX] = SEL_KCODE;
    CU_ASSERT_EQUAL(tm_run(t, KCODE, c_lar, sizeof c_lar), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(t->cpu.s.r[R_EAX], 0x00c09b00);
    CU_ASSERT_EQUAL(t->cpu.s.r[R_EDX], 0xffffffff);
    t->cpu.s.r[R_EBX] = 0x400;                          /* beyond the GDT */
    CU_ASSERT_EQUAL(tm_run(t, KCODE, c_lar, sizeof c_lar), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(t->cpu.s.r[R_ECX] & 0xffff, 0);
    t->cpu.s.r[R_EBX] = SEL_RODATA;
    CU_ASSERT_EQUAL(tm_run(t, KCODE, c_verr, sizeof c_verr), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(t->cpu.s.r[R_ECX] & 0xffff, 0x0001);  /* readable, not writable */
    t->cpu.s.r[R_EBX] = SEL_XONLY;
    CU_ASSERT_EQUAL(tm_run(t, KCODE, c_verr, sizeof c_verr), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(t->cpu.s.r[R_ECX] & 0xffff, 0);
    tm_free(t);
    /* at CPL 3 a DPL-0 descriptor is invisible */
    t = tm_new();
    tm_user(t);
    t->cpu.s.r[R_EBX] = SEL_KDATA;
    t->cpu.s.r[R_ECX] = 0xffff;
    memcpy(t->ram + UCODE, c_lar, sizeof c_lar - 1);
    t->ram[UCODE + sizeof c_lar - 1] = 0xcc;            /* int3 (DPL 0 gate) */
    t->cpu.s.eip = UCODE;
    cpu_notify_phys_write(&t->cpu, UCODE, sizeof c_lar);
    cpu_run(&t->cpu, t->cpu.cycles + 1000);
    CU_ASSERT_EQUAL(tm_vector(t), EXC_GP);               /* int3 DPL check */
    CU_ASSERT_EQUAL(t->cpu.s.r[R_ECX] & 0xffff, 0);
    tm_free(t);
}

/* ---- far transfers (SDM vol. 3, 5.8.4-5.8.6 call gates) ---- */

static void test_call_gate(void)
{
    static const uint8_t c_call[] = { 0x9a, 0, 0, 0, 0, SEL_GATE | 3, 0x00, 0xcd, 0x80 };
    /* mov esi, esp; mov edi, cs; mov eax, [esp]; mov edx, [esp+4]; retf */
    static const uint8_t c_target[] = { 0x89, 0xe6, 0x8c, 0xcf, 0x8b, 0x04, 0x24,
                                        0x8b, 0x54, 0x24, 0x04, 0xcb };
    struct tm *t = tm_new();
    memcpy(t->ram + 0x10200, c_target, sizeof c_target);
    tm_user(t);
    CU_ASSERT_EQUAL(tm_run(t, UCODE, c_call, sizeof c_call), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(tm_vector(t), 0x80);
    CU_ASSERT_EQUAL(t->cpu.s.r[R_ESI], ESP0 - 16);        /* SS, ESP, CS, EIP */
    CU_ASSERT_EQUAL(t->cpu.s.r[R_EDI], SEL_KCODE);
    CU_ASSERT_EQUAL(t->cpu.s.r[R_EAX], UCODE + 7);        /* return EIP */
    CU_ASSERT_EQUAL(t->cpu.s.r[R_EDX], SEL_UCODE);        /* return CS */
    CU_ASSERT_EQUAL(get32(t, ESP0 - 4), SEL_UDATA);       /* old SS */
    CU_ASSERT_EQUAL(get32(t, ESP0 - 8), USTACK);          /* old ESP */
    /* back at CPL 3 when INT 0x80 ran */
    CU_ASSERT_EQUAL(tm_stack(t, 1), SEL_UCODE);
    CU_ASSERT_EQUAL(tm_stack(t, 3), USTACK);
    tm_free(t);
}

static void test_jmp_far_and_cr4(void)
{
    static const uint8_t c_jmp[] = { 0xea, 0x00, 0x01, 0x01, 0x00, 0x08, 0x00 };
    /* mov eax, 0x20 (PAE); mov cr4, eax; hlt */
    static const uint8_t c_cr4[] = { 0xb8, 0x20, 0, 0, 0, 0x0f, 0x22, 0xe0, 0xf4 };
    struct tm *t = tm_new();
    t->ram[KCODE + 0x100] = 0xf4;
    CU_ASSERT_EQUAL(tm_run(t, KCODE, c_jmp, sizeof c_jmp), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(t->cpu.s.eip, KCODE + 0x101);
    t->cpu.intercept = 1u << EXC_GP;
    CU_ASSERT_EQUAL(tm_run(t, KCODE, c_cr4, sizeof c_cr4), CPU_STOP_INTERCEPT);
    CU_ASSERT_EQUAL(t->cpu.stop_vector, EXC_GP);
    CU_ASSERT_EQUAL(t->cpu.stop_error, 0);
    CU_ASSERT_EQUAL(t->cpu.s.eip, KCODE + 5);
    CU_ASSERT_EQUAL(t->cpu.s.cr4, 0);
    tm_free(t);
}

/* ---- owner-driven delivery and the observation hooks ---- */

struct hook_log {
    int vectors, last_vector, rings, ring_from, ring_to;
    uint32_t last_error;
};

static void hook_vector(void *ctx, int vector, uint32_t err, bool has_error,
                        bool soft, bool ext, uint32_t eip)
{
    struct hook_log *l = ctx;
    l->vectors++;
    l->last_vector = vector;
    l->last_error = err;
}

static void hook_ring(void *ctx, int from, int to, uint32_t eip)
{
    struct hook_log *l = ctx;
    l->rings++;
    l->ring_from = from;
    l->ring_to = to;
}

static void test_cpu_deliver_hooks(void)
{
    struct tm *t = tm_new();
    struct hook_log log = { 0 };
    t->cpu.hooks = (struct cpu_hooks){ .ctx = &log, .on_vector = hook_vector,
                                       .on_ring_change = hook_ring };
    tm_user(t);
    t->cpu.s.eip = UCODE + 0x40;
    CU_ASSERT_TRUE(cpu_deliver(&t->cpu, EXC_PF, PF_U | PF_W, true, false, false));
    CU_ASSERT_EQUAL(t->cpu.s.eip, STUBS + 16 * EXC_PF);
    CU_ASSERT_EQUAL(t->cpu.s.cpl, 0);
    CU_ASSERT_EQUAL(tm_stack(t, 0), PF_U | PF_W);
    CU_ASSERT_EQUAL(tm_stack(t, 1), UCODE + 0x40);
    CU_ASSERT_EQUAL(log.vectors, 1);
    CU_ASSERT_EQUAL(log.last_vector, EXC_PF);
    CU_ASSERT_EQUAL(log.rings, 1);
    CU_ASSERT_EQUAL(log.ring_from, 3);
    CU_ASSERT_EQUAL(log.ring_to, 0);
    /* delivery that cannot succeed: triple fault, reported as false */
    t->cpu.s.idtr.limit = 0;
    CU_ASSERT_FALSE(cpu_deliver(&t->cpu, EXC_GP, 0, true, false, false));
    CU_ASSERT_EQUAL(t->cpu.stop, CPU_STOP_TRIPLE);
    CU_ASSERT_EQUAL(log.last_vector, EXC_DF);
    tm_free(t);
}

void suite_cpu_sys_register(void)
{
    CU_pSuite s = CU_add_suite("cpu_sys", NULL, NULL);
    CU_add_test(s, "segment limit and type checks", test_seg_limit_type);
    CU_add_test(s, "segment register load rules", test_seg_load_rules);
    CU_add_test(s, "descriptor accessed bit", test_seg_accessed);
    CU_add_test(s, "#PF error codes and CR0.WP", test_pf_error_codes);
    CU_add_test(s, "page walk accessed/dirty bits", test_pf_accessed_dirty);
    CU_add_test(s, "page-crossing access", test_pf_split);
    CU_add_test(s, "4 MiB pages", test_pse_4m);
    CU_add_test(s, "TLB invalidation", test_tlb_invalidation);
    CU_add_test(s, "INVLPG and CR3 reload instructions", test_invlpg_insn);
    CU_add_test(s, "delivery at the same privilege", test_deliver_same_privilege);
    CU_add_test(s, "delivery to an inner privilege", test_deliver_inner_privilege);
    CU_add_test(s, "INT n and the gate DPL check", test_int_n);
    CU_add_test(s, "IRET to the same level", test_iret_same_level);
    CU_add_test(s, "IRET to an outer level", test_iret_outer_level);
    CU_add_test(s, "double fault", test_double_fault);
    CU_add_test(s, "triple fault", test_triple_fault);
    CU_add_test(s, "POPF at CPL 3 keeps IF", test_popf_cpl3);
    CU_add_test(s, "I/O permission bitmap", test_io_bitmap);
    CU_add_test(s, "SGDT/SMSW/STR leak at CPL 3", test_sensitive_leaks);
    CU_add_test(s, "LAR/LSL/VERR/VERW", test_lar_lsl_verr);
    CU_add_test(s, "far CALL through a call gate and RETF", test_call_gate);
    CU_add_test(s, "far JMP; MOV CR4 reserved bit", test_jmp_far_and_cr4);
    CU_add_test(s, "cpu_deliver and hooks", test_cpu_deliver_hooks);
}
