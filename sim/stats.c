/*
 * stats.c - counting events into struct stats.
 */
#include "stats.h"

#include <assert.h>
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

/* Shadow paging: hidden/true faults, tracing faults, root switches. */
static void stats_count_shadow(struct stats *st, const struct event *ev)
{
    switch (ev->kind) {
    case EV_SHADOW_FILL:
        st->pf_hidden++;
        st->guest_accessed_set += (ev->d & 0x20u) != 0;
        st->guest_dirty_set += (ev->d & 0x40u) != 0;
        break;
    case EV_PF_TRUE:
        st->pf_true++;
        break;
    case EV_SHADOW_TRACE:
        st->trace_faults++;
        st->trace_unchanged += ev->c == 0;
        st->shadow_invalidated += ev->d;
        break;
    case EV_SHADOW_ROOT:
        st->root_switches++;
        st->root_builds += ev->b == 0;
        st->root_evictions += ev->c;
        break;
    default:
        break;
    }
}

static void stats_count_vmm(struct stats *st, const struct event *ev)
{
    switch (ev->kind) {
    case EV_INSNS:
        st->path_insns[ev->path % PATH_COUNT] += ev->a;
        break;
    case EV_TRAP:
        assert(ev->a < STATS_ROWS);
        st->traps_by_row[ev->a]++;
        break;
    case EV_SENSITIVE:
        assert(ev->a < STATS_ROWS);
        st->sensitive_by_row[ev->a]++;
        break;
    case EV_CALLOUT:
        if (ev->a < STATS_ROWS)
            st->callouts_by_row[ev->a]++;
        break;
    case EV_TC_EMULATE:
        st->tc_emulated += ev->b;
        break;
    case EV_OVERHEAD:
        assert(ev->a < OV_COUNT);
        st->overhead_by_cause[ev->a] += (int32_t)ev->c;
        st->overhead_cycles += (int32_t)ev->c;
        st->charges_by_cause[ev->a]++;
        break;
    case EV_REFLECT:
        st->reflected[ev->a & 255]++;
        break;
    case EV_WORLD_SWITCH:
        st->world_switches++;
        break;
    case EV_VMEXIT:
        st->vmexits[ev->a & 63]++;
        st->vmexits_total++;
        break;
    case EV_INJECT:
        st->injections++;
        st->reinjections += ev->c != 0;
        st->injected[ev->a & 255]++;
        break;
    default:
        stats_count_shadow(st, ev);
        break;
    }
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
        stats_count_vmm(st, ev);
        break;
    }
}
