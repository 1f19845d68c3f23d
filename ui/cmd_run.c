/*
 * cmd_run.c - `ringside run [options] KERNEL`: the headless runner.
 *
 * Standard output carries exactly the bytes the guest writes to COM1 and
 * nothing else, so `ringside run K` and QEMU's `-serial stdio` can be
 * compared byte for byte; the bytes go out line by line as the guest writes
 * them (guest_out.c), so a run killed by a signal keeps all it printed.
 * Everything ringside itself says goes to stderr:
 * one line for any failure, and the summary with -v. When standard input is
 * a terminal, typed bytes are fed to the guest's COM1 receiver.
 */
#include "cmd_run.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "machine.h"
#include "report.h"
#include "cmd_trace.h"
#include "guest_out.h"
#include "vmm/bt/bt.h"

int cmd_run_exit_status(const struct machine *m)
{
    switch (m->end) {
    case END_GUEST_EXIT:   return m->exit_code;
    case END_TRIPLE_FAULT: return EXIT_TRIPLE_FAULT;
    case END_HALTED:       return EXIT_HALTED;
    case END_BUDGET:       return EXIT_BUDGET;
    case END_UNSUPPORTED:  return EXIT_UNSUPPORTED;
    default:               return EXIT_INTERNAL;
    }
}

/* Interactive only: move typed bytes into the guest UART without blocking. */
static void feed_stdin(struct machine *m)
{
    struct pollfd p = { .fd = 0, .events = POLLIN };
    uint8_t byte;
    while (uart_rx_space(&m->uart) && poll(&p, 1, 0) > 0 && (p.revents & POLLIN)) {
        if (read(0, &byte, 1) != 1)
            break;
        machine_serial_input(m, byte);
    }
}

/* --tc-size, --tc-policy, --tc-block-insns (--mode bt; ignored otherwise). */
int cmd_run_configure_bt(struct machine *m, const struct run_options *o)
{
    struct bt *bt = vmm_bt(m->vmm);
    if (!bt)
        return 0;
    struct bt_config cfg;
    bt_config_default(&cfg);
    if (o->tc_size_kib)
        cfg.tc_size = o->tc_size_kib * 1024u;
    if (cfg.tc_size > BT_TC_SIZE_MAX)
        cfg.tc_size = BT_TC_SIZE_MAX;
    if (o->tc_policy)
        cfg.policy = (enum bt_policy)bt_policy_parse(o->tc_policy);
    if (o->tc_block_insns)
        cfg.block_insns = o->tc_block_insns;
    return bt_configure(bt, &cfg);
}

/* Read o->kernel and load it (with o's command line and modules) into m;
   one stderr line on failure. */
int cmd_run_load_kernel(struct machine *m, const struct run_options *o)
{
    uint8_t *image;
    size_t len;
    char err[256];
    if (mb_read_file(o->kernel, &image, &len, err, sizeof err) != 0) {
        fprintf(stderr, "ringside: %s\n", err);
        return -1;
    }
    struct mb_options mo = { .cmdline = o->append, .kernel_path = o->kernel,
                             .modules = o->modules, .nmodules = o->nmodules };
    int rc = machine_load(m, image, len, &mo, err, sizeof err);
    free(image);
    if (rc != 0)
        fprintf(stderr, "ringside: %s\n", err);
    return rc;
}

static void run_to_end(struct machine *m, const struct run_options *o, bool interactive,
                       struct trace_recorder *rec, struct guest_out *out)
{
    const uint64_t slice = 2000000;
    for (;;) {
        uint64_t limit = m->cpu.insns + slice;
        if (o->max_insns && limit > o->max_insns)
            limit = o->max_insns;
        if (interactive)
            feed_stdin(m);
        enum machine_end end = run_trace_slice(rec, m, o, limit);
        guest_out_flush(out);
        if (end != END_NONE)
            return;
        if (o->max_insns && m->cpu.insns >= o->max_insns) {
            m->end = END_BUDGET;
            snprintf(m->end_msg, sizeof m->end_msg,
                     "instruction budget of %llu exhausted",
                     (unsigned long long)o->max_insns);
            return;
        }
    }
}

int cmd_run_options(const struct run_options *o)
{
    struct machine *m = malloc(sizeof *m);
    char err[256];
    if (!m) {
        fprintf(stderr, "ringside: out of memory\n");
        return EXIT_INTERNAL;
    }
    int mode = machine_mode_parse(o->mode);   /* options_parse_run checked it */
    if (mode < 0)
        mode = MODE_NATIVE;
    if (machine_init_mode(m, o->mem_mib, (enum machine_mode)mode, err, sizeof err) != 0) {
        fprintf(stderr, "ringside: %s\n", err);
        free(m);
        return EXIT_BAD_INPUT;
    }
    cmd_run_configure_bt(m, o);
    if (o->costs) {
        struct cost_profile prof;
        if (cost_load(&prof, o->costs, err, sizeof err) != 0) {
            fprintf(stderr, "ringside: --costs %s\n", err);
            machine_free(m);
            free(m);
            return EXIT_BAD_INPUT;
        }
        machine_set_costs(m, &prof);
    }
    bool interactive = isatty(0) && isatty(1);
    static struct guest_out out;     /* static: the signal handler reaches it */
    guest_out_init(&out, 1, interactive);
    m->out = guest_out_put;
    m->out_ctx = &out;
    int status = EXIT_BAD_INPUT;
    struct trace_recorder rec = { 0 };
    if (cmd_run_load_kernel(m, o) == 0 && run_trace_begin(&rec, m, o) == 0) {
        guest_out_catch_signals(&out);
        run_to_end(m, o, interactive, &rec, &out);
        guest_out_flush(&out);
        guest_out_release_signals();
        bool trace_ok = run_trace_end(&rec, m) == 0;
        status = cmd_run_exit_status(m);
        if (m->end != END_GUEST_EXIT)
            fprintf(stderr, "ringside: %s\n", m->end_msg);
        if (o->verbose)
            report_summary(stderr, m, o);
        if (o->stats_json && report_stats_json(o->stats_json, m, o, status) != 0)
            status = EXIT_BAD_INPUT;
        if (!trace_ok)
            status = EXIT_BAD_INPUT;
    }
    machine_free(m);
    free(m);
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
