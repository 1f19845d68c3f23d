/*
 * vm.c - building a VM from its description (vm.h).
 *
 * The order matters and is written once here: allocate the machine for its
 * engine, configure the engine (TC size and policy under bt), install the
 * cost profile, then load the kernel and modules, which sets the multiboot
 * entry state the engine takes as the guest's.
 */
#include "vm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "vmm/bt/bt.h"

static int vm_configure_bt(struct vm *vm, const struct vm_config *cfg, char *err, size_t errlen)
{
    struct bt *bt = vmm_bt(vm->m.vmm);
    if (!bt)
        return 0;
    struct bt_config bc;
    bt_config_default(&bc);
    if (cfg->tc_size)
        bc.tc_size = cfg->tc_size < BT_TC_SIZE_MAX ? cfg->tc_size : BT_TC_SIZE_MAX;
    if (cfg->tc_policy) {
        int p = bt_policy_parse(cfg->tc_policy);
        if (p < 0) {
            snprintf(err, errlen, "--tc-policy %s: expected flush or fifo", cfg->tc_policy);
            return -1;
        }
        bc.policy = (enum bt_policy)p;
    }
    if (cfg->tc_block_insns)
        bc.block_insns = cfg->tc_block_insns;
    if (bt_configure(bt, &bc) != 0) {
        snprintf(err, errlen, "bad translation-cache configuration");
        return -1;
    }
    return 0;
}

static int vm_load(struct vm *vm, const struct vm_config *cfg, char *err, size_t errlen)
{
    uint8_t *owned = NULL;
    const uint8_t *image = cfg->image;
    size_t len = cfg->image_len;
    if (!image) {
        if (mb_read_file(cfg->kernel_path, &owned, &len, err, errlen) != 0)
            return -1;
        image = owned;
    }
    struct mb_options mo = { .cmdline = cfg->cmdline, .kernel_path = cfg->kernel_path,
                             .modules = cfg->modules, .nmodules = cfg->nmodules };
    vm->kernel_size = len;
    vm->kernel_crc = (uint32_t)crc32(0, image, (uInt)len);
    int rc = machine_load(&vm->m, image, len, &mo, err, errlen);
    free(owned);
    return rc;
}

struct vm *vm_create(const struct vm_config *cfg, char *err, size_t errlen)
{
    struct vm *vm = calloc(1, sizeof *vm);
    if (!vm) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(vm->name, sizeof vm->name, "%s",
             cfg->name ? cfg->name : cfg->kernel_path ? cfg->kernel_path : "vm");
    if (machine_init_mode(&vm->m, cfg->mem_mib ? cfg->mem_mib : 32, cfg->mode, err, errlen) != 0) {
        free(vm);
        return NULL;
    }
    machine_set_vm_id(&vm->m, cfg->id);
    if (cfg->costs)
        machine_set_costs(&vm->m, cfg->costs);
    snprintf(vm->kernel_path, sizeof vm->kernel_path, "%s", cfg->kernel_path ? cfg->kernel_path : "");
    bool load = cfg->image || cfg->kernel_path;
    if (vm_configure_bt(vm, cfg, err, errlen) != 0 || (load && vm_load(vm, cfg, err, errlen) != 0)) {
        vm_destroy(vm);
        return NULL;
    }
    return vm;
}

void vm_destroy(struct vm *vm)
{
    if (!vm)
        return;
    machine_free(&vm->m);
    free(vm);
}

enum machine_end vm_run(struct vm *vm, uint64_t insn_limit)
{
    return machine_run(&vm->m, insn_limit);
}
