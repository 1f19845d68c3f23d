/*
 * test_gdb.c - the gdb stub (`ringside run --gdb PORT`) with the real gdb.
 *
 * gdb in batch mode, as a student would use it: break at a symbol, continue,
 * step a line, read a variable, watch a store, finish, detach; under every
 * engine the answers must be the same, and after the detach the guest runs
 * on to exactly its usual output (the QEMU golden) and status. Reverse
 * execution too: reverse-stepi comes back to the instruction before,
 * reverse-continue to the previous breakpoint hit and to the previous store
 * to a watched variable, and the guest's output after going back and forth
 * is still printed once (docs/replay.md).
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

/* The value gdb printed as "$n = ...", up to the end of its line. */
static void printed(const char *out, int n, char *buf, size_t len)
{
    char key[16];
    snprintf(key, sizeof key, "$%d = ", n);
    const char *p = strstr(out, key);
    buf[0] = 0;
    if (p) {
        p += strlen(key);
        size_t k = strcspn(p, "\n");
        snprintf(buf, len, "%.*s", (int)(k < len - 1 ? k : len - 1), p);
    }
}

static void wait_golden(pid_t pid, const char *out)
{
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

static void reverse_session(const char *mode, int port)
{
    char out[] = "/tmp/ringside-gdb-XXXXXX", target[64];
    int fd = mkstemp(out);
    close(fd);
    pid_t pid = start_ringside(mode, port, out);
    usleep(400000);
    snprintf(target, sizeof target, "target remote 127.0.0.1:%d", port);
    char *argv[] = { "gdb", "-batch", "-nx", "-ex", "set confirm off", "-ex", target,
                     "-ex", "break kmain", "-ex", "continue", "-ex", "next", "-ex", "next",
                     "-ex", "print $pc", "-ex", "stepi", "-ex", "stepi", "-ex", "print $pc",
                     "-ex", "reverse-stepi", "-ex", "reverse-stepi", "-ex", "print $pc",
                     "-ex", "reverse-continue", "-ex", "print $pc",
                     "-ex", "watch ticks", "-ex", "continue", "-ex", "continue",
                     "-ex", "print ticks", "-ex", "reverse-continue", "-ex", "print ticks",
                     "-ex", "delete", "-ex", "detach", "samples/bin/rings.elf", NULL };
    struct proc_result r;
    CU_ASSERT_EQUAL_FATAL(proc_run(argv, 180, &r), 0);
    char before[128], stepped[128], back[128], bp[128], t2[64], t1[64];
    printed(r.out, 1, before, sizeof before);
    printed(r.out, 2, stepped, sizeof stepped);
    printed(r.out, 3, back, sizeof back);
    printed(r.out, 4, bp, sizeof bp);
    printed(r.out, 5, t2, sizeof t2);
    printed(r.out, 6, t1, sizeof t1);
    if (strcmp(before, back) || !strstr(bp, "<kmain>") || strcmp(t2, "2") ||
        (strcmp(t1, "1") && strcmp(mode, "bt")))
        fprintf(stderr, "\n  reverse under %s:\n%s\n", mode, r.out);
    CU_ASSERT(before[0] && strcmp(before, stepped) != 0);
    CU_ASSERT_STRING_EQUAL(before, back);           /* two stepi back = where we were */
    CU_ASSERT_PTR_NOT_NULL(strstr(bp, "<kmain>"));   /* the breakpoint hit before */
    CU_ASSERT_STRING_EQUAL(t2, "2");
    /* back to the store of 1; not under bt, where the stops gdb's stepping
       made in the live run move the timer's interrupts in the re-execution
       (docs/replay.md) */
    if (strcmp(mode, "bt") != 0)
        CU_ASSERT_STRING_EQUAL(t1, "1");
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "detached"));
    proc_result_free(&r);
    wait_golden(pid, out);
}

static void test_gdb_reverse(void)
{
    if (!have_gdb()) {
        fprintf(stderr, "\n  gdb not installed: gdb reverse test skipped\n");
        return;
    }
    int port = 40000 + (getpid() + 7) % 20000;
    reverse_session("native", port);
    reverse_session("trap", port + 1);
    reverse_session("bt", port + 2);
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
    CU_add_test(s, "reverse-stepi, reverse-continue (breakpoint, watchpoint) under every engine",
                test_gdb_reverse);
    CU_add_test(s, "--gdb below 1024: status 2", test_gdb_bad_port);
}
