/*
 * cmd_migrate.c - `ringside migrate [--at N] [link options] KERNEL [run options]`.
 *
 * Two hosts in this process: the kernel boots on the first, and when it
 * has retired N guest instructions it is live-migrated to the second
 * (sim/host/migrate.h, over the second host's control_handle), where it
 * runs to its end. Standard output is the guest's COM1, byte for byte
 * what `ringside run` prints for the kernel; the migration's report goes
 * to standard error (the table of `ringside ctl ... migrate`). Everything
 * is modeled time, so the figures are the same on every run: `make bench`
 * prints them. The exit status is the guest's, as for `ringside run`.
 */
#include "cmd_migrate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_run.h"
#include "ctl_migrate.h"
#include "host/migrate.h"
#include "options.h"
#include "run_vm.h"

static void usage(FILE *f)
{
    fputs("usage: ringside migrate [--at INSNS] [--bandwidth BITS] [--latency US] [--stop-pages N]\n"
          "                        [--max-rounds N] [--json] KERNEL [--mode trap|bt] [run options]\n"
          "  boot KERNEL on one host, live-migrate it to a second host (in this process) after\n"
          "  INSNS guest instructions (default 1000000), run it to its end there; COM1 on stdout,\n"
          "  the pre-copy rounds, downtime and totals on stderr (docs/migration.md)\n", f);
}

static int num(const char *prog, const char *opt, const char *v, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end;
    unsigned long long n = v ? strtoull(v, &end, 10) : 0;
    if (!v || *end || !*v || n < lo || n > hi) {
        fprintf(stderr, "%s: %s %s: expected %llu to %llu\n", prog, opt, v ? v : "",
                (unsigned long long)lo, (unsigned long long)hi);
        return -1;
    }
    *out = n;
    return 0;
}

int mig_cli_take(int *argc, char **argv, struct mig_cli *c, const char *prog)
{
    int n = 0;
    for (int i = 0; i < *argc; i++) {
        const char *a = argv[i], *v = i + 1 < *argc ? argv[i + 1] : NULL;
        uint64_t x;
        if (!strcmp(a, "--json")) {
            c->json = true;
            continue;
        }
        int rc = 1;
        if (!strcmp(a, "--at"))
            rc = num(prog, a, v, 0, UINT64_MAX >> 1, &c->at);
        else if (!strcmp(a, "--bandwidth"))
            rc = num(prog, a, v, 1000, 1000000000000ull, &c->o.bandwidth_bps);
        else if (!strcmp(a, "--latency") && (rc = num(prog, a, v, 0, 10000000, &x)) == 0)
            c->o.latency_us = (uint32_t)x, c->o.latency_given = true;
        else if (!strcmp(a, "--stop-pages") && (rc = num(prog, a, v, 1, 1u << 20, &x)) == 0)
            c->o.stop_pages = (uint32_t)x;
        else if (!strcmp(a, "--max-rounds") && (rc = num(prog, a, v, 1, MIG_MAX_ROUNDS, &x)) == 0)
            c->o.max_rounds = (int)x;
        if (rc < 0)
            return -1;
        if (rc == 0) {
            i++;
            continue;
        }
        argv[n++] = argv[i];
    }
    *argc = n;
    return 0;
}

static void put_stdout(void *ctx, uint8_t byte)
{
    (void)ctx;
    putchar(byte);
}

/* The source runs until the VM has retired `at` guest instructions, in
   slices cut short so the start point is within ~20,000 cycles of it. */
bool mig_cli_source_step(struct host *h, int i, uint64_t at)
{
    if (h->vms[i].state != HVM_RUNNABLE || vm_guest_insns(h->vms[i].vm) >= at)
        return false;
    uint32_t slice = h->cfg.slice_cycles;
    h->cfg.slice_cycles = 20000;
    host_step(h);
    h->cfg.slice_cycles = slice;
    return true;
}

void mig_cli_report(FILE *f, bool json, const struct mig_report *rep)
{
    json_t *j = mig_report_json(rep, MIG_CLI_TARGET);
    if (json) {
        char *s = json_dumps(j, 0);          /* one line, "key": value */
        fprintf(f, "%s\n", s);
        free(s);
    } else {
        ctl_migrate_print(f, j);
    }
    json_decref(j);
}

static int migrate_and_run(struct host *src, struct host *dst, const struct mig_cli *c)
{
    char err[256];
    struct mig_report rep;
    while (mig_cli_source_step(src, 0, c->at))
        ;
    struct host *end = src;
    if (src->vms[0].state != HVM_RUNNABLE) {
        fprintf(stderr, "ringside migrate: the VM ended before %llu guest instructions\n",
                (unsigned long long)c->at);
    } else {
        struct mig_link *l = mig_link_local(dst);
        if (!l || migrate_vm(src, 0, l, &c->o, &rep, err, sizeof err) != 0)
            fprintf(stderr, "ringside migrate: %s; the VM runs on at the source\n",
                    l ? err : "out of memory");
        else
            end = dst;
        mig_link_close(l);
        if (end == dst) {
            mig_cli_report(stderr, c->json, &rep);
            dst->vms[0].vm->m.out = put_stdout;
        }
    }
    while (host_step(end) >= 0)
        ;
    fflush(stdout);
    return cmd_run_exit_status(&end->vms[0].vm->m);
}

int mig_cli_open(struct host hosts[2], struct run_options *o, char *err, size_t errlen)
{
    struct vm_config cfg;
    struct cost_profile prof;
    struct host_config hc = { 0 };
    if (!o->mode_given)
        o->mode = "bt";
    host_init(&hosts[0], &hc);
    host_init(&hosts[1], &hc);
    if (run_vm_config(o, -1, &cfg, &prof, err, errlen) != 0 ||
        host_add_vm(&hosts[0], &cfg, "vm", 1, o->max_insns, err, errlen) < 0) {
        host_free(&hosts[0]);
        host_free(&hosts[1]);
        return -1;
    }
    return 0;
}

int cmd_migrate(int argc, char **argv)
{
    struct mig_cli c = { .at = MIG_CLI_AT_DEFAULT };
    struct run_options o;
    char err[256];
    if (argc == 1 && (!strcmp(argv[0], "-h") || !strcmp(argv[0], "--help"))) {
        usage(stdout);
        return EXIT_OK;
    }
    if (mig_cli_take(&argc, argv, &c, "ringside migrate") != 0)
        return EXIT_BAD_INPUT;
    int rc = options_parse_run(argc, argv, &o);
    if (rc != 0)
        return rc > 0 ? EXIT_OK : EXIT_BAD_INPUT;
    struct host *src = calloc(2, sizeof *src), *dst = src + 1;
    if (!src)
        return EXIT_INTERNAL;
    if (mig_cli_open(src, &o, err, sizeof err) != 0) {
        fprintf(stderr, "ringside migrate: %s\n", err);
        free(src);
        return EXIT_BAD_INPUT;
    }
    src->vms[0].vm->m.out = put_stdout;
    rc = migrate_and_run(src, dst, &c);
    host_free(src);
    host_free(dst);
    free(src);
    return rc;
}
