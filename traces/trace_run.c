/*
 * trace_run.c - recording a machine's run: start, stop, per-instruction mode.
 *
 * `ringside run --trace FILE` and the TUI's record key both come here, so a
 * trace header always says the same things: ringside version, kernel name
 * and hash, engine, cost profile, the run's options, the kinds recorded.
 *
 * Per-instruction mode (--trace-insns) runs the machine one instruction at a
 * time and writes one EV_INSNS record per step straight into the recorder
 * (a = instructions retired by the step, c = real CPL, d = 1, eip where the
 * step began, cycle where it ended: after the step's own events, so the
 * file stays in cycle order), bypassing the
 * event bus so that the statistics do not change. Stepping only moves the
 * boundaries of machine_run's slices; since time is the modeled cycle count
 * and slices never decide when an interrupt arrives, the run is the same
 * (tests/test_traces.c compares the outputs and statistics).
 */
#include "trace_run.h"

#include <stdlib.h>
#include <string.h>

int trace_start(struct trace_recorder *r, struct machine *m, const struct trace_start_args *a,
                char *err, size_t errlen)
{
    struct trace_meta meta = { .version = TRACE_VERSION, .event_mask = EV_ALL };
    struct trace_sym *syms = NULL;
    uint32_t nsyms = 0;
    if (a->events && trace_parse_kinds(a->events, &meta.event_mask, err, errlen) != 0)
        return -1;
    if (trace_kernel_info(a->kernel, &meta, &syms, &nsyms, err, errlen) != 0)
        return -1;
    snprintf(meta.ringside, sizeof meta.ringside, "%s", a->ringside_version);
    snprintf(meta.mode, sizeof meta.mode, "%s", machine_mode_name(m->mode));
    snprintf(meta.costs, sizeof meta.costs, "%s", m->costs.name);
    snprintf(meta.options, sizeof meta.options, "%s", a->options ? a->options : "");
    meta.flags = a->per_insn ? TRACE_FLAG_PER_INSN : 0;
    meta.start_cycle = m->cpu.cycles;
    meta.optable_hash = trace_optable_hash();
    int rc = trace_rec_open(r, a->path, &meta, syms, nsyms, err, errlen);
    free(syms);
    if (rc == 0 && trace_rec_attach(r, &m->events) != 0) {
        struct trace_end e = { 0 };
        trace_rec_close(r, &e, err, errlen);
        snprintf(err, errlen, "--trace: no free event subscriber slot");
        return -1;
    }
    return rc;
}

int trace_stop(struct trace_recorder *r, const struct machine *m, char *err, size_t errlen)
{
    struct trace_end e = { .cycles = m->cpu.cycles, .insns = m->cpu.insns,
                           .end = (uint32_t)m->end, .exit_code = (uint32_t)m->exit_code };
    return trace_rec_close(r, &e, err, errlen);
}

/* The path the hardware CPU's next instruction runs on (an estimate for
   per-instruction records: translated code lives in the VMM region). */
static enum ev_path step_path(const struct machine *m)
{
    if (!m->vmm)
        return PATH_NATIVE;
    return m->cpu.s.eip >= VMM_REGION_BASE ? PATH_TRANSLATED : PATH_DIRECT;
}

enum machine_end trace_step_run(struct trace_recorder *r, struct machine *m,
                                uint64_t insn_limit)
{
    while (m->end == END_NONE && (!insn_limit || m->cpu.insns < insn_limit)) {
        struct event ev = { .kind = EV_INSNS, .vm = m->vm_id, .path = (uint8_t)step_path(m),
                            .eip = m->cpu.s.eip, .cycle = m->cpu.cycles,
                            .c = m->cpu.s.cpl, .d = 1 };
        uint64_t before = m->cpu.insns;
        enum machine_end e = machine_run(m, before + 1);
        if (m->cpu.insns > before && r->f) {
            /* stamped when the step ends, like the bus's own insns events: the
               events the step emitted (I/O, traps...) were written first with
               their own, later-than-the-start cycles, so a start stamp made
               these rows run backwards (357 of 8453 in a rings trace) */
            ev.a = (uint32_t)(m->cpu.insns - before);
            ev.cycle = m->cpu.cycles;
            trace_rec_event(r, &ev);
        }
        if (e != END_NONE)
            break;
    }
    return m->end;
}
