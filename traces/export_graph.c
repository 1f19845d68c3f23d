/*
 * export_graph.c - the three graphs of a trace, built with Graphviz's cgraph
 * and rendered with gvc (no hand-written DOT: cgraph quotes and escapes).
 *
 *   blocks  the translated-block control-flow graph: a node per TC block
 *           (guest address, symbol, guest instructions, hits, translations),
 *           solid edges for chained jumps, dashed edges for transfers that
 *           went through the TC lookup; width grows with the count
 *   rings   the (virtual) CPL state machine: a node per CPL, one edge per
 *           (from, to, cause) labelled with the cause and its count: syscall
 *           (INT n), IRQ, exception, IRET (a return to a less privileged ring)
 *   traps   which guest instructions trapped (or called out) into which
 *           emulation routines, and how often
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

#include "gmap.h"

/* ---- blocks ----
 *
 * The words BT emits (sim/vmm/bt): EV_TC_MISS a = guest linear address,
 * then EV_TRANSLATE (a guest bytes, b TC bytes, c guest insns | IDENT << 16,
 * d block id);
 * EV_TC_CHAIN a = source block, b = target block (guest addresses); EV_TC_HIT
 * a = the block the monitor enters. Execution flows from the block entered
 * last to the next one entered: that transfer is a chain edge if the monitor
 * just patched exactly that jump, else a lookup edge (an exit through the
 * VMM: indirect branch, callout, unchained exit). Callouts (EV_CALLOUT at
 * the guest EIP) are attributed to the block whose bytes hold that EIP.
 */

struct block {
    uint32_t addr;            /* guest linear address */
    uint32_t guest_bytes, tc_bytes, insns; /* of its last translation */
    uint32_t ident;           /* of those insns, copied unchanged (IDENT) */
    uint64_t hits, translations, callouts;
};

struct flow {                 /* an edge: from -> to, chain or lookup */
    uint32_t from, to;
    bool chain;
    uint64_t count;
};

struct callsite {             /* a guest EIP that called out */
    uint32_t eip;
    uint64_t count;
};

struct blocks_state {
    struct gmap nodes, edges, calls;
    struct block *b;
    struct flow *f;
    struct callsite *cs;
    uint32_t prev;            /* block entered last */
    bool have_prev;
    uint32_t chained_to;      /* target of a chain patched in this visit */
    bool have_chain;
    uint32_t miss;            /* address of the last TC miss */
};

static struct block *block_get(struct blocks_state *s, uint32_t addr)
{
    uint32_t i;
    if (gmap_slot(&s->nodes, addr, &i, (void **)&s->b, sizeof *s->b) != 0)
        return NULL;
    s->b[i].addr = addr;
    return &s->b[i];
}

static void flow_add(struct blocks_state *s, uint32_t from, uint32_t to, bool chain)
{
    uint32_t i;
    uint64_t key = (uint64_t)from << 32 | to;
    if (gmap_slot(&s->edges, key ^ (chain ? 1ull << 63 : 0), &i, (void **)&s->f, sizeof *s->f))
        return;
    s->f[i].from = from;
    s->f[i].to = to;
    s->f[i].chain = chain;
    s->f[i].count++;
}

/* The monitor enters block `addr` (a TC hit): the flow from the last one. */
static void block_enter(struct blocks_state *s, uint32_t addr)
{
    struct block *b = block_get(s, addr);
    if (!b)
        return;
    b->hits++;
    if (s->have_prev && !(s->have_chain && s->chained_to == addr))
        flow_add(s, s->prev, addr, false);
    s->prev = addr;
    s->have_prev = true;
    s->have_chain = false;
}

static void block_translated(struct blocks_state *s, const struct event *ev)
{
    struct block *b = block_get(s, s->miss ? s->miss : ev->eip);
    s->miss = 0;
    if (!b)
        return;
    b->guest_bytes = ev->a;
    b->tc_bytes = ev->b;
    b->insns = EV_XLAT_INSNS(ev->c);
    b->ident = EV_XLAT_IDENT(ev->c);
    b->translations++;
}

static void block_callout(struct blocks_state *s, uint32_t eip)
{
    uint32_t i;
    if (gmap_slot(&s->calls, eip, &i, (void **)&s->cs, sizeof *s->cs) == 0) {
        s->cs[i].eip = eip;
        s->cs[i].count++;
    }
}

static void blocks_event(struct blocks_state *s, const struct event *ev)
{
    switch (ev->kind) {
    case EV_TC_MISS:
        s->miss = ev->a;
        break;
    case EV_TRANSLATE:
        block_translated(s, ev);
        break;
    case EV_TC_HIT:
        block_enter(s, ev->a);
        break;
    case EV_TC_CHAIN:
        if (block_get(s, ev->a) && block_get(s, ev->b))
            flow_add(s, ev->a, ev->b, true);
        s->chained_to = ev->b;
        s->have_chain = true;
        break;
    case EV_CALLOUT:
        block_callout(s, ev->eip);
        break;
    case EV_RING:
    case EV_TC_FLUSH:
        s->have_prev = s->have_chain = false;   /* left the TC */
        break;
    default:
        break;
    }
}

/* Attribute callout sites to the blocks holding them (bounded work). */
static void blocks_callouts(struct blocks_state *s)
{
    if ((uint64_t)s->nodes.n * s->calls.n > 50000000u)
        return;
    for (uint32_t i = 0; i < s->nodes.n; i++) {
        struct block *b = &s->b[i];
        for (uint32_t k = 0; k < s->calls.n; k++)
            if (s->cs[k].eip - b->addr < b->guest_bytes)
                b->callouts += s->cs[k].count;
    }
}

/* ---- shared graph helpers ---- */

static void set(void *obj, const char *attr, const char *val)
{
    agsafeset(obj, (char *)attr, (char *)val, "");
}

static void setf(void *obj, const char *attr, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void setf(void *obj, const char *attr, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    set(obj, attr, buf);
}

static Agnode_t *node(Agraph_t *g, const char *fmt, uint64_t key)
{
    char name[64];
    snprintf(name, sizeof name, fmt, key);
    return agnode(g, name, 1);
}

/* A count as an edge: label, weight, pen width growing with log10. */
static Agedge_t *count_edge(Agraph_t *g, Agnode_t *t, Agnode_t *h, uint64_t n, const char *what)
{
    Agedge_t *e = agedge(g, t, h, NULL, 1);
    if (what)
        setf(e, "label", "%s x%" PRIu64, what, n);
    else
        setf(e, "label", "%" PRIu64, n);
    setf(e, "count", "%" PRIu64, n);
    setf(e, "penwidth", "%.1f", 1.0 + log10((double)n));
    return e;
}

static void where(const struct trace_reader *r, uint32_t addr, char *buf, size_t len)
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

static Agraph_t *graph_open(const struct trace_reader *r, const char *name, const char *what)
{
    Agraph_t *g = agopen((char *)name, Agdirected, NULL);
    const char *base = strrchr(r->meta.kernel, '/');
    setf(g, "label", "%s: %s, --mode %s", base ? base + 1 : r->meta.kernel, what, r->meta.mode);
    set(g, "labelloc", "t");
    agattr(g, AGNODE, "shape", "box");
    agattr(g, AGNODE, "fontname", "Helvetica");
    agattr(g, AGEDGE, "fontname", "Helvetica");
    set(g, "fontname", "Helvetica");
    return g;
}

static Agraph_t *blocks_build(const struct trace_reader *r, struct blocks_state *s)
{
    Agraph_t *g = graph_open(r, "blocks", "translated blocks (solid: chained jump, "
                             "dashed: through the VMM)");
    char at[96];
    blocks_callouts(s);
    for (uint32_t i = 0; i < s->nodes.n; i++) {
        const struct block *b = &s->b[i];
        Agnode_t *n = node(g, "b%08" PRIx64, b->addr);
        where(r, b->addr, at, sizeof at);
        setf(n, "label", "%s\n0x%08x: %u insns (%u IDENT), %u -> %u bytes\n%" PRIu64
             " entries, %" PRIu64 " translation%s%s", at, b->addr, b->insns, b->ident,
             b->guest_bytes, b->tc_bytes,
             b->hits, b->translations, b->translations == 1 ? "" : "s",
             b->callouts ? ", calls out" : ", all IDENT/in-TC");
        setf(n, "hits", "%" PRIu64, b->hits);
        setf(n, "translations", "%" PRIu64, b->translations);
        setf(n, "callouts", "%" PRIu64, b->callouts);
        setf(n, "ident", "%u", b->ident);
        set(n, "style", "filled");
        set(n, "fillcolor", b->callouts ? "lightsalmon" : "palegreen");
    }
    for (uint32_t i = 0; i < s->edges.n; i++) {
        const struct flow *f = &s->f[i];
        Agedge_t *e = count_edge(g, node(g, "b%08" PRIx64, f->from),
                                 node(g, "b%08" PRIx64, f->to), f->count, NULL);
        set(e, "style", f->chain ? "solid" : "dashed");
        set(e, "kind", f->chain ? "chain" : "lookup");
    }
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
        cpl[c] = node(g, "cpl%" PRIu64, (uint64_t)c);
        set(cpl[c], "shape", "ellipse");
        if (vmm && s->real[c] >= 0 && s->real[c] != c)
            setf(cpl[c], "label", "CPL %d%s\n(runs at real CPL %d)", c,
                 c == 0 ? " kernel" : c == 3 ? " user" : "", s->real[c]);
        else
            setf(cpl[c], "label", "CPL %d%s", c, c == 0 ? " kernel" : c == 3 ? " user" : "");
    }
    for (int f = 0; f < 4; f++)
        for (int t = 0; t < 4; t++)
            for (int k = 0; k < CAUSE_COUNT; k++)
                if (s->edges[f][t][k])
                    set(count_edge(g, cpl[f], cpl[t], s->edges[f][t][k], cause_names[k]),
                        "cause", cause_names[k]);
    Agnode_t *start = agnode(g, "start", 1), *end = agnode(g, "end", 1);
    set(start, "shape", "point");
    set(end, "shape", "doublecircle");
    setf(end, "label", "%s", trace_end_name(r->end.end));
    set(agedge(g, start, cpl[s->first], NULL, 1), "label", "multiboot entry");
    set(agedge(g, cpl[s->last], end, NULL, 1), "style", "dotted");
    return g;
}

/* ---- traps ---- */

struct site {
    uint32_t eip;
    uint32_t what;            /* trap: row; callout: 0x10000 | kind */
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
    return (trace_fnv1a(label, strlen(label)) >> 1) | (what & 0x10000 ? 1ull << 63 : 0);
}

static void traps_event(struct traps_state *t, const struct event *ev)
{
    uint32_t what, i, j;
    if (ev->kind == EV_TRAP)
        what = ev->a & 0xffff;
    else if (ev->kind == EV_CALLOUT)
        what = 0x10000 | (ev->a & 0xffff);
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
    snprintf(buf, n, "%s: %s", what & 0x10000 ? "callout" : "trap, emulate",
             trace_row_label(r, what & 0xffff, rb, sizeof rb));
    return buf;
}

static Agraph_t *traps_build(const struct trace_reader *r, struct traps_state *t)
{
    Agraph_t *g = graph_open(r, "traps", "guest instructions that trapped or called out");
    char at[96], rn[64], rb[24];
    set(g, "rankdir", "LR");
    for (uint32_t j = 0; j < t->routines.n; j++) {
        Agnode_t *n = node(g, "r%" PRIu64, (uint64_t)j);
        set(n, "label", routine_name(r, t->r[j], rn, sizeof rn));
        set(n, "style", "rounded,filled");
        set(n, "fillcolor", t->r[j] & 0x10000 ? "lightblue" : "lightsalmon");
    }
    for (uint32_t i = 0; i < t->sites.n; i++) {
        const struct site *s = &t->s[i];
        Agnode_t *n = node(g, "s%" PRIu64, (uint64_t)i);
        where(r, s->eip, at, sizeof at);
        setf(n, "label", "%s\n0x%08x: %s", at, s->eip,
             trace_row_label(r, s->what & 0xffff, rb, sizeof rb));
        count_edge(g, n, node(g, "r%" PRIu64, (uint64_t)s->routine), s->count, NULL);
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
                       const char *out_path, char *err, size_t errlen)
{
    struct blocks_state bs = { 0 };
    struct rings_state rs = { .pending = -1, .first = -1, .last = -1,
                              .real = { -1, -1, -1, -1 } };
    struct traps_state ts = { .rd = r };
    int which = !strcmp(graph, "blocks") ? 0 : !strcmp(graph, "rings") ? 1 : 2;
    struct event ev;
    int rc;
    while ((rc = trace_next(r, &ev)) == 1) {
        if (which == 0)
            blocks_event(&bs, &ev);
        else if (which == 1)
            rings_event(&rs, &ev);
        else
            traps_event(&ts, &ev);
    }
    Agraph_t *g = NULL;
    if (rc < 0)
        snprintf(err, errlen, "%s", r->err);
    else
        g = which == 0 ? blocks_build(r, &bs) : which == 1 ? rings_build(r, &rs)
                                                           : traps_build(r, &ts);
    int status = g ? render(g, format, out_path, err, errlen) : -1;
    if (g)
        agclose(g);
    gmap_free(&bs.nodes, (void **)&bs.b);
    gmap_free(&bs.edges, (void **)&bs.f);
    gmap_free(&bs.calls, (void **)&bs.cs);
    gmap_free(&ts.sites, (void **)&ts.s);
    gmap_free(&ts.routines, (void **)&ts.r);
    return status;
}
