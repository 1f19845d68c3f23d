/*
 * ops_system.h - the protected-mode system architecture of the CPU.
 *
 * The handlers of the system instructions (descriptor tables, control and
 * debug registers, far transfers, interrupts, privilege and I/O checks) that
 * the opcode table names, plus the few helpers the system files (mem.c,
 * paging.c, seg.c, intr.c, ops_system.c) share among themselves. The generic
 * primitives every handler uses (mem_read, seg_load, cpu_raise, ...) are in
 * cpu_internal.h.
 */
#ifndef RS_OPS_SYSTEM_H
#define RS_OPS_SYSTEM_H

#include "cpu_internal.h"

/* ---- handlers (rows in optable.c) ---- */
void op_lgdt(struct cpu *cpu, const struct insn *in);
void op_lidt(struct cpu *cpu, const struct insn *in);
void op_sgdt(struct cpu *cpu, const struct insn *in);
void op_sidt(struct cpu *cpu, const struct insn *in);
void op_lldt(struct cpu *cpu, const struct insn *in);
void op_sldt(struct cpu *cpu, const struct insn *in);
void op_ltr(struct cpu *cpu, const struct insn *in);
void op_str(struct cpu *cpu, const struct insn *in);
void op_lmsw(struct cpu *cpu, const struct insn *in);
void op_smsw(struct cpu *cpu, const struct insn *in);
void op_lar(struct cpu *cpu, const struct insn *in);
void op_lsl(struct cpu *cpu, const struct insn *in);
void op_verr(struct cpu *cpu, const struct insn *in);
void op_verw(struct cpu *cpu, const struct insn *in);
void op_arpl(struct cpu *cpu, const struct insn *in);
void op_clts(struct cpu *cpu, const struct insn *in);
void op_invlpg(struct cpu *cpu, const struct insn *in);
void op_mov_to_cr(struct cpu *cpu, const struct insn *in);
void op_mov_from_cr(struct cpu *cpu, const struct insn *in);
void op_mov_to_dr(struct cpu *cpu, const struct insn *in);
void op_mov_from_dr(struct cpu *cpu, const struct insn *in);
void op_wbinvd(struct cpu *cpu, const struct insn *in);
void op_invd(struct cpu *cpu, const struct insn *in);
void op_hlt(struct cpu *cpu, const struct insn *in);
void op_cli(struct cpu *cpu, const struct insn *in);
void op_sti(struct cpu *cpu, const struct insn *in);
void op_pushf(struct cpu *cpu, const struct insn *in);
void op_popf(struct cpu *cpu, const struct insn *in);
void op_in(struct cpu *cpu, const struct insn *in);
void op_out(struct cpu *cpu, const struct insn *in);
void op_mov_to_sreg(struct cpu *cpu, const struct insn *in);
void op_mov_from_sreg(struct cpu *cpu, const struct insn *in);
void op_push_sreg(struct cpu *cpu, const struct insn *in);
void op_pop_sreg(struct cpu *cpu, const struct insn *in);
void op_lds(struct cpu *cpu, const struct insn *in);
void op_les(struct cpu *cpu, const struct insn *in);
void op_lfs(struct cpu *cpu, const struct insn *in);
void op_lgs(struct cpu *cpu, const struct insn *in);
void op_lss(struct cpu *cpu, const struct insn *in);
void op_jmp_far(struct cpu *cpu, const struct insn *in);
void op_jmp_far_m(struct cpu *cpu, const struct insn *in);
void op_call_far(struct cpu *cpu, const struct insn *in);
void op_call_far_m(struct cpu *cpu, const struct insn *in);
void op_ret_far(struct cpu *cpu, const struct insn *in);
void op_iret(struct cpu *cpu, const struct insn *in);
void op_int(struct cpu *cpu, const struct insn *in);
void op_int3(struct cpu *cpu, const struct insn *in);
void op_into(struct cpu *cpu, const struct insn *in);
void op_int1(struct cpu *cpu, const struct insn *in);
void op_rdmsr(struct cpu *cpu, const struct insn *in);
void op_wrmsr(struct cpu *cpu, const struct insn *in);
void op_sysenter(struct cpu *cpu, const struct insn *in);
void op_sysexit(struct cpu *cpu, const struct insn *in);

/* ---- helpers shared by the system files ---- */

/* Mask of the stack pointer per a stack segment's B bit (ESP or SP). */
static inline uint32_t seg_sp_mask(const struct seg *ss)
{
    return (ss->flags & SEGF_DB) ? 0xffffffffu : 0xffffu;
}

/* Write `len` bytes at linear `lin`, translating every page for a write
   before writing any byte (so a #PF leaves memory untouched). */
void mem_write_lin_buf(struct cpu *cpu, uint32_t lin, const uint8_t *buf,
                       uint32_t len, bool user);
/* Raise `vec`(err) unless [off, off+len) lies within `s`'s limit (expand-
   down aware); len >= 1. */
void seg_check_limit(struct cpu *cpu, const struct seg *s, uint32_t off,
                     uint32_t len, int vec, uint32_t err);
/*
 * Push vals[0..n-1] (vals[0] first, so it ends at the highest address), each
 * `size` bytes, onto the stack `ss` whose pointer is *sp; limit violations
 * raise #SS(ss_err), page faults #PF, all before any byte is written. *sp is
 * updated (only its low 16 bits if ss is a 16-bit stack).
 */
void stack_push_frame(struct cpu *cpu, const struct seg *ss, uint32_t *sp,
                      const uint32_t *vals, int n, int size, bool user,
                      uint32_t ss_err);
/* Read `size` bytes at byte offset `off` above the current stack top. */
uint32_t stack_read_at(struct cpu *cpu, uint32_t off, int size);

/* Descriptor helpers (seg.c). A descriptor is the raw 8 bytes, low dword
   first. */
static inline uint32_t desc_hi(uint64_t d) { return (uint32_t)(d >> 32); }
static inline unsigned desc_type(uint64_t d) { return (desc_hi(d) >> 8) & 0xfu; }
static inline bool desc_s(uint64_t d) { return desc_hi(d) & 0x1000u; }
static inline unsigned desc_dpl(uint64_t d) { return (desc_hi(d) >> 13) & 3u; }
static inline bool desc_present(uint64_t d) { return desc_hi(d) & 0x8000u; }
static inline bool desc_is_code(uint64_t d) { return desc_s(d) && (desc_type(d) & 8u); }
static inline bool desc_is_conforming(uint64_t d) { return desc_is_code(d) && (desc_type(d) & 4u); }
/* Gate fields: target selector, offset, parameter count. */
static inline uint16_t gate_sel(uint64_t d) { return (uint16_t)(d >> 16); }
static inline uint32_t gate_offset(uint64_t d)
{
    return (uint32_t)(d & 0xffffu) | (desc_hi(d) & 0xffff0000u);
}
/* Like seg_read_desc but returns false instead of raising when `sel` is
   outside its table (for LAR/LSL/VERR/VERW). */
bool seg_try_read_desc(struct cpu *cpu, uint16_t sel, uint64_t *desc);
/* Fill `s` from a checked descriptor and set its accessed bit. */
void seg_commit(struct cpu *cpu, struct seg *s, uint16_t sel, uint64_t desc);
/* Load CS from a validated code descriptor with RPL forced to `cpl`, set
   the CPL, and report a ring change through the hook. */
void seg_load_cs(struct cpu *cpu, uint16_t sel, uint64_t desc, int cpl);
/* Validate `sel` as the stack segment for privilege `dpl` (SDM vol. 3 6.12.1
   / 5.8.5); faults are `vec`(sel + ext), not-present is #SS. Returns the
   descriptor. */
uint64_t seg_check_stack(struct cpu *cpu, uint16_t sel, int dpl, int vec, int ext);
/* Nullify ES, DS, FS, GS whose DPL is below the new CPL after a return to an
   outer level (SDM vol. 3 IRET / RET pseudo-code). */
void seg_null_outer(struct cpu *cpu);
/* Read SSn:ESPn for privilege `dpl` from the current 32-bit TSS. */
void tss_stack(struct cpu *cpu, int dpl, uint16_t *ss, uint32_t *esp, int ext);

/* Hardware task switches (task.c). task_far: a far JMP (call false) or
   CALL to the TSS descriptor or task gate `sel`/`d` (a system descriptor of
   type 1, 3, 9, 11 or 5), the old task resuming at next_eip. task_interrupt:
   an interrupt or exception through the IDT task gate `gate` (the old task
   resumes at s.eip; err is pushed on the new task's stack if has_err).
   task_return: IRET with NT = 1, back to the previous-task link. */
enum task_source { TASK_JMP, TASK_CALL, TASK_IRET, TASK_INT };
void task_far(struct cpu *cpu, uint16_t sel, uint64_t d, bool call, uint32_t next_eip);
void task_interrupt(struct cpu *cpu, uint64_t gate, uint32_t err, bool has_err, int ext);
void task_return(struct cpu *cpu, uint32_t next_eip);

/* Software interrupt entry for INT n / INT3 / INTO (intr.c). */
void intr_soft(struct cpu *cpu, int vector);
/* A trap-like exception raised by the instruction that just completed (INT1
   / ICEBP): delivered as a hardware event (no gate DPL check, EXT set),
   returning to the next instruction (intr.c). */
void intr_trap(struct cpu *cpu, int vector);

#endif
