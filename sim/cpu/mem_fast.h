/*
 * mem_fast.h - the memory fast path, inlined into every handler.
 *
 * Most guest memory accesses hit the same case: a present, expand-up data
 * segment whose limit covers the access, no page crossing, paging off or a
 * TLB hit, and RAM behind the physical address. That case is a handful of
 * host instructions here; everything else (limit and type faults, page
 * walks, A/D bits, MMIO, page-crossing accesses, stores to pages the
 * write-watch map names: pages holding decoded instructions, pages the
 * dirty log has not yet seen written) goes to the out-of-line functions in
 * mem.c and paging.c, which implement the architecture in full. Included at
 * the end of cpu_internal.h.
 */
#ifndef RS_MEM_FAST_H
#define RS_MEM_FAST_H

#include <string.h>

/*
 * The TLB (paging.c): direct-mapped, one entry per 4 KiB linear page (a
 * 4 MiB page fills one entry per 4 KiB page used). `perm` has one bit per
 * access kind that may use the entry without a page walk (TP_*); a write
 * bit is only granted once the dirty bit is set in memory, so the first
 * write to a clean page walks again and sets D, as hardware does.
 */
#define TLB_SIZE 1024u
#define TP_RS 1u /* supervisor read */
#define TP_WS 2u /* supervisor write */
#define TP_RU 4u /* user read */
#define TP_WU 8u /* user write */
struct tlb_entry {
    uint32_t tag;    /* linear page address (lin & ~0xfff) */
    uint32_t pa;     /* physical page address */
    uint8_t perm;    /* TP_* access kinds allowed; 0: invalid */
    uint8_t global;  /* G bit with CR4.PGE: survives CR3 writes */
    uint8_t large;   /* from a 4 MiB page (INVLPG drops the whole page) */
};
struct cpu_tlb {
    struct tlb_entry e[TLB_SIZE];
    bool has_large;  /* some entry came from a 4 MiB page */
};

/* Page walk after a TLB miss: raises #PF, sets A/D, fills the TLB. */
uint32_t paging_walk(struct cpu *cpu, uint32_t lin, bool write, bool user);
/* Flush all non-global entries (MOV CR3). */
void tlb_flush_nonglobal(struct cpu *cpu);

/* The translation fast path: paging off, or a TLB hit. */
static inline uint32_t tlb_translate(struct cpu *cpu, uint32_t lin, bool write,
                                     bool user)
{
    if (!(cpu->s.cr0 & CR0_PG) && !cpu->ept_on)
        return lin;
    const struct tlb_entry *e = &cpu->tlb->e[(lin >> 12) & (TLB_SIZE - 1)];
    unsigned need = 1u << ((unsigned)write + 2u * (unsigned)user);
    if (__builtin_expect(e->tag == (lin & ~0xfffu) && (e->perm & need), 1))
        return e->pa | (lin & 0xfffu);
    return paging_walk(cpu, lin, write, user);
}


/* Present, S=1, data or readable code per mask/want; limit covers the access. */
static inline bool seg_fast(const struct seg *s, uint32_t off, int size,
                            uint32_t mask, uint32_t want)
{
    return (s->flags & mask) == want && off <= s->limit &&
           s->limit - off >= (uint32_t)size - 1;
}

static inline uint32_t ram_load(const uint8_t *p, int size)
{
    if (size == 4) {
        uint32_t v;
        memcpy(&v, p, 4);     /* little-endian host */
        return v;
    }
    if (size == 2) {
        uint16_t v;
        memcpy(&v, p, 2);
        return v;
    }
    return *p;
}

static inline void ram_store(uint8_t *p, int size, uint32_t v)
{
    if (size == 4)
        memcpy(p, &v, 4);
    else if (size == 2) {
        uint16_t w = (uint16_t)v;
        memcpy(p, &w, 2);
    } else
        *p = (uint8_t)v;
}

/* The RAM address of [lin, lin+size) for an access, or NULL for the slow
   path (page crossing, MMIO, a watched page for a write). */
static inline uint8_t *mem_fast_ptr(struct cpu *cpu, uint32_t lin, int size, bool write)
{
    if ((lin & 0xfffu) > 0x1000u - (uint32_t)size)
        return NULL;
    uint32_t pa = tlb_translate(cpu, lin, write, cpu->s.cpl == 3);
    if (pa >= cpu->bus.ram_size - 3 || (write && cpu->write_watch[pa >> 12]))
        return NULL;
    return cpu->bus.ram + pa;
}

/* A read through segment register `seg`; `rmw`: the read of a
   read-modify-write destination, whose segment is checked for writing
   before anything is read, so a destination the segment does not let the
   instruction write (a code segment, a read-only data segment) raises #GP
   or #SS with no access made, not even the read that would set the page's
   accessed bit (SDM vol. 3, 5.5: the type check is made for the access the
   instruction makes; Bochs reads such operands through read_RMW_virtual_*
   for the same reason). */
static inline uint32_t mem_read_seg(struct cpu *cpu, int seg, uint32_t off, int size, bool rmw)
{
    const struct seg *s = &cpu->s.seg[seg];
    if (__builtin_expect(seg_fast(s, off, size, rmw ? 0x9eu : 0x9cu, rmw ? 0x92u : 0x90u), 1)) {
        uint8_t *p = mem_fast_ptr(cpu, s->base + off, size, false);
        if (__builtin_expect(p != NULL, 1))
            return ram_load(p, size);
    }
    return mem_read_slow(cpu, seg, off, size, rmw);
}

static inline uint32_t mem_read(struct cpu *cpu, int seg, uint32_t off, int size)
{
    return mem_read_seg(cpu, seg, off, size, false);
}

static inline uint32_t mem_read_rmw(struct cpu *cpu, int seg, uint32_t off, int size)
{
    return mem_read_seg(cpu, seg, off, size, true);
}

static inline void mem_write(struct cpu *cpu, int seg, uint32_t off, int size, uint32_t val)
{
    const struct seg *s = &cpu->s.seg[seg];
    if (__builtin_expect(seg_fast(s, off, size, 0x9eu, 0x92u), 1)) {
        uint8_t *p = mem_fast_ptr(cpu, s->base + off, size, true);
        if (__builtin_expect(p != NULL, 1)) {
            ram_store(p, size, val);
            return;
        }
    }
    mem_write_slow(cpu, seg, off, size, val);
}

#endif
