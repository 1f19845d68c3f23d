/*
 * pmap.h - one VM's map from guest-physical pages to machine frames
 * (VMware's pmap; DESIGN.md §7).
 *
 * A VM on a host sees guest-physical memory 0..RAM; the machine has frames
 * (frames.h). The VMM maps guest pages to frames through the pmap: a frame
 * is allocated the first time the guest (or the VMM on its behalf) touches
 * a page; a page whose content equals another's may be backed by one
 * shared, read-only frame (share.h), and the first write to it copies the
 * frame back to a private one (copy on write, a hidden fault). Shadow page
 * tables and the VMM's 1:1 map hold the frame numbers, never guest page
 * numbers.
 *
 * A VM that runs alone (`ringside run`, native) has an identity pmap over
 * its own flat RAM: frame n is guest page n, nothing is shared, and every
 * figure is what it was before machine memory existed.
 *
 * Whenever a guest page moves to another frame (a share, a copy on write)
 * the owner's `remapped` hook runs, so the VMM drops what it derived from
 * the old frame (shadow entries, decoded instructions).
 */
#ifndef RS_PMAP_H
#define RS_PMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mem/frames.h"

#define PMAP_NONE UINT32_MAX

struct pmap_hooks {
    /* guest page `gpage` no longer uses frame `old` (it may still be
       mapped, read-only, by shadows: drop or write-protect them) */
    void (*remapped)(void *ctx, uint32_t gpage, uint32_t old);
    /* frame `frame` (backing `gpage`) became shared: write-protect it */
    void (*protect)(void *ctx, uint32_t gpage, uint32_t frame);
    void *ctx;
};

struct pmap {
    struct frames *fr;                /* the host's pool; NULL: identity over `flat` */
    uint8_t *flat;                    /* identity: the VM's own RAM */
    uint32_t npages;                  /* guest pages */
    uint32_t *mpn;                    /* pool: frame of each guest page, PMAP_NONE */
    uint16_t slot;                    /* owner slot in the pool */
    uint8_t *remapped;                /* bit per guest page: moved since the dirty log's take */
    struct pmap_hooks hooks;
    uint32_t shared_now;              /* guest pages backed by shared frames now */
    uint64_t touched;                 /* frames allocated on first touch */
    uint64_t cow_breaks;              /* writes that copied a shared frame */
    uint64_t merged;                  /* pages the sharing scan merged */
    bool exhausted;                   /* an allocation failed: the pool is full */
};

void pmap_init_identity(struct pmap *pm, uint8_t *flat, uint32_t npages);
/* 0, or -1 with err (out of memory or owner slots). */
int pmap_init_pool(struct pmap *pm, struct frames *fr, uint32_t npages, char *err,
                   size_t errlen);
/* Every frame back to the pool. */
void pmap_destroy(struct pmap *pm);

static inline bool pmap_identity(const struct pmap *pm) { return pm->fr == NULL; }
static inline uint32_t pmap_lookup(const struct pmap *pm, uint32_t gpage)
{
    return pm->fr ? pm->mpn[gpage] : gpage;
}
bool pmap_shared(const struct pmap *pm, uint32_t gpage);
/* The frame for a read mapping (allocated on first touch), or PMAP_NONE. */
uint32_t pmap_touch(struct pmap *pm, uint32_t gpage);
/* A private frame for writing: allocated, or copied from a shared one
   (*broke = true); PMAP_NONE if the pool is exhausted. */
uint32_t pmap_own(struct pmap *pm, uint32_t gpage, bool *broke);
/* The bytes of a guest page, NULL if never touched (all zeros). */
const uint8_t *pmap_peek(const struct pmap *pm, uint32_t gpage);
/* Guest-physical reads and writes by the VMM, the loader, snapshots and
   migration (any span; false: the pool is exhausted). */
void pmap_read(const struct pmap *pm, uint32_t gpa, void *buf, uint32_t n);
bool pmap_write(struct pmap *pm, uint32_t gpa, const void *buf, uint32_t n);
/* Move guest page `gpage` onto shared frame `frame` (share.c). */
void pmap_map_shared(struct pmap *pm, uint32_t gpage, uint32_t frame);
/* Frame `frame`, now private to this pmap's `gpage`, becomes shared. */
void pmap_mark_shared(struct pmap *pm, uint32_t gpage, uint32_t frame);
/* Bytes of memory a guest page's frame is at in the CPU's physical space. */
static inline uint8_t *pmap_frame_ptr(const struct pmap *pm, uint32_t frame)
{
    return pm->fr ? frames_ptr(pm->fr, frame) : pm->flat + (size_t)frame * 4096u;
}

#endif
