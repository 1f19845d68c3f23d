/*
 * cmd_paper.c - `ringside paper`: the nanobenchmark table of Adams & Agesen,
 * "A Comparison of Software and Hardware Techniques for x86 Virtualization"
 * (ASPLOS 2006, figure 4), reproduced beside the paper's numbers.
 *
 * Every test of samples/nanobench runs as its own guest ("test=N") under
 * every engine ringside has (machine_mode_name), and under hw with nested
 * paging ("hw+npt", --npt) as a fourth column of the paper's kind, twice: with N and with 2N
 * iterations. The guest times its loop with RDTSC, which reads the modeled
 * cycles of the engine in use, and prints cycles per operation: that is the
 * cell. The row's *mechanism* comes from the events of the runs: (2N run -
 * N run) / N gives traps, reflections, true and hidden page faults, tracing
 * faults, callouts... per operation, with setup and printing cancelled out.
 *
 * A cell marked 'c' equals one cost-profile constant whose source is the
 * paper (it is calibrated, i.e. copied); a cell marked 'e' is a sum of
 * counted events priced by the profile (a consequence of the mechanism).
 *
 * The paper's VT column is measured by --mode hw (docs/hw.md): each row
 * says which of BT and VT the paper found faster and whether ringside's bt
 * and hw come out in the same order; the rows where they do not carry the
 * reason (what ringside's hw engine does and prices there).
 */
#include "cmd_paper.h"
#include "source_tree.h"
#include "cmd_run.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vm.h"

#define PAPER_TESTS 7
#define KVM_TESTS 5                    /* kvm-unit-tests' vmexit family (below) */
#define NB_TESTS (PAPER_TESTS + KVM_TESTS)
#define PAPER_MODES 6
#define PAPER_BUDGET 20000000ull
#define PAPER_LOOPS 100

/* A&A06 figure 4: Pentium 4 672, cycles. */
static const struct {
    const char *name;      /* as the nanobench kernel prints it */
    const char *label;     /* as the paper names the row */
    long native, bt, vt;
    const char *why;       /* the paper's explanation */
    const char *hw;        /* what ringside's hw engine does for the row */
} paper_rows[PAPER_TESTS] = {
    { "syscall", "syscall", 242, 2308, 246,
      "INT from guest ring 3 enters the VMM, which reflects it; VT-x lets the guest take it",
      "no exit: the guest's own IDT, at native cost" },
    { "in", "in", 3209, 216, 15826,
      "native pays the I/O bus; BT emulates the port in the TC; VT exits to the VMM",
      "one I/O exit: vt_entry 2409 + vt_exit_handle 600, and the emulated port answers at "
      "once: ringside's VT is below native where the paper measured five times native "
      "(15826); its exit handler is a model, not calibrated to that figure" },
    { "cli", "cr8wr", 150, 35, 177,
      "privileged: BT rewrites it into a store to the vcpu in the TC; trap-and-emulate traps",
      "no exit: the guest owns EFLAGS.IF in non-root mode" },
    { "callret", "call/ret", 11, 51, 11,
      "the RET is an indirect control transfer: BT looks its target up in the TC",
      "no exit: direct execution" },
    { "pgfault", "pgfault", 1093, 3927, 11242,
      "a true fault: the VMM walks the guest tables, then reflects it into the guest",
      "one #PF exit (vt_pf_exit 1931) + the VMM's walk of the guest tables priced as "
      "vt_exit_handle 600 + the injected #PF at native cost (1093): below bt's callout and "
      "reflection; the paper measured 11242, far more VMM work per true fault than ringside's "
      "model charges, so here ringside's VT wins where the paper's BT did" },
    { "divzero", "divzero", 889, 3223, 1014,
      "every exception enters the VMM, which reflects it through the guest's IDT",
      "no exit: #DE is not in the exception bitmap" },
    { "ptemod", "ptemod", 1, 391, 12733,
      "the PTE write hits a traced page table: a tracing fault (adaptive BT: in-TC callout)",
      "one #PF exit for the traced page + the stepped write: a tracing fault" },
};

/* kvm-unit-tests x86/vmexit.c: the outside reference for the per-exit
   costs of a hardware VMM (samples/nanobench tests 8-12, 32-bit forms). */
static const struct {
    const char *name;      /* as the nanobench kernel prints it */
    const char *label;     /* as kvm-unit-tests names the test */
} kvm_rows[KVM_TESTS] = {
    { "cpuid", "cpuid" }, { "inl", "inl_from_pmtimer" },
    { "cr0wp", "toggle cr0.wp" }, { "cr4pge", "toggle cr4.pge" }, { "vmcall", "vmcall" },
};

/* The nanobench name of test t (0-based over both tables). */
static const char *nb_name(int t)
{
    return t < PAPER_TESTS ? paper_rows[t].name : kvm_rows[t - PAPER_TESTS].name;
}

/* One guest run: what it printed and what happened. */
struct paper_run {
    bool ok;
    long per_op[NB_TESTS];     /* -1: not printed */
    unsigned loops;
    struct stats st;
    char out[2048];
    size_t outlen;
};

static void paper_out(void *ctx, uint8_t byte)
{
    struct paper_run *r = ctx;
    if (r->outlen + 1 < sizeof r->out)
        r->out[r->outlen++] = (char)byte;
    r->out[r->outlen] = 0;
}

static void paper_parse(struct paper_run *r)
{
    for (int t = 0; t < NB_TESTS; t++)
        r->per_op[t] = -1;
    for (char *line = r->out; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        char name[32];
        long val;
        unsigned loops;
        if (sscanf(line, "nanobench: %u iterations", &loops) == 1)
            r->loops = loops;
        else if (sscanf(line, "nanobench %31s %ld", name, &val) == 2)
            for (int t = 0; t < NB_TESTS; t++)
                if (!strcmp(name, nb_name(t)))
                    r->per_op[t] = val;
    }
}

/* Run the kernel once under `mode` with "test=N". */
static int paper_run_one(const uint8_t *image, size_t len, const char *path, int mode,
                         bool npt, const struct cost_profile *prof, int test, unsigned loops,
                         struct paper_run *r)
{
    char err[256], cmdline[48];
    memset(r, 0, sizeof *r);
    snprintf(cmdline, sizeof cmdline, "test=%d loops=%u", test, loops);
    struct vm_config cfg = { .kernel_path = path, .image = image, .image_len = len,
                             .cmdline = cmdline, .mode = (enum machine_mode)mode,
                             .costs = prof, .npt = npt };
    struct vm *vm = vm_create(&cfg, err, sizeof err);
    if (!vm) {
        fprintf(stderr, "ringside paper: %s\n", err);
        return -1;
    }
    struct machine *m = &vm->m;
    m->out = paper_out;
    m->out_ctx = r;
    vm_run(vm, PAPER_BUDGET);
    r->ok = m->end == END_GUEST_EXIT && m->exit_code == 1;
    if (!r->ok)
        fprintf(stderr, "ringside paper: %s test=%d: %s\n", machine_mode_name(mode),
                test, m->end_msg);
    r->st = m->stats;
    paper_parse(r);
    vm_destroy(vm);
    return 0;
}

/* ---- mechanisms: events per operation ---- */

struct paper_counter { const char *what; uint64_t (*get)(const struct stats *); };

static uint64_t get_traps(const struct stats *s) { return s->by_kind[EV_TRAP]; }
static uint64_t get_reflect(const struct stats *s) { return s->by_kind[EV_REFLECT]; }
static uint64_t get_true(const struct stats *s) { return s->pf_true; }
static uint64_t get_hidden(const struct stats *s) { return s->pf_hidden; }
static uint64_t get_trace(const struct stats *s) { return s->trace_faults; }
static uint64_t get_callout(const struct stats *s) { return s->by_kind[EV_CALLOUT]; }
static uint64_t get_translate(const struct stats *s) { return s->by_kind[EV_TRANSLATE]; }
static uint64_t get_io(const struct stats *s) { return s->io_reads + s->io_writes; }
static uint64_t get_exc(const struct stats *s) { return s->by_kind[EV_EXCEPTION]; }
static uint64_t get_vmexit(const struct stats *s) { return s->vmexits_total; }
static uint64_t get_inject(const struct stats *s) { return s->injections; }
static uint64_t get_soft(const struct stats *s) { return s->by_kind[EV_SOFTINT]; }
static uint64_t get_tcemu(const struct stats *s) { return s->tc_emulated; }

static const struct paper_counter paper_counters[] = {
    { "trap", get_traps }, { "reflection", get_reflect }, { "true #PF", get_true },
    { "hidden #PF", get_hidden }, { "tracing fault", get_trace }, { "callout", get_callout },
    { "translation", get_translate }, { "port access", get_io },
    { "exception delivered", get_exc }, { "INT n delivered", get_soft },
    { "in-TC emulation", get_tcemu }, { "VM exit", get_vmexit },
    { "injected event", get_inject },
};

/* samples/nanobench runs each operation twice per iteration count: an
   untimed warm-up (so translation is not timed), then the timed pass. */
#define NB_PASSES 2

static void paper_mechanism(FILE *f, const struct paper_run *run, const struct paper_run *base)
{
    unsigned loops = NB_PASSES * (run->loops > base->loops ? run->loops - base->loops : 1);
    int shown = 0;
    for (size_t i = 0; i < sizeof paper_counters / sizeof *paper_counters; i++) {
        uint64_t a = paper_counters[i].get(&run->st), b = paper_counters[i].get(&base->st);
        double per = a > b ? (double)(a - b) / loops : 0.0;
        if (per < 0.5)
            continue;
        fprintf(f, "%s%.2f %s", shown++ ? ", " : "", per, paper_counters[i].what);
    }
    if (!shown)
        fputs("no VMM event: runs on the hardware", f);
}

/* 'c' if the cell is one constant the profile took from the paper. The
   VT-x keys are skipped: they are transition costs, never a row of the
   paper's table, so a cell near one of them is a coincidence, not a copy. */
static char paper_mark(long cell, const struct cost_profile *prof)
{
    for (int k = 0; k < COST_COUNT; k++)
        if (k != COST_VT_ENTRY && k != COST_VT_PF_EXIT &&
            !strncmp(cost_key_source((enum cost_key)k), "A&A06", 5) &&
            labs(cell - (long)prof->v[k]) <= 2)
            return 'c';
    return 'e';
}

/* ---- output ---- */

struct paper_table {
    int nmodes;
    int modes[PAPER_MODES];
    bool npt[PAPER_MODES];                            /* hw with --npt */
    const char *names[PAPER_MODES];                   /* column names */
    struct paper_run base[NB_TESTS][PAPER_MODES];     /* N iterations */
    struct paper_run runs[NB_TESTS][PAPER_MODES];     /* 2N iterations */
};

static void paper_print_cell(FILE *f, long v, const struct cost_profile *prof)
{
    if (v < 0)
        fprintf(f, " %9s", "-");
    else
        fprintf(f, " %8ld%c", v, paper_mark(v, prof));
}

static int paper_sign(long a, long b)
{
    return (a > b) - (a < b);
}

/* The column of engine `name`, or -1. */
static int paper_mode_col(const struct paper_table *t, const char *name)
{
    for (int m = 0; m < t->nmodes; m++)
        if (!strcmp(t->names[m], name))
            return m;
    return -1;
}

/* The paper's BT-vs-VT winner, and whether ringside's bt and hw agree: 1
   matches, 0 differs, -1 not measured. */
static int paper_vt_match(const struct paper_table *t, int row, const char **paper,
                          const char **ours)
{
    int b = paper_mode_col(t, "bt"), h = paper_mode_col(t, "hw");
    int want = paper_sign(paper_rows[row].bt, paper_rows[row].vt);
    *paper = want < 0 ? "BT" : want > 0 ? "VT" : "tie";
    *ours = "-";
    if (b < 0 || h < 0)
        return -1;
    long cb = t->runs[row][b].per_op[row], ch = t->runs[row][h].per_op[row];
    if (cb < 0 || ch < 0)
        return -1;
    int got = paper_sign(cb, ch);
    *ours = got < 0 ? "bt" : got > 0 ? "hw" : "tie";
    return got == want;
}

static void paper_print_row(FILE *f, const struct paper_table *t, int row,
                            const struct cost_profile *prof)
{
    fprintf(f, "%-9s %7ld %7ld %7ld |", paper_rows[row].label, paper_rows[row].native,
            paper_rows[row].bt, paper_rows[row].vt);
    for (int m = 0; m < t->nmodes; m++)
        paper_print_cell(f, t->runs[row][m].per_op[row], prof);
    long nat = t->runs[row][0].per_op[row];
    int want = paper_sign(paper_rows[row].native, paper_rows[row].bt);
    fputs("  ", f);
    for (int m = 1; m < t->nmodes; m++) {
        long cell = t->runs[row][m].per_op[row];
        if (!strcmp(t->names[m], "bt") && cell >= 0 && nat >= 0)
            fputs(paper_sign(nat, cell) == want ? "order ok" : "ORDER DIFFERS", f);
    }
    const char *paper, *ours;
    int match = paper_vt_match(t, row, &paper, &ours);
    if (match >= 0)
        fprintf(f, "  faster: paper %s, ringside %s (%s)", paper, ours,
                match ? "matches" : "DIFFERS");
    fputc('\n', f);
}

/* Rows whose BT/VT winner is not the paper's, with the reason. */
static void paper_print_vt(FILE *f, const struct paper_table *t)
{
    int matches = 0, measured = 0;
    for (int r = 0; r < PAPER_TESTS; r++) {
        const char *paper, *ours;
        int m = paper_vt_match(t, r, &paper, &ours);
        measured += m >= 0;
        matches += m == 1;
    }
    if (!measured)
        return;
    fprintf(f, "\nVT column: measured under --mode hw (docs/hw.md); BT vs VT winner as the "
               "paper's in %d of %d rows\n", matches, measured);
    for (int r = 0; r < PAPER_TESTS; r++) {
        const char *paper, *ours;
        if (paper_vt_match(t, r, &paper, &ours) == 0)
            fprintf(f, "  %s differs: %s\n", paper_rows[r].label, paper_rows[r].hw);
    }
}

static void paper_print_kvm(FILE *f, const struct paper_table *t,
                            const struct cost_profile *prof);

static void paper_print(FILE *f, const struct paper_table *t, const struct cost_profile *prof)
{
    fprintf(f, "Adams & Agesen, ASPLOS 2006, fig. 4 (Pentium 4 672, cycles) beside ringside\n"
               "(modeled cycles per operation measured by the guest with RDTSC, profile %s)\n\n",
            prof->name);
    fprintf(f, "%-9s %7s %7s %7s |", "test", "native", "BT", "VT");
    for (int m = 0; m < t->nmodes; m++)
        fprintf(f, " %9s", t->names[m]);
    fprintf(f, "\n%-9s %23s |  ringside\n", "", "paper");
    for (int r = 0; r < PAPER_TESTS; r++)
        paper_print_row(f, t, r, prof);
    fputs("\nc = equals one cost constant calibrated from the paper (copied);"
          " e = a consequence of counted events\npriced by the profile. "
          "\"order ok\": native vs bt ordered as native vs BT in the paper;"
          " \"faster\": the lower of BT and VT.\n", f);
    paper_print_vt(f, t);
    fputs("\nmechanisms (events per operation, from the runs):\n", f);
    for (int r = 0; r < PAPER_TESTS; r++) {
        fprintf(f, "%s: %s\n  (hw: %s)\n", paper_rows[r].label, paper_rows[r].why,
                paper_rows[r].hw);
        for (int m = 0; m < t->nmodes; m++) {
            fprintf(f, "  %-7s ", t->names[m]);
            paper_mechanism(f, &t->runs[r][m], &t->base[r][m]);
            fputc('\n', f);
        }
    }
    paper_print_kvm(f, t, prof);
}

/* The vmexit family: no paper column, one cell per engine and the events. */
static void paper_print_kvm(FILE *f, const struct paper_table *t, const struct cost_profile *prof)
{
    fputs("\nkvm-unit-tests x86/vmexit family (32-bit forms; modeled cycles per operation):\n", f);
    fprintf(f, "%-17s", "test");
    for (int m = 0; m < t->nmodes; m++)
        fprintf(f, " %9s", t->names[m]);
    fputc('\n', f);
    for (int k = 0; k < KVM_TESTS; k++) {
        int r = PAPER_TESTS + k;
        fprintf(f, "%-17s", kvm_rows[k].label);
        for (int m = 0; m < t->nmodes; m++)
            paper_print_cell(f, t->runs[r][m].per_op[r], prof);
        fputc('\n', f);
    }
    for (int k = 0; k < KVM_TESTS; k++) {
        int r = PAPER_TESTS + k;
        fprintf(f, "%s:\n", kvm_rows[k].label);
        for (int m = 0; m < t->nmodes; m++) {
            fprintf(f, "  %-7s ", t->names[m]);
            paper_mechanism(f, &t->runs[r][m], &t->base[r][m]);
            fputc('\n', f);
        }
    }
}

static void paper_csv(FILE *f, const struct paper_table *t)
{
    fputs("test,paper_native,paper_bt,paper_vt", f);
    for (int m = 0; m < t->nmodes; m++)
        fprintf(f, ",%s", t->names[m]);
    fputc('\n', f);
    for (int r = 0; r < PAPER_TESTS; r++) {
        fprintf(f, "%s,%ld,%ld,%ld", paper_rows[r].name, paper_rows[r].native,
                paper_rows[r].bt, paper_rows[r].vt);
        for (int m = 0; m < t->nmodes; m++)
            fprintf(f, ",%ld", t->runs[r][m].per_op[r]);
        fputc('\n', f);
    }
    for (int r = PAPER_TESTS; r < NB_TESTS; r++) {   /* no paper figures: -1 */
        fprintf(f, "%s,-1,-1,-1", nb_name(r));
        for (int m = 0; m < t->nmodes; m++)
            fprintf(f, ",%ld", t->runs[r][m].per_op[r]);
        fputc('\n', f);
    }
}

/* ---- the command ---- */

static void paper_usage(FILE *f)
{
    fputs("usage: ringside paper [--kernel FILE] [--costs FILE] [--csv]\n\n"
          "Run every nanobenchmark (samples/bin/nanobench.elf) under every engine and\n"
          "print the table of Adams & Agesen (ASPLOS 2006, fig. 4) beside the\n"
          "paper's numbers, with the events that explain each row.\n\n"
          "  --kernel FILE  the nanobenchmark kernel (default: samples/bin/nanobench.elf\n"
          "                 beside the program)\n"
          "  --costs FILE   cost profile (docs/costs.md)\n"
          "  --csv          machine-readable table only\n", f);
}

static int paper_measure(struct paper_table *t, const char *kernel,
                         const struct cost_profile *prof)
{
    uint8_t *image;
    size_t len;
    char err[256];
    if (mb_read_file(kernel, &image, &len, err, sizeof err) != 0) {
        fprintf(stderr, "ringside paper: %s\n", err);
        return EXIT_BAD_INPUT;
    }
    int rc = 0;
    for (int e = 0; t->nmodes < PAPER_MODES && machine_mode_name(e); e++) {
        t->modes[t->nmodes] = e;
        t->names[t->nmodes++] = machine_mode_name(e);
        if (e == MODE_HW && t->nmodes < PAPER_MODES) {    /* the fourth column */
            t->modes[t->nmodes] = e;
            t->npt[t->nmodes] = true;
            t->names[t->nmodes++] = "hw+npt";
        }
    }
    for (int m = 0; m < t->nmodes && rc == 0; m++) {
        for (int r = 0; r < NB_TESTS && rc == 0; r++) {
            rc |= paper_run_one(image, len, kernel, t->modes[m], t->npt[m], prof, r + 1, PAPER_LOOPS,
                                &t->base[r][m]);
            rc |= paper_run_one(image, len, kernel, t->modes[m], t->npt[m], prof, r + 1,
                                2 * PAPER_LOOPS,
                                &t->runs[r][m]);
        }
    }
    free(image);
    return rc ? EXIT_BAD_INPUT : 0;
}

int cmd_paper(int argc, char **argv)
{
    char kernel[PATH_MAX + 32];
    const char *costs = NULL;
    bool csv = false;
    source_tree_path("samples/bin/nanobench.elf", kernel, sizeof kernel);
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--kernel") && i + 1 < argc)
            snprintf(kernel, sizeof kernel, "%s", argv[++i]);
        else if (!strcmp(argv[i], "--costs") && i + 1 < argc)
            costs = argv[++i];
        else if (!strcmp(argv[i], "--csv"))
            csv = true;
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            paper_usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "ringside paper: unknown argument '%s'\n", argv[i]);
            paper_usage(stderr);
            return EXIT_BAD_INPUT;
        }
    }
    struct cost_profile prof;
    char err[256];
    cost_default(&prof);
    if (costs && cost_load(&prof, costs, err, sizeof err) != 0) {
        fprintf(stderr, "ringside paper: --costs %s\n", err);
        return EXIT_BAD_INPUT;
    }
    struct paper_table *t = calloc(1, sizeof *t);
    if (!t)
        return EXIT_INTERNAL;
    int rc = paper_measure(t, kernel, &prof);
    if (rc == 0) {
        if (csv)
            paper_csv(stdout, t);
        else
            paper_print(stdout, t, &prof);
    }
    free(t);
    return rc;
}
