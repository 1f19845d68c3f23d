/*
 * hw_run.c - the hardware-assisted engine: its VMCS, VM entry, the run loop.
 *
 * The VMM sets the VMCS up once (hw_take_state): every I/O port exits (the
 * machine's devices are the guest's virtual devices, emulated by the
 * VMM), MSRs exit, #PF exits (shadow paging), HLT, INVLPG and CR3 loads
 * and stores exit, CR0/CR4 are masked and shadowed; the preemption timer
 * ends the guest's slice where the machine's slice ends (the next PIT
 * edge). Nothing else of the guest is touched: its GDT, IDT, TSS,
 * segments, EFLAGS and CPL are loaded into the CPU as they are.
 *
 * Before each entry (hw_prepare) the VMM writes what it changed back into
 * the guest-state area (the CPU structure is its register cache between
 * exit and entry), refreshes the read shadows, and looks at the virtual
 * PIC: a request the guest can take now (EFLAGS.IF = 1, no STI/MOV SS
 * blocking) is acknowledged and injected; otherwise interrupt-window
 * exiting is armed, so the guest exits the moment it enables interrupts
 * (SDM vol. 3, 25.2 and 26.5; what KVM does for its virtual PIC). The
 * CPU's own INTR pin is left unconnected: ringside's host has no devices
 * of its own, so no external-interrupt exit ever fires in a run.
 */
#include "hw_internal.h"

#include <stdlib.h>
#include <string.h>

struct hw *hw_create(struct vmm *v)
{
    struct hw *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    struct cpu *c = v->cpu;
    h->pic_ctx = c->bus.ctx;
    h->pic_pending = c->bus.intr_pending;
    h->pic_ack = c->bus.intr_ack;
    c->bus.intr_pending = NULL;       /* the INTR pin: no physical interrupts */
    c->intercept = 0;
    c->intercept_ext = false;
    return h;
}

void hw_destroy(struct hw *h)
{
    free(h);
}

const struct vmcs *hw_vmcs(const struct vmm *v)
{
    return v->hw ? &v->hw->vmcs : NULL;
}

/* The host-state area: the VMM's own flat segments, page directory and
   stack in the VMM region; its EIP is the (C-coded) exit handler's entry. */
static void hw_host_state(struct vmm *v, struct vmcs_host *host)
{
    memset(host, 0, sizeof *host);
    host->cr0 = CR0_PE | CR0_PG | CR0_ET | CR0_WP;
    host->cr3 = v->region_pa + VMM_OFF_PD;
    host->cr4 = CR4_PSE;
    host->esp = VMM_REGION_BASE + VMM_OFF_STACK + 0x10000u;
    host->eip = VMM_REGION_BASE + VMM_OFF_STACK + 0x10000u;   /* symbolic */
    for (int i = 0; i < S_COUNT; i++)
        host->sel[i] = i == S_CS ? VMM_SEL_CODE : VMM_SEL_DATA;
    host->tr = VMM_SEL_TSS;
    host->tr_base = VMM_REGION_BASE + VMM_OFF_TSS;
    host->gdtr.base = VMM_REGION_BASE + VMM_OFF_GDT;
    host->idtr.base = VMM_REGION_BASE + VMM_OFF_IDT;
}

/* --npt: the guest's paging is its own; the VMM keeps only PE (no real
   mode) and the cache bits, and sees guest memory through the nested
   table: no CR3, INVLPG or #PF exits. */
static void hw_controls_npt(struct vmm *v, struct vmcs *vm)
{
    vm->proc = VMX_PROC_HLT | VMX_PROC_IO_BITMAPS | VMX_PROC_MSR_BITMAPS;
    vm->proc2 = VMX_PROC2_EPT | VMX_PROC2_UNRESTRICTED;
    vm->eptp = v->region_pa + HW_OFF_EPT;
    vm->exception_bitmap = 0;
    vm->cr0_mask = CR0_PE | CR0_CD | CR0_NW;
    vm->cr4_mask = 0;
}

static void hw_controls(struct vmm *v, struct vmcs *vm)
{
    vm->pin = VMX_PIN_EXT_INTR | VMX_PIN_PREEMPT;
    vm->proc = VMX_PROC_HLT | VMX_PROC_INVLPG | VMX_PROC_CR3_LOAD | VMX_PROC_CR3_STORE |
               VMX_PROC_IO_BITMAPS | VMX_PROC_MSR_BITMAPS;
    vm->exception_bitmap = 1u << EXC_PF;
    vm->cr0_mask = HW_CR0_OWNED;
    vm->cr4_mask = HW_CR4_OWNED;
    /* the SYSENTER MSRs are in the guest-state area: the guest owns them */
    for (uint32_t msr = 0x174; msr <= 0x176; msr++)
        vmx_msr_pass(vm, msr, true, true);
    if (v->npt)
        hw_controls_npt(v, vm);
}

/* ---- the nested table (--npt) ---- */

static uint32_t *hw_ept(struct vmm *v, uint32_t off)
{
    return (uint32_t *)(v->cpu->bus.ram + v->region_pa + off);
}

/* The 4 MiB block holding `gpa`: guest RAM 1:1, the rest unassigned; the
   block guest RAM ends in gets a table of 4 KiB entries. Filled lazily,
   one block per EPT violation, as a VMM populates its table on demand. */
void hw_ept_fill(struct vmm *v, uint32_t gpa)
{
    uint32_t block = gpa & 0xFFC00000u, *pd = hw_ept(v, HW_OFF_EPT);
    if ((uint64_t)block + 0x400000u <= v->guest_ram) {
        pd[gpa >> 22] = block | EPT_LARGE | EPT_RWX;
    } else if (block == VMM_MMIO_BASE) {
        return;                       /* the device window: never mapped (hw_exit.c) */
    } else if (block >= v->guest_ram) {
        pd[gpa >> 22] = HW_UNASSIGNED_PA | EPT_LARGE | EPT_RWX;
    } else {
        uint32_t *pt = hw_ept(v, HW_OFF_EPT_TAIL);
        for (uint32_t j = 0; j < 1024u; j++) {
            uint32_t a = block + (j << 12);
            pt[j] = (a < v->guest_ram ? a : HW_UNASSIGNED_PA + (j << 12)) | EPT_RWX;
        }
        pd[gpa >> 22] = (v->region_pa + HW_OFF_EPT_TAIL) | EPT_RWX;
    }
    cpu_notify_phys_write(v->cpu, v->region_pa + HW_OFF_EPT, 0x2000u);
}

/* The real CR0/CR4 while the guest runs: the VMM's owned bits (PE, PG; WP
   as shadow paging set it), the guest's own bits from its CR0. */
static void hw_real_crs(struct vmm *v)
{
    struct cpu_state *s = &v->cpu->s;
    if (v->npt) {                     /* the guest's own paging registers */
        s->cr0 = v->vc.cr0 | CR0_PE;
        s->cr3 = v->vc.cr3;
        s->cr4 = v->vc.cr4;
        return;
    }
    s->cr0 = (s->cr0 & CR0_WP) | CR0_PE | CR0_PG | (v->vc.cr0 & ~HW_CR0_OWNED);
    s->cr4 = CR4_PSE | (v->vc.cr4 & (CR4_TSD | CR4_DE));
}

/* Take the CPU's native-view state as the guest's: the vcpu records its
   control registers (the read shadows), paging starts on the VMM's 1:1
   map; the guest's descriptor tables and segments stay in the CPU. */
void hw_take_state(struct vmm *v)
{
    struct cpu *c = v->cpu;
    struct cpu_state keep = c->s;
    vmm_capture(v);
    v->vc.cr0 &= ~CR0_PG;             /* paging on comes after (hw_adopt_state) */
    spt_reset(v);
    v->internal = false;
    v->wd_visits = 0;
    shadow_build_region(v);           /* the VMM's 1:1 map (and its own tables) */
    uint32_t cr3 = c->s.cr3;
    c->s = keep;
    if (!v->npt) {
        c->s.cr3 = cr3;
        c->s.cr0 &= ~CR0_WP;
    }
    memset(hw_ept(v, HW_OFF_EPT), 0, 0x2000u);   /* the nested table starts empty */
    v->hw->npt_accounted = c->npt_cycles;
    hw_real_crs(v);
    cpu_flush_caches(c);
    struct vmcs *vm = &v->hw->vmcs;
    vmcs_init(vm);
    hw_controls(v, vm);
    hw_host_state(v, &vm->host);
}

/* A restored state (paging possibly on, halted, in an STI shadow): taken
   as at an entry, then the guest's paging turned on as its own MOV to CR0
   would (shadow page tables; with --npt the guest's own). */
bool hw_adopt_state(struct vmm *v)
{
    struct cpu *c = v->cpu;
    uint32_t cr0 = c->s.cr0;
    bool halted = c->s.halted;
    hw_take_state(v);
    v->vc.halted = halted;
    c->s.halted = false;
    v->vc.cr0 = cr0;
    bool ok = !(cr0 & CR0_PG) || spt_cr_written(v, 0, cr0 & ~CR0_PG);
    hw_real_crs(v);
    return ok;
}

/* A snapshot can be taken between exits unless an event waits for its
   injection (it would be lost: the PIC has already been acknowledged). */
bool hw_settled(const struct vmm *v)
{
    return !(v->hw->vmcs.entry_intr_info & VMX_INTR_VALID);
}

void hw_guest_state(struct vmm *v, struct cpu_state *out)
{
    cpu_get_eflags(v->cpu);
    *out = v->cpu->s;
    out->cr0 = v->vc.cr0;
    out->cr3 = v->vc.cr3;
    out->cr4 = v->vc.cr4;
    out->halted = v->vc.halted;
}

void hw_queue_event(struct vmm *v, uint32_t info, uint32_t err, bool again)
{
    struct vmcs *vm = &v->hw->vmcs;
    vm->entry_intr_info = info;
    vm->entry_error = err;
    vm->entry_insn_len = 0;
    vmm_emit(v, EV_INJECT, PATH_EMULATED, info & 0xFFu, (info >> 8) & 7u, again, 0);
}

/* The virtual PIC: inject a request the guest can take, else ask for an
   interrupt-window exit. An event already queued goes first. */
static void hw_pic_events(struct vmm *v)
{
    struct hw *h = v->hw;
    struct vmcs *vm = &h->vmcs;
    struct cpu *c = v->cpu;
    vm->proc &= ~VMX_PROC_INTR_WINDOW;
    if ((vm->entry_intr_info & VMX_INTR_VALID) || !h->pic_pending(h->pic_ctx))
        return;
    if (!(c->s.eflags & FL_IF) || c->s.inhibit_irq) {
        vm->proc |= VMX_PROC_INTR_WINDOW;
        return;
    }
    int vec = h->pic_ack(h->pic_ctx);
    hw_queue_event(v, vmx_intr_info(vec, VMX_INTR_EXT, false), 0, false);
}

/* Write the register cache back into the guest-state area. */
static void hw_prepare(struct vmm *v)
{
    struct cpu *c = v->cpu;
    struct vmcs *vm = &v->hw->vmcs;
    hw_real_crs(v);
    c->s.eflags = cpu_get_eflags(c);
    c->s.halted = false;
    hw_pic_events(v);
    vm->guest = c->s;
    vm->cr0_shadow = v->vc.cr0;
    vm->cr4_shadow = v->vc.cr4;
    vm->proc = c->single_step ? vm->proc | VMX_PROC_MTF : vm->proc & ~VMX_PROC_MTF;
}

/* A halted vcpu wakes when the virtual PIC has a request it can take. */
static bool hw_wake(struct vmm *v)
{
    struct hw *h = v->hw;
    if (!v->vc.vif || !h->pic_pending(h->pic_ctx))
        return false;
    v->vc.halted = false;
    return true;
}

static enum cpu_stop hw_entry_failed(struct vmm *v, int rc)
{
    struct cpu *c = v->cpu;
    if (rc == -2)
        return c->stop;               /* the injected event's delivery stopped the run */
    return mon_internal(v, "VM entry failed (VMfailValid): the VMM built an invalid VMCS "
                           "(internal error)");
}

enum cpu_stop hw_run(struct vmm *v, uint64_t cycle_limit)
{
    struct cpu *c = v->cpu;
    struct vmcs *vm = &v->hw->vmcs;
    while (c->cycles < cycle_limit) {
        if (v->vc.halted && !hw_wake(v))
            return CPU_STOP_HLT;
        hw_prepare(v);
        int rc = vmx_enter(c, vm, vm->launched);
        if (rc < 0)
            return hw_entry_failed(v, rc);
        enum cpu_stop why = rc == 1 ? CPU_STOP_VMEXIT : cpu_run(c, cycle_limit);
        if (why != CPU_STOP_VMEXIT)
            return why;               /* still in non-root mode: the run ends */
        why = hw_exit(v);
        if (why != CPU_STOP_BUDGET)
            return why;
        if (c->stop_now) {            /* an emulated OUT ended the run */
            c->stop_now = false;
            return CPU_STOP_BUDGET;
        }
    }
    return CPU_STOP_BUDGET;
}
