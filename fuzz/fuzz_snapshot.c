/*
 * fuzz_snapshot.c - libFuzzer target for the snapshot reader (snap_parse in
 * sim/snapfile.c) and, for what it accepts, the restore path
 * (snapshot_restore in sim/snapshot.c) into a fresh VM of the kernel the
 * seeds were taken from.
 *
 * Why: `--restore FILE`, `snapshot info` and a migration's state image read
 * outside bytes. The contract: every refusal is -1 with one non-empty line;
 * an accepted file has at most SNAP_MAX_CHUNKS chunks, each with its
 * decompressed length within SNAP_MAX_RAW and (a tag without NUL bytes)
 * found by snap_find; a restore either refuses with one line or leaves a VM that
 * runs (a bounded slice). In this build CRC mismatches are accepted
 * (snap_crc_ok in sim/snapfile.c), so mutations reach the checks behind the
 * checksums. Seeds: snapshots of samples/bin/hello.elf with --mem 4 (made by
 * the seeds.stamp rule), so their kernel size and CRC match the VM's.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapfile.h"
#include "snapshot.h"
#include "vm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_err(const char *err)
{
    if (!err[0] || strchr(err, '\n')) {
        fprintf(stderr, "refusal not one line: '%s'\n", err);
        abort();
    }
}

static void check_file(const struct snap_file *f)
{
    if (f->nchunks < 0 || f->nchunks > SNAP_MAX_CHUNKS)
        abort();
    for (int i = 0; i < f->nchunks; i++) {
        const struct snap_chunk *c = &f->chunks[i];
        if (c->len > SNAP_MAX_RAW || !c->data)
            abort();
        if (strlen(c->tag) < 4)
            continue;           /* a tag is four bytes of any value */
        const struct snap_chunk *k = snap_find(f, c->tag);
        if (!k || strcmp(k->tag, c->tag))
            abort();
    }
}

static void try_restore(const struct snap_file *f)
{
    char err[256] = "";
    struct vm_config cfg = { .kernel_path = "samples/bin/hello.elf", .mem_mib = 4 };
    struct vm *vm = vm_create(&cfg, err, sizeof err);
    if (!vm)
        return;                 /* run from elsewhere than the repository */
    err[0] = 0;
    if (snapshot_restore(vm, f, err, sizeof err) == 0)
        vm_run(vm, 20000);
    else
        check_err(err);
    vm_destroy(vm);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *img = malloc(size ? size : 1);        /* exact size */
    memcpy(img, data, size);
    struct snap_file f;
    char err[256] = "";
    if (snap_parse(img, size, &f, err, sizeof err) != 0) {
        check_err(err);
    } else {
        check_file(&f);
        try_restore(&f);
        snap_free(&f);
    }
    free(img);
    return 0;
}
