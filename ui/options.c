/*
 * options.c - parsing `ringside run` options.
 *
 * Hand-written rather than getopt_long so that the accepted syntax is exactly
 * what the help text says (both "--mem 64" and "--mem=64"), numbers are
 * checked in full (no silent "12abc" -> 12), and every error names the option.
 */
#include "options.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "machine.h"

void options_print_run_help(void)
{
    puts("usage: ringside run [options] KERNEL\n"
         "\n"
         "Run a multiboot kernel on the simulated PC. Standard output carries exactly\n"
         "what the guest writes to COM1.\n"
         "\n"
         "options:\n"
         "  --mode MODE       engine: native (default), trap (naive trap-and-emulate VMM),\n"
         "                    bt (binary translation with a translation cache),\n"
         "                    hw (hardware-assisted, VT-x style: docs/hw.md)\n"
         "  --mem MIB         guest RAM in MiB (default 32, 2..3072)\n"
         "  --max-insns N     stop after N retired instructions (default: no limit;\n"
         "                    under bt the translated code's own instructions count)\n"
         "  --append STR      kernel command line (multiboot cmdline)\n"
         "  --module FILE     load FILE as a multiboot module (repeatable; \"FILE args\")\n"
         "  --disk FILE[,index=N]  IDE disk image (repeatable: master, then slave; N 0 or 1)\n"
         "  --disk-write      write guest disk writes through to the image files\n"
         "                    (default: kept in memory, the files are never changed)\n"
         "  --stats-json FILE write run statistics as JSON to FILE (docs/stats.md)\n"
         "  --costs FILE      cost profile for modeled cycles (docs/costs.md)\n"
         "  --snapshot-at N FILE   save the VM after N guest instructions (repeatable)\n"
         "  --snapshot-every N DIR save the VM every N guest instructions into DIR\n"
         "  --restore FILE    continue from a snapshot (KERNEL optional; --mode may differ)\n"
         "  --gdb PORT        wait for gdb on 127.0.0.1:PORT before the first instruction\n"
         "  --record FILE     log every byte COM1 receives (standard input) to FILE\n"
         "  --replay FILE     run again with the inputs of a --record FILE (docs/replay.md)\n"
         "  --checkpoint-every N  reverse execution (--gdb, tui): a checkpoint every N\n"
         "                    guest instructions (default 5000000; 0: none)\n"
         "  --trace FILE      record the run's events to FILE (docs/traces.md)\n"
         "  --trace-events L  record only these kinds, e.g. trap,ring,tc (default: all)\n"
         "  --trace-insns     also record every instruction (slow; for short runs)\n"
         "  --tc-size KIB     --mode bt: translation cache size in KiB (4..2048, default 1024)\n"
         "  --tc-policy P     --mode bt: when the TC is full: flush (default), fifo, or\n"
         "                    plugin:FILE.so (a placement policy, sim/vmm/bt/tc_policy.h)\n"
         "  --tc-block-insns N  --mode bt: guest instructions per translation unit (1..64, default 12)\n"
         "  --npt             --mode hw: nested paging (an EPT-like second table) instead of\n"
         "                    shadow page tables (docs/hw.md)\n"
         "  --reference-cpu   run the CPU's reference interpreter: one instruction at a time,\n"
         "                    generic handlers (slower; the same results, docs/performance.md)\n"
         "  --until TEXT      end the run (status 0) once the guest has printed TEXT on COM1\n"
         "  --keyboard        standard input types on the PS/2 keyboard (8042, scancode\n"
         "                    set 1) instead of COM1\n"
         "  --rtc-now         the real-time clock starts at the host's time (default: the\n"
         "                    fixed 2026-01-01 00:00:00 UTC); it runs on modeled time\n"
         "  -v, --verbose     print a summary to stderr at the end\n"
         "  -h, --help        this text\n"
         "\n"
         "exit status:\n"
         "  0             the --until text was printed\n"
         "  (V << 1) | 1  the guest wrote V to isa-debug-exit (port 0xf4), as QEMU\n"
         "  2             bad input: unknown option, missing or malformed kernel/module\n"
         "  4             triple fault\n"
         "  6             the guest halted with interrupts disabled (or nothing can wake it)\n"
         "  8             the --max-insns budget was exhausted\n"
         "  10            the guest used a feature ringside does not model\n"
         "  12            internal error, or no progress (watchdog)");
}

static int parse_u64(const char *opt, const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!s || !*s || *s == '-') {
        fprintf(stderr, "ringside: %s needs a non-negative number\n", opt);
        return -1;
    }
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end || v > max) {
        fprintf(stderr, "ringside: %s: invalid number '%s'\n", opt, s);
        return -1;
    }
    *out = v;
    return 0;
}

/* Split "--opt=value" or take the next argument as the value. */
static const char *option_value(int argc, char **argv, int *i, const char *name)
{
    const char *arg = argv[*i];
    size_t n = strlen(name);
    if (strncmp(arg, name, n) == 0 && arg[n] == '=')
        return arg + n + 1;
    if (*i + 1 >= argc) {
        fprintf(stderr, "ringside: %s needs a value\n", name);
        return NULL;
    }
    return argv[++*i];
}

static bool option_is(const char *arg, const char *name)
{
    size_t n = strlen(name);
    return strncmp(arg, name, n) == 0 && (arg[n] == 0 || arg[n] == '=');
}

/* The translator options (docs/bt.md): 0 taken, 1 not one of them, -1 error. */
static int parse_tc_opt(int argc, char **argv, int *i, struct run_options *o)
{
    static const char *const names[] = { "--tc-size", "--tc-policy", "--tc-block-insns" };
    for (int k = 0; k < 3; k++) {
        if (!option_is(argv[*i], names[k]))
            continue;
        const char *v = option_value(argc, argv, i, names[k]);
        if (!v)
            return -1;
        char *end;
        long n = strtol(v, &end, 10);
        bool num_ok = *v && !*end;
        if (k == 0 && num_ok && n >= 4 && n <= 2048) {
            o->tc_size_kib = (uint32_t)n;
        } else if (k == 1 && (!strcmp(v, "flush") || !strcmp(v, "fifo") ||
                              (!strncmp(v, "plugin:", 7) && v[7]))) {
            o->tc_policy = v;
        } else if (k == 2 && num_ok && n >= 1 && n <= 64) {
            o->tc_block_insns = (int)n;
        } else {
            fprintf(stderr, "ringside: %s %s: %s\n", names[k], v,
                    k == 0 ? "expected KiB from 4 to 2048"
                    : k == 1 ? "expected flush, fifo or plugin:FILE.so" : "expected 1 to 64");
            return -1;
        }
        return 0;
    }
    return 1;
}

/* The trace options (docs/traces.md): 0 taken, 1 not a trace option, -1 error. */
static int parse_trace_opt(int argc, char **argv, int *i, struct run_options *o)
{
    const char *arg = argv[*i];
    if (!strcmp(arg, "--trace-insns")) {
        o->trace_insns = true;
        return 0;
    }
    bool events = option_is(arg, "--trace-events");
    if (!events && !option_is(arg, "--trace"))
        return 1;
    const char *v = option_value(argc, argv, i, events ? "--trace-events" : "--trace");
    if (!v)
        return -1;
    *(events ? &o->trace_events : &o->trace) = v;
    return 0;
}

/* The snapshot options (docs/snapshot.md): 0 taken, 1 not one, -1 error. */
static int parse_snap_opt(int argc, char **argv, int *i, struct run_options *o)
{
    const char *arg = argv[*i];
    if (option_is(arg, "--gdb")) {
        const char *v = option_value(argc, argv, i, "--gdb");
        uint64_t port;
        if (!v || parse_u64("--gdb", v, 65535, &port))
            return -1;
        if (port < 1024) {
            fprintf(stderr, "ringside: --gdb %s: use a port from 1024 to 65535\n", v);
            return -1;
        }
        o->gdb_port = (int)port;
        return 0;
    }
    if (option_is(arg, "--restore")) {
        o->restore = option_value(argc, argv, i, "--restore");
        return o->restore ? 0 : -1;
    }
    bool at = !strcmp(arg, "--snapshot-at");
    if (!at && strcmp(arg, "--snapshot-every"))
        return 1;
    uint64_t n;
    if (*i + 2 >= argc) {
        fprintf(stderr, "ringside: %s needs N and a %s\n", arg, at ? "FILE" : "DIR");
        return -1;
    }
    if (parse_u64(arg, argv[*i + 1], UINT64_MAX, &n))
        return -1;
    if (at && o->nsnap_at == OPT_MAX_SNAPS) {
        fprintf(stderr, "ringside: at most %d --snapshot-at options\n", OPT_MAX_SNAPS);
        return -1;
    }
    if (!at && n == 0) {
        fprintf(stderr, "ringside: --snapshot-every 0: N must be at least 1\n");
        return -1;
    }
    if (at) {
        o->snap_at[o->nsnap_at].at = n;
        o->snap_at[o->nsnap_at++].file = argv[*i + 2];
    } else {
        o->snap_every = n;
        o->snap_dir = argv[*i + 2];
    }
    *i += 2;
    return 0;
}

/* Record/replay and reverse execution (docs/replay.md): 0 taken, 1 not
   one, -1 error. */
static int parse_replay_opt(int argc, char **argv, int *i, struct run_options *o)
{
    const char *arg = argv[*i];
    if (option_is(arg, "--checkpoint-every")) {
        const char *v = option_value(argc, argv, i, "--checkpoint-every");
        o->checkpoint_given = true;
        return v ? parse_u64("--checkpoint-every", v, UINT64_MAX, &o->checkpoint_every) : -1;
    }
    bool rec = option_is(arg, "--record");
    if (!rec && !option_is(arg, "--replay"))
        return 1;
    const char *v = option_value(argc, argv, i, rec ? "--record" : "--replay");
    if (!v)
        return -1;
    *(rec ? &o->record : &o->replay) = v;
    return 0;
}

static int parse_valued(int argc, char **argv, int *i, struct run_options *o)
{
    const char *arg = argv[*i];
    int tr = parse_replay_opt(argc, argv, i, o);
    if (tr <= 0)
        return tr;
    tr = parse_trace_opt(argc, argv, i, o);
    if (tr <= 0)
        return tr;
    tr = parse_tc_opt(argc, argv, i, o);
    if (tr <= 0)
        return tr;
    tr = parse_snap_opt(argc, argv, i, o);
    if (tr <= 0)
        return tr;
    static const char *const names[] = { "--mode", "--mem", "--max-insns", "--append",
                                         "--module", "--stats-json", "--costs", "--disk",
                                         "--until" };
    for (unsigned k = 0; k < sizeof names / sizeof *names; k++) {
        if (!option_is(arg, names[k]))
            continue;
        const char *v = option_value(argc, argv, i, names[k]);
        uint64_t num;
        if (!v)
            return -1;
        switch (k) {
        case 0:
            if (machine_mode_parse(v) < 0) {
                fprintf(stderr, "ringside: --mode %s: unknown mode (available:", v);
                for (int e = 0; machine_mode_name(e); e++)
                    fprintf(stderr, "%s %s", e ? "," : "", machine_mode_name(e));
                fprintf(stderr, ")\n");
                return -1;
            }
            o->mode = v;
            o->mode_given = true;
            return 0;
        case 1:
            if (parse_u64("--mem", v, UINT64_MAX, &num))
                return -1;
            if (num < 2 || num > 3072) {
                fprintf(stderr, "ringside: --mem %s: guest RAM must be 2 to 3072 MiB\n", v);
                return -1;
            }
            o->mem_mib = (uint32_t)num;
            return 0;
        case 2:
            return parse_u64("--max-insns", v, UINT64_MAX, &o->max_insns);
        case 3:
            o->append = v;
            return 0;
        case 4:
            if (o->nmodules == OPT_MAX_MODULES) {
                fprintf(stderr, "ringside: at most %d --module options\n", OPT_MAX_MODULES);
                return -1;
            }
            o->modules[o->nmodules++] = v;
            return 0;
        case 5:
            o->stats_json = v;
            return 0;
        case 6:
            o->costs = v;
            return 0;
        case 8:
            if (!*v) {
                fprintf(stderr, "ringside: --until needs a non-empty text\n");
                return -1;
            }
            o->until = v;
            return 0;
        default:
            if (o->ndisks == 2) {
                fprintf(stderr, "ringside: at most 2 --disk options (IDE master and slave)\n");
                return -1;
            }
            o->disks[o->ndisks++] = v;
            return 0;
        }
    }
    fprintf(stderr, "ringside: unknown option '%s' (see ringside run --help)\n", arg);
    return -1;
}

int options_parse_run(int argc, char **argv, struct run_options *o)
{
    memset(o, 0, sizeof *o);
    o->mode = "native";
    o->mem_mib = 32;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            options_print_run_help();
            return 1;
        }
        if (!strcmp(arg, "-v") || !strcmp(arg, "--verbose")) {
            o->verbose = true;
        } else if (!strcmp(arg, "--npt")) {
            o->npt = true;
        } else if (!strcmp(arg, "--disk-write")) {
            o->disk_write = true;
        } else if (!strcmp(arg, "--reference-cpu")) {
            o->reference_cpu = true;
        } else if (!strcmp(arg, "--rtc-now")) {
            o->rtc_now = true;
        } else if (!strcmp(arg, "--keyboard")) {
            o->keyboard = true;
        } else if (arg[0] == '-' && arg[1]) {
            if (parse_valued(argc, argv, &i, o))
                return -1;
        } else if (o->kernel) {
            fprintf(stderr, "ringside: more than one kernel given ('%s' and '%s')\n",
                    o->kernel, arg);
            return -1;
        } else {
            o->kernel = arg;
        }
    }
    if (!o->kernel && !o->restore) {
        fprintf(stderr, "ringside: no kernel given (see ringside run --help)\n");
        return -1;
    }
    if (o->record && o->replay) {
        fprintf(stderr, "ringside: --record and --replay cannot be used together\n");
        return -1;
    }
    if ((o->trace_events || o->trace_insns) && !o->trace) {
        fprintf(stderr, "ringside: %s needs --trace FILE\n",
                o->trace_events ? "--trace-events" : "--trace-insns");
        return -1;
    }
    return 0;
}
