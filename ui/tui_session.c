/*
 * tui_session.c - the machine behind the terminal UI, and what the UI learns
 * from its event stream.
 *
 * Stepping uses machine_run with an instruction limit of one more than the
 * count so far: whatever the engine (the CPU alone, or a VMM that may emulate
 * the instruction after a trap), exactly one guest instruction retires. A run
 * that must stop at breakpoints, or whose instructions should all be marked
 * with the path they took, steps this way too; a plain run gives machine_run
 * the limit `ringside run` gives it (the end of the current CMD_RUN_SLICE)
 * and relies on machine_request_pause from the event subscriber to stop at
 * the next event of a chosen kind.
 *
 * Why the headless slice: an instruction limit can stop the binary
 * translator in the middle of a block, and the block it re-enters from there
 * is a different one (a new translation, other chains). The TUI used to run
 * in chunks sized for the frame rate, which gave 891-1051 blocks where
 * `ringside run` made 545 for the same kernel. Stopping only where the
 * headless runner stops makes a free run from the start identical to it
 * (tests/test_tui.c compares the stats JSON); stepping, breakpoints and "run
 * until" still stop anywhere, and may change the figures after that point.
 */
#include "tui_session.h"
#include "history.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_run.h"
#include "cpu/optable.h"
#include "run_vm.h"

/* ---- console and events ------------------------------------------------- */

static void tui_console_put(void *ctx, uint8_t byte)
{
    struct tui_session *s = ctx;
    s->console[s->con_len++ % TUI_CONSOLE] = (char)byte;
}

size_t tui_console_tail(const struct tui_session *s, char *buf, size_t max)
{
    size_t n = s->con_len < TUI_CONSOLE ? s->con_len : TUI_CONSOLE;
    if (n > max)
        n = max;
    for (size_t i = 0; i < n; i++)
        buf[i] = s->console[(s->con_len - n + i) % TUI_CONSOLE];
    return n;
}

static unsigned mark_slot(uint32_t eip)
{
    return (eip * 2654435761u) >> 20 & (TUI_MARKS - 1);
}

void tui_mark_set(struct tui_session *s, uint32_t eip, enum ev_path path)
{
    unsigned i = mark_slot(eip);
    for (unsigned probe = 0; probe < 16; probe++, i = (i + 1) & (TUI_MARKS - 1)) {
        if (!s->marks[i].used || s->marks[i].eip == eip) {
            s->marks[i] = (struct tui_mark){ eip, (uint8_t)path, 1 };
            return;
        }
    }
    s->marks[mark_slot(eip)] = (struct tui_mark){ eip, (uint8_t)path, 1 }; /* evict */
}

int tui_mark_get(const struct tui_session *s, uint32_t eip)
{
    unsigned i = mark_slot(eip);
    for (unsigned probe = 0; probe < 16; probe++, i = (i + 1) & (TUI_MARKS - 1)) {
        if (!s->marks[i].used)
            return -1;
        if (s->marks[i].eip == eip)
            return s->marks[i].path;
    }
    return -1;
}

/* Count a hit on the block starting at eip; the coldest entry makes room. */
static void hot_count(struct tui_session *s, uint32_t eip)
{
    int coldest = 0;
    for (int i = 0; i < TUI_HOT; i++) {
        if (s->hot[i].hits && s->hot[i].eip == eip) {
            s->hot[i].hits++;
            return;
        }
        if (s->hot[i].hits < s->hot[coldest].hits)
            coldest = i;
    }
    s->hot[coldest] = (struct tui_hot){ eip, 1 };
}

static void tui_track_tc(struct tui_session *s, const struct event *ev)
{
    switch (ev->kind) {
    case EV_TRANSLATE:
        s->tc_guest_bytes += ev->a;
        s->tc_bytes += ev->b;
        s->tc_guest_insns += EV_XLAT_INSNS(ev->c);
        /* fall through */
    case EV_TC_HIT:
    case EV_TC_MISS:
        s->last_block = ev->eip;
        s->have_block = true;
        if (ev->kind != EV_TC_MISS)
            hot_count(s, ev->eip);
        tui_mark_set(s, ev->eip, PATH_TRANSLATED);
        break;
    case EV_TC_FLUSH:
        s->tc_bytes = 0;
        break;
    default:
        break;
    }
}

void tui_on_event(void *ctx, const struct event *ev)
{
    struct tui_session *s = ctx;
    if (ev->kind == EV_INSNS)
        return;
    s->log[s->log_next] = *ev;
    s->log_next = (s->log_next + 1) % TUI_LOG_MAX;
    s->log_total++;
    if (ev->kind == EV_TRAP || ev->kind == EV_CALLOUT)
        tui_mark_set(s, ev->eip, PATH_EMULATED);
    if (ev->kind == EV_VMEXIT)
        tui_exit_capture(s);
    tui_track_tc(s, ev);
    if ((s->stop_mask & EV_BIT(ev->kind)) && !s->stop_hit) {
        s->stop_hit = true;
        s->stop_ev = *ev;
        if (s->m)
            machine_request_pause(s->m);
    }
}

unsigned tui_log_count(const struct tui_session *s)
{
    return s->log_total < TUI_LOG_MAX ? (unsigned)s->log_total : TUI_LOG_MAX;
}

const struct event *tui_log_get(const struct tui_session *s, unsigned i)
{
    if (i >= tui_log_count(s))
        return NULL;
    return &s->log[(s->log_next + TUI_LOG_MAX - 1 - i) % TUI_LOG_MAX];
}

/* ---- the machine -------------------------------------------------------- */

static void tui_reset_tracking(struct tui_session *s)
{
    memset(s->log, 0, sizeof s->log);
    s->log_next = 0, s->log_total = 0;
    s->stop_hit = false;
    memset(s->marks, 0, sizeof s->marks);
    memset(s->hot, 0, sizeof s->hot);
    s->tc_bytes = s->tc_guest_bytes = s->tc_guest_insns = 0;
    s->have_block = false;
    s->con_len = 0;
    s->have_prev = false;
}

/* Follow vm: its console and every event come to s. 0, or -1 with err. */
static int tui_follow(struct tui_session *s, struct vm *vm, char *err, size_t errlen)
{
    if (event_subscribe(&vm->m.events, EV_ALL, tui_on_event, s) != 0) {
        snprintf(err, errlen, "no free event subscriber slot");
        return -1;
    }
    vm->m.out = tui_console_put;
    vm->m.out_ctx = s;
    s->vm = vm;
    s->m = &vm->m;
    s->slice_end = CMD_RUN_SLICE;
    tui_reset_tracking(s);
    return 0;
}

static void tui_drop_machine(struct tui_session *s);

static int tui_build_machine(struct tui_session *s, char *err, size_t errlen)
{
    struct vm_config cfg;
    struct cost_profile prof;
    if (run_vm_config(&s->opt, -1, &cfg, &prof, err, errlen) != 0)
        return -1;
    cfg.image = s->image;
    cfg.image_len = s->image_len;
    struct vm *vm = vm_create(&cfg, err, errlen);
    if (!vm)
        return -1;
    if (tui_follow(s, vm, err, errlen) != 0) {
        vm_destroy(vm);
        return -1;
    }
    /* the past: S/U snapshots, reverse step, typed keys logged (history.h);
       automatic checkpoints only with --checkpoint-every (they would change
       the cycles of a run under bt against the headless runner's) */
    if (!history_attach(vm, s->opt.checkpoint_given ? s->opt.checkpoint_every : 0)) {
        snprintf(err, errlen, "out of memory for the history");
        tui_drop_machine(s);
        return -1;
    }
    return 0;
}

int tui_session_open(struct tui_session *s, const struct run_options *o,
                     char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->opt = *o;
    snprintf(s->mode, sizeof s->mode, "%s", o->mode ? o->mode : "native");
    s->opt.mode = s->mode;
    if (mb_read_file(o->kernel, &s->image, &s->image_len, err, errlen) != 0)
        return -1;
    elf_load_symbols(s->image, s->image_len, &s->syms);  /* none is fine */
    if (tui_build_machine(s, err, errlen) != 0) {
        tui_session_close(s);
        return -1;
    }
    return 0;
}

int tui_session_attach(struct tui_session *s, struct vm *vm, const char *name,
                       const char *kernel, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->attached = true;
    snprintf(s->name, sizeof s->name, "%s", name);
    snprintf(s->mode, sizeof s->mode, "%s", machine_mode_name(vm->m.mode));
    s->opt.mode = s->mode;
    snprintf(s->kernel, sizeof s->kernel, "%s", kernel);
    s->opt.kernel = s->kernel;
    if (mb_read_file(kernel, &s->image, &s->image_len, err, errlen) == 0)
        elf_load_symbols(s->image, s->image_len, &s->syms);  /* none is fine */
    if (tui_follow(s, vm, err, errlen) != 0) {
        tui_session_close(s);
        return -1;
    }
    return 0;
}

static void tui_drop_machine(struct tui_session *s)
{
    if (!s->vm)
        return;
    if (s->attached) {                     /* the host's: let go of it */
        event_unsubscribe(&s->vm->m.events, tui_on_event, s);
        s->vm->m.out = NULL;
    } else {
        vm_destroy(s->vm);
    }
    s->vm = NULL;
    s->m = NULL;
}

void tui_session_close(struct tui_session *s)
{
    tui_drop_machine(s);
    free(s->image);
    s->image = NULL;
    elf_symtab_free(&s->syms);
}

int tui_session_restart(struct tui_session *s, const char *mode, char *err, size_t errlen)
{
    char old[sizeof s->mode];
    snprintf(old, sizeof old, "%s", s->mode);
    if (mode)
        snprintf(s->mode, sizeof s->mode, "%s", mode);
    tui_drop_machine(s);
    if (tui_build_machine(s, err, errlen) == 0)
        return 0;
    snprintf(s->mode, sizeof s->mode, "%s", old);   /* fall back to what worked */
    char ignored[128];
    tui_build_machine(s, ignored, sizeof ignored);
    return -1;
}

const char *tui_next_mode(const char *mode)
{
    int cur = machine_mode_parse(mode);
    const char *next = machine_mode_name(cur + 1);
    return next ? next : machine_mode_name(0);
}

enum tui_state tui_session_state(const struct tui_session *s, bool running)
{
    if (s->m->end == END_GUEST_EXIT)
        return TUI_EXITED;
    if (s->m->end != END_NONE)
        return TUI_HALTED;
    return running ? TUI_RUNNING : TUI_PAUSED;
}

/* ---- where the guest is ------------------------------------------------- */

bool tui_in_vmm_region(const struct tui_session *s)
{
    const struct cpu *c = &s->m->cpu;
    return s->m->vmm && c->s.seg[S_CS].base + c->s.eip >= VMM_REGION_BASE;
}

struct bt *tui_bt(const struct tui_session *s)
{
    return s->m->vmm ? vmm_bt(s->m->vmm) : NULL;
}

uint32_t tui_guest_eip(const struct tui_session *s)
{
    const struct cpu *c = &s->m->cpu;
    uint32_t lin = c->s.seg[S_CS].base + c->s.eip;
    if (!tui_in_vmm_region(s))
        return lin;
    uint32_t g = tui_bt(s) ? bt_tc_to_guest(tui_bt(s), lin) : 0;
    if (g)
        return g;                 /* in the TC: the guest instruction it stands for */
    return s->have_block ? s->last_block : lin;
}

enum ev_path tui_default_path(const struct tui_session *s)
{
    if (!s->m->vmm)
        return PATH_NATIVE;
    return tui_in_vmm_region(s) ? PATH_TRANSLATED : PATH_DIRECT;
}

/* A guest-linear address as the guest's own page tables map it, read
   through its pmap: no accessed bits set, no frame allocated. */
static bool guest_walk(const struct tui_session *s, uint32_t lin, uint32_t *gpa)
{
    const struct vcpu *vc = vmm_vcpu(s->m->vmm);
    const struct pmap *pm = &s->m->pm;
    uint64_t limit = (uint64_t)pm->npages << 12;
    if (!(vc->cr0 & 0x80000000u)) {
        *gpa = lin;
        return lin < limit;
    }
    uint32_t pde, pte, at = (vc->cr3 & ~0xFFFu) + (lin >> 22) * 4;
    if (at + 4 > limit)
        return false;
    pmap_read(pm, at, &pde, 4);
    if (!(pde & 1))
        return false;
    if ((pde & 0x80) && (vc->cr4 & 0x10)) {          /* a 4 MiB page (CR4.PSE) */
        *gpa = (pde & 0xFFC00000u) | (lin & 0x3FFFFFu);
        return *gpa < limit;
    }
    at = (pde & ~0xFFFu) + ((lin >> 12) & 0x3FF) * 4;
    if (at + 4 > limit)
        return false;
    pmap_read(pm, at, &pte, 4);
    *gpa = (pte & ~0xFFFu) | (lin & 0xFFF);
    return (pte & 1) && *gpa < limit;
}

bool tui_peek(const struct tui_session *s, uint32_t lin, void *buf, uint32_t len)
{
    if (cpu_peek(&s->m->cpu, lin, buf, len))
        return true;
    if (!s->m->vmm || s->m->mode == MODE_HW || lin >= VMM_REGION_BASE)
        return false;
    /* the hardware's tables may lack the page (a shadow or 1:1 entry the VMM
       dropped when page sharing moved the page): the guest's view */
    uint8_t *out = buf;
    while (len) {
        uint32_t gpa, chunk = 0x1000u - (lin & 0xFFFu);
        if (chunk > len)
            chunk = len;
        if (!guest_walk(s, lin, &gpa))
            return false;
        pmap_read(&s->m->pm, gpa, out, chunk);
        out += chunk, lin += chunk, len -= chunk;
    }
    return true;
}

/* Decode the instruction at the hardware EIP. False if it cannot be read. */
static bool tui_decode_here(struct tui_session *s, struct insn *in)
{
    struct cpu *c = &s->m->cpu;
    uint8_t bytes[16];
    uint32_t lin = c->s.seg[S_CS].base + c->s.eip;
    if (!tui_peek(s, lin, bytes, sizeof bytes))
        return false;
    return decode(bytes, sizeof bytes, (c->s.seg[S_CS].flags & SEGF_DB) != 0, in) > 0;
}

/* ---- stepping ----------------------------------------------------------- */

void tui_snapshot_regs(struct tui_session *s)
{
    cpu_get_eflags(&s->m->cpu);
    s->prev = s->m->cpu.s;
    if (s->m->vmm) {
        const struct vcpu *vc = vmm_vcpu(s->m->vmm);
        s->prev_vcr0 = vc->cr0, s->prev_vcr3 = vc->cr3;
        s->prev_vcpl = vc->cpl, s->prev_vif = vcpu_if(vc);
    }
    s->have_prev = true;
}

/* One instruction, marking where it ran. */
static enum tui_stop tui_step_one(struct tui_session *s)
{
    struct machine *m = s->m;
    if (m->end != END_NONE)
        return TUI_STOP_END;
    uint32_t eip = tui_guest_eip(s);
    enum ev_path path = tui_default_path(s);
    uint64_t traps = m->stats.by_kind[EV_TRAP] + m->stats.by_kind[EV_CALLOUT];
    bool was_halted = machine_guest_halted(m);
    vm_run(s->vm, m->cpu.insns + 1);
    if (!was_halted && traps == m->stats.by_kind[EV_TRAP] + m->stats.by_kind[EV_CALLOUT])
        tui_mark_set(s, eip, path);
    if (m->end != END_NONE)
        return TUI_STOP_END;
    if (s->stop_hit)
        return TUI_STOP_EVENT;
    return TUI_STOP_STEP;
}

enum tui_stop tui_step(struct tui_session *s, uint64_t n)
{
    enum tui_stop r = TUI_STOP_STEP;
    tui_snapshot_regs(s);
    for (uint64_t i = 0; i < n && r == TUI_STOP_STEP; i++)
        r = tui_step_one(s);
    return r;
}

/* Step until the guest reaches `target`, a breakpoint or a stop event. */
static enum tui_stop tui_run_to(struct tui_session *s, uint32_t target, uint64_t max)
{
    for (uint64_t i = 0; i < max; i++) {
        enum tui_stop r = tui_step_one(s);
        if (r != TUI_STOP_STEP)
            return r;
        uint32_t eip = tui_guest_eip(s);
        if (eip == target)
            return TUI_STOP_STEP;
        if (tui_bp_has(s, eip))
            return TUI_STOP_BREAK;
    }
    return TUI_STOP_NONE;
}

enum tui_stop tui_step_over(struct tui_session *s)
{
    struct insn in;
    tui_snapshot_regs(s);
    if (!tui_decode_here(s, &in) || strncmp(in.row->mnem, "call", 4) != 0)
        return tui_step_one(s);
    return tui_run_to(s, tui_guest_eip(s) + in.len, 50000000);
}

enum tui_stop tui_step_block(struct tui_session *s)
{
    tui_snapshot_regs(s);
    for (int i = 0; i < TUI_BLOCK_MAX; i++) {
        struct insn in;
        bool known = tui_decode_here(s, &in);
        uint32_t eip = tui_guest_eip(s);
        enum tui_stop r = tui_step_one(s);
        if (r != TUI_STOP_STEP)
            return r;
        if (!known || (in.row->attr & A_BLOCK_END) || tui_guest_eip(s) != eip + in.len)
            break;
        if (tui_bp_has(s, tui_guest_eip(s)))
            return TUI_STOP_BREAK;
    }
    return TUI_STOP_STEP;
}

/* A run that checks every instruction (breakpoints set, or slow speed). */
static enum tui_stop tui_run_traced(struct tui_session *s, uint64_t max)
{
    for (uint64_t i = 0; i < max; i++) {
        enum tui_stop r = tui_step_one(s);
        if (r != TUI_STOP_STEP)
            return r;
        if (tui_bp_has(s, tui_guest_eip(s)))
            return TUI_STOP_BREAK;
    }
    return TUI_STOP_NONE;
}

/* One machine_run to the end of the headless runner's current slice. */
static void tui_run_slice(struct tui_session *s)
{
    struct machine *m = s->m;
    if (m->cpu.insns >= s->slice_end)      /* steps went past it */
        s->slice_end = m->cpu.insns + CMD_RUN_SLICE;
    uint64_t limit = s->slice_end;
    if (s->opt.max_insns && limit > s->opt.max_insns)
        limit = s->opt.max_insns;
    vm_run(s->vm, limit);
    if (m->end == END_NONE && m->cpu.insns >= s->slice_end)
        s->slice_end = m->cpu.insns + CMD_RUN_SLICE;
    if (m->end == END_NONE && s->opt.max_insns && m->cpu.insns >= s->opt.max_insns) {
        m->end = END_BUDGET;               /* as cmd_run.c's run_to_end */
        snprintf(m->end_msg, sizeof m->end_msg, "instruction budget of %llu exhausted",
                 (unsigned long long)s->opt.max_insns);
    }
}

enum tui_stop tui_run(struct tui_session *s, uint64_t max_insns)
{
    struct machine *m = s->m;
    if (m->end != END_NONE)
        return TUI_STOP_END;
    if (s->nbp || max_insns < 64)
        return tui_run_traced(s, max_insns);
    uint64_t start = m->cpu.insns;
    do {                                   /* whole slices, at least one */
        tui_run_slice(s);
        if (m->end != END_NONE)
            return TUI_STOP_END;
        if (s->stop_hit)
            return TUI_STOP_EVENT;
    } while (m->cpu.insns - start < max_insns);
    tui_mark_set(s, tui_guest_eip(s), tui_default_path(s));
    return TUI_STOP_NONE;
}

/* ---- breakpoints -------------------------------------------------------- */

bool tui_bp_has(const struct tui_session *s, uint32_t eip)
{
    for (int i = 0; i < s->nbp; i++)
        if (s->bp[i] == eip)
            return true;
    return false;
}

bool tui_bp_toggle(struct tui_session *s, uint32_t eip)
{
    for (int i = 0; i < s->nbp; i++) {
        if (s->bp[i] == eip) {
            s->bp[i] = s->bp[--s->nbp];
            return false;
        }
    }
    if (s->nbp == TUI_BP_MAX)
        return false;
    s->bp[s->nbp++] = eip;
    return true;
}

static int parse_hex(const char *t, uint32_t *out)
{
    char *end;
    if (!isxdigit((unsigned char)*t))
        return -1;
    unsigned long v = strtoul(t, &end, 16);
    if (*end || v > 0xFFFFFFFFul)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

int tui_parse_location(const struct tui_session *s, const char *text, uint32_t *eip)
{
    while (isspace((unsigned char)*text))
        text++;
    char name[128];
    snprintf(name, sizeof name, "%s", text);
    for (size_t n = strlen(name); n && isspace((unsigned char)name[n - 1]); )
        name[--n] = 0;
    if (!name[0])
        return -1;
    if (name[0] == '0' && (name[1] == 'x' || name[1] == 'X'))
        return parse_hex(name + 2, eip);
    char *plus = strchr(name, '+');
    uint32_t off = 0;
    if (plus) {
        *plus = 0;
        const char *o = plus[1] == '0' && (plus[2] == 'x' || plus[2] == 'X') ? plus + 3 : plus + 1;
        if (parse_hex(o, &off) != 0)
            return -1;
    }
    const struct elf_sym *sym = elf_sym_by_name(&s->syms, name);
    if (sym) {
        *eip = sym->addr + off;
        return 0;
    }
    return plus ? -1 : parse_hex(name, eip);
}
