/*
 * export_exits.c - the exits graph of a trace recorded under --mode hw:
 * which guest instructions caused which VM exits, and how often.
 *
 * One node per exit reason (coloured: instruction exits the VMM emulates,
 * paging exits - #PF under shadow paging, EPT violations under --npt - and
 * exits with nothing to emulate), one node per guest site (EIP, with its
 * symbol), an edge site -> reason labelled with its count; the events
 * injected at VM entry hang from an "inject" node by vector. Aggregation is
 * bounded by distinct sites (gmap), never by the number of exits, and the
 * nodes come out in first-seen order, so the DOT text of a run is
 * deterministic.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "export_graph.h"
#include "cpu/vmx.h"

struct exit_site {
    uint32_t eip;
    uint32_t reason;
    uint64_t count;
};

static uint32_t reason_of(const struct event *ev)
{
    return ev->a & 63u;
}

void graph_exits_event(struct exits_state *s, const struct event *ev)
{
    uint32_t i;
    if (ev->kind == EV_INJECT) {
        s->injected[ev->a & 255u]++;
        return;
    }
    if (ev->kind != EV_VMEXIT)
        return;
    uint32_t r = reason_of(ev);
    s->by_reason[r]++;
    if (gmap_slot(&s->sites, (uint64_t)ev->eip << 8 | r, &i, (void **)&s->site,
                  sizeof *s->site) == 0) {
        struct exit_site *x = s->site;
        x[i].eip = ev->eip;
        x[i].reason = r;
        x[i].count++;
    }
}

static const char *reason_colour(uint32_t r)
{
    switch (r) {
    case VMX_EXIT_EXCEPTION: case VMX_EXIT_EPT_VIOLATION:
        return "lightblue";                     /* memory virtualization */
    case VMX_EXIT_INTR_WINDOW: case VMX_EXIT_PREEMPT: case VMX_EXIT_EXT_INTR:
        return "grey85";                        /* nothing to emulate */
    default:
        return "lightsalmon";                   /* an instruction the VMM emulates */
    }
}

static void exits_reasons(Agraph_t *g, const struct exits_state *s)
{
    for (uint32_t r = 0; r < 64; r++) {
        if (!s->by_reason[r])
            continue;
        Agnode_t *n = graph_node(g, "reason%" PRIu64, r);
        const char *name = vmx_exit_name(r);
        graph_setf(n, "label", "exit %u: %s\n%" PRIu64 " exits", r, name ? name : "?",
                   s->by_reason[r]);
        graph_set(n, "style", "rounded,filled");
        graph_set(n, "fillcolor", reason_colour(r));
    }
}

static void exits_injections(Agraph_t *g, const struct exits_state *s)
{
    Agnode_t *inj = NULL;
    for (uint32_t v = 0; v < 256; v++) {
        if (!s->injected[v])
            continue;
        if (!inj) {
            inj = agnode(g, "inject", 1);
            graph_set(inj, "label", "VM entry:\nevent injection");
            graph_set(inj, "shape", "ellipse");
        }
        Agnode_t *n = graph_node(g, "vector%" PRIu64, v);
        graph_setf(n, "label", "vector %u", v);
        graph_set(graph_count_edge(g, inj, n, s->injected[v], NULL), "kind", "inject");
    }
}

Agraph_t *graph_exits_build(const struct trace_reader *r, struct exits_state *s, char *err,
                            size_t errlen)
{
    if (s->sites.n == 0) {
        snprintf(err, errlen, "no VM exit in this trace (recorded under --mode %s; exits "
                 "happen under --mode hw)", r->meta.mode);
        return NULL;
    }
    Agraph_t *g = graph_open(r, "exits", "VM exits by guest instruction and exit reason");
    graph_set(g, "rankdir", "LR");
    exits_reasons(g, s);
    char at[96];
    const struct exit_site *x = s->site;
    for (uint32_t i = 0; i < s->sites.n; i++) {
        Agnode_t *n = graph_node(g, "site%" PRIu64, i);
        graph_where(r, x[i].eip, at, sizeof at);
        graph_setf(n, "label", "%s\n0x%08x", at, x[i].eip);
        Agedge_t *e = graph_count_edge(g, n, graph_node(g, "reason%" PRIu64, x[i].reason),
                                       x[i].count, NULL);
        graph_set(e, "kind", "exit");
    }
    exits_injections(g, s);
    return g;
}

void graph_exits_free(struct exits_state *s)
{
    gmap_free(&s->sites, (void **)&s->site);
}
