/*
 * replayfile.c - writing and checking recordings (replayfile.h).
 *
 * Layout (little-endian; docs/replay.md):
 *   header  0 "RSREPLAY"  8 version  12 header size  16 kernel size (u64)
 *          24 kernel CRC  28 engine  32 RAM bytes  36 record size
 *          40 start insns (u64)  48 start cycles (u64)  56 RTC epoch  60 CRC
 *   record  0 insns (u64)  8 cycles (u64)  16 kind  17 value  18 reserved (2)
 *          20 CRC-32 of bytes 0-19, seeded with the previous record's CRC
 *             (the header's for the first)
 */
#include "replayfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "hw/hostfile.h"
#include "le.h"
#include "machine.h"

static const char REPLAY_MAGIC[8] = { 'R', 'S', 'R', 'E', 'P', 'L', 'A', 'Y' };

static void put_header(uint8_t *p, const struct replay_header *h)
{
    memset(p, 0, REPLAY_HEADER_SIZE);
    memcpy(p, REPLAY_MAGIC, 8);
    le_put32(p + 8, REPLAY_VERSION);
    le_put32(p + 12, REPLAY_HEADER_SIZE);
    le_put64(p + 16, h->kernel_size);
    le_put32(p + 24, h->kernel_crc);
    le_put32(p + 28, h->engine);
    le_put32(p + 32, h->ram_size);
    le_put32(p + 36, REPLAY_RECORD_SIZE);
    le_put64(p + 40, h->start_insns);
    le_put64(p + 48, h->start_cycles);
    le_put32(p + 56, h->rtc_epoch);
    le_put32(p + 60, (uint32_t)crc32(0, p, 60));
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k, n -= (size_t)k;
    }
    return 0;
}

int replay_create(struct replay_writer *w, const char *path, const struct replay_header *h,
                  char *err, size_t errlen)
{
    uint8_t hdr[REPLAY_HEADER_SIZE];
    put_header(hdr, h);
    snprintf(w->path, sizeof w->path, "%s", path);
    w->crc = le_get32(hdr + 60);
    w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->fd < 0 || write_all(w->fd, hdr, sizeof hdr) != 0) {
        snprintf(err, errlen, "--record %s: %s", path, strerror(errno));
        replay_close(w);
        return -1;
    }
    return 0;
}

int replay_append(struct replay_writer *w, int kind, uint64_t insns, uint64_t cycles,
                  uint8_t value, char *err, size_t errlen)
{
    uint8_t r[REPLAY_RECORD_SIZE] = { 0 };
    le_put64(r, insns);
    le_put64(r + 8, cycles);
    r[16] = (uint8_t)kind;
    r[17] = value;
    w->crc = (uint32_t)crc32(w->crc, r, 20);
    le_put32(r + 20, w->crc);
    if (w->fd < 0 || write_all(w->fd, r, sizeof r) != 0) {
        snprintf(err, errlen, "--record %s: write failed", w->path);
        return -1;
    }
    return 0;
}

void replay_close(struct replay_writer *w)
{
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
}

/* ---- reading ---- */

static int fail(char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "%s", what);
    return -1;
}

static int parse_header(const uint8_t *p, size_t len, struct replay_header *h, char *err,
                        size_t errlen)
{
    if (len < REPLAY_HEADER_SIZE || memcmp(p, REPLAY_MAGIC, 8) != 0)
        return fail(err, errlen, "not a ringside recording (bad magic or too short)");
    if (le_get32(p + 8) != REPLAY_VERSION) {
        snprintf(err, errlen, "recording format version %u, this ringside reads version %u",
                 le_get32(p + 8), REPLAY_VERSION);
        return -1;
    }
    if (le_get32(p + 12) != REPLAY_HEADER_SIZE || le_get32(p + 36) != REPLAY_RECORD_SIZE ||
        le_get32(p + 60) != (uint32_t)crc32(0, p, 60))
        return fail(err, errlen, "recording header is corrupted (CRC mismatch)");
    h->kernel_size = le_get64(p + 16);
    h->kernel_crc = le_get32(p + 24);
    h->engine = le_get32(p + 28);
    h->ram_size = le_get32(p + 32);
    h->start_insns = le_get64(p + 40);
    h->start_cycles = le_get64(p + 48);
    h->rtc_epoch = le_get32(p + 56);
    return 0;
}

/* One record, checked against the chain and the one before it. */
static int parse_record(const uint8_t *r, uint32_t *crc, struct replay_file *f, size_t index,
                        char *err, size_t errlen)
{
    uint64_t insns = le_get64(r), cycles = le_get64(r + 8);
    uint32_t want = (uint32_t)crc32(*crc, r, 20);
    if (le_get32(r + 20) != want) {
        snprintf(err, errlen, "recording record %zu is corrupted (CRC mismatch)", index);
        return -1;
    }
    *crc = want;
    const struct hist_input *prev = f->nin ? &f->in[f->nin - 1] : NULL;
    uint64_t pi = prev ? prev->insns : f->h.start_insns, pc = prev ? prev->cycles : f->h.start_cycles;
    bool kind_ok = r[16] == REPLAY_INPUT || r[16] == REPLAY_END || r[16] == REPLAY_KEY;
    if (f->has_end || r[18] || r[19] || !kind_ok ||
        insns < pi || cycles < pc) {
        snprintf(err, errlen, "recording record %zu is malformed (kind, order or position)",
                 index);
        return -1;
    }
    if (r[16] == REPLAY_END) {
        f->has_end = true;
        f->end_insns = insns, f->end_cycles = cycles, f->end_status = r[17];
        return 0;
    }
    f->in[f->nin++] = (struct hist_input){ .insns = insns, .cycles = cycles, .byte = r[17],
                                           .dest = r[16] == REPLAY_KEY ? INPUT_KEYBOARD
                                                                       : INPUT_COM1 };
    return 0;
}

int replay_parse(const uint8_t *img, size_t len, struct replay_file *out, char *err,
                 size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (parse_header(img, len, &out->h, err, errlen) != 0)
        return -1;
    size_t body = len - REPLAY_HEADER_SIZE, n = body / REPLAY_RECORD_SIZE;
    if (body % REPLAY_RECORD_SIZE)
        return fail(err, errlen, "recording is truncated (a record cut short)");
    out->in = malloc((n ? n : 1) * sizeof *out->in);
    if (!out->in)
        return fail(err, errlen, "out of memory for the recording");
    uint32_t crc = le_get32(img + 60);
    for (size_t i = 0; i < n; i++) {
        if (parse_record(img + REPLAY_HEADER_SIZE + i * REPLAY_RECORD_SIZE, &crc, out, i,
                         err, errlen) != 0) {
            replay_free(out);
            return -1;
        }
    }
    return 0;
}

int replay_read(const char *path, struct replay_file *out, char *err, size_t errlen)
{
    uint8_t *img;
    size_t len;
    memset(out, 0, sizeof *out);
    if (hostfile_read(path, REPLAY_MAX_FILE, &img, &len, err, errlen) != 0)
        return -1;
    char why[200];
    int rc = replay_parse(img, len, out, why, sizeof why);
    free(img);
    if (rc != 0)
        snprintf(err, errlen, "%s: %s", path, why);
    return rc;
}

void replay_free(struct replay_file *f)
{
    free(f->in);
    f->in = NULL;
    f->nin = 0;
}
