/*
 * emulate.h - the emulation library: one C routine per privileged or
 * sensitive x86 operation, executed against the vcpu.
 *
 * Shared by every VMM engine (DESIGN.md §2): the trap-and-emulate monitor
 * calls a routine after a deprivileged instruction faulted; the binary
 * translator (next) calls the same routine from a callout. A routine gets
 * the decoded instruction (optable.h) whose EIP is cpu->s.eip and returns
 * what to do next: fall through (the caller advances EIP by the length),
 * continue at the EIP the routine set, deliver a guest fault (emu_fault:
 * the hardware would have raised it at virtual CPL 0), halt, or stop the run
 * with a message (something ringside does not model under a VMM).
 *
 * Semantics are those of the SDM at the *virtual* CPL, with the guest's own
 * descriptors (its GDT in guest memory), while the hardware registers get
 * the compressed versions (shadow GDT, RPL 1 for ring-0 CS/SS).
 */
#ifndef RS_EMULATE_H
#define RS_EMULATE_H

#include <stdint.h>
#include <stdbool.h>
#include "cpu/optable.h"

struct vmm;
struct insn;

enum emu_status {
    EMU_NEXT = 0,   /* done: advance EIP past the instruction */
    EMU_JUMP,       /* done: EIP (and maybe CS) already set */
    EMU_FAULT,      /* guest fault: see struct emu_fault */
    EMU_HALT,       /* virtual HLT: EIP to advance, vcpu halted */
    EMU_STOP,       /* unsupported: v->stop_msg */
    EMU_TRIPLE,     /* a fault while delivering #DF: the run stops */
};

/* A guest fault, as data: what the hardware would deliver. */
struct emu_fault {
    int vector;         /* EXC_* */
    uint32_t err;       /* error code (if has_err) */
    bool has_err;       /* the vector pushes an error code */
    uint32_t cr2;       /* #PF: the faulting linear address */
};

/* Emulate the instruction `in` (decoded at CS:EIP). `f` receives a fault. */
int emu_insn(struct vmm *v, const struct insn *in, struct emu_fault *f);
/* Has the emulation library a routine for operation `op` (enum op_id)? */
bool emu_has_routine(enum op_id op);

/* A data move (MOV r/m, MOV moffs, MOV r/m imm, MOVZX, MOVSX) whose memory
   operand the caller knows is device MMIO (hw's APIC window): emulated
   through the VMM's guest-memory access, which hands the window to the
   machine's device models (gmem_mmio). EMU_STOP with v->stop_msg NULL:
   not such a form (the caller steps the instruction instead). */
int emu_mmio_move(struct vmm *v, const struct insn *in, struct emu_fault *f);

/* The routines, for callers that dispatch themselves (BT callouts). */
int emu_cli(struct vmm *v, const struct insn *in, struct emu_fault *f);
int emu_sti(struct vmm *v, const struct insn *in, struct emu_fault *f);
int emu_hlt(struct vmm *v, const struct insn *in, struct emu_fault *f);
int emu_in(struct vmm *v, const struct insn *in, struct emu_fault *f);
int emu_out(struct vmm *v, const struct insn *in, struct emu_fault *f);
int emu_ins(struct vmm *v, const struct insn *in, struct emu_fault *f);
int emu_outs(struct vmm *v, const struct insn *in, struct emu_fault *f);
int emu_mov_to_cr(struct vmm *v, const struct insn *in, struct emu_fault *f);
int emu_mov_from_cr(struct vmm *v, const struct insn *in, struct emu_fault *f);
int emu_mov_to_dr(struct vmm *v, const struct insn *in, struct emu_fault *f);
int emu_mov_from_dr(struct vmm *v, const struct insn *in, struct emu_fault *f);
int emu_lgdt(struct vmm *v, const struct insn *in, struct emu_fault *f);
int emu_lidt(struct vmm *v, const struct insn *in, struct emu_fault *f);
int emu_lldt(struct vmm *v, const struct insn *in, struct emu_fault *f);
int emu_ltr(struct vmm *v, const struct insn *in, struct emu_fault *f);
int emu_lmsw(struct vmm *v, const struct insn *in, struct emu_fault *f);
int emu_clts(struct vmm *v, const struct insn *in, struct emu_fault *f);
int emu_invlpg(struct vmm *v, const struct insn *in, struct emu_fault *f);
int emu_cache(struct vmm *v, const struct insn *in, struct emu_fault *f); /* WBINVD/INVD */
int emu_rdmsr(struct vmm *v, const struct insn *in, struct emu_fault *f);
int emu_wrmsr(struct vmm *v, const struct insn *in, struct emu_fault *f);
/* emulate_seg.c */
int emu_iret(struct vmm *v, const struct insn *in, struct emu_fault *f);
int emu_pushf(struct vmm *v, const struct insn *in, struct emu_fault *f);
int emu_popf(struct vmm *v, const struct insn *in, struct emu_fault *f);
int emu_mov_to_sreg(struct vmm *v, const struct insn *in, struct emu_fault *f);
int emu_pop_sreg(struct vmm *v, const struct insn *in, struct emu_fault *f);
int emu_load_far_ptr(struct vmm *v, const struct insn *in, struct emu_fault *f);
int emu_jmp_far(struct vmm *v, const struct insn *in, struct emu_fault *f);
int emu_call_far(struct vmm *v, const struct insn *in, struct emu_fault *f);
int emu_ret_far(struct vmm *v, const struct insn *in, struct emu_fault *f);
int emu_int(struct vmm *v, const struct insn *in, struct emu_fault *f);

/* emulate_task.c: hardware task switches on the guest's TSSes and GDT.
   emu_is_task_desc: a TSS descriptor (types 1, 3, 9, 11) or task gate (5).
   emu_task_far: far JMP (call false) or CALL to such a descriptor `d` for
   selector `sel`, the old task resuming at next_eip. emu_task_gate: an
   event through the guest IDT task gate `gate` (EXT bit `ext`; err pushed
   on the new task's stack if has_err), the old task resuming at old_eip.
   emu_task_return: IRET with NT = 1. All return EMU_JUMP with the new task
   loaded, EMU_FAULT (before the commit point: nothing changed; after it:
   the fault belongs to the new task) or EMU_STOP. */
bool emu_is_task_desc(uint64_t d);
int emu_task_far(struct vmm *v, uint16_t sel, uint64_t d, bool call, uint32_t next_eip,
                 struct emu_fault *f);
int emu_task_gate(struct vmm *v, uint64_t gate, uint32_t err, bool has_err, uint32_t ext,
                  uint32_t old_eip, struct emu_fault *f);
int emu_task_return(struct vmm *v, uint32_t next_eip, struct emu_fault *f);

/* Helpers shared by the files (emulate.c, emulate_seg.c). */
/* Set the accessed bit of the guest descriptor for `sel`, as a load does. */
void emu_set_accessed(struct vmm *v, uint16_t sel);
/* The guest's CR3 written (shadow paging switches roots): EMU_NEXT or EMU_STOP. */
int emu_write_cr3(struct vmm *v, uint32_t val);
uint32_t emu_ea(struct vmm *v, const struct insn *in);
uint32_t emu_reg(struct vmm *v, int reg, int size);
void emu_set_reg(struct vmm *v, int reg, int size, uint32_t val);
/* ModRM r/m word/dword operand (register or memory). */
int emu_rm_read(struct vmm *v, const struct insn *in, int size, uint32_t *val,
                struct emu_fault *f);
/* seg:off guest memory with the segment's type and limit checked as the
   hardware does (#GP(0), #SS(0) through SS), then #PF from the guest's
   page tables (user access at virtual CPL 3). */
struct seg;
/* The type and limit checks alone (false: #SS through SS, else #GP(0)). */
bool emu_seg_access_ok(const struct seg *s, uint32_t off, uint32_t len, bool write);
int emu_mem_read(struct vmm *v, int sreg, uint32_t off, void *buf, uint32_t len,
                 struct emu_fault *f);
int emu_mem_write(struct vmm *v, int sreg, uint32_t off, const void *buf, uint32_t len,
                  struct emu_fault *f);
/* Record a fault (error code pushed as the vector does); returns EMU_FAULT. */
int emu_fault(struct emu_fault *f, int vector, uint32_t err);
/* The guest-visible EFLAGS (virtual IF and IOPL in place of the real ones). */
uint32_t emu_guest_eflags(struct vmm *v);
/* Apply a guest EFLAGS value at the virtual CPL (POPF/IRET rules). */
void emu_set_guest_eflags(struct vmm *v, uint32_t val, uint32_t mask);

#endif
