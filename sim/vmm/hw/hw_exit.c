/*
 * hw_exit.c - the hardware-assisted engine's VM-exit handlers.
 *
 * A VM exit stored the guest state in the VMCS and loaded the host's. The
 * VMM reads the guest state back into the CPU structure, which serves it
 * as the register cache the shared code works on (the emulation library
 * and the shadow page tables read and write v->cpu->s, as under trap and
 * bt), brings the vcpu up to date (the guest's CPL, IF, IOPL, TSS, the
 * unowned CR0 bits), and dispatches on the exit reason:
 *
 *   exception (#PF only)  shadow paging: hidden (fill), tracing (step the
 *                         writer) or true (inject #PF, CR2 = qualification);
 *                         the APIC window: emulate the MOV against the device
 *                         (emu_mmio_move), or step another instruction
 *   EPT violation         --npt: fill the nested table, or the APIC window
 *   HLT, INVLPG, MOV CR,  decode the instruction (its length is in the
 *   I/O, RDMSR/WRMSR      VMCS) and run the emulation library's routine;
 *                         a fault it returns is injected
 *   task switch           from JMP/CALL/IRET: emulated like the above (the
 *                         library's task switch, emulate_task.c); from an
 *                         IDT task gate: the switch is the event's delivery
 *   CPUID                 the VMM executes CPUID itself and passes it on
 *   VMCALL                a hypercall (hw.h's ABI): EAX is the call number
 *   interrupt window,     nothing to emulate: the next entry injects
 *   preemption timer      (hw_run.c) / the machine's slice is over
 *   triple fault          the run ends as natively
 *
 * An exit during the delivery of an event (IDT-vectoring information
 * valid) re-injects that event; software interrupts are not re-injected,
 * their instruction simply runs again. Every exit is one EV_VMEXIT, two
 * world switches, and the cost profile's price: vt_entry (the round trip,
 * A&A06) or vt_pf_exit for #PF, plus vt_exit_handle when the VMM works.
 */
#include "hw_internal.h"

#include <string.h>

/* The guest state back from the VMCS into the register cache; the vcpu's
   view of it (what the emulation library and the machine's idle logic read). */
static void hw_read_guest(struct vmm *v)
{
    struct cpu *c = v->cpu;
    struct vmcs *vm = &v->hw->vmcs;
    struct vcpu *vc = &v->vc;
    c->s = vm->guest;
    cpu_set_eflags(c, vm->guest.eflags);
    vc->cpl = c->s.cpl;
    vc->vif = (c->s.eflags & FL_IF) != 0;
    vc->iopl = (c->s.eflags & FL_IOPL) >> 12;
    vc->cr0 = (vc->cr0 & vm->cr0_mask) | (c->s.cr0 & ~vm->cr0_mask);
    vc->cr4 = (vc->cr4 & vm->cr4_mask) | (c->s.cr4 & ~vm->cr4_mask);
    if (v->npt)
        vc->cr3 = c->s.cr3;           /* nested paging: CR3 is the guest's own */
    vc->cr2 = c->s.cr2;
    vc->gdtr = c->s.gdtr, vc->idtr = c->s.idtr;
    vc->tr = c->s.tr.sel, vc->tss_base = c->s.tr.base, vc->tss_limit = c->s.tr.limit;
    vc->ldtr = c->s.ldtr.sel, vc->ldt_base = c->s.ldtr.base;
    vc->ldt_limit = c->s.ldtr.flags & SEGF_P ? c->s.ldtr.limit : 0;
    vc->sysenter_cs = c->s.sysenter_cs, vc->sysenter_esp = c->s.sysenter_esp;
    vc->sysenter_eip = c->s.sysenter_eip;
    for (int i = 0; i < S_COUNT; i++)
        vc->sel[i] = c->s.seg[i].sel;
}

/* What the emulation changed in the vcpu goes back to the registers. */
static void hw_write_guest(struct vmm *v)
{
    struct cpu_state *s = &v->cpu->s;
    s->cr2 = v->vc.cr2;
    s->sysenter_cs = v->vc.sysenter_cs, s->sysenter_esp = v->vc.sysenter_esp;
    s->sysenter_eip = v->vc.sysenter_eip;
}

static void hw_price(struct vmm *v, enum ev_ov_cause cause, enum cost_key trip, bool work,
                     uint32_t native)
{
    uint32_t cycles = v->costs->v[trip] + (work ? v->costs->v[COST_VT_EXIT_HANDLE] : 0u);
    vmm_charge(v, cause, cycles, native);
}

static void hw_inject_fault(struct vmm *v, const struct emu_fault *f)
{
    if (f->vector == EXC_PF)
        v->vc.cr2 = f->cr2;
    hw_queue_event(v, vmx_intr_info(f->vector, VMX_INTR_HW_EXC, f->has_err), f->err, false);
}

/* ---- the APIC window ---- */

/*
 * A guest access to the device window (local and I/O APIC), which the VMM
 * never maps for the guest: decode the instruction and, if it is a data
 * move, emulate it with the emulation library (emu_mmio_move: its memory
 * operand reaches the device model through gmem_mmio), as a VT-x VMM
 * emulates an APIC access. false: the exit is not the instruction's own
 * access or the instruction is not a move; the caller steps it instead.
 */
static bool hw_mmio_emulate(struct vmm *v, enum cost_key trip, enum cpu_stop *why)
{
    struct cpu *c = v->cpu;
    struct insn in;
    struct emu_fault f;
    if ((v->hw->vmcs.idt_vectoring_info & VMX_INTR_VALID) || !vmm_decode_at_eip(v, &in))
        return false;
    *why = CPU_STOP_BUDGET;
    switch (emu_mmio_move(v, &in, &f)) {
    case EMU_NEXT:
        c->s.eip += in.len;
        c->s.inhibit_irq = 0;         /* an instruction retired: no STI shadow left */
        c->insns++;
        v->mmio_emulated++;
        vmm_emit(v, EV_INSNS, PATH_EMULATED, 1, 0, 0, 0);
        hw_price(v, OV_HIDDEN_FAULT, trip, true, c->class_cost[in.row->cost]);
        return true;
    case EMU_FAULT:                   /* e.g. a #PF of the guest's own tables */
        hw_inject_fault(v, &f);
        hw_price(v, OV_REFLECT, trip, true, 0);
        return true;
    default:
        return false;
    }
}

/* ---- #PF: shadow paging ---- */

static enum cpu_stop hw_page_fault(struct vmm *v)
{
    struct cpu *c = v->cpu;
    const struct vmcs *vm = &v->hw->vmcs;
    uint32_t err = 0;
    enum cpu_stop mmio;
    if (spt_mmio_addr(v, vm->exit_qual) && hw_mmio_emulate(v, COST_VT_PF_EXIT, &mmio))
        return mmio;
    c->intercept = 1u << EXC_PF;      /* a tracing step runs in root mode (shadow_pt_fault.c) */
    enum spt_verdict r = spt_page_fault(v, vm->exit_qual, vm->exit_intr_error, &err);
    c->intercept = 0;
    switch (r) {
    case SPT_HIDDEN:
        hw_price(v, OV_HIDDEN_FAULT, COST_VT_PF_EXIT, true, 0);
        return CPU_STOP_BUDGET;
    case SPT_TRACE:
        hw_price(v, OV_TRACE_FAULT, COST_VT_PF_EXIT, true, 0);
        return CPU_STOP_BUDGET;
    case SPT_TRUE: {
        struct emu_fault f = { .vector = EXC_PF, .err = err, .has_err = true,
                               .cr2 = vm->exit_qual };
        hw_inject_fault(v, &f);                 /* it replaces a re-injection */
        hw_price(v, OV_REFLECT, COST_VT_PF_EXIT, true, 0);
        return CPU_STOP_BUDGET;
    }
    default:
        c->stop_msg = v->stop_msg;
        return CPU_STOP_UNSUPPORTED;
    }
}

/* ---- nested paging (--npt) ---- */

/* The nested walks' cycles since the last exit are the VMM's overhead. */
static void hw_npt_account(struct vmm *v)
{
    struct hw *h = v->hw;
    uint64_t d = v->cpu->npt_cycles - h->npt_accounted;
    h->npt_accounted = v->cpu->npt_cycles;
    if (d)
        vmm_account(v, OV_NPT, (uint32_t)d, 0);
}

/*
 * --npt: an access to the device window (local and I/O APIC), which the
 * nested table never maps. The VMM steps the guest's instruction once in
 * root mode on the guest's own state (its CR0/CR3/CR4: guest-physical is
 * host-physical for RAM, and the window's addresses reach the machine's
 * MMIO callbacks), as the shadow engines step an MMIO access
 * (shadow_pt_fault.c); a fault the instruction raises is delivered through
 * the guest's IDT as natively. Interrupts are held off for the step (the
 * CPU's INTR pin is not connected under hw anyway).
 */
static enum cpu_stop hw_mmio_step_npt(struct vmm *v)
{
    struct cpu *c = v->cpu;
    bool ss = c->single_step;
    c->single_step = true;
    c->s.inhibit_irq = 1;
    enum cpu_stop why = cpu_run(c, UINT64_MAX);
    c->single_step = ss;
    v->mmio_steps++;
    hw_price(v, OV_HIDDEN_FAULT, COST_VT_ENTRY, true, 0);
    if (why == CPU_STOP_TRIPLE || why == CPU_STOP_UNSUPPORTED)
        return why;
    return CPU_STOP_BUDGET;
}

static bool hw_device_gpa(uint32_t gpa)
{
    return gpa >= VMM_MMIO_BASE && gpa < VMM_MMIO_END;
}

static enum cpu_stop hw_ept_violation(struct vmm *v)
{
    const struct vmcs *vm = &v->hw->vmcs;
    if (hw_device_gpa(vm->guest_physical)) {
        enum cpu_stop mmio;
        if ((vm->exit_qual & EPT_Q_FINAL) && hw_mmio_emulate(v, COST_VT_ENTRY, &mmio))
            return mmio;
        if ((vm->exit_qual & EPT_Q_FINAL) && !(vm->idt_vectoring_info & VMX_INTR_VALID))
            return hw_mmio_step_npt(v);
        v->cpu->stop_msg = "hw --npt: guest page tables or event delivery in the device "
                           "window (0xfec00000-0xfeffffff) are not supported";
        return CPU_STOP_UNSUPPORTED;
    }
    hw_ept_fill(v, vm->guest_physical);
    hw_price(v, OV_NPT, COST_VT_ENTRY, true, 0);
    return CPU_STOP_BUDGET;
}

/* ---- instructions ---- */

static bool hw_decode(struct vmm *v, struct insn *in)
{
    struct cpu *c = v->cpu;
    uint8_t buf[16];
    uint32_t len = v->hw->vmcs.exit_insn_len;
    struct emu_fault f;
    if (len == 0 || len > 15 ||
        gmem_read(v, c->s.seg[S_CS].base + c->s.eip, buf, len, &f) != EMU_NEXT)
        return false;
    return decode(buf, (int)len, (c->s.seg[S_CS].flags & SEGF_DB) != 0, in) == (int)len;
}

static void hw_retired(struct vmm *v, const struct insn *in, uint32_t len)
{
    struct cpu *c = v->cpu;
    c->s.eip += len;
    c->insns++;
    vmm_emit(v, EV_INSNS, PATH_EMULATED, 1, 0, 0, 0);
    if (in)
        hw_price(v, (in->row->attr & A_IO) ? OV_IO : OV_TRAP, COST_VT_ENTRY, true,
                 c->class_cost[in->row->cost]);
}

static enum cpu_stop hw_emulate(struct vmm *v)
{
    struct cpu *c = v->cpu;
    struct insn in;
    struct emu_fault f;
    if (!hw_decode(v, &in))
        return mon_internal(v, "hw: cannot decode the instruction of a VM exit (internal error)");
    vmm_emit(v, EV_TRAP, PATH_EMULATED, (uint32_t)(in.row - op_table), 0, 0, 0);
    int rc = emu_insn(v, &in, &f);
    switch (rc) {
    case EMU_NEXT:
        hw_retired(v, &in, in.len);
        return CPU_STOP_BUDGET;
    case EMU_HALT:
        hw_retired(v, &in, in.len);
        return CPU_STOP_HLT;
    case EMU_JUMP:
        hw_retired(v, &in, 0);
        return CPU_STOP_BUDGET;
    case EMU_FAULT:
        hw_inject_fault(v, &f);
        hw_price(v, OV_TRAP, COST_VT_ENTRY, true, 0);
        return CPU_STOP_BUDGET;
    case EMU_TRIPLE:
        c->stop_msg = v->stop_msg;
        return CPU_STOP_TRIPLE;
    default:
        c->stop_msg = v->stop_msg;
        return CPU_STOP_UNSUPPORTED;
    }
}

static enum cpu_stop hw_cpuid(struct vmm *v)
{
    struct cpu *c = v->cpu;
    struct insn in;
    if (!hw_decode(v, &in))
        return mon_internal(v, "hw: cannot decode the instruction of a VM exit (internal error)");
    vmm_emit(v, EV_TRAP, PATH_EMULATED, (uint32_t)(in.row - op_table), 0, 0, 0);
    vmx_host_cpuid(c);
    c->s.eip += v->hw->vmcs.exit_insn_len;
    c->insns++;
    vmm_emit(v, EV_INSNS, PATH_EMULATED, 1, 0, 0, 0);
    hw_price(v, OV_TRAP, COST_VT_ENTRY, true, c->class_cost[C_SYSTEM]);
    return CPU_STOP_BUDGET;
}

/* The hypercall itself: EAX in, EAX out (hw.h). HC_PUTC writes the byte
   to COM1's transmit register through the machine's port bus, as the
   guest's own OUT would (it shows as a port write; the VMM charges no
   device access for it: the exit is the price). */
static uint32_t hw_hypercall_do(struct vmm *v)
{
    struct cpu *c = v->cpu;
    if (c->s.cpl != 0)
        return HC_EPERM;
    switch (c->s.r[R_EAX]) {
    case HC_VERSION:
        return HC_ABI_VERSION;
    case HC_PUTC:
        c->bus.io_out(c->bus.ctx, 0x3F8, 1, c->s.r[R_EBX] & 0xFFu);
        return 0;
    default:
        return HC_ENOSYS;
    }
}

/* VMCALL (exit 18): the call, then past the instruction, priced as an
   instruction exit. */
static enum cpu_stop hw_vmcall(struct vmm *v)
{
    struct cpu *c = v->cpu;
    struct insn in;
    if (!hw_decode(v, &in))
        return mon_internal(v, "hw: cannot decode the instruction of a VM exit (internal error)");
    vmm_emit(v, EV_TRAP, PATH_EMULATED, (uint32_t)(in.row - op_table), 0, 0, 0);
    c->s.r[R_EAX] = hw_hypercall_do(v);
    c->s.eip += v->hw->vmcs.exit_insn_len;
    c->insns++;
    vmm_emit(v, EV_INSNS, PATH_EMULATED, 1, 0, 0, 0);
    hw_price(v, OV_TRAP, COST_VT_ENTRY, true, c->class_cost[in.row->cost]);
    return CPU_STOP_BUDGET;
}

/* ---- dispatch ---- */

/* An event whose delivery the exit interrupted goes in again (26.5.1.1);
   a software interrupt's instruction runs again instead. */
/*
 * A task switch (exit reason 9, unconditional in non-root operation). From
 * a JMP, CALL or IRET the instruction is emulated (emu_insn reaches
 * emulate_task.c, which switches on the guest's TSSes); from an event whose
 * guest IDT entry is a task gate, the event is not re-injected
 * (hw_reinject) but delivered here as the switch to the gate's task, its
 * error code pushed on the new task's stack.
 */
static enum cpu_stop hw_task_switch(struct vmm *v)
{
    struct cpu *c = v->cpu;
    const struct vmcs *vm = &v->hw->vmcs;
    if ((vm->exit_qual >> 30) != VMX_TS_IDT)
        return hw_emulate(v);
    uint32_t info = vm->idt_vectoring_info, type = (info >> 8) & 7u;
    int vec = (int)(info & 0xFFu);
    bool soft = type == VMX_INTR_SOFT_INT || type == VMX_INTR_SOFT_EXC;
    uint32_t ret = c->s.eip + (soft ? vm->exit_insn_len : 0u);
    uint64_t gate = 0;
    struct emu_fault f;
    vmm_emit(v, EV_REFLECT, PATH_EMULATED, (uint32_t)vec, soft ? RK_SOFT : RK_EXC, 0, 0);
    int rc = gmem_read(v, v->vc.idtr.base + (uint32_t)vec * 8u, &gate, 8, &f);
    if (rc == EMU_NEXT)
        rc = emu_task_gate(v, gate, vm->idt_vectoring_error, (info & VMX_INTR_ERRCODE) != 0,
                           soft ? 0u : 1u, ret, &f);
    switch (rc) {
    case EMU_JUMP:
        if (soft)
            hw_retired(v, NULL, 0);    /* INT n retired by its delivery */
        hw_price(v, OV_REFLECT, COST_VT_ENTRY, true, 0);
        return CPU_STOP_BUDGET;
    case EMU_FAULT:
        hw_inject_fault(v, &f);
        hw_price(v, OV_REFLECT, COST_VT_ENTRY, true, 0);
        return CPU_STOP_BUDGET;
    default:
        c->stop_msg = v->stop_msg;
        return CPU_STOP_UNSUPPORTED;
    }
}

static void hw_reinject(struct vmm *v)
{
    const struct vmcs *vm = &v->hw->vmcs;
    uint32_t info = vm->idt_vectoring_info;
    unsigned type = (info >> 8) & 7u;
    if (!(info & VMX_INTR_VALID) || type == VMX_INTR_SOFT_INT || type == VMX_INTR_SOFT_EXC)
        return;
    if (vm->exit_reason == VMX_EXIT_TASK_SWITCH)
        return;                       /* delivered by the switch (hw_task_switch) */
    hw_queue_event(v, info & ~0x7FFFF000u, vm->idt_vectoring_error, true);
    /* the CPU charged the delivery it began at native cost: it will be
       charged again when the event goes in, so this one was overhead */
    enum reflect_kind kind = type == VMX_INTR_EXT ? RK_EXT : RK_EXC;
    vmm_account(v, OV_REFLECT, reflect_native_cost(v, (int)(info & 0xFFu), kind), 0);
}

static enum cpu_stop hw_dispatch(struct vmm *v)
{
    struct cpu *c = v->cpu;
    const struct vmcs *vm = &v->hw->vmcs;
    switch (vm->exit_reason) {
    case VMX_EXIT_EXCEPTION:
        if ((vm->exit_intr_info & 0xFFu) == EXC_PF)
            return hw_page_fault(v);
        return mon_internal(v, "hw: exit for an exception the VMM does not take (internal error)");
    case VMX_EXIT_CPUID:
        return hw_cpuid(v);
    case VMX_EXIT_TASK_SWITCH:
        return hw_task_switch(v);
    case VMX_EXIT_VMCALL:
        return hw_vmcall(v);
    case VMX_EXIT_HLT: case VMX_EXIT_INVLPG: case VMX_EXIT_CR_ACCESS: case VMX_EXIT_IO:
    case VMX_EXIT_RDMSR: case VMX_EXIT_WRMSR:
        return hw_emulate(v);
    case VMX_EXIT_INTR_WINDOW: case VMX_EXIT_EXT_INTR:
        hw_price(v, OV_VMEXIT, COST_VT_ENTRY, false, 0);
        return CPU_STOP_BUDGET;
    case VMX_EXIT_PREEMPT:
        hw_price(v, OV_VMEXIT, COST_VT_ENTRY, false, 0);
        return CPU_STOP_BUDGET;
    case VMX_EXIT_EPT_VIOLATION:
        return hw_ept_violation(v);
    case VMX_EXIT_MTF:
        return CPU_STOP_STEP;
    case VMX_EXIT_TRIPLE_FAULT:
        c->stop_msg = "triple fault";
        return CPU_STOP_TRIPLE;
    default:
        return mon_internal(v, "hw: unexpected VM exit reason (internal error)");
    }
}

enum cpu_stop hw_exit(struct vmm *v)
{
    const struct vmcs *vm = &v->hw->vmcs;
    hw_read_guest(v);
    if (mon_no_progress(v))
        return CPU_STOP_UNSUPPORTED;
    vmm_world_switch(v, true);
    hw_npt_account(v);
    vmm_emit(v, EV_VMEXIT, PATH_EMULATED, vm->exit_reason & 0xFFFFu, vm->exit_qual,
             vm->exit_insn_len, vm->exit_intr_info);
    hw_reinject(v);
    enum cpu_stop why = hw_dispatch(v);
    hw_write_guest(v);
    vmm_world_switch(v, false);
    return why;
}
