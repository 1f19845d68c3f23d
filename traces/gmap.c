/*
 * gmap.c - key -> dense index map for the exporters (gmap.h).
 */
#include "gmap.h"

#include <stdlib.h>
#include <string.h>

static uint32_t gmap_hash(uint64_t key, uint32_t mask)
{
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdull;
    key ^= key >> 33;
    return (uint32_t)key & mask;
}

static int gmap_grow(struct gmap *m)
{
    uint32_t cap = m->cap ? m->cap * 2 : 64;
    uint64_t *keys = calloc(cap, sizeof *keys);
    uint32_t *idx = calloc(cap, sizeof *idx);
    if (!keys || !idx) {
        free(keys);
        free(idx);
        return -1;
    }
    for (uint32_t i = 0; i < m->cap; i++) {
        if (!m->idx[i])
            continue;
        uint32_t h = gmap_hash(m->keys[i], cap - 1);
        while (idx[h])
            h = (h + 1) & (cap - 1);
        keys[h] = m->keys[i];
        idx[h] = m->idx[i];
    }
    free(m->keys);
    free(m->idx);
    m->keys = keys;
    m->idx = idx;
    m->cap = cap;
    return 0;
}

static int gmap_arr_room(struct gmap *m, void **arr, size_t elem)
{
    if (m->n < m->arr_cap)
        return 0;
    uint32_t cap = m->arr_cap ? m->arr_cap * 2 : 64;
    void *p = realloc(*arr, (size_t)cap * elem);
    if (!p)
        return -1;
    memset((char *)p + (size_t)m->arr_cap * elem, 0, (size_t)(cap - m->arr_cap) * elem);
    *arr = p;
    m->arr_cap = cap;
    return 0;
}

int gmap_slot(struct gmap *m, uint64_t key, uint32_t *idx_out, void **arr, size_t elem)
{
    if ((m->n + 1) * 2 > m->cap && gmap_grow(m) != 0)
        return -1;
    uint32_t h = gmap_hash(key, m->cap - 1);
    while (m->idx[h] && m->keys[h] != key)
        h = (h + 1) & (m->cap - 1);
    if (m->idx[h]) {
        *idx_out = m->idx[h] - 1;
        return 0;
    }
    if (m->n >= GMAP_MAX_ITEMS || gmap_arr_room(m, arr, elem) != 0)
        return -1;
    m->keys[h] = key;
    m->idx[h] = ++m->n;
    *idx_out = m->n - 1;
    return 0;
}

void gmap_free(struct gmap *m, void **arr)
{
    free(m->keys);
    free(m->idx);
    free(*arr);
    *arr = NULL;
    memset(m, 0, sizeof *m);
}
