/*
 * ops_ctrl.c - near control transfers: JMP, Jcc, CALL, RET, LOOP family,
 * JECXZ, and BOUND.
 *
 * When a handler runs, cpu->s.eip already holds the address of the next
 * instruction, so a relative target is s.eip + displacement. With a 16-bit
 * operand size the new EIP is truncated to 16 bits (SDM vol. 2, JMP:
 * "EIP <- tempEIP AND 0000FFFFH"); a target beyond the CS limit raises
 * #GP(0) before anything (the return address of a CALL included) is stored.
 * Far transfers are system instructions (ops_system.c).
 */
#include "ops.h"

void branch_near(struct cpu *cpu, const struct insn *in, uint32_t target)
{
    if (in->opsize == 2)
        target &= 0xffffu;
    if (target > cpu->s.seg[S_CS].limit)
        cpu_raise(cpu, EXC_GP, 0);
    cpu->s.eip = target;
}

/* Target of a near JMP/CALL: relative (Jb/Jv) or absolute (r/m). */
static uint32_t near_target(struct cpu *cpu, const struct insn *in)
{
    int kind = in->row->opd[0];
    if (kind == O_Jb || kind == O_Jv)
        return cpu->s.eip + in->imm;
    return opd_read(cpu, in, 0);
}

void op_jmp(struct cpu *cpu, const struct insn *in)
{
    branch_near(cpu, in, near_target(cpu, in));
}

/* The definition (flags.c); forms.c runs the same per condition, inline. */
void op_jcc(struct cpu *cpu, const struct insn *in)
{
    if (cond_true(cpu, in->opcode & 15))
        branch_near(cpu, in, cpu->s.eip + in->imm);
}

void op_call(struct cpu *cpu, const struct insn *in)
{
    uint32_t target = near_target(cpu, in), ret = cpu->s.eip;
    if (in->opsize == 2)
        target &= 0xffffu;
    if (target > cpu->s.seg[S_CS].limit)
        cpu_raise(cpu, EXC_GP, 0);
    stack_push(cpu, in->opsize, ret);
    cpu->s.eip = target;
}

/* RET [imm16]: the target is checked before ESP moves. */
void op_ret(struct cpu *cpu, const struct insn *in)
{
    int size = in->opsize;
    uint32_t target = stack_peek(cpu, size, 0);
    if (target > cpu->s.seg[S_CS].limit)
        cpu_raise(cpu, EXC_GP, 0);
    stack_pop(cpu, size);
    if (in->row->opd[0] == O_Iw) {
        uint32_t m = (cpu->s.seg[S_SS].flags & SEGF_DB) ? 0xffffffffu : 0xffffu;
        uint32_t sp = cpu->s.r[R_ESP] + (in->imm & 0xffffu);
        cpu->s.r[R_ESP] = (cpu->s.r[R_ESP] & ~m) | (sp & m);
    }
    cpu->s.eip = target;
}

/* LOOPcc: decrement ECX (CX with a 16-bit address size), branch if the
   count is nonzero and the ZF condition holds. */
static void loop_common(struct cpu *cpu, const struct insn *in, int zf_want)
{
    uint32_t m = ad_mask(in), count = (cpu->s.r[R_ECX] - 1) & m;
    bool take = count != 0;
    if (zf_want >= 0)
        take = take && flag_zf(cpu) == (bool)zf_want;
    if (take) {
        uint32_t target = cpu->s.eip + in->imm;
        branch_near(cpu, in, target);
    }
    cpu->s.r[R_ECX] = (cpu->s.r[R_ECX] & ~m) | count;
}

void op_loop(struct cpu *cpu, const struct insn *in) { loop_common(cpu, in, -1); }
void op_loope(struct cpu *cpu, const struct insn *in) { loop_common(cpu, in, 1); }
void op_loopne(struct cpu *cpu, const struct insn *in) { loop_common(cpu, in, 0); }

void op_jecxz(struct cpu *cpu, const struct insn *in)
{
    if ((cpu->s.r[R_ECX] & ad_mask(in)) == 0)
        branch_near(cpu, in, cpu->s.eip + in->imm);
}

/* BOUND: #BR if the signed index is outside [lower, upper] in memory. */
void op_bound(struct cpu *cpu, const struct insn *in)
{
    int size = in->opsize;
    uint32_t ea = insn_ea(cpu, in);
    int32_t lo = (int32_t)sext(mem_read(cpu, in->seg, ea, size), size);
    int32_t hi = (int32_t)sext(mem_read(cpu, in->seg, (ea + (uint32_t)size) & ad_mask(in), size), size);
    int32_t idx = (int32_t)sext(reg_read(cpu, in->reg, size), size);
    if (idx < lo || idx > hi)
        cpu_raise(cpu, EXC_BR, 0);
}
