/*
 * test_dirtylog.c - the dirty log (sim/cpu/dirtylog.c, vm.h) under every engine.
 *
 * Live migration resends exactly the pages the log names, so a page written
 * but not logged is a page lost on the target. The reference here is RAM
 * itself: a copy taken when the log starts, compared page by page with RAM
 * when it is taken. Every page whose bytes changed must be logged - whoever
 * wrote it: a CPU store (fast path or slow), the VMM's emulated stores and
 * interrupt frames, a debugger, a restore - and for the writer kernel, whose
 * pages are known, nothing else may be (an "everything is dirty" log fails).
 * Also: the VMM's write into a page holding translated code with guest
 * paging on reaches the translation (a stale one was a bug).
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot.h"
#include "vm.h"

#define WRITER "tests/bin/dirty_writer.elf"
#define PATCH "tests/bin/dirty_patch.elf"
#define BUF_PAGE (0x400000u >> 12)     /* dirty.S: the writer's pages */
#define WRITER_PAGES 64u

static const enum machine_mode modes[] = { MODE_NATIVE, MODE_TRAP, MODE_BT };

static struct vm *make(const char *kernel, enum machine_mode mode)
{
    char err[256];
    struct vm_config cfg = { .kernel_path = kernel, .mode = mode };
    struct vm *vm = vm_create(&cfg, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(vm);
    return vm;
}

static bool bit(const uint8_t *map, uint32_t p)
{
    return (map[p / 8] >> (p % 8)) & 1u;
}

/* One window of a run with the log on: pages changed and pages logged. */
struct window {
    uint32_t changed, dirty, missed;   /* missed: changed but not logged */
    uint32_t extra;                    /* logged, unchanged */
    uint8_t *map;
};

static void window_run(struct vm *vm, uint64_t insns, struct window *w)
{
    uint32_t pages = vm_guest_pages(vm);
    uint8_t *before = malloc(vm->m.ram_size);
    CU_ASSERT_PTR_NOT_NULL_FATAL(before);
    memcpy(before, vm->m.ram, vm->m.ram_size);
    vm_run(vm, vm->m.cpu.insns + insns);
    w->map = calloc(1, (pages + 7) / 8);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w->map);
    w->dirty = vm_dirty_log_take(vm, w->map);
    w->changed = w->missed = w->extra = 0;
    for (uint32_t p = 0; p < pages; p++) {
        bool ch = memcmp(before + (size_t)p * 4096, vm->m.ram + (size_t)p * 4096, 4096) != 0;
        w->changed += ch;
        w->missed += ch && !bit(w->map, p);
        w->extra += !ch && bit(w->map, p);
    }
    free(before);
}

/* Samples under every engine: no page changes unlogged. */
static void test_changed_pages_are_logged(void)
{
    static const char *const kernels[] = { "samples/bin/rings.elf", "samples/bin/exceptions.elf",
                                           "samples/bin/paging.elf", "samples/bin/smc.elf",
                                           "samples/bin/compute.elf" };
    for (unsigned k = 0; k < 5; k++) {
        for (unsigned m = 0; m < 3; m++) {
            struct vm *vm = make(kernels[k], modes[m]);
            vm_run(vm, 2000);
            CU_ASSERT_EQUAL_FATAL(vm_dirty_log_start(vm), 0);
            struct window w;
            window_run(vm, 40000, &w);
            CU_ASSERT(w.changed > 0);
            CU_ASSERT_EQUAL(w.missed, 0);
            CU_ASSERT(w.dirty < vm_guest_pages(vm) / 4);
            if (w.missed)
                printf("\n%s %s: %u pages changed without being logged\n", kernels[k],
                       machine_mode_name(modes[m]), w.missed);
            free(w.map);
            vm_destroy(vm);
        }
    }
}

/* The writer's pages are known: the log names exactly those it wrote (and
   its stack page, written with the same values), window after window. */
static void test_writer_logged_exactly(void)
{
    uint32_t stack_page = 0;
    for (unsigned m = 0; m < 3; m++) {
        struct vm *vm = make(WRITER, modes[m]);
        vm_run(vm, 30000);
        CU_ASSERT_EQUAL_FATAL(vm_dirty_log_start(vm), 0);
        for (int round = 0; round < 3; round++) {
            struct window w;
            window_run(vm, 150000, &w);
            CU_ASSERT_EQUAL(w.missed, 0);
            CU_ASSERT(w.changed >= 10);             /* ~5,100 insns a page */
            CU_ASSERT(w.extra <= 1);                /* the stack page */
            for (uint32_t p = 0; p < vm_guest_pages(vm); p++) {
                if (!bit(w.map, p) || (p >= BUF_PAGE && p < BUF_PAGE + WRITER_PAGES))
                    continue;
                if (!stack_page)
                    stack_page = p;
                CU_ASSERT_EQUAL(p, stack_page);     /* nothing else is logged */
            }
            free(w.map);
        }
        uint8_t *map = calloc(1, vm_guest_pages(vm) / 8);
        CU_ASSERT_EQUAL(vm_dirty_log_take(vm, map), 0);   /* taken: clean again */
        free(map);
        vm_dirty_log_stop(vm);
        for (uint32_t p = 0; p < vm_guest_pages(vm); p++)
            if (vm->m.cpu.write_watch[p] & WW_DIRTY_LOG) {
                CU_FAIL("a watch bit survived the log's stop");
                break;
            }
        vm_destroy(vm);
    }
}

/* Watching costs host time, never modeled time: a guest cannot tell. */
static void test_log_is_invisible_to_the_guest(void)
{
    for (unsigned m = 0; m < 3; m++) {
        struct vm *a = make(WRITER, modes[m]), *b = make(WRITER, modes[m]);
        CU_ASSERT_EQUAL_FATAL(vm_dirty_log_start(b), 0);
        CU_ASSERT_EQUAL(vm_run(a, 0), END_GUEST_EXIT);
        CU_ASSERT_EQUAL(vm_run(b, 0), END_GUEST_EXIT);
        CU_ASSERT_EQUAL(a->m.cpu.cycles, b->m.cpu.cycles);
        CU_ASSERT_EQUAL(vm_guest_insns(a), vm_guest_insns(b));
        CU_ASSERT_EQUAL(memcmp(a->m.ram, b->m.ram, a->m.ram_size), 0);
        vm_destroy(a);
        vm_destroy(b);
    }
}

/* The patch kernel spins until its `mov $1, %eax` reads `mov $2, %eax`. */
static uint32_t patch_site(const struct vm *vm)
{
    static const uint8_t pat[] = { 0xB8, 1, 0, 0, 0, 0x83, 0xF8, 0x02 };
    for (uint32_t a = 0x100000; a < 0x110000; a++)
        if (!memcmp(vm->m.ram + a, pat, sizeof pat))
            return a;
    return 0;
}

/* A write the VMM makes for someone else (here the debugger's memory write,
   vm_write_linear) into code that is running - decoded, or translated with
   guest paging on - is seen by the next turn of the loop, and logged. */
static void test_vmm_write_reaches_running_code(void)
{
    for (unsigned m = 0; m < 3; m++) {
        struct vm *vm = make(PATCH, modes[m]);
        uint32_t site = patch_site(vm);
        CU_ASSERT_FATAL(site != 0);
        vm_run(vm, 200000);                      /* paging on, the loop hot */
        CU_ASSERT_EQUAL(vm->m.end, END_NONE);
        CU_ASSERT_EQUAL_FATAL(vm_dirty_log_start(vm), 0);
        uint32_t two = 2;
        CU_ASSERT_EQUAL(vm_write_linear(vm, site + 1, &two, 4), 0);
        uint8_t *map = calloc(1, vm_guest_pages(vm) / 8);
        uint32_t n = vm_dirty_log_take(vm, map);     /* and, under a VMM, the */
        CU_ASSERT(n >= 1 && n <= 3);                 /* page tables' A/D bits */
        CU_ASSERT(bit(map, site >> 12));
        free(map);
        CU_ASSERT_EQUAL(vm_run(vm, 0), END_GUEST_EXIT);
        CU_ASSERT_EQUAL(vm->m.dbg.value, 0);     /* patched; 1: a stale copy ran */
        if (vm->m.dbg.value != 0)
            printf("\n%s: the loop never saw the patch\n", machine_mode_name(modes[m]));
        vm_destroy(vm);
    }
}

/* A restore rewrites all of RAM: every page is dirty. */
static void test_restore_dirties_everything(void)
{
    char err[256];
    const char *path = "/tmp/ringside-dirtylog.rsnap";
    struct vm *vm = make(WRITER, MODE_BT);
    vm_run(vm, 50000);
    CU_ASSERT_EQUAL_FATAL(snapshot_save(vm, path, err, sizeof err), 0);
    struct snap_file f;
    CU_ASSERT_EQUAL_FATAL(snap_read(path, &f, err, sizeof err), 0);
    CU_ASSERT_EQUAL_FATAL(vm_dirty_log_start(vm), 0);
    CU_ASSERT_EQUAL(snapshot_restore(vm, &f, err, sizeof err), 0);
    uint8_t *map = calloc(1, vm_guest_pages(vm) / 8);
    CU_ASSERT_EQUAL(vm_dirty_log_take(vm, map), vm_guest_pages(vm));
    free(map);
    snap_free(&f);
    remove(path);
    vm_destroy(vm);
}

void suite_dirtylog_register(void)
{
    CU_pSuite s = CU_add_suite("dirtylog", NULL, NULL);
    CU_add_test(s, "samples, every engine: every changed page is logged", test_changed_pages_are_logged);
    CU_add_test(s, "writer: exactly its pages, window after window", test_writer_logged_exactly);
    CU_add_test(s, "the log changes no modeled cycle", test_log_is_invisible_to_the_guest);
    CU_add_test(s, "a VMM write into running code (paging on) is executed and logged",
                test_vmm_write_reaches_running_code);
    CU_add_test(s, "a restore dirties every page", test_restore_dirties_everything);
}
