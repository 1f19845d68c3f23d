/*
 * cmd_host.c - `ringside host [options] --vm "KERNEL [vm options]" ...`.
 *
 * Several VMs on one simulated computer (sim/host/host.h). Each --vm takes
 * a kernel and the options of `ringside run` that describe a VM (--mode,
 * --mem, --append, --module, --tc-*, --max-insns), plus --shares N and
 * --name X. Every VM's COM1 goes to standard output as lines prefixed
 * "[name] ", or with --console-dir DIR to DIR/NAME.out, byte for byte what
 * the same kernel prints alone under `ringside run`. The exit status is 0
 * when every VM's guest exited with status 1 (success), otherwise the first
 * failing VM's `ringside run` status.
 */
#include "cmd_host.h"
#include "host_config.h"
#include "words.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_run.h"
#include "host/ctlsock.h"
#include "host/host.h"
#include "host/ctlclient.h"
#include "host/migrate.h"
#include "options.h"
#include "run_vm.h"

#define HOST_ARGS 64

/* Where one VM's console goes. */
struct console {
    char name[32];
    FILE *file;                 /* --console-dir, else NULL: prefixed lines on stdout */
    char line[512];
    size_t len;
};

#define HOST_CONSOLES (4 * HOST_MAX_VMS)   /* VMs come and go under --control */

struct host_cli {
    struct host host;
    struct console cons[HOST_CONSOLES];
    int ncons;                      /* consoles handed out */
    char *vm_args[HOST_MAX_VMS];    /* the --vm strings, split in place */
    int nvm;
    const char *console_dir;
    const char *stats_json;
    const char *control;            /* --control ADDR: serve the management protocol */
    const char *token_file;
    bool listen_any;
    bool verbose;
    struct host_file file;          /* --config: owns the VM strings it adds */
    const char *replicate_to;       /* --replicate-to ADDR: checkpoints to a standby */
    uint64_t every;                 /* --every N guest instructions (per VM) */
    struct mig_link *standby;
    struct mig_ckpt ckpt[256];      /* by VM id */
    uint64_t next_ckpt[256];
};

static void usage(FILE *f)
{
    fputs("usage: ringside host [--hypervisor type1|type2] [--slice CYCLES] [--switch-cost CYCLES]\n"
          "                     [--mem MIB] [--page-sharing on|off] [--share-pages N]\n"
          "                     [--share-period CYCLES] [--console-dir DIR] [--stats-json FILE] [--config HOST.json] [-v]\n"
          "                     [--control SOCKET|127.0.0.1:PORT [--token-file F] [--listen-any]\n"
          "                      [--replicate-to ADDR --every INSNS]]\n"
          "                     --vm \"KERNEL [--mode trap|bt] [--mem MIB] [--shares N] [--name X]\n"
          "                           [--append S] [--max-insns N] [--tc-size KIB] ...\" ...\n"
          "  several VMs on one host, scheduled by proportional shares (docs/host.md);\n"
          "  exit status 0 when every guest exited successfully, else the first failing\n"
          "  VM's ringside run status\n", f);
}

static void console_flush_line(struct console *c)
{
    printf("[%s] %.*s\n", c->name, (int)c->len, c->line);
    c->len = 0;
}

static void console_put(void *ctx, uint8_t byte)
{
    struct console *c = ctx;
    if (c->file) {
        fputc(byte, c->file);
        return;
    }
    if (byte == '\n') {
        console_flush_line(c);
        return;
    }
    if (c->len == sizeof c->line)
        console_flush_line(c);
    c->line[c->len++] = (char)byte;
}

/* --shares and --name are the host's; the rest are `run` options. */
static int take_host_opts(int *argc, char **argv, uint32_t *shares, const char **name)
{
    int n = 0;
    for (int i = 0; i < *argc; i++) {
        bool s = !strcmp(argv[i], "--shares"), nm = !strcmp(argv[i], "--name");
        if ((s || nm) && i + 1 < *argc) {
            char *end;
            if (s) {
                unsigned long v = strtoul(argv[++i], &end, 10);
                if (*end || v < 1 || v > 1000000) {
                    fprintf(stderr, "ringside host: --shares %s: expected 1 to 1000000\n", argv[i]);
                    return -1;
                }
                *shares = (uint32_t)v;
            } else {
                *name = argv[++i];
            }
            continue;
        }
        argv[n++] = argv[i];
    }
    *argc = n;
    return 0;
}

static const char *default_name(const char *kernel, char *buf, size_t len, int index)
{
    const char *base = strrchr(kernel, '/');
    base = base ? base + 1 : kernel;
    snprintf(buf, len, "%.*s%d", (int)strcspn(base, "."), base, index);
    return buf;
}

/* mode "wb" for a --vm, "ab" for a VM that arrived over the protocol (one
   migrated away and back again goes on in the same file). */
static int open_console(struct host_cli *cli, const char *name, const char *mode)
{
    struct console *c = &cli->cons[cli->ncons++];
    snprintf(c->name, sizeof c->name, "%s", name);
    if (!cli->console_dir)
        return 0;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.out", cli->console_dir, name);
    c->file = fopen(path, mode);
    if (!c->file) {
        fprintf(stderr, "ringside host: %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int add_vm(struct host_cli *cli, char *spec, int index)
{
    char *argv[HOST_ARGS], namebuf[32], err[256];
    int argc = words_split(spec, argv, HOST_ARGS);
    uint32_t shares = 1;
    const char *name = NULL;
    struct run_options o;
    if (argc <= 0) {
        fprintf(stderr, "ringside host: --vm needs a kernel (and may take run options)\n");
        return -1;
    }
    if (take_host_opts(&argc, argv, &shares, &name) || options_parse_run(argc, argv, &o))
        return -1;
    if (!o.mode_given)
        o.mode = "bt";
    if (!name)
        name = default_name(o.kernel, namebuf, sizeof namebuf, index);
    struct vm_config cfg;
    struct cost_profile prof;
    if (run_vm_config(&o, -1, &cfg, &prof, err, sizeof err) != 0 ||
        host_add_vm(&cli->host, &cfg, name, shares, o.max_insns, err, sizeof err) < 0) {
        fprintf(stderr, "ringside host: %s\n", err);
        return -1;
    }
    if (open_console(cli, name, "wb") != 0)
        return -1;
    struct machine *m = &cli->host.vms[index].vm->m;
    m->out = console_put;
    m->out_ctx = &cli->cons[cli->ncons - 1];
    return 0;
}

/* --config FILE: the host and its VMs from JSON (host_config.c), as if
   given on the command line at that point. */
static int read_config(struct host_cli *cli, const char *path, struct host_config *hc)
{
    char err[512];
    if (cli->file.nvm || host_config_read(path, &cli->file, err, sizeof err)) {
        fprintf(stderr, "ringside host: --config %s\n", cli->file.nvm ? "given twice" : err);
        return -1;
    }
    if (cli->file.type)
        hc->type = cli->file.type == 1 ? HOST_TYPE1 : HOST_TYPE2;
    if (cli->file.slice)
        hc->slice_cycles = cli->file.slice;
    if (cli->file.switch_cost)
        hc->switch_cycles = cli->file.switch_cost;
    if (cli->file.mem)
        hc->mem_mib = cli->file.mem;
    if (cli->file.share_pages)
        hc->share_pages = cli->file.share_pages;
    if (cli->file.share_period)
        hc->share_period = cli->file.share_period;
    if (cli->file.page_sharing >= 0)
        hc->no_page_sharing = !cli->file.page_sharing;
    for (int i = 0; i < cli->file.nvm && cli->nvm < HOST_MAX_VMS; i++)
        cli->vm_args[cli->nvm++] = cli->file.vm_specs[i];
    return 0;
}

/* A number option in [lo, hi]; false (and a message) otherwise. */
static bool host_number(const char *opt, const char *v, unsigned long lo, unsigned long hi,
                        uint32_t *out)
{
    char *end;
    unsigned long n = strtoul(v, &end, 10);
    if (*end || *v == '-' || n < lo || n > hi) {
        fprintf(stderr, "ringside host: %s %s: expected %lu to %lu\n", opt, v, lo, hi);
        return false;
    }
    *out = (uint32_t)n;
    return true;
}

/* Machine memory and page sharing (docs/host.md). 1 taken, 0 not this
   option, -1 a bad value. */
static int parse_memory_opt(const char *a, const char *v, struct host_config *hc)
{
    if (!strcmp(a, "--mem"))
        return host_number(a, v, 8, HOST_MEM_MAX, &hc->mem_mib) ? 1 : -1;
    if (!strcmp(a, "--share-pages"))
        return host_number(a, v, 1, 1000000, &hc->share_pages) ? 1 : -1;
    if (!strcmp(a, "--share-period"))
        return host_number(a, v, 1000, 1000000000, &hc->share_period) ? 1 : -1;
    if (strcmp(a, "--page-sharing"))
        return 0;
    if (strcmp(v, "on") && strcmp(v, "off")) {
        fprintf(stderr, "ringside host: --page-sharing %s: expected on or off\n", v);
        return -1;
    }
    hc->no_page_sharing = !strcmp(v, "off");
    return 1;
}

static int parse(struct host_cli *cli, int argc, char **argv, struct host_config *hc)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 1;
        }
        if (!strcmp(a, "-v") || !strcmp(a, "--listen-any")) {
            *(a[1] == 'v' ? &cli->verbose : &cli->listen_any) = true;
            continue;
        }
        if (!v) {
            fprintf(stderr, "ringside host: unknown option or missing value: %s\n", a);
            return -1;
        }
        i++;
        int mem = parse_memory_opt(a, v, hc);
        if (mem < 0)
            return -1;
        if (mem > 0)
            continue;
        if (!strcmp(a, "--vm") && cli->nvm < HOST_MAX_VMS)
            cli->vm_args[cli->nvm++] = argv[i];
        else if (!strcmp(a, "--hypervisor") && (!strcmp(v, "type1") || !strcmp(v, "type2")))
            hc->type = v[4] == '1' ? HOST_TYPE1 : HOST_TYPE2;
        else if (!strcmp(a, "--slice") || !strcmp(a, "--switch-cost")) {
            char *end;
            unsigned long n = strtoul(v, &end, 10);
            if (*end || n < 1000 || n > 100000000) {
                fprintf(stderr, "ringside host: %s %s: expected 1000 to 100000000 cycles\n", a, v);
                return -1;
            }
            *(a[2] == 's' && a[3] == 'l' ? &hc->slice_cycles : &hc->switch_cycles) = (uint32_t)n;
        } else if (!strcmp(a, "--config")) {
            if (read_config(cli, v, hc))
                return -1;
        } else if (!strcmp(a, "--console-dir"))
            cli->console_dir = v;
        else if (!strcmp(a, "--stats-json"))
            cli->stats_json = v;
        else if (!strcmp(a, "--control"))
            cli->control = v;
        else if (!strcmp(a, "--token-file"))
            cli->token_file = v;
        else if (!strcmp(a, "--replicate-to"))
            cli->replicate_to = v;
        else if (!strcmp(a, "--every")) {
            char *end;
            cli->every = strtoull(v, &end, 10);
            if (*end || cli->every < 1000 || cli->every > (UINT64_MAX >> 2)) {
                fprintf(stderr, "ringside host: --every %s: expected at least 1000 guest instructions\n", v);
                return -1;
            }
        }
        else {
            fprintf(stderr, "ringside host: bad option %s %s (see ringside host --help)\n", a, v);
            return -1;
        }
    }
    if (cli->replicate_to && (!cli->control || !cli->every)) {
        fprintf(stderr, "ringside host: --replicate-to needs --control and --every N\n");
        return -1;
    }
    if (cli->nvm == 0 && !cli->control) {
        fprintf(stderr, "ringside host: no --vm given (see ringside host --help)\n");
        return -1;
    }
    return 0;
}

/* 0 when every guest exited with status 1, else the first failing status. */
static int host_status(const struct host *h)
{
    for (int i = 0; i < h->nvms; i++) {
        int st = cmd_run_exit_status(&h->vms[i].vm->m);
        if (st != 1)
            return st;
    }
    return 0;
}

static void report(FILE *f, const struct host *h)
{
    struct host_mem_report mr;
    host_mem_report(h, &mr);
    fprintf(f, "ringside host: %d VMs, type %d, %" PRIu64 " host cycles, %" PRIu64
            " VM switches (%" PRIu64 " cycles)\n", h->nvms, h->cfg.type, h->host_cycles,
            h->switches, h->switch_cycles_total);
    fprintf(f, "  machine memory: %u of %u frames used (peak %u), %u shared frames back %u "
            "guest pages: %u frames saved\n", mr.used, mr.frames, mr.peak, mr.shared_frames,
            mr.shared_pages, mr.saved);
    for (int i = 0; i < h->nvms; i++) {
        const struct host_vm *hv = &h->vms[i];
        const struct machine *m = &hv->vm->m;
        fprintf(f, "  %-12s %-5s shares %-6u cpu %5.1f%%  guest insns %-10" PRIu64
                " pages %u (%u shared)  status %d: %s\n", hv->name, machine_mode_name(m->mode),
                hv->shares, 100.0 * host_cpu_share(h, i), cpu_guest_insns(&m->cpu),
                host_vm_mapped_pages(h, i), m->pm.shared_now, cmd_run_exit_status(m), m->end_msg);
    }
}

/* With --replicate-to, each VM's checkpoints: how many, and the pages and
   bytes they put on the wire (the overhead of disaster recovery). */
static void write_ckpt_stats(FILE *f, const struct host_cli *cli, const struct host_vm *hv)
{
    if (!cli->every)
        return;
    const struct mig_ckpt *ck = &cli->ckpt[hv->id];
    fprintf(f, ", \"checkpoints\": %" PRIu64 ", \"checkpoint_pages\": %" PRIu64
            ", \"checkpoint_bytes\": %" PRIu64 ", \"checkpoint_insns\": %" PRIu64, ck->count,
            ck->pages, ck->bytes, ck->guest_insns);
}

static int write_stats(const char *path, const struct host_cli *cli)
{
    const struct host *h = &cli->host;
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "ringside host: --stats-json %s: %s\n", path, strerror(errno));
        return -1;
    }
    struct host_mem_report mr;
    host_mem_report(h, &mr);
    fprintf(f, "{\n  \"host\": {\"type\": %d, \"vms\": %d, \"host_cycles\": %" PRIu64
            ", \"switches\": %" PRIu64 ", \"switch_cycles\": %" PRIu64 ",\n    \"memory\": "
            "{\"frames\": %u, \"used\": %u, \"free\": %u, \"peak\": %u, \"shared_frames\": %u, "
            "\"shared_pages\": %u, \"saved_frames\": %u, \"pages_scanned\": %" PRIu64
            ", \"pages_merged\": %" PRIu64 "}},\n  \"vms\": [\n",
            h->cfg.type, h->nvms, h->host_cycles, h->switches, h->switch_cycles_total, mr.frames,
            mr.used, mr.free, mr.peak, mr.shared_frames, mr.shared_pages, mr.saved, mr.scanned,
            mr.merged);
    for (int i = 0; i < h->nvms; i++) {
        const struct host_vm *hv = &h->vms[i];
        const struct machine *m = &hv->vm->m;
        fprintf(f, "    {\"name\": \"%s\", \"mode\": \"%s\", \"shares\": %u, \"cpu_share\": %.4f, "
                "\"busy_cycles\": %" PRIu64 ", \"cycles\": %" PRIu64 ", \"guest_insns\": %" PRIu64
                ", \"overhead_cycles\": %" PRId64 ", \"exit_status\": %d, \"ended_at\": %" PRIu64
                ", \"pages_mapped\": %u, \"pages_shared\": %u, \"pages_merged\": %" PRIu64
                ", \"cow_breaks\": %" PRIu64, hv->name,
                machine_mode_name(m->mode), hv->shares, host_cpu_share(h, i), hv->busy_cycles,
                m->cpu.cycles, cpu_guest_insns(&m->cpu), m->stats.overhead_cycles,
                cmd_run_exit_status(m), hv->ended_at, host_vm_mapped_pages(h, i),
                m->pm.shared_now, m->pm.merged, m->pm.cow_breaks);
        write_ckpt_stats(f, cli, hv);
        fprintf(f, "}%s\n", i + 1 < h->nvms ? "," : "");
    }
    fputs("  ]\n}\n", f);
    return fclose(f) == 0 ? 0 : -1;
}

/* VMs created (or migrated in) over the protocol print like the others:
   prefixed lines, or DIR/NAME.out with --console-dir. */
static void attach_new_consoles(struct host_cli *cli)
{
    for (int i = 0; i < cli->host.nvms; i++) {
        struct machine *m = &cli->host.vms[i].vm->m;
        if (m->out || cli->ncons == HOST_CONSOLES)
            continue;
        open_console(cli, cli->host.vms[i].name, "ab");   /* unwritable: prefixed lines */
        m->out = console_put;
        m->out_ctx = &cli->cons[cli->ncons - 1];
    }
}

/* --replicate-to: a checkpoint of every running VM each --every guest
   instructions (docs/migration.md, disaster recovery). A standby that
   cannot be reached or fails ends replication, not the VMs. */
static void replicate(struct host_cli *cli)
{
    char err[256], tok[128];
    if (!cli->replicate_to)
        return;
    if (!cli->standby) {
        bool have_tok = cli->token_file && ctlc_read_token(cli->token_file, tok, sizeof tok) == 0;
        cli->standby = mig_link_connect(cli->replicate_to, have_tok ? tok : NULL, err, sizeof err);
        if (!cli->standby) {
            fprintf(stderr, "ringside host: --replicate-to %s: %s; not replicating\n",
                    cli->replicate_to, err);
            cli->replicate_to = NULL;
            return;
        }
    }
    for (int i = 0; i < cli->host.nvms; i++) {
        struct host_vm *hv = &cli->host.vms[i];
        if (hv->state != HVM_RUNNABLE || vm_guest_insns(hv->vm) < cli->next_ckpt[hv->id])
            continue;
        if (migrate_checkpoint(&cli->host, i, cli->standby, &cli->ckpt[hv->id], err, sizeof err) != 0) {
            fprintf(stderr, "ringside host: checkpoint of %s to %s: %s; not replicating\n",
                    hv->name, cli->replicate_to, err);
            mig_link_close(cli->standby);
            cli->standby = NULL;
            cli->replicate_to = NULL;
            return;
        }
        cli->next_ckpt[hv->id] = vm_guest_insns(hv->vm) + cli->every;
    }
}

/* --control: run the VMs and answer the protocol until a client says quit. */
static int serve(struct host_cli *cli)
{
    struct ctl_server *s = calloc(1, sizeof *s);
    char err[300];
    if (!s)
        return EXIT_INTERNAL;
    if (ctl_listen(s, &cli->host, cli->control, cli->token_file, cli->listen_any,
                   err, sizeof err) != 0) {
        fprintf(stderr, "ringside host: %s\n", err);
        free(s);
        return EXIT_BAD_INPUT;
    }
    fprintf(stderr, "ringside host: control on %s\n", cli->control);
    while (!s->quit) {
        bool busy = false;
        for (int k = 0; k < 8 && host_step(&cli->host) >= 0; k++)
            busy = true;
        fflush(NULL);                       /* stdout and the console files */
        replicate(cli);                     /* after the flush: the output so far is out */
        ctl_poll(s, busy ? 0 : 50);
        attach_new_consoles(cli);
    }
    mig_link_close(cli->standby);
    for (int i = 0; i < 256; i++)
        migrate_checkpoint_free(&cli->ckpt[i]);
    ctl_close(s);
    free(s);
    return 0;
}

static void close_consoles(struct host_cli *cli)
{
    for (int i = 0; i < cli->ncons; i++) {
        struct console *c = &cli->cons[i];
        if (c->file)
            fclose(c->file);
        else if (c->len)
            console_flush_line(c);      /* a last line without its newline */
        c->file = NULL;
    }
}

int cmd_host(int argc, char **argv)
{
    struct host_cli *cli = calloc(1, sizeof *cli);
    struct host_config hc = { .type = HOST_TYPE1 };
    if (!cli)
        return EXIT_INTERNAL;
    int rc = parse(cli, argc, argv, &hc);
    if (rc != 0) {
        host_config_free(&cli->file);
        free(cli);
        return rc > 0 ? EXIT_OK : EXIT_BAD_INPUT;
    }
    host_init(&cli->host, &hc);
    for (int i = 0; i < cli->nvm && rc == 0; i++)
        rc = add_vm(cli, cli->vm_args[i], i);
    if (rc == 0) {
        if (cli->control)
            rc = serve(cli);
        else
            while (host_step(&cli->host) >= 0)
                ;
        close_consoles(cli);
        fflush(stdout);
        if (cli->verbose)
            report(stderr, &cli->host);
        rc = rc ? rc : host_status(&cli->host);
        if (cli->stats_json && write_stats(cli->stats_json, cli) != 0)
            rc = EXIT_BAD_INPUT;
    } else {
        close_consoles(cli);
        rc = EXIT_BAD_INPUT;
    }
    host_free(&cli->host);
    host_config_free(&cli->file);
    free(cli);
    return rc;
}
