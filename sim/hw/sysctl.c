/*
 * sysctl.c - port 0x92 (see sysctl.h).
 */
#include "hw/sysctl.h"

static uint32_t sysctl_read(void *dev, uint16_t port, int size)
{
    const struct sysctl *s = dev;
    return s->value & 0x02u;                  /* reset bit reads 0 */
}

static void sysctl_write(void *dev, uint16_t port, int size, uint32_t val)
{
    struct sysctl *s = dev;
    s->value = (uint8_t)val;
    if (val & 1u)
        s->reset_requested = true;
}

void sysctl_reset(struct sysctl *s)
{
    s->value = 0x02;
    s->reset_requested = false;
}

void sysctl_init(struct sysctl *s, struct bus *b)
{
    sysctl_reset(s);
    bus_map_io(b, SYSCTL_PORT, 1, s, sysctl_read, sysctl_write);
}
