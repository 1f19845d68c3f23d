/*
 * vmm_state.c - the guest's state handed out and taken back (snapshots).
 *
 * Under a VMM the hardware CPU holds a deprivileged guest: ring 1 for its
 * kernel, the VMM's GDT, IDT, TSS and page tables, segment caches truncated
 * below the VMM region, IF held by the monitor. The guest's own view is the
 * hardware's general registers plus the vcpu plus the guest's own segment
 * caches (shadow_guest_seg). For a snapshot the monitor writes that view out
 * as a native CPU would hold it, and on a restore it takes a native state in
 * exactly as it takes the multiboot entry state at reset (vmm_take_state), so
 * a snapshot moves freely between engines. The translation cache and shadow
 * page tables are caches: they are dropped and rebuilt on demand.
 */
#include "vmm_internal.h"
#include "vmm/bt/bt_internal.h"
#include "vmm/hw/hw.h"

#include <stdio.h>
#include <string.h>

/* A code/data cache with the guest's DPL: ring compression shows DPL 0 as 1
   (a guest's own DPL 1 descriptors, which no kernel here uses, read as 0). */
static void uncompress(struct seg *s)
{
    if ((s->flags & SEGF_S) && SEGF_DPL(s->flags) == 1)
        s->flags &= ~0x60u;
}

void vmm_guest_state(struct vmm *v, struct cpu_state *out)
{
    if (v->hw) {
        hw_guest_state(v, out);
        return;
    }
    const struct vcpu *vc = &v->vc;
    uint32_t fl = cpu_get_eflags(v->cpu);
    *out = v->cpu->s;
    fl &= ~(FL_IF | FL_IOPL);
    if (vcpu_if(vc))
        fl |= FL_IF;
    out->eflags = fl | vc->iopl << 12;
    out->cpl = vc->cpl;
    out->cr0 = vc->cr0, out->cr2 = vc->cr2, out->cr3 = vc->cr3, out->cr4 = vc->cr4;
    memcpy(out->dr, vc->dr, sizeof out->dr);
    out->gdtr = vc->gdtr, out->idtr = vc->idtr;
    for (int i = 0; i < S_COUNT; i++) {
        shadow_guest_seg(v, i, &out->seg[i]);
        uncompress(&out->seg[i]);
        out->seg[i].sel = vc->cpl == 0 ? guest_visible_sel(out->seg[i].sel) : out->seg[i].sel;
    }
    out->ldtr = (struct seg){ vc->ldtr, vc->ldt_base, vc->ldt_limit,
                            (vc->ldtr & 0xFFFCu) || vc->ldt_limit ? 0x82u : 0 };
    out->tr = (struct seg){ vc->tr, vc->tss_base, vc->tss_limit, (vc->tr & 0xFFFCu) ? 0x8Bu : 0 };
    out->sysenter_cs = vc->sysenter_cs, out->sysenter_esp = vc->sysenter_esp;
    out->sysenter_eip = vc->sysenter_eip;
    out->halted = vc->halted;
    out->inhibit_irq = vc->sti_shadow ? 1 : v->cpu->s.inhibit_irq;
}

int vmm_guest_read(struct vmm *v, uint32_t lin, void *buf, uint32_t len)
{
    struct emu_fault f;
    return gmem_read(v, lin, buf, len, &f) == EMU_NEXT ? 0 : -1;
}

int vmm_guest_write(struct vmm *v, uint32_t lin, const void *buf, uint32_t len)
{
    struct emu_fault f;
    return gmem_write(v, lin, buf, len, &f) == EMU_NEXT ? 0 : -1;
}

int vmm_settle(struct vmm *v, char *err, size_t errlen)
{
    if (v->hw && !hw_settled(v)) {
        snprintf(err, errlen, "snapshot: an event waits for injection at the next VM entry; "
                 "try another instruction count");
        return -1;
    }
    if (v->hw)
        return 0;
    const char *why = v->bt && v->bt->in_tc ? "the guest is inside translated code"
                      : v->trunc_step ? "the monitor is re-executing an instruction"
                      : v->vc.npending ? "interrupts are queued in the monitor" : NULL;
    if (why)
        snprintf(err, errlen, "snapshot: %s; try another instruction count", why);
    return why ? -1 : 0;
}

int vmm_adopt_state(struct vmm *v, char *err, size_t errlen)
{
    if (v->hw && !(v->cpu->s.cr0 & CR0_PE)) {
        snprintf(err, errlen, "the snapshot's guest is in real mode, which a VMM here cannot run");
        return -1;
    }
    if (v->hw && !hw_adopt_state(v)) {
        snprintf(err, errlen, "the monitor could not rebuild the guest's shadow page tables");
        return -1;
    }
    if (v->hw)
        return 0;
    if (!(v->cpu->s.cr0 & CR0_PE)) {
        snprintf(err, errlen, "the snapshot's guest is in real mode, which a VMM here cannot run");
        return -1;
    }
    if (!vmm_take_state(v, false)) {
        snprintf(err, errlen, "the monitor could not rebuild the guest's shadow page tables");
        return -1;
    }
    return 0;
}
