/*
 * host_config.h - `ringside host --config FILE`: a host described in JSON.
 *
 * The same host the command line describes ("--hypervisor type2 --vm
 * 'KERNEL --shares 3' ..."), written as a file a lab or a scenario can ship
 * (docs/host.md has the schema). Parsed with jansson, strictly: an unknown
 * key, a value of the wrong type or out of range is one error line.
 */
#ifndef RS_HOST_CONFIG_H
#define RS_HOST_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define HOST_CONFIG_MAX_VMS 64

struct host_file {
    int type;                      /* 0: not given, 1 or 2 */
    uint32_t slice, switch_cost;   /* 0: not given */
    uint32_t mem, share_pages, share_period;   /* 0: not given */
    int page_sharing;              /* -1: not given, 0 off, 1 on */
    char *vm_specs[HOST_CONFIG_MAX_VMS];   /* "KERNEL --mode M ..." as for --vm */
    int nvm;
};

/* 0, or -1 with err "FILE: what is wrong". */
int host_config_read(const char *path, struct host_file *out, char *err, size_t errlen);
void host_config_free(struct host_file *f);

#endif
