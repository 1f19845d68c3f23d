/*
 * test_alu.c - the integer core against real hardware.
 *
 * Each case is one instruction (bytes, registers, EFLAGS, a 256-byte memory
 * window). It runs on the host CPU (alu_ref.c) and on a tiny simulated
 * machine (2 MiB of flat RAM, code at 0x1000 followed by HLT, every
 * exception intercepted), and the registers, the memory window, the
 * exception vector and the flags the SDM defines for that instruction and
 * operands must agree. Operands are edge values (0, 1, 0x7f.., 0x80..,
 * all ones) and seeded random values; shift counts run 0..33. BCD
 * instructions, which x86-64 lacks, are checked against hashes produced by
 * QEMU (alu_ref.c). Then string instructions with REP prefixes and DF, and
 * 16-bit addressing, are checked against values worked out from the SDM.
 * The run loop and control transfers are test_exec.c's.
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cpu/cpu.h"
#include "cpu/optable.h"
#include "alu_ref.h"
#include "test_machine.h"

#define FL_DEF (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)

/* ---- comparing one case ---- */

struct casectx {
    struct tm *tm;
    unsigned cases, fails;
    const char *what;
};

static void dump_case(const struct casectx *x, const uint8_t *code, int len,
                      const struct ref_state *in, const struct ref_state *h,
                      const struct ref_state *s, int hv, int sv, uint32_t fmask)
{
    printf("\n  %s mismatch: bytes", x->what);
    for (int i = 0; i < len; i++)
        printf(" %02x", code[i]);
    printf("\n   in : eax=%08x ecx=%08x edx=%08x ebx=%08x fl=%04x\n",
           in->r[0], in->r[1], in->r[2], in->r[3], in->flags);
    printf("   host vec=%d eax=%08x ecx=%08x edx=%08x ebx=%08x fl=%04x\n",
           hv, h->r[0], h->r[1], h->r[2], h->r[3], h->flags & fmask);
    printf("   sim  vec=%d eax=%08x ecx=%08x edx=%08x ebx=%08x fl=%04x (mask %04x)\n",
           sv, s->r[0], s->r[1], s->r[2], s->r[3], s->flags & fmask, fmask);
}

/* Run `code` on host (host_code if the host needs another encoding) and
   simulator; compare registers in regmask, memory, flags in fmask. */
static void check2(struct casectx *x, const uint8_t *code, int len,
                   const uint8_t *host_code, int hlen, const struct ref_state *in,
                   uint32_t fmask, unsigned regmask)
{
    struct ref_state h = *in, s = *in;
    int hv = alu_ref_run(host_code, hlen, &h);
    CU_ASSERT_FATAL(hv != -2);
    int sv = tm_run(x->tm, code, len, &s);
    if (hv >= 0)  /* precise fault: nothing changed */
        h = *in;
    bool bad = hv != sv || ((h.flags ^ s.flags) & fmask) ||
               memcmp(h.mem, s.mem, REF_MEM_SIZE);
    for (int r = 0; r < 8; r++)
        if (r != R_ESP && (regmask >> r & 1) && h.r[r] != s.r[r])
            bad = true;
    x->cases++;
    if (bad && x->fails++ < 8)
        dump_case(x, code, len, in, &h, &s, hv, sv, fmask);
}

static void check(struct casectx *x, const uint8_t *code, int len,
                  const struct ref_state *in, uint32_t fmask)
{
    check2(x, code, len, code, len, in, fmask, 0xff);
}

static void ctx_begin(struct casectx *x, const char *what)
{
    memset(x, 0, sizeof *x);
    x->tm = tm_new();
    x->what = what;
}

static void ctx_end(struct casectx *x)
{
    if (x->fails)
        printf("\n  %s: %u of %u cases differ\n", x->what, x->fails, x->cases);
    CU_ASSERT(x->cases > 0);
    CU_ASSERT_EQUAL(x->fails, 0);
    tm_free(x->tm);
}

/* ---- operands ---- */

static uint32_t rng_state = 0x2545f491u;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static const uint32_t edges[] = {
    0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000,
    0x7fffffff, 0x80000000u, 0xffffffffu, 0x12345678, 0xfffffffe, 0x80000001u,
};
#define NEDGE (sizeof edges / sizeof edges[0])

/* Operand pair i of n: all edge pairs first, then random ones. */
static uint32_t opval(unsigned i, int which)
{
    if (i < NEDGE * NEDGE)
        return edges[which ? i % NEDGE : i / NEDGE];
    uint32_t v = rnd();
    return (v & 3) == 0 ? v & 0xff : v;
}
#define NVALS (NEDGE * NEDGE + 200)

static void state_init(struct ref_state *st)
{
    memset(st, 0, sizeof *st);
    for (int r = 0; r < 8; r++)
        st->r[r] = rnd();
    st->r[R_EBX] = REF_MEM_BASE;
    st->flags = rnd() & FL_DEF;
    for (unsigned i = 0; i < REF_MEM_SIZE; i++)
        st->mem[i] = (uint8_t)rnd();
}

/* Emit the operand-size prefix for `size` and return the opcode for it. */
static int emit_sized(uint8_t *b, int size, uint8_t op8)
{
    int n = 0;
    if (size == 2)
        b[n++] = 0x66;
    b[n++] = size == 1 ? op8 : (uint8_t)(op8 + 1);
    return n;
}

/* ---- ALU ---- */

static void test_alu_binary(void)
{
    struct casectx x;
    ctx_begin(&x, "alu");
    for (int op = 0; op < 8; op++) {
        uint32_t fm = (op == 1 || op == 4 || op == 6) ? FL_DEF & ~FL_AF : FL_DEF;
        for (int size = 1; size <= 4; size *= 2) {
            for (unsigned i = 0; i < NVALS; i++) {
                struct ref_state st;
                state_init(&st);
                st.r[R_EAX] = opval(i, 0);
                st.r[R_ECX] = opval(i, 1);
                memcpy(st.mem, &st.r[R_ECX], 4);
                uint8_t b[16];
                int n = emit_sized(b, size, (uint8_t)(op * 8));
                b[n++] = 0xc8;                  /* op eax, ecx */
                check(&x, b, n, &st, fm);
                n = emit_sized(b, size, (uint8_t)(op * 8 + 2));
                b[n++] = 0x03;                  /* op eax, [ebx] */
                check(&x, b, n, &st, fm);
                n = emit_sized(b, size, (uint8_t)(op * 8));
                b[n++] = 0x03;                  /* op [ebx], eax */
                check(&x, b, n, &st, fm);
                n = emit_sized(b, size, 0x80);
                b[n++] = (uint8_t)(0xc0 | op << 3);  /* op eax, imm */
                memcpy(b + n, &st.r[R_ECX], 4);
                check(&x, b, n + size, &st, fm);
                if (size > 1) {                 /* 83: sign-extended imm8 */
                    b[n - 2] = 0x83;
                    check(&x, b, n + 1, &st, fm);
                }
            }
        }
    }
    ctx_end(&x);
}

static void test_alu_unary(void)
{
    static const uint8_t forms[][3] = {
        { 0xFE, 0xc0, 0 }, { 0xFE, 0xc8, 0 }, { 0xF6, 0xd0, 0 }, { 0xF6, 0xd8, 0 },
        { 0x84, 0xc8, 0 }, { 0xF6, 0xc0, 1 }, { 0xFE, 0x03, 0 }, { 0xF6, 0x1b, 0 },
    };
    struct casectx x;
    ctx_begin(&x, "unary");
    for (unsigned f = 0; f < sizeof forms / sizeof forms[0]; f++)
        for (int size = 1; size <= 4; size *= 2)
            for (unsigned i = 0; i < NVALS; i++) {
                struct ref_state st;
                state_init(&st);
                st.r[R_EAX] = opval(i, 0);
                st.r[R_ECX] = opval(i, 1);
                uint8_t b[16];
                int n = emit_sized(b, size, forms[f][0]);
                b[n++] = forms[f][1];
                if (forms[f][2]) {
                    memcpy(b + n, &st.r[R_ECX], 4);
                    n += size;
                }
                uint32_t fm = (forms[f][0] == 0x84 || forms[f][2]) ? FL_DEF & ~FL_AF : FL_DEF;
                check(&x, b, n, &st, fm);
            }
    ctx_end(&x);
}

/* INC/DEC r32 (40-4F) are REX prefixes on x86-64: the host runs FF /0 /1. */
static void test_incdec_short(void)
{
    struct casectx x;
    ctx_begin(&x, "inc/dec short");
    for (int r = 0; r < 8; r++) {
        if (r == R_ESP)
            continue;
        for (int dec = 0; dec < 2; dec++)
            for (unsigned i = 0; i < NEDGE; i++)
                for (int size = 2; size <= 4; size *= 2) {
                    struct ref_state st;
                    state_init(&st);
                    st.r[r] = edges[i];
                    uint8_t b[3], h[3];
                    int n = 0;
                    if (size == 2)
                        b[n] = h[n] = 0x66, n++;
                    b[n] = (uint8_t)(0x40 + dec * 8 + r);
                    h[n] = 0xff;
                    h[n + 1] = (uint8_t)(0xc0 | dec << 3 | r);
                    check2(&x, b, n + 1, h, n + 2, &st, FL_DEF, 0xff);
                }
    }
    ctx_end(&x);
}

/* Flags a shift/rotate defines (SDM vol. 2, SAL/SHR, RCL/ROL/...). */
static uint32_t shift_mask(int ext, int size, unsigned count)
{
    unsigned c = count & 31, bits = (unsigned)size * 8;
    if (c == 0)
        return FL_DEF;
    uint32_t m = (ext < 4) ? FL_DEF & ~FL_OF : FL_DEF & ~(FL_AF | FL_OF);
    if (c == 1)
        m |= FL_OF;
    if (ext >= 4 && c >= bits)
        m &= ~FL_CF;
    return m;
}

static void test_shifts(void)
{
    struct casectx x;
    ctx_begin(&x, "shift");
    for (int ext = 0; ext < 8; ext++)
        for (int size = 1; size <= 4; size *= 2)
            for (unsigned count = 0; count < 34; count++)
                for (unsigned i = 0; i < NEDGE + 12; i++) {
                    struct ref_state st;
                    state_init(&st);
                    st.r[R_EAX] = i < NEDGE ? edges[i] : rnd();
                    st.r[R_ECX] = count | (rnd() & ~0xffu);
                    uint8_t b[16];
                    uint32_t fm = shift_mask(ext, size, count);
                    int n = emit_sized(b, size, 0xD2);         /* by CL */
                    b[n++] = (uint8_t)(0xc0 | ext << 3);
                    check(&x, b, n, &st, fm);
                    n = emit_sized(b, size, 0xC0);             /* by imm8 */
                    b[n++] = (uint8_t)(0xc0 | ext << 3);
                    b[n++] = (uint8_t)count;
                    check(&x, b, n, &st, fm);
                    if (count == 1) {                          /* by 1 */
                        n = emit_sized(b, size, 0xD0);
                        b[n++] = (uint8_t)(0xc0 | ext << 3);
                        check(&x, b, n, &st, fm);
                    }
                }
    ctx_end(&x);
}

static void test_shld_shrd(void)
{
    struct casectx x;
    ctx_begin(&x, "shld/shrd");
    for (int op = 0; op < 2; op++)
        for (int size = 2; size <= 4; size *= 2)
            for (unsigned count = 0; count < 34; count++)
                for (unsigned i = 0; i < NEDGE + 12; i++) {
                    struct ref_state st;
                    state_init(&st);
                    st.r[R_EAX] = i < NEDGE ? edges[i] : rnd();
                    st.r[R_EDX] = rnd();
                    st.r[R_ECX] = count;
                    unsigned c = count & 31;
                    uint32_t fm = c == 0 ? FL_DEF : FL_DEF & ~(FL_AF | FL_OF);
                    if (c == 1)
                        fm |= FL_OF;
                    unsigned regs = 0xff;
                    if (c > (unsigned)size * 8) {  /* undefined result */
                        fm = 0;
                        regs &= ~1u;
                    }
                    uint8_t b[8];
                    int n = 0;
                    if (size == 2)
                        b[n++] = 0x66;
                    b[n++] = 0x0f;
                    b[n++] = (uint8_t)(op ? 0xAD : 0xA5);     /* op eax, edx, cl */
                    b[n++] = 0xd0;
                    check2(&x, b, n, b, n, &st, fm, regs);
                    b[n - 2] = (uint8_t)(op ? 0xAC : 0xA4);   /* op eax, edx, imm8 */
                    b[n++] = (uint8_t)count;
                    check2(&x, b, n, b, n, &st, fm, regs);
                }
    ctx_end(&x);
}

static void test_muldiv(void)
{
    struct casectx x;
    ctx_begin(&x, "mul/div");
    for (int ext = 4; ext < 8; ext++)
        for (int size = 1; size <= 4; size *= 2)
            for (unsigned i = 0; i < NVALS; i++) {
                struct ref_state st;
                state_init(&st);
                st.r[R_EAX] = opval(i, 0);
                st.r[R_ECX] = opval(i, 1);
                if (i & 1)
                    st.r[R_EDX] = (i & 2) ? 0 : 0xffffffffu;
                uint8_t b[4];
                int n = emit_sized(b, size, 0xF6);
                b[n++] = (uint8_t)(0xc1 | ext << 3);
                check(&x, b, n, &st, ext < 6 ? FL_CF | FL_OF : 0);
            }
    for (int size = 2; size <= 4; size *= 2)          /* IMUL r, r/m [, imm] */
        for (unsigned i = 0; i < NVALS; i++) {
            struct ref_state st;
            state_init(&st);
            st.r[R_EAX] = opval(i, 0);
            st.r[R_ECX] = opval(i, 1);
            uint8_t b[12];
            int n = 0;
            if (size == 2)
                b[n++] = 0x66;
            b[n] = 0x0f; b[n + 1] = 0xaf; b[n + 2] = 0xc1;
            check(&x, b, n + 3, &st, FL_CF | FL_OF);
            b[n] = 0x69; b[n + 1] = 0xc1;
            memcpy(b + n + 2, &st.r[R_EDX], 4);
            check(&x, b, n + 2 + size, &st, FL_CF | FL_OF);
            b[n] = 0x6b;
            check(&x, b, n + 3, &st, FL_CF | FL_OF);
        }
    ctx_end(&x);
}

static void test_bits(void)
{
    struct casectx x;
    ctx_begin(&x, "bt/bsf");
    for (int op = 0; op < 4; op++)
        for (int size = 2; size <= 4; size *= 2)
            for (unsigned i = 0; i < 300; i++) {
                struct ref_state st;
                state_init(&st);
                st.r[R_EAX] = rnd();
                st.r[R_ECX] = i < 64 ? i : rnd();
                uint8_t b[8];
                int n = 0;
                if (size == 2)
                    b[n++] = 0x66;
                b[n] = 0x0f; b[n + 1] = (uint8_t)(0xA3 + op * 8); b[n + 2] = 0xc8;
                check(&x, b, n + 3, &st, FL_CF);              /* bt eax, ecx */
                st.r[R_EBX] = REF_MEM_BASE + 128;
                st.r[R_ECX] = (uint32_t)((int)(rnd() % 1900) - 950);
                if (size == 2)
                    st.r[R_ECX] = (uint32_t)(int16_t)((int)(rnd() % 1900) - 950);
                b[n + 2] = 0x0b;
                check(&x, b, n + 3, &st, FL_CF);              /* bt [ebx], ecx */
                b[n + 1] = 0xba; b[n + 2] = (uint8_t)(0xe0 | op << 3);
                b[n + 3] = (uint8_t)rnd();
                check(&x, b, n + 4, &st, FL_CF);              /* bt eax, imm8 */
                b[n + 2] = (uint8_t)(0x23 | op << 3);
                check(&x, b, n + 4, &st, FL_CF);              /* bt [ebx], imm8 */
            }
    for (int op = 0; op < 2; op++)
        for (int size = 2; size <= 4; size *= 2)
            for (unsigned i = 0; i < 200; i++) {
                struct ref_state st;
                state_init(&st);
                uint32_t v = rnd();
                st.r[R_ECX] = i < 33 ? (i == 32 ? 0 : 1u << i) : v >> (v & 31);
                uint8_t b[8];
                int n = 0;
                if (size == 2)
                    b[n++] = 0x66;
                b[n] = 0x0f; b[n + 1] = (uint8_t)(0xBC + op); b[n + 2] = 0xc1;
                check(&x, b, n + 3, &st, FL_ZF);
            }
    ctx_end(&x);
}

/* DAA..AAD: the simulator's results hashed as QEMU's were (alu_ref.c). */
static void test_bcd(void)
{
    struct tm *t = tm_new();
    for (unsigned g = 0; g < alu_ref_bcd_golden_len; g++) {
        const struct bcd_golden *b = &alu_ref_bcd_golden[g];
        uint32_t h = 2166136261u, mask = alu_ref_bcd_mask(b->op);
        for (uint32_t al = 0; al < 256; al++) {
            struct ref_state st;
            memset(&st, 0, sizeof st);
            st.r[R_EAX] = 0xabcd0000u | (uint32_t)b->ah << 8 | al;
            st.flags = b->flags;
            uint8_t code[2] = { b->op, b->imm };
            int v = tm_run(t, code, (b->op >= 0xD4) ? 2 : 1, &st);
            CU_ASSERT_EQUAL(v, -1);
            CU_ASSERT_EQUAL(st.r[R_EAX] >> 16, 0xabcd);
            h = alu_ref_fnv1a(h, (st.r[R_EAX] & 0xffffu) | (st.flags & mask) << 16);
        }
        if (h != alu_ref_bcd_hash[g])
            printf("\n  bcd group %u (op %02x ah %02x fl %02x imm %u) differs from QEMU\n",
                   g, b->op, b->ah, b->flags, b->imm);
        CU_ASSERT_EQUAL(h, alu_ref_bcd_hash[g]);
    }
    struct ref_state st;                      /* AAM 0: #DE */
    memset(&st, 0, sizeof st);
    uint8_t aam0[2] = { 0xd4, 0 };
    CU_ASSERT_EQUAL(tm_run(t, aam0, 2, &st), EXC_DE);
    tm_free(t);
}

/* Jcc/SETcc/CMOVcc/LOOPcc over random flags: "jcc +1; xchg eax, ecx". */
static void test_conditions(void)
{
    struct casectx x;
    ctx_begin(&x, "conditions");
    for (int cc = 0; cc < 16; cc++)
        for (unsigned i = 0; i < 64; i++) {
            struct ref_state st;
            state_init(&st);
            st.flags = (i & 1 ? FL_CF : 0) | (i & 2 ? FL_ZF : 0) | (i & 4 ? FL_SF : 0) |
                       (i & 8 ? FL_OF : 0) | (i & 16 ? FL_PF : 0) | (i & 32 ? FL_AF : 0);
            uint8_t j8[3] = { (uint8_t)(0x70 + cc), 1, 0x91 };
            uint8_t j32[7] = { 0x0f, (uint8_t)(0x80 + cc), 1, 0, 0, 0, 0x91 };
            uint8_t set[3] = { 0x0f, (uint8_t)(0x90 + cc), 0xc0 };
            uint8_t cmov[3] = { 0x0f, (uint8_t)(0x40 + cc), 0xc1 };
            uint8_t cmovm[3] = { 0x0f, (uint8_t)(0x40 + cc), 0x03 };
            check(&x, j8, 3, &st, FL_DEF);
            check(&x, j32, 7, &st, FL_DEF);
            check(&x, set, 3, &st, FL_DEF);
            check(&x, cmov, 3, &st, FL_DEF);
            check(&x, cmovm, 3, &st, FL_DEF);
        }
    for (int op = 0; op < 4; op++)              /* LOOPNE LOOPE LOOP JECXZ */
        for (unsigned i = 0; i < 16; i++) {
            struct ref_state st;
            state_init(&st);
            st.r[R_ECX] = i & 3;
            st.flags = (i & 4) ? FL_ZF : 0;
            uint8_t b[3] = { (uint8_t)(0xe0 + op), 1, 0x92 };   /* xchg eax, edx */
            check(&x, b, 3, &st, FL_DEF);
        }
    ctx_end(&x);
}

static void test_data_moves(void)
{
    static const uint8_t forms[][5] = {
        { 3, 0x0f, 0xc1, 0xc8 }, { 3, 0x0f, 0xb1, 0xc8 }, { 3, 0x0f, 0xb1, 0x0b },
        { 2, 0x87, 0xc8 }, { 1, 0x91 }, { 2, 0x0f, 0xc8 }, { 2, 0x0f, 0xcb },
        { 3, 0x0f, 0xb6, 0xc1 }, { 3, 0x0f, 0xb7, 0xc1 }, { 3, 0x0f, 0xbe, 0xc5 },
        { 3, 0x0f, 0xbf, 0xc1 }, { 1, 0x98 }, { 1, 0x99 }, { 1, 0x9f }, { 1, 0x9e },
        { 1, 0xf5 }, { 1, 0xf8 }, { 1, 0xf9 }, { 1, 0xd7 }, { 3, 0x0f, 0xc7, 0x0b },
        { 3, 0x0f, 0xc0, 0xe1 }, { 3, 0x0f, 0xb0, 0xcc }, { 2, 0x86, 0x23 },
    };
    struct casectx x;
    ctx_begin(&x, "data");
    for (unsigned f = 0; f < sizeof forms / sizeof forms[0]; f++)
        for (int p66 = 0; p66 < 2; p66++)
            for (unsigned i = 0; i < 200; i++) {
                struct ref_state st;
                state_init(&st);
                st.r[R_EAX] = opval(i, 0);
                st.r[R_ECX] = opval(i, 1);
                if (i & 1)                      /* make CMPXCHG(8B) succeed */
                    memcpy(&st.r[R_EAX], st.mem, 4), memcpy(&st.r[R_EDX], st.mem + 4, 4);
                if (forms[f][1] == 0xd7 || forms[f][1] == 0x98 || forms[f][1] == 0x99)
                    st.r[R_EAX] = rnd();
                uint8_t b[6];
                int n = 0;
                if (p66 && !(forms[f][1] == 0x0f && (forms[f][2] & 0xf8) == 0xc8))
                    b[n++] = 0x66;
                memcpy(b + n, forms[f] + 1, forms[f][0]);
                check(&x, b, n + forms[f][0], &st, FL_DEF);
            }
    ctx_end(&x);
}

/* LEA with random 32-bit ModRM/SIB/displacements (mod 0 r/m 5 is RIP-
   relative on x86-64, so that one form is skipped on the host). */
static void test_lea32(void)
{
    struct casectx x;
    ctx_begin(&x, "lea");
    for (unsigned i = 0; i < 20000; i++) {
        struct ref_state st;
        state_init(&st);
        uint8_t b[12] = { 0x8d };
        uint8_t modrm = (uint8_t)(rnd() % 0xc0);
        if ((modrm & 0xc7) == 0x05 || ((modrm >> 3) & 7) == R_ESP)
            continue;                   /* RIP-relative; host stack */
        int n = 0;
        if (i & 1)
            b[n++] = 0x66;
        b[n++] = 0x8d;
        b[n++] = modrm;
        uint8_t sib = (uint8_t)rnd(), mod = modrm >> 6;
        if ((sib & 7) == R_ESP)         /* ESP differs between host and sim */
            sib ^= 1;
        int extra = 0;                  /* SIB and displacement bytes */
        if ((modrm & 7) == 4)
            b[n + extra++] = sib;
        if (mod == 1)
            extra += 1;
        else if (mod == 2 || ((modrm & 7) == 4 && mod == 0 && (sib & 7) == 5))
            extra += 4;
        for (int k = (modrm & 7) == 4; k < extra; k++)
            b[n + k] = (uint8_t)rnd();
        check(&x, b, n + extra, &st, FL_DEF);
    }
    ctx_end(&x);
}

/* ---- string instructions ---- */

static void test_strings(void)
{
    static const uint8_t ops[] = { 0xa4, 0xa6, 0xaa, 0xac, 0xae };
    static const uint8_t reps[] = { 0, 0xf3, 0xf2 };
    struct casectx x;
    ctx_begin(&x, "string");
    for (unsigned o = 0; o < sizeof ops; o++)
        for (unsigned r = 0; r < 3; r++)
            for (int size = 1; size <= 4; size *= 2)
                for (unsigned i = 0; i < 120; i++) {
                    struct ref_state st;
                    state_init(&st);
                    for (unsigned k = 0; k < REF_MEM_SIZE; k++)
                        st.mem[k] = (uint8_t)(rnd() % 3);
                    bool df = i & 1;
                    st.flags = (st.flags & ~FL_DF) | (df ? FL_DF : 0);
                    st.r[R_ECX] = i / 2 % 17;
                    st.r[R_ESI] = REF_MEM_BASE + 100;
                    st.r[R_EDI] = REF_MEM_BASE + 150;
                    st.r[R_EAX] = rnd() % 3;
                    uint8_t b[4];
                    int n = 0;
                    if (reps[r])
                        b[n++] = reps[r];
                    n += emit_sized(b + n, size, ops[o]);
                    check(&x, b, n, &st, FL_DEF | FL_DF);
                }
    ctx_end(&x);
}

/* A long REP MOVSB runs in restartable chunks and finishes correctly. */
static void test_rep_long(void)
{
    struct tm *t = tm_new();
    struct cpu *c = &t->cpu;
    for (unsigned i = 0; i < 10000; i++)
        t->ram[0x20000 + i] = (uint8_t)(i * 7);
    uint8_t code[] = { 0xf3, 0xa4, 0xf4 };      /* rep movsb; hlt */
    memcpy(t->ram + TM_CODE, code, sizeof code);
    c->s.r[R_ESI] = 0x20000;
    c->s.r[R_EDI] = 0x40000;
    c->s.r[R_ECX] = 10000;
    CU_ASSERT_EQUAL(cpu_run(c, c->cycles + 100000), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(c->s.r[R_ECX], 0);
    CU_ASSERT_EQUAL(c->s.r[R_EDI], 0x40000 + 10000);
    CU_ASSERT(memcmp(t->ram + 0x20000, t->ram + 0x40000, 10000) == 0);
    CU_ASSERT(c->cycles >= 10000);
    tm_free(t);
}

/* ---- 16-bit addressing (SDM vol. 2, table 2-1), values by hand ---- */

static void test_addr16(void)
{
    static const struct { uint8_t modrm; int b1, b2; } forms[8] = {
        { 0, R_EBX, R_ESI }, { 1, R_EBX, R_EDI }, { 2, R_EBP, R_ESI }, { 3, R_EBP, R_EDI },
        { 4, R_ESI, -1 }, { 5, R_EDI, -1 }, { 6, R_EBP, -1 }, { 7, R_EBX, -1 },
    };
    struct tm *t = tm_new();
    struct cpu *c = &t->cpu;
    for (int f = 0; f < 8; f++)
        for (int mod = 1; mod < 3; mod++) {
            uint8_t code[8] = { 0x67, 0x8d, (uint8_t)(mod << 6 | f << 3 | forms[f].modrm),
                                0xf4, 0x92 };       /* lea r, [..+disp] */
            struct ref_state st;
            state_init(&st);
            uint32_t disp = mod == 1 ? 0xfffffff4u : 0x92f4;  /* disp8 is signed */
            uint32_t ea = st.r[forms[f].b1] + (forms[f].b2 >= 0 ? st.r[forms[f].b2] : 0) + disp;
            CU_ASSERT_EQUAL(tm_run(t, code, mod == 1 ? 4 : 5, &st), -1);
            CU_ASSERT_EQUAL(st.r[f], ea & 0xffff);
        }
    /* [bp+di+8] defaults to SS, [bx+si] to DS: give SS another base */
    uint8_t code[] = { 0x67, 0x8b, 0x43, 0x08, 0x67, 0x8b, 0x08, 0xf4 };
    memcpy(t->ram + TM_CODE, code, sizeof code);
    cpu_notify_phys_write(c, TM_CODE, sizeof code);
    c->s.seg[S_SS].base = 0x10000;
    c->s.r[R_EBP] = 0x100; c->s.r[R_EDI] = 0xfff0; c->s.r[R_EBX] = 0x200; c->s.r[R_ESI] = 0x10;
    memcpy(t->ram + 0x10000 + ((0x100 + 0xfff0 + 8) & 0xffff), "\x11\x22\x33\x44", 4);
    memcpy(t->ram + 0x210, "\x55\x66\x77\x88", 4);
    c->s.eip = TM_CODE;
    c->s.halted = false;
    CU_ASSERT_EQUAL(cpu_run(c, c->cycles + 100), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(c->s.r[R_EAX], 0x44332211u);
    CU_ASSERT_EQUAL(c->s.r[R_ECX], 0x88776655u);
    tm_free(t);
}

/* Division faults leave every register as it was (#DE is a fault). */
static void test_div_faults(void)
{
    struct tm *t = tm_new();
    static const uint8_t forms[][3] = {
        { 2, 0xf7, 0xf1 }, { 2, 0xf7, 0xf9 }, { 2, 0xf6, 0xf1 }, { 2, 0xf6, 0xf9 },
    };
    for (unsigned f = 0; f < 4; f++) {
        struct ref_state st;
        memset(&st, 0, sizeof st);
        st.r[R_EAX] = 0x80000000u;
        st.r[R_EDX] = 0xffffffffu;
        st.r[R_ECX] = f & 1 ? 0xffffffffu : 0;
        if (f >= 2)
            st.r[R_EAX] = 0x8000, st.r[R_ECX] = f & 1 ? 0xff : 0;
        struct ref_state before = st;
        CU_ASSERT_EQUAL(tm_run(t, forms[f] + 1, 2, &st), EXC_DE);
        CU_ASSERT_EQUAL(st.r[R_EAX], before.r[R_EAX]);
        CU_ASSERT_EQUAL(st.r[R_EDX], before.r[R_EDX]);
        CU_ASSERT_EQUAL(t->cpu.s.eip, TM_CODE);
    }
    tm_free(t);
}

void suite_alu_register(void)
{
    CU_pSuite s = CU_add_suite("alu", NULL, NULL);
    CU_add_test(s, "add/or/adc/sbb/and/sub/xor/cmp vs host", test_alu_binary);
    CU_add_test(s, "inc/dec/not/neg/test vs host", test_alu_unary);
    CU_add_test(s, "inc/dec 40-4F vs host FF /0 /1", test_incdec_short);
    CU_add_test(s, "shifts and rotates, counts 0..33, vs host", test_shifts);
    CU_add_test(s, "shld/shrd vs host", test_shld_shrd);
    CU_add_test(s, "mul/imul/div/idiv vs host", test_muldiv);
    CU_add_test(s, "bt/bts/btr/btc/bsf/bsr vs host", test_bits);
    CU_add_test(s, "daa/das/aaa/aas/aam/aad vs QEMU", test_bcd);
    CU_add_test(s, "jcc/setcc/cmovcc/loop/jecxz vs host", test_conditions);
    CU_add_test(s, "xadd/cmpxchg/xchg/bswap/movzx/cbw/lahf/xlat vs host", test_data_moves);
    CU_add_test(s, "lea 32-bit modrm/sib vs host", test_lea32);
    CU_add_test(s, "movs/cmps/stos/lods/scas with rep and DF vs host", test_strings);
    CU_add_test(s, "long rep movsb restarts in chunks", test_rep_long);
    CU_add_test(s, "16-bit addressing", test_addr16);
    CU_add_test(s, "#DE leaves registers unchanged", test_div_faults);
}
