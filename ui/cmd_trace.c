/*
 * cmd_trace.c - `ringside trace`: look at a recorded run, and draw it.
 *
 *   ringside trace info FILE                       header, counts, how the run ended
 *   ringside trace dump [--events L] [--limit N] FILE   one line per event
 *   ringside trace export --format F [--graph G] [-o OUT] FILE
 *       F = csv | chrome | dot | svg | png | pdf;  G = blocks | rings | traps | exits
 *
 * A trace file is outside input: every command first validates the whole
 * file (trace_scan), so a truncated, corrupted or wrong-version trace gives
 * one line naming the problem and exit status 2, and no partial output file
 * is left behind. Also here: the glue for `ringside run --trace`.
 */
#include "cmd_trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace_export.h"
#include "trace_run.h"

/* Graphviz and fontconfig keep caches for the life of the process; they are
   not ringside's leaks. Read by LeakSanitizer in the sanitizer build only. */
__attribute__((used)) const char *__lsan_default_suppressions(void)
{
    return "leak:libfontconfig\nleak:libgvc\nleak:libcgraph\nleak:libcdt\nleak:libpango\n";
}

/* ---- recording for `ringside run` ---- */

static void options_line(const struct run_options *o, char *buf, size_t len)
{
    size_t n = (size_t)snprintf(buf, len, "--mode %s --mem %u", o->mode, o->mem_mib);
    if (o->max_insns && n < len)
        n += (size_t)snprintf(buf + n, len - n, " --max-insns %llu",
                              (unsigned long long)o->max_insns);
    if (o->append && n < len)
        n += (size_t)snprintf(buf + n, len - n, " --append '%s'", o->append);
    for (int i = 0; i < o->nmodules && n < len; i++)
        n += (size_t)snprintf(buf + n, len - n, " --module '%s'", o->modules[i]);
    if (o->costs && n < len)
        n += (size_t)snprintf(buf + n, len - n, " --costs %s", o->costs);
    if (o->trace_events && n < len)
        n += (size_t)snprintf(buf + n, len - n, " --trace-events %s", o->trace_events);
    if (o->trace_insns && n < len)
        snprintf(buf + n, len - n, " --trace-insns");
}

int run_trace_begin(struct trace_recorder *rec, struct machine *m, const struct run_options *o)
{
    char line[512], err[300];
    if (!o->trace)
        return 0;
    /* Stepping one instruction at a time moves slice boundaries only; the
       translator, though, leaves and re-enters its blocks at every slice
       end, which would change the run under bt. */
    if (o->trace_insns && m->mode != MODE_NATIVE && m->mode != MODE_TRAP) {
        fprintf(stderr, "ringside: --trace-insns works with --mode native and trap only "
                "(under %s, stepping would change the run)\n", o->mode);
        return -1;
    }
    options_line(o, line, sizeof line);
    struct trace_start_args a = { .path = o->trace, .kernel = o->kernel,
                                  .events = o->trace_events, .options = line,
                                  .ringside_version = RINGSIDE_VERSION,
                                  .per_insn = o->trace_insns };
    if (trace_start(rec, m, &a, err, sizeof err) != 0) {
        fprintf(stderr, "ringside: %s\n", err);
        return -1;
    }
    return 0;
}

enum machine_end run_trace_slice(struct trace_recorder *rec, struct machine *m,
                                 const struct run_options *o, uint64_t insn_limit)
{
    if (rec && rec->f && o->trace_insns)
        return trace_step_run(rec, m, insn_limit);
    return machine_run(m, insn_limit);
}

int run_trace_end(struct trace_recorder *rec, struct machine *m)
{
    char err[300];
    if (!rec->f)
        return 0;
    if (trace_stop(rec, m, err, sizeof err) != 0) {
        fprintf(stderr, "ringside: %s\n", err);
        return -1;
    }
    return 0;
}

/* ---- the trace command ---- */

struct trace_args {
    const char *sub;          /* info, dump, export */
    const char *file;
    const char *events;       /* dump --events */
    uint64_t limit;           /* dump --limit */
    const char *format;       /* export --format */
    const char *graph;        /* export --graph */
    const char *out;          /* export -o */
    const char *top;          /* export --graph blocks --top N, as given */
};

/* Blocks drawn when --top is not given: a readable slide (docs/traces.md). */
#define TRACE_TOP_DEFAULT 20

static void trace_help(void)
{
    puts("usage:\n"
         "  ringside trace info FILE\n"
         "  ringside trace dump [--events K1,K2] [--limit N] FILE\n"
         "  ringside trace export --format F [--graph G [--top N]] [--events K] [-o OUT] FILE\n"
         "\n"
         "Read a trace written by `ringside run --trace FILE` (docs/traces.md).\n"
         "  info     the header (kernel, mode, costs, options), event counts, how the run ended\n"
         "  dump     one line per event; --events keeps only these kinds, --limit stops after N\n"
         "  export   --format csv     one row per event, with a header row; --events K\n"
         "                            keeps those kinds (one kind: named columns)\n"
         "           --format chrome  Chrome trace-event JSON for https://ui.perfetto.dev\n"
         "                            (1 ns on the timeline = 1 modeled cycle)\n"
         "           --format dot|svg|png|pdf --graph blocks|functions|rings|traps|exits\n"
         "                            Graphviz graphs\n"
         "           --top N  blocks graph: the N blocks entered most (default 20, 0: all)\n"
         "           -o OUT writes to OUT (required for png and pdf), else standard output\n"
         "exit status: 0 ok, 2 bad arguments or a bad trace file");
}

static int arg_value(int argc, char **argv, int *i, const char **out)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "ringside: trace: %s needs a value\n", argv[*i]);
        return -1;
    }
    *out = argv[++*i];
    return 0;
}

static int parse_limit(const char *opt, const char *s, uint64_t *out)
{
    char *end;
    if (!*s || *s == '-' || (*out = strtoull(s, &end, 10), *end)) {
        fprintf(stderr, "ringside: trace: %s %s: not a number\n", opt, s);
        return -1;
    }
    return 0;
}

static int parse_trace_args(int argc, char **argv, struct trace_args *t)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--events") || !strcmp(a, "--format") || !strcmp(a, "--graph") ||
            !strcmp(a, "-o") || !strcmp(a, "--limit") || !strcmp(a, "--top")) {
            if (arg_value(argc, argv, &i, &v))
                return -1;
            if (!strcmp(a, "--limit") && parse_limit("--limit", v, &t->limit))
                return -1;
            if (!strcmp(a, "--top")) {
                t->top = v;
                continue;
            }
            *(a[2] == 'e' ? &t->events : a[2] == 'f' ? &t->format : a[2] == 'g' ? &t->graph
                 : a[1] == 'o' ? &t->out : &v) = v;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "ringside: trace: unknown option '%s' (see ringside trace --help)\n", a);
            return -1;
        } else if (t->file) {
            fprintf(stderr, "ringside: trace: more than one file given\n");
            return -1;
        } else {
            t->file = a;
        }
    }
    if (!t->file) {
        fprintf(stderr, "ringside: trace %s: no trace file given\n", t->sub);
        return -1;
    }
    return 0;
}

static bool one_of(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (!strcmp(s, *list))
            return true;
    return false;
}

static int check_export_args(const struct trace_args *t)
{
    static const char *const formats[] = { "csv", "chrome", "dot", "svg", "png", "pdf", NULL };
    static const char *const graphs[] = { "blocks", "functions", "rings", "traps", "exits",
                                          NULL };
    static const char *const graphic[] = { "dot", "svg", "png", "pdf", NULL };
    if (!t->format || !one_of(t->format, formats)) {
        fprintf(stderr, "ringside: trace export: --format %s (choose csv, chrome, dot, svg, "
                "png or pdf)\n", t->format ? t->format : "is required");
        return -1;
    }
    bool graph = one_of(t->format, graphic);
    if (graph && (!t->graph || !one_of(t->graph, graphs))) {
        fprintf(stderr, "ringside: trace export: --format %s needs --graph blocks, functions, "
                "rings, traps or exits\n", t->format);
        return -1;
    }
    if (!graph && t->graph) {
        fprintf(stderr, "ringside: trace export: --graph goes with --format dot, svg, png or pdf\n");
        return -1;
    }
    uint64_t top;
    if (t->top && (!t->graph || strcmp(t->graph, "blocks") != 0)) {
        fprintf(stderr, "ringside: trace export: --top goes with --graph blocks\n");
        return -1;
    }
    if (t->top && parse_limit("--top", t->top, &top))
        return -1;
    if (t->top && top > 100000) {
        fprintf(stderr, "ringside: trace export: --top %s: at most 100000\n", t->top);
        return -1;
    }
    if (t->events && strcmp(t->format, "csv") != 0) {
        fprintf(stderr, "ringside: trace export: --events goes with --format csv\n");
        return -1;
    }
    if ((!strcmp(t->format, "png") || !strcmp(t->format, "pdf")) && !t->out) {
        fprintf(stderr, "ringside: trace export: --format %s needs -o OUT\n", t->format);
        return -1;
    }
    return 0;
}

static int do_export(struct trace_reader *r, const struct trace_args *t, char *err, size_t len)
{
    bool graph = t->graph != NULL;
    if (graph)
        return trace_export_graph(r, t->graph, t->format, t->out,
                                  t->top ? (unsigned)strtoul(t->top, NULL, 10) : TRACE_TOP_DEFAULT,
                                  err, len);
    FILE *out = t->out ? fopen(t->out, "w") : stdout;
    if (!out) {
        snprintf(err, len, "cannot create %s", t->out);
        return -1;
    }
    uint32_t mask = EV_ALL;
    int rc = t->events ? trace_parse_kinds(t->events, &mask, err, len) : 0;
    if (rc == 0)
        rc = !strcmp(t->format, "csv") ? trace_export_csv(r, out, mask, err, len)
                                       : trace_export_chrome(r, out, err, len);
    if (out != stdout && fclose(out) != 0 && rc == 0) {
        snprintf(err, len, "write error on %s", t->out);
        rc = -1;
    }
    return rc;
}

static int run_sub(struct trace_reader *r, const struct trace_args *t, char *err, size_t len)
{
    struct trace_counts c;
    uint32_t mask = EV_ALL;
    if (trace_scan(r, &c, err, len) != 0)
        return -1;
    if (!strcmp(t->sub, "info")) {
        trace_print_info(stdout, r, &c);
        return 0;
    }
    if (!strcmp(t->sub, "dump")) {
        if (t->events && trace_parse_kinds(t->events, &mask, err, len) != 0)
            return -1;
        return trace_dump(r, stdout, mask, t->limit, err, len);
    }
    int rc = do_export(r, t, err, len);
    if (rc != 0 && t->out)
        remove(t->out);
    return rc;
}

int cmd_trace(int argc, char **argv)
{
    struct trace_args t = { 0 };
    struct trace_reader r;
    char err[400];
    if (argc < 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) {
        trace_help();
        return argc < 1 ? 2 : 0;
    }
    t.sub = argv[0];
    if (strcmp(t.sub, "info") && strcmp(t.sub, "dump") && strcmp(t.sub, "export")) {
        fprintf(stderr, "ringside: trace: unknown subcommand '%s' (info, dump, export)\n", t.sub);
        return 2;
    }
    if (parse_trace_args(argc, argv, &t) || (!strcmp(t.sub, "export") && check_export_args(&t)))
        return 2;
    if (trace_open(&r, t.file) != 0) {
        fprintf(stderr, "ringside: trace %s: %s\n", t.file, r.err);
        trace_close(&r);
        return 2;
    }
    int rc = run_sub(&r, &t, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "ringside: trace %s: %s\n", t.file, err);
    trace_close(&r);
    return rc ? 2 : 0;
}
