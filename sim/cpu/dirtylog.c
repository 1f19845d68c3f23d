/*
 * dirtylog.c - which physical pages were written since the owner last asked.
 *
 * Live migration's pre-copy (Clark et al., NSDI 2005) sends guest RAM while
 * the guest runs and then resends what the guest wrote meanwhile; it needs
 * to know those pages without slowing every store down. Real hypervisors
 * write-protect the pages and take one fault per page per round; here the
 * CPU's write-watch map plays the write protection: starting (or taking)
 * the log sets WW_DIRTY_LOG on every logged page, so the first store to such
 * a page leaves the inlined fast path (mem_fast.h), and the slow path
 * (mem.c) sets the page's dirty bit and clears the watch bit - every later
 * store to that page is as fast as before. Writes that are not CPU stores
 * (the loader, the VMM's emulated stores and interrupt frames, a restore)
 * reach the log through cpu_notify_phys_write. The log never changes the
 * modeled cycles: a guest cannot tell it is on.
 */
#include <stdlib.h>
#include <string.h>
#include "cpu_internal.h"

void dirty_log_page(struct cpu *cpu, uint32_t page)
{
    if (page >= cpu->dirty_pages)
        return;
    uint8_t bit = (uint8_t)(1u << (page & 7));
    if (!(cpu->dirty_bits[page >> 3] & bit)) {
        cpu->dirty_bits[page >> 3] |= bit;
        cpu->dirty_count++;
    }
    cpu->write_watch[page] &= (uint16_t)~WW_DIRTY_LOG;
}

void dirty_log_range(struct cpu *cpu, uint32_t pa, uint64_t end)
{
    if (!cpu->dirty_bits || end == 0)
        return;
    uint64_t last = (end - 1) >> 12;
    for (uint64_t p = pa >> 12; p <= last && p < cpu->dirty_pages; p++)
        dirty_log_page(cpu, (uint32_t)p);
}

static void watch_all(struct cpu *cpu)
{
    for (uint32_t p = 0; p < cpu->dirty_pages; p++)
        cpu->write_watch[p] |= WW_DIRTY_LOG;
}

int cpu_dirty_log_start(struct cpu *cpu, uint32_t npages)
{
    uint32_t ram_pages = (cpu->bus.ram_size >> 12) + 1;
    cpu_dirty_log_stop(cpu);
    if (npages > ram_pages)
        npages = ram_pages;
    cpu->dirty_bits = calloc(1, (npages + 7) / 8 + 1);
    if (!cpu->dirty_bits)
        return -1;
    cpu->dirty_pages = npages;
    cpu->dirty_count = 0;
    watch_all(cpu);
    return 0;
}

void cpu_dirty_log_stop(struct cpu *cpu)
{
    if (!cpu->dirty_bits)
        return;
    for (uint32_t p = 0; p < cpu->dirty_pages; p++)
        cpu->write_watch[p] &= (uint16_t)~WW_DIRTY_LOG;
    free(cpu->dirty_bits);
    cpu->dirty_bits = NULL;
    cpu->dirty_pages = cpu->dirty_count = 0;
}

uint32_t cpu_dirty_log_take(struct cpu *cpu, uint8_t *bitmap)
{
    if (!cpu->dirty_bits)
        return 0;
    size_t len = (cpu->dirty_pages + 7) / 8;
    uint32_t n = cpu->dirty_count;
    memcpy(bitmap, cpu->dirty_bits, len);
    for (uint32_t p = 0; p < cpu->dirty_pages; p++)
        if (cpu->dirty_bits[p >> 3] & (1u << (p & 7)))
            cpu->write_watch[p] |= WW_DIRTY_LOG;
    memset(cpu->dirty_bits, 0, len);
    cpu->dirty_count = 0;
    return n;
}
