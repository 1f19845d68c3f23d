/*
 * fuzz_kernel.c - the kernel differential fuzzer (docs/fuzzing.md): whole
 * generated guest kernels (fuzz_kernel_gen.c on the runtime of
 * fuzz_kernel_rt.S) run in-process under native, trap, bt and hw; the final
 * registers and flags, the exception log (vector, error code, CR2, EIP,
 * frame EFLAGS, CPL), the page tables, data pages and stacks and the way
 * the run ended must agree. Native is the reference (it is the CPU checked
 * against Capstone, the host CPU and QEMU); a sample of cases is written out
 * as multiboot ELFs and run under qemu-system-i386 and `ringside run`.
 *
 * A trap-mode divergence in a program whose own code ran a sensitive
 * instruction (an A_SENSITIVE row, seen as EV_SENSITIVE at guest ring 0) is
 * the intended leak of trap-and-emulate and is classed by the instruction's
 * name; any other divergence, and every bt divergence, is a bug. Each bug is
 * shrunk (units dropped while it still diverges) and printed with its seed
 * and a Capstone listing; KFUZZ_SEED=S [KFUZZ_ELF=file] reruns one case and
 * writes it as an ELF.
 *
 * Environment: KFUZZ_N programs (default 2000), KFUZZ_FEATURES (default
 * "quick": the generator kinds that agree on main; "all", or "+kind,-kind"),
 * KFUZZ_QEMU_N cases against QEMU (default 3), KFUZZ_SEED, KFUZZ_ELF.
 */
#include <CUnit/CUnit.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "fuzz_kernel.h"
#include "cpu/optable.h"
#include "proc.h"

#define FK_ENGINES 4            /* native, trap, bt, hw: enum machine_mode */
#define FK_INSN_LIMIT 400000u
#define FK_MEM (FK_CMP_HI - FK_CMP_LO)
#define FK_SENS_MAX 6

struct fk_run {
    int end;                    /* enum machine_end */
    uint32_t dump[FKD_N];
    uint32_t log[FK_LOG_MAX][8];
    uint8_t mem[FK_MEM];
    int nsens;                  /* distinct sensitive rows the program's code ran */
    uint16_t sens[FK_SENS_MAX]; /* deprivileged (op_table index) ... */
    uint8_t sens_cpl[FK_SENS_MAX]; /* ... at this real CPL (1: guest ring 0, 3: ring 3) */
};

struct fk_class {
    char key[200];
    unsigned count;
    struct fk_prog repro;       /* the first one, shrunk */
    char why[200];
    int engine;
    bool leak;
};

#define FK_CLASSES 96

struct fk_stats {
    unsigned programs, native_bad, leaks[FK_ENGINES], bugs[FK_ENGINES], shrinks;
    unsigned quick_bugs;        /* bugs whose reproducer uses only quick kinds */
    unsigned leak_rows[FK_ENGINES][2][1024]; /* leaking programs by op_table row, [ring 3] */
    unsigned nclass;
    struct fk_class cls[FK_CLASSES];
};

static struct machine *fk_m[FK_ENGINES];
static struct fk_run *fk_sens_target;         /* the run EV_SENSITIVE fills */
static uint8_t fk_img[FK_IMAGE];
static volatile uint32_t fk_cur_seed;         /* for the hang watchdog */
static volatile int fk_cur_engine;

/* ---- running one engine ---- */

static void fk_note_sensitive(uint32_t row, uint32_t eip, int cpl)
{
    struct fk_run *r = fk_sens_target;
    if (!r || eip < FK_CODE || eip > FK_CODE + FK_CODE_MAX)
        return;                     /* the runtime's own, or translated code */
    for (int i = 0; i < r->nsens; i++)
        if (r->sens[i] == row && r->sens_cpl[i] == cpl)
            return;
    if (r->nsens < FK_SENS_MAX) {
        r->sens_cpl[r->nsens] = (uint8_t)cpl;
        r->sens[r->nsens++] = (uint16_t)row;
    }
}

/* EV_SENSITIVE: the monitor's view (guest ring 0 under trap, INT n frames). */
static void on_sensitive(void *ctx, const struct event *ev)
{
    fk_note_sensitive(ev->a, ev->eip, 1);
}

/* The CPU's on_sensitive hook, wrapped: it also sees guest ring 3, which
   runs directly at real ring 3 under both VMM engines. */
static struct cpu_hooks fk_vmm_hooks[FK_ENGINES];

static void fk_hw_sensitive(void *ctx, const struct op_row *row, uint32_t eip)
{
    for (int mode = MODE_TRAP; mode < FK_ENGINES; mode++) {
        if (!fk_m[mode] || (void *)fk_m[mode]->vmm != ctx)
            continue;
        fk_note_sensitive((uint32_t)(row - op_table), eip, fk_m[mode]->cpu.s.cpl);
        if (fk_vmm_hooks[mode].on_sensitive)
            fk_vmm_hooks[mode].on_sensitive(ctx, row, eip);
    }
}

/* A run with no end: monitor visits are counted and past FK_VISIT_LIMIT the
   run is paused (END_NONE), so a VMM that loops without retiring anything
   shows up as a divergence instead of hanging the fuzzer. */
#define FK_VISIT_LIMIT 20000u
static unsigned fk_visits;

static void on_visit(void *ctx, const struct event *ev)
{
    if (++fk_visits == FK_VISIT_LIMIT)
        machine_request_pause(ctx);
}

static struct machine *fk_machine(int mode)
{
    if (!fk_m[mode]) {
        fk_m[mode] = fuzz_machine_new((enum machine_mode)mode, 2);
        if (fk_m[mode] && mode != MODE_NATIVE) {
            event_subscribe(&fk_m[mode]->events, EV_BIT(EV_SENSITIVE), on_sensitive, NULL);
            event_subscribe(&fk_m[mode]->events, EV_BIT(EV_WORLD_SWITCH), on_visit, fk_m[mode]);
            fk_vmm_hooks[mode] = fk_m[mode]->cpu.hooks;
            fk_m[mode]->cpu.hooks.on_sensitive = fk_hw_sensitive;
        }
    }
    return fk_m[mode];
}

static void fk_run_engine(int mode, struct fk_run *out)
{
    struct machine *m = fk_machine(mode);
    memset(out, 0, sizeof *out);
    out->end = -1;
    if (!m)
        return;
    fk_cur_engine = mode;
    memset(m->ram, 0, m->ram_size);
    memcpy(m->ram + FK_BASE, fk_img, FK_IMAGE);
    cpu_notify_phys_write(&m->cpu, 0, m->ram_size);
    m->end = END_NONE;
    debugexit_reset(&m->dbg);
    machine_enter(m, FK_ENTRY, MB_BOOT_MAGIC, 0);
    fk_sens_target = out;
    fk_visits = 0;
    alarm(20);
    machine_run(m, m->cpu.insns + FK_INSN_LIMIT);
    alarm(0);
    fk_sens_target = NULL;
    out->end = m->end;
    memcpy(out->dump, m->ram + FK_DUMP, sizeof out->dump);
    memcpy(out->log, m->ram + FK_LOG, sizeof out->log);
    memcpy(out->mem, m->ram + FK_CMP_LO, FK_MEM);
}

static bool fk_native_ok(const struct fk_run *r)
{
    return r->end == END_GUEST_EXIT && r->dump[FKD_DONE] == 0x600DD0Eu;
}

static const char *const fk_reg_names[8] = { "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi" };
static const char *const fk_log_names[6] = { "vector", "error", "cr2", "eip", "eflags", "cpl" };

/* The first difference: a field class ("end", "regs", "exceptions"...)
   and a description in `why`; NULL if the runs agree. */
static const char *fk_diff(const struct fk_run *a, const struct fk_run *b, char *why, size_t n)
{
    if (a->end != b->end && b->end == END_NONE)
        return snprintf(why, n, "no end: %u monitor visits or %u instructions without the"
                        " guest's exit", FK_VISIT_LIMIT, FK_INSN_LIMIT), "hang";
    if (a->end != b->end)
        return snprintf(why, n, "run ended %d natively, %d", a->end, b->end), "end";
    if (a->dump[FKD_LOGN] != b->dump[FKD_LOGN])
        return snprintf(why, n, "exceptions: native %u, engine %u", a->dump[FKD_LOGN],
                        b->dump[FKD_LOGN]), "exceptions";
    uint32_t nlog = a->dump[FKD_LOGN] < FK_LOG_MAX ? a->dump[FKD_LOGN] : FK_LOG_MAX;
    for (uint32_t i = 0; i < nlog; i++)
        for (int k = 0; k < 6; k++)
            if (a->log[i][k] != b->log[i][k])
                return snprintf(why, n, "exception %u (vector %#x) %s: native %#x, engine %#x", i,
                                a->log[i][FKL_VEC], fk_log_names[k], a->log[i][k], b->log[i][k]),
                       "exceptions";
    for (int r = 0; r < 8; r++)
        if (a->dump[r] != b->dump[r])
            return snprintf(why, n, "%s: native %08x, engine %08x", fk_reg_names[r], a->dump[r],
                            b->dump[r]), "regs";
    if (a->dump[FKD_EFL] != b->dump[FKD_EFL])
        return snprintf(why, n, "eflags: native %08x, engine %08x", a->dump[FKD_EFL],
                        b->dump[FKD_EFL]), "eflags";
    if (!memcmp(a->mem, b->mem, FK_MEM))
        return NULL;
    for (uint32_t i = 0; i < FK_MEM; i++)
        if (a->mem[i] != b->mem[i])
            return snprintf(why, n, "memory %#x: native %02x, engine %02x", FK_CMP_LO + i,
                            a->mem[i], b->mem[i]), "memory";
    return NULL;
}

/* ---- one program against the reference ---- */

/* The program's IOPL is 3 (a ring-3 program's POPF may then change IF). */
static bool fk_cur_iopl3;

static void fk_load(const struct fk_prog *p)
{
    fk_cur_iopl3 = (p->eflags & FL_IOPL) == FL_IOPL;
    fk_image(p, fk_img);
}

/* An intended leak: under trap any sensitive instruction the program ran
   deprivileged; under bt (which translates guest ring 0) one run directly
   at ring 3, where both engines show the real descriptor tables and the
   truncated segments by design. */
static bool fk_leaks(int mode, uint16_t row, int cpl)
{
    if (mode == MODE_HW)
        return false;                           /* the guest owns the hardware: no leak */
    if (cpl != 3)
        return mode == MODE_TRAP;               /* any A_SENSITIVE row at guest ring 0 */
    /* at ring 3 only the rows that read state the VMM owns (not loads,
       far transfers, INT n, POPF: those must behave as natively), and POPF
       with IOPL 3: the real IOPL is the VMM's (0), so the hardware ignores
       the IF it pops (Robin and Irvine's POPF, at ring 3 this time) */
    const struct op_row *r = &op_table[row];
    if (fk_cur_iopl3 && r->map == MAP_1B && r->opcode == 0x9D)
        return true;
    return !(r->attr & (A_SEGLOAD | A_FAR | A_BRANCH | A_BLOCK_END));
}

static bool fk_is_leak(const struct fk_run *r, int mode)
{
    for (int i = 0; i < r->nsens; i++)
        if (fk_leaks(mode, r->sens[i], r->sens_cpl[i]))
            return true;
    return false;
}

static struct fk_run fk_ref, fk_eng;

/* Run `p` natively and under `mode`: the field class of a divergence (and
   whether the engine ran a sensitive instruction), NULL if they agree or
   the native run did not end properly (*native_bad). */
static const char *fk_check(const struct fk_prog *p, int mode, bool *leak, bool *native_bad,
                            char *why, size_t n)
{
    fk_cur_seed = p->seed;
    fk_load(p);
    fk_run_engine(MODE_NATIVE, &fk_ref);
    *native_bad = !fk_native_ok(&fk_ref);
    *leak = false;
    if (*native_bad)
        return NULL;
    fk_run_engine(mode, &fk_eng);
    const char *f = fk_diff(&fk_ref, &fk_eng, why, n);
    *leak = f && fk_is_leak(&fk_eng, mode);
    return f;
}

/* ---- shrinking, classing, reporting ---- */

/* Drop units while `mode` still diverges the same way (bug or leak). */
static void fk_shrink(struct fk_prog *p, int mode, bool leak)
{
    char why[200];
    bool l, bad;
    static struct fk_prog t;
    for (int i = p->n - 1; i >= 0; i--) {
        t = *p;
        memmove(&t.u[i], &t.u[i + 1], sizeof t.u[0] * (size_t)(t.n - i - 1));
        t.n--;
        if (fk_check(&t, mode, &l, &bad, why, sizeof why) && l == leak)
            *p = t;
    }
    /* then the options: paging off, IOPL 0, ring 0 */
    for (int k = 0; k < 3; k++) {
        t = *p;
        if (k == 0)
            t.config &= ~(uint32_t)FKC_PAGING;
        else if (k == 1)
            t.eflags &= ~FL_IOPL;
        else
            t.config &= ~(uint32_t)FKC_RING3, t.eflags &= ~(FL_IOPL | FL_IF);
        if (memcmp(&t, p, sizeof t) && fk_check(&t, mode, &l, &bad, why, sizeof why) &&
            l == leak)
            *p = t;
    }
}

static void fk_count_leak(struct fk_stats *st, const struct fk_run *r, int mode)
{
    for (int i = 0; i < r->nsens; i++)
        if (r->sens[i] < 1024 && fk_leaks(mode, r->sens[i], r->sens_cpl[i]))
            st->leak_rows[mode][r->sens_cpl[i] == 3][r->sens[i]]++;
}

/* "bt: rmw+seg paging / exceptions": engine, the kinds of the units left,
   options, field; unshrunk (`gated_only`), only the kinds that wait for a fix. */
static void fk_class_key(const struct fk_prog *p, int mode, const char *field, bool gated_only,
                         char *key, size_t n)
{
    bool seen[K_COUNT] = { false };
    for (int i = 0; i < p->n; i++)
        seen[p->u[i].kind] = !gated_only || fk_kind_info[p->u[i].kind].waits;
    size_t at = (size_t)snprintf(key, n, "%s: %s", machine_mode_name(mode),
                                 gated_only ? "(unshrunk) " : "");
    bool first = true;
    if (!p->n && at + 1 < n)
        at += (size_t)snprintf(key + at, n - at, "(no units)");
    for (int k = 0; k < K_COUNT && at + 1 < n; k++)
        if (seen[k]) {
            at += (size_t)snprintf(key + at, n - at, "%s%s", first ? "" : "+", fk_kind_info[k].name);
            first = false;
        }
    if (at + 1 < n)
        at += (size_t)snprintf(key + at, n - at, "%s%s%s / %s",
                               p->config & FKC_PAGING ? " paging" : "",
                               p->config & FKC_RING3 ? " ring3" : "",
                               p->eflags & FL_IOPL ? " iopl3" : "", field);
}

static void fk_print_prog(FILE *f, const struct fk_prog *p)
{
    fprintf(f, "    seed %u, %s, ring %d, IOPL %u, eflags %08x, %d units\n", p->seed,
            p->config & FKC_PAGING ? "paging on" : "paging off", p->config & FKC_RING3 ? 3 : 0,
            (p->eflags >> 12) & 3, p->eflags, p->n);
    fprintf(f, "    regs eax %08x ecx %08x edx %08x ebx %08x ebp %08x esi %08x edi %08x\n",
            p->regs[0], p->regs[1], p->regs[2], p->regs[3], p->regs[5], p->regs[6], p->regs[7]);
    fk_load(p);
    for (int i = 0; i < p->n; i++) {
        uint32_t at = fk_unit_addr(p, i) + 11;
        fprintf(f, "    unit %d (%s):\n", i, fk_kind_info[p->u[i].kind].name);
        fuzz_disasm(f, fk_img + (at - FK_BASE), p->u[i].n, at, false, "      ");
    }
}

static bool fk_quick_only(const struct fk_prog *p)
{
    for (int i = 0; i < p->n; i++)
        if (fk_kind_info[p->u[i].kind].waits)
            return false;
    return !(p->eflags & FL_IOPL);
}

static void fk_record(struct fk_stats *st, const struct fk_prog *p, int mode, bool leak,
                      const char *field, const char *why)
{
    static struct fk_prog sp;
    char key[200];
    sp = *p;
    if (leak) {
        fk_count_leak(st, &fk_eng, mode);
        return;
    }
    bool shrunk = st->shrinks < 4000;
    if (shrunk) {
        st->shrinks++;
        fk_shrink(&sp, mode, false);
    }
    char w[200];
    bool l, bad;
    const char *fld = fk_check(&sp, mode, &l, &bad, w, sizeof w);
    if (!fld) {                         /* not reproducible alone: keep the original */
        sp = *p;
        fld = field;
        snprintf(w, sizeof w, "%s", why);
    }
    fk_class_key(&sp, mode, fld, !shrunk, key, sizeof key);
    st->quick_bugs += fk_quick_only(p);     /* the quick generator could have made it */
    for (unsigned i = 0; i < st->nclass; i++)
        if (!strcmp(st->cls[i].key, key)) {
            st->cls[i].count++;
            return;
        }
    if (st->nclass == FK_CLASSES)
        return;
    struct fk_class *c = &st->cls[st->nclass++];
    snprintf(c->key, sizeof c->key, "%s", key);
    c->count = 1;
    c->repro = sp;
    c->engine = mode;
    c->leak = leak;
    snprintf(c->why, sizeof c->why, "%s", w);
    if (!leak) {
        fprintf(stderr, "\n  kernel fuzz: %s\n    %s\n", key, c->why);
        fk_print_prog(stderr, &sp);
        fprintf(stderr, "    rerun: KFUZZ_SEED=%u (add KFUZZ_ELF=case.elf for QEMU)\n", p->seed);
    }
}

static void fk_summary(const struct fk_stats *st, double secs, double cpu)
{
    fprintf(stderr, "\n  kernel fuzz: %u programs in %.1f s, %.1f s CPU (%.0f programs/s,"
            " %.0f per CPU second, 4 engines each), %u native runs not ending cleanly\n",
            st->programs, secs, cpu, secs > 0 ? st->programs / secs : 0.0,
            cpu > 0 ? st->programs / cpu : 0.0, st->native_bad);
    fprintf(stderr, "    trap: %u bugs, %u intended leaks; bt: %u bugs, %u intended leaks; "
            "hw: %u bugs, %u intended leaks\n", st->bugs[MODE_TRAP], st->leaks[MODE_TRAP],
            st->bugs[MODE_BT], st->leaks[MODE_BT], st->bugs[MODE_HW], st->leaks[MODE_HW]);
    for (int mode = MODE_TRAP; mode < FK_ENGINES; mode++)
        for (int r3 = 0; r3 < 2; r3++) {
            bool any = false;
            for (unsigned row = 0; row < op_table_len && row < 1024; row++) {
                unsigned c = st->leak_rows[mode][r3][row];
                if (!c)
                    continue;
                if (!any)
                    fprintf(stderr, "    %s leaks, sensitive instruction at guest ring %d:",
                            machine_mode_name(mode), r3 ? 3 : 0);
                any = true;
                const struct op_row *o = &op_table[row];
                fprintf(stderr, " %s(%s%02x", o->mnem, o->map ? "0f " : "", o->opcode);
                if (o->ext >= 0)
                    fprintf(stderr, "/%d", o->ext);
                fprintf(stderr, ") %u", c);
            }
            if (any)
                fprintf(stderr, "\n");
        }
    if (st->nclass)
        fprintf(stderr, "    %-8s %s\n", "count", "divergence class");
    for (unsigned i = 0; i < st->nclass; i++)
        fprintf(stderr, "    %-8u %s\n", st->cls[i].count, st->cls[i].key);
}

/* ---- features, the loop, the watchdog ---- */

static uint64_t fk_quick_mask(void)
{
    uint64_t m = 0;
    for (int k = 0; k < KO_COUNT; k++)
        if (!fk_kind_info[k].waits)
            m |= 1ull << k;
    return m;
}

/* KFUZZ_FEATURES: "quick" (default), "all", names, "+name" / "-name". */
static uint64_t fk_features(void)
{
    const char *e = getenv("KFUZZ_FEATURES");
    uint64_t m = fk_quick_mask();
    if (!e || !*e)
        return m;
    char buf[400];
    snprintf(buf, sizeof buf, "%s", e);
    bool first = true;
    for (char *t = strtok(buf, ", "); t; t = strtok(NULL, ", "), first = false) {
        if (!strcmp(t, "all")) {
            m = (1ull << KO_COUNT) - 1;
            continue;
        }
        if (!strcmp(t, "quick")) {
            m = fk_quick_mask();
            continue;
        }
        char sign = *t == '+' || *t == '-' ? *t++ : 0;
        if (!sign && first)
            m = 0;
        for (int k = 0; k < KO_COUNT; k++)
            if (!strcmp(t, fk_kind_info[k].name))
                m = sign == '-' ? m & ~(1ull << k) : m | 1ull << k;
    }
    return m;
}

static unsigned fk_env_n(const char *name, unsigned dflt)
{
    const char *e = getenv(name);
    long v = e ? atol(e) : 0;
    return v > 0 ? (unsigned)v : dflt;
}

static void fk_alarm(int sig)
{
    static const char *const names[] = { "native", "trap", "bt", "hw" };
    char msg[96] = "\nkernel fuzz: seed ";
    size_t at = strlen(msg);
    char d[12];
    int nd = 0;
    uint32_t s = fk_cur_seed;
    do
        d[nd++] = (char)('0' + s % 10);
    while ((s /= 10) && nd < 11);
    while (nd)
        msg[at++] = d[--nd];
    const char *tail = " hangs the host under ";
    memcpy(msg + at, tail, strlen(tail));
    at += strlen(tail);
    const char *en = names[fk_cur_engine % 4];
    memcpy(msg + at, en, strlen(en));
    at += strlen(en);
    msg[at++] = '\n';
    (void)!write(2, msg, at);
    (void)sig;
    _exit(3);
}

/* One generated program under every engine; divergences recorded in st. */
static void fk_one(struct fk_stats *st, uint32_t seed, uint64_t features)
{
    static struct fk_prog p;
    static struct fk_run ref;
    char why[200];
    fk_gen(&p, seed, features);
    fk_cur_seed = seed;
    fk_load(&p);
    fk_run_engine(MODE_NATIVE, &ref);
    st->programs++;
    if (!fk_native_ok(&ref)) {
        if (getenv("KFUZZ_VERBOSE"))
            fprintf(stderr, "  seed %u: native run ended %d (%s)\n", seed, ref.end,
                    fk_m[MODE_NATIVE]->end_msg);
        st->native_bad++;
        return;
    }
    for (int mode = MODE_TRAP; mode < FK_ENGINES; mode++) {
        fk_load(&p);
        fk_run_engine(mode, &fk_eng);
        const char *f = fk_diff(&ref, &fk_eng, why, sizeof why);
        if (!f)
            continue;
        bool leak = fk_is_leak(&fk_eng, mode);
        if (leak)
            st->leaks[mode]++;
        else
            st->bugs[mode]++;
        fk_record(st, &p, mode, leak, f, why);
    }
}

static double fk_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* ---- a case as a multiboot ELF ---- */

static void le16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void le32(uint8_t *p, uint32_t v) { le16(p, v); le16(p + 2, v >> 16); }

/* Write `p` (print mode: the epilogue dumps on COM1) as an ELF32 multiboot
   kernel loading the image at FK_BASE. 0, or -1 if the file cannot be written. */
static int fk_write_elf(const struct fk_prog *p, const char *path)
{
    static struct fk_prog t;
    static uint8_t file[0x1000 + FK_IMAGE];
    t = *p;
    t.config |= FKC_PRINT;
    memset(file, 0, sizeof file);
    fk_image(&t, file + 0x1000);
    static const uint8_t ident[16] = { 0x7F, 'E', 'L', 'F', 1, 1, 1 };
    memcpy(file, ident, 16);
    le16(file + 16, 2);                       /* ET_EXEC */
    le16(file + 18, 3);                       /* EM_386 */
    le32(file + 20, 1);
    le32(file + 24, FK_ENTRY);
    le32(file + 28, 52);                      /* e_phoff */
    le16(file + 40, 52);                      /* e_ehsize */
    le16(file + 42, 32);                      /* e_phentsize */
    le16(file + 44, 1);                       /* e_phnum */
    uint8_t *ph = file + 52;
    le32(ph, 1);                              /* PT_LOAD */
    le32(ph + 4, 0x1000);
    le32(ph + 8, FK_BASE);
    le32(ph + 12, FK_BASE);
    le32(ph + 16, FK_IMAGE);
    le32(ph + 20, FK_IMAGE);
    le32(ph + 24, 7);
    le32(ph + 28, 0x1000);
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    bool ok = fwrite(file, sizeof file, 1, f) == 1;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* ---- tests ---- */

static struct fk_prog fk_tp;

static void fk_unit_bytes(struct fk_prog *p, int kind, const uint8_t *b, int n)
{
    struct fk_unit *u = &p->u[p->n++];
    memset(u, 0, sizeof *u);
    u->kind = (uint8_t)kind;
    u->n = (uint8_t)n;
    memcpy(u->b, b, (size_t)n);
}

/* An empty program ends under every engine with the initial registers and
   flags, an empty log and the image's memory untouched. */
static void test_empty_program(void)
{
    for (int ring3 = 0; ring3 < 2; ring3++) {
        memset(&fk_tp, 0, sizeof fk_tp);
        fk_tp.seed = 5;
        fk_tp.config = FKC_PAGING | (ring3 ? FKC_RING3 : 0);
        fk_tp.eflags = 0x8D7;
        for (int r = 0; r < 8; r++)
            fk_tp.regs[r] = 0x1000u * r + 0x11u;
        fk_unit_bytes(&fk_tp, K_ALU, (const uint8_t[]){ 0x90 }, 1);
        for (int mode = 0; mode < FK_ENGINES; mode++) {
            fk_load(&fk_tp);
            fk_run_engine(mode, &fk_eng);
            CU_ASSERT_EQUAL(fk_eng.end, END_GUEST_EXIT);
            CU_ASSERT_EQUAL(fk_eng.dump[FKD_DONE], 0x600DD0Eu);
            CU_ASSERT_EQUAL(fk_eng.dump[FKD_LOGN], 0);
            CU_ASSERT_EQUAL(fk_eng.dump[FKD_EFL], 0x8D7u & FK_EFL_MASK);
            for (int r = 0; r < 8; r++)
                if (r != R_ESP)
                    CU_ASSERT_EQUAL(fk_eng.dump[r], fk_tp.regs[r]);
            CU_ASSERT_EQUAL(fk_eng.dump[R_ESP], ring3 ? FK_STK3 : FK_STK0);
            CU_ASSERT(memcmp(fk_eng.mem + (FK_PAGE(0) - FK_CMP_LO),
                             fk_img + (FK_PAGE(0) - FK_BASE), 0x5000) == 0);
        }
    }
}

/* A read of the absent page logs #PF (error 0 or 4, CR2, the EIP of the
   load, CPL) and resumes after the unit; the next unit runs. The expected
   values are the SDM's, checked under every engine. */
static void test_fault_logged(void)
{
    for (int ring3 = 0; ring3 < 2; ring3++) {
        memset(&fk_tp, 0, sizeof fk_tp);
        fk_tp.seed = 9;
        fk_tp.config = FKC_PAGING | (ring3 ? FKC_RING3 : 0);
        fk_tp.eflags = 2;
        uint8_t ld[] = { 0x8B, 0x05, 0, 0, 0, 0, 0x40 };          /* mov eax, [abs]; inc eax */
        le32(ld + 2, FK_PAGE(3) + 0x10);
        fk_unit_bytes(&fk_tp, K_FAULT, ld, sizeof ld);
        fk_unit_bytes(&fk_tp, K_ALU, (const uint8_t[]){ 0x41 }, 1); /* inc ecx */
        for (int mode = 0; mode < FK_ENGINES; mode++) {
            fk_load(&fk_tp);
            fk_run_engine(mode, &fk_eng);
            CU_ASSERT_EQUAL(fk_eng.end, END_GUEST_EXIT);
            CU_ASSERT_EQUAL(fk_eng.dump[FKD_LOGN], 1);
            CU_ASSERT_EQUAL(fk_eng.log[0][FKL_VEC], 14);
            CU_ASSERT_EQUAL(fk_eng.log[0][FKL_ERR], ring3 ? 4u : 0u);
            CU_ASSERT_EQUAL(fk_eng.log[0][FKL_CR2], FK_PAGE(3) + 0x10);
            CU_ASSERT_EQUAL(fk_eng.log[0][FKL_EIP], FK_CODE + 11);
            CU_ASSERT_EQUAL(fk_eng.log[0][FKL_CPL], ring3 ? 3u : 0u);
            CU_ASSERT_EQUAL(fk_eng.dump[R_EAX], 0);                 /* load and inc skipped */
            CU_ASSERT_EQUAL(fk_eng.dump[R_ECX], 1);                 /* next unit ran */
        }
    }
}

static struct fk_stats fk_st;

/* KFUZZ_SEED: one case, verbose, shrunk per engine, optionally written out. */
static void fk_single(uint32_t seed, uint64_t features)
{
    static struct fk_prog p;
    fk_gen(&p, seed, features);
    fprintf(stderr, "\n  kernel fuzz: seed %u\n", seed);
    fk_print_prog(stderr, &p);
    for (int mode = MODE_TRAP; mode < FK_ENGINES; mode++) {
        char why[200];
        bool leak, bad;
        const char *f = fk_check(&p, mode, &leak, &bad, why, sizeof why);
        fprintf(stderr, "  %s: %s%s\n", machine_mode_name(mode), bad ? "native run bad" :
                f ? why : "agrees", leak ? " (intended leak)" : "");
        if (f && !leak) {
            static struct fk_prog sp;
            sp = p;
            fk_shrink(&sp, mode, false);
            if (fk_check(&sp, mode, &leak, &bad, why, sizeof why)) {
                fprintf(stderr, "  %s, shrunk: %s\n", machine_mode_name(mode), why);
                fk_print_prog(stderr, &sp);
            }
        }
    }
    const char *elf = getenv("KFUZZ_ELF");
    if (elf)
        CU_ASSERT_EQUAL(fk_write_elf(&p, elf), 0);
}

/* The quick run (make test) or the long one (make fuzz): no divergence under
   bt, none under trap but the intended leaks; with gated features on, no
   divergence whose minimal reproducer uses only the quick kinds. */
static void test_fuzz(void)
{
    uint64_t features = fk_features();
    const char *one = getenv("KFUZZ_SEED");
    signal(SIGALRM, fk_alarm);
    if (one) {
        fk_single((uint32_t)strtoul(one, NULL, 0), features);
        return;
    }
    unsigned n = fk_env_n("KFUZZ_N", 2000);
    memset(&fk_st, 0, sizeof fk_st);
    signal(SIGALRM, fk_alarm);
    double t0 = fk_now();
    clock_t c0 = clock();
    for (unsigned i = 1; i <= n; i++)
        fk_one(&fk_st, i, features);
    fk_summary(&fk_st, fk_now() - t0, (double)(clock() - c0) / CLOCKS_PER_SEC);
    CU_ASSERT_EQUAL(fk_st.quick_bugs, 0);
    CU_ASSERT(fk_st.native_bad <= n / 50);                  /* the generator makes valid programs */
    if (features == fk_quick_mask())
        CU_ASSERT_EQUAL(fk_st.bugs[MODE_TRAP] + fk_st.bugs[MODE_BT] + fk_st.bugs[MODE_HW], 0);
}

/* Two COM1 dumps equal but for AF in the flag words (and so the checksum
   of memory holding frames and PUSHF results)? AF is undefined after the
   logic, shift and multiply instructions (SDM vol. 1 appendix A), where
   ringside follows the host CPU and QEMU's TCG may not. */
static bool fk_af_only(const char *a, const char *b)
{
    int line = 0, word = 0;
    while (*a && *b) {
        char *ea, *eb;
        unsigned long x = strtoul(a, &ea, 16), y = strtoul(b, &eb, 16);
        if (ea == a || eb == b)
            return false;
        bool flags = line == 0 ? word == FKD_EFL : word == FKL_EFL;
        bool sum = line == 0 && word == FKD_SUM;
        if (!sum && (flags ? (x ^ y) & ~0x10ul : x != y))
            return false;
        a = ea, b = eb;
        while (*a == ' ')
            a++;
        while (*b == ' ')
            b++;
        word++;
        if (*a == '\n' && *b == '\n')
            a++, b++, line++, word = 0;
        else if (*a == '\n' || *b == '\n')
            return false;
    }
    return !*a && !*b;
}

static bool fk_have_qemu(void)
{
    return system("command -v qemu-system-i386 >/dev/null 2>&1") == 0;
}

/* Native against QEMU: KFUZZ_QEMU_N cases as ELFs, each run by
   qemu-system-i386 and by `ringside run --mode native`; the dumps (registers,
   flags, checksum, exception log) printed on COM1 must be equal. */
static void test_qemu_sample(void)
{
    if (!fk_have_qemu()) {
        fprintf(stderr, "\n  qemu-system-i386 not installed: kernel fuzz QEMU sample skipped\n");
        return;
    }
    unsigned n = fk_env_n("KFUZZ_QEMU_N", 3), bad = 0;
    /* QEMU's TCG checks neither segment limits, write permission nor null
       selectors on data accesses (seen: stores through a null ES, a read-only
       FS, past a 64 KiB limit complete), so the units that use loaded data
       segments are left out here, and LOCK on forms that must #UD (QEMU runs
       some, e.g. lock mov r, sreg) */
    uint64_t features = fk_features() & ~(1ull << K_SEG | 1ull << K_SEG_HOSTILE | 1ull << K_FARPTR |
                                          1ull << K_LOCK_UD);
    char dir[] = "/tmp/kfuzz.XXXXXX";
    CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
    for (unsigned i = 1; i <= n; i++) {
        static struct fk_prog p;
        char kernel[64];
        fk_gen(&p, 1000003u * i, features);
        snprintf(kernel, sizeof kernel, "%s/case.elf", dir);
        CU_ASSERT_FATAL(fk_write_elf(&p, kernel) == 0);
        char *qargv[] = { "qemu-system-i386", "-m", "32", "-kernel", kernel, "-serial", "stdio",
                          "-display", "none", "-no-reboot", "-device",
                          "isa-debug-exit,iobase=0xf4,iosize=0x04", NULL };
        char *rargv[] = { (char *)proc_ringside(), "run", "--mode", "native", kernel, NULL };
        struct proc_result q, r;
        CU_ASSERT_FATAL(proc_run(qargv, 60, &q) == 0);
        CU_ASSERT_FATAL(proc_run(rargv, 60, &r) == 0);
        bool same = !strcmp(q.out, r.out) && q.status == r.status && q.out_len > 0;
        if (!same && q.status == r.status && fk_af_only(q.out, r.out)) {
            fprintf(stderr, "\n  kernel fuzz: seed %u: native = QEMU but for AF (undefined"
                    " after logic/shift/multiply ops)\n", p.seed);
            same = true;
        }
        if (!same) {
            bad += fk_quick_only(&p);     /* the others are listed, not failed */
            fprintf(stderr, "\n  kernel fuzz: native differs from QEMU (status %d vs %d)\n"
                    "  qemu:\n%s  ringside:\n%s", q.status, r.status, q.out, r.out);
            fk_print_prog(stderr, &p);
        }
        proc_result_free(&q);
        proc_result_free(&r);
        unlink(kernel);
    }
    rmdir(dir);
    CU_ASSERT_EQUAL(bad, 0);
}

static int fk_clean(void)
{
    for (int i = 0; i < FK_ENGINES; i++) {
        fuzz_machine_free(fk_m[i]);
        fk_m[i] = NULL;
    }
    return 0;
}

void suite_kernel_fuzz_register(void)
{
    CU_pSuite s = CU_add_suite("kernel_fuzz", NULL, fk_clean);
    CU_add_test(s, "an empty program keeps its registers under every engine", test_empty_program);
    CU_add_test(s, "a #PF is logged with CR2 and skipped", test_fault_logged);
    CU_add_test(s, "native = trap = bt on generated kernels (KFUZZ_N)", test_fuzz);
    CU_add_test(s, "native = QEMU on a sample (KFUZZ_QEMU_N)", test_qemu_sample);
}
