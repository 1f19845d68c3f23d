/*
 * snapfile.c - writing and checking snapshot containers (snapfile.h).
 *
 * Layout (all little-endian; docs/snapshot.md):
 *   header  0 "RSSNAPSH"  8 version  12 header size  16 ringside version[16]
 *          32 kernel size (u64)  40 kernel CRC  44 engine  48 RAM bytes
 *          52 chunk count  56 guest insns (u64)  64 kernel path[28]  92 header CRC
 *   chunk   0 tag[4]  4 flags (1: zlib)  8 stored bytes (u64)  16 raw bytes (u64)
 *          24.. data; the CRC-32 of the raw bytes (continued over the stored
 *          bytes when compressed) follows the data (4 bytes)
 * CRCs are zlib's crc32.
 */
#include "snapfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "le.h"

static const char SNAP_MAGIC[8] = { 'R', 'S', 'S', 'N', 'A', 'P', 'S', 'H' };

/* A chunk's CRC: the raw bytes, then (compressed) the stored ones, so a
   flip in bits inflate ignores (the padding after deflate's last block)
   is caught as well (version 1 covered the raw bytes only). */
static uint32_t snap_chunk_crc(const void *raw, size_t len, const uint8_t *stored, size_t slen)
{
    uLong crc = crc32(0, raw, (uInt)len);
    if (stored)
        crc = crc32(crc, stored, (uInt)slen);
    return (uint32_t)crc;
}

void snapw_init(struct snap_writer *w, const struct snap_header *h)
{
    memset(w, 0, sizeof *w);
    w->h = *h;
}

void snapw_free(struct snap_writer *w)
{
    free(w->buf);
    w->buf = NULL;
    w->len = w->cap = 0;
}

static int snapw_reserve(struct snap_writer *w, size_t more)
{
    if (w->len + more <= w->cap)
        return 0;
    size_t cap = w->cap ? w->cap : 1 << 16;
    while (cap < w->len + more)
        cap *= 2;
    uint8_t *p = realloc(w->buf, cap);
    if (!p)
        return -1;
    w->buf = p;
    w->cap = cap;
    return 0;
}

int snapw_chunk(struct snap_writer *w, const char *tag, const void *data, size_t len,
                bool compress, char *err, size_t errlen)
{
    uLongf stored = compress ? compressBound((uLong)len) : (uLongf)len;
    if (w->nchunks >= SNAP_MAX_CHUNKS || snapw_reserve(w, SNAP_CHUNK_HEADER + stored + 4) != 0) {
        snprintf(err, errlen, "snapshot: out of memory");
        return -1;
    }
    uint8_t *h = w->buf + w->len, *body = h + SNAP_CHUNK_HEADER;
    if (compress) {
        if (compress2(body, &stored, data, (uLong)len, 6) != Z_OK) {
            snprintf(err, errlen, "snapshot: zlib could not compress chunk %s", tag);
            return -1;
        }
    } else {
        memcpy(body, data, len);
    }
    memcpy(h, tag, 4);
    le_put32(h + 4, compress ? 1 : 0);
    le_put64(h + 8, stored);
    le_put64(h + 16, len);
    le_put32(body + stored, snap_chunk_crc(data, len, compress ? body : NULL, stored));
    w->len += SNAP_CHUNK_HEADER + stored + 4;
    w->nchunks++;
    return 0;
}

static void snap_put_header(uint8_t *p, const struct snap_header *h, int nchunks)
{
    memset(p, 0, SNAP_HEADER_SIZE);
    memcpy(p, SNAP_MAGIC, 8);
    le_put32(p + 8, SNAP_VERSION);
    le_put32(p + 12, SNAP_HEADER_SIZE);
    memcpy(p + 16, h->ringside_version, 15);
    le_put64(p + 32, h->kernel_size);
    le_put32(p + 40, h->kernel_crc);
    le_put32(p + 44, h->engine);
    le_put32(p + 48, h->ram_size);
    le_put32(p + 52, (uint32_t)nchunks);
    le_put64(p + 56, h->guest_insns);
    memcpy(p + 64, h->kernel_path, 27);
    le_put32(p + 92, (uint32_t)crc32(0, p, 92));
}

int snapw_write(struct snap_writer *w, const char *path, char *err, size_t errlen)
{
    uint8_t hdr[SNAP_HEADER_SIZE];
    snap_put_header(hdr, &w->h, w->nchunks);
    FILE *f = fopen(path, "wb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
        snapw_free(w);
        return -1;
    }
    bool ok = fwrite(hdr, 1, sizeof hdr, f) == sizeof hdr &&
              fwrite(w->buf, 1, w->len, f) == w->len;
    ok = fclose(f) == 0 && ok;
    snapw_free(w);
    if (!ok)
        snprintf(err, errlen, "%s: write failed", path);
    return ok ? 0 : -1;
}

int snapw_image(struct snap_writer *w, uint8_t **img, size_t *len, char *err, size_t errlen)
{
    *img = malloc(SNAP_HEADER_SIZE + w->len);
    if (!*img) {
        snprintf(err, errlen, "snapshot: out of memory");
        snapw_free(w);
        return -1;
    }
    snap_put_header(*img, &w->h, w->nchunks);
    memcpy(*img + SNAP_HEADER_SIZE, w->buf, w->len);
    *len = SNAP_HEADER_SIZE + w->len;
    snapw_free(w);
    return 0;
}

/* ---- reading ---- */

static int snap_fail(char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "%s", what);
    return -1;
}

/* A stored CRC against the computed one. The libFuzzer build
   (FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION) accepts any, so mutated inputs
   reach the checks behind the checksums (fuzz/fuzz_snapshot.c). */
static bool snap_crc_ok(uint32_t computed, uint32_t stored)
{
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    (void)computed;
    (void)stored;
    return true;
#else
    return computed == stored;
#endif
}

/* zlib's deflate expands at most 1032:1 (zlib's technical details), so a
   compressed chunk claiming more raw bytes is corrupt: refused before its
   buffer is allocated (a 100-byte file claimed 3 GiB). */
#define SNAP_ZLIB_MAX_RATIO 1032u

static int snap_parse_header(const uint8_t *p, size_t len, struct snap_file *out,
                             char *err, size_t errlen)
{
    if (len < SNAP_HEADER_SIZE || memcmp(p, SNAP_MAGIC, 8) != 0)
        return snap_fail(err, errlen, "not a ringside snapshot (bad magic or too short)");
    if (le_get32(p + 8) != SNAP_VERSION) {
        snprintf(err, errlen, "snapshot format version %u, this ringside reads version %u",
                 le_get32(p + 8), SNAP_VERSION);
        return -1;
    }
    if (le_get32(p + 12) != SNAP_HEADER_SIZE ||
        !snap_crc_ok((uint32_t)crc32(0, p, 92), le_get32(p + 92)))
        return snap_fail(err, errlen, "snapshot header is corrupted (CRC mismatch)");
    struct snap_header *h = &out->h;
    memcpy(h->ringside_version, p + 16, 15);
    h->kernel_size = le_get64(p + 32);
    h->kernel_crc = le_get32(p + 40);
    h->engine = le_get32(p + 44);
    h->ram_size = le_get32(p + 48);
    out->nchunks = (int)le_get32(p + 52);
    h->guest_insns = le_get64(p + 56);
    memcpy(h->kernel_path, p + 64, 27);
    if (out->nchunks < 0 || out->nchunks > SNAP_MAX_CHUNKS)
        return snap_fail(err, errlen, "snapshot header is corrupted (chunk count)");
    return 0;
}

/* A chunk tag for an error message: four bytes of any value, printable. */
static const char *snap_tag_text(const char *tag, char out[5])
{
    for (int i = 0; i < 4; i++)
        out[i] = tag[i] >= 0x20 && tag[i] < 0x7f ? tag[i] : '?';
    out[4] = 0;
    return out;
}

static int snap_inflate(struct snap_chunk *c, const uint8_t *body, char *err, size_t errlen)
{
    uLongf n = (uLongf)c->len;
    if (!c->compressed) {
        memcpy(c->data, body, c->len);
        return 0;
    }
    if (uncompress(c->data, &n, body, (uLong)c->stored) != Z_OK || n != c->len) {
        char t[5];
        snprintf(err, errlen, "snapshot chunk %s does not decompress (corrupted)",
                 snap_tag_text(c->tag, t));
        return -1;
    }
    return 0;
}

static int snap_parse_chunk(const uint8_t *p, size_t left, struct snap_chunk *c, size_t *used,
                            char *err, size_t errlen)
{
    if (left < SNAP_CHUNK_HEADER)
        return snap_fail(err, errlen, "snapshot is truncated (chunk header)");
    memcpy(c->tag, p, 4);
    c->tag[4] = 0;
    uint32_t flags = le_get32(p + 4);
    uint64_t stored = le_get64(p + 8), raw = le_get64(p + 16);
    if (flags > 1 || raw > SNAP_MAX_RAW || stored > left - SNAP_CHUNK_HEADER ||
        left - SNAP_CHUNK_HEADER - stored < 4 || (!flags && stored != raw) ||
        (flags && raw > stored * SNAP_ZLIB_MAX_RATIO + 64u)) {
        char t[5];
        snprintf(err, errlen, "snapshot chunk '%s' is truncated or corrupted",
                 snap_tag_text(c->tag, t));
        return -1;
    }
    c->compressed = flags == 1;
    c->stored = (size_t)stored;
    c->len = (size_t)raw;
    c->data = malloc(c->len ? c->len : 1);
    if (!c->data)
        return snap_fail(err, errlen, "snapshot: out of memory");
    const uint8_t *body = p + SNAP_CHUNK_HEADER;
    if (snap_inflate(c, body, err, errlen) != 0)
        return -1;
    if (!snap_crc_ok(snap_chunk_crc(c->data, c->len, c->compressed ? body : NULL, c->stored),
                     le_get32(body + c->stored))) {
        char t[5];
        snprintf(err, errlen, "snapshot chunk %s is corrupted (CRC mismatch)",
                 snap_tag_text(c->tag, t));
        return -1;
    }
    *used = SNAP_CHUNK_HEADER + c->stored + 4;
    return 0;
}

int snap_parse(const uint8_t *img, size_t len, struct snap_file *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (snap_parse_header(img, len, out, err, errlen) != 0) {
        out->nchunks = 0;
        return -1;
    }
    int want = out->nchunks;
    out->nchunks = 0;
    size_t off = SNAP_HEADER_SIZE, used;
    for (int i = 0; i < want; i++) {
        int rc = snap_parse_chunk(img + off, len - off, &out->chunks[i], &used, err, errlen);
        out->nchunks = i + 1;              /* what to free, even on failure */
        if (rc != 0) {
            snap_free(out);
            return -1;
        }
        off += used;
    }
    if (off != len) {
        snap_free(out);
        return snap_fail(err, errlen, "snapshot has trailing bytes (corrupted)");
    }
    return 0;
}

static int snap_load_file(const char *path, uint8_t **img, size_t *len, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > SNAP_MAX_FILE) {
        snprintf(err, errlen, "%s: %s", path, S_ISREG(st.st_mode) ? "file too large for a snapshot"
                                                                : "not a regular file");
        close(fd);
        return -1;
    }
    *len = (size_t)st.st_size;
    *img = malloc(*len ? *len : 1);
    size_t got = 0;
    while (*img && got < *len) {
        ssize_t n = read(fd, *img + got, *len - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (!*img || got != *len) {
        free(*img);
        snprintf(err, errlen, "%s: cannot read", path);
        return -1;
    }
    return 0;
}

int snap_read(const char *path, struct snap_file *out, char *err, size_t errlen)
{
    uint8_t *img;
    size_t len;
    memset(out, 0, sizeof *out);
    if (snap_load_file(path, &img, &len, err, errlen) != 0)
        return -1;
    char why[200];
    int rc = snap_parse(img, len, out, why, sizeof why);
    free(img);
    if (rc != 0)
        snprintf(err, errlen, "%s: %s", path, why);
    return rc;
}

void snap_free(struct snap_file *f)
{
    for (int i = 0; i < f->nchunks; i++)
        free(f->chunks[i].data);
    f->nchunks = 0;
}

const struct snap_chunk *snap_find(const struct snap_file *f, const char *tag)
{
    for (int i = 0; i < f->nchunks; i++)
        if (!memcmp(f->chunks[i].tag, tag, 4))
            return &f->chunks[i];
    return NULL;
}
