/*
 * snapshot.h - saving a whole VM to a file and bringing it back.
 *
 * A snapshot holds the guest as native hardware would see it - the CPU's
 * architectural state, the devices, guest RAM (zero pages skipped, the rest
 * zlib-compressed) - plus the run's counters, in the checked container of
 * snapfile.h (format: docs/snapshot.md). Caches are not saved: decoded
 * instructions, the TLB, and under a VMM the translation cache and shadow
 * page tables are rebuilt after a restore. Because the state is the guest's
 * own, a VM saved under one engine resumes under any other.
 */
#ifndef RS_SNAPSHOT_H
#define RS_SNAPSHOT_H

#include <stddef.h>
#include "vm.h"
#include "snapfile.h"

/* Write vm's state to `path`. The VM must be between guest instructions
   (vm_run returned). 0, or -1 with a one-line reason. */
int snapshot_save(struct vm *vm, const char *path, char *err, size_t errlen);

/* Put the state of `f` into `vm`, a VM built for the same kernel (size and
   CRC checked) with the same RAM size, under any engine. 0 or -1 + err. */
int snapshot_restore(struct vm *vm, const struct snap_file *f, char *err, size_t errlen);

/* Live migration (docs/migration.md) moves RAM page by page, and the rest
   as a snapshot image without its "MEM " chunk, in memory (*img malloc'd). */
int snapshot_state_image(struct vm *vm, uint8_t **img, size_t *len, char *err, size_t errlen);
/* Put such an image's state into `vm`; its RAM stays as it is. */
int snapshot_restore_state(struct vm *vm, const struct snap_file *f, char *err, size_t errlen);
/* The same in memory: the file's bytes (malloc'd) and back. */
int snapshot_save_image(struct vm *vm, uint8_t **img, size_t *len, char *err, size_t errlen);
int snapshot_restore_image(struct vm *vm, const uint8_t *img, size_t len, char *err,
                           size_t errlen);

#endif
