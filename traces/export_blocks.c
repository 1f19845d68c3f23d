/*
 * export_blocks.c - the blocks graph: the translated-block control-flow graph
 * of a --mode bt trace, sized for a slide.
 *
 * A full run translates a few hundred blocks; drawn as one flat graph they
 * made a 22986x9909 px hairball (rings.elf, 188 blocks). So blocks are drawn
 * inside one box (a Graphviz cluster) per kernel function, named from the
 * trace's symbols, each node labelled by its offset in the function, and
 * only the N hottest blocks (most entries; --top N, default 20, 0 for all)
 * are drawn, with the edges among them. The graph's title says how many of
 * how many blocks it shows. The functions graph is the view from further
 * away: one node per kernel function (its blocks and entries summed), one
 * edge per pair of functions control went between, so a whole run fits a
 * slide. A trace without translated blocks (recorded under trap or native,
 * or without the tc kinds) is an error, not an empty picture.
 *
The words BT emits (sim/vmm/bt): EV_TC_MISS a = guest linear address,
 * then EV_TRANSLATE (a guest bytes, b TC bytes, c guest insns | IDENT << 16,
 * d block id);
 * EV_TC_CHAIN a = source block, b = target block (guest addresses); EV_TC_HIT
 * a = the block the monitor enters. Execution flows from the block entered
 * last to the next one entered: that transfer is a chain edge if the monitor
 * just patched exactly that jump, else a lookup edge (an exit through the
 * VMM: indirect branch, callout, unchained exit). Callouts (EV_CALLOUT at
 * the guest EIP) are attributed to the block whose bytes hold that EIP.
 */
#include "export_graph.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


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

void graph_blocks_event(struct blocks_state *s, const struct event *ev)
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


void graph_blocks_free(struct blocks_state *s)
{
    gmap_free(&s->nodes, (void **)&s->b);
    gmap_free(&s->edges, (void **)&s->f);
    gmap_free(&s->calls, (void **)&s->cs);
}

/* Hottest first; ties by address, so the choice is deterministic. */
static int by_hits(const void *pa, const void *pb)
{
    const struct block *a = *(struct block *const *)pa, *b = *(struct block *const *)pb;
    if (a->hits != b->hits)
        return a->hits < b->hits ? 1 : -1;
    return a->addr < b->addr ? -1 : a->addr > b->addr;
}

static int by_addr(const void *pa, const void *pb)
{
    const struct block *a = *(struct block *const *)pa, *b = *(struct block *const *)pb;
    return a->addr < b->addr ? -1 : a->addr > b->addr;
}

/* The cluster of the function holding addr (one per symbol, made on demand). */
static Agraph_t *function_cluster(const struct trace_reader *r, Agraph_t *g, uint32_t addr,
                                  uint32_t *off)
{
    const struct trace_sym *sym = trace_sym_at(r, addr, off);
    char name[96];
    if (!sym) {
        *off = addr;
        return g;                 /* no symbol: outside any box */
    }
    snprintf(name, sizeof name, "cluster_%08x", sym->addr);
    Agraph_t *c = agsubg(g, name, 0);
    if (c)
        return c;
    c = agsubg(g, name, 1);
    graph_set(c, "label", sym->name);
    graph_set(c, "style", "rounded");
    graph_set(c, "color", "gray30");
    graph_set(c, "fontsize", "16");
    return c;
}

static void block_node(const struct trace_reader *r, Agraph_t *g, const struct block *b)
{
    uint32_t off;
    Agraph_t *c = function_cluster(r, g, b->addr, &off);
    Agnode_t *n = graph_node(c, "b%08" PRIx64, b->addr);
    if (c == g)
        graph_setf(n, "label", "0x%08x\n%u insns, %" PRIu64 " entries", b->addr, b->insns,
                   b->hits);
    else
        graph_setf(n, "label", "+0x%x\n%u insns, %" PRIu64 " entries", off, b->insns, b->hits);
    graph_setf(n, "address", "0x%08x", b->addr);
    graph_setf(n, "hits", "%" PRIu64, b->hits);
    graph_setf(n, "translations", "%" PRIu64, b->translations);
    graph_setf(n, "callouts", "%" PRIu64, b->callouts);
    graph_setf(n, "ident", "%u", b->ident);
    graph_setf(n, "bytes", "%u -> %u", b->guest_bytes, b->tc_bytes);
    graph_set(n, "style", "filled");
    graph_set(n, "fillcolor", b->callouts ? "lightsalmon" : "palegreen");
}

static void no_blocks(const struct trace_reader *r, char *err, size_t errlen)
{
    bool tc = (r->meta.event_mask & (EV_BIT(EV_TRANSLATE) | EV_BIT(EV_TC_HIT))) ==
              (EV_BIT(EV_TRANSLATE) | EV_BIT(EV_TC_HIT));
    if (strcmp(r->meta.mode, "bt") != 0)
        snprintf(err, errlen, "no translated blocks in this trace (recorded under --mode %s; "
                 "the blocks graph needs a --mode bt trace)", r->meta.mode);
    else
        snprintf(err, errlen, "no translated blocks in this trace (recorded under --mode bt%s)",
                 tc ? "" : " without the translate and tc-hit kinds in --trace-events");
}

Agraph_t *graph_blocks_build(const struct trace_reader *r, struct blocks_state *s,
                             unsigned top, char *err, size_t errlen)
{
    uint32_t n = s->nodes.n, shown = top && top < n ? top : n;
    if (n == 0) {
        no_blocks(r, err, errlen);
        return NULL;
    }
    blocks_callouts(s);
    struct block **order = malloc(n * sizeof *order);
    if (!order) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (uint32_t i = 0; i < n; i++)
        order[i] = &s->b[i];
    qsort(order, n, sizeof *order, by_hits);
    qsort(order, shown, sizeof *order, by_addr);     /* the kept ones, in address order */
    char what[160];
    snprintf(what, sizeof what, "%s%u of %u translated blocks%s, by function (solid: chained "
             "jump, dashed: through the VMM; salmon: calls out)", shown < n ? "the " : "",
             shown, n, shown < n ? " with the most entries" : "");
    Agraph_t *g = graph_open(r, "blocks", what);
    graph_set(g, "fontsize", "18");
    graph_set(g, "newrank", "true");    /* dot's old ranking fails on some clustered graphs */
    for (uint32_t i = 0; i < shown; i++)
        block_node(r, g, order[i]);
    free(order);
    for (uint32_t i = 0; i < s->edges.n; i++) {
        const struct flow *f = &s->f[i];
        char a[16], b[16];
        snprintf(a, sizeof a, "b%08x", f->from);
        snprintf(b, sizeof b, "b%08x", f->to);
        Agnode_t *t = agnode(g, a, 0), *h = agnode(g, b, 0);
        if (!t || !h)
            continue;                 /* an end not among the hottest */
        Agedge_t *e = graph_count_edge(g, t, h, f->count, NULL);
        graph_set(e, "style", f->chain ? "solid" : "dashed");
        graph_set(e, "kind", f->chain ? "chain" : "lookup");
    }
    return g;
}

/* ---- functions: the blocks graph one level up ---- */

struct fn_node {
    uint32_t sym;             /* symbol address (0xffffffff: no symbol) */
    uint32_t blocks;
    uint64_t hits, callouts;
};

static uint32_t fn_of(const struct trace_reader *r, uint32_t addr)
{
    const struct trace_sym *sym = trace_sym_at(r, addr, NULL);
    return sym ? sym->addr : 0xffffffffu;
}

Agraph_t *graph_functions_build(const struct trace_reader *r, struct blocks_state *s,
                                char *err, size_t errlen)
{
    struct gmap fm = { 0 }, em = { 0 };
    struct fn_node *fn = NULL;
    struct flow *fe = NULL;
    uint32_t i, k;
    if (s->nodes.n == 0) {
        no_blocks(r, err, errlen);
        return NULL;
    }
    blocks_callouts(s);
    for (i = 0; i < s->nodes.n; i++) {
        uint32_t f = fn_of(r, s->b[i].addr);
        if (gmap_slot(&fm, f, &k, (void **)&fn, sizeof *fn) != 0)
            continue;
        fn[k].sym = f;
        fn[k].blocks++;
        fn[k].hits += s->b[i].hits;
        fn[k].callouts += s->b[i].callouts;
    }
    for (i = 0; i < s->edges.n; i++) {
        uint32_t a = fn_of(r, s->f[i].from), b = fn_of(r, s->f[i].to);
        if (a == b || gmap_slot(&em, (uint64_t)a << 32 | b, &k, (void **)&fe, sizeof *fe))
            continue;                 /* within a function: its node says enough */
        fe[k].from = a, fe[k].to = b;
        fe[k].count += s->f[i].count;
    }
    char what[128];
    snprintf(what, sizeof what, "%u translated blocks in %u functions (edges: transfers "
             "between functions)", s->nodes.n, fm.n);
    Agraph_t *g = graph_open(r, "functions", what);
    for (i = 0; i < fm.n; i++) {
        Agnode_t *n = graph_node(g, "f%08" PRIx64, fn[i].sym);
        const struct trace_sym *sym = trace_sym_at(r, fn[i].sym, NULL);
        graph_setf(n, "label", "%s\n%u blocks, %" PRIu64 " entries",
                   sym ? sym->name : "(no symbol)", fn[i].blocks, fn[i].hits);
        graph_setf(n, "hits", "%" PRIu64, fn[i].hits);
        graph_setf(n, "blocks", "%u", fn[i].blocks);
        graph_set(n, "style", "filled");
        graph_set(n, "fillcolor", fn[i].callouts ? "lightsalmon" : "palegreen");
    }
    for (i = 0; i < em.n; i++)
        graph_count_edge(g, graph_node(g, "f%08" PRIx64, fe[i].from),
                         graph_node(g, "f%08" PRIx64, fe[i].to), fe[i].count, NULL);
    gmap_free(&fm, (void **)&fn);
    gmap_free(&em, (void **)&fe);
    return g;
}
