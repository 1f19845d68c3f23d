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
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cpu/cpu.h"
#include "cpu/optable.h"
#include "alu_ref.h"

#define TM_RAM (2u << 20)
#define TM_CODE 0x1000u
#define TM_STACK 0x80000u
#define FL_DEF (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)

/* ---- the test machine ---- */

struct tm {
    struct cpu cpu;
    uint8_t *ram;
};

static struct tm *tm_new(void)
{
    struct tm *t = calloc(1, sizeof *t);
    t->ram = calloc(1, TM_RAM);
    struct cpu_bus bus = { .ctx = t, .ram = t->ram, .ram_size = TM_RAM };
    CU_ASSERT_FATAL(cpu_init(&t->cpu, &bus) == 0);
    cpu_reset_multiboot(&t->cpu, TM_CODE, 0, 0);
    t->cpu.intercept = 0xffffffffu;
    return t;
}

static void tm_free(struct tm *t)
{
    cpu_free(&t->cpu);
    free(t->ram);
    free(t);
}

/* Run code (then HLT) from `st`; returns -1 or the intercepted vector,
   -3 for any other stop. The state is written back into `st`. */
static int tm_run(struct tm *t, const uint8_t *code, int len, struct ref_state *st)
{
    struct cpu *c = &t->cpu;
    memcpy(t->ram + TM_CODE, code, (size_t)len);
    t->ram[TM_CODE + len] = 0xf4;
    cpu_notify_phys_write(c, TM_CODE, (uint32_t)len + 1);
    memcpy(t->ram + REF_MEM_BASE, st->mem, REF_MEM_SIZE);
    memcpy(c->s.r, st->r, sizeof st->r);
    c->s.r[R_ESP] = TM_STACK;
    c->s.eip = TM_CODE;
    c->s.halted = false;
    cpu_set_eflags(c, (st->flags & 0x0cd5u) | FL_FIXED1);
    enum cpu_stop why = cpu_run(c, c->cycles + 10000);
    memcpy(st->r, c->s.r, sizeof st->r);
    st->flags = cpu_get_eflags(c) & 0x0cd5u;
    memcpy(st->mem, t->ram + REF_MEM_BASE, REF_MEM_SIZE);
    if (why == CPU_STOP_HLT)
        return -1;
    return why == CPU_STOP_INTERCEPT ? c->stop_vector : -3;
}

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

/* ---- stack, near control transfers, and the run loop ---- */

/* Load code at TM_CODE, set EIP and ESP, run until a stop. */
static enum cpu_stop tm_exec(struct tm *t, const void *code, unsigned len)
{
    struct cpu *c = &t->cpu;
    memcpy(t->ram + TM_CODE, code, len);
    cpu_notify_phys_write(c, TM_CODE, len);
    c->s.eip = TM_CODE;
    c->s.halted = false;
    return cpu_run(c, c->cycles + 100000);
}

static uint32_t rd32(struct tm *t, uint32_t a)
{
    uint32_t v;
    memcpy(&v, t->ram + a, 4);
    return v;
}

/* Expected values below follow the SDM pseudo-code of each instruction. */
static void test_stack(void)
{
    struct tm *t = tm_new();
    struct cpu *c = &t->cpu;
    uint32_t *r = c->s.r;
    /* push eax; push imm32; push -2; push esp; pop esi; pop ecx; pop edx; pop ebx */
    static const uint8_t p1[] = { 0x50, 0x68, 0x78, 0x56, 0x34, 0x12, 0x6a, 0xfe, 0x54,
                                  0x5e, 0x59, 0x5a, 0x5b, 0xf4 };
    r[R_EAX] = 0xcafef00d;
    r[R_ESP] = 0x8000;
    CU_ASSERT_EQUAL(tm_exec(t, p1, sizeof p1), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(r[R_ESI], 0x8000 - 12);       /* PUSH ESP: value before */
    CU_ASSERT_EQUAL(r[R_ECX], 0xfffffffeu);
    CU_ASSERT_EQUAL(r[R_EDX], 0x12345678u);
    CU_ASSERT_EQUAL(r[R_EBX], 0xcafef00du);
    CU_ASSERT_EQUAL(r[R_ESP], 0x8000);
    /* pop dword [esp]: the address uses ESP after the increment */
    static const uint8_t p2[] = { 0x8f, 0x04, 0x24, 0xf4 };
    memcpy(t->ram + 0x7ff8, "\x11\x11\x11\x11\x22\x22\x22\x22", 8);
    r[R_ESP] = 0x7ff8;
    CU_ASSERT_EQUAL(tm_exec(t, p2, sizeof p2), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(r[R_ESP], 0x7ffc);
    CU_ASSERT_EQUAL(rd32(t, 0x7ffc), 0x11111111u);
    /* pushad: EAX at the highest address, the original ESP in its slot */
    static const uint8_t p3[] = { 0x60, 0xf4 };
    for (int i = 0; i < 8; i++)
        r[i] = 0x100 + (uint32_t)i;
    r[R_ESP] = 0x8000;
    CU_ASSERT_EQUAL(tm_exec(t, p3, sizeof p3), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(r[R_ESP], 0x8000 - 32);
    CU_ASSERT_EQUAL(rd32(t, 0x8000 - 4), 0x100);
    CU_ASSERT_EQUAL(rd32(t, 0x8000 - 20), 0x8000);
    CU_ASSERT_EQUAL(rd32(t, 0x8000 - 32), 0x107);
    /* popad skips ESP */
    static const uint8_t p4[] = { 0x61, 0xf4 };
    memset(r, 0, 8 * 4);
    r[R_ESP] = 0x8000 - 32;
    memcpy(t->ram + 0x8000 - 20, "\x99\x99\x99\x99", 4);
    CU_ASSERT_EQUAL(tm_exec(t, p4, sizeof p4), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(r[R_EAX], 0x100);
    CU_ASSERT_EQUAL(r[R_EDI], 0x107);
    CU_ASSERT_EQUAL(r[R_ESP], 0x8000);
    /* enter 8, 2 then leave */
    static const uint8_t p5[] = { 0xc8, 0x08, 0x00, 0x02, 0xf4 };
    r[R_ESP] = 0x8000;
    r[R_EBP] = 0x9000;
    memcpy(t->ram + 0x9000 - 4, "\x44\x33\x22\x11", 4);
    CU_ASSERT_EQUAL(tm_exec(t, p5, sizeof p5), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(r[R_EBP], 0x8000 - 4);               /* frame */
    CU_ASSERT_EQUAL(rd32(t, 0x8000 - 4), 0x9000);        /* old EBP */
    CU_ASSERT_EQUAL(rd32(t, 0x8000 - 8), 0x11223344u);   /* copied [EBP-4] */
    CU_ASSERT_EQUAL(rd32(t, 0x8000 - 12), 0x8000 - 4);   /* frame pointer */
    CU_ASSERT_EQUAL(r[R_ESP], 0x8000 - 12 - 8);
    static const uint8_t p6[] = { 0xc9, 0xf4 };
    CU_ASSERT_EQUAL(tm_exec(t, p6, sizeof p6), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(r[R_EBP], 0x9000);
    CU_ASSERT_EQUAL(r[R_ESP], 0x8000);
    tm_free(t);
}

static void test_calls(void)
{
    struct tm *t = tm_new();
    struct cpu *c = &t->cpu;
    /* 1000: call 100a; 1005: hlt; 100a: ret 4 */
    static const uint8_t p1[] = { 0xe8, 0x05, 0, 0, 0, 0xf4, 0x90, 0x90, 0x90, 0x90,
                                  0xc2, 0x04, 0x00 };
    c->s.r[R_ESP] = 0x8000;
    CU_ASSERT_EQUAL(tm_exec(t, p1, sizeof p1), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(c->s.eip, 0x1006);
    CU_ASSERT_EQUAL(c->s.r[R_ESP], 0x8004);
    CU_ASSERT_EQUAL(rd32(t, 0x7ffc), 0x1005);
    /* call [ebx] and jmp ecx */
    static const uint8_t p2[] = { 0xff, 0x13, 0xf4, 0xf4, 0xf4, 0xf4, 0xff, 0xe1 };
    memcpy(t->ram + 0x7000, "\x06\x10\x00\x00", 4);
    c->s.r[R_EBX] = 0x7000;
    c->s.r[R_ECX] = 0x1004;
    c->s.r[R_ESP] = 0x8000;
    CU_ASSERT_EQUAL(tm_exec(t, p2, sizeof p2), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(c->s.eip, 0x1005);
    CU_ASSERT_EQUAL(rd32(t, 0x7ffc), 0x1002);
    /* jmp beyond the CS limit: #GP(0), EIP stays at the jmp */
    c->s.seg[S_CS].limit = 0x1fff;
    static const uint8_t p3[] = { 0xe9, 0x00, 0x10, 0x00, 0x00 };
    CU_ASSERT_EQUAL(tm_exec(t, p3, sizeof p3), CPU_STOP_INTERCEPT);
    CU_ASSERT_EQUAL(c->stop_vector, EXC_GP);
    CU_ASSERT_EQUAL(c->s.eip, 0x1000);
    c->s.seg[S_CS].limit = 0xffffffffu;
    /* bound: index outside [lo, hi] -> #BR */
    static const uint8_t p4[] = { 0x62, 0x03, 0xf4 };
    memcpy(t->ram + 0x7000, "\x0a\x00\x00\x00\x14\x00\x00\x00", 8);
    c->s.r[R_EAX] = 20;
    CU_ASSERT_EQUAL(tm_exec(t, p4, sizeof p4), CPU_STOP_HLT);
    c->s.r[R_EAX] = 21;
    CU_ASSERT_EQUAL(tm_exec(t, p4, sizeof p4), CPU_STOP_INTERCEPT);
    CU_ASSERT_EQUAL(c->stop_vector, EXC_BR);
    tm_free(t);
}

/* Self-modifying code: the second pass must see the rewritten byte. */
static void test_smc(void)
{
    struct tm *t = tm_new();
    struct cpu *c = &t->cpu;
    /* L: mov [T], bl; T: nop; mov bl, 0x40; dec ecx; jnz L; hlt */
    static const uint8_t p[] = { 0x88, 0x1d, 0x06, 0x10, 0, 0, 0x90, 0xb3, 0x40, 0x49,
                                 0x75, 0xf4, 0xf4 };
    c->s.r[R_EAX] = 0;
    c->s.r[R_EBX] = 0x90;
    c->s.r[R_ECX] = 2;
    CU_ASSERT_EQUAL(tm_exec(t, p, sizeof p), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(c->s.r[R_EAX], 1);               /* INC EAX ran once */
    /* an instruction crossing a page boundary */
    static const uint8_t mov[] = { 0xb8, 0x78, 0x56, 0x34, 0x12, 0xf4 };
    memcpy(t->ram + 0x1ffd, mov, sizeof mov);
    c->s.eip = 0x1ffd;
    c->s.halted = false;
    CU_ASSERT_EQUAL(cpu_run(c, c->cycles + 10), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(c->s.r[R_EAX], 0x12345678u);
    t->ram[0x2001] = 0x55;                            /* behind the CPU's back */
    c->s.eip = 0x1ffd;
    c->s.halted = false;
    CU_ASSERT_EQUAL(cpu_run(c, c->cycles + 10), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(c->s.r[R_EAX], 0x55345678u);
    tm_free(t);
}

static int io_stop_ctx;
static void io_out_stop(void *ctx, uint16_t port, int size, uint32_t val)
{
    struct tm *t = ctx;
    io_stop_ctx = (int)val;
    t->cpu.stop_now = true;
}

static void test_run_controls(void)
{
    struct tm *t = tm_new();
    struct cpu *c = &t->cpu;
    /* gate: a jump into [gate_lo, gate_hi) stops before the fetch */
    static const uint8_t jmp[] = { 0xe9, 0xff, 0x0f, 0, 0 };   /* jmp 0x2004 */
    c->gate_lo = 0x2000;
    c->gate_hi = 0x2010;
    CU_ASSERT_EQUAL(tm_exec(t, jmp, sizeof jmp), CPU_STOP_GATE);
    CU_ASSERT_EQUAL(c->stop_addr, 0x2004);
    CU_ASSERT_EQUAL(c->s.eip, 0x2004);
    c->gate_lo = c->gate_hi = 0;
    /* single step */
    static const uint8_t nops[] = { 0x90, 0x90, 0xf4 };
    c->single_step = true;
    uint64_t n = c->insns;
    CU_ASSERT_EQUAL(tm_exec(t, nops, sizeof nops), CPU_STOP_STEP);
    CU_ASSERT_EQUAL(c->insns, n + 1);
    CU_ASSERT_EQUAL(c->s.eip, 0x1001);
    c->single_step = false;
    /* stop_now from a device callback: return right after the OUT */
    static const uint8_t out[] = { 0xb0, 0x2a, 0xe6, 0xf4, 0x90, 0xf4 };
    c->bus.io_out = io_out_stop;
    CU_ASSERT_EQUAL(tm_exec(t, out, sizeof out), CPU_STOP_BUDGET);
    CU_ASSERT_EQUAL(c->s.eip, 0x1004);
    CU_ASSERT_EQUAL(io_stop_ctx, 0x2a);
    CU_ASSERT_FALSE(c->stop_now);
    /* the budget: a tight loop stops at the cycle limit */
    static const uint8_t loop[] = { 0xeb, 0xfe };
    c->class_cost[C_BRANCH] = 3;
    uint64_t start = c->cycles;
    memcpy(t->ram + TM_CODE, loop, sizeof loop);
    cpu_notify_phys_write(c, TM_CODE, sizeof loop);
    c->s.eip = TM_CODE;
    CU_ASSERT_EQUAL(cpu_run(c, start + 30), CPU_STOP_BUDGET);
    CU_ASSERT_EQUAL(c->cycles, start + 30);
    tm_free(t);
}

/* Faults the pipeline raises from the table's attributes. */
static int expect_vec(struct tm *t, const void *code, unsigned len)
{
    enum cpu_stop s = tm_exec(t, code, len);
    return s == CPU_STOP_INTERCEPT ? t->cpu.stop_vector : s == CPU_STOP_HLT ? -1 : -3;
}

static void test_attr_faults(void)
{
    struct tm *t = tm_new();
    struct cpu *c = &t->cpu;
    static const uint8_t x87[] = { 0xd8, 0xc1, 0xf4 }, sse[] = { 0x0f, 0x58, 0xc1, 0xf4 };
    static const uint8_t wait[] = { 0x9b, 0xf4 }, ud2[] = { 0x0f, 0x0b };
    static const uint8_t inv[] = { 0x0f, 0x04 }, lea_r[] = { 0x8d, 0xc0 };
    static const uint8_t lock_reg[] = { 0xf0, 0x01, 0xc0, 0xf4 };
    static const uint8_t lock_mem[] = { 0xf0, 0x01, 0x03, 0xf4 };
    static const uint8_t lock_nop[] = { 0xf0, 0x90, 0xf4 };
    c->s.r[R_EBX] = 0x7000;
    CU_ASSERT_EQUAL(expect_vec(t, x87, sizeof x87), EXC_UD);
    CU_ASSERT_EQUAL(expect_vec(t, sse, sizeof sse), EXC_UD);
    CU_ASSERT_EQUAL(expect_vec(t, wait, sizeof wait), -1);
    c->s.cr0 |= CR0_TS;
    CU_ASSERT_EQUAL(expect_vec(t, x87, sizeof x87), EXC_NM);
    CU_ASSERT_EQUAL(expect_vec(t, sse, sizeof sse), EXC_NM);
    CU_ASSERT_EQUAL(expect_vec(t, wait, sizeof wait), -1);
    c->s.cr0 |= CR0_MP;
    CU_ASSERT_EQUAL(expect_vec(t, wait, sizeof wait), EXC_NM);
    c->s.cr0 = (c->s.cr0 & ~(CR0_TS | CR0_MP)) | CR0_EM;
    CU_ASSERT_EQUAL(expect_vec(t, x87, sizeof x87), EXC_NM);
    CU_ASSERT_EQUAL(expect_vec(t, sse, sizeof sse), EXC_UD);
    c->s.cr0 &= ~CR0_EM;
    CU_ASSERT_EQUAL(expect_vec(t, ud2, sizeof ud2), EXC_UD);
    CU_ASSERT_EQUAL(expect_vec(t, inv, sizeof inv), EXC_UD);
    CU_ASSERT_EQUAL(expect_vec(t, lea_r, sizeof lea_r), EXC_UD);
    CU_ASSERT_EQUAL(expect_vec(t, lock_reg, sizeof lock_reg), EXC_UD);
    CU_ASSERT_EQUAL(expect_vec(t, lock_mem, sizeof lock_mem), -1);
    CU_ASSERT_EQUAL(expect_vec(t, lock_nop, sizeof lock_nop), EXC_UD);
    uint8_t toolong[16];
    memset(toolong, 0x66, 15);
    toolong[15] = 0x90;
    CU_ASSERT_EQUAL(expect_vec(t, toolong, 16), EXC_GP);
    tm_free(t);
}

/* CPL 3: privileged rows #GP(0), IOPL-sensitive ones depend on IOPL, and
   the sensitive-but-unprivileged ones run and are reported (the leak). */
static const struct op_row *sens_row;
static void on_sens(void *ctx, const struct op_row *row, uint32_t eip) { sens_row = row; }

static void test_cpl3(void)
{
    struct tm *t = tm_new();
    struct cpu *c = &t->cpu;
    for (int s = 0; s < S_COUNT; s++)
        c->s.seg[s].flags |= 0x60;                 /* DPL 3 */
    c->s.seg[S_CS].sel |= 3;
    c->s.cpl = 3;
    c->s.r[R_ESP] = 0x8000;
    static const uint8_t hlt[] = { 0xf4 }, cli[] = { 0xfa, 0xf4 };
    static const uint8_t lgdt[] = { 0x0f, 0x01, 0x10 }, movcr[] = { 0x0f, 0x20, 0xc0 };
    static const uint8_t rdtsc[] = { 0x0f, 0x31, 0xf4 }, pushf[] = { 0x9c, 0xf4 };
    CU_ASSERT_EQUAL(expect_vec(t, hlt, sizeof hlt), EXC_GP);
    CU_ASSERT_EQUAL(expect_vec(t, cli, sizeof cli), EXC_GP);
    CU_ASSERT_EQUAL(expect_vec(t, lgdt, sizeof lgdt), EXC_GP);
    CU_ASSERT_EQUAL(expect_vec(t, movcr, sizeof movcr), EXC_GP);
    c->single_step = true;                         /* RDTSC: #GP only with TSD */
    CU_ASSERT_EQUAL(tm_exec(t, rdtsc, sizeof rdtsc), CPU_STOP_STEP);
    c->s.cr4 |= CR4_TSD;
    CU_ASSERT_EQUAL(expect_vec(t, rdtsc, sizeof rdtsc), EXC_GP);
    c->s.cr4 &= ~CR4_TSD;
    c->hooks.on_sensitive = on_sens;
    CU_ASSERT_EQUAL(tm_exec(t, pushf, sizeof pushf), CPU_STOP_STEP);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sens_row);
    CU_ASSERT_STRING_EQUAL(sens_row->mnem, "pushfd");
    CU_ASSERT_EQUAL(c->s.r[R_ESP], 0x8000 - 4);
    c->s.eflags |= FL_IOPL;                        /* IOPL 3: CLI allowed */
    sens_row = NULL;
    CU_ASSERT_EQUAL(tm_exec(t, cli, sizeof cli), CPU_STOP_STEP);
    CU_ASSERT_FALSE(c->s.eflags & FL_IF);
    CU_ASSERT_PTR_NULL(sens_row);
    tm_free(t);
}

/* External interrupts through a real IDT: the STI shadow, HLT wake-up,
   and intercept_ext (SDM vol. 3, 6.8.3 and 6.12). */
static bool irq_line;
static bool irq_pending(void *ctx) { return irq_line; }
static int irq_ack(void *ctx) { irq_line = false; return 0x20; }

static void tm_tables(struct tm *t)
{
    static const uint64_t gdt[3] = { 0, 0x00cf9a000000ffffull, 0x00cf92000000ffffull };
    memcpy(t->ram + 0x6000, gdt, sizeof gdt);
    uint32_t gate[2] = { 0x00083000u, 0x00008e00u };    /* 08:3000, int gate */
    memcpy(t->ram + 0x5000 + 0x20 * 8, gate, sizeof gate);
    t->ram[0x3000] = 0xf4;
    t->cpu.s.gdtr.base = 0x6000;
    t->cpu.s.gdtr.limit = 23;
    t->cpu.s.idtr.base = 0x5000;
    t->cpu.s.idtr.limit = 0x7ff;
    t->cpu.bus.intr_pending = irq_pending;
    t->cpu.bus.intr_ack = irq_ack;
}

static void test_interrupts(void)
{
    struct tm *t = tm_new();
    struct cpu *c = &t->cpu;
    tm_tables(t);
    c->intercept = 0;
    c->s.r[R_ESP] = 0x8000;
    cpu_set_eflags(c, FL_FIXED1);
    irq_line = true;
    static const uint8_t p[] = { 0xfb, 0x90, 0xf4 };    /* sti; nop; hlt */
    CU_ASSERT_EQUAL(tm_exec(t, p, sizeof p), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(c->s.eip, 0x3001);                  /* in the handler */
    CU_ASSERT_EQUAL(rd32(t, 0x8000 - 12), 0x1002);      /* after the NOP */
    CU_ASSERT_EQUAL(rd32(t, 0x8000 - 8), 0x08);
    CU_ASSERT(rd32(t, 0x8000 - 4) & FL_IF);
    CU_ASSERT_FALSE(cpu_get_eflags(c) & FL_IF);
    /* HLT with IF=1 waits; an interrupt wakes it */
    static const uint8_t h[] = { 0xfb, 0xf4, 0x90, 0xf4 };  /* sti; hlt; nop; hlt */
    c->s.r[R_ESP] = 0x8000;
    CU_ASSERT_EQUAL(tm_exec(t, h, sizeof h), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(c->s.eip, 0x1002);
    CU_ASSERT_EQUAL(cpu_run(c, c->cycles + 100), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(c->s.eip, 0x1002);
    irq_line = true;
    CU_ASSERT_EQUAL(cpu_run(c, c->cycles + 100), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(c->s.eip, 0x3001);
    CU_ASSERT_EQUAL(rd32(t, 0x8000 - 12), 0x1002);
    /* the owner intercepts external interrupts: stop, nothing delivered */
    c->intercept_ext = true;
    irq_line = true;
    cpu_set_eflags(c, FL_FIXED1 | FL_IF);
    c->s.r[R_ESP] = 0x8000;
    static const uint8_t n[] = { 0x90, 0xf4 };
    CU_ASSERT_EQUAL(tm_exec(t, n, sizeof n), CPU_STOP_INTERCEPT);
    CU_ASSERT_EQUAL(c->stop_vector, -1);
    CU_ASSERT_EQUAL(c->s.eip, 0x1000);
    CU_ASSERT_TRUE(irq_line);
    irq_line = false;
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
    CU_add_test(s, "push/pop/pushad/popad/enter/leave", test_stack);
    CU_add_test(s, "call/ret/jmp/bound", test_calls);
    CU_add_test(s, "self-modifying and page-crossing code", test_smc);
    CU_add_test(s, "gates, single step, stop_now, budget", test_run_controls);
    CU_add_test(s, "#UD/#NM/#GP from table attributes", test_attr_faults);
    CU_add_test(s, "CPL 3: privileged, IOPL and sensitive rows", test_cpl3);
    CU_add_test(s, "external interrupts: STI shadow, HLT, intercept", test_interrupts);
}
