/*
 * cpu.h - the hardware CPU: an i686-class integer x86 core in protected mode.
 *
 * This is the "hardware" of ringside. It knows nothing about virtualization:
 * it executes instructions at whatever privilege level its state says, takes
 * exceptions and interrupts through its IDT, and walks its page tables. The
 * engines (native, trap, bt) and the VMM drive it through this header only.
 *
 * The CPU reaches the outside world through `struct cpu_bus` (physical memory,
 * I/O ports, the interrupt line) and reports what happens through optional
 * `struct cpu_hooks` (NULL hooks cost one predictable branch). An owner runs it
 * for a bounded number of modeled cycles with cpu_run(), which returns a
 * reason: budget spent, HLT, an intercepted exception or interrupt, a fetch
 * from a registered gate address (the VMM's callout mechanism), a triple
 * fault, or a single step.
 *
 * All architectural state lives in `struct cpu_state`, a plain struct that
 * can be saved and restored; the TLB and the decoded-instruction cache are
 * caches that are rebuilt on demand (cpu_flush_caches()).
 */
#ifndef RS_CPU_H
#define RS_CPU_H

#include <stdint.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stddef.h>

/* General registers, in encoding order. */
enum { R_EAX, R_ECX, R_EDX, R_EBX, R_ESP, R_EBP, R_ESI, R_EDI };

/* Segment registers, in encoding order (the sreg field of ModRM). */
enum { S_ES, S_CS, S_SS, S_DS, S_FS, S_GS, S_COUNT };

/* EFLAGS bits (Intel SDM vol. 1, 3.4.3). */
#define FL_CF   0x00000001u
#define FL_FIXED1 0x00000002u /* bit 1 always reads 1 */
#define FL_PF   0x00000004u
#define FL_AF   0x00000010u
#define FL_ZF   0x00000040u
#define FL_SF   0x00000080u
#define FL_TF   0x00000100u
#define FL_IF   0x00000200u
#define FL_DF   0x00000400u
#define FL_OF   0x00000800u
#define FL_IOPL 0x00003000u
#define FL_NT   0x00004000u
#define FL_RF   0x00010000u
#define FL_VM   0x00020000u
#define FL_AC   0x00040000u
#define FL_ID   0x00200000u
#define FL_ARITH (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)

/* Control register bits. */
#define CR0_PE 0x00000001u
#define CR0_MP 0x00000002u
#define CR0_EM 0x00000004u
#define CR0_TS 0x00000008u
#define CR0_ET 0x00000010u
#define CR0_NE 0x00000020u
#define CR0_WP 0x00010000u
#define CR0_AM 0x00040000u
#define CR0_NW 0x20000000u
#define CR0_CD 0x40000000u
#define CR0_PG 0x80000000u
#define CR4_VME 0x00000001u
#define CR4_PVI 0x00000002u
#define CR4_TSD 0x00000004u
#define CR4_DE  0x00000008u
#define CR4_PSE 0x00000010u
#define CR4_PGE 0x00000080u

/* Exception vectors (SDM vol. 3, table 6-1). */
enum {
    EXC_DE = 0, EXC_DB = 1, EXC_NMI = 2, EXC_BP = 3, EXC_OF = 4, EXC_BR = 5,
    EXC_UD = 6, EXC_NM = 7, EXC_DF = 8, EXC_TS = 10, EXC_NP = 11, EXC_SS = 12,
    EXC_GP = 13, EXC_PF = 14, EXC_MF = 16, EXC_AC = 17, EXC_MC = 18
};

/* Page-fault error code bits. */
#define PF_P  1u /* 0: not present, 1: protection violation */
#define PF_W  2u /* write access */
#define PF_U  4u /* access from CPL 3 */

/*
 * A segment register with its hidden descriptor cache. `flags` holds the
 * descriptor's access byte in bits 0-7 (type, S, DPL, P) and the D/B and G
 * bits in bits 14 and 15, as in the descriptor's second dword >> 8.
 */
struct seg {
    uint16_t sel;   /* visible selector */
    uint32_t base;  /* linear base */
    uint32_t limit; /* byte-granular limit (already scaled by G) */
    uint32_t flags; /* access byte | D/B << 14 | G << 15 */
};
#define SEGF_TYPE(f)   ((f) & 0xfu)
#define SEGF_S         0x10u  /* code/data (1) or system (0) */
#define SEGF_DPL(f)    (((f) >> 5) & 3u)
#define SEGF_P         0x80u
#define SEGF_DB        0x4000u
#define SEGF_G         0x8000u

struct dtr {
    uint32_t base;
    uint16_t limit;
};

/* Architectural state: everything a snapshot must hold. */
struct cpu_state {
    uint32_t r[8];          /* EAX..EDI */
    uint32_t eip;
    uint32_t eflags;        /* authoritative only after cpu_get_eflags() */
    struct seg seg[S_COUNT];
    struct seg ldtr, tr;
    struct dtr gdtr, idtr;
    uint32_t cr0, cr2, cr3, cr4;
    uint32_t dr[8];
    int cpl;                /* current privilege level (= CS.RPL in prot. mode) */
    bool halted;            /* HLT executed, waiting for an interrupt */
    uint64_t tsc_offset;    /* RDTSC = cycles + tsc_offset (WRMSR 0x10) */
    uint32_t sysenter_cs, sysenter_esp, sysenter_eip; /* MSRs 0x174-0x176 */
    uint64_t apic_base;     /* IA32_APIC_BASE (0x1B): base, global enable, BSP */
    uint64_t misc_enable;   /* IA32_MISC_ENABLE (0x1A0) */
    uint8_t inhibit_irq;    /* 1 for the instruction after STI / MOV SS */
};

/*
 * The CPU's view of the machine. RAM is a flat host array (fast path); any
 * physical address at or above ram_size goes to the mmio callbacks. I/O
 * instructions go to io_in/io_out. The interrupt line is level-triggered:
 * intr_pending() says whether an external interrupt is requested and
 * intr_ack() performs the INTA cycle, returning the vector.
 */
struct cpu_bus {
    void *ctx;
    uint8_t *ram;
    uint32_t ram_size;
    uint32_t (*mmio_read)(void *ctx, uint32_t paddr, int size);
    void (*mmio_write)(void *ctx, uint32_t paddr, int size, uint32_t val);
    uint32_t (*io_in)(void *ctx, uint16_t port, int size);
    void (*io_out)(void *ctx, uint16_t port, int size, uint32_t val);
    bool (*intr_pending)(void *ctx);
    int (*intr_ack)(void *ctx);
};

struct op_row; /* one row of the opcode table, see optable.h */

/*
 * Observation hooks. Any may be NULL. They report, they do not decide; to
 * take control of an exception or interrupt use cpu->intercept instead.
 */
struct cpu_hooks {
    void *ctx;
    /* an exception or interrupt is about to be delivered through the IDT;
       soft is 1 for INT n/INT3/INTO, ext is 1 for external interrupts */
    void (*on_vector)(void *ctx, int vector, uint32_t error_code, bool has_error,
                      bool soft, bool ext, uint32_t eip);
    /* CPL changed (interrupt/exception delivery, IRET, far transfers) */
    void (*on_ring_change)(void *ctx, int from, int to, uint32_t eip);
    /* IN/OUT/INS/OUTS performed */
    void (*on_io)(void *ctx, uint16_t port, int size, bool write, uint32_t val);
    /* an instruction whose row carries A_SENSITIVE executed at CPL > 0
       without faulting (the Robin & Irvine leak) */
    void (*on_sensitive)(void *ctx, const struct op_row *row, uint32_t eip);
};

/* Why cpu_run() returned. */
enum cpu_stop {
    CPU_STOP_BUDGET = 0, /* cycle limit reached */
    CPU_STOP_HLT,        /* HLT executed (state.halted set) */
    CPU_STOP_INTERCEPT,  /* an intercepted vector: see cpu->stop_vector etc. */
    CPU_STOP_GATE,       /* instruction fetch from a gate address: stop_addr */
    CPU_STOP_TRIPLE,     /* triple fault: the machine must reset or stop */
    CPU_STOP_STEP,       /* single-step mode: one instruction done */
    CPU_STOP_UNSUPPORTED,/* e.g. a task gate or task switch: stop_msg says */
    CPU_STOP_VMEXIT,     /* VMX non-root operation ended in a VM exit: the exit
                            fields of the VMCS say why (vmx.h) */
};

/* Internal caches; private layout in cpu_internal.h. */
struct cpu_tlb;
struct cpu_icache;
struct cpu_blocks;
struct vmcs;      /* the hardware virtualization extension (vmx.h) */

struct cpu {
    struct cpu_state s;
    struct cpu_bus bus;
    struct cpu_hooks hooks;

    uint64_t cycles;          /* modeled cycles retired so far */
    uint64_t insns;           /* instructions retired so far */
    uint64_t tc_extra_insns;  /* of those, retired inside [boundary_lo, boundary_hi)
                                 at no guest-instruction boundary (the extra
                                 instructions of binary-translated code) */
    uint64_t tc_extra_cycles; /* the modeled cycles of those extra instructions */
    uint32_t class_cost[16];  /* modeled cycles per insn of each cost class
                                 (enum cost_class in optable.h); string insns
                                 pay per iteration. Default all 1. */
    uint32_t port_cost;       /* modeled cycles per port access the CPU itself
                                 makes (IN/OUT/INS/OUTS), charged before the
                                 bus sees it. Default 0. */

    /* lazy flags: see flags.c */
    uint32_t lf_op, lf_res, lf_src, lf_dst, lf_aux;

    /* owner control */
    uint32_t intercept;       /* bit v: stop instead of delivering exception v (v < 32) */
    bool intercept_ext;       /* stop instead of delivering external interrupts */
    uint32_t gate_lo, gate_hi;/* [lo, hi): instruction fetch there stops the CPU */
    const uint8_t *boundary_map; /* optional, NULL: 1 bit per byte of [boundary_lo,
                                 boundary_hi), set where a guest instruction's
                                 translation starts (the BT's TC); retiring
                                 elsewhere in the range counts tc_extra_insns */
    uint32_t boundary_lo, boundary_hi;
    bool single_step;         /* stop after every instruction */
    bool reference;           /* the reference interpreter: one instruction at a time,
                                 each row's generic handler (no blocks, no forms);
                                 set before the first run. Results are identical. */
    struct vmcs *vmcs;        /* non-NULL: VMX non-root operation under this VMCS
                                 (vmx.h); NULL: ordinary (root) operation */
    bool ept_on;              /* non-root with nested paging: every guest-physical
                                 address goes through the VMCS's EPT table */
    uint32_t npt_ref_cost;    /* modeled cycles per memory reference a nested walk
                                 adds (the EPT entries read on a TLB miss). Default 0. */
    uint64_t npt_refs;        /* EPT entries read so far */
    uint64_t npt_cycles;      /* ... and the cycles charged for them */
    bool stop_now;            /* set by a port-I/O device callback (e.g. debug-exit):
                                 cpu_run returns CPU_STOP_BUDGET after that I/O
                                 instruction (checked after A_IO rows only) */

    /* why the last cpu_run stopped */
    enum cpu_stop stop;
    int stop_vector;          /* CPU_STOP_INTERCEPT: vector (-1: ext. interrupt pending) */
    uint32_t stop_error;      /* its error code, if has_error */
    bool stop_has_error;
    bool stop_soft;           /* CPU_STOP_INTERCEPT: INT n/INT3/INTO, not an exception */
    uint32_t stop_addr;       /* CPU_STOP_GATE: linear fetch address */
    const char *stop_msg;     /* CPU_STOP_UNSUPPORTED / TRIPLE: static text */

    /* per-run transient state (not part of a snapshot) */
    jmp_buf fault_jmp;
    uint32_t insn_eip;        /* EIP of the instruction being executed */
    int fault_depth;          /* nested delivery: 1 = in delivery, 2 = #DF */
    int deliver_class;        /* class of the vector being delivered (intr.c) */
    struct {                  /* the event intr_deliver is delivering (a VM exit
                                 during its delivery records it, vmx.c) */
        int vector;
        uint32_t error;
        bool has_error, soft, ext;
    } delivering;
    uint32_t pf_cr2_before;   /* CR2 before the last #PF set it (paging.c) */
    int pending_vector;       /* exception recorded by cpu_raise (intr.c) */
    uint32_t pending_error;   /* its error code */
    bool pending_has_error;   /* whether the vector pushes an error code */
    struct cpu_tlb *tlb;
    struct cpu_icache *icache;
    uint16_t *write_watch;    /* 1 entry per 4 KiB RAM page, WW_* bits: a store to a
                                 page with any bit set takes the slow path (mem.c) */
    uint8_t *dirty_bits;      /* the dirty log (dirtylog.c): 1 bit per page, NULL: off */
    uint32_t dirty_pages;     /* pages [0, dirty_pages) are logged */
    uint32_t dirty_count;     /* bits set in dirty_bits */
    struct cpu_blocks *blocks;/* predecoded blocks (block.c) */
    uint32_t *code_gen;       /* 1 entry per RAM page: bumped when its cached code
                                 is dropped (blocks built before are stale) */
    uint32_t block_epoch;     /* advanced by a cache flush */
    bool block_break;         /* stop the running block after this instruction */
    struct block_run {        /* the block being run (block.c): while it runs, the
                                 counters and EIP are those before it */
        const struct block *b;/* NULL: none */
        uint32_t i;           /* the instruction running */
        uint32_t eip;         /* EIP of the block's first instruction */
        uint64_t cycles, insns, xinsns, xcycles; /* the counters before it */
        bool extras;          /* it holds extras that count (tc_extra_*) */
    } run;
};

/* Write-watch bits (cpu->write_watch). */
#define WW_CODE      0x00FFu  /* bit k: 512-byte chunk k of the page holds decoded insns */
#define WW_DIRTY_LOG 0x0100u  /* logged page not written since the log was last taken */

/* Lifecycle. cpu_init allocates the caches; cpu_free releases them. */
int cpu_init(struct cpu *cpu, const struct cpu_bus *bus);
void cpu_free(struct cpu *cpu);
/* Protected-mode state a multiboot loader leaves: flat 4 GiB code and data
   segments at CPL 0, paging and interrupts off. */
void cpu_reset_multiboot(struct cpu *cpu, uint32_t entry, uint32_t eax, uint32_t ebx);

/* Guest instructions retired: all of them, less the extra instructions of
   translated code (equal to insns unless a boundary map is set). */
static inline uint64_t cpu_guest_insns(const struct cpu *cpu)
{
    return cpu->insns - cpu->tc_extra_insns;
}

/* Run until cpu->cycles >= cycle_limit or another stop reason. */
enum cpu_stop cpu_run(struct cpu *cpu, uint64_t cycle_limit);

/* Architectural state access for owners (VMM, UI, snapshots, tests). */
uint32_t cpu_get_eflags(struct cpu *cpu);
/* CPUID leaf `leaf`: out = EAX, EBX, ECX, EDX (what the instruction and the
   firmware's MP table report). */
void cpu_cpuid(uint32_t leaf, uint32_t out[4]);
/* The MSRs of the platform that every engine shares (IA32_APIC_BASE,
   IA32_MISC_ENABLE): false if `msr` is not one of them or the value is
   invalid (the caller raises #GP). */
bool cpu_platform_msr_read(const struct cpu *cpu, uint32_t msr, uint64_t *val);
bool cpu_platform_msr_write(struct cpu *cpu, uint32_t msr, uint64_t val);
#define MSR_APIC_BASE       0x1Bu
#define MSR_MISC_ENABLE     0x1A0u
#define APIC_BASE_BSP       (1u << 8)
#define APIC_BASE_ENABLE    (1u << 11)
#define APIC_BASE_DEFAULT   (0xFEE00000u | APIC_BASE_ENABLE | APIC_BASE_BSP)
void cpu_set_eflags(struct cpu *cpu, uint32_t value);
void cpu_flush_caches(struct cpu *cpu);      /* TLB and decoded-insn cache */
void cpu_tlb_flush(struct cpu *cpu);
/* The owner wrote guest memory behind the CPU's back (loader, VMM, a
   restore): drops decoded instructions there and dirties the pages in the
   dirty log. Every write into RAM not made by a CPU store must call it. */
void cpu_notify_phys_write(struct cpu *cpu, uint32_t paddr, uint32_t len);

/*
 * The dirty log (dirtylog.c): which of the physical pages [0, npages) were
 * written - by a CPU store (the first store to a page since the log was last
 * taken goes through the slow path, which sets the page's bit and clears its
 * WW_DIRTY_LOG watch bit, so later stores stay on the fast path) or by an
 * owner through cpu_notify_phys_write. Live migration's pre-copy reads it.
 */
int cpu_dirty_log_start(struct cpu *cpu, uint32_t npages);   /* -1: out of memory */
void cpu_dirty_log_stop(struct cpu *cpu);
/* Copy the pages dirtied since the start or the last take into `bitmap`
   ((npages + 7) / 8 bytes, bit p of byte p / 8), clear the log and watch
   those pages again. Returns how many pages were dirty. */
uint32_t cpu_dirty_log_take(struct cpu *cpu, uint8_t *bitmap);
static inline bool cpu_dirty_log_on(const struct cpu *cpu) { return cpu->dirty_bits != NULL; }

/*
 * Deliver an exception or interrupt now, as the hardware would (used by the
 * VMM to reflect, and by owners that intercepted and want default handling).
 * Returns false if delivery itself faulted into a triple fault.
 */
bool cpu_deliver(struct cpu *cpu, int vector, uint32_t error_code, bool has_error,
                 bool soft, bool ext);

/*
 * Debug/owner accessors: translate and access memory without side effects on
 * A/D bits and without raising (returns false on a fault).
 */
bool cpu_linear_to_phys(struct cpu *cpu, uint32_t lin, bool write, int cpl,
                        uint32_t *phys);
bool cpu_peek(struct cpu *cpu, uint32_t lin, void *buf, uint32_t len);

#endif
