/*
 * forms.c - handlers specialised per instruction form, chosen when an
 * instruction is cached.
 *
 * The generic handler of a row looks up its operand kinds in the opcode
 * table on every execution (register or memory? which register? which
 * size?), and in an interpreter that is a third of the time. But those
 * answers are fixed once the instruction is decoded. So for the hottest
 * families (the ALU operations, TEST, MOV, INC, DEC, the shifts, MOVZX and
 * MOVSX, and Jcc by condition) this file
 * instantiates the shared handler bodies of ops_forms.h for every
 * common combination of register, memory and immediate operands and sizes,
 * and form_select() swaps a decoded instruction's handler for the instance
 * of its form. Everything else keeps the generic handler. The list below is
 * written once (X-macros), for the instances and for the lookup table.
 */
#include "ops.h"
#include "ops_forms.h"

/* The forms each family has: destination, source, operand size, source
   size (0: not part of the key). */
#define FORMS2(X, fn, arg)                                                     \
    X(fn, arg, F_REG, F_REG, 4, 4) X(fn, arg, F_REG, F_MEM, 4, 4)              \
    X(fn, arg, F_MEM, F_REG, 4, 4) X(fn, arg, F_REG, F_IMM, 4, 4)              \
    X(fn, arg, F_MEM, F_IMM, 4, 4)                                             \
    X(fn, arg, F_REG, F_REG, 1, 1) X(fn, arg, F_REG, F_MEM, 1, 1)              \
    X(fn, arg, F_MEM, F_REG, 1, 1) X(fn, arg, F_REG, F_IMM, 1, 1)              \
    X(fn, arg, F_MEM, F_IMM, 1, 1)
#define FORMS1(X, fn, arg)                                                     \
    X(fn, arg, F_REG, F_ANY, 4, 0) X(fn, arg, F_MEM, F_ANY, 4, 0)              \
    X(fn, arg, F_REG, F_ANY, 1, 0) X(fn, arg, F_MEM, F_ANY, 1, 0)
/* shifts: by an immediate, by CL (a register), by one (F_ANY) */
#define FORMS_SHIFT(X, fn, arg)                                                \
    X(fn, arg, F_REG, F_IMM, 4, 0) X(fn, arg, F_REG, F_REG, 4, 0)              \
    X(fn, arg, F_REG, F_ANY, 4, 0) X(fn, arg, F_MEM, F_IMM, 4, 0)              \
    X(fn, arg, F_REG, F_IMM, 1, 0) X(fn, arg, F_REG, F_REG, 1, 0)
#define FORMS_MOVX(X, fn, arg)                                                 \
    X(fn, arg, F_REG, F_REG, 4, 1) X(fn, arg, F_REG, F_MEM, 4, 1)              \
    X(fn, arg, F_REG, F_REG, 4, 2) X(fn, arg, F_REG, F_MEM, 4, 2)

#define ALL_FORMS(X)                                                           \
    FORMS2(X, op_add, ALU_ADD) FORMS2(X, op_or, ALU_OR)                        \
    FORMS2(X, op_adc, ALU_ADC) FORMS2(X, op_sbb, ALU_SBB)                      \
    FORMS2(X, op_and, ALU_AND) FORMS2(X, op_sub, ALU_SUB)                      \
    FORMS2(X, op_xor, ALU_XOR) FORMS2(X, op_cmp, ALU_CMP)                      \
    FORMS2(X, op_test, ALU_TEST) FORMS2(X, op_mov, 0)                          \
    FORMS1(X, op_inc, 1) FORMS1(X, op_dec, -1)                                 \
    FORMS_SHIFT(X, op_shl, 0) FORMS_SHIFT(X, op_shr, 0) FORMS_SHIFT(X, op_sar, 0) \
    FORMS_MOVX(X, op_movzx, false) FORMS_MOVX(X, op_movsx, true)

#define FORM_NAME(fn, f0, f1, sz, sz1) fn##_##f0##_##f1##_##sz##_##sz1

/* Which shared body a family's instances run. */
#define BODY_op_add alu
#define BODY_op_or alu
#define BODY_op_adc alu
#define BODY_op_sbb alu
#define BODY_op_and alu
#define BODY_op_sub alu
#define BODY_op_xor alu
#define BODY_op_cmp alu
#define BODY_op_test alu
#define BODY_op_mov mov
#define BODY_op_inc incdec
#define BODY_op_dec incdec
#define BODY_op_shl shl
#define BODY_op_shr shr
#define BODY_op_sar sar
#define BODY_op_movzx movx
#define BODY_op_movsx movx

static ALWAYS_INLINE void run_alu(struct cpu *cpu, const struct insn *in, int op, int f0,
                                  int f1, int size, int size1)
{
    (void)size1;
    alu_body(cpu, in, op, f0, f1, size);
}

static ALWAYS_INLINE void run_mov(struct cpu *cpu, const struct insn *in, int unused,
                                  int f0, int f1, int size, int size1)
{
    (void)unused, (void)size1;
    mov_body(cpu, in, f0, f1, size);
}

static ALWAYS_INLINE void run_incdec(struct cpu *cpu, const struct insn *in, int delta,
                                     int f0, int f1, int size, int size1)
{
    (void)f1, (void)size1;
    incdec_body(cpu, in, delta, f0, size);
}

#define RUN_SHIFT(name)                                                        \
    static ALWAYS_INLINE void run_##name(struct cpu *cpu, const struct insn *in, int unused, \
                                         int f0, int f1, int size, int size1)  \
    {                                                                          \
        (void)unused, (void)size1;                                             \
        name##_body(cpu, in, f0, f1, size);                                    \
    }
RUN_SHIFT(shl)
RUN_SHIFT(shr)
RUN_SHIFT(sar)

static ALWAYS_INLINE void run_movx(struct cpu *cpu, const struct insn *in, int sign,
                                   int f0, int f1, int size, int size1)
{
    (void)f0;
    movx_body(cpu, in, f1, size, size1, sign);
}

#define RUN_(body) run_##body
#define RUN(body) RUN_(body)
#define DEFINE_FORM(fn, arg, f0, f1, sz, sz1)                                  \
    static void FORM_NAME(fn, f0, f1, sz, sz1)(struct cpu *cpu, const struct insn *in) \
    {                                                                          \
        RUN(BODY_##fn)(cpu, in, arg, f0, f1, sz, sz1);                         \
    }
ALL_FORMS(DEFINE_FORM)

/* Jcc by condition (the opcode's low four bits). */
#define JCC_FORMS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) \
                     X(12) X(13) X(14) X(15)
#define DEFINE_JCC(cc) \
    static void op_jcc_##cc(struct cpu *cpu, const struct insn *in) { jcc_body(cpu, in, cc); }
JCC_FORMS(DEFINE_JCC)
#define JCC_ROW(cc) op_jcc_##cc,
static const op_fn jcc_forms[16] = { JCC_FORMS(JCC_ROW) };

struct form {
    op_fn generic;
    uint8_t f0, f1, size, size1;
    op_fn special;
};

#define FORM_ROW(fn, arg, f0, f1, sz, sz1) { fn, f0, f1, sz, sz1, FORM_NAME(fn, f0, f1, sz, sz1) },
static const struct form forms[] = { ALL_FORMS(FORM_ROW) };

/* Where operand n of the decoded instruction is (and its register). */
static int form_of(const struct insn *in, int n, uint8_t *reg)
{
    int k = in->row->opd[n];
    if (kind_is_G(k)) {
        *reg = in->reg;
        return F_REG;
    }
    if (kind_is_E(k)) {
        *reg = in->rm;
        return in->mod == 3 ? F_REG : F_MEM;
    }
    if (k == O_Zb || k == O_Zv) {
        *reg = in->opcode & 7;
        return F_REG;
    }
    if (k == O_AL || k == O_eAX || k == O_CL) {
        *reg = k == O_CL ? R_ECX : R_EAX;
        return F_REG;
    }
    return kind_is_imm(k) ? F_IMM : F_ANY;
}

void form_select(struct insn *in)
{
    if (in->row->fn == op_jcc) {
        in->fn = jcc_forms[in->opcode & 15];
        return;
    }
    int f0 = form_of(in, 0, &in->opr[0]), f1 = form_of(in, 1, &in->opr[1]);
    int size = opd_size(in, 0), size1 = opd_size(in, 1);
    for (unsigned i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        const struct form *f = &forms[i];
        if (f->generic == in->row->fn && f->f0 == f0 && f->f1 == f1 && f->size == size &&
            (f->size1 == 0 || f->size1 == size1)) {
            in->fn = f->special;
            return;
        }
    }
}
