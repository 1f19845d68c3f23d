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
#include <arpa/inet.h>
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
#include "host/ctlclient.h"
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
    int64_t hidden;                     /* cycles charged for hidden faults */
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
    s->hidden = vm->m.stats.overhead_by_cause[OV_HIDDEN_FAULT];
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
                    /* a host VM's 1:1 map of machine frames is filled on first
                       touch (hidden faults) and rebuilt at the target, as the
                       shadow tables of a paging guest are: all else is equal */
                    int64_t hidden = t->stats.overhead_by_cause[OV_HIDDEN_FAULT];
                    CU_ASSERT(hidden > solo.hidden);
                    if (!uses_paging(names[k]))
                        CU_ASSERT_EQUAL(t->cpu.cycles - (uint64_t)hidden,
                                        solo.cycles - (uint64_t)solo.hidden);
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

/* A link that keeps a copy of every request it passes to the target. */
struct tape {
    struct mig_link l;
    struct mig_link *inner;
    char *lines[4096];
    int n;
};

static int tape_send(void *ctx, const char *line)
{
    struct tape *t = ctx;
    if (t->n < 4096)
        t->lines[t->n++] = strdup(line);
    return t->inner->send(t->inner->ctx, line);
}

static char *tape_recv(void *ctx)
{
    struct tape *t = ctx;
    return t->inner->recv(t->inner->ctx);
}

/* The migration stream of a real migration, each line mutated (bytes
   flipped, cut short) and fed to a fresh target 3000 times: always one
   JSON reply, never a crash; then the stream itself still works. */
static void test_mutated_stream(void)
{
    struct pair p;
    struct mig_report rep;
    struct mig_options o = { .latency_us = 10, .latency_given = true };
    char err[256];
    pair_init(&p, "samples/bin/exceptions.elf", MODE_BT);
    run_to(&p, 20000);
    struct tape t = { .inner = mig_link_local(&p.dst) };
    t.l = (struct mig_link){ .send = tape_send, .recv = tape_recv, .ctx = &t };
    CU_ASSERT_EQUAL_FATAL(migrate_vm(&p.src, p.vm, &t.l, &o, &rep, err, sizeof err), 0);
    mig_link_close(t.inner);
    CU_ASSERT_FATAL(t.n >= 4);
    struct host h;
    struct host_config hc = { 0 };
    struct control_effect fx;
    host_init(&h, &hc);
    srand(16);
    int errors = 0;
    for (int k = 0; k < 3000; k++) {
        const char *line = t.lines[k % t.n];
        char *m = strdup(line);
        size_t len = strlen(m);
        for (int f = 0; f < 1 + rand() % 4; f++)
            m[rand() % len] = (char)(rand() % 256 ? rand() % 256 : 1);
        if (rand() % 8 == 0)
            m[rand() % len] = 0;                     /* cut short */
        char *r = control_handle(&h, m, &fx);
        CU_ASSERT_PTR_NOT_NULL_FATAL(r);
        json_t *j = json_loads(r, 0, NULL);
        CU_ASSERT(json_is_object(j));
        errors += json_object_get(j, "error") != NULL;
        json_decref(j);
        free(r);
        free(m);
        if (k % t.n == t.n - 1)                      /* a fresh start now and then */
            for (int i = h.nvms - 1; i >= 0; i--)
                host_remove(&h, i);
    }
    CU_ASSERT(errors > 2500);
    host_free(&h);
    host_init(&h, &hc);                              /* the untouched stream still works */
    for (int k = 0; k < t.n; k++) {
        char *r = control_handle(&h, t.lines[k], &fx);
        CU_ASSERT_PTR_NOT_NULL(strstr(r, "\"return\""));
        free(r);
        free(t.lines[k]);
    }
    CU_ASSERT_EQUAL_FATAL(h.nvms, 1);
    struct console out = { 0 };
    h.vms[0].vm->m.out = console_put;
    h.vms[0].vm->m.out_ctx = &out;
    struct machine *m = run_out(&h);
    size_t glen;
    char *want = read_file("tests/golden/exceptions.out", &glen);
    CU_ASSERT(want && p.out.len + out.len == glen && !memcmp(p.out.buf, want, p.out.len) &&
              !memcmp(out.buf, want + p.out.len, out.len));
    CU_ASSERT(m && exit_status(m) == golden_status("exceptions"));
    free(want);
    free(out.buf);
    host_free(&h);
    pair_free(&p);
}

/* ---- two real host processes ---- */

#define TOKEN_FILE "/tmp/ringside-migrate.tok"

static pid_t spawn_host_with(const char *port, const char *dir, char *x1, char *x2, char *x3,
                             char *x4)
{
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%s", port);
    pid_t pid = fork();
    if (pid == 0) {
        char *argv[] = { (char *)proc_ringside(), "host", "--control", addr, "--token-file",
                         TOKEN_FILE, "--console-dir", (char *)dir, x1, x2, x3, x4, NULL };
        if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
            _exit(126);
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static pid_t spawn_host(const char *port, const char *dir)
{
    return spawn_host_with(port, dir, NULL, NULL, NULL, NULL);
}

/* ringside ctl --token-file TOKEN 127.0.0.1:PORT WORDS... */
static int ctl(struct proc_result *r, const char *port, char *w1, char *w2, char *w3, char *w4,
               char *w5)
{
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%s", port);
    char *argv[] = { (char *)proc_ringside(), "ctl", "--token-file", TOKEN_FILE, addr,
                     w1, w2, w3, w4, w5, NULL };
    return proc_run(argv, 120, r);
}

/* One request over a direct connection (fast: no process to start); true
   for a "return" reply, whose text goes to *reply if given (malloc'd). */
static bool ask(const char *port, const char *request, char **reply)
{
    char addr[32], err[256], tok[64];
    struct ctl_conn *c = calloc(1, sizeof *c);
    snprintf(addr, sizeof addr, "127.0.0.1:%s", port);
    bool ok = c && ctlc_connect(c, addr, true, 30000, err, sizeof err) == 0 &&
              ctlc_read_token(TOKEN_FILE, tok, sizeof tok) == 0 && ctlc_auth(c, tok) == 0 &&
              ctlc_send_line(c, request) == 0;
    char *line = ok ? ctlc_line(c) : NULL;
    ok = line && strstr(line, "\"return\"") != NULL;
    if (reply)
        *reply = line;
    else
        free(line);
    if (c)
        ctlc_close(c);
    free(c);
    return ok;
}

static bool wait_listening(const char *port)
{
    for (int i = 0; i < 500; i++) {
        if (ask(port, "{\"execute\":\"list\"}", NULL))
            return true;
        usleep(20000);
    }
    return false;
}

/* Until VM w has ended on the host at port (at most ~2 minutes). */
static bool wait_ended(const char *port)
{
    for (int i = 0; i < 2400; i++) {
        char *reply = NULL;
        bool ended = ask(port, "{\"execute\":\"list\"}", &reply) && strstr(reply, "\"ended\"");
        free(reply);
        if (ended)
            return true;
        usleep(50000);
    }
    return false;
}

#define CREATE_W "{\"execute\":\"create\",\"arguments\":{\"kernel\":\"" WRITER "\",\"name\":\"w\",\"mode\":\"%s\"}}"
#define START_W "{\"execute\":\"start\",\"arguments\":{\"vm\":\"w\"}}"
#define QUIT "{\"execute\":\"quit\"}"

static bool create_and_start(const char *port, const char *mode)
{
    char req[256];
    snprintf(req, sizeof req, CREATE_W, mode);
    return ask(port, req, NULL) && ask(port, START_W, NULL);
}

static void reap(pid_t pid)
{
    int st;
    for (int i = 0; i < 250; i++) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return;
        usleep(20000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
}

static void write_token(void)
{
    int fd = open(TOKEN_FILE, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT(write(fd, "migrate-test-token\n", 19) == 19);
    close(fd);
}

/* dir/w.out (+ other/w.out) equals the golden output of the writer. */
static bool consoles_equal_golden(const char *dir, const char *other)
{
    char path[256];
    size_t a = 0, b = 0, g;
    snprintf(path, sizeof path, "%s/w.out", dir);
    char *sa = proc_read_file(path, &a), *sb = NULL;
    if (other) {
        snprintf(path, sizeof path, "%s/w.out", other);
        sb = proc_read_file(path, &b);
    }
    char *want = proc_read_file("tests/golden/dirty_migrate.out", &g);
    bool same = want && a + b == g && (!a || !memcmp(sa, want, a)) && (!b || !memcmp(sb, want + a, b));
    if (!same)
        printf("\n  consoles: %zu + %zu bytes, golden %zu\n", a, b, g);
    free(sa);
    free(sb);
    free(want);
    return same;
}

static void make_dirs(char *root, char *a, char *b)
{
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(root));
    sprintf(a, "%s/a", root);
    sprintf(b, "%s/b", root);
    CU_ASSERT_FATAL(mkdir(a, 0700) == 0 && mkdir(b, 0700) == 0);
}

static void remove_dirs(const char *root, const char *a, const char *b)
{
    char path[300];
    snprintf(path, sizeof path, "%s/w.out", a);
    remove(path);
    snprintf(path, sizeof path, "%s/w.out", b);
    remove(path);
    rmdir(a);
    rmdir(b);
    rmdir(root);
}

/* The writer starts on one process and ends on the other: the two console
   files together are its QEMU golden output. Then the maintenance case:
   `ctl drain` moves every VM (a second one, paused, stays paused). */
static void test_two_processes(void)
{
    char root[] = "/tmp/ringside-mig-XXXXXX", a[64], b[64];
    make_dirs(root, a, b);
    write_token();
    pid_t dst = spawn_host("47621", b), src = spawn_host("47620", a);
    CU_ASSERT_FATAL(wait_listening("47620") && wait_listening("47621"));
    CU_ASSERT(create_and_start("47620", "bt"));
    struct proc_result r;
    CU_ASSERT_EQUAL(ctl(&r, "47620", "migrate", "w", "--to", "127.0.0.1:47621", NULL), 0);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "moved to 127.0.0.1:47621"));
    if (r.status != 0)
        printf("\n  ctl migrate: %s", r.err);
    proc_result_free(&r);
    CU_ASSERT(ask("47620", "{\"execute\":\"create\",\"arguments\":{\"kernel\":"
                           "\"samples/bin/hello.elf\",\"name\":\"p\",\"mode\":\"trap\"}}", NULL));
    CU_ASSERT(ask("47620", "{\"execute\":\"create\",\"arguments\":{\"kernel\":"
                           "\"samples/bin/hello.elf\",\"name\":\"q\",\"mode\":\"bt\"}}", NULL));
    CU_ASSERT_EQUAL(ctl(&r, "47620", "drain", "--to", "127.0.0.1:47621", NULL, NULL), 0);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "moved: [\"p\",\"q\"]"));
    if (!strstr(r.out, "moved: [\"p\",\"q\"]"))
        printf("\n  ctl drain: %s%s", r.out, r.err);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "failed: []"));
    proc_result_free(&r);
    char *list = NULL;
    CU_ASSERT(ask("47620", "{\"execute\":\"list\"}", &list) && strstr(list, "\"return\":[]"));
    free(list);
    CU_ASSERT(ask("47621", "{\"execute\":\"list\"}", &list) && strstr(list, "\"paused\""));
    free(list);
    CU_ASSERT(wait_ended("47621"));
    CU_ASSERT(ask("47621", QUIT, NULL));
    CU_ASSERT(ask("47620", QUIT, NULL));
    reap(src);
    reap(dst);
    CU_ASSERT(consoles_equal_golden(a, b));
    remove_dirs(root, a, b);
}

/* A proxy between the source and the target: bytes pass both ways until
   the source sends its first round-2 message; then the target process is
   killed with SIGKILL, reaped, and both connections are closed. */
struct proxy {
    int listen_fd;
    int to_port;
    pid_t target;
    bool killed;
    int target_status;
};

static int tcp_listen(int port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(0x7f000001) };
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 4) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int tcp_connect(int port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(0x7f000001) };
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void *proxy_main(void *arg)
{
    struct proxy *px = arg;
    int c = accept(px->listen_fd, NULL, NULL), t = c >= 0 ? tcp_connect(px->to_port) : -1;
    char buf[65536 + 16], tail[16] = "";
    while (c >= 0 && t >= 0 && !px->killed) {
        struct pollfd p[2] = { { .fd = c, .events = POLLIN }, { .fd = t, .events = POLLIN } };
        if (poll(p, 2, 30000) <= 0)
            break;
        int from = (p[0].revents & (POLLIN | POLLHUP)) ? c : t, to = from == c ? t : c;
        size_t keep = strlen(tail);
        memcpy(buf, tail, keep);
        ssize_t n = recv(from, buf + keep, sizeof buf - keep - 1, 0);
        if (n <= 0)
            break;
        buf[keep + (size_t)n] = 0;
        if (from == c && strstr(buf, "\"round\":2,")) {
            kill(px->target, SIGKILL);               /* the target dies mid-round */
            waitpid(px->target, &px->target_status, 0);
            px->killed = true;
            break;
        }
        if (send(to, buf + keep, (size_t)n, MSG_NOSIGNAL) != n)
            break;
        if (from == c) {                             /* a pattern across two reads */
            size_t len = keep + (size_t)n, k = len < 15 ? len : 15;
            memcpy(tail, buf + len - k, k);
            tail[k] = 0;
        }
    }
    if (c >= 0)
        close(c);
    if (t >= 0)
        close(t);
    return NULL;
}

static void test_target_killed_in_round_2(void)
{
    char root[] = "/tmp/ringside-mig-XXXXXX", a[64], b[64];
    make_dirs(root, a, b);
    write_token();
    pid_t dst = spawn_host("47622", b), src = spawn_host("47624", a);
    CU_ASSERT_FATAL(wait_listening("47622") && wait_listening("47624"));
    struct proxy px = { .listen_fd = tcp_listen(47623), .to_port = 47622, .target = dst };
    CU_ASSERT_FATAL(px.listen_fd >= 0);
    pthread_t th;
    CU_ASSERT_FATAL(pthread_create(&th, NULL, proxy_main, &px) == 0);
    CU_ASSERT(create_and_start("47624", "trap"));
    struct proc_result r;
    CU_ASSERT_EQUAL(ctl(&r, "47624", "migrate", "w", "--to", "127.0.0.1:47623", "stop_pages=1"), 0);
    CU_ASSERT_EQUAL(r.status, 1);                        /* MigrationFailed */
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "MigrationFailed"));
    proc_result_free(&r);
    pthread_join(th, NULL);
    close(px.listen_fd);
    CU_ASSERT(px.killed);
    CU_ASSERT(WIFSIGNALED(px.target_status) && WTERMSIG(px.target_status) == SIGKILL);
    if (!px.killed) {
        kill(dst, SIGKILL);
        waitpid(dst, NULL, 0);
    }
    CU_ASSERT(wait_ended("47624"));                      /* it finished at the source */
    CU_ASSERT(ask("47624", QUIT, NULL));
    reap(src);
    CU_ASSERT(consoles_equal_golden(a, NULL));           /* all of it, nothing lost */
    remove_dirs(root, a, b);
}

/* The guest instructions of VM w on the host at port (0: not there). */
static uint64_t guest_insns_of(const char *port)
{
    char *reply = NULL;
    uint64_t n = 0;
    if (ask(port, "{\"execute\":\"stats\",\"arguments\":{\"vm\":\"w\"}}", &reply)) {
        json_t *j = json_loads(reply, 0, NULL);
        n = (uint64_t)json_integer_value(json_object_get(json_object_get(j, "return"), "guest_insns"));
        json_decref(j);
    }
    free(reply);
    return n;
}

/* Disaster recovery: the primary checkpoints w to the standby every 4 M
   guest instructions and is killed with SIGKILL after the second; `ctl
   recover` on the standby resumes the last checkpoint, which ends the run:
   the primary's console is a prefix of the golden output, the standby's a
   suffix, and together they cover all of it (the output between the
   checkpoint and the crash is printed twice; nothing is missing). */
static void test_primary_killed_standby_recovers(void)
{
    char root[] = "/tmp/ringside-mig-XXXXXX", a[64], b[64];
    make_dirs(root, a, b);
    write_token();
    pid_t standby = spawn_host("47651", b);
    CU_ASSERT_FATAL(wait_listening("47651"));
    pid_t primary = spawn_host_with("47650", a, "--replicate-to", "127.0.0.1:47651", "--every",
                                    "4000000");
    CU_ASSERT_FATAL(wait_listening("47650"));
    CU_ASSERT(create_and_start("47650", "trap"));
    uint64_t at = 0;
    for (int k = 0; k < 3000 && (at = guest_insns_of("47650")) < 13000000; k++)
        usleep(10000);
    CU_ASSERT(at >= 13000000 && at < 40000000);          /* past two checkpoints, not ended */
    int st;
    kill(primary, SIGKILL);
    CU_ASSERT_EQUAL(waitpid(primary, &st, 0), primary);
    CU_ASSERT(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    struct proc_result r;
    CU_ASSERT_EQUAL(ctl(&r, "47651", "recover", "vm=w", NULL, NULL, NULL), 0);
    CU_ASSERT_EQUAL(r.status, 0);
    const char *gi = strstr(r.out, "guest_insns: ");
    uint64_t point = gi ? strtoull(gi + 13, NULL, 10) : 0;
    CU_ASSERT(point >= 4000000 && point <= at + 20000000);  /* a checkpoint near the crash */
    printf("\n  recovery point %llu guest insns (primary at >= %llu when killed)",
           (unsigned long long)point, (unsigned long long)at);
    proc_result_free(&r);
    CU_ASSERT(wait_ended("47651"));
    CU_ASSERT(ask("47651", QUIT, NULL));
    reap(standby);
    size_t la = 0, lb = 0, lg = 0;
    char pa[128], pb[128];
    snprintf(pa, sizeof pa, "%s/w.out", a);
    snprintf(pb, sizeof pb, "%s/w.out", b);
    char *sa = proc_read_file(pa, &la), *sb = proc_read_file(pb, &lb);
    char *want = proc_read_file("tests/golden/dirty_migrate.out", &lg);
    CU_ASSERT_FATAL(want != NULL);
    CU_ASSERT(la <= lg && (!la || !memcmp(sa, want, la)));                    /* a prefix */
    CU_ASSERT(lb > 0 && lb <= lg && !memcmp(sb, want + lg - lb, lb));          /* a suffix */
    CU_ASSERT(la + lb >= lg);                                                  /* all of it */
    free(sa);
    free(sb);
    free(want);
    remove_dirs(root, a, b);
}

/* A replica on a host without room for a checkpoint's pages: the commit
   fails with OutOfMemory, none of its pages is written, and `recover` still
   resumes the checkpoint before it (nothing of the replica is lost). */
static void test_replica_out_of_memory_keeps_checkpoint(void)
{
    struct host src, dst;
    struct host_config hc = { 0 }, small = { .mem_mib = 8 };    /* 2048 frames */
    char err[256];
    host_init(&src, &hc);
    host_init(&dst, &small);
    struct vm_config cfg = { .kernel_path = "samples/bin/writer.elf", .mode = MODE_TRAP,
                             .cmdline = "pages=1500 think=100" };
    int i = host_add_vm(&src, &cfg, "w", 1, 0, err, sizeof err);
    CU_ASSERT_FATAL(i == 0);
    struct mig_link *l = mig_link_local(&dst);
    struct mig_ckpt ck = { 0 };
    for (int k = 0; k < 2; k++)
        host_step(&src);                                     /* booted, few pages yet */
    CU_ASSERT_EQUAL_FATAL(migrate_checkpoint(&src, i, l, &ck, err, sizeof err), 0);
    uint64_t first = vm_guest_insns(src.vms[i].vm);
    while (src.vms[i].vm->m.pm.touched < 1600 && src.vms[i].state == HVM_RUNNABLE)
        host_step(&src);                                     /* 1500 pages written */
    CU_ASSERT_FATAL(dst.nvms == 1);
    uint32_t used = dst.mem.used;
    CU_ASSERT_EQUAL(migrate_checkpoint(&src, i, l, &ck, err, sizeof err), -1);
    CU_ASSERT(strstr(err, "out of machine memory") != NULL);
    CU_ASSERT_EQUAL(dst.vms[0].checkpoints, 1);
    CU_ASSERT_EQUAL(dst.mem.used, used);                     /* no page written */
    struct control_effect fx;
    char *r = control_handle(&dst, "{\"execute\":\"recover\",\"arguments\":{\"vm\":\"w\"}}", &fx);
    json_t *j = json_loads(r, 0, NULL);
    json_t *ret = json_object_get(j, "return");
    CU_ASSERT_PTR_NOT_NULL(ret);
    CU_ASSERT_EQUAL((uint64_t)json_integer_value(json_object_get(ret, "guest_insns")), first);
    json_decref(j);
    free(r);
    mig_link_close(l);
    migrate_checkpoint_free(&ck);
    host_free(&src);
    host_free(&dst);
}

/* `ringside migrate`: the in-process two-host mode on the command line. */
static void test_migrate_command(void)
{
    struct proc_result r;
    size_t glen;
    char *argv[] = { (char *)proc_ringside(), "migrate", "--at", "300000", "samples/bin/compute.elf",
                     "--mode", "trap", NULL };
    CU_ASSERT_EQUAL_FATAL(proc_run(argv, 120, &r), 0);
    char *want = proc_read_file("tests/golden/compute.out", &glen);
    CU_ASSERT(want && r.out_len == glen && !memcmp(r.out, want, glen));
    CU_ASSERT_EQUAL(r.status, golden_status("compute"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "moved to the second host"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "PAGES DIRTIED"));
    free(want);
    proc_result_free(&r);
    char *bad[] = { (char *)proc_ringside(), "migrate", "--at", "x", "samples/bin/compute.elf", NULL };
    CU_ASSERT_EQUAL_FATAL(proc_run(bad, 60, &r), 0);
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "--at"));
    proc_result_free(&r);
}

void suite_migrate_register(void)
{
    CU_pSuite s = CU_add_suite("migrate", NULL, NULL);
    CU_add_test(s, "replica without memory for a checkpoint: OutOfMemory, the last one kept",
                test_replica_out_of_memory_keeps_checkpoint);
    CU_add_test(s, "every sample, trap and bt, two start points: output = QEMU golden",
                test_samples_nothing_lost);
    CU_add_test(s, "a refusing target: the VM runs on at the source, intact", test_refused_vm_runs_on);
    CU_add_test(s, "idle: one round; writer: several, shrinking", test_rounds_follow_the_dirty_rate);
    CU_add_test(s, "the target checks every message first", test_target_checks_messages);
    CU_add_test(s, "3000 mutated migration messages: a reply each; the stream still works",
                test_mutated_stream);
    CU_add_test(s, "two host processes, ctl migrate and drain: the two consoles = QEMU golden",
                test_two_processes);
    CU_add_test(s, "the target killed (SIGKILL) in round 2: the VM finishes on the source",
                test_target_killed_in_round_2);
    CU_add_test(s, "ringside migrate: stdout = QEMU golden, the report on stderr", test_migrate_command);
    CU_add_test(s, "disaster recovery: primary killed -9, the standby recovers, nothing lost",
                test_primary_killed_standby_recovers);
}
