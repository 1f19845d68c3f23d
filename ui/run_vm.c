/*
 * run_vm.c - run options -> vm_config -> VM (run_vm.h).
 */
#include "run_vm.h"
#include "cmd_run.h"

#include <stdio.h>
#include <time.h>

#include "snapshot.h"

int run_vm_config(const struct run_options *o, int mode, struct vm_config *cfg,
                  struct cost_profile *prof, char *err, size_t errlen)
{
    if (o->costs && cost_load(prof, o->costs, err, errlen) != 0)
        return -1;
    if (mode < 0)
        mode = machine_mode_parse(o->mode ? o->mode : "native");
    if (mode < 0) {
        snprintf(err, errlen, "--mode %s: unknown mode", o->mode);
        return -1;
    }
    *cfg = (struct vm_config){
        .kernel_path = o->kernel, .cmdline = o->append,
        .modules = o->modules, .nmodules = o->nmodules,
        .disks = o->disks, .ndisks = o->ndisks, .disk_write = o->disk_write,
        .mem_mib = o->mem_mib, .mode = (enum machine_mode)mode,
        .tc_size = o->tc_size_kib * 1024u, .tc_policy = o->tc_policy,
        .tc_block_insns = o->tc_block_insns, .npt = o->npt,
        .reference_cpu = o->reference_cpu,
        .rtc_epoch = o->rtc_now ? (int64_t)time(NULL) : o->rtc_epoch,
        .costs = o->costs ? prof : NULL,
    };
    return 0;
}

/* --restore FILE: a VM shaped like the snapshot (its RAM size; its engine
   unless --mode says otherwise), then the snapshot's state put into it. */
static struct vm *run_vm_restore(const struct run_options *o, int mode, char *err, size_t errlen)
{
    struct snap_file f;
    struct cost_profile prof;
    struct vm_config cfg;
    if (snap_read(o->restore, &f, err, errlen) != 0)
        return NULL;
    if (mode < 0 && !o->mode_given)
        mode = machine_mode_name((int)f.h.engine) ? (int)f.h.engine : MODE_NATIVE;
    struct vm *vm = NULL;
    if (run_vm_config(o, mode, &cfg, &prof, err, errlen) == 0) {
        cfg.mem_mib = f.h.ram_size >> 20;
        vm = vm_create(&cfg, err, errlen);
    }
    if (vm && snapshot_restore(vm, &f, err, errlen) != 0) {
        vm_destroy(vm);
        vm = NULL;
    }
    snap_free(&f);
    return vm;
}

struct vm *run_vm_create(const struct run_options *o, int mode)
{
    char err[256];
    struct cost_profile prof;
    struct vm_config cfg;
    struct vm *vm = NULL;
    if (o->restore)
        vm = run_vm_restore(o, mode, err, sizeof err);
    else if (run_vm_config(o, mode, &cfg, &prof, err, sizeof err) == 0)
        vm = vm_create(&cfg, err, sizeof err);
    if (!vm)
        fprintf(stderr, "ringside: %s\n", err);
    return vm;
}

/* Declared in cmd_run.h: every command that ends a run reports it this way. */
int cmd_run_exit_status(const struct machine *m)
{
    switch (m->end) {
    case END_GUEST_EXIT:   return m->exit_code;
    case END_TRIPLE_FAULT: return EXIT_TRIPLE_FAULT;
    case END_HALTED:       return EXIT_HALTED;
    case END_BUDGET:       return EXIT_BUDGET;
    case END_UNSUPPORTED:  return EXIT_UNSUPPORTED;
    case END_INTERNAL:     return EXIT_INTERNAL;
    case END_UNTIL:        return EXIT_OK;
    default:               return EXIT_INTERNAL;
    }
}
