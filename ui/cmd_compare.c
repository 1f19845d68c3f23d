/*
 * cmd_compare.c - `ringside compare [run options] KERNEL`: one kernel under
 * every engine, phase by phase, as a percentage of native speed.
 *
 * This is the lecture's table. A kernel marks its phases by printing a line
 * "phase: NAME" on COM1 (samples/lecture does); the command runs the kernel
 * once per engine, takes the modeled cycle count and the overhead by cause
 * (EV_OVERHEAD, sim/stats.h) at each marker, and prints for every phase the
 * native cycles, each engine's speed as native cycles / its cycles, and the
 * causes that cost it the most. Trap-and-emulate's speed is printed beside
 * the sensitive instructions it let run silently: fast because wrong.
 * A kernel without markers is one phase, "all". Exit status 0 when every
 * engine printed the same output and ended the same way, 1 otherwise, 2 for
 * bad input.
 */
#include "cmd_compare.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_run.h"
#include "run_vm.h"

#define CMP_ENGINES 4        /* native, trap, bt, hw: the modes that exist */
#define CMP_PHASES 16
#define CMP_OUT_MAX (1u << 20)

/* Counters at the start of a phase. */
struct cmp_mark {
    char name[24];
    uint64_t cycles;
    int64_t by_cause[OV_COUNT];
    uint64_t silent;          /* sensitive instructions run without trapping */
};

struct cmp_run {
    struct machine *m;
    struct cmp_mark marks[CMP_PHASES + 1]; /* + the end */
    int nmarks;
    char line[128];
    size_t line_len;
    char *out;                /* everything the guest printed (compared across engines) */
    size_t out_len;
    int status;
};

static uint64_t cmp_silent(const struct stats *st)
{
    uint64_t n = 0;
    for (int r = 0; r < STATS_ROWS; r++)
        n += st->sensitive_by_row[r];
    return n;
}

static void cmp_mark(struct cmp_run *r, const char *name)
{
    if (r->nmarks >= CMP_PHASES + 1)
        return;
    struct cmp_mark *k = &r->marks[r->nmarks++];
    snprintf(k->name, sizeof k->name, "%s", name);
    k->cycles = r->m->cpu.cycles;
    memcpy(k->by_cause, r->m->stats.overhead_by_cause, sizeof k->by_cause);
    k->silent = cmp_silent(&r->m->stats);
}

static void cmp_out(void *ctx, uint8_t byte)
{
    struct cmp_run *r = ctx;
    if (r->out_len < CMP_OUT_MAX)
        r->out[r->out_len++] = (char)byte;
    if (byte != '\n') {
        if (r->line_len < sizeof r->line - 1)
            r->line[r->line_len++] = (char)byte;
        return;
    }
    r->line[r->line_len] = 0;
    r->line_len = 0;
    if (!strncmp(r->line, "phase: ", 7) && strcmp(r->line + 7, "end") != 0)
        cmp_mark(r, r->line + 7);
}

static int cmp_run_engine(const struct run_options *o, int mode, struct cmp_run *r)
{
    struct vm *vm = run_vm_create(o, mode);
    if (!vm)
        return -1;
    r->m = &vm->m;
    r->out = malloc(CMP_OUT_MAX);
    if (!r->out) {
        vm_destroy(vm);
        return -1;
    }
    vm->m.out = cmp_out;
    vm->m.out_ctx = r;
    cmp_mark(r, "all");                         /* replaced by the first marker */
    vm_run(vm, o->max_insns);
    if (r->nmarks > 1) {                        /* the kernel has phases */
        memmove(r->marks, r->marks + 1, (size_t)(r->nmarks - 1) * sizeof *r->marks);
        r->nmarks--;
    }
    r->nmarks = r->nmarks < CMP_PHASES ? r->nmarks : CMP_PHASES;
    cmp_mark(r, "end");
    r->nmarks--;                                /* marks[nmarks] is the end */
    r->status = vm->m.end == END_NONE ? EXIT_BUDGET : cmd_run_exit_status(&vm->m);
    vm_destroy(vm);
    r->m = NULL;
    return 0;
}

/* Overhead by cause during phase p. */
static void cmp_deltas(const struct cmp_run *r, int p, int64_t d[OV_COUNT])
{
    for (int k = 0; k < OV_COUNT; k++)
        d[k] = r->marks[p + 1].by_cause[k] - r->marks[p].by_cause[k];
}

/* The two causes that cost an engine the most in phase p, as "a 70%, b 20%". */
static void cmp_causes(char *buf, size_t len, const struct cmp_run *r, int p)
{
    int64_t d[OV_COUNT], total = 0;
    cmp_deltas(r, p, d);
    for (int k = 0; k < OV_COUNT; k++)
        total += d[k] > 0 ? d[k] : 0;
    buf[0] = 0;
    for (int n = 0; n < 2 && total > 0; n++) {
        int best = -1;
        for (int k = 0; k < OV_COUNT; k++)
            if (d[k] > 0 && (best < 0 || d[k] > d[best]))
                best = k;
        if (best < 0 || d[best] * 200 < total)   /* under 0.5%: not a cause */
            break;
        size_t used = strlen(buf);
        snprintf(buf + used, len - used, "%s%s %.0f%%", n ? ", " : "",
                 event_ov_cause_name((enum ev_ov_cause)best), 100.0 * (double)d[best] / (double)total);
        d[best] = 0;
    }
}

/* An engine faster than native in phase p: the cause with the largest
   negative overhead, e.g. "io saved" (an emulated device answers at once). */
static void cmp_savings(char *buf, size_t len, const struct cmp_run *r, int p)
{
    int best = -1;
    int64_t d[OV_COUNT];
    cmp_deltas(r, p, d);
    for (int k = 0; k < OV_COUNT; k++)
        if (d[k] < 0 && (best < 0 || d[k] < d[best]))
            best = k;
    snprintf(buf, len, "%s%s", best < 0 ? "" : event_ov_cause_name((enum ev_ov_cause)best),
             best < 0 ? "" : " cheaper than native");
}

static uint64_t cmp_phase_cycles(const struct cmp_run *r, int p)
{
    return r->marks[p + 1].cycles - r->marks[p].cycles;
}

static void cmp_print_row(const struct cmp_run *runs, int p)
{
    uint64_t native = cmp_phase_cycles(&runs[0], p);
    printf("%-10s %14" PRIu64, runs[0].marks[p].name, native);
    for (int e = 1; e < CMP_ENGINES; e++) {
        char causes[64];
        uint64_t cy = cmp_phase_cycles(&runs[e], p);
        if (cy < native)        /* faster than native: say what it saved on */
            cmp_savings(causes, sizeof causes, &runs[e], p);
        else
            cmp_causes(causes, sizeof causes, &runs[e], p);
        printf("   %6.1f%% %-24s", cy ? 100.0 * (double)native / (double)cy : 0.0, causes);
    }
    uint64_t silent = runs[1].marks[p + 1].silent - runs[1].marks[p].silent;
    if (silent)
        printf(" trap: %" PRIu64 " silent", silent);
    putchar('\n');
}

/* How many phases every engine reached, with the same names. */
static int cmp_common_phases(const struct cmp_run *runs)
{
    int n = runs[0].nmarks;
    for (int e = 1; e < CMP_ENGINES; e++) {
        int k = 0;
        while (k < n && k < runs[e].nmarks && !strcmp(runs[e].marks[k].name, runs[0].marks[k].name))
            k++;
        n = k;
    }
    return n;
}

/* 0 when every engine printed what native printed and ended the same way. */
static int cmp_agree(const struct cmp_run *runs)
{
    int rc = 0;
    for (int e = 1; e < CMP_ENGINES; e++) {
        bool same = runs[e].out_len == runs[0].out_len &&
                    !memcmp(runs[e].out, runs[0].out, runs[0].out_len);
        if (!same || runs[e].status != runs[0].status) {
            fprintf(stderr, "ringside compare: %s: guest output or exit status differs from "
                    "native (status %d vs %d)\n",
                   machine_mode_name(e), runs[e].status, runs[0].status);
            rc = 1;
        }
    }
    return rc;
}

static int cmp_report(const struct run_options *o, const struct cmp_run *runs)
{
    int phases = cmp_common_phases(runs);
    printf("ringside compare: %s%s%s - speed as %% of native (modeled cycles), and what the\n"
           "overhead paid for\n\n", o->kernel, o->append ? " " : "", o->append ? o->append : "");
    printf("%-10s %14s   %-32s   %-32s   %-32s\n", "phase", "native cycles", "trap", "bt", "hw");
    for (int p = 0; p < phases; p++)
        cmp_print_row(runs, p);
    uint64_t silent = runs[1].marks[runs[1].nmarks].silent;
    if (silent)
        printf("\ntrap ran %" PRIu64 " sensitive instructions without trapping: its speed is "
               "that of a VMM that is wrong (fast because wrong)\n", silent);
    return cmp_agree(runs);
}

/* --csv: one row per phase for scripts and spreadsheets (docs/lecture.md). */
static void cmp_csv(const struct cmp_run *runs)
{
    puts("phase,native_cycles,trap_pct,bt_pct,trap_cycles,bt_cycles,trap_silent_sensitive,"
         "hw_pct,hw_cycles");
    for (int p = 0, n = cmp_common_phases(runs); p < n; p++) {
        uint64_t native = cmp_phase_cycles(&runs[0], p);
        uint64_t t = cmp_phase_cycles(&runs[1], p), b = cmp_phase_cycles(&runs[2], p);
        uint64_t h = cmp_phase_cycles(&runs[3], p);
        printf("%s,%" PRIu64 ",%.2f,%.2f,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%.2f,%" PRIu64 "\n",
               runs[0].marks[p].name, native, t ? 100.0 * (double)native / (double)t : 0.0,
               b ? 100.0 * (double)native / (double)b : 0.0, t, b,
               runs[1].marks[p + 1].silent - runs[1].marks[p].silent,
               h ? 100.0 * (double)native / (double)h : 0.0, h);
    }
}

/* argv without "--csv" (the rest are `run` options). */
static bool cmp_take_csv(int *argc, char **argv)
{
    bool csv = false;
    int n = 0;
    for (int i = 0; i < *argc; i++) {
        if (!strcmp(argv[i], "--csv"))
            csv = true;
        else
            argv[n++] = argv[i];
    }
    *argc = n;
    return csv;
}

int cmd_compare(int argc, char **argv)
{
    struct run_options o;
    bool csv = cmp_take_csv(&argc, argv);
    int rc = options_parse_run(argc, argv, &o);
    if (rc != 0)
        return rc > 0 ? EXIT_OK : EXIT_BAD_INPUT;
    struct cmp_run *runs = calloc(CMP_ENGINES, sizeof *runs);
    if (!runs)
        return EXIT_INTERNAL;
    rc = 0;
    for (int e = 0; e < CMP_ENGINES && rc == 0; e++)
        if (cmp_run_engine(&o, e, &runs[e]) != 0)
            rc = EXIT_BAD_INPUT;
    if (rc == 0 && csv)
        cmp_csv(runs);
    if (rc == 0)
        rc = csv ? cmp_agree(runs) : cmp_report(&o, runs);
    for (int e = 0; e < CMP_ENGINES; e++)
        free(runs[e].out);
    free(runs);
    return rc;
}
