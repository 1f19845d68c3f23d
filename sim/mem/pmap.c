/*
 * pmap.c - guest page -> machine frame, allocation on first touch and copy
 * on write (pmap.h).
 */
#include "mem/pmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pmap_init_identity(struct pmap *pm, uint8_t *flat, uint32_t npages)
{
    memset(pm, 0, sizeof *pm);
    pm->flat = flat;
    pm->npages = npages;
}

int pmap_init_pool(struct pmap *pm, struct frames *fr, uint32_t npages, char *err,
                   size_t errlen)
{
    memset(pm, 0, sizeof *pm);
    pm->mpn = malloc((size_t)npages * sizeof *pm->mpn);
    pm->remapped = calloc(1, npages / 8u + 1u);
    pm->slot = frames_register(fr, pm);
    if (!pm->mpn || !pm->remapped || !pm->slot) {
        if (pm->slot)
            frames_unregister(fr, pm->slot);
        free(pm->mpn);
        free(pm->remapped);
        snprintf(err, errlen, "machine memory: no room for another VM's map");
        return -1;
    }
    for (uint32_t g = 0; g < npages; g++)
        pm->mpn[g] = PMAP_NONE;
    pm->fr = fr;
    pm->npages = npages;
    return 0;
}

void pmap_destroy(struct pmap *pm)
{
    if (!pm->fr)
        return;
    for (uint32_t g = 0; g < pm->npages; g++)
        if (pm->mpn[g] != PMAP_NONE)
            frames_put(pm->fr, pm->mpn[g]);
    frames_unregister(pm->fr, pm->slot);
    free(pm->mpn);
    free(pm->remapped);
    memset(pm, 0, sizeof *pm);
}

bool pmap_shared(const struct pmap *pm, uint32_t gpage)
{
    return pm->fr && pm->mpn[gpage] != PMAP_NONE && pm->fr->owner[pm->mpn[gpage]] == FRAME_SHARED;
}

static void pmap_moved(struct pmap *pm, uint32_t gpage, uint32_t old)
{
    pm->remapped[gpage / 8u] |= (uint8_t)(1u << (gpage % 8u));
    if (pm->hooks.remapped)
        pm->hooks.remapped(pm->hooks.ctx, gpage, old);
}

uint32_t pmap_touch(struct pmap *pm, uint32_t gpage)
{
    if (!pm->fr)
        return gpage;
    if (pm->mpn[gpage] != PMAP_NONE)
        return pm->mpn[gpage];
    int64_t fr = frames_alloc(pm->fr, pm->slot, gpage);
    if (fr < 0) {
        pm->exhausted = true;
        return PMAP_NONE;
    }
    pm->touched++;
    pm->mpn[gpage] = (uint32_t)fr;
    pm->remapped[gpage / 8u] |= (uint8_t)(1u << (gpage % 8u));
    return (uint32_t)fr;
}

uint32_t pmap_own(struct pmap *pm, uint32_t gpage, bool *broke)
{
    *broke = false;
    if (!pmap_shared(pm, gpage))
        return pmap_touch(pm, gpage);
    uint32_t old = pm->mpn[gpage];
    int64_t fr = frames_alloc(pm->fr, pm->slot, gpage);
    if (fr < 0) {
        pm->exhausted = true;
        return PMAP_NONE;
    }
    memcpy(frames_ptr(pm->fr, (uint32_t)fr), frames_ptr(pm->fr, old), 4096u);
    pm->mpn[gpage] = (uint32_t)fr;
    frames_put(pm->fr, old);
    pm->shared_now--;
    pm->cow_breaks++;
    *broke = true;
    pmap_moved(pm, gpage, old);
    return (uint32_t)fr;
}

const uint8_t *pmap_peek(const struct pmap *pm, uint32_t gpage)
{
    uint32_t fr = pmap_lookup(pm, gpage);
    return fr == PMAP_NONE ? NULL : pmap_frame_ptr(pm, fr);
}

void pmap_read(const struct pmap *pm, uint32_t gpa, void *buf, uint32_t n)
{
    uint8_t *out = buf;
    while (n) {
        uint32_t off = gpa & 0xFFFu, k = 4096u - off;
        k = k < n ? k : n;
        const uint8_t *p = (gpa >> 12) < pm->npages ? pmap_peek(pm, gpa >> 12) : NULL;
        if (p)
            memcpy(out, p + off, k);
        else
            memset(out, 0, k);
        gpa += k, out += k, n -= k;
    }
}

bool pmap_write(struct pmap *pm, uint32_t gpa, const void *buf, uint32_t n)
{
    const uint8_t *in = buf;
    while (n) {
        uint32_t off = gpa & 0xFFFu, k = 4096u - off;
        k = k < n ? k : n;
        bool broke;
        if ((gpa >> 12) < pm->npages) {         /* above guest RAM: writes vanish */
            uint32_t fr = pmap_own(pm, gpa >> 12, &broke);
            if (fr == PMAP_NONE)
                return false;
            memcpy(pmap_frame_ptr(pm, fr) + off, in, k);
        }
        gpa += k, in += k, n -= k;
    }
    return true;
}

void pmap_map_shared(struct pmap *pm, uint32_t gpage, uint32_t frame)
{
    uint32_t old = pm->mpn[gpage];
    pm->fr->ref[frame]++;
    pm->mpn[gpage] = frame;
    pm->shared_now++;
    pm->merged++;
    if (old != PMAP_NONE)
        frames_put(pm->fr, old);
    pmap_moved(pm, gpage, old);
}

void pmap_mark_shared(struct pmap *pm, uint32_t gpage, uint32_t frame)
{
    pm->fr->owner[frame] = FRAME_SHARED;
    pm->shared_now++;
    if (pm->hooks.protect)
        pm->hooks.protect(pm->hooks.ctx, gpage, frame);
}
