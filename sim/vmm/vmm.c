/*
 * vmm.c - the monitor's lifecycle and run loop, and its bookkeeping.
 *
 * vmm_reset takes the multiboot entry state the loader left in the CPU as
 * the guest's own (into the vcpu) and deprivileges the hardware: the VMM's
 * GDT, IDT, TSS and page directory are loaded, the guest's segments are
 * replaced by their compressed versions (DPL 0 -> 1, CS/SS with RPL 1,
 * limits below the VMM region), EFLAGS.IF = 1 and IOPL = 0 while the guest
 * runs, and every exception and interrupt is intercepted.
 *
 * vmm_run alternates guest execution on the hardware CPU (direct execution)
 * with visits to the monitor (monitor.c), one per intercept. Each visit is
 * two world switches; the modeled cycles it costs beyond what the same guest
 * work costs natively are its *overhead*, carried on the leaving
 * EV_WORLD_SWITCH event so that the statistics can report native_equiv and
 * overhead_pct honestly.
 */
#include "vmm_internal.h"
#include "vmm/bt/bt_internal.h"
#include "vmm/hw/hw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the pending-interrupt queue ---- */

bool vcpu_queue_push(struct vcpu *vc, int vector)
{
    if (vc->npending >= VCPU_PENDING_MAX)
        return false;
    vc->pending[vc->npending++] = (uint8_t)vector;
    return true;
}

int vcpu_queue_pop(struct vcpu *vc)
{
    if (vc->npending == 0)
        return -1;
    int vec = vc->pending[0];
    memmove(vc->pending, vc->pending + 1, (size_t)--vc->npending);
    return vec;
}

/* ---- events and accounting ---- */

uint32_t vmm_event_eip(const struct vmm *v, uint32_t hw_eip)
{
    uint32_t lin = v->cpu->s.seg[S_CS].base + hw_eip, guest;
    if (v->bt && lin >= VMM_REGION_BASE && bt_tc_guest(v->bt, lin, &guest))
        return guest;
    return hw_eip;
}

void vmm_emit(struct vmm *v, enum ev_kind kind, enum ev_path path,
              uint32_t a, uint32_t b, uint32_t c, uint32_t d)
{
    if (!event_wanted(v->events, kind))
        return;
    struct event ev = { .kind = (uint16_t)kind, .vm = v->vm_id, .path = (uint8_t)path,
                        .eip = vmm_event_eip(v, v->cpu->s.eip), .cycle = v->cpu->cycles,
                        .a = a, .b = b, .c = c, .d = d };
    event_dispatch(v->events, &ev);
}

void vmm_account(struct vmm *v, enum ev_ov_cause cause, uint32_t vmm_cycles, uint32_t native)
{
    int64_t overhead = (int64_t)vmm_cycles - (int64_t)native;
    v->visit_overhead += overhead;
    vmm_emit(v, EV_OVERHEAD, PATH_EMULATED, (uint32_t)cause, vmm_cycles,
             (uint32_t)(int32_t)overhead, native);
}

void vmm_charge(struct vmm *v, enum ev_ov_cause cause, uint32_t vmm_cycles, uint32_t native)
{
    v->cpu->cycles += vmm_cycles;
    vmm_account(v, cause, vmm_cycles, native);
}

/* Overhead charged since the last return to the guest (in a visit, or
   outside one, e.g. translating on a TC miss) rides on the next return. */
void vmm_world_switch(struct vmm *v, bool in)
{
    if (in) {
        vmm_emit(v, EV_WORLD_SWITCH, PATH_EMULATED, 1, 0, 0, 0);
        return;
    }
    vmm_emit(v, EV_WORLD_SWITCH, PATH_EMULATED, 0, 0, (uint32_t)(int32_t)v->visit_overhead, 0);
    v->visit_overhead = 0;
}

static int real_cpl(int vcpl)
{
    return vcpl == 0 ? 1 : vcpl;
}

void vmm_set_cpl(struct vmm *v, int vcpl)
{
    int old = v->vc.cpl;
    v->vc.cpl = vcpl;
    if (old != vcpl)
        vmm_emit(v, EV_RING, PATH_EMULATED, (uint32_t)old, (uint32_t)vcpl,
                 (uint32_t)real_cpl(old), (uint32_t)real_cpl(vcpl));
}

/* ---- hardware hooks: what the deprivileged CPU reports ---- */

/* A ring change the hardware made by itself (IRET or far RET to ring 3). */
static void hook_ring(void *ctx, int from, int to, uint32_t eip)
{
    struct vmm *v = ctx;
    int vfrom = from == 3 ? 3 : 0, vto = to == 3 ? 3 : 0;
    v->vc.cpl = vto;
    if (vfrom != vto)
        vmm_emit(v, EV_RING, PATH_DIRECT, (uint32_t)vfrom, (uint32_t)vto,
                 (uint32_t)from, (uint32_t)to);
}

/* A sensitive instruction ran at real CPL 1 without trapping: the guest
   kernel saw hardware state instead of virtual state (Robin & Irvine). At
   real CPL 3 the guest is not deprivileged, so that is not counted. */
static void hook_sensitive(void *ctx, const struct op_row *row, uint32_t eip)
{
    struct vmm *v = ctx;
    if (v->cpu->s.cpl != 1 || v->engine == VMM_BT)
        return;                     /* BT: only vetted instructions run at ring 1 */
    vmm_emit(v, EV_SENSITIVE, PATH_DIRECT, (uint32_t)(row - op_table), 0, 0, 0);
}

/* ---- lifecycle ---- */

struct vmm *vmm_create(enum vmm_engine engine, struct cpu *cpu, uint32_t guest_ram,
                       struct pmap *pm, uint32_t region_pa,
                       struct event_bus *ev, const struct cost_profile *costs,
                       uint8_t vm_id, char *err, size_t errlen)
{
    if ((uint64_t)region_pa + VMM_REGION_SIZE > cpu->bus.ram_size ||
        guest_ram > VMM_REGION_BASE || (engine == VMM_HW && !pmap_identity(pm))) {
        snprintf(err, errlen, "VMM: no frames above guest RAM for the VMM region");
        return NULL;
    }
    struct vmm *v = calloc(1, sizeof *v);
    if (!v) {
        snprintf(err, errlen, "VMM: out of memory");
        return NULL;
    }
    *v = (struct vmm){ .engine = engine, .cpu = cpu, .guest_ram = guest_ram,
                       .region_pa = region_pa, .events = ev, .costs = costs,
                       .vm_id = vm_id, .pm = pm };
    v->spt = spt_create(v);
    if (!v->spt) {
        free(v);
        snprintf(err, errlen, "VMM: out of memory");
        return NULL;
    }
    if (vmm_use_machine_memory(v, pm, region_pa, err, errlen) != 0) {
        vmm_release_machine_memory(v);
        spt_destroy(v->spt);
        free(v);
        return NULL;
    }
    if (engine == VMM_BT) {
        struct bt_config cfg;
        bt_config_default(&cfg);
        v->bt = bt_create(v, &cfg);
        if (!v->bt) {
            spt_destroy(v->spt);
            free(v);
            snprintf(err, errlen, "VMM: out of memory for the translator");
            return NULL;
        }
    }
    if (engine == VMM_HW) {         /* the guest keeps the hardware: the machine's hooks */
        v->hw = hw_create(v);
        if (!v->hw) {
            spt_destroy(v->spt);
            free(v);
            snprintf(err, errlen, "VMM: out of memory for the VMCS");
            return NULL;
        }
        return v;
    }
    cpu->hooks = (struct cpu_hooks){ .ctx = v, .on_ring_change = hook_ring,
                                     .on_sensitive = hook_sensitive };
    cpu->intercept = 0xFFFFFFFFu;
    cpu->intercept_ext = true;
    return v;
}

bool vmm_set_npt(struct vmm *v, bool on)
{
    if (!v->hw)
        return false;
    v->npt = on;
    return true;
}

void vmm_set_hosted(struct vmm *v, bool hosted)
{
    v->hosted = hosted;
}

void vmm_set_vm_id(struct vmm *v, uint8_t id)
{
    v->vm_id = id;
}

void vmm_destroy(struct vmm *v)
{
    if (v)
        vmm_release_machine_memory(v);
    if (v)
        spt_destroy(v->spt);
    if (v)
        bt_destroy(v->bt);
    if (v)
        hw_destroy(v->hw);
    free(v);
}

void vmm_capture(struct vmm *v)
{
    struct cpu_state *s = &v->cpu->s;
    struct vcpu *vc = &v->vc;
    uint32_t fl = cpu_get_eflags(v->cpu);
    memset(vc, 0, sizeof *vc);
    vc->cpl = s->cpl == 3 ? 3 : 0;
    vc->vif = (fl & FL_IF) != 0;
    vc->iopl = (fl & FL_IOPL) >> 12;
    vc->cr0 = s->cr0, vc->cr2 = s->cr2, vc->cr3 = s->cr3, vc->cr4 = s->cr4;
    memcpy(vc->dr, s->dr, sizeof vc->dr);
    vc->gdtr = s->gdtr, vc->idtr = s->idtr;
    vc->ldtr = s->ldtr.sel, vc->tr = s->tr.sel;
    /* The reset LDTR (selector 0, base 0, limit 0xFFFF, present) is usable
       natively: a TI=1 selector reads its descriptor at linear 0 + index. */
    vc->ldt_base = s->ldtr.base;
    vc->ldt_limit = s->ldtr.flags & SEGF_P ? s->ldtr.limit : 0;
    vc->tss_base = s->tr.base, vc->tss_limit = s->tr.limit;
    vc->sysenter_cs = s->sysenter_cs, vc->sysenter_esp = s->sysenter_esp;
    vc->sysenter_eip = s->sysenter_eip;
    for (int i = 0; i < S_COUNT; i++)
        vc->sel[i] = s->seg[i].sel;
}

/* Take the state the CPU holds, as native hardware would hold it, as the
   guest's, and deprivilege the hardware. At a multiboot entry paging is off;
   a restored guest may have it on: shadow paging is then turned on the way
   the guest's own MOV to CR0 would. False if the shadow could not be built. */
bool vmm_take_state(struct vmm *v, bool entry)
{
    struct cpu_state *s = &v->cpu->s;
    bool halted = s->halted, shadow = s->inhibit_irq != 0;
    vmm_capture(v);
    uint32_t cr0 = v->vc.cr0;
    v->vc.cr0 &= ~CR0_PG;
    spt_reset(v);
    v->internal = false;
    v->irq_held = false;
    v->wd_visits = 0;
    shadow_build_region(v);
    shadow_gdt_rebuild(v);
    for (int i = 0; i < S_COUNT; i++)
        if ((i == S_CS || i == S_SS) && (s->seg[i].sel & 3u) == 0)
            s->seg[i].sel |= 1u;
    shadow_reset_segs(v);           /* compressed and truncated, guest copies kept */
    s->cpl = v->vc.cpl == 3 ? 3 : 1;
    s->sysenter_cs = s->sysenter_esp = s->sysenter_eip = 0;
    cpu_set_eflags(v->cpu, (cpu_get_eflags(v->cpu) | FL_IF) & ~FL_IOPL);
    cpu_flush_caches(v->cpu);
    if (v->bt)
        bt_reset(v->bt);
    if (entry)
        return true;
    v->vc.halted = halted;          /* a virtual HLT; the hardware runs on */
    s->halted = false;
    v->vc.sti_shadow = shadow;
    s->inhibit_irq = 0;
    v->vc.cr0 = cr0;
    /* An interrupt waiting at the PIC with the virtual IF clear was held
       there when the state was saved (mon_external): hold it again, or the
       restored run pays a monitor visit the uninterrupted one did not. */
    if (!vcpu_if(&v->vc) && v->cpu->bus.intr_pending && v->cpu->bus.intr_pending(v->cpu->bus.ctx)) {
        v->irq_held = true;
        cpu_set_eflags(v->cpu, cpu_get_eflags(v->cpu) & ~FL_IF);
    }
    return !(cr0 & CR0_PG) || spt_cr_written(v, 0, cr0 & ~CR0_PG);
}

void vmm_reset(struct vmm *v)
{
    if (v->hw) {
        hw_take_state(v);
        return;
    }
    vmm_take_state(v, true);        /* multiboot never enters with paging on */
}

/* ---- the run loop ---- */

/* Before running the guest: wake or deliver what the virtual IF now allows. */
bool vmm_prepare(struct vmm *v, enum cpu_stop *why)
{
    v->pending_stop = CPU_STOP_BUDGET;
    vmm_pmap_sync(v);
    if (v->vc.halted) {
        if (!mon_wake(v)) {
            *why = CPU_STOP_HLT;
            return false;
        }
    } else {
        mon_deliver_pending(v);
    }
    *why = v->pending_stop;
    return *why == CPU_STOP_BUDGET;
}

enum cpu_stop vmm_run(struct vmm *v, uint64_t cycle_limit)
{
    struct cpu *c = v->cpu;
    enum cpu_stop why;
    if (v->bt)
        return bt_run(v, cycle_limit);
    if (v->hw)
        return hw_run(v, cycle_limit);
    while (c->cycles < cycle_limit) {
        if (!vmm_prepare(v, &why))
            return why;
        c->single_step = v->vc.sti_shadow;
        why = cpu_run(c, cycle_limit);
        c->single_step = false;
        v->vc.sti_shadow = false;
        if (why == CPU_STOP_STEP)
            continue;
        if (why == CPU_STOP_GATE)
            return mon_internal(v, "instruction fetch from a VMM gate in trap mode "
                                   "(internal error)");
        if (why != CPU_STOP_INTERCEPT)
            return why;
        why = mon_intercept(v);
        if (why != CPU_STOP_BUDGET)
            return why;
        if (c->stop_now) {          /* an emulated OUT ended the run */
            c->stop_now = false;
            return CPU_STOP_BUDGET;
        }
    }
    return CPU_STOP_BUDGET;
}

/* ---- accessors ---- */

bool vmm_internal_error(const struct vmm *v)
{
    return v->internal;
}

bool vmm_guest_if(const struct vmm *v)
{
    return vcpu_if(&v->vc);
}

bool vmm_guest_halted(const struct vmm *v)
{
    return v->vc.halted;
}

struct bt *vmm_bt(struct vmm *v)
{
    return v ? v->bt : NULL;
}

const struct vcpu *vmm_vcpu(const struct vmm *v)
{
    return &v->vc;
}

uint16_t vmm_guest_sel(const struct vmm *v, int sreg)
{
    return guest_visible_sel(v->cpu->s.seg[sreg].sel);
}

const char *vmm_row_label(const struct op_row *row)
{
    switch (row->opd[0] == O_Cd || row->opd[1] == O_Cd ? 1
            : row->opd[0] == O_Dd || row->opd[1] == O_Dd ? 2
            : row->opd[0] == O_Sw ? 3 : row->opd[1] == O_Sw ? 4 : 0) {
    case 1: return row->opd[0] == O_Cd ? "mov to cr" : "mov from cr";
    case 2: return row->opd[0] == O_Dd ? "mov to dr" : "mov from dr";
    case 3: return "mov to sreg";
    case 4: return "mov from sreg";
    default: break;
    }
    if (row->opd[0] == O_SEG) {
        static const char *const push[S_COUNT] = { "push es", "push cs", "push ss",
                                                   "push ds", "push fs", "push gs" };
        static const char *const pop[S_COUNT] = { "pop es", "pop cs", "pop ss",
                                                  "pop ds", "pop fs", "pop gs" };
        return row->op == OP_PUSH_SREG ? push[row->sreg] : pop[row->sreg];
    }
    return row->mnem;
}

int vmm_counts_by_label(const uint64_t *by_row, unsigned nrows, struct label_count *out,
                        int max)
{
    int n = 0;
    for (unsigned r = 0; r < nrows && r < op_table_len; r++) {
        if (!by_row[r])
            continue;
        const char *label = vmm_row_label(&op_table[r]);
        int i = 0;
        while (i < n && strcmp(out[i].label, label) != 0)
            i++;
        if (i == n) {
            if (n == max)
                continue;
            out[n++] = (struct label_count){ label, 0 };
        }
        out[i].n += by_row[r];
    }
    return n;
}
