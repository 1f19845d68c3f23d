/*
 * bus.h - the I/O port bus of the simulated PC.
 *
 * The x86 has a separate 64K I/O address space reached by IN/OUT/INS/OUTS.
 * The bus maps each port to one of a few device slots (a slot is a device
 * pointer plus its read and write handlers). What the bus does for accesses
 * that do not match a device byte for byte:
 *
 *  - An unmapped port reads as all ones of the access size (0xFF, 0xFFFF,
 *    0xFFFFFFFF: the floating ISA data bus, and what QEMU returns) and ignores
 *    writes. Both are counted and reported through the optional on_unmapped
 *    callback, never treated as an error (DESIGN.md §4).
 *  - Devices with byte-wide registers (all classic PC chips) are mapped with
 *    bus_map_io(); a 16- or 32-bit access to them is split into byte accesses
 *    to consecutive ports, least significant byte first, as QEMU does for
 *    devices whose MemoryRegionOps have max access size 1 (measured under
 *    qemu-system-i386: `inw 0x3FC` returns LSR << 8 | MCR = 0x6008).
 *  - Devices that accept wide accesses in one go (isa-debug-exit) are mapped
 *    with bus_map_io_sized() and receive the whole access.
 *
 * The bus is a plain struct: the slot table holds device and handler
 * pointers, which the owner re-wires (by mapping again) after a restore.
 */
#ifndef RS_HW_BUS_H
#define RS_HW_BUS_H

#include <stdint.h>
#include <stdbool.h>

#define BUS_PORTS     65536
#define BUS_MAX_SLOTS 32

typedef uint32_t (*io_read_fn)(void *dev, uint16_t port, int size);   /* size 1,2,4 */
typedef void (*io_write_fn)(void *dev, uint16_t port, int size, uint32_t val);

struct bus_slot {
    void *dev;         /* context passed to the handlers */
    io_read_fn rd;     /* NULL: reads as all ones */
    io_write_fn wr;    /* NULL: writes ignored */
    uint16_t base;     /* first port of the range */
    uint16_t count;    /* number of ports */
    uint8_t max_size;  /* widest access passed whole: 1 (split) or 4 */
};

struct bus {
    uint8_t port_slot[BUS_PORTS];         /* 0: unmapped, else slot index + 1 */
    struct bus_slot slots[BUS_MAX_SLOTS]; /* mapped devices */
    int nslots;                           /* slots in use */
    uint64_t unmapped_reads;              /* IN from ports with no device */
    uint64_t unmapped_writes;             /* OUT to ports with no device */
    void (*on_unmapped)(void *ctx, uint16_t port, int size, bool write, uint32_t val);
    void *unmapped_ctx;                   /* context for on_unmapped */
};

void bus_init(struct bus *b);

/* Map ports [base, base+count) to a device with byte-wide registers. */
void bus_map_io(struct bus *b, uint16_t base, uint16_t count, void *dev,
                io_read_fn rd, io_write_fn wr);

/* Same, for a device that takes accesses up to max_size (1, 2 or 4) whole. */
void bus_map_io_sized(struct bus *b, uint16_t base, uint16_t count, void *dev,
                      io_read_fn rd, io_write_fn wr, int max_size);

/* IN of `size` (1, 2, 4) bytes. Unmapped: all ones of that size, counted. */
uint32_t bus_in(struct bus *b, uint16_t port, int size);

/* OUT of `size` (1, 2, 4) bytes. Unmapped: ignored, counted. */
void bus_out(struct bus *b, uint16_t port, int size, uint32_t val);

/* True if some device answers at `port`. */
bool bus_is_mapped(const struct bus *b, uint16_t port);

#endif
