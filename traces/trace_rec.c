/*
 * trace_rec.c - the trace recorder: an event subscriber that writes a file.
 *
 * The recorder holds exactly one chunk (TRACE_CHUNK_RECS records, 64 KiB)
 * and writes it out when full, so memory stays bounded however long the run.
 * It only reads the events it is given: attaching it changes nothing in the
 * machine (the statistics subscriber already makes every kind be emitted),
 * which is what makes "recording must not change the run" true by
 * construction; tests/test_traces.c checks it anyway. A failed write is
 * remembered and reported once, at close, instead of stopping the guest.
 */
#include "trace.h"
#include "le.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hw/elf.h"
#include "hw/multiboot.h"

/* ---- the event-kind filter ---- */

static int kind_word(const char *w, size_t n, uint32_t *mask)
{
    if (n == 3 && !strncmp(w, "all", 3)) {
        *mask |= EV_ALL;
        return 0;
    }
    if (n == 2 && !strncmp(w, "tc", 2)) {
        *mask |= EV_BIT(EV_TC_HIT) | EV_BIT(EV_TC_MISS) | EV_BIT(EV_TC_CHAIN) |
                 EV_BIT(EV_TC_INVALIDATE) | EV_BIT(EV_TC_FLUSH) | EV_BIT(EV_TRANSLATE) |
                 EV_BIT(EV_TC_EMULATE);
        return 0;
    }
    for (int k = 0; k < EV_KIND_COUNT; k++) {
        const char *name = event_kind_name((enum ev_kind)k);
        if (strlen(name) == n && !strncmp(w, name, n)) {
            *mask |= EV_BIT(k);
            return 0;
        }
    }
    return -1;
}

int trace_parse_kinds(const char *list, uint32_t *mask, char *err, size_t errlen)
{
    *mask = 0;
    const char *p = list;
    for (;;) {
        size_t n = strcspn(p, ",");
        if (n == 0 || kind_word(p, n, mask) != 0) {
            snprintf(err, errlen, "unknown event kind '%.*s' (kinds: all, tc, insns, exception, "
                     "interrupt, softint, ring, io, trap, world-switch, callout, translate, "
                     "tc-hit, tc-miss, ... as in docs/traces.md)", (int)n, p);
            return -1;
        }
        if (!p[n])
            return 0;
        p += n + 1;
    }
}

/* ---- writing ---- */

static void rec_write(struct trace_recorder *r, const void *p, size_t n)
{
    if (!r->failed && fwrite(p, 1, n, r->f) != n)
        r->failed = true;
}

static void rec_flush(struct trace_recorder *r)
{
    if (!r->nbuf)
        return;
    uint8_t h[TRACE_CHUNK_HDR] = { 'R', 'S', 'C', 'K' };
    le_put32(h + 4, r->nbuf);
    le_put32(h + 8, trace_crc32(0, r->buf, (size_t)r->nbuf * TRACE_REC_SIZE));
    rec_write(r, h, sizeof h);
    rec_write(r, r->buf, (size_t)r->nbuf * TRACE_REC_SIZE);
    r->chunks++;
    r->nbuf = 0;
}

void trace_rec_event(void *ctx, const struct event *ev)
{
    struct trace_recorder *r = ctx;
    if (!(r->mask & EV_BIT(ev->kind)))
        return;
    trace_pack(r->buf + (size_t)r->nbuf * TRACE_REC_SIZE, ev);
    r->records++;
    if (++r->nbuf == TRACE_CHUNK_RECS)
        rec_flush(r);
}

static int rec_header(struct trace_recorder *r, const struct trace_meta *meta,
                      const struct trace_sym *syms, uint32_t nsyms)
{
    uint8_t *symbuf = malloc((size_t)nsyms * 72 + 1);
    uint8_t h[TRACE_HDR_SIZE];
    if (!symbuf)
        return -1;
    uint32_t len = trace_encode_syms(symbuf, syms, nsyms);
    trace_encode_header(h, meta, nsyms, len, trace_crc32(0, symbuf, len));
    rec_write(r, h, sizeof h);
    rec_write(r, symbuf, len);
    free(symbuf);
    return r->failed ? -1 : 0;
}

int trace_rec_open(struct trace_recorder *r, const char *path, const struct trace_meta *meta,
                   const struct trace_sym *syms, uint32_t nsyms, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    snprintf(r->path, sizeof r->path, "%s", path);
    r->mask = meta->event_mask & EV_ALL;
    if (nsyms > TRACE_MAX_SYMS)
        nsyms = TRACE_MAX_SYMS;
    r->buf = malloc((size_t)TRACE_CHUNK_RECS * TRACE_REC_SIZE);
    r->f = r->buf ? fopen(path, "wb") : NULL;
    if (!r->f || rec_header(r, meta, syms, nsyms) != 0) {
        snprintf(err, errlen, "--trace %s: %s", path, r->buf ? strerror(errno) : "out of memory");
        if (r->f)
            fclose(r->f);
        free(r->buf);
        memset(r, 0, sizeof *r);
        return -1;
    }
    return 0;
}

int trace_rec_attach(struct trace_recorder *r, struct event_bus *bus)
{
    if (event_subscribe(bus, r->mask, trace_rec_event, r) != 0)
        return -1;
    r->bus = bus;
    return 0;
}

void trace_rec_detach(struct trace_recorder *r)
{
    if (r->bus)
        event_unsubscribe(r->bus, trace_rec_event, r);
    r->bus = NULL;
}

static void rec_trailer(struct trace_recorder *r, const struct trace_end *e)
{
    uint8_t t[TRACE_TRAILER_SIZE] = { 'R', 'S', 'E', 'N' };
    le_put64(t + 4, r->records);
    le_put64(t + 12, r->chunks);
    le_put64(t + 20, e->cycles);
    le_put64(t + 28, e->insns);
    le_put32(t + 36, e->end);
    le_put32(t + 40, e->exit_code);
    le_put32(t + 44, trace_crc32(0, t, 44));
    rec_write(r, t, sizeof t);
}

int trace_rec_close(struct trace_recorder *r, const struct trace_end *end,
                    char *err, size_t errlen)
{
    if (!r->f)
        return 0;
    trace_rec_detach(r);
    rec_flush(r);
    rec_trailer(r, end);
    if (fclose(r->f) != 0)
        r->failed = true;
    int rc = 0;
    if (r->failed) {
        snprintf(err, errlen, "--trace %s: write failed (disk full?); the trace is incomplete",
                 r->path);
        rc = -1;
    }
    free(r->buf);
    r->buf = NULL;
    r->f = NULL;
    return rc;
}

/* ---- what the header says about the kernel ---- */

int trace_kernel_info(const char *path, struct trace_meta *meta, struct trace_sym **syms,
                      uint32_t *nsyms, char *err, size_t errlen)
{
    uint8_t *image;
    size_t len;
    struct elf_symtab tab = { 0 };
    *syms = NULL;
    *nsyms = 0;
    if (mb_read_file(path, &image, &len, err, errlen) != 0)
        return -1;
    meta->kernel_hash = trace_fnv1a(image, len);
    snprintf(meta->kernel, sizeof meta->kernel, "%s", path);
    if (elf_load_symbols(image, len, &tab) == 0 && tab.count > 0) {
        uint32_t n = tab.count > (int)TRACE_MAX_SYMS ? TRACE_MAX_SYMS : (uint32_t)tab.count;
        *syms = calloc(n, sizeof **syms);
        for (uint32_t i = 0; *syms && i < n; i++) {
            (*syms)[i].addr = tab.syms[i].addr;
            (*syms)[i].size = tab.syms[i].size;
            snprintf((*syms)[i].name, sizeof (*syms)[i].name, "%s", tab.syms[i].name);
        }
        *nsyms = *syms ? n : 0;
    }
    elf_symtab_free(&tab);
    free(image);
    return 0;
}
