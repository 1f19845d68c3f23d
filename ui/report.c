/*
 * report.c - the end-of-run summary (-v) and statistics JSON (--stats-json).
 *
 * The JSON schema is shared by every engine (docs/stats.md): fields that
 * belong to engines not run here (traps, translation cache...) are present
 * with zero values, so scripts and lab checkers can read any run the same way.
 */
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

static const char *const exc_names[32] = {
    [0] = "#DE", [1] = "#DB", [2] = "NMI", [3] = "#BP", [4] = "#OF", [5] = "#BR",
    [6] = "#UD", [7] = "#NM", [8] = "#DF", [10] = "#TS", [11] = "#NP", [12] = "#SS",
    [13] = "#GP", [14] = "#PF", [16] = "#MF", [17] = "#AC", [18] = "#MC",
};

const char *report_end_name(enum machine_end e)
{
    switch (e) {
    case END_GUEST_EXIT:   return "guest_exit";
    case END_TRIPLE_FAULT: return "triple_fault";
    case END_HALTED:       return "halted";
    case END_BUDGET:       return "budget";
    case END_UNSUPPORTED:  return "unsupported";
    default:               return "running";
    }
}

static void summary_vectors(FILE *f, const char *title, const uint64_t *counts, int n,
                            bool names)
{
    bool any = false;
    for (int v = 0; v < n; v++) {
        if (!counts[v])
            continue;
        fprintf(f, "%s%s %d%s%s%s: %" PRIu64, any ? ", " : "  ", any ? "" : title, v,
                names && exc_names[v] ? " (" : "", names && exc_names[v] ? exc_names[v] : "",
                names && exc_names[v] ? ")" : "", counts[v]);
        any = true;
    }
    if (any)
        fputc('\n', f);
}

void report_summary(FILE *f, const struct machine *m, const struct run_options *o)
{
    const struct cpu *c = &m->cpu;
    fprintf(f, "ringside: %s, mode %s: %s\n", o->kernel, o->mode, m->end_msg);
    fprintf(f, "  guest instructions: %" PRIu64 ", modeled cycles: %" PRIu64 "\n",
            c->insns, c->cycles);
    summary_vectors(f, "exceptions: vector", m->stats.exceptions, 32, true);
    summary_vectors(f, "interrupts: vector", m->stats.interrupts, 256, false);
    summary_vectors(f, "software interrupts: vector", m->stats.soft_ints, 256, false);
    fprintf(f, "  port I/O: %" PRIu64 " reads, %" PRIu64 " writes (%" PRIu64
            " to unmapped ports)\n", m->stats.io_reads, m->stats.io_writes,
            m->stats.io_unmapped);
}

/* {"13": 2, "14": 7} for the non-zero entries of a by-vector array. */
static void json_by_vector(FILE *f, const uint64_t *counts, int n)
{
    bool first = true;
    fputc('{', f);
    for (int v = 0; v < n; v++) {
        if (!counts[v])
            continue;
        fprintf(f, "%s\"%d\": %" PRIu64, first ? "" : ", ", v, counts[v]);
        first = false;
    }
    fputc('}', f);
}

static uint64_t json_ring_edges(FILE *f, const struct machine *m)
{
    uint64_t total = 0;
    bool first = true;
    fputs("\"by_edge\": {", f);
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 4; b++) {
            uint64_t n = m->stats.ring_edges[a][b];
            if (!n)
                continue;
            fprintf(f, "%s\"%d->%d\": %" PRIu64, first ? "" : ", ", a, b, n);
            first = false;
            total += n;
        }
    fputc('}', f);
    return total;
}

/* A JSON string literal: quotes and backslashes escaped, controls as \u00XX. */
static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static void json_body(FILE *f, const struct machine *m, const struct run_options *o,
                      int status)
{
    const struct cpu *c = &m->cpu;
    fputs("{\n  \"ringside_version\": \"0.1\",\n  \"kernel\": ", f);
    json_string(f, o->kernel);
    fprintf(f, ",\n  \"mode\": \"%s\",\n  \"end\": \"%s\",\n  \"exit_status\": %d,\n",
            o->mode, report_end_name(m->end), status);
    fprintf(f, "  \"guest_insns\": %" PRIu64 ",\n", c->insns);
    fprintf(f, "  \"insns_by_path\": {\"native\": %" PRIu64
            ", \"direct\": 0, \"translated\": 0, \"emulated\": 0},\n", c->insns);
    fputs("  \"traps\": {\"total\": 0, \"by_cause\": {}},\n"
          "  \"silent_sensitive\": {\"total\": 0, \"by_insn\": {}},\n"
          "  \"reflected\": {\"total\": 0, \"by_vector\": {}},\n"
          "  \"world_switches\": 0,\n  \"ring_transitions\": {", f);
    uint64_t total = json_ring_edges(f, m);
    fprintf(f, ", \"total\": %" PRIu64 "},\n", total);
    fputs("  \"callouts\": {\"total\": 0, \"by_kind\": {}},\n"
          "  \"tc\": {\"translations\": 0, \"guest_bytes\": 0, \"tc_bytes\": 0, \"hits\": 0,"
          " \"misses\": 0, \"chains\": 0, \"invalidations\": 0, \"flushes\": 0},\n", f);
    fprintf(f, "  \"cycles\": {\"native_equiv\": %" PRIu64 ", \"total\": %" PRIu64 "},\n",
            c->cycles, c->cycles);
    fputs("  \"overhead_pct\": 0.0,\n  \"exceptions\": {\"by_vector\": ", f);
    json_by_vector(f, m->stats.exceptions, 32);
    fputs("},\n  \"interrupts\": {\"by_vector\": ", f);
    json_by_vector(f, m->stats.interrupts, 256);
    fputs("},\n  \"soft_interrupts\": {\"by_vector\": ", f);
    json_by_vector(f, m->stats.soft_ints, 256);
    fprintf(f, "},\n  \"io\": {\"reads\": %" PRIu64 ", \"writes\": %" PRIu64
            ", \"unmapped\": %" PRIu64 "}\n}\n", m->stats.io_reads, m->stats.io_writes,
            m->stats.io_unmapped);
}

int report_stats_json(const char *path, const struct machine *m,
                      const struct run_options *o, int exit_status)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "ringside: --stats-json %s: cannot write: %s\n", path, strerror(errno));
        return -1;
    }
    json_body(f, m, o, exit_status);
    if (fclose(f) != 0) {
        fprintf(stderr, "ringside: --stats-json %s: write failed\n", path);
        return -1;
    }
    return 0;
}
