/*
 * post.h - port 0x80, the POST diagnostic port.
 *
 * Firmware writes progress codes here for a POST card to display; OS code
 * also writes to it as a short I/O delay (Linux's outb_p). It is an output
 * only: under qemu-system-i386 a read returns 0xFF at any size (measured;
 * QEMU maps a dummy region that ignores writes). ringside records the
 * writes so tests and the UI can show the last code.
 */
#ifndef RS_HW_POST_H
#define RS_HW_POST_H

#include <stdint.h>
#include "hw/bus.h"

#define POST_PORT 0x80

struct post {
    uint8_t last;    /* last byte written */
    uint64_t writes; /* number of writes */
};

void post_init(struct post *p, struct bus *b);
void post_reset(struct post *p);

#endif
