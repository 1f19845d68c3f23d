/*
 * event.h - the event stream: how every part of ringside says what happened.
 *
 * DESIGN.md §3: engines, devices and the CPU's hooks describe what happens as
 * small fixed-size records (kind, vm, modeled cycle, guest EIP, path, four
 * kind-specific words). Subscribers - the always-on statistics counters, the
 * trace recorder, the UI - register a mask of the kinds they want; emitting
 * a kind nobody wants costs one test of a bit. Nothing in sim/ formats text
 * for people: names for kinds and paths are here only so that every consumer
 * spells them the same way.
 */
#ifndef RS_EVENT_H
#define RS_EVENT_H

#include <stdint.h>
#include <stdbool.h>

/* Where guest instructions execute (DESIGN.md §3). */
enum ev_path { PATH_NATIVE = 0, PATH_DIRECT, PATH_TRANSLATED, PATH_EMULATED, PATH_COUNT };

enum ev_kind {
    EV_INSNS = 0,     /* a: instructions retired on `path` since the last one */
    EV_EXCEPTION,     /* a: vector, b: error code, c: has error code */
    EV_INTERRUPT,     /* a: vector (external) */
    EV_SOFTINT,       /* a: vector (INT n, INT3, INTO) */
    EV_RING,          /* a: CPL before, b: CPL after (c, d: real CPLs under a VMM) */
    EV_IO,            /* a: port, b: size, c: 1 write / 0 read, d: value */
    EV_IO_UNMAPPED,   /* also emitted (after EV_IO) for ports no device claims */
    EV_HALT,          /* HLT executed */
    EV_END,           /* the run ended: a = enum machine_end, b = exit code */
    EV_TRAP,          /* VMM: a = cause (op_table row index), b = vector */
    EV_WORLD_SWITCH,  /* VMM: a = 1 into the VMM, 0 back to the guest; on the way
                         back c = the visit's overhead cycles (int32: VMM cost minus
                         the native cost of the same guest work) */
    EV_CALLOUT,       /* BT: a = callout kind */
    EV_SENSITIVE,     /* a sensitive instruction ran deprivileged: a = row index */
    EV_REFLECT,       /* VMM reflected a vector into the guest: a = vector,
                         b = 0 exception, 1 external interrupt, 2 INT n */
    EV_TRANSLATE,     /* BT: a = guest bytes, b = TC bytes, c = guest insns |
                         IDENT (copied) insns << 16 (EV_XLAT_*), d = block id */
    EV_TC_HIT,
    EV_TC_MISS,
    EV_TC_CHAIN,
    EV_TC_INVALIDATE, /* a = blocks dropped */
    EV_TC_FLUSH,
    EV_SHADOW_FILL,   /* hidden #PF: the shadow was filled. a = linear address,
                         b = hardware error code, c = guest PTE (PDE for 4 MiB),
                         d = bits set in the guest entry (A 0x20, D 0x40) */
    EV_PF_TRUE,       /* true #PF reflected to the guest: a = CR2, b = guest error code */
    EV_SHADOW_TRACE,  /* tracing fault (guest wrote a traced frame): a = linear address,
                         b = roles of the frame (1 page table, 2 page directory, 4 GDT),
                         c = 4-byte words the write changed (0: an unchanged write,
                         e.g. ptemod), d = shadow entries invalidated */
    EV_SHADOW_ROOT,   /* guest CR3 switch under shadow paging: a = guest CR3,
                         b = 1 cached root reused / 0 built, c = 1 if a root was evicted */
    EV_TC_EMULATE,    /* BT: operations emulated inside the TC since the last exit,
                         reported at the exit: a = port (0x80), b = count */
    EV_OVERHEAD,      /* VMM: modeled cycles charged: a = cause (enum ev_ov_cause),
                         b = the VMM's cycles, c = overhead (int32: b minus the native
                         cost of the same guest work), d = native cost */
    EV_VMEXIT,        /* hw: a VM exit: a = basic exit reason (vmx.h), b = qualification,
                         c = instruction length, d = exit interruption information */
    EV_INJECT,        /* hw: an event injected at VM entry: a = vector, b = interruption
                         type (vmx.h), c = 1 if re-injected from IDT-vectoring info */
    EV_KIND_COUNT
};

/* What an engine's overhead pays for (EV_OVERHEAD's a word): the split a
   lecture needs between warm-up (translating code the first time) and the
   steady state, and within the steady state the mechanism. */
enum ev_ov_cause {
    OV_TRANSLATE = 0, /* BT: translating guest code (warm-up) */
    OV_TRAP,          /* a privileged instruction trapped and was emulated */
    OV_IO,            /* port I/O emulated by the VMM (trapped or called out) */
    OV_CALLOUT,       /* BT: a callout from the TC into the VMM (not I/O) */
    OV_INDIRECT,      /* BT: an indirect branch whose target left the TC */
    OV_TC_EMULATE,    /* BT: an operation emulated inside the TC */
    OV_REFLECT,       /* an exception, interrupt or INT n reflected to the guest */
    OV_HIDDEN_FAULT,  /* shadow paging: a #PF absorbed by filling the shadow */
    OV_TRACE_FAULT,   /* shadow paging / BT: a write to a traced page */
    OV_TC_CODE,          /* BT: the TC's own instructions beyond the guest's (indirect-
                            branch lookups, in-TC emulation sequences) */
    OV_HOSTED_IO,        /* Type II host: the world switch to the host OS per device access */
    OV_VMEXIT,           /* hw: a VM exit with nothing to emulate (interrupt window,
                            preemption timer) */
    OV_NPT,              /* hw --npt: nested page walks and EPT-violation exits */
    OV_COUNT
};

struct event {
    uint16_t kind;    /* enum ev_kind */
    uint8_t vm;       /* which VM (several may run in one process) */
    uint8_t path;     /* enum ev_path */
    uint32_t eip;     /* guest EIP the event concerns */
    uint64_t cycle;   /* modeled cycle at which it happened */
    uint32_t a, b, c, d; /* kind-specific words (see enum ev_kind) */
};

typedef void (*event_fn)(void *ctx, const struct event *ev);

#define EVENT_MAX_SUBS 8
/* EV_TRANSLATE's c word: guest instructions, and how many were IDENT. */
#define EV_XLAT_INSNS(c) ((c) & 0xFFFFu)
#define EV_XLAT_IDENT(c) ((c) >> 16)
#define EV_BIT(k) (1u << (k))
#define EV_ALL ((1u << EV_KIND_COUNT) - 1)

struct event_sub {
    event_fn fn;
    void *ctx;
    uint32_t mask;    /* EV_BIT of each kind wanted */
};

struct event_bus {
    struct event_sub subs[EVENT_MAX_SUBS];
    int nsubs;
    uint32_t wanted;  /* union of the masks: the fast "anyone?" test */
};

void event_bus_init(struct event_bus *eb);
/* Returns 0, or -1 if all subscriber slots are taken. */
int event_subscribe(struct event_bus *eb, uint32_t mask, event_fn fn, void *ctx);
void event_unsubscribe(struct event_bus *eb, event_fn fn, void *ctx);
void event_dispatch(struct event_bus *eb, const struct event *ev);

static inline bool event_wanted(const struct event_bus *eb, enum ev_kind k)
{
    return (eb->wanted & EV_BIT(k)) != 0;
}

static inline void event_emit(struct event_bus *eb, const struct event *ev)
{
    if (eb->wanted & EV_BIT(ev->kind))
        event_dispatch(eb, ev);
}

const char *event_kind_name(enum ev_kind k);   /* "trap", "tc-miss", ... */
const char *event_path_name(enum ev_path p);   /* "native", "direct", ... */
const char *event_ov_cause_name(enum ev_ov_cause c); /* "translate", "trap", "io", ... */

#endif
