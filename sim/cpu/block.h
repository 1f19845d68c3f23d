/*
 * block.h - predecoded basic blocks and the decoded-instruction cache, as
 * the run loop (exec.c) sees them. Private to sim/cpu.
 *
 * A block is a run of "plain" instructions at consecutive addresses in one
 * page (conditional near branches included: the block ends early where one
 * is taken), followed by one last instruction of any kind. Plain instructions
 * (block_plain) need none of the pipeline's per-instruction work beyond
 * running the handler and counting: no attribute checks, no hooks, no
 * change of CPL, IF, the interrupt shadow, segment registers, the code page
 * or the cycle budget's pace, and no port I/O. So the run loop checks for
 * interrupts, translates the code page and checks the CS limit once per
 * block, runs the plain ones back to back, and sends the last through the
 * full pipeline. Counting stays per instruction: guest instructions, modeled
 * cycles and faults are exactly what the instruction-at-a-time loop gives.
 */
#ifndef RS_BLOCK_H
#define RS_BLOCK_H

#include "exec_internal.h"

/* Rows that need the pipeline's attribute checks before the handler. */
#define A_CHECKED (A_UD | A_FPU | A_PRIV | A_IOPL | A_REGONLY)

/* Rows after which retire() must look further: hooks, block ends, and
   port I/O (the only instructions whose device callbacks set stop_now). */
#define RETIRE_SLOW (A_SENSITIVE | A_BLOCK_END | A_FAR | A_IO)

#define BLOCK_MAX 16
#define BLOCKS_BITS 11
#define BLOCKS_SIZE (1u << BLOCKS_BITS)

struct block {
    uint64_t key;      /* physical address << 2 | CS.D code; 0: empty */
    uint32_t lin;      /* linear address of the first instruction */
    uint32_t epoch;    /* cpu->block_epoch when built */
    uint32_t gen;      /* cpu->code_gen[page] when built */
    uint16_t bytes;    /* length of all its instructions */
    uint8_t n;         /* instructions: n - 1 plain ones, then the last */
    uint8_t inline_n;  /* how many run without the pipeline: n - 1, or n when
                          the last is a near branch (block_inline_tail) */
    uint8_t extras;    /* some instruction is one of translated code's extras */
    uint32_t cond;     /* bit k: instruction k (< n - 1) is a conditional near
                          branch; the block goes on if it falls through */
    /* before instruction k (k = 0..n): its offset from the first, and the
       modeled cycles, extra instructions and their cycles of those before it
       (cycles at the class costs when built: they are fixed per VM) */
    uint8_t off[BLOCK_MAX + 1];
    uint8_t xn[BLOCK_MAX + 1];
    uint32_t cyc[BLOCK_MAX + 1];
    uint32_t xcyc[BLOCK_MAX + 1];
    struct insn in[BLOCK_MAX];
};

/* The counters of the running block (cpu->run) with `k` of its
   instructions completed; it stays the running block. */
static inline void block_account(struct cpu *cpu, unsigned k)
{
    const struct block_run *r = &cpu->run;
    const struct block *b = r->b;
    cpu->cycles = r->cycles + b->cyc[k];
    cpu->insns = r->insns + k;
    if (r->extras) {
        cpu->tc_extra_insns = r->xinsns + b->xn[k];
        cpu->tc_extra_cycles = r->xcycles + b->xcyc[k];
    }
}


/* Storage (block.c): blocks_create on cpu_init (false: out of memory). */
bool blocks_create(struct cpu *cpu);
void blocks_destroy(struct cpu *cpu);
/* Every block is stale (a cache flush, a large physical write). */
void blocks_flush(struct cpu *cpu);

/*
 * The block starting at linear `lin`, physical `pa`, 32-bit code, with the
 * boundary bits of its page (cpu.h): from the cache, or built now. NULL when
 * no block can start here (not RAM, or the first instruction does not decode
 * within the page): the caller takes the one-instruction path, which raises
 * whatever fault is due. Never faults.
 */
const struct block *block_build_at(struct cpu *cpu, uint32_t lin, uint32_t pa,
                                   const uint8_t *bits);

struct cpu_blocks {
    struct block b[BLOCKS_SIZE];
};

static inline uint64_t block_key(uint32_t pa)
{
    return (uint64_t)pa << 2 | 2u;
}

static inline struct block *block_slot(const struct cpu *cpu, uint32_t pa)
{
    return &cpu->blocks->b[(pa ^ (pa >> BLOCKS_BITS)) & (BLOCKS_SIZE - 1)];
}

/* Is the cached block still the code at lin / pa? */
static inline bool block_fresh(const struct cpu *cpu, const struct block *b, uint32_t lin,
                               uint32_t pa)
{
    return b->key == block_key(pa) && b->lin == lin && b->epoch == cpu->block_epoch &&
           b->gen == cpu->code_gen[pa >> 12];
}

static inline const struct block *block_at(struct cpu *cpu, uint32_t lin, uint32_t pa,
                                           const uint8_t *bits)
{
    const struct block *b = block_slot(cpu, pa);
    if (__builtin_expect(block_fresh(cpu, b, lin, pa), 1))
        return b;
    return block_build_at(cpu, lin, pa, bits);
}

/* Give a decoded instruction the handler of its form (forms.c). */
void form_select(struct insn *in);

/* The decoded-instruction cache (icache.c). */
struct cpu_icache *icache_create(void);
void icache_destroy(struct cpu_icache *ic);
/* The instruction at linear `lin`, physical `pa`: cached or decoded (and
   cached). NULL with *err = DECODE_* if the bytes are not an instruction,
   or (with !cross) if it would cross into the next page. With `cross` the
   next page's translation may fault. */
const struct insn *icache_fetch(struct cpu *cpu, uint32_t lin, uint32_t pa, bool d32,
                                const uint8_t *bits, bool cross, struct insn *tmp,
                                int *err);

#endif
