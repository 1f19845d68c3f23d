/*
 * seg.c - segment descriptors and segment-register loads.
 *
 * A selector names a descriptor in the GDT or the current LDT (TI bit).
 * Loading a segment register checks the descriptor against the privilege
 * rules of Intel SDM vol. 3, 5.5-5.8 (and the MOV/POP/LDS pseudo-code of
 * vol. 2) and copies base, limit and attributes into the register's hidden
 * part, which every later access uses without looking at the table again -
 * the reason a VMM can leave stale "hidden" segments behind.
 *
 *   DS/ES/FS/GS: null selector allowed (the register becomes unusable);
 *                data or readable code; for data and non-conforming code
 *                max(CPL, RPL) <= DPL; not present -> #NP(sel).
 *   SS:          null -> #GP(0); RPL = DPL = CPL; writable data;
 *                not present -> #SS(sel).
 *   any:         index beyond the table limit -> #GP(sel).
 *
 * Descriptor-table reads are implicit supervisor accesses: they ignore CPL
 * for paging's U/S check. Loading a descriptor sets its accessed bit.
 */
#include <assert.h>
#include "ops_system.h"

/* Read the descriptor for `sel`; raise vec(sel + ext) past the limit. */
static uint64_t desc_fetch(struct cpu *cpu, uint16_t sel, int vec, int ext)
{
    uint64_t d;
    if (!seg_try_read_desc(cpu, sel, &d))
        cpu_raise(cpu, vec, (sel & 0xfffcu) | (uint32_t)ext);
    return d;
}

/* Linear address of the descriptor for `sel`, or false if out of limits. */
static bool desc_addr(struct cpu *cpu, uint16_t sel, uint32_t *lin)
{
    const struct dtr *gdt = &cpu->s.gdtr;
    const struct seg *ldt = &cpu->s.ldtr;
    uint32_t index = sel & ~7u;
    if (sel & 4u) {
        if (!(ldt->flags & SEGF_P) || index + 7 > ldt->limit)
            return false;
        *lin = ldt->base + index;
    } else {
        if (index + 7 > gdt->limit)
            return false;
        *lin = gdt->base + index;
    }
    return true;
}

bool seg_try_read_desc(struct cpu *cpu, uint16_t sel, uint64_t *desc)
{
    uint32_t lin;
    if (!desc_addr(cpu, sel, &lin))
        return false;
    uint32_t lo = mem_read_lin(cpu, lin, 4, false);
    uint32_t hi = mem_read_lin(cpu, lin + 4, 4, false);
    *desc = ((uint64_t)hi << 32) | lo;
    return true;
}

uint64_t seg_read_desc(struct cpu *cpu, uint16_t sel, int vec)
{
    return desc_fetch(cpu, sel, vec, 0);
}

void seg_from_desc(struct seg *s, uint16_t sel, uint64_t desc)
{
    uint32_t lo = (uint32_t)desc, hi = desc_hi(desc);
    s->sel = sel;
    s->base = (lo >> 16) | ((hi & 0xffu) << 16) | (hi & 0xff000000u);
    s->limit = (lo & 0xffffu) | (hi & 0x000f0000u);
    if (hi & 0x00800000u)
        s->limit = (s->limit << 12) | 0xfffu;
    s->flags = (hi >> 8) & 0xf0ffu;
}

void seg_set_accessed(struct cpu *cpu, uint16_t sel, uint64_t desc)
{
    uint32_t lin, hi = desc_hi(desc);
    if (!desc_s(desc) || (hi & 0x100u) || !desc_addr(cpu, sel, &lin))
        return;
    mem_write_lin(cpu, lin + 4, 4, hi | 0x100u, false);
}

#define DESC_ACCESSED (1ull << 40) /* type bit 0 of a code/data descriptor */

/* Fill a register from a checked descriptor, marking it accessed. */
void seg_commit(struct cpu *cpu, struct seg *s, uint16_t sel, uint64_t d)
{
    seg_set_accessed(cpu, sel, d);
    seg_from_desc(s, sel, d | (desc_s(d) ? DESC_ACCESSED : 0));
}

static void seg_make_null(struct seg *s, uint16_t sel)
{
    s->sel = sel;
    s->base = 0;
    s->limit = 0;
    s->flags = 0;
}

uint64_t seg_check_stack(struct cpu *cpu, uint16_t sel, int dpl, int vec, int ext)
{
    uint32_t err = (sel & 0xfffcu) | (uint32_t)ext;
    if ((sel & 0xfffcu) == 0)
        cpu_raise(cpu, vec, (uint32_t)ext);
    uint64_t d = desc_fetch(cpu, sel, vec, ext);
    if ((int)(sel & 3u) != dpl || !desc_s(d) || desc_is_code(d) ||
        !(desc_type(d) & 2u) || (int)desc_dpl(d) != dpl)
        cpu_raise(cpu, vec, err);
    if (!desc_present(d))
        cpu_raise(cpu, EXC_SS, err);
    return d;
}

static void seg_load_data(struct cpu *cpu, int sreg, uint16_t sel)
{
    if ((sel & 0xfffcu) == 0) {
        seg_make_null(&cpu->s.seg[sreg], sel);
        return;
    }
    uint64_t d = seg_read_desc(cpu, sel, EXC_GP);
    unsigned dpl = desc_dpl(d), rpl = sel & 3u, cpl = (unsigned)cpu->s.cpl;
    if (!desc_s(d) || (desc_is_code(d) && !(desc_type(d) & 2u)))
        cpu_raise_sel(cpu, EXC_GP, sel);
    if (!desc_is_conforming(d) && (rpl > dpl || cpl > dpl))
        cpu_raise_sel(cpu, EXC_GP, sel);
    if (!desc_present(d))
        cpu_raise_sel(cpu, EXC_NP, sel);
    seg_commit(cpu, &cpu->s.seg[sreg], sel, d);
}

void seg_load(struct cpu *cpu, int sreg, uint16_t sel)
{
    assert(sreg >= 0 && sreg < S_COUNT && sreg != S_CS);
    if (sreg != S_SS) {
        seg_load_data(cpu, sreg, sel);
        return;
    }
    if ((sel & 0xfffcu) == 0)
        cpu_raise(cpu, EXC_GP, 0);
    /* SS violations other than not-present are #GP(sel) (MOV/POP SS). */
    uint64_t d = seg_check_stack(cpu, sel, cpu->s.cpl, EXC_GP, 0);
    seg_commit(cpu, &cpu->s.seg[S_SS], sel, d);
}

void seg_load_cs(struct cpu *cpu, uint16_t sel, uint64_t desc, int cpl)
{
    int old = cpu->s.cpl;
    sel = (uint16_t)((sel & ~3u) | (unsigned)cpl);
    seg_commit(cpu, &cpu->s.seg[S_CS], sel, desc);
    cpu->s.cpl = cpl;
    if (old != cpl && cpu->hooks.on_ring_change)
        cpu->hooks.on_ring_change(cpu->hooks.ctx, old, cpl, cpu->s.eip);
}

void seg_null_outer(struct cpu *cpu)
{
    static const int regs[] = { S_ES, S_DS, S_FS, S_GS };
    for (unsigned i = 0; i < 4; i++) {
        struct seg *s = &cpu->s.seg[regs[i]];
        uint32_t f = s->flags;
        bool conforming_code = (f & 0xcu) == 0xcu;
        if ((f & SEGF_P) && !conforming_code && (int)SEGF_DPL(f) < cpu->s.cpl)
            seg_make_null(s, 0);
    }
}

void tss_stack(struct cpu *cpu, int dpl, uint16_t *ss, uint32_t *esp, int ext)
{
    const struct seg *tr = &cpu->s.tr;
    uint32_t err = (tr->sel & 0xfffcu) | (uint32_t)ext;
    unsigned type = SEGF_TYPE(tr->flags);
    if (!(tr->flags & SEGF_P) || (type & 5u) != 1u)
        cpu_raise(cpu, EXC_TS, err);
    if (type & 8u) {                          /* 32-bit TSS */
        uint32_t off = 4u + 8u * (uint32_t)dpl;
        if (off + 5 > tr->limit)
            cpu_raise(cpu, EXC_TS, err);
        *esp = mem_read_lin(cpu, tr->base + off, 4, false);
        *ss = (uint16_t)mem_read_lin(cpu, tr->base + off + 4, 2, false);
    } else {                                  /* 16-bit TSS */
        uint32_t off = 2u + 4u * (uint32_t)dpl;
        if (off + 3 > tr->limit)
            cpu_raise(cpu, EXC_TS, err);
        *esp = mem_read_lin(cpu, tr->base + off, 2, false);
        *ss = (uint16_t)mem_read_lin(cpu, tr->base + off + 2, 2, false);
    }
}
