/*
 * snapcodec.c - the field-table encoder and checking decoder (snapcodec.h).
 */
#include "snapcodec.h"

#include <stdio.h>
#include <string.h>

static size_t field_size(const struct snap_field *f)
{
    return f->kind == SF_SUB ? snap_type_size(f->sub) * f->count : (size_t)f->size * f->count;
}

size_t snap_type_size(const struct snap_type *t)
{
    size_t n = 0;
    for (int i = 0; i < t->nfields; i++)
        n += field_size(&t->fields[i]);
    return n;
}

static uint64_t load_host(const uint8_t *p, int size)
{
    switch (size) {
    case 1: return *p;
    case 2: { uint16_t v; memcpy(&v, p, 2); return v; }
    case 4: { uint32_t v; memcpy(&v, p, 4); return v; }
    default: { uint64_t v; memcpy(&v, p, 8); return v; }
    }
}

static void store_host(uint8_t *p, int size, uint64_t v)
{
    uint8_t b = (uint8_t)v;
    uint16_t h = (uint16_t)v;
    uint32_t w = (uint32_t)v;
    switch (size) {
    case 1: memcpy(p, &b, 1); break;
    case 2: memcpy(p, &h, 2); break;
    case 4: memcpy(p, &w, 4); break;
    default: memcpy(p, &v, 8); break;
    }
}

static uint8_t *encode_at(const struct snap_type *t, const uint8_t *obj, uint8_t *out)
{
    for (int i = 0; i < t->nfields; i++) {
        const struct snap_field *f = &t->fields[i];
        for (int e = 0; e < f->count; e++) {
            if (f->kind == SF_SUB) {
                out = encode_at(f->sub, obj + f->off + (size_t)e * f->stride, out);
                continue;
            }
            uint64_t v = f->kind == SF_BOOL ? *(const bool *)(obj + f->off + e)
                                            : load_host(obj + f->off + (size_t)e * f->size, f->size);
            for (int b = 0; b < f->size; b++)
                *out++ = (uint8_t)(v >> (8 * b));
        }
    }
    return out;
}

void snap_encode(const struct snap_type *t, const void *obj, uint8_t *out)
{
    encode_at(t, obj, out);
}

static bool in_range(const struct snap_field *f, uint64_t v)
{
    if (f->kind == SF_BOOL)
        return v <= 1;
    if (f->kind == SF_INT) {
        int64_t s = f->size == 4 ? (int64_t)(int32_t)v : (int64_t)v;
        return s >= 0 && (!f->max || (uint64_t)s <= f->max);
    }
    return !f->max || v <= f->max;
}

static const uint8_t *decode_at(const struct snap_type *t, const uint8_t *in, uint8_t *obj,
                                char *err, size_t errlen)
{
    for (int i = 0; i < t->nfields && in; i++) {
        const struct snap_field *f = &t->fields[i];
        for (int e = 0; e < f->count && in; e++) {
            if (f->kind == SF_SUB) {
                in = decode_at(f->sub, in, obj + f->off + (size_t)e * f->stride, err, errlen);
                continue;
            }
            uint64_t v = 0;
            for (int b = 0; b < f->size; b++)
                v |= (uint64_t)in[b] << (8 * b);
            in += f->size;
            if (!in_range(f, v)) {
                snprintf(err, errlen, "%s field %d holds %llu, out of range (corrupted)",
                         t->name, i, (unsigned long long)v);
                return NULL;
            }
            if (f->kind == SF_BOOL)
                ((bool *)(obj + f->off))[e] = v != 0;
            else
                store_host(obj + f->off + (size_t)e * f->size, f->size, v);
        }
    }
    return in;
}

int snap_decode(const struct snap_type *t, const uint8_t *in, size_t len, void *obj,
                char *err, size_t errlen)
{
    if (len != snap_type_size(t)) {
        snprintf(err, errlen, "%s state is %zu bytes, expected %zu (corrupted)", t->name, len,
                 snap_type_size(t));
        return -1;
    }
    return decode_at(t, in, obj, err, errlen) ? 0 : -1;
}
