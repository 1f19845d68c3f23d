/*
 * ops_alu.c - integer arithmetic: ALU operations, shifts and rotates,
 * multiply and divide, bit tests and scans, decimal adjust.
 *
 * The add/sub family records its flags lazily (flags.c); shifts, rotates,
 * multiplies and the rest compute their flags eagerly, because their rules
 * are irregular (SDM vol. 2: "flags affected" of each instruction). Where
 * the SDM leaves a flag undefined we leave it unchanged or compute the
 * natural value; tests mask such flags out.
 */
#include "ops.h"
#include "ops_forms.h"

/* The ALU family, INC and DEC: bodies in ops_forms.h (shared with forms.c). */
static void alu_binop(struct cpu *cpu, const struct insn *in, int op)
{
    alu_body(cpu, in, op, F_ANY, F_ANY, opd_size(in, 0));
}

void op_add(struct cpu *cpu, const struct insn *in) { alu_binop(cpu, in, ALU_ADD); }
void op_or(struct cpu *cpu, const struct insn *in) { alu_binop(cpu, in, ALU_OR); }
void op_adc(struct cpu *cpu, const struct insn *in) { alu_binop(cpu, in, ALU_ADC); }
void op_sbb(struct cpu *cpu, const struct insn *in) { alu_binop(cpu, in, ALU_SBB); }
void op_and(struct cpu *cpu, const struct insn *in) { alu_binop(cpu, in, ALU_AND); }
void op_sub(struct cpu *cpu, const struct insn *in) { alu_binop(cpu, in, ALU_SUB); }
void op_xor(struct cpu *cpu, const struct insn *in) { alu_binop(cpu, in, ALU_XOR); }
void op_cmp(struct cpu *cpu, const struct insn *in) { alu_binop(cpu, in, ALU_CMP); }

void op_test(struct cpu *cpu, const struct insn *in) { alu_binop(cpu, in, ALU_TEST); }

static void incdec(struct cpu *cpu, const struct insn *in, int delta)
{
    incdec_body(cpu, in, delta, F_ANY, opd_size(in, 0));
}

void op_inc(struct cpu *cpu, const struct insn *in) { incdec(cpu, in, 1); }
void op_dec(struct cpu *cpu, const struct insn *in) { incdec(cpu, in, -1); }

void op_neg(struct cpu *cpu, const struct insn *in)
{
    int size = opd_size(in, 0);
    uint32_t a = opd_read_dst(cpu, in), r = (0u - a) & size_mask(size);
    opd_write(cpu, in, 0, r);
    lf_set(cpu, LF_NEG, size, a, 0, r, 0);
}

void op_not(struct cpu *cpu, const struct insn *in)
{
    opd_write(cpu, in, 0, ~opd_read_dst(cpu, in));
}

/* ---- shifts and rotates (SDM vol. 2, SAL/SAR/SHL/SHR, RCL/RCR/ROL/ROR) ---- */

void op_shl(struct cpu *cpu, const struct insn *in) { shl_body(cpu, in, F_ANY, F_ANY, opd_size(in, 0)); }
void op_shr(struct cpu *cpu, const struct insn *in) { shr_body(cpu, in, F_ANY, F_ANY, opd_size(in, 0)); }
void op_sar(struct cpu *cpu, const struct insn *in) { sar_body(cpu, in, F_ANY, F_ANY, opd_size(in, 0)); }




static uint32_t rotl(uint32_t v, unsigned n, int bits)
{
    uint32_t m = size_mask(bits / 8);
    n %= (unsigned)bits;
    return n ? ((v << n) | (v >> (bits - (int)n))) & m : v & m;
}

void op_rol(struct cpu *cpu, const struct insn *in)
{
    int size = opd_size(in, 0), bits = size * 8;
    uint32_t a = opd_read_dst(cpu, in), n = opd_read(cpu, in, 1) & 31;
    if (n == 0)
        return;
    uint32_t r = rotl(a, n, bits);
    bool cf = r & 1;
    uint32_t f = cf_if(cf) | of_if(!!(r & size_sign(size)) != cf);
    shift_done(cpu, in, r, f, FL_CF | FL_OF);
}

void op_ror(struct cpu *cpu, const struct insn *in)
{
    int size = opd_size(in, 0), bits = size * 8;
    uint32_t a = opd_read_dst(cpu, in), n = opd_read(cpu, in, 1) & 31;
    if (n == 0)
        return;
    uint32_t r = rotl(a, (unsigned)bits - n % (unsigned)bits, bits);
    bool msb = r & size_sign(size), msb1 = r & (size_sign(size) >> 1);
    shift_done(cpu, in, r, cf_if(msb) | of_if(msb != msb1), FL_CF | FL_OF);
}

/* RCL/RCR rotate through CF: count mod 9 / 17 for 8 / 16 bits. */
static unsigned rc_count(int size, uint32_t n)
{
    return size == 4 ? n : n % (unsigned)(size * 8 + 1);
}

void op_rcl(struct cpu *cpu, const struct insn *in)
{
    int size = opd_size(in, 0);
    uint32_t a = opd_read_dst(cpu, in), n = opd_read(cpu, in, 1) & 31;
    if (n == 0)
        return;
    bool cf = flag_cf(cpu);
    uint32_t r = a;
    for (unsigned i = rc_count(size, n); i > 0; i--) {
        bool out = r & size_sign(size);
        r = ((r << 1) | cf) & size_mask(size);
        cf = out;
    }
    uint32_t f = cf_if(cf) | of_if(!!(r & size_sign(size)) != cf);
    shift_done(cpu, in, r, f, FL_CF | FL_OF);
}

void op_rcr(struct cpu *cpu, const struct insn *in)
{
    int size = opd_size(in, 0);
    uint32_t a = opd_read_dst(cpu, in), n = opd_read(cpu, in, 1) & 31;
    if (n == 0)
        return;
    bool cf = flag_cf(cpu);
    uint32_t f = of_if(!!(a & size_sign(size)) != cf), r = a;
    for (unsigned i = rc_count(size, n); i > 0; i--) {
        bool out = r & 1;
        r = (r >> 1) | (cf ? size_sign(size) : 0);
        cf = out;
    }
    shift_done(cpu, in, r, f | cf_if(cf), FL_CF | FL_OF);
}

/* SHLD/SHRD: counts above the operand width (16-bit only) are undefined. */
void op_shld(struct cpu *cpu, const struct insn *in)
{
    int size = opd_size(in, 0), bits = size * 8;
    uint32_t a = opd_read_dst(cpu, in), b = opd_read(cpu, in, 1);
    uint32_t n = opd_read(cpu, in, 2) & 31;
    if (n == 0)
        return;
    uint64_t w = ((uint64_t)a << bits | b) << n;
    uint32_t r = (uint32_t)(w >> bits) & size_mask(size);
    bool cf = n <= (uint32_t)bits ? (a >> (bits - (int)n)) & 1 : (w >> (2 * bits)) & 1;
    uint32_t f = flags_szp(r, size) | cf_if(cf) |
                 of_if(!!((r ^ a) & size_sign(size)));
    shift_done(cpu, in, r, f, FL_ARITH & ~FL_AF);
}

void op_shrd(struct cpu *cpu, const struct insn *in)
{
    int size = opd_size(in, 0), bits = size * 8;
    uint32_t a = opd_read_dst(cpu, in), b = opd_read(cpu, in, 1);
    uint32_t n = opd_read(cpu, in, 2) & 31;
    if (n == 0)
        return;
    uint64_t w = ((uint64_t)b << bits | a);
    uint32_t r = (uint32_t)(w >> n) & size_mask(size);
    bool cf = (w >> (n - 1)) & 1;
    uint32_t f = flags_szp(r, size) | cf_if(cf) |
                 of_if(!!((r ^ a) & size_sign(size)));
    shift_done(cpu, in, r, f, FL_ARITH & ~FL_AF);
}

/* ---- multiply and divide ---- */

/* Write a double-width result: AX for bytes, DX:AX or EDX:EAX. */
static void acc_write_wide(struct cpu *cpu, int size, uint64_t v)
{
    if (size == 1) {
        reg_write(cpu, R_EAX, 2, (uint32_t)v);
    } else {
        reg_write(cpu, R_EAX, size, (uint32_t)v);
        reg_write(cpu, R_EDX, size, (uint32_t)(v >> (size * 8)));
    }
}

static uint64_t acc_read_wide(struct cpu *cpu, int size)
{
    if (size == 1)
        return reg_read(cpu, R_EAX, 2);
    return (uint64_t)reg_read(cpu, R_EDX, size) << (size * 8) | reg_read(cpu, R_EAX, size);
}

/* MUL/IMUL: CF = OF = "upper half significant"; SF, ZF, AF, PF undefined. */
static void mul_flags(struct cpu *cpu, bool wide, uint32_t lo, int size)
{
    uint32_t f = flags_szp(lo, size) | (wide ? FL_CF | FL_OF : 0);
    flags_set(cpu, f, FL_ARITH & ~FL_AF);
}

void op_mul(struct cpu *cpu, const struct insn *in)
{
    int size = opd_size(in, 0);
    uint64_t p = (uint64_t)opd_read(cpu, in, 0) * reg_read(cpu, R_EAX, size);
    acc_write_wide(cpu, size, p);
    mul_flags(cpu, (p >> (size * 8)) != 0, (uint32_t)p, size);
}

void op_imul1(struct cpu *cpu, const struct insn *in)
{
    int size = opd_size(in, 0);
    int64_t p = (int64_t)(int32_t)sext(opd_read(cpu, in, 0), size) *
                (int32_t)sext(reg_read(cpu, R_EAX, size), size);
    acc_write_wide(cpu, size, (uint64_t)p);
    bool wide = p != (int64_t)(int32_t)sext((uint32_t)p, size);
    mul_flags(cpu, wide, (uint32_t)p, size);
}

/* IMUL r, r/m [, imm]: truncated product in the register. */
static void imul_trunc(struct cpu *cpu, const struct insn *in, uint32_t a, uint32_t b)
{
    int size = in->opsize;
    int64_t p = (int64_t)(int32_t)sext(a, size) * (int32_t)sext(b, size);
    uint32_t r = (uint32_t)p & size_mask(size);
    reg_write(cpu, in->reg, size, r);
    mul_flags(cpu, p != (int64_t)(int32_t)sext(r, size), r, size);
}

void op_imul2(struct cpu *cpu, const struct insn *in)
{
    uint32_t b = opd_read(cpu, in, 1);
    imul_trunc(cpu, in, reg_read(cpu, in->reg, in->opsize), b);
}

void op_imul3(struct cpu *cpu, const struct insn *in)
{
    uint32_t a = opd_read(cpu, in, 1);
    imul_trunc(cpu, in, a, opd_read(cpu, in, 2));
}

/* DIV/IDIV: #DE for a zero divisor or a quotient that does not fit. */
void op_div(struct cpu *cpu, const struct insn *in)
{
    int size = opd_size(in, 0);
    uint64_t d = opd_read(cpu, in, 0), n = acc_read_wide(cpu, size);
    if (d == 0 || n / d > size_mask(size))
        cpu_raise(cpu, EXC_DE, 0);
    uint64_t q = n / d, r = n % d;
    if (size == 1) {
        reg_write(cpu, R_EAX, 2, (uint32_t)(q | r << 8));
    } else {
        reg_write(cpu, R_EAX, size, (uint32_t)q);
        reg_write(cpu, R_EDX, size, (uint32_t)r);
    }
}

void op_idiv(struct cpu *cpu, const struct insn *in)
{
    int size = opd_size(in, 0), bits = size * 8;
    int64_t d = (int32_t)sext(opd_read(cpu, in, 0), size);
    uint64_t raw = acc_read_wide(cpu, size);
    int64_t n = bits == 32 ? (int64_t)raw : (int64_t)(int32_t)sext((uint32_t)raw, size * 2);
    if (d == 0 || (d == -1 && n == INT64_MIN))
        cpu_raise(cpu, EXC_DE, 0);
    int64_t q = n / d, r = n % d;
    int64_t lim = (int64_t)1 << (bits - 1);
    if (q >= lim || q < -lim)
        cpu_raise(cpu, EXC_DE, 0);
    if (size == 1) {
        reg_write(cpu, R_EAX, 2, ((uint32_t)q & 0xffu) | ((uint32_t)r & 0xffu) << 8);
    } else {
        reg_write(cpu, R_EAX, size, (uint32_t)q);
        reg_write(cpu, R_EDX, size, (uint32_t)r);
    }
}

/* ---- bit test and scan (SDM vol. 2, BT) ---- */

enum { BT_TEST, BT_SET, BT_RESET, BT_COMPL };

static uint32_t bt_apply(uint32_t v, uint32_t bit, int op)
{
    switch (op) {
    case BT_SET: return v | (1u << bit);
    case BT_RESET: return v & ~(1u << bit);
    case BT_COMPL: return v ^ (1u << bit);
    default: return v;
    }
}

/* With a register bit offset and a memory operand the offset is signed
   and selects any bit relative to the address (a bit string). */
static void bit_op(struct cpu *cpu, const struct insn *in, int op)
{
    int size = in->opsize, bits = size * 8;
    uint32_t off = opd_read(cpu, in, 1), v, bit;
    bool regoff = in->row->opd[1] != O_Ib;
    if (in->mod != 3 && regoff) {
        int32_t soff = (int32_t)sext(off, size);
        uint32_t ea = insn_ea(cpu, in) + (uint32_t)((soff >> (size == 4 ? 5 : 4)) * size);
        ea &= ad_mask(in);
        bit = (uint32_t)soff & (uint32_t)(bits - 1);
        v = op == BT_TEST ? mem_read(cpu, in->seg, ea, size) : mem_read_rmw(cpu, in->seg, ea, size);
        if (op != BT_TEST)
            mem_write(cpu, in->seg, ea, size, bt_apply(v, bit, op));
    } else {
        bit = off & (uint32_t)(bits - 1);
        v = op == BT_TEST ? rm_read(cpu, in, size) : opd_read_dst(cpu, in);
        if (op != BT_TEST)
            rm_write(cpu, in, size, bt_apply(v, bit, op));
    }
    flags_set(cpu, (v >> bit) & 1 ? FL_CF : 0, FL_CF);
}

void op_bt(struct cpu *cpu, const struct insn *in) { bit_op(cpu, in, BT_TEST); }
void op_bts(struct cpu *cpu, const struct insn *in) { bit_op(cpu, in, BT_SET); }
void op_btr(struct cpu *cpu, const struct insn *in) { bit_op(cpu, in, BT_RESET); }
void op_btc(struct cpu *cpu, const struct insn *in) { bit_op(cpu, in, BT_COMPL); }

/* BSF/BSR: ZF = source is zero (destination then unchanged, as on
   current Intel and AMD parts); other flags undefined. */
void op_bsf(struct cpu *cpu, const struct insn *in)
{
    uint32_t v = opd_read(cpu, in, 1);
    if (v)
        reg_write(cpu, in->reg, in->opsize, (uint32_t)__builtin_ctz(v));
    flags_set(cpu, v ? 0 : FL_ZF, FL_ZF);
}

void op_bsr(struct cpu *cpu, const struct insn *in)
{
    uint32_t v = opd_read(cpu, in, 1);
    if (v)
        reg_write(cpu, in->reg, in->opsize, 31u - (uint32_t)__builtin_clz(v));
    flags_set(cpu, v ? 0 : FL_ZF, FL_ZF);
}

/* ---- decimal adjust (SDM vol. 2, DAA/DAS/AAA/AAS/AAM/AAD pseudo-code) ---- */

static void bcd_al(struct cpu *cpu, uint32_t al, uint32_t cf_af)
{
    reg_write(cpu, R_EAX, 1, al);
    flags_set(cpu, flags_szp(al, 1) | cf_af, FL_ARITH & ~FL_OF);
}

void op_daa(struct cpu *cpu, const struct insn *in)
{
    uint32_t f = flags_get(cpu), al = reg_read(cpu, R_EAX, 1), old = al, out = 0;
    if ((al & 0xf) > 9 || (f & FL_AF)) {
        al = (al + 6) & 0xff;
        out |= FL_AF;
    }
    if (old > 0x99 || (f & FL_CF)) {
        al = (al + 0x60) & 0xff;
        out |= FL_CF;
    }
    bcd_al(cpu, al, out);
}

void op_das(struct cpu *cpu, const struct insn *in)
{
    uint32_t f = flags_get(cpu), al = reg_read(cpu, R_EAX, 1), old = al, out = 0;
    if ((al & 0xf) > 9 || (f & FL_AF)) {
        out |= FL_AF | ((al < 6 || (f & FL_CF)) ? FL_CF : 0);
        al = (al - 6) & 0xff;
    }
    if (old > 0x99 || (f & FL_CF)) {
        al = (al - 0x60) & 0xff;
        out |= FL_CF;
    }
    bcd_al(cpu, al, out);
}

/* AAA/AAS: only CF and AF are defined. */
static void ascii_adjust(struct cpu *cpu, bool add)
{
    uint32_t ax = reg_read(cpu, R_EAX, 2);
    if ((ax & 0xf) > 9 || (flags_get(cpu) & FL_AF)) {
        ax = add ? ax + 0x106 : ax - 6 - 0x100;
        reg_write(cpu, R_EAX, 2, ax & 0xff0f);
        flags_set(cpu, FL_AF | FL_CF, FL_AF | FL_CF);
    } else {
        reg_write(cpu, R_EAX, 2, ax & 0xff0f);
        flags_set(cpu, 0, FL_AF | FL_CF);
    }
}

void op_aaa(struct cpu *cpu, const struct insn *in) { ascii_adjust(cpu, true); }
void op_aas(struct cpu *cpu, const struct insn *in) { ascii_adjust(cpu, false); }

void op_aam(struct cpu *cpu, const struct insn *in)
{
    uint32_t base = in->imm & 0xff, al = reg_read(cpu, R_EAX, 1);
    if (base == 0)
        cpu_raise(cpu, EXC_DE, 0);
    uint32_t r = al % base;
    reg_write(cpu, R_EAX, 2, (al / base) << 8 | r);
    flags_set(cpu, flags_szp(r, 1), FL_SF | FL_ZF | FL_PF);
}

void op_aad(struct cpu *cpu, const struct insn *in)
{
    uint32_t ax = reg_read(cpu, R_EAX, 2);
    uint32_t al = ((ax & 0xff) + (ax >> 8) * (in->imm & 0xff)) & 0xff;
    reg_write(cpu, R_EAX, 2, al);
    flags_set(cpu, flags_szp(al, 1), FL_SF | FL_ZF | FL_PF);
}
