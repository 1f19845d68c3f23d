/*
 * run_record.h - `ringside run --record FILE`, `--replay FILE` and the
 * history that reverse execution under --gdb needs (docs/replay.md).
 *
 * The run command's side of sim/history.h and sim/replayfile.h: read the
 * recording before the VM is built (its engine is the replay's unless
 * --mode says otherwise), check it against the VM, attach the VM's history,
 * open the recording being written, and at the end write the end record or
 * check the replay ended where the recording did.
 */
#ifndef RS_RUN_RECORD_H
#define RS_RUN_RECORD_H

#include <stdbool.h>
#include "options.h"
#include "replayfile.h"
#include "vm.h"

struct run_record {
    struct replay_writer w;       /* --record */
    bool recording;
    struct replay_file rf;        /* --replay */
    bool replaying;
};

/* Read --replay's file; its engine becomes o->mode unless --mode was given.
   0, or -1 after one stderr line. */
int run_record_prepare(struct run_record *r, struct run_options *o);
/* Attach vm's history (checkpoints every o->checkpoint_every guest
   instructions under --gdb), load or start the recording. 0 or -1 + line. */
int run_record_begin(struct run_record *r, struct vm *vm, const struct run_options *o);
/* After the run: the end record, or the replay's end check. 0 or -1 + line. */
int run_record_end(struct run_record *r, struct vm *vm, int status);

/* Drop everything (a run that never started). */
void run_record_free(struct run_record *r);

/* The checkpoint interval for reverse execution o asks for. */
uint64_t run_record_every(const struct run_options *o);

#endif
