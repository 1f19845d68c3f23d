/*
 * bt.h - the binary translator and its translation cache (`--mode bt`).
 *
 * VMware's answer to the x86 virtualization problem (Adams & Agesen, ASPLOS
 * 2006, §3): guest *kernel* code (virtual CPL 0) never runs directly. It is
 * decoded a block at a time with the CPU's own decoder, classified by the
 * opcode table's attributes, and rewritten into real x86 code in the
 * translation cache (TC) inside the VMM region, which the same simulated CPU
 * then executes at ring 1. Innocuous instructions are copied (IDENT);
 * sensitive ones become short in-TC sequences against the vcpu page or
 * callouts into the shared emulation library; branches leave through exits
 * that are chained into direct jumps once their target is translated.
 * Guest *user* code (virtual CPL 3) keeps running by direct execution.
 *
 * This header is what the rest of ringside sees: configuration, the
 * counters, and the inspection API the UI (tc-dump, TUI) and traces use.
 * The monitor's side (struct vmm hooks) is in bt_internal.h.
 */
#ifndef RS_BT_H
#define RS_BT_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

struct vmm;
struct bt;

/* What to do when the TC is full (a lab compares them). */
enum bt_policy {
    BT_POLICY_FLUSH = 0,   /* drop every block and start over (the default) */
    BT_POLICY_FIFO,        /* circular buffer: evict the oldest blocks in the way */
    BT_POLICY_PLUGIN,      /* a struct tc_policy loaded from a shared object */
};

struct tc_policy;

#define BT_TC_SIZE_DEFAULT (1024u * 1024u)  /* bytes; --tc-size KiB */
#define BT_TC_SIZE_MIN     4096u            /* one block of the worst size fits */
#define BT_TC_SIZE_MAX     0x200000u        /* the TC area of the VMM region */
#define BT_BLOCK_INSNS_DEFAULT 12            /* A&A06: a unit ends after 12 insns */

struct bt_config {
    uint32_t tc_size;       /* bytes of TC (BT_TC_SIZE_MIN..MAX) */
    enum bt_policy policy;  /* full-TC policy */
    const struct tc_policy *plugin;   /* BT_POLICY_PLUGIN: its placement (tc_policy.h) */
    int block_insns;        /* guest instructions per translation unit (1..64) */
};

/* Counters (the stats JSON "tc" object and the TUI read these). */
struct bt_counters {
    uint64_t translations;  /* blocks translated */
    uint64_t guest_bytes;   /* guest code bytes translated */
    uint64_t tc_bytes;      /* TC bytes emitted */
    uint64_t guest_insns;   /* guest instructions translated */
    uint64_t hits;          /* TC entry found the block already translated */
    uint64_t misses;        /* ... had to translate it */
    uint64_t chains;        /* exits patched into direct jumps */
    uint64_t invalidations; /* blocks dropped because the guest wrote their code */
    uint64_t flushes;       /* whole-TC flushes (full TC, or policy) */
    uint64_t evictions;     /* blocks evicted to make room (FIFO, a plug-in) */
    uint64_t ind_misses;    /* indirect jmp/call/ret lookups that left the TC */
    uint64_t callouts;      /* callouts into the VMM */
    uint64_t smc_faults;    /* write faults on write-protected code pages */
    uint64_t adaptations;   /* stores retranslated after repeated tracing faults */
};

/* Parse "flush" / "fifo"; -1 if neither. */
int bt_policy_parse(const char *s);
/* --tc-policy plugin:FILE: load the policy a shared object exports
   (tc_policy.h). 0, or -1 with err. */
int bt_policy_load(const char *path, const struct tc_policy **out, char *err, size_t errlen);
const char *bt_policy_name(enum bt_policy p);
void bt_config_default(struct bt_config *c);

/* ---- inspection ---- */

#define BT_INFO_EXITS 8      /* exits a block can have (Jcc's inside, the last one) */

/* One translated block, as tc-dump and the UI show it. */
struct bt_block_info {
    int id;                 /* stable while the block lives */
    uint32_t guest_lin;     /* guest linear address of its first instruction */
    uint32_t guest_pa;      /* guest physical address */
    uint32_t guest_len;     /* guest bytes */
    int ninsns;             /* guest instructions */
    uint32_t tc_lin;        /* linear address of its translation */
    uint32_t tc_len;        /* TC bytes */
    uint64_t hits;          /* entries through the monitor (not via chains) */
    int nexits;             /* exits (direct branches, callouts, indirect) */
    int chained_to[BT_INFO_EXITS]; /* block ids its exits jump to (-1: not chained) */
};

/* Number of live blocks, and the i-th (0..count-1) in TC order. */
int bt_block_count(const struct bt *bt);
bool bt_block_get(const struct bt *bt, int i, struct bt_block_info *out);
/* The live block whose guest code contains `guest_lin` (-1 if none). */
int bt_block_find(const struct bt *bt, uint32_t guest_lin);
/* Copy a block's guest bytes (as translated) and TC bytes; return lengths. */
uint32_t bt_block_guest_bytes(const struct bt *bt, int i, uint8_t *buf, uint32_t max);
uint32_t bt_block_tc_bytes(const struct bt *bt, int i, uint8_t *buf, uint32_t max);
/* Guest address of the instruction a TC address belongs to (0 if none). */
uint32_t bt_tc_to_guest(const struct bt *bt, uint32_t tc_lin);
/* The same, false for an address that is not in a live block's translation. */
bool bt_tc_guest(const struct bt *bt, uint32_t tc_lin, uint32_t *guest);
const struct bt_counters *bt_counters(const struct bt *bt);
const struct bt_config *bt_get_config(const struct bt *bt);

/* Self-modifying code under guest paging (shadow_pt*.c): does the guest-
   physical page holding `guest_phys_page` hold translated code (its frame is
   write-protected for BT)? And: the guest is writing that page: drop its
   blocks (unchaining them) and its protection. */
bool bt_page_has_code(struct bt *bt, uint32_t guest_phys_page);
void bt_code_page_written(struct bt *bt, uint32_t guest_phys_page);

/* The translator of a monitor (NULL unless it runs --mode bt). */
struct bt *vmm_bt(struct vmm *v);
/* Change the configuration (before the guest runs); -1 if out of range. */
int bt_configure(struct bt *bt, const struct bt_config *cfg);

#endif
