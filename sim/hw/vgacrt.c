/*
 * vgacrt.c - VGA CRT controller registers (see vgacrt.h).
 */
#include "hw/vgacrt.h"

#include <string.h>

/* IBM VGA BIOS mode 3 CRTC parameters (registers 0x00-0x18). */
static const uint8_t mode3[VGACRT_NREGS] = {
    0x5F, 0x4F, 0x50, 0x82, 0x55, 0x81, 0xBF, 0x1F, 0x00, 0x4F, 0x0D, 0x0E, 0x00,
    0x00, 0x00, 0x00, 0x9C, 0x8E, 0x8F, 0x28, 0x1F, 0x96, 0xB9, 0xA3, 0xFF,
};

static uint32_t crt_read(void *dev, uint16_t port, int size)
{
    struct vgacrt *v = dev;
    if (port == VGACRT_INDEX)
        return v->index;
    return v->index < VGACRT_NREGS ? v->reg[v->index] : 0xFF;
}

static void crt_write(void *dev, uint16_t port, int size, uint32_t val)
{
    struct vgacrt *v = dev;
    if (port == VGACRT_INDEX) {
        v->index = (uint8_t)val;
        return;
    }
    if (v->index >= VGACRT_NREGS)
        return;
    if (v->index < 8 && (v->reg[0x11] & 0x80u))
        return;                               /* registers 0-7 write-protected */
    v->reg[v->index] = (uint8_t)val;
    v->writes++;
}

uint16_t vgacrt_cursor(const struct vgacrt *v)
{
    return (uint16_t)(v->reg[0x0E] << 8 | v->reg[0x0F]);
}

void vgacrt_reset(struct vgacrt *v)
{
    v->index = 0;
    memcpy(v->reg, mode3, sizeof mode3);
    v->writes = 0;
}

void vgacrt_init(struct vgacrt *v, struct bus *b)
{
    vgacrt_reset(v);
    bus_map_io(b, VGACRT_INDEX, 2, v, crt_read, crt_write);
}
