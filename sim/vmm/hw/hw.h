/*
 * hw.h - the hardware-assisted engine (--mode hw): a VT-x-style VMM.
 *
 * The guest runs in the CPU's VMX non-root mode (sim/cpu/vmx.h) at its own
 * privilege levels: the guest kernel at ring 0 with its own GDT, IDT, TSS,
 * segments and EFLAGS; no ring compression, no segment truncation, no
 * translation. The VMM keeps one VMCS, enters the guest with it and handles
 * the VM exits its controls ask for, the way the first VT-x VMMs did
 * (Adams & Agesen 2006, sec. 4; Uhlig et al., IEEE Computer 2005):
 *   - memory: shadow page tables (sim/vmm/shadow_pt*.c) - exits on CR3
 *     loads and stores, INVLPG and #PF; the guest's CR0.PG/WP/PE and CR4
 *     live in read shadows; while the guest pages nothing, it runs on the
 *     VMM's 1:1 map (VT-x without unrestricted guest needs CR0.PG = 1);
 *   - devices: every I/O port exits and is emulated by the shared
 *     emulation library against the machine's devices, which are the
 *     guest's virtual PIC, PIT, UART...; the local and I/O APIC window is
 *     never mapped for the guest: an access is a #PF exit (EPT violation
 *     with --npt) whose MOV the VMM emulates against the device model
 *     (emu_mmio_move; another instruction is stepped into it);
 *   - interrupts: the virtual PIC's and local APIC's requests (one
 *     interrupt line, machine.c) are injected at VM entry when
 *     the guest can take them, else an interrupt-window exit is armed;
 *   - HLT, CPUID, RDMSR/WRMSR exit and are emulated;
 *   - VMCALL exits (reason 18) and is a hypercall (the ABI below).
 * Each exit is priced by the cost profile (vt_entry, vt_pf_exit,
 * vt_exit_handle) and reported as EV_VMEXIT; injections as EV_INJECT.
 */
#ifndef RS_HW_H
#define RS_HW_H

#include <stdbool.h>
#include "cpu/cpu.h"

struct vmm;
struct hw;

/*
 * The hypercall ABI (VMCALL under --mode hw; docs/hw.md). EAX holds the
 * call number and receives the result, other registers are arguments and
 * are preserved; EIP advances past the 3-byte instruction. Calls from
 * CPL > 0 are refused (KVM refuses them with -KVM_EPERM). Outside hw the
 * instruction raises #UD, as on hardware outside VMX non-root operation.
 */
enum hw_hypercall {
    HC_VERSION = 0,                 /* EAX = HC_ABI_VERSION, nothing else happens */
    HC_PUTC = 1,                    /* the byte in BL goes to the VM's COM1; EAX = 0 */
};
#define HC_ABI_VERSION 0x72730001u  /* "rs", ABI version 1 */
#define HC_ENOSYS 0xFFFFFFFFu       /* EAX for an unknown call number (-1) */
#define HC_EPERM  0xFFFFFFFEu       /* EAX for a call from CPL > 0 (-2) */

struct hw *hw_create(struct vmm *v);
void hw_destroy(struct hw *h);
/* The CPU holds the guest's native-view state (multiboot entry): take it
   as the guest's, build the VMCS. */
void hw_take_state(struct vmm *v);
/* Run the guest until cpu->cycles >= cycle_limit or another stop. */
enum cpu_stop hw_run(struct vmm *v, uint64_t cycle_limit);
/* Snapshots: take a restored native-view state (false: the shadow could
   not be built); whether the guest may be saved now. */
bool hw_adopt_state(struct vmm *v);
bool hw_settled(const struct vmm *v);
/* The guest's state as native hardware would hold it. */
void hw_guest_state(struct vmm *v, struct cpu_state *out);
/* The engine's VMCS (tests, the UI). */
const struct vmcs *hw_vmcs(const struct vmm *v);

#endif
