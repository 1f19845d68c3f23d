/*
 * test_robust.c - bad input files and killed runs (issue 11, "nothing lost").
 *
 * Why a suite of its own: these tests are about the process, not the
 * simulated machine. Every file ringside reads must be a regular file within
 * a bound, refused at once with one line and status 2 otherwise (a FIFO with
 * no writer, /dev/zero, a directory, a sparse file of 65 GiB), whichever
 * option names it. And a run killed by SIGTERM, SIGINT or SIGHUP must have
 * written every byte the guest printed before it dies of that signal. The
 * expected guest output is the test kernels' own definition (endings.S), not
 * anything ringside printed.
 */
#define _GNU_SOURCE
#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hw/hostfile.h"
#include "trace.h"
#include "vmm/cost.h"
#include "proc.h"

#define DIR_      "build/test_robust"
#define BAD_DIR   DIR_ "/a-directory"
#define BAD_FIFO  DIR_ "/fifo"
#define BAD_HUGE  DIR_ "/sparse-65g"
#define HUGE_SIZE ((65ull << 30) + 1)     /* over every bound (traces: 64 GiB) */

static int suite_init(void)
{
    mkdir("build", 0755);
    mkdir(DIR_, 0755);
    mkdir(BAD_DIR, 0755);
    unlink(BAD_FIFO);
    if (mkfifo(BAD_FIFO, 0644) != 0)
        return -1;
    int fd = open(BAD_HUGE, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int rc = fd >= 0 && ftruncate(fd, (off_t)HUGE_SIZE) == 0 ? 0 : -1;
    if (fd >= 0)
        close(fd);
    return rc;
}

static int suite_clean(void)
{
    unlink(BAD_FIFO);
    unlink(BAD_HUGE);
    rmdir(BAD_DIR);
    return 0;
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* ---- the helper ---------------------------------------------------------- */

static void test_hostfile_bound(void)
{
    char err[256];
    uint8_t *data;
    size_t len;
    const char *p = DIR_ "/ten";
    write_file(p, "0123456789", 10);
    CU_ASSERT_EQUAL(hostfile_read(p, 10, &data, &len, err, sizeof err), 0);
    CU_ASSERT_EQUAL(len, 10);
    CU_ASSERT(data && !memcmp(data, "0123456789", 10) && data[10] == 0);
    free(data);
    CU_ASSERT_EQUAL(hostfile_read(p, 9, &data, &len, err, sizeof err), -1);
    CU_ASSERT_PTR_NULL(data);
    CU_ASSERT_STRING_EQUAL(err, DIR_ "/ten: file too large (10 bytes, limit 9 bytes)");
    write_file(p, "", 0);
    CU_ASSERT_EQUAL(hostfile_read(p, 0, &data, &len, err, sizeof err), 0);
    CU_ASSERT(data && len == 0 && data[0] == 0);
    free(data);
    unlink(p);
}

static void test_hostfile_kinds(void)
{
    char err[256];
    uint8_t *data;
    size_t len;
    alarm(20);   /* a blocking open of the FIFO would hang: die instead */
    CU_ASSERT_EQUAL(hostfile_read(BAD_FIFO, 100, &data, &len, err, sizeof err), -1);
    CU_ASSERT_STRING_EQUAL(err, BAD_FIFO ": not a regular file (a FIFO)");
    alarm(0);
    CU_ASSERT_EQUAL(hostfile_read("/dev/zero", 100, &data, &len, err, sizeof err), -1);
    CU_ASSERT_STRING_EQUAL(err, "/dev/zero: not a regular file (a character device)");
    CU_ASSERT_EQUAL(hostfile_read(BAD_DIR, 100, &data, &len, err, sizeof err), -1);
    CU_ASSERT_STRING_EQUAL(err, BAD_DIR ": is a directory");
    CU_ASSERT_EQUAL(hostfile_open(BAD_HUGE, 64ull << 30, err, sizeof err), -1);
    CU_ASSERT_STRING_EQUAL(err, BAD_HUGE ": file too large (69793218561 bytes, limit 64 GiB)");
    CU_ASSERT_PTR_NULL(hostfile_fopen("/nonexistent/x", 1, err, sizeof err));
    CU_ASSERT_STRING_EQUAL(err, "/nonexistent/x: No such file or directory");
    struct trace_reader r;
    CU_ASSERT_EQUAL(trace_open(&r, BAD_DIR), -1);
    CU_ASSERT_STRING_EQUAL(r.err, "is a directory");
    trace_close(&r);
}

static void test_cost_parse_text(void)
{
    struct cost_profile p;
    char err[256];
    static const char nul[] = "insn_mul = 3\ninsn_\0div = 4\n";
    CU_ASSERT_EQUAL(cost_parse(&p, nul, sizeof nul - 1, "f", err, sizeof err), -1);
    CU_ASSERT_STRING_EQUAL(err, "f:2: NUL byte (not a text file)");
    char longl[COST_MAX_LINE + 3];
    memset(longl, ' ', sizeof longl);
    CU_ASSERT_EQUAL(cost_parse(&p, longl, sizeof longl, "f", err, sizeof err), -1);
    CU_ASSERT_STRING_EQUAL(err, "f:1: line too long (not a cost profile?)");
    static const char crlf[] = "name = dos\r\ninsn_mul = 12\r\ninsn_div = 7";  /* no final \n */
    CU_ASSERT_EQUAL(cost_parse(&p, crlf, sizeof crlf - 1, "f", err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(p.name, "dos");
    CU_ASSERT_EQUAL(p.v[COST_INSN_MUL], 12);
    CU_ASSERT_EQUAL(p.v[COST_INSN_DIV], 7);
    /* only len bytes count: "insn_div = 7" cut to "insn_div = " is an error */
    CU_ASSERT_EQUAL(cost_parse(&p, crlf, sizeof crlf - 2, "f", err, sizeof err), -1);
    CU_ASSERT_STRING_EQUAL(err, "f:3: insn_div: '' is not a cycle count");
}

/* ---- every file option, through the binary -------------------------------- */

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* argv with "@" replaced by bad: status 2, nothing on stdout, one stderr
   line naming bad and containing why, in well under the 30 s safety net. */
static void expect_refused(const char *const tmpl[], const char *bad, const char *why)
{
    char *argv[12];
    int n = 0;
    argv[n++] = (char *)proc_ringside();
    for (; tmpl[n - 1]; n++)
        argv[n] = (char *)(strcmp(tmpl[n - 1], "@") ? tmpl[n - 1] : bad);
    argv[n] = NULL;
    struct proc_result r;
    double t0 = now_s();
    CU_ASSERT_EQUAL_FATAL(proc_run(argv, 30, &r), 0);
    double took = now_s() - t0;
    bool ok = r.status == 2 && r.out_len == 0 && strstr(r.err, bad) && strstr(r.err, why) &&
              strchr(r.err, '\n') == r.err + strlen(r.err) - 1 && took < 10;
    if (!ok)
        fprintf(stderr, "\n  %s %s %s: status %d in %.1f s, stdout %zu bytes, stderr '%s'\n",
                tmpl[0], tmpl[1] ? tmpl[1] : "", bad, r.status, took, r.out_len, r.err);
    CU_ASSERT(ok);
    proc_result_free(&r);
}

static const char *const cmd_kernel[] = { "run", "@", NULL };
static const char *const cmd_module[] = { "run", "--module", "@", "tests/bin/end_exit.elf", NULL };
static const char *const cmd_costs[] = { "run", "--costs", "@", "tests/bin/end_exit.elf", NULL };
static const char *const cmd_paper[] = { "paper", "--costs", "@", NULL };
static const char *const cmd_paper_k[] = { "paper", "--kernel", "@", NULL };
static const char *const cmd_trace[] = { "trace", "info", "@", NULL };
static const char *const *const all_cmds[] = { cmd_kernel, cmd_module, cmd_costs, cmd_paper,
                                              cmd_paper_k, cmd_trace };
#define NCMDS (int)(sizeof all_cmds / sizeof all_cmds[0])

static void test_refuse_dev_zero(void)
{
    for (int i = 0; i < NCMDS; i++)
        expect_refused(all_cmds[i], "/dev/zero", "not a regular file (a character device)");
}

static void test_refuse_directory(void)
{
    for (int i = 0; i < NCMDS; i++)
        expect_refused(all_cmds[i], BAD_DIR, "is a directory");
}

static void test_refuse_fifo(void)
{
    for (int i = 0; i < NCMDS; i++)
        expect_refused(all_cmds[i], BAD_FIFO, "not a regular file (a FIFO)");
}

static void test_refuse_sparse(void)
{
    for (int i = 0; i < NCMDS; i++)
        expect_refused(all_cmds[i], BAD_HUGE, "file too large (69793218561 bytes, limit");
}

/* Just over each command's own bound (kernel/module 256 MiB, costs 64 KiB). */
static void test_refuse_just_over(void)
{
    const char *p = DIR_ "/over";
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CU_ASSERT_FATAL(fd >= 0 && ftruncate(fd, (256 << 20) + 1) == 0);
    close(fd);
    expect_refused(cmd_kernel, p, "file too large (268435457 bytes, limit 256 MiB)");
    expect_refused(cmd_module, p, "file too large (268435457 bytes, limit 256 MiB)");
    fd = open(p, O_WRONLY | O_TRUNC);
    CU_ASSERT_FATAL(fd >= 0 && ftruncate(fd, (64 << 10) + 1) == 0);
    close(fd);
    expect_refused(cmd_costs, p, "file too large (65537 bytes, limit 64 KiB)");
    expect_refused(cmd_paper, p, "file too large (65537 bytes, limit 64 KiB)");
    unlink(p);
}

/* ---- killed runs keep their output ---------------------------------------- */

struct child {
    pid_t pid;
    int out;                /* read end of its stdout */
    char *buf;              /* what it wrote so far */
    size_t len, cap;
};

static int child_start(struct child *c, const char *kernel, const char *max_insns)
{
    int p[2];
    memset(c, 0, sizeof *c);
    if (pipe(p) != 0)
        return -1;
    c->pid = fork();
    if (c->pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 2);
        /* as from an interactive shell: `make test &` would leave SIGINT ignored,
           and ringside rightly keeps an ignored signal ignored */
        signal(SIGINT, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        execl(proc_ringside(), proc_ringside(), "run", "--max-insns", max_insns, kernel,
              (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    c->out = p[0];
    return c->pid > 0 ? 0 : -1;
}

/* Read until `want` bytes arrived, EOF, or `secs` passed. */
static void child_read(struct child *c, size_t want, double secs)
{
    double end = now_s() + secs;
    while (c->len < want && now_s() < end) {
        struct pollfd pf = { c->out, POLLIN, 0 };
        if (poll(&pf, 1, 100) <= 0)
            continue;
        if (c->len + 65536 > c->cap) {
            c->cap = (c->len + 65536) * 2;
            c->buf = realloc(c->buf, c->cap);
        }
        ssize_t n = read(c->out, c->buf + c->len, 65536);
        if (n <= 0)
            break;
        c->len += (size_t)n;
    }
}

/* Signal it, read to EOF, reap: its wait status. */
static int child_kill(struct child *c, int sig)
{
    kill(c->pid, sig);
    child_read(c, (size_t)-1, 30);
    close(c->out);
    int st = 0;
    waitpid(c->pid, &st, 0);
    return st;
}

/* "ending\n" then "line XXXXXXXX the quick brown fox\n" for 0..n-1 (endings.S). */
static char *expected_lines(unsigned n, size_t *len)
{
    char *s = malloc(16 + (size_t)n * 34), *p = s;
    p += sprintf(p, "ending\n");
    for (unsigned i = 0; i < n; i++)
        p += sprintf(p, "line %08x the quick brown fox\n", i);
    *len = (size_t)(p - s);
    return s;
}

/* end_lines.elf prints 1000 lines and "tail", then spins: all of it must be
   there when the signal comes, and ringside must die of that signal. */
static void killed_keeps_all(int sig)
{
    size_t len;
    char *want = expected_lines(1000, &len);
    memcpy(want + len, "tail", 5);
    len += 4;
    struct child c;
    CU_ASSERT_EQUAL_FATAL(child_start(&c, "tests/bin/end_lines.elf", "100000000000"), 0);
    child_read(&c, len, 20);
    int st = child_kill(&c, sig);
    CU_ASSERT(WIFSIGNALED(st) && WTERMSIG(st) == sig);
    CU_ASSERT_EQUAL(c.len, len);
    CU_ASSERT(c.len == len && memcmp(c.buf, want, len) == 0);
    if (c.len != len)
        fprintf(stderr, "\n  signal %d: %zu of %zu bytes\n", sig, c.len, len);
    free(c.buf);
    free(want);
}

static void test_killed_sigterm(void) { killed_keeps_all(SIGTERM); }
static void test_killed_sigint(void) { killed_keeps_all(SIGINT); }
static void test_killed_sighup(void) { killed_keeps_all(SIGHUP); }

/* end_chatter.elf prints forever: killed mid-stream, what arrived is a byte
   prefix of an uninterrupted run's output (the native engine with a budget),
   with no gap and no repeat where a buffer was cut. */
static void test_killed_midstream(void)
{
    char *argv[] = { (char *)proc_ringside(), "run", "--max-insns", "5000000",
                     "tests/bin/end_chatter.elf", NULL };
    struct proc_result full;
    CU_ASSERT_EQUAL_FATAL(proc_run(argv, 60, &full), 0);
    CU_ASSERT_EQUAL(full.status, 8);
    CU_ASSERT_FATAL(full.out_len > 300000);
    size_t len;
    char *gen = expected_lines(5000, &len);   /* the reference is what the kernel prints */
    CU_ASSERT(memcmp(full.out, gen, len) == 0);
    free(gen);
    for (int round = 0; round < 3; round++) {
        int sig = round == 1 ? SIGINT : SIGTERM;
        struct child c;
        CU_ASSERT_EQUAL_FATAL(child_start(&c, "tests/bin/end_chatter.elf", "5000000"), 0);
        child_read(&c, 40000 + 30000 * (size_t)round, 20);
        int st = child_kill(&c, sig);
        /* it may also have finished its budget first (status 8): then all */
        bool died = WIFSIGNALED(st) && WTERMSIG(st) == sig;
        CU_ASSERT(died || (WIFEXITED(st) && WEXITSTATUS(st) == 8 && c.len == full.out_len));
        CU_ASSERT(c.len >= 40000 && c.len <= full.out_len);
        CU_ASSERT(c.len <= full.out_len && memcmp(c.buf, full.out, c.len) == 0);
        free(c.buf);
    }
    proc_result_free(&full);
}

/* Nobody reads its stdout (the pipe is full, ringside blocked in write):
   a signal must still end it promptly, of that signal. */
static void test_killed_stuck_reader(void)
{
    struct child c;
    CU_ASSERT_EQUAL_FATAL(child_start(&c, "tests/bin/end_chatter.elf", "100000000000"), 0);
    usleep(1500 * 1000);           /* long enough to fill the 64 KiB pipe */
    kill(c.pid, SIGTERM);
    int st = 0;
    double end = now_s() + 10;
    pid_t got = 0;
    while (now_s() < end && (got = waitpid(c.pid, &st, WNOHANG)) == 0)
        usleep(20 * 1000);
    double left = end - now_s();
    if (got == 0) {
        kill(c.pid, SIGKILL);
        waitpid(c.pid, &st, 0);
    }
    CU_ASSERT(got == c.pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
    CU_ASSERT(left > 5);           /* died within 5 s (the handler waits 1 s at most) */
    close(c.out);
}

void suite_robust_register(void)
{
    CU_pSuite s = CU_add_suite("robust", suite_init, suite_clean);
    CU_add_test(s, "hostfile: bound is limit bytes, limit+1 refused", test_hostfile_bound);
    CU_add_test(s, "hostfile: FIFO, device, directory, sparse 65 GiB", test_hostfile_kinds);
    CU_add_test(s, "cost_parse: NUL, long line, CRLF, no final newline", test_cost_parse_text);
    CU_add_test(s, "/dev/zero refused by every file option", test_refuse_dev_zero);
    CU_add_test(s, "a directory refused by every file option", test_refuse_directory);
    CU_add_test(s, "a FIFO with no writer refused at once", test_refuse_fifo);
    CU_add_test(s, "a sparse 65 GiB file refused without reading", test_refuse_sparse);
    CU_add_test(s, "one byte over each bound refused", test_refuse_just_over);
    CU_add_test(s, "SIGTERM: every byte printed, dies of SIGTERM", test_killed_sigterm);
    CU_add_test(s, "SIGINT: every byte printed, dies of SIGINT", test_killed_sigint);
    CU_add_test(s, "SIGHUP: every byte printed, dies of SIGHUP", test_killed_sighup);
    CU_add_test(s, "killed mid-stream: a prefix of the full run", test_killed_midstream);
    CU_add_test(s, "killed while nobody reads stdout: dies at once", test_killed_stuck_reader);
}
