/*
 * gmap.h - a small map from 64-bit keys to dense indexes, for exporters.
 *
 * The graph exporters aggregate per block, per edge, per trap site. A gmap
 * hands out index 0, 1, 2... in first-seen order for each new key and grows
 * a caller's array of records beside it (zero-filled), so that totals can be
 * walked in a deterministic order. Size is capped (GMAP_MAX_ITEMS) so a
 * hostile trace cannot make an export use unbounded memory.
 */
#ifndef RS_GMAP_H
#define RS_GMAP_H

#include <stddef.h>
#include <stdint.h>

#define GMAP_MAX_ITEMS (1u << 20)

struct gmap {
    uint64_t *keys;           /* open addressing, linear probing */
    uint32_t *idx;            /* index + 1; 0 = empty slot */
    uint32_t cap;             /* slots (power of two), 0 before first use */
    uint32_t n;               /* items */
    uint32_t arr_cap;         /* records allocated in the caller's array */
};

/* Index of key in *idx_out, adding it (and a zeroed record of elem bytes in
   *arr) if new. 0, or -1 when full or out of memory. */
int gmap_slot(struct gmap *m, uint64_t key, uint32_t *idx_out, void **arr, size_t elem);
/* Free the map and the caller's array. */
void gmap_free(struct gmap *m, void **arr);

#endif
