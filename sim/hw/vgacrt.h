/*
 * vgacrt.h - the VGA CRT controller's index/data ports 0x3D4/0x3D5.
 *
 * Text-mode kernels (xv6's console, Linux's early vgacon) move the hardware
 * cursor through CRTC registers 0x0E/0x0F (cursor location high/low) and
 * read it back to know where to print. ringside keeps the 25 CRTC registers
 * of the IBM VGA with the values of BIOS mode 3 (80x25 colour text: the
 * standard register table every VGA BIOS loads), so reads return what was
 * written; the screen itself is the text buffer at 0xB8000 in RAM. Nothing
 * is displayed from these registers: they are state, not a renderer.
 * Writes to registers 0-7 are ignored while register 0x11 bit 7 (protect)
 * is set, as on the VGA. An index past 0x18 reads 0xFF and ignores writes.
 */
#ifndef RS_HW_VGACRT_H
#define RS_HW_VGACRT_H

#include <stdint.h>
#include "hw/bus.h"

#define VGACRT_INDEX 0x3D4
#define VGACRT_NREGS 25

struct vgacrt {
    uint8_t index;
    uint8_t reg[VGACRT_NREGS];
    uint64_t writes;
};

void vgacrt_init(struct vgacrt *v, struct bus *b);
void vgacrt_reset(struct vgacrt *v);
/* The cursor location (registers 0x0E:0x0F), in characters. */
uint16_t vgacrt_cursor(const struct vgacrt *v);

#endif
