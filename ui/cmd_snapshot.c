/*
 * cmd_snapshot.c - `ringside snapshot info FILE`: what a snapshot holds.
 *
 * The file is checked in full (every CRC, every decompression) before any
 * of it is printed, so `info` doubles as a validity check: status 0 for a
 * good snapshot, 2 with one line for a bad one.
 */
#include "cmd_snapshot.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "machine.h"
#include "options.h"
#include "snapfile.h"

static void usage(FILE *f)
{
    fputs("usage: ringside snapshot info FILE\n"
          "  prints the snapshot's header and chunks after checking every CRC\n"
          "  (format: docs/snapshot.md); take one with ringside run --snapshot-at N FILE,\n"
          "  continue from one with ringside run --restore FILE\n", f);
}

static int info(const char *path)
{
    struct snap_file f;
    char err[300];
    if (snap_read(path, &f, err, sizeof err) != 0) {
        fprintf(stderr, "ringside: %s\n", err);
        return EXIT_BAD_INPUT;
    }
    const char *engine = machine_mode_name((int)f.h.engine);
    printf("snapshot:   %s (format %d, written by ringside %s)\n", path, SNAP_VERSION,
           f.h.ringside_version);
    printf("kernel:     %s (%" PRIu64 " bytes, crc32 %08x)\n", f.h.kernel_path, f.h.kernel_size,
           f.h.kernel_crc);
    printf("engine:     %s; guest RAM %u MiB; taken after %" PRIu64 " guest instructions\n",
           engine ? engine : "?", f.h.ram_size >> 20, f.h.guest_insns);
    printf("chunks:\n");
    for (int i = 0; i < f.nchunks; i++) {
        const struct snap_chunk *c = &f.chunks[i];
        printf("  %-4s %10zu bytes%s", c->tag, c->len, c->compressed ? "" : "\n");
        if (c->compressed)
            printf(", %zu stored (zlib)\n", c->stored);
    }
    const struct snap_chunk *mem = snap_find(&f, "MEM ");
    if (mem && f.h.ram_size) {
        uint32_t pages = f.h.ram_size / 4096, used = 0;
        for (uint32_t p = 0; p < pages && p / 8 < mem->len; p++)
            used += (mem->data[p / 8] >> (p % 8)) & 1u;
        printf("memory:     %u of %u pages saved (the rest are zero)\n", used, pages);
    }
    snap_free(&f);
    return EXIT_OK;
}

int cmd_snapshot(int argc, char **argv)
{
    if (argc == 1 && (!strcmp(argv[0], "-h") || !strcmp(argv[0], "--help"))) {
        usage(stdout);
        return EXIT_OK;
    }
    if (argc != 2 || strcmp(argv[0], "info") != 0) {
        usage(stderr);
        return EXIT_BAD_INPUT;
    }
    return info(argv[1]);
}
