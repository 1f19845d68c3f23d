/*
 * shadow_pt_fault.c - page faults under shadow paging: the guest walk, hidden
 * versus true faults, tracing faults, and the VMM's own accesses to guest
 * linear memory.
 *
 * A hardware #PF while the guest has paging on means the *shadow* refused
 * the access. The VMM walks the guest's own tables exactly as the guest's
 * hardware would (Intel SDM vol. 3, 4.3 and 4.6: rights of both levels
 * combine; CR0.WP decides whether ring 0 may write read-only pages):
 *
 *   - the guest's tables refuse it too: a *true* fault. The guest gets #PF
 *     with the error code its hardware would push and CR2 = the address
 *     (the PDE used to reach the page table is still marked accessed,
 *     as paging.c does);
 *   - the guest allows it and the frame is not traced: a *hidden* fault.
 *     The VMM sets A (and D for a write) in the guest's entry, as the
 *     hardware would have (SDM 4.8), fills the shadow PTE and resumes;
 *   - the guest allows a write to a traced frame: a *tracing* fault. The
 *     VMM opens the page for exactly one instruction (the hardware
 *     single-steps it), then closes it and compares the page with its
 *     copy from before: each changed entry invalidates the shadow derived
 *     from it. An instruction that writes two traced pages (MOVS) faults
 *     once per page; they stay open together until it completes.
 *     A write to a frame holding translated code (BT) is handled the same
 *     way after the translator dropped that page's blocks (self-modifying
 *     code: bt_code_page_written); the writer is stepped on the hardware,
 *     outside the TC, so a retranslation cannot protect the page again
 *     before the write is done.
 */
#include "shadow_pt_internal.h"
#include "vmm/bt/bt.h"

#include <string.h>

/* A guest page-table entry. Above guest RAM the guest's hardware would read
   unassigned memory (0, as QEMU and the native engine do): never the VMM's
   frames. */
static uint32_t gphys32(struct vmm *v, uint32_t pa)
{
    uint32_t val = 0;
    if (pa <= v->guest_ram - 4u)
        vmm_read_guest_phys(v, pa, &val, 4);
    return val;
}

/* A/D updates by the "guest's hardware": not a traced write of the guest. */
static void gphys_set32(struct vmm *v, uint32_t pa, uint32_t val)
{
    if (pa > v->guest_ram - 4u)
        return;
    vmm_poke_guest_phys(v, pa, &val, 4);
}

/* SDM vol. 3, 4.6.1: may an access with these combined U/W rights go? */
static bool spt_rights_ok(const struct vmm *v, uint32_t rights, bool write, bool user)
{
    if (user && !(rights & SPT_U))
        return false;
    if (!write)
        return true;
    if (user)
        return (rights & SPT_W) != 0;
    return (rights & SPT_W) || !(v->vc.cr0 & CR0_WP);
}

bool spt_gwalk(struct vmm *v, uint32_t lin, bool write, bool user, struct spt_gwalk *w)
{
    uint32_t kind = (write ? PF_W : 0) | (user ? PF_U : 0);
    memset(w, 0, sizeof *w);
    w->err = kind;
    w->pde_pa = (v->vc.cr3 & ~0xFFFu) | ((lin >> 22) << 2);
    w->pde = gphys32(v, w->pde_pa);
    if (!(w->pde & SPT_P))
        return false;
    w->large = (w->pde & SPT_PS) && (v->vc.cr4 & CR4_PSE);
    uint32_t rights = w->pde;
    if (w->large) {
        w->pte = w->pde;
        w->frame = (w->pde & 0xFFC00000u) | (lin & 0x003FF000u);
    } else {
        w->pte_pa = (w->pde & ~0xFFFu) | (((lin >> 12) & 0x3FFu) << 2);
        w->pte = gphys32(v, w->pte_pa);
        if (!(w->pte & SPT_P))
            return false;
        w->frame = w->pte & ~0xFFFu;
        rights &= w->pte;
    }
    if (!spt_rights_ok(v, rights, write, user)) {
        w->err = kind | PF_P;
        return false;
    }
    return true;
}

/* Set A (and D for a write) in the guest's entries; returns the bits that
   were newly set in the leaf (for the event). */
static uint32_t spt_set_ad(struct vmm *v, struct spt_gwalk *w, bool write)
{
    uint32_t want = SPT_A | (write ? SPT_D : 0);
    if (w->large) {
        uint32_t added = want & ~w->pde;
        if (added)
            gphys_set32(v, w->pde_pa, w->pde |= added);
        w->pte = w->pde;
        return added;
    }
    if (!(w->pde & SPT_A))
        gphys_set32(v, w->pde_pa, w->pde |= SPT_A);
    uint32_t added = want & ~w->pte;
    if (added)
        gphys_set32(v, w->pte_pa, w->pte |= added);
    return added;
}

void spt_gwalk_set_ad(struct vmm *v, struct spt_gwalk *w, bool write)
{
    spt_set_ad(v, w, write);
}

/* ---- the tracing single-step ---- */

static struct spt_open *spt_open_find(struct spt *s, uint32_t lin)
{
    for (int i = 0; i < s->nopen; i++)
        if (s->open[i].lin == (lin & ~0xFFFu))
            return &s->open[i];
    return NULL;
}

/* Make the shadow PTE of a traced page writable for one instruction. */
static bool spt_open_page(struct vmm *v, uint32_t lin, uint32_t frame, bool code)
{
    struct spt *s = v->spt;
    struct spt_open *o = spt_open_find(s, lin);
    if (!o) {
        if (s->nopen == (int)SPT_STEP_PAGES)
            return false;
        o = &s->open[s->nopen++];
        o->lin = lin & ~0xFFFu;
        o->pa = frame;
        o->code = false;
        o->open_bus = frame == spt_open_bus_pa(v);
        if (o->open_bus)
            memcpy(o->before, v->cpu->bus.ram + frame, 4096);
        else
            vmm_read_guest_phys(v, frame, o->before, 4096);
    }
    uint32_t *pte = spt_shadow_pte(v, lin);
    if (!pte)
        return false;
    *pte |= SPT_W;
    o->code |= code;
    cpu_tlb_flush(v->cpu);
    s->stepping = true;
    return true;
}

/* Re-protect one page and invalidate what its write changed. */
static void spt_close_page(struct vmm *v, struct spt_open *o)
{
    uint32_t *pte = spt_shadow_pte(v, o->lin);
    if (pte)
        *pte &= ~SPT_W;
    if (o->open_bus) {              /* writes to open bus vanish */
        spt_open_bus_refill(v);
        return;
    }
    uint8_t now[4096];
    vmm_read_guest_phys(v, o->pa, now, sizeof now);
    unsigned roles = spt_frame_roles(v, o->pa) | (o->code ? SPT_TRACE_CODE : 0u);
    unsigned changed = 0, dropped = 0;
    for (unsigned off = 0; off < 4096u; off += 4u) {
        if (memcmp(now + off, o->before + off, 4) != 0) {
            changed++;
            dropped += spt_invalidate(v, o->pa + off, 4, &roles);
        }
    }
    spt_emit(v, EV_SHADOW_TRACE, o->lin, roles, changed, dropped);
}

static void spt_close_all(struct vmm *v)
{
    struct spt *s = v->spt;
    for (int i = 0; i < s->nopen; i++)
        spt_close_page(v, &s->open[i]);
    s->nopen = 0;
    s->stepping = false;
    cpu_tlb_flush(v->cpu);
}

static bool spt_stepping(const struct vmm *v)
{
    return v->spt && v->spt->stepping;
}

/* ---- the fault ---- */

static enum spt_verdict spt_stop(struct vmm *v, const char *msg)
{
    if (spt_stepping(v))
        spt_close_all(v);
    v->stop_msg = msg;
    return SPT_STOP;
}

static enum spt_verdict spt_true_fault(struct vmm *v, uint32_t lin, struct spt_gwalk *w,
                                       uint32_t *err)
{
    if ((w->pde & SPT_P) && !w->large && !(w->pde & SPT_A))
        gphys_set32(v, w->pde_pa, w->pde | SPT_A);
    if (spt_stepping(v))
        spt_close_all(v);
    v->vc.cr2 = lin;
    *err = w->err;
    spt_emit(v, EV_PF_TRUE, lin, w->err, 0, 0);
    return SPT_TRUE;
}

static enum spt_verdict spt_fault_one(struct vmm *v, uint32_t lin, uint32_t hw_err,
                                      uint32_t *err);

/*
 * One guest instruction on the hardware, in guest state, interrupts held
 * off for it (as after STI). The hardware IF is the virtual one for the
 * step: the stepped instruction may be a PUSHF whose stack store faulted
 * (xv6's pushcli, its kernel stack on a frame the shadow still traces), and
 * natively it would push the real IF -- 1 -- where the guest had done CLI
 * (under bt the TC's PUSHF sequence corrects the IF; a stepped one cannot).
 */
static enum cpu_stop spt_step_one(struct vmm *v)
{
    struct cpu *c = v->cpu;
    bool ss = c->single_step;
    uint32_t hw_if = cpu_get_eflags(c) & FL_IF;
    c->single_step = true;
    c->s.inhibit_irq = 1;
    cpu_set_eflags(c, (cpu_get_eflags(c) & ~FL_IF) | (vcpu_if(&v->vc) ? FL_IF : 0));
    enum cpu_stop why = cpu_run(c, UINT64_MAX);
    cpu_set_eflags(c, (cpu_get_eflags(c) & ~FL_IF) | hw_if);
    c->single_step = ss;
    return why;
}

static bool mmio_frame(uint32_t frame)
{
    return frame >= VMM_MMIO_BASE && frame < VMM_MMIO_END;
}

bool spt_mmio_addr(struct vmm *v, uint32_t lin)
{
    struct spt_gwalk w;
    if (!spt_active(v))
        return mmio_frame(lin & ~0xFFFu);
    return spt_gwalk(v, lin, false, false, &w) && mmio_frame(w.frame);
}

/*
 * A guest access to a device page (the local or I/O APIC): the page is
 * mapped to the device for one instruction (*pte = entry), the instruction
 * is single-stepped on the hardware, whose access reaches the device model
 * through the machine's MMIO callbacks as it would natively, and the page
 * is unmapped again, so the next access faults again: every device
 * register access is a hidden fault into the device model. If the step
 * faults for another page (a stack or data page not yet shadowed), that
 * fault is handled and the step retried; a true fault goes to the guest.
 */
static enum spt_verdict spt_mmio_step(struct vmm *v, uint32_t *pte, uint32_t entry,
                                      uint32_t *err)
{
    struct cpu *c = v->cpu;
    enum spt_verdict r = SPT_HIDDEN;
    for (int tries = 0; tries < 16; tries++) {
        *pte = entry;
        cpu_tlb_flush(c);
        enum cpu_stop why = spt_step_one(v);
        *pte = 0;
        cpu_tlb_flush(c);
        if (why != CPU_STOP_INTERCEPT || c->stop_vector != EXC_PF || c->stop_soft)
            break;
        r = spt_fault_one(v, c->s.cr2, c->stop_error, err);
        if (r == SPT_TRUE || r == SPT_STOP)
            return r;
        r = SPT_HIDDEN;
    }
    v->mmio_steps++;
    return r;
}

/* Guest paging off: the device window through a 4 MiB page of the VMM's
   1:1 directory, for the one instruction. */
static enum spt_verdict spt_mmio_unpaged(struct vmm *v, uint32_t lin, uint32_t *err)
{
    uint32_t *pd = (uint32_t *)(v->cpu->bus.ram + v->region_pa + VMM_OFF_PD);
    return spt_mmio_step(v, &pd[lin >> 22], (lin & 0xFFC00000u) | 0x87u, err);
}

/* Guest paging off, an access above guest RAM outside the device window:
   natively unassigned memory (reads 0, writes vanish). For one instruction
   the address is mapped to the open-bus frame - through the tail table if
   guest RAM ends in its 4 MiB block, else through a table whose every
   entry is that frame (spt_open_bus_map); spt_open_bus_unmap puts the map
   back and refills the frame. */
bool spt_open_bus_beyond(const struct vmm *v, uint32_t lin)
{
    return v->engine != VMM_HW && !spt_active(v) && lin >= v->guest_ram &&
           lin < VMM_REGION_BASE &&
           !mmio_frame(lin & ~0xFFFu);
}

struct spt_open_map spt_open_bus_map(struct vmm *v, uint32_t lin)
{
    uint8_t *ram = v->cpu->bus.ram;
    uint32_t *pde = (uint32_t *)(ram + v->region_pa + VMM_OFF_PD) + (lin >> 22);
    uint32_t entry = spt_open_bus_pa(v) | 7u;
    struct spt_open_map m = { pde, *pde };
    if ((*pde & 1u) && !(*pde & 0x80u)) {
        m.slot = (uint32_t *)(ram + (*pde & ~0xFFFu)) + ((lin >> 12) & 1023u);
        m.old = *m.slot;
        *m.slot = entry;
    } else {
        uint32_t *pt = (uint32_t *)(ram + v->region_pa + VMM_OFF_PT_OPEN);
        for (unsigned i = 0; i < 1024u; i++)
            pt[i] = entry;
        *pde = (v->region_pa + VMM_OFF_PT_OPEN) | 7u;
    }
    cpu_tlb_flush(v->cpu);
    return m;
}

void spt_open_bus_unmap(struct vmm *v, struct spt_open_map m)
{
    *m.slot = m.old;
    cpu_tlb_flush(v->cpu);
    spt_open_bus_refill(v);
}

/* The step's own exception (a store through a read-only segment after the
   load from open bus) is the guest's: SPT_REFAULT hands it to the monitor,
   which would otherwise run the instruction, and fault here, forever. */
static enum spt_verdict spt_open_bus_unpaged(struct vmm *v, uint32_t lin, uint32_t *err)
{
    struct cpu *c = v->cpu;
    struct spt_open_map m = spt_open_bus_map(v, lin);
    enum spt_verdict r = SPT_HIDDEN;
    for (int tries = 0; tries < 16; tries++) {
        enum cpu_stop why = spt_step_one(v);
        if (why != CPU_STOP_INTERCEPT)
            break;
        if (c->stop_vector != EXC_PF || c->stop_soft) {
            r = SPT_REFAULT;
            break;
        }
        r = spt_fault_one(v, c->s.cr2, c->stop_error, err);
        if (r != SPT_HIDDEN)
            break;
    }
    spt_open_bus_unmap(v, m);
    return r;
}

/* Guest paging on: the guest's PTE names a device frame. */
static enum spt_verdict spt_mmio_paged(struct vmm *v, uint32_t lin, struct spt_gwalk *w,
                                       bool write, bool user, uint32_t *err)
{
    spt_set_ad(v, w, write);
    if (!spt_fill(v, lin, w, write, user))
        return spt_stop(v, "shadow page-table pool exhausted");
    uint32_t *pte = spt_shadow_pte(v, lin);
    if (!pte)
        return spt_stop(v, "shadow page-table pool exhausted");
    uint32_t rights = w->large ? w->pde : w->pde & w->pte;
    uint32_t entry = w->frame | SPT_P | SPT_A | SPT_D | SPT_W | (rights & SPT_U);
    return spt_mmio_step(v, pte, entry, err);
}

/* Classify one #PF and fill or open the page (no stepping). */
static enum spt_verdict spt_fault_one(struct vmm *v, uint32_t lin, uint32_t hw_err,
                                      uint32_t *err)
{
    bool write = hw_err & PF_W, user = hw_err & PF_U;
    struct spt_gwalk w;
    if (!spt_active(v) && mmio_frame(lin & ~0xFFFu))
        return spt_mmio_unpaged(v, lin, err);
    if (!spt_active(v) && vmm_pooled(v) && lin < v->guest_ram)
        return spt_unpaged_fill(v, lin, write);
    if (spt_open_bus_beyond(v, lin))
        return spt_open_bus_unpaged(v, lin, err);
    if (!spt_active(v))
        return spt_stop(v, "guest accessed a linear address outside its RAM "
                           "(not mapped under a VMM)");
    if (lin >= VMM_REGION_BASE && v->engine != VMM_HW)   /* hw: the guest's, like any */
        return spt_stop(v, "the guest's linear addresses 0xffc00000 up belong to the VMM");
    if (!spt_gwalk(v, lin, write, user, &w))
        return spt_true_fault(v, lin, &w, err);
    if (mmio_frame(w.frame))
        return spt_mmio_paged(v, lin, &w, write, user, err);
    /* a frame above guest RAM (the VMM's frames start there) is shadowed by
       the open-bus frame: reads give all ones, a write is stepped and lost */
    bool open_bus = w.frame >= v->guest_ram;
    uint32_t added = spt_set_ad(v, &w, write), own;
    if (write && !open_bus && !vmm_own_frame(v, w.frame, &own))
        return spt_stop(v, v->stop_msg);    /* a shared frame is copied before any write */
    bool code = !open_bus && write && spt_code_frame(v, w.frame);
    if (code)
        bt_code_page_written(vmm_bt(v), w.frame);   /* SMC: drop its translations */
    bool trace = code || (write && (open_bus || spt_traced(v, w.frame)));
    if (!spt_fill(v, lin, &w, write, user))
        return spt_stop(v, "shadow page-table pool exhausted");
    if (trace) {
        if (!spt_open_page(v, lin, open_bus ? spt_open_bus_pa(v) : w.frame, code))
            return spt_stop(v, "one instruction wrote more traced pages than the VMM tracks");
        return SPT_TRACE;
    }
    spt_emit(v, EV_SHADOW_FILL, lin, hw_err, w.pte, added);
    return SPT_HIDDEN;
}

/*
 * Execute the writer with its traced page(s) open: one instruction on the
 * hardware, interrupts held off for it (as after STI). If it faults again
 * for another page (MOVS from one traced page to another, an unfilled
 * page), that page is handled and the step retried; a true fault goes to
 * the guest with the pages closed; any other stop leaves the instruction
 * to run again later. The caller (monitor) returns to the run loop.
 */
static enum spt_verdict spt_step(struct vmm *v, uint32_t *err)
{
    struct cpu *c = v->cpu;
    for (int tries = 0; tries < 16; tries++) {
        enum cpu_stop why = spt_step_one(v);
        if (why != CPU_STOP_INTERCEPT || c->stop_vector != EXC_PF || c->stop_soft)
            break;
        enum spt_verdict r = spt_fault_one(v, c->s.cr2, c->stop_error, err);
        if (r == SPT_TRUE || r == SPT_STOP)
            return r;
    }
    spt_close_all(v);
    return SPT_TRACE;
}

enum spt_verdict spt_page_fault(struct vmm *v, uint32_t lin, uint32_t hw_err, uint32_t *err)
{
    enum spt_verdict r = spt_fault_one(v, lin, hw_err, err);
    return r == SPT_TRACE ? spt_step(v, err) : r;
}

/* ---- the VMM's accesses to guest linear memory ---- */

bool spt_guest_phys(struct vmm *v, uint32_t lin, bool write, uint32_t *pa)
{
    struct spt_gwalk w;
    if (!spt_gwalk(v, lin, write, false, &w) || w.frame >= v->guest_ram)
        return false;
    spt_set_ad(v, &w, write);
    *pa = w.frame | (lin & 0xFFFu);
    return true;
}

bool spt_guest_phys_peek(struct vmm *v, uint32_t lin, uint32_t *gpa)
{
    struct spt_gwalk w;
    if (!spt_gwalk(v, lin, false, false, &w) || w.frame >= v->guest_ram)
        return false;
    *gpa = w.frame | (lin & 0xFFFu);
    return true;
}

void spt_guest_written(struct vmm *v, uint32_t pa, uint32_t len)
{
    unsigned roles = 0;
    if (spt_active(v) && len && spt_traced(v, pa & ~0xFFFu))
        spt_invalidate(v, pa, len, &roles);
}
