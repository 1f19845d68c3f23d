/*
 * test_traces.c - the trace file, the recorder and the exporters (traces/).
 *
 * Golden data is never ringside's own say-so:
 *  - the format round trip and the fuzz tests use synthetic events whose
 *    every field the test chose;
 *  - tests/golden/traces/endings-native.csv is the trace of
 *    tests/kernels/endings.S (ENDING=1) under the round-number cost profile
 *    costs.txt, every row of which follows by hand from the kernel's code:
 *    seven `out` of "ending\n" to 0x3f8 at 1005 + 1105*k cycles (5 one-cycle
 *    instructions + 1000 per port access, then 100 for the out itself and
 *    jmp/lodsb/test/je/mov), the `out` of 0x2a to 0xf4 at 8741, the end at
 *    8841 with exit status 85;
 *  - tests/golden/traces/endings-trap-traps.dot: under --mode trap both
 *    `out` instructions trap, the first 7 times, the second once;
 *  - for larger runs the exports are checked against the run's statistics
 *    JSON (counts of traps and ring transitions, total cycles), `dot -Tsvg`
 *    must accept every DOT export, python3's json module must parse the
 *    Chrome export.
 */
#include <CUnit/CUnit.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"
#include "trace.h"
#include "trace_export.h"

static char tmpdir[64];
static char *rings_stats;     /* stats JSON of the traced rings run */

static const char *tmp(const char *name)
{
    static char paths[8][128];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, 128, "%s/%s", tmpdir, name);
    return p;
}

static int suite_init(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/rs_traces_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int suite_clean(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    free(rings_stats);
    rings_stats = NULL;
    return system(cmd) == 0 ? 0 : -1;
}

/* Run `ringside ARGS...` (NULL-terminated); returns the exit status. */
static int ringside(struct proc_result *r, const char *a0, ...)
{
    char *argv[32] = { (char *)proc_ringside() };
    int n = 1;
    va_list ap;
    va_start(ap, a0);
    for (const char *a = a0; a && n < 31; a = va_arg(ap, const char *))
        argv[n++] = (char *)a;
    va_end(ap);
    argv[n] = NULL;
    if (proc_run(argv, 120, r) != 0)
        return -1;
    return r->status;
}

static int ringside_quiet(const char *a0, ...)
{
    char *argv[32] = { (char *)proc_ringside() };
    int n = 1;
    struct proc_result r;
    va_list ap;
    va_start(ap, a0);
    for (const char *a = a0; a && n < 31; a = va_arg(ap, const char *))
        argv[n++] = (char *)a;
    va_end(ap);
    argv[n] = NULL;
    if (proc_run(argv, 120, &r) != 0)
        return -1;
    int st = r.status;
    proc_result_free(&r);
    return st;
}

/* The number after "key": in a stats JSON text (first occurrence after `after`). */
static long long json_num(const char *json, const char *after, const char *key)
{
    const char *p = after ? strstr(json, after) : json;
    char k[64];
    snprintf(k, sizeof k, "\"%s\": ", key);
    p = p ? strstr(p, k) : NULL;
    return p ? atoll(p + strlen(k)) : -1;
}

/* ---- synthetic traces ---- */

static struct event synth(unsigned i)
{
    return (struct event){ .kind = (uint16_t)(i % EV_KIND_COUNT), .vm = (uint8_t)(i % 3),
                           .path = (uint8_t)(i % PATH_COUNT), .eip = 0x100000u + i * 3,
                           .cycle = 1000ull * i + (i * 7919u) % 1000,
                           .a = i, .b = ~i, .c = i * 31u, .d = 0xdeadbeefu ^ i };
}

static int write_synth(const char *path, unsigned n)
{
    struct trace_meta meta = { .event_mask = EV_ALL, .kernel_hash = 0x1234 };
    struct trace_sym syms[2] = { { 0x100000, 0x40, "_start" }, { 0x100040, 0, "kmain" } };
    struct trace_recorder rec;
    char err[200];
    snprintf(meta.kernel, sizeof meta.kernel, "synthetic \"kernel\"");
    snprintf(meta.mode, sizeof meta.mode, "trap");
    if (trace_rec_open(&rec, path, &meta, syms, 2, err, sizeof err) != 0)
        return -1;
    for (unsigned i = 0; i < n; i++) {
        struct event ev = synth(i);
        trace_rec_event(&rec, &ev);
    }
    struct trace_end end = { .cycles = 99999999, .insns = 4242, .end = 1, .exit_code = 85 };
    return trace_rec_close(&rec, &end, err, sizeof err);
}

static void test_format_roundtrip(void)
{
    const char *path = tmp("synth.rtrace");
    unsigned n = TRACE_CHUNK_RECS * 2 + 17;   /* two full chunks and a partial one */
    CU_ASSERT_EQUAL_FATAL(write_synth(path, n), 0);
    struct trace_reader r;
    CU_ASSERT_EQUAL_FATAL(trace_open(&r, path), 0);
    CU_ASSERT_STRING_EQUAL(r.meta.kernel, "synthetic \"kernel\"");
    CU_ASSERT_STRING_EQUAL(r.meta.mode, "trap");
    CU_ASSERT_EQUAL(r.nsyms, 2);
    uint32_t off = 0;
    const struct trace_sym *s = trace_sym_at(&r, 0x100044, &off);
    CU_ASSERT(s && !strcmp(s->name, "kmain") && off == 4);
    CU_ASSERT_PTR_NULL(trace_sym_at(&r, 0xfffff, NULL));
    struct event ev;
    unsigned i = 0, same = 0;
    int rc;
    while ((rc = trace_next(&r, &ev)) == 1) {
        struct event want = synth(i++);
        same += !memcmp(&ev, &want, sizeof ev);
    }
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(i, n);
    CU_ASSERT_EQUAL(same, n);
    CU_ASSERT_EQUAL(r.end.records, n);
    CU_ASSERT_EQUAL(r.end.chunks, 3);
    CU_ASSERT_EQUAL(r.end.insns, 4242);
    CU_ASSERT_EQUAL(r.end.exit_code, 85);
    trace_close(&r);
}

/* 0 if the whole file reads cleanly, else -1 (with a message). */
static int read_all(const char *path, char *err, size_t len)
{
    struct trace_reader r;
    struct trace_counts c;
    int rc = trace_open(&r, path) == 0 ? trace_scan(&r, &c, err, len) : -1;
    if (rc && !err[0])
        snprintf(err, len, "%s", r.err);
    trace_close(&r);
    return rc;
}

static uint8_t *slurp(const char *path, size_t *len)
{
    return (uint8_t *)proc_read_file(path, len);
}

static void spit(const char *path, const uint8_t *p, size_t len)
{
    FILE *f = fopen(path, "wb");
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT(fwrite(p, 1, len, f) == len);
    fclose(f);
}

/* Every truncation and every single-byte change of a small trace is
   rejected with a message; random multi-byte damage never crashes. */
static void test_fuzz_mutations(void)
{
    const char *good = tmp("fuzz.rtrace"), *bad = tmp("fuzz-bad.rtrace");
    char err[300];
    size_t len;
    CU_ASSERT_EQUAL_FATAL(write_synth(good, 40), 0);
    uint8_t *orig = slurp(good, &len), *buf = malloc(len);
    CU_ASSERT_FATAL(orig && buf);
    unsigned rejected = 0, tries = 0, silent = 0;
    for (size_t cut = 0; cut < len; cut += (cut < TRACE_HDR_SIZE + 200 ? 13 : 1), tries++) {
        spit(bad, orig, cut);
        err[0] = 0;
        rejected += read_all(bad, err, sizeof err) != 0 && err[0];
    }
    CU_ASSERT_EQUAL(rejected, tries);
    uint32_t seed = 12345;
    rejected = tries = 0;
    for (int k = 0; k < 400; k++, tries++) {
        memcpy(buf, orig, len);
        seed = seed * 1103515245u + 12345u;
        size_t at = (seed >> 8) % len;
        buf[at] ^= (uint8_t)(1u << (seed & 7));
        spit(bad, buf, len);
        err[0] = 0;
        rejected += read_all(bad, err, sizeof err) != 0 && err[0];
    }
    CU_ASSERT_EQUAL(rejected, tries);   /* every byte is under a magic or a CRC */
    for (int k = 0; k < 300; k++) {     /* heavier damage: only "no crash" */
        memcpy(buf, orig, len);
        for (int j = 0; j < 16; j++) {
            seed = seed * 1103515245u + 12345u;
            buf[(seed >> 8) % len] = (uint8_t)(seed >> 24);
        }
        spit(bad, buf, len);
        silent += read_all(bad, err, sizeof err) == 0;
    }
    CU_ASSERT(silent < 300);
    free(orig);
    free(buf);
}

/* The command line names the problem and exits 2, leaving no output file. */
static void test_cli_bad_files(void)
{
    const char *good = tmp("cli.rtrace"), *bad = tmp("cli-bad.rtrace"), *out = tmp("cli.csv");
    struct proc_result r;
    size_t len;
    CU_ASSERT_EQUAL_FATAL(write_synth(good, 100), 0);
    uint8_t *p = slurp(good, &len);
    CU_ASSERT_FATAL(p != NULL);
    /* wrong version, with a valid header checksum */
    p[8] = 2;
    memset(p + 60, 0, 4);
    uint32_t crc = trace_crc32(0, p, TRACE_HDR_SIZE);
    for (int i = 0; i < 4; i++)
        p[60 + i] = (uint8_t)(crc >> (8 * i));
    spit(bad, p, len);
    CU_ASSERT_EQUAL(ringside(&r, "trace", "info", bad, NULL), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "version 2"));
    proc_result_free(&r);
    /* truncated in the middle of the records */
    p[8] = 1;
    spit(bad, p, len - 100);
    CU_ASSERT_EQUAL(ringside(&r, "trace", "export", "--format", "csv", "-o", out, bad, NULL), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "corrupted"));   /* header CRC no longer matches */
    CU_ASSERT_NOT_EQUAL(access(out, F_OK), 0);
    proc_result_free(&r);
    free(p);
    p = slurp(good, &len);
    spit(bad, p, len - 100);
    CU_ASSERT_EQUAL(ringside(&r, "trace", "dump", bad, NULL), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "truncated"));
    proc_result_free(&r);
    spit(bad, (const uint8_t *)"hello, world\n", 13);
    CU_ASSERT_EQUAL(ringside(&r, "trace", "info", bad, NULL), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "not a ringside trace"));
    proc_result_free(&r);
    CU_ASSERT_EQUAL(ringside_quiet("trace", "export", "--format", "gif", good, NULL), 2);
    CU_ASSERT_EQUAL(ringside_quiet("trace", "export", "--format", "svg", good, NULL), 2);
    CU_ASSERT_EQUAL(ringside_quiet("run", "--trace-events", "trap,bogus", "--trace", bad,
                                   "tests/bin/end_exit.elf", NULL), 2);
    free(p);
}

/* ---- golden exports of tests/kernels/endings.S ---- */

static void assert_same_file(const char *got_path, const char *golden_path)
{
    size_t a, b;
    char *got = proc_read_file(got_path, &a), *want = proc_read_file(golden_path, &b);
    CU_ASSERT(got && want);
    CU_ASSERT(got && want && a == b && !memcmp(got, want, a));
    free(got);
    free(want);
}

static void test_golden_endings(void)
{
    const char *t1 = tmp("end-native.rtrace"), *t2 = tmp("end-trap.rtrace");
    const char *csv = tmp("end.csv"), *dot = tmp("end.dot");
    CU_ASSERT_EQUAL_FATAL(ringside_quiet("run", "--costs", "tests/golden/traces/costs.txt",
                                         "--trace", t1, "tests/bin/end_exit.elf", NULL), 85);
    CU_ASSERT_EQUAL(ringside_quiet("trace", "export", "--format", "csv", t1, "-o", csv, NULL), 0);
    assert_same_file(csv, "tests/golden/traces/endings-native.csv");
    CU_ASSERT_EQUAL_FATAL(ringside_quiet("run", "--mode", "trap", "--trace", t2,
                                         "tests/bin/end_exit.elf", NULL), 85);
    CU_ASSERT_EQUAL(ringside_quiet("trace", "export", "--format", "dot", "--graph", "traps",
                                   t2, "-o", dot, NULL), 0);
    assert_same_file(dot, "tests/golden/traces/endings-trap-traps.dot");
}

/* ---- a real run: rings under trap-and-emulate ---- */


static const char *rings_trace(void)
{
    const char *t = tmp("rings.rtrace");
    static char path[128];
    if (rings_stats)
        return path;
    snprintf(path, sizeof path, "%s", t);
    CU_ASSERT_EQUAL(ringside_quiet("run", "--mode", "trap", "--trace", path, "--stats-json",
                                   tmp("rings-traced.json"), "samples/bin/rings.elf", NULL), 1);
    rings_stats = proc_read_file(tmp("rings-traced.json"), NULL);
    return path;
}

static void test_recording_changes_nothing(void)
{
    struct proc_result a, b;
    const char *tr = rings_trace();
    CU_ASSERT_PTR_NOT_NULL_FATAL(rings_stats);
    CU_ASSERT_EQUAL(ringside(&a, "run", "--mode", "trap", "--stats-json", tmp("plain.json"),
                             "samples/bin/rings.elf", NULL), 1);
    CU_ASSERT_EQUAL(ringside(&b, "run", "--mode", "trap", "--stats-json", tmp("again.json"),
                             "--trace", tmp("again.rtrace"), "samples/bin/rings.elf", NULL), 1);
    CU_ASSERT_STRING_EQUAL(a.out, b.out);
    char *plain = proc_read_file(tmp("plain.json"), NULL);
    CU_ASSERT(plain && !strcmp(plain, rings_stats));
    free(plain);
    proc_result_free(&a);
    proc_result_free(&b);
    (void)tr;
    /* per-instruction mode: same run, and one step record per instruction */
    CU_ASSERT_EQUAL(ringside(&a, "run", "--stats-json", tmp("hello.json"),
                             "samples/bin/hello.elf", NULL), 1);
    CU_ASSERT_EQUAL(ringside(&b, "run", "--stats-json", tmp("hello-i.json"), "--trace-insns",
                             "--trace", tmp("hello.rtrace"), "samples/bin/hello.elf", NULL), 1);
    CU_ASSERT_STRING_EQUAL(a.out, b.out);
    char *s1 = proc_read_file(tmp("hello.json"), NULL), *s2 = proc_read_file(tmp("hello-i.json"), NULL);
    CU_ASSERT(s1 && s2 && !strcmp(s1, s2));
    struct trace_reader r;
    struct event ev;
    uint64_t steps = 0;
    CU_ASSERT_EQUAL_FATAL(trace_open(&r, tmp("hello.rtrace")), 0);
    while (trace_next(&r, &ev) == 1)
        if (ev.kind == EV_INSNS && ev.d == 1)
            steps += ev.a;
    CU_ASSERT(s1 && (long long)steps == json_num(s1, NULL, "guest_insns"));
    CU_ASSERT(steps == r.end.insns);
    trace_close(&r);
    free(s1);
    free(s2);
    proc_result_free(&a);
    proc_result_free(&b);
    /* under trap too; under bt stepping would change the run: refused */
    CU_ASSERT_EQUAL(ringside_quiet("run", "--mode", "trap", "--stats-json", tmp("h1.json"),
                                   "samples/bin/hello.elf", NULL), 1);
    CU_ASSERT_EQUAL(ringside_quiet("run", "--mode", "trap", "--stats-json", tmp("h2.json"),
                                   "--trace-insns", "--trace", tmp("h.rtrace"),
                                   "samples/bin/hello.elf", NULL), 1);
    s1 = proc_read_file(tmp("h1.json"), NULL);
    s2 = proc_read_file(tmp("h2.json"), NULL);
    CU_ASSERT(s1 && s2 && !strcmp(s1, s2));
    free(s1);
    free(s2);
    if (ringside_quiet("run", "--mode", "bt", "--help", NULL) == 0)
        CU_ASSERT_EQUAL(ringside_quiet("run", "--mode", "bt", "--trace-insns", "--trace",
                                       tmp("h.rtrace"), "samples/bin/hello.elf", NULL), 2);
}

/* Sum of every `count=N` attribute in a DOT file. */
static long long dot_count_sum(const char *path)
{
    char *s = proc_read_file(path, NULL);
    long long sum = 0;
    for (const char *p = s; p && (p = strstr(p, "count=")); p += 6)
        sum += atoll(p + 6);
    free(s);
    return s ? sum : -1;
}

static long long dot_attr_sum(const char *path, const char *attr, const char *filter);

static void test_graphs(void)
{
    const char *tr = rings_trace();
    static const char *const graphs[] = { "rings", "traps" };
    CU_ASSERT_PTR_NOT_NULL_FATAL(rings_stats);
    for (int g = 0; g < 2; g++) {
        const char *dot = tmp(graphs[g]);
        CU_ASSERT_EQUAL(ringside_quiet("trace", "export", "--format", "dot", "--graph", graphs[g],
                                       tr, "-o", dot, NULL), 0);
        char *argv[] = { "dot", "-Tsvg", (char *)dot, "-o", (char *)tmp("g.svg"), NULL };
        struct proc_result r;
        CU_ASSERT_EQUAL(proc_run(argv, 60, &r), 0);
        CU_ASSERT_EQUAL(r.status, 0);
        proc_result_free(&r);
    }
    CU_ASSERT_EQUAL(dot_count_sum(tmp("rings")),
                    json_num(rings_stats, "\"ring_transitions\"", "total"));
    CU_ASSERT_EQUAL(dot_attr_sum(tmp("traps"), "count", "kind=trap"),
                    json_num(rings_stats, "\"traps\"", "total"));
    /* the silent sensitive instructions are in the traps graph too */
    CU_ASSERT_EQUAL(dot_attr_sum(tmp("traps"), "count", "kind=silent"),
                    json_num(rings_stats, "\"silent_sensitive\"", "total"));
    CU_ASSERT_EQUAL(dot_count_sum(tmp("traps")),
                    json_num(rings_stats, "\"traps\"", "total") +
                    json_num(rings_stats, "\"silent_sensitive\"", "total"));
    /* a trap trace has no translated blocks: a clear error, no empty picture */
    struct proc_result e;
    CU_ASSERT_EQUAL(ringside(&e, "trace", "export", "--format", "svg", "--graph", "blocks", tr,
                             "-o", tmp("empty.svg"), NULL), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.err, "no translated blocks in this trace (recorded under "
                                  "--mode trap"));
    CU_ASSERT_NOT_EQUAL(access(tmp("empty.svg"), F_OK), 0);
    proc_result_free(&e);
    CU_ASSERT_EQUAL(ringside_quiet("trace", "export", "--format", "svg", "--graph", "rings", tr,
                                   "-o", tmp("rings.svg"), NULL), 0);
    char *svg = proc_read_file(tmp("rings.svg"), NULL);
    /* rings.elf polls a tick count from ring 3, so how many system calls it
       makes follows trap mode's modeled timing: the edge must carry the
       run's own count of int 0x80 */
    char want[48];
    snprintf(want, sizeof want, "syscall x%lld",
             json_num(rings_stats, "\"soft_interrupts\"", "128"));
    CU_ASSERT(json_num(rings_stats, "\"soft_interrupts\"", "128") > 100);
    CU_ASSERT(svg && strstr(svg, "<svg") && strstr(svg, want));
    free(svg);
}

/* --mode hw: the exits graph. Its site -> reason edges add up to the run's
   VM exits (stats JSON), the reasons paging causes have their nodes, the
   injected #PF hangs from the injection node; a trace without exits is a
   clear error. */
static void test_exits_graph(void)
{
    const char *t = tmp("hw.trace"), *js = tmp("hw.json"), *dot = tmp("exits.dot");
    CU_ASSERT_EQUAL(ringside_quiet("run", "--mode", "hw", "--trace", t, "--stats-json", js,
                                   "samples/bin/paging.elf", NULL), 1);
    CU_ASSERT_EQUAL(ringside_quiet("trace", "export", "--format", "dot", "--graph", "exits", t,
                                   "-o", dot, NULL), 0);
    char *stats = proc_read_file(js, NULL), *text = proc_read_file(dot, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(stats);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_EQUAL(dot_attr_sum(dot, "count", "kind=exit"), json_num(stats, "\"vmexits\"", "total"));
    CU_ASSERT_EQUAL(dot_attr_sum(dot, "count", "kind=inject"),
                    json_num(stats, "\"injections\"", "total"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "exit 30: io"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "exit 0: exception"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "exit 28: cr-access"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "vector 14"));
    free(stats);
    free(text);
    struct proc_result e;
    CU_ASSERT_EQUAL(ringside(&e, "trace", "export", "--format", "dot", "--graph", "exits",
                             rings_trace(), NULL), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.err, "no VM exit in this trace (recorded under --mode trap"));
    proc_result_free(&e);
}

static const char chrome_check[] =
    "import json, sys\n"
    "d = json.load(open(sys.argv[1])); st = json.load(open(sys.argv[2]))\n"
    "ev = d['traceEvents']\n"
    "names = {e['args']['name'] for e in ev if e['ph'] == 'M' and e['name'] == 'thread_name'}\n"
    "assert {'direct', 'emulated', 'events'} <= names, names\n"
    "traps = sum(1 for e in ev if e['ph'] == 'i' and e['cat'] == 'trap')\n"
    "assert traps == st['traps']['total'], (traps, st['traps']['total'])\n"
    "rings = sum(1 for e in ev if e['ph'] == 'i' and e['cat'] == 'ring')\n"
    "assert rings == st['ring_transitions']['total'], rings\n"
    "spans = sum(round(e['dur'] * 1000) for e in ev if e['ph'] == 'X')\n"
    "assert spans == st['cycles']['total'], (spans, st['cycles']['total'])\n"
    "emu = [e for e in ev if e['ph'] == 'X' and e['name'] == 'emulated']\n"
    "assert 2 * len(emu) == st['world_switches'], len(emu)\n"
    "print('ok')\n";

static void test_chrome_and_csv(void)
{
    const char *tr = rings_trace(), *json = tmp("rings.json"), *csv = tmp("rings.csv");
    struct proc_result r;
    CU_ASSERT_EQUAL(ringside_quiet("trace", "export", "--format", "chrome", tr, "-o", json,
                                   NULL), 0);
    char *argv[] = { "python3", "-c", (char *)chrome_check, (char *)json,
                     (char *)tmp("rings-traced.json"), NULL };
    CU_ASSERT_EQUAL_FATAL(proc_run(argv, 60, &r), 0);
    CU_ASSERT_EQUAL(r.status, 0);
    if (r.status)
        fprintf(stderr, "chrome check: %s\n", r.err);
    proc_result_free(&r);
    CU_ASSERT_EQUAL(ringside_quiet("trace", "export", "--format", "csv", tr, "-o", csv, NULL), 0);
    struct trace_reader rd;
    CU_ASSERT_EQUAL_FATAL(trace_open(&rd, tr), 0);
    struct trace_counts c;
    char err[200];
    CU_ASSERT_EQUAL(trace_scan(&rd, &c, err, sizeof err), 0);
    CU_ASSERT_EQUAL((long long)c.by_kind[EV_TRAP], json_num(rings_stats, "\"traps\"", "total"));
    CU_ASSERT_EQUAL(c.by_kind[EV_WORLD_SWITCH],
                    (uint64_t)json_num(rings_stats, NULL, "world_switches"));
    trace_close(&rd);
    char *text = proc_read_file(csv, NULL);
    uint64_t lines = 0;
    for (const char *p = text; p && *p; p++)
        lines += *p == '\n';
    CU_ASSERT_EQUAL(lines, c.records + 1);     /* a header row, then one per event */
    free(text);
}

static void test_filtered_recording(void)
{
    const char *t = tmp("filtered.rtrace");
    CU_ASSERT_EQUAL_FATAL(ringside_quiet("run", "--mode", "trap", "--trace-events", "trap,end",
                                         "--trace", t, "tests/bin/end_exit.elf", NULL), 85);
    struct trace_reader r;
    struct event ev;
    unsigned traps = 0, other = 0;
    CU_ASSERT_EQUAL_FATAL(trace_open(&r, t), 0);
    CU_ASSERT_EQUAL(r.meta.event_mask, EV_BIT(EV_TRAP) | EV_BIT(EV_END));
    while (trace_next(&r, &ev) == 1)
        *(ev.kind == EV_TRAP ? &traps : &other) += 1;
    CU_ASSERT_EQUAL(traps, 8);    /* seven characters and the exit, each an `out` */
    CU_ASSERT_EQUAL(other, 1);    /* the end */
    trace_close(&r);
}

/* Sum of every `attr=N` in the attribute lists [...] of a DOT file (attr
   "count", "hits", ...), only in lists that also contain `filter` (NULL: all). */
static long long dot_attr_sum(const char *path, const char *attr, const char *filter)
{
    char *s = proc_read_file(path, NULL), key[32];
    long long sum = 0;
    snprintf(key, sizeof key, "%s=", attr);
    for (char *p = s; p && (p = strchr(p, '[')); ) {
        char *end = strchr(p, ']');
        if (!end)
            break;
        *end = 0;
        char *k = strstr(p, key);
        if (k && (k[-1] == '[' || k[-1] == ' ' || k[-1] == '\t') &&
            (!filter || strstr(p, filter)))
            sum += atoll(k + strlen(key));
        p = end + 1;
    }
    free(s);
    return s ? sum : -1;
}

static const char chrome_bt_check[] =
    "import json, sys\n"
    "d = json.load(open(sys.argv[1])); st = json.load(open(sys.argv[2]))\n"
    "ev = d['traceEvents']\n"
    "names = {e['args']['name'] for e in ev if e['ph'] == 'M' and e['name'] == 'thread_name'}\n"
    "assert {'direct', 'translated', 'emulated', 'events'} <= names, names\n"
    "tr = sum(1 for e in ev if e['ph'] == 'i' and e['cat'] == 'translate')\n"
    "assert tr == st['tc']['translations'], tr\n"
    "co = sum(1 for e in ev if e['ph'] == 'i' and e['cat'] == 'callout')\n"
    "assert co == st['callouts']['total'], co\n"
    "tcb = [e['args']['bytes'] for e in ev if e['ph'] == 'C' and e['name'] == 'tc bytes']\n"
    "assert st['tc']['flushes'] or tcb[-1] == st['tc']['tc_bytes'], tcb[-1]\n"
    "assert any(e['ph'] == 'C' and e['name'] == 'tc hit rate %' for e in ev)\n"
    "spans = sum(round(e['dur'] * 1000) for e in ev if e['ph'] == 'X')\n"
    "assert spans == st['cycles']['total'], (spans, st['cycles']['total'])\n";

/* Under --mode bt: the blocks graph and the Chrome tracks against the stats. */
static void test_bt_exports(void)
{
    const char *t = tmp("bt.rtrace"), *json = tmp("bt-stats.json"), *dot = tmp("bt.dot");
    if (ringside_quiet("run", "--mode", "bt", "--help", NULL) != 0)
        return;                              /* no bt engine in this build */
    CU_ASSERT_EQUAL_FATAL(ringside_quiet("run", "--mode", "bt", "--trace", t, "--stats-json",
                                         json, "samples/bin/rings.elf", NULL), 1);
    char *st = proc_read_file(json, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(st);
    CU_ASSERT_EQUAL(ringside_quiet("trace", "export", "--format", "dot", "--graph", "blocks", t,
                                   "--top", "0", "-o", dot, NULL), 0);
    CU_ASSERT_EQUAL(dot_attr_sum(dot, "hits", NULL), json_num(st, "\"tc\"", "hits"));
    CU_ASSERT_EQUAL(dot_attr_sum(dot, "translations", NULL),
                    json_num(st, "\"tc\"", "translations"));
    CU_ASSERT_EQUAL(dot_attr_sum(dot, "count", "kind=chain"), json_num(st, "\"tc\"", "chains"));
    char *argv[] = { "dot", "-Tsvg", (char *)dot, "-o", (char *)tmp("bt.svg"), NULL };
    struct proc_result r;
    CU_ASSERT_EQUAL(proc_run(argv, 60, &r), 0);
    CU_ASSERT_EQUAL(r.status, 0);
    proc_result_free(&r);
    CU_ASSERT_EQUAL(ringside_quiet("trace", "export", "--format", "chrome", t, "-o",
                                   tmp("bt.json"), NULL), 0);
    char *py[] = { "python3", "-c", (char *)chrome_bt_check, (char *)tmp("bt.json"),
                   (char *)json, NULL };
    CU_ASSERT_EQUAL_FATAL(proc_run(py, 60, &r), 0);
    CU_ASSERT_EQUAL(r.status, 0);
    if (r.status)
        fprintf(stderr, "chrome bt check: %s\n", r.err);
    proc_result_free(&r);
    free(st);
}

/* Width and height of a PNG file (its IHDR), or 0, 0. */
static void png_size(const char *path, unsigned *w, unsigned *h)
{
    size_t len;
    unsigned char *p = (unsigned char *)proc_read_file(path, &len);
    *w = *h = 0;
    if (p && len >= 24 && !memcmp(p + 1, "PNG", 3)) {
        *w = (unsigned)p[16] << 24 | (unsigned)p[17] << 16 | (unsigned)p[18] << 8 | p[19];
        *h = (unsigned)p[20] << 24 | (unsigned)p[21] << 16 | (unsigned)p[22] << 8 | p[23];
    }
    free(p);
}

/* The blocks graph of rings under bt fits a slide: clustered by function,
   the 20 hottest blocks by default, under 4000 px on its longest side
   (the flat graph of all 188 blocks was 22986x9909). */
static void test_blocks_graph_slide_sized(void)
{
    const char *t = tmp("bt.rtrace"), *png = tmp("blocks.png"), *dot = tmp("blocks-top.dot");
    if (ringside_quiet("run", "--mode", "bt", "--help", NULL) != 0)
        return;
    if (access(t, R_OK) != 0)
        CU_ASSERT_EQUAL_FATAL(ringside_quiet("run", "--mode", "bt", "--trace", t,
                                             "samples/bin/rings.elf", NULL), 1);
    CU_ASSERT_EQUAL(ringside_quiet("trace", "export", "--format", "png", "--graph", "blocks", t,
                                   "-o", png, NULL), 0);
    unsigned w, h;
    png_size(png, &w, &h);
    CU_ASSERT(w > 200 && h > 200);
    CU_ASSERT(w < 4000 && h < 4000);
    if (w >= 4000 || h >= 4000)
        fprintf(stderr, "\n  blocks graph %ux%u px\n", w, h);
    CU_ASSERT_EQUAL(ringside_quiet("trace", "export", "--format", "dot", "--graph", "blocks", t,
                                   "--top", "5", "-o", dot, NULL), 0);
    char *text = proc_read_file(dot, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    int nodes = 0;
    for (const char *q = text; (q = strstr(q, "address=")); q++)
        nodes++;
    CU_ASSERT_EQUAL(nodes, 5);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "subgraph cluster_"));   /* boxes per function */
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "label=trap_common"));   /* named from the symbols */
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "the 5 of "));
    free(text);
    CU_ASSERT_EQUAL(ringside_quiet("trace", "export", "--format", "dot", "--graph", "rings", t,
                                   "--top", "5", NULL), 2);
    /* the per-function view: every block and entry counted once, slide-sized */
    const char *fdot = tmp("functions.dot"), *fpng = tmp("functions.png");
    char *st = proc_read_file(tmp("bt-stats.json"), NULL);
    CU_ASSERT_EQUAL(ringside_quiet("trace", "export", "--format", "dot", "--graph", "functions",
                                   t, "-o", fdot, NULL), 0);
    if (st) {                        /* written by test_bt_exports from the same run */
        CU_ASSERT_EQUAL(dot_attr_sum(fdot, "hits", NULL), json_num(st, "\"tc\"", "hits"));
        CU_ASSERT_EQUAL(dot_attr_sum(fdot, "blocks", NULL),
                        json_num(st, "\"tc\"", "translations"));
    }
    free(st);
    CU_ASSERT_EQUAL(ringside_quiet("trace", "export", "--format", "png", "--graph", "functions",
                                   t, "-o", fpng, NULL), 0);
    png_size(fpng, &w, &h);
    CU_ASSERT(w > 200 && w < 4000 && h < 4000);
}

/* --trace-insns: every record, per-instruction or not, in cycle order. */
static void test_per_insn_order(void)
{
    const char *t = tmp("order.rtrace");
    CU_ASSERT_EQUAL_FATAL(ringside_quiet("run", "--mode", "trap", "--trace-insns", "--trace", t,
                                         "--max-insns", "20000", "samples/bin/rings.elf", NULL), 8);
    struct trace_reader r;
    struct event ev;
    uint64_t last = 0, n = 0, backwards = 0, io = 0;
    CU_ASSERT_EQUAL_FATAL(trace_open(&r, t), 0);
    while (trace_next(&r, &ev) == 1) {
        backwards += ev.cycle < last;
        last = ev.cycle;
        n += ev.kind == EV_INSNS;
        io += ev.kind == EV_IO;
    }
    trace_close(&r);
    CU_ASSERT(n >= 20000 && io > 100);   /* the steps interleave with the I/O they do */
    CU_ASSERT_EQUAL(backwards, 0);
}

/* CSV of one kind has named columns; several kinds keep a,b,c,d. */
static void test_csv_named_columns(void)
{
    const char *tr = rings_trace(), *csv = tmp("io.csv");
    CU_ASSERT_EQUAL(ringside_quiet("trace", "export", "--format", "csv", "--events", "io", tr,
                                   "-o", csv, NULL), 0);
    char *text = proc_read_file(csv, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT(!strncmp(text, "index,cycle,vm,kind,path,eip,port,size,write,value\n", 51));
    long long rows = -1;
    for (const char *q = text; (q = strchr(q, '\n')); q++)
        rows++;
    CU_ASSERT_EQUAL(rows, json_num(rings_stats, "\"io\"", "reads") +
                          json_num(rings_stats, "\"io\"", "writes"));
    CU_ASSERT_PTR_NULL(strstr(text, ",ring,"));               /* only the kind asked for */
    CU_ASSERT_PTR_NOT_NULL(strstr(text, ",0x3f8,1,1,"));      /* a COM1 byte written */
    free(text);
    CU_ASSERT_EQUAL(ringside_quiet("trace", "export", "--format", "chrome", "--events", "io",
                                   tr, NULL), 2);
}

void suite_traces_register(void)
{
    CU_pSuite s = CU_add_suite("traces", suite_init, suite_clean);
    CU_add_test(s, "format round trip", test_format_roundtrip);
    CU_add_test(s, "truncated/corrupted files are rejected", test_fuzz_mutations);
    CU_add_test(s, "trace command on bad files", test_cli_bad_files);
    CU_add_test(s, "golden CSV and DOT (endings.S)", test_golden_endings);
    CU_add_test(s, "recording does not change the run", test_recording_changes_nothing);
    CU_add_test(s, "graphs: dot accepts them, counts = stats", test_graphs);
    CU_add_test(s, "chrome JSON and CSV counts = stats", test_chrome_and_csv);
    CU_add_test(s, "--trace-events filter", test_filtered_recording);
    CU_add_test(s, "bt: blocks graph and Chrome tracks = stats", test_bt_exports);
    CU_add_test(s, "bt: blocks graph clustered, --top, under 4000 px", test_blocks_graph_slide_sized);
    CU_add_test(s, "--trace-insns rows in cycle order", test_per_insn_order);
    CU_add_test(s, "CSV of one kind: named columns", test_csv_named_columns);
    CU_add_test(s, "hw: the exits graph", test_exits_graph);
}
