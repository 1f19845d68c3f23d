/*
 * vmx_internal.h - what the run loop (exec.c, intr.c) asks VMX non-root
 * operation (vmx.c, vmx_entry.c). Not for use outside sim/cpu.
 */
#ifndef RS_VMX_INTERNAL_H
#define RS_VMX_INTERNAL_H

#include "cpu_internal.h"
#include "vmx.h"

/* At an instruction boundary without STI/MOV SS blocking: true (exit
   information recorded) for an interrupt-window or external-interrupt exit. */
bool vmx_boundary(struct cpu *cpu);
/* Before the handler of an instruction that passed the pipeline's checks:
   exits (longjmp, never returns) if the controls say so; true if it
   executed the instruction itself (reads of shadowed CR0/CR4, a MOV to
   CR0/CR4 that changes no owned bit); false: run the handler. */
bool vmx_insn(struct cpu *cpu, const struct insn *in);
/* An exception in non-root operation, before the double-fault rules:
   true if the exception bitmap makes it a VM exit (cpu->stop set).
   `nested`: it happened while delivering cpu->delivering. */
bool vmx_exception(struct cpu *cpu, int vec, uint32_t err, bool has_err, bool nested);
/* cpu_run is returning `r` in non-root operation: a VM exit (recorded, or
   the preemption timer, monitor trap flag or a triple fault) stores the
   guest state and loads the host's; returns what cpu_run returns. */
enum cpu_stop vmx_run_end(struct cpu *cpu, enum cpu_stop r);

/* vmx.c, for vmx_entry.c: record an exit's reason and qualification
   (other exit fields cleared); load the host-state area; store the guest
   state and load the host's (the CPU leaves non-root operation). */
void vmx_exit_info(struct cpu *cpu, uint32_t reason, uint32_t qual);
void vmx_load_host(struct cpu *cpu, const struct vmcs_host *h);
void vmx_exit_commit(struct cpu *cpu);
/* A task switch in non-root operation: the unconditional VM exit (reason
   9) instead of the switch; `len` the length of the JMP/CALL/IRET (0 for
   an IDT source: the event goes in the IDT-vectoring fields). */
_Noreturn void vmx_task_switch_exit(struct cpu *cpu, uint16_t sel, int source, uint32_t len);
/* The event being delivered as IDT-vectoring information (*len: the
   instruction length of a software interrupt). */
uint32_t vmx_delivering_info(const struct cpu *cpu, uint32_t *len);

/* vmx_ept.c: guest-physical -> host-physical through the EPT table for an
   access (`write`) made for linear `lin`; `final`: the access's own page,
   not a guest page-table entry. Charges the walk; an access the table
   refuses is an EPT-violation exit (longjmp). */
uint32_t vmx_ept_translate(struct cpu *cpu, uint32_t gpa, bool write, uint32_t lin, bool final,
                           bool *writable);

#endif
