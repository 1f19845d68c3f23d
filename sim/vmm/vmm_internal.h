/*
 * vmm_internal.h - what the parts of sim/vmm share (not for outside use).
 *
 * struct vmm is the monitor's state for one VM: the vcpu, the hardware CPU
 * it drives, where its region lives in the CPU's physical memory, and the
 * per-visit accounting. The files:
 *   vmm.c        lifecycle, the run loop, hooks, world switches, accounting
 *   shadow.c     the VMM region: page directory, shadow GDT, IDT, TSS;
 *                guest memory and descriptor access; hardware segment loads
 *   monitor.c    an intercept arrives: trap (emulate) or reflect
 *   reflect.c    delivering a vector through the guest's own IDT
 *   emulate.c    the emulation library: privileged instructions
 *   emulate_seg.c  the emulation library: segment loads, far transfers, IRET, flags
 */
#ifndef RS_VMM_INTERNAL_H
#define RS_VMM_INTERNAL_H

#include "vmm/vmm.h"
#include "vmm/emulate.h"
#include "vmm/shadow_pt.h"
#include "cpu/optable.h"
#include "mem/pmap.h"

struct vmm {
    enum vmm_engine engine;
    struct cpu *cpu;            /* the hardware CPU (owned by the machine) */
    struct vcpu vc;             /* the guest's privileged state */
    uint32_t guest_ram;         /* bytes of guest-physical memory */
    uint32_t region_pa;         /* physical address of the VMM region (= guest_ram) */
    struct event_bus *events;   /* the machine's event stream */
    const struct cost_profile *costs;
    uint8_t vm_id;
    int64_t visit_overhead;     /* VMM cycles minus native-equivalent cycles, this visit */
    const char *stop_msg;       /* why the monitor stopped the run */
    uint64_t mmio_steps;        /* guest instructions stepped against device MMIO */
    uint64_t mmio_emulated;     /* hw: device MMIO moves emulated (emu_mmio_move) */
    enum cpu_stop pending_stop; /* result of a delivery made outside an intercept */
    struct spt *spt;            /* shadow page tables (shadow_pt.h) */
    struct bt *bt;              /* the binary translator (--mode bt), else NULL */
    struct hw *hw;              /* the hardware-assisted engine (--mode hw), else NULL */
    bool npt;                   /* hw --npt: nested paging, no shadow page tables */
    bool hosted;                /* Type II host: device accesses go through the host OS */
    uint64_t gsrc[VMM_GUEST_SLOTS]; /* guest descriptor each shadow GDT slot was made from */
    struct seg gseg[S_COUNT];   /* guest hidden cache per sreg as hw_load_seg loaded it */
    struct seg hseg[S_COUNT];   /* the truncated cache it put in the hardware */
    bool trunc_step;            /* shadow_trunc_fault is stepping an instruction */
    bool internal;              /* the monitor stopped the run on its own error */
    bool irq_held;              /* an interrupt waits at the PIC for virtual IF:
                                   hardware IF held at 0 until then (monitor.c) */
    uint64_t wd_insns;          /* watchdog: guest instructions at the last progress */
    uint32_t wd_visits;         /* watchdog: monitor visits since then */
    struct pmap *pm;            /* guest-physical -> machine (guest_phys.c) */
    uint32_t *idpt;             /* machine memory: frames of the 1:1 map's page tables */
    uint32_t nidpt;
    uint8_t *pm_stale_map;      /* frames shadows must stop naming (bit per frame) */
    bool pm_stale;
};

/* The hardware IF of guest state: 1 (the virtual IF is the vcpu's), except
   while an interrupt is held at the PIC (monitor.c mon_external), when a 1
   would make the CPU take the held request again at once. */
static inline uint32_t vmm_guest_hw_if(const struct vmm *v)
{
    return v->irq_held ? 0 : FL_IF;
}

/* vmm.c: the vcpu from the CPU's (native-view) state. */
void vmm_capture(struct vmm *v);
/* vmm.c: the CPU's (native-view) state becomes the guest's (reset, restore). */
bool vmm_take_state(struct vmm *v, bool entry);

/* ---- vmm.c: events and accounting ---- */
void vmm_emit(struct vmm *v, enum ev_kind kind, enum ev_path path,
              uint32_t a, uint32_t b, uint32_t c, uint32_t d);
/* Charge `vmm_cycles` to virtual time for work natively worth `native`,
   paid for `cause` (an EV_OVERHEAD event: the stats split overhead by it). */
void vmm_charge(struct vmm *v, enum ev_ov_cause cause, uint32_t vmm_cycles, uint32_t native);
/* The same for cycles already on the clock (the TC's extra instructions). */
void vmm_account(struct vmm *v, enum ev_ov_cause cause, uint32_t vmm_cycles, uint32_t native);
/* Entering (in = true) or leaving the monitor: EV_WORLD_SWITCH; on leaving,
   word c carries the visit's overhead cycles. */
void vmm_world_switch(struct vmm *v, bool in);
/* Before running the guest: wake or deliver what the virtual IF allows;
   false with *why set if the vcpu stays halted or delivery stopped the run. */
bool vmm_prepare(struct vmm *v, enum cpu_stop *why);
/* Virtual CPL change: EV_RING with virtual and real CPLs. */
void vmm_set_cpl(struct vmm *v, int vcpl);

/* ---- guest_phys.c: guest-physical memory through the pmap ---- */
static inline bool vmm_pooled(const struct vmm *v) { return v->idpt != NULL; }
/* Decode the guest instruction at CS:EIP, read through the hardware MMU
   (an exception exit or a trap records no length): false if unreadable or
   not an instruction (monitor.c). */
bool vmm_decode_at_eip(struct vmm *v, struct insn *in);
/* Does the 1:1 map hold read-only pages ring 1 must honour (CR0.WP)? On
   machine memory (shared frames), and under bt (code it has translated). */
static inline bool vmm_wp_needed(const struct vmm *v) { return vmm_pooled(v) || v->bt; }
int vmm_use_machine_memory(struct vmm *v, struct pmap *pm, uint32_t region_pa, char *err,
                           size_t errlen);
void vmm_release_machine_memory(struct vmm *v);
/* The 1:1 map (guest paging off) on machine memory: its PD slots and PTEs. */
void vmm_build_idmap(struct vmm *v, uint8_t *pd);
uint32_t *vmm_idpt_pte(struct vmm *v, uint32_t gpa);
/* Set or clear write permission in the 1:1 map (BT code protection). */
void vmm_idmap_writable(struct vmm *v, uint32_t gpa, bool w);
/* Drop shadow entries naming frames that guest pages left. */
void vmm_pmap_sync(struct vmm *v);
/* The private frame for writing guest page gpa (copy on write); false with
   stop_msg if the host is out of machine memory. */
bool vmm_own_frame(struct vmm *v, uint32_t gpa, uint32_t *frame);
/* The frame for reading (allocated on first touch); *ro if shared. */
bool vmm_touch_frame(struct vmm *v, uint32_t gpa, uint32_t *frame, bool *ro);
/* Machine address of gpa, UINT32_MAX if no frame backs it yet. */
uint32_t vmm_machine_pa(const struct vmm *v, uint32_t gpa);
void vmm_read_guest_phys(struct vmm *v, uint32_t gpa, void *buf, uint32_t n);
/* The guest-physical address the hardware reaches through `lin` now
   (translated code is keyed by it); false if unmapped or not guest RAM. */
bool vmm_lin_to_gpa(struct vmm *v, uint32_t lin, uint32_t *gpa);
bool vmm_guest_phys_equal(struct vmm *v, uint32_t gpa, const void *buf, uint32_t n);
void vmm_poke_guest_phys(struct vmm *v, uint32_t gpa, const void *src, uint32_t n);
/* Guest paging off on machine memory: a first touch (or a write to a
   shared page) through the 1:1 map. */
enum spt_verdict spt_unpaged_fill(struct vmm *v, uint32_t lin, bool write);

/* ---- shadow.c ---- */
void shadow_build_region(struct vmm *v);           /* PD, page tables, IDT, TSS, VMM slots */
void shadow_gdt_rebuild(struct vmm *v);            /* from vc.gdtr (guest memory) */
/* Slots first..last only (a traced write to those guest descriptors). */
void shadow_gdt_refresh(struct vmm *v, unsigned first, unsigned last);
void shadow_gdt_sync(struct vmm *v);               /* slots whose guest entry changed */
/* Truncate a code/data hidden cache below the VMM region; false if it was safe. */
/* False for a present code descriptor truncation leaves nothing of (based
   in the VMM region): it must never reach the hardware CS. */
bool shadow_code_ok(uint64_t guest);
bool shadow_truncate_seg(struct seg *s);
/* The guest's hidden caches as the hardware ones after a reset (vmm_reset). */
void shadow_reset_segs(struct vmm *v);
/* A #GP(0)/#SS(0) the truncation may have caused: re-execute the
   instruction with the guest's own segments; true with *why if handled. */
bool shadow_trunc_fault(struct vmm *v, enum cpu_stop *why);
uint64_t shadow_desc_from_guest(uint64_t guest);   /* one descriptor, compressed */
uint64_t shadow_read_slot(struct vmm *v, unsigned index);
/* Guest linear memory: guest-physical while guest paging is off, else
   through the guest's page tables (shadow_pt.h). EMU_NEXT, or EMU_FAULT
   with *f the fault native would raise (#PF, error code, CR2); outside
   guest RAM reads are 0 and writes are dropped (QEMU's unassigned memory).
   gmem_read/gmem_write are supervisor accesses (descriptor tables, TSS,
   interrupt frames); gmem_access takes GMEM_* bits. */
enum { GMEM_WRITE = 1u, GMEM_USER = 2u, GMEM_PROBE = 4u /* translate only */ };
/* The one way the VMM writes guest RAM on the guest's behalf (emulated
   stores, interrupt frames, a debugger's writes): the bytes at guest-physical
   pa (dropped beyond guest RAM), then every cache a guest store would
   invalidate - decoded instructions, shadow page tables built from the page,
   translations of it - and the dirty log. */
void vmm_write_guest_phys(struct vmm *v, uint32_t pa, const void *src, uint32_t n);
int gmem_access(struct vmm *v, uint32_t lin, void *buf, uint32_t len, unsigned how,
                struct emu_fault *f);
int gmem_read(struct vmm *v, uint32_t lin, void *buf, uint32_t len, struct emu_fault *f);
int gmem_write(struct vmm *v, uint32_t lin, const void *buf, uint32_t len,
               struct emu_fault *f);
/* The guest's own hidden cache of segment register i (the hardware's may be
   truncated below the VMM region): what native would hold, DPL compressed. */
void shadow_guest_seg(struct vmm *v, int i, struct seg *out);
/* The guest's descriptor for `sel` from its GDT or LDT; false if past the limit. */
bool guest_desc(struct vmm *v, uint16_t sel, uint64_t *desc);
/* Load hardware segment register `sreg` for `sel` from the guest's own
   descriptor (read again), truncated, with selector RPL `rpl` (CS: also
   sets the hardware CPL); refreshes the shadow GDT slot. */
void hw_load_seg(struct vmm *v, int sreg, uint16_t sel, int rpl);
/* Guest-visible selector of a hardware one (RPL 1 shows as 0). */
uint16_t guest_visible_sel(uint16_t hw_sel);
/* Hidden-cache fields from a descriptor (same layout as struct seg). */
void desc_to_seg(struct seg *s, uint16_t sel, uint64_t d);

/* Descriptor fields (Intel SDM vol. 3, 3.4.5). */
static inline unsigned desc_dpl(uint64_t d) { return (unsigned)(d >> 45) & 3u; }
static inline bool desc_present(uint64_t d) { return (d >> 47) & 1u; }
static inline bool desc_s(uint64_t d) { return (d >> 44) & 1u; }
static inline unsigned desc_type(uint64_t d) { return (unsigned)(d >> 40) & 0xfu; }
static inline bool desc_code(uint64_t d) { return desc_s(d) && (desc_type(d) & 8u); }

/* ---- monitor.c ---- */
enum cpu_stop mon_intercept(struct vmm *v);
/* End the run as an internal error (status 12) with `msg`. */
enum cpu_stop mon_internal(struct vmm *v, const char *msg);
/* One more monitor visit: true (and the run stopped, as mon_internal) once
   VMM_NO_PROGRESS_VISITS came in a row with no guest instruction retired. */
bool mon_no_progress(struct vmm *v);
/* Deliver queued interrupts if virtual IF allows. */
void mon_deliver_pending(struct vmm *v);
/* Halted vcpu: deliver a deliverable interrupt and return true, else false. */
bool mon_wake(struct vmm *v);

/* ---- reflect.c ---- */
enum reflect_kind { RK_EXC, RK_EXT, RK_SOFT };
/*
 * Deliver `vector` through the guest IDT as the hardware would at the
 * current virtual CPL. ret_eip is the EIP to push (the faulting instruction,
 * or the next one for traps and INT n). Returns EMU_NEXT-style status:
 * EMU_JUMP on success, EMU_STOP for triple fault / unsupported (v->stop_msg).
 */
int reflect_vector(struct vmm *v, int vector, uint32_t err, bool has_err,
                   enum reflect_kind kind, uint32_t ret_eip);
/* Deliver a fault record from the emulation library (#PF: CR2 first). */
int reflect_fault(struct vmm *v, const struct emu_fault *f, uint32_t ret_eip);
uint32_t reflect_native_cost(struct vmm *v, int vector, enum reflect_kind kind);
bool intr_has_err(int vector);   /* vectors that push an error code */

#endif
