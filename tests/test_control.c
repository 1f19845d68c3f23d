/*
 * test_control.c - the management protocol and `ringside ctl`.
 *
 * Requests go through control_handle in process (every reply is parsed back
 * with jansson and checked), and through a real `ringside host --control`
 * child over its Unix socket and over loopback TCP with a token: what a
 * client sees, that the socket is 0600, that a wrong token, a malformed
 * line, an unknown command or VM each get an error reply while the host
 * carries on, and 10,000 malformed lines never crash it.
 */
#include <CUnit/CUnit.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host/control.h"
#include "host/ctlclient.h"
#include "proc.h"

/* ---- in process ---- */

static json_t *ask(struct host *h, const char *line, struct control_effect *fx)
{
    char *r = control_handle(h, line, fx);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_PTR_NULL(strchr(r, '\n'));           /* one line */
    json_error_t e;
    json_t *j = json_loads(r, 0, &e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    free(r);
    return j;
}

static const char *error_class(json_t *j)
{
    return json_string_value(json_object_get(json_object_get(j, "error"), "class"));
}

static void expect_error(struct host *h, const char *line, const char *cls)
{
    struct control_effect fx;
    json_t *j = ask(h, line, &fx);
    const char *got = error_class(j);
    if (!got || strcmp(got, cls))
        fprintf(stderr, "\n  %s -> %s, want %s\n", line, got ? got : "(no error)", cls);
    CU_ASSERT(got && !strcmp(got, cls));
    json_decref(j);
}

static void test_commands_in_process(void)
{
    struct host h;
    struct host_config hc = { .type = HOST_TYPE1 };
    struct control_effect fx;
    host_init(&h, &hc);
    json_t *j = ask(&h, "{\"execute\":\"create\",\"arguments\":{\"kernel\":\"samples/bin/hello.elf\","
                        "\"name\":\"a\",\"mode\":\"trap\"},\"id\":7}", &fx);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_object_get(j, "return"), "name")), "a");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "id")), 7);  /* the id comes back */
    json_decref(j);
    CU_ASSERT_EQUAL(h.vms[0].state, HVM_PAUSED);                   /* created stopped */
    j = ask(&h, "{\"execute\":\"start\",\"arguments\":{\"vm\":\"a\"}}", &fx);
    CU_ASSERT_PTR_NOT_NULL(json_object_get(j, "return"));
    json_decref(j);
    while (host_step(&h) >= 0)
        ;
    j = ask(&h, "{\"execute\":\"list\"}", &fx);
    json_t *vm = json_array_get(json_object_get(j, "return"), 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(vm, "state")), "ended");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(vm, "guest_insns")),
                    (json_int_t)cpu_guest_insns(&h.vms[0].vm->m.cpu));
    json_decref(j);
    j = ask(&h, "{\"execute\":\"stats\",\"arguments\":{\"vm\":\"a\"}}", &fx);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(j, "return"), "cycles")),
                    (json_int_t)h.vms[0].vm->m.cpu.cycles);
    json_decref(j);
    j = ask(&h, "{\"execute\":\"reset\",\"arguments\":{\"vm\":\"a\"}}", &fx);
    CU_ASSERT_PTR_NOT_NULL(json_object_get(j, "return"));
    CU_ASSERT_EQUAL(cpu_guest_insns(&h.vms[0].vm->m.cpu), 0);     /* a fresh boot */
    json_decref(j);
    j = ask(&h, "{\"execute\":\"events\",\"arguments\":{\"kinds\":[\"trap\",\"io\"]}}", &fx);
    CU_ASSERT(fx.subscribe && fx.event_mask == (EV_BIT(EV_TRAP) | EV_BIT(EV_IO)));
    json_decref(j);
    expect_error(&h, "{\"execute\":\"pause\",\"arguments\":{\"vm\":\"nosuch\"}}", "VMNotFound");
    expect_error(&h, "{\"execute\":\"frobnicate\"}", "CommandNotFound");
    expect_error(&h, "{\"execute\":\"create\",\"arguments\":{\"kernel\":5}}", "InvalidArgument");
    expect_error(&h, "{\"execute\":\"create\",\"arguments\":{\"kernel\":\"x\",\"mem\":1}}",
                 "InvalidArgument");
    expect_error(&h, "{\"execute\":\"create\",\"arguments\":{\"kernel\":\"no/such.elf\"}}",
                 "CreateFailed");
    expect_error(&h, "{\"execute\":\"events\",\"arguments\":{\"kinds\":[\"nope\"]}}",
                 "InvalidArgument");
    expect_error(&h, "{\"execute\":\"migrate\",\"arguments\":{\"vm\":\"a\"}}", "InvalidArgument");
    expect_error(&h, "{\"execute\":\"migrate\",\"arguments\":{\"vm\":\"a\",\"to\":\"127.0.0.1:1\"}}",
                 "MigrationFailed");                      /* nobody there: the VM stays */
    expect_error(&h, "{\"execute\":\"migrate\",\"arguments\":{\"vm\":\"a\",\"to\":\"10.0.0.1:1\"}}",
                 "MigrationFailed");                      /* loopback only */
    expect_error(&h, "[1,2]", "ParseError");
    expect_error(&h, "{\"execute\":\"list\",\"arguments\":[]}", "InvalidRequest");
    expect_error(&h, "{\"execute\":\"list\",\"execute\":\"quit\"}", "ParseError");
    CU_ASSERT_EQUAL(h.nvms, 1);                                    /* nothing changed */
    j = ask(&h, "{\"execute\":\"quit\"}", &fx);
    CU_ASSERT(fx.quit);
    json_decref(j);
    host_free(&h);
}

/* 10,000 malformed lines (mutations of good requests, random bytes): each
   is answered with one JSON line, and the host is unchanged. */
static void test_malformed_lines(void)
{
    static const char *const good[] = {
        "{\"execute\":\"list\"}",
        "{\"execute\":\"create\",\"arguments\":{\"kernel\":\"samples/bin/hello.elf\"}}",
        "{\"execute\":\"stats\",\"arguments\":{\"vm\":\"vm0\"}}",
        "{\"execute\":\"events\",\"arguments\":{\"kinds\":[\"trap\"]}}",
    };
    struct host h;
    struct host_config hc = { .type = HOST_TYPE1 };
    host_init(&h, &hc);
    srand(11);
    char line[256];
    int errors = 0;
    for (int i = 0; i < 10000; i++) {
        const char *g = good[i % 4];
        size_t n = strlen(g);
        memcpy(line, g, n + 1);
        for (int k = 0; k < 1 + i % 3; k++)
            line[(size_t)rand() % n] = (char)(1 + rand() % 255);
        struct control_effect fx;
        json_t *j = ask(&h, line, &fx);
        errors += json_object_get(j, "error") != NULL;
        json_decref(j);
        CU_ASSERT(!fx.quit);
    }
    CU_ASSERT(errors > 9000);          /* a few mutations stay valid requests */
    CU_ASSERT(h.nvms < 200);
    host_free(&h);
}

/* ---- over sockets ---- */

static pid_t start_host(char *const extra[], int n)
{
    pid_t pid = fork();
    if (pid == 0) {
        char *argv[16] = { (char *)proc_ringside(), "host" };
        for (int i = 0; i < n && i < 12; i++)
            argv[2 + i] = extra[i];
        freopen("/dev/null", "w", stdout);
        freopen("/dev/null", "w", stderr);
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static int ctl(struct proc_result *r, char *a, char *b, char *c, char *d, char *e)
{
    char *argv[] = { (char *)proc_ringside(), "ctl", a, b, c, d, e, NULL };
    return proc_run(argv, 60, r);
}

static void wait_for(const char *path)
{
    for (int i = 0; i < 200 && access(path, F_OK) != 0; i++)
        usleep(20000);
}

static void stop_host(pid_t pid)
{
    int st;
    for (int i = 0; i < 100; i++) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return;
        usleep(20000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
}

static void test_unix_socket(void)
{
    char sock[] = "/tmp/ringside-ctl-XXXXXX";
    int fd = mkstemp(sock);
    close(fd);
    unlink(sock);
    char *args[] = { "--control", sock, "--vm", "samples/bin/hello.elf --mode trap --name h" };
    pid_t pid = start_host(args, 4);
    wait_for(sock);
    struct stat st;
    CU_ASSERT_EQUAL_FATAL(stat(sock, &st), 0);
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
    struct proc_result r;
    CU_ASSERT_EQUAL_FATAL(ctl(&r, sock, "create", "kernel=samples/bin/compute.elf", "name=c", NULL), 0);
    CU_ASSERT_EQUAL(r.status, 0);
    proc_result_free(&r);
    CU_ASSERT_EQUAL_FATAL(ctl(&r, sock, "start", "vm=c", NULL, NULL), 0);
    CU_ASSERT_STRING_EQUAL(r.out, "ok\n");
    proc_result_free(&r);
    CU_ASSERT_EQUAL_FATAL(ctl(&r, "--json", sock, "list", NULL, NULL), 0);
    json_error_t e;
    json_t *j = json_loads(r.out, 0, &e);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "return")), 2);
    json_decref(j);
    proc_result_free(&r);
    CU_ASSERT_EQUAL_FATAL(ctl(&r, sock, "pause", "vm=nosuch", NULL, NULL), 0);
    CU_ASSERT_EQUAL(r.status, 1);                  /* the command failed */
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "VMNotFound"));
    proc_result_free(&r);
    /* a client that sends half a line and vanishes changes nothing */
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof a.sun_path, "%s", sock);
    CU_ASSERT_EQUAL(connect(c, (struct sockaddr *)&a, sizeof a), 0);
    CU_ASSERT(write(c, "{\"execute\":\"quit\"", 17) == 17);
    close(c);
    CU_ASSERT_EQUAL_FATAL(ctl(&r, sock, "stats", NULL, NULL, NULL), 0);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "vms: 2"));
    proc_result_free(&r);
    /* machine memory: the default 1 GiB pool, and the frames hello touched */
    CU_ASSERT_EQUAL_FATAL(ctl(&r, "--json", sock, "stats", NULL, NULL), 0);
    j = json_loads(r.out, 0, &e);
    json_t *mem = json_object_get(json_object_get(j, "return"), "memory");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(mem, "frames")), 262144);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(mem, "used")) +
                        json_integer_value(json_object_get(mem, "free")), 262144);
    json_decref(j);
    proc_result_free(&r);
    CU_ASSERT_EQUAL_FATAL(ctl(&r, "--json", sock, "stats", "vm=h", NULL), 0);
    j = json_loads(r.out, 0, &e);
    CU_ASSERT(json_integer_value(json_object_get(json_object_get(j, "return"), "pages_mapped")) > 0);
    json_decref(j);
    proc_result_free(&r);
    CU_ASSERT_EQUAL_FATAL(ctl(&r, sock, "quit", NULL, NULL, NULL), 0);
    proc_result_free(&r);
    stop_host(pid);
    CU_ASSERT_NOT_EQUAL(access(sock, F_OK), 0);    /* removed on the way out */
}

/* 200 clients connected at once, each pipelining list and stats requests
   while a VM runs: every request gets its reply, in order, none an error,
   and the guest's console is still its golden output. */
static void test_200_clients(void)
{
    enum { N = 200, REQS = 5 };
    char dir[] = "/tmp/ringside-ctl200-XXXXXX", sock[64], out[160];
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(sock, sizeof sock, "%s/s", dir);
    snprintf(out, sizeof out, "%s/c.out", dir);
    char *args[] = { "--control", sock, "--console-dir", dir, "--vm",
                     "tests/bin/dirty_migrate.elf --mode trap --name c" };   /* runs for seconds */
    pid_t pid = start_host(args, 6);
    wait_for(sock);
    static struct ctl_conn conns[N];
    int up = 0, replies = 0, errors = 0, running = 0;
    for (int i = 0; i < N; i++) {                  /* all connected before any greeting */
        struct sockaddr_un a = { .sun_family = AF_UNIX };
        snprintf(a.sun_path, sizeof a.sun_path, "%s", sock);
        conns[i].fd = socket(AF_UNIX, SOCK_STREAM, 0);
        conns[i].len = 0;
        up += connect(conns[i].fd, (struct sockaddr *)&a, sizeof a) == 0;
    }
    CU_ASSERT_EQUAL_FATAL(up, N);
    for (int k = 0; k < REQS; k++)
        for (int i = 0; i < N; i++)
            ctlc_send_line(&conns[i], k % 2 ? "{\"execute\":\"stats\",\"arguments\":{\"vm\":\"c\"},\"id\":1}"
                                            : "{\"execute\":\"list\",\"id\":0}");
    for (int i = 0; i < N; i++) {
        free(ctlc_line(&conns[i]));                /* the greeting */
        for (int k = 0; k < REQS; k++) {
            char *line = ctlc_line(&conns[i]);
            char want[16];
            snprintf(want, sizeof want, "\"id\":%d", k % 2);
            replies += line != NULL;
            errors += !line || !strstr(line, "\"return\"") || !strstr(line, want);
            running += line && strstr(line, "\"running\"") != NULL;
            free(line);
        }
        ctlc_close(&conns[i]);
    }
    CU_ASSERT_EQUAL(replies, N * REQS);
    CU_ASSERT_EQUAL(errors, 0);
    CU_ASSERT(running > N);                        /* answered while the guest ran */
    if (running <= N)
        printf("\n  %d of %d replies while running", running, N * REQS);
    struct proc_result r;
    for (int k = 0; k < 1200; k++) {               /* until the guest has ended */
        CU_ASSERT_EQUAL_FATAL(ctl(&r, "--json", sock, "list", NULL, NULL), 0);
        bool ended = strstr(r.out, "\"ended\"") != NULL;
        proc_result_free(&r);
        if (ended)
            break;
        usleep(50000);
    }
    CU_ASSERT_EQUAL_FATAL(ctl(&r, sock, "quit", NULL, NULL, NULL), 0);
    proc_result_free(&r);
    stop_host(pid);
    size_t n, g;
    char *got = proc_read_file(out, &n), *want = proc_read_file("tests/golden/dirty_migrate.out", &g);
    CU_ASSERT(got && want && n == g && !memcmp(got, want, g));
    free(got);
    free(want);
    remove(out);
    rmdir(dir);
}

static void test_tcp_token(void)
{
    char tok[] = "/tmp/ringside-tok-XXXXXX", bad[] = "/tmp/ringside-bad-XXXXXX";
    int fd = mkstemp(tok);
    CU_ASSERT(write(fd, "s3cret-token-42\n", 16) == 16);
    close(fd);
    fd = mkstemp(bad);
    CU_ASSERT(write(fd, "wrong-token-00\n", 15) == 15);
    close(fd);
    struct proc_result r;
    char *noauth[] = { (char *)proc_ringside(), "host", "--control", "127.0.0.1:47613", NULL };
    CU_ASSERT_EQUAL_FATAL(proc_run(noauth, 30, &r), 0);
    CU_ASSERT_EQUAL(r.status, 2);                  /* TCP needs a token file */
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "token"));
    proc_result_free(&r);
    char *anyaddr[] = { (char *)proc_ringside(), "host", "--control", "0.0.0.0:47613",
                        "--token-file", tok, NULL };
    CU_ASSERT_EQUAL_FATAL(proc_run(anyaddr, 30, &r), 0);
    CU_ASSERT_EQUAL(r.status, 2);                  /* not loopback without --listen-any */
    proc_result_free(&r);
    char *args[] = { "--control", "127.0.0.1:47613", "--token-file", tok };
    pid_t pid = start_host(args, 4);
    usleep(300000);
    CU_ASSERT_EQUAL_FATAL(ctl(&r, "--token-file", bad, "127.0.0.1:47613", "list", NULL), 0);
    CU_ASSERT_EQUAL(r.status, 2);
    proc_result_free(&r);
    CU_ASSERT_EQUAL_FATAL(ctl(&r, "127.0.0.1:47613", "list", NULL, NULL, NULL), 0);
    CU_ASSERT_EQUAL(r.status, 1);                  /* Unauthorized */
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "Unauthorized"));
    proc_result_free(&r);
    CU_ASSERT_EQUAL_FATAL(ctl(&r, "--token-file", tok, "127.0.0.1:47613", "list", NULL), 0);
    CU_ASSERT_EQUAL(r.status, 0);
    proc_result_free(&r);
    CU_ASSERT_EQUAL_FATAL(ctl(&r, "--token-file", tok, "127.0.0.1:47613", "quit", NULL), 0);
    proc_result_free(&r);
    stop_host(pid);
    unlink(tok);
    unlink(bad);
}

void suite_control_register(void)
{
    CU_pSuite s = CU_add_suite("control (management protocol, ringside ctl)", NULL, NULL);
    CU_add_test(s, "commands, replies, ids and errors in process", test_commands_in_process);
    CU_add_test(s, "10,000 malformed lines: an error reply each", test_malformed_lines);
    CU_add_test(s, "Unix socket 0600: ctl create/start/list/stats, a vanished client", test_unix_socket);
    CU_add_test(s, "TCP: loopback only, a token required and checked", test_tcp_token);
    CU_add_test(s, "200 clients at once while a VM runs: every reply, guest output unchanged",
                test_200_clients);
}
