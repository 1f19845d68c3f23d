/*
 * control_internal.h - what the command files of the control protocol share:
 * a request being handled and its argument checks (control.c).
 */
#ifndef RS_CONTROL_INTERNAL_H
#define RS_CONTROL_INTERNAL_H

#include <jansson.h>
#include "host/control.h"

struct ctl_req {
    struct host *h;
    json_t *args;                  /* the "arguments" object (never NULL) */
    struct control_effect *fx;
    char err[256];                 /* set by a command that fails */
    const char *err_class;
};

/* Record an error (class, printf format with one string); returns NULL. */
json_t *ctl_fail(struct ctl_req *r, const char *cls, const char *fmt, const char *a);
/* A string argument; NULL when absent (and not required) or after an error. */
const char *arg_str(struct ctl_req *r, const char *key, bool required);
/* An optional integer argument within [lo, hi]; *ok false on error. */
uint64_t arg_uint(struct ctl_req *r, const char *key, uint64_t dflt, uint64_t lo, uint64_t hi,
                  bool *ok);
/* The VM named by argument "vm": its index, or -1 after an error. */
int arg_vm(struct ctl_req *r);

/* migrate.c: the source's command; migrate_in.c: the target's. */
json_t *cmd_migrate_vm(struct ctl_req *r);
json_t *cmd_drain(struct ctl_req *r);
json_t *cmd_migrate_begin(struct ctl_req *r);
json_t *cmd_migrate_pages(struct ctl_req *r);
json_t *cmd_migrate_state(struct ctl_req *r);
json_t *cmd_migrate_finish(struct ctl_req *r);
json_t *cmd_migrate_abort(struct ctl_req *r);
json_t *cmd_replica_commit(struct ctl_req *r);
json_t *cmd_recover(struct ctl_req *r);

#endif
