/*
 * bt_emu.c - the sensitive reads, answered from virtual state.
 *
 * Robin & Irvine's sensitive-but-unprivileged instructions that only *read*
 * privileged state (SGDT, SIDT, SLDT, STR, SMSW, LAR, LSL, VERR, VERW, MOV
 * from a segment register, PUSH of one) never trap, so the trap-and-emulate
 * monitor has no routine for them: they leak the VMM's tables and ring 1.
 * Under binary translation they never run on the hardware; a callout lands
 * here and each one answers as bare hardware would for the guest at virtual
 * CPL 0: the guest's GDTR/IDTR/LDTR/TR and CR0 from the vcpu, the guest's
 * own descriptors (DPL as the guest wrote them) from its GDT in guest
 * memory, and selectors with the RPL the guest loaded. Semantics mirror the
 * CPU's handlers (sim/cpu/ops_system.c; Intel SDM vol. 2).
 */
#include "bt_internal.h"

#include <string.h>

/* r/m destination of a selector-sized result: register (opsize) or m16. */
static int put_rm(struct vmm *v, const struct insn *in, uint32_t val, struct emu_fault *f)
{
    if (in->mod == 3) {
        emu_set_reg(v, in->rm, in->opsize, val);
        return EMU_NEXT;
    }
    return emu_mem_write(v, in->seg, emu_ea(v, in), &val, 2, f);
}

static int store_dtr(struct vmm *v, const struct insn *in, const struct dtr *d,
                     struct emu_fault *f)
{
    uint8_t b[6];
    memcpy(b, &d->limit, 2);
    memcpy(b + 2, &d->base, 4);
    return emu_mem_write(v, in->seg, emu_ea(v, in), b, 6, f);
}

static void set_zf(struct vmm *v, bool zf)
{
    uint32_t fl = cpu_get_eflags(v->cpu);
    cpu_set_eflags(v->cpu, zf ? fl | FL_ZF : fl & ~FL_ZF);
}

/* Visible to LAR/LSL/VERx at virtual CPL 0: conforming code, or DPL >= RPL. */
static bool visible(uint16_t sel, uint64_t d)
{
    bool conforming = desc_code(d) && (desc_type(d) & 4u);
    return conforming || desc_dpl(d) >= (sel & 3u);
}

static bool probe(struct vmm *v, uint16_t sel, bool lar, uint64_t *d)
{
    if ((sel & 0xFFFCu) == 0 || !guest_desc(v, sel, d))
        return false;
    if (!desc_s(*d)) {
        unsigned ok = lar ? 0x1a3eu : 0x0a0eu;   /* valid system types */
        if (!((ok >> desc_type(*d)) & 1u))
            return false;
    }
    return visible(sel, *d);
}

static int emu_lar_lsl(struct vmm *v, const struct insn *in, bool lar, struct emu_fault *f)
{
    uint32_t sel;
    uint64_t d;
    int rc = emu_rm_read(v, in, 2, &sel, f);
    if (rc != EMU_NEXT)
        return rc;
    bool ok = probe(v, (uint16_t)sel, lar, &d);
    if (ok && lar) {
        emu_set_reg(v, in->reg, in->opsize, (uint32_t)(d >> 32) & 0x00F0FF00u);
    } else if (ok) {
        struct seg s;
        desc_to_seg(&s, (uint16_t)sel, d);
        emu_set_reg(v, in->reg, in->opsize, s.limit);
    }
    set_zf(v, ok);
    return EMU_NEXT;
}

static int emu_verify(struct vmm *v, const struct insn *in, bool write, struct emu_fault *f)
{
    uint32_t sel;
    uint64_t d;
    int rc = emu_rm_read(v, in, 2, &sel, f);
    if (rc != EMU_NEXT)
        return rc;
    bool ok = (sel & 0xFFFCu) && guest_desc(v, (uint16_t)sel, &d) && desc_s(d) &&
              visible((uint16_t)sel, d);
    if (ok && write)
        ok = !desc_code(d) && (desc_type(d) & 2u);
    else if (ok)
        ok = !desc_code(d) || (desc_type(d) & 2u);
    set_zf(v, ok);
    return EMU_NEXT;
}

/* ---- the selector table of the in-TC LAR/LSL/VERR/VERW ---- */

/* What LAR, LSL, VERR and VERW answer for `sel` at virtual CPL 0 (have:
   its descriptor `d` could be read within the GDT limit): the rules of
   probe() and emu_verify() above, as a table entry (bt_internal.h). */
static void seltab_entry(uint16_t sel, bool have, uint64_t d, uint32_t out[2])
{
    out[0] = out[1] = 0;
    if (sel & 4u) {
        out[0] = SELT_CALLOUT;                   /* LDT: not in the table */
        return;
    }
    if (!(sel & 0xFFFCu) || !have || !visible(sel, d))
        return;
    bool sys = !desc_s(d);
    unsigned t = desc_type(d);
    if (!sys || ((0x1a3eu >> t) & 1u))
        out[0] |= ((uint32_t)(d >> 32) & 0x00F0FF00u) | SELT_LAR;
    if (!sys || ((0x0a0eu >> t) & 1u)) {
        struct seg sg;
        desc_to_seg(&sg, sel, d);
        out[1] = sg.limit;
        out[0] |= SELT_LSL;
    }
    if (!sys && (!desc_code(d) || (t & 2u)))
        out[0] |= SELT_VERR;
    if (!sys && !desc_code(d) && (t & 2u))
        out[0] |= SELT_VERW;
}

/* traced: the GDT's pages are write-protected; if not, every entry is a
   callout (an untraced table could go stale). */
static void seltab_build(struct vmm *v, bool traced)
{
    uint8_t *tab = v->cpu->bus.ram + v->region_pa + BT_OFF_SELTAB;
    for (uint32_t i = 0; i < BT_SELTAB_N / 8u; i++) {
        uint64_t d = 0;
        bool have = traced && i > 0 && guest_desc(v, (uint16_t)(i * 8u), &d);
        for (uint32_t k = 0; k < 8u; k++) {
            uint32_t e[2] = { SELT_CALLOUT, 0 };
            if (traced)
                seltab_entry((uint16_t)(i * 8u + k), have, d, e);
            memcpy(tab + (i * 8u + k) * 8u, e, 8);
        }
    }
}

/* Write-protect the pages of the guest GDT (guest paging off: linear =
   guest physical); a store there faults into bt_smc_fault, which drops
   the protection and with it the table's validity (tcache.c). */
static bool seltab_protect(struct bt *bt)
{
    const struct dtr *g = &bt->v->vc.gdtr;
    uint32_t last = (uint32_t)(((uint64_t)g->base + g->limit) >> 12);
    bool all = true;
    for (uint32_t p = g->base >> 12; p <= last && p < 0x100000u; p++) {
        tc_protect_gdt_page(bt, p << 12);
        all = all && tc_page_protected(bt, p << 12);
    }
    return all;
}

void bt_seltab_sync(struct bt *bt)
{
    struct vmm *v = bt->v;
    struct bt_seltab *t = &bt->sel;
    uint32_t pg = v->vc.cr0 & CR0_PG;
    if (!t->used || (t->valid && t->base == v->vc.gdtr.base && t->limit == v->vc.gdtr.limit &&
                     t->pg == pg && t->cr3 == v->vc.cr3))
        return;
    t->base = v->vc.gdtr.base;
    t->limit = v->vc.gdtr.limit;
    t->pg = pg;
    t->cr3 = v->vc.cr3;
    /* shadow paging traces the GDT itself (spt_gdt_loaded, shadow_gdt_rebuild) */
    bool traced = spt_active(v) || seltab_protect(bt);
    t->valid = true;
    seltab_build(v, traced);
}

/* PUSH sreg with the guest-visible selector (a 32-bit push zero-extends). */
static int emu_push_sreg(struct vmm *v, const struct insn *in, struct emu_fault *f)
{
    uint32_t sel = guest_visible_sel(v->cpu->s.seg[in->row->sreg].sel);
    uint32_t sp = v->cpu->s.r[R_ESP] - (uint32_t)in->opsize;
    int rc = emu_mem_write(v, S_SS, sp, &sel, (uint32_t)in->opsize, f);
    if (rc == EMU_NEXT)
        v->cpu->s.r[R_ESP] = sp;
    return rc;
}

static int emu_group0(struct vmm *v, const struct insn *in, struct emu_fault *f)
{
    switch (in->reg) {
    case 0: return put_rm(v, in, v->vc.ldtr, f);                  /* SLDT */
    case 1: return put_rm(v, in, v->vc.tr, f);                    /* STR */
    case 4: return emu_verify(v, in, false, f);
    case 5: return emu_verify(v, in, true, f);
    default: return emu_fault(f, EXC_UD, 0);
    }
}

static int emu_group1(struct vmm *v, const struct insn *in, struct emu_fault *f)
{
    switch (in->reg) {
    case 0: return store_dtr(v, in, &v->vc.gdtr, f);              /* SGDT */
    case 1: return store_dtr(v, in, &v->vc.idtr, f);              /* SIDT */
    case 4: return put_rm(v, in, in->mod == 3 ? v->vc.cr0 : v->vc.cr0 & 0xFFFFu, f);
    default: return emu_fault(f, EXC_UD, 0);
    }
}

bool bt_adaptable(const struct insn *in)
{
    const struct op_row *r = in->row;
    return r->map == MAP_1B && in->mod != 3 && !in->lock && !in->rep &&
           (r->opcode == 0x88 || r->opcode == 0x89 || r->opcode == 0xC6 || r->opcode == 0xC7);
}

/* An adapted store (adaptive BT, bt_internal.h): MOV m, reg|imm written by
   the VMM through the guest's segment and tables; gmem_write keeps traced
   shadows (and translations of the page) coherent, so nothing faults. A
   fault the guest's own tables or segment give is the guest's. */
int bt_adapted_store(struct vmm *v, const struct insn *in, struct emu_fault *f)
{
    bool byte = in->opcode == 0x88 || in->opcode == 0xC6;
    int size = byte ? 1 : in->opsize;
    uint32_t val = in->opcode >= 0xC6 ? in->imm : emu_reg(v, in->reg, size);
    return emu_mem_write(v, in->seg, emu_ea(v, in), &val, (uint32_t)size, f);
}

int bt_emu_insn(struct vmm *v, const struct insn *in, struct emu_fault *f)
{
    const struct op_row *r = in->row;
    if (r->map == MAP_0F && r->opcode == 0x00)
        return emu_group0(v, in, f);
    if (r->map == MAP_0F && r->opcode == 0x01)
        return emu_group1(v, in, f);
    if (r->map == MAP_0F && (r->opcode == 0x02 || r->opcode == 0x03))
        return emu_lar_lsl(v, in, r->opcode == 0x02, f);
    if (r->opd[1] == O_Sw)                                        /* MOV r/m, sreg */
        return put_rm(v, in, guest_visible_sel(v->cpu->s.seg[in->reg].sel), f);
    if (r->opd[0] == O_SEG)
        return emu_push_sreg(v, in, f);
    if (r->map == MAP_1B && r->opcode == 0x9C)
        return emu_pushf(v, in, f);
    if (r->map == MAP_1B && r->opcode == 0xFA)
        return emu_cli(v, in, f);
    return emu_insn(v, in, f);
}
