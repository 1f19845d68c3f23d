/*
 * test_tui_host.c - the TUI's host view (`ringside tui --host`): the host
 * model without a terminal, and the real program under tmux.
 *
 * What a wrong host view would get wrong: a free run that schedules the VMs
 * differently from `ringside host` (the stats JSON is compared byte for
 * byte with the headless host's), stepping that the host does not charge
 * (CPU time, host time, VM switches), selection that follows the wrong VM
 * after a kill, a memory map whose cells do not match the frame pool (one
 * frame per cell: the counts of each label equal the frames each VM owns,
 * `=` the shared frames), a Guest code pane that cannot read a page the
 * VMM's tables dropped when page sharing moved it. The expected figures
 * come from the headless host and from the frame pool itself, never from
 * the view.
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"
#include "tmux.h"
#include "tui_host.h"
#include "tui_view.h"
#include "tui_view_host.h"

#define HELLO "samples/bin/hello.elf"
#define RINGS "samples/bin/rings.elf"

static struct tui_host th;          /* large: not on the stack */
static struct tui_text text;

/* A host view of the given --vm specs (copied: the host splits them). */
static char spec_store[8][160];
static int open_host(int n, const char *const *specs)
{
    char *argv[16];
    int argc = 0;
    for (int i = 0; i < n; i++) {
        snprintf(spec_store[i], sizeof spec_store[i], "%s", specs[i]);
        argv[argc++] = "--vm";
        argv[argc++] = spec_store[i];
    }
    char err[256];
    if (tui_host_parse(&th, argc, argv) != 0)
        return -1;
    if (tui_host_open(&th, err, sizeof err) != 0) {
        fprintf(stderr, "\n  host view: %s\n", err);
        tui_host_close(&th);
        return -1;
    }
    return 0;
}

static void run_to_end(void)
{
    for (int i = 0; i < 100000 && tui_host_run(&th, 1) == TUI_STOP_NONE; i++)
        ;
}

static const char *const two_vms[] = { HELLO " --mode trap --name a", RINGS " --mode bt --name b" };

/* `ringside host --stats-json` of the same VMs, malloc'd. */
static char *headless_host(const char *path)
{
    char *argv[] = { (char *)proc_ringside(), "host", "--stats-json", (char *)path,
                     "--vm", (char *)two_vms[0], "--vm", (char *)two_vms[1], NULL };
    struct proc_result r;
    if (proc_run(argv, 120, &r) != 0)
        return NULL;
    int st = r.status;
    proc_result_free(&r);
    return st == 0 ? proc_read_file(path, NULL) : NULL;
}

static void test_free_run_matches_headless(void)
{
    char hp[64], tp[64];
    snprintf(hp, sizeof hp, "/tmp/rs_tuih_h_%d.json", (int)getpid());
    snprintf(tp, sizeof tp, "/tmp/rs_tuih_t_%d.json", (int)getpid());
    char *h = headless_host(hp);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_EQUAL_FATAL(open_host(2, two_vms), 0);
    run_to_end();
    CU_ASSERT(tui_host_all_ended(&th));
    CU_ASSERT_EQUAL(host_exit_status(&th.host), 0);
    CU_ASSERT_EQUAL(host_write_stats(tp, &th.host, NULL, NULL), 0);
    char *j = proc_read_file(tp, NULL);
    CU_ASSERT(j && !strcmp(h, j));
    tui_host_close(&th);
    free(h);
    free(j);
    remove(hp);
    remove(tp);
}

/* Stepping one VM outside the scheduler is charged to it and to the host. */
static void test_step_is_charged(void)
{
    CU_ASSERT_EQUAL_FATAL(open_host(2, two_vms), 0);
    struct host *h = &th.host;
    tui_host_select(&th, 1);
    for (int i = 0; i < 50; i++)
        tui_host_step(&th, 's');
    struct machine *mb = &h->vms[1].vm->m, *ma = &h->vms[0].vm->m;
    CU_ASSERT_EQUAL(cpu_guest_insns(&mb->cpu), 50);
    CU_ASSERT_EQUAL(cpu_guest_insns(&ma->cpu), 0);        /* the other VM did not move */
    CU_ASSERT_EQUAL(h->vms[1].busy_cycles, mb->cpu.cycles - mb->idle_cycles);
    CU_ASSERT_EQUAL(h->switches, 0);                      /* the first VM's start is none */
    CU_ASSERT_EQUAL(h->host_cycles, h->vms[1].busy_cycles);
    tui_host_select(&th, 0);
    tui_host_step(&th, 's');
    CU_ASSERT_EQUAL(h->switches, 1);
    CU_ASSERT_EQUAL(h->host_cycles, h->vms[0].busy_cycles + h->vms[1].busy_cycles +
                                        h->cfg.switch_cycles);
    CU_ASSERT(host_cpu_share(h, 1) > 0.9);           /* 50 steps against 1 */
    tui_host_close(&th);
}

static bool sessions_follow_vms(void)
{
    for (int i = 0; i < th.host.nvms; i++)
        if (!th.sess[i] || strcmp(th.sess[i]->name, th.host.vms[i].name) ||
            th.sess[i]->vm != th.host.vms[i].vm)
            return false;
    return true;
}

static void test_select_kill_add(void)
{
    static const char *const three[] = { HELLO " --mode trap --name a", HELLO " --mode bt --name b",
                                         HELLO " --mode trap --name c" };
    CU_ASSERT_EQUAL_FATAL(open_host(3, three), 0);
    tui_host_select(&th, 2);
    tui_host_side_by_side(&th, true);
    CU_ASSERT_EQUAL(th.other, 0);                  /* the one after c, wrapping */
    CU_ASSERT_EQUAL(tui_host_kill(&th, 1), 0);     /* b goes; c and a stay on screen */
    CU_ASSERT_EQUAL(th.host.nvms, 2);
    CU_ASSERT_STRING_EQUAL(tui_host_selected(&th)->name, "c");
    CU_ASSERT_EQUAL(th.other, 0);
    CU_ASSERT(sessions_follow_vms());
    tui_host_select(&th, 0);                        /* selecting the other swaps the sides */
    CU_ASSERT_EQUAL(th.other, 1);
    char err[256] = "";
    CU_ASSERT_EQUAL(tui_host_add(&th, HELLO " --mode bt --name d", err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(tui_host_selected(&th)->name, "d");
    CU_ASSERT(sessions_follow_vms());
    CU_ASSERT_EQUAL(tui_host_add(&th, HELLO " --mode trap --name d", err, sizeof err), -1);
    CU_ASSERT(strstr(err, "two VMs are named d") != NULL);
    CU_ASSERT_EQUAL(tui_host_add(&th, "no/such/kernel.elf", err, sizeof err), -1);
    CU_ASSERT_EQUAL(th.host.nvms, 3);
    CU_ASSERT(tui_host_toggle_pause(&th, 0));
    CU_ASSERT_EQUAL(th.host.vms[0].state, HVM_PAUSED);
    run_to_end();                                   /* the paused VM does not run */
    CU_ASSERT_EQUAL(cpu_guest_insns(&th.host.vms[0].vm->m.cpu), 0);
    CU_ASSERT(!tui_host_all_ended(&th));
    CU_ASSERT(tui_host_toggle_pause(&th, 0));
    run_to_end();
    CU_ASSERT(tui_host_all_ended(&th));
    CU_ASSERT(!tui_host_toggle_pause(&th, 0));      /* ended: nothing to pause */
    CU_ASSERT_EQUAL(tui_host_kill(&th, 0), 0);
    CU_ASSERT_EQUAL(tui_host_kill(&th, 0), 0);
    CU_ASSERT_EQUAL(tui_host_kill(&th, 0), -1);     /* the last VM stays */
    CU_ASSERT(sessions_follow_vms());
    tui_host_close(&th);
}

/* Count `ch` in lines [from, to) of the text. */
static int count_char(const struct tui_text *t, int from, int to, char ch)
{
    int n = 0;
    for (int i = from; i < to && i < t->n; i++)
        for (int k = 0; k < t->line[i].len; k++)
            n += t->line[i].text[k] == ch;
    return n;
}

static void test_panes_after_a_run(void)
{
    CU_ASSERT_EQUAL_FATAL(open_host(2, two_vms), 0);
    run_to_end();
    tui_text_init(&text, 120);
    tui_view_vm_list(&th, false, &text);
    CU_ASSERT(tui_text_find(&text, "a            trap   exited") >= 0);
    CU_ASSERT(tui_text_find(&text, "b            bt     exited") >= 0);
    CU_ASSERT(tui_text_find(&text, "=> 1 a") >= 0);
    /* one frame per cell: every label counts the frames its VM owns */
    const struct frames *f = &th.host.mem;
    struct host_mem_report mr;
    host_mem_report(&th.host, &mr);
    tui_text_init(&text, 200);
    tui_view_memmap(&th, 40, &text);
    char first[96];
    snprintf(first, sizeof first, "%u of %u frames used", mr.used, mr.frames);
    CU_ASSERT(tui_text_find(&text, first) == 0);
    CU_ASSERT(tui_text_find(&text, "cell = 1 frame;") >= 0);
    int map_end = text.n - 2;
    for (int i = 0; i < 2; i++) {
        unsigned own = 0;
        for (uint32_t k = 0; k < f->nframes; k++)
            own += f->owner[k] == th.host.vms[i].vm->m.pm.slot;
        CU_ASSERT_EQUAL((unsigned)count_char(&text, 1, map_end, tui_host_label(i)), own);
    }
    CU_ASSERT(mr.shared_frames > 0);
    CU_ASSERT_EQUAL((unsigned)count_char(&text, 1, map_end, '='), mr.shared_frames);
    /* the Guest code of each VM reads, even where sharing moved the page */
    for (int i = 0; i < 2; i++) {
        tui_text_init(&text, 100);
        tui_view_guest_code(th.sess[i], 20, &text);
        CU_ASSERT(tui_text_find(&text, "no code readable") < 0);
        CU_ASSERT(tui_text_find(&text, "<kexit") >= 0);
    }
    tui_host_close(&th);
}

/* ---- the real program under tmux ---------------------------------------- */

/* Double quotes escaped for tmux_run's two shells (its inner one is in '...'). */
#define HOST_ARGS "tui --host --vm \\\"" HELLO " --mode trap --name a\\\" --vm \\\"" HELLO \
                  " --mode bt --name b\\\""

static void test_tmux_host_view(void)
{
    struct tmux t;
    CU_ASSERT_FATAL(tmux_run(&t, 160, 48, HOST_ARGS));
    CU_ASSERT(tmux_wait(&t, "vm a | mode trap | paused", 30));
    CU_ASSERT(strstr(t.screen, TUI_T_VMS) && strstr(t.screen, TUI_T_MEMMAP));
    CU_ASSERT(strstr(t.screen, TUI_T_GUEST) && strstr(t.screen, TUI_T_REGS));
    tmux_keys(&t, "2");
    CU_ASSERT(tmux_wait(&t, "vm b | mode bt", 20));
    tmux_keys(&t, "p");
    CU_ASSERT(tmux_wait(&t, "b            bt     paused", 20));
    tmux_keys(&t, "c");                             /* a runs to its end, b stays */
    CU_ASSERT(tmux_wait(&t, "no VM is runnable", 60));
    CU_ASSERT(strstr(t.screen, "a            trap   exited") != NULL);
    CU_ASSERT(strstr(t.screen, "b            bt     paused") != NULL);
    tmux_keys(&t, "p");
    tmux_keys(&t, "c");
    CU_ASSERT(tmux_wait(&t, "every VM's run has ended", 60));
    CU_ASSERT(strstr(t.screen, "b            bt     exited") != NULL);
    tmux_keys(&t, "'|'");                           /* side by side: both VMs' panes */
    CU_ASSERT(tmux_wait(&t, "[vm b, bt]", 20));
    CU_ASSERT(strstr(t.screen, "[vm a, trap]") != NULL);
    const char *bye = strstr(t.screen, "bye (exit code 0");   /* both consoles, side by side */
    CU_ASSERT(bye && strstr(bye + 1, "bye (exit code 0"));
    tmux_keys(&t, "a");
    CU_ASSERT(tmux_wait(&t, "add VM", 20));
    tmux_keys(&t, "'" HELLO " --mode trap --name c' Enter");
    CU_ASSERT(tmux_wait(&t, "vm c added", 20));
    CU_ASSERT(strstr(t.screen, "3 c            trap   ready") != NULL);
    tmux_keys(&t, "k");
    CU_ASSERT(tmux_wait(&t, "kill vm c?", 20));
    tmux_keys(&t, "y");
    CU_ASSERT(tmux_wait(&t, "vm c killed", 20));
    CU_ASSERT(strstr(t.screen, "3 c ") == NULL);
    tmux_keys(&t, "q");
    CU_ASSERT(tmux_wait(&t, "TUI EXIT 0", 20));
    tmux_stop(&t);
}

/* --run --exit-at-end --stats-json: the headless host's JSON and status. */
static void test_tmux_host_stats(void)
{
    char hp[64], tp[64], args[512];
    snprintf(hp, sizeof hp, "/tmp/rs_tuih_hs_%d.json", (int)getpid());
    snprintf(tp, sizeof tp, "/tmp/rs_tuih_ts_%d.json", (int)getpid());
    char *h = headless_host(hp);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    snprintf(args, sizeof args, "tui --host --run --exit-at-end --stats-json %s --vm \\\"%s\\\" "
             "--vm \\\"%s\\\"",
             tp, two_vms[0], two_vms[1]);
    struct tmux t;
    CU_ASSERT_FATAL(tmux_run(&t, 120, 36, args));
    CU_ASSERT(tmux_wait(&t, "TUI EXIT 0", 120));
    tmux_stop(&t);
    char *j = proc_read_file(tp, NULL);
    CU_ASSERT(j && !strcmp(h, j));
    free(h);
    free(j);
    remove(hp);
    remove(tp);
}

static void test_bad_host_args(void)
{
    static const char *const bad[][3] = {
        { "tui", "--host", NULL },                                   /* no --vm */
        { "tui", "--host", "--vm" },                                 /* no value */
        { "tui", "--host", "--frobnicate" },
    };
    for (unsigned i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *argv[6] = { (char *)proc_ringside() };
        int n = 1;
        for (int k = 0; k < 3 && bad[i][k]; k++)
            argv[n++] = (char *)bad[i][k];
        argv[n] = NULL;
        struct proc_result r;
        CU_ASSERT_EQUAL_FATAL(proc_run(argv, 30, &r), 0);
        CU_ASSERT_EQUAL(r.status, 2);
        CU_ASSERT(strstr(r.err, "ringside tui --host:") != NULL);
        CU_ASSERT(strchr(r.err, '\n') == r.err + strlen(r.err) - 1);   /* one line */
        proc_result_free(&r);
    }
    char *argv[] = { (char *)proc_ringside(), "tui", "--host", "--vm", "no/such.elf --mode trap",
                     NULL };
    struct proc_result r;
    CU_ASSERT_EQUAL_FATAL(proc_run(argv, 30, &r), 0);
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT(strstr(r.err, "no/such.elf") != NULL);
    proc_result_free(&r);
}

void suite_tui_host_register(void)
{
    CU_pSuite s = CU_add_suite("tui_host", NULL, NULL);
    CU_add_test(s, "host view: a free run = ringside host's stats JSON", test_free_run_matches_headless);
    CU_add_test(s, "host view: stepping one VM is charged (CPU, host time, switches)",
                test_step_is_charged);
    CU_add_test(s, "host view: select, side by side, kill, add, pause", test_select_kill_add);
    CU_add_test(s, "host view: VM list, memory map = the frame pool, code readable",
                test_panes_after_a_run);
    CU_add_test(s, "bad tui --host arguments: one line, status 2", test_bad_host_args);
    CU_add_test(s, "tmux: host view keys (select, pause, run, side by side, add, kill)",
                test_tmux_host_view);
    CU_add_test(s, "tmux: tui --host --exit-at-end stats JSON = ringside host's",
                test_tmux_host_stats);
}
