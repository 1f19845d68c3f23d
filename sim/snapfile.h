/*
 * snapfile.h - the snapshot container: a checked header and checked chunks.
 *
 * A snapshot (docs/snapshot.md) is a header - format version, the ringside
 * version, the kernel's size and CRC, the engine, the guest RAM size - and a
 * list of tagged chunks, each with its length and the CRC-32 of its bytes,
 * optionally zlib-compressed. This file knows nothing of what the chunks
 * hold (snapshot.c does); it writes them, and it reads a file back only if
 * every length, CRC and decompression checks out, so the code that restores
 * a machine never sees a truncated or corrupted byte.
 */
#ifndef RS_SNAPFILE_H
#define RS_SNAPFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SNAP_VERSION 2
#define SNAP_HEADER_SIZE 96
#define SNAP_CHUNK_HEADER 24
#define SNAP_MAX_CHUNKS 32
#define SNAP_MAX_FILE (4ull << 30)       /* 3 GiB of guest RAM fits, compressed or not */
#define SNAP_MAX_RAW  ((3072ull + 8) << 20)

struct snap_header {
    char ringside_version[16];  /* of the writer (informative) */
    uint64_t kernel_size;       /* the kernel file's size and CRC-32: restore refuses */
    uint32_t kernel_crc;        /*   another kernel */
    uint32_t engine;            /* enum machine_mode the VM ran under when saved */
    uint32_t ram_size;          /* guest RAM in bytes */
    uint64_t guest_insns;       /* guest instructions retired when saved */
    char kernel_path[28];       /* as typed, truncated (informative) */
};

struct snap_chunk {
    char tag[5];                /* four characters, NUL-terminated */
    bool compressed;            /* stored with zlib */
    size_t stored;              /* bytes in the file */
    uint8_t *data;              /* decompressed bytes (malloc'd) */
    size_t len;
};

struct snap_file {
    struct snap_header h;
    int nchunks;
    struct snap_chunk chunks[SNAP_MAX_CHUNKS];
};

/* A snapshot being built in memory, then written in one go. */
struct snap_writer {
    struct snap_header h;
    int nchunks;
    uint8_t *buf;               /* chunk headers and data after the file header */
    size_t len, cap;
};

void snapw_init(struct snap_writer *w, const struct snap_header *h);
/* Add a chunk (copied; compressed with zlib when `compress`). 0 or -1 + err. */
int snapw_chunk(struct snap_writer *w, const char *tag, const void *data, size_t len,
                bool compress, char *err, size_t errlen);
/* Write the file (header CRC last) and free the writer. 0 or -1 + err. */
int snapw_write(struct snap_writer *w, const char *path, char *err, size_t errlen);
void snapw_free(struct snap_writer *w);
/* The whole file's bytes in memory instead (*img malloc'd), the writer freed:
   the in-memory checkpoints of reverse execution (history.h). */
int snapw_image(struct snap_writer *w, uint8_t **img, size_t *len, char *err, size_t errlen);

/* Parse and check a whole snapshot image (from a file or memory). */
int snap_parse(const uint8_t *img, size_t len, struct snap_file *out, char *err, size_t errlen);
/* Read `path` (a regular file within SNAP_MAX_FILE) and parse it. */
int snap_read(const char *path, struct snap_file *out, char *err, size_t errlen);
void snap_free(struct snap_file *f);
/* The chunk tagged `tag`, or NULL. */
const struct snap_chunk *snap_find(const struct snap_file *f, const char *tag);

#endif
