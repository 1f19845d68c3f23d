/*
 * test_tui.c - the terminal UI: unit tests of the view model, and the real
 * program driven under tmux.
 *
 * The view-model tests build a session on a sample kernel (no terminal) and
 * check what the panes say: path marks after a step, the guest/hardware
 * register difference under a VMM, counters fed by synthetic events. The
 * tmux tests start `ringside tui` in a private tmux server (-L
 * ringside-test-PID) at 160x48, send keys and read the screen with
 * capture-pane, exactly as a user would see it. Every wait polls the screen
 * with a bounded deadline; nothing depends on timing. Expected addresses come
 * from the kernel's ELF symbol table, not from ringside.
 */
#include <CUnit/CUnit.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"
#include "tmux.h"
#include "tui_captions.h"
#include "tui_session.h"
#include "tui_view.h"
#include "cpu/optable.h"
#include "cpu/vmx.h"

#define DEMO "samples/bin/demo.elf"
#define HELLO "samples/bin/hello.elf"

/* ---- view model ---------------------------------------------------------- */

static long long screen_count(const char *screen, const char *label);

static struct tui_session sess;   /* large: not on the stack */
static struct tui_text text;

static int open_session(const char *kernel, const char *mode)
{
    struct run_options o = { .mode = mode, .mem_mib = 32, .kernel = kernel };
    char err[256];
    int rc = tui_session_open(&sess, &o, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "tui_session_open: %s\n", err);
    return rc;
}

static uint32_t elf_symbol(const char *kernel, const char *name)
{
    uint8_t *img;
    size_t len;
    char err[128];
    struct elf_symtab t;
    uint32_t addr = 0;
    if (mb_read_file(kernel, &img, &len, err, sizeof err) != 0)
        return 0;
    if (elf_load_symbols(img, len, &t) == 0) {
        const struct elf_sym *s = elf_sym_by_name(&t, name);
        addr = s ? s->addr : 0;
        elf_symtab_free(&t);
    }
    free(img);
    return addr;
}

static void test_text_styles(void)
{
    tui_text_init(&text, 40);
    tui_text_line(&text, TS_HEAD, "ab");
    tui_text_put(&text, TS_CHANGED, "%d", 42);
    CU_ASSERT_EQUAL(text.n, 1);
    CU_ASSERT_STRING_EQUAL(text.line[0].text, "ab42");
    CU_ASSERT_EQUAL(text.line[0].style[1], TS_HEAD);
    CU_ASSERT_EQUAL(text.line[0].style[2], TS_CHANGED);
    char big[400];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    tui_text_line(&text, TS_NORMAL, "%s", big);
    CU_ASSERT_EQUAL(text.line[1].len, TUI_LINE_MAX);
    CU_ASSERT_EQUAL(tui_text_find(&text, "b42"), 0);
    CU_ASSERT_EQUAL(tui_path_glyph(PATH_TRANSLATED), 'T');
    CU_ASSERT_EQUAL(tui_path_glyph(PATH_EMULATED), 'E');
    CU_ASSERT_EQUAL(tui_path_style(PATH_DIRECT), TS_DIRECT);
}

/* A native step marks the instruction N and moves the => line. */
static void test_step_marks_native(void)
{
    if (open_session(HELLO, "native") != 0) {
        CU_FAIL("cannot open hello.elf");
        return;
    }
    uint32_t eip0 = tui_guest_eip(&sess);
    CU_ASSERT_EQUAL(eip0, elf_symbol(HELLO, "_start"));
    CU_ASSERT_EQUAL(tui_mark_get(&sess, eip0), -1);
    CU_ASSERT_EQUAL(tui_step(&sess, 1), TUI_STOP_STEP);
    CU_ASSERT_EQUAL(sess.m->cpu.insns, 1);
    CU_ASSERT_EQUAL(tui_mark_get(&sess, eip0), PATH_NATIVE);
    tui_text_init(&text, 80);
    tui_view_guest_code(&sess, 20, &text);
    char cur[32], first[32];
    snprintf(cur, sizeof cur, "=>   %08x", tui_guest_eip(&sess));
    snprintf(first, sizeof first, "  N %08x  cli", eip0);   /* the sample starts with cli */
    CU_ASSERT(tui_text_find(&text, cur) >= 0);
    CU_ASSERT(tui_text_find(&text, first) >= 0);
    CU_ASSERT(tui_text_find(&text, "<_start>") >= 0);
    tui_text_init(&text, 60);
    tui_view_paths(&sess, &text);
    int l = tui_text_find(&text, "N native");
    CU_ASSERT(l >= 0 && strstr(text.line[l].text, " 1") != NULL);
    tui_session_close(&sess);
}

static void test_breakpoint_location(void)
{
    if (open_session(DEMO, "native") != 0) {
        CU_FAIL("cannot open demo.elf");
        return;
    }
    uint32_t kmain = elf_symbol(DEMO, "kmain"), eip;
    CU_ASSERT(kmain != 0);
    CU_ASSERT_EQUAL(tui_parse_location(&sess, "kmain", &eip), 0);
    CU_ASSERT_EQUAL(eip, kmain);
    CU_ASSERT_EQUAL(tui_parse_location(&sess, "kmain+0x10", &eip), 0);
    CU_ASSERT_EQUAL(eip, kmain + 0x10);
    CU_ASSERT_EQUAL(tui_parse_location(&sess, " 0x1000f0 ", &eip), 0);
    CU_ASSERT_EQUAL(eip, 0x1000f0);
    CU_ASSERT_EQUAL(tui_parse_location(&sess, "no_such_symbol", &eip), -1);
    CU_ASSERT_TRUE(tui_bp_toggle(&sess, kmain));
    CU_ASSERT_EQUAL(tui_run(&sess, 100000000), TUI_STOP_BREAK);
    CU_ASSERT_EQUAL(tui_guest_eip(&sess), kmain);
    CU_ASSERT_FALSE(tui_bp_toggle(&sess, kmain));
    CU_ASSERT_FALSE(tui_bp_has(&sess, kmain));
    tui_session_close(&sess);
}

/* Under trap: CPL 0 (guest) beside 1 (hardware) is a difference; the first
   instruction (cli) traps and is marked emulated; a changed value is reverse. */
static void test_registers_trap(void)
{
    if (open_session(HELLO, "trap") != 0) {
        CU_FAIL("cannot open hello.elf under trap");
        return;
    }
    uint32_t eip0 = tui_guest_eip(&sess);
    tui_step(&sess, 1);
    CU_ASSERT_EQUAL(tui_mark_get(&sess, eip0), PATH_EMULATED);
    CU_ASSERT_EQUAL(sess.m->stats.path_insns[PATH_EMULATED], 1);
    tui_text_init(&text, 60);
    tui_view_registers(&sess, &text);
    int l = tui_text_find(&text, "CPL");
    CU_ASSERT_FATAL(l >= 0);
    CU_ASSERT(strstr(text.line[l].text, "0          1") != NULL);
    CU_ASSERT_EQUAL(text.line[l].style[7], TS_DIFF);
    l = tui_text_find(&text, "EIP ");
    CU_ASSERT_FATAL(l >= 0);
    CU_ASSERT_EQUAL(text.line[l].style[4], TS_CHANGED);   /* EIP moved */
    tui_text_init(&text, 60);
    tui_view_paths(&sess, &text);
    l = tui_text_find(&text, "traps");
    CU_ASSERT(l >= 0 && strstr(text.line[l].text, " 1") != NULL);
    CU_ASSERT(tui_text_find(&text, "cli") >= 0);
    tui_session_close(&sess);
}

static void emit(struct tui_session *s, enum ev_kind k, uint32_t eip, uint32_t a, uint32_t b,
                 uint32_t c)
{
    struct event ev = { .kind = (uint16_t)k, .eip = eip, .cycle = 1000 + eip, .a = a, .b = b,
                        .c = c };
    event_dispatch(&s->m->events, &ev);
}

/* Translation-cache counters from events: what a BT engine reports. */
static void test_tcache_from_events(void)
{
    if (open_session(HELLO, "native") != 0) {
        CU_FAIL("cannot open hello.elf");
        return;
    }
    emit(&sess, EV_TRANSLATE, 0x100000, 20, 35, 6);
    emit(&sess, EV_TRANSLATE, 0x100040, 10, 12, 3);
    for (int i = 0; i < 3; i++)
        emit(&sess, EV_TC_HIT, 0x100040, 0, 0, 0);
    emit(&sess, EV_TC_MISS, 0x100080, 0, 0, 0);
    emit(&sess, EV_INSNS, 0, 5, 0, 0);
    CU_ASSERT_EQUAL(sess.tc_bytes, 47);
    CU_ASSERT_EQUAL(sess.tc_guest_insns, 9);
    CU_ASSERT_EQUAL(tui_log_count(&sess), 6);              /* EV_INSNS is not logged */
    CU_ASSERT_EQUAL(tui_log_get(&sess, 0)->kind, EV_TC_MISS);   /* newest first */
    CU_ASSERT_EQUAL(tui_mark_get(&sess, 0x100040), PATH_TRANSLATED);
    tui_text_init(&text, 60);
    tui_view_tcache(&sess, &text);
    int l = tui_text_find(&text, "blocks");
    CU_ASSERT(l >= 0 && strstr(text.line[l].text, " 2") != NULL);
    l = tui_text_find(&text, "bytes used");
    CU_ASSERT(l >= 0 && screen_count(text.line[l].text, "bytes used") == 47);
    CU_ASSERT(tui_text_find(&text, "75.0%") >= 0);          /* 3 hits, 1 miss */
    l = tui_text_find(&text, "hottest");
    CU_ASSERT(l >= 0 && l + 1 < text.n && strstr(text.line[l + 1].text, "00100040"));
    tui_text_init(&text, 80);
    tui_view_events(&sess, 3, &text);
    CU_ASSERT_EQUAL(text.n, 3);
    CU_ASSERT(strstr(text.line[2].text, "tc-miss") != NULL || strstr(text.line[2].text, "miss"));
    tui_session_close(&sess);
}

/* Run until the first event of a chosen kind (`r`): stops right there. */
static void test_run_until_event(void)
{
    if (open_session(DEMO, "trap") != 0) {
        CU_FAIL("cannot open demo.elf under trap");
        return;
    }
    sess.stop_mask = EV_BIT(EV_RING);
    CU_ASSERT_EQUAL(tui_run(&sess, 100000000), TUI_STOP_EVENT);
    CU_ASSERT_EQUAL(sess.stop_ev.kind, EV_RING);
    CU_ASSERT_EQUAL(sess.m->stats.by_kind[EV_RING], 1);     /* stopped at the first */
    CU_ASSERT_EQUAL(sess.stop_ev.b, 3);                      /* kernel -> user */
    char line[160];
    tui_event_text(&sess.stop_ev, line, sizeof line);
    CU_ASSERT(strstr(line, "cpl 0 -> 3 (real 1 -> 3)") != NULL);
    tui_session_close(&sess);
}

static void test_console_and_overhead(void)
{
    if (open_session(HELLO, "native") != 0) {
        CU_FAIL("cannot open hello.elf");
        return;
    }
    while (tui_run(&sess, 1000000) == TUI_STOP_NONE)
        ;
    tui_text_init(&text, 60);
    tui_view_console(&sess, 10, false, &text);
    CU_ASSERT(tui_text_find(&text, "Hello from ringside guest") >= 0);
    CU_ASSERT_DOUBLE_EQUAL(tui_speed_pct(&sess), 100.0, 1e-9);
    tui_text_init(&text, 60);
    tui_view_overhead(&sess, &text);
    CU_ASSERT(tui_text_find(&text, "100.0% of native") >= 0);
    CU_ASSERT_EQUAL(tui_session_state(&sess, false), TUI_EXITED);
    tui_session_close(&sess);
}

/* hw: the VM-exits pane counts exits by reason and shows the last exit's
   VMCS fields, those that changed since the exit before marked; the
   Events pane names exit reasons. paging's last exit is the OUT to
   isa-debug-exit (port 0xf4 in the qualification's high half). */
static void test_vmexits_pane(void)
{
    if (open_session("samples/bin/paging.elf", "hw") != 0) {
        CU_FAIL("cannot open paging.elf");
        return;
    }
    CU_ASSERT_TRUE(tui_is_hw(&sess));
    tui_text_init(&text, 60);
    tui_view_vmexits(&sess, &text);
    CU_ASSERT(tui_text_find(&text, "(no VM exit yet)") >= 0);
    while (tui_run(&sess, 1000000) == TUI_STOP_NONE)
        ;
    tui_text_init(&text, 60);
    tui_view_vmexits(&sess, &text);
    CU_ASSERT(tui_text_find(&text, "VM exits") == 0);
    CU_ASSERT(tui_text_find(&text, "  io ") >= 0);
    CU_ASSERT(tui_text_find(&text, "  exception ") >= 0);    /* shadow paging's #PF */
    CU_ASSERT(tui_text_find(&text, "last exit: io") >= 0);
    int q = tui_text_find(&text, "qualification");
    CU_ASSERT_FATAL(q >= 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(text.line[q].text, "00f4"));
    CU_ASSERT_EQUAL(sess.exits_seen, sess.m->stats.vmexits_total);
    bool marked = false;
    for (int i = 0; i < text.n; i++)
        marked |= strstr(text.line[i].text, " *") != NULL && text.line[i].style[2] == TS_CHANGED;
    CU_ASSERT_TRUE(marked);
    char buf[96];
    struct event ev = { .kind = EV_VMEXIT, .a = VMX_EXIT_CR_ACCESS, .b = 0x303, .eip = 0x1234 };
    tui_event_text(&ev, buf, sizeof buf);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "cr-access qual 0x303"));
    tui_session_close(&sess);
}

/* ---- the real program under tmux ----------------------------------------- */

static bool tmux_start_size(struct tmux *t, int cols, int rows, const char *args)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "tui %s", args);
    return tmux_run(t, cols, rows, cmd);
}

static bool tmux_start(struct tmux *t, const char *args)
{
    return tmux_start_size(t, 160, 48, args);
}

/* The number after `label` on the screen, or -1. */
static long long screen_count(const char *screen, const char *label)
{
    long long v;
    for (const char *p = strstr(screen, label); p; p = strstr(p + 1, label))
        if (sscanf(p + strlen(label), " %lld", &v) == 1)
            return v;
    return -1;
}

static uint32_t screen_eip(const char *screen)
{
    const char *p = strstr(screen, "| EIP ");
    unsigned v = 0;
    if (p)
        sscanf(p + 6, "%x", &v);
    return v;
}

static void test_tmux_panes_and_help(void)
{
    struct tmux t;
    CU_ASSERT_FATAL(tmux_start(&t, DEMO));
    CU_ASSERT(tmux_wait(&t, "| paused |", 30));
    static const char *const titles[] = { TUI_T_GUEST, TUI_T_TC, TUI_T_REGS, TUI_T_PATHS,
                                          TUI_T_TCACHE, TUI_T_OVERHEAD, TUI_T_EVENTS,
                                          TUI_T_CONSOLE };
    for (unsigned i = 0; i < sizeof titles / sizeof *titles; i++)
        CU_ASSERT(strstr(t.screen, titles[i]) != NULL);
    CU_ASSERT(strstr(t.screen, "mode native") != NULL);
    tmux_keys(&t, "'?'");
    CU_ASSERT(tmux_wait(&t, "step one guest instruction", 20));
    CU_ASSERT(strstr(t.screen, "Help") != NULL);
    tmux_keys(&t, "x");
    CU_ASSERT(tmux_wait_gone(&t, "step one guest instruction", 20));
    CU_ASSERT(strstr(t.screen, TUI_T_REGS) != NULL);   /* the panes are back */
    tmux_stop(&t);
}

static void test_tmux_step(void)
{
    struct tmux t;
    CU_ASSERT_FATAL(tmux_start(&t, DEMO));
    CU_ASSERT(tmux_wait(&t, "| paused |", 30));
    uint32_t start = elf_symbol(DEMO, "_start");
    CU_ASSERT_EQUAL(screen_eip(t.screen), start);
    tmux_keys(&t, "s");
    CU_ASSERT(tmux_wait(&t, "insns 1 ", 20));
    uint32_t eip = screen_eip(t.screen);
    CU_ASSERT(eip > start && eip < start + 16);
    char cur[32];
    snprintf(cur, sizeof cur, "=>   %08x", eip);
    CU_ASSERT(strstr(t.screen, cur) != NULL);        /* the code pane follows */
    tmux_stop(&t);
}

/* S takes a snapshot, < steps back one instruction, U reverts to the
   snapshot: the instruction count and EIP are those the forward steps had. */
static void test_tmux_snapshot_revert(void)
{
    struct tmux t;
    uint32_t eip_at[8];
    char want[32];
    CU_ASSERT_FATAL(tmux_start(&t, DEMO));
    CU_ASSERT(tmux_wait(&t, "| paused |", 30));
    for (int i = 1; i <= 5; i++) {
        tmux_keys(&t, "s");
        snprintf(want, sizeof want, "insns %d ", i);
        CU_ASSERT(tmux_wait(&t, want, 20));
        eip_at[i] = screen_eip(t.screen);
        if (i == 3) {
            tmux_keys(&t, "S");
            CU_ASSERT(tmux_wait(&t, "snapshot 1 taken at instruction 3", 20));
        }
    }
    tmux_keys(&t, "'<'");
    CU_ASSERT(tmux_wait(&t, "stepped back to instruction 4", 20));
    CU_ASSERT(strstr(t.screen, "insns 4 ") != NULL);
    CU_ASSERT_EQUAL(screen_eip(t.screen), eip_at[4]);
    tmux_keys(&t, "U");
    CU_ASSERT(tmux_wait(&t, "revert to: 1=3", 20));
    tmux_keys(&t, "1 Enter");
    CU_ASSERT(tmux_wait(&t, "reverted to snapshot 1 (instruction 3)", 20));
    CU_ASSERT(strstr(t.screen, "insns 3 ") != NULL);
    CU_ASSERT_EQUAL(screen_eip(t.screen), eip_at[3]);
    tmux_keys(&t, "s");                         /* and forward again: the same step */
    CU_ASSERT(tmux_wait(&t, "insns 4 ", 20));
    CU_ASSERT_EQUAL(screen_eip(t.screen), eip_at[4]);
    tmux_stop(&t);
}

/* Poll until the status line's instruction count differs from `old`: the new one, or -1. */
static long long wait_insns_change(struct tmux *t, long long old, int seconds)
{
    for (int i = 0; i < seconds * 20; i++) {
        long long v = screen_count(tmux_capture(t), "| insns");
        if (v >= 0 && v != old)
            return v;
        usleep(50000);
    }
    return -1;
}

/* N undoes an n over a call (back to the CALL, where < stops inside the
   callee at its RET), then steps back one instruction where no RET is
   behind; C goes back to the breakpoint hit at kmain, and with no earlier
   hit to the oldest position kept (the snapshot at instruction 0). */
static void reverse_over_continue(const char *args)
{
    struct tmux t;
    char want[96];
    uint32_t kmain = elf_symbol(DEMO, "kmain");
    CU_ASSERT_FATAL(tmux_start(&t, args));
    CU_ASSERT(tmux_wait(&t, "| paused |", 30));
    tmux_keys(&t, "S");
    CU_ASSERT(tmux_wait(&t, "snapshot 1 taken at instruction 0", 20));
    tmux_keys(&t, "b kmain Enter");
    CU_ASSERT(tmux_wait(&t, "breakpoint set", 20));
    tmux_keys(&t, "c");
    snprintf(want, sizeof want, "EIP %08x <kmain>", kmain);
    CU_ASSERT_FATAL(tmux_wait(&t, want, 60));
    long long k0 = screen_count(t.screen, "| insns"), before = k0, after = -1;
    uint32_t call_eip = 0;
    CU_ASSERT_FATAL(k0 > 0);
    for (int i = 0; i < 20 && after < 0; i++) {   /* n until one steps over a call */
        call_eip = screen_eip(t.screen);
        tmux_keys(&t, "n");
        long long v = wait_insns_change(&t, before, 20);
        CU_ASSERT_FATAL(v > before);
        if (v > before + 1)
            after = v;
        else
            before = v;
    }
    CU_ASSERT_FATAL(after > before + 1);
    uint32_t after_eip = screen_eip(t.screen);
    tmux_keys(&t, "'<'");                       /* inside the callee: its RET */
    snprintf(want, sizeof want, "stepped back to instruction %lld", after - 1);
    CU_ASSERT(tmux_wait(&t, want, 20));
    CU_ASSERT(screen_eip(t.screen) != call_eip && screen_eip(t.screen) != after_eip);
    tmux_keys(&t, "s");
    CU_ASSERT_EQUAL(wait_insns_change(&t, after - 1, 20), after);
    CU_ASSERT_EQUAL(screen_eip(t.screen), after_eip);
    tmux_keys(&t, "N");                         /* over the whole call */
    snprintf(want, sizeof want, "stepped back over the call to instruction %lld", before);
    CU_ASSERT(tmux_wait(&t, want, 20));
    CU_ASSERT_EQUAL(screen_count(t.screen, "| insns"), before);
    CU_ASSERT_EQUAL(screen_eip(t.screen), call_eip);
    if (before > k0) {                          /* no RET behind the CALL: one back */
        tmux_keys(&t, "N");
        snprintf(want, sizeof want, "stepped back to instruction %lld", before - 1);
        CU_ASSERT(tmux_wait(&t, want, 20));
    }
    tmux_keys(&t, "C");
    snprintf(want, sizeof want, "back at breakpoint %08x (instruction %lld)", kmain, k0);
    CU_ASSERT(tmux_wait(&t, want, 30));
    CU_ASSERT_EQUAL(screen_eip(t.screen), kmain);
    tmux_keys(&t, "C");
    CU_ASSERT(tmux_wait(&t, "at instruction 0, the oldest kept: no breakpoint", 30));
    CU_ASSERT_EQUAL(screen_count(t.screen, "| insns"), 0);
    tmux_keys(&t, "c");                         /* and forward again: kmain's breakpoint */
    snprintf(want, sizeof want, "EIP %08x <kmain>", kmain);
    CU_ASSERT(tmux_wait(&t, want, 60));
    CU_ASSERT_EQUAL(screen_count(t.screen, "| insns"), k0);
    tmux_stop(&t);
}

/* native, and trap (the guest's view through the monitor); not bt, whose
   status line counts the TC's extra instructions too */
static void test_tmux_reverse_over_continue(void)
{
    reverse_over_continue(DEMO);
    reverse_over_continue("--mode trap " DEMO);
}

static void test_tmux_breakpoint(void)
{
    struct tmux t;
    char want[64];
    snprintf(want, sizeof want, "EIP %08x <kmain>", elf_symbol(DEMO, "kmain"));
    CU_ASSERT_FATAL(tmux_start(&t, DEMO));
    CU_ASSERT(tmux_wait(&t, "| paused |", 30));
    tmux_keys(&t, "b");
    CU_ASSERT(tmux_wait(&t, "breakpoint at (", 20));
    tmux_keys(&t, "kmain Enter");
    CU_ASSERT(tmux_wait(&t, "breakpoint set", 20));
    tmux_keys(&t, "c");
    CU_ASSERT(tmux_wait(&t, want, 60));
    CU_ASSERT(strstr(t.screen, "| paused |") != NULL);
    CU_ASSERT(strstr(t.screen, "=>*") != NULL);      /* EIP line shows the breakpoint */
    tmux_stop(&t);
}

static void test_tmux_console_and_quit(void)
{
    struct tmux t;
    CU_ASSERT_FATAL(tmux_start(&t, DEMO));
    CU_ASSERT(tmux_wait(&t, "| paused |", 30));
    CU_ASSERT(strstr(t.screen, "ringside demo guest") == NULL);
    /* stop right after the banner (kmain calls desc_init next), so the
       first line cannot scroll away before the screen is read */
    tmux_keys(&t, "b desc_init Enter");
    CU_ASSERT(tmux_wait(&t, "breakpoint set", 20));
    char stop[64];
    snprintf(stop, sizeof stop, "EIP %08x <desc_init>", elf_symbol(DEMO, "desc_init"));
    tmux_keys(&t, "c");
    CU_ASSERT(tmux_wait(&t, stop, 60));
    CU_ASSERT(strstr(t.screen, "||  ringside demo guest: a tiny multiboot kernel  |") != NULL);
    tmux_keys(&t, "q");
    CU_ASSERT(tmux_wait(&t, "TUI EXIT 0", 30));
    CU_ASSERT(strstr(t.screen, TUI_T_GUEST) == NULL);   /* screen restored */
    char cmd[160], flags[32] = "";
    snprintf(cmd, sizeof cmd, "tmux -L %s display -p '#{alternate_on} #{cursor_flag}'", t.sock);
    FILE *p = popen(cmd, "r");
    if (p) {
        if (!fgets(flags, sizeof flags, p))
            flags[0] = 0;
        pclose(p);
    }
    CU_ASSERT_STRING_EQUAL(flags, "0 1\n");             /* normal screen, cursor on */
    tmux_stop(&t);
}

static void test_tmux_trap_paths(void)
{
    struct tmux t;
    CU_ASSERT_FATAL(tmux_start(&t, "--mode trap " DEMO));
    CU_ASSERT(tmux_wait(&t, "mode trap | paused", 30));
    CU_ASSERT_EQUAL(screen_count(t.screen, "traps"), 0);
    tmux_keys(&t, "c");
    CU_ASSERT(tmux_wait(&t, "| exited |", 120));
    CU_ASSERT(screen_count(t.screen, "traps") > 100);
    CU_ASSERT(screen_count(t.screen, "E emulated") > 100);
    CU_ASSERT(screen_count(t.screen, "reflections") > 0);
    tmux_stop(&t);
}

/* T starts and stops recording; the file is a trace `ringside trace info`
   reads, with the traps the trap engine took. */
static void test_tmux_trace_key(void)
{
    struct tmux t;
    CU_ASSERT_FATAL(tmux_start(&t, "--mode trap samples/bin/hello.elf"));
    CU_ASSERT(tmux_wait(&t, "mode trap | paused", 30));
    tmux_keys(&t, "T");
    CU_ASSERT(tmux_wait(&t, "recording events to ringside-", 20));
    char path[64] = "";
    const char *at = strstr(t.screen, "recording events to ");
    if (at)
        sscanf(at, "recording events to %63[^ ]", path);
    tmux_keys(&t, "c");
    CU_ASSERT(tmux_wait(&t, "| exited |", 120));
    tmux_keys(&t, "T");
    CU_ASSERT(tmux_wait(&t, "events)", 20));
    tmux_keys(&t, "q");
    CU_ASSERT(tmux_wait(&t, "TUI EXIT 0", 30));
    tmux_stop(&t);
    CU_ASSERT_FATAL(path[0] != 0);
    char *argv[] = { (char *)proc_ringside(), "trace", "info", path, NULL };
    struct proc_result r;
    CU_ASSERT_EQUAL_FATAL(proc_run(argv, 60, &r), 0);
    CU_ASSERT_EQUAL(r.status, 0);
    /* the whole run was recorded: hello's 357 trapped port accesses */
    const char *traps = strstr(r.out, "\n  trap ");
    CU_ASSERT_PTR_NOT_NULL_FATAL(traps);
    CU_ASSERT(strtoll(traps + 7, NULL, 10) > 300);
    proc_result_free(&r);
    unlink(path);
}

static bool bt_available(void)
{
    char *argv[] = { (char *)proc_ringside(), "run", "--mode", "bt", "--max-insns", "1",
                     DEMO, NULL };
    struct proc_result r;
    if (proc_run(argv, 60, &r) != 0)
        return false;
    bool ok = r.status != 2;
    proc_result_free(&r);
    return ok;
}

static void test_tmux_bt_tcache(void)
{
    struct tmux t;
    if (!bt_available()) {
        /* the bt engine is not built yet: the TUI must refuse the mode cleanly */
        char *argv[] = { (char *)proc_ringside(), "tui", "--mode", "bt", DEMO, NULL };
        struct proc_result r;
        CU_ASSERT_FATAL(proc_run(argv, 60, &r) == 0);
        CU_ASSERT_EQUAL(r.status, 2);
        CU_ASSERT(strstr(r.err, "unknown mode") != NULL);
        proc_result_free(&r);
        return;
    }
    CU_ASSERT_FATAL(tmux_start(&t, "--mode bt " DEMO));
    CU_ASSERT(tmux_wait(&t, "mode bt | paused", 30));
    tmux_keys(&t, "c");
    CU_ASSERT(tmux_wait(&t, "| exited |", 120));
    CU_ASSERT(screen_count(t.screen, "blocks") > 0);
    CU_ASSERT(screen_count(t.screen, "T translated") > 0);
    tmux_stop(&t);
}

/* ---- the TUI gives the figures of a headless run (issue 12, item 4) ---- */

static long long json_field(const char *json, const char *after, const char *key)
{
    const char *p = after ? strstr(json, after) : json;
    char k[64];
    snprintf(k, sizeof k, "\"%s\": ", key);
    p = p ? strstr(p, k) : NULL;
    return p ? atoll(p + strlen(k)) : -1;
}

/* `ringside run --stats-json` of DEMO with extra options; malloc'd JSON. */
static char *headless_stats(const char *path, const char *mode, const char *tc_size)
{
    char *argv[12] = { (char *)proc_ringside(), "run", "--mode", (char *)mode, "--stats-json",
                       (char *)path };
    int n = 6;
    if (tc_size) {
        argv[n++] = "--tc-size";
        argv[n++] = (char *)tc_size;
    }
    argv[n++] = DEMO;
    argv[n] = NULL;
    struct proc_result r;
    if (proc_run(argv, 120, &r) != 0)
        return NULL;
    proc_result_free(&r);
    return proc_read_file(path, NULL);
}

/* The session API run freely to the end (as the TUI runs, in frame-sized
   requests) ends with the headless counters, and applies --tc-size. */
static void test_session_matches_headless(void)
{
    static const char *const sizes[] = { NULL, "8" };
    for (int k = 0; k < 2; k++) {
        char path[64];
        snprintf(path, sizeof path, "/tmp/rs_tui_h_%d_%d.json", (int)getpid(), k);
        char *h = headless_stats(path, "bt", sizes[k]);
        remove(path);
        CU_ASSERT_PTR_NOT_NULL_FATAL(h);
        struct run_options o = { .mode = "bt", .mem_mib = 32, .kernel = DEMO,
                                 .tc_size_kib = sizes[k] ? 8 : 0 };
        char err[256];
        CU_ASSERT_EQUAL_FATAL(tui_session_open(&sess, &o, err, sizeof err), 0);
        for (int i = 0; i < 100000 && tui_run(&sess, 10000 + 777 * (uint64_t)i) != TUI_STOP_END; i++)
            ;
        const struct bt_counters *n = bt_counters(tui_bt(&sess));
        CU_ASSERT_EQUAL(sess.m->end, END_GUEST_EXIT);
        CU_ASSERT_EQUAL((long long)cpu_guest_insns(&sess.m->cpu), json_field(h, NULL, "guest_insns"));
        CU_ASSERT_EQUAL((long long)sess.m->cpu.cycles, json_field(h, "\"cycles\"", "total"));
        CU_ASSERT_EQUAL((long long)n->translations, json_field(h, "\"tc\"", "translations"));
        CU_ASSERT_EQUAL((long long)n->hits, json_field(h, "\"tc\"", "hits"));
        CU_ASSERT_EQUAL((long long)n->flushes, json_field(h, "\"tc\"", "flushes"));
        if (sizes[k]) {
            CU_ASSERT(n->flushes > 0);          /* an 8 KiB TC fills: --tc-size applied */
        } else {
            CU_ASSERT_EQUAL(n->flushes, 0);
        }
        tui_session_close(&sess);
        free(h);
    }
}

/* Under tmux: `tui --run --exit-at-end --stats-json` writes byte for byte
   the JSON `ringside run --stats-json` writes, under every engine. */
static void test_tmux_stats_match_headless(void)
{
    static const char *const modes[] = { "native", "trap", "bt" };
    for (int k = 0; k < 3; k++) {
        if (k == 2 && !bt_available())
            continue;
        char hp[64], tp[64], args[256];
        snprintf(hp, sizeof hp, "/tmp/rs_tui_hs_%d_%d.json", (int)getpid(), k);
        snprintf(tp, sizeof tp, "/tmp/rs_tui_ts_%d_%d.json", (int)getpid(), k);
        char *h = headless_stats(hp, modes[k], NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(h);
        snprintf(args, sizeof args, "--run --exit-at-end --stats-json %s --mode %s " DEMO, tp,
                 modes[k]);
        struct tmux t;
        CU_ASSERT_FATAL(tmux_start(&t, args));
        CU_ASSERT(tmux_wait(&t, "TUI EXIT 1", 300));
        tmux_stop(&t);
        char *j = proc_read_file(tp, NULL);
        CU_ASSERT_PTR_NOT_NULL(j);
        CU_ASSERT(j && !strcmp(h, j));
        if (j && strcmp(h, j))
            fprintf(stderr, "\n  --mode %s: TUI %lld blocks, headless %lld\n", modes[k],
                    json_field(j, "\"tc\"", "translations"), json_field(h, "\"tc\"", "translations"));
        free(h);
        free(j);
        remove(hp);
        remove(tp);
    }
}

/* ---- presentation (issue 12, item 5) -------------------------------------- */

/* The Narration box's text lines joined by spaces (borders stripped). */
static void narration_text(const char *screen, char *out, size_t len)
{
    const char *p = strstr(screen, "Narration");
    size_t n = 0;
    out[0] = 0;
    p = p ? strchr(p, '\n') : NULL;
    while (p && p[1] == '|') {
        const char *eol = strchr(p + 1, '\n');
        const char *end = eol ? eol : p + strlen(p);
        const char *a = p + 2, *b = end - 1;      /* inside the two '|' */
        while (b > a && b[-1] == ' ')
            b--;
        n += (size_t)snprintf(out + n, len > n ? len - n : 0, "%s%.*s", n ? " " : "",
                              (int)(b - a), a);
        p = eol;
    }
}

/* Narration wraps on words and is not clipped at 80x24 and 100x30. */
/* A caption is true of the engine on screen and prices things with the
   run's cost profile, not with numbers written into the text. */
static void test_captions_per_engine(void)
{
    struct cost_profile k;
    cost_default(&k);
    k.v[COST_TRAP_EMULATE] = 1500;
    k.v[COST_NATIVE_SYSCALL] = 242;
    char buf[1024];
    struct tui_caption_ctx c = { .mode = "native", .detail = "", .costs = &k, .block_insns = 7 };
    CU_ASSERT(tui_caption(EV_SOFTINT, &c, buf, sizeof buf));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "the CPU delivered it"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "242 cycles"));
    CU_ASSERT_PTR_NULL(strstr(buf, "VMM"));
    CU_ASSERT(tui_caption(EV_RING, &c, buf, sizeof buf));
    CU_ASSERT_PTR_NULL(strstr(buf, "VMM the virtual CPL"));
    CU_ASSERT(tui_caption(EV_INTERRUPT, &c, buf, sizeof buf));
    CU_ASSERT_PTR_NULL(strstr(buf, "VMM"));
    c.mode = "trap";
    CU_ASSERT(tui_caption(EV_SOFTINT, &c, buf, sizeof buf));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "reflected the interrupt"));
    CU_ASSERT(tui_caption(EV_TRAP, &c, buf, sizeof buf));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "1500 cycles per trap"));
    CU_ASSERT(tui_caption(EV_INTERRUPT, &c, buf, sizeof buf));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "virtual IF"));
    c.mode = "bt";
    CU_ASSERT(tui_caption(EV_TRANSLATE, &c, buf, sizeof buf));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "or 7 instructions"));
    CU_ASSERT(tui_caption(EV_CALLOUT, &c, buf, sizeof buf));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "against 1500 for a trap"));
    CU_ASSERT(tui_caption(EV_TRAP, &c, buf, sizeof buf));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "not translated"));
    c.mode = "hw";                    /* not deprivileged: the native story, plus exits */
    CU_ASSERT(tui_caption(EV_SOFTINT, &c, buf, sizeof buf));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "the CPU delivered it"));
    CU_ASSERT_PTR_NULL(strstr(buf, "reflected"));
    CU_ASSERT(tui_caption(EV_RING, &c, buf, sizeof buf));
    CU_ASSERT_PTR_NULL(strstr(buf, "deprivileged"));
    CU_ASSERT(tui_caption(EV_TRAP, &c, buf, sizeof buf));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "VM exit"));
    CU_ASSERT_PTR_NULL(strstr(buf, "ring 1"));
    k.v[COST_VT_ENTRY] = 1234;
    CU_ASSERT(tui_caption(EV_VMEXIT, &c, buf, sizeof buf));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "1234 cycles (vt_entry"));
    CU_ASSERT(tui_caption(EV_INTERRUPT, &c, buf, sizeof buf));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "injected"));
    CU_ASSERT(tui_caption(EV_INJECT, &c, buf, sizeof buf));
    CU_ASSERT(tui_caption_kinds() & EV_BIT(EV_VMEXIT));
    CU_ASSERT_FALSE(tui_caption(EV_IO, &c, buf, sizeof buf));
    CU_ASSERT_FALSE(tui_caption_kinds() & EV_BIT(EV_IO));
    CU_ASSERT(tui_caption_kinds() & EV_BIT(EV_TRAP));
}

static void test_tmux_narration_wraps(void)
{
    static const int sizes[][2] = { { 80, 24 }, { 100, 30 } };
    static const char *const words[] = { " privileged ", " instruction ", " decoded ",
                                         " emulated ", " virtual ", " 2030 cycles per trap ",
                                         "(trap_emulate, Adams & Agesen 2006)." };
    for (int k = 0; k < 2; k++) {
        struct tmux t;
        char text[4096];
        CU_ASSERT_FATAL(tmux_start_size(&t, sizes[k][0], sizes[k][1],
                                        "--demo --demo-pause 60 --mode trap " DEMO));
        CU_ASSERT(tmux_wait(&t, "TRAP.", 60));
        narration_text(t.screen, text, sizeof text);
        for (unsigned w = 0; w < sizeof words / sizeof *words; w++) {
            CU_ASSERT_PTR_NOT_NULL(strstr(text, words[w]));
            if (!strstr(text, words[w]))
                fprintf(stderr, "\n  %dx%d: no '%s' in: %s\n", sizes[k][0], sizes[k][1],
                        words[w], text);
        }
        tmux_stop(&t);
    }
}

/* 100x30: Guest code, Translated code, Paths and Overhead all on screen;
   no dim attribute anywhere; the welcome line names the keys. */
static void test_tmux_projector_layout(void)
{
    struct tmux t;
    CU_ASSERT_FATAL(tmux_start_size(&t, 100, 30, "--mode bt " DEMO));
    CU_ASSERT(tmux_wait(&t, "mode bt | paused | Welcome! Press c to run, s to step", 30));
    static const char *const panes[] = { "- Guest code", "- Translated code", "- Paths",
                                         "- Overhead" };
    for (int i = 0; i < 4; i++)
        CU_ASSERT_PTR_NOT_NULL(strstr(t.screen, panes[i]));
    char cmd[160];
    snprintf(cmd, sizeof cmd, "tmux -L %s capture-pane -e -p | grep -c $(printf '\\033')'\\[2m'",
             t.sock);
    FILE *p = popen(cmd, "r");
    int dim = -1;
    if (p) {
        if (fscanf(p, "%d", &dim) != 1)
            dim = -1;
        pclose(p);
    }
    CU_ASSERT_EQUAL(dim, 0);                 /* no SGR 2 (dim/faint) */
    tmux_keys(&t, "s");                      /* any key: the welcome gives way to the status */
    CU_ASSERT(tmux_wait(&t, "| EIP ", 30));
    tmux_stop(&t);
    CU_ASSERT_FATAL(tmux_start_size(&t, 80, 24, DEMO));
    CU_ASSERT(tmux_wait(&t, "Press c run, s step", 30));
    CU_ASSERT(tmux_wait(&t, "[Tab: next pane]", 10));
    CU_ASSERT_PTR_NULL(strstr(t.screen, "- Overhead"));   /* compact: one pane at a time */
    tmux_stop(&t);
    CU_ASSERT_FATAL(tmux_start_size(&t, 160, 48, DEMO));
    CU_ASSERT(tmux_wait(&t, "Welcome! Press c to run", 30));
    static const char *const all[] = { "- Guest code", "- Translated code", "- Registers",
                                       "- Paths", "- Translation cache", "- Overhead",
                                       "- Events", "- Console" };
    for (int i = 0; i < 8; i++)
        CU_ASSERT_PTR_NOT_NULL(strstr(t.screen, all[i]));
    tmux_stop(&t);
}

/* With the Console focused keys go to the guest, but Esc comes back. */
static void test_tmux_console_escape(void)
{
    struct tmux t;
    CU_ASSERT_FATAL(tmux_start_size(&t, 160, 48, DEMO));
    CU_ASSERT(tmux_wait(&t, "Welcome", 30));
    for (int i = 0; i < 7; i++)
        tmux_keys(&t, "Tab");
    CU_ASSERT(tmux_wait(&t, "typing goes to the guest; Esc: back to ringside", 10));
    tmux_keys(&t, "q");                      /* the guest's key: the TUI stays */
    usleep(300000);
    CU_ASSERT_PTR_NULL(strstr(tmux_capture(&t), "TUI EXIT"));
    tmux_keys(&t, "Escape");
    CU_ASSERT(tmux_wait(&t, "keys go to ringside again", 10));
    tmux_keys(&t, "q");
    CU_ASSERT(tmux_wait(&t, "TUI EXIT 0", 10));
    tmux_stop(&t);
}

/* With --keyboard the Console's keys are pressed on the 8042: kbd.elf
   decodes their set-1 scancodes back into the line typed. `d` shows the
   Devices pane, which says where typing goes and counts the bytes read. */
static void test_tmux_keyboard_and_devices(void)
{
    struct tmux t;
    CU_ASSERT_FATAL(tmux_start_size(&t, 160, 48, "--keyboard samples/bin/kbd.elf"));
    CU_ASSERT(tmux_wait(&t, "Welcome", 30));
    tmux_keys(&t, "d");
    CU_ASSERT(tmux_wait(&t, "typing goes to the keyboard", 10));
    CU_ASSERT_PTR_NOT_NULL(strstr(t.screen, "Devices"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t.screen, "RTC   2026-01-01 00:00:00 UTC"));
    tmux_keys(&t, "c");
    CU_ASSERT(tmux_wait(&t, "kbd: type a line", 20));
    for (int i = 0; i < 7; i++)
        tmux_keys(&t, "Tab");
    CU_ASSERT(tmux_wait(&t, "typing goes to the guest", 10));
    tmux_keys(&t, "H i ! Enter");
    CU_ASSERT(tmux_wait(&t, "line \"Hi!\"", 20));
    CU_ASSERT(tmux_wait(&t, "8042  0 queued, 12 read", 10));   /* H 4, i 2, ! 4, Enter 2 */
    tmux_keys(&t, "Escape");
    CU_ASSERT(tmux_wait(&t, "keys go to ringside again", 10));
    tmux_keys(&t, "q");
    CU_ASSERT(tmux_wait(&t, "TUI EXIT 0", 10));
    tmux_stop(&t);
}

/* The demo ends each engine with the comparison table, and after the last
   engine it stops; the table's figures are the headless run's. */
static void test_tmux_demo_closing_table(void)
{
    struct tmux t;
    char hp[64];
    snprintf(hp, sizeof hp, "/tmp/rs_tui_demo_%d.json", (int)getpid());
    char *h = headless_stats(hp, "trap", NULL);
    remove(hp);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_FATAL(tmux_start_size(&t, 100, 30, "--demo --demo-pause 0 " DEMO));
    CU_ASSERT(tmux_wait(&t, "the demo stops here", 300));
    char line[160];
    long long silent = json_field(h, "\"silent_sensitive\"", "total");
    long long traps = json_field(h, "\"traps\"", "total");
    snprintf(line, sizeof line, "%lld %18lld", traps, silent);
    CU_ASSERT_PTR_NOT_NULL(strstr(t.screen, "  native "));
    CU_ASSERT_PTR_NOT_NULL(strstr(t.screen, "  trap "));
    CU_ASSERT_PTR_NOT_NULL(strstr(t.screen, line));         /* trap: traps, silent */
    CU_ASSERT_PTR_NOT_NULL(strstr(t.screen, "100.0%"));      /* native */
    CU_ASSERT_PTR_NOT_NULL(strstr(t.screen, "silent sensitive"));
    if (bt_available())
        CU_ASSERT_PTR_NOT_NULL(strstr(t.screen, " KiB"));    /* bt's TC memory */
    sleep(2);                                                /* it does not loop */
    CU_ASSERT_PTR_NOT_NULL(strstr(tmux_capture(&t), "the demo stops here"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t.screen, "| exited |"));
    tmux_stop(&t);
    free(h);
}

void suite_tui_register(void)
{
    CU_pSuite s = CU_add_suite("tui", NULL, NULL);
    CU_add_test(s, "text lines carry a style per character", test_text_styles);
    CU_add_test(s, "a native step marks N and moves =>", test_step_marks_native);
    CU_add_test(s, "breakpoints by symbol and address", test_breakpoint_location);
    CU_add_test(s, "trap: guest vs hardware registers, emulated mark", test_registers_trap);
    CU_add_test(s, "translation cache pane from events", test_tcache_from_events);
    CU_add_test(s, "hw: the VM-exits pane", test_vmexits_pane);
    CU_add_test(s, "run until the next ring change", test_run_until_event);
    CU_add_test(s, "console and overhead panes", test_console_and_overhead);
    CU_add_test(s, "tmux: panes present, ? shows help", test_tmux_panes_and_help);
    CU_add_test(s, "tmux: s advances EIP", test_tmux_step);
    CU_add_test(s, "tmux: breakpoint at kmain stops there", test_tmux_breakpoint);
    CU_add_test(s, "tmux: c shows the console, q exits 0 cleanly", test_tmux_console_and_quit);
    CU_add_test(s, "tmux: Paths counts traps under --mode trap", test_tmux_trap_paths);
    CU_add_test(s, "tmux: Translation cache counts blocks under --mode bt", test_tmux_bt_tcache);
    CU_add_test(s, "tmux: T records a trace that ringside trace reads", test_tmux_trace_key);
    CU_add_test(s, "tmux: S snapshot, < step back, U revert", test_tmux_snapshot_revert);
    CU_add_test(s, "tmux: N back over a call, C back to a breakpoint", test_tmux_reverse_over_continue);
    CU_add_test(s, "session run to the end = headless counters, --tc-size applied",
                test_session_matches_headless);
    CU_add_test(s, "tmux: --exit-at-end stats JSON = ringside run's", test_tmux_stats_match_headless);
    CU_add_test(s, "demo captions: true per engine, priced by the profile", test_captions_per_engine);
    CU_add_test(s, "tmux: narration wraps on words at 80x24 and 100x30", test_tmux_narration_wraps);
    CU_add_test(s, "tmux: projector layout, no dim, welcome line (80x24, 100x30, 160x48)",
                test_tmux_projector_layout);
    CU_add_test(s, "tmux: Esc leaves the Console, q then quits", test_tmux_console_escape);
    CU_add_test(s, "tmux: --keyboard types on the 8042, d shows the Devices pane",
                test_tmux_keyboard_and_devices);
    CU_add_test(s, "tmux: demo ends with the engine table and stops", test_tmux_demo_closing_table);
}
