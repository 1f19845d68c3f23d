/*
 * export_graph.h - what the graph exporters share (traces/export_graph.c,
 * traces/export_blocks.c): attribute helpers over cgraph, the graph header,
 * and the blocks graph's aggregation, which lives in its own file because
 * clustering by function and picking the hottest blocks made it the largest
 * of the three graphs.
 */
#ifndef RS_EXPORT_GRAPH_H
#define RS_EXPORT_GRAPH_H

#include <cgraph.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gmap.h"
#include "trace.h"

void graph_set(void *obj, const char *attr, const char *val);
void graph_setf(void *obj, const char *attr, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The node named fmt % key in g (created if new). */
Agnode_t *graph_node(Agraph_t *g, const char *fmt, uint64_t key);
/* A count as an edge: label (what xN, or N), count attribute, pen width by log10. */
Agedge_t *graph_count_edge(Agraph_t *g, Agnode_t *t, Agnode_t *h, uint64_t n, const char *what);
/* "symbol+0xoff", "symbol" or "0x%08x" for a guest address. */
void graph_where(const struct trace_reader *r, uint32_t addr, char *buf, size_t len);
/* A directed graph titled "KERNEL: what, --mode M", box nodes, Helvetica. */
Agraph_t *graph_open(const struct trace_reader *r, const char *name, const char *what);

/* ---- blocks (export_blocks.c) ---- */

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

void graph_blocks_event(struct blocks_state *s, const struct event *ev);
/* The graph of the `top` hottest blocks (0: all), clustered by function;
   NULL with err when the trace holds no translated block. */
Agraph_t *graph_blocks_build(const struct trace_reader *r, struct blocks_state *s,
                             unsigned top, char *err, size_t errlen);
/* One node per function, edges between functions; NULL with err if no block. */
Agraph_t *graph_functions_build(const struct trace_reader *r, struct blocks_state *s,
                                char *err, size_t errlen);
void graph_blocks_free(struct blocks_state *s);

/* ---- exits (export_exits.c): VM exits under --mode hw ---- */

struct exit_site;
struct exits_state {
    struct gmap sites;        /* (guest EIP, exit reason) -> struct exit_site */
    struct exit_site *site;
    uint64_t by_reason[64];
    uint64_t injected[256];   /* events injected at VM entry, by vector */
};

void graph_exits_event(struct exits_state *s, const struct event *ev);
/* NULL with err when the trace holds no VM exit. */
Agraph_t *graph_exits_build(const struct trace_reader *r, struct exits_state *s, char *err,
                            size_t errlen);
void graph_exits_free(struct exits_state *s);

#endif
