/*
 * mem.c - memory access through segmentation, paging and the physical bus.
 *
 * Every explicit memory operand of an instruction goes seg:offset ->
 * linear -> physical. The segment step checks the hidden descriptor cache
 * loaded by seg_load (Intel SDM vol. 3, 5.3 limit checking and 5.4 type
 * checking): a segment register loaded with a null selector is unusable
 * (#GP(0)); code segments are never writable and readable only with the R
 * bit; data segments are writable only with the W bit; expand-down segments
 * hold the offsets above the limit. Violations through SS raise #SS(0), all
 * others #GP(0). The linear step is paging (paging.c); the physical step is
 * RAM (a host array) or the bus's MMIO callbacks.
 *
 * Speed matters here more than anywhere: the common case - a flat, present,
 * expand-up data segment, a TLB hit and RAM - is a handful of compares. An
 * access that crosses a page boundary translates both pages before it
 * writes any byte, so a #PF on the second page leaves memory untouched.
 *
 * The stack helpers honour SS.B: a 16-bit stack segment uses and updates
 * only SP (SDM vol. 1, 6.2.3).
 */
#include <string.h>
#include "ops_system.h"

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* ---- physical ---- */

uint32_t phys_read(struct cpu *cpu, uint32_t pa, int size)
{
    if (likely(pa < cpu->bus.ram_size && (uint32_t)size <= cpu->bus.ram_size - pa)) {
        return ram_load(cpu->bus.ram + pa, size);
    }
    block_sync(cpu);                /* the device sees the time and EIP */
    cpu->block_break = true;        /* ... and may now want an interrupt */
    if (!cpu->bus.mmio_read)
        return size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
    return cpu->bus.mmio_read(cpu->bus.ctx, pa, size);
}

/* A store to a watched page: log it as dirty, drop decoded instructions
   it may overwrite (self-modifying code). */
static void watch_hit(struct cpu *cpu, uint32_t pa)
{
    uint16_t ww = cpu->write_watch[pa >> 12];
    if (ww & WW_DIRTY_LOG)
        dirty_log_page(cpu, pa >> 12);
    if (ww & WW_CODE)
        icache_invalidate_page(cpu, pa);
}

static void phys_written(struct cpu *cpu, uint32_t pa, int size)
{
    uint32_t last = pa + (uint32_t)size - 1;
    if (unlikely(cpu->write_watch[pa >> 12]))
        watch_hit(cpu, pa);
    if (unlikely((last ^ pa) & ~0xfffu) && cpu->write_watch[last >> 12])
        watch_hit(cpu, last);
}

void phys_write(struct cpu *cpu, uint32_t pa, int size, uint32_t val)
{
    if (likely(pa < cpu->bus.ram_size && (uint32_t)size <= cpu->bus.ram_size - pa)) {
        ram_store(cpu->bus.ram + pa, size, val);
        if (cpu->write_watch)
            phys_written(cpu, pa, size);
        return;
    }
    block_sync(cpu);
    cpu->block_break = true;
    if (cpu->bus.mmio_write)
        cpu->bus.mmio_write(cpu->bus.ctx, pa, size, val);
}

/* ---- linear ---- */

/* Read or write crossing a page: translate both pages first. */
static uint32_t lin_split(struct cpu *cpu, uint32_t lin, int size, bool write,
                          uint32_t val, bool user)
{
    uint32_t n1 = 0x1000u - (lin & 0xfffu);
    uint32_t lin2 = (lin + n1);
    uint32_t pa1 = mem_translate(cpu, lin, write, user);
    uint32_t pa2 = mem_translate(cpu, lin2, write, user);
    uint32_t out = 0;
    for (int i = 0; i < size; i++) {
        uint32_t pa = (uint32_t)i < n1 ? pa1 + (uint32_t)i : pa2 + ((uint32_t)i - n1);
        if (write)
            phys_write(cpu, pa, 1, (val >> (8 * i)) & 0xffu);
        else
            out |= phys_read(cpu, pa, 1) << (8 * i);
    }
    return out;
}

uint32_t mem_read_lin(struct cpu *cpu, uint32_t lin, int size, bool user)
{
    if (likely((lin & 0xfffu) <= 0x1000u - (uint32_t)size))
        return phys_read(cpu, tlb_translate(cpu, lin, false, user), size);
    return lin_split(cpu, lin, size, false, 0, user);
}

void mem_write_lin(struct cpu *cpu, uint32_t lin, int size, uint32_t val, bool user)
{
    if (likely((lin & 0xfffu) <= 0x1000u - (uint32_t)size)) {
        phys_write(cpu, tlb_translate(cpu, lin, true, user), size, val);
        return;
    }
    lin_split(cpu, lin, size, true, val, user);
}

/* Translate every page of [lin, lin+len) for a write (faults first). */
static void lin_probe_write(struct cpu *cpu, uint32_t lin, uint32_t len, bool user)
{
    uint32_t page = lin & ~0xfffu, last = (lin + len - 1) & ~0xfffu;
    for (;;) {
        mem_translate(cpu, page == (lin & ~0xfffu) ? lin : page, true, user);
        if (page == last)
            break;
        page += 0x1000u;
    }
}

void mem_write_lin_buf(struct cpu *cpu, uint32_t lin, const uint8_t *buf,
                       uint32_t len, bool user)
{
    if (len == 0)
        return;
    lin_probe_write(cpu, lin, len, user);
    for (uint32_t i = 0; i < len; i++)
        phys_write(cpu, mem_translate(cpu, lin + i, true, user), 1, buf[i]);
}

/* ---- segmentation ---- */

void seg_check_limit(struct cpu *cpu, const struct seg *s, uint32_t off,
                     uint32_t len, int vec, uint32_t err)
{
    uint32_t last = off + len - 1;
    bool ok;
    if (!(s->flags & 8u) && (s->flags & 4u)) { /* expand-down data (5.3) */
        uint32_t upper = (s->flags & SEGF_DB) ? 0xffffffffu : 0xffffu;
        ok = off > s->limit && last >= off && last <= upper;
    } else {
        ok = last >= off && last <= s->limit;
    }
    if (!ok)
        cpu_raise(cpu, vec, err);
}

/* Full type and limit check of an access through segment register `seg`. */
static void seg_check_access(struct cpu *cpu, int seg, uint32_t off,
                             uint32_t len, bool write)
{
    const struct seg *s = &cpu->s.seg[seg];
    int vec = seg == S_SS ? EXC_SS : EXC_GP;
    uint32_t type = SEGF_TYPE(s->flags);
    if (!(s->flags & SEGF_P) || !(s->flags & SEGF_S))
        cpu_raise(cpu, vec, 0);                  /* null / unusable */
    if (type & 8u) {                             /* code */
        if (write || !(type & 2u))
            cpu_raise(cpu, vec, 0);
    } else if (write && !(type & 2u)) {          /* read-only data */
        cpu_raise(cpu, vec, 0);
    }
    seg_check_limit(cpu, s, off, len, vec, 0);
}

uint32_t mem_read_slow(struct cpu *cpu, int seg, uint32_t off, int size, bool rmw)
{
    const struct seg *s = &cpu->s.seg[seg];
    if (unlikely(!seg_fast(s, off, size, rmw ? 0x9eu : 0x9cu, rmw ? 0x92u : 0x90u)))
        seg_check_access(cpu, seg, off, (uint32_t)size, rmw);
    return mem_read_lin(cpu, s->base + off, size, cpu->s.cpl == 3);
}

void mem_write_slow(struct cpu *cpu, int seg, uint32_t off, int size, uint32_t val)
{
    const struct seg *s = &cpu->s.seg[seg];
    if (unlikely(!seg_fast(s, off, size, 0x9eu, 0x92u)))
        seg_check_access(cpu, seg, off, (uint32_t)size, true);
    mem_write_lin(cpu, s->base + off, size, val, cpu->s.cpl == 3);
}

void mem_check_write(struct cpu *cpu, int seg, uint32_t off, uint32_t len)
{
    if (len == 0)
        return;
    seg_check_access(cpu, seg, off, len, true);
    lin_probe_write(cpu, cpu->s.seg[seg].base + off, len, cpu->s.cpl == 3);
}

/* ---- stack ---- */

void stack_push(struct cpu *cpu, int size, uint32_t val)
{
    uint32_t mask = seg_sp_mask(&cpu->s.seg[S_SS]);
    uint32_t esp = cpu->s.r[R_ESP];
    uint32_t nsp = (esp - (uint32_t)size) & mask;
    mem_write(cpu, S_SS, nsp, size, val);
    cpu->s.r[R_ESP] = (esp & ~mask) | nsp;
}

uint32_t stack_pop(struct cpu *cpu, int size)
{
    uint32_t mask = seg_sp_mask(&cpu->s.seg[S_SS]);
    uint32_t esp = cpu->s.r[R_ESP];
    uint32_t val = mem_read(cpu, S_SS, esp & mask, size);
    cpu->s.r[R_ESP] = (esp & ~mask) | ((esp + (uint32_t)size) & mask);
    return val;
}

uint32_t stack_read_at(struct cpu *cpu, uint32_t off, int size)
{
    uint32_t mask = seg_sp_mask(&cpu->s.seg[S_SS]);
    return mem_read(cpu, S_SS, (cpu->s.r[R_ESP] + off) & mask, size);
}

uint32_t stack_peek(struct cpu *cpu, int size, int index)
{
    return stack_read_at(cpu, (uint32_t)(index * size), size);
}

void stack_push_frame(struct cpu *cpu, const struct seg *ss, uint32_t *sp,
                      const uint32_t *vals, int n, int size, bool user,
                      uint32_t ss_err)
{
    uint8_t buf[160];
    uint32_t total = (uint32_t)(n * size), mask = seg_sp_mask(ss);
    uint32_t nsp = (*sp - total) & mask;
    if (total > sizeof buf)
        cpu_unsupported(cpu, "stack frame too large");
    seg_check_limit(cpu, ss, nsp, total, EXC_SS, ss_err);
    for (int i = 0; i < n; i++) {
        uint32_t v = vals[i];
        memcpy(buf + total - (uint32_t)((i + 1) * size), &v, (size_t)size);
    }
    mem_write_lin_buf(cpu, ss->base + nsp, buf, total, user);
    *sp = (*sp & ~mask) | nsp;
}
