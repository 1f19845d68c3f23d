/*
 * share.c - the page-sharing scan and its hash table (share.h).
 *
 * The table is open addressing over 2x the pool's frames; an entry is a
 * frame and the hash it had when entered. Entries go stale (a hint frame
 * written, freed or reused; a shared frame freed): every lookup re-checks
 * the frame's state and, for a hint, re-hashes it, so a stale entry is
 * simply replaced.
 */
#include "mem/share.h"
#include "mem/pmap.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

struct share_entry {
    uint32_t frame;                   /* UINT32_MAX: empty */
    uint32_t hash;
};

struct share_table {
    struct share_entry *e;
    uint32_t size;                    /* a power of two */
    uint16_t cur_slot;                /* scan position: owner slot, guest page */
    uint32_t cur_page;
    uint64_t scanned;
};

int share_init(struct frames *f)
{
    struct share_table *t = calloc(1, sizeof *t);
    if (!t)
        return -1;
    t->size = 1024;
    while (t->size < f->nframes * 2u)
        t->size <<= 1;
    t->e = malloc((size_t)t->size * sizeof *t->e);
    if (!t->e) {
        free(t);
        return -1;
    }
    for (uint32_t i = 0; i < t->size; i++)
        t->e[i].frame = UINT32_MAX;
    t->cur_slot = 1;
    f->share = t;
    return 0;
}

void share_free(struct frames *f)
{
    if (f->share)
        free(f->share->e);
    free(f->share);
    f->share = NULL;
}

uint64_t share_scanned(const struct frames *f)
{
    return f->share ? f->share->scanned : 0;
}

static uint32_t page_hash(const uint8_t *p)
{
    return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, 4096u);
}

/* Is the entry still what it says: a shared frame, or a private page
   whose content still hashes to the entry's hash? */
static bool entry_valid(const struct frames *f, const struct share_entry *e)
{
    uint32_t fr = e->frame;
    if (fr == UINT32_MAX || f->owner[fr] == FRAME_FREE)
        return false;
    if (f->owner[fr] == FRAME_SHARED)
        return f->hash[fr] == e->hash;
    return f->gpage[fr] != UINT32_MAX && page_hash(frames_ptr((struct frames *)f, fr)) == e->hash;
}

/* The slot for `hash`: the first valid entry with that hash, else the
   first empty or stale slot on its probe sequence. */
static struct share_entry *share_slot(struct frames *f, uint32_t hash)
{
    struct share_table *t = f->share;
    struct share_entry *reuse = NULL;
    for (uint32_t i = 0, k = hash & (t->size - 1u); i < 64u; i++, k = (k + 1u) & (t->size - 1u)) {
        struct share_entry *e = &t->e[k];
        if (e->frame == UINT32_MAX)
            return reuse ? reuse : e;
        bool valid = e->hash == hash ? entry_valid(f, e) : true;
        if (valid && e->hash == hash)
            return e;
        if (!valid && !reuse)
            reuse = e;
    }
    return reuse;
}

/* Try to share guest page g of pm (frame fr, private): 1 if merged. */
static uint32_t share_page(struct frames *f, struct pmap *pm, uint32_t g, uint32_t fr)
{
    const uint8_t *p = frames_ptr(f, fr);
    uint32_t h = page_hash(p);
    struct share_entry *e = share_slot(f, h);
    if (!e)
        return 0;                       /* a long probe run: skip this page */
    if (e->frame == UINT32_MAX || e->hash != h || !entry_valid(f, e) || e->frame == fr) {
        *e = (struct share_entry){ .frame = fr, .hash = h };
        return 0;
    }
    uint32_t other = e->frame;
    if (memcmp(p, frames_ptr(f, other), 4096u) != 0)
        return 0;                       /* a CRC collision: bytes decide */
    if (f->owner[other] != FRAME_SHARED) {
        struct pmap *owner = f->owners[f->owner[other]];
        f->hash[other] = h;
        pmap_mark_shared(owner, f->gpage[other], other);
    }
    pmap_map_shared(pm, g, other);
    return 1;
}

/* Advance the scan position by one guest page; false after a whole round. */
static struct pmap *next_page(struct frames *f, uint32_t *g)
{
    struct share_table *t = f->share;
    for (unsigned tries = 0; tries <= FRAMES_MAX_OWNERS; tries++) {
        struct pmap *pm = f->owners[t->cur_slot];
        if (pm && t->cur_page < pm->npages) {
            *g = t->cur_page++;
            return pm;
        }
        t->cur_page = 0;
        t->cur_slot = t->cur_slot >= FRAMES_MAX_OWNERS ? 1 : t->cur_slot + 1u;
    }
    return NULL;
}

uint32_t share_scan(struct frames *f, uint32_t budget)
{
    if (!f->share)
        return 0;
    uint32_t merged = 0, seen = 0, steps = 0;
    uint32_t limit = budget * 8u + 1024u;   /* untouched pages cost a step, not a hash */
    while (seen < budget && steps++ < limit) {
        uint32_t g;
        struct pmap *pm = next_page(f, &g);
        if (!pm)
            break;
        uint32_t fr = pm->mpn[g];
        if (fr == PMAP_NONE || f->owner[fr] == FRAME_SHARED)
            continue;
        seen++;
        merged += share_page(f, pm, g, fr);
    }
    f->share->scanned += seen;
    return merged;
}
