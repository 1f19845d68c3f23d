/*
 * ops_data.c - data movement: MOV and its extending forms, LEA, exchanges
 * (XCHG, XADD, CMPXCHG, CMPXCHG8B), the stack (PUSH, POP, PUSHA, POPA,
 * ENTER, LEAVE), conversions (CBW, CWD, BSWAP), flag transfer (LAHF, SAHF),
 * SETcc, CMOVcc and XLAT.
 *
 * Faults must be precise (SDM vol. 3, 6.5): every handler reads and writes
 * memory before it changes a register, so an exception in the middle leaves
 * the registers as they were. Stack handlers that touch several slots check
 * or compute every address first.
 */
#include "ops.h"
#include "ops_forms.h"

void op_mov(struct cpu *cpu, const struct insn *in)
{
    mov_body(cpu, in, F_ANY, F_ANY, 0);
}

void op_movzx(struct cpu *cpu, const struct insn *in)
{
    movx_body(cpu, in, F_ANY, in->opsize, opd_size(in, 1), false);
}

void op_movsx(struct cpu *cpu, const struct insn *in)
{
    movx_body(cpu, in, F_ANY, in->opsize, opd_size(in, 1), true);
}

void op_lea(struct cpu *cpu, const struct insn *in)
{
    reg_write(cpu, in->reg, in->opsize, insn_ea(cpu, in));
}

/* Operand 0 may be memory: it is written first. */
void op_xchg(struct cpu *cpu, const struct insn *in)
{
    uint32_t a = opd_read_dst(cpu, in), b = opd_read(cpu, in, 1);
    opd_write(cpu, in, 0, b);
    opd_write(cpu, in, 1, a);
}

/* XADD (SDM vol. 2): TEMP = SRC + DEST; SRC = DEST; DEST = TEMP. With one
   register as both operands the sum is what remains (xadd eax,eax doubles
   EAX). A memory destination is stored first, so a fault leaves the
   register (and the flags) untouched. */
void op_xadd(struct cpu *cpu, const struct insn *in)
{
    int size = opd_size(in, 0);
    uint32_t a = opd_read_dst(cpu, in), b = opd_read(cpu, in, 1);
    uint32_t r = (a + b) & size_mask(size);
    if (in->mod == 3) {
        opd_write(cpu, in, 1, a);
        opd_write(cpu, in, 0, r);
    } else {
        opd_write(cpu, in, 0, r);
        opd_write(cpu, in, 1, a);
    }
    lf_set(cpu, LF_ADD, size, a, b, r, 0);
}

/* CMPXCHG (SDM vol. 2): the destination is always written (with its own
   value when the comparison fails), as the locked bus cycle does. */
void op_cmpxchg(struct cpu *cpu, const struct insn *in)
{
    int size = opd_size(in, 0);
    uint32_t acc = reg_read(cpu, R_EAX, size), d = opd_read_dst(cpu, in);
    uint32_t src = opd_read(cpu, in, 1);
    opd_write(cpu, in, 0, acc == d ? src : d);
    if (acc != d)
        reg_write(cpu, R_EAX, size, d);
    lf_set(cpu, LF_SUB, size, acc, d, (acc - d) & size_mask(size), 0);
}

void op_cmpxchg8b(struct cpu *cpu, const struct insn *in)
{
    uint32_t ea = insn_ea(cpu, in), ea4 = (ea + 4) & ad_mask(in);
    uint32_t lo = mem_read_rmw(cpu, in->seg, ea, 4), hi = mem_read_rmw(cpu, in->seg, ea4, 4);
    bool eq = lo == cpu->s.r[R_EAX] && hi == cpu->s.r[R_EDX];
    mem_check_write(cpu, in->seg, ea, 8);
    mem_write(cpu, in->seg, ea, 4, eq ? cpu->s.r[R_EBX] : lo);
    mem_write(cpu, in->seg, ea4, 4, eq ? cpu->s.r[R_ECX] : hi);
    if (!eq) {
        cpu->s.r[R_EAX] = lo;
        cpu->s.r[R_EDX] = hi;
    }
    flags_set(cpu, eq ? FL_ZF : 0, FL_ZF);
}

/* BSWAP with a 16-bit operand is undefined; real parts give 0. */
void op_bswap(struct cpu *cpu, const struct insn *in)
{
    int reg = in->opcode & 7;
    if (in->opsize == 4)
        cpu->s.r[reg] = __builtin_bswap32(cpu->s.r[reg]);
    else
        reg_write(cpu, reg, 2, 0);
}

/* ---- stack ---- */

static uint32_t sp_mask(struct cpu *cpu)
{
    return (cpu->s.seg[S_SS].flags & SEGF_DB) ? 0xffffffffu : 0xffffu;
}

/* Set ESP (or SP on a 16-bit stack) to `sp`. */
static void sp_set(struct cpu *cpu, uint32_t sp)
{
    uint32_t m = sp_mask(cpu);
    cpu->s.r[R_ESP] = (cpu->s.r[R_ESP] & ~m) | (sp & m);
}

/* PUSH ESP pushes the value before the push (SDM vol. 2, PUSH). */
void op_push(struct cpu *cpu, const struct insn *in)
{
    stack_push(cpu, in->opsize, opd_read(cpu, in, 0));
}

/* POP r/m: a memory destination that uses ESP sees the incremented ESP;
   the value is stored before ESP changes so a fault leaves ESP intact. */
void op_pop(struct cpu *cpu, const struct insn *in)
{
    int size = in->opsize;
    uint32_t v = stack_peek(cpu, size, 0), old = cpu->s.r[R_ESP];
    if (in->row->opd[0] == O_Ev && in->mod != 3) {
        sp_set(cpu, old + (uint32_t)size);
        uint32_t ea = insn_ea(cpu, in);
        cpu->s.r[R_ESP] = old;
        mem_write(cpu, in->seg, ea, size, v);
        sp_set(cpu, old + (uint32_t)size);
        return;
    }
    sp_set(cpu, old + (uint32_t)size);
    opd_write(cpu, in, 0, v);
}

void op_pusha(struct cpu *cpu, const struct insn *in)
{
    int size = in->opsize;
    uint32_t esp = cpu->s.r[R_ESP];
    mem_check_write(cpu, S_SS, (esp - 8u * (uint32_t)size) & sp_mask(cpu), 8u * (uint32_t)size);
    for (int r = R_EAX; r <= R_EDI; r++)
        stack_push(cpu, size, r == R_ESP ? esp : cpu->s.r[r]);
}

void op_popa(struct cpu *cpu, const struct insn *in)
{
    int size = in->opsize;
    uint32_t v[8];
    for (int i = 0; i < 8; i++)
        v[7 - i] = stack_peek(cpu, size, i);
    for (int r = R_EAX; r <= R_EDI; r++)
        if (r != R_ESP)
            reg_write(cpu, r, size, v[r]);
    sp_set(cpu, cpu->s.r[R_ESP] + 8u * (uint32_t)size);
}

/* ENTER (SDM vol. 2): all stores through a local stack pointer, registers
   committed at the end. */
void op_enter(struct cpu *cpu, const struct insn *in)
{
    int size = in->opsize;
    uint32_t m = sp_mask(cpu), sz = (uint32_t)size;
    uint32_t level = in->imm2 & 31, sp = cpu->s.r[R_ESP] - sz, bp = cpu->s.r[R_EBP];
    mem_write(cpu, S_SS, sp & m, size, bp);
    uint32_t frame = sp;
    for (uint32_t i = 1; i < level; i++) {
        bp -= sz;
        uint32_t v = mem_read(cpu, S_SS, bp & m, size);
        sp -= sz;
        mem_write(cpu, S_SS, sp & m, size, v);
    }
    if (level > 0) {
        sp -= sz;
        mem_write(cpu, S_SS, sp & m, size, frame);
    }
    sp -= in->imm & 0xffffu;
    mem_check_write(cpu, S_SS, sp & m, 1);
    reg_write(cpu, R_EBP, size, frame);
    sp_set(cpu, sp);
}

void op_leave(struct cpu *cpu, const struct insn *in)
{
    int size = in->opsize;
    uint32_t bp = cpu->s.r[R_EBP] & sp_mask(cpu);
    uint32_t v = mem_read(cpu, S_SS, bp, size);
    sp_set(cpu, bp + (uint32_t)size);
    reg_write(cpu, R_EBP, size, v);
}

/* ---- conversions and flag transfer ---- */

void op_cbw(struct cpu *cpu, const struct insn *in)
{
    int half = in->opsize / 2;
    reg_write(cpu, R_EAX, in->opsize, sext(reg_read(cpu, R_EAX, half), half));
}

void op_cwd(struct cpu *cpu, const struct insn *in)
{
    int size = in->opsize;
    bool neg = reg_read(cpu, R_EAX, size) & size_sign(size);
    reg_write(cpu, R_EDX, size, neg ? 0xffffffffu : 0);
}

#define FL_LAHF (FL_SF | FL_ZF | FL_AF | FL_PF | FL_CF)

void op_lahf(struct cpu *cpu, const struct insn *in)
{
    reg_write(cpu, R_ESP, 1, (flags_get(cpu) & FL_LAHF) | FL_FIXED1);
}

void op_sahf(struct cpu *cpu, const struct insn *in)
{
    flags_set(cpu, reg_read(cpu, R_ESP, 1), FL_LAHF);
}

void op_setcc(struct cpu *cpu, const struct insn *in)
{
    rm_write(cpu, in, 1, cond_true(cpu, in->opcode & 15));
}

/* The source is read (and may fault) whether or not the move happens. */
void op_cmovcc(struct cpu *cpu, const struct insn *in)
{
    uint32_t v = opd_read(cpu, in, 1);
    if (cond_true(cpu, in->opcode & 15))
        reg_write(cpu, in->reg, in->opsize, v);
}

void op_xlat(struct cpu *cpu, const struct insn *in)
{
    uint32_t off = (cpu->s.r[R_EBX] + reg_read(cpu, R_EAX, 1)) & ad_mask(in);
    reg_write(cpu, R_EAX, 1, mem_read(cpu, in->seg, off, 1));
}
