/*
 * host_args.h - a host described on the command line, for `ringside host`
 * and `ringside tui --host`.
 *
 * Both commands take the same description of a computer and its VMs
 * (--hypervisor, --slice, --switch-cost, --mem, --page-sharing,
 * --share-pages, --share-period, --config FILE, --vm "KERNEL [options]")
 * and end the same way (one exit status for the host, the same
 * --stats-json). Keeping that here means the TUI's host view runs exactly
 * the host that `ringside host` runs, which its tests rely on (a free run in
 * the TUI ends with the headless host's figures, byte for byte).
 */
#ifndef RS_HOST_ARGS_H
#define RS_HOST_ARGS_H

#include <stdint.h>
#include <stdio.h>

#include "host/host.h"
#include "host_config.h"

struct host_args {
    struct host_config hc;
    char *vm_args[HOST_MAX_VMS];    /* the --vm strings (split in place when added) */
    int nvm;
    struct host_file file;          /* --config: owns the VM strings it adds */
};

void host_args_init(struct host_args *ha);
void host_args_free(struct host_args *ha);
/* Option `a` with value `v` (may be NULL): 1 taken (v used), 0 not a host
   option, -1 a bad value (one line on stderr, prefixed `prog`). */
int host_args_take(struct host_args *ha, const char *prog, const char *a, const char *v);

/* Add the VM described by `spec` ("KERNEL --mode trap --name x ...", split
   in place) to h; `index` numbers its default name. The VM's index, or -1
   with a one-line err (empty when the run options' parser has already said
   why on stderr). */
int host_args_add_vm(struct host *h, char *spec, int index, char *err, size_t errlen);

/* 0 when every guest exited with status 1, else the first failing VM's
   `ringside run` status. */
int host_exit_status(const struct host *h);
/* The host's and every VM's figures (docs/host.md). */
void host_report(FILE *f, const struct host *h);
/* More members of VM i's object in the stats JSON (", \"key\": value"...). */
typedef void (*host_vm_json_fn)(FILE *f, const void *ctx, int i);
/* --stats-json: 0, or -1 (a message on stderr). `extra` may be NULL. */
int host_write_stats(const char *path, const struct host *h, host_vm_json_fn extra,
                     const void *ctx);

#endif
