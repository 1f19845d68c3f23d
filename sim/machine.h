/*
 * machine.h - the simulated PC: CPU + RAM + port bus + devices, and its clock.
 *
 * A machine is one PC as DESIGN.md §4 specifies it (the subset QEMU gives a
 * multiboot kernel with -serial stdio and isa-debug-exit). It owns its RAM and
 * devices, wires the CPU's bus callbacks to them, and runs the CPU in slices
 * bounded by the next device deadline (the PIT), so that virtual time is
 * nothing but the CPU's modeled cycles and every run is deterministic.
 *
 * Nothing here assumes there is only one machine in the process, and nothing
 * writes to the terminal: guest serial output goes to the `out` callback.
 */
#ifndef RS_MACHINE_H
#define RS_MACHINE_H

#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#include "cpu/cpu.h"
#include "mem/pmap.h"
#include "hw/bus.h"
#include "hw/pic.h"
#include "hw/pit.h"
#include "hw/uart.h"
#include "hw/debugexit.h"
#include "hw/post.h"
#include "hw/lapic.h"
#include "hw/ioapic.h"
#include "hw/ide.h"
#include "hw/vgacrt.h"
#include "hw/cmos.h"
#include "hw/fwcfg.h"
#include "hw/sysctl.h"
#include "hw/kbc.h"
#include "hw/firmware.h"
#include "hw/multiboot.h"
#include "event.h"
#include "stats.h"
#include "vmm/cost.h"
#include "vmm/vmm.h"

/* The engine that runs the guest (DESIGN.md §2). */
enum machine_mode {
    MODE_NATIVE = 0,  /* the guest owns the hardware CPU */
    MODE_TRAP,        /* naive trap-and-emulate VMM (sim/vmm) */
    MODE_BT,          /* binary translation + direct execution (sim/vmm/bt) */
    MODE_HW,          /* hardware-assisted: VT-x-style non-root mode + exits (sim/vmm/hw) */
};

/* Engine names as `--mode` spells them ("native", "trap"): an engine added to
   enum machine_mode adds its name in machine.c, and the run command and the
   TUI's mode switch pick it up. NULL for a value past the last engine. */
const char *machine_mode_name(int mode);
/* The engine called `name`, or -1. */
int machine_mode_parse(const char *name);

/* How a run ended. Each has its own exit status in `ringside run`. */
enum machine_end {
    END_NONE = 0,     /* still running (budget slice returned) */
    END_GUEST_EXIT,   /* write to isa-debug-exit: exit_code = (V << 1) | 1 */
    END_TRIPLE_FAULT, /* the CPU triple-faulted (a real PC would reset) */
    END_HALTED,       /* HLT with interrupts disabled, or with nothing to wake it */
    END_BUDGET,       /* --max-insns exhausted */
    END_UNSUPPORTED,  /* the guest used something ringside does not model */
    END_INTERNAL,     /* ringside's own error, or the no-progress watchdog (status 12) */
    END_UNTIL,        /* the guest printed the text `ringside run --until` waits for */
};

/* The native engine's no-progress watchdog: this many vector deliveries in
   a row without a retired instruction (a #UD handler that is itself ud2)
   end the run as END_INTERNAL, like VMM_NO_PROGRESS_VISITS monitor visits
   under a VMM. */
#define MACHINE_NO_PROGRESS_VECTORS 100000u

struct machine {
    struct cpu cpu;
    uint8_t *ram;              /* alone: guest-physical 0 .. ram_size (+ VMM frames
                                  above); on a host's machine memory NULL (use pm) */
    uint32_t ram_size;         /* guest RAM only: what the loader and guest see */
    struct pmap pm;            /* guest-physical -> machine frames (mem/pmap.h) */
    enum machine_mode mode;
    struct vmm *vmm;           /* the monitor (NULL in native mode) */
    struct bus bus;
    struct pic pic;
    struct pit pit;
    struct uart uart;
    struct debugexit dbg;
    struct post post;
    struct lapic lapic;        /* at IA32_APIC_BASE (0xFEE00000) while enabled */
    struct ioapic ioapic;      /* at 0xFEC00000 */
    struct ide ide;            /* primary channel, 0x1F0-0x1F7, 0x3F6, IRQ 14 */
    struct vgacrt crt;         /* 0x3D4/0x3D5 */
    struct cmos cmos;          /* 0x70/0x71 */
    struct sysctl sysctl;      /* 0x92 */
    struct kbc kbc;            /* 0x60/0x64, IRQ 1 */
    struct fwcfg fwcfg;        /* 0x510/0x511: QEMU's fw_cfg */
    uint64_t mmio_reads, mmio_writes;     /* device MMIO (APIC pages) */
    uint64_t mmio_unassigned;             /* accesses to no device: read 0 */

    void (*out)(void *ctx, uint8_t byte); /* guest COM1 transmit */
    void *out_ctx;

    struct cost_profile costs; /* modeled cycles (vmm/cost.h); default p4-672 */
    struct event_bus events;   /* everything that happens (event.h) */
    struct stats stats;        /* always-on counters, subscribed to `events` */
    uint8_t vm_id;             /* stamped on every event */
    enum machine_end end;
    int exit_code;             /* END_GUEST_EXIT: (V << 1) | 1 */
    char end_msg[160];         /* one line describing how the run ended */
    bool pause;                /* machine_request_pause: return from machine_run */
    uint64_t idle_cycles;      /* cycles skipped halted, waiting for the timer: the
                                  guest's time passed, no CPU was used */
    uint64_t wd_insns;         /* watchdog: instructions retired at the last delivery */
    uint32_t wd_vectors;       /* watchdog: deliveries in a row with none retired */
};

/* Allocate RAM (mem_mib MiB) and wire the devices. Returns 0, or -1 with err. */
int machine_init(struct machine *m, uint32_t mem_mib, char *err, size_t errlen);
/* The same for an engine: VMM modes allocate guest RAM + 4 MiB, the frames
   above guest RAM backing the VMM region (sim/vmm/vmm.h). */
int machine_init_mode(struct machine *m, uint32_t mem_mib, enum machine_mode mode,
                      char *err, size_t errlen);
/* The same on a host's machine memory (mem/frames.h): guest pages get
   frames of `pool` on first touch, the VMM region is 4 MiB of it. trap and
   bt only (hw and native keep RAM of their own: machine_init_mode). */
int machine_init_pooled(struct machine *m, uint32_t mem_mib, enum machine_mode mode,
                        struct frames *pool, char *err, size_t errlen);
/* Guest-physical pages as data (snapshots, migration): a page's bytes, or
   NULL if no frame backs it (all zeros); replace a page (NULL: zeros), as
   a DMA write would, seen by every cache. false: out of machine memory. */
const uint8_t *machine_guest_page(const struct machine *m, uint32_t page);
bool machine_put_guest_page(struct machine *m, uint32_t page, const uint8_t *data);
void machine_read_phys(const struct machine *m, uint32_t gpa, void *buf, uint32_t n);
/* Are the 4096 bytes at p all zero (a page snapshots and migration skip)? */
bool machine_page_is_zero(const uint8_t *p);
/* Set the CPU to the multiboot entry state (machine_load does this); under a
   VMM the monitor then takes that state as the guest's. */
void machine_enter(struct machine *m, uint32_t entry, uint32_t eax, uint32_t ebx);
/* The guest's halted state and IF (virtual ones under a VMM). */
bool machine_guest_halted(const struct machine *m);
bool machine_guest_if(struct machine *m);
void machine_free(struct machine *m);

/* Load a multiboot kernel image and set the CPU's entry state. 0 or -1 + err. */
int machine_load(struct machine *m, const uint8_t *image, size_t len,
                 const struct mb_options *opt, char *err, size_t errlen);

/*
 * Run until the machine ends or `insn_limit` total guest instructions have
 * retired (0: no limit); returns m->end (END_NONE if the limit stopped it,
 * which the caller may turn into END_BUDGET or resume).
 */
enum machine_end machine_run(struct machine *m, uint64_t insn_limit);
/* The same, also returning END_NONE once the modeled cycle count reaches
   `cycle_deadline` (0: none): a host's time slice. */
enum machine_end machine_run_until(struct machine *m, uint64_t insn_limit, uint64_t cycle_deadline);

/* From an event subscriber (the TUI's run-until-event): make machine_run
   return END_NONE once the current instruction or monitor visit is done. */
void machine_request_pause(struct machine *m);

/* Which VM this machine is: stamped on every event, the engine's too. */
void machine_set_vm_id(struct machine *m, uint8_t id);

/* Use a cost profile (call before running). */
void machine_set_costs(struct machine *m, const struct cost_profile *p);

/* Modeled cycles the same guest work would have cost natively: the total
   less the overhead the VMM carried on its events (equal to the total in
   native mode). */
uint64_t machine_native_equiv(const struct machine *m);
/* The VMM's overhead as a % of the native equivalent (the stats JSON's
   overhead_pct); negative when the VMM is faster than native (e.g. emulated
   port I/O), 0 natively. */
double machine_overhead_pct(const struct machine *m);

/* Attach disk image `path` as IDE drive `index` (0 master, 1 slave);
   write_through: --disk-write. 0, or -1 with one line in err. */
int machine_attach_disk(struct machine *m, int index, const char *path, bool write_through,
                        char *err, size_t errlen);

/* Host input to COM1 (typed keys). Returns false if the FIFO is full. */
bool machine_serial_input(struct machine *m, uint8_t byte);
/* A character typed on the PS/2 keyboard: its set-1 scancodes into the
   8042 (hw/kbd_keys.h; a character no key types is dropped). false when the
   8042's queue has no room for a whole key. */
bool machine_key_input(struct machine *m, uint8_t ch);
bool machine_key_room(const struct machine *m);
/* Where host input goes: COM1's receiver or the keyboard. */
enum machine_input_dest { INPUT_COM1 = 0, INPUT_KEYBOARD = 1 };
bool machine_input(struct machine *m, enum machine_input_dest dest, uint8_t byte);
/* Whether machine_input(dest) would take a byte now. */
bool machine_input_room(const struct machine *m, enum machine_input_dest dest);

#endif
