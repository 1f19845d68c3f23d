/*
 * tui_host_keys.c - the keys of the TUI's host view (tui --host): choose a
 * VM, pause or resume it, add one, kill one, two side by side; and the
 * one-VM keys whose meaning changes on a host (`R` reboots the selected VM,
 * an engine cannot be switched in place). Stepping is tui_main.c's, through
 * tui_host_step, which charges the host for the step.
 */
#include "tui_host_keys.h"

#include <stdio.h>
#include <string.h>

#include "tui_host.h"

static void follow_selection(struct tui_ui *u)
{
    u->s = tui_host_selected(u->th);
    if (u->th->other < 0)
        snprintf(u->msg, sizeof u->msg, "vm %s selected", u->s->name);
}

static void key_add(struct tui_ui *u)
{
    char spec[256], err[256];
    if (!tui_draw_prompt(u, "add VM (KERNEL [--mode trap|bt] [--name X] ...):", spec, sizeof spec))
        return;
    if (tui_host_add(u->th, spec, err, sizeof err) != 0) {
        snprintf(u->msg, sizeof u->msg, "cannot add: %.170s", err);
        return;
    }
    follow_selection(u);
    snprintf(u->msg, sizeof u->msg, "vm %s added (%s)", u->s->name, u->s->mode);
}

static void key_kill(struct tui_ui *u)
{
    struct tui_host *th = u->th;
    char name[32], q[96];
    snprintf(name, sizeof name, "%s", u->s->name);
    if (th->host.nvms <= 1) {
        snprintf(u->msg, sizeof u->msg, "vm %s is the last one (q quits)", name);
        return;
    }
    snprintf(q, sizeof q, "kill vm %s? (y: yes, any other key: no)", name);
    if (tui_draw_menu(u, q) != 'y')
        return;
    tui_host_kill(th, th->sel);
    follow_selection(u);
    snprintf(u->msg, sizeof u->msg, "vm %s killed; vm %s selected", name, u->s->name);
}

static void key_pause(struct tui_ui *u)
{
    struct tui_host *th = u->th;
    if (!tui_host_toggle_pause(th, th->sel))
        snprintf(u->msg, sizeof u->msg, "vm %s has ended (R boots it again)", u->s->name);
    else
        snprintf(u->msg, sizeof u->msg, "vm %s %s", u->s->name,
                 th->host.vms[th->sel].state == HVM_PAUSED ? "paused: the host runs the others"
                                                           : "resumed");
}

static void key_reset(struct tui_ui *u)
{
    char err[200];
    u->running = false;
    if (tui_host_reset(u->th, u->th->sel, err, sizeof err) != 0)
        snprintf(u->msg, sizeof u->msg, "cannot reboot: %.150s", err);
    else
        snprintf(u->msg, sizeof u->msg, "vm %s booted again", u->th->sess[u->th->sel]->name);
    u->s = tui_host_selected(u->th);
}

bool tui_host_key(struct tui_ui *u, int ch)
{
    struct tui_host *th = u->th;
    if (!th)
        return false;
    switch (ch) {
    case '1': case '2': case '3': case '4': case '5': case '6': case '7': case '8': case '9':
        tui_host_select(th, ch - '1');
        break;
    case 'w': tui_host_select(th, (th->sel + 1) % th->host.nvms); break;
    case 'p': key_pause(u); return true;
    case 'a': key_add(u); return true;
    case 'k': key_kill(u); return true;
    case '|': tui_host_side_by_side(th, th->other < 0); break;
    case 'R': key_reset(u); return true;
    case 'm':
        snprintf(u->msg, sizeof u->msg, "a host VM keeps its engine: a adds one under another");
        return true;
    case 'S': case 'U': case '<': case 'N': case 'C':
        snprintf(u->msg, sizeof u->msg, "snapshots and stepping back are for one VM "
                 "(ringside tui KERNEL); on a host, see ringside snapshot");
        return true;
    default:
        return false;
    }
    follow_selection(u);
    return true;
}
