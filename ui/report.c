/*
 * report.c - the end-of-run summary (-v) and statistics JSON (--stats-json).
 *
 * The JSON schema is shared by every engine (docs/stats.md): fields that
 * belong to engines not run here (traps, translation cache...) are present
 * with zero values, so scripts and lab checkers can read any run the same way.
 */
#include "vmm/bt/bt.h"
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "cpu/optable.h"
#include "cpu/vmx.h"

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
    case END_INTERNAL:     return "internal";
    case END_UNTIL:        return "until";
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

/*
 * Per-row counters merged by label (vmm_counts_by_label): calls fn for each
 * label with a non-zero total, in table order; returns the grand total.
 */
typedef void (*label_fn)(FILE *f, const char *label, uint64_t n, bool first);

static uint64_t by_label(FILE *f, const uint64_t *by_row, label_fn fn)
{
    struct label_count lc[STATS_ROWS];
    int n = vmm_counts_by_label(by_row, STATS_ROWS, lc, STATS_ROWS);
    uint64_t total = 0;
    for (int i = 0; i < n; i++) {
        if (fn)
            fn(f, lc[i].label, lc[i].n, i == 0);
        total += lc[i].n;
    }
    return total;
}

static void text_label(FILE *f, const char *label, uint64_t n, bool first)
{
    fprintf(f, "%s%s: %" PRIu64, first ? "" : ", ", label, n);
}

static void list_label(FILE *f, const char *label, uint64_t n, bool first)
{
    fprintf(f, "    %-14s %" PRIu64 "\n", label, n);
}

static void json_label(FILE *f, const char *label, uint64_t n, bool first)
{
    fprintf(f, "%s\"%s\": %" PRIu64, first ? "" : ", ", label, n);
}

/* The overhead split: warm-up (translation) against the steady state, and
   the steady state by mechanism. A negative share is labelled with why. */
static void summary_overhead(FILE *f, const struct machine *m)
{
    const struct stats *st = &m->stats;
    uint64_t ne = machine_native_equiv(m);
    int64_t warm = st->overhead_by_cause[OV_TRANSLATE];
    int64_t steady = st->overhead_cycles - warm;
    fprintf(f, "  overhead: warm-up (translation) %+" PRId64 " cycles, steady state %+" PRId64
            " cycles (%.1f%% of native-equivalent):", warm, steady,
            ne ? 100.0 * (double)steady / (double)ne : 0.0);
    for (int k = 1; k < OV_COUNT; k++) {
        int64_t cy = st->overhead_by_cause[k];
        if (!st->charges_by_cause[k])
            continue;
        fprintf(f, " %s %+" PRId64, event_ov_cause_name((enum ev_ov_cause)k), cy);
        if (k == OV_IO && cy < 0)
            fputs(" (cheaper than native: an emulated device answers at once, a real port"
                  " takes ~1 us)", f);
    }
    fputc('\n', f);
}

/* Under hw: VM exits by reason, injected events. */
static void summary_vmexits(FILE *f, const struct stats *st)
{
    if (!st->vmexits_total && !st->injections)
        return;
    fprintf(f, "  VM exits: %" PRIu64 " (", st->vmexits_total);
    bool first = true;
    for (unsigned r = 0; r < 64; r++) {
        if (!st->vmexits[r])
            continue;
        const char *name = vmx_exit_name(r);
        fputs(first ? "" : ", ", f);
        if (name)
            fprintf(f, "%s: %" PRIu64, name, st->vmexits[r]);
        else
            fprintf(f, "reason %u: %" PRIu64, r, st->vmexits[r]);
        first = false;
    }
    fprintf(f, "), events injected: %" PRIu64 " (%" PRIu64 " again after an exit during "
            "delivery)\n", st->injections, st->reinjections);
}

/* Under a VMM: traps, world switches and the silent sensitive list (-v). */
static void summary_vmm(FILE *f, const struct machine *m)
{
    const struct stats *st = &m->stats;
    if (!m->vmm)
        return;
    fprintf(f, "  traps: %" PRIu64, by_label(f, st->traps_by_row, NULL));
    if (by_label(f, st->traps_by_row, NULL)) {
        fputs(" (", f);
        by_label(f, st->traps_by_row, text_label);
        fputc(')', f);
    }
    fprintf(f, "\n  world switches: %" PRIu64 ", overhead: %.1f%% of native-equivalent cycles\n",
            st->world_switches, machine_overhead_pct(m));
    summary_overhead(f, m);
    summary_vmexits(f, st);
    if (st->pf_hidden + st->pf_true + st->trace_faults + st->root_switches)
        fprintf(f, "  shadow paging: %" PRIu64 " hidden faults, %" PRIu64 " true faults, %"
                PRIu64 " tracing faults (%" PRIu64 " unchanged), %" PRIu64
                " CR3 switches (%" PRIu64 " roots built)\n", st->pf_hidden, st->pf_true,
                st->trace_faults, st->trace_unchanged, st->root_switches, st->root_builds);
    struct bt *bt = vmm_bt(m->vmm);
    if (bt) {
        const struct bt_counters *n = bt_counters(bt);
        fprintf(f, "  translator: %" PRIu64 " blocks (%" PRIu64 " guest bytes -> %" PRIu64
                " TC bytes), %" PRIu64 " hits, %" PRIu64 " misses, %" PRIu64 " chains, %"
                PRIu64 " callouts, %" PRIu64 " indirect misses, %" PRIu64 " invalidations, %"
                PRIu64 " flushes, %" PRIu64 " evictions, %" PRIu64 " adaptations\n",
                n->translations, n->guest_bytes, n->tc_bytes, n->hits, n->misses, n->chains,
                n->callouts, n->ind_misses, n->invalidations, n->flushes, n->evictions,
                n->adaptations);
    }
    summary_vectors(f, "reflected into the guest: vector", st->reflected, 256, false);
    uint64_t sens = by_label(f, st->sensitive_by_row, NULL);
    fprintf(f, "  silent sensitive instructions (ran at virtual CPL 0 without trapping): %"
            PRIu64 "\n", sens);
    by_label(f, st->sensitive_by_row, list_label);
}

/* The PC devices, when the guest used them. */
static void summary_devices(FILE *f, const struct machine *m)
{
    const struct lapic *a = &m->lapic;
    const struct ide *d = &m->ide;
    uint64_t sr = d->drive[0].sectors_read + d->drive[1].sectors_read;
    uint64_t sw = d->drive[0].sectors_written + d->drive[1].sectors_written;
    if (!m->mmio_reads && !m->mmio_writes && !d->commands && !m->mmio_unassigned)
        return;
    fprintf(f, "  devices: APIC MMIO %" PRIu64 " reads, %" PRIu64 " writes (%" PRIu64
            " to unassigned memory); LAPIC timer %" PRIu64 " expiries, %" PRIu64 " EOIs, IPIs %"
            PRIu64 " to self, %" PRIu64 " to absent CPUs; I/O APIC %" PRIu64 " delivered; IDE %"
            PRIu64 " commands, %" PRIu64 " sectors read, %" PRIu64 " written, %" PRIu64 " IRQs\n",
            m->mmio_reads, m->mmio_writes, m->mmio_unassigned, a->timer_fires, a->eois,
            a->ipis_self, a->ipis_absent, m->ioapic.delivered, d->commands, sr, sw, d->irqs);
}

/* The clock, the keyboard controller and fw_cfg, when the guest used them. */
static void summary_small_devices(FILE *f, const struct machine *m)
{
    if (!m->cmos.reads && !m->kbc.bytes_out && !m->fwcfg.reads)
        return;
    char when[40];
    cmos_time_text(&m->cmos, when, sizeof when);
    fprintf(f, "  RTC %" PRIu64 " reads (at the end %s); 8042 %" PRIu64 " bytes read; fw_cfg %"
            PRIu64 " bytes read\n", m->cmos.reads, when, m->kbc.bytes_out, m->fwcfg.reads);
}

void report_summary(FILE *f, const struct machine *m, const struct run_options *o)
{
    const struct cpu *c = &m->cpu;
    fprintf(f, "ringside: %s, mode %s: %s\n", o->kernel, o->mode, m->end_msg);
    fprintf(f, "  guest instructions: %" PRIu64 ", modeled cycles: %" PRIu64 "\n",
            cpu_guest_insns(c), c->cycles);
    if (c->insns != cpu_guest_insns(c))    /* bt: the TC's own instructions count too */
        fprintf(f, "  hardware instructions (incl. translated code): %" PRIu64 "\n", c->insns);
    summary_vectors(f, "exceptions: vector", m->stats.exceptions, 32, true);
    summary_vectors(f, "interrupts: vector", m->stats.interrupts, 256, false);
    summary_vectors(f, "software interrupts: vector", m->stats.soft_ints, 256, false);
    fprintf(f, "  port I/O: %" PRIu64 " reads, %" PRIu64 " writes (%" PRIu64
            " to unmapped ports)\n", m->stats.io_reads, m->stats.io_writes,
            m->stats.io_unmapped);
    summary_devices(f, m);
    summary_small_devices(f, m);
    summary_vmm(f, m);
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

/* Translator counters (docs/stats.md, docs/bt.md); zeros outside --mode bt. */
static void json_bt(FILE *f, const struct machine *m)
{
    static const struct bt_counters none;
    struct bt *bt = vmm_bt(m->vmm);
    const struct bt_counters *n = bt ? bt_counters(bt) : &none;
    fprintf(f, "  \"callouts\": {\"total\": %" PRIu64 ", \"by_kind\": {", n->callouts);
    by_label(f, m->stats.callouts_by_row, json_label);
    fputs("}},\n", f);
    fprintf(f, "  \"tc\": {\"translations\": %" PRIu64 ", \"guest_bytes\": %" PRIu64
            ", \"tc_bytes\": %" PRIu64 ", \"hits\": %" PRIu64 ", \"misses\": %" PRIu64
            ", \"chains\": %" PRIu64 ", \"invalidations\": %" PRIu64 ", \"flushes\": %" PRIu64
            ", \"evictions\": %" PRIu64 ", \"indirect_misses\": %" PRIu64
            ", \"smc_faults\": %" PRIu64 ", \"adaptations\": %" PRIu64 "},\n", n->translations,
            n->guest_bytes, n->tc_bytes, n->hits, n->misses, n->chains, n->invalidations,
            n->flushes, n->evictions, n->ind_misses, n->smc_faults, n->adaptations);
}

/* Shadow paging counters (docs/stats.md, docs/paging.md). */
static void json_shadow(FILE *f, const struct stats *st)
{
    fprintf(f, "  \"shadow\": {\"hidden_faults\": %" PRIu64 ", \"true_faults\": %" PRIu64
            ", \"tracing_faults\": %" PRIu64 ", \"unchanged_writes\": %" PRIu64
            ", \"invalidated\": %" PRIu64 ", \"accessed_set\": %" PRIu64
            ", \"dirty_set\": %" PRIu64 ", \"root_switches\": %" PRIu64
            ", \"root_builds\": %" PRIu64 ", \"root_evictions\": %" PRIu64 "},\n",
            st->pf_hidden, st->pf_true, st->trace_faults, st->trace_unchanged,
            st->shadow_invalidated, st->guest_accessed_set, st->guest_dirty_set,
            st->root_switches, st->root_builds, st->root_evictions);
}

/* "vmexits", "injections" (--mode hw; zero elsewhere). */
static void json_vmexits(FILE *f, const struct stats *st)
{
    fprintf(f, "  \"vmexits\": {\"total\": %" PRIu64 ", \"by_reason\": {", st->vmexits_total);
    bool first = true;
    for (unsigned r = 0; r < 64; r++) {
        const char *name = vmx_exit_name(r);
        if (!st->vmexits[r] && !name)
            continue;
        if (name)
            fprintf(f, "%s\"%s\": %" PRIu64, first ? "" : ", ", name, st->vmexits[r]);
        else
            fprintf(f, "%s\"reason %u\": %" PRIu64, first ? "" : ", ", r, st->vmexits[r]);
        first = false;
    }
    fprintf(f, "}},\n  \"injections\": {\"total\": %" PRIu64 ", \"reinjected\": %" PRIu64
            ", \"by_vector\": ", st->injections, st->reinjections);
    json_by_vector(f, st->injected, 256);
    fputs("},\n", f);
}

/* "overhead": the same split as -v (docs/stats.md). */
static void json_overhead(FILE *f, const struct machine *m)
{
    const struct stats *st = &m->stats;
    uint64_t ne = machine_native_equiv(m);
    int64_t warm = st->overhead_by_cause[OV_TRANSLATE];
    int64_t steady = st->overhead_cycles - warm;
    fprintf(f, "  \"overhead\": {\"cycles\": %" PRId64 ", \"warmup_cycles\": %" PRId64
            ", \"steady_cycles\": %" PRId64 ", \"steady_pct\": %.2f, \"by_cause\": {",
            st->overhead_cycles, warm, steady, ne ? 100.0 * (double)steady / (double)ne : 0.0);
    for (int k = 0; k < OV_COUNT; k++)
        fprintf(f, "%s\"%s\": %" PRId64, k ? ", " : "", event_ov_cause_name((enum ev_ov_cause)k),
                st->overhead_by_cause[k]);
    fputs("}, \"charges_by_cause\": {", f);
    for (int k = 0; k < OV_COUNT; k++)
        fprintf(f, "%s\"%s\": %" PRIu64, k ? ", " : "", event_ov_cause_name((enum ev_ov_cause)k),
                st->charges_by_cause[k]);
    fputs("}},\n", f);
}

static void json_body(FILE *f, const struct machine *m, const struct run_options *o,
                      int status)
{
    const struct cpu *c = &m->cpu;
    fputs("{\n  \"ringside_version\": \"0.1\",\n  \"kernel\": ", f);
    json_string(f, o->kernel);
    fprintf(f, ",\n  \"mode\": \"%s\",\n  \"end\": \"%s\",\n  \"exit_status\": %d,\n",
            o->mode, report_end_name(m->end), status);
    fprintf(f, "  \"guest_insns\": %" PRIu64 ",\n", cpu_guest_insns(c));
    fprintf(f, "  \"retired_insns\": %" PRIu64 ",\n", c->insns);
    uint64_t emulated = m->stats.path_insns[PATH_EMULATED];
    uint64_t translated = m->stats.path_insns[PATH_TRANSLATED];
    if (m->vmm)
        fprintf(f, "  \"insns_by_path\": {\"native\": 0, \"direct\": %" PRIu64
                ", \"translated\": %" PRIu64 ", \"emulated\": %" PRIu64 "},\n",
                cpu_guest_insns(c) - emulated - translated, translated, emulated);
    else
        fprintf(f, "  \"insns_by_path\": {\"native\": %" PRIu64
                ", \"direct\": 0, \"translated\": 0, \"emulated\": 0},\n", c->insns);
    fprintf(f, "  \"traps\": {\"total\": %" PRIu64 ", \"by_cause\": {",
            by_label(f, m->stats.traps_by_row, NULL));
    by_label(f, m->stats.traps_by_row, json_label);
    fprintf(f, "}},\n  \"silent_sensitive\": {\"total\": %" PRIu64 ", \"by_insn\": {",
            by_label(f, m->stats.sensitive_by_row, NULL));
    by_label(f, m->stats.sensitive_by_row, json_label);
    uint64_t refl = 0;
    for (int v = 0; v < 256; v++)
        refl += m->stats.reflected[v];
    fprintf(f, "}},\n  \"reflected\": {\"total\": %" PRIu64 ", \"by_vector\": ", refl);
    json_by_vector(f, m->stats.reflected, 256);
    fprintf(f, "},\n  \"world_switches\": %" PRIu64 ",\n  \"ring_transitions\": {",
            m->stats.world_switches);
    uint64_t total = json_ring_edges(f, m);
    fprintf(f, ", \"total\": %" PRIu64 "},\n", total);
    json_bt(f, m);
    json_shadow(f, &m->stats);
    json_vmexits(f, &m->stats);
    fprintf(f, "  \"cycles\": {\"native_equiv\": %" PRIu64 ", \"total\": %" PRIu64 "},\n",
            machine_native_equiv(m), c->cycles);
    fprintf(f, "  \"overhead_pct\": %.2f,\n", machine_overhead_pct(m));
    json_overhead(f, m);
    fputs("  \"exceptions\": {\"by_vector\": ", f);
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
