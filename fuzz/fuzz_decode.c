/*
 * fuzz_decode.c - libFuzzer target for the instruction decoder (decode.c).
 *
 * Why: decode() reads guest bytes, which are whatever a guest wrote. Beyond
 * "no out-of-bounds read" (ASan), it checks the decoder's own contract: a
 * pure function of the bytes and the D bit, a length within what was
 * available, and the same answer when given exactly its own length. The
 * first input byte picks the D bit; the rest are the instruction bytes.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/optable.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool d32 = data[0] & 1;
    const uint8_t *bytes = data + 1;
    int avail = size - 1 > 64 ? 64 : (int)(size - 1);
    /* a heap copy of exactly avail bytes: ASan sees any read past them */
    uint8_t *copy = malloc(avail ? (size_t)avail : 1);
    memcpy(copy, bytes, (size_t)avail);
    struct insn a, b;
    int rc = decode(copy, avail, d32, &a);
    if (rc > 0) {
        if (rc > avail || rc > 15 || a.len != rc || !a.row)
            abort();
        int again = decode(copy, rc, d32, &b);   /* its own length is enough */
        if (again != rc || b.row != a.row || b.opcode != a.opcode || b.disp != a.disp ||
            b.imm != a.imm)
            abort();
    } else {
        int again = decode(copy, avail, d32, &b);  /* errors are deterministic too */
        if (again != rc)
            abort();
    }
    free(copy);
    return 0;
}
