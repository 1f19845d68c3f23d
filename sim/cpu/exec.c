/*
 * exec.c - the CPU's life cycle and its fetch-decode-execute loop.
 *
 * cpu_run() is the hardware's heartbeat. Per instruction it: takes a
 * pending external interrupt if EFLAGS.IF allows (and no STI/MOV SS shadow
 * is active); stops if EIP has reached a gate address (the VMM's callout
 * mechanism); fetches the decoded instruction (icache.c); applies the checks
 * the opcode table's attributes ask for (#UD, #NM, #GP for CPL or IOPL, LOCK
 * rules - SDM vol. 2, 2.1.1 and vol. 3, 2.8); runs the handler; and charges
 * the instruction's modeled cycles. A fault anywhere unwinds with longjmp
 * back here (the protocol is in cpu_internal.h): EIP goes back to the
 * faulting instruction and intr.c either delivers the exception or stops the
 * run for an owner that intercepts it.
 *
 * That is the definition; the fast way through it is a block at a time
 * (block.h): the interrupt check, the code-page translation and the CS limit
 * check once per block, then its plain instructions back to back, each
 * counted as it completes, and its last one through the full pipeline. The
 * instruction-at-a-time path stays for single steps, VMX non-root operation,
 * the instruction after an interrupt shadow, 16-bit code, pages with gate
 * addresses and anything a block cannot start at.
 */
#include <stdlib.h>
#include <string.h>
#include "block.h"
#include "ops_system.h"
#include "vmx_internal.h"

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* The run loop's memory of the current code page (valid until the next
   control-register, CPL or TLB change, all of which end a block). */
struct fetch_page {
    bool valid;
    bool gate;        /* the page overlaps [gate_lo, gate_hi): check each fetch */
    uint32_t lin;     /* linear page */
    uint32_t pa;      /* its physical page */
    const uint8_t *bits; /* in the boundary map's range (cpu.h): the page's bits */
};

/* ---- life cycle ---- */

int cpu_init(struct cpu *cpu, const struct cpu_bus *bus)
{
    memset(cpu, 0, sizeof *cpu);
    cpu->bus = *bus;
    for (int i = 0; i < C_COUNT; i++)
        cpu->class_cost[i] = 1;
    cpu->icache = icache_create();
    cpu->write_watch = calloc((bus->ram_size >> 12) + 1, sizeof *cpu->write_watch);
    cpu->tlb = tlb_create();
    if (!cpu->icache || !cpu->write_watch || !cpu->tlb || !blocks_create(cpu)) {
        cpu_free(cpu);
        return -1;
    }
    cpu_reset_multiboot(cpu, 0, 0, 0);
    return 0;
}

void cpu_free(struct cpu *cpu)
{
    icache_destroy(cpu->icache);
    blocks_destroy(cpu);
    cpu_dirty_log_stop(cpu);
    free(cpu->write_watch);
    if (cpu->tlb)
        tlb_destroy(cpu->tlb);
    cpu->icache = NULL;
    cpu->write_watch = NULL;
    cpu->tlb = NULL;
}

static void seg_flat(struct seg *s, uint16_t sel, uint32_t access)
{
    s->sel = sel;
    s->base = 0;
    s->limit = 0xffffffffu;
    s->flags = access | SEGF_DB | SEGF_G;
}
/* Multiboot spec 3.2 "Machine state": flat CS/DS/ES/FS/GS/SS, CR0.PE,
   paging and interrupts off. Selectors 0x08/0x10 as QEMU's loader uses. */
void cpu_reset_multiboot(struct cpu *cpu, uint32_t entry, uint32_t eax, uint32_t ebx)
{
    memset(&cpu->s, 0, sizeof cpu->s);
    cpu->s.r[R_EAX] = eax;
    cpu->s.r[R_EBX] = ebx;
    cpu->s.eip = entry;
    cpu->s.eflags = FL_FIXED1;
    cpu->lf_op = LF_NONE;
    seg_flat(&cpu->s.seg[S_CS], 0x08, 0x9b);
    for (int s = 0; s < S_COUNT; s++)
        if (s != S_CS)
            seg_flat(&cpu->s.seg[s], 0x10, 0x93);
    cpu->s.ldtr.limit = 0xffff;
    cpu->s.ldtr.flags = 0x82;
    cpu->s.tr.limit = 0xffff;
    cpu->s.tr.flags = 0x8b;
    cpu->s.gdtr.limit = 0;
    cpu->s.idtr.limit = 0x3ff;
    cpu->s.cr0 = CR0_PE | CR0_ET;
    cpu->s.dr[6] = 0xffff0ff0u;
    cpu->s.dr[7] = 0x400;
    cpu->s.apic_base = APIC_BASE_DEFAULT;
    cpu->s.misc_enable = 1;
    cpu->fault_depth = 0;
    cpu->stop_now = false;
    cpu->vmcs = NULL;               /* a reset leaves VMX operation (vmx.h) */
    cpu->ept_on = false;
    cpu_flush_caches(cpu);
}

/* ---- fetch ---- */

/* Does linear page `page` hold any gate address? */
static bool page_has_gate(const struct cpu *cpu, uint32_t page)
{
    return cpu->gate_lo < cpu->gate_hi && cpu->gate_lo <= page + 0xfffu &&
           page < cpu->gate_hi;
}

/* The physical address of a fetch. The current code page is remembered, so
   the gate check (the VMM's callout mechanism) and the translation happen
   once per page, not once per instruction. */
static __attribute__((noinline)) bool fetch_new_page(struct cpu *cpu, struct fetch_page *fp,
                                                    uint32_t lin, uint32_t *pa)
{
    uint32_t page = lin & ~0xfffu;
    if (unlikely(lin - cpu->gate_lo < cpu->gate_hi - cpu->gate_lo)) {
        cpu->stop_addr = lin;
        return false;
    }
    *pa = tlb_translate(cpu, lin, false, cpu->s.cpl == 3);
    fp->valid = true;
    fp->gate = page_has_gate(cpu, page);
    fp->bits = cpu->boundary_map && page - cpu->boundary_lo < cpu->boundary_hi - cpu->boundary_lo
               ? cpu->boundary_map + ((page - cpu->boundary_lo) >> 3) : NULL;
    fp->lin = page;
    fp->pa = *pa & ~0xfffu;
    return true;
}

static inline bool fetch_translate(struct cpu *cpu, struct fetch_page *fp, uint32_t lin,
                                   uint32_t *pa)
{
    if (likely(fp->valid && fp->lin == (lin & ~0xfffu) && !fp->gate)) {
        *pa = fp->pa | (lin & 0xfffu);
        return true;
    }
    return fetch_new_page(cpu, fp, lin, pa);
}

/* The decoded instruction at CS:EIP, or NULL when EIP is a gate address. */
static const struct insn *fetch(struct cpu *cpu, struct fetch_page *fp, struct insn *tmp)
{
    const struct seg *cs = &cpu->s.seg[S_CS];
    uint32_t eip = cpu->s.eip;
    if (eip > cs->limit)
        cpu_raise(cpu, EXC_GP, 0);
    uint32_t lin = cs->base + eip, pa;
    if (unlikely(!fetch_translate(cpu, fp, lin, &pa)))
        return NULL;            /* a gate address: the owner's callout */
    int err = 0;
    const struct insn *in = icache_fetch(cpu, lin, pa, cs->flags & SEGF_DB, fp->bits, true,
                                         tmp, &err);
    if (!in)
        cpu_raise(cpu, err == DECODE_TOOLONG ? EXC_GP : EXC_UD, 0);
    if ((uint64_t)eip + in->len - 1 > cs->limit)
        cpu_raise(cpu, EXC_GP, 0);
    return in;
}

/* ---- checks driven by the opcode table ---- */


static void attr_checks(struct cpu *cpu, const struct insn *in)
{
    uint32_t a = in->row->attr;
    int cpl = cpu->s.cpl, iopl = (int)((cpu->s.eflags & FL_IOPL) >> 12);
    if (!insn_lock_ok(in))
        cpu_raise(cpu, EXC_UD, 0);
    if (a & A_UD)
        cpu_raise(cpu, EXC_UD, 0);
    if (a & A_FPU)
        fpu_fault(cpu, in);
    if ((a & A_REGONLY) && in->mod != 3)
        cpu_raise(cpu, EXC_UD, 0);
    if ((a & A_PRIV) && cpl > 0)
        cpu_raise(cpu, EXC_GP, 0);
    /* IN/OUT/INS/OUTS: io_allowed() in the handler also consults the
       TSS I/O permission bitmap (SDM vol. 1, 18.5.2) */
    if ((a & A_IOPL) && !(a & A_IO) && cpl > iopl)
        cpu_raise(cpu, EXC_GP, 0);
}

/* ---- the run loop ---- */

#define RUN_ON (-1)  /* exec_one: keep running */

/* An external interrupt, if one is pending and deliverable. */
static int take_interrupt(struct cpu *cpu, struct fetch_page *fp)
{
    if (cpu->intercept_ext) {
        cpu->stop_vector = -1;
        cpu->stop_has_error = false;
        cpu->stop_soft = false;
        return cpu->stop = CPU_STOP_INTERCEPT;
    }
    int vector = cpu->bus.intr_ack(cpu->bus.ctx);
    cpu->s.halted = false;
    cpu->insn_eip = cpu->s.eip;
    fp->valid = false;
    intr_deliver(cpu, vector, 0, false, false, true);
    return RUN_ON;
}

static bool irq_ready(struct cpu *cpu)
{
    return (cpu->s.eflags & FL_IF) && cpu->bus.intr_pending &&
           cpu->bus.intr_pending(cpu->bus.ctx);
}

static int stop_at(struct cpu *cpu, enum cpu_stop why)
{
    return cpu->stop = why;
}


/* A near JMP/Jcc/CALL/RET/LOOP keeps the remembered code page: it changes
   no CPL, CR3 or TLB entry, and a target on another page re-translates
   (fetch_translate compares the page). Translated code is mostly such
   branches, so this matters most under --mode bt. */
static inline bool near_branch(const struct op_row *row)
{
    return (row->attr & (A_BRANCH | A_FAR)) == A_BRANCH && row->cost == C_BRANCH;
}

/* After the handler: hooks, stop conditions. */
static int retire(struct cpu *cpu, const struct insn *in, int cpl, struct fetch_page *fp)
{
    const struct op_row *row = in->row;
    cpu->cycles += cpu->class_cost[row->cost];
    cpu->insns++;
    if (likely(!in->slow_retire && !cpu->single_step))
        return RUN_ON;
    if (unlikely(row->attr & A_SENSITIVE) && cpl > 0 && cpu->hooks.on_sensitive)
        cpu->hooks.on_sensitive(cpu->hooks.ctx, row, cpu->insn_eip);
    if (unlikely(row->attr & (A_BLOCK_END | A_FAR))) {
        if (!near_branch(row))
            fp->valid = false;
        if (cpu->s.halted)
            return stop_at(cpu, CPU_STOP_HLT);
    }
    if (likely(!(cpu->stop_now | cpu->single_step)))
        return RUN_ON;
    if (cpu->stop_now) {
        cpu->stop_now = false;
        return stop_at(cpu, CPU_STOP_BUDGET);
    }
    return stop_at(cpu, CPU_STOP_STEP);
}

/* Run a fetched instruction through the pipeline: EIP to the next one, the
   table's checks, the handler (or a VM exit), the count. */
static int exec_insn(struct cpu *cpu, struct fetch_page *fp, const struct insn *in)
{
    bool extra = fp->bits && in->extra;
    uint32_t next = cpu->s.eip + in->len;
    cpu->s.eip = (cpu->s.seg[S_CS].flags & SEGF_DB) ? next : next & 0xffffu;
    if (unlikely(in->pre_checks))
        attr_checks(cpu, in);
    int cpl = cpu->s.cpl;
    if (likely(cpu->vmcs == NULL) || !vmx_insn(cpu, in))
        in->fn(cpu, in);
    cpu->tc_extra_insns += extra;   /* counted once the instruction completed */
    cpu->tc_extra_cycles += extra ? cpu->class_cost[in->cost] : 0;
    return retire(cpu, in, cpl, fp);
}

/* One instruction, from the interrupt check on. */
static int exec_one(struct cpu *cpu, struct fetch_page *fp)
{
    if (unlikely(cpu->s.inhibit_irq))
        cpu->s.inhibit_irq = 0;
    else if (unlikely(cpu->vmcs != NULL) && vmx_boundary(cpu))
        return stop_at(cpu, CPU_STOP_VMEXIT);
    else if (unlikely(irq_ready(cpu)))
        return take_interrupt(cpu, fp);
    struct insn tmp;
    cpu->insn_eip = cpu->s.eip;
    const struct insn *in = fetch(cpu, fp, &tmp);
    if (unlikely(!in))
        return stop_at(cpu, CPU_STOP_GATE);
    return exec_insn(cpu, fp, in);
}

/* How a block's inline part went. */
enum {
    INLINE_CHAIN,     /* ended by a near branch: the next block may follow */
    INLINE_TAIL,      /* its last instruction needs the pipeline */
    INLINE_BROKE,     /* a store reached cached code or MMIO */
    INLINE_NO_BUDGET, /* the budget ends inside it: nothing ran */
};

/* End the running block with k of its instructions completed. */
static void block_end(struct cpu *cpu, unsigned k, bool branched)
{
    block_account(cpu, k);
    if (!branched)
        cpu->s.eip = cpu->run.eip + cpu->run.b->off[k];
    cpu->run.b = NULL;
}

/* A near branch of the block: EIP at the next instruction before it, as
   the pipeline has it. Returns whether it was taken. */
static bool run_branch(struct cpu *cpu, const struct block *b, unsigned i)
{
    uint32_t next = cpu->run.eip + b->off[i + 1];
    cpu->insn_eip = cpu->run.eip + b->off[i];
    cpu->s.eip = next;
    b->in[i].fn(cpu, &b->in[i]);
    return cpu->s.eip != next;
}

/* The plain instructions of a block, its conditional branches and its last
   instruction if a near branch, back to back; the counters and EIP are
   brought up to date at the end (or by block_sync() for whoever needs them
   before). Stops early where a conditional branch is taken, or if a store
   reached cached code or MMIO (the next instruction or an interrupt may
   depend on it). Runs nothing if the budget ends inside the block: the
   caller goes one instruction at a time then. */
static int run_inline(struct cpu *cpu, const struct block *b, bool extras,
                      uint64_t cycle_limit)
{
    unsigned n = b->inline_n, plain = (unsigned)b->n - 1 < n ? (unsigned)b->n - 1 : n;
    if (n == 0)
        return INLINE_TAIL;
    if (cpu->cycles + b->cyc[n - 1] >= cycle_limit)
        return INLINE_NO_BUDGET;
    struct block_run *r = &cpu->run;
    *r = (struct block_run){ b, 0, cpu->s.eip, cpu->cycles, cpu->insns,
                             cpu->tc_extra_insns, cpu->tc_extra_cycles, extras };
    cpu->block_break = false;
    for (unsigned i = 0; i < plain; i++) {
        r->i = i;
        if (unlikely((b->cond >> i) & 1u)) {
            if (run_branch(cpu, b, i)) {
                block_end(cpu, i + 1, true);
                return INLINE_CHAIN;
            }
            continue;
        }
        b->in[i].fn(cpu, &b->in[i]);
        if (unlikely(cpu->block_break)) {
            block_end(cpu, i + 1, false);
            return INLINE_BROKE;
        }
    }
    if (plain < n) {                        /* the near branch at the end */
        r->i = plain;
        run_branch(cpu, b, plain);
        block_end(cpu, n, true);
        return cpu->block_break ? INLINE_BROKE : INLINE_CHAIN;
    }
    block_end(cpu, n, false);
    return INLINE_TAIL;
}

/* Blocks from CS:EIP (block.h), or one instruction where a block cannot
   be used. Everything exec_one checks per instruction is checked here once:
   nothing a plain instruction or a near branch does can change its outcome,
   so blocks that end in a near branch chain straight into the next one
   until the budget ends, a block breaks off, or one ends in an instruction
   that needs the pipeline. */
static __attribute__((noinline)) int exec_block(struct cpu *cpu, struct fetch_page *fp,
                                                uint64_t cycle_limit)
{
    const struct seg *cs = &cpu->s.seg[S_CS];
    if (unlikely(cpu->s.inhibit_irq | cpu->single_step | (cpu->vmcs != NULL) |
                 !(cs->flags & SEGF_DB) | (cycle_limit - cpu->cycles <= 1)))
        return exec_one(cpu, fp);       /* (a budget of one cycle: one instruction) */
    if (unlikely(irq_ready(cpu)))
        return take_interrupt(cpu, fp);
    for (;;) {
        uint32_t eip = cpu->s.eip, lin = cs->base + eip, pa;
        cpu->insn_eip = eip;
        if (unlikely(eip > cs->limit))
            cpu_raise(cpu, EXC_GP, 0);
        if (unlikely(!fetch_translate(cpu, fp, lin, &pa)))
            return stop_at(cpu, CPU_STOP_GATE);
        const struct block *b = fp->gate ? NULL : block_at(cpu, lin, pa, fp->bits);
        if (unlikely(!b || (uint64_t)eip + b->bytes - 1 > cs->limit))
            return exec_one(cpu, fp);
        int how = run_inline(cpu, b, fp->bits && b->extras, cycle_limit);
        if (unlikely(how == INLINE_NO_BUDGET))
            return exec_one(cpu, fp);
        if (how == INLINE_BROKE || cpu->cycles >= cycle_limit)
            return RUN_ON;
        if (how == INLINE_TAIL) {
            cpu->insn_eip = cpu->s.eip;
            return exec_insn(cpu, fp, &b->in[b->n - 1]);
        }
        if (unlikely(cpu->stop_now)) {      /* as retire() after a branch */
            cpu->stop_now = false;
            return stop_at(cpu, CPU_STOP_BUDGET);
        }
    }
}

/* A halted CPU stays halted until an interrupt it can take. */
static bool halted_stays(struct cpu *cpu)
{
    if (!cpu->s.halted)
        return false;
    return !irq_ready(cpu);
}

static enum cpu_stop run_loop(struct cpu *cpu, uint64_t cycle_limit)
{
    struct fetch_page fp = { false, false, 0, 0, NULL };
    cpu->stop = CPU_STOP_BUDGET;
    if (halted_stays(cpu))
        return cpu->stop = CPU_STOP_HLT;
    int rc = setjmp(cpu->fault_jmp);
    if (rc != 0) {
        fp.valid = false;
        if (cpu->run.b) {                   /* a fault inside a block */
            block_sync(cpu);
            cpu->run.b = NULL;
        }
        cpu->s.eip = cpu->insn_eip;
        if (rc == RAISE_STOP || intr_exception(cpu))
            return cpu->stop;
        cpu->stop = CPU_STOP_BUDGET;
        if (cpu->single_step)
            return cpu->stop = CPU_STOP_STEP;
    }
    while (cpu->cycles < cycle_limit) {
        int r = cpu->reference ? exec_one(cpu, &fp) : exec_block(cpu, &fp, cycle_limit);
        if (r != RUN_ON)
            return (enum cpu_stop)r;
    }
    return cpu->stop = CPU_STOP_BUDGET;
}

/* In VMX non-root operation a stop may be a VM exit (vmx.c). */
enum cpu_stop cpu_run(struct cpu *cpu, uint64_t cycle_limit)
{
    enum cpu_stop r = run_loop(cpu, cycle_limit);
    return unlikely(cpu->vmcs != NULL) ? vmx_run_end(cpu, r) : r;
}
