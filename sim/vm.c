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

#include "history.h"
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
    if (cfg->tc_policy && !strncmp(cfg->tc_policy, "plugin:", 7)) {
        if (bt_policy_load(cfg->tc_policy + 7, &bc.plugin, err, errlen))
            return -1;
        bc.policy = BT_POLICY_PLUGIN;
    } else if (cfg->tc_policy) {
        int p = bt_policy_parse(cfg->tc_policy);
        if (p < 0) {
            snprintf(err, errlen, "--tc-policy %s: expected flush, fifo or plugin:FILE.so",
                     cfg->tc_policy);
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

/* The IDE disks: "FILE" takes the next free drive, "FILE,index=N" drive N
   (QEMU's -drive index: xv6 boots with its file system as the slave). */
static int vm_attach_disks(struct vm *vm, const struct vm_config *cfg, char *err, size_t errlen)
{
    int next = 0;
    for (int i = 0; i < cfg->ndisks; i++) {
        char path[1024];
        int index = next;
        snprintf(path, sizeof path, "%s", cfg->disks[i]);
        char *comma = strrchr(path, ',');
        if (comma && !strncmp(comma, ",index=", 7)) {
            if ((comma[7] != '0' && comma[7] != '1') || comma[8]) {
                snprintf(err, errlen, "--disk %s: index must be 0 or 1", cfg->disks[i]);
                return -1;
            }
            index = comma[7] - '0';
            *comma = 0;
        }
        if (index > 1) {
            snprintf(err, errlen, "--disk %s: only two IDE drives (master and slave)", path);
            return -1;
        }
        if (vm->m.ide.drive[index].present) {
            snprintf(err, errlen, "--disk %s: IDE drive %d is already attached", path, index);
            return -1;
        }
        if (machine_attach_disk(&vm->m, index, path, cfg->disk_write, err, errlen) != 0)
            return -1;
        next = index + 1;
    }
    return 0;
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
    uint32_t mib = cfg->mem_mib ? cfg->mem_mib : 32;
    int rc = cfg->machine_memory
                 ? machine_init_pooled(&vm->m, mib, cfg->mode, cfg->machine_memory, err, errlen)
                 : machine_init_mode(&vm->m, mib, cfg->mode, err, errlen);
    if (rc != 0) {
        free(vm);
        return NULL;
    }
    machine_set_vm_id(&vm->m, cfg->id);
    vm->m.cpu.reference = cfg->reference_cpu;
    if (cfg->rtc_epoch)
        cmos_reset(&vm->m.cmos, vm->m.ram_size, cfg->rtc_epoch);
    if (cfg->costs)
        machine_set_costs(&vm->m, cfg->costs);
    snprintf(vm->kernel_path, sizeof vm->kernel_path, "%s", cfg->kernel_path ? cfg->kernel_path : "");
    bool load = cfg->image || cfg->kernel_path;
    if (cfg->npt && (!vm->m.vmm || !vmm_set_npt(vm->m.vmm, true))) {
        snprintf(err, errlen, "--npt: nested paging needs --mode hw");
        vm_destroy(vm);
        return NULL;
    }
    if (vm_configure_bt(vm, cfg, err, errlen) != 0 || vm_attach_disks(vm, cfg, err, errlen) != 0 ||
        (load && vm_load(vm, cfg, err, errlen) != 0)) {
        vm_destroy(vm);
        return NULL;
    }
    return vm;
}

void vm_destroy(struct vm *vm)
{
    if (!vm)
        return;
    history_free(vm->hist);
    machine_free(&vm->m);
    free(vm);
}

void vm_guest_state(struct vm *vm, struct cpu_state *out)
{
    if (vm->m.vmm) {
        vmm_guest_state(vm->m.vmm, out);
        return;
    }
    cpu_get_eflags(&vm->m.cpu);
    *out = vm->m.cpu.s;
}

bool vm_set_guest_reg(struct vm *vm, int n, uint32_t value)
{
    struct cpu *c = &vm->m.cpu;
    const uint32_t user_flags = 0x00000CD5u | 0x100u;   /* CF PF AF ZF SF TF DF OF */
    if (n >= 0 && n < 8)
        c->s.r[n] = value;
    else if (n == 8)
        c->s.eip = value;
    else if (n == 9)
        cpu_set_eflags(c, (cpu_get_eflags(c) & ~user_flags) | (value & user_flags));
    else
        return false;
    return true;
}

/* Native: through the CPU's own page walk, without touching A/D bits. */
static int native_linear(struct vm *vm, uint32_t lin, uint8_t *buf, uint32_t len, bool write)
{
    struct cpu *c = &vm->m.cpu;
    while (len) {
        uint32_t pa, n = 0x1000u - (lin & 0xFFFu);
        n = n < len ? n : len;
        if (!cpu_linear_to_phys(c, lin, false, 0, &pa) || pa >= vm->m.ram_size ||
            n > vm->m.ram_size - pa)
            return -1;
        if (write) {
            memcpy(vm->m.ram + pa, buf, n);
            cpu_notify_phys_write(c, pa, n);
        } else {
            memcpy(buf, vm->m.ram + pa, n);
        }
        lin += n, buf += n, len -= n;
    }
    return 0;
}

int vm_read_linear(struct vm *vm, uint32_t lin, void *buf, uint32_t len)
{
    return vm->m.vmm ? vmm_guest_read(vm->m.vmm, lin, buf, len)
                     : native_linear(vm, lin, buf, len, false);
}

int vm_write_linear(struct vm *vm, uint32_t lin, const void *buf, uint32_t len)
{
    return vm->m.vmm ? vmm_guest_write(vm->m.vmm, lin, buf, len)
                     : native_linear(vm, lin, (uint8_t *)buf, len, true);
}

uint64_t vm_guest_insns(const struct vm *vm)
{
    return cpu_guest_insns(&vm->m.cpu);
}

/* On machine memory the CPU logs machine frames; a guest page is dirty if
   its frame was written or it moved to another frame (pmap.remapped). */
int vm_dirty_log_start(struct vm *vm)
{
    struct pmap *pm = &vm->m.pm;
    if (pmap_identity(pm))
        return cpu_dirty_log_start(&vm->m.cpu, vm_guest_pages(vm));
    memset(pm->remapped, 0, pm->npages / 8u + 1u);
    return cpu_dirty_log_start(&vm->m.cpu, pm->fr->nframes);
}

void vm_dirty_log_stop(struct vm *vm)
{
    cpu_dirty_log_stop(&vm->m.cpu);
}

static uint32_t pooled_dirty_take(struct vm *vm, uint8_t *bitmap)
{
    struct pmap *pm = &vm->m.pm;
    uint8_t *frames = calloc(1, pm->fr->nframes / 8u + 1u);
    if (!frames)
        return 0;
    cpu_dirty_log_take(&vm->m.cpu, frames);
    uint32_t n = 0;
    memset(bitmap, 0, (pm->npages + 7u) / 8u);
    for (uint32_t g = 0; g < pm->npages; g++) {
        uint32_t fr = pm->mpn[g];
        bool dirty = ((pm->remapped[g / 8u] >> (g % 8u)) & 1u) ||
                     (fr != PMAP_NONE && ((frames[fr / 8u] >> (fr % 8u)) & 1u));
        if (dirty) {
            bitmap[g / 8u] |= (uint8_t)(1u << (g % 8u));
            n++;
        }
    }
    memset(pm->remapped, 0, pm->npages / 8u + 1u);
    free(frames);
    return n;
}

uint32_t vm_dirty_log_take(struct vm *vm, uint8_t *bitmap)
{
    if (!pmap_identity(&vm->m.pm) && cpu_dirty_log_on(&vm->m.cpu))
        return pooled_dirty_take(vm, bitmap);
    return cpu_dirty_log_take(&vm->m.cpu, bitmap);
}

bool vm_input(struct vm *vm, enum machine_input_dest dest, uint8_t byte)
{
    return vm->hist ? history_input(vm->hist, dest, byte) : machine_input(&vm->m, dest, byte);
}

enum machine_end vm_run(struct vm *vm, uint64_t insn_limit)
{
    if (vm->hist)
        return (enum machine_end)history_run(vm->hist, insn_limit);
    return machine_run(&vm->m, insn_limit);
}
