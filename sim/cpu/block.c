/*
 * block.c - the block cache: predecoded basic blocks keyed by physical
 * address (block.h says what a block is and why).
 *
 * Blocks are built from the decoded-instruction cache, so every byte they
 * cover is on the code write-watch: a store into it drops the chunk and
 * bumps the page's code generation (icache.c), which makes every block of
 * the page stale. A block is also tied to the linear address it was built
 * at (its translated-code "extra" bits belong to that page) and to the
 * block epoch, which a cache flush advances. The table is direct-mapped;
 * a collision just rebuilds.
 */
#include <stdlib.h>
#include <string.h>
#include "block.h"

bool blocks_create(struct cpu *cpu)
{
    cpu->blocks = calloc(1, sizeof *cpu->blocks);
    cpu->code_gen = calloc((cpu->bus.ram_size >> 12) + 1, sizeof *cpu->code_gen);
    cpu->block_epoch = 1;
    return cpu->blocks && cpu->code_gen;
}

void blocks_destroy(struct cpu *cpu)
{
    free(cpu->blocks);
    free(cpu->code_gen);
    cpu->blocks = NULL;
    cpu->code_gen = NULL;
}

void blocks_flush(struct cpu *cpu)
{
    cpu->block_epoch++;
    cpu->block_break = true;
}

/* Can the instruction run inside a block, with no pipeline work but its
   handler and its count? (See block.h; the rows left out are the ones
   whose effects the per-instruction loop looks at afterwards.) */
static bool block_plain(const struct insn *in)
{
    const uint32_t outside = A_SENSITIVE | A_BLOCK_END | A_FAR | A_IO | A_SEGLOAD |
                             A_STRING | A_BRANCH;
    return !in->pre_checks && !(in->row->attr & outside);
}

/* A near JMP/Jcc/CALL/RET/LOOP with no checks or hooks: after it, the
   pipeline would only count it (it keeps the code page, CPL and IF). */
static bool block_inline_tail(const struct insn *in)
{
    uint32_t a = in->row->attr;
    return !in->pre_checks && (a & (A_BRANCH | A_FAR | A_SENSITIVE | A_IO)) == A_BRANCH &&
           in->row->cost == C_BRANCH;
}

/* The per-instruction prefix sums block_account() reads. */
static void block_prefix(const struct cpu *cpu, struct block *b)
{
    b->off[0] = b->xn[0] = 0;
    b->cyc[0] = b->xcyc[0] = 0;
    for (unsigned k = 0; k < b->n; k++) {
        const struct insn *in = &b->in[k];
        uint32_t cost = cpu->class_cost[in->cost];
        b->off[k + 1] = (uint8_t)(b->off[k] + in->len);
        b->cyc[k + 1] = b->cyc[k] + cost;
        b->xn[k + 1] = (uint8_t)(b->xn[k] + in->extra);
        b->xcyc[k + 1] = b->xcyc[k] + (in->extra ? cost : 0);
    }
}

void block_sync(struct cpu *cpu)
{
    const struct block_run *r = &cpu->run;
    if (!r->b)
        return;
    block_account(cpu, r->i);
    cpu->insn_eip = r->eip + r->b->off[r->i];
    cpu->s.eip = r->eip + r->b->off[r->i + 1];
}

/* Decode forward from pa until a non-plain instruction (kept as the last),
   the end of the page, the end of RAM or BLOCK_MAX. */
static bool block_build(struct cpu *cpu, struct block *b, uint32_t lin, uint32_t pa,
                        const uint8_t *bits)
{
    uint32_t off = 0, end = 0x1000u - (pa & 0xfffu);
    b->n = 0;
    b->extras = 0;
    b->cond = 0;
    while (b->n < BLOCK_MAX && off < end) {
        if (pa + off >= cpu->bus.ram_size || cpu->bus.ram_size - (pa + off) < 16)
            break;
        struct insn tmp;
        int err;
        const struct insn *in = icache_fetch(cpu, lin + off, pa + off, true, bits, false,
                                             &tmp, &err);
        if (!in)
            break;
        bool cond = block_inline_tail(in) && (in->row->attr & A_COND);
        b->cond |= (uint32_t)cond << b->n;
        b->in[b->n++] = *in;
        b->extras |= bits && in->extra;
        off += in->len;
        if (!block_plain(in) && !cond)
            break;
    }
    if (b->n == 0)
        return false;
    b->key = block_key(pa);
    b->lin = lin;
    b->epoch = cpu->block_epoch;
    b->gen = cpu->code_gen[pa >> 12];
    b->bytes = (uint16_t)off;
    b->cond &= ~(1u << (b->n - 1));         /* the last one is the tail */
    block_prefix(cpu, b);
    b->inline_n = block_inline_tail(&b->in[b->n - 1]) ? b->n : b->n - 1;
    return true;
}

const struct block *block_build_at(struct cpu *cpu, uint32_t lin, uint32_t pa,
                                   const uint8_t *bits)
{
    struct block *b = block_slot(cpu, pa);
    if (pa >= cpu->bus.ram_size)
        return NULL;
    if (!block_build(cpu, b, lin, pa, bits)) {
        b->key = 0;
        return NULL;
    }
    return b;
}
