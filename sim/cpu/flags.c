/*
 * flags.c - lazy evaluation of the arithmetic flags.
 *
 * Most instructions write CF, PF, AF, ZF, SF and OF, and most of those
 * values are never read: the next instruction overwrites them. So, as in
 * Bochs (lazy_flags.h) and QEMU (CC_OP), an arithmetic handler only records
 * the operation, its operands and its result (lf_set in exec_internal.h);
 * this file computes a flag when an instruction or the owner reads it.
 * Definitions follow the SDM vol. 1, 3.4.3.1 and appendix A: AF is the carry
 * out of bit 3, OF the signed overflow, PF the even parity of the low byte.
 */
#include "exec_internal.h"

/* CF and OF of the recorded operation. */
static uint32_t lazy_cf_of(unsigned kind, int size, uint32_t d, uint32_t s,
                           uint32_t r, uint32_t aux)
{
    uint32_t sign = size_sign(size), f = 0;
    switch (kind) {
    case LF_ADD: case LF_ADC:
        if (kind == LF_ADC && aux ? r <= d : r < d)
            f |= FL_CF;
        if ((d ^ r) & (s ^ r) & sign)
            f |= FL_OF;
        break;
    case LF_SUB: case LF_SBB:
        if (kind == LF_SBB && aux ? d <= s : d < s)
            f |= FL_CF;
        if ((d ^ s) & (d ^ r) & sign)
            f |= FL_OF;
        break;
    case LF_INC:
        f |= aux ? FL_CF : 0;
        f |= (r == sign) ? FL_OF : 0;
        break;
    case LF_DEC:
        f |= aux ? FL_CF : 0;
        f |= (r == sign - 1) ? FL_OF : 0;
        break;
    case LF_NEG:
        f |= d ? FL_CF : 0;
        f |= (d == sign) ? FL_OF : 0;
        break;
    }
    return f;
}

/* The six arithmetic flags from the lazy record (lf_op != LF_NONE). */
static uint32_t lazy_arith(const struct cpu *cpu)
{
    unsigned kind = cpu->lf_op >> 3;
    int size = (int)(cpu->lf_op & 7);
    uint32_t m = size_mask(size);
    uint32_t d = cpu->lf_dst & m, s = cpu->lf_src & m, r = cpu->lf_res & m;
    uint32_t f = flags_szp(r, size);
    if (kind != LF_LOGIC)
        f |= (d ^ s ^ r) & FL_AF;
    if (kind == LF_NEG)
        f = (f & ~FL_AF) | ((d ^ r) & FL_AF);
    return f | lazy_cf_of(kind, size, d, s, r, cpu->lf_aux);
}

/* Fold the lazy record into s.eflags. */
static void flags_materialize(struct cpu *cpu)
{
    if (cpu->lf_op == LF_NONE)
        return;
    cpu->s.eflags = (cpu->s.eflags & ~FL_ARITH) | lazy_arith(cpu);
    cpu->lf_op = LF_NONE;
}

uint32_t flags_get(struct cpu *cpu)
{
    flags_materialize(cpu);
    return cpu->s.eflags | FL_FIXED1;
}

/* AF of the lazy record alone (what lazy_arith computes for it). */
static uint32_t lazy_af(const struct cpu *cpu)
{
    unsigned kind = cpu->lf_op >> 3;
    uint32_t m = size_mask((int)(cpu->lf_op & 7));
    uint32_t d = cpu->lf_dst & m, s = cpu->lf_src & m, r = cpu->lf_res & m;
    if (kind == LF_LOGIC)
        return 0;
    return kind == LF_NEG ? (d ^ r) & FL_AF : (d ^ s ^ r) & FL_AF;
}

void flags_set(struct cpu *cpu, uint32_t val, uint32_t mask)
{
    if ((mask & FL_ARITH) == FL_ARITH) {
        cpu->lf_op = LF_NONE;
    } else if ((mask & FL_ARITH) == (FL_ARITH & ~FL_AF) && cpu->lf_op != LF_NONE) {
        /* a shift: every arithmetic flag but AF is written, so only AF
           is needed from the record */
        cpu->s.eflags = (cpu->s.eflags & ~FL_ARITH) | lazy_af(cpu);
        cpu->lf_op = LF_NONE;
    } else {
        flags_materialize(cpu);
    }
    cpu->s.eflags = (cpu->s.eflags & ~mask) | (val & mask) | FL_FIXED1;
}

bool lazy_cf_slow(const struct cpu *cpu)
{
    return lazy_arith(cpu) & FL_CF;
}

bool flag_cf(struct cpu *cpu)
{
    return lazy_cf(cpu);
}

bool flag_zf(struct cpu *cpu)
{
    if (cpu->lf_op == LF_NONE)
        return cpu->s.eflags & FL_ZF;
    if ((cpu->lf_op >> 3) == LF_NEG)
        return (cpu->lf_dst & size_mask((int)(cpu->lf_op & 7))) == 0;
    return (cpu->lf_res & size_mask((int)(cpu->lf_op & 7))) == 0;
}

/* Conditions after CMP/SUB straight from the operands: the common case. */
static bool cond_sub(const struct cpu *cpu, int cc, bool *ok)
{
    int size = (int)(cpu->lf_op & 7);
    uint32_t m = size_mask(size);
    uint32_t d = cpu->lf_dst & m, s = cpu->lf_src & m;
    int32_t sd = (int32_t)sext(d, size), ss = (int32_t)sext(s, size);
    *ok = true;
    switch (cc >> 1) {
    case 1: return d < s;            /* B */
    case 2: return d == s;           /* E */
    case 3: return d <= s;           /* BE */
    case 6: return sd < ss;          /* L */
    case 7: return sd <= ss;         /* LE */
    }
    *ok = false;
    return false;
}

/* Jcc/SETcc/CMOVcc condition cc (SDM vol. 2, appendix B.1). */
bool cond_true(struct cpu *cpu, int cc)
{
    bool r = false, ok = false;
    if ((cc >> 1) == 2) {
        r = flag_zf(cpu);
        ok = true;
    } else if ((cc >> 1) == 1) {
        r = flag_cf(cpu);
        ok = true;
    } else if ((cpu->lf_op >> 3) == LF_SUB) {
        r = cond_sub(cpu, cc, &ok);
    }
    if (!ok) {
        uint32_t f = cpu->lf_op == LF_NONE ? cpu->s.eflags : lazy_arith(cpu);
        bool sf_ne_of = !(f & FL_SF) != !(f & FL_OF);
        switch (cc >> 1) {
        case 0: r = f & FL_OF; break;
        case 1: r = f & FL_CF; break;
        case 2: r = f & FL_ZF; break;
        case 3: r = f & (FL_CF | FL_ZF); break;
        case 4: r = f & FL_SF; break;
        case 5: r = f & FL_PF; break;
        case 6: r = sf_ne_of; break;
        default: r = (f & FL_ZF) || sf_ne_of; break;
        }
    }
    return (cc & 1) ? !r : r;
}

uint32_t cpu_get_eflags(struct cpu *cpu)
{
    return flags_get(cpu);
}

void cpu_set_eflags(struct cpu *cpu, uint32_t value)
{
    cpu->lf_op = LF_NONE;
    cpu->s.eflags = value | FL_FIXED1;
}
