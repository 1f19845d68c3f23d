/*
 * ops_system.c - handlers of the system instructions.
 *
 * Descriptor-table and control-register instructions, privilege and I/O
 * checks, segment-register loads, INT n, and the MSR and SYSENTER/SYSEXIT
 * instructions (far transfers and IRET are in ops_far.c). The pipeline has already applied the row attributes
 * (A_PRIV: CPL 0; A_IOPL: CPL <= IOPL), so the handlers carry only the
 * remaining rules, taken from the pseudo-code of Intel SDM vol. 2.
 *
 * Several of these instructions are the heart of the course: POPF at CPL > 0
 * silently keeps IF and IOPL instead of faulting, and SGDT/SIDT/SLDT/STR/
 * SMSW, LAR/LSL/VERR/VERW and PUSH CS reveal privileged state at any CPL
 * (Robin & Irvine 2000). They are implemented exactly as the manual says,
 * so that a deprivileged guest kernel sees the same leaks it would on a
 * real processor.
 *
 * Every handler reads its memory operands and validates descriptors before
 * it changes any register, so a fault leaves the instruction undone.
 */
#include <stddef.h>
#include "ops_system.h"
#include "exec_internal.h"

/* Size of an r/m operand that is 16 bits in memory but may be 32 bits in a
   register (SLDT, STR, SMSW, MOV from Sreg). */
static int rm_sel_size(const struct insn *in)
{
    return in->mod == 3 ? in->opsize : 2;
}

static void set_zf(struct cpu *cpu, bool zf)
{
    flags_set(cpu, zf ? FL_ZF : 0, FL_ZF);
}

/* ---- descriptor tables ---- */

static void load_dtr(struct cpu *cpu, const struct insn *in, struct dtr *d)
{
    uint32_t ea = insn_ea(cpu, in);
    uint16_t limit = (uint16_t)mem_read(cpu, in->seg, ea, 2);
    uint32_t base = mem_read(cpu, in->seg, ea + 2, 4);
    if (in->opsize == 2)
        base &= 0x00ffffffu;
    d->limit = limit;
    d->base = base;
}

static void store_dtr(struct cpu *cpu, const struct insn *in, const struct dtr *d)
{
    uint32_t ea = insn_ea(cpu, in);
    mem_check_write(cpu, in->seg, ea, 6);
    mem_write(cpu, in->seg, ea, 2, d->limit);
    mem_write(cpu, in->seg, ea + 2, 4, d->base);
}

void op_lgdt(struct cpu *cpu, const struct insn *in) { load_dtr(cpu, in, &cpu->s.gdtr); }
void op_lidt(struct cpu *cpu, const struct insn *in) { load_dtr(cpu, in, &cpu->s.idtr); }
void op_sgdt(struct cpu *cpu, const struct insn *in) { store_dtr(cpu, in, &cpu->s.gdtr); }
void op_sidt(struct cpu *cpu, const struct insn *in) { store_dtr(cpu, in, &cpu->s.idtr); }

void op_sldt(struct cpu *cpu, const struct insn *in)
{
    rm_write(cpu, in, rm_sel_size(in), cpu->s.ldtr.sel);
}

void op_str(struct cpu *cpu, const struct insn *in)
{
    rm_write(cpu, in, rm_sel_size(in), cpu->s.tr.sel);
}

/* LLDT: a null selector leaves LDTR unusable (SDM vol. 2, LLDT). */
void op_lldt(struct cpu *cpu, const struct insn *in)
{
    uint16_t sel = (uint16_t)rm_read(cpu, in, 2);
    if ((sel & 0xfffcu) == 0) {
        cpu->s.ldtr = (struct seg){ .sel = sel };
        return;
    }
    if (sel & 4u)
        cpu_raise_sel(cpu, EXC_GP, sel);
    uint64_t d = seg_read_desc(cpu, sel, EXC_GP);
    if (desc_s(d) || desc_type(d) != 2u)
        cpu_raise_sel(cpu, EXC_GP, sel);
    if (!desc_present(d))
        cpu_raise_sel(cpu, EXC_NP, sel);
    seg_from_desc(&cpu->s.ldtr, sel, d);
}

/* LTR: an available TSS from the GDT, which becomes busy. */
void op_ltr(struct cpu *cpu, const struct insn *in)
{
    uint16_t sel = (uint16_t)rm_read(cpu, in, 2);
    if ((sel & 0xfffcu) == 0)
        cpu_raise(cpu, EXC_GP, 0);
    if (sel & 4u)
        cpu_raise_sel(cpu, EXC_GP, sel);
    uint64_t d = seg_read_desc(cpu, sel, EXC_GP);
    if (desc_s(d) || (desc_type(d) != 1u && desc_type(d) != 9u))
        cpu_raise_sel(cpu, EXC_GP, sel);
    if (!desc_present(d))
        cpu_raise_sel(cpu, EXC_NP, sel);
    d |= 2ull << 40;                             /* busy */
    mem_write_lin(cpu, cpu->s.gdtr.base + (sel & ~7u) + 4, 4, desc_hi(d), false);
    seg_from_desc(&cpu->s.tr, sel, d);
}

/* ---- control and debug registers ---- */

/* LMSW loads PE, MP, EM, TS but cannot clear PE. */
void op_lmsw(struct cpu *cpu, const struct insn *in)
{
    uint32_t v = rm_read(cpu, in, 2) & 0xfu;
    cpu->s.cr0 = (cpu->s.cr0 & ~0xeu) | v | (cpu->s.cr0 & CR0_PE);
}

void op_smsw(struct cpu *cpu, const struct insn *in)
{
    rm_write(cpu, in, rm_sel_size(in), cpu->s.cr0);
}

void op_clts(struct cpu *cpu, const struct insn *in)
{
    cpu->s.cr0 &= ~CR0_TS;
}

void op_invlpg(struct cpu *cpu, const struct insn *in)
{
    tlb_flush_page(cpu, cpu->s.seg[in->seg].base + insn_ea(cpu, in));
}

#define CR4_VALID (CR4_VME | CR4_PVI | CR4_TSD | CR4_DE | CR4_PSE | 0x40u | \
                   CR4_PGE | 0x100u)  /* no PAE: this CPU does not have it */

static void write_cr0(struct cpu *cpu, uint32_t v)
{
    v |= CR0_ET;
    if ((v & CR0_PG) && !(v & CR0_PE))
        cpu_raise(cpu, EXC_GP, 0);
    if ((v & CR0_NW) && !(v & CR0_CD))
        cpu_raise(cpu, EXC_GP, 0);
    if ((v ^ cpu->s.cr0) & (CR0_PG | CR0_WP | CR0_PE))
        tlb_flush_all(cpu);
    cpu->s.cr0 = v;
}

static void write_cr4(struct cpu *cpu, uint32_t v)
{
    if (v & ~CR4_VALID)
        cpu_raise(cpu, EXC_GP, 0);
    if ((v ^ cpu->s.cr4) & (CR4_PSE | CR4_PGE))
        tlb_flush_all(cpu);
    cpu->s.cr4 = v;
}

void op_mov_to_cr(struct cpu *cpu, const struct insn *in)
{
    uint32_t v = reg_read(cpu, in->rm, 4);
    switch (in->reg) {
    case 0: write_cr0(cpu, v); break;
    case 2: cpu->s.cr2 = v; break;
    case 3: cpu->s.cr3 = v; tlb_flush_nonglobal(cpu); break;
    case 4: write_cr4(cpu, v); break;
    default: cpu_raise(cpu, EXC_UD, 0);
    }
}

void op_mov_from_cr(struct cpu *cpu, const struct insn *in)
{
    uint32_t v;
    switch (in->reg) {
    case 0: v = cpu->s.cr0; break;
    case 2: v = cpu->s.cr2; break;
    case 3: v = cpu->s.cr3; break;
    case 4: v = cpu->s.cr4; break;
    default: cpu_raise(cpu, EXC_UD, 0);
    }
    reg_write(cpu, in->rm, 4, v);
}

/* DR4/DR5 alias DR6/DR7 unless CR4.DE (then #UD). Breakpoints are not
   modelled: the registers only hold their values. */
static int dr_index(struct cpu *cpu, int n)
{
    if (n == 4 || n == 5) {
        if (cpu->s.cr4 & CR4_DE)
            cpu_raise(cpu, EXC_UD, 0);
        return n + 2;
    }
    return n;
}

void op_mov_to_dr(struct cpu *cpu, const struct insn *in)
{
    cpu->s.dr[dr_index(cpu, in->reg)] = reg_read(cpu, in->rm, 4);
}

void op_mov_from_dr(struct cpu *cpu, const struct insn *in)
{
    reg_write(cpu, in->rm, 4, cpu->s.dr[dr_index(cpu, in->reg)]);
}

void op_wbinvd(struct cpu *cpu, const struct insn *in) { }
void op_invd(struct cpu *cpu, const struct insn *in) { }

void op_hlt(struct cpu *cpu, const struct insn *in)
{
    cpu->s.halted = true;
}

/* ---- flags ---- */

void op_cli(struct cpu *cpu, const struct insn *in)
{
    cpu->s.eflags &= ~FL_IF;
}

/* STI delays interrupts by one instruction only if IF was clear. */
void op_sti(struct cpu *cpu, const struct insn *in)
{
    if (!(cpu->s.eflags & FL_IF))
        cpu->s.inhibit_irq = 1;
    cpu->s.eflags |= FL_IF;
}

void op_pushf(struct cpu *cpu, const struct insn *in)
{
    stack_push(cpu, in->opsize, flags_get(cpu) & ~(FL_VM | FL_RF));
}

/*
 * POPF (SDM vol. 2, POPF): CPL 0 may change everything but VM; CPL > 0
 * keeps IOPL; CPL > IOPL also keeps IF - silently, without a fault. RF is
 * cleared. A 16-bit POPF changes only the low 16 bits.
 */
void op_popf(struct cpu *cpu, const struct insn *in)
{
    uint32_t v = stack_pop(cpu, in->opsize);
    int cpl = cpu->s.cpl, iopl = (int)((cpu->s.eflags & FL_IOPL) >> 12);
    uint32_t mask = FL_ARITH | FL_TF | FL_DF | FL_NT | FL_AC | FL_ID | FL_RF;
    if (cpl == 0)
        mask |= FL_IOPL;
    if (cpl <= iopl)
        mask |= FL_IF;
    if (in->opsize == 2)
        mask &= 0xffffu;
    flags_set(cpu, v & ~FL_RF, mask);
}

/* ---- I/O ---- */

/* CPL <= IOPL, or every bit for the port in the TSS I/O bitmap clear
   (SDM vol. 1, 19.5.2). The bitmap offset is at TSS+0x66. */
bool io_allowed(struct cpu *cpu, uint16_t port, int size)
{
    int iopl = (int)((cpu->s.eflags & FL_IOPL) >> 12);
    if (cpu->s.cpl <= iopl)
        return true;
    const struct seg *tr = &cpu->s.tr;
    if (!(tr->flags & SEGF_P) || (SEGF_TYPE(tr->flags) & 5u) != 1u ||
        !(SEGF_TYPE(tr->flags) & 8u) || tr->limit < 0x67)
        cpu_raise(cpu, EXC_GP, 0);
    uint32_t map = mem_read_lin(cpu, tr->base + 0x66, 2, false);
    uint32_t off = map + port / 8u;
    if (off + 1 > tr->limit)
        cpu_raise(cpu, EXC_GP, 0);
    uint32_t bits = mem_read_lin(cpu, tr->base + off, 2, false);
    uint32_t want = ((1u << size) - 1u) << (port & 7u);
    if (bits & want)
        cpu_raise(cpu, EXC_GP, 0);
    return true;
}

uint32_t port_in(struct cpu *cpu, uint16_t port, int size)
{
    cpu->cycles += cpu->port_cost;      /* the bus access itself (native_in) */
    uint32_t v = cpu->bus.io_in ? cpu->bus.io_in(cpu->bus.ctx, port, size)
                                : 0xffffffffu;
    if (size < 4)
        v &= (1u << (8 * size)) - 1u;
    if (cpu->hooks.on_io)
        cpu->hooks.on_io(cpu->hooks.ctx, port, size, false, v);
    return v;
}

void port_out(struct cpu *cpu, uint16_t port, int size, uint32_t val)
{
    cpu->cycles += cpu->port_cost;
    if (cpu->bus.io_out)
        cpu->bus.io_out(cpu->bus.ctx, port, size, val);
    if (cpu->hooks.on_io)
        cpu->hooks.on_io(cpu->hooks.ctx, port, size, true, val);
}

static int io_size(const struct insn *in)
{
    return (in->row->attr & A_BYTE) ? 1 : in->opsize;
}

/* IN: operand 1 is DX or an 8-bit immediate. */
void op_in(struct cpu *cpu, const struct insn *in)
{
    uint16_t port = in->row->opd[1] == O_DX ? (uint16_t)cpu->s.r[R_EDX]
                                            : (uint16_t)(in->imm & 0xffu);
    int size = io_size(in);
    io_allowed(cpu, port, size);
    reg_write(cpu, R_EAX, size, port_in(cpu, port, size));
}

/* OUT: operand 0 is DX or an 8-bit immediate. */
void op_out(struct cpu *cpu, const struct insn *in)
{
    uint16_t port = in->row->opd[0] == O_DX ? (uint16_t)cpu->s.r[R_EDX]
                                            : (uint16_t)(in->imm & 0xffu);
    int size = io_size(in);
    io_allowed(cpu, port, size);
    port_out(cpu, port, size, reg_read(cpu, R_EAX, size));
}

/* ---- segment registers ---- */

void op_mov_to_sreg(struct cpu *cpu, const struct insn *in)
{
    if (in->reg == S_CS || in->reg >= S_COUNT)
        cpu_raise(cpu, EXC_UD, 0);
    seg_load(cpu, in->reg, (uint16_t)rm_read(cpu, in, 2));
    if (in->reg == S_SS)
        cpu->s.inhibit_irq = 1;
}

void op_mov_from_sreg(struct cpu *cpu, const struct insn *in)
{
    if (in->reg >= S_COUNT)
        cpu_raise(cpu, EXC_UD, 0);
    rm_write(cpu, in, rm_sel_size(in), cpu->s.seg[in->reg].sel);
}

/* PUSH Sreg with a 32-bit operand size pushes the zero-extended selector. */
void op_push_sreg(struct cpu *cpu, const struct insn *in)
{
    stack_push(cpu, in->opsize, cpu->s.seg[in->row->sreg].sel);
}

void op_pop_sreg(struct cpu *cpu, const struct insn *in)
{
    int sreg = in->row->sreg;
    uint16_t sel = (uint16_t)stack_read_at(cpu, 0, in->opsize);
    seg_load(cpu, sreg, sel);
    uint32_t mask = seg_sp_mask(&cpu->s.seg[S_SS]);
    uint32_t esp = cpu->s.r[R_ESP];
    cpu->s.r[R_ESP] = (esp & ~mask) | ((esp + (uint32_t)in->opsize) & mask);
    if (sreg == S_SS)
        cpu->s.inhibit_irq = 1;
}

/* LDS/LES/LFS/LGS/LSS r, m16:16/32: offset first, then the selector. */
static void load_far_ptr(struct cpu *cpu, const struct insn *in, int sreg)
{
    uint32_t ea = insn_ea(cpu, in);
    uint32_t off = mem_read(cpu, in->seg, ea, in->opsize);
    uint16_t sel = (uint16_t)mem_read(cpu, in->seg, ea + in->opsize, 2);
    seg_load(cpu, sreg, sel);
    reg_write(cpu, in->reg, in->opsize, off);
}

void op_lds(struct cpu *cpu, const struct insn *in) { load_far_ptr(cpu, in, S_DS); }
void op_les(struct cpu *cpu, const struct insn *in) { load_far_ptr(cpu, in, S_ES); }
void op_lfs(struct cpu *cpu, const struct insn *in) { load_far_ptr(cpu, in, S_FS); }
void op_lgs(struct cpu *cpu, const struct insn *in) { load_far_ptr(cpu, in, S_GS); }
void op_lss(struct cpu *cpu, const struct insn *in) { load_far_ptr(cpu, in, S_SS); }

/* ---- LAR, LSL, VERR, VERW, ARPL ---- */

/* Visible to LAR/LSL/VERx at this CPL and RPL: conforming code always,
   anything else needs DPL >= max(CPL, RPL). */
static bool desc_visible(struct cpu *cpu, uint16_t sel, uint64_t d)
{
    unsigned dpl = desc_dpl(d);
    if (desc_is_conforming(d))
        return true;
    return dpl >= (unsigned)cpu->s.cpl && dpl >= (sel & 3u);
}

/* Look up `sel` for LAR (lar = true) or LSL; false: ZF = 0. */
static bool desc_probe(struct cpu *cpu, uint16_t sel, bool lar, uint64_t *d)
{
    if ((sel & 0xfffcu) == 0 || !seg_try_read_desc(cpu, sel, d))
        return false;
    if (!desc_s(*d)) {
        /* system types valid for LAR: 1-5, 9, B, C; for LSL: 1-3, 9, B */
        unsigned ok = lar ? 0x1a3eu : 0x0a0eu;
        if (!((ok >> desc_type(*d)) & 1u))
            return false;
    }
    return desc_visible(cpu, sel, *d);
}

void op_lar(struct cpu *cpu, const struct insn *in)
{
    uint64_t d;
    bool ok = desc_probe(cpu, (uint16_t)rm_read(cpu, in, 2), true, &d);
    /* bits 19:16 (limit) are undefined per the SDM; QEMU returns them as 0 */
    if (ok)
        reg_write(cpu, in->reg, in->opsize, desc_hi(d) & 0x00f0ff00u);
    set_zf(cpu, ok);
}

void op_lsl(struct cpu *cpu, const struct insn *in)
{
    uint64_t d;
    uint16_t sel = (uint16_t)rm_read(cpu, in, 2);
    bool ok = desc_probe(cpu, sel, false, &d);
    if (ok) {
        struct seg s;
        seg_from_desc(&s, sel, d);
        reg_write(cpu, in->reg, in->opsize, s.limit);
    }
    set_zf(cpu, ok);
}

static void verify(struct cpu *cpu, const struct insn *in, bool write)
{
    uint64_t d;
    uint16_t sel = (uint16_t)rm_read(cpu, in, 2);
    bool ok = (sel & 0xfffcu) && seg_try_read_desc(cpu, sel, &d) &&
              desc_s(d) && desc_visible(cpu, sel, d);
    if (ok && write)
        ok = !desc_is_code(d) && (desc_type(d) & 2u);
    else if (ok)
        ok = !desc_is_code(d) || (desc_type(d) & 2u);
    set_zf(cpu, ok);
}

void op_verr(struct cpu *cpu, const struct insn *in) { verify(cpu, in, false); }
void op_verw(struct cpu *cpu, const struct insn *in) { verify(cpu, in, true); }

void op_arpl(struct cpu *cpu, const struct insn *in)
{
    uint32_t dst = opd_read_dst(cpu, in);
    uint32_t src = reg_read(cpu, in->reg, 2);
    bool raise = (dst & 3u) < (src & 3u);
    if (raise)
        rm_write(cpu, in, 2, (dst & ~3u) | (src & 3u));
    set_zf(cpu, raise);
}

/* ---- MSRs, SYSENTER/SYSEXIT ---- */

/* IA32_APIC_BASE (SDM vol. 3A, 10.4.4): bits 12-31 the base, 11 the global
   enable, 8 BSP (read-only); the rest are reserved (#GP; this CPU has 32
   physical address bits). IA32_MISC_ENABLE keeps what is written (QEMU's
   reset value: bit 0, fast strings). */
bool cpu_platform_msr_read(const struct cpu *cpu, uint32_t msr, uint64_t *val)
{
    switch (msr) {
    case MSR_APIC_BASE: *val = cpu->s.apic_base; return true;
    case MSR_MISC_ENABLE: *val = cpu->s.misc_enable; return true;
    default: return false;
    }
}

bool cpu_platform_msr_write(struct cpu *cpu, uint32_t msr, uint64_t val)
{
    switch (msr) {
    case MSR_APIC_BASE:
        if (val & ~(uint64_t)(0xFFFFF000u | APIC_BASE_ENABLE | APIC_BASE_BSP))
            return false;
        cpu->s.apic_base = (val & ~(uint64_t)APIC_BASE_BSP) | (cpu->s.apic_base & APIC_BASE_BSP);
        return true;
    case MSR_MISC_ENABLE:
        cpu->s.misc_enable = val;
        return true;
    default:
        return false;
    }
}

void op_rdmsr(struct cpu *cpu, const struct insn *in)
{
    uint64_t v;
    switch (cpu->s.r[R_ECX]) {
    case 0x10: v = cpu->cycles + cpu->s.tsc_offset; break;
    case 0x174: v = cpu->s.sysenter_cs; break;
    case 0x175: v = cpu->s.sysenter_esp; break;
    case 0x176: v = cpu->s.sysenter_eip; break;
    default:
        if (!cpu_platform_msr_read(cpu, cpu->s.r[R_ECX], &v))
            cpu_raise(cpu, EXC_GP, 0);
    }
    cpu->s.r[R_EAX] = (uint32_t)v;
    cpu->s.r[R_EDX] = (uint32_t)(v >> 32);
}

void op_wrmsr(struct cpu *cpu, const struct insn *in)
{
    uint64_t v = ((uint64_t)cpu->s.r[R_EDX] << 32) | cpu->s.r[R_EAX];
    switch (cpu->s.r[R_ECX]) {
    case 0x10: cpu->s.tsc_offset = v - cpu->cycles; break;
    case 0x174: cpu->s.sysenter_cs = (uint32_t)v & 0xffffu; break;
    case 0x175: cpu->s.sysenter_esp = (uint32_t)v; break;
    case 0x176: cpu->s.sysenter_eip = (uint32_t)v; break;
    default:
        if (!cpu_platform_msr_write(cpu, cpu->s.r[R_ECX], v))
            cpu_raise(cpu, EXC_GP, 0);
    }
}

/* The flat segments SYSENTER/SYSEXIT load without reading the GDT. */
static void flat_seg(struct seg *s, uint16_t sel, int dpl, bool code)
{
    s->sel = sel;
    s->base = 0;
    s->limit = 0xffffffffu;
    s->flags = SEGF_G | SEGF_DB | SEGF_P | SEGF_S | ((uint32_t)dpl << 5) |
               (code ? 0xbu : 0x3u);
}

static void set_cpl(struct cpu *cpu, int cpl)
{
    int old = cpu->s.cpl;
    cpu->s.cpl = cpl;
    if (old != cpl && cpu->hooks.on_ring_change)
        cpu->hooks.on_ring_change(cpu->hooks.ctx, old, cpl, cpu->s.eip);
}

/* SYSENTER (SDM vol. 2): to CPL 0 at SYSENTER_CS:EIP, SS = CS + 8. */
void op_sysenter(struct cpu *cpu, const struct insn *in)
{
    uint16_t cs = (uint16_t)(cpu->s.sysenter_cs & 0xfffcu);
    if (cs == 0)
        cpu_raise(cpu, EXC_GP, 0);
    cpu->s.eflags &= ~(FL_VM | FL_IF | FL_RF);
    flat_seg(&cpu->s.seg[S_CS], cs, 0, true);
    flat_seg(&cpu->s.seg[S_SS], (uint16_t)(cs + 8), 0, false);
    cpu->s.r[R_ESP] = cpu->s.sysenter_esp;
    cpu->s.eip = cpu->s.sysenter_eip;
    set_cpl(cpu, 0);
}

/* SYSEXIT: to CPL 3 at CS = SYSENTER_CS + 16, SS = + 24, EIP = EDX,
   ESP = ECX. */
void op_sysexit(struct cpu *cpu, const struct insn *in)
{
    uint16_t cs = (uint16_t)(cpu->s.sysenter_cs & 0xfffcu);
    if (cs == 0 || cpu->s.cpl != 0)
        cpu_raise(cpu, EXC_GP, 0);
    flat_seg(&cpu->s.seg[S_CS], (uint16_t)((cs + 16) | 3), 3, true);
    flat_seg(&cpu->s.seg[S_SS], (uint16_t)((cs + 24) | 3), 3, false);
    cpu->s.r[R_ESP] = cpu->s.r[R_ECX];
    cpu->s.eip = cpu->s.r[R_EDX];
    set_cpl(cpu, 3);
}

/* ---- software interrupts (delivery is intr.c) ---- */

void op_int(struct cpu *cpu, const struct insn *in)
{
    intr_soft(cpu, (int)(in->imm & 0xffu));
}

void op_int3(struct cpu *cpu, const struct insn *in)
{
    intr_soft(cpu, EXC_BP);
}

/* INT1 / ICEBP (F1): a #DB trap through vector 1 that behaves as a hardware
   exception - no DPL check against the gate, the frame's EIP is the next
   instruction (SDM vol. 2, INTn/INTO/INT3/INT1; vol. 3, 17.3.1.1). The host
   CPU agrees (a user-mode F1 gets SIGTRAP, not SIGILL: tests/test_cpu_fix.c
   checks it); QEMU 7.2's TCG raises #UD at the F1 instead, a known gap of
   that emulator, so a comparison with QEMU must leave F1 out. */
void op_int1(struct cpu *cpu, const struct insn *in)
{
    intr_trap(cpu, EXC_DB);
}

void op_into(struct cpu *cpu, const struct insn *in)
{
    if (flags_get(cpu) & FL_OF)
        intr_soft(cpu, EXC_OF);
}
