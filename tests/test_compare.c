/*
 * test_compare.c - the lecture's numbers: the overhead split by cause, the
 * lecture kernel against QEMU, and `ringside compare`.
 *
 * The figures a teacher puts on the screen must add up and must come from
 * the mechanisms: every cycle of overhead is charged to a cause (EV_OVERHEAD)
 * and the causes sum to the total; what is left after the overhead is what
 * the same guest work costs natively (checked against a native run of the
 * same kernel, which has no timer and so does exactly the same work); and
 * the compute-bound phase under bt lands in the 80-95 % of native that the
 * published BT VMMs reached, for the model's reasons (warm-up translation,
 * the TC's indirect-branch lookups).
 */
#include <CUnit/CUnit.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"
#include "vm.h"

#define LECTURE "samples/bin/lecture.elf"

static struct vm *run_lecture(enum machine_mode mode, const char *cmdline)
{
    char err[256];
    struct vm_config cfg = { .kernel_path = LECTURE, .cmdline = cmdline, .mode = mode };
    struct vm *vm = vm_create(&cfg, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(vm);
    CU_ASSERT_EQUAL(vm_run(vm, 2000000000ull), END_GUEST_EXIT);
    CU_ASSERT_EQUAL(vm->m.exit_code, 1);
    return vm;
}

static void check_split(enum machine_mode mode, uint64_t native_cycles)
{
    struct vm *vm = run_lecture(mode, "scale=2");
    const struct stats *st = &vm->m.stats;
    int64_t sum = 0;
    for (int k = 0; k < OV_COUNT; k++)
        sum += st->overhead_by_cause[k];
    CU_ASSERT_EQUAL(sum, st->overhead_cycles);
    CU_ASSERT(st->overhead_cycles != 0);
    /* what is left is the native cost of the same work: exact under trap;
       under bt within 1% (a rewritten instruction's in-TC sequence is priced
       by its own instructions: an in-TC cli costs 1 cycle where native pays 60) */
    double ne = (double)machine_native_equiv(&vm->m);
    CU_ASSERT_DOUBLE_EQUAL(ne, (double)native_cycles, mode == MODE_TRAP ? 0.5 : native_cycles * 0.01);
    if (mode == MODE_BT) {
        CU_ASSERT(st->overhead_by_cause[OV_TRANSLATE] > 0);     /* warm-up */
        CU_ASSERT(st->overhead_by_cause[OV_TC_CODE] > 0);       /* lookups */
        CU_ASSERT(st->overhead_by_cause[OV_CALLOUT] > 0);       /* iret, pop sreg */
        CU_ASSERT_EQUAL(st->overhead_by_cause[OV_TRAP], 0);
    } else {
        CU_ASSERT(st->overhead_by_cause[OV_REFLECT] > 0);       /* int 0x80, #GP */
        CU_ASSERT_EQUAL(st->overhead_by_cause[OV_TRANSLATE], 0);
    }
    CU_ASSERT(st->overhead_by_cause[OV_IO] < 0);    /* emulated ports beat real ones */
    vm_destroy(vm);
}

static void test_overhead_split(void)
{
    struct vm *n = run_lecture(MODE_NATIVE, "scale=2");
    uint64_t native_cycles = n->m.cpu.cycles;
    CU_ASSERT_EQUAL(n->m.stats.overhead_cycles, 0);
    vm_destroy(n);
    check_split(MODE_TRAP, native_cycles);
    check_split(MODE_BT, native_cycles);
}

/* The lecture kernel prints what QEMU prints, under every engine. */
static void test_lecture_golden(void)
{
    char *want = proc_read_file("tests/golden/lecture.out", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(want);
    static const char *const modes[] = { "native", "trap", "bt" };
    for (int i = 0; i < 3; i++) {
        char *argv[] = { (char *)proc_ringside(), "run", "--mode", (char *)modes[i],
                         "--max-insns", "2000000000", LECTURE, NULL };
        struct proc_result r;
        CU_ASSERT_EQUAL_FATAL(proc_run(argv, 300, &r), 0);
        CU_ASSERT_STRING_EQUAL(r.out, want);
        CU_ASSERT_EQUAL(r.status, 1);
        proc_result_free(&r);
    }
    free(want);
}

/* The % of native of `engine` (1 trap, 2 bt, 6 hw) in phase's row of the CSV. */
static double compare_pct(const char *csv, const char *phase, int engine)
{
    char key[32];
    snprintf(key, sizeof key, "\n%s,", phase);
    const char *p = strstr(csv, key);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    for (int field = 0; field < 1 + engine; field++)    /* phase,native,trap,bt */
        p = strchr(p + 1, ',');
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    return strtod(p + 1, NULL);
}

static char *run_compare(bool csv, int *status)
{
    char *argv[] = { (char *)proc_ringside(), "compare", "--max-insns", "2000000000",
                     LECTURE, csv ? "--csv" : NULL, NULL };
    struct proc_result r;
    CU_ASSERT_EQUAL_FATAL(proc_run(argv, 600, &r), 0);
    *status = r.status;
    free(r.err);
    return r.out;
}

static void test_compare_lecture(void)
{
    int status;
    char *csv = run_compare(true, &status);
    CU_ASSERT_EQUAL(status, 0);                   /* every engine printed the same */
    CU_ASSERT(strncmp(csv, "phase,native_cycles,trap_pct,bt_pct,", 36) == 0);
    double bt_compute = compare_pct(csv, "compute", 2);
    if (bt_compute < 80 || bt_compute > 95)
        fprintf(stderr, "\n  compare: bt compute %.1f%% of native\n%s", bt_compute, csv);
    CU_ASSERT(bt_compute >= 80 && bt_compute <= 95);
    CU_ASSERT(compare_pct(csv, "syscall", 2) < 50);        /* the kernel's work costs */
    CU_ASSERT(compare_pct(csv, "fault", 2) < 50);
    CU_ASSERT(compare_pct(csv, "io", 2) > 100);            /* emulated ports are cheap */
    /* hw (field 7: hw_pct): system calls and faults are the guest's own at
       ring 0 in non-root mode: no exit, within a few % of native */
    CU_ASSERT(compare_pct(csv, "syscall", 6) > 95);
    CU_ASSERT(compare_pct(csv, "fault", 6) > 95);
    free(csv);
    char *table = run_compare(false, &status);
    CU_ASSERT_PTR_NOT_NULL(strstr(table, "fast because wrong"));
    CU_ASSERT_PTR_NOT_NULL(strstr(table, "callout"));
    free(table);
}

void suite_compare_register(void)
{
    CU_pSuite s = CU_add_suite("compare (overhead by cause, the lecture kernel)", NULL, NULL);
    CU_add_test(s, "overhead causes sum to the total; the rest is native's cost",
                test_overhead_split);
    CU_add_test(s, "lecture under every engine = QEMU golden", test_lecture_golden);
    CU_add_test(s, "ringside compare: bt compute 80-95% of native, kernel work below",
                test_compare_lecture);
}
