/*
 * frames.c - the host's machine memory: a bitmap of free frames, owners and
 * reference counts (frames.h). Lowest-free-first keeps machine addresses
 * deterministic; the contiguous allocator serves the VMM regions, which the
 * monitor addresses as one 4 MiB block.
 */
#include "mem/frames.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int frames_init(struct frames *f, uint32_t nframes, char *err, size_t errlen)
{
    memset(f, 0, sizeof *f);
    uint32_t words = (nframes + 63u) / 64u;
    f->mem = calloc(nframes, 4096u);
    f->owner = calloc(nframes, sizeof *f->owner);
    f->ref = calloc(nframes, sizeof *f->ref);
    f->gpage = calloc(nframes, sizeof *f->gpage);
    f->hash = calloc(nframes, sizeof *f->hash);
    f->freemap = calloc(words, sizeof *f->freemap);
    if (!f->mem || !f->owner || !f->ref || !f->gpage || !f->hash || !f->freemap) {
        frames_free(f);
        snprintf(err, errlen, "cannot allocate %u MiB of machine memory", nframes >> 8);
        return -1;
    }
    f->nframes = nframes;
    for (uint32_t i = 0; i < nframes; i++)
        f->freemap[i / 64u] |= 1ull << (i % 64u);
    return 0;
}

void frames_free(struct frames *f)
{
    free(f->mem);
    free(f->owner);
    free(f->ref);
    free(f->gpage);
    free(f->hash);
    free(f->freemap);
    memset(f, 0, sizeof *f);
}

static void frames_take(struct frames *f, uint32_t fr, uint16_t owner, uint32_t gpage)
{
    f->freemap[fr / 64u] &= ~(1ull << (fr % 64u));
    f->owner[fr] = owner;
    f->ref[fr] = 1;
    f->gpage[fr] = gpage;
    f->hash[fr] = 0;
    memset(frames_ptr(f, fr), 0, 4096u);
    if (++f->used > f->peak)
        f->peak = f->used;
}

int64_t frames_alloc(struct frames *f, uint16_t owner, uint32_t gpage)
{
    uint32_t words = (f->nframes + 63u) / 64u;
    for (uint32_t w = f->low_word; w < words; w++) {
        if (!f->freemap[w])
            continue;
        uint32_t fr = w * 64u + (uint32_t)__builtin_ctzll(f->freemap[w]);
        f->low_word = w;
        frames_take(f, fr, owner, gpage);
        return fr;
    }
    f->low_word = words;
    return -1;
}

static bool frame_is_free(const struct frames *f, uint32_t fr)
{
    return (f->freemap[fr / 64u] >> (fr % 64u)) & 1u;
}

int64_t frames_alloc_run(struct frames *f, uint32_t n, uint16_t owner)
{
    uint32_t run = 0;
    for (uint32_t fr = 0; fr < f->nframes; fr++) {
        run = frame_is_free(f, fr) ? run + 1u : 0u;
        if (run == n) {
            uint32_t first = fr + 1u - n;
            for (uint32_t k = first; k <= fr; k++)
                frames_take(f, k, owner, UINT32_MAX);
            return first;
        }
    }
    return -1;
}

void frames_put(struct frames *f, uint32_t fr)
{
    if (fr >= f->nframes || frame_is_free(f, fr) || --f->ref[fr] > 0)
        return;
    f->owner[fr] = FRAME_FREE;
    f->freemap[fr / 64u] |= 1ull << (fr % 64u);
    if (fr / 64u < f->low_word)
        f->low_word = fr / 64u;
    f->used--;
}

uint16_t frames_register(struct frames *f, struct pmap *pm)
{
    for (uint16_t s = 1; s <= FRAMES_MAX_OWNERS; s++) {
        if (!f->owners[s]) {
            f->owners[s] = pm;
            return s;
        }
    }
    return 0;
}

void frames_unregister(struct frames *f, uint16_t slot)
{
    if (slot && slot <= FRAMES_MAX_OWNERS)
        f->owners[slot] = NULL;
}

void frames_census(const struct frames *f, struct frames_census *out)
{
    memset(out, 0, sizeof *out);
    out->total = f->nframes;
    for (uint32_t fr = 0; fr < f->nframes; fr++) {
        if (f->owner[fr] == FRAME_FREE) {
            out->free++;
        } else if (f->owner[fr] == FRAME_SHARED) {
            out->shared_frames++;
            out->shared_refs += f->ref[fr];
        } else {
            out->private_frames++;
        }
    }
}
