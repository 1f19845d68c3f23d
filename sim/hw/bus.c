/*
 * bus.c - the I/O port bus: a 64K port map onto a small table of device
 * slots, with the unmapped-port and wide-access rules described in bus.h.
 */
#include <assert.h>
#include <string.h>
#include "hw/bus.h"

void bus_init(struct bus *b)
{
    memset(b, 0, sizeof(*b));
}

void bus_map_io_sized(struct bus *b, uint16_t base, uint16_t count, void *dev,
                      io_read_fn rd, io_write_fn wr, int max_size)
{
    assert(b->nslots < BUS_MAX_SLOTS);
    assert(count > 0 && (uint32_t)base + count <= BUS_PORTS);
    assert(max_size == 1 || max_size == 2 || max_size == 4);
    struct bus_slot *s = &b->slots[b->nslots++];
    *s = (struct bus_slot){ .dev = dev, .rd = rd, .wr = wr, .base = base,
                            .count = count, .max_size = (uint8_t)max_size };
    for (uint32_t p = base; p < (uint32_t)base + count; p++)
        b->port_slot[p] = (uint8_t)b->nslots;
}

void bus_map_io(struct bus *b, uint16_t base, uint16_t count, void *dev,
                io_read_fn rd, io_write_fn wr)
{
    bus_map_io_sized(b, base, count, dev, rd, wr, 1);
}

bool bus_is_mapped(const struct bus *b, uint16_t port)
{
    return b->port_slot[port] != 0;
}

static uint32_t size_mask(int size)
{
    assert(size == 1 || size == 2 || size == 4);
    return size == 4 ? 0xFFFFFFFFu : (1u << (8 * size)) - 1;
}

static uint32_t unmapped_in(struct bus *b, uint16_t port, int size)
{
    b->unmapped_reads++;
    if (b->on_unmapped)
        b->on_unmapped(b->unmapped_ctx, port, size, false, 0);
    return size_mask(size);
}

static void unmapped_out(struct bus *b, uint16_t port, int size, uint32_t val)
{
    b->unmapped_writes++;
    if (b->on_unmapped)
        b->on_unmapped(b->unmapped_ctx, port, size, true, val);
}

uint32_t bus_in(struct bus *b, uint16_t port, int size)
{
    uint32_t mask = size_mask(size);
    int idx = b->port_slot[port];
    if (idx == 0)
        return unmapped_in(b, port, size);
    struct bus_slot *s = &b->slots[idx - 1];
    if (size > s->max_size) {
        /* Split, low byte first; port numbers wrap at 64K as on hardware. */
        uint32_t v = 0;
        for (int i = 0; i < size; i++)
            v |= bus_in(b, (uint16_t)(port + i), 1) << (8 * i);
        return v;
    }
    return s->rd ? s->rd(s->dev, port, size) & mask : mask;
}

void bus_out(struct bus *b, uint16_t port, int size, uint32_t val)
{
    val &= size_mask(size);
    int idx = b->port_slot[port];
    if (idx == 0) {
        unmapped_out(b, port, size, val);
        return;
    }
    struct bus_slot *s = &b->slots[idx - 1];
    if (size > s->max_size) {
        for (int i = 0; i < size; i++)
            bus_out(b, (uint16_t)(port + i), 1, (val >> (8 * i)) & 0xFF);
        return;
    }
    if (s->wr)
        s->wr(s->dev, port, size, val);
}
