/*
 * tc_policy.h - where a new translation goes when the translation cache is
 * full: the interface of a TC placement policy, built in or loaded from a
 * shared object (`--tc-policy plugin:FILE.so`, lab 5 in lessons/labs/).
 *
 * The TC is one byte area filled from the front. While the space after the
 * newest block is free, a new block simply goes there. When it is not - the
 * end of the area is reached, or the space ahead still holds older blocks -
 * the policy's place() is asked where the block of `len` bytes should go:
 * it returns an offset in [view->first, view->size - len] and every block
 * that overlaps [offset, offset + len) is evicted (its chained jumps are
 * unlinked, its lookup entries cleared: the translator never runs a stale
 * block), or TC_POLICY_FLUSH to drop every block and start again at
 * view->first. Anything else is a policy bug: the TC then flushes, so a
 * wrong policy costs speed, never correctness.
 *
 * The two built-in policies are written against the same interface
 * (tcache.c): flush (Adams & Agesen's VMM, QEMU's tb_flush) always answers
 * TC_POLICY_FLUSH; fifo answers view->next, or view->first once the end is
 * reached (a circular buffer: the oldest blocks in the way go).
 *
 * This header is all a policy needs: it includes nothing of ringside.
 */
#ifndef RS_TC_POLICY_H
#define RS_TC_POLICY_H

#include <stdint.h>

#define TC_POLICY_ABI 1
#define TC_POLICY_FLUSH UINT32_MAX

/* One live block, as the policy sees it. */
struct tc_policy_block {
    uint32_t off, len;      /* its bytes in the TC */
    uint64_t hits;          /* times a lookup found it */
    uint64_t last_hit;      /* view->now at its last hit (born, if never hit) */
    uint64_t born;          /* view->now when it was translated */
};

struct tc_policy_view {
    uint32_t size;          /* bytes of TC */
    uint32_t first;         /* the first offset a block may use */
    uint32_t next;          /* right after the newest block: where it would go */
    uint64_t now;           /* a clock: TC lookups and translations so far */
    int nblocks;
    const struct tc_policy_block *blocks;   /* the live blocks, by offset */
};

struct tc_policy {
    int abi;                /* TC_POLICY_ABI */
    const char *name;
    uint32_t (*place)(const struct tc_policy_view *view, uint32_t len);
};

/* A plug-in shared object defines this symbol. */
#define TC_POLICY_SYMBOL "ringside_tc_policy"

#endif
