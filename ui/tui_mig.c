/*
 * tui_mig.c - the two-host view's model (tui_mig.h): the source and target
 * hosts of `ringside migrate`, the VM moving between them, each host's
 * console.
 *
 * Everything that decides a figure is cmd_migrate.c's: the options
 * (mig_cli_take), the hosts and the VM (mig_cli_open), the run to the start
 * point in ~20,000-cycle slices (mig_cli_source_step), the migration
 * (migrate_vm over mig_link_local) and the report (mig_report_json). So the
 * rounds, pages, bytes and modeled times on the screen are those `ringside
 * migrate --json` prints for the same options, however the screen's frames
 * cut the run: the only thing the view adds is a callback that redraws.
 */
#include "tui_mig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd_run.h"

static void usage(void)
{
    puts("usage: ringside tui --migrate [--run] [--exit-at-end] [--stats-json FILE] [--round-ms MS]\n"
         "                    [--at INSNS] [--bandwidth BITS] [--latency US] [--stop-pages N]\n"
         "                    [--max-rounds N] KERNEL [--mode trap|bt] [run options]\n"
         "  two hosts side by side: KERNEL boots on the source and is live-migrated to the\n"
         "  target after INSNS guest instructions (default 1000000; m migrates at once), as\n"
         "  `ringside migrate` does; each host's VM, state and console, and the pre-copy\n"
         "  rounds. --round-ms: how long each round stays on screen (default 300);\n"
         "  --stats-json: the JSON of `ringside migrate --json`. Keys: c run/pause, m migrate,\n"
         "  q quit (docs/tui.md)");
}

/* The view's own options; 1 taken (with its value), 0 not ours, -1 bad. */
static int take_view_opt(struct tui_mig *tm, const char *a, const char *v)
{
    if (!strcmp(a, "--run") || !strcmp(a, "--exit-at-end") || !strcmp(a, "--migrate")) {
        tm->autorun |= a[2] == 'r';
        tm->exit_at_end |= a[2] == 'e';
        return 2;                          /* no value */
    }
    if (strcmp(a, "--stats-json") && strcmp(a, "--round-ms") && strcmp(a, "--json"))
        return 0;
    if (!strcmp(a, "--json")) {
        fprintf(stderr, "ringside tui --migrate: --json: the report is on the screen "
                "(--stats-json FILE writes it)\n");
        return -1;
    }
    if (!v) {
        fprintf(stderr, "ringside tui --migrate: %s needs a value\n", a);
        return -1;
    }
    if (a[2] == 's') {
        tm->stats_json = v;
        return 1;
    }
    char *end;
    long ms = strtol(v, &end, 10);
    if (*end || !*v || ms < 0 || ms > 10000) {
        fprintf(stderr, "ringside tui --migrate: --round-ms %s: expected 0 to 10000\n", v);
        return -1;
    }
    tm->round_ms = (int)ms;
    return 1;
}

int tui_mig_parse(struct tui_mig *tm, int argc, char **argv)
{
    memset(tm, 0, sizeof *tm);
    tm->cli.at = MIG_CLI_AT_DEFAULT;
    tm->round_ms = 300;
    int n = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage();
            return 1;
        }
        int t = take_view_opt(tm, argv[i], i + 1 < argc ? argv[i + 1] : NULL);
        if (t < 0)
            return -1;
        if (t == 0)
            argv[n++] = argv[i];
        i += t == 1;
    }
    if (mig_cli_take(&n, argv, &tm->cli, "ringside tui --migrate") != 0)
        return -1;
    int rc = options_parse_run(n, argv, &tm->o);
    return rc > 0 ? 1 : rc < 0 ? -1 : 0;
}

/* ---- each host's console ------------------------------------------------ */

static void con_put(struct tui_mig_console *c, uint8_t byte)
{
    if (c->len < sizeof c->text)
        c->text[c->len++] = (char)byte;
    c->total++;
}

static void out_source(void *ctx, uint8_t byte)
{
    con_put(&((struct tui_mig *)ctx)->con[0], byte);
}

static void out_target(void *ctx, uint8_t byte)
{
    con_put(&((struct tui_mig *)ctx)->con[1], byte);
}

int tui_mig_open(struct tui_mig *tm, char *err, size_t errlen)
{
    tm->hosts = calloc(2, sizeof *tm->hosts);
    if (!tm->hosts) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (mig_cli_open(tm->hosts, &tm->o, err, errlen) != 0) {
        free(tm->hosts);
        tm->hosts = NULL;
        return -1;
    }
    struct machine *m = &tm->hosts[0].vms[0].vm->m;
    m->out = out_source;
    m->out_ctx = tm;
    return 0;
}

void tui_mig_close(struct tui_mig *tm)
{
    if (!tm->hosts)
        return;
    host_free(&tm->hosts[0]);
    host_free(&tm->hosts[1]);
    free(tm->hosts);
    tm->hosts = NULL;
}

/* ---- the run and the move ----------------------------------------------- */

struct host *tui_mig_host(struct tui_mig *tm)
{
    return &tm->hosts[tm->phase == TM_MOVED ? 1 : 0];
}

static void sleep_ms(int ms)
{
    struct timespec t = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&t, &t) != 0 && errno == EINTR)
        ;
}

/* migrate_vm's callback: the phase on screen, a pause at each round. */
static void on_progress(void *ctx, const struct mig_report *rep, enum mig_phase phase)
{
    struct tui_mig *tm = ctx;
    (void)rep;                              /* it is tm->rep, filled as it goes */
    if (phase == MIG_PHASE_ROUND)
        tm->rounds_done++;
    if (phase == MIG_PHASE_STOP)
        tm->phase = TM_STOPPED;
    if (tm->redraw)
        tm->redraw(tm->redraw_ctx, phase);
    if (phase != MIG_PHASE_RUN && tm->round_ms)
        sleep_ms(tm->round_ms);
}

void tui_mig_migrate(struct tui_mig *tm)
{
    if (tm->phase != TM_BEFORE)
        return;
    if (tm->hosts[0].vms[0].state != HVM_RUNNABLE && tm->hosts[0].vms[0].state != HVM_PAUSED) {
        snprintf(tm->err, sizeof tm->err, "the VM ended before it could move");
        tm->phase = TM_FAILED;
        return;
    }
    struct mig_options o = tm->cli.o;
    o.progress = on_progress;
    o.progress_ctx = tm;
    tm->phase = TM_PRECOPY;
    tm->printed_before = tm->con[0].total;
    struct mig_link *l = mig_link_local(&tm->hosts[1]);
    if (!l || migrate_vm(&tm->hosts[0], 0, l, &o, &tm->rep, tm->err, sizeof tm->err) != 0) {
        if (!l)
            snprintf(tm->err, sizeof tm->err, "out of memory");
        tm->phase = TM_FAILED;
    } else {
        struct machine *m = &tm->hosts[1].vms[0].vm->m;
        m->out = out_target;
        m->out_ctx = tm;
        tm->phase = TM_MOVED;
    }
    mig_link_close(l);
}

bool tui_mig_step(struct tui_mig *tm)
{
    if (tm->phase == TM_BEFORE) {
        if (mig_cli_source_step(&tm->hosts[0], 0, tm->cli.at))
            return true;
        if (tm->hosts[0].vms[0].state == HVM_RUNNABLE)
            tui_mig_migrate(tm);             /* at --at: the move */
        else
            snprintf(tm->err, sizeof tm->err, "the VM ended before %llu guest instructions",
                     (unsigned long long)tm->cli.at), tm->phase = TM_FAILED;
        return !tui_mig_ended(tm);
    }
    return host_step(tui_mig_host(tm)) >= 0;
}

bool tui_mig_ended(struct tui_mig *tm)
{
    struct host *h = tui_mig_host(tm);
    return h->nvms == 0 || h->vms[0].state == HVM_ENDED;
}

int tui_mig_exit_status(struct tui_mig *tm)
{
    return cmd_run_exit_status(&tui_mig_host(tm)->vms[0].vm->m);
}

int tui_mig_write_json(const struct tui_mig *tm, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "ringside tui --migrate: --stats-json %s: %s\n", path, strerror(errno));
        return -1;
    }
    mig_cli_report(f, true, &tm->rep);
    return fclose(f) == 0 ? 0 : -1;
}
