/*
 * machine.c - one simulated PC: wiring and the run loop.
 *
 * The CPU reaches RAM directly and everything else through the callbacks set
 * up here. Time is the CPU's modeled cycle counter and nothing else (DESIGN.md
 * §3): before every port access the devices are brought up to the current
 * cycle (so a PIT read sees the exact count), and the CPU runs in slices that
 * end at the PIT's next output edge, so an interrupt is raised at the same
 * cycle on every run. A halted CPU skips idle time straight to the next edge.
 */
#include "machine.h"
#include "cpu/optable.h"
#include "hw/kbd_keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- CPU bus callbacks -------------------------------------------------- */

static void machine_sync(struct machine *m)
{
    pit_advance(&m->pit, m->cpu.cycles);
    lapic_advance(&m->lapic, m->cpu.cycles);
    cmos_advance(&m->cmos, m->cpu.cycles);
}

/* The next cycle at which a device raises an interrupt by itself. */
static uint64_t machine_next_event(struct machine *m)
{
    uint64_t pit = pit_next_event(&m->pit, m->cpu.cycles);
    uint64_t apic = lapic_next_event(&m->lapic);
    return pit < apic ? pit : apic;
}

static void machine_emit(struct machine *m, enum ev_kind kind, uint32_t a, uint32_t b,
                         uint32_t c, uint32_t d)
{
    if (!event_wanted(&m->events, kind))
        return;
    struct event ev = { .kind = kind, .vm = m->vm_id, .path = PATH_NATIVE,
                        .eip = m->vmm ? vmm_event_eip(m->vmm, m->cpu.insn_eip) : m->cpu.insn_eip,
                        .cycle = m->cpu.cycles,
                        .a = a, .b = b, .c = c, .d = d };
    event_dispatch(&m->events, &ev);
}

static void emit_io(struct machine *m, uint16_t port, int size, bool write, uint32_t val)
{
    machine_emit(m, EV_IO, port, (uint32_t)size, write, val);
}

/* The bus reports ports no device claims (DESIGN.md §4: counted, never fatal). */
static void cb_unmapped(void *ctx, uint16_t port, int size, bool write, uint32_t val)
{
    machine_emit(ctx, EV_IO_UNMAPPED, port, (uint32_t)size, write, val);
}

/* Port accesses are charged by whoever makes them: the CPU executing
   IN/OUT pays cpu.port_cost (native_in) before calling here; a VMM that
   emulates the access pays its own engine cost (emulate.c), so nothing is
   charged on the bus itself. */
static uint32_t cb_io_in(void *ctx, uint16_t port, int size)
{
    struct machine *m = ctx;
    machine_sync(m);
    uint32_t val = bus_in(&m->bus, port, size);
    emit_io(m, port, size, false, val);
    return val;
}

static void cb_io_out(void *ctx, uint16_t port, int size, uint32_t val)
{
    struct machine *m = ctx;
    machine_sync(m);
    emit_io(m, port, size, true, val);
    bus_out(&m->bus, port, size, val);
    if (m->dbg.exited || m->sysctl.reset_requested || m->kbc.reset_requested)
        m->cpu.stop_now = true;
}

/* ---- physical addresses above RAM --------------------------------------- */

enum mmio_dev { MMIO_NONE, MMIO_LAPIC, MMIO_IOAPIC };

/* Which device decodes `pa`: the local APIC page at IA32_APIC_BASE while
   its global enable is set, the I/O APIC page; else unassigned memory. */
static enum mmio_dev mmio_decode(const struct machine *m, uint32_t pa)
{
    uint64_t base = m->cpu.s.apic_base;
    if ((base & APIC_BASE_ENABLE) && (pa & ~0xFFFu) == (uint32_t)(base & 0xFFFFF000u))
        return MMIO_LAPIC;
    if ((pa & ~0xFFFu) == IOAPIC_BASE)
        return MMIO_IOAPIC;
    return MMIO_NONE;
}

/* Unassigned memory reads 0 and ignores stores, as QEMU's pc (7.2). */
static uint32_t cb_mmio_read(void *ctx, uint32_t pa, int size)
{
    struct machine *m = ctx;
    machine_sync(m);
    switch (mmio_decode(m, pa)) {
    case MMIO_LAPIC: m->mmio_reads++; return lapic_read(&m->lapic, pa & 0xFFFu, size);
    case MMIO_IOAPIC: m->mmio_reads++; return ioapic_read(&m->ioapic, pa & 0xFFFu, size);
    default: m->mmio_unassigned++; return 0;
    }
}

static void cb_mmio_write(void *ctx, uint32_t pa, int size, uint32_t val)
{
    struct machine *m = ctx;
    machine_sync(m);
    switch (mmio_decode(m, pa)) {
    case MMIO_LAPIC: m->mmio_writes++; lapic_write(&m->lapic, pa & 0xFFFu, size, val); break;
    case MMIO_IOAPIC: m->mmio_writes++; ioapic_write(&m->ioapic, pa & 0xFFFu, size, val); break;
    default: m->mmio_unassigned++; break;
    }
}

/* ---- the CPU's interrupt line ------------------------------------------- */

/* The 8259A's INTR reaches the CPU through LINT0 (ExtINT), or directly
   while the local APIC is globally disabled (QEMU's apic_accept_pic_intr). */
static bool pic_reaches_cpu(const struct machine *m)
{
    return !(m->cpu.s.apic_base & APIC_BASE_ENABLE) || lapic_pic_passes(&m->lapic);
}

static bool lapic_on(const struct machine *m)
{
    return (m->cpu.s.apic_base & APIC_BASE_ENABLE) != 0;
}

static bool cb_intr_pending(void *ctx)
{
    struct machine *m = ctx;
    if (lapic_on(m) && lapic_pending(&m->lapic))
        return true;
    return pic_maybe_pending(&m->pic) && pic_reaches_cpu(m) && pic_intr_pending(&m->pic);
}

static int cb_intr_ack(void *ctx)
{
    struct machine *m = ctx;
    if (lapic_on(m) && lapic_pending(&m->lapic))
        return lapic_ack(&m->lapic);
    return pic_ack(&m->pic);
}

/* An interrupt the CPU could take now (for the idle loop). */
static bool machine_irq_ready(struct machine *m)
{
    return cb_intr_pending(m) || (m->vmm && vmm_vcpu(m->vmm)->npending);
}

/* ---- costs -------------------------------------------------------------- */

void machine_set_costs(struct machine *m, const struct cost_profile *p)
{
    _Static_assert(C_COUNT <= sizeof m->cpu.class_cost / sizeof m->cpu.class_cost[0],
                   "cpu.class_cost has a slot per cost class");
    m->costs = *p;
    for (int c = 0; c < C_COUNT; c++)
        m->cpu.class_cost[c] = p->v[cost_class_key(c)];
    m->cpu.port_cost = p->v[COST_NATIVE_IN];
    m->cpu.npt_ref_cost = p->v[COST_NPT_WALK_REF];   /* only nested walks pay it */
}

/* Native cost of delivering a vector (A&A06's measured round trips). */
static uint32_t machine_vector_cost(const struct machine *m, int vector, bool soft, int cpl)
{
    if (soft && cpl == 3)
        return m->costs.v[COST_NATIVE_SYSCALL];
    if (vector == EXC_DE && !soft)
        return m->costs.v[COST_NATIVE_DIVZERO];
    if (vector == EXC_PF && !soft)
        return m->costs.v[COST_NATIVE_PGFAULT];
    return m->costs.v[COST_NATIVE_EXCEPTION];
}

/* ---- statistics hooks --------------------------------------------------- */

static void hook_vector(void *ctx, int vector, uint32_t err, bool has_err,
                        bool soft, bool ext, uint32_t eip)
{
    struct machine *m = ctx;
    enum ev_kind k = soft ? EV_SOFTINT : ext ? EV_INTERRUPT : EV_EXCEPTION;
    if (m->cpu.insns != m->wd_insns) {
        m->wd_insns = m->cpu.insns;
        m->wd_vectors = 0;
    }
    m->wd_vectors++;   /* each costs cycles: the slice ends, machine_after_slice checks */
    m->cpu.cycles += machine_vector_cost(m, vector, soft, m->cpu.s.cpl);
    machine_emit(m, k, (uint32_t)vector, err, has_err, 0);
}

static void hook_ring(void *ctx, int from, int to, uint32_t eip)
{
    machine_emit(ctx, EV_RING, (uint32_t)from, (uint32_t)to, (uint32_t)from, (uint32_t)to);
}

static void serial_tx(void *ctx, uint8_t byte)
{
    struct machine *m = ctx;
    if (m->out)
        m->out(m->out_ctx, byte);
}

/* ---- lifecycle ---------------------------------------------------------- */

static void machine_wire_devices(struct machine *m)
{
    bus_init(&m->bus);
    m->bus.on_unmapped = cb_unmapped;
    m->bus.unmapped_ctx = m;
    pic_init(&m->pic, &m->bus);
    lapic_init(&m->lapic, ioapic_eoi, &m->ioapic);
    ioapic_init(&m->ioapic, &m->lapic);
    pit_init(&m->pit, &m->bus, (struct irq_line){ &m->pic, 0, &m->ioapic });
    uart_init(&m->uart, &m->bus, 0x3f8, (struct irq_line){ &m->pic, 4, &m->ioapic },
              serial_tx, m);
    debugexit_init(&m->dbg, &m->bus, 0xf4, 4);
    post_init(&m->post, &m->bus);
    ide_init(&m->ide, &m->bus, (struct irq_line){ &m->pic, IDE_IRQ, &m->ioapic });
    vgacrt_init(&m->crt, &m->bus);
    cmos_init(&m->cmos, &m->bus, m->ram_size);
    sysctl_init(&m->sysctl, &m->bus);
    kbc_init(&m->kbc, &m->bus, (struct irq_line){ &m->pic, 1, &m->ioapic });
    fwcfg_init(&m->fwcfg, &m->bus, m->ram_size);
}

int machine_attach_disk(struct machine *m, int index, const char *path, bool write_through,
                        char *err, size_t errlen)
{
    if (index < 0 || index > 1) {
        snprintf(err, errlen, "%s: only two IDE disks (master and slave)", path);
        return -1;
    }
    return ide_attach(&m->ide, index, path, write_through, err, errlen);
}

int machine_init(struct machine *m, uint32_t mem_mib, char *err, size_t errlen)
{
    return machine_init_mode(m, mem_mib, MODE_NATIVE, err, errlen);
}

/* Under a VMM the CPU reports to the monitor (vmm.c installs its hooks). */
static int machine_attach_vmm(struct machine *m, uint32_t region_pa, char *err, size_t errlen)
{
    enum vmm_engine e = m->mode == MODE_BT ? VMM_BT : m->mode == MODE_HW ? VMM_HW : VMM_TRAP;
    m->vmm = vmm_create(e, &m->cpu, m->ram_size, &m->pm, region_pa, &m->events, &m->costs,
                        m->vm_id, err, errlen);
    return m->vmm ? 0 : -1;
}

/* RAM of its own (pool NULL), or frames of a host's machine memory. */
static int machine_memory(struct machine *m, uint32_t mem_mib, struct frames *pool,
                          uint32_t *region_pa, char *err, size_t errlen)
{
    if (mem_mib < 2 || mem_mib > 3072) {
        snprintf(err, errlen, "--mem %u: guest RAM must be 2 to 3072 MiB", mem_mib);
        return -1;
    }
    m->ram_size = mem_mib << 20;
    if (pool) {
        if (pmap_init_pool(&m->pm, pool, m->ram_size >> 12, err, errlen) != 0)
            return -1;
        int64_t first = frames_alloc_run(pool, VMM_REGION_SIZE >> 12, m->pm.slot);
        if (first < 0) {
            pmap_destroy(&m->pm);
            snprintf(err, errlen, "the host has no 4 MiB of machine memory left for a VMM");
            return -1;
        }
        *region_pa = (uint32_t)first << 12;
        return 0;
    }
    uint32_t frames = m->ram_size + (m->mode != MODE_NATIVE ? VMM_REGION_SIZE : 0);
    m->ram = calloc(1, frames);
    if (!m->ram) {
        snprintf(err, errlen, "cannot allocate %u MiB of guest RAM", mem_mib);
        return -1;
    }
    pmap_init_identity(&m->pm, m->ram, m->ram_size >> 12);
    *region_pa = m->ram_size;
    return 0;
}

static void machine_release_memory(struct machine *m)
{
    if (m->pm.fr) {
        struct frames *pool = m->pm.fr;
        uint16_t slot = m->pm.slot;
        pmap_destroy(&m->pm);
        for (uint32_t fr = 0; fr < pool->nframes; fr++)   /* the VMM region */
            if (pool->owner[fr] == slot)
                frames_put(pool, fr);
    }
    free(m->ram);
    m->ram = NULL;
}

static int machine_init_on(struct machine *m, uint32_t mem_mib, enum machine_mode mode,
                           struct frames *pool, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    m->mode = mode;
    uint32_t region_pa;
    if (machine_memory(m, mem_mib, pool, &region_pa, err, errlen) != 0)
        return -1;
    machine_wire_devices(m);
    event_bus_init(&m->events);
    stats_attach(&m->stats, &m->events);
    struct cpu_bus cb = {
        .ctx = m, .ram = pool ? pool->mem : m->ram,
        .ram_size = pool ? pool->nframes << 12 : region_pa + (mode != MODE_NATIVE ? VMM_REGION_SIZE : 0),
        .mmio_read = cb_mmio_read, .mmio_write = cb_mmio_write,
        .io_in = cb_io_in, .io_out = cb_io_out,
        .intr_pending = cb_intr_pending, .intr_ack = cb_intr_ack,
    };
    if (cpu_init(&m->cpu, &cb) != 0) {
        snprintf(err, errlen, "cannot initialise the CPU");
        machine_release_memory(m);
        return -1;
    }
    struct cost_profile dflt;
    cost_default(&dflt);
    machine_set_costs(m, &dflt);
    m->cpu.hooks = (struct cpu_hooks){ .ctx = m, .on_vector = hook_vector,
                                       .on_ring_change = hook_ring };
    if (mode != MODE_NATIVE && machine_attach_vmm(m, region_pa, err, errlen) != 0) {
        machine_free(m);
        return -1;
    }
    return 0;
}

int machine_init_mode(struct machine *m, uint32_t mem_mib, enum machine_mode mode,
                      char *err, size_t errlen)
{
    return machine_init_on(m, mem_mib, mode, NULL, err, errlen);
}

int machine_init_pooled(struct machine *m, uint32_t mem_mib, enum machine_mode mode,
                        struct frames *pool, char *err, size_t errlen)
{
    bool pooled = mode == MODE_TRAP || mode == MODE_BT;
    return machine_init_on(m, mem_mib, mode, pooled ? pool : NULL, err, errlen);
}

void machine_set_vm_id(struct machine *m, uint8_t id)
{
    m->vm_id = id;
    if (m->vmm)
        vmm_set_vm_id(m->vmm, id);
}

void machine_free(struct machine *m)
{
    if (m->vmm)
        vmm_destroy(m->vmm);
    m->vmm = NULL;
    cpu_free(&m->cpu);
    ide_free(&m->ide);
    machine_release_memory(m);
}

static const uint8_t zero_page[4096];

bool machine_page_is_zero(const uint8_t *p)
{
    return memcmp(p, zero_page, sizeof zero_page) == 0;
}

const uint8_t *machine_guest_page(const struct machine *m, uint32_t page)
{
    return page < m->pm.npages ? pmap_peek(&m->pm, page) : NULL;
}

bool machine_put_guest_page(struct machine *m, uint32_t page, const uint8_t *data)
{
    if (page >= m->pm.npages)
        return true;
    if (!data && !pmap_peek(&m->pm, page))
        return true;                    /* no frame yet: zeros already */
    if (!pmap_write(&m->pm, page << 12, data ? data : zero_page, 4096u))
        return false;
    cpu_notify_phys_write(&m->cpu, pmap_lookup(&m->pm, page) << 12, 4096u);
    return true;
}

void machine_read_phys(const struct machine *m, uint32_t gpa, void *buf, uint32_t n)
{
    pmap_read(&m->pm, gpa, buf, n);
}

/* On machine memory the loader writes a scratch copy of guest RAM; only
   its non-zero pages take frames. */
static int machine_import(struct machine *m, const uint8_t *flat, char *err, size_t errlen)
{
    for (uint32_t pg = 0; pg < m->pm.npages; pg++) {
        const uint8_t *p = flat + (size_t)pg * 4096u;
        if (!machine_page_is_zero(p) && !machine_put_guest_page(m, pg, p)) {
            snprintf(err, errlen, "the host is out of machine memory for the kernel");
            return -1;
        }
    }
    return 0;
}

int machine_load(struct machine *m, const uint8_t *image, size_t len,
                 const struct mb_options *opt, char *err, size_t errlen)
{
    struct mb_result res;
    uint32_t id[4];
    memset(&res, 0, sizeof res);
    cpu_cpuid(1, id);
    uint8_t *flat = m->ram ? m->ram : calloc(1, m->ram_size);
    if (!flat) {
        snprintf(err, errlen, "cannot allocate %u MiB to load the kernel", m->ram_size >> 20);
        return -1;
    }
    firmware_build(flat, 1, (struct fw_cpu_id){ .signature = id[0], .features = id[3] });
    int rc = multiboot_load(flat, m->ram_size, image, len, opt, &res);
    if (rc != 0)
        snprintf(err, errlen, "%s", res.error);
    else if (m->ram)
        cpu_notify_phys_write(&m->cpu, 0, m->ram_size);
    else
        rc = machine_import(m, flat, err, errlen);
    if (flat != m->ram)
        free(flat);
    if (rc != 0)
        return -1;
    machine_enter(m, res.entry, res.eax, res.ebx);
    return 0;
}

void machine_enter(struct machine *m, uint32_t entry, uint32_t eax, uint32_t ebx)
{
    cpu_reset_multiboot(&m->cpu, entry, eax, ebx);
    m->wd_insns = m->cpu.insns;
    m->wd_vectors = 0;
    if (m->vmm)
        vmm_reset(m->vmm);
}

bool machine_guest_halted(const struct machine *m)
{
    return m->vmm ? vmm_guest_halted(m->vmm) : m->cpu.s.halted;
}

bool machine_guest_if(struct machine *m)
{
    return m->vmm ? vmm_guest_if(m->vmm) : (cpu_get_eflags(&m->cpu) & FL_IF) != 0;
}

uint64_t machine_native_equiv(const struct machine *m)
{
    return m->cpu.cycles - (uint64_t)m->stats.overhead_cycles;
}

double machine_overhead_pct(const struct machine *m)
{
    uint64_t ne = machine_native_equiv(m);
    return ne ? 100.0 * (double)m->stats.overhead_cycles / (double)ne : 0.0;
}

bool machine_serial_input(struct machine *m, uint8_t byte)
{
    if (!uart_rx_space(&m->uart))
        return false;
    uart_receive(&m->uart, byte);
    return true;
}

bool machine_key_room(const struct machine *m)
{
    return kbc_room(&m->kbc) >= KBD_KEY_MAX;
}

bool machine_key_input(struct machine *m, uint8_t ch)
{
    uint8_t sc[KBD_KEY_MAX];
    if (!machine_key_room(m))
        return false;
    int n = kbd_key_scancodes(ch, sc);
    for (int i = 0; i < n; i++)
        kbc_key(&m->kbc, sc[i]);
    return true;
}

bool machine_input_room(const struct machine *m, enum machine_input_dest dest)
{
    return dest == INPUT_KEYBOARD ? machine_key_room(m) : uart_rx_space(&m->uart);
}

bool machine_input(struct machine *m, enum machine_input_dest dest, uint8_t byte)
{
    return dest == INPUT_KEYBOARD ? machine_key_input(m, byte) : machine_serial_input(m, byte);
}

/* ---- engines by name ----------------------------------------------------- */

static const char *const mode_names[] = {
    [MODE_NATIVE] = "native",
    [MODE_TRAP] = "trap",
    [MODE_BT] = "bt",
    [MODE_HW] = "hw",
};

const char *machine_mode_name(int mode)
{
    if (mode < 0 || mode >= (int)(sizeof mode_names / sizeof *mode_names))
        return NULL;
    return mode_names[mode];
}

int machine_mode_parse(const char *name)
{
    for (int i = 0; machine_mode_name(i); i++)
        if (!strcmp(machine_mode_name(i), name))
            return i;
    return -1;
}

/* ---- the run loop ------------------------------------------------------- */

void machine_request_pause(struct machine *m)
{
    m->pause = true;
    m->cpu.stop_now = true;
}

static enum machine_end machine_finish(struct machine *m, enum machine_end e,
                                       const char *msg)
{
    m->end = e;
    machine_emit(m, EV_END, e, (uint32_t)m->exit_code, 0, 0);
    snprintf(m->end_msg, sizeof m->end_msg, "%s", msg);
    return e;
}

/*
 * A halted CPU wakes on an external interrupt. If one is pending cpu_run
 * delivers it; otherwise idle time is skipped to the next PIT edge. Returns
 * false when nothing can ever wake the CPU. `idle_skips` bounds the case of
 * a timer whose IRQ is masked at the PIC.
 */
static bool machine_idle(struct machine *m, unsigned *idle_skips)
{
    if (!machine_guest_if(m))
        return false;
    if (machine_irq_ready(m))
        return true;
    uint64_t next = machine_next_event(m);
    if (next == UINT64_MAX || ++*idle_skips > 100000)
        return false;
    if (next > m->cpu.cycles) {
        m->idle_cycles += next - m->cpu.cycles;
        m->cpu.cycles = next;
    }
    machine_sync(m);
    return true;
}

/* The cycle at which the next CPU slice must end. */
static uint64_t machine_slice_end(struct machine *m, uint64_t insn_limit)
{
    uint64_t end = machine_next_event(m);
    uint64_t cap = m->cpu.cycles + 1000000;   /* keep slices short for pollers */
    if (end > cap)
        end = cap;
    /* every instruction costs at least one cycle, so this never overshoots */
    if (insn_limit && end - m->cpu.cycles > insn_limit - m->cpu.insns)
        end = m->cpu.cycles + (insn_limit - m->cpu.insns);
    if (end <= m->cpu.cycles)
        end = m->cpu.cycles + 1;
    return end;
}

static enum machine_end machine_after_slice(struct machine *m, enum cpu_stop why)
{
    if (m->dbg.exited) {
        m->exit_code = m->dbg.code;
        char msg[96];
        /* the samples' convention (samples/lib/kernel.h): V = 0 is success */
        snprintf(msg, sizeof msg, "guest wrote %u to isa-debug-exit: exit status %d (%s)",
                 m->dbg.value, m->exit_code, m->dbg.value ? "guest reported failure" : "success");
        return machine_finish(m, END_GUEST_EXIT, msg);
    }
    if (m->sysctl.reset_requested || m->kbc.reset_requested)
        return machine_finish(m, END_TRIPLE_FAULT, m->sysctl.reset_requested
                              ? "guest reset the machine through port 0x92 (no BIOS to restart)"
                              : "guest reset the machine through the 8042 (no BIOS to restart)");
    if (m->wd_vectors > MACHINE_NO_PROGRESS_VECTORS)
        return machine_finish(m, END_INTERNAL, "no progress: 100000 exceptions or "
                              "interrupts in a row without a retired instruction (watchdog)");
    switch (why) {
    case CPU_STOP_TRIPLE:
        return machine_finish(m, END_TRIPLE_FAULT,
                              m->cpu.stop_msg ? m->cpu.stop_msg : "triple fault");
    case CPU_STOP_UNSUPPORTED:
        if (m->vmm && vmm_internal_error(m->vmm))
            return machine_finish(m, END_INTERNAL, m->cpu.stop_msg ? m->cpu.stop_msg
                                                                   : "internal error");
        return machine_finish(m, END_UNSUPPORTED,
                              m->cpu.stop_msg ? m->cpu.stop_msg : "unsupported operation");
    case CPU_STOP_INTERCEPT:
    case CPU_STOP_GATE:
        return machine_finish(m, END_UNSUPPORTED, "unexpected CPU intercept in native mode");
    default:
        return END_NONE;
    }
}

enum machine_end machine_run(struct machine *m, uint64_t insn_limit)
{
    return machine_run_until(m, insn_limit, 0);
}

enum machine_end machine_run_until(struct machine *m, uint64_t insn_limit, uint64_t cycle_deadline)
{
    unsigned idle_skips = 0;
    while (m->end == END_NONE) {
        if (insn_limit && m->cpu.insns >= insn_limit)
            return END_NONE;
        if (cycle_deadline && m->cpu.cycles >= cycle_deadline)
            return END_NONE;
        machine_sync(m);
        if (machine_guest_halted(m)) {
            if (!machine_idle(m, &idle_skips))
                return machine_finish(m, END_HALTED,
                    machine_guest_if(m)
                        ? "guest halted waiting for an interrupt that can never come"
                        : "guest halted with interrupts disabled");
        } else {
            idle_skips = 0;
        }
        uint64_t end = machine_slice_end(m, insn_limit);
        if (cycle_deadline && end > cycle_deadline)
            end = cycle_deadline;
        enum cpu_stop why = m->vmm ? vmm_run(m->vmm, end) : cpu_run(&m->cpu, end);
        machine_after_slice(m, why);
        if (m->pause) {
            m->pause = false;
            m->cpu.stop_now = false;
            break;
        }
    }
    return m->end;
}
