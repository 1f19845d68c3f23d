/*
 * test_host.c - several VMs on one host (sim/host, `ringside host`).
 *
 * What a hypervisor must guarantee, each checked against a run that shares
 * nothing: every VM's console is byte-identical to the same kernel run alone
 * (`ringside run`, whose output the samples suite checks against QEMU); a VM
 * that crashes ends with its own status while the others finish untouched;
 * proportional shares hold within 2 % over a long run; and a Type II host
 * pays a world switch per device access that a Type I host does not, so an
 * I/O-bound guest slows down and a compute-bound one does not.
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host/host.h"
#include "proc.h"

#define DIR_TMPL "/tmp/ringside-host-XXXXXX"

static char *solo_output(const char *kernel, const char *mode)
{
    char *argv[] = { (char *)proc_ringside(), "run", "--mode", (char *)mode, (char *)kernel, NULL };
    struct proc_result r;
    CU_ASSERT_EQUAL_FATAL(proc_run(argv, 300, &r), 0);
    free(r.err);
    return r.out;
}

/* `ringside host` with two VMs; each console file = its solo run. */
static void pair(const char *k1, const char *k2, const char *mode)
{
    char dir[] = DIR_TMPL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    char vm1[256], vm2[256];
    snprintf(vm1, sizeof vm1, "%s --mode %s --name a", k1, mode);
    snprintf(vm2, sizeof vm2, "%s --mode %s --name b --shares 3", k2, mode);
    char *argv[] = { (char *)proc_ringside(), "host", "--console-dir", dir, "--vm", vm1,
                     "--vm", vm2, NULL };
    struct proc_result r;
    CU_ASSERT_EQUAL_FATAL(proc_run(argv, 600, &r), 0);
    CU_ASSERT_EQUAL(r.status, 0);
    const char *kernels[2] = { k1, k2 }, *names[2] = { "a", "b" };
    for (int i = 0; i < 2; i++) {
        char path[300];
        snprintf(path, sizeof path, "%s/%s.out", dir, names[i]);
        char *got = proc_read_file(path, NULL), *want = solo_output(kernels[i], mode);
        CU_ASSERT_PTR_NOT_NULL_FATAL(got);
        if (strcmp(got, want))
            fprintf(stderr, "\n  host %s: %s's console differs from its solo run\n", mode,
                    kernels[i]);
        CU_ASSERT_STRING_EQUAL(got, want);
        free(got);
        free(want);
        unlink(path);
    }
    rmdir(dir);
    proc_result_free(&r);
}

static void test_consoles_trap(void)
{
    pair("samples/bin/hello.elf", "samples/bin/rings.elf", "trap");
    pair("samples/bin/exceptions.elf", "samples/bin/paging.elf", "trap");
}

static void test_consoles_bt(void)
{
    pair("samples/bin/compute.elf", "samples/bin/demo.elf", "bt");
    pair("samples/bin/smc.elf", "samples/bin/sensitive.elf", "bt");
}

/* A VM that triple-faults, one that halts for good and one that runs away
   end with their own statuses; the good one's console is its solo run. */
static void test_crash_isolation(void)
{
    char dir[] = DIR_TMPL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    char *argv[] = { (char *)proc_ringside(), "host", "--console-dir", dir,
                     "--vm", "tests/bin/end_triple.elf --name crash --mode trap",
                     "--vm", "samples/bin/rings.elf --name good --mode bt",
                     "--vm", "tests/bin/end_halt.elf --name halt --mode bt",
                     "--vm", "tests/bin/end_spin.elf --name spin --mode trap --max-insns 3000000",
                     "-v", NULL };
    struct proc_result r;
    CU_ASSERT_EQUAL_FATAL(proc_run(argv, 600, &r), 0);
    CU_ASSERT_EQUAL(r.status, 4);                 /* the first failing VM's status */
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "status 4"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "status 6"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "status 8"));
    char path[300];
    snprintf(path, sizeof path, "%s/good.out", dir);
    char *got = proc_read_file(path, NULL), *want = solo_output("samples/bin/rings.elf", "bt");
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_STRING_EQUAL(got, want);
    free(got);
    free(want);
    static const char *const names[] = { "crash", "good", "halt", "spin" };
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s.out", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
    proc_result_free(&r);
}

/* Two runaway guests with shares 1 and 3 get 25 % and 75 % of the CPU. */
static void test_shares(void)
{
    struct host h;
    struct host_config hc = { .type = HOST_TYPE1 };
    char err[256];
    host_init(&h, &hc);
    struct vm_config cfg = { .kernel_path = "tests/bin/end_spin.elf", .mode = MODE_BT };
    CU_ASSERT_EQUAL_FATAL(host_add_vm(&h, &cfg, "one", 1, 0, err, sizeof err), 0);
    cfg.mode = MODE_TRAP;
    CU_ASSERT_EQUAL_FATAL(host_add_vm(&h, &cfg, "three", 3, 0, err, sizeof err), 1);
    for (int i = 0; i < 400; i++)
        CU_ASSERT(host_step(&h) >= 0);
    CU_ASSERT_DOUBLE_EQUAL(host_cpu_share(&h, 0), 0.25, 0.02 * 0.25);
    CU_ASSERT_DOUBLE_EQUAL(host_cpu_share(&h, 1), 0.75, 0.02 * 0.75);
    CU_ASSERT(h.switches > 50);
    host_pause(&h, 1);                          /* a paused VM gets nothing */
    uint64_t before = h.vms[1].busy_cycles;
    for (int i = 0; i < 20; i++)
        CU_ASSERT_EQUAL(host_step(&h), 0);
    CU_ASSERT_EQUAL(h.vms[1].busy_cycles, before);
    host_free(&h);
}

/* One VM under a type-1 or type-2 host, run to its end: its modeled cycles. */
static struct vm *run_typed(const char *kernel, enum host_type type, struct host *h,
                            uint64_t budget)
{
    struct host_config hc = { .type = type };
    char err[256];
    host_init(h, &hc);
    struct vm_config cfg = { .kernel_path = kernel, .mode = MODE_TRAP };
    CU_ASSERT_EQUAL_FATAL(host_add_vm(h, &cfg, "vm", 1, budget, err, sizeof err), 0);
    while (host_step(h) >= 0)
        ;
    return h->vms[0].vm;
}

static void test_type2_costs_io(void)
{
    static struct host h1, h2;
    const char *io = "samples/bin/hello.elf", *cpu = "tests/bin/end_spin.elf";
    struct vm *a = run_typed(io, HOST_TYPE1, &h1, 0), *b = run_typed(io, HOST_TYPE2, &h2, 0);
    uint64_t ports = b->m.stats.io_reads + b->m.stats.io_writes;
    CU_ASSERT(ports > 100);
    CU_ASSERT_EQUAL(b->m.cpu.cycles - a->m.cpu.cycles,
                    ports * b->m.costs.v[COST_HOSTED_IO]);      /* one world switch per access */
    CU_ASSERT(b->m.cpu.cycles > a->m.cpu.cycles * 2);           /* I/O-bound: much slower */
    CU_ASSERT(b->m.stats.overhead_by_cause[OV_HOSTED_IO] > 0);
    host_free(&h1);
    host_free(&h2);
    a = run_typed(cpu, HOST_TYPE1, &h1, 20000000);               /* compute-bound: the same, */
    b = run_typed(cpu, HOST_TYPE2, &h2, 20000000);               /* but for its 8 port writes */
    CU_ASSERT(b->m.cpu.cycles - a->m.cpu.cycles < a->m.cpu.cycles / 100);
    host_free(&h1);
    host_free(&h2);
}

static void test_bad_command_lines(void)
{
    char *cases[][6] = {
        { "host", NULL },
        { "host", "--vm", "samples/bin/hello.elf --mode native", NULL },
        { "host", "--vm", "no/such.elf", NULL },
        { "host", "--vm", "samples/bin/hello.elf --shares 0", NULL },
        { "host", "--hypervisor", "type3", "--vm", "samples/bin/hello.elf", NULL },
        { "host", "--vm", "samples/bin/hello.elf --name x", "--vm", "samples/bin/hello.elf --name x", NULL },
    };
    for (unsigned i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *argv[8] = { (char *)proc_ringside() };
        for (int k = 0; k < 6 && cases[i][k]; k++)
            argv[k + 1] = cases[i][k];
        struct proc_result r;
        CU_ASSERT_EQUAL_FATAL(proc_run(argv, 60, &r), 0);
        CU_ASSERT_EQUAL(r.status, 2);
        CU_ASSERT_EQUAL(strchr(r.err, '\n'), r.err + strlen(r.err) - 1);   /* one line */
        proc_result_free(&r);
    }
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
}

static char *host_stats(char *const argv[], int *status)
{
    struct proc_result r;
    CU_ASSERT_EQUAL_FATAL(proc_run(argv, 300, &r), 0);
    *status = r.status;
    proc_result_free(&r);
    return proc_read_file("/tmp/rs_host_cfg_stats.json", NULL);
}

/* --config describes the same host as the command line: the statistics are
   identical (shares, names, kernels, type, slice all taken from the file);
   every VM's ended_at is the host cycle its run ended at. */
static void test_config_file(void)
{
    const char *cfg = "/tmp/rs_host_cfg.json", *out = "/tmp/rs_host_cfg_stats.json";
    write_text(cfg, "{\"hypervisor\": \"type2\", \"slice\": 500000, \"mem\": 64,"
                    " \"share_pages\": 64, \"share_period\": 2000000, \"vms\": ["
                    "{\"kernel\": \"samples/bin/hello.elf\", \"name\": \"a\", \"shares\": 3},"
                    "{\"kernel\": \"samples/bin/compute.elf\", \"mode\": \"trap\","
                    " \"append\": \"scale=2\", \"name\": \"b\"}]}");
    char *by_file[] = { (char *)proc_ringside(), "host", "--config", (char *)cfg,
                        "--stats-json", (char *)out, NULL };
    char *by_args[] = { (char *)proc_ringside(), "host", "--hypervisor", "type2", "--slice",
                        "500000", "--mem", "64", "--share-pages", "64", "--share-period", "2000000",
                        "--vm", "samples/bin/hello.elf --name a --shares 3", "--vm",
                        "samples/bin/compute.elf --mode trap --append scale=2 --name b",
                        "--stats-json", (char *)out, NULL };
    int s1, s2;
    char *a = host_stats(by_file, &s1), *b = host_stats(by_args, &s2);
    CU_ASSERT_EQUAL(s1, 0);
    CU_ASSERT_EQUAL(s2, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_STRING_EQUAL(a, b);
    CU_ASSERT_PTR_NOT_NULL(strstr(a, "\"type\": 2"));
    CU_ASSERT_PTR_NOT_NULL(strstr(a, "\"frames\": 16384"));     /* 64 MiB */
    /* the last VM to end ends when the host does */
    unsigned long long host_cycles = 0, end_a = 0, end_b = 0;
    sscanf(strstr(a, "\"host_cycles\": "), "\"host_cycles\": %llu", &host_cycles);
    sscanf(strstr(a, "\"ended_at\": "), "\"ended_at\": %llu", &end_a);
    sscanf(strstr(strstr(a, "\"ended_at\": ") + 1, "\"ended_at\": "), "\"ended_at\": %llu", &end_b);
    CU_ASSERT(end_a > 0 && end_a < end_b);
    CU_ASSERT_EQUAL(end_b, host_cycles);
    free(a);
    free(b);
    static const char *bad[] = {
        "{\"vms\": []}", "{\"vms\": [{\"kernel\": \"samples/bin/hello.elf\", \"frob\": 1}]}",
        "{\"vms\": [{\"kernel\": \"samples/bin/hello.elf\", \"shares\": 0}]}",
        "{\"vms\": [{\"name\": \"x\"}]}", "{\"hypervisor\": \"type3\", \"vms\": [1]}",
        "{\"vms\": [{\"kernel\": \"samples/bin/hello.elf\", \"append\": \"a'b\"}]}",
        "[1, 2", "{\"vms\": [{\"kernel\": \"samples/bin/hello.elf\"}], \"vms\": []}",
        "{\"mem\": 4, \"vms\": [{\"kernel\": \"samples/bin/hello.elf\"}]}",
        "{\"page_sharing\": \"no\", \"vms\": [{\"kernel\": \"samples/bin/hello.elf\"}]}",
        "{\"share_pages\": 0, \"vms\": [{\"kernel\": \"samples/bin/hello.elf\"}]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        write_text(cfg, bad[i]);
        char *argv[] = { (char *)proc_ringside(), "host", "--config", (char *)cfg, NULL };
        struct proc_result r;
        CU_ASSERT_EQUAL_FATAL(proc_run(argv, 60, &r), 0);
        CU_ASSERT_EQUAL(r.status, 2);
        CU_ASSERT_EQUAL(strchr(r.err, '\n'), r.err + strlen(r.err) - 1);   /* one line */
        CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "--config"));
        proc_result_free(&r);
    }
    remove(cfg);
    remove(out);
}

void suite_host_register(void)
{
    CU_pSuite s = CU_add_suite("host (several VMs, shares, isolation, type I/II)", NULL, NULL);
    CU_add_test(s, "trap: two VMs' consoles = their solo runs", test_consoles_trap);
    CU_add_test(s, "bt: two VMs' consoles = their solo runs", test_consoles_bt);
    CU_add_test(s, "a crash, a halt and a runaway leave the other VM intact", test_crash_isolation);
    CU_add_test(s, "shares 1:3 hold within 2%; a paused VM gets no CPU", test_shares);
    CU_add_test(s, "type II pays a world switch per device access", test_type2_costs_io);
    CU_add_test(s, "bad host command lines: one line, status 2", test_bad_command_lines);
    CU_add_test(s, "--config FILE = the same host on the command line; bad files refused",
                test_config_file);
}
