/*
 * trace_file.c - the trace file format on disk, and its reader.
 *
 * Everything here treats the file as untrusted: every field is range
 * checked, every chunk and the header and trailer carry a CRC-32, and a
 * problem becomes one line in r->err naming the byte offset and what is
 * wrong ("truncated", "checksum mismatch", "format version 9, this ringside
 * reads version 1"). Memory is bounded: one chunk of records at a time plus
 * the symbol table (at most TRACE_MAX_SYMS names).
 *
 * Header layout (offsets in the 1024-byte header, little-endian):
 *    0 magic[8]  8 version  12 record size  16 header size  20 nsyms
 *   24 kernel hash (u64)  32 event mask  36 flags  40 optable hash
 *   44 kind count  48 symbol bytes  52 symbol CRC  56 reserved  60 header CRC
 *   64 ringside[16]  80 mode[16]  96 costs[32]  128 kernel[256]
 *  384 options[512]  896 start cycle (u64)  904..1023 reserved (zero)
 */
#include "trace.h"
#include "le.h"
#include "hw/hostfile.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "cpu/optable.h"
#include "vmm/vmm.h"

/* CRC-32 (IEEE 802.3, reflected): zlib's table-driven crc32. */
uint32_t trace_crc32(uint32_t crc, const void *data, size_t len)
{
    return (uint32_t)crc32(crc, data, (uInt)len);
}

uint64_t trace_fnv1a(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t h = 0xcbf29ce484222325ull;
    while (len--)
        h = (h ^ *p++) * 0x100000001b3ull;
    return h;
}

/* A trace names trap causes by opcode-table row: this hash of the labels
   tells an exporter whether its table is the one the writer had. */
uint32_t trace_optable_hash(void)
{
    uint64_t h = 0;
    for (unsigned i = 0; i < op_table_len; i++) {
        const char *l = vmm_row_label(&op_table[i]);
        h ^= trace_fnv1a(l, strlen(l)) + i;
        h *= 0x100000001b3ull;
    }
    return (uint32_t)(h ^ (h >> 32));
}

void trace_pack(uint8_t *p, const struct event *ev)
{
    p[0] = (uint8_t)ev->kind;
    p[1] = (uint8_t)(ev->kind >> 8);
    p[2] = ev->vm;
    p[3] = ev->path;
    le_put32(p + 4, ev->eip);
    le_put64(p + 8, ev->cycle);
    le_put32(p + 16, ev->a);
    le_put32(p + 20, ev->b);
    le_put32(p + 24, ev->c);
    le_put32(p + 28, ev->d);
}

void trace_unpack(const uint8_t *p, struct event *ev)
{
    ev->kind = (uint16_t)(p[0] | p[1] << 8);
    ev->vm = p[2];
    ev->path = p[3];
    ev->eip = le_get32(p + 4);
    ev->cycle = le_get64(p + 8);
    ev->a = le_get32(p + 16);
    ev->b = le_get32(p + 20);
    ev->c = le_get32(p + 24);
    ev->d = le_get32(p + 28);
}

/* ---- header ---- */

static void put_str(uint8_t *p, size_t size, const char *s)
{
    size_t n = strnlen(s, size - 1);
    memcpy(p, s, n);
}

void trace_encode_header(uint8_t *h, const struct trace_meta *m, uint32_t nsyms,
                         uint32_t sym_bytes, uint32_t sym_crc)
{
    memset(h, 0, TRACE_HDR_SIZE);
    memcpy(h, TRACE_MAGIC, 8);
    le_put32(h + 8, TRACE_VERSION);
    le_put32(h + 12, TRACE_REC_SIZE);
    le_put32(h + 16, TRACE_HDR_SIZE);
    le_put32(h + 20, nsyms);
    le_put64(h + 24, m->kernel_hash);
    le_put32(h + 32, m->event_mask);
    le_put32(h + 36, m->flags);
    le_put32(h + 40, m->optable_hash);
    le_put32(h + 44, EV_KIND_COUNT);
    le_put32(h + 48, sym_bytes);
    le_put32(h + 52, sym_crc);
    put_str(h + 64, 16, m->ringside);
    put_str(h + 80, 16, m->mode);
    put_str(h + 96, 32, m->costs);
    put_str(h + 128, 256, m->kernel);
    put_str(h + 384, 512, m->options);
    le_put64(h + 896, m->start_cycle);
    le_put32(h + 60, trace_crc32(0, h, TRACE_HDR_SIZE));
}

static void get_str(char *dst, const uint8_t *p, size_t size)
{
    memcpy(dst, p, size);
    dst[size - 1] = 0;
}

/* Does data[0, len) have CRC `stored`? The libFuzzer build (fuzz/,
   FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION) accepts any without computing
   it, so mutated inputs reach the checks behind the checksums. */
static bool crc_ok(const void *data, size_t len, uint32_t stored)
{
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    (void)data;
    (void)len;
    (void)stored;
    return true;
#else
    return trace_crc32(0, data, len) == stored;
#endif
}

__attribute__((format(printf, 3, 4)))
static int fail(struct trace_reader *r, long off, const char *fmt, ...)
{
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(r->err, sizeof r->err, "at byte %ld: %s", off, what);
    return -1;
}

static int check_header_fields(struct trace_reader *r, const uint8_t *h)
{
    if (le_get32(h + 12) != TRACE_REC_SIZE)
        return fail(r, 12, "record size %u, expected %u (corrupted header)",
                    le_get32(h + 12), TRACE_REC_SIZE);
    if (le_get32(h + 16) != TRACE_HDR_SIZE)
        return fail(r, 16, "header size %u, expected %u (corrupted header)",
                    le_get32(h + 16), TRACE_HDR_SIZE);
    if (le_get32(h + 20) > TRACE_MAX_SYMS)
        return fail(r, 20, "%u symbols, more than the limit of %u", le_get32(h + 20),
                    TRACE_MAX_SYMS);
    if (le_get32(h + 44) == 0 || le_get32(h + 44) > 32)
        return fail(r, 44, "event kind count %u out of range 1..32", le_get32(h + 44));
    if (le_get32(h + 48) > le_get32(h + 20) * (9u + 63u))
        return fail(r, 48, "symbol section of %u bytes is too large for %u symbols",
                    le_get32(h + 48), le_get32(h + 20));
    return 0;
}

static int decode_header(struct trace_reader *r, const uint8_t *h)
{
    struct trace_meta *m = &r->meta;
    if (memcmp(h, TRACE_MAGIC, 8) != 0)
        return fail(r, 0, "not a ringside trace (bad magic)");
    m->version = le_get32(h + 8);
    if (m->version != TRACE_VERSION)
        return fail(r, 8, "trace format version %u; this ringside reads version %u",
                    m->version, TRACE_VERSION);
    uint8_t copy[TRACE_HDR_SIZE];
    memcpy(copy, h, sizeof copy);
    le_put32(copy + 60, 0);
    if (!crc_ok(copy, sizeof copy, le_get32(h + 60)))
        return fail(r, 60, "header checksum mismatch (corrupted header)");
    if (check_header_fields(r, h))
        return -1;
    m->kernel_hash = le_get64(h + 24);
    m->event_mask = le_get32(h + 32);
    m->flags = le_get32(h + 36);
    m->optable_hash = le_get32(h + 40);
    m->kind_count = le_get32(h + 44);
    get_str(m->ringside, h + 64, 16);
    get_str(m->mode, h + 80, 16);
    get_str(m->costs, h + 96, 32);
    get_str(m->kernel, h + 128, 256);
    get_str(m->options, h + 384, 512);
    m->start_cycle = le_get64(h + 896);
    return 0;
}

/* ---- symbols ---- */

static int decode_syms(struct trace_reader *r, const uint8_t *p, uint32_t len, uint32_t n)
{
    uint32_t off = 0;
    r->syms = calloc(n ? n : 1, sizeof *r->syms);
    if (!r->syms)
        return fail(r, TRACE_HDR_SIZE, "out of memory for %u symbols", n);
    for (uint32_t i = 0; i < n; i++) {
        if (len - off < 9 || p[off + 8] > 63 || len - off - 9 < p[off + 8])
            return fail(r, (long)(TRACE_HDR_SIZE + off), "symbol %u runs past the symbol section", i);
        struct trace_sym *s = &r->syms[i];
        s->addr = le_get32(p + off);
        s->size = le_get32(p + off + 4);
        memcpy(s->name, p + off + 9, p[off + 8]);
        s->name[p[off + 8]] = 0;
        if (i && s->addr < r->syms[i - 1].addr)
            return fail(r, (long)(TRACE_HDR_SIZE + off), "symbol %u is out of address order", i);
        off += 9u + p[off + 8];
    }
    if (off != len)
        return fail(r, TRACE_HDR_SIZE, "symbol section has %u stray bytes", len - off);
    r->nsyms = n;
    return 0;
}

/* Serialise symbols (sorted by address by the caller); returns the bytes
   used in out (which must hold nsyms * 72 bytes). */
uint32_t trace_encode_syms(uint8_t *out, const struct trace_sym *syms, uint32_t nsyms)
{
    uint32_t off = 0;
    for (uint32_t i = 0; i < nsyms; i++) {
        size_t n = strnlen(syms[i].name, 63);
        le_put32(out + off, syms[i].addr);
        le_put32(out + off + 4, syms[i].size);
        out[off + 8] = (uint8_t)n;
        memcpy(out + off + 9, syms[i].name, n);
        off += 9u + (uint32_t)n;
    }
    return off;
}

static int read_syms(struct trace_reader *r, const uint8_t *h)
{
    uint32_t n = le_get32(h + 20), len = le_get32(h + 48);
    uint8_t *p = malloc(len ? len : 1);
    if (!p)
        return fail(r, TRACE_HDR_SIZE, "out of memory for the symbol section");
    int rc = 0;
    if (fread(p, 1, len, r->f) != len)
        rc = fail(r, TRACE_HDR_SIZE, "truncated: the symbol section needs %u bytes", len);
    else if (!crc_ok(p, len, le_get32(h + 52)))
        rc = fail(r, TRACE_HDR_SIZE, "symbol section checksum mismatch (corrupted)");
    else
        rc = decode_syms(r, p, len, n);
    free(p);
    return rc;
}

int trace_open(struct trace_reader *r, const char *path)
{
    char err[sizeof r->err + 64];
    size_t plen = strlen(path);
    FILE *f = hostfile_fopen(path, TRACE_MAX_FILE, err, sizeof err);
    if (!f) {
        memset(r, 0, sizeof *r);
        /* hostfile says "PATH: why"; callers name the file themselves */
        const char *why = strncmp(err, path, plen) || err[plen] != ':' ? err : err + plen + 2;
        snprintf(r->err, sizeof r->err, "%.190s", why);
        return -1;
    }
    return trace_open_stream(r, f);
}

int trace_open_stream(struct trace_reader *r, FILE *f)
{
    memset(r, 0, sizeof *r);
    uint8_t h[TRACE_HDR_SIZE];
    r->f = f;
    size_t got = fread(h, 1, sizeof h, r->f);
    if (got >= 8 && memcmp(h, TRACE_MAGIC, 8) != 0)
        return fail(r, 0, "not a ringside trace (bad magic)");
    if (got >= 12 && le_get32(h + 8) != TRACE_VERSION)
        return decode_header(r, h);
    if (got < sizeof h)
        return fail(r, 0, "truncated: the header needs %u bytes, the file has %zu",
                    TRACE_HDR_SIZE, got);
    if (decode_header(r, h) || read_syms(r, h))
        return -1;
    r->data_off = ftell(r->f);
    r->chunk = malloc((size_t)TRACE_CHUNK_RECS * TRACE_REC_SIZE);
    if (!r->chunk)
        return fail(r, 0, "out of memory");
    return 0;
}

int trace_rewind(struct trace_reader *r)
{
    r->chunk_n = r->chunk_i = 0;
    r->index = r->nchunks = 0;      /* r->end keeps the last trailer read */
    if (fseek(r->f, r->data_off, SEEK_SET) != 0)
        return fail(r, r->data_off, "cannot seek back to the records");
    return 0;
}

void trace_close(struct trace_reader *r)
{
    if (r->f)
        fclose(r->f);
    free(r->syms);
    free(r->chunk);
    memset(r, 0, sizeof *r);
}

/* ---- records ---- */

static int read_trailer(struct trace_reader *r, const uint8_t *magic, long off)
{
    uint8_t t[TRACE_TRAILER_SIZE];
    memcpy(t, magic, 4);
    if (fread(t + 4, 1, sizeof t - 4, r->f) != sizeof t - 4)
        return fail(r, off, "truncated trailer (the recording was interrupted?)");
    if (!crc_ok(t, 44, le_get32(t + 44)))
        return fail(r, off, "trailer checksum mismatch (corrupted)");
    r->end = (struct trace_end){ .records = le_get64(t + 4), .chunks = le_get64(t + 12),
                                 .cycles = le_get64(t + 20), .insns = le_get64(t + 28),
                                 .end = le_get32(t + 36), .exit_code = le_get32(t + 40) };
    if (r->end.records != r->index || r->end.chunks != r->nchunks)
        return fail(r, off, "the trailer counts %llu records but the file holds %llu",
                    (unsigned long long)r->end.records, (unsigned long long)r->index);
    if (fgetc(r->f) != EOF)
        return fail(r, off + TRACE_TRAILER_SIZE, "stray bytes after the trailer");
    return 0;
}

static int check_records(struct trace_reader *r, long off)
{
    for (uint32_t i = 0; i < r->chunk_n; i++) {
        const uint8_t *p = r->chunk + (size_t)i * TRACE_REC_SIZE;
        unsigned kind = p[0] | p[1] << 8;
        if (kind >= r->meta.kind_count || p[3] >= PATH_COUNT)
            return fail(r, off, "record %llu has kind %u, path %u: not known (corrupted)",
                        (unsigned long long)(r->index + i), kind, p[3]);
    }
    return 0;
}

static int read_chunk(struct trace_reader *r)
{
    long off = ftell(r->f);
    uint8_t h[TRACE_CHUNK_HDR];
    size_t got = fread(h, 1, 4, r->f);
    if (got < 4)
        return fail(r, off, "truncated: no trailer after %llu records (the recording was "
                    "interrupted?)", (unsigned long long)r->index);
    if (!memcmp(h, "RSEN", 4))
        return read_trailer(r, h, off) ? -1 : 0;
    if (memcmp(h, "RSCK", 4) != 0)
        return fail(r, off, "expected a chunk or the trailer after %llu records (corrupted)",
                    (unsigned long long)r->index);
    if (fread(h + 4, 1, TRACE_CHUNK_HDR - 4, r->f) != TRACE_CHUNK_HDR - 4)
        return fail(r, off, "truncated chunk header");
    uint32_t n = le_get32(h + 4);
    if (n == 0 || n > TRACE_CHUNK_RECS)
        return fail(r, off, "chunk of %u records (limit %u): corrupted", n, TRACE_CHUNK_RECS);
    if (fread(r->chunk, TRACE_REC_SIZE, n, r->f) != n)
        return fail(r, off, "truncated: a chunk of %u records ends early", n);
    if (!crc_ok(r->chunk, (size_t)n * TRACE_REC_SIZE, le_get32(h + 8)))
        return fail(r, off, "chunk checksum mismatch (corrupted records)");
    r->chunk_n = n;
    r->chunk_i = 0;
    r->nchunks++;
    return check_records(r, off) ? -1 : 1;
}

int trace_next(struct trace_reader *r, struct event *ev)
{
    if (r->chunk_i == r->chunk_n) {
        int rc = read_chunk(r);
        if (rc <= 0)
            return rc;
    }
    trace_unpack(r->chunk + (size_t)r->chunk_i++ * TRACE_REC_SIZE, ev);
    r->index++;
    return 1;
}

const struct trace_sym *trace_sym_at(const struct trace_reader *r, uint32_t addr,
                                     uint32_t *offset)
{
    int lo = 0, hi = (int)r->nsyms - 1, best = -1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (r->syms[mid].addr <= addr) {
            best = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    if (best < 0)
        return NULL;
    const struct trace_sym *s = &r->syms[best];
    if (s->size && addr - s->addr >= s->size)
        return NULL;
    if (offset)
        *offset = addr - s->addr;
    return s;
}
