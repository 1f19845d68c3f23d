/*
 * export_text.c - traces for people and spreadsheets: info, dump, CSV.
 *
 * trace_scan is the validation pass every command starts with: it walks the
 * whole file (checksums, record kinds, trailer counts) so that a corrupt
 * trace is rejected before anything is printed. The readable line of an
 * event (trace_format_event) is shared by `trace dump` and the graph labels,
 * so every tool names a kind, a trap cause or a vector the same way.
 */
#include "trace_export.h"

#include <inttypes.h>
#include <string.h>

#include "cpu/optable.h"
#include "vmm/vmm.h"

static const char *const exc_names[32] = {
    [0] = "#DE", [1] = "#DB", [2] = "NMI", [3] = "#BP", [4] = "#OF", [5] = "#BR",
    [6] = "#UD", [7] = "#NM", [8] = "#DF", [10] = "#TS", [11] = "#NP", [12] = "#SS",
    [13] = "#GP", [14] = "#PF", [16] = "#MF", [17] = "#AC", [18] = "#MC",
};

int trace_scan(struct trace_reader *r, struct trace_counts *c, char *err, size_t errlen)
{
    struct event ev;
    int rc;
    memset(c, 0, sizeof *c);
    if (trace_rewind(r) != 0)
        goto bad;
    while ((rc = trace_next(r, &ev)) == 1) {
        if (!c->records)
            c->first_cycle = ev.cycle;
        c->last_cycle = ev.cycle;
        c->by_kind[ev.kind & 31]++;
        c->records++;
    }
    if (rc == 0)
        return trace_rewind(r) == 0 ? 0 : (snprintf(err, errlen, "%s", r->err), -1);
bad:
    snprintf(err, errlen, "%s", r->err);
    return -1;
}

const char *trace_row_label(const struct trace_reader *r, uint32_t row, char *buf, size_t len)
{
    if (row < op_table_len && r->meta.optable_hash == trace_optable_hash())
        return vmm_row_label(&op_table[row]);
    snprintf(buf, len, "row %u", row);
    return buf;
}

const char *trace_end_name(uint32_t end)
{
    static const char *const names[] = { "recording stopped", "guest_exit", "triple_fault",
                                         "halted", "budget", "unsupported" };
    return end < sizeof names / sizeof *names ? names[end] : "unknown";
}

static const char *exc_name(uint32_t v)
{
    return v < 32 && exc_names[v] ? exc_names[v] : "";
}

static void detail_vmm(const struct trace_reader *r, const struct event *ev, char *d, size_t n)
{
    char rb[24];
    static const char *const rk[] = { "exception", "interrupt", "int n" };
    static const char *const hows[] = { "ident", "in-TC", "branch", "emulate", "bt-emulate",
                                        "step", "adapted store" };
    switch (ev->kind) {
    case EV_TRAP:
        snprintf(d, n, "%s (vector %u)", trace_row_label(r, ev->a, rb, sizeof rb), ev->b);
        break;
    case EV_SENSITIVE:
        snprintf(d, n, "%s", trace_row_label(r, ev->a, rb, sizeof rb));
        break;
    case EV_WORLD_SWITCH:
        if (ev->a)
            snprintf(d, n, "into the VMM");
        else
            snprintf(d, n, "back to the guest, overhead %d cycles", (int32_t)ev->c);
        break;
    case EV_REFLECT:
        snprintf(d, n, "vector %u %s (%s)", ev->a, exc_name(ev->a), ev->b < 3 ? rk[ev->b] : "?");
        break;
    case EV_TRANSLATE:
        snprintf(d, n, "%u guest bytes, %u insns (%u IDENT) -> %u TC bytes", ev->a,
                 EV_XLAT_INSNS(ev->c), EV_XLAT_IDENT(ev->c), ev->b);
        break;
    case EV_CALLOUT:
        snprintf(d, n, "%s (%s)", trace_row_label(r, ev->a, rb, sizeof rb),
                 ev->b < sizeof hows / sizeof *hows ? hows[ev->b] : "?");
        break;
    case EV_TC_HIT:
        snprintf(d, n, "enter block 0x%08x (id %u)", ev->a, ev->b);
        break;
    case EV_TC_MISS:
        snprintf(d, n, "no block for 0x%08x", ev->a);
        break;
    case EV_TC_CHAIN:
        snprintf(d, n, "block 0x%08x -> 0x%08x (ids %u -> %u)", ev->a, ev->b, ev->c, ev->d);
        break;
    case EV_TC_INVALIDATE:
        snprintf(d, n, "%u blocks dropped (guest page 0x%x written)", ev->a, ev->b);
        break;
    default:
        snprintf(d, n, "a=%u b=%u c=%u d=%u", ev->a, ev->b, ev->c, ev->d);
        break;
    }
}

static void detail(const struct trace_reader *r, const struct event *ev, char *d, size_t n)
{
    switch (ev->kind) {
    case EV_INSNS:
        snprintf(d, n, "%u instruction%s%s", ev->a, ev->a == 1 ? "" : "s",
                 ev->d == 1 ? " (step)" : "");
        break;
    case EV_EXCEPTION:
        snprintf(d, n, "vector %u %s error 0x%x", ev->a, exc_name(ev->a), ev->b);
        break;
    case EV_INTERRUPT:
    case EV_SOFTINT:
        snprintf(d, n, "vector %u", ev->a);
        break;
    case EV_RING:
        snprintf(d, n, "CPL %u -> %u (real %u -> %u)", ev->a, ev->b, ev->c, ev->d);
        break;
    case EV_IO:
    case EV_IO_UNMAPPED:
        snprintf(d, n, "%s port 0x%x size %u value 0x%x", ev->c ? "out" : "in", ev->a, ev->b,
                 ev->d);
        break;
    case EV_HALT:
        d[0] = 0;
        break;
    case EV_END:
        snprintf(d, n, "%s, exit status %u", trace_end_name(ev->a), ev->b);
        break;
    default:
        detail_vmm(r, ev, d, n);
        break;
    }
}

void trace_format_event(const struct trace_reader *r, uint64_t index, const struct event *ev,
                        char *buf, size_t len)
{
    char d[160];
    detail(r, ev, d, sizeof d);
    snprintf(buf, len, "%8" PRIu64 " %12" PRIu64 "  %-13s %-10s 0x%08x  %s", index, ev->cycle,
             event_kind_name((enum ev_kind)ev->kind), event_path_name((enum ev_path)ev->path),
             ev->eip, d);
}

void trace_print_info(FILE *out, const struct trace_reader *r, const struct trace_counts *c)
{
    const struct trace_meta *m = &r->meta;
    fprintf(out, "format:     ringside trace version %u, written by ringside %s\n", m->version,
            m->ringside);
    fprintf(out, "kernel:     %s (fnv1a-64 %016" PRIx64 "), %u symbols\n", m->kernel,
            m->kernel_hash, r->nsyms);
    fprintf(out, "mode:       %s\ncosts:      %s\noptions:    %s\n", m->mode, m->costs,
            m->options[0] ? m->options : "(none)");
    fprintf(out, "recorded:   ");
    if ((m->event_mask & EV_ALL) == EV_ALL)
        fprintf(out, "all kinds");
    for (int k = 0; k < EV_KIND_COUNT && (m->event_mask & EV_ALL) != EV_ALL; k++)
        if (m->event_mask & EV_BIT(k))
            fprintf(out, "%s ", event_kind_name((enum ev_kind)k));
    fprintf(out, "%s\n", m->flags & TRACE_FLAG_PER_INSN ? ", one record per instruction" : "");
    /* the trailer counts what the hardware CPU retired (under bt: translated
       code included), which `run -v` prints as "hardware instructions" */
    fprintf(out, "end:        %s, exit status %u, %" PRIu64 " modeled cycles\n",
            trace_end_name(r->end.end), r->end.exit_code, r->end.cycles);
    fprintf(out, "retired:    %" PRIu64 " hardware instructions%s\n", r->end.insns,
            strcmp(m->mode, "bt") ? "" : " (incl. translated code; run -v also prints "
            "guest instructions)");
    fprintf(out, "records:    %" PRIu64 " in %" PRIu64 " chunks, cycles %" PRIu64 "..%" PRIu64
            "\n", c->records, r->end.chunks, c->first_cycle, c->last_cycle);
    for (int k = 0; k < 32; k++)
        if (c->by_kind[k])
            fprintf(out, "  %-14s %12" PRIu64 "\n", event_kind_name((enum ev_kind)k),
                    c->by_kind[k]);
}

int trace_export_finish(struct trace_reader *r, int rc, FILE *out, char *err, size_t errlen)
{
    if (rc < 0) {
        snprintf(err, errlen, "%s", r->err);
        return -1;
    }
    if (fflush(out) != 0 || ferror(out)) {
        snprintf(err, errlen, "write error on the output");
        return -1;
    }
    return 0;
}

int trace_dump(struct trace_reader *r, FILE *out, uint32_t mask, uint64_t limit,
               char *err, size_t errlen)
{
    struct event ev;
    char line[256];
    uint64_t shown = 0, index = 0;
    int rc;
    fprintf(out, "%8s %12s  %-13s %-10s %-10s  %s\n", "#", "cycle", "kind", "path", "eip",
            "detail");
    while ((!limit || shown < limit) && (rc = trace_next(r, &ev)) == 1) {
        if (mask & EV_BIT(ev.kind)) {
            trace_format_event(r, index, &ev, line, sizeof line);
            fprintf(out, "%s\n", line);
            shown++;
        }
        index++;
    }
    return trace_export_finish(r, limit && shown >= limit ? 0 : rc, out, err, errlen);
}

/*
 * Named CSV columns. With several kinds in one file the four argument words
 * keep the generic names a,b,c,d (their meaning per kind: csv_fields below and
 * docs/traces.md); exporting one kind (--events K) names them, drops the
 * unused ones, prints addresses in hex and signed words signed. The
 * translate event's packed c word becomes guest_insns and ident_insns.
 */
struct csv_field {
    const char *name;         /* NULL: the word is unused for this kind */
    char fmt;                 /* 'u' decimal, 'x' hex address, 'i' signed */
};

static const struct csv_field csv_fields[EV_KIND_COUNT][4] = {
    [EV_INSNS] = { { "instructions", 'u' }, { 0 }, { "cpl", 'u' }, { "per_insn", 'u' } },
    [EV_EXCEPTION] = { { "vector", 'u' }, { "error_code", 'x' }, { "has_error_code", 'u' } },
    [EV_INTERRUPT] = { { "vector", 'u' } },
    [EV_SOFTINT] = { { "vector", 'u' } },
    [EV_RING] = { { "cpl_before", 'u' }, { "cpl_after", 'u' }, { "real_cpl_before", 'u' },
                  { "real_cpl_after", 'u' } },
    [EV_IO] = { { "port", 'x' }, { "size", 'u' }, { "write", 'u' }, { "value", 'x' } },
    [EV_IO_UNMAPPED] = { { "port", 'x' }, { "size", 'u' }, { "write", 'u' }, { "value", 'x' } },
    [EV_END] = { { "machine_end", 'u' }, { "exit_status", 'u' } },
    [EV_TRAP] = { { "row", 'u' }, { "vector", 'u' } },
    [EV_WORLD_SWITCH] = { { "into_vmm", 'u' }, { 0 }, { "overhead_cycles", 'i' } },
    [EV_CALLOUT] = { { "callout_kind", 'u' } },
    [EV_SENSITIVE] = { { "row", 'u' } },
    [EV_REFLECT] = { { "vector", 'u' }, { "source", 'u' } },
    [EV_TRANSLATE] = { { "guest_bytes", 'u' }, { "tc_bytes", 'u' }, { "guest_insns", 'u' },
                       { "block_id", 'u' } },
    [EV_TC_HIT] = { { "block", 'x' } },
    [EV_TC_MISS] = { { "guest_address", 'x' } },
    [EV_TC_CHAIN] = { { "from_block", 'x' }, { "to_block", 'x' } },
    [EV_TC_INVALIDATE] = { { "blocks_dropped", 'u' } },
    [EV_SHADOW_FILL] = { { "linear_address", 'x' }, { "error_code", 'x' }, { "guest_pte", 'x' },
                         { "bits_set", 'x' } },
    [EV_PF_TRUE] = { { "cr2", 'x' }, { "error_code", 'x' } },
    [EV_SHADOW_TRACE] = { { "linear_address", 'x' }, { "roles", 'u' }, { "words_changed", 'u' },
                          { "entries_invalidated", 'u' } },
    [EV_SHADOW_ROOT] = { { "guest_cr3", 'x' }, { "reused", 'u' }, { "evicted", 'u' } },
    [EV_TC_EMULATE] = { { "port", 'x' }, { "count", 'u' } },
};

static int single_kind(uint32_t mask)
{
    mask &= EV_ALL;
    if (!mask || (mask & (mask - 1)))
        return -1;
    return __builtin_ctz(mask);
}

static void csv_named_header(FILE *out, int k)
{
    fprintf(out, "index,cycle,vm,kind,path,eip");
    for (int w = 0; w < 4; w++) {
        if (k == EV_TRANSLATE && w == 2)
            fprintf(out, ",guest_insns,ident_insns");
        else if (csv_fields[k][w].name)
            fprintf(out, ",%s", csv_fields[k][w].name);
    }
    fputc('\n', out);
}

static void csv_named_row(FILE *out, const struct event *ev)
{
    const uint32_t words[4] = { ev->a, ev->b, ev->c, ev->d };
    for (int w = 0; w < 4; w++) {
        const struct csv_field *f = &csv_fields[ev->kind][w];
        if (ev->kind == EV_TRANSLATE && w == 2)
            fprintf(out, ",%u,%u", EV_XLAT_INSNS(ev->c), EV_XLAT_IDENT(ev->c));
        else if (f->name && f->fmt == 'x')
            fprintf(out, ",0x%x", words[w]);
        else if (f->name && f->fmt == 'i')
            fprintf(out, ",%d", (int32_t)words[w]);
        else if (f->name)
            fprintf(out, ",%u", words[w]);
    }
    fputc('\n', out);
}

int trace_export_csv(struct trace_reader *r, FILE *out, uint32_t mask, char *err, size_t errlen)
{
    struct event ev;
    uint64_t index = 0;
    int rc, named = single_kind(mask);
    if (named >= 0)
        csv_named_header(out, named);
    else
        fprintf(out, "index,cycle,vm,kind,path,eip,a,b,c,d\n");
    while ((rc = trace_next(r, &ev)) == 1) {
        uint64_t i = index++;
        if (!(mask & EV_BIT(ev.kind)))
            continue;
        fprintf(out, "%" PRIu64 ",%" PRIu64 ",%u,%s,%s,0x%08x", i, ev.cycle, ev.vm,
                event_kind_name((enum ev_kind)ev.kind), event_path_name((enum ev_path)ev.path),
                ev.eip);
        if (named >= 0)
            csv_named_row(out, &ev);
        else
            fprintf(out, ",%u,%u,%u,%u\n", ev.a, ev.b, ev.c, ev.d);
    }
    return trace_export_finish(r, rc, out, err, errlen);
}
