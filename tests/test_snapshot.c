/*
 * test_snapshot.c - snapshots: the round trip, and bad files.
 *
 * The round-trip property (docs/snapshot.md): run a kernel to N guest
 * instructions and save it; restore it in a fresh process and run to the
 * end. The uninterrupted run's output must be the output up to N followed
 * by the restored run's output, and the restored run must end with the same
 * status, the same guest instruction count, the same modeled cycles and the
 * same statistics. Bad snapshots - truncated, bit-flipped, another kernel,
 * a future version, crafted values behind a valid CRC - are refused with
 * one line and status 2, never a crash (a mutation loop runs under ASan).
 */
#include <CUnit/CUnit.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "le.h"
#include "proc.h"
#include "snapshot.h"
#include "snapstate.h"

/* Scratch files of this process: several test runs (worktrees) may share /tmp. */
static char *snap_tmp(const char *suffix)
{
    static char buf[4][96];
    static int next;
    char *b = buf[next++ & 3];
    snprintf(b, sizeof buf[0], "/tmp/ringside-snaptest-%ld%s", (long)getpid(), suffix);
    return b;
}

static int ringside(struct proc_result *r, char *a0, char *a1, char *a2, char *a3, char *a4,
                    char *a5, char *a6, char *a7)
{
    char *argv[] = { (char *)proc_ringside(), "run", a0, a1, a2, a3, a4, a5, a6, a7, NULL };
    return proc_run(argv, 300, r);
}

/* The stats JSON without its "kernel" line (a restore names the kernel too,
   but the test compares numbers). */
static char *stats_numbers(const char *path)
{
    char *j = proc_read_file(path, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    char *k = strstr(j, "\"kernel\"");
    if (k) {
        char *eol = strchr(k, '\n');
        memmove(k, eol, strlen(eol) + 1);
    }
    return j;
}

/* Save at `cut` under `mode`, restore in a fresh process (under `restore_mode`,
   or the saved engine if NULL). The restored run's output must be the rest
   of the whole run's and end the same way; with `same_stats`, every figure
   of the stats JSON must be the same too (no cache to rebuild). */
static void round_trip_as(const char *kernel, const char *mode, const char *cut,
                          const char *restore_mode, bool same_stats)
{
    char snap[96];
    snprintf(snap, sizeof snap, "%s", snap_tmp("-XXXXXX"));
    int fd = mkstemp(snap);
    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    struct proc_result full, rest;
    CU_ASSERT_EQUAL_FATAL(ringside(&full, "--mode", (char *)mode, "--stats-json", snap_tmp(".full.json"),
                                   "--snapshot-at", (char *)cut, snap, (char *)kernel), 0);
    CU_ASSERT_EQUAL_FATAL(ringside(&rest, "--stats-json", snap_tmp(".rest.json"), "--restore", snap,
                                   restore_mode ? "--mode" : NULL, (char *)restore_mode, NULL,
                                   NULL), 0);
    size_t f = strlen(full.out), r = strlen(rest.out);
    bool suffix = r > 0 && r <= f && strcmp(full.out + f - r, rest.out) == 0;
    if (!suffix || rest.status != full.status)
        fprintf(stderr, "\n  %s: saved under %s at %s, restored under %s: output or status "
                "differ (%d vs %d) %s\n", kernel, mode, cut, restore_mode ? restore_mode : mode,
                rest.status, full.status, rest.err);
    CU_ASSERT(suffix);
    CU_ASSERT_EQUAL(rest.status, full.status);
    if (same_stats) {
        char *a = stats_numbers(snap_tmp(".full.json")), *b = stats_numbers(snap_tmp(".rest.json"));
        if (strcmp(a, b))
            fprintf(stderr, "\n  %s --mode %s cut %s: stats differ after restore\n", kernel,
                    mode, cut);
        CU_ASSERT_STRING_EQUAL(a, b);
        free(a);
        free(b);
    }
    proc_result_free(&full);
    proc_result_free(&rest);
    unlink(snap);
}

static void round_trip(const char *kernel, const char *mode, const char *cut)
{
    round_trip_as(kernel, mode, cut, NULL, true);
}

/* Guest instructions of a whole run under `mode` (from -v). */
static unsigned long long run_length_in(const char *kernel, const char *mode)
{
    struct proc_result r;
    CU_ASSERT_EQUAL_FATAL(ringside(&r, "-v", "--mode", (char *)mode, (char *)kernel, NULL, NULL,
                                   NULL, NULL), 0);
    const char *p = strstr(r.err, "guest instructions: ");
    unsigned long long n = p ? strtoull(p + 20, NULL, 10) : 0;
    proc_result_free(&r);
    CU_ASSERT_FATAL(n > 100);
    return n;
}

static unsigned long long run_length(const char *kernel)
{
    return run_length_in(kernel, "native");
}

static const char *const kernels[] = { "hello", "compute", "rings", "exceptions", "paging",
                                       "smc", "sensitive", "demo" };
#define NKERNELS (sizeof kernels / sizeof *kernels)

static void kernel_path(char *buf, size_t len, unsigned k)
{
    snprintf(buf, len, "samples/bin/%s.elf", kernels[k]);
}

static void test_round_trip_native(void)
{
    for (unsigned k = 0; k < NKERNELS; k++) {
        char path[64], cut[32];
        kernel_path(path, sizeof path, k);
        unsigned long long n = run_length(path);
        for (int third = 1; third <= 2; third++) {
            snprintf(cut, sizeof cut, "%llu", n * third / 3);
            round_trip(path, "native", cut);
        }
    }
}

/* Under trap every figure survives, except with guest paging on (paging,
   and smc, whose middle is in its paging-on round): the shadow page tables
   are rebuilt, and the hidden faults that takes show in the cycles. Under bt the translation cache is rebuilt: output and
   exit status are the whole run's, cycles and TC counters are not. */
static void test_round_trip_vmm(void)
{
    for (unsigned k = 0; k < NKERNELS; k++) {
        char path[64], cut[32];
        kernel_path(path, sizeof path, k);
        snprintf(cut, sizeof cut, "%llu", run_length_in(path, "trap") / 2);
        bool paging_on = !strcmp(kernels[k], "paging") || !strcmp(kernels[k], "smc");
        round_trip_as(path, "trap", cut, NULL, !paging_on);
        snprintf(cut, sizeof cut, "%llu", run_length_in(path, "bt") / 2);
        round_trip_as(path, "bt", cut, NULL, false);
        /* hw: the shadow (paging) and the TLB are rebuilt: output and status */
        snprintf(cut, sizeof cut, "%llu", run_length_in(path, "hw") / 2);
        round_trip_as(path, "hw", cut, NULL, false);
    }
}

/* The PC's further devices are saved too (the "PC  " chunk, and the IDE
   image the guest has written: DSK0): the platform kernels resume exactly
   at several cut points - under native and trap with every figure of the
   stats JSON, under bt and hw their output and status (apicmap turns paging
   on: its shadow tables are rebuilt). ide's disk is written before its
   middle and read after it. */
static void pc_round_trip(const char *name, const char *mode, unsigned long long cut,
                          bool same_stats)
{
    char cmd[1024], full[64], rest[64];
    const char *disk = !strcmp(name, "ide") ? "--disk build/samples/blank64k.img" : "";
    snprintf(full, sizeof full, "%s", snap_tmp(".pcfull.json"));
    snprintf(rest, sizeof rest, "%s", snap_tmp(".pcrest.json"));
    snprintf(cmd, sizeof cmd, "%s run --mode %s %s --stats-json %s --snapshot-at %llu %s "
             "samples/bin/%s.elf", proc_ringside(), mode, disk, full, cut, snap_tmp(".pc"), name);
    char *a1[] = { "sh", "-c", cmd, NULL };
    struct proc_result f, r;
    CU_ASSERT_FATAL(proc_run(a1, 300, &f) == 0);
    snprintf(cmd, sizeof cmd, "%s run %s --stats-json %s --restore %s", proc_ringside(), disk,
             rest, snap_tmp(".pc"));
    char *a2[] = { "sh", "-c", cmd, NULL };
    CU_ASSERT_FATAL(proc_run(a2, 300, &r) == 0);
    size_t fl = strlen(f.out), rl = strlen(r.out);
    bool suffix = rl > 0 && rl <= fl && !strcmp(f.out + fl - rl, r.out);
    CU_ASSERT(suffix);
    CU_ASSERT_EQUAL(r.status, f.status);
    if (!suffix || r.status != f.status)
        fprintf(stderr, "\n  %s --mode %s cut %llu: output or status differ (%d vs %d) %s\n",
                name, mode, cut, r.status, f.status, r.err);
    if (same_stats) {
        char *a = stats_numbers(full), *b = stats_numbers(rest);
        CU_ASSERT_STRING_EQUAL(a, b);
        free(a);
        free(b);
    }
    proc_result_free(&f);
    proc_result_free(&r);
    unlink(snap_tmp(".pc"));
}

static void test_pc_devices(void)
{
    static const char *const pc[] = { "lapic", "ide", "apicmap", "mptable", "rtc" };
    static const char *const modes[] = { "native", "trap", "bt", "hw" };
    for (unsigned k = 0; k < sizeof pc / sizeof *pc; k++) {
        char path[64], disk[64];
        snprintf(path, sizeof path, "samples/bin/%s.elf", pc[k]);
        snprintf(disk, sizeof disk, "%s", !strcmp(pc[k], "ide")
                 ? "--disk=build/samples/blank64k.img" : "--append=");
        struct proc_result r;
        CU_ASSERT_EQUAL_FATAL(ringside(&r, "-v", disk, path, NULL, NULL, NULL, NULL, NULL), 0);
        CU_ASSERT_EQUAL(r.status, 1);
        const char *g = strstr(r.err, "guest instructions: ");
        unsigned long long n = g ? strtoull(g + 20, NULL, 10) : 0;
        proc_result_free(&r);
        CU_ASSERT_FATAL(n > 1000);
        for (unsigned m = 0; m < 4; m++)
            for (int q = 1; q <= 2; q++)
                pc_round_trip(pc[k], modes[m], n * (unsigned)q / 3,
                              m < 2 && !(m == 1 && !strcmp(pc[k], "apicmap")));
    }
}

/* A VM saved under one engine resumes under another. */
static void test_cross_engine(void)
{
    static const char *const pairs[][2] = { { "bt", "trap" }, { "bt", "native" },
                                            { "trap", "bt" }, { "native", "bt" },
                                            { "trap", "native" }, { "native", "trap" },
                                            { "hw", "native" }, { "native", "hw" },
                                            { "bt", "hw" }, { "hw", "bt" } };
    static const char *const some[] = { "samples/bin/exceptions.elf", "samples/bin/paging.elf",
                                        "samples/bin/sensitive.elf" };
    for (unsigned p = 0; p < sizeof pairs / sizeof *pairs; p++)
        for (unsigned k = 0; k < 3; k++) {
            char cut[32];
            snprintf(cut, sizeof cut, "%llu", run_length(some[k]) / 2);
            /* sensitive leaks under trap: its output is only compared where
               the engine it resumes under is not trap */
            if (k == 2 && (!strcmp(pairs[p][0], "trap") || !strcmp(pairs[p][1], "trap")))
                continue;
            round_trip_as(some[k], pairs[p][0], cut, pairs[p][1], false);
        }
}

/* ---- bad snapshots ---- */

static uint8_t *good_image(size_t *len)
{
    char err[256];
    struct vm_config cfg = { .kernel_path = "samples/bin/hello.elf", .mem_mib = 4 };
    struct vm *vm = vm_create(&cfg, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(vm);
    vm_run(vm, 20000);
    CU_ASSERT_EQUAL_FATAL(snapshot_save(vm, snap_tmp(".good"), err, sizeof err), 0);
    vm_destroy(vm);
    return (uint8_t *)proc_read_file(snap_tmp(".good"), len);
}

/* Parse and (if it parses) restore into a fresh VM: 0 accepted, -1 refused. */
static int try_image(const uint8_t *img, size_t len, char *err, size_t errlen)
{
    struct snap_file f;
    if (snap_parse(img, len, &f, err, errlen) != 0)
        return -1;
    struct vm_config cfg = { .kernel_path = "samples/bin/hello.elf", .mem_mib = 4 };
    struct vm *vm = vm_create(&cfg, err, errlen);
    CU_ASSERT_PTR_NOT_NULL_FATAL(vm);
    int rc = snapshot_restore(vm, &f, err, errlen);
    if (rc == 0)
        vm_run(vm, 100000);
    vm_destroy(vm);
    snap_free(&f);
    return rc;
}

/* Do two images hold the same header and the same decompressed chunks? */
static int same_content(const uint8_t *a, const uint8_t *b, size_t len)
{
    struct snap_file fa = { 0 }, fb = { 0 };
    char err[256];
    int same = snap_parse(a, len, &fa, err, sizeof err) == 0 &&
               snap_parse(b, len, &fb, err, sizeof err) == 0 &&
               !memcmp(a, b, SNAP_HEADER_SIZE) && fa.nchunks == fb.nchunks;
    for (int i = 0; same && i < fa.nchunks; i++)
        same = !strcmp(fa.chunks[i].tag, fb.chunks[i].tag) &&
               fa.chunks[i].len == fb.chunks[i].len &&
               !memcmp(fa.chunks[i].data, fb.chunks[i].data, fa.chunks[i].len);
    snap_free(&fa);
    snap_free(&fb);
    return same;
}

static void test_truncated_and_flipped(void)
{
    size_t len;
    uint8_t *img = good_image(&len);
    char err[256];
    CU_ASSERT_EQUAL(try_image(img, len, err, sizeof err), 0);
    for (size_t n = 0; n < len; n += n < 200 ? 1 : 97)     /* every short truncation, then a stride */
        CU_ASSERT_EQUAL(try_image(img, n, err, sizeof err), -1);
    uint8_t *mut = malloc(len);
    srand(7);
    int refused = 0, harmless = 0;
    for (int i = 0; i < 1500; i++) {
        memcpy(mut, img, len);
        for (int k = 0; k < 1 + i % 4; k++)
            mut[(size_t)rand() % len] ^= (uint8_t)(1u << (rand() % 8));
        if (try_image(mut, len, err, sizeof err) != 0)
            refused++;
        else
            harmless += same_content(img, mut, len);
    }
    /* every flip is caught by a CRC, except one that leaves every byte of
       the snapshot's content as it was: a deflate back-reference moved to
       another run of the same bytes (zeros in guest RAM) inflates to the
       same data - nothing is corrupted, and the restore is exact */
    CU_ASSERT_EQUAL(refused + harmless, 1500);
    CU_ASSERT(refused >= 1490);
    free(mut);
    free(img);
}

/* A value out of range behind a correct CRC (a crafted file): the UART's
   FIFO index is checked by the field table, not trusted. */
static void test_crafted_value(void)
{
    size_t len;
    uint8_t *img = good_image(&len);
    size_t off = SNAP_HEADER_SIZE;
    while (off + SNAP_CHUNK_HEADER <= len && memcmp(img + off, "DEVS", 4) != 0)
        off += SNAP_CHUNK_HEADER + le_get64(img + off + 8) + 4;
    CU_ASSERT_FATAL(off + SNAP_CHUNK_HEADER <= len);
    uint8_t *body = img + off + SNAP_CHUNK_HEADER;
    size_t raw = le_get64(img + off + 16);
    size_t uart = snap_type_size(&snap_pic_type) + snap_type_size(&snap_pit_type);
    body[uart + 2 + 16] = 200;                       /* base (2), rx[16], then rx_head */
    le_put32(body + raw, (uint32_t)crc32(0, body, (uInt)raw));
    char err[256];
    CU_ASSERT_EQUAL(try_image(img, len, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "out of range"));
    free(img);
}

static void expect_refused(char *a0, char *a1, char *a2, const char *why)
{
    struct proc_result r;
    CU_ASSERT_EQUAL_FATAL(ringside(&r, a0, a1, a2, NULL, NULL, NULL, NULL, NULL), 0);
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, why));
    CU_ASSERT_EQUAL(strchr(r.err, '\n'), r.err + strlen(r.err) - 1);    /* one line */
    proc_result_free(&r);
}

static void test_refused_by_the_command(void)
{
    size_t len;
    uint8_t *img = good_image(&len);
    free(img);
    expect_refused("--restore", snap_tmp(".good"), "samples/bin/rings.elf", "another kernel");
    expect_refused("--restore", "/tmp", NULL, "not a regular file");
    expect_refused("--restore", "README.md", NULL, "not a ringside snapshot");
    FILE *f = fopen(snap_tmp(".good"), "r+b");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fseek(f, 8, SEEK_SET);
    fputc(9, f);                                       /* format version 9 */
    fclose(f);
    expect_refused("--restore", snap_tmp(".good"), NULL, "version 9");
    unlink(snap_tmp(".good"));
}

void suite_snapshot_register(void)
{
    CU_pSuite s = CU_add_suite("snapshot (round trip, bad files)", NULL, NULL);
    CU_add_test(s, "native: run to N, save, restore in a new process = the whole run",
                test_round_trip_native);
    CU_add_test(s, "trap and bt: run to N, save, restore = the rest of the run", test_round_trip_vmm);
    CU_add_test(s, "saved under one engine, resumed under another", test_cross_engine);
    CU_add_test(s, "the PC's devices (APICs, IDE and its image, ...) resume exactly",
                test_pc_devices);
    CU_add_test(s, "every truncation and 1500 bit flips are refused", test_truncated_and_flipped);
    CU_add_test(s, "a crafted out-of-range field behind a valid CRC is refused", test_crafted_value);
    CU_add_test(s, "run --restore: another kernel, a directory, not a snapshot, a future version",
                test_refused_by_the_command);
}
