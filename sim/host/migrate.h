/*
 * migrate.h - live migration of a VM to another host: iterative pre-copy.
 *
 * Clark et al., "Live Migration of Virtual Machines" (NSDI 2005): round 0
 * sends every (non-zero) page of guest RAM while the VM keeps running on
 * the source; each later round sends the pages the dirty log caught being
 * written during the previous round; when the remainder is small, or a
 * round dirtied as many pages as it sent (no progress), or the round count
 * is reached, the VM is paused and the rest goes over together with its
 * CPU, VMM and device state (stop-and-copy); the target resumes it, and
 * the source removes its copy only once the target has acknowledged.
 * Anything that goes wrong before that - the target refuses, the link
 * drops, the VM ends - leaves the VM running on the source, intact.
 *
 * The link is modeled (bandwidth, latency), so rounds are timed in the
 * guest's modeled time: a round that puts B bytes on the wire lasts
 * latency + 8B / bandwidth, and the VM runs that long on its own clock
 * before the next round; downtime is the stop-and-copy's bytes over the
 * same link. Runs are therefore deterministic - the rounds, pages and
 * bytes do not depend on the host's speed - while host (wall) times are
 * measured and reported beside them. The protocol is the control
 * protocol's (docs/control.md, docs/migration.md): the source is a client
 * of the target's control socket, or, in one process, calls the target
 * host's control_handle directly.
 */
#ifndef RS_MIGRATE_H
#define RS_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "host/host.h"

#define MIG_MAX_ROUNDS 64
#define MIG_BANDWIDTH_DEFAULT 1000000000ull   /* bits/s: 1 Gbit/s */
#define MIG_LATENCY_DEFAULT 100u              /* microseconds, one way */
#define MIG_ROUNDS_DEFAULT 30
#define MIG_STOP_PAGES_DEFAULT 32u            /* remainder small enough to stop */
#define MIG_BATCH_PAGES 8                     /* pages per message (a line < 64 KiB) */
#define MIG_TIMEOUT_MS 10000                  /* a silent target: the link is gone */

/* How the source reaches the target: one request line out, reply lines in
   the order the requests were sent (they may be pipelined). */
struct mig_link {
    int (*send)(void *ctx, const char *line);     /* 0, or -1: the link is gone */
    char *(*recv)(void *ctx);                     /* malloc'd reply, NULL: gone */
    void *ctx;
    void (*destroy)(struct mig_link *l);
};

struct mig_report;

/* Where a migration is, for a view that follows it (mig_options.progress). */
enum mig_phase {
    MIG_PHASE_RUN,                /* a round's pages are on the wire; the VM ran a slice */
    MIG_PHASE_ROUND,              /* a round ended: its pages_dirtied is known */
    MIG_PHASE_STOP,               /* pre-copy stopped: the VM is paused, the stop-and-copy starts */
};

struct mig_options {
    uint64_t bandwidth_bps;       /* 0: MIG_BANDWIDTH_DEFAULT */
    uint32_t latency_us;          /* one way */
    bool latency_given;           /* else MIG_LATENCY_DEFAULT */
    int max_rounds;               /* pre-copy rounds, 1..MIG_MAX_ROUNDS (0: default) */
    uint32_t stop_pages;          /* 0: MIG_STOP_PAGES_DEFAULT */
    /* NULL, or told how far the migration is (the report so far: rounds
       [0, nrounds) sent, the last one's pages_dirtied once its ROUND came);
       it may draw, never change the hosts. Changes no figure. */
    void (*progress)(void *ctx, const struct mig_report *rep, enum mig_phase phase);
    void *progress_ctx;
};

struct mig_round {
    uint32_t pages_sent;          /* pages put on the wire this round */
    uint32_t pages_dirtied;       /* pages the guest wrote while they were sent */
    uint64_t bytes;               /* modeled wire bytes (compressed pages + framing) */
    uint64_t cycles;              /* the round's modeled duration, in guest cycles */
    uint64_t host_ns;             /* host time it took */
};

struct mig_report {
    struct mig_round rounds[MIG_MAX_ROUNDS];
    int nrounds;                  /* pre-copy rounds made */
    const char *stop_reason;      /* why pre-copy stopped (static text) */
    uint32_t final_pages;         /* sent in the stop-and-copy */
    uint64_t final_bytes;         /* those pages and the state */
    uint64_t state_bytes;         /* the CPU/VMM/device state image */
    uint32_t wws_pages;           /* writable working set: dirtied in the last round */
    uint64_t total_bytes;
    uint64_t pages_sent;          /* all rounds and the stop-and-copy */
    uint64_t downtime_cycles, total_cycles;     /* modeled, guest cycles */
    uint64_t downtime_host_ns, total_host_ns;
    uint64_t guest_insns;         /* guest instructions when it stopped on the source */
    bool moved;                   /* the target acknowledged; the source removed the VM */
};

/* Migrate VM i of host h over l. 0 when the VM now runs on the target (and
   is removed from h); -1 with err when it still runs on h, untouched but
   for the time it ran meanwhile. The report is filled either way. */
int migrate_vm(struct host *h, int i, const struct mig_link *l, const struct mig_options *o,
               struct mig_report *rep, char *err, size_t errlen);

/*
 * Disaster recovery: checkpoints of VM i to a standby host, each a
 * stop-and-copy that does not stop - the first sends every non-zero page,
 * later ones the pages the dirty log caught since, then the state; the
 * standby stages the pages and applies them with the state only when the
 * checkpoint is complete (`replica-commit`), so a primary that dies midway
 * leaves it the previous checkpoint whole. `recover` there resumes it.
 */
struct mig_ckpt {
    uint8_t *dirty;               /* NULL before the first checkpoint */
    uint64_t count, pages, bytes; /* checkpoints made, pages and bytes sent */
    uint64_t guest_insns;         /* the VM's when the last one was taken */
    uint64_t host_ns;             /* the last one's host time */
    struct mig_report rep;        /* scratch */
};
int migrate_checkpoint(struct host *h, int i, const struct mig_link *l, struct mig_ckpt *ck,
                       char *err, size_t errlen);
void migrate_checkpoint_free(struct mig_ckpt *ck);

/* A link to the control socket at addr (loopback TCP or a Unix socket);
   token: for a TCP target (NULL: none). NULL with err if it cannot connect. */
struct mig_link *mig_link_connect(const char *addr, const char *token, char *err, size_t errlen);
/* A link to a host in this process (its control_handle). */
struct mig_link *mig_link_local(struct host *target);
void mig_link_close(struct mig_link *l);

/* The report as the migrate command's reply (docs/control.md); `to` names
   the target. */
json_t *mig_report_json(const struct mig_report *rep, const char *to);

/* Host time (CLOCK_MONOTONIC) in ns. */
uint64_t mig_now_ns(void);
/* Modeled seconds as guest cycles, and back (the nominal clock). */
uint64_t mig_seconds_to_cycles(double s);
double mig_cycles_to_ms(uint64_t cycles);

#endif
