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
static inline uint32_t flags_szp(uint32_t res, int size)
{
    uint32_t f = 0;
    res &= size_mask(size);
    if (res == 0)
        f |= FL_ZF;
    if (res & size_sign(size))
        f |= FL_SF;
    if (!__builtin_parity(res & 0xffu))
        f |= FL_PF;
    return f;
}

/* CF of the lazy record: inline where the record has it at hand, the rest
   through the whole computation (flags.c). flag_cf() is this, out of line. */
bool lazy_cf_slow(const struct cpu *cpu);
static inline bool lazy_cf(const struct cpu *cpu)
{
    unsigned kind = cpu->lf_op >> 3;
    uint32_t m = size_mask((int)(cpu->lf_op & 7));
    switch (kind) {
    case LF_NONE: return cpu->s.eflags & FL_CF;
    case LF_LOGIC: return false;
    case LF_INC: case LF_DEC: return cpu->lf_aux;
    case LF_ADD: return (cpu->lf_res & m) < (cpu->lf_dst & m);
    case LF_SUB: return (cpu->lf_dst & m) < (cpu->lf_src & m);
    default: return lazy_cf_slow(cpu);
    }
}

/* ---- operands: inline fast paths, the rest in operand.c ---- */

/* Size in bytes of each operand kind; 0 means the operand size. */
extern const uint8_t opd_kind_size[O_COUNT];

static inline int opd_size(const struct insn *in, int n)
{
    int s = opd_kind_size[in->row->opd[n]];
    return s ? s : in->opsize;
}

static inline uint32_t reg_get(const struct cpu *cpu, int reg, int size)
{
    if (size == 4)
        return cpu->s.r[reg];
    if (size == 2)
        return cpu->s.r[reg] & 0xffffu;
    return reg < 4 ? cpu->s.r[reg] & 0xffu : (cpu->s.r[reg - 4] >> 8) & 0xffu;
}

static inline void reg_put(struct cpu *cpu, int reg, int size, uint32_t val)
{
    uint32_t *r = &cpu->s.r[reg];
    if (size == 4)
        *r = val;
    else if (size == 2)
        *r = (*r & 0xffff0000u) | (val & 0xffffu);
    else if (reg < 4)
        *r = (*r & 0xffffff00u) | (val & 0xffu);
    else
        cpu->s.r[reg - 4] = (cpu->s.r[reg - 4] & 0xffff00ffu) | ((val & 0xffu) << 8);
}

static inline bool kind_is_E(int k) { return k >= O_Eb && k <= O_Ed; }
static inline bool kind_is_G(int k) { return k >= O_Gb && k <= O_Gd; }

/* Generic operand n of the decoded instruction, per its row's kind. */
uint32_t opd_read_slow(struct cpu *cpu, const struct insn *in, int n);
void opd_write_slow(struct cpu *cpu, const struct insn *in, int n, uint32_t val);

static inline bool kind_is_imm(int k) { return k >= O_Ib && k <= O_Iv; }

/* Effective offset of the ModRM memory operand (insn_ea, inlined). */
static inline uint32_t ea_of(const struct cpu *cpu, const struct insn *in)
{
    uint32_t ea = in->disp;
    if (in->base < 8)
        ea += cpu->s.r[in->base];
    if (in->index < 8)
        ea += cpu->s.r[in->index] << in->scale;
    return in->adsize == 4 ? ea : ea & 0xffffu;
}

/* The common operand kinds inline (registers, ModRM memory, immediates);
   the rest in operand.c. */
static inline uint32_t opd_read(struct cpu *cpu, const struct insn *in, int n)
{
    int k = in->row->opd[n];
    if (kind_is_G(k))
        return reg_get(cpu, in->reg, opd_size(in, n));
    if (kind_is_E(k))
        return in->mod == 3 ? reg_get(cpu, in->rm, opd_size(in, n))
                            : mem_read(cpu, in->seg, ea_of(cpu, in), opd_size(in, n));
    if (kind_is_imm(k))
        return in->imm & size_mask(opd_size(in, n));
    return opd_read_slow(cpu, in, n);
}

/* Operand 0 of an instruction that also writes it (mem_read_rmw). */
static inline uint32_t opd_read_dst(struct cpu *cpu, const struct insn *in)
{
    if (kind_is_E(in->row->opd[0]) && in->mod != 3)
        return mem_read_rmw(cpu, in->seg, ea_of(cpu, in), opd_size(in, 0));
    return opd_read(cpu, in, 0);
}

static inline void opd_write(struct cpu *cpu, const struct insn *in, int n, uint32_t val)
{
    int k = in->row->opd[n];
    if (kind_is_G(k))
        reg_put(cpu, in->reg, opd_size(in, n), val);
    else if (kind_is_E(k) && in->mod == 3)
        reg_put(cpu, in->rm, opd_size(in, n), val);
    else if (kind_is_E(k))
        mem_write(cpu, in->seg, ea_of(cpu, in), opd_size(in, n), val);
    else
        opd_write_slow(cpu, in, n, val);
}

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
