/*
 * run_record.c - recordings and the history in `ringside run` (run_record.h).
 */
#include "run_record.h"

#include <stdio.h>
#include <string.h>

#include "history.h"

uint64_t run_record_every(const struct run_options *o)
{
    return o->checkpoint_given ? o->checkpoint_every : HIST_DEFAULT_EVERY;
}

int run_record_prepare(struct run_record *r, struct run_options *o)
{
    char err[400];
    memset(r, 0, sizeof *r);
    r->w.fd = -1;
    if (!o->replay)
        return 0;
    if (replay_read(o->replay, &r->rf, err, sizeof err) != 0) {
        fprintf(stderr, "ringside: --replay %s\n", err);
        return -1;
    }
    r->replaying = true;
    const char *engine = machine_mode_name((int)r->rf.h.engine);
    if (!engine) {
        fprintf(stderr, "ringside: --replay %s: unknown engine %u (corrupted)\n", o->replay,
                r->rf.h.engine);
        replay_free(&r->rf);
        return -1;
    }
    if (!o->mode_given)
        o->mode = engine;
    o->rtc_epoch = r->rf.h.rtc_epoch;     /* the clock the recorded run had, not --rtc-now's */
    o->rtc_now = false;
    return 0;
}

/* The recording names the VM it was made on: the same kernel, engine, RAM
   and starting position, or the positions mean nothing. */
static int check_recording(const struct replay_file *f, const struct vm *vm, const char *path)
{
    const struct machine *m = &vm->m;
    const char *why = f->h.kernel_size != vm->kernel_size || f->h.kernel_crc != vm->kernel_crc
                          ? "it was recorded with another kernel"
                      : f->h.engine != (uint32_t)m->mode ? "it was recorded under another engine"
                      : f->h.ram_size != m->ram_size ? "it was recorded with another --mem"
                      : f->h.start_insns != m->cpu.insns || f->h.start_cycles != m->cpu.cycles
                          ? "it starts elsewhere (another --restore snapshot)" : NULL;
    if (!why)
        return 0;
    if (f->h.engine != (uint32_t)m->mode)
        fprintf(stderr, "ringside: --replay %s: %s (--mode %s)\n", path, why,
                machine_mode_name((int)f->h.engine));
    else
        fprintf(stderr, "ringside: --replay %s: %s\n", path, why);
    return -1;
}

/* The clock's start as a recording names it: 0 for the fixed default. */
static uint32_t rtc_start(const struct cmos *c)
{
    return c->epoch == CMOS_DEFAULT_EPOCH ? 0u : (uint32_t)c->epoch;
}

static int record_sink(void *ctx, const struct hist_input *in)
{
    struct run_record *r = ctx;
    char err[300];
    int kind = in->dest == INPUT_KEYBOARD ? REPLAY_KEY : REPLAY_INPUT;
    if (r->w.fd >= 0 && replay_append(&r->w, kind, in->insns, in->cycles, in->byte,
                                      err, sizeof err) != 0) {
        fprintf(stderr, "ringside: %s\n", err);
        replay_close(&r->w);
        return -1;
    }
    return 0;
}

int run_record_begin(struct run_record *r, struct vm *vm, const struct run_options *o)
{
    char err[400];
    if (!o->record && !o->replay && !o->gdb_port)
        return 0;
    if (o->trace_insns) {
        fprintf(stderr, "ringside: --trace-insns cannot be combined with --record, --replay "
                "or --gdb\n");
        return -1;
    }
    if (r->replaying && check_recording(&r->rf, vm, o->replay) != 0)
        return -1;
    struct history *h = history_attach(vm, o->gdb_port ? run_record_every(o) : 0);
    if (!h) {
        fprintf(stderr, "ringside: out of memory for the run's history\n");
        return -1;
    }
    if (r->replaying && history_load_inputs(h, r->rf.in, r->rf.nin, err, sizeof err) != 0) {
        fprintf(stderr, "ringside: %s\n", err);
        return -1;
    }
    if (o->record) {
        struct machine *m = &vm->m;
        struct replay_header rh = { .kernel_size = vm->kernel_size, .kernel_crc = vm->kernel_crc,
                                    .engine = (uint32_t)m->mode, .ram_size = m->ram_size,
                                    .start_insns = m->cpu.insns, .start_cycles = m->cpu.cycles,
                                    .rtc_epoch = rtc_start(&m->cmos) };
        if (replay_create(&r->w, o->record, &rh, err, sizeof err) != 0) {
            fprintf(stderr, "ringside: %s\n", err);
            return -1;
        }
        r->recording = true;
        h->sink = record_sink;
        h->sink_ctx = r;
    }
    return 0;
}

void run_record_free(struct run_record *r)
{
    replay_close(&r->w);
    replay_free(&r->rf);
    r->recording = r->replaying = false;
}

int run_record_end(struct run_record *r, struct vm *vm, int status)
{
    const struct machine *m = &vm->m;
    int rc = 0;
    char err[300];
    if (r->recording) {
        if (replay_append(&r->w, REPLAY_END, m->cpu.insns, m->cpu.cycles, (uint8_t)status,
                          err, sizeof err) != 0) {
            fprintf(stderr, "ringside: %s\n", err);
            rc = -1;
        }
        replay_close(&r->w);
    }
    if (r->replaying) {
        const struct history *h = vm->hist;
        if (h && h->diverged) {
            rc = -1;                      /* the run's end line said why */
        } else if (h && h->cursor < h->nin) {
            fprintf(stderr, "ringside: replay diverged: the run ended at instruction %llu with "
                    "%zu recorded inputs not delivered\n", (unsigned long long)m->cpu.insns,
                    h->nin - h->cursor);
            rc = -1;
        } else if (r->rf.has_end && (r->rf.end_insns != m->cpu.insns ||
                                     r->rf.end_cycles != m->cpu.cycles ||
                                     r->rf.end_status != (uint8_t)status)) {
            fprintf(stderr, "ringside: replay diverged: the recorded run ended at instruction "
                    "%llu, cycle %llu, status %u; this one at %llu, %llu, %d\n",
                    (unsigned long long)r->rf.end_insns, (unsigned long long)r->rf.end_cycles,
                    r->rf.end_status, (unsigned long long)m->cpu.insns,
                    (unsigned long long)m->cpu.cycles, status);
            rc = -1;
        }
        replay_free(&r->rf);
    }
    return rc;
}
