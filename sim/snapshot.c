/*
 * snapshot.c - a VM's state into chunks and back (snapshot.h).
 *
 * Chunks (docs/snapshot.md): "CPU " the guest's architectural state as
 * native hardware holds it, "CNTR" cycle and instruction counters, "DEVS"
 * the PIC, PIT, UART, debug-exit and POST port, "PC  " the further PC
 * devices (local and I/O APIC, IDE registers, CRT, CMOS, port 0x92, 8042),
 * "RTC " the clock's epoch, "FWCF" fw_cfg's selected key, "DSK0"/"DSK1" the
 * IDE images as the guest left them, "STAT" the statistics, and "MEM "
 * guest RAM: a bitmap of the 4 KiB pages that are not all zero, then
 * those pages, zlib-compressed. Under a VMM the engine hands over the
 * guest's state (vmm_guest_state) and takes it back (vmm_adopt_state), so
 * the file does not depend on the engine that wrote it.
 */
#include "snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapstate.h"
#include "version.h"

#define PAGE 4096u

static const struct snap_type *const dev_types[] = {
    &snap_pic_type, &snap_pit_type, &snap_uart_type, &snap_debugexit_type, &snap_post_type,
};
#define NDEV 5

static void *dev_obj(struct machine *m, int i)
{
    void *objs[NDEV] = { &m->pic, &m->pit, &m->uart, &m->dbg, &m->post };
    return objs[i];
}

static size_t devs_size(void)
{
    size_t n = 0;
    for (int i = 0; i < NDEV; i++)
        n += snap_type_size(dev_types[i]);
    return n;
}

/* The PC's further devices, in their own chunk: a snapshot of an older
   version (without it) restores them at their reset state. */
static const struct snap_type *const pc_types[] = {
    &snap_lapic_type, &snap_ioapic_type, &snap_ide_type, &snap_vgacrt_type, &snap_cmos_type,
    &snap_sysctl_type, &snap_kbc_type, &snap_pc_msrs_type,
};
#define NPC 8

struct pc_devs {
    struct lapic lapic;
    struct ioapic ioapic;
    struct ide ide;
    struct vgacrt crt;
    struct cmos cmos;
    struct sysctl sysctl;
    struct kbc kbc;
    struct snap_pc_msrs msrs;
};

static void *pc_obj(struct pc_devs *d, int i)
{
    void *objs[NPC] = { &d->lapic, &d->ioapic, &d->ide, &d->crt, &d->cmos, &d->sysctl, &d->kbc,
                        &d->msrs };
    return objs[i];
}

static struct pc_devs pc_of(const struct machine *m)
{
    return (struct pc_devs){ m->lapic, m->ioapic, m->ide, m->crt, m->cmos, m->sysctl, m->kbc,
                             { m->cpu.s.apic_base, m->cpu.s.misc_enable } };
}

static size_t pc_size(void)
{
    size_t n = 0;
    for (int i = 0; i < NPC; i++)
        n += snap_type_size(pc_types[i]);
    return n;
}

/* ---- saving ---- */

static int save_cpu(struct snap_writer *w, struct vm *vm, char *err, size_t errlen)
{
    struct machine *m = &vm->m;
    struct cpu_state s;
    vm_guest_state(vm, &s);
    uint8_t buf[512];
    snap_encode(&snap_cpu_state_type, &s, buf);
    if (snapw_chunk(w, "CPU ", buf, snap_type_size(&snap_cpu_state_type), false, err, errlen))
        return -1;
    struct snap_cpu_counters k = { .cycles = m->cpu.cycles, .insns = m->cpu.insns,
                                   .tc_extra_insns = m->cpu.tc_extra_insns,
                                   .tc_extra_cycles = m->cpu.tc_extra_cycles };
    snap_encode(&snap_cpu_counters_type, &k, buf);
    return snapw_chunk(w, "CNTR", buf, snap_type_size(&snap_cpu_counters_type), false,
                       err, errlen);
}

static int save_blob(struct snap_writer *w, const char *tag, const struct snap_type *t,
                     const void *obj, char *err, size_t errlen)
{
    size_t n = snap_type_size(t);
    uint8_t *buf = malloc(n);
    if (!buf) {
        snprintf(err, errlen, "snapshot: out of memory");
        return -1;
    }
    snap_encode(t, obj, buf);
    int rc = snapw_chunk(w, tag, buf, n, true, err, errlen);
    free(buf);
    return rc;
}

static int save_devs(struct snap_writer *w, struct machine *m, char *err, size_t errlen)
{
    uint8_t buf[1024];
    size_t off = 0;
    for (int i = 0; i < NDEV; i++) {
        snap_encode(dev_types[i], dev_obj(m, i), buf + off);
        off += snap_type_size(dev_types[i]);
    }
    return snapw_chunk(w, "DEVS", buf, off, false, err, errlen);
}

static int save_pc(struct snap_writer *w, const struct machine *m, char *err, size_t errlen)
{
    uint8_t *buf = malloc(pc_size());
    struct pc_devs d = pc_of(m);
    if (!buf) {
        snprintf(err, errlen, "snapshot: out of memory");
        return -1;
    }
    size_t off = 0;
    for (int i = 0; i < NPC; i++) {
        snap_encode(pc_types[i], pc_obj(&d, i), buf + off);
        off += snap_type_size(pc_types[i]);
    }
    int rc = snapw_chunk(w, "PC  ", buf, off, false, err, errlen);
    free(buf);
    return rc;
}

/* The attached IDE images as the guest has written them (compressed). */
static int save_disks(struct snap_writer *w, const struct machine *m, char *err, size_t errlen)
{
    static const char *const tags[2] = { "DSK0", "DSK1" };
    for (int i = 0; i < 2; i++) {
        const struct ide_drive *dr = &m->ide.drive[i];
        if (dr->present && snapw_chunk(w, tags[i], dr->data, (size_t)dr->sectors * IDE_SECTOR,
                                       true, err, errlen))
            return -1;
    }
    return 0;
}

/* Bitmap of non-zero pages, then those pages. */
static int save_mem(struct snap_writer *w, struct machine *m, char *err, size_t errlen)
{
    uint32_t pages = m->ram_size / PAGE, map_len = (pages + 7) / 8, used = 0;
    uint8_t *buf = calloc(1, map_len + (size_t)m->ram_size);
    if (!buf) {
        snprintf(err, errlen, "snapshot: out of memory for %u MiB", m->ram_size >> 20);
        return -1;
    }
    for (uint32_t pg = 0; pg < pages; pg++) {
        const uint8_t *p = machine_guest_page(m, pg);
        if (!p || machine_page_is_zero(p))
            continue;
        buf[pg / 8] |= (uint8_t)(1u << (pg % 8));
        memcpy(buf + map_len + (size_t)used++ * PAGE, p, PAGE);
    }
    int rc = snapw_chunk(w, "MEM ", buf, map_len + (size_t)used * PAGE, true, err, errlen);
    free(buf);
    return rc;
}

/* Every chunk but, unless with_mem, the RAM's. */
static int snapshot_build(struct vm *vm, bool with_mem, struct snap_writer *w, char *err,
                          size_t errlen)
{
    struct machine *m = &vm->m;
    struct snap_header h = { .kernel_size = vm->kernel_size, .kernel_crc = vm->kernel_crc,
                             .engine = (uint32_t)m->mode, .ram_size = m->ram_size,
                             .guest_insns = cpu_guest_insns(&m->cpu) };
    snprintf(h.ringside_version, sizeof h.ringside_version, "%s", RINGSIDE_VERSION);
    snprintf(h.kernel_path, sizeof h.kernel_path, "%.27s", vm->kernel_path);
    if (m->vmm && vmm_settle(m->vmm, err, errlen) != 0)
        return -1;
    snapw_init(w, &h);
    if (snapw_chunk(w, "KPTH", vm->kernel_path, strlen(vm->kernel_path), false, err, errlen) ||
        save_cpu(w, vm, err, errlen) || save_devs(w, m, err, errlen) ||
        save_pc(w, m, err, errlen) ||
        save_blob(w, "RTC ", &snap_rtc_type, &m->cmos, err, errlen) ||
        save_blob(w, "FWCF", &snap_fwcfg_type, &m->fwcfg, err, errlen) ||
        save_blob(w, "STAT", &snap_stats_type, &m->stats, err, errlen) ||
        (with_mem && (save_mem(w, m, err, errlen) || save_disks(w, m, err, errlen)))) {
        snapw_free(w);
        return -1;
    }
    return 0;
}

int snapshot_save(struct vm *vm, const char *path, char *err, size_t errlen)
{
    struct snap_writer w;
    if (snapshot_build(vm, true, &w, err, errlen) != 0)
        return -1;
    return snapw_write(&w, path, err, errlen);
}

int snapshot_save_image(struct vm *vm, uint8_t **img, size_t *len, char *err, size_t errlen)
{
    struct snap_writer w;
    if (snapshot_build(vm, true, &w, err, errlen) != 0)
        return -1;
    return snapw_image(&w, img, len, err, errlen);
}

int snapshot_state_image(struct vm *vm, uint8_t **img, size_t *len, char *err, size_t errlen)
{
    struct snap_writer w;
    if (snapshot_build(vm, false, &w, err, errlen) != 0)
        return -1;
    return snapw_image(&w, img, len, err, errlen);
}

int snapshot_restore_image(struct vm *vm, const uint8_t *img, size_t len, char *err,
                           size_t errlen)
{
    struct snap_file f;
    if (snap_parse(img, len, &f, err, errlen) != 0)
        return -1;
    int rc = snapshot_restore(vm, &f, err, errlen);
    snap_free(&f);
    return rc;
}

/* ---- restoring: everything is decoded and checked first, then applied,
   so a bad snapshot leaves the VM as it was ---- */

struct restore_plan {
    struct pic pic;
    struct pit pit;
    struct uart uart;
    struct debugexit dbg;
    struct post post;
    struct cpu_state cpu;
    struct snap_cpu_counters n;
    struct stats stats;
    struct pc_devs pc;
    struct fwcfg fwcfg;
    const struct snap_chunk *mem;
    const struct snap_chunk *disk[2];
};

static const struct snap_chunk *need(const struct snap_file *f, const char *tag,
                                     char *err, size_t errlen)
{
    const struct snap_chunk *c = snap_find(f, tag);
    if (!c)
        snprintf(err, errlen, "snapshot has no '%s' chunk (corrupted)", tag);
    return c;
}

static int check_mem(const struct machine *m, const struct snap_chunk *c, char *err, size_t errlen)
{
    uint32_t pages = m->ram_size / PAGE, map_len = (pages + 7) / 8, used = 0;
    if (c->len >= map_len) {
        for (uint32_t pg = 0; pg < pages; pg++)
            used += (c->data[pg / 8] >> (pg % 8)) & 1u;
        if (c->len == map_len + (size_t)used * PAGE)
            return 0;
    }
    snprintf(err, errlen, "snapshot memory chunk does not match %u MiB of RAM (corrupted)",
             m->ram_size >> 20);
    return -1;
}

static int apply_mem(struct machine *m, const struct snap_chunk *c, char *err, size_t errlen)
{
    uint32_t pages = m->ram_size / PAGE, map_len = (pages + 7) / 8, used = 0;
    if (m->ram) {                       /* RAM of its own: one pass */
        memset(m->ram, 0, m->ram_size);
        for (uint32_t pg = 0; pg < pages; pg++)
            if ((c->data[pg / 8] >> (pg % 8)) & 1u)
                memcpy(m->ram + (size_t)pg * PAGE, c->data + map_len + (size_t)used++ * PAGE, PAGE);
        cpu_notify_phys_write(&m->cpu, 0, m->ram_size);
        return 0;
    }
    for (uint32_t pg = 0; pg < pages; pg++) {
        bool has = (c->data[pg / 8] >> (pg % 8)) & 1u;
        if (!machine_put_guest_page(m, pg, has ? c->data + map_len + (size_t)used++ * PAGE : NULL)) {
            snprintf(err, errlen, "the host is out of machine memory for the snapshot");
            return -1;
        }
    }
    return 0;
}

/* Devices decode into copies of the live ones, so the wiring (IRQ lines,
   the UART's transmit sink) stays the live VM's. */
static int plan_devs(struct restore_plan *p, const struct snap_chunk *c, char *err, size_t errlen)
{
    void *objs[NDEV] = { &p->pic, &p->pit, &p->uart, &p->dbg, &p->post };
    if (c->len != devs_size()) {
        snprintf(err, errlen, "snapshot device chunk has the wrong size (corrupted)");
        return -1;
    }
    size_t off = 0;
    for (int i = 0; i < NDEV; i++) {
        size_t n = snap_type_size(dev_types[i]);
        if (snap_decode(dev_types[i], c->data + off, n, objs[i], err, errlen) != 0)
            return -1;
        off += n;
    }
    return 0;
}

/* A transfer in progress must stay inside its drive's image. */
static bool ide_transfer_ok(const struct ide *d)
{
    if (d->pos >= IDE_SECTOR && !d->writing)
        return true;
    const struct ide_drive *dr = &d->drive[(d->select >> 4) & 1];
    if (d->left == 0 && !d->writing)
        return true;                    /* the last sector is in buf already */
    return dr->present && d->lba < dr->sectors && d->left < dr->sectors - d->lba;
}

static int plan_pc(struct restore_plan *p, const struct snap_chunk *c, char *err, size_t errlen)
{
    if (!c)
        return 0;                       /* an older snapshot: the devices stay at reset */
    if (c->len != pc_size()) {
        snprintf(err, errlen, "snapshot PC device chunk has the wrong size (corrupted)");
        return -1;
    }
    size_t off = 0;
    for (int i = 0; i < NPC; i++) {
        size_t n = snap_type_size(pc_types[i]);
        if (snap_decode(pc_types[i], c->data + off, n, pc_obj(&p->pc, i), err, errlen) != 0)
            return -1;
        off += n;
    }
    if (!ide_transfer_ok(&p->pc.ide)) {
        snprintf(err, errlen, "snapshot IDE transfer lies outside its disk (corrupted, or "
                 "another --disk)");
        return -1;
    }
    return 0;
}

/* The clock's epoch (chunk "RTC "); without it (an older snapshot) the
   clock counts from the default start at cycle 0, as it did then. */
static int plan_rtc(struct restore_plan *p, const struct snap_chunk *c, char *err, size_t errlen)
{
    if (!c) {
        p->pc.cmos.epoch = CMOS_DEFAULT_EPOCH, p->pc.cmos.epoch_cycle = 0;
        return 0;
    }
    return snap_decode(&snap_rtc_type, c->data, c->len, &p->pc.cmos, err, errlen);
}

/* fw_cfg's selected key (chunk "FWCF"); an older snapshot: none selected. */
static int plan_fwcfg(struct restore_plan *p, const struct snap_chunk *c, char *err, size_t errlen)
{
    fwcfg_reset(&p->fwcfg);
    return c ? snap_decode(&snap_fwcfg_type, c->data, c->len, &p->fwcfg, err, errlen) : 0;
}

/* Each image the snapshot holds needs the same drive attached, as large. */
static int plan_disks(struct restore_plan *p, const struct machine *m, const struct snap_file *f,
                      char *err, size_t errlen)
{
    static const char *const tags[2] = { "DSK0", "DSK1" };
    for (int i = 0; i < 2; i++) {
        const struct ide_drive *dr = &m->ide.drive[i];
        p->disk[i] = snap_find(f, tags[i]);
        if (p->disk[i] && (!dr->present || p->disk[i]->len != (size_t)dr->sectors * IDE_SECTOR)) {
            snprintf(err, errlen, "the snapshot has IDE disk %d of %zu sectors: attach an image "
                     "that size with --disk FILE,index=%d", i, p->disk[i]->len / IDE_SECTOR, i);
            return -1;
        }
    }
    return 0;
}

/* Every chunk must be one this version writes: a damaged tag would
   otherwise turn a chunk that may be absent (KPTH) into an ignored one. */
static int check_tags(const struct snap_file *f, char *err, size_t errlen)
{
    static const char *const known[] = { "CPU ", "CNTR", "DEVS", "MEM ", "KPTH", "STAT",
                                         "PC  ", "DSK0", "DSK1", "RTC ", "FWCF" };
    for (int i = 0; i < f->nchunks; i++) {
        bool ok = false;
        for (unsigned k = 0; k < sizeof known / sizeof *known; k++)
            ok |= strcmp(f->chunks[i].tag, known[k]) == 0;
        if (!ok) {
            snprintf(err, errlen, "snapshot has an unknown chunk (corrupted)");
            return -1;
        }
    }
    return 0;
}

static int plan_cpu(struct restore_plan *p, const struct snap_file *f, char *err, size_t errlen)
{
    const struct snap_chunk *c = need(f, "CPU ", err, errlen), *k = need(f, "CNTR", err, errlen);
    if (!c || !k || snap_decode(&snap_cpu_state_type, c->data, c->len, &p->cpu, err, errlen) ||
        snap_decode(&snap_cpu_counters_type, k->data, k->len, &p->n, err, errlen))
        return -1;
    if (p->n.tc_extra_insns > p->n.insns) {
        snprintf(err, errlen, "snapshot counters are inconsistent (corrupted)");
        return -1;
    }
    return 0;
}

static int plan_restore(struct restore_plan *p, const struct vm *vm, const struct snap_file *f,
                        bool with_mem, char *err, size_t errlen)
{
    const struct machine *m = &vm->m;
    bool no_kernel = !vm->kernel_path[0];     /* built for the restore: take its kernel */
    if (!no_kernel && (f->h.kernel_size != vm->kernel_size || f->h.kernel_crc != vm->kernel_crc)) {
        snprintf(err, errlen, "the snapshot was taken of another kernel (%s)", f->h.kernel_path);
        return -1;
    }
    if (f->h.ram_size != m->ram_size) {
        snprintf(err, errlen, "the snapshot has %u MiB of guest RAM, this VM %u MiB (use --mem)",
                 f->h.ram_size >> 20, m->ram_size >> 20);
        return -1;
    }
    if (check_tags(f, err, errlen))
        return -1;
    const struct snap_chunk *dev = need(f, "DEVS", err, errlen);
    const struct snap_chunk *st = dev ? need(f, "STAT", err, errlen) : NULL;
    if (!st)
        return -1;
    if (with_mem && !(p->mem = need(f, "MEM ", err, errlen)))
        return -1;
    if (!with_mem && snap_find(f, "MEM ")) {
        snprintf(err, errlen, "a state image must not hold RAM");
        return -1;
    }
    return plan_devs(p, dev, err, errlen) || plan_pc(p, snap_find(f, "PC  "), err, errlen) ||
           plan_rtc(p, snap_find(f, "RTC "), err, errlen) ||
           plan_fwcfg(p, snap_find(f, "FWCF"), err, errlen) ||
           (with_mem && plan_disks(p, m, f, err, errlen)) ||
           snap_decode(&snap_stats_type, st->data, st->len, &p->stats, err, errlen) ||
           plan_cpu(p, f, err, errlen) ||
           (with_mem && check_mem(m, p->mem, err, errlen)) ? -1 : 0;
}

/* The decoded copies started as the live devices, so their wiring (the
   APICs' links, IRQ lines, the images) is the live VM's. */
static void apply_pc(struct machine *m, const struct restore_plan *p)
{
    m->lapic = p->pc.lapic, m->ioapic = p->pc.ioapic, m->ide = p->pc.ide, m->crt = p->pc.crt;
    m->cmos = p->pc.cmos, m->sysctl = p->pc.sysctl, m->kbc = p->pc.kbc, m->fwcfg = p->fwcfg;
    for (int i = 0; i < 2; i++)
        if (p->disk[i])
            memcpy(m->ide.drive[i].data, p->disk[i]->data, p->disk[i]->len);
}

static void apply_cpu(struct machine *m, const struct restore_plan *p, bool same_engine)
{
    m->cpu.s = p->cpu;
    cpu_set_eflags(&m->cpu, p->cpu.eflags);
    m->cpu.cycles = p->n.cycles;
    /* under another engine only the guest's instructions carry over */
    m->cpu.insns = same_engine ? p->n.insns : p->n.insns - p->n.tc_extra_insns;
    m->cpu.tc_extra_insns = same_engine ? p->n.tc_extra_insns : 0;
    m->cpu.tc_extra_cycles = same_engine ? p->n.tc_extra_cycles : 0;
    cpu_flush_caches(&m->cpu);
}

static int restore(struct vm *vm, const struct snap_file *f, bool with_mem, char *err,
                   size_t errlen)
{
    struct machine *m = &vm->m;
    struct restore_plan *p = malloc(sizeof *p);
    if (!p) {
        snprintf(err, errlen, "snapshot: out of memory");
        return -1;
    }
    *p = (struct restore_plan){ .pic = m->pic, .pit = m->pit, .uart = m->uart, .dbg = m->dbg,
                                .post = m->post, .cpu = m->cpu.s, .stats = m->stats,
                                .pc = pc_of(m), .fwcfg = m->fwcfg };
    int rc = plan_restore(p, vm, f, with_mem, err, errlen);
    if (rc == 0) {
        m->pic = p->pic, m->pit = p->pit, m->uart = p->uart, m->dbg = p->dbg, m->post = p->post;
        apply_pc(m, p);
        m->stats = p->stats;
        if (with_mem)
            rc = apply_mem(m, p->mem, err, errlen);
        apply_cpu(m, p, f->h.engine == (uint32_t)m->mode);
        m->cpu.s.apic_base = p->pc.msrs.apic_base;
        m->cpu.s.misc_enable = p->pc.msrs.misc_enable;
        m->end = END_NONE;
        if (!vm->kernel_path[0]) {
            const struct snap_chunk *k = snap_find(f, "KPTH");
            vm->kernel_size = f->h.kernel_size;
            vm->kernel_crc = f->h.kernel_crc;
            snprintf(vm->kernel_path, sizeof vm->kernel_path, "%.*s",
                     k && k->len < sizeof vm->kernel_path ? (int)k->len : 27,
                     k && k->len < sizeof vm->kernel_path ? (const char *)k->data
                                                          : f->h.kernel_path);
            for (char *c = vm->kernel_path; *c; c++)
                *c = *c >= 0x20 && *c < 0x7f ? *c : '?';   /* a name, not terminal codes */
        }
        if (m->vmm && rc == 0)
            rc = vmm_adopt_state(m->vmm, err, errlen);
    }
    free(p);
    return rc;
}

int snapshot_restore(struct vm *vm, const struct snap_file *f, char *err, size_t errlen)
{
    return restore(vm, f, true, err, errlen);
}

int snapshot_restore_state(struct vm *vm, const struct snap_file *f, char *err, size_t errlen)
{
    return restore(vm, f, false, err, errlen);
}
