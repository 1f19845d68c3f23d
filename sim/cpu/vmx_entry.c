/*
 * vmx_entry.c - VM entry: VMLAUNCH/VMRESUME (SDM vol. 3, chapter 26).
 *
 * Entry runs in the SDM's order. First the checks on the VMX controls and
 * the host-state area (26.2): a failure is VMfailValid, the entry does not
 * happen and the VM-instruction error field says why. Then the guest-state
 * checks (26.3): a failure is a "VM-entry failure" - a VM exit with basic
 * reason 33 and bit 31 set, the host state loaded, the guest never run.
 * Then the guest state is loaded (the CPU is in non-root operation) and an
 * event in the VM-entry interruption-information field is delivered
 * through the guest's IDT as if it had arrived just then (26.5): the
 * guest's own IDT, stack and gates, the native delivery. A fault during
 * that delivery that the exception bitmap takes (a #PF on a guest stack
 * page the shadow page tables have not filled) is a VM exit with the
 * injected event in the IDT-vectoring information, so the VMM can inject
 * it again once it has dealt with the fault.
 *
 * Only the checks that matter for a 32-bit protected-mode guest without
 * unrestricted-guest support are made; docs/hw.md lists them.
 */
#include <string.h>
#include "vmx_internal.h"

/* 26.2.1.3: the injected event's type, vector and error-code bit agree. */
static bool entry_event_ok(uint32_t info)
{
    if (!(info & VMX_INTR_VALID))
        return true;
    unsigned type = (info >> 8) & 7u, vec = info & 0xFFu;
    bool err = (info & VMX_INTR_ERRCODE) != 0;
    if (info & 0x7FFFF000u)
        return false;                           /* reserved bits 30:12 */
    switch (type) {
    case VMX_INTR_EXT: case VMX_INTR_SOFT_INT:
        return !err;
    case VMX_INTR_NMI:
        return vec == EXC_NMI && !err;
    case VMX_INTR_HW_EXC:
        return vec < 32 && err == intr_has_error_code((int)vec);
    case VMX_INTR_SOFT_EXC:
        return (vec == EXC_BP || vec == EXC_OF) && !err;
    default:
        return false;                           /* 1, 5 (privileged sw exc.), 7 */
    }
}

/* 26.2.2 / 26.2.3: host CR0 has the fixed bits; host selectors have RPL
   and TI 0; CS and TR are not null. */
static bool host_ok(const struct vmcs_host *h)
{
    if ((h->cr0 & (CR0_PE | CR0_PG)) != (CR0_PE | CR0_PG))
        return false;
    for (int i = 0; i < S_COUNT; i++)
        if (h->sel[i] & 7u)
            return false;
    return (h->sel[S_CS] & 0xFFFCu) != 0 && (h->tr & 0xFFFCu) != 0 && !(h->tr & 7u);
}

/* 26.3.1.2: segment registers of a protected-mode guest. */
static bool guest_segs_ok(const struct cpu_state *g)
{
    const struct seg *cs = &g->seg[S_CS], *ss = &g->seg[S_SS];
    unsigned cst = SEGF_TYPE(cs->flags);
    if (!(cs->flags & SEGF_P) || !(cs->flags & SEGF_S) || (cst & 9u) != 9u)
        return false;                           /* accessed code, present */
    if ((ss->sel & 3u) != (cs->sel & 3u) || g->cpl != (int)(cs->sel & 3u))
        return false;
    if ((ss->sel & 0xFFFCu) && (SEGF_TYPE(ss->flags) != 3u && SEGF_TYPE(ss->flags) != 7u))
        return false;                           /* read/write accessed data */
    if ((ss->sel & 0xFFFCu) && SEGF_DPL(ss->flags) != (ss->sel & 3u))
        return false;
    if (!(cst & 4u) && SEGF_DPL(cs->flags) != SEGF_DPL(ss->flags))
        return false;                           /* non-conforming: CS.DPL = SS.DPL */
    unsigned trt = SEGF_TYPE(g->tr.flags);
    if ((g->tr.sel & 4u) || (trt != 3u && trt != 11u) || (g->tr.flags & SEGF_S) ||
        !(g->tr.flags & SEGF_P))
        return false;                           /* a busy TSS */
    if ((g->ldtr.sel & 0xFFFCu) &&
        (SEGF_TYPE(g->ldtr.flags) != 2u || (g->ldtr.flags & SEGF_S) || !(g->ldtr.flags & SEGF_P)))
        return false;
    return true;
}

/* 26.3.1: control registers, RFLAGS, interruptibility; the injected event. */
static bool guest_ok(const struct vmcs *vm)
{
    const struct cpu_state *g = &vm->guest;
    uint32_t fl = g->eflags;
    bool unrestricted = (vm->proc2 & VMX_PROC2_UNRESTRICTED) != 0;
    if (!(g->cr0 & CR0_PE) || (!(g->cr0 & CR0_PG) && !unrestricted))
        return false;                           /* paging on unless unrestricted guest */
    if (!(fl & FL_FIXED1) || (fl & 0xFFC08028u) || (fl & FL_VM))
        return false;                           /* reserved bits; v8086 not modelled */
    bool ext = (vm->entry_intr_info & VMX_INTR_VALID) &&
               ((vm->entry_intr_info >> 8) & 7u) == VMX_INTR_EXT;
    if (ext && (!(fl & FL_IF) || g->inhibit_irq))
        return false;                           /* 26.3.1.4/5: the guest can take it */
    return guest_segs_ok(g);
}

static int entry_fail(struct cpu *cpu, struct vmcs *vm, enum vmx_insn_error e)
{
    (void)cpu;
    vm->insn_error = e;
    return -1;
}

/* The guest-state checks failed: a VM exit that never ran the guest. */
static int entry_fail_guest(struct cpu *cpu, struct vmcs *vm)
{
    vm->exit_reason = VMX_EXIT_INVALID_GUEST | VMX_EXIT_ENTRY_FAIL;
    vm->exit_qual = 0;
    vm->exit_intr_info = vm->idt_vectoring_info = 0;
    vm->exit_insn_len = 0;
    vmx_load_host(cpu, &vm->host);
    return 1;
}

static void load_guest(struct cpu *cpu, struct vmcs *vm)
{
    cpu->s = vm->guest;
    cpu_set_eflags(cpu, vm->guest.eflags);
    cpu->vmcs = vm;
    cpu->ept_on = (vm->proc2 & VMX_PROC2_EPT) != 0;
    cpu->fault_depth = 0;
    vm->launched = true;
    vm->idt_vectoring_info = vm->idt_vectoring_error = 0;
    tlb_flush_all(cpu);
}

/* 26.5: deliver the injected event. 0 delivered, 1 a VM exit happened,
   -2 the delivery stopped the machine (cpu->stop: a task gate...). */
static int inject(struct cpu *cpu, struct vmcs *vm)
{
    uint32_t info = vm->entry_intr_info;
    vm->entry_intr_info = 0;                    /* consumed by this entry */
    if (!(info & VMX_INTR_VALID))
        return 0;
    int vec = (int)(info & 0xFFu);
    unsigned type = (info >> 8) & 7u;
    bool soft = type == VMX_INTR_SOFT_INT || type == VMX_INTR_SOFT_EXC;
    cpu->insn_eip = cpu->s.eip;
    if (soft)
        cpu->s.eip += vm->entry_insn_len;       /* the frame returns past the INT */
    cpu->stop = CPU_STOP_BUDGET;
    if (cpu_deliver(cpu, vec, vm->entry_error, (info & VMX_INTR_ERRCODE) != 0, soft,
                    type == VMX_INTR_EXT))
        return 0;
    if (soft)
        cpu->s.eip = cpu->insn_eip;
    if (cpu->stop == CPU_STOP_TRIPLE)
        vmx_exit_info(cpu, VMX_EXIT_TRIPLE_FAULT, 0);
    else if (cpu->stop != CPU_STOP_VMEXIT)
        return -2;
    vmx_exit_commit(cpu);
    cpu->stop = CPU_STOP_VMEXIT;
    return 1;
}

int vmx_enter(struct cpu *cpu, struct vmcs *vm, bool resume)
{
    if (cpu->vmcs)
        return entry_fail(cpu, vm, VMX_ERR_CONTROLS);
    if (resume && !vm->launched)
        return entry_fail(cpu, vm, VMX_ERR_RESUME_NONLAUNCHED);
    if (!resume && vm->launched)
        return entry_fail(cpu, vm, VMX_ERR_LAUNCH_NONCLEAR);
    if (!entry_event_ok(vm->entry_intr_info))
        return entry_fail(cpu, vm, VMX_ERR_CONTROLS);
    if ((vm->proc2 & VMX_PROC2_UNRESTRICTED) && !(vm->proc2 & VMX_PROC2_EPT))
        return entry_fail(cpu, vm, VMX_ERR_CONTROLS);      /* 26.2.1.1 */
    if (!host_ok(&vm->host))
        return entry_fail(cpu, vm, VMX_ERR_HOST_STATE);
    vm->insn_error = VMX_ERR_NONE;
    if (!guest_ok(vm))
        return entry_fail_guest(cpu, vm);
    load_guest(cpu, vm);
    return inject(cpu, vm);
}
