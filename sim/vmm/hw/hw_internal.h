/*
 * hw_internal.h - what the files of the hardware-assisted engine share:
 *   hw_run.c   lifecycle, the VMCS's controls and host state, VM entry
 *              with event injection, the run loop
 *   hw_exit.c  VM exits: reading the guest state back, one handler per
 *              exit reason, pricing
 */
#ifndef RS_HW_INTERNAL_H
#define RS_HW_INTERNAL_H

#include "vmm/vmm_internal.h"
#include "vmm/hw/hw.h"
#include "cpu/vmx.h"

/* CR0 bits the VMM owns (guest/host mask): PE and PG because VT-x without
   unrestricted guest keeps them 1 in non-root mode (the guest's values are
   in the read shadow), WP because shadow paging needs it, CD/NW because the
   VMM decides caching. The guest owns MP, EM, TS, ET, NE, AM. */
#define HW_CR0_OWNED (CR0_PE | CR0_PG | CR0_WP | CR0_CD | CR0_NW)
#define HW_CR4_OWNED 0xFFFFFFFFu    /* every CR4 bit: paging modes are the shadow's */

/* Nested paging (--npt): the EPT-like table in the VMM region. */
#define HW_OFF_EPT      0x200000u     /* the nested directory */
#define HW_OFF_EPT_TAIL 0x201000u     /* its table for the 4 MiB block guest RAM ends in */
#define HW_UNASSIGNED_PA 0xFFC00000u  /* host-physical range with no RAM (reads 0) */

struct hw {
    struct vmcs vmcs;                 /* the one VMCS of this VM */
    uint64_t npt_accounted;           /* cpu->npt_cycles already booked as overhead */
    void *pic_ctx;                    /* the virtual PIC, as the machine wired it */
    bool (*pic_pending)(void *ctx);
    int (*pic_ack)(void *ctx);
};

/* hw_exit.c: the CPU returned CPU_STOP_VMEXIT; the run continues on
   CPU_STOP_BUDGET, else stops with the returned reason. */
enum cpu_stop hw_exit(struct vmm *v);
/* hw_run.c: queue an event for the next entry (an exception the
   emulation raised, a true #PF, a re-injection). */
void hw_queue_event(struct vmm *v, uint32_t info, uint32_t err, bool again);
/* hw_run.c: an EPT violation at guest-physical `gpa`: map its block in the
   nested table (guest RAM 1:1, unassigned memory above it). */
void hw_ept_fill(struct vmm *v, uint32_t gpa);

#endif
