/*
 * test_tui_mig.c - the TUI's two-host view (`ringside tui --migrate`): the
 * real program under tmux, against `ringside migrate` with the same options.
 *
 * What a wrong view would get wrong: a start point that depends on how the
 * screen's frames cut the run (then the rounds, pages and bytes differ from
 * `ringside migrate --json`'s), output shown on the wrong host or lost at
 * the move (the source's console followed by the target's, read off the
 * screen, must be the solo run's output), a report computed again and
 * differently (every figure on the screen is checked against the headless
 * JSON), a state that does not follow the VM (gone on the source, arrived
 * on the target). The expected figures come from `ringside migrate`, never
 * from the view.
 */
#include <CUnit/CUnit.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"
#include "tmux.h"

#define MIG_OPTS "--at 3000000 samples/bin/writer.elf --append pages=64"   /* lesson 12's */
#define SLOW_LINK "--bandwidth 50000000"   /* 7 ms of pre-copy: the writer prints meanwhile */
#define COLS 160
#define ROWS 48

/* `ringside migrate --json [link] MIG_OPTS`: its JSON (stderr) and COM1 (stdout). */
static json_t *headless(const char *link, char **out, int *status)
{
    char *argv[] = { (char *)proc_ringside(), "migrate", "--json", "--at", "3000000",
                     "samples/bin/writer.elf", "--append", "pages=64", NULL, NULL, NULL };
    if (link) {                              /* "--bandwidth N" */
        static char opt[64];
        snprintf(opt, sizeof opt, "%s", link);
        char *sp = strchr(opt, ' ');
        *sp = 0;
        argv[8] = opt, argv[9] = sp + 1;
    }
    struct proc_result r;
    if (proc_run(argv, 120, &r) != 0)
        return NULL;
    json_t *j = json_loads(r.err, 0, NULL);
    *out = strdup(r.out);
    *status = r.status;
    proc_result_free(&r);
    return j;
}

/* The report without its host times (they are the computer's, not the model's). */
static void drop_host_times(json_t *j)
{
    json_object_del(j, "downtime_host_ms");
    json_object_del(j, "total_host_ms");
    size_t i;
    json_t *rd;
    json_array_foreach(json_object_get(j, "rounds"), i, rd)
        json_object_del(rd, "host_ms");
}

static long long num(json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

static bool on_screen(const struct tmux *t, const char *fmt, long long a, long long b)
{
    char want[200];
    snprintf(want, sizeof want, fmt, a, b);
    if (strstr(t->screen, want))
        return true;
    fprintf(stderr, "\n  not on the screen: '%s'\n", want);
    return false;
}

/* Every figure of the report, as `ringside migrate` prints it, is on the screen. */
static void check_figures(const struct tmux *t, json_t *j)
{
    size_t i;
    json_t *rd;
    json_array_foreach(json_object_get(j, "rounds"), i, rd) {
        char line[120];
        snprintf(line, sizeof line, "%5lld %11lld %14lld %12lld %11.3f", num(rd, "round"),
                 num(rd, "pages_sent"), num(rd, "pages_dirtied"), num(rd, "bytes"),
                 json_number_value(json_object_get(rd, "modeled_ms")));
        CU_ASSERT(strstr(t->screen, line) != NULL);
    }
    CU_ASSERT(on_screen(t, "stop-and-copy: %lld pages", num(j, "final_pages"), 0));
    CU_ASSERT(on_screen(t, "writable working set: %lld pages", num(j, "wws_pages"), 0));
    CU_ASSERT(on_screen(t, "; %lld pages, %lld bytes", num(j, "pages_sent"), num(j, "total_bytes")));
    CU_ASSERT(on_screen(t, "moved to the second host at %lld guest instructions",
                        num(j, "guest_insns"), 0));
    char dt[80];
    snprintf(dt, sizeof dt, "downtime: %.3f ms modeled",
             json_number_value(json_object_get(j, "downtime_modeled_ms")));
    CU_ASSERT(strstr(t->screen, dt) != NULL);
    CU_ASSERT(strstr(t->screen, json_string_value(json_object_get(j, "stop_reason"))) != NULL);
}

/* One console column of the screen (x: the box's left border), top to
   bottom, each line without its trailing blanks; blank lines at the end go. */
static char *console_column(const char *screen, const char *title, int x, int w)
{
    const char *p = strstr(screen, title);
    if (!p)
        return NULL;
    while (p > screen && p[-1] != '\n')
        p--;
    p = strchr(p, '\n') + 1;                 /* the first row inside the box */
    char *out = calloc(1, 8192);
    size_t n = 0, keep = 0;
    for (; *p && p[x] == '|' && p[x + 1] != '-'; p = strchr(p, '\n') + 1) {
        int len = w - 2;
        while (len > 0 && p[x + len] == ' ')
            len--;
        memcpy(out + n, p + x + 1, (size_t)len);
        n += (size_t)len;
        out[n++] = '\n';
        if (len)
            keep = n;
        if (!strchr(p, '\n'))
            break;
    }
    out[keep] = 0;
    return out;
}

/* Run to the end with `link` options (or none) and check the screen. */
static void migration_on_screen(const char *link)
{
    char *solo = NULL, jp[64], args[512];
    int status;
    json_t *j = headless(link, &solo, &status);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_EQUAL(status, 1);
    snprintf(jp, sizeof jp, "/tmp/rs_tuimig_%d.json", (int)getpid());
    snprintf(args, sizeof args, "tui --migrate --run --round-ms 0 --stats-json %s %s " MIG_OPTS,
             jp, link ? link : "");
    struct tmux t;
    CU_ASSERT_FATAL(tmux_run(&t, COLS, ROWS, args));
    CU_ASSERT(tmux_wait(&t, "the run has ended", 120));
    CU_ASSERT(tmux_wait(&t, "gone (moved to the target)", 20));  /* (see vm_ends_first) */
    CU_ASSERT(tmux_wait(&t, "arrived, exited", 20));
    CU_ASSERT(strstr(t.screen, "Source host") && strstr(t.screen, "Target host"));
    check_figures(&t, j);
    /* the source's console, then the target's: the solo run's output */
    char *src = console_column(t.screen, "Console (COM1 on the source)", 0, COLS / 2);
    char *dst = console_column(t.screen, "Console (COM1 on the target)", COLS / 2, COLS / 2);
    CU_ASSERT_FATAL(src && dst);
    CU_ASSERT(strstr(src, "writer: 64 pages written per pass") == src);   /* before the move */
    CU_ASSERT(strstr(dst, "writer: done") != NULL);                      /* after it */
    CU_ASSERT(!strstr(src, "writer: done"));
    if (link)                                  /* it printed on the source during pre-copy */
        CU_ASSERT(strstr(t.screen, "printed during the migration: ") != NULL &&
                  strstr(t.screen, "printed during the migration: 0 bytes") == NULL);
    char both[16384];
    snprintf(both, sizeof both, "%s%s", src, dst);
    CU_ASSERT_STRING_EQUAL(both, solo);
    tmux_keys(&t, "q");
    CU_ASSERT(tmux_wait(&t, "TUI EXIT 0", 20));
    tmux_stop(&t);
    /* --stats-json: `ringside migrate --json`'s line, but for the host times */
    json_t *k = json_load_file(jp, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL(k);
    drop_host_times(j);
    drop_host_times(k);
    CU_ASSERT(k && json_equal(j, k));
    json_decref(j);
    json_decref(k);
    free(src);
    free(dst);
    free(solo);
    remove(jp);
}

static void test_tmux_migration(void)
{
    migration_on_screen(NULL);
}

static void test_tmux_migration_slow_link(void)
{
    migration_on_screen(SLOW_LINK);
}

/* --exit-at-end: the guest's status, as `ringside migrate` gives it. */
static void test_tmux_exit_at_end(void)
{
    struct tmux t;
    CU_ASSERT_FATAL(tmux_run(&t, 120, 36, "tui --migrate --run --exit-at-end --round-ms 0 " MIG_OPTS));
    CU_ASSERT(tmux_wait(&t, "TUI EXIT 1", 120));
    tmux_stop(&t);
}

/* A link so slow that the VM ends during pre-copy: it stays on the source,
   with all of its output there. */
static void test_tmux_vm_ends_first(void)
{
    struct tmux t;
    CU_ASSERT_FATAL(tmux_run(&t, COLS, ROWS, "tui --migrate --run --round-ms 0 --bandwidth 20000000 "
                             MIG_OPTS));
    CU_ASSERT(tmux_wait(&t, "the run has ended", 120));
    /* each waited for: a capture can land between two panes' redraws */
    CU_ASSERT(tmux_wait(&t, "stayed on the source", 20));
    CU_ASSERT(tmux_wait(&t, "did not move: the VM ended on the source during pre-copy", 20));
    CU_ASSERT(tmux_wait(&t, "the migration failed", 20));
    CU_ASSERT(tmux_wait(&t, "no VM", 20));
    char *src = console_column(t.screen, "Console (COM1 on the source)", 0, COLS / 2);
    CU_ASSERT(src && strstr(src, "writer: done") != NULL);
    free(src);
    tmux_keys(&t, "q");
    CU_ASSERT(tmux_wait(&t, "TUI EXIT 0", 20));
    tmux_stop(&t);
}

/* Paused at the start; m migrates at once, before --at. */
static void test_tmux_key_m(void)
{
    struct tmux t;
    CU_ASSERT_FATAL(tmux_run(&t, COLS, ROWS, "tui --migrate --round-ms 0 " MIG_OPTS));
    CU_ASSERT(tmux_wait(&t, "moves at 3000000 guest instructions", 30));
    CU_ASSERT(strstr(t.screen, "not begun") != NULL);
    tmux_keys(&t, "m");
    CU_ASSERT(tmux_wait(&t, "moved to the target", 60));
    CU_ASSERT(tmux_wait(&t, "moved to the second host at ", 20));
    CU_ASSERT(tmux_wait(&t, "arrived, ready", 20));              /* paused: it waits for c */
    CU_ASSERT(strstr(t.screen, "console: 0 bytes printed here") != NULL);   /* nothing yet */
    tmux_keys(&t, "c");
    CU_ASSERT(tmux_wait(&t, "the run has ended", 120));
    CU_ASSERT(tmux_wait(&t, "writer: done", 20));
    CU_ASSERT(tmux_wait(&t, "arrived, exited", 20));
    tmux_keys(&t, "q");
    CU_ASSERT(tmux_wait(&t, "TUI EXIT 0", 20));
    tmux_stop(&t);
}

static void test_bad_args(void)
{
    static const char *const bad[][4] = {
        { "--at", "x", "samples/bin/writer.elf" },
        { "--bandwidth", "10", "samples/bin/writer.elf" },
        { "--round-ms", "-1", "samples/bin/writer.elf" },
        { "--json", "samples/bin/writer.elf" },
        { "--stats-json" },
        { "no/such.elf" },
        { "--frobnicate", "samples/bin/writer.elf" },
        { NULL },                                            /* no kernel */
    };
    for (unsigned i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *argv[8] = { (char *)proc_ringside(), "tui", "--migrate" };
        int n = 3;
        for (int k = 0; k < 4 && bad[i][k]; k++)
            argv[n++] = (char *)bad[i][k];
        argv[n] = NULL;
        struct proc_result r;
        CU_ASSERT_EQUAL_FATAL(proc_run(argv, 30, &r), 0);
        CU_ASSERT_EQUAL(r.status, 2);
        CU_ASSERT(strchr(r.err, '\n') == r.err + strlen(r.err) - 1);   /* one line */
        CU_ASSERT(strncmp(r.err, "ringside", 8) == 0);
        proc_result_free(&r);
    }
}

void suite_tui_mig_register(void)
{
    CU_pSuite s = CU_add_suite("tui_mig", NULL, NULL);
    CU_add_test(s, "bad tui --migrate arguments: one line, status 2", test_bad_args);
    CU_add_test(s, "tmux: tui --migrate to the end = ringside migrate --json (figures, consoles)",
                test_tmux_migration);
    CU_add_test(s, "tmux: the same over 50 Mbit/s: the VM prints on the source during pre-copy",
                test_tmux_migration_slow_link);
    CU_add_test(s, "tmux: tui --migrate --exit-at-end: the guest's status", test_tmux_exit_at_end);
    CU_add_test(s, "tmux: tui --migrate, m migrates at once", test_tmux_key_m);
    CU_add_test(s, "tmux: the VM ends during pre-copy: it stays on the source", test_tmux_vm_ends_first);
}
