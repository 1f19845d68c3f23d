/*
 * ops_forms.h - the bodies of the hottest handlers, written once over an
 * operand "form" (forms.c says why).
 *
 * A form says where an operand is: F_REG (the register in in->opr[n]),
 * F_MEM (the ModRM memory operand), F_IMM (in->imm), or F_ANY (look at the
 * row's operand kind at run time, the generic way). Each body below is an
 * always-inlined function of its forms and operand size: the generic
 * handler in ops_alu.c / ops_data.c calls it with F_ANY and the size of the
 * decoded instruction; forms.c instantiates it with constant forms and
 * sizes, and the compiler folds every operand-kind test away. One body, so
 * the specialised handlers cannot drift from the generic ones.
 */
#ifndef RS_OPS_FORMS_H
#define RS_OPS_FORMS_H

#include "exec_internal.h"

#define ALWAYS_INLINE inline __attribute__((always_inline))

enum { F_ANY, F_REG, F_MEM, F_IMM };

static ALWAYS_INLINE uint32_t form_read(struct cpu *cpu, const struct insn *in, int n,
                                        int form, int size)
{
    switch (form) {
    case F_REG: return reg_get(cpu, in->opr[n], size);
    case F_MEM: return mem_read(cpu, in->seg, ea_of(cpu, in), size);
    case F_IMM: return in->imm & size_mask(size);
    default: return opd_read(cpu, in, n);
    }
}

/* Operand 0 of a body that writes it back (mem_read_rmw). */
static ALWAYS_INLINE uint32_t form_read_dst(struct cpu *cpu, const struct insn *in, int form,
                                            int size)
{
    switch (form) {
    case F_REG: return reg_get(cpu, in->opr[0], size);
    case F_MEM: return mem_read_rmw(cpu, in->seg, ea_of(cpu, in), size);
    default: return opd_read_dst(cpu, in);
    }
}

static ALWAYS_INLINE void form_write(struct cpu *cpu, const struct insn *in, int n,
                                     int form, int size, uint32_t val)
{
    switch (form) {
    case F_REG: reg_put(cpu, in->opr[n], size, val); break;
    case F_MEM: mem_write(cpu, in->seg, ea_of(cpu, in), size, val); break;
    default: opd_write(cpu, in, n, val); break;
    }
}

enum { ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP, ALU_TEST };

/* Two-operand ALU form: dst = dst op src, flags recorded lazily. The
   result is stored before the flags are recorded: an instruction commits no
   architectural state until every access that can fault has succeeded, so a
   faulting store (a #PF, or a hidden fault under a VMM that restarts the
   instruction) leaves EFLAGS as they were (SDM vol. 3, 6.5: faults are
   restartable). TEST is AND without the store. */
static ALWAYS_INLINE void alu_body(struct cpu *cpu, const struct insn *in, int op,
                                   int f0, int f1, int size)
{
    uint32_t m = size_mask(size);
    bool writes = op != ALU_CMP && op != ALU_TEST;
    uint32_t a = writes ? form_read_dst(cpu, in, f0, size) : form_read(cpu, in, 0, f0, size);
    uint32_t b = form_read(cpu, in, 1, f1, size) & m, r;
    uint32_t cin = (op == ALU_ADC || op == ALU_SBB) ? flag_cf(cpu) : 0;
    unsigned kind;
    switch (op) {
    case ALU_ADD: case ALU_ADC:
        r = (a + b + cin) & m;
        kind = op == ALU_ADD ? LF_ADD : LF_ADC;
        break;
    case ALU_SUB: case ALU_SBB: case ALU_CMP:
        r = (a - b - cin) & m;
        kind = op == ALU_SBB ? LF_SBB : LF_SUB;
        break;
    default:
        r = op == ALU_OR ? a | b : op == ALU_XOR ? a ^ b : a & b;
        kind = LF_LOGIC;
        cin = 0;
        break;
    }
    if (writes)
        form_write(cpu, in, 0, f0, size, r);
    lf_set(cpu, kind, size, a, b, r, cin);
}

/* INC/DEC keep CF (SDM vol. 2, INC): it is carried in lf_aux. */
static ALWAYS_INLINE void incdec_body(struct cpu *cpu, const struct insn *in, int delta,
                                      int f0, int size)
{
    uint32_t a = form_read_dst(cpu, in, f0, size), r = (a + (uint32_t)delta) & size_mask(size);
    bool cf = f0 == F_ANY ? flag_cf(cpu) : lazy_cf(cpu);
    form_write(cpu, in, 0, f0, size, r);
    lf_set(cpu, delta > 0 ? LF_INC : LF_DEC, size, a, 1, r, cf);
}

/* Condition cc (SDM vol. 2, appendix B.1) straight from the lazy record in
   the cases compiled code meets most - ZF of any result, and every compare
   after SUB/CMP - and through cond_true() (flags.c) otherwise. With cc a
   constant this folds to a compare or two. */
static ALWAYS_INLINE bool cond_inline(struct cpu *cpu, int cc)
{
    unsigned kind = cpu->lf_op >> 3;
    int size = (int)(cpu->lf_op & 7);
    bool r;
    if (kind == LF_SUB) {
        uint32_t m = size_mask(size), d = cpu->lf_dst & m, s = cpu->lf_src & m;
        int32_t sd = (int32_t)sext(d, size), ss = (int32_t)sext(s, size);
        switch (cc >> 1) {
        case 1: r = d < s; break;       /* B */
        case 2: r = d == s; break;      /* E */
        case 3: r = d <= s; break;      /* BE */
        case 6: r = sd < ss; break;     /* L */
        case 7: r = sd <= ss; break;    /* LE */
        default: return cond_true(cpu, cc);
        }
    } else if ((cc >> 1) == 2 && kind != LF_NONE && kind != LF_NEG) {
        r = (cpu->lf_res & size_mask(size)) == 0;
    } else {
        return cond_true(cpu, cc);
    }
    return (cc & 1) ? !r : r;
}

static ALWAYS_INLINE void jcc_body(struct cpu *cpu, const struct insn *in, int cc)
{
    if (cond_inline(cpu, cc))
        branch_near(cpu, in, cpu->s.eip + in->imm);
}

/* ---- shifts (SDM vol. 2, SAL/SAR/SHL/SHR); the count is operand 1 ---- */

static inline uint32_t of_if(bool cond) { return cond ? FL_OF : 0; }
static inline uint32_t cf_if(bool cond) { return cond ? FL_CF : 0; }

/* Store a shift/rotate result and the flags in `mask` (the rest stay). */
static ALWAYS_INLINE void shift_store(struct cpu *cpu, const struct insn *in, int f0, int size,
                                      uint32_t r, uint32_t f, uint32_t mask)
{
    form_write(cpu, in, 0, f0, size, r);
    flags_set(cpu, f, mask);
}

static inline void shift_done(struct cpu *cpu, const struct insn *in, uint32_t r, uint32_t f,
                              uint32_t mask)
{
    shift_store(cpu, in, F_ANY, 0, r, f, mask);
}

static ALWAYS_INLINE uint32_t shift_count(struct cpu *cpu, const struct insn *in, int f1)
{
    return form_read(cpu, in, 1, f1, 1) & 31;
}

static ALWAYS_INLINE void shl_body(struct cpu *cpu, const struct insn *in, int f0, int f1,
                                   int size)
{
    int bits = size * 8;
    uint32_t a = form_read_dst(cpu, in, f0, size), n = shift_count(cpu, in, f1);
    if (n == 0)
        return;
    uint64_t w = (uint64_t)a << n;
    uint32_t r = (uint32_t)w & size_mask(size);
    bool cf = (w >> bits) & 1;
    uint32_t f = flags_szp(r, size) | cf_if(cf) | of_if(!!(r & size_sign(size)) != cf);
    shift_store(cpu, in, f0, size, r, f, FL_ARITH & ~FL_AF);
}

static ALWAYS_INLINE void shr_body(struct cpu *cpu, const struct insn *in, int f0, int f1,
                                   int size)
{
    uint32_t a = form_read_dst(cpu, in, f0, size), n = shift_count(cpu, in, f1);
    if (n == 0)
        return;
    uint32_t r = a >> n;
    uint32_t f = flags_szp(r, size) | cf_if((a >> (n - 1)) & 1) |
                 of_if(n == 1 && (a & size_sign(size)));
    shift_store(cpu, in, f0, size, r, f, FL_ARITH & ~FL_AF);
}

static ALWAYS_INLINE void sar_body(struct cpu *cpu, const struct insn *in, int f0, int f1,
                                   int size)
{
    int32_t a = (int32_t)sext(form_read_dst(cpu, in, f0, size), size);
    uint32_t n = shift_count(cpu, in, f1);
    if (n == 0)
        return;
    uint32_t r = (uint32_t)(a >> n) & size_mask(size);
    uint32_t f = flags_szp(r, size) | cf_if((a >> (n - 1)) & 1);
    shift_store(cpu, in, f0, size, r, f, FL_ARITH & ~FL_AF);
}

/* MOVZX/MOVSX: a register of the operand size from a byte or word. */
static ALWAYS_INLINE void movx_body(struct cpu *cpu, const struct insn *in, int f1, int size,
                                    int src_size, bool sign)
{
    uint32_t v = form_read(cpu, in, 1, f1, src_size);
    reg_put(cpu, in->reg, size, sign ? sext(v, src_size) : v);
}

static ALWAYS_INLINE void mov_body(struct cpu *cpu, const struct insn *in, int f0, int f1,
                                   int size)
{
    form_write(cpu, in, 0, f0, size, form_read(cpu, in, 1, f1, size));
}

#endif
