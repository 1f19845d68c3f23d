/*
 * cmd_run.c - `ringside run [options] KERNEL`: the headless runner.
 *
 * Standard output carries exactly the bytes the guest writes to COM1 and
 * nothing else, so `ringside run K` and QEMU's `-serial stdio` can be
 * compared byte for byte; the bytes go out line by line as the guest writes
 * them (guest_out.c), so a run killed by a signal keeps all it printed.
 * Everything ringside itself says goes to stderr:
 * one line for any failure, and the summary with -v. Standard input, a
 * terminal or a pipe, is fed to the guest's COM1 receiver between slices
 * (recorded with --record, replaced by the recording with --replay).
 */
#include "cmd_run.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gdbstub.h"
#include "run_record.h"
#include "run_vm.h"
#include "snapshot.h"
#include "report.h"
#include "cmd_trace.h"
#include "guest_out.h"
#include "run_until.h"
#include "vmm/bt/bt.h"

enum feed { FEED_IDLE, FEED_PENDING, FEED_EOF };

/* Move the bytes standard input has ready (typed, or from a pipe) into the
   guest UART, or with --keyboard onto the 8042 as keys, without blocking.
   FEED_PENDING: more are waiting for room (the receive FIFO, or the 8042's
   queue for a whole key); FEED_EOF: standard input is at its end. */
static enum feed feed_stdin(struct vm *vm, enum machine_input_dest dest)
{
    struct pollfd p = { .fd = 0, .events = POLLIN };
    uint8_t byte;
    while (poll(&p, 1, 0) > 0) {
        if (!(p.revents & POLLIN))
            return FEED_EOF;
        if (!machine_input_room(&vm->m, dest))
            return FEED_PENDING;
        if (read(0, &byte, 1) != 1)
            return FEED_EOF;
        vm_input(vm, dest, byte);
    }
    return FEED_IDLE;
}

/* ---- snapshots during a run (--snapshot-at, --snapshot-every) ---- */

/* The next guest-instruction count at which a snapshot is due, after `now`;
   UINT64_MAX if none. */
static uint64_t snap_next(const struct run_options *o, uint64_t now)
{
    uint64_t next = UINT64_MAX;
    for (int i = 0; i < o->nsnap_at; i++)
        if (o->snap_at[i].at > now && o->snap_at[i].at < next)
            next = o->snap_at[i].at;
    if (o->snap_every) {
        uint64_t k = (now / o->snap_every + 1) * o->snap_every;
        next = k < next ? k : next;
    }
    return next;
}

/* Save every snapshot due at exactly `now` guest instructions. */
static int snap_take(struct vm *vm, const struct run_options *o, uint64_t now)
{
    char err[256], path[4096];
    for (int i = 0; i <= o->nsnap_at; i++) {
        if (i < o->nsnap_at && o->snap_at[i].at == now)
            snprintf(path, sizeof path, "%s", o->snap_at[i].file);
        else if (i == o->nsnap_at && o->snap_every && now % o->snap_every == 0)
            snprintf(path, sizeof path, "%s/snap-%012llu.rsnap", o->snap_dir,
                     (unsigned long long)now);
        else
            continue;
        if (snapshot_save(vm, path, err, sizeof err) != 0) {
            fprintf(stderr, "ringside: %s\n", err);
            return -1;
        }
    }
    return 0;
}

/* Retired-instruction limit for the next slice: never past the next
   snapshot's guest-instruction count (retired >= guest instructions). */
static uint64_t slice_limit(const struct machine *m, const struct run_options *o, uint64_t limit)
{
    uint64_t guest = cpu_guest_insns(&m->cpu), due = snap_next(o, guest);
    if (due != UINT64_MAX && m->cpu.insns + (due - guest) < limit)
        limit = m->cpu.insns + (due - guest);
    return limit;
}

/* Runs until the guest's run ends; false if a snapshot could not be written. */
static bool run_to_end(struct vm *vm, const struct run_options *o, bool feed,
                       struct trace_recorder *rec, struct guest_out *out,
                       struct run_until *until)
{
    struct machine *m = &vm->m;
    enum feed fed = feed ? FEED_IDLE : FEED_EOF;
    for (;;) {
        if (fed != FEED_EOF)
            fed = feed_stdin(vm, o->keyboard ? INPUT_KEYBOARD : INPUT_COM1);
        /* a recording and its replay stop at the same places (under bt a
           stop costs modeled cycles); bytes waiting for room: come back soon */
        bool short_slice = o->record || o->replay || fed == FEED_PENDING;
        uint64_t limit = m->cpu.insns + (short_slice ? CMD_RUN_INPUT_SLICE : CMD_RUN_SLICE);
        if (o->max_insns && limit > o->max_insns)
            limit = o->max_insns;
        limit = slice_limit(m, o, limit);
        uint64_t before = cpu_guest_insns(&m->cpu);
        enum machine_end end = vm->hist ? vm_run(vm, limit) : run_trace_slice(rec, m, o, limit);
        guest_out_flush(out);
        if (end != END_NONE || (o->until && run_until_check(until)))
            return true;
        uint64_t now = cpu_guest_insns(&m->cpu);
        if (snap_next(o, before) == now && snap_take(vm, o, now) != 0)
            return false;
        if (o->max_insns && m->cpu.insns >= o->max_insns) {
            m->end = END_BUDGET;
            snprintf(m->end_msg, sizeof m->end_msg,
                     "instruction budget of %llu exhausted",
                     (unsigned long long)o->max_insns);
            return true;
        }
    }
}

int cmd_run_options(const struct run_options *given)
{
    struct run_options opts = *given, *o = &opts;  /* reports name the VM's kernel and engine */
    struct run_record rr;
    if (run_record_prepare(&rr, o) != 0)
        return EXIT_BAD_INPUT;
    struct vm *vm = run_vm_create(o, -1);
    if (!vm || run_record_begin(&rr, vm, o) != 0) {
        run_record_free(&rr);
        vm_destroy(vm);
        return EXIT_BAD_INPUT;
    }
    o->kernel = vm->kernel_path;
    o->mode = machine_mode_name(vm->m.mode);
    struct machine *m = &vm->m;
    bool interactive = isatty(0) && isatty(1);
    static struct guest_out out;     /* static: the signal handler reaches it */
    guest_out_init(&out, 1, interactive);
    m->out = guest_out_put;
    m->out_ctx = &out;
    struct run_until until = { 0 };
    if (o->until && run_until_attach(&until, m, o->until) != 0) {
        fprintf(stderr, "ringside: out of memory\n");
        run_record_free(&rr);
        vm_destroy(vm);
        return EXIT_INTERNAL;
    }
    int status = EXIT_BAD_INPUT;
    struct trace_recorder rec = { 0 };
    if (o->gdb_port && gdbstub_serve(vm, o->gdb_port) != 0) {
        run_record_free(&rr);
        run_until_free(&until);
        vm_destroy(vm);
        return EXIT_BAD_INPUT;
    }
    if (run_trace_begin(&rec, m, o) == 0) {
        guest_out_catch_signals(&out);
        bool snaps_ok = m->end != END_NONE || run_to_end(vm, o, !o->replay, &rec, &out, &until);
        guest_out_flush(&out);
        guest_out_release_signals();
        bool trace_ok = run_trace_end(&rec, m) == 0;
        status = cmd_run_exit_status(m);
        bool replay_ok = run_record_end(&rr, vm, status) == 0;
        if (m->end != END_GUEST_EXIT && m->end != END_UNTIL && snaps_ok)
            fprintf(stderr, "ringside: %s\n", m->end_msg);
        if (o->verbose)
            report_summary(stderr, m, o);
        if (o->stats_json && report_stats_json(o->stats_json, m, o, status) != 0)
            status = EXIT_BAD_INPUT;
        if (!trace_ok || !snaps_ok || !replay_ok)
            status = EXIT_BAD_INPUT;
    }
    run_record_free(&rr);
    run_until_free(&until);
    vm_destroy(vm);
    return status;
}

int cmd_run(int argc, char **argv)
{
    struct run_options o;
    int rc = options_parse_run(argc, argv, &o);
    if (rc != 0)
        return rc > 0 ? EXIT_OK : EXIT_BAD_INPUT;
    return cmd_run_options(&o);
}
