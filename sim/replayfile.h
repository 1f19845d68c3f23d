/*
 * replayfile.h - the file `ringside run --record` writes and `--replay` reads.
 *
 * A recording is what entered a VM from outside - each COM1 receive byte
 * with the retired-instruction count and modeled cycle it was delivered at -
 * for one kernel under one engine (docs/replay.md). It is written as the run
 * goes, one record per input, each with a CRC chained to the one before, so
 * a session killed by a signal keeps every input it took, and the reader
 * refuses a file with a flipped bit, a record cut short, records dropped or
 * reordered, or positions that go backwards. A run that ends normally adds
 * an end record with its final position and exit status, which the replay
 * checks.
 */
#ifndef RS_REPLAYFILE_H
#define RS_REPLAYFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "history.h"

#define REPLAY_VERSION 1
#define REPLAY_HEADER_SIZE 64
#define REPLAY_RECORD_SIZE 24
#define REPLAY_MAX_FILE (1ull << 30)

enum { REPLAY_INPUT = 1, REPLAY_END = 2, REPLAY_KEY = 3 };

struct replay_header {
    uint64_t kernel_size;         /* the kernel file's size and CRC-32 */
    uint32_t kernel_crc;
    uint32_t engine;              /* enum machine_mode */
    uint32_t ram_size;            /* guest RAM bytes */
    uint64_t start_insns;         /* retired instructions when recording began */
    uint64_t start_cycles;
    uint32_t rtc_epoch;           /* the RTC's start (--rtc-now), 0: the default date */
};

struct replay_writer {
    int fd;
    uint32_t crc;                 /* the chain so far */
    char path[256];
};

/* Create `path` and write the header. 0, or -1 with a one-line reason. */
int replay_create(struct replay_writer *w, const char *path, const struct replay_header *h,
                  char *err, size_t errlen);
/* Append one record (REPLAY_INPUT: value = the byte; REPLAY_END: the exit
   status). 0 or -1 + err. */
int replay_append(struct replay_writer *w, int kind, uint64_t insns, uint64_t cycles,
                  uint8_t value, char *err, size_t errlen);
void replay_close(struct replay_writer *w);

struct replay_file {
    struct replay_header h;
    struct hist_input *in;        /* the inputs, in order (malloc'd) */
    size_t nin;
    bool has_end;                 /* the run ended normally: */
    uint64_t end_insns, end_cycles;
    uint8_t end_status;
};

/* Parse and check a whole recording. 0, or -1 with one line in err. */
int replay_parse(const uint8_t *img, size_t len, struct replay_file *out, char *err,
                 size_t errlen);
/* Read `path` (a regular file within REPLAY_MAX_FILE) and parse it. */
int replay_read(const char *path, struct replay_file *out, char *err, size_t errlen);
void replay_free(struct replay_file *f);

#endif
