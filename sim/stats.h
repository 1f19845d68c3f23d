/*
 * stats.h - the always-on statistics: a subscriber to the event stream.
 *
 * Counters only (no text). The -v summary, the stats JSON and later the UI's
 * Paths/Overhead panes read this struct. Engines that add event kinds add
 * counters here, so every consumer sees the same numbers.
 */
#ifndef RS_STATS_H
#define RS_STATS_H

#include <stdint.h>
#include "event.h"

#define STATS_ROWS 1024   /* >= op_table_len (asserted when counting) */

struct stats {
    uint64_t by_kind[EV_KIND_COUNT]; /* events of each kind */
    uint64_t exceptions[32];         /* by vector */
    uint64_t interrupts[256];        /* external, by vector */
    uint64_t soft_ints[256];         /* INT n / INT3 / INTO, by vector */
    uint64_t ring_edges[4][4];       /* CPL changes [from][to] */
    uint64_t io_reads, io_writes, io_unmapped;
    /* VMM engines */
    uint64_t path_insns[PATH_COUNT];    /* EV_INSNS: instructions per path */
    uint64_t traps_by_row[STATS_ROWS];  /* EV_TRAP: by opcode-table row */
    uint64_t sensitive_by_row[STATS_ROWS]; /* EV_SENSITIVE: by opcode-table row */
    uint64_t callouts_by_row[STATS_ROWS];  /* EV_CALLOUT: by opcode-table row */
    uint64_t reflected[256];            /* EV_REFLECT: by vector */
    uint64_t world_switches;            /* EV_WORLD_SWITCH, both directions */
    int64_t overhead_cycles;            /* EV_OVERHEAD: all the VMM's overhead (the same
                                           sum the visits carry on leaving) */
    int64_t overhead_by_cause[OV_COUNT];  /* EV_OVERHEAD: overhead per cause */
    uint64_t charges_by_cause[OV_COUNT];  /* EV_OVERHEAD: how many charges per cause */
    uint64_t tc_emulated;               /* EV_TC_EMULATE: operations emulated in the TC */
    /* shadow paging (shadow_pt.h) */
    uint64_t pf_hidden;                 /* EV_SHADOW_FILL: hidden faults (shadow filled) */
    uint64_t pf_true;                   /* EV_PF_TRUE: true faults reflected */
    uint64_t trace_faults;              /* EV_SHADOW_TRACE: guest writes to traced frames */
    uint64_t trace_unchanged;           /* ... that changed no entry (e.g. ptemod) */
    uint64_t shadow_invalidated;        /* shadow entries dropped by traced writes */
    uint64_t guest_accessed_set, guest_dirty_set; /* A/D bits the VMM set in guest entries */
    uint64_t root_switches, root_builds, root_evictions; /* EV_SHADOW_ROOT */
    /* hardware-assisted engine (--mode hw) */
    uint64_t vmexits[64];               /* EV_VMEXIT: by basic exit reason (vmx.h) */
    uint64_t vmexits_total;
    uint64_t injections;                /* EV_INJECT: events injected at VM entry */
    uint64_t reinjections;              /* ... of them, again after an exit during delivery */
    uint64_t injected[256];             /* EV_INJECT: by vector */
};

/* Subscribe `st` (zeroed) to every kind on `eb`. */
int stats_attach(struct stats *st, struct event_bus *eb);
void stats_on_event(void *ctx, const struct event *ev);

#endif
