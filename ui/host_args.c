/*
 * host_args.c - a host described on the command line (host_args.h): the
 * options `ringside host` and `ringside tui --host` share, the VMs they
 * add, and how a host's run is reported.
 */
#include "host_args.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_run.h"
#include "options.h"
#include "run_vm.h"
#include "words.h"

#define HOST_ARGS 64

void host_args_init(struct host_args *ha)
{
    memset(ha, 0, sizeof *ha);
    ha->hc.type = HOST_TYPE1;
}

void host_args_free(struct host_args *ha)
{
    host_config_free(&ha->file);
}

/* A number option in [lo, hi]; false (and a message) otherwise. */
static bool host_number(const char *prog, const char *opt, const char *v, unsigned long lo,
                        unsigned long hi, uint32_t *out)
{
    char *end;
    unsigned long n = strtoul(v, &end, 10);
    if (*end || *v == '-' || n < lo || n > hi) {
        fprintf(stderr, "%s: %s %s: expected %lu to %lu\n", prog, opt, v, lo, hi);
        return false;
    }
    *out = (uint32_t)n;
    return true;
}

/* Machine memory and page sharing (docs/host.md). */
static int take_memory_opt(struct host_config *hc, const char *prog, const char *a, const char *v)
{
    if (!strcmp(a, "--mem"))
        return host_number(prog, a, v, 8, HOST_MEM_MAX, &hc->mem_mib) ? 1 : -1;
    if (!strcmp(a, "--share-pages"))
        return host_number(prog, a, v, 1, 1000000, &hc->share_pages) ? 1 : -1;
    if (!strcmp(a, "--share-period"))
        return host_number(prog, a, v, 1000, 1000000000, &hc->share_period) ? 1 : -1;
    if (strcmp(a, "--page-sharing"))
        return 0;
    if (strcmp(v, "on") && strcmp(v, "off")) {
        fprintf(stderr, "%s: --page-sharing %s: expected on or off\n", prog, v);
        return -1;
    }
    hc->no_page_sharing = !strcmp(v, "off");
    return 1;
}

/* --config FILE: the host and its VMs from JSON (host_config.c), as if
   given on the command line at that point. */
static int read_config(struct host_args *ha, const char *prog, const char *path)
{
    char err[512];
    struct host_config *hc = &ha->hc;
    if (ha->file.nvm || host_config_read(path, &ha->file, err, sizeof err)) {
        fprintf(stderr, "%s: --config %s\n", prog, ha->file.nvm ? "given twice" : err);
        return -1;
    }
    if (ha->file.type)
        hc->type = ha->file.type == 1 ? HOST_TYPE1 : HOST_TYPE2;
    if (ha->file.slice)
        hc->slice_cycles = ha->file.slice;
    if (ha->file.switch_cost)
        hc->switch_cycles = ha->file.switch_cost;
    if (ha->file.mem)
        hc->mem_mib = ha->file.mem;
    if (ha->file.share_pages)
        hc->share_pages = ha->file.share_pages;
    if (ha->file.share_period)
        hc->share_period = ha->file.share_period;
    if (ha->file.page_sharing >= 0)
        hc->no_page_sharing = !ha->file.page_sharing;
    for (int i = 0; i < ha->file.nvm && ha->nvm < HOST_MAX_VMS; i++)
        ha->vm_args[ha->nvm++] = ha->file.vm_specs[i];
    return 0;
}

int host_args_take(struct host_args *ha, const char *prog, const char *a, const char *v)
{
    struct host_config *hc = &ha->hc;
    bool ours = !strcmp(a, "--vm") || !strcmp(a, "--hypervisor") || !strcmp(a, "--slice") ||
                !strcmp(a, "--switch-cost") || !strcmp(a, "--config") || !strcmp(a, "--mem") ||
                !strcmp(a, "--share-pages") || !strcmp(a, "--share-period") ||
                !strcmp(a, "--page-sharing");
    if (!ours)
        return 0;
    if (!v) {
        fprintf(stderr, "%s: %s needs a value\n", prog, a);
        return -1;
    }
    int mem = take_memory_opt(hc, prog, a, v);
    if (mem)
        return mem;
    if (!strcmp(a, "--vm")) {
        if (ha->nvm == HOST_MAX_VMS) {
            fprintf(stderr, "%s: a host runs at most %d VMs\n", prog, HOST_MAX_VMS);
            return -1;
        }
        ha->vm_args[ha->nvm++] = (char *)v;
    } else if (!strcmp(a, "--hypervisor")) {
        if (strcmp(v, "type1") && strcmp(v, "type2")) {
            fprintf(stderr, "%s: --hypervisor %s: expected type1 or type2\n", prog, v);
            return -1;
        }
        hc->type = v[4] == '1' ? HOST_TYPE1 : HOST_TYPE2;
    } else if (!strcmp(a, "--config")) {
        return read_config(ha, prog, v) ? -1 : 1;
    } else {
        uint32_t *out = !strcmp(a, "--slice") ? &hc->slice_cycles : &hc->switch_cycles;
        if (!host_number(prog, a, v, 1000, 100000000, out))
            return -1;
    }
    return 1;
}

/* --shares and --name are the host's; the rest are `run` options. */
static int take_vm_opts(int *argc, char **argv, uint32_t *shares, const char **name,
                        char *err, size_t errlen)
{
    int n = 0;
    for (int i = 0; i < *argc; i++) {
        bool s = !strcmp(argv[i], "--shares"), nm = !strcmp(argv[i], "--name");
        if ((s || nm) && i + 1 < *argc) {
            char *end;
            if (s) {
                unsigned long v = strtoul(argv[++i], &end, 10);
                if (*end || v < 1 || v > 1000000) {
                    snprintf(err, errlen, "--shares %s: expected 1 to 1000000", argv[i]);
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

int host_args_add_vm(struct host *h, char *spec, int index, char *err, size_t errlen)
{
    char *argv[HOST_ARGS], namebuf[32];
    int argc = words_split(spec, argv, HOST_ARGS);
    uint32_t shares = 1;
    const char *name = NULL;
    struct run_options o;
    if (argc <= 0) {
        snprintf(err, errlen, "--vm needs a kernel (and may take run options)");
        return -1;
    }
    if (take_vm_opts(&argc, argv, &shares, &name, err, errlen))
        return -1;
    if (options_parse_run(argc, argv, &o)) {       /* it has said why on stderr */
        err[0] = 0;
        return -1;
    }
    if (!o.mode_given)
        o.mode = "bt";
    if (!name)
        name = default_name(o.kernel, namebuf, sizeof namebuf, index);
    struct vm_config cfg;
    struct cost_profile prof;
    if (run_vm_config(&o, -1, &cfg, &prof, err, errlen) != 0)
        return -1;
    return host_add_vm(h, &cfg, name, shares, o.max_insns, err, errlen);
}

int host_exit_status(const struct host *h)
{
    for (int i = 0; i < h->nvms; i++) {
        int st = cmd_run_exit_status(&h->vms[i].vm->m);
        if (st != 1)
            return st;
    }
    return 0;
}

void host_report(FILE *f, const struct host *h)
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

int host_write_stats(const char *path, const struct host *h, host_vm_json_fn extra,
                     const void *ctx)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "ringside: --stats-json %s: %s\n", path, strerror(errno));
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
        if (extra)
            extra(f, ctx, i);
        fprintf(f, "}%s\n", i + 1 < h->nvms ? "," : "");
    }
    fputs("  ]\n}\n", f);
    return fclose(f) == 0 ? 0 : -1;
}
