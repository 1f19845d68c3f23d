/*
 * stats.c - counting events into struct stats.
 */
#include "stats.h"

#include <string.h>

int stats_attach(struct stats *st, struct event_bus *eb)
{
    memset(st, 0, sizeof *st);
    return event_subscribe(eb, EV_ALL, stats_on_event, st);
}

static void stats_count_io(struct stats *st, const struct event *ev)
{
    if (ev->c)
        st->io_writes++;
    else
        st->io_reads++;
}

void stats_on_event(void *ctx, const struct event *ev)
{
    struct stats *st = ctx;
    st->by_kind[ev->kind]++;
    switch (ev->kind) {
    case EV_EXCEPTION:
        st->exceptions[ev->a & 31]++;
        break;
    case EV_INTERRUPT:
        st->interrupts[ev->a & 255]++;
        break;
    case EV_SOFTINT:
        st->soft_ints[ev->a & 255]++;
        break;
    case EV_RING:
        st->ring_edges[ev->a & 3][ev->b & 3]++;
        break;
    case EV_IO:
        stats_count_io(st, ev);
        break;
    case EV_IO_UNMAPPED:
        st->io_unmapped++;
        break;
    default:
        break;
    }
}
