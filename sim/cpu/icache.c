/*
 * icache.c - the decoded-instruction cache and the code write-watch.
 *
 * Decoding x86 is the slowest thing the CPU does per instruction, so a
 * decoded instruction is cached by the physical address of its first byte
 * (never one that crosses a page, or one in MMIO). The write-watch map has
 * an entry per RAM page whose WW_CODE bits say which 512-byte chunks hold
 * cached code, so a write to data that shares a page with code (common in
 * tiny kernels) costs nothing, and a write into code drops only the chunk it
 * hits. Dropping code also tells the block cache (block.c): it bumps the
 * page's code generation, so every block built from that page is rebuilt,
 * and it asks a running block to stop after the current instruction (the
 * next one may be the code just written).
 */
#include <stdlib.h>
#include <string.h>
#include "block.h"

#define IC_BITS 15
#define IC_SIZE (1u << IC_BITS)
#define IC_CHUNK 9                      /* log2 of the invalidation chunk */

struct ic_entry {
    uint64_t key;     /* ic_key(physical address of the first byte, CS.D); 0: empty */
    struct insn in;
};

struct cpu_icache {
    struct ic_entry e[IC_SIZE];
};

/* A cache entry's key: the physical address and the code size it was
   decoded for (the same bytes decode differently for a 16-bit CS). */
static inline uint64_t ic_key(uint32_t pa, bool d32)
{
    return (uint64_t)pa << 2 | (d32 ? 2u : 1u);
}

struct cpu_icache *icache_create(void)
{
    return calloc(1, sizeof(struct cpu_icache));
}

void icache_destroy(struct cpu_icache *ic)
{
    free(ic);
}

static uint32_t ram_pages(const struct cpu *cpu)
{
    return (cpu->bus.ram_size >> 12) + 1;
}

/* Code at page `page` was dropped: blocks from it are stale, and the
   running one stops after this instruction. */
static void code_dropped(struct cpu *cpu, uint32_t page)
{
    if (cpu->code_gen)
        cpu->code_gen[page]++;
    cpu->block_break = true;
}

/* Drop the cached instructions that start in, or reach into, the 512-byte
   chunk holding `pa` (instructions never cross a page when cached). */
static void ic_drop_chunk(struct cpu *cpu, uint32_t pa)
{
    uint32_t page = pa >> 12, bit = 1u << ((pa >> IC_CHUNK) & 7);
    if (page >= ram_pages(cpu) || !(cpu->write_watch[page] & bit))
        return;
    cpu->write_watch[page] &= (uint16_t)~bit;
    code_dropped(cpu, page);
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
    blocks_flush(cpu);
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
    blocks_flush(cpu);
    tlb_flush_all(cpu);
}

/* Mark [pa, pa + len) as holding cached code (len <= 15, one page). */
static void watch_code(struct cpu *cpu, uint32_t pa, uint32_t len)
{
    uint32_t last = pa + len - 1;
    cpu->write_watch[pa >> 12] |= (uint16_t)(1u << ((pa >> IC_CHUNK) & 7));
    cpu->write_watch[pa >> 12] |= (uint16_t)(1u << ((last >> IC_CHUNK) & 7));
}

static void ic_store(struct cpu *cpu, uint32_t pa, bool d32, const struct insn *in)
{
    struct ic_entry *e = &cpu->icache->e[pa & (IC_SIZE - 1)];
    e->key = ic_key(pa, d32);
    e->in = *in;
    watch_code(cpu, pa, in->len);
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

/* Is the instruction at `lin` one of translated code's extras? (The
   translator sets the boundary bits before the code first runs, and
   rewriting TC bytes drops their decoded instructions, so the answer can be
   cached with the decoded instruction.) */
static bool tc_extra_at(const uint8_t *bits, uint32_t lin)
{
    uint32_t off = lin & 0xfffu;
    return bits && !((bits[off >> 3] >> (off & 7u)) & 1u);
}

/* What the pipeline needs to know of a row, once per decode. */
static void insn_prepare(const struct cpu *cpu, struct insn *in, bool extra)
{
    uint32_t attr = in->row->attr;
    in->pre_checks = (attr & A_CHECKED) || in->lock;
    in->slow_retire = (attr & RETIRE_SLOW) != 0;
    in->extra = extra;
    if (!cpu->reference)
        form_select(in);
}

/* Decode from memory, crossing into the next page only if the instruction
   needs bytes there and `cross` allows it (that translation may fault). */
static const struct insn *ic_decode(struct cpu *cpu, uint32_t lin, uint32_t pa, bool d32,
                                    const uint8_t *bits, bool cross, struct insn *tmp,
                                    int *err)
{
    uint8_t buf[16];
    uint32_t n = 0x1000u - (pa & 0xfffu);
    if (n > 15)
        n = 15;
    fetch_bytes(cpu, pa, buf, n);
    int len = decode(buf, (int)n, d32, tmp);
    bool crossed = false;
    if (len == DECODE_SHORT && cross) {
        uint32_t pa2 = tlb_translate(cpu, lin + n, false, cpu->s.cpl == 3);
        fetch_bytes(cpu, pa2, buf + n, 15 - n);
        len = decode(buf, 15, d32, tmp);
        crossed = true;
    }
    if (len < 0) {
        *err = len;
        return NULL;
    }
    insn_prepare(cpu, tmp, tc_extra_at(bits, lin));
    if (!crossed && pa < cpu->bus.ram_size && (uint32_t)len <= cpu->bus.ram_size - pa)
        ic_store(cpu, pa, d32, tmp);
    return tmp;
}

const struct insn *icache_fetch(struct cpu *cpu, uint32_t lin, uint32_t pa, bool d32,
                                const uint8_t *bits, bool cross, struct insn *tmp,
                                int *err)
{
    const struct ic_entry *e = &cpu->icache->e[pa & (IC_SIZE - 1)];
    if (__builtin_expect(e->key == ic_key(pa, d32), 1))
        return &e->in;
    return ic_decode(cpu, lin, pa, d32, bits, cross, tmp, err);
}
