/*
 * vmm.h - the virtual machine monitor: public interface for the machine.
 *
 * A vmm owns the deprivileged hardware CPU of one machine: it keeps the
 * guest's privileged state in a vcpu (vcpu.h), maps the VMM region into the
 * top 4 MiB of the linear address space, builds the shadow GDT and the page
 * directory there, and runs the guest with every exception and interrupt
 * intercepted. machine_run calls vmm_run instead of cpu_run when a VMM engine
 * is selected (--mode trap). vmm_run returns the same stop codes as cpu_run:
 * BUDGET, HLT (a *virtual* halt), TRIPLE or UNSUPPORTED.
 */
#ifndef RS_VMM_H
#define RS_VMM_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "cpu/cpu.h"
#include "vmm/vcpu.h"
#include "vmm/cost.h"
#include "event.h"

#define VMM_REGION_BASE 0xFFC00000u   /* linear base of the VMM region */
#define VMM_REGION_SIZE 0x00400000u   /* 4 MiB, backed by frames above guest RAM */

/* The PC's device window (the I/O APIC at 0xFEC00000, the local APIC at
   0xFEE00000): guest accesses there are stepped against the machine's bus,
   one instruction at a time, so they reach the device model (a hidden
   fault into the device, shadow_pt_fault.c); other frames above guest RAM
   are open bus. */
#define VMM_MMIO_BASE   0xFEC00000u
#define VMM_MMIO_END    0xFF000000u

/* Layout of the VMM region (offsets from its base, linear and physical). */
#define VMM_OFF_GDT     0x00000u  /* shadow GDT: 8192 descriptors, 64 KiB */
#define VMM_OFF_IDT     0x10000u  /* the hardware IDT (256 gates, all to the monitor) */
#define VMM_OFF_TSS     0x11000u  /* the VMM's TSS */
#define VMM_OFF_PD      0x12000u  /* page directory */
#define VMM_OFF_PT_VMM  0x13000u  /* page table mapping the VMM region */
#define VMM_OFF_PT_TAIL 0x14000u  /* page table for guest RAM not 4 MiB aligned */
#define VMM_OFF_PT_OPEN 0x16000u  /* paging off: a 4 MiB block of open bus, for one step */
#define VMM_OFF_STACK   0x20000u  /* VMM stack (top of a 64 KiB area) */

/* The VMM's own segments exist only in hidden caches (the hardware TR, and
   under BT the TC's CS and GS): every one of the 8192 shadow GDT slots is
   the guest's, so no guest selector can name a VMM descriptor
   (docs/isolation.md). The selectors below are what those caches show. */
#define VMM_SEL_CODE 0xFFE8u      /* VMM code (no slot; nothing loads it) */
#define VMM_SEL_DATA 0xFFF0u      /* VMM data (the TSS's SS0; no slot) */
#define VMM_SEL_TSS  0xFFF8u      /* hardware TR's selector: STR shows it */
#define VMM_GUEST_SLOTS 8192u     /* guest GDT slots the shadow holds: all */

enum vmm_engine { VMM_TRAP = 1, VMM_BT = 2, VMM_HW = 3 };

struct vmm;

/*
 * Create the monitor for `cpu`. Guest-physical memory is `pm` (mem/pmap.h);
 * the VMM region is the 4 MiB of the CPU's physical memory at region_pa
 * (alone on its machine: the frames just above guest RAM). Events go to
 * `ev` stamped with vm_id; `costs` and `pm` must outlive the vmm. NULL +
 * err on failure.
 */
struct pmap;
struct vmm *vmm_create(enum vmm_engine engine, struct cpu *cpu, uint32_t guest_ram,
                       struct pmap *pm, uint32_t region_pa,
                       struct event_bus *ev, const struct cost_profile *costs,
                       uint8_t vm_id, char *err, size_t errlen);
/* Snapshots (sim/snapshot.c), debuggers. The guest's architectural state as
   native hardware would hold it (interrupts the guest cannot take yet wait
   at the PIC, not in the monitor, so the devices need no correction). */
void vmm_guest_state(struct vmm *v, struct cpu_state *out);
/* 0 when the guest is between instructions outside the TC (a snapshot can
   be taken), else -1 with the reason. */
int vmm_settle(struct vmm *v, char *err, size_t errlen);
/* Take the CPU's state (native view, as a restore left it) as the guest's:
   rebuild the shadow structures and deprivilege. 0 or -1 + err. */
int vmm_adopt_state(struct vmm *v, char *err, size_t errlen);

/* A debugger's view of guest linear memory, through the guest's own page
   tables (never the VMM's): 0, or -1 if a page is not mapped. */
int vmm_guest_read(struct vmm *v, uint32_t lin, void *buf, uint32_t len);
int vmm_guest_write(struct vmm *v, uint32_t lin, const void *buf, uint32_t len);

/* A Type II (hosted) hypervisor: every emulated device access pays a world
   switch to the host OS (cost hosted_io, overhead cause hosted-io). */
void vmm_set_hosted(struct vmm *v, bool hosted);

/* --mode hw --npt: nested paging (an EPT-like second table) instead of
   shadow page tables. Call before the guest is loaded; false (and nothing
   changed) for another engine. */
bool vmm_set_npt(struct vmm *v, bool on);

/* The VM id stamped on the monitor's events (vm.c sets it after creation). */
void vmm_set_vm_id(struct vmm *v, uint8_t id);
void vmm_destroy(struct vmm *v);

/* Take the CPU's current (multiboot entry) state as the guest's and
   deprivilege the hardware CPU. Call after cpu_reset_multiboot. */
void vmm_reset(struct vmm *v);

/* Run the guest until cpu->cycles >= cycle_limit or another stop reason. */
enum cpu_stop vmm_run(struct vmm *v, uint64_t cycle_limit);

/*
 * The no-progress watchdog: a run whose monitor visits (intercepts, hidden
 * or tracing faults, reflections, BT gate exits) keep coming while no guest
 * instruction retires would never reach --max-insns. After this many
 * consecutive visits without a retired guest instruction the monitor ends
 * the run as an internal error (exit status 12); the native engine counts
 * vector deliveries the same way (machine.c).
 */
#define VMM_NO_PROGRESS_VISITS 100000u

/* The monitor ended the run on its own error (an internal inconsistency or
   the watchdog) rather than on something the guest did: status 12. */
bool vmm_internal_error(const struct vmm *v);

/* The guest's virtual IF and halted state (the machine's idle logic). */
bool vmm_guest_if(const struct vmm *v);
bool vmm_guest_halted(const struct vmm *v);
const struct vcpu *vmm_vcpu(const struct vmm *v);
/* The selector the guest believes segment register `sreg` holds. */
uint16_t vmm_guest_sel(const struct vmm *v, int sreg);

/* "mov cr", "mov sreg", "cli"...: a cause/insn label for a table row. */
const char *vmm_row_label(const struct op_row *row);

/* Per-row counters (traps, callouts, silent sensitive instructions) merged
   by label, since several rows share one ("in" has four forms): the labels
   with a non-zero total, in table order. Returns how many were written. */
struct label_count {
    const char *label;
    uint64_t n;
};
int vmm_counts_by_label(const uint64_t *by_row, unsigned nrows, struct label_count *out,
                        int max);

/* The guest EIP an event concerns (sim/event.h) when the hardware is at
   hw_eip: the same, except inside translated code (--mode bt), where it is
   the guest instruction the TC address belongs to. */
uint32_t vmm_event_eip(const struct vmm *v, uint32_t hw_eip);

#endif
