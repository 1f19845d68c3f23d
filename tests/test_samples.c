/*
 * test_samples.c - integration: the real `ringside run` against QEMU's answers.
 *
 * Three groups:
 *   - every sample kernel under --mode native prints exactly its golden output
 *     (tests/golden/NAME.out, produced by qemu-system-i386, never by ringside)
 *     and ends with QEMU's exit status (NAME.status);
 *   - the exit-status contract of `ringside run` (README, options.h): guest
 *     exit codes, triple fault, halt, budget, bad input, unknown options;
 *   - when qemu-system-i386 is installed, a differential run of each sample
 *     under QEMU right now, compared with ringside's output in the same test.
 */
#include <CUnit/CUnit.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"

static const char *const sample_names[] = {
    "hello", "compute", "rings", "sensitive", "exceptions", "paging", "smc", "demo",
};
#define NSAMPLES (sizeof sample_names / sizeof *sample_names)
#define BUDGET "2000000000"

/* Report the first differing line so a failure says what went wrong. */
static void show_difference(const char *name, const char *want, const char *got)
{
    int line = 1;
    const char *w = want, *g = got;
    while (*w && *w == *g) {
        if (*w == '\n')
            line++;
        w++, g++;
    }
    fprintf(stderr, "\n  %s: output differs at line %d:\n    want: %.80s\n    got:  %.80s\n",
            name, line, w, g);
}

static int run_ringside(const char *kernel, const char *extra, struct proc_result *r)
{
    char *argv[8];
    int n = 0;
    argv[n++] = (char *)proc_ringside();
    argv[n++] = "run";
    argv[n++] = "--max-insns";
    argv[n++] = BUDGET;
    if (extra)
        argv[n++] = (char *)extra;
    argv[n++] = (char *)kernel;
    argv[n] = NULL;
    return proc_run(argv, 300, r);
}

static void check_sample(const char *name)
{
    char kernel[128], golden[128], status_path[128];
    snprintf(kernel, sizeof kernel, "samples/bin/%s.elf", name);
    snprintf(golden, sizeof golden, "tests/golden/%s.out", name);
    snprintf(status_path, sizeof status_path, "tests/golden/%s.status", name);
    char *want = proc_read_file(golden, NULL);
    char *want_status = proc_read_file(status_path, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(want);
    CU_ASSERT_PTR_NOT_NULL_FATAL(want_status);
    struct proc_result r;
    CU_ASSERT_EQUAL_FATAL(run_ringside(kernel, "--append=", &r), 0);
    if (strcmp(want, r.out) != 0)
        show_difference(name, want, r.out);
    CU_ASSERT_STRING_EQUAL(r.out, want);
    if (r.status != atoi(want_status))
        fprintf(stderr, "\n  %s: exit status %d, QEMU %d; stderr: %s\n", name, r.status,
                atoi(want_status), r.err);
    CU_ASSERT_EQUAL(r.status, atoi(want_status));
    proc_result_free(&r);
    free(want);
    free(want_status);
}

#define SAMPLE_TEST(n) static void test_sample_##n(void) { check_sample(#n); }
SAMPLE_TEST(hello)
SAMPLE_TEST(compute)
SAMPLE_TEST(rings)
SAMPLE_TEST(sensitive)
SAMPLE_TEST(exceptions)
SAMPLE_TEST(paging)
SAMPLE_TEST(smc)
SAMPLE_TEST(demo)

/* ---- exit-status contract ----------------------------------------------- */

static void expect_status(char *const argv[], int status, const char *out, const char *err_has)
{
    struct proc_result r;
    CU_ASSERT_EQUAL_FATAL(proc_run(argv, 60, &r), 0);
    if (r.status != status)
        fprintf(stderr, "\n  %s %s: status %d, want %d; stderr: %s\n", argv[1],
                argv[2] ? argv[2] : "", r.status, status, r.err);
    CU_ASSERT_EQUAL(r.status, status);
    if (out)
        CU_ASSERT_STRING_EQUAL(r.out, out);
    if (err_has) {
        CU_ASSERT_PTR_NOT_NULL(strstr(r.err, err_has));
        int lines = 0;
        for (const char *p = r.err; *p; p++)
            lines += *p == '\n';
        CU_ASSERT_EQUAL(lines, 1);     /* one clear line */
    }
    proc_result_free(&r);
}

static void test_exit_guest_code(void)
{
    char *argv[] = { (char *)proc_ringside(), "run", "tests/bin/end_exit.elf", NULL };
    expect_status(argv, (0x2a << 1) | 1, "ending\n", NULL);
}

static void test_exit_triple_fault(void)
{
    char *argv[] = { (char *)proc_ringside(), "run", "tests/bin/end_triple.elf", NULL };
    expect_status(argv, 4, "ending\n", "triple fault");
}

static void test_exit_halted(void)
{
    char *argv[] = { (char *)proc_ringside(), "run", "tests/bin/end_halt.elf", NULL };
    expect_status(argv, 6, "ending\n", "interrupts disabled");
}

static void test_exit_budget(void)
{
    char *argv[] = { (char *)proc_ringside(), "run", "--max-insns", "5000",
                     "tests/bin/end_spin.elf", NULL };
    expect_status(argv, 8, "ending\n", "budget");
}

static void test_exit_bad_input(void)
{
    char *missing[] = { (char *)proc_ringside(), "run", "no/such/kernel.elf", NULL };
    expect_status(missing, 2, "", "no/such/kernel.elf");
    char *notelf[] = { (char *)proc_ringside(), "run", "README.md", NULL };
    expect_status(notelf, 2, "", "README.md");
    char *badopt[] = { (char *)proc_ringside(), "run", "--frobnicate", "x.elf", NULL };
    expect_status(badopt, 2, "", "--frobnicate");
    char *badmem[] = { (char *)proc_ringside(), "run", "--mem", "12abc",
                       "tests/bin/end_exit.elf", NULL };
    expect_status(badmem, 2, "", "--mem");
    char *badmode[] = { (char *)proc_ringside(), "run", "--mode", "warp",
                        "tests/bin/end_exit.elf", NULL };
    expect_status(badmode, 2, "", "warp");
    char *nokernel[] = { (char *)proc_ringside(), "run", NULL };
    expect_status(nokernel, 2, "", "no kernel");
    char *badcmd[] = { (char *)proc_ringside(), "fly", NULL };
    expect_status(badcmd, 2, "", "fly");
}

static void test_exit_help(void)
{
    char *argv[] = { (char *)proc_ringside(), "run", "--help", NULL };
    struct proc_result r;
    CU_ASSERT_EQUAL_FATAL(proc_run(argv, 30, &r), 0);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "--max-insns"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "--stats-json"));
    proc_result_free(&r);
}

static void test_stats_json(void)
{
    char path[] = "/tmp/ringside-stats-XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    char *argv[] = { (char *)proc_ringside(), "run", "--stats-json", path,
                     "tests/bin/end_exit.elf", NULL };
    expect_status(argv, 85, "ending\n", NULL);
    char *json = proc_read_file(path, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(json);
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"mode\": \"native\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"exit_status\": 85"));
    /* endings.S executes a countable number of instructions: 1 setup, 6 per
       byte of "ending\n" (7 bytes), 3 for the NUL, 3 to exit */
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"guest_insns\": 49,"));
    free(json);
    unlink(path);
}

/* ---- differential against QEMU ------------------------------------------ */

static bool have_qemu(void)
{
    return system("command -v qemu-system-i386 >/dev/null 2>&1") == 0;
}

static void test_qemu_differential(void)
{
    if (!have_qemu()) {
        fprintf(stderr, "\n  qemu-system-i386 not installed: differential test skipped\n");
        return;
    }
    for (unsigned i = 0; i < NSAMPLES; i++) {
        char kernel[128];
        snprintf(kernel, sizeof kernel, "samples/bin/%s.elf", sample_names[i]);
        char *qargv[] = { "qemu-system-i386", "-m", "32", "-kernel", kernel, "-serial",
                          "stdio", "-display", "none", "-no-reboot", "-device",
                          "isa-debug-exit,iobase=0xf4,iosize=0x04", "-append", "", NULL };
        struct proc_result q, r;
        CU_ASSERT_EQUAL_FATAL(proc_run(qargv, 60, &q), 0);
        CU_ASSERT_EQUAL_FATAL(run_ringside(kernel, "--append=", &r), 0);
        if (strcmp(q.out, r.out) != 0)
            show_difference(sample_names[i], q.out, r.out);
        CU_ASSERT_STRING_EQUAL(r.out, q.out);
        CU_ASSERT_EQUAL(r.status, q.status);
        proc_result_free(&q);
        proc_result_free(&r);
    }
}

void suite_samples_register(void)
{
    CU_pSuite s = CU_add_suite("samples (ringside run vs QEMU golden output)", NULL, NULL);
    CU_add_test(s, "hello", test_sample_hello);
    CU_add_test(s, "compute", test_sample_compute);
    CU_add_test(s, "rings", test_sample_rings);
    CU_add_test(s, "sensitive", test_sample_sensitive);
    CU_add_test(s, "exceptions", test_sample_exceptions);
    CU_add_test(s, "paging", test_sample_paging);
    CU_add_test(s, "smc", test_sample_smc);
    CU_add_test(s, "demo", test_sample_demo);
    CU_pSuite e = CU_add_suite("exit-status contract of ringside run", NULL, NULL);
    CU_add_test(e, "guest exit code (V<<1)|1", test_exit_guest_code);
    CU_add_test(e, "triple fault -> 4", test_exit_triple_fault);
    CU_add_test(e, "halt with IF=0 -> 6", test_exit_halted);
    CU_add_test(e, "budget -> 8", test_exit_budget);
    CU_add_test(e, "bad input -> 2", test_exit_bad_input);
    CU_add_test(e, "--help -> 0", test_exit_help);
    CU_add_test(e, "--stats-json", test_stats_json);
    CU_pSuite d = CU_add_suite("differential: ringside vs qemu-system-i386 now", NULL, NULL);
    CU_add_test(d, "every sample", test_qemu_differential);
}
