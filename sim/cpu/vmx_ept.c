/*
 * vmx_ept.c - nested paging: the second, EPT-like translation (vmx.h).
 *
 * With the EPT control set, the addresses the guest's own paging produces
 * are guest-physical, and the hardware translates each of them through the
 * VMM's table into a host-physical address (SDM vol. 3, 28.2). That
 * includes the addresses of the guest's page-directory and page-table
 * entries themselves, so one TLB miss walks in two dimensions: the guest's
 * 2 levels, each entry address and the final page address going through
 * the nested table's 2 levels - up to (2+1) x (2+1) - 1 = 8 memory
 * references where a native walk makes 2 (the formula Bhargava et al.,
 * ASPLOS 2008, give for 4-level tables: 24). The references the nested
 * table adds are charged cpu->npt_ref_cost cycles each. The TLB caches the
 * combined translation, linear -> host-physical, so a hit costs nothing;
 * VM entries and exits flush it (no VPID).
 *
 * An access the table refuses (no entry, or a write to an entry without W)
 * is an EPT-violation VM exit with the guest-physical address, the linear
 * address and what was attempted; the VMM fills the table and resumes.
 */
#include "vmx_internal.h"

_Noreturn static void ept_violation(struct cpu *cpu, uint32_t gpa, uint32_t lin, bool write,
                                    bool final, uint32_t rights)
{
    struct vmcs *vm = cpu->vmcs;
    bool nested = cpu->fault_depth != 0;
    vmx_exit_info(cpu, VMX_EXIT_EPT_VIOLATION,
                  (write ? EPT_Q_WRITE : EPT_Q_READ) | (rights & EPT_RWX) << 3 | EPT_Q_LINEAR |
                  (final ? EPT_Q_FINAL : 0u));
    vm->guest_physical = gpa;
    vm->guest_linear = lin;
    if (nested) {
        vm->idt_vectoring_info = vmx_delivering_info(cpu, &vm->exit_insn_len);
        vm->idt_vectoring_error = cpu->delivering.has_error ? cpu->delivering.error : 0;
    }
    cpu_stop_run(cpu, CPU_STOP_VMEXIT, NULL);
}

uint32_t vmx_ept_translate(struct cpu *cpu, uint32_t gpa, bool write, uint32_t lin, bool final,
                           bool *writable)
{
    const struct vmcs *vm = cpu->vmcs;
    uint32_t e = phys_read(cpu, (vm->eptp & ~0xFFFu) | (gpa >> 22) << 2, 4), hpa;
    unsigned refs = 1;
    if ((e & EPT_RWX) && (e & EPT_LARGE)) {
        hpa = (e & 0xFFC00000u) | (gpa & 0x003FFFFFu);
    } else if (e & EPT_RWX) {
        e = phys_read(cpu, (e & ~0xFFFu) | ((gpa >> 12) & 0x3FFu) << 2, 4);
        refs++;
        hpa = (e & ~0xFFFu) | (gpa & 0xFFFu);
    } else {
        hpa = 0;
    }
    cpu->npt_refs += refs;
    cpu->npt_cycles += (uint64_t)refs * cpu->npt_ref_cost;
    cpu->cycles += (uint64_t)refs * cpu->npt_ref_cost;
    if (!(e & (write ? EPT_W : EPT_R)))
        ept_violation(cpu, gpa, lin, write, final, e);
    if (writable)
        *writable = (e & EPT_W) != 0;
    return hpa;
}
