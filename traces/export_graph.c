/*
 * export_graph.c - the three graphs of a trace, built with Graphviz's cgraph
 * and rendered with gvc (no hand-written DOT: cgraph quotes and escapes).
 *
 *   blocks  the translated-block control-flow graph (export_blocks.c)
 *   functions  the same, one node per kernel function (export_blocks.c)
 *   rings   the (virtual) CPL state machine: a node per CPL, one edge per
 *           (from, to, cause) labelled with the cause and its count: syscall
 *           (INT n), IRQ, exception, IRET (a return to a less privileged ring)
 *   traps   which guest instructions trapped (or called out) into which
 *           emulation routines, and how often; and which sensitive
 *           instructions ran deprivileged without trapping (the x86 leak)
 *   exits   under --mode hw: which guest instructions caused which VM exits
 *           (export_exits.c)
 *
 * Aggregation happens first, in small hash maps whose size is bounded by
 * distinct blocks/sites/edges (GRAPH_MAX_ITEMS), never by the event count;
 * the cgraph graph is built at the end from the totals, in first-seen order,
 * so the DOT text of a run is deterministic. Every edge carries its count
 * in a `count` attribute too, for scripts and tests.
 */
#include "trace_export.h"

#include <cgraph.h>
#include <gvc.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "export_graph.h"

/* ---- shared graph helpers ---- */

void graph_set(void *obj, const char *attr, const char *val)
{
    agsafeset(obj, (char *)attr, (char *)val, "");
}

void graph_setf(void *obj, const char *attr, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    graph_set(obj, attr, buf);
}

Agnode_t *graph_node(Agraph_t *g, const char *fmt, uint64_t key)
{
    char name[64];
    snprintf(name, sizeof name, fmt, key);
    return agnode(g, name, 1);
}

/* A count as an edge: label, weight, pen width growing with log10. */
Agedge_t *graph_count_edge(Agraph_t *g, Agnode_t *t, Agnode_t *h, uint64_t n, const char *what)
{
    Agedge_t *e = agedge(g, t, h, NULL, 1);
    if (what)
        graph_setf(e, "label", "%s x%" PRIu64, what, n);
    else
        graph_setf(e, "label", "%" PRIu64, n);
    graph_setf(e, "count", "%" PRIu64, n);
    graph_setf(e, "penwidth", "%.1f", 1.0 + log10((double)n));
    return e;
}

void graph_where(const struct trace_reader *r, uint32_t addr, char *buf, size_t len)
{
    uint32_t off;
    const struct trace_sym *s = trace_sym_at(r, addr, &off);
    if (!s)
        snprintf(buf, len, "0x%08x", addr);
    else if (off)
        snprintf(buf, len, "%s+0x%x", s->name, off);
    else
        snprintf(buf, len, "%s", s->name);
}

Agraph_t *graph_open(const struct trace_reader *r, const char *name, const char *what)
{
    Agraph_t *g = agopen((char *)name, Agdirected, NULL);
    const char *base = strrchr(r->meta.kernel, '/');
    graph_setf(g, "label", "%s: %s, --mode %s", base ? base + 1 : r->meta.kernel, what, r->meta.mode);
    graph_set(g, "labelloc", "t");
    agattr(g, AGNODE, "shape", "box");
    agattr(g, AGNODE, "fontname", "Helvetica");
    agattr(g, AGEDGE, "fontname", "Helvetica");
    graph_set(g, "fontname", "Helvetica");
    return g;
}

/* ---- rings ---- */

enum { CAUSE_IRET, CAUSE_SYSCALL, CAUSE_IRQ, CAUSE_EXCEPTION, CAUSE_COUNT };
static const char *const cause_names[CAUSE_COUNT] = { "IRET", "syscall", "IRQ", "exception" };

struct rings_state {
    uint64_t edges[4][4][CAUSE_COUNT];
    bool seen[4];
    int real[4];              /* real CPL the virtual one ran at (-1: unknown) */
    int pending;              /* cause of the vector being delivered, or -1 */
    int first, last;          /* CPL at the start and the end (-1: none seen) */
};

static void rings_event(struct rings_state *s, const struct event *ev)
{
    switch (ev->kind) {
    case EV_SOFTINT:
        s->pending = CAUSE_SYSCALL;
        break;
    case EV_INTERRUPT:
        s->pending = CAUSE_IRQ;
        break;
    case EV_EXCEPTION:
        s->pending = CAUSE_EXCEPTION;
        break;
    case EV_RING: {
        unsigned from = ev->a & 3, to = ev->b & 3;
        int cause = to < from && s->pending >= 0 ? s->pending : CAUSE_IRET;
        s->edges[from][to][cause]++;
        s->seen[from] = s->seen[to] = true;
        s->real[from] = (int)(ev->c & 3);
        s->real[to] = (int)(ev->d & 3);
        if (s->first < 0)
            s->first = (int)from;
        s->last = (int)to;
        s->pending = -1;
        break;
    }
    default:
        break;
    }
}

static Agraph_t *rings_build(const struct trace_reader *r, struct rings_state *s)
{
    Agraph_t *g = graph_open(r, "rings", "ring transitions (virtual CPL)");
    Agnode_t *cpl[4] = { 0 };
    bool vmm = strcmp(r->meta.mode, "native") != 0;
    if (s->first < 0)
        s->first = s->last = 0;   /* no transition: the run stayed at CPL 0 */
    s->seen[s->first] = true;
    for (int c = 0; c < 4; c++) {
        if (!s->seen[c])
            continue;
        cpl[c] = graph_node(g, "cpl%" PRIu64, (uint64_t)c);
        graph_set(cpl[c], "shape", "ellipse");
        if (vmm && s->real[c] >= 0 && s->real[c] != c)
            graph_setf(cpl[c], "label", "CPL %d%s\n(runs at real CPL %d)", c,
                 c == 0 ? " kernel" : c == 3 ? " user" : "", s->real[c]);
        else
            graph_setf(cpl[c], "label", "CPL %d%s", c, c == 0 ? " kernel" : c == 3 ? " user" : "");
    }
    for (int f = 0; f < 4; f++)
        for (int t = 0; t < 4; t++)
            for (int k = 0; k < CAUSE_COUNT; k++)
                if (s->edges[f][t][k])
                    graph_set(graph_count_edge(g, cpl[f], cpl[t], s->edges[f][t][k], cause_names[k]),
                        "cause", cause_names[k]);
    Agnode_t *start = agnode(g, "start", 1), *end = agnode(g, "end", 1);
    graph_set(start, "shape", "point");
    graph_set(end, "shape", "doublecircle");
    graph_setf(end, "label", "%s", trace_end_name(r->end.end));
    graph_set(agedge(g, start, cpl[s->first], NULL, 1), "label", "multiboot entry");
    graph_set(agedge(g, cpl[s->last], end, NULL, 1), "style", "dotted");
    return g;
}

/* ---- traps ---- */

#define WHAT_CALLOUT 0x10000u  /* site->what: a callout of kind (low 16 bits) */
#define WHAT_SILENT  0x20000u  /* a silent sensitive instruction of row (low 16 bits) */

struct site {
    uint32_t eip;
    uint32_t what;            /* trap: row; WHAT_CALLOUT | kind; WHAT_SILENT | row */
    uint32_t routine;         /* index of its routine node */
    uint64_t count;
};

struct traps_state {
    struct gmap sites, routines;
    struct site *s;
    uint32_t *r;              /* a `what` of each routine, first-seen order */
    const struct trace_reader *rd;
};

/* Rows sharing a label ("out" has several forms) share one routine. */
static uint64_t routine_key(const struct traps_state *t, uint32_t what)
{
    char rb[24];
    const char *label = trace_row_label(t->rd, what & 0xffff, rb, sizeof rb);
    return (trace_fnv1a(label, strlen(label)) >> 2) | (uint64_t)(what >> 16) << 62;
}

static void traps_event(struct traps_state *t, const struct event *ev)
{
    uint32_t what, i, j;
    if (ev->kind == EV_TRAP)
        what = ev->a & 0xffff;
    else if (ev->kind == EV_CALLOUT)
        what = WHAT_CALLOUT | (ev->a & 0xffff);
    else if (ev->kind == EV_SENSITIVE)
        what = WHAT_SILENT | (ev->a & 0xffff);
    else
        return;
    if (gmap_slot(&t->sites, (uint64_t)ev->eip << 32 | what, &i, (void **)&t->s, sizeof *t->s) ||
        gmap_slot(&t->routines, routine_key(t, what), &j, (void **)&t->r, sizeof *t->r))
        return;
    t->s[i].eip = ev->eip;
    t->s[i].what = what;
    t->s[i].routine = j;
    t->s[i].count++;
    t->r[j] = what;
}

static const char *routine_name(const struct trace_reader *r, uint32_t what, char *buf, size_t n)
{
    char rb[24];
    const char *label = trace_row_label(r, what & 0xffff, rb, sizeof rb);
    if (what & WHAT_SILENT)
        snprintf(buf, n, "silent: %s\nran deprivileged, no trap", label);
    else
        snprintf(buf, n, "%s: %s", what & WHAT_CALLOUT ? "callout" : "trap, emulate", label);
    return buf;
}

static Agraph_t *traps_build(const struct trace_reader *r, struct traps_state *t, char *err,
                             size_t errlen)
{
    if (t->sites.n == 0) {
        snprintf(err, errlen, "nothing trapped, called out or ran as a silent sensitive "
                 "instruction in this trace (recorded under --mode %s)", r->meta.mode);
        return NULL;
    }
    Agraph_t *g = graph_open(r, "traps", "guest instructions that trapped, called out, or ran "
                             "without trapping (silent sensitive, yellow)");
    char at[96], rn[64], rb[24];
    graph_set(g, "rankdir", "LR");
    for (uint32_t j = 0; j < t->routines.n; j++) {
        Agnode_t *n = graph_node(g, "r%" PRIu64, (uint64_t)j);
        graph_set(n, "label", routine_name(r, t->r[j], rn, sizeof rn));
        graph_set(n, "style", "rounded,filled");
        graph_set(n, "fillcolor", t->r[j] & WHAT_SILENT ? "gold"
                                  : t->r[j] & WHAT_CALLOUT ? "lightblue" : "lightsalmon");
    }
    for (uint32_t i = 0; i < t->sites.n; i++) {
        const struct site *s = &t->s[i];
        Agnode_t *n = graph_node(g, "s%" PRIu64, (uint64_t)i);
        graph_where(r, s->eip, at, sizeof at);
        graph_setf(n, "label", "%s\n0x%08x: %s", at, s->eip,
             trace_row_label(r, s->what & 0xffff, rb, sizeof rb));
        Agedge_t *e = graph_count_edge(g, n, graph_node(g, "r%" PRIu64, (uint64_t)s->routine),
                                       s->count, NULL);
        graph_set(e, "kind", s->what & WHAT_SILENT ? "silent" : s->what & WHAT_CALLOUT
                                                   ? "callout" : "trap");
        if (s->what & WHAT_SILENT)
            graph_set(e, "style", "dotted");
    }
    return g;
}

/* ---- driver ---- */

static int render(Agraph_t *g, const char *format, const char *path, char *err, size_t errlen)
{
    int rc = 0;
    FILE *out = path ? NULL : stdout;
    if (!strcmp(format, "dot")) {
        out = path ? fopen(path, "w") : stdout;
        rc = !out || agwrite(g, out) != 0 || fflush(out) != 0;
        if (out && out != stdout && fclose(out) != 0)
            rc = 1;
    } else {
        GVC_t *gvc = gvContext();
        rc = gvLayout(gvc, g, "dot");
        if (!rc)
            rc = path ? gvRenderFilename(gvc, g, format, path) : gvRender(gvc, g, format, out);
        gvFreeLayout(gvc, g);
        gvFreeContext(gvc);
    }
    if (rc)
        snprintf(err, errlen, "Graphviz could not write %s output to %s", format,
                 path ? path : "standard output");
    return rc ? -1 : 0;
}

int trace_export_graph(struct trace_reader *r, const char *graph, const char *format,
                       const char *out_path, unsigned top, char *err, size_t errlen)
{
    struct blocks_state bs = { 0 };
    struct rings_state rs = { .pending = -1, .first = -1, .last = -1,
                              .real = { -1, -1, -1, -1 } };
    struct traps_state ts = { .rd = r };
    static struct exits_state xs;     /* large: kept off the stack */
    memset(&xs, 0, sizeof xs);
    bool functions = !strcmp(graph, "functions");
    int which = !strcmp(graph, "blocks") || functions ? 0 : !strcmp(graph, "rings") ? 1
              : !strcmp(graph, "exits") ? 3 : 2;
    struct event ev;
    int rc;
    while ((rc = trace_next(r, &ev)) == 1) {
        if (which == 0)
            graph_blocks_event(&bs, &ev);
        else if (which == 1)
            rings_event(&rs, &ev);
        else if (which == 3)
            graph_exits_event(&xs, &ev);
        else
            traps_event(&ts, &ev);
    }
    Agraph_t *g = NULL;
    if (rc < 0)
        snprintf(err, errlen, "%s", r->err);
    else
        g = functions ? graph_functions_build(r, &bs, err, errlen)
            : which == 0 ? graph_blocks_build(r, &bs, top, err, errlen)
            : which == 1 ? rings_build(r, &rs)
            : which == 3 ? graph_exits_build(r, &xs, err, errlen) : traps_build(r, &ts, err, errlen);
    int status = g ? render(g, format, out_path, err, errlen) : -1;
    if (g)
        agclose(g);
    graph_blocks_free(&bs);
    graph_exits_free(&xs);
    gmap_free(&ts.sites, (void **)&ts.s);
    gmap_free(&ts.routines, (void **)&ts.r);
    return status;
}
