/*
 * export_chrome.c - Chrome trace-event JSON, which Perfetto's UI opens.
 *
 * Format: the Trace Event Format ("JSON Object Format", Google, docs at
 * https://docs.google.com/document/d/1CvAClvFfyA5R-PhYUmn5OOQtYMH4h6I0nSsKchNAySU):
 * a "traceEvents" array of objects with ph = "X" (complete span: ts + dur),
 * "i" (instant), "C" (counter), "M" (metadata: process and thread names).
 *
 * Time axis: ts and dur are in microseconds in that format; ringside writes
 * modeled cycles / 1000, so one nanosecond on Perfetto's ruler is exactly one
 * modeled cycle (docs/traces.md). Exact integers, three decimals.
 *
 * Layout: one process per VM ("vm 0: kernel, --mode M"); in it one track
 * (thread) per execution path with spans of direct, translated, emulated or
 * native execution, an "events" track with instant events (traps, callouts,
 * translations, invalidations, reflections, exceptions, ring changes...),
 * and counter tracks "tc bytes" and "tc hit rate %". Spans are derived from
 * the events: a world switch into the VMM starts an emulated span, leaving
 * returns to the guest's path (direct; translated for guest CPL 0 under bt).
 */
#include "trace_export.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define TID_EVENTS 10
#define HITRATE_WINDOW 1024u

struct vm_track {
    bool used;
    uint8_t path;             /* current path (enum ev_path) */
    uint64_t start;           /* cycle the current span began */
    unsigned vcpl;            /* guest (virtual) CPL */
    bool in_vmm;              /* between world switches */
    uint32_t declared;        /* bit t: thread_name written for tid t */
    uint64_t tc_bytes;
    uint32_t win_hits, win_lookups;
};

struct chrome {
    FILE *out;
    const struct trace_reader *r;
    bool bt;                  /* --mode bt: guest CPL 0 runs translated */
    bool native;
    bool first;               /* no comma before the first element */
    struct vm_track vm[256];
};

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void ts(FILE *f, const char *key, uint64_t cycles)
{
    fprintf(f, ",\"%s\":%" PRIu64 ".%03u", key, cycles / 1000, (unsigned)(cycles % 1000));
}

/* Start one element of traceEvents: {"ph":"X","pid":N */
static void elem(struct chrome *c, const char *ph, unsigned vm)
{
    fprintf(c->out, "%s\n{\"ph\":\"%s\",\"pid\":%u", c->first ? "" : ",", ph, vm + 1);
    c->first = false;
}

static void declare(struct chrome *c, unsigned vm, unsigned tid, const char *name)
{
    struct vm_track *t = &c->vm[vm];
    if (t->declared & (1u << tid))
        return;
    t->declared |= 1u << tid;
    elem(c, "M", vm);
    fprintf(c->out, ",\"tid\":%u,\"name\":\"thread_name\",\"args\":{\"name\":", tid);
    json_str(c->out, name);
    fprintf(c->out, "}}");
    elem(c, "M", vm);
    fprintf(c->out, ",\"tid\":%u,\"name\":\"thread_sort_index\",\"args\":{\"sort_index\":%u}}",
            tid, tid);
}

static void span(struct chrome *c, unsigned vm, uint8_t path, uint64_t from, uint64_t to)
{
    if (to <= from)
        return;
    const char *name = event_path_name((enum ev_path)path);
    declare(c, vm, 1u + path, name);
    elem(c, "X", vm);
    fprintf(c->out, ",\"tid\":%u,\"name\":\"%s\",\"cat\":\"path\"", 1u + path, name);
    ts(c->out, "ts", from);
    ts(c->out, "dur", to - from);
    fputc('}', c->out);
}

static void switch_path(struct chrome *c, unsigned vm, uint8_t path, uint64_t cycle)
{
    struct vm_track *t = &c->vm[vm];
    if (path == t->path)
        return;
    span(c, vm, t->path, t->start, cycle);
    t->path = path;
    t->start = cycle;
}

static uint8_t guest_path(const struct chrome *c, const struct vm_track *t)
{
    if (c->native)
        return PATH_NATIVE;
    return c->bt && t->vcpl != 3 ? PATH_TRANSLATED : PATH_DIRECT;
}

static void counter(struct chrome *c, unsigned vm, const char *name, uint64_t cycle,
                    const char *key, double value)
{
    elem(c, "C", vm);
    fprintf(c->out, ",\"name\":\"%s\"", name);
    ts(c->out, "ts", cycle);
    fprintf(c->out, ",\"args\":{\"%s\":%.6g}}", key, value);
}

static bool is_instant(unsigned kind)
{
    const uint32_t not_instant = EV_BIT(EV_INSNS) | EV_BIT(EV_WORLD_SWITCH) | EV_BIT(EV_IO) |
                                 EV_BIT(EV_TC_HIT) | EV_BIT(EV_TC_MISS) | EV_BIT(EV_TC_CHAIN);
    return kind < 32 && !(not_instant & EV_BIT(kind));
}

static void instant(struct chrome *c, const struct event *ev)
{
    char name[96], rb[24];
    const char *kind = event_kind_name((enum ev_kind)ev->kind);
    if (ev->kind == EV_TRAP || ev->kind == EV_SENSITIVE || ev->kind == EV_CALLOUT)
        snprintf(name, sizeof name, "%s: %s", kind, trace_row_label(c->r, ev->a, rb, sizeof rb));
    else if (ev->kind == EV_RING)
        snprintf(name, sizeof name, "ring %u->%u", ev->a & 3, ev->b & 3);
    else if (ev->kind <= EV_SOFTINT || ev->kind == EV_REFLECT)
        snprintf(name, sizeof name, "%s %u", kind, ev->a);
    else
        snprintf(name, sizeof name, "%s", kind);
    declare(c, ev->vm, TID_EVENTS, "events");
    elem(c, "i", ev->vm);
    fprintf(c->out, ",\"tid\":%u,\"s\":\"t\",\"cat\":\"%s\",\"name\":", TID_EVENTS, kind);
    json_str(c->out, name);
    ts(c->out, "ts", ev->cycle);
    fprintf(c->out, ",\"args\":{\"eip\":\"0x%08x\",\"a\":%u,\"b\":%u,\"c\":%u,\"d\":%u}}",
            ev->eip, ev->a, ev->b, ev->c, ev->d);
}

static void tc_counters(struct chrome *c, struct vm_track *t, const struct event *ev)
{
    switch (ev->kind) {
    case EV_TRANSLATE:
        t->tc_bytes += ev->b;
        counter(c, ev->vm, "tc bytes", ev->cycle, "bytes", (double)t->tc_bytes);
        break;
    case EV_TC_FLUSH:
        t->tc_bytes = 0;
        counter(c, ev->vm, "tc bytes", ev->cycle, "bytes", 0);
        break;
    case EV_TC_HIT:
    case EV_TC_MISS:
        t->win_hits += ev->kind == EV_TC_HIT;
        if (++t->win_lookups < HITRATE_WINDOW)
            break;
        counter(c, ev->vm, "tc hit rate %", ev->cycle, "percent",
                100.0 * t->win_hits / t->win_lookups);
        t->win_hits = t->win_lookups = 0;
        break;
    default:
        break;
    }
}

static void vm_begin(struct chrome *c, unsigned vm, uint64_t cycle)
{
    struct vm_track *t = &c->vm[vm];
    const char *base = strrchr(c->r->meta.kernel, '/');
    char name[320];
    t->used = true;
    t->start = c->r->meta.start_cycle < cycle ? c->r->meta.start_cycle : cycle;
    t->path = guest_path(c, t);
    snprintf(name, sizeof name, "vm %u: %s, --mode %s", vm, base ? base + 1 : c->r->meta.kernel,
             c->r->meta.mode);
    elem(c, "M", vm);
    fprintf(c->out, ",\"name\":\"process_name\",\"args\":{\"name\":");
    json_str(c->out, name);
    fprintf(c->out, "}}");
}

static void on_event(struct chrome *c, const struct event *ev)
{
    struct vm_track *t = &c->vm[ev->vm];
    if (!t->used)
        vm_begin(c, ev->vm, ev->cycle);
    if (ev->kind == EV_WORLD_SWITCH) {
        t->in_vmm = ev->a != 0;
        switch_path(c, ev->vm, t->in_vmm ? PATH_EMULATED : guest_path(c, t), ev->cycle);
    } else if (ev->kind == EV_RING) {
        t->vcpl = ev->b & 3;
        if (!t->in_vmm)
            switch_path(c, ev->vm, guest_path(c, t), ev->cycle);
    } else if (ev->kind == EV_INSNS && ev->d == 1 && !t->in_vmm) {
        switch_path(c, ev->vm, ev->path, ev->cycle);
    }
    if (is_instant(ev->kind))
        instant(c, ev);
    tc_counters(c, t, ev);
}

int trace_export_chrome(struct trace_reader *r, FILE *out, char *err, size_t errlen)
{
    struct chrome *c = calloc(1, sizeof *c);
    struct event ev;
    uint64_t last = 0;
    int rc;
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    *c = (struct chrome){ .out = out, .r = r, .first = true,
                          .bt = !strcmp(r->meta.mode, "bt"), .native = !strcmp(r->meta.mode, "native") };
    fprintf(out, "{\"displayTimeUnit\":\"ns\",\"otherData\":{\"ringside\":");
    json_str(out, r->meta.ringside);
    fprintf(out, ",\"kernel\":");
    json_str(out, r->meta.kernel);
    fprintf(out, ",\"mode\":");
    json_str(out, r->meta.mode);
    fprintf(out, ",\"time_unit\":\"1 ns on the timeline = 1 modeled cycle\"},\n\"traceEvents\":[");
    while ((rc = trace_next(r, &ev)) == 1) {
        on_event(c, &ev);
        last = ev.cycle;
    }
    if (rc == 0) {
        uint64_t end = r->end.cycles > last ? r->end.cycles : last;
        for (unsigned vm = 0; vm < 256; vm++)
            if (c->vm[vm].used)
                span(c, vm, c->vm[vm].path, c->vm[vm].start, end);
        fprintf(out, "\n]}\n");
    }
    free(c);
    return trace_export_finish(r, rc, out, err, errlen);
}
