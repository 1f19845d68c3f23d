/*
 * trace_export.h - reading a trace back: counts, text, CSV, Chrome JSON, graphs.
 *
 * Every exporter takes an open, already validated reader (trace_scan walked
 * it once: a corrupt file is rejected before a byte of output is written),
 * rewinds it, and streams the records; only the graphs keep state, bounded by
 * the number of distinct blocks, trap sites or ring edges, never by the
 * number of events. Formats and graphs are described in docs/traces.md.
 * Each returns 0, or -1 with a one-line err.
 */
#ifndef RS_TRACE_EXPORT_H
#define RS_TRACE_EXPORT_H

#include <stdio.h>
#include "trace.h"

struct trace_counts {
    uint64_t records;
    uint64_t by_kind[32];
    uint64_t first_cycle, last_cycle;
};

/* Read every record (checking checksums and the trailer). */
int trace_scan(struct trace_reader *r, struct trace_counts *c, char *err, size_t errlen);

/* One readable line for an event (no newline), e.g.
   "     1234  trap          emulated  0x00100a3c  cli (#GP)". */
void trace_format_event(const struct trace_reader *r, uint64_t index, const struct event *ev,
                        char *buf, size_t len);
/* Name of opcode-table row `row` as the trace's writer meant it ("cli"), or
   "row N" when this ringside's opcode table differs from the writer's. */
const char *trace_row_label(const struct trace_reader *r, uint32_t row, char *buf, size_t len);
/* "a machine_end" word: guest_exit, triple_fault, ... */
const char *trace_end_name(uint32_t end);

/* The end of an export: rc < 0 is the reader's error; else report a failed
   write to `out`. Returns 0 or -1 with err set. */
int trace_export_finish(struct trace_reader *r, int rc, FILE *out, char *err, size_t errlen);

/* `trace info`: header, symbols, counts by kind, the trailer. */
void trace_print_info(FILE *out, const struct trace_reader *r, const struct trace_counts *c);
/* `trace dump`: one line per event of the kinds in mask, at most limit (0: all). */
int trace_dump(struct trace_reader *r, FILE *out, uint32_t mask, uint64_t limit,
               char *err, size_t errlen);
/* One CSV row per event of the kinds in mask, with a header row; for a
   single kind the argument columns are named (port,size,write,value...). */
int trace_export_csv(struct trace_reader *r, FILE *out, uint32_t mask, char *err,
                     size_t errlen);
/* Chrome trace-event JSON (Perfetto): tracks per path, instants, counters. */
int trace_export_chrome(struct trace_reader *r, FILE *out, char *err, size_t errlen);

/* Graphs: "blocks", "rings" or "traps"; format "dot", "svg", "png" or "pdf";
   out_path NULL writes DOT/SVG to stdout. top: the blocks graph draws only
   the `top` blocks entered most (0: all). A graph with nothing to draw (no
   translated block, nothing that trapped) is an error. */
int trace_export_graph(struct trace_reader *r, const char *graph, const char *format,
                       const char *out_path, unsigned top, char *err, size_t errlen);

#endif
