/*
 * test_readme.c - the README's example figures are ringside's current output.
 *
 * README.md opens with two example runs whose figures (instructions, cycles,
 * traps, overhead, the silent sensitive instructions) are quoted between two
 * markers. scripts/readme-figures.sh runs the same commands; --check fails if
 * the quoted block differs. The golden here is the binary under test itself
 * on purpose: the test is about the documentation, not the engines (their
 * figures are checked against QEMU and the native engine elsewhere).
 *
 * Also the messages the README describes (issue 12's papercuts): tc-dump's
 * own help, tc-dump under another engine, --mode hw, the success line, and
 * which instruction count is which.
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"

/* The README's block matches what ringside prints now. */
static void test_readme_figures_current(void)
{
    char *argv[] = { "sh", "scripts/readme-figures.sh", "--check", NULL };
    struct proc_result r;
    CU_ASSERT_FATAL(proc_run(argv, 300, &r) == 0);
    if (r.status != 0)
        fprintf(stderr, "\n%s", r.err);
    CU_ASSERT_EQUAL(r.status, 0);
    proc_result_free(&r);
}

/* A README with one stale figure fails the check (the check can fail). */
static void test_readme_figures_stale_detected(void)
{
    size_t len;
    char *text = proc_read_file("README.md", &len);
    CU_ASSERT_FATAL(text != NULL);
    char *p = strstr(text, "guest instructions: ");
    CU_ASSERT_FATAL(p != NULL);
    p += strlen("guest instructions: ");
    *p = *p == '9' ? '1' : (char)(*p + 1);      /* one digit off */
    char path[] = "/tmp/rs_readme_XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fwrite(text, 1, len, f);
    fclose(f);
    free(text);
    char env[64];
    snprintf(env, sizeof env, "README=%s", path);
    char *argv[] = { "env", env, "sh", "scripts/readme-figures.sh", "--check", NULL };
    struct proc_result r;
    CU_ASSERT_FATAL(proc_run(argv, 300, &r) == 0);
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "--update"));
    proc_result_free(&r);
    remove(path);
}

static int run_rs(struct proc_result *r, char *a1, char *a2, char *a3, char *a4)
{
    char *argv[] = { (char *)proc_ringside(), a1, a2, a3, a4, NULL };
    CU_ASSERT_FATAL(proc_run(argv, 120, r) == 0);
    return r->status;
}

/* tc-dump --help is tc-dump's usage, not run's. */
static void test_tcdump_help(void)
{
    struct proc_result r;
    CU_ASSERT_EQUAL(run_rs(&r, "tc-dump", "--help", NULL, NULL), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "usage: ringside tc-dump"));
    CU_ASSERT_PTR_NULL(strstr(r.out, "usage: ringside run"));
    proc_result_free(&r);
}

/* tc-dump under an engine without a TC is an error, not a silent bt run. */
static void test_tcdump_other_mode(void)
{
    struct proc_result r;
    CU_ASSERT_EQUAL(run_rs(&r, "tc-dump", "--mode", "native", "samples/bin/hello.elf"), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "only --mode bt"));
    CU_ASSERT_EQUAL(r.out[0], 0);
    proc_result_free(&r);
    CU_ASSERT_EQUAL(run_rs(&r, "tc-dump", "--mode=trap", "samples/bin/hello.elf", NULL), 2);
    proc_result_free(&r);
    CU_ASSERT_EQUAL(run_rs(&r, "tc-dump", "--mode", "bt", "samples/bin/hello.elf"), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "translation cache: "));
    proc_result_free(&r);
}

/* --mode hw runs (the guest's success status); a misspelt mode lists it. */
static void test_mode_hw(void)
{
    struct proc_result r;
    CU_ASSERT_EQUAL(run_rs(&r, "run", "--mode", "hw", "samples/bin/hello.elf"), 1);
    proc_result_free(&r);
    CU_ASSERT_EQUAL(run_rs(&r, "run", "--mode", "hx", "samples/bin/hello.elf"), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "unknown mode"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "bt, hw)"));
    proc_result_free(&r);
}

/* The end line says what V the guest wrote and that V = 0 is success;
   -v labels guest and hardware instruction counts under bt. */
static void test_success_and_counts_labelled(void)
{
    struct proc_result r;
    CU_ASSERT_EQUAL(run_rs(&r, "run", "-v", "--mode=bt", "samples/bin/hello.elf"), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "guest wrote 0 to isa-debug-exit: exit status 1 (success)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "  guest instructions: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "  hardware instructions (incl. translated code): "));
    const char *hw = strstr(r.err, "(incl. translated code): ");
    long long insns = hw ? atoll(hw + strlen("(incl. translated code): ")) : -1;
    proc_result_free(&r);
    /* trace info's trailer count is the hardware one, and says so */
    char path[] = "/tmp/rs_readme_trace_XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    char *argv[] = { (char *)proc_ringside(), "run", "--mode", "bt", "--trace", path,
                     "samples/bin/hello.elf", NULL };
    CU_ASSERT_FATAL(proc_run(argv, 120, &r) == 0);
    proc_result_free(&r);
    CU_ASSERT_EQUAL(run_rs(&r, "trace", "info", path, NULL), 0);
    char want[96];
    snprintf(want, sizeof want, "retired:    %lld hardware instructions (incl. translated code",
             insns);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, want));
    proc_result_free(&r);
    remove(path);
}

void suite_readme_register(void)
{
    CU_pSuite s = CU_add_suite("readme", NULL, NULL);
    CU_add_test(s, "README figures are ringside's current output",
                test_readme_figures_current);
    CU_add_test(s, "a stale README figure fails the check", test_readme_figures_stale_detected);
    CU_add_test(s, "tc-dump --help is tc-dump's", test_tcdump_help);
    CU_add_test(s, "tc-dump --mode native is an error", test_tcdump_other_mode);
    CU_add_test(s, "--mode hw runs; unknown modes list it", test_mode_hw);
    CU_add_test(s, "success and instruction counts are labelled", test_success_and_counts_labelled);
}
