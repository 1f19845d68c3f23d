/*
 * snapcodec.h - plain structs to snapshot bytes and back, field by field.
 *
 * Each saved struct is described by a table of its fields (offset, size,
 * kind, bound). Encoding writes every field little-endian in table order;
 * decoding reads them back only if the chunk has exactly the expected size
 * and every value is in its range (booleans 0 or 1, indices below their
 * array's size), so a crafted snapshot can never put a value into a device
 * that the device's code does not expect. Host pointers are not fields:
 * the owner keeps its live wiring across a restore.
 */
#ifndef RS_SNAPCODEC_H
#define RS_SNAPCODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum snapf_kind { SF_UINT, SF_BOOL, SF_INT, SF_SUB };

struct snap_field {
    size_t off;                   /* offsetof in the struct */
    uint8_t size;                 /* bytes of one element: 1, 2, 4, 8 (SF_SUB: unused) */
    uint8_t kind;                 /* enum snapf_kind */
    uint16_t count;               /* array elements (1 for a scalar) */
    uint64_t max;                 /* SF_UINT/SF_INT: largest value accepted (0: any) */
    const struct snap_type *sub;  /* SF_SUB: the element's type */
    size_t stride;                /* SF_SUB: sizeof the element */
};

struct snap_type {
    const char *name;             /* for error messages */
    const struct snap_field *fields;
    int nfields;
};

#define SNAPF_ARR(T, f, n, k, mx) { offsetof(T, f), sizeof(((T *)0)->f[0]), k, n, mx, NULL, 0 }
#define SNAPF(T, f, k, mx)        { offsetof(T, f), sizeof(((T *)0)->f), k, 1, mx, NULL, 0 }
#define SNAPF_SUB(T, f, n, ty)    { offsetof(T, f), 0, SF_SUB, n, 0, &ty, sizeof(((T *)0)->f[0]) }

/* Bytes the encoding of one `t` takes. */
size_t snap_type_size(const struct snap_type *t);
/* Encode *obj into out (snap_type_size bytes). */
void snap_encode(const struct snap_type *t, const void *obj, uint8_t *out);
/* Decode `len` bytes into *obj (fields only; other bytes untouched). 0, or -1
   with err naming the bad field. */
int snap_decode(const struct snap_type *t, const uint8_t *in, size_t len, void *obj,
                char *err, size_t errlen);

#endif
