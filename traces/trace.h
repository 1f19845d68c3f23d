/*
 * trace.h - the ringside trace file: format, recorder and reader.
 *
 * A trace is the event stream of one run (sim/event.h) written to disk so
 * that the run's story outlives it: students hand traces in, teachers draw
 * them (trace_export.h), anyone opens the timeline in Perfetto. The format
 * (docs/traces.md) is, all little-endian:
 *
 *   header   TRACE_HDR_SIZE bytes: magic, format version, record size,
 *            ringside version, kernel name + FNV-1a-64 hash, mode, cost
 *            profile, options, event-kind filter, flags; CRC-32 protected
 *   symbols  the kernel's ELF symbols (so exports name blocks without the ELF)
 *   chunks   "RSCK", record count, CRC-32 of the payload, then that many
 *            fixed 32-byte records (the struct event fields, packed)
 *   trailer  "RSEN": record and chunk counts, final cycle and instruction
 *            counts, how the run ended; CRC-32 protected
 *
 * The recorder is an event subscriber with one chunk of buffer: memory is
 * bounded whatever the run length. It only reads events, so a run with and
 * without --trace is identical. The reader checks every length, count and
 * checksum and reports what is wrong in one line; it never trusts the file.
 */
#ifndef RS_TRACE_H
#define RS_TRACE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "event.h"

#define TRACE_MAGIC        "RSTRACE\x1a"  /* 8 bytes */
#define TRACE_VERSION      1u
#define TRACE_REC_SIZE     32u            /* bytes per record on disk */
#define TRACE_HDR_SIZE     1024u          /* fixed header, before the symbols */
#define TRACE_CHUNK_RECS   2048u          /* records per full chunk (64 KiB) */
#define TRACE_CHUNK_HDR    16u
#define TRACE_TRAILER_SIZE 48u
#define TRACE_MAX_SYMS     65536u
#define TRACE_MAX_FILE     (64ull << 30)  /* largest trace file opened */
#define TRACE_FLAG_PER_INSN 1u            /* one EV_INSNS record per instruction */

/* What the header says about the run (NUL-terminated strings). */
struct trace_meta {
    uint32_t version;          /* format version of the file */
    char ringside[16];         /* ringside version that wrote it */
    char kernel[256];          /* the KERNEL argument */
    uint64_t kernel_hash;      /* FNV-1a 64 of the kernel file */
    char mode[16];             /* native, trap, bt, ... */
    char costs[32];            /* cost profile name */
    char options[512];         /* the run's options, as a command line */
    uint32_t event_mask;       /* EV_BIT of each kind recorded */
    uint32_t flags;            /* TRACE_FLAG_* */
    uint32_t optable_hash;     /* of the opcode-table row labels (trap causes) */
    uint32_t kind_count;       /* EV_KIND_COUNT of the writer */
    uint64_t start_cycle;      /* modeled cycle when recording started */
};

/* One kernel symbol carried in the trace. */
struct trace_sym {
    uint32_t addr, size;
    char name[64];
};

/* The trailer: how the run ended. */
struct trace_end {
    uint64_t records;          /* records in the file */
    uint64_t chunks;
    uint64_t cycles;           /* modeled cycles at the end of recording */
    uint64_t insns;            /* instructions the hardware CPU retired (bt: TC's too) */
    uint32_t end;              /* enum machine_end (0: recording stopped early) */
    uint32_t exit_code;
};

/* ---- recorder (trace_rec.c) ---- */

struct trace_recorder {
    FILE *f;
    struct event_bus *bus;     /* attached to, or NULL */
    uint32_t mask;             /* kinds recorded */
    uint8_t *buf;              /* one chunk: TRACE_CHUNK_RECS records */
    uint32_t nbuf;             /* records buffered */
    uint64_t records, chunks;
    bool failed;               /* a write failed: reported by close */
    char path[256];
};

/* Names a comma-separated list of kinds ("trap,translate", "tc" = every
   tc-* kind, "all") as a mask. 0, or -1 with err naming the bad word. */
int trace_parse_kinds(const char *list, uint32_t *mask, char *err, size_t errlen);
/* FNV-1a 64 of a byte string; the hash of the opcode table's row labels. */
uint64_t trace_fnv1a(const void *data, size_t len);
uint32_t trace_optable_hash(void);

/* Fill meta->kernel and kernel_hash from the kernel file, and its ELF
   symbols (*syms malloc'd, sorted by address; free it). 0, or -1 + err. */
int trace_kernel_info(const char *path, struct trace_meta *meta, struct trace_sym **syms,
                      uint32_t *nsyms, char *err, size_t errlen);
/* Create the file and write header + symbols. 0, or -1 with err. */
int trace_rec_open(struct trace_recorder *r, const char *path, const struct trace_meta *meta,
                   const struct trace_sym *syms, uint32_t nsyms, char *err, size_t errlen);
/* Subscribe to (or leave) a machine's event bus. */
int trace_rec_attach(struct trace_recorder *r, struct event_bus *bus);
void trace_rec_detach(struct trace_recorder *r);
/* Append one event (the subscriber function; usable directly). */
void trace_rec_event(void *ctx, const struct event *ev);
/* Detach, flush, write the trailer and close. 0, or -1 with err. */
int trace_rec_close(struct trace_recorder *r, const struct trace_end *end,
                    char *err, size_t errlen);

/* ---- reader (trace_file.c) ---- */

struct trace_reader {
    FILE *f;
    struct trace_meta meta;
    struct trace_sym *syms;    /* sorted by address */
    uint32_t nsyms;
    long data_off;             /* file offset of the first chunk */
    uint8_t *chunk;            /* current chunk's records */
    uint32_t chunk_n, chunk_i; /* records in it, next one */
    uint64_t index;            /* records handed out so far */
    uint64_t nchunks;
    struct trace_end end;      /* valid once trace_next returned 0 */
    char err[200];             /* why the last call failed */
};

/* Open and check header and symbols. The path must be a regular file of at
   most TRACE_MAX_FILE bytes (hostfile_open). 0, or -1 with r->err set. */
int trace_open(struct trace_reader *r, const char *path);
/* The same on an open stream (fmemopen in the fuzz target), which the reader
   owns from now on: trace_close closes it, even after a failure. */
int trace_open_stream(struct trace_reader *r, FILE *f);
/* Next record: 1 and *ev, 0 at a valid trailer (r->end filled), -1 on a
   corrupt or truncated file (r->err names the offset and the problem). */
int trace_next(struct trace_reader *r, struct event *ev);
/* Back to the first record. */
int trace_rewind(struct trace_reader *r);
void trace_close(struct trace_reader *r);
/* The symbol containing addr, or NULL (sizes 0 reach the next symbol). */
const struct trace_sym *trace_sym_at(const struct trace_reader *r, uint32_t addr,
                                     uint32_t *offset);

/* The on-disk header and symbol section (trace_file.c). */
void trace_encode_header(uint8_t *h, const struct trace_meta *m, uint32_t nsyms,
                         uint32_t sym_bytes, uint32_t sym_crc);
uint32_t trace_encode_syms(uint8_t *out, const struct trace_sym *syms, uint32_t nsyms);

/* Pack / unpack one record (exactly TRACE_REC_SIZE bytes). */
void trace_pack(uint8_t *p, const struct event *ev);
void trace_unpack(const uint8_t *p, struct event *ev);
uint32_t trace_crc32(uint32_t crc, const void *data, size_t len);

#endif
