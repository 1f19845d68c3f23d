/*
 * hostfile.h - reading the files a user names (kernels, modules, cost
 * profiles, traces) with a type check and a size bound.
 *
 * Why one helper: every input path on the command line can be anything --
 * /dev/zero, a directory, a FIFO nobody writes, a sparse file of terabytes.
 * Each reader used to defend itself differently (or not at all: `--costs
 * /dev/zero` read forever). Here a file is opened without blocking, must be
 * a regular file no larger than the caller's bound, and is never read past
 * bound + 1 bytes, so a bad path costs one clear error line, at once.
 */
#ifndef RINGSIDE_HOSTFILE_H
#define RINGSIDE_HOSTFILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Open path for reading: a regular file of at most limit bytes (checked
 * with fstat on the opened descriptor, so no race with a rename). Opening
 * never blocks (O_NONBLOCK; a FIFO is refused before any read). Returns the
 * descriptor (blocking mode restored, close-on-exec), or -1 with err set to
 * one line "PATH: reason" ("is a directory", "not a regular file (a FIFO)",
 * "file too large (N bytes, limit M)", or the open error).
 */
int hostfile_open(const char *path, uint64_t limit, char *err, size_t errlen);

/* hostfile_open as a stdio stream ("rb"); NULL with err on failure. */
FILE *hostfile_fopen(const char *path, uint64_t limit, char *err, size_t errlen);

/*
 * The whole file into a malloc'd buffer (free() it) with one extra zero
 * byte after the data, so text parsers may treat it as a C string. Reads at
 * most limit + 1 bytes: a file that grew past limit after the check is
 * refused too. An empty file gives *data != NULL, *len == 0. Returns 0, or
 * -1 with err "PATH: reason".
 */
int hostfile_read(const char *path, uint64_t limit, uint8_t **data, size_t *len,
                  char *err, size_t errlen);

/* "256 MiB", "64 KiB", "17 bytes": a limit as a person reads it. */
void hostfile_size_name(uint64_t n, char *buf, size_t len);

#endif
