/*
 * exec_internal.h - private helpers of the integer core (decoder, pipeline,
 * lazy flags, operand access) shared by exec.c, flags.c, operand.c and the
 * ops_*.c handler files. Not part of the contract with the system files
 * (that is cpu_internal.h); nothing outside sim/cpu includes it.
 *
 * Lazy flags (Bochs lazy_flags.h, QEMU CC_OP): an arithmetic instruction
 * stores what it did (lf_op = kind | size), its operands and result, and the
 * six arithmetic flags are computed only when something reads them. With
 * lf_op == LF_NONE the arithmetic bits of cpu->s.eflags are authoritative.
 * The non-arithmetic bits (IF, DF, TF, IOPL, NT, ...) always live in
 * cpu->s.eflags and may be read or written directly.
 */
#ifndef RS_EXEC_INTERNAL_H
#define RS_EXEC_INTERNAL_H

#include "cpu_internal.h"

/* lf_op = (kind << 3) | size, size in bytes (1, 2, 4). */
enum lf_kind {
    LF_NONE = 0, /* flags already in s.eflags */
    LF_ADD, LF_ADC, LF_SUB, LF_SBB, /* lf_aux = carry/borrow in (ADC/SBB) */
    LF_LOGIC,                       /* CF = OF = AF = 0 */
    LF_INC, LF_DEC,                 /* lf_aux = CF before (preserved) */
    LF_NEG,
};

static inline void lf_set(struct cpu *cpu, unsigned kind, int size,
                          uint32_t dst, uint32_t src, uint32_t res, uint32_t aux)
{
    cpu->lf_op = (kind << 3) | (unsigned)size;
    cpu->lf_dst = dst;
    cpu->lf_src = src;
    cpu->lf_res = res;
    cpu->lf_aux = aux;
}

static inline uint32_t size_mask(int size)
{
    return size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
}

static inline uint32_t size_sign(int size)
{
    return 1u << (size * 8 - 1);
}

/* Sign-extend the low `size` bytes of v to 32 bits. */
static inline uint32_t sext(uint32_t v, int size)
{
    return size == 4 ? v : size == 2 ? (uint32_t)(int32_t)(int16_t)v
                                     : (uint32_t)(int32_t)(int8_t)v;
}

/* SF, ZF and PF of a result of `size` bytes. */
uint32_t flags_szp(uint32_t res, int size);

/* Generic operand n of the decoded instruction, per its row's kind. */
uint32_t opd_read(struct cpu *cpu, const struct insn *in, int n);
void opd_write(struct cpu *cpu, const struct insn *in, int n, uint32_t val);

/* Mask of the address size (0xffff or 0xffffffff). */
static inline uint32_t ad_mask(const struct insn *in)
{
    return in->adsize == 4 ? 0xffffffffu : 0xffffu;
}

/* Near branch to `target` (truncated to 16 bits for 16-bit operand size);
   #GP(0) if outside the CS limit (SDM vol. 2, JMP). */
void branch_near(struct cpu *cpu, const struct insn *in, uint32_t target);

/* The pipeline's FPU/MMX/SSE attribute check: #NM or #UD (never returns). */
_Noreturn void fpu_fault(struct cpu *cpu, const struct insn *in);

/* Maximum REP iterations per execution before the instruction is restarted
   (lets interrupts and the cycle budget in between, as hardware does). */
#define REP_CHUNK 1024u

#endif
