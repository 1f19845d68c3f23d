/*
 * exec.c - the CPU's life cycle and its fetch-decode-execute loop.
 *
 * cpu_run() is the hardware's heartbeat. Per instruction it: takes a
 * pending external interrupt if EFLAGS.IF allows (and no STI/MOV SS shadow
 * is active); stops if EIP has reached a gate address (the VMM's callout
 * mechanism); fetches the decoded instruction from a cache keyed by
 * physical address; applies the checks the opcode table's attributes ask
 * for (#UD, #NM, #GP for CPL or IOPL, LOCK rules - SDM vol. 2, 2.1.1 and
 * vol. 3, 2.8); runs the handler; and charges the instruction's modeled
 * cycles. A fault anywhere unwinds with longjmp back here (the protocol is
 * in cpu_internal.h): EIP goes back to the faulting instruction and intr.c
 * either delivers the exception or stops the run for an owner that
 * intercepts it.
 *
 * Decoded instructions are cached per physical address (never for an
 * instruction that crosses a page, or one in MMIO). The write-watch map has
 * an entry per RAM page whose WW_CODE bits say which 512-byte chunks hold
 * cached code,
 * so a write to data that shares a page with code (common in tiny kernels)
 * costs nothing, and a write into code drops only the chunk it hits.
 */
#include <stdlib.h>
#include <string.h>
#include "ops.h"
#include "ops_system.h"
#include "vmx_internal.h"

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* Rows that need the pipeline's attribute checks before the handler. */
#define A_CHECKED (A_UD | A_FPU | A_PRIV | A_IOPL | A_REGONLY)

/* Rows after which retire() must look further: hooks, block ends, and
   port I/O (the only instructions whose device callbacks set stop_now). */
#define RETIRE_SLOW (A_SENSITIVE | A_BLOCK_END | A_FAR | A_IO)

#define IC_BITS 15
#define IC_SIZE (1u << IC_BITS)
#define IC_CHUNK 9                      /* log2 of the invalidation chunk */

struct ic_entry {
    uint64_t key;     /* ic_key(physical address of the first byte, CS.D); 0: empty */
    uint8_t extra;    /* translated code at no guest-instruction boundary
                         (cpu.h boundary_map, read when decoded) */
    struct insn in;
};

struct cpu_icache {
    struct ic_entry e[IC_SIZE];
};

/* The run loop's memory of the current code page (valid until the next
   control-register, CPL or TLB change, all of which end a block). */
struct fetch_page {
    bool valid;
    bool gate;        /* the page overlaps [gate_lo, gate_hi): check each fetch */
    uint32_t lin;     /* linear page */
    uint32_t pa;      /* its physical page */
    const uint8_t *bits; /* in the boundary map's range (cpu.h): the page's bits */
};

/* A cache entry's key: the physical address and the code size it was
   decoded for (the same bytes decode differently for a 16-bit CS). */
static inline uint64_t ic_key(uint32_t pa, bool d32)
{
    return (uint64_t)pa << 2 | (d32 ? 2u : 1u);
}

/* ---- life cycle ---- */

int cpu_init(struct cpu *cpu, const struct cpu_bus *bus)
{
    memset(cpu, 0, sizeof *cpu);
    cpu->bus = *bus;
    for (int i = 0; i < C_COUNT; i++)
        cpu->class_cost[i] = 1;
    cpu->icache = calloc(1, sizeof *cpu->icache);
    cpu->write_watch = calloc((bus->ram_size >> 12) + 1, sizeof *cpu->write_watch);
    cpu->tlb = tlb_create();
    if (!cpu->icache || !cpu->write_watch || !cpu->tlb) {
        cpu_free(cpu);
        return -1;
    }
    cpu_reset_multiboot(cpu, 0, 0, 0);
    return 0;
}

void cpu_free(struct cpu *cpu)
{
    free(cpu->icache);
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

/* ---- decoded-instruction cache ---- */

static uint32_t ram_pages(const struct cpu *cpu)
{
    return (cpu->bus.ram_size >> 12) + 1;
}

/* Drop the cached instructions that start in, or reach into, the 512-byte
   chunk holding `pa` (instructions never cross a page when cached). */
static void ic_drop_chunk(struct cpu *cpu, uint32_t pa)
{
    uint32_t page = pa >> 12, bit = 1u << ((pa >> IC_CHUNK) & 7);
    if (page >= ram_pages(cpu) || !(cpu->write_watch[page] & bit))
        return;
    cpu->write_watch[page] &= (uint16_t)~bit;
    uint32_t start = pa & ~((1u << IC_CHUNK) - 1), end = start + (1u << IC_CHUNK);
    uint32_t from = (start & 0xfffu) >= 14 ? start - 14 : start & ~0xfffu;
    for (uint32_t a = from; a < end; a++) {
        struct ic_entry *e = &cpu->icache->e[a & (IC_SIZE - 1)];
        if (e->key >> 2 == a)
            e->key = 0;
    }
}

void icache_invalidate_page(struct cpu *cpu, uint32_t pa)
{
    ic_drop_chunk(cpu, pa);
    if (((pa + 3) & ~0xfffu) == (pa & ~0xfffu))
        ic_drop_chunk(cpu, pa + 3);
}

/* A write larger than the cache itself (a kernel load, a restore): one pass
   over the entries instead of one per chunk, dropping every entry that
   starts in [paddr - 14, end) -- a superset of what the chunk walk drops. */
static void ic_drop_range(struct cpu *cpu, uint32_t paddr, uint64_t end)
{
    uint64_t from = paddr >= 14 ? paddr - 14u : 0;
    for (unsigned i = 0; i < IC_SIZE; i++) {
        struct ic_entry *e = &cpu->icache->e[i];
        uint64_t a = e->key >> 2;
        if (e->key && a >= from && a < end)
            e->key = 0;
    }
}

void cpu_notify_phys_write(struct cpu *cpu, uint32_t paddr, uint32_t len)
{
    if (len == 0)
        return;
    uint64_t end = (uint64_t)paddr + len;
    dirty_log_range(cpu, paddr, end);
    if (len >= IC_SIZE) {
        ic_drop_range(cpu, paddr, end + (1u << IC_CHUNK));
        return;
    }
    for (uint64_t a = paddr & ~((1u << IC_CHUNK) - 1); a < end; a += 1u << IC_CHUNK)
        ic_drop_chunk(cpu, (uint32_t)a);
}

void cpu_flush_caches(struct cpu *cpu)
{
    if (cpu->icache)
        for (unsigned i = 0; i < IC_SIZE; i++)
            cpu->icache->e[i].key = 0;
    if (cpu->write_watch)
        for (uint32_t p = 0; p < ram_pages(cpu); p++)
            cpu->write_watch[p] &= (uint16_t)~WW_CODE;     /* the dirty log's bits stay */
    tlb_flush_all(cpu);
}

static void ic_store(struct cpu *cpu, uint32_t pa, bool d32, const struct insn *in,
                     bool extra)
{
    struct ic_entry *e = &cpu->icache->e[pa & (IC_SIZE - 1)];
    uint32_t last = pa + in->len - 1;
    e->key = ic_key(pa, d32);
    e->extra = extra;
    e->in = *in;
    cpu->write_watch[pa >> 12] |= (uint16_t)(1u << ((pa >> IC_CHUNK) & 7));
    cpu->write_watch[pa >> 12] |= (uint16_t)(1u << ((last >> IC_CHUNK) & 7));
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
static bool fetch_translate(struct cpu *cpu, struct fetch_page *fp, uint32_t lin,
                            uint32_t *pa)
{
    uint32_t page = lin & ~0xfffu;
    if (likely(fp->valid && fp->lin == page && !fp->gate)) {
        *pa = fp->pa | (lin & 0xfffu);
        return true;
    }
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

static void fetch_bytes(struct cpu *cpu, uint32_t pa, uint8_t *buf, uint32_t n)
{
    if (pa < cpu->bus.ram_size && n <= cpu->bus.ram_size - pa) {
        memcpy(buf, cpu->bus.ram + pa, n);
        return;
    }
    for (uint32_t i = 0; i < n; i++)
        buf[i] = (uint8_t)phys_read(cpu, pa + i, 1);
}

/* Slow path: decode from memory, crossing into the next page only if the
   instruction needs bytes there (whose translation may fault). */
/* Is the instruction at `lin` one of translated code's extras? (The
   translator sets the boundary bits before the code first runs, and
   rewriting TC bytes drops their decoded instructions, so the answer can be
   cached with the decoded instruction.) */
static bool tc_extra_at(const uint8_t *bits, uint32_t lin)
{
    uint32_t off = lin & 0xfffu;
    return bits && !((bits[off >> 3] >> (off & 7u)) & 1u);
}

static const struct insn *fetch_decode(struct cpu *cpu, uint32_t lin, uint32_t pa,
                                       bool d32, struct insn *tmp, bool *extra)
{
    uint8_t buf[16];
    uint32_t n = 0x1000u - (pa & 0xfffu);
    if (n > 15)
        n = 15;
    fetch_bytes(cpu, pa, buf, n);
    int len = decode(buf, (int)n, d32, tmp);
    bool crossed = false;
    if (len == DECODE_SHORT) {
        uint32_t pa2 = tlb_translate(cpu, lin + n, false, cpu->s.cpl == 3);
        fetch_bytes(cpu, pa2, buf + n, 15 - n);
        len = decode(buf, 15, d32, tmp);
        crossed = true;
    }
    if (len == DECODE_TOOLONG)
        cpu_raise(cpu, EXC_GP, 0);
    if (len < 0)
        cpu_raise(cpu, EXC_UD, 0);
    uint32_t attr = tmp->row->attr;
    tmp->pre_checks = (attr & A_CHECKED) || tmp->lock;
    tmp->slow_retire = (attr & RETIRE_SLOW) != 0;
    if (!crossed && pa < cpu->bus.ram_size && (uint32_t)len <= cpu->bus.ram_size - pa)
        ic_store(cpu, pa, d32, tmp, *extra);
    return tmp;
}

/* The decoded instruction at CS:EIP, or NULL when EIP is a gate address;
   *extra says whether it is one of translated code's extra instructions. */
static const struct insn *fetch(struct cpu *cpu, struct fetch_page *fp, struct insn *tmp,
                                bool *extra)
{
    const struct seg *cs = &cpu->s.seg[S_CS];
    uint32_t eip = cpu->s.eip;
    if (eip > cs->limit)
        cpu_raise(cpu, EXC_GP, 0);
    uint32_t lin = cs->base + eip, pa;
    if (unlikely(!fetch_translate(cpu, fp, lin, &pa)))
        return NULL;            /* a gate address: the owner's callout */
    bool d32 = cs->flags & SEGF_DB;
    const struct ic_entry *e = &cpu->icache->e[pa & (IC_SIZE - 1)];
    const struct insn *in;
    if (likely(e->key == ic_key(pa, d32))) {
        in = &e->in;
        *extra = fp->bits && e->extra;
    } else {
        *extra = tc_extra_at(fp->bits, lin);
        in = fetch_decode(cpu, lin, pa, d32, tmp, extra);
    }
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

static int exec_one(struct cpu *cpu, struct fetch_page *fp)
{
    if (unlikely(cpu->s.inhibit_irq))
        cpu->s.inhibit_irq = 0;
    else if (unlikely(cpu->vmcs != NULL) && vmx_boundary(cpu))
        return stop_at(cpu, CPU_STOP_VMEXIT);
    else if (unlikely(irq_ready(cpu)))
        return take_interrupt(cpu, fp);
    struct insn tmp;
    bool extra;
    cpu->insn_eip = cpu->s.eip;
    const struct insn *in = fetch(cpu, fp, &tmp, &extra);
    if (unlikely(!in))
        return stop_at(cpu, CPU_STOP_GATE);
    const struct op_row *row = in->row;
    uint32_t next = cpu->s.eip + in->len;
    cpu->s.eip = (cpu->s.seg[S_CS].flags & SEGF_DB) ? next : next & 0xffffu;
    if (unlikely(in->pre_checks))
        attr_checks(cpu, in);
    int cpl = cpu->s.cpl;
    if (likely(cpu->vmcs == NULL) || !vmx_insn(cpu, in))
        row->fn(cpu, in);
    cpu->tc_extra_insns += extra;   /* counted once the instruction completed */
    cpu->tc_extra_cycles += extra ? cpu->class_cost[row->cost] : 0;
    return retire(cpu, in, cpl, fp);
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
        cpu->s.eip = cpu->insn_eip;
        if (rc == RAISE_STOP || intr_exception(cpu))
            return cpu->stop;
        cpu->stop = CPU_STOP_BUDGET;
        if (cpu->single_step)
            return cpu->stop = CPU_STOP_STEP;
    }
    while (cpu->cycles < cycle_limit) {
        int r = exec_one(cpu, &fp);
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
