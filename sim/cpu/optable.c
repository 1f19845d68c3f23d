/*
 * optable.c - the opcode table: one row per instruction form.
 *
 * This is the single list of every instruction ringside's CPU knows (the
 * i686 integer set plus the protected-mode system instructions), in the
 * spirit of Bochs' ia_opcodes.def. The decoder builds its maps from it, the
 * pipeline checks its attributes (A_PRIV, A_IOPL, A_FPU, A_UD, A_LOCKABLE),
 * the binary translator and the lessons classify instructions by the same
 * attributes: A_SENSITIVE marks exactly Robin & Irvine's (USENIX Security
 * 2000) sensitive-but-unprivileged instructions, which are the whole reason
 * a classic trap-and-emulate monitor cannot virtualize x86.
 *
 * Conventions: rows with an O_Zb/O_Zv operand cover eight opcodes
 * (register in the low three bits); a plain row for one of those opcodes
 * (NOP at 0x90) takes precedence. Group rows give ModRM.reg in `ext`; a
 * GX row is one register form of a group slot chosen by its whole ModRM
 * byte (VMCALL, 0F 01 C1), ahead of the slot's group row.
 * x87 (D8-DF) and the MMX/SSE opcodes gcc may emit are present with A_FPU:
 * this CPU has no FPU, so they raise #NM or #UD (SDM vol. 3, 2.5 CR0.EM/TS)
 * and CPUID does not advertise FPU, MMX or SSE. Mnemonics are Capstone 4's
 * for the 32-bit operand size without prefixes.
 */
#include <stddef.h>
#include "ops.h"
#include "ops_system.h"

#define ROWO(id, mn, f, mp, op, ex, a, b, c, co, at) \
    { mn, f, mp, op, ex, { a, b, c }, 0, co, at, 0, id }
#define ROW(mn, f, mp, op, ex, a, b, c, co, at) ROWO(OP_NONE, mn, f, mp, op, ex, a, b, c, co, at)
/* one-byte map, 0F map, and their group forms; the ...O forms name the
   row's operation (enum op_id) */
#define B1(mn, f, op, a, b, c, co, at) ROW(mn, f, MAP_1B, op, -1, a, b, c, co, at)
#define B2(mn, f, op, a, b, c, co, at) ROW(mn, f, MAP_0F, op, -1, a, b, c, co, at)
#define G1(mn, f, op, ex, a, b, c, co, at) ROW(mn, f, MAP_1B, op, ex, a, b, c, co, (at) | A_MODRM)
#define G2(mn, f, op, ex, a, b, c, co, at) ROW(mn, f, MAP_0F, op, ex, a, b, c, co, (at) | A_MODRM)
#define B1O(id, mn, f, op, a, b, c, co, at) ROWO(id, mn, f, MAP_1B, op, -1, a, b, c, co, at)
#define B2O(id, mn, f, op, a, b, c, co, at) ROWO(id, mn, f, MAP_0F, op, -1, a, b, c, co, at)
#define G1O(id, mn, f, op, ex, a, b, c, co, at) \
    ROWO(id, mn, f, MAP_1B, op, ex, a, b, c, co, (at) | A_MODRM)
#define G2O(id, mn, f, op, ex, a, b, c, co, at) \
    ROWO(id, mn, f, MAP_0F, op, ex, a, b, c, co, (at) | A_MODRM)
/* a form chosen by the whole ModRM byte (register form of a group slot) */
#define GX(id, mn, f, op, modrm, co, at) \
    { mn, f, MAP_0F, op, ((modrm) >> 3) & 7, { 0, 0, 0 }, 0, co, \
      (at) | A_MODRM | A_MODRM_EQ, modrm, id }
#define SEGROW(id, mn, f, mp, op, sr, at) \
    { mn, f, mp, op, -1, { O_SEG, 0, 0 }, sr, C_SYSTEM, (at), 0, id }

#define M A_MODRM
#define AR (A_FLAGS_WR)
#define BR (A_BRANCH | A_BLOCK_END)

/* The eight classic ALU operations: six encodings each (SDM vol. 2, A.3). */
#define ALU(mn, f, base, at)                                                  \
    B1(mn, f, base + 0, O_Eb, O_Gb, 0, C_SIMPLE, M | A_BYTE | AR | (at)),     \
    B1(mn, f, base + 1, O_Ev, O_Gv, 0, C_SIMPLE, M | AR | (at)),              \
    B1(mn, f, base + 2, O_Gb, O_Eb, 0, C_SIMPLE, M | A_BYTE | AR | ((at) & ~A_LOCKABLE)), \
    B1(mn, f, base + 3, O_Gv, O_Ev, 0, C_SIMPLE, M | AR | ((at) & ~A_LOCKABLE)),          \
    B1(mn, f, base + 4, O_AL, O_Ib, 0, C_SIMPLE, A_BYTE | AR | ((at) & ~A_LOCKABLE)),     \
    B1(mn, f, base + 5, O_eAX, O_Iv, 0, C_SIMPLE, AR | ((at) & ~A_LOCKABLE))
#define RMW (A_LOCKABLE | A_WB)

/* Group 1 (80, 81, 82, 83): ALU op with an immediate. */
#define GRP1(mn, f, ex, at)                                                   \
    G1(mn, f, 0x80, ex, O_Eb, O_Ib, 0, C_SIMPLE, A_BYTE | AR | (at)),         \
    G1(mn, f, 0x81, ex, O_Ev, O_Iv, 0, C_SIMPLE, AR | (at)),                  \
    G1(mn, f, 0x82, ex, O_Eb, O_Ib, 0, C_SIMPLE, A_BYTE | AR | (at)),         \
    G1(mn, f, 0x83, ex, O_Ev, O_Ibs, 0, C_SIMPLE, AR | (at))

/* Group 2 (C0, C1, D0-D3): shifts and rotates. */
#define GRP2(mn, f, ex, at)                                                   \
    G1(mn, f, 0xC0, ex, O_Eb, O_Ib, 0, C_SIMPLE, A_BYTE | A_WB | AR | (at)),  \
    G1(mn, f, 0xC1, ex, O_Ev, O_Ib, 0, C_SIMPLE, A_WB | AR | (at)),           \
    G1(mn, f, 0xD0, ex, O_Eb, O_ONE, 0, C_SIMPLE, A_BYTE | A_WB | AR | (at)), \
    G1(mn, f, 0xD1, ex, O_Ev, O_ONE, 0, C_SIMPLE, A_WB | AR | (at)),          \
    G1(mn, f, 0xD2, ex, O_Eb, O_CL, 0, C_SIMPLE, A_BYTE | A_WB | AR | (at)),  \
    G1(mn, f, 0xD3, ex, O_Ev, O_CL, 0, C_SIMPLE, A_WB | AR | (at))

/* Condition-code families: Jcc short/near, SETcc, CMOVcc. */
#define CC16(X) X(0x0, "o") X(0x1, "no") X(0x2, "b") X(0x3, "ae") X(0x4, "e") \
    X(0x5, "ne") X(0x6, "be") X(0x7, "a") X(0x8, "s") X(0x9, "ns") X(0xA, "p") \
    X(0xB, "np") X(0xC, "l") X(0xD, "ge") X(0xE, "le") X(0xF, "g")
#define JCC_S(c, s) B1("j" s, op_jcc, 0x70 + c, O_Jb, 0, 0, C_BRANCH, BR | A_COND | A_FLAGS_RD),
#define JCC_N(c, s) B2("j" s, op_jcc, 0x80 + c, O_Jv, 0, 0, C_BRANCH, BR | A_COND | A_FLAGS_RD),
#define SETCC(c, s) B2("set" s, op_setcc, 0x90 + c, O_Eb, 0, 0, C_SIMPLE, M | A_BYTE | A_NOREAD0 | A_FLAGS_RD),
#define CMOVCC(c, s) B2("cmov" s, op_cmovcc, 0x40 + c, O_Gv, O_Ev, 0, C_SIMPLE, M | A_FLAGS_RD),

/* x87 escapes and SSE/MMX opcodes: no FPU on this CPU. */
#define X87(op) B1O(OP_FPU, "fpu", op_fpu, op, O_Ev, 0, 0, C_SIMPLE, M | A_FPU),
#define SSE(op) B2O(OP_FPU, "sse", op_fpu, op, O_Gv, O_Ev, 0, C_SIMPLE, M | A_FPU),
#define SSEI(op) B2O(OP_FPU, "sse", op_fpu, op, O_Gv, O_Ev, O_Ib, C_SIMPLE, M | A_FPU),
#define SSE8(op) SSE(op) SSE(op + 1) SSE(op + 2) SSE(op + 3) SSE(op + 4) SSE(op + 5) \
    SSE(op + 6) SSE(op + 7)

#define SENS A_SENSITIVE
#define PRIV A_PRIV
#define FARX (A_FAR | BR | SENS)

const struct op_row op_table[] = {
    /* ---- arithmetic and logic ---- */
    ALU("add", op_add, 0x00, RMW),
    ALU("or", op_or, 0x08, RMW),
    ALU("adc", op_adc, 0x10, RMW | A_FLAGS_RD),
    ALU("sbb", op_sbb, 0x18, RMW | A_FLAGS_RD),
    ALU("and", op_and, 0x20, RMW),
    ALU("sub", op_sub, 0x28, RMW),
    ALU("xor", op_xor, 0x30, RMW),
    ALU("cmp", op_cmp, 0x38, 0),
    GRP1("add", op_add, 0, RMW), GRP1("or", op_or, 1, RMW),
    GRP1("adc", op_adc, 2, RMW | A_FLAGS_RD), GRP1("sbb", op_sbb, 3, RMW | A_FLAGS_RD),
    GRP1("and", op_and, 4, RMW), GRP1("sub", op_sub, 5, RMW),
    GRP1("xor", op_xor, 6, RMW), GRP1("cmp", op_cmp, 7, 0),
    B1("test", op_test, 0x84, O_Eb, O_Gb, 0, C_SIMPLE, M | A_BYTE | AR),
    B1("test", op_test, 0x85, O_Ev, O_Gv, 0, C_SIMPLE, M | AR),
    B1("test", op_test, 0xA8, O_AL, O_Ib, 0, C_SIMPLE, A_BYTE | AR),
    B1("test", op_test, 0xA9, O_eAX, O_Iv, 0, C_SIMPLE, AR),
    B1("inc", op_inc, 0x40, O_Zv, 0, 0, C_SIMPLE, AR),
    B1("dec", op_dec, 0x48, O_Zv, 0, 0, C_SIMPLE, AR),
    G1("inc", op_inc, 0xFE, 0, O_Eb, 0, 0, C_SIMPLE, A_BYTE | RMW | AR),
    G1("dec", op_dec, 0xFE, 1, O_Eb, 0, 0, C_SIMPLE, A_BYTE | RMW | AR),
    G1("inc", op_inc, 0xFF, 0, O_Ev, 0, 0, C_SIMPLE, RMW | AR),
    G1("dec", op_dec, 0xFF, 1, O_Ev, 0, 0, C_SIMPLE, RMW | AR),
    G1("test", op_test, 0xF6, 0, O_Eb, O_Ib, 0, C_SIMPLE, A_BYTE | AR),
    G1("test", op_test, 0xF6, 1, O_Eb, O_Ib, 0, C_SIMPLE, A_BYTE | AR),
    G1("not", op_not, 0xF6, 2, O_Eb, 0, 0, C_SIMPLE, A_BYTE | RMW),
    G1("neg", op_neg, 0xF6, 3, O_Eb, 0, 0, C_SIMPLE, A_BYTE | RMW | AR),
    G1("mul", op_mul, 0xF6, 4, O_Eb, 0, 0, C_MUL, A_BYTE | AR),
    G1("imul", op_imul1, 0xF6, 5, O_Eb, 0, 0, C_MUL, A_BYTE | AR),
    G1("div", op_div, 0xF6, 6, O_Eb, 0, 0, C_DIV, A_BYTE | AR),
    G1("idiv", op_idiv, 0xF6, 7, O_Eb, 0, 0, C_DIV, A_BYTE | AR),
    G1("test", op_test, 0xF7, 0, O_Ev, O_Iv, 0, C_SIMPLE, AR),
    G1("test", op_test, 0xF7, 1, O_Ev, O_Iv, 0, C_SIMPLE, AR),
    G1("not", op_not, 0xF7, 2, O_Ev, 0, 0, C_SIMPLE, RMW),
    G1("neg", op_neg, 0xF7, 3, O_Ev, 0, 0, C_SIMPLE, RMW | AR),
    G1("mul", op_mul, 0xF7, 4, O_Ev, 0, 0, C_MUL, AR),
    G1("imul", op_imul1, 0xF7, 5, O_Ev, 0, 0, C_MUL, AR),
    G1("div", op_div, 0xF7, 6, O_Ev, 0, 0, C_DIV, AR),
    G1("idiv", op_idiv, 0xF7, 7, O_Ev, 0, 0, C_DIV, AR),
    B2("imul", op_imul2, 0xAF, O_Gv, O_Ev, 0, C_MUL, M | AR),
    B1("imul", op_imul3, 0x69, O_Gv, O_Ev, O_Iv, C_MUL, M | AR),
    B1("imul", op_imul3, 0x6B, O_Gv, O_Ev, O_Ibs, C_MUL, M | AR),

    /* ---- shifts and rotates ---- */
    GRP2("rol", op_rol, 0, 0), GRP2("ror", op_ror, 1, 0),
    GRP2("rcl", op_rcl, 2, A_FLAGS_RD), GRP2("rcr", op_rcr, 3, A_FLAGS_RD),
    GRP2("shl", op_shl, 4, 0), GRP2("shr", op_shr, 5, 0),
    GRP2("sal", op_shl, 6, 0), GRP2("sar", op_sar, 7, 0),
    B2("shld", op_shld, 0xA4, O_Ev, O_Gv, O_Ib, C_SIMPLE, M | A_WB | AR),
    B2("shld", op_shld, 0xA5, O_Ev, O_Gv, O_CL, C_SIMPLE, M | A_WB | AR),
    B2("shrd", op_shrd, 0xAC, O_Ev, O_Gv, O_Ib, C_SIMPLE, M | A_WB | AR),
    B2("shrd", op_shrd, 0xAD, O_Ev, O_Gv, O_CL, C_SIMPLE, M | A_WB | AR),

    /* ---- bit operations ---- */
    B2("bt", op_bt, 0xA3, O_Ev, O_Gv, 0, C_SIMPLE, M | AR),
    B2("bts", op_bts, 0xAB, O_Ev, O_Gv, 0, C_SIMPLE, M | RMW | AR),
    B2("btr", op_btr, 0xB3, O_Ev, O_Gv, 0, C_SIMPLE, M | RMW | AR),
    B2("btc", op_btc, 0xBB, O_Ev, O_Gv, 0, C_SIMPLE, M | RMW | AR),
    G2("bt", op_bt, 0xBA, 4, O_Ev, O_Ib, 0, C_SIMPLE, AR),
    G2("bts", op_bts, 0xBA, 5, O_Ev, O_Ib, 0, C_SIMPLE, RMW | AR),
    G2("btr", op_btr, 0xBA, 6, O_Ev, O_Ib, 0, C_SIMPLE, RMW | AR),
    G2("btc", op_btc, 0xBA, 7, O_Ev, O_Ib, 0, C_SIMPLE, RMW | AR),
    B2("bsf", op_bsf, 0xBC, O_Gv, O_Ev, 0, C_SIMPLE, M | AR),
    B2("bsr", op_bsr, 0xBD, O_Gv, O_Ev, 0, C_SIMPLE, M | AR),
    B2("bswap", op_bswap, 0xC8, O_Zv, 0, 0, C_SIMPLE, 0),

    /* ---- decimal arithmetic ---- */
    B1("daa", op_daa, 0x27, 0, 0, 0, C_SIMPLE, AR | A_FLAGS_RD),
    B1("das", op_das, 0x2F, 0, 0, 0, C_SIMPLE, AR | A_FLAGS_RD),
    B1("aaa", op_aaa, 0x37, 0, 0, 0, C_SIMPLE, AR | A_FLAGS_RD),
    B1("aas", op_aas, 0x3F, 0, 0, 0, C_SIMPLE, AR | A_FLAGS_RD),
    B1("aam", op_aam, 0xD4, O_Ib, 0, 0, C_DIV, AR),
    B1("aad", op_aad, 0xD5, O_Ib, 0, 0, C_MUL, AR),

    /* ---- data movement ---- */
    B1O(OP_MOV, "mov", op_mov, 0x88, O_Eb, O_Gb, 0, C_SIMPLE, M | A_BYTE | A_WB | A_NOREAD0),
    B1O(OP_MOV, "mov", op_mov, 0x89, O_Ev, O_Gv, 0, C_SIMPLE, M | A_WB | A_NOREAD0),
    B1O(OP_MOV, "mov", op_mov, 0x8A, O_Gb, O_Eb, 0, C_SIMPLE, M | A_BYTE | A_WB | A_NOREAD0),
    B1O(OP_MOV, "mov", op_mov, 0x8B, O_Gv, O_Ev, 0, C_SIMPLE, M | A_WB | A_NOREAD0),
    B1O(OP_MOV, "mov", op_mov, 0xA0, O_AL, O_Ob, 0, C_MEM, A_BYTE | A_WB | A_NOREAD0),
    B1O(OP_MOV, "mov", op_mov, 0xA1, O_eAX, O_Ov, 0, C_MEM, A_WB | A_NOREAD0),
    B1O(OP_MOV, "mov", op_mov, 0xA2, O_Ob, O_AL, 0, C_MEM, A_BYTE | A_WB | A_NOREAD0),
    B1O(OP_MOV, "mov", op_mov, 0xA3, O_Ov, O_eAX, 0, C_MEM, A_WB | A_NOREAD0),
    B1O(OP_MOV, "mov", op_mov, 0xB0, O_Zb, O_Ib, 0, C_SIMPLE, A_BYTE | A_WB | A_NOREAD0),
    B1O(OP_MOV, "mov", op_mov, 0xB8, O_Zv, O_Iv, 0, C_SIMPLE, A_WB | A_NOREAD0),
    G1O(OP_MOV, "mov", op_mov, 0xC6, 0, O_Eb, O_Ib, 0, C_SIMPLE, A_BYTE | A_WB | A_NOREAD0),
    G1O(OP_MOV, "mov", op_mov, 0xC7, 0, O_Ev, O_Iv, 0, C_SIMPLE, A_WB | A_NOREAD0),
    B2O(OP_MOVZX, "movzx", op_movzx, 0xB6, O_Gv, O_Eb, 0, C_SIMPLE, M | A_NOREAD0),
    B2O(OP_MOVZX, "movzx", op_movzx, 0xB7, O_Gv, O_Ew, 0, C_SIMPLE, M | A_NOREAD0),
    B2O(OP_MOVSX, "movsx", op_movsx, 0xBE, O_Gv, O_Eb, 0, C_SIMPLE, M | A_NOREAD0),
    B2O(OP_MOVSX, "movsx", op_movsx, 0xBF, O_Gv, O_Ew, 0, C_SIMPLE, M | A_NOREAD0),
    B1("lea", op_lea, 0x8D, O_Gv, O_M, 0, C_SIMPLE, M | A_MEMONLY | A_NOREAD0),
    B1("xchg", op_xchg, 0x86, O_Eb, O_Gb, 0, C_SIMPLE, M | A_BYTE | A_LOCKABLE),
    B1("xchg", op_xchg, 0x87, O_Ev, O_Gv, 0, C_SIMPLE, M | A_LOCKABLE),
    B1("xchg", op_xchg, 0x90, O_Zv, O_eAX, 0, C_SIMPLE, 0),
    B1("nop", op_nop, 0x90, 0, 0, 0, C_SIMPLE, 0),
    B1("pause", op_nop, 0x90, 0, 0, 0, C_SIMPLE, A_PFX_F3),
    B2("xadd", op_xadd, 0xC0, O_Eb, O_Gb, 0, C_SIMPLE, M | A_BYTE | RMW | AR),
    B2("xadd", op_xadd, 0xC1, O_Ev, O_Gv, 0, C_SIMPLE, M | RMW | AR),
    B2("cmpxchg", op_cmpxchg, 0xB0, O_Eb, O_Gb, 0, C_SIMPLE, M | A_BYTE | RMW | AR),
    B2("cmpxchg", op_cmpxchg, 0xB1, O_Ev, O_Gv, 0, C_SIMPLE, M | RMW | AR),
    G2("cmpxchg8b", op_cmpxchg8b, 0xC7, 1, O_M, 0, 0, C_MEM, A_MEMONLY | RMW | AR),
    B1("cwde", op_cbw, 0x98, 0, 0, 0, C_SIMPLE, 0),
    B1("cdq", op_cwd, 0x99, 0, 0, 0, C_SIMPLE, 0),
    B1("lahf", op_lahf, 0x9F, 0, 0, 0, C_SIMPLE, A_FLAGS_RD),
    B1("sahf", op_sahf, 0x9E, 0, 0, 0, C_SIMPLE, AR),
    B1("xlatb", op_xlat, 0xD7, 0, 0, 0, C_MEM, 0),
    CC16(SETCC)
    CC16(CMOVCC)

    /* ---- stack ---- */
    B1("push", op_push, 0x50, O_Zv, 0, 0, C_SIMPLE, A_STACK),
    B1("pop", op_pop, 0x58, O_Zv, 0, 0, C_SIMPLE, A_STACK),
    B1("push", op_push, 0x68, O_Iv, 0, 0, C_SIMPLE, A_STACK),
    B1("push", op_push, 0x6A, O_Ibs, 0, 0, C_SIMPLE, A_STACK),
    G1("push", op_push, 0xFF, 6, O_Ev, 0, 0, C_MEM, A_STACK),
    G1("pop", op_pop, 0x8F, 0, O_Ev, 0, 0, C_MEM, A_STACK),
    B1("pushal", op_pusha, 0x60, 0, 0, 0, C_MEM, A_STACK),
    B1("popal", op_popa, 0x61, 0, 0, 0, C_MEM, A_STACK),
    B1("enter", op_enter, 0xC8, O_Iw, O_Ib, 0, C_MEM, A_STACK),
    B1("leave", op_leave, 0xC9, 0, 0, 0, C_SIMPLE, A_STACK),

    /* ---- near control transfer ---- */
    CC16(JCC_S)
    CC16(JCC_N)
    B1("jmp", op_jmp, 0xEB, O_Jb, 0, 0, C_BRANCH, BR),
    B1("jmp", op_jmp, 0xE9, O_Jv, 0, 0, C_BRANCH, BR),
    G1("jmp", op_jmp, 0xFF, 4, O_Ev, 0, 0, C_BRANCH, BR),
    B1O(OP_CALL, "call", op_call, 0xE8, O_Jv, 0, 0, C_BRANCH, BR | A_STACK),
    G1O(OP_CALL, "call", op_call, 0xFF, 2, O_Ev, 0, 0, C_BRANCH, BR | A_STACK),
    B1O(OP_RET, "ret", op_ret, 0xC3, 0, 0, 0, C_BRANCH, BR | A_STACK),
    B1O(OP_RET, "ret", op_ret, 0xC2, O_Iw, 0, 0, C_BRANCH, BR | A_STACK),
    B1("loopne", op_loopne, 0xE0, O_Jb, 0, 0, C_BRANCH, BR | A_COND | A_FLAGS_RD),
    B1("loope", op_loope, 0xE1, O_Jb, 0, 0, C_BRANCH, BR | A_COND | A_FLAGS_RD),
    B1("loop", op_loop, 0xE2, O_Jb, 0, 0, C_BRANCH, BR | A_COND),
    B1("jecxz", op_jecxz, 0xE3, O_Jb, 0, 0, C_BRANCH, BR | A_COND),
    B1("bound", op_bound, 0x62, O_Gv, O_M, 0, C_MEM, M | A_MEMONLY),

    /* ---- string instructions ---- */
    B1("movsb", op_movs, 0xA4, 0, 0, 0, C_STRING, A_STRING | A_BYTE),
    B1("movsd", op_movs, 0xA5, 0, 0, 0, C_STRING, A_STRING),
    B1("cmpsb", op_cmps, 0xA6, 0, 0, 0, C_STRING, A_STRING | A_BYTE | A_REPCOND | AR),
    B1("cmpsd", op_cmps, 0xA7, 0, 0, 0, C_STRING, A_STRING | A_REPCOND | AR),
    B1("stosb", op_stos, 0xAA, 0, 0, 0, C_STRING, A_STRING | A_BYTE),
    B1("stosd", op_stos, 0xAB, 0, 0, 0, C_STRING, A_STRING),
    B1("lodsb", op_lods, 0xAC, 0, 0, 0, C_STRING, A_STRING | A_BYTE),
    B1("lodsd", op_lods, 0xAD, 0, 0, 0, C_STRING, A_STRING),
    B1("scasb", op_scas, 0xAE, 0, 0, 0, C_STRING, A_STRING | A_BYTE | A_REPCOND | AR),
    B1("scasd", op_scas, 0xAF, 0, 0, 0, C_STRING, A_STRING | A_REPCOND | AR),
    B1O(OP_INS, "insb", op_ins, 0x6C, 0, 0, 0, C_IO, A_STRING | A_BYTE | A_IO | A_IOPL),
    B1O(OP_INS, "insd", op_ins, 0x6D, 0, 0, 0, C_IO, A_STRING | A_IO | A_IOPL),
    B1O(OP_OUTS, "outsb", op_outs, 0x6E, 0, 0, 0, C_IO, A_STRING | A_BYTE | A_IO | A_IOPL),
    B1O(OP_OUTS, "outsd", op_outs, 0x6F, 0, 0, 0, C_IO, A_STRING | A_IO | A_IOPL),

    /* ---- flags and miscellany ---- */
    B1("clc", op_clc, 0xF8, 0, 0, 0, C_SIMPLE, AR),
    B1("stc", op_stc, 0xF9, 0, 0, 0, C_SIMPLE, AR),
    B1("cmc", op_cmc, 0xF5, 0, 0, 0, C_SIMPLE, AR | A_FLAGS_RD),
    B1("cld", op_cld, 0xFC, 0, 0, 0, C_SIMPLE, 0),
    B1("std", op_std, 0xFD, 0, 0, 0, C_SIMPLE, 0),
    /* 0F 19-1F: reserved hint NOPs on P6 and later, any ModRM (SDM vol. 2,
       NOP; "endbr32" F3 0F 1E FB is one of them on CPUs without CET) */
    B2("nop", op_nop, 0x19, O_Ev, 0, 0, C_SIMPLE, M),
    B2("nop", op_nop, 0x1A, O_Ev, 0, 0, C_SIMPLE, M),
    B2("nop", op_nop, 0x1B, O_Ev, 0, 0, C_SIMPLE, M),
    B2("nop", op_nop, 0x1C, O_Ev, 0, 0, C_SIMPLE, M),
    B2("nop", op_nop, 0x1D, O_Ev, 0, 0, C_SIMPLE, M),
    B2("nop", op_nop, 0x1E, O_Ev, 0, 0, C_SIMPLE, M),
    B2("nop", op_nop, 0x1F, O_Ev, 0, 0, C_SIMPLE, M),
    G2("prefetchnta", op_nop, 0x18, 0, O_M, 0, 0, C_SIMPLE, A_MEMONLY),
    G2("prefetcht0", op_nop, 0x18, 1, O_M, 0, 0, C_SIMPLE, A_MEMONLY),
    G2("prefetcht1", op_nop, 0x18, 2, O_M, 0, 0, C_SIMPLE, A_MEMONLY),
    G2("prefetcht2", op_nop, 0x18, 3, O_M, 0, 0, C_SIMPLE, A_MEMONLY),
    B2O(OP_CPUID, "cpuid", op_cpuid, 0xA2, 0, 0, 0, C_SYSTEM, A_BLOCK_END),
    B2O(OP_RDTSC, "rdtsc", op_rdtsc, 0x31, 0, 0, 0, C_SYSTEM, 0),
    B2O(OP_UD2, "ud2", op_ud, 0x0B, 0, 0, 0, C_SIMPLE, A_UD | A_BLOCK_END),
    B1("wait", op_wait, 0x9B, 0, 0, 0, C_SIMPLE, 0),

    /* ---- system instructions (handlers in ops_system.c) ---- */
    G2O(OP_SLDT, "sldt", op_sldt, 0x00, 0, O_Ew, 0, 0, C_SYSTEM, SENS),
    G2O(OP_STR, "str", op_str, 0x00, 1, O_Ew, 0, 0, C_SYSTEM, SENS),
    G2O(OP_LLDT, "lldt", op_lldt, 0x00, 2, O_Ew, 0, 0, C_SYSTEM, PRIV | A_BLOCK_END),
    G2O(OP_LTR, "ltr", op_ltr, 0x00, 3, O_Ew, 0, 0, C_SYSTEM, PRIV | A_BLOCK_END),
    G2O(OP_VERR, "verr", op_verr, 0x00, 4, O_Ew, 0, 0, C_SYSTEM, SENS | AR),
    G2O(OP_VERW, "verw", op_verw, 0x00, 5, O_Ew, 0, 0, C_SYSTEM, SENS | AR),
    G2O(OP_SGDT, "sgdt", op_sgdt, 0x01, 0, O_M, 0, 0, C_SYSTEM, SENS | A_MEMONLY),
    /* VMCALL: #UD outside VMX non-root operation, an unconditional exit
       (reason 18) inside it whatever the CPL, so no A_PRIV (SDM vol. 2) */
    GX(OP_VMCALL, "vmcall", op_vmcall, 0x01, 0xC1, C_SYSTEM, A_BLOCK_END),
    G2O(OP_SIDT, "sidt", op_sidt, 0x01, 1, O_M, 0, 0, C_SYSTEM, SENS | A_MEMONLY),
    G2O(OP_LGDT, "lgdt", op_lgdt, 0x01, 2, O_M, 0, 0, C_SYSTEM, PRIV | A_MEMONLY | A_BLOCK_END),
    G2O(OP_LIDT, "lidt", op_lidt, 0x01, 3, O_M, 0, 0, C_SYSTEM, PRIV | A_MEMONLY | A_BLOCK_END),
    G2O(OP_SMSW, "smsw", op_smsw, 0x01, 4, O_Ew, 0, 0, C_SYSTEM, SENS),
    G2O(OP_LMSW, "lmsw", op_lmsw, 0x01, 6, O_Ew, 0, 0, C_SYSTEM, PRIV | A_BLOCK_END),
    G2O(OP_INVLPG, "invlpg", op_invlpg, 0x01, 7, O_M, 0, 0, C_SYSTEM, PRIV | A_MEMONLY | A_BLOCK_END),
    B2O(OP_LAR, "lar", op_lar, 0x02, O_Gv, O_Ew, 0, C_SYSTEM, M | SENS | AR),
    B2O(OP_LSL, "lsl", op_lsl, 0x03, O_Gv, O_Ew, 0, C_SYSTEM, M | SENS | AR),
    B1O(OP_ARPL, "arpl", op_arpl, 0x63, O_Ew, O_Gw, 0, C_SYSTEM, M | AR),
    B2O(OP_CLTS, "clts", op_clts, 0x06, 0, 0, 0, C_SYSTEM, PRIV | A_BLOCK_END),
    B2O(OP_INVD, "invd", op_invd, 0x08, 0, 0, 0, C_SYSTEM, PRIV),
    B2O(OP_WBINVD, "wbinvd", op_wbinvd, 0x09, 0, 0, 0, C_SYSTEM, PRIV),
    B2O(OP_MOV_FROM_CR, "mov", op_mov_from_cr, 0x20, O_Ed, O_Cd, 0, C_SYSTEM, M | PRIV),
    B2O(OP_MOV_FROM_DR, "mov", op_mov_from_dr, 0x21, O_Ed, O_Dd, 0, C_SYSTEM, M | PRIV),
    B2O(OP_MOV_TO_CR, "mov", op_mov_to_cr, 0x22, O_Cd, O_Ed, 0, C_SYSTEM, M | PRIV | A_BLOCK_END),
    B2O(OP_MOV_TO_DR, "mov", op_mov_to_dr, 0x23, O_Dd, O_Ed, 0, C_SYSTEM, M | PRIV | A_BLOCK_END),
    B2O(OP_WRMSR, "wrmsr", op_wrmsr, 0x30, 0, 0, 0, C_SYSTEM, PRIV | A_BLOCK_END),
    B2O(OP_RDMSR, "rdmsr", op_rdmsr, 0x32, 0, 0, 0, C_SYSTEM, PRIV),
    B2O(OP_SYSENTER, "sysenter", op_sysenter, 0x34, 0, 0, 0, C_SYSTEM, BR | A_FAR | A_SEGLOAD),
    B2O(OP_SYSEXIT, "sysexit", op_sysexit, 0x35, 0, 0, 0, C_SYSTEM, PRIV | BR | A_FAR | A_SEGLOAD),
    B1O(OP_HLT, "hlt", op_hlt, 0xF4, 0, 0, 0, C_SYSTEM, PRIV | A_BLOCK_END),
    B1O(OP_CLI, "cli", op_cli, 0xFA, 0, 0, 0, C_CLI, A_IOPL),
    B1O(OP_STI, "sti", op_sti, 0xFB, 0, 0, 0, C_CLI, A_IOPL | A_BLOCK_END),
    B1O(OP_PUSHF, "pushfd", op_pushf, 0x9C, 0, 0, 0, C_SIMPLE, SENS | A_STACK | A_FLAGS_RD),
    B1O(OP_POPF, "popfd", op_popf, 0x9D, 0, 0, 0, C_SIMPLE, SENS | A_STACK | AR | A_BLOCK_END),
    B1O(OP_IN, "in", op_in, 0xE4, O_AL, O_Ib, 0, C_IO, A_BYTE | A_IO | A_IOPL),
    B1O(OP_IN, "in", op_in, 0xE5, O_eAX, O_Ib, 0, C_IO, A_IO | A_IOPL),
    B1O(OP_IN, "in", op_in, 0xEC, O_AL, O_DX, 0, C_IO, A_BYTE | A_IO | A_IOPL),
    B1O(OP_IN, "in", op_in, 0xED, O_eAX, O_DX, 0, C_IO, A_IO | A_IOPL),
    B1O(OP_OUT, "out", op_out, 0xE6, O_Ib, O_AL, 0, C_IO, A_BYTE | A_IO | A_IOPL),
    B1O(OP_OUT, "out", op_out, 0xE7, O_Ib, O_eAX, 0, C_IO, A_IO | A_IOPL),
    B1O(OP_OUT, "out", op_out, 0xEE, O_DX, O_AL, 0, C_IO, A_BYTE | A_IO | A_IOPL),
    B1O(OP_OUT, "out", op_out, 0xEF, O_DX, O_eAX, 0, C_IO, A_IO | A_IOPL),
    B1O(OP_MOV_TO_SREG, "mov", op_mov_to_sreg, 0x8E, O_Sw, O_Ew, 0, C_SYSTEM, M | SENS | A_SEGLOAD),
    B1O(OP_MOV_FROM_SREG, "mov", op_mov_from_sreg, 0x8C, O_Ew, O_Sw, 0, C_SIMPLE, M | SENS),
    SEGROW(OP_PUSH_SREG, "push", op_push_sreg, MAP_1B, 0x06, S_ES, SENS | A_STACK),
    SEGROW(OP_POP_SREG, "pop", op_pop_sreg, MAP_1B, 0x07, S_ES, SENS | A_STACK | A_SEGLOAD),
    SEGROW(OP_PUSH_SREG, "push", op_push_sreg, MAP_1B, 0x0E, S_CS, SENS | A_STACK),
    SEGROW(OP_PUSH_SREG, "push", op_push_sreg, MAP_1B, 0x16, S_SS, SENS | A_STACK),
    SEGROW(OP_POP_SREG, "pop", op_pop_sreg, MAP_1B, 0x17, S_SS, SENS | A_STACK | A_SEGLOAD),
    SEGROW(OP_PUSH_SREG, "push", op_push_sreg, MAP_1B, 0x1E, S_DS, SENS | A_STACK),
    SEGROW(OP_POP_SREG, "pop", op_pop_sreg, MAP_1B, 0x1F, S_DS, SENS | A_STACK | A_SEGLOAD),
    SEGROW(OP_PUSH_SREG, "push", op_push_sreg, MAP_0F, 0xA0, S_FS, SENS | A_STACK),
    SEGROW(OP_POP_SREG, "pop", op_pop_sreg, MAP_0F, 0xA1, S_FS, SENS | A_STACK | A_SEGLOAD),
    SEGROW(OP_PUSH_SREG, "push", op_push_sreg, MAP_0F, 0xA8, S_GS, SENS | A_STACK),
    SEGROW(OP_POP_SREG, "pop", op_pop_sreg, MAP_0F, 0xA9, S_GS, SENS | A_STACK | A_SEGLOAD),
    B1O(OP_LES, "les", op_les, 0xC4, O_Gv, O_Mp, 0, C_SYSTEM, M | A_MEMONLY | A_SEGLOAD),
    B1O(OP_LDS, "lds", op_lds, 0xC5, O_Gv, O_Mp, 0, C_SYSTEM, M | A_MEMONLY | A_SEGLOAD),
    B2O(OP_LSS, "lss", op_lss, 0xB2, O_Gv, O_Mp, 0, C_SYSTEM, M | A_MEMONLY | A_SEGLOAD),
    B2O(OP_LFS, "lfs", op_lfs, 0xB4, O_Gv, O_Mp, 0, C_SYSTEM, M | A_MEMONLY | A_SEGLOAD),
    B2O(OP_LGS, "lgs", op_lgs, 0xB5, O_Gv, O_Mp, 0, C_SYSTEM, M | A_MEMONLY | A_SEGLOAD),
    B1O(OP_JMP_FAR, "ljmp", op_jmp_far, 0xEA, O_Ap, 0, 0, C_SYSTEM, FARX | A_SEGLOAD),
    G1O(OP_JMP_FAR, "ljmp", op_jmp_far_m, 0xFF, 5, O_Mp, 0, 0, C_SYSTEM, FARX | A_SEGLOAD | A_MEMONLY),
    B1O(OP_CALL_FAR, "lcall", op_call_far, 0x9A, O_Ap, 0, 0, C_SYSTEM, FARX | A_SEGLOAD | A_STACK),
    G1O(OP_CALL_FAR, "lcall", op_call_far_m, 0xFF, 3, O_Mp, 0, 0, C_SYSTEM,
       FARX | A_SEGLOAD | A_STACK | A_MEMONLY),
    B1O(OP_RET_FAR, "retf", op_ret_far, 0xCB, 0, 0, 0, C_SYSTEM, FARX | A_SEGLOAD | A_STACK),
    B1O(OP_RET_FAR, "retf", op_ret_far, 0xCA, O_Iw, 0, 0, C_SYSTEM, FARX | A_SEGLOAD | A_STACK),
    B1O(OP_IRET, "iretd", op_iret, 0xCF, 0, 0, 0, C_SYSTEM, BR | A_FAR | A_SEGLOAD | A_STACK | AR),
    B1O(OP_INT, "int", op_int, 0xCD, O_Ib, 0, 0, C_SYSTEM, BR | SENS | A_STACK),
    B1O(OP_INT3, "int3", op_int3, 0xCC, 0, 0, 0, C_SYSTEM, BR | A_STACK),
    B1O(OP_INTO, "into", op_into, 0xCE, 0, 0, 0, C_SYSTEM, BR | A_STACK | A_FLAGS_RD),
    /* ICEBP: a hardware-class #DB, not a software interrupt (op_int1); not a
       branch to the translator, which single-steps it (HOW_STEP) */
    B1O(OP_INT1, "int1", op_int1, 0xF1, 0, 0, 0, C_SYSTEM, A_BLOCK_END | A_STACK),

    /* ---- x87, MMX, SSE: no FPU (#NM / #UD) ---- */
    X87(0xD8) X87(0xD9) X87(0xDA) X87(0xDB) X87(0xDC) X87(0xDD) X87(0xDE) X87(0xDF)
    SSE8(0x10) SSE8(0x28) SSE8(0x50) SSE8(0x58) SSE8(0x60) SSE8(0x68)
    SSEI(0x70) SSEI(0x71) SSEI(0x72) SSEI(0x73) SSE(0x74) SSE(0x75) SSE(0x76)
    B2O(OP_FPU, "emms", op_fpu, 0x77, 0, 0, 0, C_SIMPLE, A_FPU),
    SSE(0x7E) SSE(0x7F) SSE(0xAE)
    SSEI(0xC2) SSE(0xC3) SSEI(0xC4) SSEI(0xC5) SSEI(0xC6)
    SSE8(0xD0) SSE8(0xD8) SSE8(0xE0) SSE8(0xE8) SSE8(0xF0)
    SSE(0xF8) SSE(0xF9) SSE(0xFA) SSE(0xFB) SSE(0xFC) SSE(0xFD) SSE(0xFE)
};

const unsigned op_table_len = sizeof op_table / sizeof op_table[0];

/* Z-register rows cover opcode..opcode+7 (see the file comment). */
static bool row_matches(const struct op_row *r, int map, int opcode, int ext)
{
    if (r->map != map || r->ext != ext)
        return false;
    if (r->opd[0] == O_Zb || r->opd[0] == O_Zv)
        return (opcode & ~7) == r->opcode;
    return r->opcode == opcode;
}

const struct op_row *optable_find(int map, int opcode, int ext)
{
    const struct op_row *zrow = NULL;
    for (unsigned i = 0; i < op_table_len; i++) {
        const struct op_row *r = &op_table[i];
        if (!row_matches(r, map, opcode, ext) || (r->attr & (A_PFX_F3 | A_MODRM_EQ)))
            continue;
        if (r->opd[0] == O_Zb || r->opd[0] == O_Zv)
            zrow = r;
        else
            return r;
    }
    return zrow;
}

static const char *const op_names[OP_COUNT] = {
    [OP_NONE] = "none",
    [OP_CLI] = "cli",
    [OP_STI] = "sti",
    [OP_HLT] = "hlt",
    [OP_IN] = "in",
    [OP_OUT] = "out",
    [OP_INS] = "ins",
    [OP_OUTS] = "outs",
    [OP_PUSHF] = "pushf",
    [OP_POPF] = "popf",
    [OP_MOV_TO_SREG] = "mov-to-sreg",
    [OP_MOV_FROM_SREG] = "mov-from-sreg",
    [OP_PUSH_SREG] = "push-sreg",
    [OP_POP_SREG] = "pop-sreg",
    [OP_LES] = "les",
    [OP_LDS] = "lds",
    [OP_LSS] = "lss",
    [OP_LFS] = "lfs",
    [OP_LGS] = "lgs",
    [OP_JMP_FAR] = "jmp-far",
    [OP_CALL_FAR] = "call-far",
    [OP_RET_FAR] = "ret-far",
    [OP_IRET] = "iret",
    [OP_INT] = "int",
    [OP_INT3] = "int3",
    [OP_INTO] = "into",
    [OP_INT1] = "int1",
    [OP_SYSENTER] = "sysenter",
    [OP_SYSEXIT] = "sysexit",
    [OP_SGDT] = "sgdt",
    [OP_SIDT] = "sidt",
    [OP_SLDT] = "sldt",
    [OP_STR] = "str",
    [OP_LGDT] = "lgdt",
    [OP_LIDT] = "lidt",
    [OP_LLDT] = "lldt",
    [OP_LTR] = "ltr",
    [OP_LAR] = "lar",
    [OP_LSL] = "lsl",
    [OP_VERR] = "verr",
    [OP_VERW] = "verw",
    [OP_ARPL] = "arpl",
    [OP_SMSW] = "smsw",
    [OP_LMSW] = "lmsw",
    [OP_CLTS] = "clts",
    [OP_MOV_FROM_CR] = "mov-from-cr",
    [OP_MOV_TO_CR] = "mov-to-cr",
    [OP_MOV_FROM_DR] = "mov-from-dr",
    [OP_MOV_TO_DR] = "mov-to-dr",
    [OP_RDMSR] = "rdmsr",
    [OP_WRMSR] = "wrmsr",
    [OP_INVD] = "invd",
    [OP_WBINVD] = "wbinvd",
    [OP_INVLPG] = "invlpg",
    [OP_CPUID] = "cpuid",
    [OP_RDTSC] = "rdtsc",
    [OP_VMCALL] = "vmcall",
    [OP_UD2] = "ud2",
    [OP_FPU] = "fpu",
    [OP_CALL] = "call",
    [OP_RET] = "ret",
    [OP_MOV] = "mov",
    [OP_MOVZX] = "movzx",
    [OP_MOVSX] = "movsx",
};

const char *op_id_name(enum op_id op)
{
    return (unsigned)op < OP_COUNT && op_names[op] ? op_names[op] : "?";
}

bool insn_lock_ok(const struct insn *in)
{
    return !in->lock || ((in->row->attr & A_LOCKABLE) && in->mod != 3);
}

int insn_soft_vector(const struct insn *in)
{
    switch (in->row->op) {
    case OP_INT: return (int)(in->imm & 0xFFu);
    case OP_INT3: return EXC_BP;
    case OP_INTO: return EXC_OF;
    default: return -1;
    }
}
