/*
 * tui_host.c - the host behind the TUI's host view (tui_host.h): the VMs,
 * a TUI session attached to each, selection, and the keys' actions.
 */
#include "tui_host.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tui_host_parse(struct tui_host *th, int argc, char **argv)
{
    memset(th, 0, sizeof *th);
    host_args_init(&th->args);
    th->other = -1;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int taken = host_args_take(&th->args, "ringside tui --host", a, v);
        if (taken < 0)
            return -1;
        if (!taken && !strcmp(a, "--stats-json") && v)
            th->stats_json = v, taken = 1;
        if (!taken) {
            fprintf(stderr, "ringside tui --host: unknown option or missing value: %s\n", a);
            return -1;
        }
        i++;
    }
    if (!th->args.nvm) {
        fprintf(stderr, "ringside tui --host: no --vm given (see ringside tui --help)\n");
        return -1;
    }
    return 0;
}

/* A session following VM i. */
static int attach(struct tui_host *th, int i, char *err, size_t errlen)
{
    struct host_vm *hv = &th->host.vms[i];
    struct tui_session *s = th->sess[i] ? th->sess[i] : calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    th->sess[i] = s;
    return tui_session_attach(s, hv->vm, hv->name, hv->kernel, err, errlen);
}

static int add_spec(struct tui_host *th, char *spec, char *err, size_t errlen)
{
    int i = host_args_add_vm(&th->host, spec, th->added, err, errlen);
    if (i < 0) {
        if (!err[0])
            snprintf(err, errlen, "bad options for a VM (see ringside run --help)");
        return -1;
    }
    th->added++;
    if (attach(th, i, err, errlen) != 0) {
        free(th->sess[i]);
        th->sess[i] = NULL;
        host_remove(&th->host, i);
        return -1;
    }
    return i;
}

int tui_host_open(struct tui_host *th, char *err, size_t errlen)
{
    host_init(&th->host, &th->args.hc);
    for (int k = 0; k < th->args.nvm; k++)
        if (add_spec(th, th->args.vm_args[k], err, errlen) < 0)
            return -1;
    return 0;
}

void tui_host_close(struct tui_host *th)
{
    for (int i = 0; i < HOST_MAX_VMS; i++) {
        if (th->sess[i])
            tui_session_close(th->sess[i]);
        free(th->sess[i]);
        th->sess[i] = NULL;
    }
    host_free(&th->host);
    host_args_free(&th->args);
}

struct tui_session *tui_host_selected(struct tui_host *th)
{
    return th->sess[th->sel];
}

void tui_host_select(struct tui_host *th, int i)
{
    if (i < 0 || i >= th->host.nvms || i == th->sel)
        return;
    if (th->other == i)
        th->other = th->sel;             /* the two sides change places */
    th->sel = i;
}

void tui_host_side_by_side(struct tui_host *th, bool on)
{
    th->other = on && th->host.nvms > 1 ? (th->sel + 1) % th->host.nvms : -1;
}

int tui_host_add(struct tui_host *th, const char *spec, char *err, size_t errlen)
{
    char *copy = strdup(spec);            /* split in place; the host copies what it keeps */
    if (!copy) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int i = add_spec(th, copy, err, errlen);
    free(copy);
    if (i < 0)
        return -1;
    th->sel = i;
    return 0;
}

/* Index `k` after VM i has gone: -1 if it was i. */
static int after_removal(int k, int i)
{
    return k == i ? -1 : k > i ? k - 1 : k;
}

int tui_host_kill(struct tui_host *th, int i)
{
    struct host *h = &th->host;
    if (h->nvms <= 1 || i < 0 || i >= h->nvms)
        return -1;
    tui_session_close(th->sess[i]);
    free(th->sess[i]);
    host_remove(h, i);
    memmove(&th->sess[i], &th->sess[i + 1], (size_t)(HOST_MAX_VMS - i - 1) * sizeof th->sess[0]);
    th->sess[HOST_MAX_VMS - 1] = NULL;
    th->other = after_removal(th->other, i);
    th->sel = after_removal(th->sel, i);
    if (th->sel < 0)
        th->sel = i < h->nvms ? i : h->nvms - 1;
    if (th->other == th->sel)
        th->other = -1;
    return 0;
}

bool tui_host_toggle_pause(struct tui_host *th, int i)
{
    struct host_vm *hv = &th->host.vms[i];
    if (hv->state == HVM_RUNNABLE)
        host_pause(&th->host, i);
    else if (hv->state == HVM_PAUSED)
        host_resume(&th->host, i);
    else
        return false;
    return true;
}

int tui_host_reset(struct tui_host *th, int i, char *err, size_t errlen)
{
    tui_session_close(th->sess[i]);      /* lets go of the VM the host destroys */
    int rc = host_reset(&th->host, i, err, errlen);
    char ignored[160];
    if (attach(th, i, rc ? ignored : err, rc ? sizeof ignored : errlen) != 0)
        return -1;
    return rc;
}

enum tui_stop tui_host_run(struct tui_host *th, int slices)
{
    for (int k = 0; k < slices; k++) {
        if (host_step(&th->host) < 0)
            return TUI_STOP_END;
        for (int i = 0; i < th->host.nvms; i++)
            if (th->sess[i]->stop_mask && th->sess[i]->stop_hit)
                return TUI_STOP_EVENT;
    }
    return TUI_STOP_NONE;
}

enum tui_stop tui_host_step(struct tui_host *th, int key)
{
    struct tui_session *s = tui_host_selected(th);
    struct machine *m = s->m;
    if (th->host.vms[th->sel].state == HVM_INCOMING)
        return TUI_STOP_END;
    uint64_t c0 = m->cpu.cycles, idle0 = m->idle_cycles;
    host_switch_to(&th->host, th->sel);
    enum tui_stop r = key == 's' ? tui_step(s, 1) : key == 'n' ? tui_step_over(s)
                                                               : tui_step_block(s);
    host_charge(&th->host, th->sel, c0, idle0);
    return r;
}

bool tui_host_all_ended(const struct tui_host *th)
{
    for (int i = 0; i < th->host.nvms; i++)
        if (th->host.vms[i].state != HVM_ENDED)
            return false;
    return true;
}

char tui_host_label(int i)
{
    return i < 9 ? (char)('1' + i) : i < 9 + 26 ? (char)('a' + i - 9) : '+';
}
