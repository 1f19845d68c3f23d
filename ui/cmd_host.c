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
#include "host_args.h"

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
    struct host_args args;          /* the host and its --vm strings */
    const char *console_dir;
    const char *stats_json;
    const char *control;            /* --control ADDR: serve the management protocol */
    const char *token_file;
    bool listen_any;
    bool verbose;
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
    char err[256];
    if (host_args_add_vm(&cli->host, spec, index, err, sizeof err) < 0) {
        if (err[0])
            fprintf(stderr, "ringside host: %s\n", err);
        return -1;
    }
    if (open_console(cli, cli->host.vms[index].name, "wb") != 0)
        return -1;
    struct machine *m = &cli->host.vms[index].vm->m;
    m->out = console_put;
    m->out_ctx = &cli->cons[cli->ncons - 1];
    return 0;
}

static int parse(struct host_cli *cli, int argc, char **argv)
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
        int taken = host_args_take(&cli->args, "ringside host", a, v);
        if (taken < 0)
            return -1;
        if (!v) {
            fprintf(stderr, "ringside host: unknown option or missing value: %s\n", a);
            return -1;
        }
        i++;
        if (taken)
            continue;
        if (!strcmp(a, "--console-dir"))
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
    if (cli->args.nvm == 0 && !cli->control) {
        fprintf(stderr, "ringside host: no --vm given (see ringside host --help)\n");
        return -1;
    }
    return 0;
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

/* With --replicate-to, each VM's checkpoints: how many, and the pages and
   bytes they put on the wire (the overhead of disaster recovery). */
static void checkpoint_json(FILE *f, const void *ctx, int i)
{
    const struct host_cli *cli = ctx;
    if (!cli->every)
        return;
    const struct mig_ckpt *ck = &cli->ckpt[cli->host.vms[i].id];
    fprintf(f, ", \"checkpoints\": %" PRIu64 ", \"checkpoint_pages\": %" PRIu64
            ", \"checkpoint_bytes\": %" PRIu64 ", \"checkpoint_insns\": %" PRIu64, ck->count,
            ck->pages, ck->bytes, ck->guest_insns);
}

int cmd_host(int argc, char **argv)
{
    struct host_cli *cli = calloc(1, sizeof *cli);
    if (!cli)
        return EXIT_INTERNAL;
    host_args_init(&cli->args);
    int rc = parse(cli, argc, argv);
    if (rc != 0) {
        host_args_free(&cli->args);
        free(cli);
        return rc > 0 ? EXIT_OK : EXIT_BAD_INPUT;
    }
    host_init(&cli->host, &cli->args.hc);
    for (int i = 0; i < cli->args.nvm && rc == 0; i++)
        rc = add_vm(cli, cli->args.vm_args[i], i);
    if (rc == 0) {
        if (cli->control)
            rc = serve(cli);
        else
            while (host_step(&cli->host) >= 0)
                ;
        close_consoles(cli);
        fflush(stdout);
        if (cli->verbose)
            host_report(stderr, &cli->host);
        rc = rc ? rc : host_exit_status(&cli->host);
        if (cli->stats_json && host_write_stats(cli->stats_json, &cli->host, checkpoint_json, cli))
            rc = EXIT_BAD_INPUT;
    } else {
        close_consoles(cli);
        rc = EXIT_BAD_INPUT;
    }
    host_free(&cli->host);
    host_args_free(&cli->args);
    free(cli);
    return rc;
}
