/*
 * guest_phys.c - the VMM's view of guest-physical memory through the pmap
 * (mem/pmap.h; DESIGN.md §7, three address spaces).
 *
 * Guest virtual -> guest physical is the guest's page tables; guest
 * physical -> machine is the pmap. The hardware only ever sees machine
 * addresses: the shadow page tables and the VMM's 1:1 map (guest paging
 * off) hold frame numbers. Alone on its machine a VM has an identity pmap
 * and its 1:1 map is the 4 MiB pages it always was. On a host's machine
 * memory (vmm_use_machine_memory) the 1:1 map is made of 4 KiB entries
 * filled on first touch: a guest access to a page no frame backs yet is a
 * hidden fault that allocates one (spt_unpaged_fill).
 *
 * A page backed by a shared frame is mapped read-only everywhere; the VMM
 * takes a private copy before anything writes it (vmm_own_frame: the
 * guest's write fault, the VMM's own stores, A/D updates). Whenever a page
 * moves to another frame, the entries that named the old frame are dropped
 * at the next vmm_pmap_sync, and the old frame's decoded instructions are
 * forgotten, since the frame may soon hold another VM's page.
 */
#include "vmm_internal.h"
#include "le.h"
#include "vmm/bt/bt_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PTE_URW 7u                   /* U | W | P */

static void mark_stale(struct vmm *v, uint32_t frame)
{
    if (frame == PMAP_NONE || frame >= v->pm->fr->nframes)
        return;
    v->pm_stale_map[frame / 8u] |= (uint8_t)(1u << (frame % 8u));
    v->pm_stale = true;
    cpu_notify_phys_write(v->cpu, frame << 12, 4096u);
}

uint32_t *vmm_idpt_pte(struct vmm *v, uint32_t gpa)
{
    if (!v->idpt || gpa >= v->guest_ram)
        return NULL;
    uint8_t *pt = v->cpu->bus.ram + ((size_t)v->idpt[gpa >> 22] << 12);
    return (uint32_t *)(void *)(pt + ((gpa >> 12) & 1023u) * 4u);
}

static void on_remapped(void *ctx, uint32_t gpage, uint32_t old)
{
    struct vmm *v = ctx;
    mark_stale(v, old);
    uint32_t *pte = vmm_idpt_pte(v, gpage << 12);
    if (pte)
        *pte = 0;
}

static void on_protect(void *ctx, uint32_t gpage, uint32_t frame)
{
    on_remapped(ctx, gpage, frame);
}

int vmm_use_machine_memory(struct vmm *v, struct pmap *pm, uint32_t region_pa, char *err,
                           size_t errlen)
{
    v->pm = pm;
    v->region_pa = region_pa;
    if (pmap_identity(pm))
        return 0;
    uint32_t ntables = (v->guest_ram + 0x3FFFFFu) >> 22;
    v->idpt = calloc(ntables, sizeof *v->idpt);
    v->pm_stale_map = calloc(1, pm->fr->nframes / 8u + 1u);
    if (!v->idpt || !v->pm_stale_map) {
        snprintf(err, errlen, "VMM: out of memory");
        return -1;
    }
    for (uint32_t i = 0; i < ntables; i++) {
        int64_t fr = frames_alloc(pm->fr, pm->slot, UINT32_MAX);
        if (fr < 0) {
            snprintf(err, errlen, "the host is out of machine memory for the VMM's 1:1 map");
            return -1;
        }
        v->idpt[i] = (uint32_t)fr;
        v->nidpt = i + 1u;
    }
    pm->hooks = (struct pmap_hooks){ .remapped = on_remapped, .protect = on_protect, .ctx = v };
    return 0;
}

void vmm_release_machine_memory(struct vmm *v)
{
    for (uint32_t i = 0; v->pm && v->pm->fr && i < v->nidpt; i++)
        frames_put(v->pm->fr, v->idpt[i]);
    free(v->idpt);
    free(v->pm_stale_map);
    v->idpt = NULL;
    v->pm_stale_map = NULL;
}

/* The 1:1 map's entry for a guest page: its frame, read-only while shared
   or while the translator protects code on it. */
static uint32_t idpt_entry(struct vmm *v, uint32_t gpage, uint32_t frame)
{
    bool ro = pmap_shared(v->pm, gpage) || (v->bt && bt_page_has_code(v->bt, gpage << 12));
    return (frame << 12) | (ro ? 5u : PTE_URW);
}

void vmm_build_idmap(struct vmm *v, uint8_t *pd)
{
    for (uint32_t i = 0; i < v->nidpt; i++) {
        le_put32(pd + i * 4u, (v->idpt[i] << 12) | PTE_URW);
        uint32_t *pt = (uint32_t *)(void *)(v->cpu->bus.ram + ((size_t)v->idpt[i] << 12));
        for (uint32_t j = 0; j < 1024u; j++) {
            uint32_t g = i * 1024u + j;
            uint32_t fr = g < v->pm->npages ? pmap_lookup(v->pm, g) : PMAP_NONE;
            pt[j] = fr == PMAP_NONE ? 0 : idpt_entry(v, g, fr);
        }
    }
}

void vmm_pmap_sync(struct vmm *v)
{
    if (!v->pm_stale)
        return;
    spt_drop_frames(v, v->pm_stale_map);
    memset(v->pm_stale_map, 0, v->pm->fr->nframes / 8u + 1u);
    v->pm_stale = false;
    cpu_tlb_flush(v->cpu);
}

bool vmm_own_frame(struct vmm *v, uint32_t gpa, uint32_t *frame)
{
    if (gpa >= v->guest_ram)
        return false;
    bool broke;
    uint32_t fr = pmap_own(v->pm, gpa >> 12, &broke);
    if (fr == PMAP_NONE) {
        v->stop_msg = "the host is out of machine memory";
        return false;
    }
    if (broke)
        vmm_pmap_sync(v);
    *frame = fr;
    return true;
}

bool vmm_touch_frame(struct vmm *v, uint32_t gpa, uint32_t *frame, bool *ro)
{
    uint32_t fr = pmap_touch(v->pm, gpa >> 12);
    if (fr == PMAP_NONE) {
        v->stop_msg = "the host is out of machine memory";
        return false;
    }
    *frame = fr;
    *ro = pmap_shared(v->pm, gpa >> 12);
    return true;
}

uint32_t vmm_machine_pa(const struct vmm *v, uint32_t gpa)
{
    uint32_t fr = pmap_lookup(v->pm, gpa >> 12);
    return fr == PMAP_NONE ? UINT32_MAX : (fr << 12) | (gpa & 0xFFFu);
}

void vmm_read_guest_phys(struct vmm *v, uint32_t gpa, void *buf, uint32_t n)
{
    pmap_read(v->pm, gpa, buf, n);
}

/* Store bytes as the guest's hardware would (no tracing semantics): A/D
   updates. Every decoded copy and the dirty log see it. */
void vmm_poke_guest_phys(struct vmm *v, uint32_t gpa, const void *src, uint32_t n)
{
    const uint8_t *in = src;
    while (n) {
        uint32_t k = 4096u - (gpa & 0xFFFu), fr;
        k = k < n ? k : n;
        if (gpa >= v->guest_ram || !vmm_own_frame(v, gpa, &fr))
            return;
        uint32_t mpa = (fr << 12) | (gpa & 0xFFFu);
        memcpy(v->cpu->bus.ram + mpa, in, k);
        cpu_notify_phys_write(v->cpu, mpa, k);
        gpa += k, in += k, n -= k;
    }
}

void vmm_write_guest_phys(struct vmm *v, uint32_t pa, const void *src, uint32_t n)
{
    if ((uint64_t)pa + n > v->guest_ram)
        return;
    vmm_poke_guest_phys(v, pa, src, n);
    spt_guest_written(v, pa, n);            /* shadow entries built from it */
    if (v->bt)                              /* its translations, paging on or off */
        bt_guest_written(v->bt, pa, n);
}

bool vmm_lin_to_gpa(struct vmm *v, uint32_t lin, uint32_t *gpa)
{
    uint32_t pa;
    if (!cpu_linear_to_phys(v->cpu, lin, false, 1, &pa))
        return false;
    if (pmap_identity(v->pm)) {
        *gpa = pa;
        return pa < v->guest_ram;
    }
    if (!spt_active(v)) {
        *gpa = lin;
        return lin < v->guest_ram;
    }
    return spt_guest_phys_peek(v, lin, gpa);
}

enum spt_verdict spt_unpaged_fill(struct vmm *v, uint32_t lin, bool write)
{
    uint32_t fr, *pte = vmm_idpt_pte(v, lin);
    bool ro = false;
    if (!pte)
        return SPT_STOP;
    if (write ? !vmm_own_frame(v, lin, &fr) : !vmm_touch_frame(v, lin, &fr, &ro))
        return SPT_STOP;
    *pte = idpt_entry(v, lin >> 12, fr);
    cpu_tlb_flush(v->cpu);
    vmm_emit(v, EV_SHADOW_FILL, PATH_EMULATED, lin, write ? 2u : 0u, 0, 0);
    return SPT_HIDDEN;
}

void vmm_idmap_writable(struct vmm *v, uint32_t gpa, bool w)
{
    uint32_t fr, *pte = vmm_idpt_pte(v, gpa);
    if (!pte)
        return;
    if (!w)
        *pte &= ~2u;
    else if (vmm_own_frame(v, gpa, &fr))
        *pte = (fr << 12) | PTE_URW;
    cpu_tlb_flush(v->cpu);
}

bool vmm_guest_phys_equal(struct vmm *v, uint32_t gpa, const void *buf, uint32_t n)
{
    static const uint8_t zeros[4096];
    const uint8_t *want = buf;
    while (n) {
        uint32_t k = 4096u - (gpa & 0xFFFu);
        k = k < n ? k : n;
        const uint8_t *p = (gpa >> 12) < v->pm->npages ? pmap_peek(v->pm, gpa >> 12) : NULL;
        if (memcmp(p ? p + (gpa & 0xFFFu) : zeros, want, k) != 0)
            return false;
        gpa += k, want += k, n -= k;
    }
    return true;
}
