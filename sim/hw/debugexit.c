/*
 * debugexit.c - isa-debug-exit (see debugexit.h). Accesses of 1, 2 or 4
 * bytes reach the device whole (QEMU: valid.max_access_size = 4), so
 * `outl` of V gives (V << 1) | 1 rather than a status from its low byte.
 */
#include <string.h>
#include "hw/debugexit.h"

static uint32_t debugexit_read(void *dev, uint16_t port, int size)
{
    return 0;
}

/* Only the first request counts: the machine stops on it. */
static void debugexit_write(void *dev, uint16_t port, int size, uint32_t val)
{
    struct debugexit *d = dev;
    if (d->exited)
        return;
    d->exited = true;
    d->value = val;
    d->code = (val << 1) | 1;
}

void debugexit_reset(struct debugexit *d)
{
    d->exited = false;
    d->value = d->code = 0;
}

void debugexit_init(struct debugexit *d, struct bus *b, uint16_t base, uint16_t size)
{
    memset(d, 0, sizeof(*d));
    d->base = base;
    d->size = size;
    bus_map_io_sized(b, base, size, d, debugexit_read, debugexit_write, 4);
}
