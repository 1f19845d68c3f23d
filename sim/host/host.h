/*
 * host.h - one physical computer shared by several VMs (DESIGN.md §7).
 *
 * The host owns one CPU's time and hands it to its VMs in slices of
 * modeled cycles, by proportional shares (stride scheduling: each VM's
 * "pass" advances by the cycles it used divided by its shares, and the
 * runnable VM with the smallest pass runs next). A switch between VMs has a
 * modeled cost (saving and restoring the CPU state, flushing the TLB) that
 * the host pays, not the guests. Every VM keeps its own clock: its virtual
 * time advances only while it runs (or while it is halted waiting for its
 * timer, which uses no CPU), so each guest sees time as if it had the
 * computer to itself, and runs are deterministic however many VMs share it.
 *
 * Each VM is a struct vm (its own devices, engine, console, statistics);
 * a VM that crashes, halts for good or runs away ends with its own status
 * and the others carry on. `type` selects the hypervisor architecture:
 * type 1 (the VMM owns the hardware) or type 2 (hosted: every device access
 * is a world switch to a host operating system and back; Sugerman et al.,
 * USENIX 2001), which costs more on I/O.
 */
#ifndef RS_HOST_H
#define RS_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "vm.h"
#include "mem/frames.h"

#define HOST_MAX_VMS 64
#define HOST_SLICE_DEFAULT 1000000u     /* modeled cycles (~0.26 ms at 3.8 GHz) */
#define HOST_SWITCH_DEFAULT 4000u       /* modeled cycles per VM switch (docs/host.md) */
#define HOST_MEM_DEFAULT 1024u          /* MiB of machine memory */
#define HOST_MEM_MAX 3584u
#define HOST_SHARE_PAGES_DEFAULT 256u   /* pages the sharing scan looks at per period */

enum host_type { HOST_TYPE1 = 1, HOST_TYPE2 = 2 };

enum host_vm_state {
    HVM_RUNNABLE = 0,
    HVM_PAUSED,                         /* by the user: not scheduled */
    HVM_ENDED,                          /* its run ended (exit, crash, budget) */
    HVM_INCOMING,                       /* being migrated in: not scheduled until its
                                           state has arrived and the source commits */
};

struct host_config {
    enum host_type type;
    uint32_t slice_cycles;              /* 0: HOST_SLICE_DEFAULT */
    uint32_t switch_cycles;             /* cost of one VM switch; 0: HOST_SWITCH_DEFAULT */
    uint32_t mem_mib;                   /* machine memory; 0: HOST_MEM_DEFAULT */
    bool no_page_sharing;               /* no content-based page sharing scan */
    uint32_t share_pages;               /* pages scanned per period; 0: the default */
    uint32_t share_period;              /* host cycles between scans; 0: the slice */
};

struct host_vm {
    struct vm *vm;
    char name[32];
    uint8_t id;                         /* stamped on its events; stable while it lives */
    char kernel[256];                   /* what it was built from (host_reset) */
    char cmdline[256];
    enum machine_mode mode;
    uint32_t mem_mib;
    uint32_t shares;                    /* proportional-share weight, >= 1 */
    uint64_t max_insns;                 /* budget (0: none): a runaway ends with END_BUDGET */
    enum host_vm_state state;
    uint64_t pass;                      /* stride scheduler: cycles used * 2^16 / shares */
    uint64_t busy_cycles;               /* CPU time this VM used (not its idle waits) */
    uint64_t ended_at;                  /* host_cycles when its run ended (0: not yet) */
    uint64_t slices;                    /* times it was scheduled */
    bool state_in;                      /* HVM_INCOMING: its CPU and device state arrived */
    bool replica;                       /* a standby's copy (disaster recovery): its
                                           checkpoints arrive until `recover` runs it */
    uint8_t *staged;                    /* replica: pages of a checkpoint not yet committed */
    size_t nstaged, staged_cap;         /*   (bytes: 4-byte index + 4096 each) */
    uint64_t checkpoints;               /* replica: checkpoints committed */
    uint64_t checkpoint_ns;             /* replica: host time of the last commit */
};

struct host {
    struct host_config cfg;
    struct host_vm vms[HOST_MAX_VMS];
    int nvms;
    int current;                        /* VM of the last slice, -1 before the first */
    uint64_t host_cycles;               /* the CPU's time: guests' busy cycles + switches */
    uint64_t switches;                  /* VM switches made */
    uint64_t switch_cycles_total;       /* their cost */
    unsigned next_id;                   /* id of the next VM added */
    struct frames mem;                  /* machine memory (made with the first VM:
                                           mem.nframes is 0 until then) */
    uint64_t next_scan;                 /* host_cycles of the next page-sharing scan */
    uint64_t pages_merged;              /* by every scan */
};

void host_init(struct host *h, const struct host_config *cfg);
/* Destroy every VM. */
void host_free(struct host *h);

/* Add a VM built from `cfg` (a VMM engine: native means no hypervisor).
   Returns its index, or -1 with err. */
int host_add_vm(struct host *h, const struct vm_config *cfg, const char *name,
                uint32_t shares, uint64_t max_insns, char *err, size_t errlen);
int host_find(const struct host *h, const char *name);    /* index or -1 */
void host_pause(struct host *h, int i);
void host_resume(struct host *h, int i);
/* Rebuild VM i from its kernel, command line, engine and memory (a fresh
   boot); its shares and name stay. 0, or -1 with err (the old VM is kept). */
int host_reset(struct host *h, int i, char *err, size_t errlen);
/* The VM whose events carry `id`, or -1. */
int host_by_id(const struct host *h, uint8_t id);
/* Remove (destroy) VM i; the indices of later VMs move down by one. */
void host_remove(struct host *h, int i);

/* Run one slice of the VM the scheduler picks. Returns its index, or -1 when
   no VM is runnable (all ended or paused). */
int host_step(struct host *h);

/* Charge VM i for what it ran since its clock read cycles_before (its idle
   clock idle_before): its CPU time, its stride pass, the host's time, and
   its end if it ended. host_step does this for a slice; a debugger that
   steps one VM outside the scheduler (the TUI's host view) does it after
   the step, so the host's figures stay true. */
void host_charge(struct host *h, int i, uint64_t cycles_before, uint64_t idle_before);
/* Give the CPU to VM i: a VM switch (and its cost) unless it has it. */
void host_switch_to(struct host *h, int i);

/* Machine memory as the host reports it (frames of 4 KiB). */
struct host_mem_report {
    uint32_t frames, used, free, peak;
    uint32_t shared_frames;             /* frames backing shared pages */
    uint32_t shared_pages;              /* guest pages backed by them */
    uint32_t saved;                     /* frames sharing saves: shared_pages - shared_frames */
    uint64_t scanned, merged;
};
void host_mem_report(const struct host *h, struct host_mem_report *out);
/* Guest pages of VM i with a frame, and those on shared frames. */
uint32_t host_vm_mapped_pages(const struct host *h, int i);

/* The share of the host's guest CPU time VM i used, 0..1. */
double host_cpu_share(const struct host *h, int i);

#endif
