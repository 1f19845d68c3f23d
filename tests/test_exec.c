/*
 * test_exec.c - the run loop and the instructions that move EIP and ESP.
 *
 * Stack instructions, near CALL/RET/JMP and BOUND, self-modifying and
 * page-crossing code, the owner's run controls (gates, single step, stop_now,
 * the cycle budget), the checks the pipeline derives from opcode-table
 * attributes (#UD, #NM, #GP for CPL and IOPL, the on_sensitive hook at CPL 3),
 * and external interrupts (the STI shadow, HLT wake-up, intercepts). Expected
 * values are worked out from the SDM pseudo-code of each instruction.
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cpu/cpu.h"
#include "cpu/optable.h"
#include "test_machine.h"

/* Load code at TM_CODE, set EIP and ESP, run until a stop. */
static enum cpu_stop tm_exec(struct tm *t, const void *code, unsigned len)
{
    struct cpu *c = &t->cpu;
    memcpy(t->ram + TM_CODE, code, len);
    cpu_notify_phys_write(c, TM_CODE, len);
    c->s.eip = TM_CODE;
    c->s.halted = false;
    return cpu_run(c, c->cycles + 100000);
}

static uint32_t rd32(struct tm *t, uint32_t a)
{
    uint32_t v;
    memcpy(&v, t->ram + a, 4);
    return v;
}

/* Expected values below follow the SDM pseudo-code of each instruction. */
static void test_stack(void)
{
    struct tm *t = tm_new();
    struct cpu *c = &t->cpu;
    uint32_t *r = c->s.r;
    /* push eax; push imm32; push -2; push esp; pop esi; pop ecx; pop edx; pop ebx */
    static const uint8_t p1[] = { 0x50, 0x68, 0x78, 0x56, 0x34, 0x12, 0x6a, 0xfe, 0x54,
                                  0x5e, 0x59, 0x5a, 0x5b, 0xf4 };
    r[R_EAX] = 0xcafef00d;
    r[R_ESP] = 0x8000;
    CU_ASSERT_EQUAL(tm_exec(t, p1, sizeof p1), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(r[R_ESI], 0x8000 - 12);       /* PUSH ESP: value before */
    CU_ASSERT_EQUAL(r[R_ECX], 0xfffffffeu);
    CU_ASSERT_EQUAL(r[R_EDX], 0x12345678u);
    CU_ASSERT_EQUAL(r[R_EBX], 0xcafef00du);
    CU_ASSERT_EQUAL(r[R_ESP], 0x8000);
    /* pop dword [esp]: the address uses ESP after the increment */
    static const uint8_t p2[] = { 0x8f, 0x04, 0x24, 0xf4 };
    memcpy(t->ram + 0x7ff8, "\x11\x11\x11\x11\x22\x22\x22\x22", 8);
    r[R_ESP] = 0x7ff8;
    CU_ASSERT_EQUAL(tm_exec(t, p2, sizeof p2), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(r[R_ESP], 0x7ffc);
    CU_ASSERT_EQUAL(rd32(t, 0x7ffc), 0x11111111u);
    /* pushad: EAX at the highest address, the original ESP in its slot */
    static const uint8_t p3[] = { 0x60, 0xf4 };
    for (int i = 0; i < 8; i++)
        r[i] = 0x100 + (uint32_t)i;
    r[R_ESP] = 0x8000;
    CU_ASSERT_EQUAL(tm_exec(t, p3, sizeof p3), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(r[R_ESP], 0x8000 - 32);
    CU_ASSERT_EQUAL(rd32(t, 0x8000 - 4), 0x100);
    CU_ASSERT_EQUAL(rd32(t, 0x8000 - 20), 0x8000);
    CU_ASSERT_EQUAL(rd32(t, 0x8000 - 32), 0x107);
    /* popad skips ESP */
    static const uint8_t p4[] = { 0x61, 0xf4 };
    memset(r, 0, 8 * 4);
    r[R_ESP] = 0x8000 - 32;
    memcpy(t->ram + 0x8000 - 20, "\x99\x99\x99\x99", 4);
    CU_ASSERT_EQUAL(tm_exec(t, p4, sizeof p4), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(r[R_EAX], 0x100);
    CU_ASSERT_EQUAL(r[R_EDI], 0x107);
    CU_ASSERT_EQUAL(r[R_ESP], 0x8000);
    /* enter 8, 2 then leave */
    static const uint8_t p5[] = { 0xc8, 0x08, 0x00, 0x02, 0xf4 };
    r[R_ESP] = 0x8000;
    r[R_EBP] = 0x9000;
    memcpy(t->ram + 0x9000 - 4, "\x44\x33\x22\x11", 4);
    CU_ASSERT_EQUAL(tm_exec(t, p5, sizeof p5), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(r[R_EBP], 0x8000 - 4);               /* frame */
    CU_ASSERT_EQUAL(rd32(t, 0x8000 - 4), 0x9000);        /* old EBP */
    CU_ASSERT_EQUAL(rd32(t, 0x8000 - 8), 0x11223344u);   /* copied [EBP-4] */
    CU_ASSERT_EQUAL(rd32(t, 0x8000 - 12), 0x8000 - 4);   /* frame pointer */
    CU_ASSERT_EQUAL(r[R_ESP], 0x8000 - 12 - 8);
    static const uint8_t p6[] = { 0xc9, 0xf4 };
    CU_ASSERT_EQUAL(tm_exec(t, p6, sizeof p6), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(r[R_EBP], 0x9000);
    CU_ASSERT_EQUAL(r[R_ESP], 0x8000);
    tm_free(t);
}

static void test_calls(void)
{
    struct tm *t = tm_new();
    struct cpu *c = &t->cpu;
    /* 1000: call 100a; 1005: hlt; 100a: ret 4 */
    static const uint8_t p1[] = { 0xe8, 0x05, 0, 0, 0, 0xf4, 0x90, 0x90, 0x90, 0x90,
                                  0xc2, 0x04, 0x00 };
    c->s.r[R_ESP] = 0x8000;
    CU_ASSERT_EQUAL(tm_exec(t, p1, sizeof p1), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(c->s.eip, 0x1006);
    CU_ASSERT_EQUAL(c->s.r[R_ESP], 0x8004);
    CU_ASSERT_EQUAL(rd32(t, 0x7ffc), 0x1005);
    /* call [ebx] and jmp ecx */
    static const uint8_t p2[] = { 0xff, 0x13, 0xf4, 0xf4, 0xf4, 0xf4, 0xff, 0xe1 };
    memcpy(t->ram + 0x7000, "\x06\x10\x00\x00", 4);
    c->s.r[R_EBX] = 0x7000;
    c->s.r[R_ECX] = 0x1004;
    c->s.r[R_ESP] = 0x8000;
    CU_ASSERT_EQUAL(tm_exec(t, p2, sizeof p2), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(c->s.eip, 0x1005);
    CU_ASSERT_EQUAL(rd32(t, 0x7ffc), 0x1002);
    /* jmp beyond the CS limit: #GP(0), EIP stays at the jmp */
    c->s.seg[S_CS].limit = 0x1fff;
    static const uint8_t p3[] = { 0xe9, 0x00, 0x10, 0x00, 0x00 };
    CU_ASSERT_EQUAL(tm_exec(t, p3, sizeof p3), CPU_STOP_INTERCEPT);
    CU_ASSERT_EQUAL(c->stop_vector, EXC_GP);
    CU_ASSERT_EQUAL(c->s.eip, 0x1000);
    c->s.seg[S_CS].limit = 0xffffffffu;
    /* bound: index outside [lo, hi] -> #BR */
    static const uint8_t p4[] = { 0x62, 0x03, 0xf4 };
    memcpy(t->ram + 0x7000, "\x0a\x00\x00\x00\x14\x00\x00\x00", 8);
    c->s.r[R_EAX] = 20;
    CU_ASSERT_EQUAL(tm_exec(t, p4, sizeof p4), CPU_STOP_HLT);
    c->s.r[R_EAX] = 21;
    CU_ASSERT_EQUAL(tm_exec(t, p4, sizeof p4), CPU_STOP_INTERCEPT);
    CU_ASSERT_EQUAL(c->stop_vector, EXC_BR);
    tm_free(t);
}

/* Self-modifying code: the second pass must see the rewritten byte. */
static void test_smc(void)
{
    struct tm *t = tm_new();
    struct cpu *c = &t->cpu;
    /* L: mov [T], bl; T: nop; mov bl, 0x40; dec ecx; jnz L; hlt */
    static const uint8_t p[] = { 0x88, 0x1d, 0x06, 0x10, 0, 0, 0x90, 0xb3, 0x40, 0x49,
                                 0x75, 0xf4, 0xf4 };
    c->s.r[R_EAX] = 0;
    c->s.r[R_EBX] = 0x90;
    c->s.r[R_ECX] = 2;
    CU_ASSERT_EQUAL(tm_exec(t, p, sizeof p), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(c->s.r[R_EAX], 1);               /* INC EAX ran once */
    /* an instruction crossing a page boundary */
    static const uint8_t mov[] = { 0xb8, 0x78, 0x56, 0x34, 0x12, 0xf4 };
    memcpy(t->ram + 0x1ffd, mov, sizeof mov);
    c->s.eip = 0x1ffd;
    c->s.halted = false;
    CU_ASSERT_EQUAL(cpu_run(c, c->cycles + 10), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(c->s.r[R_EAX], 0x12345678u);
    t->ram[0x2001] = 0x55;                            /* behind the CPU's back */
    c->s.eip = 0x1ffd;
    c->s.halted = false;
    CU_ASSERT_EQUAL(cpu_run(c, c->cycles + 10), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(c->s.r[R_EAX], 0x55345678u);
    tm_free(t);
}

static int io_stop_ctx;
static void io_out_stop(void *ctx, uint16_t port, int size, uint32_t val)
{
    struct tm *t = ctx;
    io_stop_ctx = (int)val;
    t->cpu.stop_now = true;
}

static void test_run_controls(void)
{
    struct tm *t = tm_new();
    struct cpu *c = &t->cpu;
    /* gate: a jump into [gate_lo, gate_hi) stops before the fetch */
    static const uint8_t jmp[] = { 0xe9, 0xff, 0x0f, 0, 0 };   /* jmp 0x2004 */
    c->gate_lo = 0x2000;
    c->gate_hi = 0x2010;
    CU_ASSERT_EQUAL(tm_exec(t, jmp, sizeof jmp), CPU_STOP_GATE);
    CU_ASSERT_EQUAL(c->stop_addr, 0x2004);
    CU_ASSERT_EQUAL(c->s.eip, 0x2004);
    c->gate_lo = c->gate_hi = 0;
    /* single step */
    static const uint8_t nops[] = { 0x90, 0x90, 0xf4 };
    c->single_step = true;
    uint64_t n = c->insns;
    CU_ASSERT_EQUAL(tm_exec(t, nops, sizeof nops), CPU_STOP_STEP);
    CU_ASSERT_EQUAL(c->insns, n + 1);
    CU_ASSERT_EQUAL(c->s.eip, 0x1001);
    c->single_step = false;
    /* stop_now from a device callback: return right after the OUT */
    static const uint8_t out[] = { 0xb0, 0x2a, 0xe6, 0xf4, 0x90, 0xf4 };
    c->bus.io_out = io_out_stop;
    CU_ASSERT_EQUAL(tm_exec(t, out, sizeof out), CPU_STOP_BUDGET);
    CU_ASSERT_EQUAL(c->s.eip, 0x1004);
    CU_ASSERT_EQUAL(io_stop_ctx, 0x2a);
    CU_ASSERT_FALSE(c->stop_now);
    /* the budget: a tight loop stops at the cycle limit */
    static const uint8_t loop[] = { 0xeb, 0xfe };
    c->class_cost[C_BRANCH] = 3;
    uint64_t start = c->cycles;
    memcpy(t->ram + TM_CODE, loop, sizeof loop);
    cpu_notify_phys_write(c, TM_CODE, sizeof loop);
    c->s.eip = TM_CODE;
    CU_ASSERT_EQUAL(cpu_run(c, start + 30), CPU_STOP_BUDGET);
    CU_ASSERT_EQUAL(c->cycles, start + 30);
    tm_free(t);
}

/* Faults the pipeline raises from the table's attributes. */
static int expect_vec(struct tm *t, const void *code, unsigned len)
{
    enum cpu_stop s = tm_exec(t, code, len);
    return s == CPU_STOP_INTERCEPT ? t->cpu.stop_vector : s == CPU_STOP_HLT ? -1 : -3;
}

static void test_attr_faults(void)
{
    struct tm *t = tm_new();
    struct cpu *c = &t->cpu;
    static const uint8_t x87[] = { 0xd8, 0xc1, 0xf4 }, sse[] = { 0x0f, 0x58, 0xc1, 0xf4 };
    static const uint8_t wait[] = { 0x9b, 0xf4 }, ud2[] = { 0x0f, 0x0b };
    static const uint8_t inv[] = { 0x0f, 0x04 }, lea_r[] = { 0x8d, 0xc0 };
    static const uint8_t lock_reg[] = { 0xf0, 0x01, 0xc0, 0xf4 };
    static const uint8_t lock_mem[] = { 0xf0, 0x01, 0x03, 0xf4 };
    static const uint8_t lock_nop[] = { 0xf0, 0x90, 0xf4 };
    c->s.r[R_EBX] = 0x7000;
    CU_ASSERT_EQUAL(expect_vec(t, x87, sizeof x87), EXC_UD);
    CU_ASSERT_EQUAL(expect_vec(t, sse, sizeof sse), EXC_UD);
    CU_ASSERT_EQUAL(expect_vec(t, wait, sizeof wait), -1);
    c->s.cr0 |= CR0_TS;
    CU_ASSERT_EQUAL(expect_vec(t, x87, sizeof x87), EXC_NM);
    CU_ASSERT_EQUAL(expect_vec(t, sse, sizeof sse), EXC_NM);
    CU_ASSERT_EQUAL(expect_vec(t, wait, sizeof wait), -1);
    c->s.cr0 |= CR0_MP;
    CU_ASSERT_EQUAL(expect_vec(t, wait, sizeof wait), EXC_NM);
    c->s.cr0 = (c->s.cr0 & ~(CR0_TS | CR0_MP)) | CR0_EM;
    CU_ASSERT_EQUAL(expect_vec(t, x87, sizeof x87), EXC_NM);
    CU_ASSERT_EQUAL(expect_vec(t, sse, sizeof sse), EXC_UD);
    c->s.cr0 &= ~CR0_EM;
    CU_ASSERT_EQUAL(expect_vec(t, ud2, sizeof ud2), EXC_UD);
    CU_ASSERT_EQUAL(expect_vec(t, inv, sizeof inv), EXC_UD);
    CU_ASSERT_EQUAL(expect_vec(t, lea_r, sizeof lea_r), EXC_UD);
    CU_ASSERT_EQUAL(expect_vec(t, lock_reg, sizeof lock_reg), EXC_UD);
    CU_ASSERT_EQUAL(expect_vec(t, lock_mem, sizeof lock_mem), -1);
    CU_ASSERT_EQUAL(expect_vec(t, lock_nop, sizeof lock_nop), EXC_UD);
    uint8_t toolong[16];
    memset(toolong, 0x66, 15);
    toolong[15] = 0x90;
    CU_ASSERT_EQUAL(expect_vec(t, toolong, 16), EXC_GP);
    tm_free(t);
}

/* CPL 3: privileged rows #GP(0), IOPL-sensitive ones depend on IOPL, and
   the sensitive-but-unprivileged ones run and are reported (the leak). */
static const struct op_row *sens_row;
static void on_sens(void *ctx, const struct op_row *row, uint32_t eip) { sens_row = row; }

static void test_cpl3(void)
{
    struct tm *t = tm_new();
    struct cpu *c = &t->cpu;
    for (int s = 0; s < S_COUNT; s++)
        c->s.seg[s].flags |= 0x60;                 /* DPL 3 */
    c->s.seg[S_CS].sel |= 3;
    c->s.cpl = 3;
    c->s.r[R_ESP] = 0x8000;
    static const uint8_t hlt[] = { 0xf4 }, cli[] = { 0xfa, 0xf4 };
    static const uint8_t lgdt[] = { 0x0f, 0x01, 0x10 }, movcr[] = { 0x0f, 0x20, 0xc0 };
    static const uint8_t rdtsc[] = { 0x0f, 0x31, 0xf4 }, pushf[] = { 0x9c, 0xf4 };
    CU_ASSERT_EQUAL(expect_vec(t, hlt, sizeof hlt), EXC_GP);
    CU_ASSERT_EQUAL(expect_vec(t, cli, sizeof cli), EXC_GP);
    CU_ASSERT_EQUAL(expect_vec(t, lgdt, sizeof lgdt), EXC_GP);
    CU_ASSERT_EQUAL(expect_vec(t, movcr, sizeof movcr), EXC_GP);
    c->single_step = true;                         /* RDTSC: #GP only with TSD */
    CU_ASSERT_EQUAL(tm_exec(t, rdtsc, sizeof rdtsc), CPU_STOP_STEP);
    c->s.cr4 |= CR4_TSD;
    CU_ASSERT_EQUAL(expect_vec(t, rdtsc, sizeof rdtsc), EXC_GP);
    c->s.cr4 &= ~CR4_TSD;
    c->hooks.on_sensitive = on_sens;
    CU_ASSERT_EQUAL(tm_exec(t, pushf, sizeof pushf), CPU_STOP_STEP);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sens_row);
    CU_ASSERT_STRING_EQUAL(sens_row->mnem, "pushfd");
    CU_ASSERT_EQUAL(c->s.r[R_ESP], 0x8000 - 4);
    c->s.eflags |= FL_IOPL;                        /* IOPL 3: CLI allowed */
    sens_row = NULL;
    CU_ASSERT_EQUAL(tm_exec(t, cli, sizeof cli), CPU_STOP_STEP);
    CU_ASSERT_FALSE(c->s.eflags & FL_IF);
    CU_ASSERT_PTR_NULL(sens_row);
    tm_free(t);
}

/* External interrupts through a real IDT: the STI shadow, HLT wake-up,
   and intercept_ext (SDM vol. 3, 6.8.3 and 6.12). */
static bool irq_line;
static bool irq_pending(void *ctx) { return irq_line; }
static int irq_ack(void *ctx) { irq_line = false; return 0x20; }

static void tm_tables(struct tm *t)
{
    static const uint64_t gdt[3] = { 0, 0x00cf9a000000ffffull, 0x00cf92000000ffffull };
    memcpy(t->ram + 0x6000, gdt, sizeof gdt);
    uint32_t gate[2] = { 0x00083000u, 0x00008e00u };    /* 08:3000, int gate */
    memcpy(t->ram + 0x5000 + 0x20 * 8, gate, sizeof gate);
    t->ram[0x3000] = 0xf4;
    t->cpu.s.gdtr.base = 0x6000;
    t->cpu.s.gdtr.limit = 23;
    t->cpu.s.idtr.base = 0x5000;
    t->cpu.s.idtr.limit = 0x7ff;
    t->cpu.bus.intr_pending = irq_pending;
    t->cpu.bus.intr_ack = irq_ack;
}

static void test_interrupts(void)
{
    struct tm *t = tm_new();
    struct cpu *c = &t->cpu;
    tm_tables(t);
    c->intercept = 0;
    c->s.r[R_ESP] = 0x8000;
    cpu_set_eflags(c, FL_FIXED1);
    irq_line = true;
    static const uint8_t p[] = { 0xfb, 0x90, 0xf4 };    /* sti; nop; hlt */
    CU_ASSERT_EQUAL(tm_exec(t, p, sizeof p), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(c->s.eip, 0x3001);                  /* in the handler */
    CU_ASSERT_EQUAL(rd32(t, 0x8000 - 12), 0x1002);      /* after the NOP */
    CU_ASSERT_EQUAL(rd32(t, 0x8000 - 8), 0x08);
    CU_ASSERT(rd32(t, 0x8000 - 4) & FL_IF);
    CU_ASSERT_FALSE(cpu_get_eflags(c) & FL_IF);
    /* HLT with IF=1 waits; an interrupt wakes it */
    static const uint8_t h[] = { 0xfb, 0xf4, 0x90, 0xf4 };  /* sti; hlt; nop; hlt */
    c->s.r[R_ESP] = 0x8000;
    CU_ASSERT_EQUAL(tm_exec(t, h, sizeof h), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(c->s.eip, 0x1002);
    CU_ASSERT_EQUAL(cpu_run(c, c->cycles + 100), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(c->s.eip, 0x1002);
    irq_line = true;
    CU_ASSERT_EQUAL(cpu_run(c, c->cycles + 100), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(c->s.eip, 0x3001);
    CU_ASSERT_EQUAL(rd32(t, 0x8000 - 12), 0x1002);
    /* the owner intercepts external interrupts: stop, nothing delivered */
    c->intercept_ext = true;
    irq_line = true;
    cpu_set_eflags(c, FL_FIXED1 | FL_IF);
    c->s.r[R_ESP] = 0x8000;
    static const uint8_t n[] = { 0x90, 0xf4 };
    CU_ASSERT_EQUAL(tm_exec(t, n, sizeof n), CPU_STOP_INTERCEPT);
    CU_ASSERT_EQUAL(c->stop_vector, -1);
    CU_ASSERT_EQUAL(c->s.eip, 0x1000);
    CU_ASSERT_TRUE(irq_line);
    irq_line = false;
    tm_free(t);
}

void suite_exec_register(void)
{
    CU_pSuite s = CU_add_suite("exec", NULL, NULL);
    CU_add_test(s, "push/pop/pushad/popad/enter/leave", test_stack);
    CU_add_test(s, "call/ret/jmp/bound", test_calls);
    CU_add_test(s, "self-modifying and page-crossing code", test_smc);
    CU_add_test(s, "gates, single step, stop_now, budget", test_run_controls);
    CU_add_test(s, "#UD/#NM/#GP from table attributes", test_attr_faults);
    CU_add_test(s, "CPL 3: privileged, IOPL and sensitive rows", test_cpl3);
    CU_add_test(s, "external interrupts: STI shadow, HLT, intercept", test_interrupts);
}
