/*
 * tui_host.h - the TUI's host view (`ringside tui --host`): several VMs on
 * one simulated computer, one of them selected (no ncurses here).
 *
 * The host is the one `ringside host` builds from the same options
 * (host_args.h): the same scheduler, machine memory and page sharing. Each
 * VM has a TUI session attached to it (tui_session_attach), so the panes
 * of a one-VM TUI show the selected VM as they always do, and the host
 * adds a VM list and a map of machine memory. Running (`c`) runs the host's
 * scheduler, slice by slice, exactly as `ringside host` does, so a free run
 * ends with its figures; stepping (`s`, `n`, `t`) runs the selected VM
 * alone, and the host charges it for what it ran (host_charge), so CPU
 * shares and host time stay true.
 */
#ifndef RS_TUI_HOST_H
#define RS_TUI_HOST_H

#include <stdbool.h>
#include <stddef.h>

#include "host_args.h"
#include "tui_session.h"

struct tui_host {
    struct host host;
    struct host_args args;
    struct tui_session *sess[HOST_MAX_VMS];  /* by host VM index */
    int sel;                        /* the selected VM: its panes are on screen */
    int other;                      /* side by side: the second VM, or -1 */
    int added;                      /* VMs added so far (numbers default names) */
    const char *stats_json;         /* --stats-json: the host's JSON at the end */
};

/* `ringside tui --host` options after the TUI's own: host options and
   --vm specs, --stats-json. 0, or -1 (said why on stderr). */
int tui_host_parse(struct tui_host *th, int argc, char **argv);
/* Build the host and its VMs. 0, or -1 with a one-line err. */
int tui_host_open(struct tui_host *th, char *err, size_t errlen);
void tui_host_close(struct tui_host *th);

struct tui_session *tui_host_selected(struct tui_host *th);
void tui_host_select(struct tui_host *th, int i);
/* Add a VM from a --vm spec ("KERNEL --mode trap --name x"); it is
   selected. 0, or -1 with err. */
int tui_host_add(struct tui_host *th, const char *spec, char *err, size_t errlen);
/* Destroy VM i (not the last one: -1). */
int tui_host_kill(struct tui_host *th, int i);
/* Pause a runnable VM, resume a paused one; false if it has ended. */
bool tui_host_toggle_pause(struct tui_host *th, int i);
/* Boot VM i again from its kernel. 0, or -1 with err. */
int tui_host_reset(struct tui_host *th, int i, char *err, size_t errlen);
/* Side by side: show VM `other` beside the selected one (-1: off). */
void tui_host_side_by_side(struct tui_host *th, bool on);

/* Run up to `slices` scheduler slices; stops early when a session's
   stop_mask event happened or no VM is runnable. TUI_STOP_NONE (more to
   run), TUI_STOP_EVENT, or TUI_STOP_END (nothing runnable). */
enum tui_stop tui_host_run(struct tui_host *th, int slices);
/* Step the selected VM (`s` 1, `n` over a call, `t` a block) and charge it. */
enum tui_stop tui_host_step(struct tui_host *th, int key);
/* Every VM's run has ended. */
bool tui_host_all_ended(const struct tui_host *th);

/* One character per VM on the memory map and in the list: 1-9, then a-z. */
char tui_host_label(int i);

#endif
