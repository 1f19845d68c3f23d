/*
 * fwcfg.c - the firmware configuration device (see fwcfg.h).
 */
#include "hw/fwcfg.h"

#include <string.h>

enum { K_SIGNATURE = 0x00, K_ID = 0x01, K_UUID = 0x02, K_RAM_SIZE = 0x03, K_NOGRAPHIC = 0x04,
       K_NB_CPUS = 0x05, K_MACHINE_ID = 0x06, K_NUMA = 0x0D, K_BOOT_MENU = 0x0E,
       K_MAX_CPUS = 0x0F, K_FILE_DIR = 0x19 };

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* The bytes of `key`; their number (0: a key this machine does not have). */
static int key_bytes(const struct fwcfg *f, uint16_t key, uint8_t out[16])
{
    memset(out, 0, 16);
    switch (key) {
    case K_SIGNATURE:  memcpy(out, "QEMU", 4); return 4;
    case K_ID:         put_le(out, 1, 4); return 4;
    case K_UUID:       return 16;
    case K_RAM_SIZE:   put_le(out, f->ram_size, 8); return 8;
    case K_NOGRAPHIC:  return 2;
    case K_NB_CPUS:
    case K_MAX_CPUS:   put_le(out, 1, 2); return 2;
    case K_MACHINE_ID: return 4;
    case K_NUMA:       return 8;
    case K_BOOT_MENU:  return 2;
    case K_FILE_DIR:   return 4;          /* count 0, big-endian */
    default:           return 0;
    }
}

static uint8_t data_byte(struct fwcfg *f)
{
    uint8_t bytes[16];
    int n = key_bytes(f, f->key, bytes);
    f->reads++;
    if (f->offset >= (uint32_t)n)
        return 0;
    return bytes[f->offset++];
}

static uint32_t fwcfg_read(void *dev, uint16_t port, int size)
{
    struct fwcfg *f = dev;
    uint32_t v = 0;
    for (int i = 0; i < size; i++)
        v |= (uint32_t)data_byte(f) << (8 * i);
    return v;
}

static void fwcfg_write(void *dev, uint16_t port, int size, uint32_t val)
{
    struct fwcfg *f = dev;
    if (size != 2)
        return;                            /* a data write: no key is writable */
    f->key = (uint16_t)(val & ~0x4000u);   /* the write-channel bit selects the same key */
    f->offset = 0;
}

void fwcfg_reset(struct fwcfg *f)
{
    uint32_t ram = f->ram_size;
    memset(f, 0, sizeof *f);
    f->ram_size = ram;
}

void fwcfg_init(struct fwcfg *f, struct bus *b, uint32_t ram_size)
{
    f->ram_size = ram_size;
    fwcfg_reset(f);
    bus_map_io_sized(b, FWCFG_PORT, 2, f, fwcfg_read, fwcfg_write, 2);
}
