/*
 * ioapic.c - the I/O APIC (see ioapic.h).
 */
#include "hw/ioapic.h"
#include "hw/lapic.h"

#include <string.h>

#define RTE_MASKED    (1ull << 16)
#define RTE_LEVEL     (1ull << 15)
#define RTE_REMOTE    (1ull << 14)
#define RTE_LOGICAL   (1ull << 11)
#define RTE_STATUS    (1ull << 12)
#define RTE_WRITABLE  (0xFF00000000000000ull | 0x1AFFFull)  /* all but status, remote IRR */

static bool reaches_cpu(const struct ioapic *io, uint64_t e)
{
    uint32_t dest = (uint32_t)(e >> 56), mode = (uint32_t)(e >> 8) & 7u;
    if (mode > 1)                        /* SMI, NMI, INIT, ExtINT: not modelled */
        return false;
    if (e & RTE_LOGICAL)
        return ((io->lapic->ldr >> 24) & dest) != 0;
    return dest == 0xFF || dest == io->lapic->id >> 24;
}

/* Send entry `pin`'s message if its line asks for it. */
static void service(struct ioapic *io, int pin, bool edge)
{
    uint64_t e = io->redir[pin];
    bool high = (io->level >> pin) & 1u;
    if ((e & RTE_MASKED) || !high)
        return;
    if (e & RTE_LEVEL) {
        if (e & RTE_REMOTE)
            return;
    } else if (!edge) {
        return;
    }
    if (!io->lapic || !reaches_cpu(io, e)) {
        io->lost++;
        return;
    }
    if (e & RTE_LEVEL)
        io->redir[pin] |= RTE_REMOTE;
    io->delivered++;
    lapic_accept(io->lapic, (int)(e & 0xFFu), (e & RTE_LEVEL) != 0);
}

void ioapic_set_irq(struct ioapic *io, int pin, int level)
{
    if (pin < 0 || pin >= IOAPIC_PINS)
        return;
    bool was = (io->level >> pin) & 1u;
    if (level)
        io->level |= 1u << pin;
    else
        io->level &= ~(1u << pin);
    if (level)
        service(io, pin, !was);
}

void ioapic_set_isa_irq(struct ioapic *io, int irq, int level)
{
    ioapic_set_irq(io, ioapic_isa_pin(irq), level);
}

void ioapic_eoi(void *ctx, int vector)
{
    struct ioapic *io = ctx;
    for (int pin = 0; pin < IOAPIC_PINS; pin++) {
        uint64_t e = io->redir[pin];
        if ((e & RTE_LEVEL) && (e & RTE_REMOTE) && (int)(e & 0xFFu) == vector) {
            io->redir[pin] &= ~RTE_REMOTE;
            service(io, pin, false);
        }
    }
}

static uint32_t read_reg(const struct ioapic *io)
{
    uint32_t r = io->sel & 0xFFu;
    if (r == 0x00)
        return io->id;
    if (r == 0x01)
        return IOAPIC_VERSION;
    if (r == 0x02)
        return io->id;                   /* arbitration ID = ID (82093AA) */
    if (r >= 0x10 && r < 0x10 + 2 * IOAPIC_PINS) {
        uint64_t e = io->redir[(r - 0x10) / 2];
        return (r & 1u) ? (uint32_t)(e >> 32) : (uint32_t)e;
    }
    return 0xFFFFFFFFu;                  /* QEMU: unimplemented registers */
}

static void write_reg(struct ioapic *io, uint32_t v)
{
    uint32_t r = io->sel & 0xFFu;
    if (r == 0x00) {
        io->id = v & 0x0F000000u;
        return;
    }
    if (r < 0x10 || r >= 0x10 + 2 * IOAPIC_PINS)
        return;
    int pin = (int)(r - 0x10) / 2;
    uint64_t e = io->redir[pin];
    uint64_t nv = (r & 1u) ? (e & 0xFFFFFFFFull) | (uint64_t)v << 32
                           : (e & 0xFFFFFFFF00000000ull) | v;
    io->redir[pin] = (e & ~RTE_WRITABLE) | (nv & RTE_WRITABLE);
    if (!(io->redir[pin] & RTE_LEVEL))
        io->redir[pin] &= ~RTE_REMOTE;
    service(io, pin, false);             /* an unmasked level line fires now */
}

uint32_t ioapic_read(struct ioapic *io, uint32_t off, int size)
{
    uint32_t v;
    switch (off & 0xFF0u) {
    case 0x00: v = io->sel; break;
    case 0x10: v = read_reg(io); break;
    default: v = 0; break;
    }
    v >>= 8u * (off & 3u);
    return size >= 4 ? v : v & ((1u << (8 * size)) - 1u);
}

void ioapic_write(struct ioapic *io, uint32_t off, int size, uint32_t val)
{
    if (off == 0x00)
        io->sel = val & 0xFFu;
    else if (off == 0x10)
        write_reg(io, val);
}

void ioapic_reset(struct ioapic *io)
{
    struct lapic *l = io->lapic;
    memset(io, 0, sizeof *io);
    io->lapic = l;
    for (int i = 0; i < IOAPIC_PINS; i++)
        io->redir[i] = RTE_MASKED;
}

void ioapic_init(struct ioapic *io, struct lapic *lapic)
{
    io->lapic = lapic;
    ioapic_reset(io);
}
