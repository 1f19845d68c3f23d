/*
 * monitor.c - the monitor's entry point: an intercepted vector arrives.
 *
 * The hardware CPU runs the guest with cpu->intercept = all exceptions and
 * cpu->intercept_ext set: instead of vectoring through an IDT it stops and
 * hands the vector to this file. That stands for the VMM's own IDT, every
 * gate of which enters the monitor (Adams & Agesen 2006, §3.1: "the VMM
 * controls the IDT"); the hardware IDT that IDTR points to is present but
 * empty, so an INT n that did not stop the CPU directly faults with #GP
 * (vector * 8 + 2) and is recognised here by decoding the instruction.
 *
 * The decision (Popek & Goldberg's trap-and-emulate):
 *   - #GP at virtual CPL 0 from an instruction whose opcode-table row is
 *     A_PRIV or A_IOPL, or a segment load / far transfer / IRET (A_SEGLOAD)
 *     that failed because of ring compression: a *trap*. The emulation
 *     library re-executes it against the vcpu; if that raises a fault, the
 *     fault is the guest's and is reflected.
 *   - INT n, INT3, INTO: reflected as software interrupts (gate DPL checked
 *     against the virtual CPL).
 *   - anything else: a guest exception, reflected through the guest IDT.
 *   - an external interrupt: acknowledged at the PIC, then delivered if the
 *     virtual IF allows, else queued until STI/POPF/IRET enables it.
 */
#include "vmm_internal.h"

#include <string.h>

bool vmm_decode_at_eip(struct vmm *v, struct insn *in)
{
    struct cpu *c = v->cpu;
    uint8_t buf[16];
    uint32_t lin = c->s.seg[S_CS].base + c->s.eip;
    int n = 0;
    while (n < 15 && cpu_peek(c, lin + (uint32_t)n, buf + n, 1))
        n++;
    return n > 0 && decode(buf, n, (c->s.seg[S_CS].flags & SEGF_DB) != 0, in) > 0;
}

/* INT n / INT3 / INTO that the hardware turned into a stop: returns n or -1.
   `soft`: the CPU reported the stop as a software interrupt (cpu->stop_soft);
   only that tells `int $14` from a #PF, or `int $1` after a single-step
   trap from the #DB itself. */
static int soft_vector(const struct insn *in, int vec, uint32_t err, bool has_err, bool soft)
{
    int n = insn_soft_vector(in);
    if (n < 0)
        return -1;
    if (soft)
        return vec == n ? n : -1;                   /* intercepted directly */
    if (vec == EXC_GP && has_err && err == (uint32_t)n * 8u + 2u)
        return n;                                   /* the empty hardware IDT */
    return -1;
}

/* Segment loads trap at any CPL with #GP, #NP or #SS: data descriptors
   are not present in the shadow GDT and the hardware LDT is empty, so
   every hardware data-segment or LDT load faults and is emulated against
   the guest's own tables (shadow.c, docs/isolation.md). Port I/O traps at
   any virtual CPL: the hardware IOPL is always 0 and the VMM's TSS has no
   bitmap, so the virtual IOPL and the guest's bitmap are checked by the
   emulation library (at CPL 3 with IOPL 3 it is allowed). */
static bool mon_is_trap(struct vmm *v, const struct insn *in, int vec)
{
    bool sys = in->row->op == OP_SYSENTER || in->row->op == OP_SYSEXIT;
    if ((in->row->attr & A_SEGLOAD) && !sys &&
        (vec == EXC_GP || vec == EXC_NP || vec == EXC_SS))
        return true;
    if (vec == EXC_TS && in->row->op == OP_IRET)
        return true;      /* IRET with NT = 1: the VMM TSS's null back link */
    if (vec != EXC_GP)
        return false;
    if (in->row->attr & A_IO)
        return true;
    if (in->row->attr & A_PRIV)
        return v->vc.cpl == 0;
    /* CLI/STI: the hardware IOPL is the VMM's, the guest's may allow them
       at its CPL (ring 3 with IOPL 3): emulated against the virtual IF */
    return (in->row->attr & A_IOPL) && (uint32_t)v->vc.cpl <= v->vc.iopl;
}

static enum cpu_stop mon_status(struct vmm *v, int rc)
{
    switch (rc) {
    case EMU_HALT:
        return CPU_STOP_HLT;
    case EMU_STOP:
        v->cpu->stop_msg = v->stop_msg;
        return CPU_STOP_UNSUPPORTED;
    case EMU_TRIPLE:
        v->cpu->stop_msg = v->stop_msg;
        return CPU_STOP_TRIPLE;
    default:
        return CPU_STOP_BUDGET;
    }
}

/* `native_extra`: what the instruction itself would have cost (INT n retires). */
static enum cpu_stop mon_reflect(struct vmm *v, int vec, uint32_t err, bool has_err,
                                 enum reflect_kind kind, uint32_t ret_eip,
                                 uint32_t native_extra)
{
    uint32_t native = reflect_native_cost(v, vec, kind) + native_extra;
    vmm_charge(v, OV_REFLECT, v->costs->v[COST_TRAP_EMULATE] + v->costs->v[COST_REFLECT], native);
    return mon_status(v, reflect_vector(v, vec, err, has_err, kind, ret_eip));
}

/* Emulate a trapped instruction; account it as one emulated guest instruction. */
static enum cpu_stop mon_trap(struct vmm *v, const struct insn *in)
{
    struct cpu *c = v->cpu;
    struct emu_fault f;
    uint32_t row = (uint32_t)(in->row - op_table);
    vmm_emit(v, EV_TRAP, PATH_EMULATED, row, EXC_GP, 0, 0);
    int rc = emu_insn(v, in, &f);
    if (rc == EMU_FAULT) {
        if (f.vector == EXC_PF)
            v->vc.cr2 = f.cr2;                  /* a fault record: CR2 with the #PF */
        return mon_reflect(v, f.vector, f.err, f.has_err, RK_EXC, c->s.eip, 0);
    }
    if (rc == EMU_NEXT || rc == EMU_HALT)
        c->s.eip += in->len;
    if (rc == EMU_NEXT || rc == EMU_HALT || rc == EMU_JUMP) {
        c->insns++;
        vmm_emit(v, EV_INSNS, PATH_EMULATED, 1, 0, 0, 0);
        vmm_charge(v, (in->row->attr & A_IO) ? OV_IO : OV_TRAP,
                   v->costs->v[COST_TRAP_EMULATE], c->class_cost[in->row->cost]);
    }
    return mon_status(v, rc);
}

/* The flat segment SYSENTER/SYSEXIT load without reading the GDT (SDM
   vol. 2), as the hardware must hold it: ring 0 compressed to ring 1 (RPL
   and DPL 1), the limit below the VMM region. */
static void mon_flat_seg(struct seg *s, uint16_t guest_sel, int vcpl, bool code)
{
    int ring = vcpl == 0 ? 1 : 3;
    s->sel = (uint16_t)((guest_sel & 0xFFFCu) | (unsigned)ring);
    s->base = 0;
    s->limit = VMM_REGION_BASE - 1u;
    s->flags = SEGF_G | SEGF_DB | SEGF_P | SEGF_S | ((uint32_t)ring << 5) | (code ? 0xBu : 0x3u);
}

/*
 * SYSENTER (from any virtual CPL) and SYSEXIT (virtual CPL 0) against the
 * guest's SYSENTER MSRs: the hardware's MSRs are the VMM's (SYSENTER_CS =
 * 0), so both raise #GP(0) on the hardware and arrive here. With the
 * guest's SYSENTER_CS = 0 the #GP is the guest's, as natively.
 */
static enum cpu_stop mon_sysenter(struct vmm *v, const struct insn *in, bool enter)
{
    struct cpu *c = v->cpu;
    uint16_t cs = (uint16_t)(v->vc.sysenter_cs & 0xFFFCu);
    if (cs == 0 || (!enter && v->vc.cpl != 0))
        return mon_reflect(v, EXC_GP, 0, true, RK_EXC, c->s.eip, 0);
    vmm_emit(v, EV_TRAP, PATH_EMULATED, (uint32_t)(in->row - op_table), EXC_GP, 0, 0);
    int to = enter ? 0 : 3;
    uint16_t ncs = enter ? cs : (uint16_t)((cs + 16u) | 3u);
    uint16_t nss = enter ? (uint16_t)(cs + 8u) : (uint16_t)((cs + 24u) | 3u);
    mon_flat_seg(&c->s.seg[S_CS], ncs, to, true);
    mon_flat_seg(&c->s.seg[S_SS], nss, to, false);
    v->vc.sel[S_CS] = ncs;
    v->vc.sel[S_SS] = nss;
    if (enter) {
        cpu_set_eflags(c, cpu_get_eflags(c) & ~(FL_VM | FL_RF));
        v->vc.vif = false;
        c->s.r[R_ESP] = v->vc.sysenter_esp;
        c->s.eip = v->vc.sysenter_eip;
    } else {
        c->s.r[R_ESP] = c->s.r[R_ECX];
        c->s.eip = c->s.r[R_EDX];
    }
    c->s.cpl = to == 0 ? 1 : 3;
    vmm_set_cpl(v, to);
    c->insns++;
    vmm_emit(v, EV_INSNS, PATH_EMULATED, 1, 0, 0, 0);
    vmm_charge(v, OV_TRAP, v->costs->v[COST_TRAP_EMULATE], c->class_cost[in->row->cost]);
    return CPU_STOP_BUDGET;
}

/* Guest #PF. With guest paging off only an access outside guest RAM (a
   hole in the VMM's 1:1 map) faults; bare hardware would read open bus.
   With guest paging on the shadow refused the access: hidden (filled),
   tracing (the writer is single-stepped) or true (reflected with the
   guest's error code; CR2 is in the vcpu). See shadow_pt_fault.c. */
static enum cpu_stop mon_exception(struct vmm *v);

static enum cpu_stop mon_page_fault(struct vmm *v)
{
    struct cpu *c = v->cpu;
    uint32_t err = 0;
    switch (spt_page_fault(v, c->s.cr2, c->stop_error, &err)) {
    case SPT_HIDDEN:
        vmm_charge(v, OV_HIDDEN_FAULT, v->costs->v[COST_HIDDEN_FAULT], 0);
        return CPU_STOP_BUDGET;
    case SPT_TRACE:
        vmm_charge(v, OV_TRACE_FAULT, v->costs->v[COST_TRACE_FAULT], 0);
        return CPU_STOP_BUDGET;
    case SPT_TRUE:
        return mon_reflect(v, EXC_PF, err, true, RK_EXC, c->s.eip, 0);
    case SPT_REFAULT:
        return mon_exception(v);
    default:
        c->stop_msg = v->stop_msg;
        return CPU_STOP_UNSUPPORTED;
    }
}

static enum cpu_stop mon_exception(struct vmm *v)
{
    struct cpu *c = v->cpu;
    int vec = c->stop_vector;
    uint32_t err = c->stop_error;
    bool has_err = c->stop_has_error;
    struct insn in;
    bool soft = c->stop_soft;
    if (vec == EXC_PF && !soft && spt_active(v))
        return mon_page_fault(v);       /* before decoding: the fetch may be what faulted */
    if (vec == EXC_PF && !soft && has_err && !spt_active(v))
        return mon_page_fault(v);       /* outside guest RAM, a fetch as a load: stop */
    if (!vmm_decode_at_eip(v, &in)) {
        if (soft) {                     /* the INT was fetched: it cannot vanish */
            return mon_internal(v, "monitor: cannot decode an intercepted INT n "
                                   "(internal error)");
        }
        return mon_reflect(v, vec, err, has_err, RK_EXC, c->s.eip, 0);
    }
    int n = soft_vector(&in, vec, err, has_err, soft);
    if (n >= 0) {
        c->insns++;
        vmm_emit(v, EV_INSNS, PATH_EMULATED, 1, 0, 0, 0);
        if (v->vc.cpl == 0)      /* its frame will leak the real CS (reflect.c) */
            vmm_emit(v, EV_SENSITIVE, PATH_EMULATED, (uint32_t)(in.row - op_table), 0, 0, 0);
        return mon_reflect(v, n, 0, false, RK_SOFT, c->s.eip + in.len,
                           c->class_cost[in.row->cost]);
    }
    if (vec == EXC_GP && (in.row->op == OP_SYSENTER || in.row->op == OP_SYSEXIT))
        return mon_sysenter(v, &in, in.row->op == OP_SYSENTER);
    if (mon_is_trap(v, &in, vec))
        return mon_trap(v, &in);
    if (!(in.row->attr & (A_PRIV | A_IOPL | A_FAR)) && !v->trunc_step) {
        enum cpu_stop why;
        if (shadow_trunc_fault(v, &why))    /* an access the truncation cut */
            return why;
        if (v->trunc_step) {                /* re-executed, and it faulted */
            why = mon_exception(v);
            v->trunc_step = false;
            return why;
        }
    }
    if (vec == EXC_PF && !soft)
        return mon_page_fault(v);
    return mon_reflect(v, vec, err, has_err, RK_EXC, c->s.eip, 0);
}

/*
 * An external interrupt. With the virtual IF clear it is left at the PIC,
 * unacknowledged, and the hardware IF is held at 0 until the virtual IF is
 * set again (mon_irq_window): the 8259A then keeps one IRR bit however many
 * edges come, as it does natively. Acknowledging it early and queueing it
 * let the PIC latch a second edge behind it (two timer interrupts after a
 * long CLI, issue 11). Otherwise INTA now; deliver, or queue behind
 * interrupts already queued (STI shadow).
 */
static enum cpu_stop mon_external(struct vmm *v)
{
    struct cpu *c = v->cpu;
    if (!vcpu_if(&v->vc)) {
        cpu_set_eflags(c, cpu_get_eflags(c) & ~FL_IF);
        v->irq_held = true;
        vmm_charge(v, OV_REFLECT, v->costs->v[COST_TRAP_EMULATE], 0);   /* the visit, as queueing cost */
        return CPU_STOP_BUDGET;
    }
    int vec = c->bus.intr_ack(c->bus.ctx);
    if (vcpu_if(&v->vc) && !v->vc.sti_shadow && v->vc.npending == 0)
        return mon_reflect(v, vec, 0, false, RK_EXT, c->s.eip, 0);
    if (!vcpu_queue_push(&v->vc, vec)) {
        c->stop_msg = "more than 16 guest interrupts pending with virtual IF = 0";
        return CPU_STOP_UNSUPPORTED;
    }
    vmm_charge(v, OV_REFLECT, v->costs->v[COST_TRAP_EMULATE], 0);
    return CPU_STOP_BUDGET;
}

/* Virtual CPL from the real one; on arrival at real CPL 3 the guest's
   hardware IRET to user mode went unseen, so its virtual IF is taken as 1
   (vcpu.h); later a ring-3 CLI with IOPL 3 may clear it. */
static void mon_sync_cpl(struct vmm *v)
{
    int was = v->vc.cpl;
    v->vc.cpl = v->cpu->s.cpl == 3 ? 3 : 0;
    if (v->vc.cpl == 3 && was != 3)
        v->vc.vif = true;
}

enum cpu_stop mon_internal(struct vmm *v, const char *msg)
{
    v->internal = true;
    v->stop_msg = msg;
    v->cpu->stop_msg = msg;
    return CPU_STOP_UNSUPPORTED;
}

bool mon_no_progress(struct vmm *v)
{
    uint64_t done = cpu_guest_insns(v->cpu);
    if (done != v->wd_insns) {
        v->wd_insns = done;
        v->wd_visits = 0;
    }
    if (++v->wd_visits <= VMM_NO_PROGRESS_VISITS)
        return false;
    mon_internal(v, "no progress: the monitor was entered 100000 times in a row "
                    "without a guest instruction retiring (watchdog)");
    return true;
}

enum cpu_stop mon_intercept(struct vmm *v)
{
    if (mon_no_progress(v))
        return CPU_STOP_UNSUPPORTED;
    mon_sync_cpl(v);
    shadow_gdt_sync(v);             /* follow untraced guest GDT writes */
    vmm_world_switch(v, true);
    enum cpu_stop why = v->cpu->stop_vector < 0 ? mon_external(v) : mon_exception(v);
    vmm_world_switch(v, false);
    return why;
}

/* Queued interrupts, oldest first, once the virtual IF allows (and not in
   the STI shadow). One per call: the handler may run with IF clear. */
/* The virtual IF is set again (and no STI shadow): let the hardware take
   the interrupt held at the PIC (mon_external). */
static void mon_irq_window(struct vmm *v)
{
    if (v->irq_held && vcpu_if(&v->vc) && !v->vc.sti_shadow) {
        cpu_set_eflags(v->cpu, cpu_get_eflags(v->cpu) | FL_IF);
        v->irq_held = false;
    }
}

void mon_deliver_pending(struct vmm *v)
{
    mon_irq_window(v);
    if (!vcpu_if(&v->vc) || v->vc.sti_shadow || v->vc.npending == 0)
        return;
    mon_sync_cpl(v);
    vmm_world_switch(v, true);
    int vec = vcpu_queue_pop(&v->vc);
    uint32_t native = reflect_native_cost(v, vec, RK_EXT);
    vmm_charge(v, OV_REFLECT, v->costs->v[COST_REFLECT], native);
    enum cpu_stop why = mon_status(v, reflect_vector(v, vec, 0, false, RK_EXT, v->cpu->s.eip));
    vmm_world_switch(v, false);
    v->pending_stop = why;
}

/* A halted vcpu wakes when an interrupt is deliverable. */
bool mon_wake(struct vmm *v)
{
    struct cpu *c = v->cpu;
    mon_irq_window(v);
    if (!vcpu_if(&v->vc))
        return false;
    if (v->vc.npending) {
        v->vc.halted = false;
        mon_deliver_pending(v);
        return true;
    }
    if (!c->bus.intr_pending || !c->bus.intr_pending(c->bus.ctx))
        return false;
    v->vc.halted = false;
    c->stop_vector = -1;
    c->stop_soft = false;
    v->pending_stop = mon_intercept(v);
    return true;
}
