/*
 * test_host_mem.c - machine memory on a host: the frame pool, each VM's
 * pmap and content-based page sharing (sim/mem, docs/host.md).
 *
 * What must hold, each checked against something sharing cannot fake: the
 * pool hands out the lowest free frame and refuses when full; the scan
 * merges pages whose bytes are equal and only those, within and across VMs;
 * a write to a shared page copies it and leaves the other page as it was;
 * identical guests on one host save frames, and exactly the frames the same
 * host uses more with sharing off; a guest that writes every page with
 * content of its own (samples/memfill) shares none of them and reads them
 * all back (its console is QEMU's); every console is its solo run's; an
 * overcommitted host stops the VM that asks for a frame it does not have,
 * and only that VM; a removed VM's frames go back to the pool.
 */
#include <CUnit/CUnit.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host/host.h"
#include "mem/pmap.h"
#include "mem/share.h"
#include "proc.h"
#include "vm.h"

#define DIR_TMPL "/tmp/ringside-hmem-XXXXXX"

/* ---- the pool and the scan, directly ---- */

static void test_frames_lowest_free_first(void)
{
    struct frames f;
    char err[128];
    CU_ASSERT_EQUAL_FATAL(frames_init(&f, 8, err, sizeof err), 0);
    for (int64_t i = 0; i < 8; i++)
        CU_ASSERT_EQUAL(frames_alloc(&f, 1, (uint32_t)i), i);
    CU_ASSERT_EQUAL(frames_alloc(&f, 1, 9), -1);            /* full */
    memset(frames_ptr(&f, 5), 0xAB, 4096);
    frames_put(&f, 5);
    frames_put(&f, 2);
    struct frames_census c;
    frames_census(&f, &c);
    CU_ASSERT_EQUAL(c.free, 2);
    CU_ASSERT_EQUAL(c.private_frames, 6);
    CU_ASSERT_EQUAL(frames_alloc(&f, 1, 0), 2);             /* the lowest free one */
    CU_ASSERT_EQUAL(frames_alloc(&f, 1, 0), 5);
    const uint8_t *p = frames_ptr(&f, 5);
    CU_ASSERT(p[0] == 0 && p[4095] == 0);                   /* handed out zero-filled */
    CU_ASSERT_EQUAL(f.peak, 8);
    frames_free(&f);
}

static void fill_page(struct pmap *pm, uint32_t gpage, uint8_t seed)
{
    uint8_t b[4096];
    for (int i = 0; i < 4096; i++)
        b[i] = (uint8_t)(seed + i * 7);
    CU_ASSERT_FATAL(pmap_write(pm, gpage << 12, b, sizeof b));
}

static unsigned remaps;
static void count_remap(void *ctx, uint32_t gpage, uint32_t old)
{
    (void)ctx, (void)gpage, (void)old;
    remaps++;
}

/* Two VMs' maps: equal pages merge (across and within a VM), a page one
   byte apart does not, a write copies the shared frame back. */
static void test_share_merges_equal_pages_only(void)
{
    struct frames f;
    struct pmap a, b;
    char err[128];
    CU_ASSERT_EQUAL_FATAL(frames_init(&f, 64, err, sizeof err), 0);
    CU_ASSERT_EQUAL_FATAL(share_init(&f), 0);
    CU_ASSERT_EQUAL_FATAL(pmap_init_pool(&a, &f, 8, err, sizeof err), 0);
    CU_ASSERT_EQUAL_FATAL(pmap_init_pool(&b, &f, 8, err, sizeof err), 0);
    b.hooks.remapped = count_remap;
    fill_page(&a, 0, 1);
    fill_page(&b, 3, 1);                  /* = a's page 0 */
    fill_page(&a, 1, 1);
    uint8_t x = 0x55;
    CU_ASSERT(pmap_write(&a, (1u << 12) + 4095, &x, 1));   /* a's page 1: the last byte differs */
    fill_page(&b, 5, 9);                  /* b's pages 5 and 6 are equal */
    fill_page(&b, 6, 9);
    fill_page(&a, 2, 4);                  /* unlike any other */
    CU_ASSERT_EQUAL(f.used, 6);
    remaps = 0;
    CU_ASSERT_EQUAL(share_scan(&f, 100), 2);
    CU_ASSERT_EQUAL(pmap_lookup(&a, 0), pmap_lookup(&b, 3));
    CU_ASSERT_EQUAL(pmap_lookup(&b, 5), pmap_lookup(&b, 6));
    CU_ASSERT(pmap_shared(&a, 0) && pmap_shared(&b, 3) && pmap_shared(&b, 5));
    CU_ASSERT(!pmap_shared(&a, 1) && !pmap_shared(&a, 2));
    CU_ASSERT_EQUAL(f.ref[pmap_lookup(&a, 0)], 2);
    CU_ASSERT_EQUAL(f.used, 4);           /* two frames saved */
    CU_ASSERT_EQUAL(remaps, 2);           /* b's moved pages: its VMM is told */
    CU_ASSERT_EQUAL(share_scan(&f, 100), 0);                /* nothing new */
    /* b writes its page 3: a private copy; a's page 0 keeps its bytes */
    uint32_t shared = pmap_lookup(&b, 3);
    bool broke;
    uint32_t mine = pmap_own(&b, 3, &broke);
    CU_ASSERT(broke);
    CU_ASSERT_NOT_EQUAL(mine, shared);
    CU_ASSERT_EQUAL(pmap_lookup(&a, 0), shared);
    CU_ASSERT(memcmp(frames_ptr(&f, mine), frames_ptr(&f, shared), 4096) == 0);
    frames_ptr(&f, mine)[0] ^= 0xFF;
    uint8_t got;
    pmap_read(&a, 0, &got, 1);
    CU_ASSERT_EQUAL(got, 1);
    CU_ASSERT_EQUAL(b.cow_breaks, 1);
    CU_ASSERT_EQUAL(f.ref[shared], 1);
    pmap_destroy(&a);
    pmap_destroy(&b);
    CU_ASSERT_EQUAL(f.used, 0);           /* every frame back */
    share_free(&f);
    frames_free(&f);
}

/* ---- whole hosts ---- */

static char *solo_output(const char *kernel, const char *mode, const char *mem)
{
    char *argv[] = { (char *)proc_ringside(), "run", "--mode", (char *)mode, "--mem",
                     (char *)mem, (char *)kernel, NULL };
    struct proc_result r;
    CU_ASSERT_EQUAL_FATAL(proc_run(argv, 300, &r), 0);
    free(r.err);
    return r.out;
}

static json_int_t jint(json_t *o, const char *path)
{
    char key[64];
    const char *dot;
    while ((dot = strchr(path, '.'))) {
        snprintf(key, sizeof key, "%.*s", (int)(dot - path), path);
        o = json_object_get(o, key);
        path = dot + 1;
    }
    json_t *v = json_object_get(o, path);
    CU_ASSERT_FATAL(json_is_integer(v));
    return json_integer_value(v);
}

/* `ringside host` with one VM per mode in `modes`, all running `kernel`,
   sharing on or off and the scan as eager as asked: the stats JSON, and
   every console checked against its solo run. */
static json_t *copies(const char *kernel, const char *sharing, const char *scan,
                      const char *const *modes, int n)
{
    char dir[] = DIR_TMPL, stats[300], specs[4][300];
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(stats, sizeof stats, "%s/stats.json", dir);
    char *argv[16] = { (char *)proc_ringside(), "host", "--page-sharing", (char *)sharing,
                       "--share-pages", (char *)scan, "--console-dir", dir, "--stats-json",
                       stats };
    int argc = 10;
    for (int i = 0; i < n; i++) {
        snprintf(specs[i], sizeof specs[i], "%s --mode %s --name v%d", kernel, modes[i], i);
        argv[argc++] = "--vm";
        argv[argc++] = specs[i];
    }
    struct proc_result r;
    CU_ASSERT_EQUAL_FATAL(proc_run(argv, 300, &r), 0);
    CU_ASSERT_EQUAL(r.status, 0);
    for (int i = 0; i < n; i++) {
        char path[300];
        snprintf(path, sizeof path, "%s/v%d.out", dir, i);
        char *got = proc_read_file(path, NULL), *want = solo_output(kernel, modes[i], "32");
        CU_ASSERT_PTR_NOT_NULL_FATAL(got);
        if (strcmp(got, want))
            fprintf(stderr, "\n  %s under %s, sharing %s: console differs from its solo run\n",
                    kernel, modes[i], sharing);
        CU_ASSERT_STRING_EQUAL(got, want);
        free(got);
        free(want);
        unlink(path);
    }
    json_error_t je;
    json_t *j = json_load_file(stats, 0, &je);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    unlink(stats);
    rmdir(dir);
    proc_result_free(&r);
    return j;
}

/* Three VMs booting the same kernel (rings: ring 3, system calls, timer
   interrupts, over many slices) share; the frames saved are exactly the
   frames the same host uses more without sharing. */
static void test_identical_guests_save_frames(void)
{
    static const char *const modes[] = { "trap", "bt", "trap" };
    json_t *on = copies("samples/bin/rings.elf", "on", "256", modes, 3);
    json_t *off = copies("samples/bin/rings.elf", "off", "256", modes, 3);
    json_int_t frames = jint(on, "host.memory.frames"), used = jint(on, "host.memory.used");
    json_int_t saved = jint(on, "host.memory.saved_frames");
    CU_ASSERT_EQUAL(frames, 1024 * 256);                    /* the default 1 GiB */
    CU_ASSERT_EQUAL(used + jint(on, "host.memory.free"), frames);
    CU_ASSERT(saved > 0);
    CU_ASSERT_EQUAL(saved, jint(on, "host.memory.shared_pages") -
                               jint(on, "host.memory.shared_frames"));
    CU_ASSERT_EQUAL(jint(off, "host.memory.shared_frames"), 0);
    CU_ASSERT_EQUAL(jint(off, "host.memory.saved_frames"), 0);
    CU_ASSERT_EQUAL(jint(off, "host.memory.used") - used, saved);
    json_t *vms = json_object_get(on, "vms");
    CU_ASSERT_EQUAL_FATAL(json_array_size(vms), 3);
    json_int_t pages = jint(json_array_get(vms, 0), "pages_mapped");
    for (size_t i = 0; i < 3; i++) {
        json_t *v = json_array_get(vms, i);
        CU_ASSERT_EQUAL(jint(v, "pages_mapped"), pages);   /* the same kernel touches the same */
        CU_ASSERT(jint(v, "pages_shared") > 0);
        CU_ASSERT(jint(v, "pages_shared") <= pages);
        CU_ASSERT_EQUAL(jint(json_array_get(json_object_get(off, "vms"), i), "pages_shared"), 0);
    }
    json_decref(on);
    json_decref(off);
}

/* Two copies of every sample (trap and bt) on one host, scanned eagerly,
   so that their pages are shared while both run and written through: each
   console is its solo run's (a write that missed its copy on write would
   change the other VM's memory). */
static void test_every_sample_twice(void)
{
    static const char *const names[] = { "hello", "compute", "rings", "sensitive",
                                          "exceptions", "paging", "smc", "demo" };
    static const char *const modes[] = { "trap", "bt" };
    for (unsigned k = 0; k < sizeof names / sizeof *names; k++) {
        char kernel[64];
        snprintf(kernel, sizeof kernel, "samples/bin/%s.elf", names[k]);
        json_t *j = copies(kernel, "on", "4096", modes, 2);
        CU_ASSERT(jint(j, "host.memory.pages_merged") > 0);
        json_decref(j);
    }
}

static void run_host(struct host *h)
{
    while (host_step(h) >= 0)
        ;
}

static void console_put(void *ctx, uint8_t byte)
{
    struct { char buf[4096]; size_t len; } *c = ctx;
    if (c->len < sizeof c->buf - 1)
        c->buf[c->len++] = (char)byte;
}

/* memfill writes every page above its kernel with content of its own: none
   of those pages is shared, all are mapped, and they all read back (its
   console is QEMU's). */
static void memfill_shares_nothing(enum machine_mode mode)
{
    struct host h;
    struct host_config hc = { .share_pages = 1024 };        /* scan eagerly */
    host_init(&h, &hc);
    char err[256];
    struct vm_config cfg = { .kernel_path = "samples/bin/memfill.elf", .mode = mode,
                             .mem_mib = 4 };
    int i = host_add_vm(&h, &cfg, "m", 1, 0, err, sizeof err);
    CU_ASSERT_EQUAL_FATAL(i, 0);
    struct { char buf[4096]; size_t len; } out = { .len = 0 };
    struct machine *m = &h.vms[i].vm->m;
    m->out = console_put;
    m->out_ctx = &out;
    run_host(&h);
    size_t glen;
    char *want = proc_read_file("tests/golden/memfill.out", &glen);
    CU_ASSERT_PTR_NOT_NULL_FATAL(want);
    CU_ASSERT(out.len == glen && !memcmp(out.buf, want, glen));
    free(want);
    CU_ASSERT(m->end == END_GUEST_EXIT && m->dbg.code == 1);
    /* from 3 MiB (above its image and .bss) to the top mem_upper gives */
    unsigned unshared = 0, mapped = 0, n = 0;
    for (uint32_t g = 0x300; g < 0x3E0; g++, n++) {
        mapped += pmap_lookup(&m->pm, g) != PMAP_NONE;
        unshared += !pmap_shared(&m->pm, g);
    }
    CU_ASSERT_EQUAL(mapped, n);
    CU_ASSERT_EQUAL(unshared, n);
    struct host_mem_report rep;
    host_mem_report(&h, &rep);
    CU_ASSERT(rep.scanned >= n);                            /* the scan did look at them */
    CU_ASSERT(m->pm.shared_now < 16);                       /* only its own zero pages */
    host_remove(&h, i);
    host_mem_report(&h, &rep);
    CU_ASSERT_EQUAL(rep.used, 0);                           /* every frame back */
    host_free(&h);
}

static void test_unique_guest_shares_nothing(void)
{
    memfill_shares_nothing(MODE_TRAP);
    memfill_shares_nothing(MODE_BT);
}

/* Two writer VMs with the same arguments: their kernels' pages merge, and
   their writes to shared pages break the shares (copy on write); each
   console is the solo run's. */
static void test_writes_break_shares(void)
{
    char dir[] = DIR_TMPL, stats[300];
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(stats, sizeof stats, "%s/stats.json", dir);
    char *argv[] = { (char *)proc_ringside(), "host", "--share-pages", "2048", "--console-dir",
                     dir, "--stats-json", stats,
                     "--vm", "samples/bin/writer.elf --mode bt --name w1 --append 'passes=100 think=2000'",
                     "--vm", "samples/bin/writer.elf --mode trap --name w2 --append 'passes=100 think=2000'",
                     NULL };
    struct proc_result r;
    CU_ASSERT_EQUAL_FATAL(proc_run(argv, 300, &r), 0);
    CU_ASSERT_EQUAL(r.status, 0);
    static const char *const names[] = { "w1", "w2" }, *const modes[] = { "bt", "trap" };
    for (int i = 0; i < 2; i++) {
        char path[300];
        snprintf(path, sizeof path, "%s/%s.out", dir, names[i]);
        char *got = proc_read_file(path, NULL);
        char *argv1[] = { (char *)proc_ringside(), "run", "--mode", (char *)modes[i],
                          "samples/bin/writer.elf", "--append", "passes=100 think=2000", NULL };
        struct proc_result solo;
        CU_ASSERT_EQUAL_FATAL(proc_run(argv1, 300, &solo), 0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(got);
        CU_ASSERT_STRING_EQUAL(got, solo.out);
        proc_result_free(&solo);
        free(got);
        unlink(path);
    }
    json_error_t je;
    json_t *j = json_load_file(stats, 0, &je);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    json_int_t breaks = 0;
    for (size_t i = 0; i < 2; i++)
        breaks += jint(json_array_get(json_object_get(j, "vms"), i), "cow_breaks");
    CU_ASSERT(breaks > 0);
    CU_ASSERT(jint(j, "host.memory.saved_frames") > 0);
    json_decref(j);
    unlink(stats);
    rmdir(dir);
    proc_result_free(&r);
}

/* 36 MiB of guest RAM on a 9 MiB host: hello, which touches 18 pages,
   finishes as it does alone; memfill stops when no frame is left, with its
   own status, and the host reports it. */
static void test_overcommit_stops_only_the_vm_short_of_frames(void)
{
    char dir[] = DIR_TMPL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    char *argv[] = { (char *)proc_ringside(), "host", "--mem", "9", "-v", "--console-dir", dir,
                     "--vm", "samples/bin/hello.elf --mode trap --name a",
                     "--vm", "samples/bin/memfill.elf --mem 4 --mode bt --name m", NULL };
    struct proc_result r;
    CU_ASSERT_EQUAL_FATAL(proc_run(argv, 300, &r), 0);
    CU_ASSERT_EQUAL(r.status, 10);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "status 10: the host is out of machine memory"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "status 1: guest wrote 0"));
    char path[300];
    snprintf(path, sizeof path, "%s/a.out", dir);
    char *got = proc_read_file(path, NULL), *want = solo_output("samples/bin/hello.elf", "trap",
                                                                "32");
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_STRING_EQUAL(got, want);
    free(got);
    free(want);
    unlink(path);
    snprintf(path, sizeof path, "%s/m.out", dir);
    unlink(path);
    rmdir(dir);
    proc_result_free(&r);
}

/* A host too small for the VMM of one more VM refuses it in one line. */
static void test_no_room_for_a_vmm(void)
{
    char *argv[] = { (char *)proc_ringside(), "host", "--mem", "8",
                     "--vm", "samples/bin/hello.elf --mode trap",
                     "--vm", "samples/bin/hello.elf --mode bt --name b", NULL };
    struct proc_result r;
    CU_ASSERT_EQUAL_FATAL(proc_run(argv, 60, &r), 0);
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "machine memory"));
    CU_ASSERT_EQUAL(strchr(r.err, '\n'), r.err + strlen(r.err) - 1);
    proc_result_free(&r);
}

/* The solo `ringside run` of one scenario VM (its kernel, mode, memory
   and command line from the file). */
static char *scenario_solo(json_t *vm)
{
    char mem[16];
    json_t *m = json_object_get(vm, "mem");
    snprintf(mem, sizeof mem, "%lld", m ? (long long)json_integer_value(m) : 32LL);
    json_t *a = json_object_get(vm, "append");
    char *argv[] = { (char *)proc_ringside(), "run", "--mode",
                     (char *)json_string_value(json_object_get(vm, "mode")), "--mem", mem,
                     "--append", a ? (char *)json_string_value(a) : "",
                     (char *)json_string_value(json_object_get(vm, "kernel")), NULL };
    struct proc_result r;
    CU_ASSERT_EQUAL_FATAL(proc_run(argv, 300, &r), 0);
    free(r.err);
    return r.out;
}

/* One scenario of samples/scenarios: its exit status, and every VM's
   console = its solo run (a crashing VM included: it crashes alone the
   same way). Returns the stats JSON. */
static json_t *scenario(const char *name, int want_status)
{
    char dir[] = DIR_TMPL, stats[300], file[128];
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(stats, sizeof stats, "%s/stats.json", dir);
    snprintf(file, sizeof file, "samples/scenarios/%s.json", name);
    char *argv[] = { (char *)proc_ringside(), "host", "--config", file, "--console-dir", dir,
                     "--stats-json", stats, NULL };
    struct proc_result r;
    CU_ASSERT_EQUAL_FATAL(proc_run(argv, 300, &r), 0);
    CU_ASSERT_EQUAL(r.status, want_status);
    json_error_t je;
    json_t *cfg = json_load_file(file, 0, &je), *j = json_load_file(stats, 0, &je);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    json_t *vms = json_object_get(cfg, "vms");
    for (size_t i = 0; i < json_array_size(vms); i++) {
        json_t *vm = json_array_get(vms, i);
        char path[300];
        snprintf(path, sizeof path, "%s/%s.out", dir, json_string_value(json_object_get(vm, "name")));
        char *got = proc_read_file(path, NULL), *want = scenario_solo(vm);
        CU_ASSERT_PTR_NOT_NULL_FATAL(got);
        if (strcmp(got, want))
            fprintf(stderr, "\n  scenario %s: %s differs from its solo run\n", name, path);
        CU_ASSERT_STRING_EQUAL(got, want);
        free(got);
        free(want);
        unlink(path);
    }
    json_decref(cfg);
    unlink(stats);
    rmdir(dir);
    proc_result_free(&r);
    return j;
}

static json_int_t vm_status(json_t *j, size_t i)
{
    return jint(json_array_get(json_object_get(j, "vms"), i), "exit_status");
}

/* Server consolidation: 8 guests of 3 kinds on 256 MiB, all succeed, and
   sharing saves most of the idle writers' zero-filled buffers; isolation:
   the VM that triple-faults mid-run ends with status 4, the others finish;
   dev/test: one kernel under trap and bt at once, both as alone. */
static void test_scenarios(void)
{
    json_t *j = scenario("consolidation", 0);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "vms")), 8);
    CU_ASSERT_EQUAL(jint(j, "host.memory.frames"), 256 * 256);
    CU_ASSERT(jint(j, "host.memory.saved_frames") > 3 * 2000);   /* 3 writers' 2048-page buffers */
    json_decref(j);
    j = scenario("isolation", 4);
    CU_ASSERT_EQUAL(vm_status(j, 0), 4);
    CU_ASSERT_EQUAL(vm_status(j, 1), 1);
    CU_ASSERT_EQUAL(vm_status(j, 2), 1);
    json_decref(j);
    j = scenario("devtest", 0);
    json_decref(j);
}

void suite_host_mem_register(void)
{
    CU_pSuite s = CU_add_suite("host_mem (machine memory, pmap, content-based page sharing)",
                               NULL, NULL);
    CU_add_test(s, "frame pool: lowest free first, zero-filled, refuses when full",
                test_frames_lowest_free_first);
    CU_add_test(s, "scan merges equal pages only; a write copies the shared frame",
                test_share_merges_equal_pages_only);
    CU_add_test(s, "identical guests: frames saved = frames used more with sharing off",
                test_identical_guests_save_frames);
    CU_add_test(s, "every sample twice, shared while running: consoles = solo runs",
                test_every_sample_twice);
    CU_add_test(s, "memfill writes every page: none shared, all read back (QEMU's output)",
                test_unique_guest_shares_nothing);
    CU_add_test(s, "two writers: shares broken by writes, consoles = solo runs",
                test_writes_break_shares);
    CU_add_test(s, "overcommit: only the VM short of frames stops",
                test_overcommit_stops_only_the_vm_short_of_frames);
    CU_add_test(s, "no room for another VMM: one line, status 2", test_no_room_for_a_vmm);
    CU_add_test(s, "scenarios: consolidation, isolation, dev/test", test_scenarios);
}
