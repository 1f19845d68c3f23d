/*
 * test_vm.c - the VM recipe (sim/vm.h) and the commands built on it.
 *
 * vm_create is the one way every command builds a guest, so these tests pin
 * what a recipe must do: apply the engine's options (the TUI used to parse
 * --tc-* and drop them), stamp the VM id on the events, and refuse bad input
 * with a reason instead of a half-built VM.
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>

#include "vm.h"
#include "vmm/bt/bt.h"
#include "tui_session.h"

#define HELLO "samples/bin/hello.elf"

struct id_seen { int events; int wrong; uint8_t want; };

static void count_ids(void *ctx, const struct event *ev)
{
    struct id_seen *s = ctx;
    s->events++;
    s->wrong += ev->vm != s->want;
}

static void test_vm_id_on_every_event(void)
{
    char err[256];
    struct vm_config cfg = { .kernel_path = HELLO, .mode = MODE_BT, .id = 7 };
    struct vm *vm = vm_create(&cfg, err, sizeof err);
    CU_ASSERT_FATAL(vm != NULL);
    struct id_seen seen = { .want = 7 };
    CU_ASSERT(event_subscribe(&vm->m.events, EV_ALL, count_ids, &seen) == 0);
    CU_ASSERT(vm_run(vm, 0) == END_GUEST_EXIT);
    CU_ASSERT(seen.events > 100);     /* bt: translations, callouts, I/O... */
    CU_ASSERT_EQUAL(seen.wrong, 0);
    vm_destroy(vm);
}

static void test_vm_applies_tc_options(void)
{
    char err[256];
    struct vm_config cfg = { .kernel_path = HELLO, .mode = MODE_BT, .tc_size = 8192,
                             .tc_policy = "fifo", .tc_block_insns = 3 };
    struct vm *vm = vm_create(&cfg, err, sizeof err);
    CU_ASSERT_FATAL(vm != NULL);
    const struct bt_config *bc = bt_get_config(vmm_bt(vm->m.vmm));
    CU_ASSERT_EQUAL(bc->tc_size, 8192);
    CU_ASSERT_EQUAL(bc->policy, BT_POLICY_FIFO);
    CU_ASSERT_EQUAL(bc->block_insns, 3);
    vm_destroy(vm);
}

static void test_vm_rejects_bad_input(void)
{
    char err[256] = "";
    struct vm_config cfg = { .kernel_path = "/nonexistent/kernel.elf", .mode = MODE_TRAP };
    CU_ASSERT(vm_create(&cfg, err, sizeof err) == NULL);
    CU_ASSERT(strstr(err, "/nonexistent/kernel.elf") != NULL);
    struct vm_config mem = { .kernel_path = HELLO, .mem_mib = 1 };
    CU_ASSERT(vm_create(&mem, err, sizeof err) == NULL);
    CU_ASSERT(strstr(err, "--mem") != NULL);
    struct vm_config pol = { .kernel_path = HELLO, .mode = MODE_BT, .tc_policy = "lru" };
    CU_ASSERT(vm_create(&pol, err, sizeof err) == NULL);
    CU_ASSERT(strstr(err, "lru") != NULL);
}

static struct tui_session sess;      /* large: not on the stack */

/* The TUI builds its VM from the same options as `run`: --tc-* apply. */
static void test_tui_applies_tc_options(void)
{
    struct run_options o = { .mode = "bt", .mem_mib = 32, .kernel = HELLO,
                             .tc_size_kib = 16, .tc_policy = "fifo", .tc_block_insns = 5 };
    char err[256];
    CU_ASSERT_FATAL(tui_session_open(&sess, &o, err, sizeof err) == 0);
    const struct bt_config *bc = bt_get_config(vmm_bt(sess.m->vmm));
    CU_ASSERT_EQUAL(bc->tc_size, 16 * 1024);
    CU_ASSERT_EQUAL(bc->policy, BT_POLICY_FIFO);
    CU_ASSERT_EQUAL(bc->block_insns, 5);
    tui_session_close(&sess);
}

void suite_vm_register(void)
{
    CU_pSuite s = CU_add_suite("vm", NULL, NULL);
    CU_add_test(s, "the VM id is stamped on every event", test_vm_id_on_every_event);
    CU_add_test(s, "vm_create applies --tc-size/--tc-policy/--tc-block-insns", test_vm_applies_tc_options);
    CU_add_test(s, "vm_create refuses a missing kernel, bad --mem, bad policy", test_vm_rejects_bad_input);
    CU_add_test(s, "the TUI applies the --tc-* options", test_tui_applies_tc_options);
}
