/*
 * vmx.c - VMX non-root operation: VM entry, the exit conditions, VM exit.
 *
 * This file is the hardware side of VT-x as ringside models it (vmx.h).
 * Entry (vmx_enter) checks the controls and the host state (a failure is
 * VMfailValid: the CPU stays in root operation), then the guest state (a
 * failure is a VM exit with reason 33 and bit 31 set), loads the guest
 * state and delivers an injected event through the guest's IDT, exactly as
 * the CPU delivers its own (SDM vol. 3, 26.5). While cpu->vmcs is set the
 * run loop asks this file three questions: at each instruction boundary
 * (interrupt window, external interrupt), before each instruction that may
 * exit (vmx_insn: HLT, INVLPG, CPUID, VMCALL, RDMSR/WRMSR, MOV CR, CLTS, LMSW,
 * SMSW, I/O), and for each exception (the bitmap, before the double-fault
 * rules: an exception that exits is never turned into #DF, SDM 25.1.3 /
 * 27.2.3). An exit records its information, unwinds like a fault (EIP
 * back on the instruction), and when cpu_run returns the guest state is
 * stored and the host state loaded (vmx_run_end).
 *
 * Exceptions have priority over instruction exits where the SDM says so
 * (25.1.1): #UD, CPL and IOPL faults come from the pipeline's checks before
 * vmx_insn runs, and the I/O permission check (IOPL, TSS bitmap) before an
 * I/O exit. MOV to CR0/CR4 that changes no bit the guest/host mask owns
 * does not exit and leaves the masked bits alone; reads of CR0/CR4 (MOV,
 * SMSW) return the read shadow's value in masked bits (24.6.6).
 */
#include <string.h>
#include "ops.h"
#include "ops_system.h"
#include "vmx.h"
#include "vmx_internal.h"

/* ---- VMCS setup ---- */

void vmcs_init(struct vmcs *vm)
{
    memset(vm, 0, sizeof *vm);
    memset(vm->io_bitmap, 0xFF, sizeof vm->io_bitmap);
    memset(vm->msr_read, 0xFF, sizeof vm->msr_read);
    memset(vm->msr_write, 0xFF, sizeof vm->msr_write);
}

static void bit_set(uint8_t *map, uint32_t n, bool on)
{
    if (on)
        map[n >> 3] |= (uint8_t)(1u << (n & 7u));
    else
        map[n >> 3] &= (uint8_t)~(1u << (n & 7u));
}

static bool bit_get(const uint8_t *map, uint32_t n)
{
    return (map[n >> 3] >> (n & 7u)) & 1u;
}

void vmx_io_exit(struct vmcs *vm, uint16_t port, bool exits)
{
    bit_set(vm->io_bitmap, port, exits);
}

void vmx_msr_pass(struct vmcs *vm, uint32_t msr, bool read, bool write)
{
    if (msr >= 0x2000u)
        return;                       /* high MSRs: not in ringside's bitmap, always exit */
    bit_set(vm->msr_read, msr, !read);
    bit_set(vm->msr_write, msr, !write);
}

const char *vmx_exit_name(unsigned reason)
{
    static const char *const names[VMX_EXIT_REASONS] = {
        [VMX_EXIT_EXCEPTION] = "exception", [VMX_EXIT_EXT_INTR] = "external-interrupt",
        [VMX_EXIT_TRIPLE_FAULT] = "triple-fault", [VMX_EXIT_INTR_WINDOW] = "interrupt-window",
        [VMX_EXIT_CPUID] = "cpuid", [VMX_EXIT_HLT] = "hlt", [VMX_EXIT_INVLPG] = "invlpg",
        [VMX_EXIT_VMCALL] = "vmcall",
        [VMX_EXIT_CR_ACCESS] = "cr-access", [VMX_EXIT_IO] = "io",
        [VMX_EXIT_RDMSR] = "rdmsr", [VMX_EXIT_WRMSR] = "wrmsr",
        [VMX_EXIT_INVALID_GUEST] = "invalid-guest-state", [VMX_EXIT_MTF] = "monitor-trap",
        [VMX_EXIT_PREEMPT] = "preemption-timer", [VMX_EXIT_EPT_VIOLATION] = "ept-violation",
    };
    reason &= 0xFFFFu;
    return reason < VMX_EXIT_REASONS ? names[reason] : NULL;
}

void vmx_host_cpuid(struct cpu *cpu)
{
    op_cpuid(cpu, NULL);
}

/* ---- VM exit ---- */

void vmx_exit_info(struct cpu *cpu, uint32_t reason, uint32_t qual)
{
    struct vmcs *vm = cpu->vmcs;
    vm->exit_reason = reason;
    vm->exit_qual = qual;
    vm->guest_linear = vm->guest_physical = 0;
    vm->exit_intr_info = vm->exit_intr_error = 0;
    vm->idt_vectoring_info = vm->idt_vectoring_error = 0;
    vm->exit_insn_len = vm->exit_insn_info = 0;
}

/* An instruction exits: it has not executed; EIP stays on it. */
_Noreturn static void exit_insn(struct cpu *cpu, const struct insn *in, uint32_t reason,
                                uint32_t qual)
{
    vmx_exit_info(cpu, reason, qual);
    cpu->vmcs->exit_insn_len = in->len;
    cpu_stop_run(cpu, CPU_STOP_VMEXIT, NULL);
}

static void seg_host(struct seg *s, uint16_t sel, uint32_t base, uint32_t access)
{
    s->sel = sel;
    s->base = base;
    s->limit = 0xFFFFFFFFu;
    s->flags = access | SEGF_DB | SEGF_G;
}

/* SDM 27.5: load the host-state area (flat segments, CPL 0, EFLAGS = 2). */
void vmx_load_host(struct cpu *cpu, const struct vmcs_host *h)
{
    struct cpu_state *s = &cpu->s;
    s->cr0 = h->cr0, s->cr3 = h->cr3, s->cr4 = h->cr4;
    s->r[R_ESP] = h->esp;
    s->eip = h->eip;
    for (int i = 0; i < S_COUNT; i++)
        seg_host(&s->seg[i], h->sel[i], 0, i == S_CS ? 0x9Bu : 0x93u);
    s->seg[S_FS].base = h->fs_base;
    s->seg[S_GS].base = h->gs_base;
    s->tr = (struct seg){ h->tr, h->tr_base, 0x67u, 0x8Bu };
    s->ldtr = (struct seg){ 0, 0, 0, 0 };
    s->gdtr = (struct dtr){ h->gdtr.base, 0xFFFFu };
    s->idtr = (struct dtr){ h->idtr.base, 0xFFFFu };
    s->sysenter_cs = h->sysenter_cs, s->sysenter_esp = h->sysenter_esp;
    s->sysenter_eip = h->sysenter_eip;
    s->dr[7] = 0x400u;
    s->cpl = 0;
    s->halted = false;
    s->inhibit_irq = 0;
    cpu_set_eflags(cpu, FL_FIXED1);
}

/* Store the guest state and load the host's: the CPU is in root operation. */
void vmx_exit_commit(struct cpu *cpu)
{
    struct vmcs *vm = cpu->vmcs;
    cpu->s.eflags = cpu_get_eflags(cpu);
    vm->guest = cpu->s;
    cpu->vmcs = NULL;
    cpu->ept_on = false;
    cpu->fault_depth = 0;
    vmx_load_host(cpu, &vm->host);
    tlb_flush_all(cpu);                     /* no VPID on the P4: transitions flush */
}

static bool exits_on(struct cpu *cpu, enum cpu_stop r)
{
    const struct vmcs *vm = cpu->vmcs;
    switch (r) {
    case CPU_STOP_BUDGET:
        if (!(vm->pin & VMX_PIN_PREEMPT))
            return false;
        vmx_exit_info(cpu, VMX_EXIT_PREEMPT, 0);
        return true;
    case CPU_STOP_STEP:
        if (!(vm->proc & VMX_PROC_MTF))
            return false;
        vmx_exit_info(cpu, VMX_EXIT_MTF, 0);
        return true;
    case CPU_STOP_TRIPLE:
        vmx_exit_info(cpu, VMX_EXIT_TRIPLE_FAULT, 0);
        return true;
    case CPU_STOP_VMEXIT:
        return true;
    default:
        return false;         /* HLT without HLT exiting, unsupported...: still non-root */
    }
}

enum cpu_stop vmx_run_end(struct cpu *cpu, enum cpu_stop r)
{
    if (!exits_on(cpu, r))
        return r;
    vmx_exit_commit(cpu);
    return cpu->stop = CPU_STOP_VMEXIT;
}

/* ---- exit conditions ---- */

bool vmx_boundary(struct cpu *cpu)
{
    const struct vmcs *vm = cpu->vmcs;
    if ((vm->proc & VMX_PROC_INTR_WINDOW) && (cpu->s.eflags & FL_IF)) {
        vmx_exit_info(cpu, VMX_EXIT_INTR_WINDOW, 0);
        return true;
    }
    if ((vm->pin & VMX_PIN_EXT_INTR) && cpu->bus.intr_pending &&
        cpu->bus.intr_pending(cpu->bus.ctx)) {
        vmx_exit_info(cpu, VMX_EXIT_EXT_INTR, 0);      /* whatever RFLAGS.IF says (25.2) */
        return true;
    }
    return false;
}

_Noreturn void vmx_task_switch_exit(struct cpu *cpu, uint16_t sel, int source, uint32_t len)
{
    struct vmcs *vm = cpu->vmcs;
    vmx_exit_info(cpu, VMX_EXIT_TASK_SWITCH, VMX_TS_QUAL(sel, source));
    vm->exit_insn_len = len;
    if (source == VMX_TS_IDT) {
        vm->idt_vectoring_info = vmx_delivering_info(cpu, &vm->exit_insn_len);
        vm->idt_vectoring_error = cpu->delivering.error;
    }
    cpu_stop_run(cpu, CPU_STOP_VMEXIT, NULL);
}

uint32_t vmx_delivering_info(const struct cpu *cpu, uint32_t *len)
{
    int v = cpu->delivering.vector;
    *len = 0;
    if (cpu->delivering.ext)
        return vmx_intr_info(v, VMX_INTR_EXT, false);
    if (cpu->delivering.soft) {
        *len = cpu->s.eip - cpu->insn_eip;
        return vmx_intr_info(v, v == EXC_BP || v == EXC_OF ? VMX_INTR_SOFT_EXC
                                                           : VMX_INTR_SOFT_INT, false);
    }
    return vmx_intr_info(v, VMX_INTR_HW_EXC, cpu->delivering.has_error);
}

bool vmx_exception(struct cpu *cpu, int vec, uint32_t err, bool has_err, bool nested)
{
    struct vmcs *vm = cpu->vmcs;
    if (vec >= 32 || !((vm->exception_bitmap >> vec) & 1u))
        return false;
    uint32_t qual = 0;
    if (vec == EXC_PF) {               /* the address is the qualification; CR2 stays */
        qual = cpu->s.cr2;
        cpu->s.cr2 = cpu->pf_cr2_before;
    }
    vmx_exit_info(cpu, VMX_EXIT_EXCEPTION, qual);
    vm->exit_intr_info = vmx_intr_info(vec, VMX_INTR_HW_EXC, has_err);
    vm->exit_intr_error = has_err ? err : 0;
    if (nested) {
        vm->idt_vectoring_info = vmx_delivering_info(cpu, &vm->exit_insn_len);
        vm->idt_vectoring_error = cpu->delivering.has_error ? cpu->delivering.error : 0;
    }
    cpu->fault_depth = 0;
    cpu->stop = CPU_STOP_VMEXIT;
    return true;
}

/* ---- instructions ---- */

static uint32_t shadowed(uint32_t real, uint32_t mask, uint32_t shadow)
{
    return (real & ~mask) | (shadow & mask);
}

/* MOV to CR0/CR4 that leaves every owned bit as the shadow has it: the
   unowned bits are written, the owned ones kept (SDM 25.3, MOV to CR0). */
static bool cr_write(struct cpu *cpu, const struct insn *in, int cr, uint32_t mask,
                     uint32_t shadow)
{
    uint32_t val = cpu->s.r[in->rm];
    if ((val ^ shadow) & mask)
        exit_insn(cpu, in, VMX_EXIT_CR_ACCESS, VMX_CRQ(cr, VMX_CR_MOV_TO, in->rm));
    uint32_t *reg = cr == 0 ? &cpu->s.cr0 : &cpu->s.cr4;
    uint32_t old = *reg;
    *reg = (old & mask) | (val & ~mask);
    if ((old ^ *reg) & (CR0_PG | CR0_WP | CR0_PE | CR4_PSE | CR4_PGE))
        tlb_flush_all(cpu);
    return true;
}

static bool mov_to_cr(struct cpu *cpu, const struct insn *in)
{
    const struct vmcs *vm = cpu->vmcs;
    switch (in->reg) {
    case 0: return cr_write(cpu, in, 0, vm->cr0_mask, vm->cr0_shadow);
    case 4: return cr_write(cpu, in, 4, vm->cr4_mask, vm->cr4_shadow);
    case 3:
        if (vm->proc & VMX_PROC_CR3_LOAD)
            exit_insn(cpu, in, VMX_EXIT_CR_ACCESS, VMX_CRQ(3, VMX_CR_MOV_TO, in->rm));
        return false;
    default:
        return false;
    }
}

static bool mov_from_cr(struct cpu *cpu, const struct insn *in)
{
    const struct vmcs *vm = cpu->vmcs;
    switch (in->reg) {
    case 0:
        cpu->s.r[in->rm] = shadowed(cpu->s.cr0, vm->cr0_mask, vm->cr0_shadow);
        return true;
    case 4:
        cpu->s.r[in->rm] = shadowed(cpu->s.cr4, vm->cr4_mask, vm->cr4_shadow);
        return true;
    case 3:
        if (vm->proc & VMX_PROC_CR3_STORE)
            exit_insn(cpu, in, VMX_EXIT_CR_ACCESS, VMX_CRQ(3, VMX_CR_MOV_FROM, in->rm));
        return false;
    default:
        return false;
    }
}

/* LMSW exits if it would set an owned PE the shadow has clear, or change an
   owned MP/EM/TS from the shadow's value (25.1.3). */
static bool lmsw(struct cpu *cpu, const struct insn *in)
{
    const struct vmcs *vm = cpu->vmcs;
    uint32_t src = rm_read(cpu, in, 2) & 0xFu, m = vm->cr0_mask, sh = vm->cr0_shadow;
    bool pe = (m & CR0_PE) && (src & CR0_PE) && !(sh & CR0_PE);
    if (pe || ((src ^ sh) & m & 0xEu))
        exit_insn(cpu, in, VMX_EXIT_CR_ACCESS,
                  VMX_CRQ(0, VMX_CR_LMSW, 0) | (in->mod != 3 ? 0x40u : 0u) | src << 16);
    return false;
}

static bool smsw(struct cpu *cpu, const struct insn *in)
{
    const struct vmcs *vm = cpu->vmcs;
    rm_write(cpu, in, in->mod == 3 ? in->opsize : 2,
             shadowed(cpu->s.cr0, vm->cr0_mask, vm->cr0_shadow));
    return true;
}

static bool msr(struct cpu *cpu, const struct insn *in, bool write)
{
    const struct vmcs *vm = cpu->vmcs;
    uint32_t n = cpu->s.r[R_ECX];
    bool exits = !(vm->proc & VMX_PROC_MSR_BITMAPS) || n >= 0x2000u ||
                 bit_get(write ? vm->msr_write : vm->msr_read, n);
    if (exits)
        exit_insn(cpu, in, write ? VMX_EXIT_WRMSR : VMX_EXIT_RDMSR, 0);
    return false;
}

/* I/O: the permission check (IOPL, TSS bitmap) first, then the controls. */
static bool io(struct cpu *cpu, const struct insn *in, bool is_in, bool string)
{
    const struct vmcs *vm = cpu->vmcs;
    int port_opd = is_in ? 1 : 0;
    bool imm = !string && in->row->opd[port_opd] != O_DX;
    uint16_t port = imm ? (uint16_t)(in->imm & 0xFFu) : (uint16_t)cpu->s.r[R_EDX];
    int size = (in->row->attr & A_BYTE) ? 1 : in->opsize;
    uint32_t count = in->adsize == 4 ? cpu->s.r[R_ECX] : cpu->s.r[R_ECX] & 0xFFFFu;
    if (string && in->rep && count == 0)
        return false;                 /* REP with a zero count does nothing, natively too */
    io_allowed(cpu, port, size);
    bool exits = (vm->proc & VMX_PROC_IO_UNCOND) != 0;
    if (vm->proc & VMX_PROC_IO_BITMAPS)
        for (int i = 0; i < size; i++)
            exits |= bit_get(vm->io_bitmap, (uint16_t)(port + i));
    if (!exits)
        return false;
    vmx_exit_info(cpu, VMX_EXIT_IO, (uint32_t)(size - 1) | (is_in ? VMX_IOQ_IN : 0u) |
              (string ? VMX_IOQ_STRING : 0u) | (in->rep ? VMX_IOQ_REP : 0u) |
              (imm ? VMX_IOQ_IMM : 0u) | (uint32_t)port << 16);
    if (string) {
        int sreg = is_in ? S_ES : in->seg;
        uint32_t off = cpu->s.r[is_in ? R_EDI : R_ESI];
        cpu->vmcs->guest_linear = cpu->s.seg[sreg].base + (in->adsize == 4 ? off : off & 0xFFFFu);
        cpu->vmcs->exit_insn_info = (in->adsize == 4 ? 1u : 0u) << 7 | (uint32_t)sreg << 15;
    }
    cpu->vmcs->exit_insn_len = in->len;
    cpu_stop_run(cpu, CPU_STOP_VMEXIT, NULL);
}

bool vmx_insn(struct cpu *cpu, const struct insn *in)
{
    const struct op_row *row = in->row;
    const struct vmcs *vm = cpu->vmcs;
    if (!(row->attr & (A_PRIV | A_IO | A_SENSITIVE)) && row->fn != op_cpuid &&
        row->fn != op_vmcall)
        return false;
    if (row->fn == op_cpuid)
        exit_insn(cpu, in, VMX_EXIT_CPUID, 0);
    if (row->fn == op_vmcall)          /* unconditional, whatever the CPL (SDM 25.1.2) */
        exit_insn(cpu, in, VMX_EXIT_VMCALL, 0);
    if (row->fn == op_hlt && (vm->proc & VMX_PROC_HLT))
        exit_insn(cpu, in, VMX_EXIT_HLT, 0);
    if (row->fn == op_invlpg && (vm->proc & VMX_PROC_INVLPG))
        exit_insn(cpu, in, VMX_EXIT_INVLPG, cpu->s.seg[in->seg].base + insn_ea(cpu, in));
    if (row->fn == op_mov_to_cr)
        return mov_to_cr(cpu, in);
    if (row->fn == op_mov_from_cr)
        return mov_from_cr(cpu, in);
    if (row->fn == op_clts && (vm->cr0_mask & CR0_TS) && (vm->cr0_shadow & CR0_TS))
        exit_insn(cpu, in, VMX_EXIT_CR_ACCESS, VMX_CRQ(0, VMX_CR_CLTS, 0));
    if (row->fn == op_lmsw)
        return lmsw(cpu, in);
    if (row->fn == op_smsw)
        return smsw(cpu, in);
    if (row->fn == op_rdmsr || row->fn == op_wrmsr)
        return msr(cpu, in, row->fn == op_wrmsr);
    if (row->fn == op_in || row->fn == op_out)
        return io(cpu, in, row->fn == op_in, false);
    if (row->fn == op_ins || row->fn == op_outs)
        return io(cpu, in, row->fn == op_ins, true);
    return false;
}
