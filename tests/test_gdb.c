/*
 * test_gdb.c - the gdb stub (`ringside run --gdb PORT`) with the real gdb.
 *
 * gdb in batch mode, as a student would use it: break at a symbol, continue,
 * step a line, read a variable, watch a store, finish, detach; under every
 * engine the answers must be the same, and after the detach the guest runs
 * on to exactly its usual output (the QEMU golden) and status.
 */
#include <CUnit/CUnit.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc.h"

static bool have_gdb(void)
{
    return system("gdb --version >/dev/null 2>&1") == 0;
}

static pid_t start_ringside(const char *mode, int port, const char *out)
{
    pid_t pid = fork();
    if (pid == 0) {
        char p[16];
        snprintf(p, sizeof p, "%d", port);
        freopen(out, "w", stdout);
        freopen("/dev/null", "w", stderr);
        execl(proc_ringside(), proc_ringside(), "run", "--mode", mode, "--gdb", p,
              "samples/bin/rings.elf", (char *)NULL);
        _exit(127);
    }
    return pid;
}

static void session(const char *mode, int port)
{
    char out[] = "/tmp/ringside-gdb-XXXXXX", target[64];
    int fd = mkstemp(out);
    close(fd);
    pid_t pid = start_ringside(mode, port, out);
    usleep(400000);
    snprintf(target, sizeof target, "target remote 127.0.0.1:%d", port);
    char *argv[] = { "gdb", "-batch", "-nx", "-ex", "set confirm off", "-ex", target,
                     "-ex", "break kmain", "-ex", "continue", "-ex", "next", "-ex", "print ticks",
                     "-ex", "watch ticks", "-ex", "continue", "-ex", "print ticks",
                     "-ex", "delete", "-ex", "finish", "-ex", "info registers eip",
                     "-ex", "detach", "samples/bin/rings.elf", NULL };
    struct proc_result r;
    CU_ASSERT_EQUAL_FATAL(proc_run(argv, 120, &r), 0);
    static const char *const want[] = {
        "Breakpoint 1, kmain", "$1 = 0", "Old value = 0", "New value = 1",
        "on_timer (tf=", "$2 = 1", "trap_dispatch", "detached",
    };
    for (unsigned i = 0; i < sizeof want / sizeof *want; i++) {
        if (!strstr(r.out, want[i]))
            fprintf(stderr, "\n  gdb under %s: no '%s' in:\n%s\n", mode, want[i], r.out);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.out, want[i]));
    }
    proc_result_free(&r);
    int st = 0;
    waitpid(pid, &st, 0);
    CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 1);       /* ran on to the guest's exit */
    char *got = proc_read_file(out, NULL), *golden = proc_read_file("tests/golden/rings.out", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_STRING_EQUAL(got, golden);
    free(got);
    free(golden);
    unlink(out);
}

static void test_gdb_every_engine(void)
{
    if (!have_gdb()) {
        fprintf(stderr, "\n  gdb not installed: gdb stub test skipped\n");
        return;
    }
    int port = 40000 + getpid() % 20000;
    session("native", port);
    session("trap", port + 1);
    session("bt", port + 2);
    session("hw", port + 3);
}

static void test_gdb_bad_port(void)
{
    char *argv[] = { (char *)proc_ringside(), "run", "--gdb", "80", "samples/bin/hello.elf", NULL };
    struct proc_result r;
    CU_ASSERT_EQUAL_FATAL(proc_run(argv, 30, &r), 0);
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "--gdb"));
    proc_result_free(&r);
}

void suite_gdb_register(void)
{
    CU_pSuite s = CU_add_suite("gdb (remote stub, real gdb)", NULL, NULL);
    CU_add_test(s, "break, next, print, watch, finish, detach under every engine",
                test_gdb_every_engine);
    CU_add_test(s, "--gdb below 1024: status 2", test_gdb_bad_port);
}
