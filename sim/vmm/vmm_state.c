/*
 * vmm_state.c - the guest's state handed out and taken back (snapshots).
 *
 * Under a VMM the hardware CPU holds a deprivileged guest: ring 1 for its
 * kernel, the VMM's GDT, IDT, TSS and page tables, IF forced on. The guest's
 * own view is the hardware's general registers plus the vcpu. For a
 * snapshot the monitor writes that view out as a native CPU would hold it,
 * and on a restore it takes a native state in as it takes the multiboot
 * entry state at reset, so a snapshot moves freely between engines.
 */
#include "vmm_internal.h"
#include "vmm/bt/bt_internal.h"

#include <stdio.h>
#include <string.h>

void vmm_guest_state(struct vmm *v, struct cpu_state *out, struct pic *pic)
{
    (void)pic;
    cpu_get_eflags(v->cpu);
    *out = v->cpu->s;
}

int vmm_settle(struct vmm *v, char *err, size_t errlen)
{
    snprintf(err, errlen, "snapshots under a VMM engine are not built yet");
    return -1;
}

int vmm_adopt_state(struct vmm *v, char *err, size_t errlen)
{
    snprintf(err, errlen, "restoring a snapshot under a VMM engine is not built yet");
    return -1;
}
