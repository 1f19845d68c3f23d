/*
 * snapstate.h - the field tables of every struct a snapshot holds.
 *
 * One snap_type per saved struct (snapcodec.h). A field added to one of
 * these structs is saved only once it is added here, and adding it changes
 * the encoded size, which SNAP_VERSION must then follow (docs/snapshot.md).
 */
#ifndef RS_SNAPSTATE_H
#define RS_SNAPSTATE_H

#include "snapcodec.h"

/* The CPU's counters beside its architectural state. */
struct snap_cpu_counters {
    uint64_t cycles, insns, tc_extra_insns, tc_extra_cycles;
    uint32_t lf_none;             /* reserved: lazy flags are folded into EFLAGS first */
};

extern const struct snap_type snap_cpu_state_type;    /* struct cpu_state */
extern const struct snap_type snap_cpu_counters_type; /* struct snap_cpu_counters */
extern const struct snap_type snap_pic_type;          /* struct pic */
extern const struct snap_type snap_pit_type;          /* struct pit (not irq0) */
extern const struct snap_type snap_uart_type;         /* struct uart (not irq, tx) */
extern const struct snap_type snap_debugexit_type;    /* struct debugexit */
extern const struct snap_type snap_post_type;         /* struct post */
/* the PC's further devices ("PC  " chunk, docs/snapshot.md) */
extern const struct snap_type snap_lapic_type;        /* struct lapic */
extern const struct snap_type snap_ioapic_type;       /* struct ioapic */
extern const struct snap_type snap_ide_type;          /* struct ide, its registers */
extern const struct snap_type snap_vgacrt_type;       /* struct vgacrt */
extern const struct snap_type snap_cmos_type;         /* struct cmos */
extern const struct snap_type snap_rtc_type;          /* struct cmos: the clock's epoch */
extern const struct snap_type snap_fwcfg_type;        /* struct fwcfg: the selected key */
extern const struct snap_type snap_sysctl_type;       /* struct sysctl */
extern const struct snap_type snap_kbc_type;          /* struct kbc */
/* The two MSRs of the PC's devices (kept in the CPU state, saved with them). */
struct snap_pc_msrs {
    uint64_t apic_base, misc_enable;
};
extern const struct snap_type snap_pc_msrs_type;      /* struct snap_pc_msrs */
extern const struct snap_type snap_stats_type;        /* struct stats */

#endif
