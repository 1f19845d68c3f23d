/*
 * test_fastpath.c - the CPU's fast paths give exactly the reference
 * interpreter's results.
 *
 * The run loop executes a predecoded block at a time and runs handlers
 * specialised per operand form (sim/cpu/block.c, forms.c); `--reference-cpu`
 * runs the definition instead: one instruction at a time through the full
 * pipeline, each row's generic handler. For every sample kernel under every
 * engine, both must print the same bytes, end with the same status, write
 * the same stats JSON (guest instructions, modeled cycles, paths, traps,
 * every counter) and record the same event trace, byte for byte. Long
 * samples are cut with --max-insns, which must stop at the same instruction
 * either way; a few cuts land at odd places on purpose (the budget ending
 * inside a block). A fast path that miscounts a block, skips an interrupt
 * check, runs past the budget or picks a wrong form fails here.
 */
#include <CUnit/CUnit.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"

static const char *const samples[] = {
    "apicmap", "hello", "compute", "demo", "echo", "exceptions", "fwcfg", "hypercall", "kbd", "lapic",
    "lecture",
    "memfill", "mptable", "nanobench", "paging", "rings", "rtc", "sensitive", "smc", "writer",
};
static const char *const modes[] = { "native", "trap", "bt", "hw" };

struct outcome {
    struct proc_result r;
    char *stats, *trace;
    size_t trace_len;
};

static char *take_file(const char *path, size_t *len)
{
    size_t n = 0;
    char *text = proc_read_file(path, &n);
    remove(path);
    if (len)
        *len = n;
    return text ? text : strdup("");
}

static void run_one(const char *sample, const char *mode, const char *cut, bool reference,
                    struct outcome *o)
{
    char cmd[1024], stats[64], trace[64];
    snprintf(stats, sizeof stats, "/tmp/rs_fp_%d_%d.json", (int)getpid(), (int)reference);
    snprintf(trace, sizeof trace, "/tmp/rs_fp_%d_%d.rtrace", (int)getpid(), (int)reference);
    bool kbd = !strcmp(sample, "kbd");
    const char *in = !strcmp(sample, "echo") ? "tests/golden/echo.in"
                     : kbd ? "tests/golden/kbd.in" : "/dev/null";
    snprintf(cmd, sizeof cmd, "%s run --mode %s %s %s %s --stats-json %s --trace %s "
             "samples/bin/%s.elf < %s", proc_ringside(), mode, cut,
             reference ? "--reference-cpu" : "", kbd ? "--keyboard" : "", stats, trace, sample, in);
    char *argv[] = { "sh", "-c", cmd, NULL };
    CU_ASSERT_FATAL(proc_run(argv, 600, &o->r) == 0);
    o->stats = take_file(stats, NULL);
    o->trace = take_file(trace, &o->trace_len);
}

static void outcome_free(struct outcome *o)
{
    proc_result_free(&o->r);
    free(o->stats);
    free(o->trace);
}

static void compare(const char *sample, const char *mode, const char *cut)
{
    struct outcome fast, ref;
    run_one(sample, mode, cut, false, &fast);
    run_one(sample, mode, cut, true, &ref);
    bool same = fast.r.status == ref.r.status && !strcmp(fast.r.out, ref.r.out) &&
                !strcmp(fast.stats, ref.stats) && fast.trace_len == ref.trace_len &&
                !memcmp(fast.trace, ref.trace, fast.trace_len);
    CU_ASSERT(same);
    CU_ASSERT(strstr(fast.stats, "\"guest_insns\"") != NULL);
    if (!same)
        fprintf(stderr, "\n%s --mode %s %s: status %d/%d, output %s, stats %s, trace %s\n",
                sample, mode, cut, fast.r.status, ref.r.status,
                strcmp(fast.r.out, ref.r.out) ? "differs" : "same",
                strcmp(fast.stats, ref.stats) ? "differ" : "same",
                fast.trace_len != ref.trace_len || memcmp(fast.trace, ref.trace, fast.trace_len)
                    ? "differs" : "same");
    outcome_free(&fast);
    outcome_free(&ref);
}

/* Every sample, every engine, the first 2 million instructions (all of the
   short samples). */
static void test_every_sample(void)
{
    for (size_t s = 0; s < sizeof samples / sizeof samples[0]; s++)
        for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++)
            compare(samples[s], modes[m], "--max-insns 2000000");
}

/* Budgets that end at odd instructions, inside blocks and loops. */
static void test_odd_cuts(void)
{
    static const char *const cuts[] = { "--max-insns 1", "--max-insns 7", "--max-insns 12345",
                                        "--max-insns 654321" };
    for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++)
        for (size_t m = 0; m < 3; m++)
            compare("demo", modes[m], cuts[c]);
}

void suite_fastpath_register(void)
{
    CU_pSuite s = CU_add_suite("fastpath", NULL, NULL);
    CU_add_test(s, "blocks and forms = the reference interpreter: every sample, engine",
                test_every_sample);
    CU_add_test(s, "blocks and forms = the reference interpreter: odd --max-insns cuts",
                test_odd_cuts);
}
