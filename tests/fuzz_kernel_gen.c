/*
 * fuzz_kernel_gen.c - program generator and image builder of the kernel
 * differential fuzzer (docs/fuzzing.md). A program is a list of units; each
 * unit is a few instructions of one kind (enum fk_kind) and starts with a
 * store of its own end address to FKV_RESUME, where the runtime's handlers
 * resume after an exception - so a faulting instruction skips the rest of its
 * unit and the program goes on. Units are position independent except for
 * the few imm32s listed as relocations (far transfer targets), which is what
 * lets the shrinker drop units. The image is the runtime (fuzz_kernel_rt.S),
 * the descriptor tables, the page tables, the data pages and the code.
 */
#include <stdarg.h>
#include <string.h>
#include "fuzz_kernel.h"
#include "fuzz_common.h"

extern const uint8_t fkrt_start[], fkrt_end[], fkrt_stubs[], fkrt_epi0[], fkrt_epi3[];

#define WAIT_CPU "cpu-fix"
#define WAIT_SEG "iso-seg"
#define WAIT_MEM "iso-mem"

const struct fk_kind_info fk_kind_info[KO_COUNT] = {
    [K_ALU] = { "alu", NULL },            [K_MEM] = { "mem", NULL },
    [K_STACK] = { "stack", NULL },        [K_BRANCH] = { "branch", NULL },
    [K_FAULT] = { "fault", NULL },        [K_SEG] = { "seg", NULL },
    [K_FAR] = { "far", NULL },            [K_FARPTR] = { "farptr", NULL },
    [K_STRING] = { "string", NULL },      [K_IO] = { "io", NULL },
    [K_LOCK] = { "lock", NULL },          [K_PT] = { "ptwrite", NULL },
    [K_SENS] = { "sensitive", NULL },     [K_INT] = { "int", NULL },
    [K_EXC] = { "exc", NULL },            [K_PRIV] = { "priv", NULL },
    [K_RMW] = { "rmw", WAIT_CPU " (RMW flag order: adc/sbb/rcl/rcr on memory, RMW on a faulting page)" },
    [K_SEG_HOSTILE] = { "seg_hostile", WAIT_SEG " (expand-down/wrapping truncation)" },
    [K_FARPTR_PF] = { "farptr_pf", WAIT_CPU " (#PF through emulation)" },
    [K_FAR_PF] = { "far_pf", WAIT_CPU " (#PF through emulation)" },
    [K_STRING_PF] = { "string_pf", WAIT_CPU " (#PF through emulation)" },
    [K_IO_PF] = { "io_pf", WAIT_CPU " (#PF through emulation)" },
    [K_LOCK_UD] = { "lock_ud", WAIT_CPU " (LOCK #UD)" },
    [K_INT_EXC] = { "int_exc", WAIT_MEM " (int $14 hang)" },
    [K_XADD_RR] = { "xadd_rr", WAIT_CPU " (xadd r,r)" },
    [KO_PAGING] = { "paging", NULL },      [KO_RING3] = { "ring3", NULL },
    [KO_IOPL3] = { "iopl3", WAIT_CPU " (IOPL=3 ring-3 I/O under bt)" },
};

struct gen {
    uint32_t s;             /* PRNG state */
    bool ring3, paging;
    uint8_t pfx[2];         /* prefixes the next memop puts before its opcode */
};

static uint32_t rn(struct gen *g, uint32_t n)
{
    return fuzz_rnd(&g->s) % n;
}

/* ---- emitting ---- */

static void eb(struct fk_unit *u, int n, ...)
{
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        u->b[u->n++] = (uint8_t)va_arg(ap, int);
    va_end(ap);
}

static void e32(struct fk_unit *u, uint32_t v)
{
    memcpy(u->b + u->n, &v, 4);
    u->n += 4;
}

static void e16(struct fk_unit *u, uint32_t v)
{
    eb(u, 2, v & 0xFF, (v >> 8) & 0xFF);
}

/* An imm32 that holds body offset `off`: the assembler adds the unit's address. */
static void erel(struct fk_unit *u, uint32_t off)
{
    u->rel[u->nrel++] = u->n;
    e32(u, off);
}

static int wreg(struct gen *g)          /* a register the program may write */
{
    static const int r[] = { R_EAX, R_ECX, R_EDX, R_EBX, R_EBP, R_ESI, R_EDI };
    return r[rn(g, 7)];
}

static uint32_t a_rw(struct gen *g)     /* data pages 0-1 */
{
    return FK_PAGE(0) + 0x40 + rn(g, 0x2000 - 0x80);
}

static uint32_t a_fault(struct gen *g)  /* read-only, absent, supervisor, straddling */
{
    switch (rn(g, 6)) {
    case 0: return FK_PAGE(2) + rn(g, 0xFF8);
    case 1: return FK_PAGE(3) + rn(g, 0xFF8);
    case 2: return FK_PAGE(4) + rn(g, 0xFF8);
    case 3: return FK_PAGE(2) - 1 - rn(g, 3);
    case 4: return FK_PAGE(3) - 1 - rn(g, 3);
    default: return FK_PAGE(5) - 1 - rn(g, 3);
    }
}

/* Opcode bytes, then a ModRM memory operand at `addr` with reg field rf:
   [disp32], or [ebx+d8] / [esi+d8] after loading the base. */
static void memop(struct fk_unit *u, struct gen *g, const uint8_t *op, int opn, int rf,
                  uint32_t addr)
{
    uint8_t pfx[2] = { g->pfx[0], g->pfx[1] };
    g->pfx[0] = g->pfx[1] = 0;
    if (rn(g, 4) == 0) {
        int base = rn(g, 2) ? R_EBX : R_ESI;
        uint32_t d = rn(g, 0x80);
        eb(u, 1, 0xB8 + base);
        e32(u, addr - d);
        for (int i = 0; i < 2 && pfx[i]; i++)
            eb(u, 1, pfx[i]);
        for (int i = 0; i < opn; i++)
            eb(u, 1, op[i]);
        eb(u, 2, 0x40 | rf << 3 | base, d);
        return;
    }
    for (int i = 0; i < 2 && pfx[i]; i++)
        eb(u, 1, pfx[i]);
    for (int i = 0; i < opn; i++)
        eb(u, 1, op[i]);
    eb(u, 1, rf << 3 | 5);
    e32(u, addr);
}

#define MEMOP(u, g, rf, addr, ...) do { const uint8_t o_[] = { __VA_ARGS__ }; \
        memop(u, g, o_, sizeof o_, rf, addr); } while (0)

/* ---- units that agree on main ---- */

/* An ALU op whose result does not depend on CF (not ADC/SBB, not CMP):
   memory forms of ADC/SBB diverge today and are generated by gen_rmw. */
static int cf_free_op(struct gen *g)
{
    static const int ops[] = { 0, 1, 4, 5, 6 };
    return ops[rn(g, 5)];
}

static void gen_alu(struct fk_unit *u, struct gen *g)
{
    int op = (int)rn(g, 8), d = wreg(g), s = (int)rn(g, 8);
    static const uint8_t shifts[] = { 0, 1, 2, 3, 4, 5, 7 };
    switch (rn(g, 12)) {
    case 0: eb(u, 2, op * 8 + 1, 0xC0 | s << 3 | d); break;
    case 1: eb(u, 2, op * 8, 0xC0 | s << 3 | rn(g, 8)); break;               /* byte regs */
    case 2: eb(u, 3, 0x83, 0xC0 | op << 3 | d, rn(g, 256)); break;
    case 3: eb(u, 2, 0x81, 0xC0 | op << 3 | d); e32(u, fuzz_rnd(&g->s)); break;
    case 4: eb(u, 3, 0xC1, 0xC0 | shifts[rn(g, 7)] << 3 | d, 1 + rn(g, 31)); break;
    case 5: eb(u, 1, (rn(g, 2) ? 0x40 : 0x48) + d); break;
    case 6: eb(u, 3, 0x0F, 0xAF, 0xC0 | d << 3 | s); break;
    case 7: eb(u, 2, 0xF7, 0xC0 | (2 + rn(g, 2)) << 3 | d); break;           /* not/neg */
    case 8: eb(u, 3, 0x0F, 0x90 + rn(g, 16), 0xC0 | rn(g, 8)); break;       /* setcc */
    case 9: eb(u, 3, 0x0F, 0x40 + rn(g, 16), 0xC0 | d << 3 | s); break;     /* cmovcc */
    case 10: eb(u, 1, (uint8_t[]){ 0xF5, 0xF8, 0xF9, 0x98, 0x99, 0x9F }[rn(g, 6)]); break;
    default: eb(u, 2, 0xF7, 0xE0 | s % 4); break;                           /* mul */
    }
}

static void gen_mem(struct fk_unit *u, struct gen *g)
{
    int r = wreg(g);
    uint32_t a = a_rw(g);
    switch (rn(g, 9)) {
    case 0: MEMOP(u, g, r, a, 0x8B); break;                                 /* mov r, [a] */
    case 1: MEMOP(u, g, (int)rn(g, 8), a, 0x89); break;                     /* mov [a], r */
    case 2: MEMOP(u, g, (int)rn(g, 8), a, (uint8_t)(cf_free_op(g) * 8 + 1)); break; /* op [a], r */
    case 3: MEMOP(u, g, r, a, (uint8_t)(rn(g, 8) * 8 + 3)); break;          /* op r, [a] */
    case 4: MEMOP(u, g, r, a, 0x0F, 0xB6 + rn(g, 2) + 8 * rn(g, 2)); break;  /* movzx/movsx */
    case 5: MEMOP(u, g, (int)rn(g, 2), a, 0xFF); break;                      /* inc/dec [a] */
    case 6: MEMOP(u, g, 0, a, 0xC6); eb(u, 1, rn(g, 256)); break;            /* mov byte [a], ib */
    case 7: MEMOP(u, g, r, a, 0x87); break;                                  /* xchg [a], r */
    default: MEMOP(u, g, (int)rn(g, 8), a, 0x0F, 0xB1); break;               /* cmpxchg */
    }
}

static void gen_stack(struct fk_unit *u, struct gen *g)
{
    switch (rn(g, 5)) {
    case 0: eb(u, 2, 0x50 + rn(g, 8), 0x58 + wreg(g)); break;
    case 1: eb(u, 1, 0x68); e32(u, fuzz_rnd(&g->s)); eb(u, 1, 0x58 + wreg(g)); break;
    case 2: eb(u, 2, 0x60, 0x61); break;
    case 3: MEMOP(u, g, 6, a_rw(g), 0xFF); eb(u, 1, 0x58 + wreg(g)); break;  /* push [a] */
    default: eb(u, 1, 0x50 + rn(g, 8)); MEMOP(u, g, 0, a_rw(g), 0x8F); break; /* pop [a] */
    }
}

static void gen_branch(struct fk_unit *u, struct gen *g)
{
    int r = wreg(g);
    switch (rn(g, 4)) {
    case 0: eb(u, 3, 0x70 + rn(g, 16), 0x01, 0x40 + r); break;              /* jcc over inc */
    case 1: eb(u, 1, 0xB9); e32(u, 1 + rn(g, 6));                          /* loop, not on ECX */
            eb(u, 5, 0x83, 0xC0 | (r == R_ECX ? R_EDX : r), rn(g, 128), 0xE2, 0xFB);
            break;                                                           /* loop */
    case 2: eb(u, 8, 0xE8, 0x02, 0, 0, 0, 0xEB, 0x01, 0xC3); break;          /* call; ret */
    default: eb(u, 6, 0xE8, 0, 0, 0, 0, 0x58 + r); break;                    /* call $+5; pop */
    }
}

static void gen_fault(struct fk_unit *u, struct gen *g)
{
    int r = wreg(g);
    uint32_t a = a_fault(g);
    switch (rn(g, 7)) {
    case 0: MEMOP(u, g, r, a, 0x8B); break;
    case 1: MEMOP(u, g, (int)rn(g, 8), a, 0x89); break;
    case 2: MEMOP(u, g, 0, a, 0xC6); eb(u, 1, rn(g, 256)); break;
    case 3: g->pfx[0] = 0x66; MEMOP(u, g, 0, a, 0xC7); e16(u, fuzz_rnd(&g->s)); break;
    case 4: MEMOP(u, g, r, a, 0x0F, 0xB7); break;
    case 5: MEMOP(u, g, 6, a, 0xFF); eb(u, 1, 0x58 + r); break;              /* push [f]; pop */
    default: eb(u, 1, rn(g, 2) ? 0xA1 : 0xA3); e32(u, a); break;             /* moffs */
    }
}

/* ---- segments ---- */

static uint16_t flat_ds(const struct gen *g)
{
    return g->ring3 ? 0x23 : 0x10;
}

/* A data selector: mostly loadable, some that fault (absent, execute-only,
   DPL 0 from ring 3, null descriptor, past the GDT limit, the TSS). */
static uint16_t pick_sel(struct gen *g)
{
    static const uint16_t good0[] = { 0x10, 0x23, 0x33, 0x43, 0x6B, 0x50, 0x08, 0x60, 0x00 };
    static const uint16_t good3[] = { 0x23, 0x33, 0x43, 0x6B, 0x53, 0x1B, 0x03 };
    static const uint16_t bad[] = { 0x4B, 0x5B, 0x63, 0x78, 0x1000, 0x28, 0x13 };
    if (rn(g, 5) == 0)
        return bad[rn(g, 7)];
    return g->ring3 ? good3[rn(g, 7)] : good0[rn(g, 9)];
}

/* An offset to use through `sel`; `store` keeps it inside the data pages. */
static uint32_t sel_off(struct gen *g, uint16_t sel, bool store)
{
    switch (sel & ~3u) {
    case 0x30: return rn(g, 0x1010);                         /* limit 0xFFF */
    case 0x68: return store || rn(g, 2) ? rn(g, 0xFFC) : 0xFFFD + rn(g, 4);
    default: return rn(g, 4) ? a_rw(g) : a_fault(g);
    }
}

static const uint8_t seg_prefix[S_COUNT] = { 0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65 };

static void load_sreg(struct fk_unit *u, struct gen *g, int sr, uint16_t sel)
{
    int r = wreg(g);
    switch (rn(g, 3)) {
    case 0: eb(u, 2, 0x66, 0xB8 + r); e16(u, sel); eb(u, 2, 0x8E, 0xC0 | sr << 3 | r); break;
    case 1: {
        uint32_t a = a_rw(g);
        eb(u, 3, 0x66, 0xC7, 0x05); e32(u, a); e16(u, sel);
        MEMOP(u, g, sr, a, 0x8E);
        break;
    }
    default:
        eb(u, 1, 0x68); e32(u, sel);
        if (sr == S_FS || sr == S_GS)
            eb(u, 2, 0x0F, sr == S_FS ? 0xA1 : 0xA9);
        else
            eb(u, 1, sr == S_ES ? 0x07 : 0x1F);
        break;
    }
}

static void seg_access(struct fk_unit *u, struct gen *g, int sr, uint16_t sel)
{
    bool store = rn(g, 3) == 0;
    uint32_t off = sel_off(g, sel, store);
    g->pfx[0] = seg_prefix[sr];
    if (store)
        MEMOP(u, g, (int)rn(g, 8), off, 0x89);
    else
        MEMOP(u, g, wreg(g), off, rn(g, 2) ? 0x8B : 0x0B);
}

static void restore_seg(struct fk_unit *u, struct gen *g, int sr)
{
    if ((sr == S_DS && rn(g, 4)) || (sr == S_ES && rn(g, 2)))
        eb(u, 3, 0x6A, flat_ds(g), sr == S_DS ? 0x1F : 0x07);
}

static void gen_seg(struct fk_unit *u, struct gen *g)
{
    static const int srs[] = { S_ES, S_FS, S_GS, S_DS };
    int sr = srs[rn(g, 4)];
    uint16_t sel = pick_sel(g);
    load_sreg(u, g, sr, sel);
    seg_access(u, g, sr, sel);
    if (rn(g, 2))
        seg_access(u, g, sr, sel);
    restore_seg(u, g, sr);
}

/* Expand-down (0x38: offsets above FK_PAGE(0) - 1) and wrapping (0x70: base
   FK_PAGE(0), 4 GiB limit) segments, at offsets that natively reach data,
   fault, or (paging on) the linear addresses of the VMM region. */
static void gen_seg_hostile(struct fk_unit *u, struct gen *g)
{
    bool down = rn(g, 2);
    uint16_t sel = down ? 0x3B : 0x73;
    int sr = rn(g, 2) ? S_FS : S_GS;
    uint32_t off;
    switch (rn(g, g->paging ? 4 : 3)) {
    case 0: off = down ? a_rw(g) : rn(g, 0x1FF0); break;
    case 1: off = down ? 0x1000 + rn(g, 0x100) : 0u - FK_PAGE(0) + FK_RT + rn(g, 0x100); break;
    case 2: off = down ? 0xFFFFFFF0u + rn(g, 16) : 0u - 4 - rn(g, 4); break;
    default: off = (down ? 0xFFC00000u : 0xFFC00000u - FK_PAGE(0)) + rn(g, 0x20000); break;
    }
    load_sreg(u, g, sr, sel);
    g->pfx[0] = seg_prefix[sr];
    if (rn(g, 3) == 0)
        MEMOP(u, g, (int)rn(g, 8), off, 0x89);
    else
        MEMOP(u, g, wreg(g), off, 0x8B);
}

/* ---- far pointers and far transfers ---- */

static void gen_farptr(struct fk_unit *u, struct gen *g)
{
    static const uint8_t ops[4][2] = { { 0xC4 }, { 0xC5 }, { 0x0F, 0xB4 }, { 0x0F, 0xB5 } };
    static const int srs[4] = { S_ES, S_DS, S_FS, S_GS };
    int k = (int)rn(g, 4);
    uint32_t a = a_rw(g);
    uint16_t sel = pick_sel(g);
    eb(u, 2, 0xC7, 0x05); e32(u, a); e32(u, rn(g, 2) ? a_rw(g) : fuzz_rnd(&g->s));
    eb(u, 3, 0x66, 0xC7, 0x05); e32(u, a + 4); e16(u, sel);
    memop(u, g, ops[k], ops[k][0] == 0x0F ? 2 : 1, wreg(g), a);
    if (rn(g, 2))
        seg_access(u, g, srs[k], sel);
    restore_seg(u, g, srs[k]);
}

static void gen_farptr_pf(struct fk_unit *u, struct gen *g)
{
    static const uint8_t ops[4][2] = { { 0xC4 }, { 0xC5 }, { 0x0F, 0xB4 }, { 0x0F, 0xB5 } };
    int k = (int)rn(g, 4);
    memop(u, g, ops[k], ops[k][0] == 0x0F ? 2 : 1, wreg(g), a_fault(g));
    restore_seg(u, g, k == 1 ? S_DS : S_ES);
}

static uint16_t far_cs(struct gen *g)
{
    uint16_t cs = g->ring3 ? 0x1B : 0x08;
    switch (rn(g, 8)) {
    case 0: return g->ring3 ? 0x53 : 0x50;                    /* conforming */
    case 1: return 0x10;                                       /* data: #GP */
    case 2: return g->ring3 ? 0x08 : 0x18;                     /* wrong DPL: #GP */
    case 3: return 0x48 | (g->ring3 ? 3 : 0);                  /* absent data: #GP */
    default: return cs;
    }
}

static void gen_far(struct fk_unit *u, struct gen *g)
{
    uint16_t cs = far_cs(g);
    uint32_t a = a_rw(g);
    switch (rn(g, 5)) {
    case 0: eb(u, 1, 0xEA); erel(u, u->n + 6); e16(u, cs); break;            /* ljmp */
    case 1: eb(u, 1, 0x9A); erel(u, u->n + 6); e16(u, cs);                   /* lcall */
            eb(u, 3, 0x83, 0xC4, 0x08); break;
    case 2: case 3: {                                                         /* via m16:32 */
        bool call = rn(g, 2);
        eb(u, 2, 0xC7, 0x05); e32(u, a); erel(u, u->n + 4 + 9 + 6);
        eb(u, 3, 0x66, 0xC7, 0x05); e32(u, a + 4); e16(u, cs);
        eb(u, 2, 0xFF, call ? 0x1D : 0x2D); e32(u, a);
        if (call)
            eb(u, 3, 0x83, 0xC4, 0x08);
        break;
    }
    default: eb(u, 1, 0x68); e32(u, cs); eb(u, 1, 0x68); erel(u, u->n + 5);  /* push; push; retf */
             eb(u, 1, 0xCB); break;
    }
}

static void gen_far_pf(struct fk_unit *u, struct gen *g)
{
    MEMOP(u, g, rn(g, 2) ? 3 : 5, a_fault(g), 0xFF);
}

/* ---- strings and I/O ---- */

static void string_regs(struct fk_unit *u, struct gen *g, uint32_t si, uint32_t di, uint32_t cx)
{
    eb(u, 1, rn(g, 4) ? 0xFC : 0xFD);                                        /* cld / std */
    eb(u, 1, 0xBE); e32(u, si);
    eb(u, 1, 0xBF); e32(u, di);
    eb(u, 1, 0xB9); e32(u, cx);
}

static void string_op(struct fk_unit *u, struct gen *g)
{
    static const uint8_t ops[] = { 0xA4, 0xA5, 0xAA, 0xAB, 0xAC, 0xAD, 0xA6, 0xA7, 0xAE, 0xAF };
    uint8_t op = ops[rn(g, 10)];
    if (rn(g, 4) == 0)
        eb(u, 1, 0x66);
    if (rn(g, 5) == 0 && op != 0xAA && op != 0xAB && op != 0xAE && op != 0xAF)
        eb(u, 1, rn(g, 2) ? 0x26 : 0x36);                                    /* ESI override */
    switch (rn(g, 4)) {
    case 0: break;
    case 1: eb(u, 1, 0xF2); break;
    default: eb(u, 1, 0xF3); break;
    }
    eb(u, 1, op);
}

static void gen_string(struct fk_unit *u, struct gen *g)
{
    string_regs(u, g, FK_PAGE(0) + 0x100 + rn(g, 0x1D00), FK_PAGE(0) + 0x100 + rn(g, 0x1D00),
                rn(g, 33));
    string_op(u, g);
}

static void gen_string_pf(struct fk_unit *u, struct gen *g)
{
    uint32_t edge = FK_PAGE(2 + rn(g, 3)) - rn(g, 24);
    uint32_t other = FK_PAGE(0) + 0x100 + rn(g, 0x1D00);
    bool src = rn(g, 2);
    string_regs(u, g, src ? edge : other, src ? other : edge, 4 + rn(g, 40));
    string_op(u, g);
}

static const uint16_t io_ports[] = { 0x80, 0x300, 0x2F0 };

static void gen_io(struct fk_unit *u, struct gen *g)
{
    uint16_t port = io_ports[rn(g, 3)];
    switch (rn(g, 7)) {
    case 0: eb(u, 2, 0xE4 + rn(g, 2), port & 0xFF); break;                  /* in al/eax, ib */
    case 1: eb(u, 2, 0xE6, port & 0xFF); break;                              /* out ib, al */
    case 2: eb(u, 2, 0x66, 0xBA); e16(u, port); eb(u, 1, 0xEC + rn(g, 2)); break;
    case 3: eb(u, 2, 0x66, 0xBA); e16(u, port); eb(u, 1, 0xEE); break;
    case 4: eb(u, 2, 0x66, 0xBA); e16(u, port);
            string_regs(u, g, a_rw(g), a_rw(g), rn(g, 9));
            eb(u, 2, 0xF3, 0x6C + rn(g, 2)); break;                          /* rep ins */
    case 5: eb(u, 2, 0x66, 0xBA); e16(u, port);
            string_regs(u, g, a_rw(g), a_rw(g), rn(g, 9));
            eb(u, 2, 0xF3, 0x6E); break;                                     /* rep outsb */
    default: eb(u, 2, 0x66, 0xBA); e16(u, port);
             string_regs(u, g, a_rw(g), a_rw(g), 0);
             eb(u, 1, 0x6C + rn(g, 4)); break;                               /* ins/outs */
    }
}

static void gen_io_pf(struct fk_unit *u, struct gen *g)
{
    uint32_t edge = FK_PAGE(2 + rn(g, 3)) - rn(g, 8);
    bool out = rn(g, 2);
    eb(u, 2, 0x66, 0xBA); e16(u, 0x80);
    string_regs(u, g, edge, edge, 1 + rn(g, 16));
    eb(u, 2, 0xF3, out ? 0x6E : 0x6C + rn(g, 2));
}

/* ---- LOCK, page tables, sensitive and privileged instructions ---- */

static void gen_lock(struct fk_unit *u, struct gen *g)
{
    uint32_t a = a_rw(g);
    int r = wreg(g);
    g->pfx[0] = 0xF0;
    switch (rn(g, 6)) {
    case 0: MEMOP(u, g, (int)rn(g, 8), a, (uint8_t)(cf_free_op(g) * 8 + 1)); break; /* op [a], r */
    case 1: if (rn(g, 2))
                MEMOP(u, g, 2 + (int)rn(g, 2), a, 0xF7);                      /* not/neg */
            else
                MEMOP(u, g, (int)rn(g, 2), a, 0xFF);                          /* inc/dec */
            break;
    case 2: MEMOP(u, g, r, a, 0x87); break;
    case 3: MEMOP(u, g, r, a, 0x0F, 0xB1); break;
    case 4: MEMOP(u, g, r, a, 0x0F, 0xC1); break;
    default: MEMOP(u, g, cf_free_op(g), a, 0x80); eb(u, 1, rn(g, 256)); break;
    }
}

static void gen_lock_ud(struct fk_unit *u, struct gen *g)
{
    g->pfx[0] = 0xF0;
    switch (rn(g, 9)) {
    case 0: eb(u, 3, 0xF0, 0x01, 0xC0 | rn(g, 64)); break;                   /* reg form */
    case 1: MEMOP(u, g, (int)rn(g, 8), a_rw(g), 0x89); break;                /* mov */
    case 2: eb(u, 2, 0xF0, 0x90); break;
    case 3: MEMOP(u, g, (int)rn(g, 8), a_rw(g), 0x39); break;                /* cmp */
    case 4: eb(u, 3, 0xF0, 0x9C, 0x58 + wreg(g)); break;                    /* pushf */
    case 5: eb(u, 2, 0xF0, 0xFA); break;
    case 6: MEMOP(u, g, 0, a_rw(g), 0x0F, 0x01); break;                      /* sgdt */
    case 7: eb(u, 3, 0xF0, 0xCD, FK_VEC_SOFT); break;
    default: eb(u, 3, 0xF0, 0x8C, 0xC8 | wreg(g)); break;                   /* mov r, cs */
    }
    g->pfx[0] = 0;
}

static void gen_pt(struct fk_unit *u, struct gen *g)
{
    if (g->ring3 || !g->paging) {
        gen_mem(u, g);
        return;
    }
    static const uint32_t flags[] = { 7, 5, 3, 0, 1, 7 };
    uint32_t page = FK_PAGE(2 + rn(g, 3));
    uint32_t frame = rn(g, 3) ? page : FK_PAGE(rn(g, 2));
    eb(u, 2, 0xC7, 0x05); e32(u, FK_PT + 4 * (page >> 12)); e32(u, frame | flags[rn(g, 6)]);
    if (rn(g, 2)) {
        eb(u, 3, 0x0F, 0x01, 0x3D); e32(u, page);                            /* invlpg */
    } else {
        eb(u, 6, 0x0F, 0x20, 0xD8, 0x0F, 0x22, 0xD8);                        /* reload cr3 */
    }
    uint32_t a = page + rn(g, 0xFFC);
    if (rn(g, 2))
        MEMOP(u, g, wreg(g), a, 0x8B);
    else
        MEMOP(u, g, (int)rn(g, 8), a, 0x89);
}

static void gen_sens(struct fk_unit *u, struct gen *g)
{
    int r = wreg(g);
    uint32_t a = a_rw(g);
    switch (rn(g, 14)) {
    case 0: eb(u, 2, 0x9C, 0x58 + r); break;                                /* pushf; pop */
    case 1: eb(u, 1, 0x68); e32(u, 2 | (fuzz_rnd(&g->s) & 0x3ED5u)); eb(u, 1, 0x9D); break;
    case 2: MEMOP(u, g, 0, a, 0x0F, 0x01); break;                            /* sgdt */
    case 3: MEMOP(u, g, 1, a, 0x0F, 0x01); break;                            /* sidt */
    case 4: eb(u, 3, 0x0F, 0x00, 0xC0 | rn(g, 2) << 3 | r); break;          /* sldt/str r */
    case 5: eb(u, 3, 0x0F, 0x01, 0xE0 | r); break;                          /* smsw r */
    case 6: MEMOP(u, g, 4, a, 0x0F, 0x01); break;                            /* smsw [a] */
    case 7: eb(u, 1, 0xB9); e32(u, pick_sel(g));
            eb(u, 3, 0x0F, 0x02 + rn(g, 2), 0xC1 | r << 3); break;           /* lar/lsl */
    case 8: eb(u, 1, 0xB9); e32(u, pick_sel(g));
            eb(u, 3, 0x0F, 0x00, 0xE1 | rn(g, 2) << 3); break;               /* verr/verw */
    case 9: eb(u, 2, rn(g, 2) ? 0x0E : 0x16, 0x58 + r); break;              /* push cs/ss */
    case 10: eb(u, 2, 0x8C, 0xC0 | rn(g, 6) << 3 | r); break;                /* mov r, sreg */
    case 11: MEMOP(u, g, (int)rn(g, 6), a, 0x8C); break;                     /* mov [a], sreg */
    case 12: eb(u, 2, 0x1E, 0x1F); break;                                    /* push ds; pop ds */
    default: eb(u, 2, 0x0F, 0xA0 + 8 * rn(g, 2)); eb(u, 1, 0x58 + r); break; /* push fs/gs */
    }
}

static void gen_int(struct fk_unit *u, struct gen *g)
{
    switch (rn(g, 5)) {
    case 0: eb(u, 2, 0xCD, FK_VEC_SOFT); break;
    case 1: eb(u, 1, 0xCC); break;
    case 2: if (rn(g, 2))
                eb(u, 4, 0xB0, 0x7F, 0x04, 0x01);                           /* OF = 1 */
            eb(u, 1, 0xCE); break;                                           /* into */
    case 3: eb(u, 2, 0xCD, 0x40 + rn(g, 0x40)); break;                       /* no gate */
    default: eb(u, 2, 0xCD, 0x03); break;
    }
}

static void gen_int_exc(struct fk_unit *u, struct gen *g)
{
    static const uint8_t vec[] = { 14, 13, 8, 6, 0 };
    if (!g->ring3) {
        gen_int(u, g);
        return;
    }
    eb(u, 2, 0xCD, vec[rn(g, 5)]);                                           /* DPL 0 gate: #GP */
}

static void gen_exc(struct fk_unit *u, struct gen *g)
{
    uint32_t a = a_rw(g);
    switch (rn(g, 5)) {
    case 0: eb(u, 3, 0x31, 0xD2, 0xB9); e32(u, rn(g, 3)); eb(u, 2, 0xF7, 0xF1); break; /* div */
    case 1: eb(u, 1, 0xB8); e32(u, 0x80000000u); eb(u, 2, 0x99, 0xB9); e32(u, 0xFFFFFFFFu);
            eb(u, 2, 0xF7, 0xF9); break;                                      /* idiv overflow */
    case 2: eb(u, 2, 0x0F, 0x0B); break;                                     /* ud2 */
    case 3: eb(u, 2, 0xC7, 0x05); e32(u, a); e32(u, rn(g, 0x200));           /* bound */
            eb(u, 2, 0xC7, 0x05); e32(u, a + 4); e32(u, 0x100 + rn(g, 0x200));
            eb(u, 1, 0x62); eb(u, 1, wreg(g) << 3 | 5); e32(u, a); break;
    default: eb(u, 2, 0xD4, rn(g, 2) ? 0 : 10); break;                       /* aam */
    }
}

static void gen_priv(struct fk_unit *u, struct gen *g)
{
    int r = wreg(g);
    if (g->ring3) {
        static const uint8_t ops[][3] = { { 1, 0xFA }, { 1, 0xFB }, { 1, 0xF4 }, { 2, 0x0F, 0x06 },
                                          { 2, 0x0F, 0x09 }, { 2, 0x0F, 0x32 }, { 2, 0x0F, 0x20 } };
        int k = (int)rn(g, 7);
        for (int i = 1; i <= ops[k][0]; i++)
            eb(u, 1, ops[k][i]);
        if (k == 6)
            eb(u, 1, 0xC0 | r);                                             /* mov r, cr0 */
        return;
    }
    switch (rn(g, 7)) {
    case 0: eb(u, 1, rn(g, 2) ? 0xFA : 0xFB); break;
    case 1: eb(u, 3, 0x0F, 0x20, 0xC0 | (int)(uint8_t[]){ 0, 2, 3, 4 }[rn(g, 4)] << 3 | r); break;
    case 2: eb(u, 2, 0x0F, 0x06); break;                                     /* clts */
    case 3: eb(u, 2, 0x0F, 0x09); break;                                     /* wbinvd */
    case 4: eb(u, 2, 0x0F, 0x08); break;                                     /* invd */
    case 5: MEMOP(u, g, 7, a_rw(g), 0x0F, 0x01); break;                      /* invlpg */
    default: eb(u, 6, 0x0F, 0x20, 0xC0, 0x0F, 0x22, 0xC0); break;            /* cr0 reload */
    }
}

/* ---- units that diverge on main today ---- */

static void gen_rmw(struct fk_unit *u, struct gen *g)
{
    uint32_t a = rn(g, 3) ? a_fault(g) : a_rw(g);
    int r = wreg(g);
    eb(u, 1, 0xF8 + rn(g, 2));                                               /* clc / stc */
    if (rn(g, 4) == 0)
        g->pfx[0] = 0x66;
    switch (rn(g, 8)) {
    case 0: MEMOP(u, g, (int)rn(g, 7), a, 0x80); eb(u, 1, rn(g, 3)); break;  /* adc byte [f], 0 */
    case 1: MEMOP(u, g, r, a, (uint8_t)(rn(g, 7) * 8 + 1)); break;
    case 2: MEMOP(u, g, (int)rn(g, 2), a, 0xFE + rn(g, 2)); break;           /* inc/dec */
    case 3: MEMOP(u, g, 2 + (int)rn(g, 2), a, 0xF7); break;                  /* not/neg */
    case 4: { static const uint8_t ext[] = { 0, 1, 2, 3, 4, 5, 7 };
              MEMOP(u, g, ext[rn(g, 7)], a, 0xD1); break; }
    case 5: MEMOP(u, g, r, a, 0x87); break;                                  /* xchg */
    case 6: MEMOP(u, g, r, a, 0x0F, 0xC1); break;                            /* xadd */
    default: MEMOP(u, g, r, a, 0x0F, 0xAB); break;                           /* bts */
    }
}

static void gen_xadd_rr(struct fk_unit *u, struct gen *g)
{
    int r = wreg(g);
    switch (rn(g, 3)) {
    case 0: eb(u, 3, 0x0F, 0xC1, 0xC0 | r << 3 | r); break;
    case 1: eb(u, 4, 0x66, 0x0F, 0xC1, 0xC0 | r << 3 | r); break;
    default: eb(u, 3, 0x0F, 0xC0, 0xC0 | (r & 3) * 9); break;
    }
}

/* ---- programs ---- */

typedef void (*gen_fn)(struct fk_unit *u, struct gen *g);

static const struct { gen_fn fn; uint8_t weight; } gens[K_COUNT] = {
    [K_ALU] = { gen_alu, 4 },         [K_MEM] = { gen_mem, 4 },
    [K_STACK] = { gen_stack, 2 },     [K_BRANCH] = { gen_branch, 2 },
    [K_FAULT] = { gen_fault, 3 },     [K_SEG] = { gen_seg, 3 },
    [K_FAR] = { gen_far, 2 },         [K_FARPTR] = { gen_farptr, 2 },
    [K_STRING] = { gen_string, 2 },   [K_IO] = { gen_io, 2 },
    [K_LOCK] = { gen_lock, 2 },       [K_PT] = { gen_pt, 2 },
    [K_SENS] = { gen_sens, 3 },       [K_INT] = { gen_int, 2 },
    [K_EXC] = { gen_exc, 2 },         [K_PRIV] = { gen_priv, 2 },
    [K_RMW] = { gen_rmw, 3 },   [K_SEG_HOSTILE] = { gen_seg_hostile, 2 },
    [K_FARPTR_PF] = { gen_farptr_pf, 2 }, [K_FAR_PF] = { gen_far_pf, 1 },
    [K_STRING_PF] = { gen_string_pf, 2 }, [K_IO_PF] = { gen_io_pf, 1 },
    [K_LOCK_UD] = { gen_lock_ud, 2 }, [K_INT_EXC] = { gen_int_exc, 1 },
    [K_XADD_RR] = { gen_xadd_rr, 1 },
};

static int pick_kind(struct gen *g, uint64_t enabled)
{
    unsigned total = 0;
    for (int k = 0; k < K_COUNT; k++)
        total += enabled >> k & 1 ? gens[k].weight : 0;
    if (!total)
        return K_ALU;
    unsigned x = rn(g, total);
    for (int k = 0; k < K_COUNT; k++) {
        unsigned w = enabled >> k & 1 ? gens[k].weight : 0;
        if (x < w)
            return k;
        x -= w;
    }
    return K_ALU;
}

static uint32_t init_reg(struct gen *g)
{
    switch (rn(g, 4)) {
    case 0: return rn(g, 256);
    case 1: return a_rw(g);
    default: return fuzz_rnd(&g->s);
    }
}

void fk_gen(struct fk_prog *p, uint32_t seed, uint64_t enabled)
{
    struct gen g = { .s = seed * 2654435761u + 0x9E3779B9u };
    for (int i = 0; i < 4; i++)
        fuzz_rnd(&g.s);
    memset(p, 0, sizeof *p);
    p->seed = seed;
    g.paging = (enabled >> KO_PAGING & 1) && rn(&g, 2);
    g.ring3 = (enabled >> KO_RING3 & 1) && rn(&g, 3) == 0;
    p->config = (g.paging ? FKC_PAGING : 0) | (g.ring3 ? FKC_RING3 : 0);
    p->eflags = 2 | (fuzz_rnd(&g.s) & 0x0CD5u) | (g.ring3 ? FL_IF : 0);  /* user code runs with IF */
    if (g.ring3 && (enabled >> KO_IOPL3 & 1) && rn(&g, 3) == 0)
        p->eflags |= FL_IOPL;
    for (int r = 0; r < 8; r++)
        p->regs[r] = r == R_ESP ? 0 : init_reg(&g);
    p->n = 2 + (int)rn(&g, FK_MAX_UNITS - 2);
    for (int i = 0; i < p->n; i++) {
        struct fk_unit *u = &p->u[i];
        u->kind = (uint8_t)pick_kind(&g, enabled);
        gens[u->kind].fn(u, &g);
    }
}

/* ---- the image ---- */

static void put32(uint8_t *img, uint32_t addr, uint32_t v)
{
    memcpy(img + (addr - FK_BASE), &v, 4);
}

static uint64_t desc(uint32_t base, uint32_t limit, uint32_t access, uint32_t flags)
{
    return (limit & 0xFFFFu) | (uint64_t)(base & 0xFFFFFFu) << 16 | (uint64_t)access << 40 |
           (uint64_t)((limit >> 16) & 0xF) << 48 | (uint64_t)flags << 52 |
           (uint64_t)(base >> 24) << 56;
}

static void put_gdt(uint8_t *img)
{
    const uint64_t gdt[FK_GDT_N] = {
        0,
        desc(0, 0xFFFFF, 0x9A, 0xC),              /* 0x08 ring-0 code */
        desc(0, 0xFFFFF, 0x92, 0xC),              /* 0x10 ring-0 data */
        desc(0, 0xFFFFF, 0xFA, 0xC),              /* 0x18 ring-3 code */
        desc(0, 0xFFFFF, 0xF2, 0xC),              /* 0x20 ring-3 data */
        desc(FK_TSS, 0x67, 0x89, 0),              /* 0x28 TSS */
        desc(FK_PAGE(0), 0xFFF, 0xF2, 0x4),       /* 0x30 one page at data page 0 */
        desc(0, (FK_PAGE(0) - 1) >> 12, 0xF6, 0xC), /* 0x38 expand-down above FK_PAGE(0) */
        desc(0, 0xFFFFF, 0xF0, 0xC),              /* 0x40 read-only data */
        desc(0, 0xFFFFF, 0x72, 0xC),              /* 0x48 not present */
        desc(0, 0xFFFFF, 0x9E, 0xC),              /* 0x50 conforming readable code, DPL 0 */
        desc(0, 0xFFFFF, 0xF8, 0xC),              /* 0x58 execute-only code, DPL 3 */
        desc(0, 0xFFFFF, 0x92, 0xC),              /* 0x60 DPL 0 data */
        desc(FK_PAGE(1), 0xFFFF, 0xF2, 0x0),      /* 0x68 16-bit data at page 1 */
        desc(FK_PAGE(0), 0xFFFFF, 0xF2, 0xC),     /* 0x70 4 GiB from page 0: wraps */
        0,                                        /* 0x78 null descriptor */
    };
    memcpy(img + (FK_GDT - FK_BASE), gdt, sizeof gdt);
}

static void put_gate(uint8_t *img, int vec, uint32_t target, int dpl)
{
    uint64_t g = (target & 0xFFFFu) | 0x08u << 16 | (uint64_t)(0x8E | dpl << 5) << 40 |
                 (uint64_t)(target >> 16) << 48;
    memcpy(img + (FK_IDT - FK_BASE) + 8 * vec, &g, 8);
}

static uint32_t rt_addr(const uint8_t *sym)
{
    return FK_BASE + (uint32_t)(sym - fkrt_start);
}

static void put_tables(uint8_t *img, const struct fk_prog *p)
{
    memcpy(img, fkrt_start, (size_t)(fkrt_end - fkrt_start));
    put_gdt(img);
    put32(img, FK_TSS + 4, FK_STK0);
    put32(img, FK_TSS + 8, 0x10);
    put32(img, FK_TSS + 0x64, 0x68u << 16);                  /* no I/O bitmap */
    for (int v = 0; v < 32; v++)
        put_gate(img, v, rt_addr(fkrt_stubs) + 16 * v, v == 3 || v == 4 ? 3 : 0);
    put_gate(img, FK_VEC_SOFT, rt_addr(fkrt_stubs) + 16 * 32, 3);
    put_gate(img, FK_VEC_END, rt_addr(fkrt_epi3), 3);
    uint8_t *v = img + (FK_VARS - FK_BASE);
    uint16_t gl = FK_GDT_N * 8 - 1, il = 256 * 8 - 1;
    memcpy(v + FKV_GDTR, &gl, 2);
    put32(img, FK_VARS + FKV_GDTR + 2, FK_GDT);
    memcpy(v + FKV_IDTR, &il, 2);
    put32(img, FK_VARS + FKV_IDTR + 2, FK_IDT);
    put32(img, FK_VARS + FKV_CONFIG, p->config);
    put32(img, FK_VARS + FKV_EFL, p->eflags);
    static const int pusha_order[8] = { R_EDI, R_ESI, R_EBP, R_ESP, R_EBX, R_EDX, R_ECX, R_EAX };
    for (int i = 0; i < 8; i++)
        put32(img, FK_VARS + FKV_REGS + 4 * i, p->regs[pusha_order[i]]);
    put32(img, FK_PD, FK_PT | 7);
    for (uint32_t i = 0; i < 1024; i++)
        put32(img, FK_PT + 4 * i, i << 12 | 7);
    put32(img, FK_PT + 4 * (FK_PAGE(2) >> 12), FK_PAGE(2) | 5);  /* read-only */
    put32(img, FK_PT + 4 * (FK_PAGE(3) >> 12), 0);               /* not present */
    put32(img, FK_PT + 4 * (FK_PAGE(4) >> 12), FK_PAGE(4) | 3);  /* supervisor */
    uint32_t s = p->seed | 1;
    for (uint32_t a = FK_PAGE(0); a < FK_PAGE(5); a += 4)
        put32(img, a, fuzz_rnd(&s));
}

uint32_t fk_unit_addr(const struct fk_prog *p, int i)
{
    uint32_t at = FK_CODE;
    for (int k = 0; k < i; k++)
        at += 11 + p->u[k].n;
    return at;
}

uint32_t fk_image(const struct fk_prog *p, uint8_t *img)
{
    memset(img, 0, FK_IMAGE);
    put_tables(img, p);
    uint8_t *c = img + (FK_CODE - FK_BASE);
    uint32_t at = FK_CODE;
    for (int i = 0; i < p->n; i++) {
        const struct fk_unit *u = &p->u[i];
        uint32_t body = at + 11, end = body + u->n;
        uint8_t head[11] = { 0x36, 0xC7, 0x05 };                 /* mov ss:[RESUME], end */
        uint32_t resume = FK_VARS + FKV_RESUME;
        memcpy(head + 3, &resume, 4);
        memcpy(head + 7, &end, 4);
        memcpy(c, head, 11);
        memcpy(c + 11, u->b, u->n);
        for (int r = 0; r < u->nrel; r++) {
            uint32_t v;
            memcpy(&v, c + 11 + u->rel[r], 4);
            v += body;
            memcpy(c + 11 + u->rel[r], &v, 4);
        }
        c += 11 + u->n;
        at = end;
    }
    if (p->config & FKC_RING3) {
        c[0] = 0xCD, c[1] = FK_VEC_END;
        at += 2;
    } else {
        uint32_t rel = rt_addr(fkrt_epi0) - (at + 5);
        c[0] = 0xE9;
        memcpy(c + 1, &rel, 4);
        at += 5;
    }
    return at - FK_CODE;
}
