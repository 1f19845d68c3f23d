/*
 * migrate.c - the source side of live migration: pre-copy rounds, then
 * stop-and-copy (migrate.h, docs/migration.md).
 *
 * Each round copies its pages when it starts and puts them on the wire in
 * batches (zlib-compressed, CRC-32 of the raw bytes, base64 in a JSON
 * request to the target's control protocol), requests pipelined up to a
 * window; then the VM runs for the round's modeled duration and the dirty
 * log says what to send next. The stop-and-copy pauses the VM at an
 * instruction boundary the monitor can hand over (vmm_settle), sends the
 * last dirty pages, the state image (snapshot_state_image) and the commit.
 * Only a committed migration removes the VM here; every failure before it
 * sends the target an abort and puts the VM back as it was.
 */
#include "host/migrate.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "host/b64.h"
#include "hw/clock.h"
#include "snapshot.h"

#define PAGE 4096u
#define FRAME_BYTES 24u           /* modeled framing per message: type, VM, round, count, CRC */
#define WINDOW 32                 /* requests in flight before the source waits */

struct mig_run {
    struct host *h;
    int i;
    struct vm *vm;
    const struct mig_link *l;
    struct mig_options o;
    struct mig_report *rep;
    uint32_t npages;
    uint8_t *dirty;               /* bitmap of the pages to send next */
    uint32_t batch[MIG_BATCH_PAGES];
    int nbatch;
    int inflight;                 /* requests whose replies are due */
    char *err;
    size_t errlen;
    bool failed;
    bool replica;                 /* checkpoints to a standby: pages are staged */
    bool paused;                  /* paused by the user: it stays paused on the target */
};

uint64_t mig_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

uint64_t mig_seconds_to_cycles(double s)
{
    return (uint64_t)(s * (double)CLOCK_CPU_HZ + 0.5);
}

double mig_cycles_to_ms(uint64_t cycles)
{
    return (double)cycles * 1000.0 / (double)CLOCK_CPU_HZ;
}

/* latency + 8 * bytes / bandwidth, in guest cycles (exact integers). */
static uint64_t link_cycles(const struct mig_options *o, uint64_t bytes)
{
    unsigned __int128 c = (unsigned __int128)bytes * 8u * CLOCK_CPU_HZ / o->bandwidth_bps;
    return (uint64_t)c + (uint64_t)o->latency_us * (CLOCK_CPU_HZ / 1000000u);
}

static void progress(const struct mig_run *r, enum mig_phase phase)
{
    if (r->o.progress)
        r->o.progress(r->o.progress_ctx, r->rep, phase);
}

static int fail(struct mig_run *r, const char *fmt, const char *a)
{
    if (!r->failed)
        snprintf(r->err, r->errlen, fmt, a);
    r->failed = true;
    return -1;
}

/* ---- requests and their replies ---- */

static int collect_one(struct mig_run *r)
{
    char *line = r->l->recv(r->l->ctx);
    r->inflight--;
    if (!line)
        return fail(r, "%s", "the link to the target dropped");
    json_t *rep = json_loads(line, 0, NULL), *e = json_object_get(rep, "error");
    int rc = 0;
    if (!json_object_get(rep, "return")) {
        char msg[300];
        snprintf(msg, sizeof msg, "%s: %s",
                 json_string_value(json_object_get(e, "class")) ? json_string_value(json_object_get(e, "class")) : "?",
                 json_string_value(json_object_get(e, "desc")) ? json_string_value(json_object_get(e, "desc")) : line);
        rc = fail(r, "the target refused: %s", msg);
    }
    json_decref(rep);
    free(line);
    return rc;
}

static int collect_all(struct mig_run *r)
{
    while (r->inflight > 0)
        if (collect_one(r) != 0)
            return -1;
    return 0;
}

/* Send {"execute": cmd, "arguments": args} (args reference stolen). */
static int request(struct mig_run *r, const char *cmd, json_t *args)
{
    json_object_set_new(args, "vm", json_string(r->h->vms[r->i].name));
    json_t *req = json_pack("{s:s, s:o}", "execute", cmd, "arguments", args);
    char *line = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    int rc = line ? r->l->send(r->l->ctx, line) : -1;
    free(line);
    if (rc != 0)
        return fail(r, "%s", "the link to the target dropped");
    r->inflight++;
    return r->inflight >= WINDOW ? collect_one(r) : 0;
}

/* A zlib-compressed blob as base64, with the raw bytes' CRC. */
static int send_blob(struct mig_run *r, const char *cmd, json_t *args, const uint8_t *raw,
                     size_t n, uint64_t *wire)
{
    uLongf clen = compressBound((uLong)n);
    uint8_t *z = malloc(clen);
    char *text = z ? malloc(b64_len(clen) + 1) : NULL;
    if (!text || compress2(z, &clen, raw, (uLong)n, 6) != Z_OK) {
        free(z);
        free(text);
        json_decref(args);
        return fail(r, "%s", "out of memory compressing pages");
    }
    b64_encode(z, clen, text);
    json_object_set_new(args, "data", json_string(text));
    json_object_set_new(args, "raw", json_integer((json_int_t)n));
    json_object_set_new(args, "crc", json_integer((json_int_t)crc32(0, raw, (uInt)n)));
    free(z);
    free(text);
    *wire += clen + FRAME_BYTES;
    return request(r, cmd, args);
}

/* The batched pages, each its 4-byte little-endian index and its bytes. */
static int flush_batch(struct mig_run *r, int round, struct mig_round *rd)
{
    static uint8_t raw[MIG_BATCH_PAGES * (4 + PAGE)];
    if (r->nbatch == 0 || r->failed)
        return r->failed ? -1 : 0;
    size_t n = 0;
    for (int k = 0; k < r->nbatch; k++) {
        uint32_t p = r->batch[k];
        raw[n] = (uint8_t)p, raw[n + 1] = (uint8_t)(p >> 8);
        raw[n + 2] = (uint8_t)(p >> 16), raw[n + 3] = (uint8_t)(p >> 24);
        machine_read_phys(&r->vm->m, p << 12, raw + n + 4, PAGE);
        n += 4 + PAGE;
    }
    json_t *args = json_pack("{s:i, s:i}", "round", round, "count", r->nbatch);
    if (r->replica)
        json_object_set_new(args, "stage", json_true());
    rd->pages_sent += (uint32_t)r->nbatch;
    r->nbatch = 0;
    return send_blob(r, "migrate-pages", args, raw, n, &rd->bytes);
}

static int add_page(struct mig_run *r, int round, struct mig_round *rd, uint32_t p)
{
    r->batch[r->nbatch++] = p;
    return r->nbatch == MIG_BATCH_PAGES ? flush_batch(r, round, rd) : 0;
}

/* Round 0 (all = true): every page that is not all zero (the target's RAM
   starts zeroed); later rounds: the pages in r->dirty. */
static int send_pages(struct mig_run *r, int round, bool all, struct mig_round *rd)
{
    for (uint32_t p = 0; p < r->npages && !r->failed; p++) {
        const uint8_t *bytes = all ? machine_guest_page(&r->vm->m, p) : NULL;
        bool want = all ? bytes && !machine_page_is_zero(bytes)
                        : ((r->dirty[p / 8] >> (p % 8)) & 1u) != 0;
        if (want && add_page(r, round, rd, p) != 0)
            return -1;
    }
    return flush_batch(r, round, rd);
}

/* ---- the VM meanwhile ---- */

/* Let the host run (this VM and the others) until this VM's clock has
   advanced `cycles`; slices are cut to end there. false if it ended. */
static bool run_for(struct mig_run *r, uint64_t cycles)
{
    struct host_vm *hv = &r->h->vms[r->i];
    struct machine *m = &hv->vm->m;
    uint64_t until = m->cpu.cycles + cycles;
    uint32_t slice = r->h->cfg.slice_cycles;
    while (hv->state == HVM_RUNNABLE && m->cpu.cycles < until) {
        uint64_t left = until - m->cpu.cycles;
        r->h->cfg.slice_cycles = left < slice ? (uint32_t)left : slice;
        if (host_step(r->h) < 0)
            break;
        progress(r, MIG_PHASE_RUN);
    }
    r->h->cfg.slice_cycles = slice;
    return hv->state != HVM_ENDED;
}

/* Stop the VM where the monitor can hand over its state: a few thousand
   cycles more at most (bt: outside translated code, no queued interrupt). */
static int settle(struct mig_run *r)
{
    struct machine *m = &r->vm->m;
    char why[256];
    for (int k = 0; k < 10000; k++) {
        if (!m->vmm || vmm_settle(m->vmm, why, sizeof why) == 0)
            return 0;
        machine_run_until(m, 0, m->cpu.cycles + 100);
        if (m->end != END_NONE)
            return fail(r, "%s", "the VM ended on the source before it could be stopped");
    }
    return fail(r, "%s", why);
}

/* ---- the phases ---- */

static int begin(struct mig_run *r)
{
    const struct host_vm *hv = &r->h->vms[r->i];
    json_t *a = json_pack("{s:s, s:s, s:s, s:i, s:i, s:I, s:I, s:i}", "kernel", hv->kernel,
                          "append", hv->cmdline, "mode", machine_mode_name(hv->vm->m.mode),
                          "mem", (int)(hv->vm->m.ram_size >> 20), "shares", (int)hv->shares,
                          "max_insns", (json_int_t)hv->max_insns,
                          "kernel_size", (json_int_t)hv->vm->kernel_size,
                          "pages", (int)r->npages);
    if (r->replica)
        json_object_set_new(a, "replica", json_true());
    return request(r, "migrate-begin", a) || collect_all(r) ? -1 : 0;
}

/* Why pre-copy stops after round k (NULL: go on). */
static const char *stop_reason(const struct mig_run *r, int k)
{
    const struct mig_round *rd = &r->rep->rounds[k];
    if (rd->pages_dirtied <= r->o.stop_pages)
        return "the remainder is small";
    if (k > 0 && rd->pages_dirtied >= rd->pages_sent)
        return "the rounds stopped shrinking";
    if (k + 1 >= r->o.max_rounds)
        return "the round limit";
    return NULL;
}

static int precopy(struct mig_run *r)
{
    for (int k = 0; k < r->o.max_rounds; k++) {
        struct mig_round *rd = &r->rep->rounds[k];
        uint64_t t0 = mig_now_ns();
        r->rep->nrounds = k + 1;
        if (send_pages(r, k, k == 0, rd) != 0 || collect_all(r) != 0)
            return -1;
        rd->cycles = link_cycles(&r->o, rd->bytes);
        if (!run_for(r, rd->cycles))
            return fail(r, "%s", "the VM ended on the source during pre-copy");
        rd->pages_dirtied = vm_dirty_log_take(r->vm, r->dirty);
        rd->host_ns = mig_now_ns() - t0;
        r->rep->wws_pages = rd->pages_dirtied;
        r->rep->stop_reason = stop_reason(r, k);
        progress(r, MIG_PHASE_ROUND);
        if (r->rep->stop_reason)
            return 0;
    }
    return 0;
}

static int send_state(struct mig_run *r, const char *cmd, uint64_t *wire)
{
    uint8_t *img;
    size_t len;
    char why[256];
    if (snapshot_state_image(r->vm, &img, &len, why, sizeof why) != 0)
        return fail(r, "%s", why);
    uint64_t before = *wire;
    int rc = send_blob(r, cmd, json_object(), img, len, wire);
    r->rep->state_bytes = *wire - before;
    free(img);
    return rc;
}

/* The pages dirtied since the last take join those still to send. */
static int add_dirty(struct mig_run *r)
{
    size_t len = (r->npages + 7) / 8;
    uint8_t *more = calloc(1, len + 1);
    if (!more)
        return fail(r, "%s", "out of memory for the dirty log");
    vm_dirty_log_take(r->vm, more);
    for (size_t k = 0; k < len; k++)
        r->dirty[k] |= more[k];
    free(more);
    return 0;
}

static int stop_and_copy(struct mig_run *r)
{
    struct mig_report *rep = r->rep;
    struct mig_round last = { 0 };
    uint64_t t0 = mig_now_ns();
    if (settle(r) != 0)
        return -1;
    rep->guest_insns = vm_guest_insns(r->vm);
    if (add_dirty(r) != 0)                 /* the last round's, and the settling's */
        return -1;
    if (send_pages(r, rep->nrounds, false, &last) != 0 || send_state(r, "migrate-state", &last.bytes) != 0)
        return -1;
    rep->final_pages = last.pages_sent;
    rep->final_bytes = last.bytes;
    if (request(r, "migrate-finish", json_pack("{s:b}", "paused", r->paused)) != 0 ||
        collect_all(r) != 0)
        return -1;
    rep->downtime_host_ns = mig_now_ns() - t0;
    rep->downtime_cycles = link_cycles(&r->o, rep->final_bytes);
    return 0;
}

/* Best effort: the target may be gone. Replies still due are drained
   first, so the abort's is the last. */
static void abort_target(struct mig_run *r)
{
    json_t *req = json_pack("{s:s, s:{s:s}}", "execute", "migrate-abort", "arguments", "vm",
                            r->h->vms[r->i].name);
    char *line = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    if (line && r->l->send(r->l->ctx, line) == 0) {
        for (int k = 0; k <= r->inflight; k++) {
            char *reply = r->l->recv(r->l->ctx);
            if (!reply)
                break;
            free(reply);
        }
    }
    free(line);
}

static void totals(struct mig_report *rep, const struct mig_options *o)
{
    rep->total_bytes = rep->final_bytes;
    rep->pages_sent = rep->final_pages;
    rep->total_cycles = rep->downtime_cycles + link_cycles(o, 0);   /* + the commit's ack */
    for (int k = 0; k < rep->nrounds; k++) {
        rep->total_bytes += rep->rounds[k].bytes;
        rep->pages_sent += rep->rounds[k].pages_sent;
        rep->total_cycles += rep->rounds[k].cycles;
    }
}

static void defaults(struct mig_options *o)
{
    if (!o->bandwidth_bps)
        o->bandwidth_bps = MIG_BANDWIDTH_DEFAULT;
    if (!o->latency_given)
        o->latency_us = MIG_LATENCY_DEFAULT;
    if (o->max_rounds <= 0 || o->max_rounds > MIG_MAX_ROUNDS)
        o->max_rounds = MIG_ROUNDS_DEFAULT;
    if (!o->stop_pages)
        o->stop_pages = MIG_STOP_PAGES_DEFAULT;
}

int migrate_vm(struct host *h, int i, const struct mig_link *l, const struct mig_options *o,
               struct mig_report *rep, char *err, size_t errlen)
{
    struct host_vm *hv = &h->vms[i];
    struct mig_run r = { .h = h, .i = i, .vm = hv->vm, .l = l, .o = *o, .rep = rep,
                         .npages = vm_guest_pages(hv->vm), .err = err, .errlen = errlen };
    memset(rep, 0, sizeof *rep);
    defaults(&r.o);
    if (hv->state == HVM_ENDED || hv->state == HVM_INCOMING) {
        snprintf(err, errlen, "VM '%s' %s", hv->name,
                 hv->state == HVM_ENDED ? "has ended" : "is itself being migrated in");
        return -1;
    }
    uint64_t t0 = mig_now_ns();
    enum host_vm_state was = hv->state;
    r.paused = was == HVM_PAUSED;
    r.dirty = calloc(1, (r.npages + 7) / 8 + 1);
    if (!r.dirty || vm_dirty_log_start(r.vm) != 0) {
        free(r.dirty);
        snprintf(err, errlen, "out of memory for the dirty log");
        return -1;
    }
    int rc = begin(&r);
    if (rc == 0 && (rc = precopy(&r)) == 0) {
        if (hv->state == HVM_RUNNABLE)
            hv->state = HVM_PAUSED;
        progress(&r, MIG_PHASE_STOP);
        rc = stop_and_copy(&r);
    }
    vm_dirty_log_stop(r.vm);
    free(r.dirty);
    totals(rep, &r.o);
    rep->total_host_ns = mig_now_ns() - t0;
    if (rc == 0) {
        rep->moved = true;
        host_remove(h, i);
        return 0;
    }
    if (hv->state != HVM_ENDED)
        hv->state = was;                      /* as it was: running or paused */
    abort_target(&r);
    return -1;
}

/* ---- checkpoints to a standby (disaster recovery) ---- */

int migrate_checkpoint(struct host *h, int i, const struct mig_link *l, struct mig_ckpt *ck,
                       char *err, size_t errlen)
{
    struct host_vm *hv = &h->vms[i];
    struct mig_run r = { .h = h, .i = i, .vm = hv->vm, .l = l, .rep = &ck->rep,
                         .npages = vm_guest_pages(hv->vm), .err = err, .errlen = errlen,
                         .replica = true };
    struct mig_round rd = { 0 };
    uint64_t t0 = mig_now_ns();
    defaults(&r.o);
    bool first = !ck->dirty;
    if (first) {
        ck->dirty = calloc(1, (r.npages + 7) / 8 + 1);
        if (!ck->dirty || vm_dirty_log_start(r.vm) != 0 || begin(&r) != 0) {
            free(ck->dirty);
            ck->dirty = NULL;
            if (!r.failed)
                snprintf(err, errlen, "out of memory for the dirty log");
            return -1;
        }
    }
    r.dirty = ck->dirty;
    if (settle(&r) != 0)
        return -1;
    if (!first && add_dirty(&r) != 0)
        return -1;
    if (send_pages(&r, 0, first, &rd) != 0 || send_state(&r, "replica-commit", &rd.bytes) != 0 ||
        collect_all(&r) != 0)
        return -1;
    memset(ck->dirty, 0, (r.npages + 7) / 8);
    ck->count++;
    ck->pages += rd.pages_sent;
    ck->bytes += rd.bytes;
    ck->guest_insns = vm_guest_insns(r.vm);
    ck->host_ns = mig_now_ns() - t0;
    return 0;
}

void migrate_checkpoint_free(struct mig_ckpt *ck)
{
    free(ck->dirty);
    ck->dirty = NULL;
}

/* ---- the report ---- */

json_t *mig_report_json(const struct mig_report *rep, const char *to)
{
    json_t *rounds = json_array();
    for (int k = 0; k < rep->nrounds; k++) {
        const struct mig_round *rd = &rep->rounds[k];
        json_array_append_new(rounds, json_pack("{s:i, s:i, s:i, s:I, s:f, s:f}", "round", k,
                                                "pages_sent", (int)rd->pages_sent,
                                                "pages_dirtied", (int)rd->pages_dirtied,
                                                "bytes", (json_int_t)rd->bytes,
                                                "modeled_ms", mig_cycles_to_ms(rd->cycles),
                                                "host_ms", rd->host_ns / 1e6));
    }
    json_t *o = json_pack("{s:s, s:o, s:s, s:i, s:I, s:I, s:i, s:I, s:I}", "to", to,
                          "rounds", rounds, "stop_reason", rep->stop_reason ? rep->stop_reason : "",
                          "final_pages", (int)rep->final_pages,
                          "final_bytes", (json_int_t)rep->final_bytes,
                          "state_bytes", (json_int_t)rep->state_bytes,
                          "wws_pages", (int)rep->wws_pages,
                          "pages_sent", (json_int_t)rep->pages_sent,
                          "total_bytes", (json_int_t)rep->total_bytes);
    json_object_set_new(o, "downtime_modeled_ms", json_real(mig_cycles_to_ms(rep->downtime_cycles)));
    json_object_set_new(o, "downtime_host_ms", json_real(rep->downtime_host_ns / 1e6));
    json_object_set_new(o, "total_modeled_ms", json_real(mig_cycles_to_ms(rep->total_cycles)));
    json_object_set_new(o, "total_host_ms", json_real(rep->total_host_ns / 1e6));
    json_object_set_new(o, "guest_insns", json_integer((json_int_t)rep->guest_insns));
    return o;
}
