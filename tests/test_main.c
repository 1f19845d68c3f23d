/*
 * test_main.c - the CUnit runner behind `make test`.
 *
 * Each suite file exposes one suite_<name>_register() function; this file
 * registers them all, runs them with the basic interface, and turns failures
 * into a non-zero exit status. A single suite can be chosen with
 * `run_tests SUITE` while developing.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

void suite_decode_register(void);
void suite_alu_register(void);
void suite_exec_register(void);
void suite_cpu_sys_register(void);
void suite_cpu_task_register(void);
void suite_devices_register(void);
void suite_pc_register(void);
void suite_loader_register(void);
void suite_samples_register(void);
void suite_vmm_register(void);
void suite_shadow_register(void);
void suite_tui_register(void);
void suite_traces_register(void);
void suite_bt_register(void);
void suite_bt_fuzz_register(void);
void suite_vm_register(void);
void suite_compare_register(void);
void suite_snapshot_register(void);
void suite_replay_register(void);
void suite_host_register(void);
void suite_host_mem_register(void);
void suite_tui_host_register(void);
void suite_tui_mig_register(void);
void suite_control_register(void);
void suite_gdb_register(void);
void suite_isolation_register(void);
void suite_isolation_mem_register(void);
void suite_cpu_fix_register(void);
void suite_vmx_register(void);
void suite_hw_register(void);
void suite_readme_register(void);
void suite_kernel_fuzz_register(void);
void suite_robust_register(void);
void suite_lesson_register(void);
void suite_dirtylog_register(void);
void suite_migrate_register(void);
void suite_fastpath_register(void);

static const struct {
    const char *name;
    void (*reg)(void);
} suites[] = {
    { "decode", suite_decode_register },
    { "fastpath", suite_fastpath_register },
    { "alu", suite_alu_register },
    { "exec", suite_exec_register },
    { "cpu_sys", suite_cpu_sys_register },
    { "cpu_task", suite_cpu_task_register },
    { "devices", suite_devices_register },
    { "pc", suite_pc_register },
    { "loader", suite_loader_register },
    { "vmm", suite_vmm_register },
    { "shadow", suite_shadow_register },
    { "samples", suite_samples_register },
    { "tui", suite_tui_register },
    { "traces", suite_traces_register },
    { "bt", suite_bt_register },
    { "bt_fuzz", suite_bt_fuzz_register },
    { "vm", suite_vm_register },
    { "compare", suite_compare_register },
    { "snapshot", suite_snapshot_register },
    { "replay", suite_replay_register },
    { "host", suite_host_register },
    { "host_mem", suite_host_mem_register },
    { "tui_host", suite_tui_host_register },
    { "tui_mig", suite_tui_mig_register },
    { "control", suite_control_register },
    { "gdb", suite_gdb_register },
    { "isolation", suite_isolation_register },
    { "isolation_mem", suite_isolation_mem_register },
    { "cpu_fix", suite_cpu_fix_register },
    { "vmx", suite_vmx_register },
    { "hw", suite_hw_register },
    { "readme", suite_readme_register },
    { "kernel_fuzz", suite_kernel_fuzz_register },
    { "robust", suite_robust_register },
    { "lesson", suite_lesson_register },
    { "dirtylog", suite_dirtylog_register },
    { "migrate", suite_migrate_register },
};

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "--list")) {   /* for scripts/run-tests.sh */
        for (unsigned i = 0; i < sizeof suites / sizeof *suites; i++)
            puts(suites[i].name);
        return 0;
    }
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    for (unsigned i = 0; i < sizeof suites / sizeof *suites; i++)
        if (argc < 2 || !strcmp(argv[1], suites[i].name))
            suites[i].reg();
    CU_basic_set_mode(CU_BRM_NORMAL);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    unsigned run = CU_get_number_of_tests_run();
    CU_cleanup_registry();
    if (run == 0) {
        fprintf(stderr, "run_tests: no test ran\n");
        return 1;
    }
    return failed ? 1 : 0;
}
