/*
 * emulate.c - the emulation library, part 1: privileged instructions.
 *
 * Each routine performs one x86 operation the way the SDM describes it, but
 * against the vcpu instead of the hardware registers it would change: CLI
 * and STI flip the *virtual* IF, MOV CRn reads and writes the guest's
 * control registers, LGDT records the guest's GDT and rebuilds the shadow,
 * HLT halts the virtual CPU. Guest memory operands are read through the
 * guest's segments (base + offset, limit checked); registers are the
 * hardware's, which hold the guest's values. Checks are made at the virtual
 * CPL and virtual IOPL, so a routine gives the fault the guest would get on
 * bare hardware. The dispatcher at the end maps decoded opcodes (optable.h)
 * to routines; segment-related ones live in emulate_seg.c.
 */
#include "vmm_internal.h"

#include <string.h>

int emu_fault(struct emu_fault *f, int vector, uint32_t err)
{
    f->vector = vector;
    f->err = err;
    f->has_err = intr_has_err(vector);
    f->cr2 = 0;
    return EMU_FAULT;
}

static int emu_stop(struct vmm *v, const char *msg)
{
    v->stop_msg = msg;
    return EMU_STOP;
}

/* ---- operands ---- */

uint32_t emu_ea(struct vmm *v, const struct insn *in)
{
    const uint32_t *r = v->cpu->s.r;
    uint32_t ea = in->disp;
    if (in->base < 8)
        ea += r[in->base];
    if (in->index < 8)
        ea += r[in->index] << in->scale;
    return in->adsize == 4 ? ea : ea & 0xFFFFu;
}

uint32_t emu_reg(struct vmm *v, int reg, int size)
{
    const uint32_t *r = v->cpu->s.r;
    if (size == 4)
        return r[reg];
    if (size == 2)
        return r[reg] & 0xFFFFu;
    return reg < 4 ? r[reg] & 0xFFu : (r[reg - 4] >> 8) & 0xFFu;
}

void emu_set_reg(struct vmm *v, int reg, int size, uint32_t val)
{
    uint32_t *r = v->cpu->s.r;
    if (size == 4)
        r[reg] = val;
    else if (size == 2)
        r[reg] = (r[reg] & 0xFFFF0000u) | (val & 0xFFFFu);
    else if (reg < 4)
        r[reg] = (r[reg] & 0xFFFFFF00u) | (val & 0xFFu);
    else
        r[reg - 4] = (r[reg - 4] & 0xFFFF00FFu) | (val & 0xFFu) << 8;
}

/* Type and limit check of seg:off..off+len-1 (SDM vol. 3, 5.3 and 5.4),
   as the hardware's (mem.c): a null or system segment, a write to code or
   read-only data, a read of execute-only code, and offsets outside the
   segment (above the limit, or for expand-down at or below it) fail. */
bool emu_seg_access_ok(const struct seg *s, uint32_t off, uint32_t len, bool write)
{
    uint32_t type = SEGF_TYPE(s->flags), last = off + len - 1u;
    if (!(s->flags & SEGF_P) || !(s->flags & SEGF_S))
        return false;
    if ((type & 8u) ? (write || !(type & 2u)) : (write && !(type & 2u)))
        return false;
    if (!(type & 8u) && (type & 4u)) {              /* expand-down data */
        uint32_t upper = (s->flags & SEGF_DB) ? 0xFFFFFFFFu : 0xFFFFu;
        return off > s->limit && last >= off && last <= upper;
    }
    return last >= off && last <= s->limit;
}

/* buf NULL: check and translate only (a probe before a side effect). The
   checks use the guest's own segment, not the hardware's truncated one:
   gmem never reaches the VMM region whatever the linear address. */
static int emu_mem_access(struct vmm *v, int sreg, uint32_t off, void *buf, uint32_t len,
                          bool write, struct emu_fault *f)
{
    struct seg s;
    shadow_guest_seg(v, sreg, &s);
    if (!emu_seg_access_ok(&s, off, len, write))
        return emu_fault(f, sreg == S_SS ? EXC_SS : EXC_GP, 0);
    unsigned how = (write ? GMEM_WRITE : 0u) | (v->vc.cpl == 3 ? GMEM_USER : 0u) |
                   (buf ? 0u : GMEM_PROBE);
    return gmem_access(v, s.base + off, buf, len, how, f);
}

int emu_mem_read(struct vmm *v, int sreg, uint32_t off, void *buf, uint32_t len,
                 struct emu_fault *f)
{
    return emu_mem_access(v, sreg, off, buf, len, false, f);
}

int emu_mem_write(struct vmm *v, int sreg, uint32_t off, const void *buf, uint32_t len,
                  struct emu_fault *f)
{
    return emu_mem_access(v, sreg, off, (void *)buf, len, true, f);
}

int emu_rm_read(struct vmm *v, const struct insn *in, int size, uint32_t *val,
                struct emu_fault *f)
{
    if (in->mod == 3) {
        *val = emu_reg(v, in->rm, size);
        return EMU_NEXT;
    }
    *val = 0;
    return emu_mem_read(v, in->seg, emu_ea(v, in), val, (uint32_t)size, f);
}

/* ---- flags under the virtual IF/IOPL ---- */

uint32_t emu_guest_eflags(struct vmm *v)
{
    uint32_t fl = cpu_get_eflags(v->cpu) & ~(FL_IF | FL_IOPL);
    return fl | (vcpu_if(&v->vc) ? FL_IF : 0) | v->vc.iopl << 12;
}

void emu_set_guest_eflags(struct vmm *v, uint32_t val, uint32_t mask)
{
    uint32_t real = cpu_get_eflags(v->cpu);
    uint32_t hw = mask & ~(FL_IF | FL_IOPL | FL_VM);
    real = (real & ~hw) | (val & hw);
    if (mask & FL_IF)
        v->vc.vif = (val & FL_IF) != 0;
    if (mask & FL_IOPL)
        v->vc.iopl = (val & FL_IOPL) >> 12;
    cpu_set_eflags(v->cpu, ((real & ~FL_IF) | vmm_guest_hw_if(v) | FL_FIXED1) & ~FL_IOPL);
}

/* ---- interrupt flag, halt ---- */

static bool emu_iopl_ok(const struct vmm *v)
{
    return (uint32_t)v->vc.cpl <= v->vc.iopl;
}

int emu_cli(struct vmm *v, const struct insn *in, struct emu_fault *f)
{
    if (!emu_iopl_ok(v))
        return emu_fault(f, EXC_GP, 0);
    v->vc.vif = false;
    return EMU_NEXT;
}

/* STI holds interrupts for one more instruction if IF was 0 (SDM vol. 2, STI). */
int emu_sti(struct vmm *v, const struct insn *in, struct emu_fault *f)
{
    if (!emu_iopl_ok(v))
        return emu_fault(f, EXC_GP, 0);
    if (!v->vc.vif) {
        v->vc.sti_shadow = true;
        v->cpu->s.inhibit_irq = 1;
    }
    v->vc.vif = true;
    return EMU_NEXT;
}

int emu_hlt(struct vmm *v, const struct insn *in, struct emu_fault *f)
{
    if (v->vc.cpl != 0)
        return emu_fault(f, EXC_GP, 0);
    v->vc.halted = true;
    return EMU_HALT;
}

/* ---- port I/O ---- */

/* CPL <= IOPL, else the guest TSS's I/O permission bitmap decides (SDM
   vol. 1, 19.5.2), as io_allowed() does natively: a bitmap past the TSS
   limit, or a set bit for any byte of the access, is #GP(0). The TSS is
   read with supervisor rights (a #PF there is reflected as one). */
static int emu_io_ok(struct vmm *v, uint16_t port, int size, struct emu_fault *f)
{
    if ((uint32_t)v->vc.cpl <= v->vc.iopl)
        return EMU_NEXT;
    uint16_t map = 0, bits = 0;
    if ((v->vc.tr & 0xFFFCu) == 0 || v->vc.tss_limit < 0x67u)
        return emu_fault(f, EXC_GP, 0);
    int rc = gmem_read(v, v->vc.tss_base + 0x66u, &map, 2, f);
    if (rc != EMU_NEXT)
        return rc;
    uint32_t off = map + port / 8u;
    if (off + 1u > v->vc.tss_limit)
        return emu_fault(f, EXC_GP, 0);
    rc = gmem_read(v, v->vc.tss_base + off, &bits, 2, f);
    if (rc != EMU_NEXT)
        return rc;
    uint32_t want = ((1u << size) - 1u) << (port & 7u);
    return (bits & want) ? emu_fault(f, EXC_GP, 0) : EMU_NEXT;
}

static int io_size(const struct insn *in)
{
    return (in->row->attr & A_BYTE) ? 1 : in->opsize;
}

/* The guest's port access, made by the VMM. The bus charges nothing
   (machine.c); the engine charges its own cost (trap_emulate, a callout),
   while bare hardware would have paid native_in for this access: that is
   this visit's native equivalent (docs/costs.md). */
static uint32_t emu_port_in(struct vmm *v, uint16_t port, int size)
{
    struct cpu *c = v->cpu;
    vmm_charge(v, OV_IO, 0, v->costs->v[COST_NATIVE_IN]);
    if (v->hosted)                  /* Type II: the device model lives in the host OS */
        vmm_charge(v, OV_HOSTED_IO, v->costs->v[COST_HOSTED_IO], 0);
    return c->bus.io_in(c->bus.ctx, port, size);
}

static void emu_port_out(struct vmm *v, uint16_t port, int size, uint32_t val)
{
    struct cpu *c = v->cpu;
    vmm_charge(v, OV_IO, 0, v->costs->v[COST_NATIVE_IN]);
    if (v->hosted)
        vmm_charge(v, OV_HOSTED_IO, v->costs->v[COST_HOSTED_IO], 0);
    c->bus.io_out(c->bus.ctx, port, size, val);
}

int emu_in(struct vmm *v, const struct insn *in, struct emu_fault *f)
{
    struct cpu *c = v->cpu;
    uint16_t port = in->row->opd[1] == O_DX ? (uint16_t)c->s.r[R_EDX] : (uint16_t)(in->imm & 0xFFu);
    int size = io_size(in);
    int rc = emu_io_ok(v, port, size, f);
    if (rc != EMU_NEXT)
        return rc;
    emu_set_reg(v, R_EAX, size, emu_port_in(v, port, size));
    return EMU_NEXT;
}

int emu_out(struct vmm *v, const struct insn *in, struct emu_fault *f)
{
    struct cpu *c = v->cpu;
    uint16_t port = in->row->opd[0] == O_DX ? (uint16_t)c->s.r[R_EDX] : (uint16_t)(in->imm & 0xFFu);
    int size = io_size(in);
    int rc = emu_io_ok(v, port, size, f);
    if (rc != EMU_NEXT)
        return rc;
    emu_port_out(v, port, size, emu_reg(v, R_EAX, size));
    return EMU_NEXT;
}

/* One string I/O iteration; ESI/EDI/ECX advance as the hardware's would. */
static int emu_string_io(struct vmm *v, const struct insn *in, bool out, struct emu_fault *f)
{
    struct cpu *c = v->cpu;
    int size = io_size(in), idx = out ? R_ESI : R_EDI;
    uint16_t port = (uint16_t)c->s.r[R_EDX];
    uint32_t amask = in->adsize == 4 ? 0xFFFFFFFFu : 0xFFFFu, val = 0;
    uint32_t off = c->s.r[idx] & amask;
    int rc;
    if (out) {
        rc = emu_mem_read(v, in->seg, off, &val, (uint32_t)size, f);
        if (rc == EMU_NEXT)
            emu_port_out(v, port, size, val);
    } else {            /* the destination is checked before the port is read */
        rc = emu_mem_access(v, S_ES, off, NULL, (uint32_t)size, true, f);
        if (rc == EMU_NEXT) {
            val = emu_port_in(v, port, size);
            rc = emu_mem_write(v, S_ES, off, &val, (uint32_t)size, f);
        }
    }
    if (rc != EMU_NEXT)
        return rc;
    uint32_t step = (cpu_get_eflags(c) & FL_DF) ? (uint32_t)-size : (uint32_t)size;
    c->s.r[idx] = (c->s.r[idx] & ~amask) | ((off + step) & amask);
    return EMU_NEXT;
}

static int emu_rep_io(struct vmm *v, const struct insn *in, bool out, struct emu_fault *f)
{
    struct cpu *c = v->cpu;
    int rc = emu_io_ok(v, (uint16_t)c->s.r[R_EDX], io_size(in), f);
    if (rc != EMU_NEXT)
        return rc;
    if (!in->rep)
        return emu_string_io(v, in, out, f);
    uint32_t amask = in->adsize == 4 ? 0xFFFFFFFFu : 0xFFFFu;
    while (c->s.r[R_ECX] & amask) {
        int rc = emu_string_io(v, in, out, f);
        if (rc != EMU_NEXT)
            return rc;
        uint32_t n = (c->s.r[R_ECX] - 1u) & amask;
        c->s.r[R_ECX] = (c->s.r[R_ECX] & ~amask) | n;
        if (c->stop_now)
            return n ? EMU_JUMP : EMU_NEXT;   /* resume the REP later */
    }
    return EMU_NEXT;
}

int emu_ins(struct vmm *v, const struct insn *in, struct emu_fault *f)
{
    return emu_rep_io(v, in, false, f);
}

int emu_outs(struct vmm *v, const struct insn *in, struct emu_fault *f)
{
    return emu_rep_io(v, in, true, f);
}

/* ---- control and debug registers ---- */

#define CR4_VALID (CR4_VME | CR4_PVI | CR4_TSD | CR4_DE | CR4_PSE | 0x40u | CR4_PGE | 0x100u)

static int emu_write_cr0(struct vmm *v, uint32_t val, struct emu_fault *f)
{
    val |= CR0_ET;
    if ((val & CR0_PG) && !(val & CR0_PE))
        return emu_fault(f, EXC_GP, 0);
    if ((val & CR0_NW) && !(val & CR0_CD))
        return emu_fault(f, EXC_GP, 0);
    if (!(val & CR0_PE))
        return emu_stop(v, "guest left protected mode: real mode is not supported under a VMM");
    uint32_t old = v->vc.cr0;
    v->vc.cr0 = val;
    if (!spt_cr_written(v, 0, old))        /* paging on/off, WP: shadow_pt.c */
        return EMU_STOP;
    return EMU_NEXT;
}

/* CR3/CR4 under shadow paging switch roots or drop shadows (shadow_pt.c). */
static int emu_write_cr34(struct vmm *v, int cr, uint32_t val)
{
    uint32_t *reg = cr == 3 ? &v->vc.cr3 : &v->vc.cr4, old = *reg;
    *reg = val;
    return spt_cr_written(v, cr, old) ? EMU_NEXT : EMU_STOP;
}

int emu_write_cr3(struct vmm *v, uint32_t val)
{
    return emu_write_cr34(v, 3, val);
}

int emu_mov_to_cr(struct vmm *v, const struct insn *in, struct emu_fault *f)
{
    uint32_t val = v->cpu->s.r[in->rm];
    switch (in->reg) {
    case 0: return emu_write_cr0(v, val, f);
    case 2: v->vc.cr2 = val; return EMU_NEXT;
    case 3: return emu_write_cr34(v, 3, val);
    case 4:
        if (val & ~CR4_VALID)
            return emu_fault(f, EXC_GP, 0);
        return emu_write_cr34(v, 4, val);
    default: return emu_fault(f, EXC_UD, 0);
    }
}

int emu_mov_from_cr(struct vmm *v, const struct insn *in, struct emu_fault *f)
{
    const struct vcpu *vc = &v->vc;
    uint32_t val;
    switch (in->reg) {
    case 0: val = vc->cr0; break;
    case 2: val = vc->cr2; break;
    case 3: val = vc->cr3; break;
    case 4: val = vc->cr4; break;
    default: return emu_fault(f, EXC_UD, 0);
    }
    v->cpu->s.r[in->rm] = val;
    return EMU_NEXT;
}

/* DR4/DR5 alias DR6/DR7 unless CR4.DE (SDM vol. 3, 17.2.2). */
static int emu_dr_index(const struct vmm *v, int n)
{
    if (n == 4 || n == 5)
        return (v->vc.cr4 & CR4_DE) ? -1 : n + 2;
    return n;
}

int emu_mov_to_dr(struct vmm *v, const struct insn *in, struct emu_fault *f)
{
    int n = emu_dr_index(v, in->reg);
    if (n < 0)
        return emu_fault(f, EXC_UD, 0);
    v->vc.dr[n] = v->cpu->s.r[in->rm];
    return EMU_NEXT;
}

int emu_mov_from_dr(struct vmm *v, const struct insn *in, struct emu_fault *f)
{
    int n = emu_dr_index(v, in->reg);
    if (n < 0)
        return emu_fault(f, EXC_UD, 0);
    v->cpu->s.r[in->rm] = v->vc.dr[n];
    return EMU_NEXT;
}

int emu_lmsw(struct vmm *v, const struct insn *in, struct emu_fault *f)
{
    uint32_t val;
    int rc = emu_rm_read(v, in, 2, &val, f);
    if (rc != EMU_NEXT)
        return rc;
    uint32_t cr0 = v->vc.cr0;
    v->vc.cr0 = (cr0 & ~0xEu) | (val & 0xFu) | (cr0 & CR0_PE);
    return EMU_NEXT;
}

int emu_clts(struct vmm *v, const struct insn *in, struct emu_fault *f)
{
    v->vc.cr0 &= ~CR0_TS;
    return EMU_NEXT;
}

/* INVLPG: drop the shadow PTE of the page (shadow_pt.c); with guest paging
   off nothing of the guest's is cached. */
int emu_invlpg(struct vmm *v, const struct insn *in, struct emu_fault *f)
{
    spt_invlpg(v, v->cpu->s.seg[in->seg].base + emu_ea(v, in));
    return EMU_NEXT;
}

int emu_cache(struct vmm *v, const struct insn *in, struct emu_fault *f)
{
    return EMU_NEXT;
}

/* ---- descriptor tables ---- */

static int emu_read_dtr(struct vmm *v, const struct insn *in, struct dtr *d,
                        struct emu_fault *f)
{
    uint8_t b[6];
    uint32_t off = emu_ea(v, in);
    int rc = emu_mem_read(v, in->seg, off, b, 6, f);
    if (rc != EMU_NEXT)
        return rc;
    uint32_t base;
    memcpy(&base, b + 2, 4);
    d->limit = (uint16_t)(b[0] | b[1] << 8);
    d->base = in->opsize == 2 ? base & 0xFFFFFFu : base;
    return EMU_NEXT;
}

int emu_lgdt(struct vmm *v, const struct insn *in, struct emu_fault *f)
{
    int rc = emu_read_dtr(v, in, &v->vc.gdtr, f);
    if (rc == EMU_NEXT) {
        shadow_gdt_rebuild(v);
        spt_gdt_loaded(v);              /* trace its frames under guest paging */
    }
    return rc;
}

int emu_lidt(struct vmm *v, const struct insn *in, struct emu_fault *f)
{
    return emu_read_dtr(v, in, &v->vc.idtr, f);
}

int emu_lldt(struct vmm *v, const struct insn *in, struct emu_fault *f)
{
    uint32_t sel;
    int rc = emu_rm_read(v, in, 2, &sel, f);
    if (rc != EMU_NEXT)
        return rc;
    uint64_t d;
    if ((sel & 0xFFFCu) == 0) {
        v->vc.ldtr = 0;                 /* unusable: no LDT selector loads */
        v->vc.ldt_base = v->vc.ldt_limit = 0;
        return EMU_NEXT;
    }
    /* An LDT descriptor in the GDT (SDM vol. 2, LLDT). The hardware LDTR
       stays null: every load of an LDT selector faults and is emulated
       from the guest's LDT (guest_desc), truncated like a GDT entry. */
    if ((sel & 4u) || !guest_desc(v, (uint16_t)sel, &d) || desc_s(d) || desc_type(d) != 2u)
        return emu_fault(f, EXC_GP, sel & 0xFFFCu);
    if (!desc_present(d))
        return emu_fault(f, EXC_NP, sel & 0xFFFCu);
    struct seg s;
    desc_to_seg(&s, (uint16_t)sel, d);
    v->vc.ldtr = (uint16_t)sel;
    v->vc.ldt_base = s.base;
    v->vc.ldt_limit = s.limit;
    return EMU_NEXT;
}

/* LTR (SDM vol. 2): an available TSS in the GDT, then marked busy. */
int emu_ltr(struct vmm *v, const struct insn *in, struct emu_fault *f)
{
    uint32_t sel;
    uint64_t d;
    int rc = emu_rm_read(v, in, 2, &sel, f);
    if (rc != EMU_NEXT)
        return rc;
    if ((sel & 0xFFFCu) == 0)
        return emu_fault(f, EXC_GP, 0);
    if (!guest_desc(v, (uint16_t)sel, &d) || desc_s(d) || (desc_type(d) & 7u) != 1u)
        return emu_fault(f, EXC_GP, sel & 0xFFFCu);
    if (!desc_present(d))
        return emu_fault(f, EXC_NP, sel & 0xFFFCu);
    d |= 2ull << 40;                                   /* busy */
    rc = gmem_write(v, v->vc.gdtr.base + (sel & 0xFFF8u), &d, 8, f);
    if (rc != EMU_NEXT)
        return rc;
    struct seg s;
    desc_to_seg(&s, (uint16_t)sel, d);
    v->vc.tr = (uint16_t)sel;
    v->vc.tss_base = s.base;
    v->vc.tss_limit = s.limit;
    return EMU_NEXT;
}

/* ---- model-specific registers (the ones the CPU models) ---- */

int emu_rdmsr(struct vmm *v, const struct insn *in, struct emu_fault *f)
{
    struct cpu *c = v->cpu;
    uint64_t val;
    switch (c->s.r[R_ECX]) {
    case 0x10: val = c->cycles + c->s.tsc_offset; break;
    case 0x174: val = v->vc.sysenter_cs; break;
    case 0x175: val = v->vc.sysenter_esp; break;
    case 0x176: val = v->vc.sysenter_eip; break;
    default:
        if (!cpu_platform_msr_read(c, c->s.r[R_ECX], &val))   /* the guest's own */
            return emu_fault(f, EXC_GP, 0);
    }
    c->s.r[R_EAX] = (uint32_t)val;
    c->s.r[R_EDX] = (uint32_t)(val >> 32);
    return EMU_NEXT;
}

int emu_wrmsr(struct vmm *v, const struct insn *in, struct emu_fault *f)
{
    struct cpu *c = v->cpu;
    uint64_t val = (uint64_t)c->s.r[R_EDX] << 32 | c->s.r[R_EAX];
    switch (c->s.r[R_ECX]) {
    case 0x10: c->s.tsc_offset = val - c->cycles; break;
    case 0x174: v->vc.sysenter_cs = (uint32_t)val & 0xFFFFu; break;
    case 0x175: v->vc.sysenter_esp = (uint32_t)val; break;
    case 0x176: v->vc.sysenter_eip = (uint32_t)val; break;
    default:
        if (!cpu_platform_msr_write(c, c->s.r[R_ECX], val))
            return emu_fault(f, EXC_GP, 0);
    }
    return EMU_NEXT;
}

/* ---- MMIO: a data move to or from a device page ---- */

/* The data moves (MOV, MOVZX, MOVSX) by their operation. */
static bool emu_is_move(const struct insn *in)
{
    int op = in->row->op;
    return op == OP_MOV || op == OP_MOVZX || op == OP_MOVSX;
}

/* Size in bytes of an operand of kind k (the opcode table's notation). */
static int emu_opd_size(const struct insn *in, int k)
{
    switch (k) {
    case O_Eb: case O_Gb: case O_Ib: case O_Ob: case O_AL: return 1;
    case O_Ew: case O_Gw: case O_Iw: return 2;
    case O_Ed: case O_Gd: return 4;
    default: return in->opsize;
    }
}

static bool emu_opd_is_mem(const struct insn *in, int k)
{
    return k == O_Ob || k == O_Ov || ((k == O_Eb || k == O_Ew || k == O_Ev || k == O_Ed) &&
                                      in->mod != 3);
}

/* The register an operand of kind k names (k not memory, not immediate). */
static int emu_opd_reg(const struct insn *in, int k)
{
    switch (k) {
    case O_Gb: case O_Gw: case O_Gv: case O_Gd: return in->reg;
    case O_AL: case O_eAX: return 0;
    default: return in->rm;                 /* r/m with mod 3 */
    }
}

int emu_mmio_move(struct vmm *v, const struct insn *in, struct emu_fault *f)
{
    if (!emu_is_move(in)) {
        v->stop_msg = NULL;
        return EMU_STOP;
    }
    if (!insn_lock_ok(in))
        return emu_fault(f, EXC_UD, 0);
    int dk = in->row->opd[0], sk = in->row->opd[1];
    int dsz = emu_opd_size(in, dk), ssz = emu_opd_size(in, sk);
    uint32_t val = 0;
    if (emu_opd_is_mem(in, sk)) {
        uint32_t off = (sk == O_Ob || sk == O_Ov) ? in->disp : emu_ea(v, in);
        int rc = emu_mem_read(v, in->seg, off, &val, (uint32_t)ssz, f);
        if (rc != EMU_NEXT)
            return rc;
    } else if (sk == O_Ib || sk == O_Iw || sk == O_Iv) {
        val = ssz == 4 ? in->imm : in->imm & ((1u << (8 * ssz)) - 1u);
    } else {
        val = emu_reg(v, emu_opd_reg(in, sk), ssz);
    }
    if (in->row->op == OP_MOVSX && ssz < 4) {
        uint32_t sign = 1u << (8 * ssz - 1);                  /* MOVSX */
        val = (val ^ sign) - sign;
    }
    if (dsz < 4)
        val &= (1u << (8 * dsz)) - 1u;
    if (emu_opd_is_mem(in, dk)) {
        uint32_t off = (dk == O_Ob || dk == O_Ov) ? in->disp : emu_ea(v, in);
        return emu_mem_write(v, in->seg, off, &val, (uint32_t)dsz, f);
    }
    emu_set_reg(v, emu_opd_reg(in, dk), dsz, val);
    return EMU_NEXT;
}

/* ---- dispatch: operation -> routine ---- */

typedef int (*emu_fn)(struct vmm *, const struct insn *, struct emu_fault *);

static const emu_fn emu_ops[OP_COUNT] = {
    [OP_CLI] = emu_cli, [OP_STI] = emu_sti, [OP_HLT] = emu_hlt,
    [OP_IN] = emu_in, [OP_OUT] = emu_out, [OP_INS] = emu_ins, [OP_OUTS] = emu_outs,
    [OP_IRET] = emu_iret, [OP_PUSHF] = emu_pushf, [OP_POPF] = emu_popf,
    [OP_MOV_TO_SREG] = emu_mov_to_sreg, [OP_POP_SREG] = emu_pop_sreg,
    [OP_LES] = emu_load_far_ptr, [OP_LDS] = emu_load_far_ptr, [OP_LSS] = emu_load_far_ptr,
    [OP_LFS] = emu_load_far_ptr, [OP_LGS] = emu_load_far_ptr,
    [OP_JMP_FAR] = emu_jmp_far, [OP_CALL_FAR] = emu_call_far, [OP_RET_FAR] = emu_ret_far,
    [OP_INT] = emu_int, [OP_INT3] = emu_int, [OP_INTO] = emu_int,
    [OP_LLDT] = emu_lldt, [OP_LTR] = emu_ltr, [OP_LGDT] = emu_lgdt, [OP_LIDT] = emu_lidt,
    [OP_LMSW] = emu_lmsw, [OP_INVLPG] = emu_invlpg, [OP_CLTS] = emu_clts,
    [OP_INVD] = emu_cache, [OP_WBINVD] = emu_cache,
    [OP_MOV_FROM_CR] = emu_mov_from_cr, [OP_MOV_FROM_DR] = emu_mov_from_dr,
    [OP_MOV_TO_CR] = emu_mov_to_cr, [OP_MOV_TO_DR] = emu_mov_to_dr,
    [OP_WRMSR] = emu_wrmsr, [OP_RDMSR] = emu_rdmsr,
};

bool emu_has_routine(enum op_id op)
{
    return (unsigned)op < OP_COUNT && emu_ops[op] != NULL;
}

int emu_insn(struct vmm *v, const struct insn *in, struct emu_fault *f)
{
    if (!insn_lock_ok(in))
        return emu_fault(f, EXC_UD, 0);         /* LOCK on a non-RMW form */
    if (emu_has_routine(in->row->op))
        return emu_ops[in->row->op](v, in, f);
    return emu_stop(v, "a privileged instruction without an emulation routine trapped");
}
