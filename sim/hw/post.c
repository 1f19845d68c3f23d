/*
 * post.c - the POST diagnostic port 0x80 (see post.h).
 */
#include "hw/post.h"

static uint32_t post_read(void *dev, uint16_t port, int size)
{
    return 0xFF;
}

static void post_write(void *dev, uint16_t port, int size, uint32_t val)
{
    struct post *p = dev;
    p->last = (uint8_t)val;
    p->writes++;
}

void post_reset(struct post *p)
{
    p->last = 0;
    p->writes = 0;
}

void post_init(struct post *p, struct bus *b)
{
    post_reset(p);
    bus_map_io(b, POST_PORT, 1, p, post_read, post_write);
}
