/*
 * fuzz_kernel_image.c - the guest image of a kernel-fuzzer program
 * (docs/fuzzing.md): the runtime (fuzz_kernel_rt.S) at FK_BASE, the GDT with
 * its hostile descriptors, the IDT pointing at the runtime's stubs, the TSS,
 * the variables the prologue reads, the page tables (data page 2 read-only,
 * 3 absent, 4 supervisor), the seeded data pages and the units, each behind
 * the store of its resume address, with their relocations applied.
 */
#include <string.h>
#include "fuzz_kernel.h"
#include "fuzz_common.h"

extern const uint8_t fkrt_start[], fkrt_end[], fkrt_stubs[], fkrt_epi0[], fkrt_epi3[];

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
