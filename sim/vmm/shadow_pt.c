/*
 * shadow_pt.c - the shadow page tables themselves: a pool of frames in the
 * VMM region, a small cache of shadow roots (one per guest CR3), the lazy
 * fill of shadow PTEs, the set of traced guest frames and invalidation when
 * a traced frame changes.
 *
 * Every shadow root is a page directory whose slot 1023 maps the VMM region
 * (supervisor only) and whose other slots are filled on demand, each with a
 * shadow page table of 4 KiB entries. A guest 4 MiB page is shadowed by a
 * page table too (Adams & Agesen 2006, §3.2 "VMware's VMM ... shadow page
 * tables"): that lets the VMM write-protect one traced 4 KiB frame inside a
 * large page and keep A/D exact. Shadow PTEs carry the combined rights of
 * the guest PDE and PTE, minus write permission while the guest entry is
 * clean (so the first write sets D, SDM vol. 3, 4.8) or the frame is traced.
 *
 * A frame holding translated code (BT) is never mapped writable either,
 * so that self-modifying code still faults under guest paging; the
 * translator reports new code pages through spt_code_page_added.
 *
 * A traced frame is one the shadow is derived from: the guest page
 * directory of a cached root, a guest page table some shadow PT copies, the
 * guest GDT. tref[] counts the shadow structures derived from each frame.
 * When the pool runs out, every shadow is dropped and rebuilt lazily: the
 * shadow is only a cache of the guest's tables.
 */
#include "shadow_pt_internal.h"
#include "vmm/bt/bt.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

uint32_t spt_pool_pa(const struct vmm *v, unsigned idx)
{
    return v->region_pa + SPT_OFF_POOL + idx * 4096u;
}

uint32_t *spt_pool_ptr(struct vmm *v, unsigned idx)
{
    assert(idx < SPT_POOL_PAGES);
    return (uint32_t *)(v->cpu->bus.ram + spt_pool_pa(v, idx));
}

uint32_t spt_open_bus_pa(struct vmm *v)
{
    return v->region_pa + SPT_OFF_OPEN_BUS;
}

void spt_open_bus_refill(struct vmm *v)
{
    memset(v->cpu->bus.ram + spt_open_bus_pa(v), 0, 4096);   /* unassigned reads 0 (QEMU) */
    cpu_notify_phys_write(v->cpu, spt_open_bus_pa(v), 4096);
}

void spt_emit(struct vmm *v, enum ev_kind kind, uint32_t a, uint32_t b, uint32_t c, uint32_t d)
{
    vmm_emit(v, kind, PATH_EMULATED, a, b, c, d);
}

static bool spt_is_gdt_frame(const struct spt *s, uint32_t frame)
{
    for (int i = 0; i < s->ngdt; i++)
        if (s->gdt_frames[i] == frame)
            return true;
    return false;
}

bool spt_traced(const struct vmm *v, uint32_t frame)
{
    const struct spt *s = v->spt;
    uint32_t n = frame >> 12;
    return (n < s->npages && s->tref[n]) || spt_is_gdt_frame(s, frame);
}

bool spt_code_frame(struct vmm *v, uint32_t frame)
{
    struct bt *bt = vmm_bt(v);
    return bt && bt_page_has_code(bt, frame & ~0xFFFu);
}

/* ---- lifecycle ---- */

struct spt *spt_create(struct vmm *v)
{
    struct spt *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->npages = v->guest_ram >> 12;
    s->tref = calloc(s->npages + 1u, sizeof *s->tref);
    if (!s->tref) {
        free(s);
        return NULL;
    }
    return s;
}

void spt_destroy(struct spt *s)
{
    if (s)
        free(s->tref);
    free(s);
}

static void spt_clear(struct spt *s)
{
    memset(s->tref, 0, (s->npages + 1u) * sizeof *s->tref);
    memset(s->roots, 0, sizeof s->roots);
    memset(s->frames, 0, sizeof s->frames);
    s->stepping = false;
    s->nopen = 0;
}

/* The hardware back on the VMM's 1:1 page directory (guest paging off).
   That map may have read-only entries (shared frames, code the translator
   protects) that ring 1 must honour as well (vmm_wp_needed). */
static void spt_hw_identity(struct vmm *v)
{
    v->cpu->s.cr3 = v->region_pa + VMM_OFF_PD;
    if (vmm_wp_needed(v))
        v->cpu->s.cr0 |= CR0_WP;
    else
        v->cpu->s.cr0 &= ~CR0_WP;
    cpu_tlb_flush(v->cpu);
}

void spt_reset(struct vmm *v)
{
    spt_clear(v->spt);
    v->spt->active = false;
    v->spt->ngdt = 0;
}

bool spt_active(const struct vmm *v)
{
    return v->spt && v->spt->active;
}

/* ---- the frame pool ---- */

static int spt_pool_alloc(struct vmm *v, uint8_t kind)
{
    for (unsigned i = 0; i < SPT_POOL_PAGES; i++) {
        if (v->spt->frames[i].kind == SPF_FREE) {
            v->spt->frames[i] = (struct spt_frame){ .kind = kind };
            memset(spt_pool_ptr(v, i), 0, 4096);
            return (int)i;
        }
    }
    return -1;
}

/* ---- tracing: reference counts and write protection ---- */

/* Remove write permission from every shadow PTE that maps guest frame
   `frame` (shadow PTEs hold its machine frame). */
void spt_write_protect(struct vmm *v, uint32_t frame)
{
    frame = vmm_machine_pa(v, frame & ~0xFFFu);
    if (frame == UINT32_MAX)
        return;                     /* no frame backs it: nothing maps it */
    for (unsigned i = 0; i < SPT_POOL_PAGES; i++) {
        if (v->spt->frames[i].kind != SPF_PT)
            continue;
        uint32_t *pt = spt_pool_ptr(v, i);
        for (unsigned j = 0; j < 1024u; j++)
            if ((pt[j] & (SPT_P | SPT_W)) == (SPT_P | SPT_W) && (pt[j] & ~0xFFFu) == frame)
                pt[j] &= ~SPT_W;
    }
    cpu_tlb_flush(v->cpu);
}

static void spt_trace_ref(struct vmm *v, uint32_t frame)
{
    uint32_t n = frame >> 12;
    if (n >= v->spt->npages)
        return;
    if (v->spt->tref[n]++ == 0)
        spt_write_protect(v, frame);
}

static void spt_trace_unref(struct vmm *v, uint32_t frame)
{
    uint32_t n = frame >> 12;
    if (n < v->spt->npages && v->spt->tref[n])
        v->spt->tref[n]--;
}

/* ---- roots ---- */

static void spt_pde_drop(struct vmm *v, unsigned root, unsigned slot)
{
    struct spt_root *r = &v->spt->roots[root];
    uint32_t *pd = spt_pool_ptr(v, r->pd);
    unsigned idx = r->pt[slot];
    pd[slot] = 0;
    if (idx == 0)
        return;
    r->pt[slot] = 0;
    struct spt_frame *f = &v->spt->frames[idx - 1u];
    if (!f->large)
        spt_trace_unref(v, f->src);
    f->kind = SPF_FREE;
}

static void spt_root_drop(struct vmm *v, unsigned root)
{
    struct spt_root *r = &v->spt->roots[root];
    if (!r->used)
        return;
    for (unsigned i = 0; i < 1023u; i++)
        spt_pde_drop(v, root, i);
    spt_trace_unref(v, r->gcr3);
    v->spt->frames[r->pd].kind = SPF_FREE;
    r->used = false;
}

/* A fresh shadow PD for guest CR3 `gcr3` in slot `root`; false if no frame. */
static bool spt_root_build(struct vmm *v, unsigned root, uint32_t gcr3)
{
    int pd = spt_pool_alloc(v, SPF_PD);
    if (pd < 0)
        return false;
    v->spt->frames[pd].root = (uint8_t)root;
    v->spt->roots[root] = (struct spt_root){ .used = true, .gcr3 = gcr3, .pd = (uint16_t)pd };
    if (v->engine != VMM_HW)        /* hw: the guest at ring 0 must not see the region */
        spt_pool_ptr(v, (unsigned)pd)[1023] = (v->region_pa + VMM_OFF_PT_VMM) | SPT_W | SPT_P;
    spt_trace_ref(v, gcr3);
    return true;
}

static int spt_root_find(struct spt *s, uint32_t gcr3)
{
    for (unsigned i = 0; i < SPT_ROOTS; i++)
        if (s->roots[i].used && s->roots[i].gcr3 == gcr3)
            return (int)i;
    return -1;
}

static unsigned spt_root_victim(struct spt *s)
{
    unsigned best = 0;
    for (unsigned i = 0; i < SPT_ROOTS; i++) {
        if (!s->roots[i].used)
            return i;
        if (s->roots[i].stamp < s->roots[best].stamp)
            best = i;
    }
    return best;
}

static void spt_hw_root(struct vmm *v, unsigned root)
{
    struct spt *s = v->spt;
    s->cur = (int)root;
    s->roots[root].stamp = ++s->clock;
    v->cpu->s.cr3 = spt_pool_pa(v, s->roots[root].pd);
    v->cpu->s.cr0 |= CR0_WP;        /* ring 1 must honour read-only shadow PTEs */
    cpu_tlb_flush(v->cpu);
}

/* Switch the hardware to the shadow of the guest's current CR3. */
static bool spt_switch(struct vmm *v)
{
    struct spt *s = v->spt;
    uint32_t gcr3 = v->vc.cr3 & ~0xFFFu;
    if (gcr3 >= v->guest_ram) {
        v->stop_msg = "guest CR3 points outside its RAM";
        return false;
    }
    int hit = spt_root_find(s, gcr3);
    if (hit >= 0) {
        spt_hw_root(v, (unsigned)hit);
        spt_emit(v, EV_SHADOW_ROOT, gcr3, 1, 0, 0);
        return true;
    }
    unsigned victim = spt_root_victim(s);
    bool evicted = s->roots[victim].used;
    spt_root_drop(v, victim);
    if (!spt_root_build(v, victim, gcr3)) {
        v->stop_msg = "shadow page-table pool exhausted";
        return false;
    }
    spt_hw_root(v, victim);
    spt_emit(v, EV_SHADOW_ROOT, gcr3, 0, evicted, 0);
    return true;
}

/* Drop every shadow (pool full, or the guest changed WP/PSE) and rebuild
   the current root empty. */
static bool spt_flush_all(struct vmm *v)
{
    for (unsigned i = 0; i < SPT_ROOTS; i++)
        spt_root_drop(v, i);
    int ngdt = v->spt->ngdt;
    spt_clear(v->spt);
    v->spt->ngdt = ngdt;
    cpu_tlb_flush(v->cpu);
    return !v->spt->active || spt_switch(v);
}

/* ---- control registers, INVLPG, GDT ---- */

static bool spt_turn_on(struct vmm *v)
{
    v->spt->active = true;
    if (!spt_switch(v))
        return false;
    spt_gdt_loaded(v);
    return true;
}

static void spt_turn_off(struct vmm *v)
{
    for (unsigned i = 0; i < SPT_ROOTS; i++)
        spt_root_drop(v, i);
    spt_clear(v->spt);
    v->spt->active = false;
    v->spt->ngdt = 0;
    spt_hw_identity(v);
}

bool spt_cr_written(struct vmm *v, int cr, uint32_t old)
{
    if (v->npt)
        return true;                /* nested paging: the hardware walks the guest's tables */
    uint32_t now = cr == 0 ? v->vc.cr0 : cr == 3 ? v->vc.cr3 : v->vc.cr4;
    bool pg = (v->vc.cr0 & CR0_PG) != 0;
    if (cr == 0 && pg != v->spt->active) {
        if (pg)
            return spt_turn_on(v);
        spt_turn_off(v);
        return true;
    }
    if (!v->spt->active)
        return true;
    if (cr == 3)
        return spt_switch(v);
    uint32_t meaning = cr == 0 ? CR0_WP : CR4_PSE;
    if ((now ^ old) & meaning)
        return spt_flush_all(v);
    return true;
}

void spt_invlpg(struct vmm *v, uint32_t lin)
{
    uint32_t *pte = spt_active(v) ? spt_shadow_pte(v, lin) : NULL;
    if (pte)
        *pte = 0;
    cpu_tlb_flush(v->cpu);
}

void spt_gdt_loaded(struct vmm *v)
{
    struct spt *s = v->spt;
    s->ngdt = 0;
    if (!s->active || v->engine == VMM_HW)
        return;                     /* hw: no shadow GDT to keep coherent */
    uint32_t base = v->vc.gdtr.base, end = base + v->vc.gdtr.limit;
    for (uint32_t p = base & ~0xFFFu; s->ngdt < 17; p += 4096u) {
        struct spt_gwalk w;
        if (spt_gwalk(v, p, false, false, &w) && w.frame < v->guest_ram) {
            s->gdt_lin[s->ngdt] = p;
            s->gdt_frames[s->ngdt++] = w.frame;
            spt_write_protect(v, w.frame);
        }
        if (p >= (end & ~0xFFFu))
            break;
    }
}

void spt_code_page_added(struct vmm *v, uint32_t guest_phys_page)
{
    uint32_t frame = guest_phys_page & ~0xFFFu;
    if (spt_active(v) && frame < v->guest_ram)
        spt_write_protect(v, frame);
}

/* ---- fill ---- */

/* The shadow PT is found through the root's host-side index, never through
   the PDE in the region: a corrupted PDE cannot make the VMM write outside
   the pool (issue 11: INVLPG after a PDE pointing 2 GiB past RAM). */
uint32_t *spt_shadow_pte(struct vmm *v, uint32_t lin)
{
    const struct spt_root *r = &v->spt->roots[v->spt->cur];
    unsigned idx = (lin >> 22) == 1023u || !r->used ? 0u : r->pt[lin >> 22];
    if (idx == 0)
        return NULL;
    return &spt_pool_ptr(v, idx - 1u)[(lin >> 12) & 1023u];
}

/* The shadow PT under slot lin >> 22 of the current root, made if absent. */
static uint32_t *spt_table_for(struct vmm *v, uint32_t lin, const struct spt_gwalk *w)
{
    struct spt *s = v->spt;
    unsigned slot = lin >> 22;
    if (s->roots[s->cur].pt[slot] == 0) {
        int idx = spt_pool_alloc(v, SPF_PT);
        if (idx < 0 && spt_flush_all(v))
            idx = spt_pool_alloc(v, SPF_PT);
        if (idx < 0)
            return NULL;
        uint32_t *pd = spt_pool_ptr(v, s->roots[s->cur].pd);
        s->frames[idx] = (struct spt_frame){ .kind = SPF_PT, .root = (uint8_t)s->cur,
                                             .pde = (uint16_t)slot, .large = w->large,
                                             .src = w->large ? w->pde & 0xFFC00000u
                                                             : w->pde & ~0xFFFu };
        pd[slot] = spt_pool_pa(v, (unsigned)idx) | SPT_U | SPT_W | SPT_P;
        s->roots[s->cur].pt[slot] = (uint16_t)(idx + 1);
        if (!w->large)
            spt_trace_ref(v, w->pde & ~0xFFFu);
    }
    return spt_pool_ptr(v, s->roots[s->cur].pt[slot] - 1u);
}

/* The shadow PTE for a guest mapping (after A/D were set in the guest). */
static uint32_t spt_entry(struct vmm *v, const struct spt_gwalk *w, bool write, bool user)
{
    uint32_t rights = w->large ? w->pde : w->pde & w->pte;
    bool dirty = ((w->large ? w->pde : w->pte) & SPT_D) != 0;
    if (w->frame >= v->guest_ram) {  /* above guest RAM: the open-bus frame */
        spt_open_bus_refill(v);
        return spt_open_bus_pa(v) | SPT_P | SPT_A | SPT_D | (rights & SPT_U);
    }
    uint32_t mframe;
    bool shared;
    if (!vmm_touch_frame(v, w->frame, &mframe, &shared))
        return 0;
    uint32_t e = (mframe << 12) | SPT_P | SPT_A | SPT_D | (rights & SPT_U);
    if (!dirty || shared || spt_traced(v, w->frame) || spt_code_frame(v, w->frame))
        return e;
    if (rights & SPT_W)
        return e | SPT_W;
    if (!(v->vc.cr0 & CR0_WP) && write && !user)
        return (e | SPT_W) & ~SPT_U;   /* WP=0: ring 0 may write a read-only page */
    return e;
}

bool spt_fill(struct vmm *v, uint32_t lin, const struct spt_gwalk *w, bool write, bool user)
{
    uint32_t *pt = spt_table_for(v, lin, w);
    if (!pt)
        return false;
    uint32_t e = spt_entry(v, w, write, user);
    if (!e)
        return false;               /* out of machine memory (v->stop_msg) */
    pt[(lin >> 12) & 1023u] = e;
    cpu_tlb_flush(v->cpu);
    return true;
}

void spt_drop_frames(struct vmm *v, const uint8_t *stale)
{
    for (unsigned i = 0; i < SPT_POOL_PAGES; i++) {
        if (v->spt->frames[i].kind != SPF_PT)
            continue;
        uint32_t *pt = spt_pool_ptr(v, i);
        for (unsigned j = 0; j < 1024u; j++) {
            uint32_t fr = pt[j] >> 12;
            if ((pt[j] & SPT_P) && fr < v->pm->fr->nframes && (stale[fr / 8u] >> (fr % 8u)) & 1u)
                pt[j] = 0;
        }
    }
}

/* ---- invalidation ---- */

static unsigned spt_inval_pd(struct vmm *v, uint32_t frame, unsigned lo, unsigned hi)
{
    unsigned n = 0;
    for (unsigned r = 0; r < SPT_ROOTS; r++) {
        if (!v->spt->roots[r].used || v->spt->roots[r].gcr3 != frame)
            continue;
        for (unsigned i = lo; i <= hi && i < 1023u; i++) {
            n += v->spt->roots[r].pt[i] != 0;
            spt_pde_drop(v, r, i);
        }
    }
    return n;
}

static unsigned spt_inval_pt(struct vmm *v, uint32_t frame, unsigned lo, unsigned hi)
{
    unsigned n = 0;
    for (unsigned i = 0; i < SPT_POOL_PAGES; i++) {
        const struct spt_frame *f = &v->spt->frames[i];
        if (f->kind != SPF_PT || f->large || f->src != frame)
            continue;
        uint32_t *pt = spt_pool_ptr(v, i);
        for (unsigned j = lo; j <= hi; j++) {
            n += (pt[j] & SPT_P) != 0;
            pt[j] = 0;
        }
    }
    return n;
}

unsigned spt_frame_roles(const struct vmm *v, uint32_t frame)
{
    const struct spt *s = v->spt;
    unsigned roles = 0;
    for (unsigned r = 0; r < SPT_ROOTS; r++)
        if (s->roots[r].used && s->roots[r].gcr3 == frame)
            roles |= SPT_TRACE_PD;
    for (unsigned i = 0; i < SPT_POOL_PAGES; i++)
        if (s->frames[i].kind == SPF_PT && !s->frames[i].large && s->frames[i].src == frame)
            roles |= SPT_TRACE_PT;
    if (spt_is_gdt_frame(s, frame))
        roles |= SPT_TRACE_GDT;
    return roles;
}

/* A write to [pa, pa+len) of a frame holding part of the guest GDT: only
   the descriptors it overlaps are rebuilt (xv6 keeps its GDT in struct
   cpu beside counters written on every pushcli: rebuilding all 8192 slots
   on each of those writes made a boot take minutes). */
static void spt_gdt_written(struct vmm *v, uint32_t pa, uint32_t len)
{
    const struct spt *s = v->spt;
    const struct dtr *g = &v->vc.gdtr;
    for (int i = 0; i < s->ngdt; i++) {
        if (s->gdt_frames[i] != (pa & ~0xFFFu))
            continue;
        uint32_t lo = s->gdt_lin[i] + (pa & 0xFFFu), hi = lo + len - 1u;
        uint32_t gend = g->base + g->limit;
        if (hi < g->base || lo > gend)
            continue;                       /* beside the GDT in the same page */
        uint32_t first = lo < g->base ? 0 : (lo - g->base) / 8u;
        uint32_t last = (hi > gend ? gend - g->base : hi - g->base) / 8u;
        shadow_gdt_refresh(v, first, last);
    }
}

unsigned spt_invalidate(struct vmm *v, uint32_t pa, uint32_t len, unsigned *kinds)
{
    uint32_t frame = pa & ~0xFFFu, end = pa + len - 1u;
    if (len == 0 || !spt_traced(v, frame))
        return 0;
    unsigned roles = spt_frame_roles(v, frame);
    unsigned lo = (pa & 0xFFFu) >> 2;
    unsigned hi = (end & ~0xFFFu) == frame ? (end & 0xFFFu) >> 2 : 1023u;
    unsigned n = spt_inval_pd(v, frame, lo, hi) + spt_inval_pt(v, frame, lo, hi);
    if (roles & SPT_TRACE_GDT)
        spt_gdt_written(v, pa, (end & ~0xFFFu) == frame ? len : 0x1000u - (pa & 0xFFFu));
    *kinds |= roles;
    cpu_tlb_flush(v->cpu);
    return n;
}
