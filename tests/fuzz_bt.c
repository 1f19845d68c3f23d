/*
 * fuzz_bt.c - differential tests of the binary translator: the same ring-0
 * guest code run under `native` and under `bt` from the same state must end
 * in the same guest state (registers, guest-visible EFLAGS, EIP, the data
 * and stack pages) after the same number of guest instructions. Golden answers come from the native engine (the CPU
 * that passes the Capstone/host-CPU/QEMU tests), never from the translator.
 *
 *   - emitter unit tests: one tiny sequence per emitter (IDENT, CLI,
 *     PUSHF, PUSH CS/SS, MOV from CS/SS, Jcc, LOOP, CALL/RET, indirect
 *     JMP/CALL, the sensitive reads, INT n + IRET, POPF, string ops);
 *   - the fuzzer: random sequences of units (ALU, memory, stack, flags,
 *     branches, calls/returns, the sensitive instructions, INT n) -
 *     BT_FUZZ_N of them (default 10000; `make fuzz` runs more). A failure
 *     is shrunk by dropping units while it still fails, then printed as a
 *     minimal reproducer (seed, units, Capstone disassembly).
 *
 * Guest layout (guest physical = linear, paging off): GDT at 0x1000, IDT at
 * 0x1800, descriptor-table pointers at 0x2000, INT 0x30 handler at 0x8000,
 * code at 0x10000, data page 0x20000, stack page 0x2F000-0x30000.
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "machine.h"
#include "vmm/bt/bt.h"
#include "fuzz_common.h"

#define CODE 0x10000u
#define DATA 0x20000u
#define STACK_TOP 0x30000u
#define MAX_CODE 8192
#define MAX_UNITS 64

struct unit { uint8_t b[160]; int n; };
struct prog { struct unit u[MAX_UNITS]; int n; uint32_t seed; };

struct final {
    uint32_t r[8], eflags, eip;
    uint64_t insns;        /* guest instructions retired (cpu_guest_insns) */
    int end;
    uint8_t data[4096], stack[4096];
};

static struct machine *fz_m[2];   /* [0] native, [1] bt: reused across runs */

/* ---- the guest image ---- */

static void put(uint8_t *ram, uint32_t at, const void *p, uint32_t n)
{
    memcpy(ram + at, p, n);
}

static void build_tables(uint8_t *ram)
{
    static const uint64_t gdt[] = { 0, 0x00CF9A000000FFFFull, 0x00CF92000000FFFFull,
                                    0x00CFFA000000FFFFull, 0x00CFF2000000FFFFull,
                                    0x0000890030000067ull };
    put(ram, 0x1000, gdt, sizeof gdt);
    uint64_t gate = 0x00008E0000080000ull | 0x8000u;          /* int 0x30 -> 0x8000 */
    gate |= 0xEE00ull << 32;                                  /* DPL 3 interrupt gate */
    put(ram, 0x1800 + 0x30 * 8, &gate, 8);
    uint8_t ptrs[12] = { sizeof gdt - 1, 0, 0x00, 0x10, 0, 0, 0xFF, 0x07, 0x00, 0x18, 0, 0 };
    put(ram, 0x2000, ptrs, sizeof ptrs);
    /* handler: inc dword [DATA+0xFFC]; iret */
    static const uint8_t h[] = { 0xFF, 0x05, 0xFC, 0x0F, 0x02, 0x00, 0xCF };
    put(ram, 0x8000, h, sizeof h);
}

/* lgdt, lidt, far jmp to reload CS, data segments, stack, registers, flags. */
static uint32_t prologue(uint8_t *p, const uint32_t *regs, uint32_t flags)
{
    uint32_t n = 0;
    static const uint8_t head[] = { 0x0F, 0x01, 0x15, 0x00, 0x20, 0, 0,     /* lgdt [0x2000] */
                                    0x0F, 0x01, 0x1D, 0x06, 0x20, 0, 0,     /* lidt [0x2006] */
                                    0xEA, 0x15, 0x00, 0x01, 0x00, 0x08, 0x00, /* ljmp 8:0x10015 */
                                    0x66, 0xB8, 0x10, 0x00,                 /* mov ax, 0x10 */
                                    0x8E, 0xD8, 0x8E, 0xC0, 0x8E, 0xD0, 0x8E, 0xE0, 0x8E, 0xE8,
                                    0xBC, 0x00, 0xFF, 0x02, 0x00,           /* mov esp, 0x2FF00 */
                                    0xB0, 0xFF, 0xE6, 0x21, 0xE6, 0xA1 };   /* mask the PICs */
    memcpy(p, head, sizeof head);
    n = sizeof head;
    for (int r = 0; r < 8; r++) {
        if (r == R_ESP)
            continue;
        p[n++] = (uint8_t)(0xB8 + r);
        memcpy(p + n, &regs[r], 4);
        n += 4;
    }
    p[n++] = 0x68;                                            /* push flags; popf */
    memcpy(p + n, &flags, 4);
    n += 4;
    p[n++] = 0x9D;
    return n;
}

static uint32_t assemble(const struct prog *pg, uint8_t *code, const uint32_t *regs,
                         uint32_t flags)
{
    uint32_t n = prologue(code, regs, flags);
    for (int i = 0; i < pg->n && n + (uint32_t)pg->u[i].n + 4 < MAX_CODE; i++) {
        memcpy(code + n, pg->u[i].b, (size_t)pg->u[i].n);
        n += (uint32_t)pg->u[i].n;
    }
    static const uint8_t tail[] = { 0xE6, 0xF4 };             /* out 0xf4, al */
    memcpy(code + n, tail, 2);
    return n + 2;
}

/* ---- running ---- */

static struct machine *fz_machine(int bt)
{
    if (!fz_m[bt])
        fz_m[bt] = fuzz_machine_new(bt ? MODE_BT : MODE_NATIVE, 2);
    return fz_m[bt];
}

static void fz_cleanup(void)
{
    for (int i = 0; i < 2; i++) {
        fuzz_machine_free(fz_m[i]);
        fz_m[i] = NULL;
    }
}

static void run_one(int bt, const uint8_t *code, uint32_t len, uint32_t seed, struct final *out)
{
    struct machine *m = fz_machine(bt);
    memset(out, 0, sizeof *out);
    out->end = -1;
    if (!m)
        return;
    memset(m->ram, 0, 0x31000);
    build_tables(m->ram);
    memcpy(m->ram + CODE, code, len);
    for (uint32_t i = 0; i < 4096; i++)
        m->ram[DATA + i] = (uint8_t)((seed >> (i % 24)) + i * 37u);
    cpu_notify_phys_write(&m->cpu, 0, 0x31000);
    m->end = END_NONE;
    debugexit_reset(&m->dbg);
    machine_enter(m, CODE, 0x2BADB002u, 0);
    uint64_t g0 = cpu_guest_insns(&m->cpu);
    machine_run(m, m->cpu.insns + 200000);
    out->insns = cpu_guest_insns(&m->cpu) - g0;
    out->end = m->end;
    memcpy(out->r, m->cpu.s.r, sizeof out->r);
    out->eflags = fuzz_guest_eflags(m);
    out->eip = m->cpu.s.eip;
    memcpy(out->data, m->ram + DATA, 4096);
    memcpy(out->stack, m->ram + STACK_TOP - 4096, 4096);
}

static const char *const reg_names[8] = { "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi" };

/* Describe the first difference; false if the states are equal. */
static bool differ(const struct final *a, const struct final *b, char *why, size_t n)
{
    if (a->end != b->end)
        return snprintf(why, n, "run ended %d natively, %d under bt", a->end, b->end), true;
    for (int r = 0; r < 8; r++)
        if (a->r[r] != b->r[r])
            return snprintf(why, n, "%s: native %08x bt %08x", reg_names[r], a->r[r], b->r[r]), true;
    if (a->eflags != b->eflags)
        return snprintf(why, n, "eflags: native %08x bt %08x", a->eflags, b->eflags), true;
    if (a->eip != b->eip)
        return snprintf(why, n, "eip: native %08x bt %08x", a->eip, b->eip), true;
    if (a->insns != b->insns)
        return snprintf(why, n, "guest_insns: native %llu bt %llu",
                        (unsigned long long)a->insns, (unsigned long long)b->insns), true;
    for (int i = 0; i < 4096; i++) {
        if (a->data[i] != b->data[i])
            return snprintf(why, n, "data[%#x]: native %02x bt %02x", i, a->data[i], b->data[i]), true;
        if (a->stack[i] != b->stack[i])
            return snprintf(why, n, "stack[%#x]: native %02x bt %02x", i, a->stack[i], b->stack[i]), true;
    }
    return false;
}

static const uint32_t init_regs[8] = { 0x11111111, 0x22, 0x33333333, 0x44444444, 0,
                                       0x55555555, 0x20100, 0x20200 };

static bool prog_differs(const struct prog *pg, char *why, size_t n)
{
    static uint8_t code[MAX_CODE];
    static struct final f[2];
    uint32_t flags = 0x2 | (pg->seed & 0x8D5u);               /* arithmetic flags, DF */
    uint32_t len = assemble(pg, code, init_regs, flags);
    run_one(0, code, len, pg->seed, &f[0]);
    run_one(1, code, len, pg->seed, &f[1]);
    if (f[0].end != END_GUEST_EXIT) {
        snprintf(why, n, "native run did not exit (%d)", f[0].end);
        return false;                     /* the generator's fault: not a BT bug */
    }
    return differ(&f[0], &f[1], why, n);
}

/* ---- units ---- */

#define rnd fuzz_rnd

static void ub(struct unit *u, int n, ...)
{
    __builtin_va_list ap;
    __builtin_va_start(ap, n);
    for (int i = 0; i < n; i++)
        u->b[u->n++] = (uint8_t)__builtin_va_arg(ap, int);
    __builtin_va_end(ap);
}

static void u32(struct unit *u, uint32_t v)
{
    memcpy(u->b + u->n, &v, 4);
    u->n += 4;
}

static int any_reg(uint32_t *s)      /* a register the sequence may write */
{
    static const int regs[] = { R_EAX, R_ECX, R_EDX, R_EBX, R_EBP, R_ESI, R_EDI };
    return regs[rnd(s) % 7];
}

static uint32_t data_addr(uint32_t *s)
{
    return DATA + 0x100 + (rnd(s) % 0xE00 & ~3u);
}

static void gen_alu(struct unit *u, uint32_t *s)
{
    int op = (int)(rnd(s) % 8), d = any_reg(s), src = (int)(rnd(s) % 8);
    switch (rnd(s) % 7) {
    case 0: ub(u, 2, op * 8 + 1, 0xC0 | src << 3 | d); break;                /* op r, r */
    case 1: ub(u, 3, 0x83, 0xC0 | op << 3 | d, rnd(s) & 0xFF); break;       /* op r, imm8 */
    case 2: ub(u, 2, 0x81, 0xC0 | op << 3 | d); u32(u, rnd(s)); break;
    case 3: ub(u, 3, 0xC1, 0xC0 | (int)(rnd(s) % 8) << 3 | d, rnd(s) % 33); break; /* shifts */
    case 4: ub(u, 1, (rnd(s) & 1 ? 0x40 : 0x48) + d); break;                 /* inc/dec */
    case 5: ub(u, 3, 0x0F, 0xAF, 0xC0 | d << 3 | src); break;                /* imul */
    default: ub(u, 3, 0x0F, 0x90 + rnd(s) % 16, 0xC0 | (rnd(s) % 4)); break; /* setcc r8 */
    }
}

static void gen_mem(struct unit *u, uint32_t *s)
{
    int r = any_reg(s);
    uint32_t a = data_addr(s);
    switch (rnd(s) % 5) {
    case 0: ub(u, 2, 0x8B, r << 3 | 5); u32(u, a); break;                    /* mov r, [a] */
    case 1: ub(u, 2, 0x89, (int)(rnd(s) % 8) << 3 | 5); u32(u, a); break;    /* mov [a], r */
    case 2: ub(u, 2, (int)(rnd(s) % 8) * 8 + 1, (int)(rnd(s) % 8) << 3 | 5);
            u32(u, a); break;                                                 /* op [a], r */
    case 3: ub(u, 3, 0x0F, 0x40 + rnd(s) % 16, r << 3 | 5); u32(u, a); break; /* cmovcc */
    default: ub(u, 2, 0xFF, ((rnd(s) & 1) << 3) | 5); u32(u, a); break;      /* inc/dec [a] */
    }
}

static void gen_stack(struct unit *u, uint32_t *s)
{
    int r = any_reg(s);
    switch (rnd(s) % 5) {
    case 0: ub(u, 2, 0x50 + (int)(rnd(s) % 8), 0x58 + r); break;              /* push; pop */
    case 1: ub(u, 1, 0x68); u32(u, rnd(s)); ub(u, 1, 0x58 + r); break;
    case 2: ub(u, 2, 0x9C, 0x58 + r); break;                                  /* pushf; pop */
    case 3: ub(u, 1, 0x68); u32(u, 0x2 | (rnd(s) & 0x3ED5u)); ub(u, 1, 0x9D); break; /* popf */
    default: ub(u, 2, 0x60, 0x61); break;                                     /* pusha; popa */
    }
}

static void gen_sensitive(struct unit *u, uint32_t *s)
{
    uint32_t a = data_addr(s);
    int r = any_reg(s);
    switch (rnd(s) % 14) {
    case 0: ub(u, 1, 0xFA); break;                                            /* cli */
    case 1: ub(u, 1, 0xFB); break;                                            /* sti */
    case 2: ub(u, 2, 0x0E, 0x58 + r); break;                                  /* push cs; pop */
    case 3: ub(u, 2, 0x16, 0x58 + r); break;                                  /* push ss; pop */
    case 4: ub(u, 2, 0x8C, 0xC8 | r); break;                                  /* mov r, cs */
    case 5: ub(u, 3, 0x66, 0x8C, 0xD0 | r); break;                            /* mov r16, ss */
    case 6: ub(u, 3, 0x0F, 0x01, 0x05); u32(u, a); break;                     /* sgdt [a] */
    case 7: ub(u, 3, 0x0F, 0x01, 0x0D); u32(u, a); break;                     /* sidt [a] */
    case 8: ub(u, 3, 0x0F, 0x01, 0xE0 | r); break;                            /* smsw r */
    case 9: ub(u, 3, 0x0F, 0x00, 0xC8 | r); break;                            /* str r */
    case 10: ub(u, 1, 0xB9); u32(u, (rnd(s) % 6) * 8 + (rnd(s) % 4));         /* lar/lsl */
             ub(u, 3, 0x0F, 0x02 + (rnd(s) & 1), 0xC1 | r << 3); break;
    case 11: ub(u, 1, 0xB9); u32(u, (rnd(s) % 6) * 8);                        /* verr/verw cx */
             ub(u, 3, 0x0F, 0x00, 0xE1 | (int)(rnd(s) & 1) << 3); break;
    case 12: ub(u, 2, 0xCD, 0x30); break;                                     /* int 0x30 */
    default: ub(u, 2, 0x8C, 0x1D); u32(u, a); break;                         /* mov [a], ds */
    }
}

static void gen_simple(struct unit *u, uint32_t *s)
{
    if (rnd(s) & 1)
        gen_alu(u, s);
    else
        gen_mem(u, s);
}

static void gen_branch(struct unit *u, uint32_t *s)
{
    struct unit body = { .n = 0 };
    int k = 1 + (int)(rnd(s) % 3);
    for (int i = 0; i < k; i++)
        gen_simple(&body, s);
    switch (rnd(s) % 6) {
    case 0: ub(u, 2, 0x70 + rnd(s) % 16, body.n); break;                      /* jcc over */
    case 1: ub(u, 2, 0x0F, 0x80 + rnd(s) % 16); u32(u, (uint32_t)body.n); break;
    case 2: ub(u, 2, 0xEB, body.n); break;                                    /* jmp over junk */
    case 3:                                                                   /* call; jmp; body; ret */
        ub(u, 1, 0xE8); u32(u, 2); ub(u, 2, 0xEB, body.n + 1);
        memcpy(u->b + u->n, body.b, (size_t)body.n); u->n += body.n;
        ub(u, 1, 0xC3);
        return;
    case 4:                                                                   /* call $+5; pop; add; jmp r */
        ub(u, 1, 0xE8); u32(u, 0); ub(u, 4, 0x58, 0x83, 0xC0, 6 + body.n);
        ub(u, 2, 0xFF, rnd(s) & 1 ? 0xE0 : 0xD0);                             /* jmp/call eax */
        break;
    default:                                                                  /* mov ecx, n; L: add; loop L */
        ub(u, 1, 0xB9); u32(u, 1 + rnd(s) % 5);
        ub(u, 3, 0x83, 0xC0, rnd(s) & 0x7F);
        ub(u, 2, 0xE2, 0xFB);
        return;
    }
    memcpy(u->b + u->n, body.b, (size_t)body.n);
    u->n += body.n;
}

static void gen_string(struct unit *u, uint32_t *s)
{
    ub(u, 1, 0xFC);                                                           /* cld */
    ub(u, 1, 0xBE); u32(u, DATA + 0x100 + rnd(s) % 0x400);
    ub(u, 1, 0xBF); u32(u, DATA + 0x800 + rnd(s) % 0x400);
    ub(u, 1, 0xB9); u32(u, rnd(s) % 40);
    static const uint8_t ops[] = { 0xA4, 0xA5, 0xAA, 0xAB, 0xA6, 0xAE };
    ub(u, 2, 0xF3, ops[rnd(s) % 6]);
}

static void gen_unit(struct unit *u, uint32_t *s)
{
    u->n = 0;
    switch (rnd(s) % 10) {
    case 0: case 1: gen_alu(u, s); break;
    case 2: case 3: gen_mem(u, s); break;
    case 4: gen_stack(u, s); break;
    case 5: case 6: gen_sensitive(u, s); break;
    case 7: case 8: gen_branch(u, s); break;
    default: gen_string(u, s); break;
    }
}

static void gen_prog(struct prog *pg, uint32_t seed)
{
    uint32_t s = seed * 2654435761u + 1u;
    pg->seed = seed;
    pg->n = 4 + (int)(rnd(&s) % 24);
    for (int i = 0; i < pg->n; i++)
        gen_unit(&pg->u[i], &s);
}

/* ---- shrinking and reporting ---- */

static void shrink(struct prog *pg)
{
    char why[160];
    for (int i = pg->n - 1; i >= 0; i--) {
        struct prog t = *pg;
        memmove(&t.u[i], &t.u[i + 1], sizeof t.u[0] * (size_t)(t.n - i - 1));
        t.n--;
        if (prog_differs(&t, why, sizeof why))
            *pg = t;
    }
}

static void print_repro(const struct prog *pg, const char *why)
{
    fprintf(stderr, "\n  bt fuzz: seed %u differs: %s\n  minimal reproducer (%d units):\n",
            pg->seed, why, pg->n);
    for (int i = 0; i < pg->n; i++) {
        fprintf(stderr, "    unit %d:", i);
        fuzz_disasm(stderr, pg->u[i].b, (size_t)pg->u[i].n, 0, true, "");
        fprintf(stderr, "\n");
    }
}

/* ---- tests ---- */

static bool check_units(const uint8_t *bytes, int n)
{
    struct prog pg = { .n = 1, .seed = 7 };
    char why[160];
    memcpy(pg.u[0].b, bytes, (size_t)n);
    pg.u[0].n = n;
    bool bad = prog_differs(&pg, why, sizeof why);
    if (bad)
        print_repro(&pg, why);
    return !bad;
}

#define UNIT(...) do { static const uint8_t b_[] = { __VA_ARGS__ }; \
                       CU_ASSERT(check_units(b_, sizeof b_)); } while (0)

static void test_emit_ident(void)
{
    UNIT(0x01, 0xD8, 0x83, 0xC1, 0x07, 0x8B, 0x05, 0x00, 0x01, 0x02, 0x00, 0x0F, 0xAF, 0xC3);
}

static void test_emit_cli_sti_pushf(void)
{
    UNIT(0xFA, 0x9C, 0x58, 0xFB, 0x9C, 0x5B);                /* cli; pushf; sti; pushf */
    UNIT(0x68, 0x02, 0x32, 0, 0, 0x9D, 0x9C, 0x5A);          /* popf IF=1 IOPL=3; pushf */
}

static void test_emit_segment_reads(void)
{
    UNIT(0x0E, 0x58, 0x16, 0x5B, 0x8C, 0xC9, 0x66, 0x8C, 0xD2, 0x1E, 0x5E);
    UNIT(0x0F, 0xA8, 0x58, 0x0F, 0xA0, 0x5B, 0x8C, 0xEA);   /* push gs; push fs; mov edx, gs */
}

static void test_emit_sensitive_reads(void)
{
    UNIT(0x0F, 0x01, 0x05, 0x00, 0x01, 0x02, 0x00,           /* sgdt */
         0x0F, 0x01, 0x0D, 0x10, 0x01, 0x02, 0x00,           /* sidt */
         0x0F, 0x01, 0xE0, 0x0F, 0x00, 0xCB,                 /* smsw eax; str ebx */
         0xB9, 0x08, 0, 0, 0, 0x0F, 0x02, 0xC1, 0x0F, 0x03, 0xD1, /* lar; lsl */
         0x0F, 0x00, 0xE1, 0x0F, 0x00, 0xE9);                /* verr cx; verw cx */
}

/* In-TC SGDT/SIDT/SLDT/STR/SMSW: memory forms through base+index that
   use EAX/EBX (the sequence's scratch registers), SS by EBP, ES/FS
   overrides, 16-bit operand sizes; TR is loaded so STR shows a value. */
static const uint8_t sysread_prog[] = {
    0x66, 0xB8, 0x28, 0x00, 0x0F, 0x00, 0xD8,               /* mov ax, 0x28; ltr ax */
    0xB8, 0x00, 0x03, 0x02, 0x00, 0xBB, 0x04, 0, 0, 0,      /* mov eax, 0x20300; mov ebx, 4 */
    0x0F, 0x01, 0x44, 0x98, 0x08,                           /* sgdt [eax+ebx*4+8] */
    0x0F, 0x01, 0x24, 0x03,                                 /* smsw [ebx+eax] */
    0x26, 0x0F, 0x01, 0x4E, 0x40,                           /* sidt es:[esi+0x40] */
    0x0F, 0x00, 0x0F,                                       /* str [edi] */
    0x0F, 0x00, 0x05, 0x00, 0x04, 0x02, 0x00,               /* sldt [0x20400] */
    0xBD, 0x00, 0xF0, 0x02, 0x00, 0x0F, 0x01, 0x45, 0xE0,   /* mov ebp, 0x2f000; sgdt [ebp-0x20] */
    0x64, 0x0F, 0x01, 0xA6, 0x80, 0, 0, 0,                  /* smsw fs:[esi+0x80] */
    0x66, 0x0F, 0x01, 0x4F, 0x10,                           /* o16 sidt [edi+0x10] */
    0x66, 0x0F, 0x01, 0xE0, 0x66, 0x0F, 0x00, 0xC9,         /* smsw ax; str cx */
    0x0F, 0x00, 0xC2, 0x0F, 0x01, 0xE6,                     /* sldt edx; smsw esi */
};

static void test_emit_sysread_in_tc(void)
{
    CU_ASSERT(check_units(sysread_prog, sizeof sysread_prog));
}

/* A fault inside an in-TC sequence is precise: SGDT/SMSW into the code
   page being run (write-protected for BT: an SMC fault) must leave EAX and
   EBX, the sequence's scratch registers, as the guest had them, and the
   store then happens outside the TC. */
static void test_sysread_fault_precise(void)
{
    static const uint8_t prog[] = {
        0xB8, 0x00, 0x0F, 0x01, 0x00, 0xBB, 0, 0, 0, 0,     /* mov eax, 0x10f00; mov ebx, 0 */
        0x0F, 0x01, 0x04, 0x18,                             /* sgdt [eax+ebx] */
        0x8B, 0x0D, 0x00, 0x0F, 0x01, 0x00,                 /* mov ecx, [0x10f00] */
        0x8B, 0x15, 0x02, 0x0F, 0x01, 0x00,                 /* mov edx, [0x10f02] */
        0xBB, 0x10, 0x0F, 0x01, 0x00, 0x0F, 0x01, 0x23,     /* mov ebx, 0x10f10; smsw [ebx] */
        0x0F, 0xB7, 0x35, 0x10, 0x0F, 0x01, 0x00,           /* movzx esi, word [0x10f10] */
    };
    CU_ASSERT(check_units(prog, sizeof prog));
    CU_ASSERT(bt_counters(vmm_bt(fz_machine(1)->vmm))->smc_faults >= 2);
}

/* The in-TC sequences are no callouts: the program above makes exactly as
   many as its LTR alone (the reads are answered inside the TC). */
static void test_sysread_no_callouts(void)
{
    uint64_t n[2];
    for (int k = 0; k < 2; k++) {
        CU_ASSERT(check_units(sysread_prog, k ? sizeof sysread_prog : 7));
        struct machine *m = fz_machine(1);
        CU_ASSERT_FATAL(m != NULL && m->vmm != NULL);
        n[k] = bt_counters(vmm_bt(m->vmm))->callouts;
    }
    CU_ASSERT_EQUAL(n[0], n[1]);
    CU_ASSERT(n[0] > 0);
}

/* LAR/LSL/VERR/VERW in the TC (emit_selquery): register and memory forms,
   EAX/EBX (the scratch registers) as selector and destination, 16-bit
   operands, OF/SF/AF/CF set on entry, failures (RPL > DPL, system types,
   null, beyond the GDT limit); each result and EFLAGS stored to the data page. */
static const uint8_t selquery_prog[] = {
    0xB9, 0x0B, 0x00, 0x00, 0x00,                       /* mov ecx, 0xb */
    0xBA, 0x10, 0x00, 0x00, 0x00,                       /* mov edx, 0x10 */
    0xB8, 0xFF, 0xFF, 0xFF, 0x7F,                       /* mov eax, 0x7fffffff */
    0x05, 0x01, 0x00, 0x00, 0x00,                       /* add eax,1 (OF SF AF) */
    0x0F, 0x02, 0xC2,                                   /* lar eax, edx */
    0x9C, 0x8F, 0x05, 0x00, 0x02, 0x02, 0x00,           /* pushfd; pop [0x20200] */
    0x89, 0x05, 0x04, 0x02, 0x02, 0x00,                 /* mov [0x20204], eax */
    0x0F, 0x03, 0xDA,                                   /* lsl ebx, edx */
    0x9C, 0x8F, 0x05, 0x08, 0x02, 0x02, 0x00,           /* pushfd; pop [0x20208] */
    0x89, 0x1D, 0x0C, 0x02, 0x02, 0x00,                 /* mov [0x2020c], ebx */
    0xBF, 0x78, 0x56, 0x34, 0x12,                       /* mov edi, 0x12345678 */
    0x0F, 0x02, 0xF9,                                   /* lar edi, ecx */
    0x9C, 0x8F, 0x05, 0x10, 0x02, 0x02, 0x00,           /* pushfd; pop [0x20210] */
    0x89, 0x3D, 0x14, 0x02, 0x02, 0x00,                 /* mov [0x20214], edi */
    0x66, 0x0F, 0x02, 0xC2,                             /* o16 lar eax, edx */
    0x9C, 0x8F, 0x05, 0x18, 0x02, 0x02, 0x00,           /* pushfd; pop [0x20218] */
    0x89, 0x05, 0x1C, 0x02, 0x02, 0x00,                 /* mov [0x2021c], eax */
    0x66, 0x0F, 0x03, 0xDA,                             /* o16 lsl ebx, edx */
    0x9C, 0x8F, 0x05, 0x20, 0x02, 0x02, 0x00,           /* pushfd; pop [0x20220] */
    0x89, 0x1D, 0x24, 0x02, 0x02, 0x00,                 /* mov [0x20224], ebx */
    0xB9, 0x28, 0x00, 0x00, 0x00,                       /* mov ecx, 0x28 */
    0x0F, 0x02, 0xF1,                                   /* lar esi, ecx */
    0x9C, 0x8F, 0x05, 0x28, 0x02, 0x02, 0x00,           /* pushfd; pop [0x20228] */
    0x89, 0x35, 0x2C, 0x02, 0x02, 0x00,                 /* mov [0x2022c], esi */
    0x0F, 0x03, 0xE9,                                   /* lsl ebp, ecx */
    0x9C, 0x8F, 0x05, 0x30, 0x02, 0x02, 0x00,           /* pushfd; pop [0x20230] */
    0x89, 0x2D, 0x34, 0x02, 0x02, 0x00,                 /* mov [0x20234], ebp */
    0x0F, 0x00, 0xE1,                                   /* verr ecx */
    0x9C, 0x8F, 0x05, 0x38, 0x02, 0x02, 0x00,           /* pushfd; pop [0x20238] */
    0x89, 0x0D, 0x3C, 0x02, 0x02, 0x00,                 /* mov [0x2023c], ecx */
    0xBB, 0x23, 0x00, 0x00, 0x00,                       /* mov ebx, 0x23 */
    0x0F, 0x00, 0xEB,                                   /* verw ebx */
    0x9C, 0x8F, 0x05, 0x40, 0x02, 0x02, 0x00,           /* pushfd; pop [0x20240] */
    0x89, 0x1D, 0x44, 0x02, 0x02, 0x00,                 /* mov [0x20244], ebx */
    0x0F, 0x00, 0xE3,                                   /* verr ebx */
    0x9C, 0x8F, 0x05, 0x48, 0x02, 0x02, 0x00,           /* pushfd; pop [0x20248] */
    0x89, 0x1D, 0x4C, 0x02, 0x02, 0x00,                 /* mov [0x2024c], ebx */
    0xBB, 0x1B, 0x00, 0x00, 0x00,                       /* mov ebx, 0x1b */
    0x0F, 0x00, 0xEB,                                   /* verw ebx */
    0x9C, 0x8F, 0x05, 0x50, 0x02, 0x02, 0x00,           /* pushfd; pop [0x20250] */
    0x89, 0x1D, 0x54, 0x02, 0x02, 0x00,                 /* mov [0x20254], ebx */
    0x0F, 0x00, 0xE3,                                   /* verr ebx */
    0x9C, 0x8F, 0x05, 0x58, 0x02, 0x02, 0x00,           /* pushfd; pop [0x20258] */
    0x89, 0x1D, 0x5C, 0x02, 0x02, 0x00,                 /* mov [0x2025c], ebx */
    0xBA, 0x33, 0x00, 0x00, 0x00,                       /* mov edx, 0x33 */
    0x0F, 0x02, 0xD2,                                   /* lar edx, edx */
    0x9C, 0x8F, 0x05, 0x60, 0x02, 0x02, 0x00,           /* pushfd; pop [0x20260] */
    0x89, 0x15, 0x64, 0x02, 0x02, 0x00,                 /* mov [0x20264], edx */
    0xBA, 0x00, 0x00, 0x00, 0x00,                       /* mov edx, 0x0 */
    0x0F, 0x03, 0xD2,                                   /* lsl edx, edx */
    0x9C, 0x8F, 0x05, 0x68, 0x02, 0x02, 0x00,           /* pushfd; pop [0x20268] */
    0x89, 0x15, 0x6C, 0x02, 0x02, 0x00,                 /* mov [0x2026c], edx */
    0xC7, 0x05, 0x00, 0x01, 0x02, 0x00, 0x1B, 0x00, 0x00, 0x00,  /* mov dword [0x20100], 0x1b */
    0x0F, 0x02, 0x05, 0x00, 0x01, 0x02, 0x00,           /* lar eax, [0x20100] */
    0x9C, 0x8F, 0x05, 0x70, 0x02, 0x02, 0x00,           /* pushfd; pop [0x20270] */
    0x89, 0x05, 0x74, 0x02, 0x02, 0x00,                 /* mov [0x20274], eax */
    0x0F, 0x03, 0x1D, 0x00, 0x01, 0x02, 0x00,           /* lsl ebx, [0x20100] */
    0x9C, 0x8F, 0x05, 0x78, 0x02, 0x02, 0x00,           /* pushfd; pop [0x20278] */
    0x89, 0x1D, 0x7C, 0x02, 0x02, 0x00,                 /* mov [0x2027c], ebx */
    0x0F, 0x00, 0x2D, 0x00, 0x01, 0x02, 0x00,           /* verw [0x20100] */
    0x9C, 0x8F, 0x05, 0x80, 0x02, 0x02, 0x00,           /* pushfd; pop [0x20280] */
    0x89, 0x05, 0x84, 0x02, 0x02, 0x00,                 /* mov [0x20284], eax */
    0xBE, 0x00, 0x01, 0x02, 0x00,                       /* mov esi, 0x20100 */
    0x0F, 0x00, 0x26,                                   /* verr [esi] */
    0x9C, 0x8F, 0x05, 0x88, 0x02, 0x02, 0x00,           /* pushfd; pop [0x20288] */
    0x89, 0x35, 0x8C, 0x02, 0x02, 0x00,                 /* mov [0x2028c], esi */
    0xBB, 0x00, 0x01, 0x00, 0x00,                       /* mov ebx, 0x100 */
    0xB8, 0x00, 0x00, 0x02, 0x00,                       /* mov eax, 0x20000 */
    0x26, 0x0F, 0x02, 0x3C, 0x18,                       /* lar edi, es:[eax+ebx] */
    0x9C, 0x8F, 0x05, 0x90, 0x02, 0x02, 0x00,           /* pushfd; pop [0x20290] */
    0x89, 0x3D, 0x94, 0x02, 0x02, 0x00,                 /* mov [0x20294], edi */
    0x0F, 0x03, 0x04, 0x18,                             /* lsl eax, [eax+ebx] */
    0x9C, 0x8F, 0x05, 0x98, 0x02, 0x02, 0x00,           /* pushfd; pop [0x20298] */
    0x89, 0x05, 0x9C, 0x02, 0x02, 0x00,                 /* mov [0x2029c], eax */
    0xBD, 0x80, 0x01, 0x02, 0x00,                       /* mov ebp, 0x20180 */
    0xC7, 0x05, 0x00, 0x01, 0x02, 0x00, 0x10, 0x00, 0x00, 0x00,  /* mov dword [0x20100], 0x10 */
    0x0F, 0x02, 0x5D, 0x80,                             /* lar ebx, [ebp-0x80] (ss) */
    0x9C, 0x8F, 0x05, 0xA0, 0x02, 0x02, 0x00,           /* pushfd; pop [0x202a0] */
    0x89, 0x1D, 0xA4, 0x02, 0x02, 0x00,                 /* mov [0x202a4], ebx */
};

/* The callout paths: TI = 1 and selectors beyond the table. */
static const uint8_t selquery_callout_prog[] = {
    0xB9, 0x0C, 0x00, 0x00, 0x00,                       /* mov ecx, 0xc */
    0xBA, 0x55, 0x00, 0x00, 0x00,                       /* mov edx, 0x55 */
    0x0F, 0x02, 0xD1,                                   /* lar edx, ecx */
    0x9C, 0x8F, 0x05, 0x00, 0x02, 0x02, 0x00,           /* pushfd; pop [0x20200] */
    0x89, 0x15, 0x04, 0x02, 0x02, 0x00,                 /* mov [0x20204], edx */
    0xB9, 0x00, 0x10, 0x00, 0x00,                       /* mov ecx, 0x1000 */
    0x0F, 0x03, 0xD1,                                   /* lsl edx, ecx */
    0x9C, 0x8F, 0x05, 0x08, 0x02, 0x02, 0x00,           /* pushfd; pop [0x20208] */
    0x89, 0x15, 0x0C, 0x02, 0x02, 0x00,                 /* mov [0x2020c], edx */
    0x0F, 0x00, 0xE1,                                   /* verr ecx */
    0x9C, 0x8F, 0x05, 0x10, 0x02, 0x02, 0x00,           /* pushfd; pop [0x20210] */
    0x89, 0x0D, 0x14, 0x02, 0x02, 0x00,                 /* mov [0x20214], ecx */
    0xB8, 0x04, 0x20, 0x00, 0x00,                       /* mov eax, 0x2004 */
    0x0F, 0x02, 0xD8,                                   /* lar ebx, eax */
    0x9C, 0x8F, 0x05, 0x18, 0x02, 0x02, 0x00,           /* pushfd; pop [0x20218] */
    0x89, 0x1D, 0x1C, 0x02, 0x02, 0x00,                 /* mov [0x2021c], ebx */
};

/* The guest rewrites GDT entry 4 (DPL, then limit and G) between LARs:
   the table must follow (the GDT page is write-protected for BT). */
static const uint8_t selquery_gdt_write_prog[] = {
    0xB9, 0x23, 0x00, 0x00, 0x00,                       /* mov ecx, 0x23 */
    0x0F, 0x02, 0xC1,                                   /* lar eax, ecx */
    0x9C, 0x8F, 0x05, 0x00, 0x02, 0x02, 0x00,           /* pushfd; pop [0x20200] */
    0x89, 0x05, 0x04, 0x02, 0x02, 0x00,                 /* mov [0x20204], eax */
    0x0F, 0x03, 0xD9,                                   /* lsl ebx, ecx */
    0x9C, 0x8F, 0x05, 0x08, 0x02, 0x02, 0x00,           /* pushfd; pop [0x20208] */
    0x89, 0x1D, 0x0C, 0x02, 0x02, 0x00,                 /* mov [0x2020c], ebx */
    0x0F, 0x00, 0xE9,                                   /* verw ecx */
    0x9C, 0x8F, 0x05, 0x10, 0x02, 0x02, 0x00,           /* pushfd; pop [0x20210] */
    0x89, 0x0D, 0x14, 0x02, 0x02, 0x00,                 /* mov [0x20214], ecx */
    0xC6, 0x05, 0x25, 0x10, 0x00, 0x00, 0x92,           /* mov byte [0x1025], 0x92 (DPL 0) */
    0x0F, 0x02, 0xC1,                                   /* lar eax, ecx */
    0x9C, 0x8F, 0x05, 0x18, 0x02, 0x02, 0x00,           /* pushfd; pop [0x20218] */
    0x89, 0x05, 0x1C, 0x02, 0x02, 0x00,                 /* mov [0x2021c], eax */
    0x0F, 0x00, 0xE9,                                   /* verw ecx */
    0x9C, 0x8F, 0x05, 0x20, 0x02, 0x02, 0x00,           /* pushfd; pop [0x20220] */
    0x89, 0x0D, 0x24, 0x02, 0x02, 0x00,                 /* mov [0x20224], ecx */
    0xB9, 0x20, 0x00, 0x00, 0x00,                       /* mov ecx, 0x20 */
    0x0F, 0x02, 0xD1,                                   /* lar edx, ecx */
    0x9C, 0x8F, 0x05, 0x28, 0x02, 0x02, 0x00,           /* pushfd; pop [0x20228] */
    0x89, 0x15, 0x2C, 0x02, 0x02, 0x00,                 /* mov [0x2022c], edx */
    0xC7, 0x05, 0x20, 0x10, 0x00, 0x00, 0x34, 0x12, 0x00, 0x00,  /* mov dword [0x1020], 0x1234 (limit) */
    0xC6, 0x05, 0x26, 0x10, 0x00, 0x00, 0x40,           /* mov byte [0x1026], 0x40 (G = 0) */
    0x0F, 0x03, 0xF1,                                   /* lsl esi, ecx */
    0x9C, 0x8F, 0x05, 0x30, 0x02, 0x02, 0x00,           /* pushfd; pop [0x20230] */
    0x89, 0x35, 0x34, 0x02, 0x02, 0x00,                 /* mov [0x20234], esi */
    0x0F, 0x02, 0xF9,                                   /* lar edi, ecx */
    0x9C, 0x8F, 0x05, 0x38, 0x02, 0x02, 0x00,           /* pushfd; pop [0x20238] */
    0x89, 0x3D, 0x3C, 0x02, 0x02, 0x00,                 /* mov [0x2023c], edi */
};

/* check_units for programs longer than one unit (split into units). */
static bool check_long(const uint8_t *bytes, int n)
{
    static struct prog pg;
    char why[160];
    int cap = (int)sizeof pg.u[0].b;
    memset(&pg, 0, sizeof pg);
    pg.seed = 7;
    for (int at = 0; at < n && pg.n < MAX_UNITS; at += cap, pg.n++) {
        pg.u[pg.n].n = n - at < cap ? n - at : cap;
        memcpy(pg.u[pg.n].b, bytes + at, (size_t)pg.u[pg.n].n);
    }
    bool bad = prog_differs(&pg, why, sizeof why);
    if (bad)
        print_repro(&pg, why);
    return !bad;
}

/* Callouts the bt machine made in its last run. */
static uint64_t last_callouts(void)
{
    struct machine *m = fz_machine(1);
    return m && m->vmm ? bt_counters(vmm_bt(m->vmm))->callouts : 0;
}

/* Native and bt agree on every register, EFLAGS and the stored results,
   and the in-table queries make no callout (as many as an empty program). */
static void test_selquery_in_tc(void)
{
    CU_ASSERT(check_units(selquery_prog, 0));
    uint64_t base = last_callouts();
    CU_ASSERT(base > 0);
    CU_ASSERT(check_long(selquery_prog, sizeof selquery_prog));
    CU_ASSERT_EQUAL(last_callouts(), base);
}

/* TI = 1, and selectors >= BT_SELTAB_N: the sequence puts EAX, EBX and
   EFLAGS back and leaves through a callout; one callout each, and
   guest_insns still equal to native (compared by check_units). */
static void test_selquery_callouts(void)
{
    CU_ASSERT(check_units(selquery_prog, 0));
    uint64_t base = last_callouts();
    CU_ASSERT(check_long(selquery_callout_prog, sizeof selquery_callout_prog));
    CU_ASSERT_EQUAL(last_callouts(), base + 4);
}

/* A GDT write between two LARs: the second answers from the new entry,
   still without a callout (the store is an SMC-style fault). */
static void test_selquery_gdt_rewrite(void)
{
    CU_ASSERT(check_units(selquery_prog, 0));
    uint64_t base = last_callouts();
    CU_ASSERT(check_long(selquery_gdt_write_prog, sizeof selquery_gdt_write_prog));
    CU_ASSERT_EQUAL(last_callouts(), base);
    CU_ASSERT(bt_counters(vmm_bt(fz_machine(1)->vmm))->smc_faults >= 2);
}



/* The same under guest paging (one 4 MiB identity page): shadow paging
   traces the GDT frame (spt_gdt_loaded) and its write rebuilds the table
   through shadow_gdt_rebuild. */
static const uint8_t selquery_paging_prog[] = {
    0xC7, 0x05, 0x00, 0x30, 0x00, 0x00, 0x87, 0x00, 0x00, 0x00,  /* mov dword [0x3000], 0x87 (PDE 0: 4 MiB, identity) */
    0x0F, 0x20, 0xE0,                                   /* mov eax, cr4 */
    0x83, 0xC8, 0x10,                                   /* or eax, 0x10 (PSE) */
    0x0F, 0x22, 0xE0,                                   /* mov cr4, eax */
    0xB8, 0x00, 0x30, 0x00, 0x00,                       /* mov eax, 0x3000 */
    0x0F, 0x22, 0xD8,                                   /* mov cr3, eax */
    0x0F, 0x20, 0xC0,                                   /* mov eax, cr0 */
    0x0D, 0x00, 0x00, 0x00, 0x80,                       /* or eax, 0x80000000 (PG) */
    0x0F, 0x22, 0xC0,                                   /* mov cr0, eax */
    0xB9, 0x23, 0x00, 0x00, 0x00,                       /* mov ecx, 0x23 */
    0x0F, 0x02, 0xC1,                                   /* lar eax, ecx */
    0xA3, 0x00, 0x02, 0x02, 0x00,                       /* mov [0x20200], eax */
    0xC6, 0x05, 0x25, 0x10, 0x00, 0x00, 0x92,           /* mov byte [0x1025], 0x92 (DPL 0) */
    0xB8, 0x5A, 0x5A, 0x00, 0x00,                       /* mov eax, 0x5a5a */
    0x0F, 0x02, 0xC1,                                   /* lar eax, ecx (now ZF = 0) */
    0x9C,                                               /* pushfd */
    0x8F, 0x05, 0x04, 0x02, 0x02, 0x00,                 /* pop dword [0x20204] */
    0xA3, 0x08, 0x02, 0x02, 0x00,                       /* mov [0x20208], eax */
    0xB9, 0x20, 0x00, 0x00, 0x00,                       /* mov ecx, 0x20 */
    0x0F, 0x02, 0xD1,                                   /* lar edx, ecx */
    0x89, 0x15, 0x0C, 0x02, 0x02, 0x00,                 /* mov [0x2020c], edx */
};

static void test_selquery_gdt_rewrite_paging(void)
{
    CU_ASSERT(check_units(selquery_prog, 0));
    uint64_t base = last_callouts();
    CU_ASSERT(check_long(selquery_paging_prog, sizeof selquery_paging_prog));
    CU_ASSERT_EQUAL(last_callouts(), base + 5);      /* the five CR moves only */
}

/* A fault in the memory form is precise: LAR through FS with a word that
   crosses the segment limit raises #GP at the LAR, with EAX and EBX (the
   sequence's scratch registers) as the guest had them; the #GP handler
   ends the run, and its frame (EIP, error code) is on the compared stack. */
static const uint8_t selquery_fault_prog[] = {
    0xE8, 0x00, 0x00, 0x00, 0x00,                       /* call $+5 */
    0x5A,                                               /* pop edx (its own address) */
    0x8D, 0x52, 0x29,                                   /* lea edx, [edx+H] (the #GP handler below) */
    0x89, 0xD0,                                         /* mov eax, edx */
    0x25, 0xFF, 0xFF, 0x00, 0x00,                       /* and eax, 0xffff */
    0x0D, 0x00, 0x00, 0x08, 0x00,                       /* or eax, 0x80000 (selector 8) */
    0xA3, 0x68, 0x18, 0x00, 0x00,                       /* mov [0x1868], eax (IDT gate 13) */
    0x81, 0xE2, 0x00, 0x00, 0xFF, 0xFF,                 /* and edx, 0xffff0000 */
    0x81, 0xCA, 0x00, 0x8E, 0x00, 0x00,                 /* or edx, 0x8e00 */
    0x89, 0x15, 0x6C, 0x18, 0x00, 0x00,                 /* mov [0x186c], edx */
    0xEB, 0x02,                                         /* jmp over the handler */
    0xE6, 0xF4,                                         /* handler: out 0xf4, al (end the run) */
    0xC7, 0x05, 0x20, 0x10, 0x00, 0x00, 0xFF, 0x0F, 0x00, 0x00,  /* mov dword [0x1020], 0xfff (entry 4: limit 0xfff, byte granular) */
    0xC7, 0x05, 0x24, 0x10, 0x00, 0x00, 0x00, 0x92, 0x40, 0x00,  /* mov dword [0x1024], 0x409200 (DPL 0 data) */
    0x0F, 0x01, 0x15, 0x00, 0x20, 0x00, 0x00,           /* lgdt [0x2000] (the VMM's shadow) */
    0xB9, 0x20, 0x00, 0x00, 0x00,                       /* mov ecx, 0x20 */
    0x8E, 0xE1,                                         /* mov fs, ecx */
    0xB8, 0x66, 0x00, 0x00, 0x00,                       /* mov eax, 0x66 */
    0xBB, 0x77, 0x00, 0x00, 0x00,                       /* mov ebx, 0x77 */
    0x64, 0x0F, 0x02, 0x83, 0x88, 0x0F, 0x00, 0x00,     /* lar eax, fs:[ebx+0xf88] (word at 0xfff: #GP) */
    0xBE, 0x01, 0x00, 0x00, 0x00,                       /* mov esi, 1 (not reached) */
};

static void test_selquery_fault_precise(void)
{
    CU_ASSERT(check_long(selquery_fault_prog, sizeof selquery_fault_prog));
    struct machine *m = fz_machine(1);
    CU_ASSERT_FATAL(m != NULL);
    CU_ASSERT_EQUAL(m->cpu.s.r[R_EAX], 0x66u);
    CU_ASSERT_EQUAL(m->cpu.s.r[R_EBX], 0x77u);
    CU_ASSERT_EQUAL(m->cpu.s.r[R_ESI], 0x20100u);       /* from the prologue: not reached */
}

/* Port 0x80 in the TC: IN gives the POST device's 0xFF, OUT reaches the
   device (last byte, number of writes) as natively, with no callout, and
   the modeled cost drops far below native's port access. */
static void test_emit_post_port(void)
{
    static const uint8_t prog[] = { 0xB0, 0x42, 0xE6, 0x80, 0xE4, 0x80, 0x88, 0xC3, /* out; in */
                                    0xB0, 0x17, 0xE6, 0x80, 0xE6, 0x80 };           /* out; out */
    static const uint8_t none[] = { 0xB0, 0x42, 0x90, 0xB0, 0xFF, 0x88, 0xC3, /* same count */
                                    0xB0, 0x17, 0x90, 0x90 };
    uint64_t cyc[2][2], callouts[2];                            /* [program][engine] */
    for (int k = 0; k < 2; k++) {
        uint64_t c0[2] = { fz_machine(0)->cpu.cycles, fz_machine(1)->cpu.cycles };
        CU_ASSERT(check_units(k ? prog : none, k ? sizeof prog : sizeof none));
        for (int bt = 0; bt < 2; bt++)
            cyc[k][bt] = fz_machine(bt)->cpu.cycles - c0[bt];
        callouts[k] = bt_counters(vmm_bt(fz_machine(1)->vmm))->callouts;
    }
    struct machine *n = fz_machine(0), *b = fz_machine(1);
    CU_ASSERT_EQUAL(n->post.last, 0x17);
    CU_ASSERT_EQUAL(b->post.last, 0x17);
    CU_ASSERT_EQUAL(b->post.writes, n->post.writes);
    CU_ASSERT_EQUAL(callouts[0], callouts[1]);
    CU_ASSERT(cyc[1][0] - cyc[0][0] > 4 * 1000);                /* 4 native port accesses */
    CU_ASSERT(cyc[1][1] - cyc[0][1] < 4 * 1000);                /* 4 tc_emulate */
    CU_ASSERT(cyc[1][1] - cyc[0][1] >= 4 * 200);
}

static void test_emit_branches(void)
{
    UNIT(0x31, 0xC0, 0x74, 0x02, 0x40, 0x40, 0x75, 0x01, 0x40);       /* jz taken, jnz not */
    UNIT(0xB9, 0x04, 0, 0, 0, 0x40, 0xE2, 0xFD);                      /* loop */
    UNIT(0xE8, 0x02, 0, 0, 0, 0xEB, 0x02, 0x40, 0xC3);                /* call/ret */
    UNIT(0xE8, 0, 0, 0, 0, 0x58, 0x83, 0xC0, 0x07, 0xFF, 0xD0, 0x90, 0x90, 0x43, 0x5A);
}

static void test_emit_int_iret(void)
{
    UNIT(0xCD, 0x30, 0xCD, 0x30, 0x9C, 0x58);
}

static void test_emit_string(void)
{
    UNIT(0xFC, 0xBE, 0x00, 0x01, 0x02, 0, 0xBF, 0x00, 0x08, 0x02, 0, 0xB9, 0x10, 0, 0, 0,
         0xF3, 0xA5);
}

static int fuzz_count(void)
{
    const char *e = getenv("BT_FUZZ_N");
    int n = e ? atoi(e) : 10000;
    return n > 0 ? n : 10000;
}

static void test_fuzz(void)
{
    int n = fuzz_count(), failures = 0, bad_native = 0;
    static struct prog pg;
    char why[160];
    for (int i = 1; i <= n && failures < 3; i++) {
        gen_prog(&pg, (uint32_t)i);
        if (!prog_differs(&pg, why, sizeof why)) {
            bad_native += strstr(why, "did not exit") != NULL;
            why[0] = 0;
            continue;
        }
        shrink(&pg);
        prog_differs(&pg, why, sizeof why);
        print_repro(&pg, why);
        failures++;
    }
    CU_ASSERT_EQUAL(failures, 0);
    CU_ASSERT(bad_native < n / 100 + 1);        /* the generator makes valid programs */
}

static int fuzz_clean(void)
{
    fz_cleanup();
    return 0;
}

void suite_bt_fuzz_register(void)
{
    CU_pSuite s = CU_add_suite("bt_fuzz", NULL, fuzz_clean);
    CU_add_test(s, "IDENT instructions", test_emit_ident);
    CU_add_test(s, "CLI/STI/PUSHF/POPF under the virtual flags", test_emit_cli_sti_pushf);
    CU_add_test(s, "PUSH/MOV of CS and SS show the virtual RPL", test_emit_segment_reads);
    CU_add_test(s, "SGDT SIDT SMSW STR LAR LSL VERR VERW from virtual state",
                test_emit_sensitive_reads);
    CU_add_test(s, "in-TC SGDT SIDT SLDT STR SMSW, all operand forms", test_emit_sysread_in_tc);
    CU_add_test(s, "in-TC sensitive reads make no callouts", test_sysread_no_callouts);
    CU_add_test(s, "a fault in an in-TC read is precise", test_sysread_fault_precise);
    CU_add_test(s, "in-TC LAR LSL VERR VERW, all operand forms", test_selquery_in_tc);
    CU_add_test(s, "in-TC LAR/LSL/VERx: LDT and large selectors call out", test_selquery_callouts);
    CU_add_test(s, "in-TC LAR/LSL/VERx follow a GDT rewrite", test_selquery_gdt_rewrite);
    CU_add_test(s, "in-TC LAR/LSL/VERx follow a GDT rewrite under paging",
                test_selquery_gdt_rewrite_paging);
    CU_add_test(s, "a fault in an in-TC LAR is precise", test_selquery_fault_precise);
    CU_add_test(s, "port 0x80 IN/OUT in the TC", test_emit_post_port);
    CU_add_test(s, "Jcc, LOOP, CALL/RET, indirect CALL", test_emit_branches);
    CU_add_test(s, "INT n and IRET frames", test_emit_int_iret);
    CU_add_test(s, "REP string instructions", test_emit_string);
    CU_add_test(s, "differential fuzzer (BT_FUZZ_N sequences)", test_fuzz);
}
