/*
 * host.c - the hypervisor's VM list and its proportional-share scheduler.
 *
 * Stride scheduling (Waldspurger & Weihl 1995): every VM has a pass value;
 * the runnable VM with the smallest pass runs for one slice, then its pass
 * grows by the cycles it used, scaled by 2^16 / shares. Over a long run each
 * VM's CPU time is proportional to its shares (tested within 2 %). Ties go
 * to the lower index, so the order is deterministic. A VM that is halted
 * waiting for its timer uses no CPU: machine_run skips its idle time, which
 * advances only that VM's clock.
 */
#include "host/host.h"
#include "mem/share.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PASS_SCALE 65536u

void host_init(struct host *h, const struct host_config *cfg)
{
    memset(h, 0, sizeof *h);
    h->cfg = *cfg;
    if (!h->cfg.type)
        h->cfg.type = HOST_TYPE1;
    if (!h->cfg.slice_cycles)
        h->cfg.slice_cycles = HOST_SLICE_DEFAULT;
    if (!h->cfg.switch_cycles)
        h->cfg.switch_cycles = HOST_SWITCH_DEFAULT;
    if (!h->cfg.mem_mib)
        h->cfg.mem_mib = HOST_MEM_DEFAULT;
    if (!h->cfg.share_pages)
        h->cfg.share_pages = HOST_SHARE_PAGES_DEFAULT;
    if (!h->cfg.share_period)
        h->cfg.share_period = h->cfg.slice_cycles;
    h->current = -1;
}

/* Machine memory, made when the first VM needs it. */
static int host_memory(struct host *h, char *err, size_t errlen)
{
    if (h->mem.nframes)
        return 0;
    if (frames_init(&h->mem, h->cfg.mem_mib << 8, err, errlen) != 0)
        return -1;
    if (!h->cfg.no_page_sharing && share_init(&h->mem) != 0) {
        frames_free(&h->mem);
        snprintf(err, errlen, "out of memory for the page-sharing table");
        return -1;
    }
    h->next_scan = h->host_cycles + h->cfg.share_period;
    return 0;
}

void host_free(struct host *h)
{
    for (int i = 0; i < h->nvms; i++) {
        vm_destroy(h->vms[i].vm);
        free(h->vms[i].staged);
    }
    h->nvms = 0;
    if (h->mem.nframes) {
        share_free(&h->mem);
        frames_free(&h->mem);
    }
}

/* A new VM starts level with the least-advanced one, so it neither starves
   the others nor is starved by their past. */
static uint64_t min_pass(const struct host *h)
{
    uint64_t p = UINT64_MAX;
    for (int i = 0; i < h->nvms; i++)
        if (h->vms[i].state == HVM_RUNNABLE && h->vms[i].pass < p)
            p = h->vms[i].pass;
    return p == UINT64_MAX ? 0 : p;
}

int host_add_vm(struct host *h, const struct vm_config *cfg, const char *name,
                uint32_t shares, uint64_t max_insns, char *err, size_t errlen)
{
    if (h->nvms >= HOST_MAX_VMS) {
        snprintf(err, errlen, "a host runs at most %d VMs", HOST_MAX_VMS);
        return -1;
    }
    if (cfg->mode == MODE_NATIVE) {
        snprintf(err, errlen, "VM %s: --mode native means no hypervisor; a host's VMs run "
                 "under trap or bt", name);
        return -1;
    }
    if (host_find(h, name) >= 0) {
        snprintf(err, errlen, "two VMs are named %s", name);
        return -1;
    }
    if (host_memory(h, err, errlen) != 0)
        return -1;
    struct vm_config c = *cfg;
    c.id = (uint8_t)h->next_id;
    c.name = name;
    c.machine_memory = &h->mem;
    struct vm *vm = vm_create(&c, err, errlen);
    if (!vm)
        return -1;
    if (h->cfg.type == HOST_TYPE2)
        vmm_set_hosted(vm->m.vmm, true);
    struct host_vm *hv = &h->vms[h->nvms];
    *hv = (struct host_vm){ .vm = vm, .id = (uint8_t)h->next_id++, .shares = shares ? shares : 1,
                            .max_insns = max_insns, .pass = min_pass(h), .mode = cfg->mode,
                            .mem_mib = cfg->mem_mib };
    snprintf(hv->name, sizeof hv->name, "%s", name);
    snprintf(hv->kernel, sizeof hv->kernel, "%s", cfg->kernel_path ? cfg->kernel_path : "");
    snprintf(hv->cmdline, sizeof hv->cmdline, "%s", cfg->cmdline ? cfg->cmdline : "");
    return h->nvms++;
}

int host_reset(struct host *h, int i, char *err, size_t errlen)
{
    struct host_vm *hv = &h->vms[i];
    struct vm_config c = { .kernel_path = hv->kernel, .cmdline = hv->cmdline, .mode = hv->mode,
                           .mem_mib = hv->mem_mib, .id = hv->id, .name = hv->name,
                           .machine_memory = &h->mem };
    struct vm *vm = vm_create(&c, err, errlen);
    if (!vm)
        return -1;
    if (h->cfg.type == HOST_TYPE2)
        vmm_set_hosted(vm->m.vmm, true);
    vm->m.out = hv->vm->m.out;             /* the same console */
    vm->m.out_ctx = hv->vm->m.out_ctx;
    vm_destroy(hv->vm);
    hv->vm = vm;
    hv->state = HVM_RUNNABLE;
    hv->pass = min_pass(h);
    return 0;
}

int host_by_id(const struct host *h, uint8_t id)
{
    for (int i = 0; i < h->nvms; i++)
        if (h->vms[i].id == id)
            return i;
    return -1;
}

int host_find(const struct host *h, const char *name)
{
    for (int i = 0; i < h->nvms; i++)
        if (!strcmp(h->vms[i].name, name))
            return i;
    return -1;
}

void host_pause(struct host *h, int i)
{
    if (h->vms[i].state == HVM_RUNNABLE)
        h->vms[i].state = HVM_PAUSED;
}

void host_resume(struct host *h, int i)
{
    if (h->vms[i].state == HVM_PAUSED) {
        h->vms[i].state = HVM_RUNNABLE;
        h->vms[i].pass = min_pass(h);
    }
}

void host_remove(struct host *h, int i)
{
    vm_destroy(h->vms[i].vm);
    free(h->vms[i].staged);
    memmove(&h->vms[i], &h->vms[i + 1], (size_t)(h->nvms - i - 1) * sizeof h->vms[0]);
    h->nvms--;
    if (h->current == i)
        h->current = -1;
    else if (h->current > i)
        h->current--;
}

static int host_pick(const struct host *h)
{
    int best = -1;
    for (int i = 0; i < h->nvms; i++)
        if (h->vms[i].state == HVM_RUNNABLE && (best < 0 || h->vms[i].pass < h->vms[best].pass))
            best = i;
    return best;
}

void host_charge(struct host *h, int i, uint64_t cycles_before, uint64_t idle_before)
{
    struct host_vm *hv = &h->vms[i];
    struct machine *m = &hv->vm->m;
    uint64_t busy = (m->cpu.cycles - cycles_before) - (m->idle_cycles - idle_before);
    hv->busy_cycles += busy;
    hv->pass += (busy ? busy : 1) * PASS_SCALE / hv->shares;
    h->host_cycles += busy;
    if (m->end != END_NONE && hv->state != HVM_ENDED) {
        hv->state = HVM_ENDED;
        hv->ended_at = h->host_cycles;
    }
}

/* One slice of VM i: until its clock has advanced a slice, or its budget. */
static void host_run_slice(struct host *h, int i)
{
    struct host_vm *hv = &h->vms[i];
    struct machine *m = &hv->vm->m;
    uint64_t c0 = m->cpu.cycles, idle0 = m->idle_cycles;
    machine_run_until(m, hv->max_insns, c0 + h->cfg.slice_cycles);
    if (m->end == END_NONE && hv->max_insns && m->cpu.insns >= hv->max_insns) {
        m->end = END_BUDGET;
        snprintf(m->end_msg, sizeof m->end_msg, "instruction budget of %llu exhausted",
                 (unsigned long long)hv->max_insns);
    }
    host_charge(h, i, c0, idle0);
    hv->slices++;
}

/* Content-based page sharing runs between slices, at a rate in host time. */
static void host_share_scan(struct host *h)
{
    if (!h->mem.share || h->host_cycles < h->next_scan)
        return;
    h->next_scan = h->host_cycles + h->cfg.share_period;
    h->pages_merged += share_scan(&h->mem, h->cfg.share_pages);
}

void host_switch_to(struct host *h, int i)
{
    if (h->current == i)
        return;
    if (h->current >= 0) {                /* the first VM's start is no switch */
        h->switches++;
        h->switch_cycles_total += h->cfg.switch_cycles;
        h->host_cycles += h->cfg.switch_cycles;
    }
    h->current = i;
}

int host_step(struct host *h)
{
    host_share_scan(h);
    int i = host_pick(h);
    if (i < 0)
        return -1;
    host_switch_to(h, i);
    host_run_slice(h, i);
    return i;
}

double host_cpu_share(const struct host *h, int i)
{
    uint64_t total = 0;
    for (int k = 0; k < h->nvms; k++)
        total += h->vms[k].busy_cycles;
    return total ? (double)h->vms[i].busy_cycles / (double)total : 0.0;
}

void host_mem_report(const struct host *h, struct host_mem_report *out)
{
    memset(out, 0, sizeof *out);
    if (!h->mem.nframes)
        return;
    struct frames_census c;
    frames_census(&h->mem, &c);
    *out = (struct host_mem_report){ .frames = c.total, .used = c.total - c.free, .free = c.free,
                                     .peak = h->mem.peak, .shared_frames = c.shared_frames,
                                     .shared_pages = c.shared_refs,
                                     .saved = c.shared_refs - c.shared_frames,
                                     .scanned = share_scanned(&h->mem), .merged = h->pages_merged };
}

uint32_t host_vm_mapped_pages(const struct host *h, int i)
{
    const struct pmap *pm = &h->vms[i].vm->m.pm;
    uint32_t n = 0;
    for (uint32_t g = 0; g < pm->npages; g++)
        n += pmap_lookup(pm, g) != PMAP_NONE;
    return n;
}
