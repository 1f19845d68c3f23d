/*
 * frames.h - machine memory: the host's pool of 4 KiB frames (DESIGN.md §7).
 *
 * Under a hypervisor, guest-physical memory is not machine memory. The host
 * owns one pool of frames; each VM's pmap (pmap.h) maps its guest pages to
 * frames of the pool, allocated on first touch, so the sum of the VMs'
 * guest RAM may exceed the pool (overcommit). A frame is free, private to
 * one VM (its owner slot), or shared read-only by several guest pages
 * (content-based page sharing, share.h), counted by references.
 *
 * Allocation is lowest-free-first from a bitmap, so the frames a run gets
 * are the same every time (deterministic machine addresses).
 */
#ifndef RS_FRAMES_H
#define RS_FRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FRAME_FREE   0u
#define FRAME_SHARED 0xFFFFu          /* owner of a frame backing shared pages */
#define FRAMES_MAX_OWNERS 255u        /* owner slots 1..255 */

struct pmap;

struct frames {
    uint8_t *mem;                     /* nframes * 4096 bytes: what the CPU's bus sees */
    uint32_t nframes;
    uint16_t *owner;                  /* FRAME_FREE, an owner slot, or FRAME_SHARED */
    uint32_t *ref;                    /* guest pages (or VMM uses) backed by the frame */
    uint32_t *gpage;                  /* private frame: the owner's guest page (reverse map);
                                         UINT32_MAX for the VMM's own frames */
    uint32_t *hash;                   /* shared frame: its content hash (share.c) */
    uint64_t *freemap;                /* bit set = free */
    uint32_t low_word;                /* no free frame below this word of freemap */
    uint32_t used;                    /* frames not free */
    uint32_t peak;
    struct pmap *owners[FRAMES_MAX_OWNERS + 1];
    struct share_table *share;        /* page sharing's hash table (share.c), or NULL */
};

/* A pool of `nframes` frames: 0, or -1 with err. */
int frames_init(struct frames *f, uint32_t nframes, char *err, size_t errlen);
void frames_free(struct frames *f);
/* One frame for `owner` (zero-filled), or -1 if the pool is exhausted. */
int64_t frames_alloc(struct frames *f, uint16_t owner, uint32_t gpage);
/* `n` contiguous frames (the VMM region), or -1. */
int64_t frames_alloc_run(struct frames *f, uint32_t n, uint16_t owner);
/* Drop one reference; the frame is free when none is left. */
void frames_put(struct frames *f, uint32_t frame);
static inline uint8_t *frames_ptr(struct frames *f, uint32_t frame)
{
    return f->mem + (size_t)frame * 4096u;
}
/* An owner slot for a pmap (1..255), or 0 if all are taken. */
uint16_t frames_register(struct frames *f, struct pmap *pm);
void frames_unregister(struct frames *f, uint16_t slot);

/* Frames by state, for the host's report and the TUI's memory map. */
struct frames_census {
    uint32_t total, free, private_frames, shared_frames;
    uint32_t shared_refs;             /* guest pages backed by shared frames */
};
void frames_census(const struct frames *f, struct frames_census *out);

#endif
