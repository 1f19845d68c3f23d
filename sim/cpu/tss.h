/*
 * tss.h - the 32-bit task-state segment, as the CPU and a VMM both read it.
 *
 * A hardware task switch (SDM vol. 3, 7.2-7.3) saves the old task's state
 * into its TSS and loads the new one's. The native CPU does it in
 * sim/cpu/task.c, the trap and bt engines on the guest's own TSSes in
 * sim/vmm/emulate_task.c: one layout for both, so they cannot disagree.
 */
#ifndef RS_CPU_TSS_H
#define RS_CPU_TSS_H

#include <stdbool.h>
#include <stdint.h>
#include "cpu.h"

#define TSS32_MIN_LIMIT 0x67u      /* a 32-bit TSS is at least 104 bytes */
#define TSS32_BYTES     0x68u

/* Byte offsets of the fields a task switch reads or writes. */
enum {
    TSS_LINK = 0x00, TSS_CR3 = 0x1c, TSS_EIP = 0x20, TSS_EFLAGS = 0x24,
    TSS_REGS = 0x28, TSS_SEGS = 0x48, TSS_LDT = 0x60
};

/* What the new TSS holds (read before the commit point). */
struct task_image {
    uint32_t cr3, eip, eflags, r[8];
    uint16_t seg[S_COUNT], ldt;
};

/* Descriptor types 1, 3, 9, 11: a 16- or 32-bit TSS, available or busy. */
static inline bool tss_type(unsigned type) { return (type & 5u) == 1u; }

#endif
