/*
 * cpu_internal.h - the contract between the parts of sim/cpu.
 *
 * Not for use outside sim/cpu (engines use cpu.h). It declares the few
 * primitives every instruction handler is written with:
 *
 *   - raising an exception: cpu_raise() never returns; it unwinds to the run
 *     loop with longjmp, which restores EIP to the faulting instruction and
 *     delivers the exception (or stops, if the owner intercepts it). Handlers
 *     therefore do all their memory accesses before they update registers, so
 *     a fault leaves the architectural state as it was before the instruction.
 *   - memory access through segmentation and paging (mem.c, seg.c, paging.c);
 *   - operand access for ModRM forms (operand.c);
 *   - lazy flags (flags.c);
 *   - segment register loads with all protected-mode checks (seg.c) and
 *     exception/interrupt delivery (intr.c).
 */
#ifndef RS_CPU_INTERNAL_H
#define RS_CPU_INTERNAL_H

#include "cpu.h"
#include "optable.h"

/* ---- exceptions (intr.c) ---- */

/* Raise exception `vector`; `err` is pushed if the vector has an error code
   (8, 10-14, 17). Unwinds to cpu_run. */
_Noreturn void cpu_raise(struct cpu *cpu, int vector, uint32_t err);
/* Convenience: #GP/#SS/#NP/#TS with a selector error code (sel & 0xfffc). */
_Noreturn void cpu_raise_sel(struct cpu *cpu, int vector, uint16_t sel);
/* Stop the run with CPU_STOP_UNSUPPORTED and a static message. */
_Noreturn void cpu_unsupported(struct cpu *cpu, const char *msg);
/* Vector delivery through the IDT (used by cpu_run and cpu_deliver). Raises
   nested faults with cpu_raise; the double/triple fault logic lives here. */
void intr_deliver(struct cpu *cpu, int vector, uint32_t err, bool has_err,
                  bool soft, bool ext);
bool intr_has_error_code(int vector);

/*
 * Unwinding protocol between intr.c and the run loop (exec.c).
 * cpu_raise() records the exception in cpu->pending_vector/_error/_has_error
 * and does longjmp(cpu->fault_jmp, RAISE_EXC). cpu_unsupported(), a triple
 * fault and an intercepted software interrupt fill cpu->stop (and stop_*)
 * and do longjmp(cpu->fault_jmp, RAISE_STOP). On either the run loop first
 * restores s.eip = insn_eip (so before it delivers an external interrupt with
 * intr_deliver(cpu, vec, 0, false, false, true) it sets insn_eip = s.eip),
 * then:
 *   RAISE_EXC:  if (intr_exception(cpu)) return cpu->stop; else keep running
 *   RAISE_STOP: return cpu->stop;
 * intr_exception() applies the double/triple-fault rules (SDM vol. 3, table
 * 6-5) and the intercept mask (stop with CPU_STOP_INTERCEPT, returns true),
 * or delivers through the IDT (returns false). It may itself raise again, so
 * the run loop's setjmp must stay armed around it.
 */
#define RAISE_EXC  1
#define RAISE_STOP 2
bool intr_exception(struct cpu *cpu);
/* Stop the run (longjmp RAISE_STOP) with `why`, EIP at the instruction. */
_Noreturn void cpu_stop_run(struct cpu *cpu, enum cpu_stop why, const char *msg);

/* I/O (ops_system.c): permission per CPL/IOPL and the TSS I/O bitmap (raises
   #GP(0) if denied, else returns true); port access through the bus + on_io. */
bool io_allowed(struct cpu *cpu, uint16_t port, int size);
uint32_t port_in(struct cpu *cpu, uint16_t port, int size);
void port_out(struct cpu *cpu, uint16_t port, int size, uint32_t val);

/* ---- memory (mem.c: segmentation checks + paging + physical) ---- */

/* Access size 1, 2 or 4 bytes at seg:off with the current CPL. Raise #GP/#SS
   (limit, type) or #PF. Accesses crossing a page are split. */
uint32_t mem_read_slow(struct cpu *cpu, int seg, uint32_t off, int size, bool rmw);
void mem_write_slow(struct cpu *cpu, int seg, uint32_t off, int size, uint32_t val);
/* mem_read()/mem_write(): the same with an inlined fast path (mem_fast.h). */
/* Check that [off, off+len) of seg is writable (for instructions that must
   fault before changing anything, e.g. PUSH of several values). */
void mem_check_write(struct cpu *cpu, int seg, uint32_t off, uint32_t len);
/* Linear-address access; `user` selects U/S checking as for CPL 3
   (implicit supervisor accesses such as GDT/IDT/TSS pass false). */
uint32_t mem_read_lin(struct cpu *cpu, uint32_t lin, int size, bool user);
void mem_write_lin(struct cpu *cpu, uint32_t lin, int size, uint32_t val, bool user);
/* Translate a linear address for an access (raising #PF), setting A/D. */
uint32_t mem_translate(struct cpu *cpu, uint32_t lin, bool write, bool user);
/* Physical access (RAM fast path, else the bus's mmio callbacks). Writes
   invalidate decoded instructions on that page (self-modifying code). */
uint32_t phys_read(struct cpu *cpu, uint32_t pa, int size);
void phys_write(struct cpu *cpu, uint32_t pa, int size, uint32_t val);

/* ---- stack (mem.c): honours SS.B for ESP vs SP ---- */
void stack_push(struct cpu *cpu, int size, uint32_t val);
uint32_t stack_pop(struct cpu *cpu, int size);
/* Read the value `index` slots above the top without popping. */
uint32_t stack_peek(struct cpu *cpu, int size, int index);

/* ---- segments (seg.c) ---- */

/* Load a segment register with every protected-mode check (SDM vol. 3,
   5.5-5.10): null selectors, table limits, type, DPL/RPL/CPL, present. */
void seg_load(struct cpu *cpu, int sreg, uint16_t sel);
/* Read the 8-byte descriptor for `sel` from GDT or LDT; raises `vec`(sel)
   if outside the table limit. */
uint64_t seg_read_desc(struct cpu *cpu, uint16_t sel, int vec);
/* Fill a hidden cache from a descriptor. */
void seg_from_desc(struct seg *s, uint16_t sel, uint64_t desc);
/* Set the accessed bit of the descriptor for `sel` if clear. */
void seg_set_accessed(struct cpu *cpu, uint16_t sel, uint64_t desc);

/* ---- operands (operand.c) ---- */

/* Effective offset of the ModRM memory operand. */
uint32_t insn_ea(struct cpu *cpu, const struct insn *in);
/* Register access by encoding number and size (1: AL..BH, 2, 4). */
uint32_t reg_read(struct cpu *cpu, int reg, int size);
void reg_write(struct cpu *cpu, int reg, int size, uint32_t val);
/* ModRM r/m operand of `size`: register if mod == 3, else memory. */
uint32_t rm_read(struct cpu *cpu, const struct insn *in, int size);
void rm_write(struct cpu *cpu, const struct insn *in, int size, uint32_t val);
/* Operand size in bytes of a row's operand n (1, 2 or 4). */
int insn_opd_size(const struct insn *in, int n);

/* ---- lazy flags (flags.c) ---- */

uint32_t flags_get(struct cpu *cpu);          /* full EFLAGS */
void flags_set(struct cpu *cpu, uint32_t val, uint32_t mask);
bool flag_cf(struct cpu *cpu);
bool flag_zf(struct cpu *cpu);
bool cond_true(struct cpu *cpu, int cc);      /* Jcc/SETcc/CMOVcc condition 0-15 */

/* ---- caches (exec.c / paging.c) ---- */
/* Drop decoded instructions that may overlap a write at physical address pa
   (pass the written address, not the page: exec.c tracks code per 512-byte
   chunk, so only the chunk(s) holding pa..pa+3 are dropped). phys_write calls
   it when cpu->write_watch[pa >> 12] has WW_CODE bits. */
void icache_invalidate_page(struct cpu *cpu, uint32_t pa);
/* Inside a block (block.c) the counters and EIP are brought up to date only
   when it ends; anything that reads them in the middle of an instruction
   (MMIO, RDTSC) calls block_sync() first. A no-op outside blocks. */
void block_sync(struct cpu *cpu);
/* The dirty log (dirtylog.c): page `page` was written; [pa, end) was written. */
void dirty_log_page(struct cpu *cpu, uint32_t page);
void dirty_log_range(struct cpu *cpu, uint32_t pa, uint64_t end);
void tlb_flush_all(struct cpu *cpu);
void tlb_flush_page(struct cpu *cpu, uint32_t lin);
/* The TLB's storage (paging.c): cpu_init sets cpu->tlb = tlb_create() (NULL
   on out-of-memory), cpu_free calls tlb_destroy(cpu->tlb). */
struct cpu_tlb *tlb_create(void);
void tlb_destroy(struct cpu_tlb *tlb);

/*
 * EIP convention: before a handler runs, cpu->insn_eip is the address of the
 * instruction and cpu->s.eip already holds the fall-through address
 * (insn_eip + len). Branch handlers overwrite cpu->s.eip (relative targets are
 * s.eip + rel). On a fault the run loop restores s.eip = insn_eip.
 */

#include "mem_fast.h"

#endif
