/*
 * control_migrate.c - the control protocol's migration commands
 * (docs/control.md, docs/migration.md).
 *
 * `migrate` is the source's: it connects to the target host's control
 * socket and runs migrate_vm over it. The others are what the source sends
 * the target: `migrate-begin` creates an empty VM in state "incoming" (not
 * scheduled), `migrate-pages` writes a batch of pages into its RAM,
 * `migrate-state` puts the CPU, VMM and device state in, `migrate-finish`
 * starts it, `migrate-abort` drops it. A standby (disaster recovery) gets
 * a replica: `migrate-begin` with "replica", pages with "stage" held back
 * until `replica-commit` brings the checkpoint's state and applies both,
 * and `recover` runs the last complete checkpoint. Every blob is checked before it
 * changes anything: strict base64, a zlib stream that inflates to exactly
 * the announced size, the CRC-32 of the raw bytes, page indices inside
 * guest RAM, and a state image that passes every check of a snapshot.
 */
#include "host/control_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "host/b64.h"
#include "host/migrate.h"
#include "snapshot.h"

#define PAGE 4096u
#define STATE_MAX (4u << 20)          /* a state image is a few KiB; refuse more */

/* ---- the target's side ---- */

/* The incoming VM named by "vm", or -1 after an error. */
static int incoming_vm(struct ctl_req *r)
{
    int i = arg_vm(r);
    if (i >= 0 && r->h->vms[i].state != HVM_INCOMING) {
        ctl_fail(r, "InvalidArgument", "VM '%s' is not being migrated in", r->h->vms[i].name);
        return -1;
    }
    return i;
}

/* The "data" argument: base64 of zlib of exactly "raw" bytes with CRC "crc".
   A malloc'd buffer of *n bytes, or NULL after an error. */
static uint8_t *arg_blob(struct ctl_req *r, size_t max, size_t *n)
{
    bool ok = true;
    const char *text = arg_str(r, "data", true);
    uint64_t raw = text ? arg_uint(r, "raw", 0, 1, max, &ok) : 0;
    uint64_t crc = ok && text ? arg_uint(r, "crc", 0, 0, UINT32_MAX, &ok) : 0;
    if (!text || !ok || !json_object_get(r->args, "raw") || !json_object_get(r->args, "crc")) {
        if (!r->err_class)
            ctl_fail(r, "InvalidArgument", "%s", "a blob needs 'data', 'raw' and 'crc'");
        return NULL;
    }
    size_t zcap = strlen(text) / 4 * 3 + 3;
    uint8_t *z = malloc(zcap), *out = malloc(raw);
    long zlen = z ? b64_decode(text, z, zcap) : -1;
    uLongf got = (uLongf)raw;
    const char *why = !z || !out ? "out of memory"
                      : zlen < 0 ? "'data' is not base64"
                      : uncompress(out, &got, z, (uLong)zlen) != Z_OK || got != raw
                          ? "'data' does not inflate to 'raw' bytes"
                      : crc32(0, out, (uInt)raw) != crc ? "'data' fails its CRC" : NULL;
    free(z);
    if (why) {
        free(out);
        ctl_fail(r, "InvalidArgument", "%s", why);
        return NULL;
    }
    *n = raw;
    return out;
}

json_t *cmd_migrate_begin(struct ctl_req *r)
{
    bool ok = true;
    const char *name = arg_str(r, "vm", true);
    const char *kernel = name ? arg_str(r, "kernel", true) : NULL;
    const char *append = kernel ? arg_str(r, "append", false) : NULL;
    const char *mode = kernel ? arg_str(r, "mode", true) : NULL;
    uint64_t mem = arg_uint(r, "mem", 32, 2, 3072, &ok);
    uint64_t shares = arg_uint(r, "shares", 1, 1, 1000000, &ok);
    uint64_t budget = arg_uint(r, "max_insns", 0, 0, UINT64_MAX >> 1, &ok);
    uint64_t pages = arg_uint(r, "pages", mem << 8, 1, UINT32_MAX, &ok);
    if (!mode || r->err[0] || !ok)
        return NULL;
    int engine = machine_mode_parse(mode);
    if (engine < 0)
        return ctl_fail(r, "InvalidArgument", "unknown mode '%s'", mode);
    if (pages != mem << 8)
        return ctl_fail(r, "InvalidArgument", "%s", "'pages' does not match 'mem'");
    struct vm_config cfg = { .mem_mib = (uint32_t)mem, .mode = (enum machine_mode)engine };
    int i = host_add_vm(r->h, &cfg, name, (uint32_t)shares, budget, r->err, sizeof r->err);
    if (i < 0) {
        r->err_class = "CreateFailed";
        return NULL;
    }
    struct host_vm *hv = &r->h->vms[i];
    snprintf(hv->kernel, sizeof hv->kernel, "%s", kernel);
    snprintf(hv->cmdline, sizeof hv->cmdline, "%s", append ? append : "");
    hv->state = HVM_INCOMING;
    hv->state_in = false;
    hv->replica = json_is_true(json_object_get(r->args, "replica"));
    return json_pack("{s:I}", "pages", (json_int_t)pages);
}

/* A replica's checkpoint pages wait until the checkpoint is complete. */
static const char *stage(struct host_vm *hv, const uint8_t *raw, size_t n)
{
    if (hv->nstaged + n > hv->staged_cap) {
        size_t cap = hv->staged_cap ? 2 * hv->staged_cap : 64 * (4 + PAGE);
        while (cap < hv->nstaged + n)
            cap *= 2;
        uint8_t *p = realloc(hv->staged, cap);
        if (!p)
            return "out of memory staging a checkpoint";
        hv->staged = p;
        hv->staged_cap = cap;
    }
    memcpy(hv->staged + hv->nstaged, raw, n);
    hv->nstaged += n;
    return NULL;
}

static uint32_t staged_page(const struct host_vm *hv, size_t off)
{
    const uint8_t *p = hv->staged + off;
    return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Frames the staged pages would take from the pool: pages with no frame
   yet, or on a shared frame (a write copies it). A bound: a page staged
   twice counts twice. */
static uint32_t staged_frames_needed(const struct host_vm *hv)
{
    const struct pmap *pm = &hv->vm->m.pm;
    uint32_t need = 0;
    for (size_t off = 0; off + 4 + PAGE <= hv->nstaged; off += 4 + PAGE) {
        uint32_t pg = staged_page(hv, off);
        need += pg < pm->npages && (pmap_lookup(pm, pg) == PMAP_NONE || pmap_shared(pm, pg));
    }
    return need;
}

/* Write a checkpoint's pages into the replica: all of them, or (the pool
   cannot hold them) none, so the replica stays at its last checkpoint. */
static int apply_staged(struct host_vm *hv, char *err, size_t errlen)
{
    const struct pmap *pm = &hv->vm->m.pm;
    if (!pmap_identity(pm)) {
        uint32_t need = staged_frames_needed(hv), free_frames = pm->fr->nframes - pm->fr->used;
        if (need > free_frames) {
            snprintf(err, errlen, "the host is out of machine memory for the checkpoint "
                     "(%u frames needed, %u free); the replica stays at checkpoint %llu",
                     need, free_frames, (unsigned long long)hv->checkpoints);
            hv->nstaged = 0;
            return -1;
        }
    }
    for (size_t off = 0; off + 4 + PAGE <= hv->nstaged; off += 4 + PAGE) {
        if (!machine_put_guest_page(&hv->vm->m, staged_page(hv, off), hv->staged + off + 4)) {
            snprintf(err, errlen, "the host is out of machine memory for the checkpoint");
            hv->nstaged = 0;
            return -1;
        }
    }
    hv->nstaged = 0;
    return 0;
}

json_t *cmd_migrate_pages(struct ctl_req *r)
{
    bool ok = true;
    int i = incoming_vm(r);
    uint64_t count = i >= 0 ? arg_uint(r, "count", 0, 1, MIG_BATCH_PAGES, &ok) : 0;
    size_t n;
    uint8_t *raw = i >= 0 && ok && count ? arg_blob(r, MIG_BATCH_PAGES * (4 + PAGE), &n) : NULL;
    if (!raw) {
        if (!r->err_class)
            ctl_fail(r, "InvalidArgument", "%s", "argument 'count' is required");
        return NULL;
    }
    struct vm *vm = r->h->vms[i].vm;
    const char *why = n != count * (4 + PAGE) ? "'raw' is not 'count' pages" : NULL;
    for (size_t k = 0; !why && k < count; k++) {
        const uint8_t *p = raw + k * (4 + PAGE);
        uint32_t pg = p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        why = pg >= vm_guest_pages(vm) ? "a page index is beyond guest RAM" : NULL;
    }
    struct host_vm *hv = &r->h->vms[i];
    bool staged = hv->replica && json_is_true(json_object_get(r->args, "stage"));
    if (!why && staged)
        why = stage(hv, raw, n);
    for (size_t k = 0; !why && !staged && k < count; k++) {    /* all checked: now write */
        const uint8_t *p = raw + k * (4 + PAGE);
        uint32_t pg = p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        why = machine_put_guest_page(&vm->m, pg, p + 4) ? NULL : "the host is out of machine memory";
    }
    free(raw);
    if (why)
        return ctl_fail(r, "InvalidArgument", "%s", why);
    return json_pack("{s:I}", "pages", (json_int_t)count);
}

json_t *cmd_migrate_state(struct ctl_req *r)
{
    int i = incoming_vm(r);
    size_t n;
    uint8_t *img = i >= 0 ? arg_blob(r, STATE_MAX, &n) : NULL;
    if (!img)
        return NULL;
    struct snap_file f;
    struct vm *vm = r->h->vms[i].vm;
    int rc = snap_parse(img, n, &f, r->err, sizeof r->err);
    free(img);
    if (rc == 0) {
        rc = snapshot_restore_state(vm, &f, r->err, sizeof r->err);
        snap_free(&f);
    }
    if (rc != 0) {
        r->err_class = "RevertFailed";
        return NULL;
    }
    r->h->vms[i].state_in = true;
    return json_pack("{s:I}", "guest_insns", (json_int_t)vm_guest_insns(vm));
}

/* A checkpoint is complete: its pages and its state go in together. */
json_t *cmd_replica_commit(struct ctl_req *r)
{
    int i = incoming_vm(r);
    if (i >= 0 && !r->h->vms[i].replica)
        return ctl_fail(r, "InvalidArgument", "VM '%s' is not a replica", r->h->vms[i].name);
    size_t n;
    uint8_t *img = i >= 0 ? arg_blob(r, STATE_MAX, &n) : NULL;
    if (!img)
        return NULL;
    struct host_vm *hv = &r->h->vms[i];
    struct snap_file f;
    int rc = snap_parse(img, n, &f, r->err, sizeof r->err);
    free(img);
    if (rc == 0) {
        rc = apply_staged(hv, r->err, sizeof r->err);
        if (rc != 0)
            r->err_class = "OutOfMemory";
        else
            rc = snapshot_restore_state(hv->vm, &f, r->err, sizeof r->err);
        snap_free(&f);
    }
    hv->nstaged = 0;
    if (rc != 0) {
        r->err_class = r->err_class ? r->err_class : "RevertFailed";
        return NULL;
    }
    hv->state_in = true;
    hv->checkpoints++;
    hv->checkpoint_ns = mig_now_ns();
    return json_pack("{s:I, s:I}", "checkpoint", (json_int_t)hv->checkpoints,
                     "guest_insns", (json_int_t)vm_guest_insns(hv->vm));
}

/* The primary is gone: run the last complete checkpoint. */
json_t *cmd_recover(struct ctl_req *r)
{
    uint64_t t0 = mig_now_ns();
    int i = incoming_vm(r);
    if (i < 0)
        return NULL;
    struct host_vm *hv = &r->h->vms[i];
    if (!hv->replica || !hv->checkpoints)
        return ctl_fail(r, "InvalidArgument", "VM '%s' has no checkpoint to recover", hv->name);
    hv->nstaged = 0;                         /* a checkpoint cut short by the crash */
    hv->replica = false;
    hv->state = HVM_PAUSED;
    host_resume(r->h, i);
    return json_pack("{s:I, s:I, s:f, s:f}", "guest_insns", (json_int_t)vm_guest_insns(hv->vm),
                     "checkpoints", (json_int_t)hv->checkpoints,
                     "checkpoint_age_ms", (t0 - hv->checkpoint_ns) / 1e6,
                     "recovery_host_ms", (mig_now_ns() - t0) / 1e6);
}

json_t *cmd_migrate_finish(struct ctl_req *r)
{
    int i = incoming_vm(r);
    if (i < 0)
        return NULL;
    struct host_vm *hv = &r->h->vms[i];
    if (hv->replica)
        return ctl_fail(r, "InvalidArgument", "VM '%s' is a replica: recover it", hv->name);
    if (!hv->state_in)
        return ctl_fail(r, "InvalidArgument", "VM '%s' has no state yet (migrate-state)", hv->name);
    hv->state = HVM_PAUSED;
    if (!json_is_true(json_object_get(r->args, "paused")))   /* as it was on the source */
        host_resume(r->h, i);
    return json_pack("{s:I}", "guest_insns", (json_int_t)vm_guest_insns(hv->vm));
}

json_t *cmd_migrate_abort(struct ctl_req *r)
{
    int i = incoming_vm(r);
    if (i < 0)
        return NULL;
    host_remove(r->h, i);
    return json_object();
}

/* ---- the source's side ---- */

/* The link options and the target of `migrate` and `drain`; a connected
   link, or NULL after an error. */
static struct mig_link *target_link(struct ctl_req *r, struct mig_options *o, const char **to)
{
    bool ok = true;
    *to = arg_str(r, "to", true);
    char digits[32];                 /* ctl sends a token of digits as a number */
    json_t *tv = json_object_get(r->args, "token");
    if (json_is_integer(tv))
        snprintf(digits, sizeof digits, "%lld", (long long)json_integer_value(tv));
    const char *token = !*to ? NULL : json_is_integer(tv) ? digits : arg_str(r, "token", false);
    *o = (struct mig_options){
        .bandwidth_bps = arg_uint(r, "bandwidth", MIG_BANDWIDTH_DEFAULT, 1000, 1000000000000ull, &ok),
        .latency_us = (uint32_t)arg_uint(r, "latency_us", MIG_LATENCY_DEFAULT, 0, 10000000, &ok),
        .latency_given = true,
        .max_rounds = (int)arg_uint(r, "max_rounds", MIG_ROUNDS_DEFAULT, 1, MIG_MAX_ROUNDS, &ok),
        .stop_pages = (uint32_t)arg_uint(r, "stop_pages", MIG_STOP_PAGES_DEFAULT, 1, 1u << 20, &ok),
    };
    if (!*to || r->err[0] || !ok)
        return NULL;
    struct mig_link *l = mig_link_connect(*to, token, r->err, sizeof r->err);
    if (!l)
        r->err_class = "MigrationFailed";
    return l;
}

json_t *cmd_migrate_vm(struct ctl_req *r)
{
    struct mig_options o;
    const char *to;
    int i = arg_vm(r);
    struct mig_link *l = i >= 0 ? target_link(r, &o, &to) : NULL;
    struct mig_report *rep = l ? calloc(1, sizeof *rep) : NULL;
    if (!rep) {
        mig_link_close(l);
        return l ? ctl_fail(r, "MigrationFailed", "%s", "out of memory") : NULL;
    }
    json_t *out = NULL;
    char why[256];
    if (migrate_vm(r->h, i, l, &o, rep, why, sizeof why) == 0)
        out = mig_report_json(rep, to);
    else
        ctl_fail(r, "MigrationFailed", "%s; the VM runs on here", why);
    mig_link_close(l);
    free(rep);
    return out;
}

/* Maintenance: every VM that is running or paused, one after the other. */
json_t *cmd_drain(struct ctl_req *r)
{
    struct mig_options o;
    const char *to;
    struct mig_link *l = target_link(r, &o, &to);
    struct mig_report *rep = l ? calloc(1, sizeof *rep) : NULL;
    if (!rep) {
        mig_link_close(l);
        return l ? ctl_fail(r, "MigrationFailed", "%s", "out of memory") : NULL;
    }
    json_t *moved = json_array(), *failed = json_array();
    uint64_t bytes = 0, down = 0;
    for (int i = 0; i < r->h->nvms;) {
        struct host_vm *hv = &r->h->vms[i];
        char name[32], why[256];
        if (hv->state != HVM_RUNNABLE && hv->state != HVM_PAUSED) {
            i++;
            continue;
        }
        snprintf(name, sizeof name, "%s", hv->name);
        if (migrate_vm(r->h, i, l, &o, rep, why, sizeof why) == 0) {
            json_array_append_new(moved, json_string(name));   /* removed here: same i */
            bytes += rep->total_bytes;
            down += rep->downtime_cycles;
        } else {
            json_array_append_new(failed, json_pack("{s:s, s:s}", "vm", name, "error", why));
            i++;
        }
    }
    mig_link_close(l);
    free(rep);
    return json_pack("{s:s, s:o, s:o, s:I, s:f}", "to", to, "moved", moved, "failed", failed,
                     "total_bytes", (json_int_t)bytes,
                     "downtime_modeled_ms", mig_cycles_to_ms(down));
}
