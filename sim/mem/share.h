/*
 * share.h - content-based page sharing (Waldspurger, "Memory Resource
 * Management in VMware ESX Server", OSDI 2002, §4).
 *
 * A scan walks the VMs' guest pages a few at a time. Each page's content is
 * hashed (zlib's CRC-32) and looked up in one host-wide table:
 *   - a shared frame with that hash whose bytes are equal: the page is
 *     remapped onto it and its own frame freed;
 *   - a "hint" (a private page scanned earlier) with equal bytes: that
 *     frame becomes shared, read-only, and the page is remapped onto it;
 *   - nothing: the page is recorded as a hint.
 * Hash equality is only a hint: the bytes are always compared in full. A
 * write to a shared page copies it back to a private frame (pmap_own).
 * The scan moves pages only between guest instructions (the host runs it
 * between time slices), so no VM can observe it except through time.
 */
#ifndef RS_SHARE_H
#define RS_SHARE_H

#include <stdint.h>
#include "mem/frames.h"

struct share_table;

/* The table for a pool (frames->share); 0 or -1 out of memory. */
int share_init(struct frames *f);
void share_free(struct frames *f);
/* Scan up to `budget` allocated guest pages, continuing where the last scan
   stopped (round robin over every pmap of the pool). Returns pages merged. */
uint32_t share_scan(struct frames *f, uint32_t budget);
/* Pages scanned so far (all scans). */
uint64_t share_scanned(const struct frames *f);

#endif
