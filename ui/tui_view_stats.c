/*
 * tui_view_stats.c - the counting panes of the TUI (Paths, Translation
 * cache, Overhead), the Events log, the Console, the status bar and help.
 *
 * The numbers come from the always-on statistics (sim/stats.h) that every
 * engine feeds through the event stream, plus what the TUI's own subscriber
 * gathers (TC bytes, hottest blocks): so a new engine's events appear here
 * without changes. The Overhead split multiplies event counts by the cost
 * profile (sim/vmm/cost.h), the same numbers the engines charge.
 */
#include "tui_view.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cpu/optable.h"
#include "cpu/vmx.h"

/* ---- Paths -------------------------------------------------------------- */

static uint64_t path_count(const struct tui_session *s, int path)
{
    const struct machine *m = s->m;
    uint64_t emu = m->stats.path_insns[PATH_EMULATED];
    uint64_t tr = m->stats.path_insns[PATH_TRANSLATED];
    if (!m->vmm)
        return path == PATH_NATIVE ? m->cpu.insns : 0;
    switch (path) {
    case PATH_DIRECT:     return m->cpu.insns - emu - tr;
    case PATH_TRANSLATED: return tr;
    case PATH_EMULATED:   return emu;
    default:              return 0;
    }
}

static uint64_t sum(const uint64_t *v, int n)
{
    uint64_t t = 0;
    for (int i = 0; i < n; i++)
        t += v[i];
    return t;
}

/* The `max` labels with the largest counts (rows merged by label), as
   "label count" lines. */
static void top_rows(const uint64_t *by_row, int max, struct tui_text *out)
{
    struct label_count lc[STATS_ROWS];
    int n = vmm_counts_by_label(by_row, STATS_ROWS, lc, STATS_ROWS);
    for (int k = 0; k < max && k < n; k++) {
        int best = k;
        for (int i = k + 1; i < n; i++)
            if (lc[i].n > lc[best].n)
                best = i;
        struct label_count t = lc[k];
        lc[k] = lc[best];
        lc[best] = t;
        tui_text_line(out, TS_DIM, "  %-14s %10" PRIu64, lc[k].label, lc[k].n);
    }
}

void tui_view_paths(const struct tui_session *s, struct tui_text *out)
{
    const struct stats *st = &s->m->stats;
    tui_text_line(out, TS_HEAD, "instructions by path");
    for (int p = 0; p < PATH_COUNT; p++) {
        tui_text_line(out, tui_path_style(p), "%c %-12s", tui_path_glyph(p), event_path_name(p));
        tui_text_put(out, TS_NORMAL, " %12" PRIu64, path_count(s, p));
    }
    tui_text_line(out, TS_NORMAL, "traps          %12" PRIu64, sum(st->traps_by_row, STATS_ROWS));
    top_rows(st->traps_by_row, 3, out);
    tui_text_line(out, TS_NORMAL, "silent sensitive %10" PRIu64,
                  sum(st->sensitive_by_row, STATS_ROWS));
    top_rows(st->sensitive_by_row, 2, out);
    tui_text_line(out, TS_NORMAL, "reflections    %12" PRIu64, sum(st->reflected, 256));
    tui_text_line(out, TS_NORMAL, "callouts       %12" PRIu64, st->by_kind[EV_CALLOUT]);
    tui_text_line(out, TS_NORMAL, "world switches %12" PRIu64, st->world_switches);
    tui_text_line(out, TS_NORMAL, "ring changes   %12" PRIu64, st->by_kind[EV_RING]);
    tui_text_line(out, TS_DIM, "  0->3 %" PRIu64 "  3->0 %" PRIu64, st->ring_edges[0][3],
                  st->ring_edges[3][0]);
}

/* ---- Translation cache -------------------------------------------------- */

void tui_view_tcache(const struct tui_session *s, struct tui_text *out)
{
    const uint64_t *k = s->m->stats.by_kind;
    uint64_t hits = k[EV_TC_HIT], misses = k[EV_TC_MISS];
    struct bt *bt = tui_bt(s);
    tui_text_line(out, TS_NORMAL, "blocks         %12" PRIu64, k[EV_TRANSLATE]);
    if (bt)
        tui_text_put(out, TS_DIM, " (%d live)", bt_block_count(bt));
    tui_text_line(out, TS_NORMAL, "bytes used     %12" PRIu64, s->tc_bytes);
    if (bt)
        tui_text_put(out, TS_DIM, " of %u", bt_get_config(bt)->tc_size);
    tui_text_line(out, TS_DIM, "  from %" PRIu64 " guest bytes", s->tc_guest_bytes);
    tui_text_line(out, TS_NORMAL, "hits %" PRIu64 "  misses %" PRIu64, hits, misses);
    tui_text_line(out, TS_NORMAL, "hit rate       %11.1f%%",
                  hits + misses ? 100.0 * (double)hits / (double)(hits + misses) : 0.0);
    tui_text_line(out, TS_NORMAL, "chains %" PRIu64 "  invalidations %" PRIu64 "  flushes %"
                  PRIu64, k[EV_TC_CHAIN], k[EV_TC_INVALIDATE], k[EV_TC_FLUSH]);
    struct tui_hot hot[TUI_HOT];
    memcpy(hot, s->hot, sizeof hot);
    tui_text_line(out, TS_HEAD, "hottest blocks");
    for (int r = 0; r < 5; r++) {
        int best = -1;
        for (int i = 0; i < TUI_HOT; i++)
            if (hot[i].hits && (best < 0 || hot[i].hits > hot[best].hits))
                best = i;
        if (best < 0)
            break;
        char sym[96];
        tui_text_line(out, TS_TRANSLATED, " %9" PRIu64 " %08x %s", hot[best].hits,
                      hot[best].eip, tui_symbolize(s, hot[best].eip, sym, sizeof sym));
        hot[best].hits = 0;
    }
}

/* ---- Overhead ----------------------------------------------------------- */

double tui_speed_pct(const struct tui_session *s)
{
    const struct machine *m = s->m;
    if (m->cpu.cycles == 0 || !m->vmm)
        return 100.0;
    return 100.0 * (double)machine_native_equiv(m) / (double)m->cpu.cycles;
}

static void overhead_row(struct tui_text *out, const char *name, uint64_t cyc, uint64_t total,
                         enum tui_style st)
{
    double pct = total ? 100.0 * (double)cyc / (double)total : 0.0;
    int bar = (int)(pct / 5.0 + 0.5);
    tui_text_line(out, st, "%-16s %14" PRIu64 " %5.1f%% ", name, cyc, pct);
    tui_text_put(out, st, "%.*s", bar, "####################");
}

void tui_view_overhead(const struct tui_session *s, struct tui_text *out)
{
    const struct machine *m = s->m;
    const uint64_t *k = m->stats.by_kind;
    const uint32_t *c = m->costs.v;
    uint64_t total = m->cpu.cycles;
    uint64_t emu = sum(m->stats.traps_by_row, STATS_ROWS) * c[COST_TRAP_EMULATE] +
                   k[EV_CALLOUT] * c[COST_CALLOUT_EMULATE] + k[EV_REFLECT] * c[COST_REFLECT];
    uint64_t xlat = s->tc_guest_insns * c[COST_TRANSLATE_INSN];
    uint64_t tc = path_count(s, PATH_TRANSLATED) * c[COST_INSN_SIMPLE];
    uint64_t used = emu + xlat + tc;
    uint64_t direct = total > used ? total - used : 0;
    tui_text_line(out, TS_HEAD, "modeled cycles   %14" PRIu64 "  (profile %s)", total, m->costs.name);
    overhead_row(out, m->vmm ? "guest direct" : "guest native", direct, total,
                 m->vmm ? TS_DIRECT : TS_NATIVE);
    overhead_row(out, "TC", tc, total, TS_TRANSLATED);
    overhead_row(out, "emulation", emu, total, TS_EMULATED);
    overhead_row(out, "translation", xlat, total, TS_CALLOUT);
    tui_text_line(out, TS_NORMAL, "world switches %12" PRIu64 " (inside emulation)",
                  m->stats.world_switches);
    tui_text_line(out, TS_HEAD, "guest speed: %.1f%% of native", tui_speed_pct(s));
}

/* ---- Events ------------------------------------------------------------- */

static const char *reflect_kind(uint32_t b)
{
    return b == 0 ? "exception" : b == 1 ? "irq" : "int n";
}

void tui_event_text(const struct event *ev, char *buf, size_t len)
{
    const char *name = event_kind_name((enum ev_kind)ev->kind);
    switch (ev->kind) {
    case EV_TRAP:
    case EV_SENSITIVE:
        snprintf(buf, len, "%-10s %-12s eip %08x", name,
                 ev->a < op_table_len ? vmm_row_label(&op_table[ev->a]) : "?", ev->eip);
        break;
    case EV_IO:
    case EV_IO_UNMAPPED:
        snprintf(buf, len, "%-10s %s 0x%x %s 0x%x", name, ev->c ? "out" : "in", ev->a,
                 ev->c ? "<-" : "->", ev->d);
        break;
    case EV_RING:
        snprintf(buf, len, "%-10s cpl %u -> %u (real %u -> %u)", name, ev->a, ev->b, ev->c, ev->d);
        break;
    case EV_VMEXIT:
        snprintf(buf, len, "%-10s %s qual 0x%x eip %08x", name,
                 vmx_exit_name(ev->a) ? vmx_exit_name(ev->a) : "?", ev->b, ev->eip);
        break;
    case EV_INJECT:
        snprintf(buf, len, "%-10s vector %u%s eip %08x", name, ev->a, ev->c ? " (again)" : "",
                 ev->eip);
        break;
    case EV_REFLECT:
        snprintf(buf, len, "%-10s vector %u (%s)", name, ev->a, reflect_kind(ev->b));
        break;
    case EV_EXCEPTION: case EV_INTERRUPT: case EV_SOFTINT:
        snprintf(buf, len, "%-10s vector %u eip %08x", name, ev->a, ev->eip);
        break;
    case EV_TRANSLATE:
        snprintf(buf, len, "%-10s %08x: %u insns (%u IDENT), %u B -> %u B", name, ev->eip,
                 EV_XLAT_INSNS(ev->c), EV_XLAT_IDENT(ev->c), ev->a, ev->b);
        break;
    case EV_CALLOUT:   /* a: opcode-table row of the instruction, b: how (bt) */
        snprintf(buf, len, "%-10s callout: %s eip %08x", name,
                 ev->a < op_table_len ? vmm_row_label(&op_table[ev->a]) : "?", ev->eip);
        break;
    case EV_WORLD_SWITCH:
        snprintf(buf, len, "%-10s %s", name, ev->a ? "into the VMM" : "back to the guest");
        break;
    default:
        snprintf(buf, len, "%-10s eip %08x %x %x", name, ev->eip, ev->a, ev->b);
        break;
    }
}

static enum tui_style event_style(const struct event *ev)
{
    switch (ev->kind) {
    case EV_TRAP: case EV_CALLOUT: case EV_WORLD_SWITCH: return TS_EMULATED;
    case EV_TRANSLATE: case EV_TC_HIT: case EV_TC_MISS: case EV_TC_CHAIN:
    case EV_TC_INVALIDATE: case EV_TC_FLUSH: return TS_TRANSLATED;
    case EV_SENSITIVE: return TS_DIFF;
    case EV_RING: case EV_REFLECT: return TS_HEAD;
    default: return TS_NORMAL;
    }
}

void tui_view_events(const struct tui_session *s, int rows, struct tui_text *out)
{
    unsigned n = tui_log_count(s);
    if (n > (unsigned)rows)
        n = (unsigned)rows;
    for (unsigned i = n; i-- > 0; ) {
        const struct event *ev = tui_log_get(s, i);
        char text[160];
        tui_event_text(ev, text, sizeof text);
        tui_text_line(out, TS_DIM, "%12" PRIu64 " ", ev->cycle);
        tui_text_put(out, event_style(ev), "%s", text);
    }
    if (!n)
        tui_text_line(out, TS_DIM, "(no events yet)");
}

/* ---- Console ------------------------------------------------------------ */

static void console_com1(const struct tui_session *s, int rows, struct tui_text *out)
{
    static char buf[TUI_CONSOLE];
    size_t n = tui_console_tail(s, buf, sizeof buf);
    struct tui_text *t = out;
    int w = t->width;
    tui_text_line(t, TS_NORMAL, "%s", "");
    for (size_t i = 0; i < n; i++) {
        struct tui_line *l = &t->line[t->n - 1];
        if (buf[i] == '\n' || l->len >= w) {
            if (t->n == TUI_TEXT_MAX) {      /* keep the newest lines */
                memmove(&t->line[0], &t->line[1], sizeof t->line[0] * (TUI_TEXT_MAX - 1));
                t->n--;
            }
            tui_text_line(t, TS_NORMAL, "%s", "");
            if (buf[i] == '\n')
                continue;
        }
        if (buf[i] == '\r')
            continue;
        char ch = buf[i] >= 0x20 && buf[i] < 0x7f ? buf[i] : '.';
        tui_text_put(t, TS_NORMAL, "%c", ch);
    }
    if (t->n > rows) {                       /* the last `rows` lines */
        int drop = t->n - rows;
        memmove(&t->line[0], &t->line[drop], sizeof t->line[0] * (size_t)rows);
        t->n = rows;
    }
}

static void console_vga(const struct tui_session *s, int rows, struct tui_text *out)
{
    const struct machine *m = s->m;
    if (m->ram_size < 0xB8000 + 80 * 25 * 2)
        return;
    uint8_t vga[80 * 25 * 2];
    machine_read_phys(m, 0xB8000, vga, sizeof vga);
    for (int r = 0; r < 25 && r < rows; r++) {
        char line[81];
        for (int c = 0; c < 80; c++) {
            uint8_t ch = vga[(r * 80 + c) * 2];
            line[c] = ch >= 0x20 && ch < 0x7f ? (char)ch : ' ';
        }
        line[80] = 0;
        tui_text_line(out, TS_NORMAL, "%s", line);
    }
}

void tui_view_console(const struct tui_session *s, int rows, bool vga, struct tui_text *out)
{
    if (vga)
        console_vga(s, rows, out);
    else
        console_com1(s, rows, out);
}

/* ---- status bar and help ------------------------------------------------ */

static const char *state_name(enum tui_state st)
{
    static const char *const names[] = { "paused", "running", "halted", "exited" };
    return names[st];
}

void tui_view_status(const struct tui_session *s, enum tui_state st, const char *speed,
                     const char *msg, struct tui_text *out)
{
    char sym[96];
    uint32_t eip = tui_guest_eip(s);
    tui_text_line(out, TS_STATUS, " ringside | %s%s%smode %s | %s | EIP %08x %s | cycle %" PRIu64
                  " | insns %" PRIu64 " | speed %s | %s", s->name[0] ? "vm " : "", s->name,
                  s->name[0] ? " | " : "", s->mode, state_name(st), eip,
                  tui_symbolize(s, eip, sym, sizeof sym), s->m->cpu.cycles, s->m->cpu.insns,
                  speed, msg && *msg ? msg : "? help  q quit");
}

static const char *const help_lines[] = {
    "Keys (gdb / Blinkenlights habits)",
    "",
    "  s        step one guest instruction",
    "  n        step over a call (run to the next instruction)",
    "  t        step one block (to the next control transfer, max 12 insns)",
    "  c, space run / pause",
    "  + / -    run faster / slower (1 insn/s ... full speed)",
    "  b        set or clear a breakpoint: address (0x1000f0) or symbol (kmain)",
    "  r        run until the next event of a kind: trap, translation, ring change,",
    "           TC miss, callout, reflection, I/O, exception/interrupt",
    "  m        switch engine (native -> trap -> ...) and restart the guest",
    "  R        restart the guest in the same engine",
    "  v        Console: toggle COM1 output / VGA text screen",
    "  d        Paths pane: toggle the Devices view (PICs, PIT, RTC, APICs, 8042, IDE)",
    "  T        start / stop recording a trace (ringside-N.rtrace; see ringside trace)",
    "  S        take a snapshot (in memory, named by its instruction count)",
    "  U        revert to a snapshot chosen from the list",
    "  <        step back one guest instruction (restore + re-execute, docs/replay.md)",
    "  N        step back over a call: past a RET, back to its CALL (as n, backwards)",
    "  C        reverse continue: back to the last breakpoint hit, else the oldest kept",
    "  Tab      move focus (on a small screen: show the next pane)",
    "           keys typed while the Console has focus go to the guest's COM1;",
    "           Esc (or Tab) always comes back to ringside",
    "  ?        this help (any key closes it)",
    "  q        quit",
    "",
    "Guest code marks: N native  D direct  T translated  E emulated  * breakpoint",
    "Registers: guest (virtual) beside hardware (real); != differs, reverse = changed",
};

void tui_view_welcome(const struct tui_session *s, int cols, struct tui_text *out)
{
    char line[TUI_LINE_MAX + 1], sym[96];
    uint32_t eip = tui_guest_eip(s);
    if (s->name[0]) {                           /* a host's VM (tui --host) */
        snprintf(line, sizeof line, " ringside | vm %s | mode %s | paused | Welcome! c runs the "
                 "host, s steps vm %s, 1-9 select a VM, ? every key, q quit", s->name, s->mode,
                 s->name);
        if ((int)strlen(line) > cols)
            snprintf(line, sizeof line, " ringside | vm %s | c run host, s step, 1-9 VM, "
                     "? keys, q quit", s->name);
        tui_text_line(out, TS_STATUS, "%s", line);
        return;
    }
    snprintf(line, sizeof line, " ringside | mode %s | paused | EIP %08x %s | Welcome! Press c "
             "to run, s to step, ? for every key, q to quit", s->mode, eip,
             tui_symbolize(s, eip, sym, sizeof sym));
    if ((int)strlen(line) > cols)
        snprintf(line, sizeof line, " ringside | mode %s | paused | Welcome! Press c to run, "
                 "s to step, ? for every key, q to quit", s->mode);
    if ((int)strlen(line) > cols)
        snprintf(line, sizeof line, " ringside | mode %s | paused | Press c run, s step, "
                 "? keys, q quit", s->mode);
    tui_text_line(out, TS_STATUS, "%s", line);
}

/* The host view's own keys (tui --host); m, S, U, <, N and C are one-VM keys. */
static const char *const host_help_lines[] = {
    "",
    "Host view: 1-9 select a VM (its panes show), w the next one, p pause / resume it,",
    "  a add a VM (a --vm spec), k kill it, | two VMs side by side; c runs the host's",
    "  scheduler, s n t step the selected VM alone (the host charges it), R reboots it",
};

void tui_view_help(struct tui_text *out, bool host)
{
    for (unsigned i = 0; i < sizeof help_lines / sizeof *help_lines; i++) {
        const char *l = help_lines[i];
        if (host && l[0] == ' ' && l[1] == ' ' && strchr("mSU<NC", l[2]) && l[3] == ' ')
            continue;
        tui_text_line(out, i == 0 ? TS_HEAD : TS_NORMAL, "%s", l);
    }
    for (unsigned i = 0; host && i < sizeof host_help_lines / sizeof *host_help_lines; i++)
        tui_text_line(out, TS_NORMAL, "%s", host_help_lines[i]);
}
