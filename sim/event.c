/*
 * event.c - subscriber registry and dispatch for the event stream.
 */
#include "event.h"

#include <string.h>

void event_bus_init(struct event_bus *eb)
{
    memset(eb, 0, sizeof *eb);
}

static void event_recompute(struct event_bus *eb)
{
    eb->wanted = 0;
    for (int i = 0; i < eb->nsubs; i++)
        eb->wanted |= eb->subs[i].mask;
}

int event_subscribe(struct event_bus *eb, uint32_t mask, event_fn fn, void *ctx)
{
    if (eb->nsubs == EVENT_MAX_SUBS)
        return -1;
    eb->subs[eb->nsubs++] = (struct event_sub){ fn, ctx, mask & EV_ALL };
    event_recompute(eb);
    return 0;
}

void event_unsubscribe(struct event_bus *eb, event_fn fn, void *ctx)
{
    for (int i = 0; i < eb->nsubs; i++) {
        if (eb->subs[i].fn != fn || eb->subs[i].ctx != ctx)
            continue;
        memmove(&eb->subs[i], &eb->subs[i + 1], (size_t)(eb->nsubs - i - 1) * sizeof *eb->subs);
        eb->nsubs--;
        break;
    }
    event_recompute(eb);
}

void event_dispatch(struct event_bus *eb, const struct event *ev)
{
    for (int i = 0; i < eb->nsubs; i++)
        if (eb->subs[i].mask & EV_BIT(ev->kind))
            eb->subs[i].fn(eb->subs[i].ctx, ev);
}

const char *event_kind_name(enum ev_kind k)
{
    static const char *const names[EV_KIND_COUNT] = {
        [EV_INSNS] = "insns", [EV_EXCEPTION] = "exception", [EV_INTERRUPT] = "interrupt",
        [EV_SOFTINT] = "softint", [EV_RING] = "ring", [EV_IO] = "io",
        [EV_IO_UNMAPPED] = "io-unmapped", [EV_HALT] = "halt", [EV_END] = "end",
        [EV_TRAP] = "trap", [EV_WORLD_SWITCH] = "world-switch", [EV_CALLOUT] = "callout",
        [EV_SENSITIVE] = "sensitive", [EV_REFLECT] = "reflect", [EV_TRANSLATE] = "translate",
        [EV_TC_HIT] = "tc-hit", [EV_TC_MISS] = "tc-miss", [EV_TC_CHAIN] = "tc-chain",
        [EV_TC_INVALIDATE] = "tc-invalidate", [EV_TC_FLUSH] = "tc-flush",
        [EV_SHADOW_FILL] = "shadow-fill", [EV_PF_TRUE] = "pf-true",
        [EV_SHADOW_TRACE] = "shadow-trace", [EV_SHADOW_ROOT] = "shadow-root",
        [EV_TC_EMULATE] = "tc-emulate", [EV_OVERHEAD] = "overhead",
        [EV_VMEXIT] = "vmexit", [EV_INJECT] = "inject",
    };
    return (unsigned)k < EV_KIND_COUNT && names[k] ? names[k] : "?";
}

const char *event_path_name(enum ev_path p)
{
    static const char *const names[PATH_COUNT] = { "native", "direct", "translated", "emulated" };
    return (unsigned)p < PATH_COUNT ? names[p] : "?";
}

const char *event_ov_cause_name(enum ev_ov_cause c)
{
    static const char *const names[OV_COUNT] = {
        [OV_TRANSLATE] = "translate", [OV_TRAP] = "trap", [OV_IO] = "io",
        [OV_CALLOUT] = "callout", [OV_INDIRECT] = "indirect",
        [OV_TC_EMULATE] = "tc-emulate", [OV_REFLECT] = "reflect",
        [OV_HIDDEN_FAULT] = "hidden-fault", [OV_TRACE_FAULT] = "trace-fault",
        [OV_TC_CODE] = "tc-code", [OV_HOSTED_IO] = "hosted-io",
        [OV_VMEXIT] = "vmexit", [OV_NPT] = "npt",
    };
    return (unsigned)c < OV_COUNT ? names[c] : "?";
}
