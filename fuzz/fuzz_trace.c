/*
 * fuzz_trace.c - libFuzzer target for the trace file reader (trace_file.c).
 *
 * Why: `ringside trace info|dump|export FILE` reads files anyone can hand
 * over. The reader promises bounded memory, every field range-checked and
 * one error line naming the offset. The input is read through fmemopen as
 * the file. Built with FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION the reader
 * does not stop at CRC mismatches (else the fuzzer could hardly get past a
 * checksum), so the checks behind them are reached too.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(struct trace_reader *r)
{
    struct event ev;
    int rc;
    uint64_t n = 0;
    while ((rc = trace_next(r, &ev)) == 1) {
        uint32_t off;
        if (ev.kind >= r->meta.kind_count)
            abort();
        trace_sym_at(r, ev.eip, &off);
        n++;
    }
    if (n != r->index || (rc == -1 && !r->err[0]))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;                 /* fmemopen refuses a zero-size buffer */
    FILE *f = fmemopen((void *)data, size, "rb");
    if (!f)
        return 0;
    struct trace_reader r;
    if (trace_open_stream(&r, f) == 0) {
        for (uint32_t i = 1; i < r.nsyms; i++)
            if (r.syms[i - 1].addr > r.syms[i].addr)
                abort();
        walk(&r);
        if (trace_rewind(&r) == 0)
            walk(&r);
    } else if (!r.err[0] || strchr(r.err, '\n')) {
        abort();
    }
    trace_close(&r);
    return 0;
}
