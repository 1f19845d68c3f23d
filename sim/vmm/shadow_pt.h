/*
 * shadow_pt.h - shadow page tables: virtualizing the guest's paging.
 *
 * When the guest turns paging on, the hardware does not walk the guest's
 * page tables: it walks *shadow* tables the VMM builds from them, lazily,
 * in frames of the VMM region (Adams & Agesen 2006, §3.2; Bugnion et al.
 * 2012, §6.2). The guest's tables stay what the guest believes they are;
 * the shadow maps the same linear pages to the same frames with rights the
 * VMM may narrow:
 *
 *   - a page the guest has not dirtied is mapped read-only, so the first
 *     write faults and the VMM sets D in the guest PTE (A is set on fill);
 *   - frames holding guest page tables or the guest GDT are *traced*: mapped
 *     read-only, so a guest write to them is a tracing fault; the VMM lets
 *     the one instruction write (single-step) and updates the shadow from
 *     what changed;
 *   - frames holding code the binary translator translated are mapped
 *     read-only too (the hardware walks the shadow, not the VMM's 1:1 map,
 *     once the guest pages): a guest write is a tracing fault that drops
 *     the translations (bt_code_page_written) before the write completes;
 *   - the top 4 MiB (the VMM region) is always the VMM's.
 *
 * A hardware #PF is then either *hidden* (the guest's tables allow the
 * access; the shadow was merely not filled: fill, resume, the guest never
 * knows) or *true* (the guest's own tables forbid it: reflect #PF with the
 * error code and CR2 the guest's hardware would give). Guest CR3 writes
 * switch between a small cache of shadow roots. All state lives in struct
 * spt (plain data plus frames in the region), so it can be dropped and
 * rebuilt: the shadow is a cache of the guest's tables.
 */
#ifndef RS_SHADOW_PT_H
#define RS_SHADOW_PT_H

#include <stdint.h>
#include <stdbool.h>
#include "cpu/cpu.h"

struct vmm;

#define SPT_OFF_POOL   0x100000u  /* region offset of the shadow frame pool */
#define SPT_OFF_OPEN_BUS 0x15000u /* region offset of the open-bus frame (all ones) */
#define SPT_POOL_PAGES 256u       /* 1 MiB of shadow page directories and tables */
#define SPT_ROOTS      4u         /* cached shadow roots (one per guest CR3) */
#define SPT_STEP_PAGES 4u         /* traced pages one instruction may write */

/* Kinds of traced frames, word b of EV_SHADOW_TRACE (CODE: the frame held
   code the binary translator had translated; its blocks were dropped). */
enum spt_trace_kind { SPT_TRACE_PT = 1, SPT_TRACE_PD = 2, SPT_TRACE_GDT = 4,
                      SPT_TRACE_CODE = 8 };

/* What the monitor does with a hardware #PF (spt_page_fault). */
enum spt_verdict {
    SPT_HIDDEN,   /* shadow filled: resume the guest */
    SPT_TRACE,    /* tracing fault: the writer was stepped, the shadow updated */
    SPT_TRUE,     /* the guest's fault: reflect #PF(err), vcpu CR2 set */
    SPT_STOP,     /* something not modeled: v->stop_msg */
    SPT_REFAULT,  /* the instruction, stepped, raised another exception (the
                     CPU's stop fields): the monitor handles that one */
};

struct spt *spt_create(struct vmm *v);
void spt_destroy(struct spt *s);
/* Forget every shadow (the guest's paging is off after reset). */
void spt_reset(struct vmm *v);

/* True while the guest has paging on (the hardware walks a shadow root). */
bool spt_active(const struct vmm *v);
/* Whether guest linear `lin` reaches the device window (VMM_MMIO_BASE):
   the address itself with guest paging off, else the frame the guest's
   own tables map it to (a walk that sets no A/D bit). */
bool spt_mmio_addr(struct vmm *v, uint32_t lin);

/* A guest MOV to CR0/CR3/CR4 changed vc.crN (old value given): switch
   roots, turn shadowing on or off, drop shadows whose meaning changed.
   false with v->stop_msg if the guest's setup cannot be shadowed. */
bool spt_cr_written(struct vmm *v, int cr, uint32_t old);
void spt_invlpg(struct vmm *v, uint32_t lin);
/* The guest loaded a GDT: trace its frames (paging on). */
void spt_gdt_loaded(struct vmm *v);
/* The binary translator translated code on the guest-physical page holding
   `guest_phys_page` (any address in it): map that frame read-only in every
   shadow so that a guest write faults (self-modifying code, paging on). */
void spt_code_page_added(struct vmm *v, uint32_t guest_phys_page);
/* Drop every shadow PTE naming a frame whose bit is set in `stale`
   (machine memory: guest pages moved to other frames). */
void spt_drop_frames(struct vmm *v, const uint8_t *stale);
/* The guest-physical address the guest's tables map `lin` to (no A/D
   update); false if unmapped or outside guest RAM. */
bool spt_guest_phys_peek(struct vmm *v, uint32_t lin, uint32_t *gpa);

/* A hardware #PF at CR2 with the hardware error code. *err receives the
   guest's error code for SPT_TRUE. For SPT_TRACE the writing instruction
   has already been executed (single-stepped on the hardware with the
   traced pages open) and the shadow updated: the caller just resumes.
   Works for every engine (trap, bt): nothing is left for the run loop. */
/* Guest paging off, `lin` above guest RAM (open bus natively): map it to
   the open-bus frame for one step, and back (shadow_pt_fault.c). */
struct spt_open_map { uint32_t *slot, old; };
bool spt_open_bus_beyond(const struct vmm *v, uint32_t lin);
struct spt_open_map spt_open_bus_map(struct vmm *v, uint32_t lin);
void spt_open_bus_unmap(struct vmm *v, struct spt_open_map m);
enum spt_verdict spt_page_fault(struct vmm *v, uint32_t lin, uint32_t hw_err,
                                uint32_t *err);


/* The VMM's own accesses to guest linear memory (paging on): translate
   through the guest's tables, setting A/D as the hardware would. */
bool spt_guest_phys(struct vmm *v, uint32_t lin, bool write, uint32_t *pa);
/* The VMM wrote guest-physical [pa, pa+len): keep traced shadows coherent. */
void spt_guest_written(struct vmm *v, uint32_t pa, uint32_t len);

#endif
