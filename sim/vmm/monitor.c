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

/* Decode the instruction at CS:EIP (guest memory through the hardware MMU). */
static bool mon_decode(struct vmm *v, struct insn *in)
{
    struct cpu *c = v->cpu;
    uint8_t buf[16];
    uint32_t lin = c->s.seg[S_CS].base + c->s.eip;
    int n = 0;
    while (n < 15 && cpu_peek(c, lin + (uint32_t)n, buf + n, 1))
        n++;
    return n > 0 && decode(buf, n, (c->s.seg[S_CS].flags & SEGF_DB) != 0, in) > 0;
}

/* INT n / INT3 / INTO that the hardware turned into a stop: returns n or -1. */
static int soft_vector(const struct insn *in, int vec, uint32_t err, bool has_err)
{
    if (in->map != MAP_1B)
        return -1;
    int n = in->opcode == 0xCD ? (int)(in->imm & 0xFFu)
          : in->opcode == 0xCC ? EXC_BP : in->opcode == 0xCE ? EXC_OF : -1;
    if (n < 0)
        return -1;
    if (vec == n && !has_err)
        return n;                                   /* intercepted directly */
    if (vec == EXC_GP && has_err && err == (uint32_t)n * 8u + 2u)
        return n;                                   /* the empty hardware IDT */
    return -1;
}

static bool mon_is_trap(struct vmm *v, const struct insn *in, int vec)
{
    return vec == EXC_GP && v->vc.cpl == 0 &&
           (in->row->attr & (A_PRIV | A_IOPL | A_SEGLOAD));
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
    if (rc == EMU_FAULT)
        return mon_reflect(v, f.vector, f.err, intr_has_err(f.vector), RK_EXC, c->s.eip, 0);
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

/* Guest #PF. With guest paging off only an access outside guest RAM (a
   hole in the VMM's 1:1 map) faults; bare hardware would read open bus.
   With guest paging on the shadow refused the access: hidden (filled),
   tracing (the writer is single-stepped) or true (reflected with the
   guest's error code; CR2 is in the vcpu). See shadow_pt_fault.c. */
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
    if (vec == EXC_PF && spt_active(v))
        return mon_page_fault(v);       /* before decoding: the fetch may be what faulted */
    if (!mon_decode(v, &in))
        return mon_reflect(v, vec, err, has_err, RK_EXC, c->s.eip, 0);
    int n = soft_vector(&in, vec, err, has_err);
    if (n >= 0) {
        c->insns++;
        vmm_emit(v, EV_INSNS, PATH_EMULATED, 1, 0, 0, 0);
        if (v->vc.cpl == 0)      /* its frame will leak the real CS (reflect.c) */
            vmm_emit(v, EV_SENSITIVE, PATH_EMULATED, (uint32_t)(in.row - op_table), 0, 0, 0);
        return mon_reflect(v, n, 0, false, RK_SOFT, c->s.eip + in.len,
                           c->class_cost[in.row->cost]);
    }
    if (mon_is_trap(v, &in, vec))
        return mon_trap(v, &in);
    if (vec == EXC_PF)
        return mon_page_fault(v);
    return mon_reflect(v, vec, err, has_err, RK_EXC, c->s.eip, 0);
}

/* An external interrupt: INTA now; deliver or hold. */
static enum cpu_stop mon_external(struct vmm *v)
{
    struct cpu *c = v->cpu;
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

/* Virtual CPL from the real one; at real CPL 3 the guest's hardware IRET
   to user mode went unseen, so its virtual IF is taken as 1 (vcpu.h). */
static void mon_sync_cpl(struct vmm *v)
{
    v->vc.cpl = v->cpu->s.cpl == 3 ? 3 : 0;
    if (v->vc.cpl == 3)
        v->vc.vif = true;
}

enum cpu_stop mon_intercept(struct vmm *v)
{
    mon_sync_cpl(v);
    vmm_world_switch(v, true);
    enum cpu_stop why = v->cpu->stop_vector < 0 ? mon_external(v) : mon_exception(v);
    vmm_world_switch(v, false);
    return why;
}

/* Queued interrupts, oldest first, once the virtual IF allows (and not in
   the STI shadow). One per call: the handler may run with IF clear. */
void mon_deliver_pending(struct vmm *v)
{
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
    v->pending_stop = mon_intercept(v);
    return true;
}
