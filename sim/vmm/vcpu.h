/*
 * vcpu.h - the virtual CPU: the guest's privileged state as the guest believes it.
 *
 * Under a VMM the hardware CPU (sim/cpu) runs the guest deprivileged: the
 * guest kernel at ring 1 (ring compression), with the VMM's GDT, IDT, TSS and
 * page tables loaded and EFLAGS.IF forced to 1. Everything the guest thinks
 * it set with a privileged instruction lives here instead, in a plain struct
 * (DESIGN.md §5: snapshots write it out as is). The monitor emulates
 * privileged instructions against it and reflects exceptions and interrupts
 * according to it (Adams & Agesen 2006, §3; Bugnion et al. 2012, §4).
 */
#ifndef RS_VCPU_H
#define RS_VCPU_H

#include <stdint.h>
#include <stdbool.h>
#include "cpu/cpu.h"

#define VCPU_PENDING_MAX 16   /* interrupts acknowledged while virtual IF = 0 */

struct vcpu {
    int cpl;                    /* virtual CPL: 0 (guest kernel) or 3 (guest user) */
    bool vif;                   /* virtual EFLAGS.IF */
    uint32_t iopl;              /* virtual EFLAGS.IOPL (0-3) */
    uint32_t cr0, cr2, cr3, cr4;/* the guest's control registers */
    uint32_t dr[8];             /* the guest's debug registers (not acted on) */
    struct dtr gdtr, idtr;      /* the guest's descriptor tables (guest linear) */
    uint16_t ldtr;              /* guest LDTR selector */
    uint32_t ldt_base;          /* base of the guest LDT (guest linear) */
    uint32_t ldt_limit;         /* its byte limit; 0 when LDTR is unusable (null) */
    uint16_t tr;                /* guest TR selector */
    uint32_t tss_base;          /* base of the guest TSS (ss0/esp0 for reflection) */
    uint32_t tss_limit;         /* its byte limit */
    uint16_t sel[S_COUNT];      /* guest-visible segment selectors (RPL as the guest set it) */
    uint32_t sysenter_cs, sysenter_esp, sysenter_eip; /* MSRs 0x174-0x176 */
    bool halted;                /* virtual HLT: waiting for a deliverable interrupt */
    bool sti_shadow;            /* STI just set virtual IF: hold interrupts one insn */
    uint8_t pending[VCPU_PENDING_MAX]; /* acknowledged vectors awaiting virtual IF, FIFO */
    int npending;               /* entries used in pending[] */
};

/* The guest-visible IF. At real CPL 3 it is 1 on arrival (the guest's own
   IRET to user mode ran in hardware unseen by the monitor: mon_sync_cpl),
   and only CLI/STI with IOPL 3 (emulated) change it there. */
static inline bool vcpu_if(const struct vcpu *vc)
{
    return vc->vif;
}

/* Queue a vector acknowledged at the PIC; false if the queue is full. */
bool vcpu_queue_push(struct vcpu *vc, int vector);
/* Oldest queued vector, or -1. */
int vcpu_queue_pop(struct vcpu *vc);

#endif
