/*
 * control.c - the commands of the management protocol (control.h,
 * docs/control.md).
 *
 * Each command is a small function from its arguments (a jansson object)
 * to a reply value or an error. Arguments are checked for type and range
 * before anything changes; an error reply names the argument.
 */
#include "host/control_internal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot.h"
#include "version.h"

json_t *ctl_fail(struct ctl_req *r, const char *cls, const char *fmt, const char *a)
{
    r->err_class = cls;
    snprintf(r->err, sizeof r->err, fmt, a);
    return NULL;
}

/* ---- argument access ---- */

const char *arg_str(struct ctl_req *r, const char *key, bool required)
{
    json_t *v = json_object_get(r->args, key);
    if (!v && !required)
        return NULL;
    if (!json_is_string(v)) {
        ctl_fail(r, "InvalidArgument", "argument '%s' must be a string", key);
        return NULL;
    }
    return json_string_value(v);
}

/* An optional non-negative integer argument within [lo, hi]; *ok false on error. */
uint64_t arg_uint(struct ctl_req *r, const char *key, uint64_t dflt, uint64_t lo,
                         uint64_t hi, bool *ok)
{
    json_t *v = json_object_get(r->args, key);
    if (!v)
        return dflt;
    if (!json_is_integer(v) || json_integer_value(v) < (json_int_t)lo ||
        (uint64_t)json_integer_value(v) > hi) {
        *ok = false;
        ctl_fail(r, "InvalidArgument", "argument '%s' is not an integer in range", key);
        return dflt;
    }
    return (uint64_t)json_integer_value(v);
}

/* The VM named by argument "vm": its index, or -1 after an error. */
int arg_vm(struct ctl_req *r)
{
    const char *name = arg_str(r, "vm", true);
    if (!name)
        return -1;
    int i = host_find(r->h, name);
    if (i < 0)
        ctl_fail(r, "VMNotFound", "no VM named '%s'", name);
    return i;
}

/* ---- views ---- */

static const char *vm_state_name(const struct host_vm *hv)
{
    if (hv->state == HVM_PAUSED)
        return "paused";
    if (hv->state == HVM_INCOMING)
        return "incoming";
    if (hv->state == HVM_ENDED)
        return hv->vm->m.end == END_NONE ? "stopped" : "ended";
    return "running";
}

static json_t *vm_summary(const struct host *h, int i)
{
    const struct host_vm *hv = &h->vms[i];
    const struct machine *m = &hv->vm->m;
    return json_pack("{s:s, s:s, s:s, s:i, s:f, s:I, s:I, s:s}", "name", hv->name,
                     "mode", machine_mode_name(m->mode), "state", vm_state_name(hv),
                     "shares", (int)hv->shares, "cpu_share", host_cpu_share(h, i),
                     "guest_insns", (json_int_t)cpu_guest_insns(&m->cpu),
                     "cycles", (json_int_t)m->cpu.cycles, "end", m->end_msg);
}

static json_t *vm_stats(const struct host *h, int i)
{
    const struct machine *m = &h->vms[i].vm->m;
    const struct stats *st = &m->stats;
    json_t *o = vm_summary(h, i), *causes = json_object();
    for (int k = 0; k < OV_COUNT; k++)
        json_object_set_new(causes, event_ov_cause_name((enum ev_ov_cause)k),
                            json_integer(st->overhead_by_cause[k]));
    json_object_set_new(o, "native_equiv", json_integer((json_int_t)machine_native_equiv(m)));
    json_object_set_new(o, "overhead_cycles", json_integer(st->overhead_cycles));
    json_object_set_new(o, "overhead_by_cause", causes);
    json_object_set_new(o, "world_switches", json_integer((json_int_t)st->world_switches));
    json_object_set_new(o, "io", json_pack("{s:I, s:I}", "reads", (json_int_t)st->io_reads,
                                           "writes", (json_int_t)st->io_writes));
    json_object_set_new(o, "busy_cycles", json_integer((json_int_t)h->vms[i].busy_cycles));
    json_object_set_new(o, "pages_mapped", json_integer(host_vm_mapped_pages(h, i)));
    json_object_set_new(o, "pages_shared", json_integer(m->pm.shared_now));
    json_object_set_new(o, "pages_merged", json_integer((json_int_t)m->pm.merged));
    json_object_set_new(o, "cow_breaks", json_integer((json_int_t)m->pm.cow_breaks));
    return o;
}

/* Machine memory, the same fields as `ringside host --stats-json`. */
static json_t *host_memory(const struct host *h)
{
    struct host_mem_report mr;
    host_mem_report(h, &mr);
    return json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:I, s:I}", "frames", (int)mr.frames,
                     "used", (int)mr.used, "free", (int)mr.free, "peak", (int)mr.peak,
                     "shared_frames", (int)mr.shared_frames, "shared_pages", (int)mr.shared_pages,
                     "saved_frames", (int)mr.saved, "pages_scanned", (json_int_t)mr.scanned,
                     "pages_merged", (json_int_t)mr.merged);
}

/* ---- commands ---- */

static json_t *cmd_list(struct ctl_req *r)
{
    json_t *a = json_array();
    for (int i = 0; i < r->h->nvms; i++)
        json_array_append_new(a, vm_summary(r->h, i));
    return a;
}

static json_t *cmd_create(struct ctl_req *r)
{
    bool ok = true;
    const char *kernel = arg_str(r, "kernel", true);
    const char *name = kernel ? arg_str(r, "name", false) : NULL;
    const char *mode = kernel ? arg_str(r, "mode", false) : NULL;
    const char *append = kernel ? arg_str(r, "append", false) : NULL;
    uint64_t mem = arg_uint(r, "mem", 32, 2, 3072, &ok);
    uint64_t shares = arg_uint(r, "shares", 1, 1, 1000000, &ok);
    uint64_t budget = arg_uint(r, "max_insns", 0, 0, UINT64_MAX >> 1, &ok);
    if (!kernel || r->err[0] || !ok)
        return NULL;
    int engine = machine_mode_parse(mode ? mode : "bt");
    if (engine < 0)
        return ctl_fail(r, "InvalidArgument", "unknown mode '%s'", mode);
    char auto_name[32];
    if (!name) {
        snprintf(auto_name, sizeof auto_name, "vm%d", r->h->nvms);
        name = auto_name;
    }
    struct vm_config cfg = { .kernel_path = kernel, .cmdline = append, .mem_mib = (uint32_t)mem,
                             .mode = (enum machine_mode)engine };
    int i = host_add_vm(r->h, &cfg, name, (uint32_t)shares, budget, r->err, sizeof r->err);
    if (i < 0) {
        r->err_class = "CreateFailed";
        return NULL;
    }
    host_pause(r->h, i);                     /* created stopped: "start" runs it */
    return json_pack("{s:s}", "name", r->h->vms[i].name);
}

static json_t *cmd_run_state(struct ctl_req *r, const char *what)
{
    int i = arg_vm(r);
    if (i < 0)
        return NULL;
    struct host_vm *hv = &r->h->vms[i];
    if (hv->state == HVM_ENDED && strcmp(what, "remove") != 0)
        return ctl_fail(r, "VMEnded", "VM '%s' has ended (reset or remove it)", hv->name);
    if (hv->state == HVM_INCOMING && strcmp(what, "remove") != 0)
        return ctl_fail(r, "VMMigrating", "VM '%s' is being migrated in (or remove it)", hv->name);
    if (!strcmp(what, "pause"))
        host_pause(r->h, i);
    else if (!strcmp(what, "stop"))
        hv->state = HVM_ENDED;
    else if (!strcmp(what, "remove"))
        host_remove(r->h, i);
    else
        host_resume(r->h, i);
    return json_object();
}

static json_t *cmd_start(struct ctl_req *r) { return cmd_run_state(r, "start"); }
static json_t *cmd_pause(struct ctl_req *r) { return cmd_run_state(r, "pause"); }
static json_t *cmd_resume(struct ctl_req *r) { return cmd_run_state(r, "resume"); }
static json_t *cmd_stop(struct ctl_req *r) { return cmd_run_state(r, "stop"); }
static json_t *cmd_remove(struct ctl_req *r) { return cmd_run_state(r, "remove"); }

static json_t *cmd_reset(struct ctl_req *r)
{
    int i = arg_vm(r);
    if (i < 0)
        return NULL;
    if (host_reset(r->h, i, r->err, sizeof r->err) != 0) {
        r->err_class = "ResetFailed";
        return NULL;
    }
    return json_object();
}

static json_t *cmd_snapshot(struct ctl_req *r)
{
    int i = arg_vm(r);
    const char *file = i >= 0 ? arg_str(r, "file", true) : NULL;
    if (!file)
        return NULL;
    if (snapshot_save(r->h->vms[i].vm, file, r->err, sizeof r->err) != 0) {
        r->err_class = "SnapshotFailed";
        return NULL;
    }
    return json_object();
}

static json_t *cmd_revert(struct ctl_req *r)
{
    int i = arg_vm(r);
    const char *file = i >= 0 ? arg_str(r, "file", true) : NULL;
    if (!file)
        return NULL;
    struct snap_file f;
    int rc = snap_read(file, &f, r->err, sizeof r->err);
    if (rc == 0) {
        rc = snapshot_restore(r->h->vms[i].vm, &f, r->err, sizeof r->err);
        snap_free(&f);
    }
    if (rc != 0) {
        r->err_class = "RevertFailed";
        return NULL;
    }
    if (r->h->vms[i].state == HVM_ENDED)
        r->h->vms[i].state = HVM_PAUSED;
    return json_object();
}

static json_t *cmd_stats(struct ctl_req *r)
{
    if (!json_object_get(r->args, "vm"))
        return json_pack("{s:i, s:i, s:I, s:I, s:I, s:o}", "type", (int)r->h->cfg.type,
                         "vms", r->h->nvms, "host_cycles", (json_int_t)r->h->host_cycles,
                         "switches", (json_int_t)r->h->switches,
                         "switch_cycles", (json_int_t)r->h->switch_cycles_total,
                         "memory", host_memory(r->h));
    int i = arg_vm(r);
    return i < 0 ? NULL : vm_stats(r->h, i);
}

static int kind_by_name(const char *name)
{
    for (int k = 0; k < EV_KIND_COUNT; k++)
        if (!strcmp(event_kind_name((enum ev_kind)k), name))
            return k;
    return -1;
}

static json_t *cmd_events(struct ctl_req *r)
{
    json_t *kinds = json_object_get(r->args, "kinds");
    uint32_t mask = 0;
    if (!kinds) {
        mask = EV_ALL & ~EV_BIT(EV_INSNS) & ~EV_BIT(EV_OVERHEAD);   /* the interesting ones */
    } else if (!json_is_array(kinds)) {
        return ctl_fail(r, "InvalidArgument", "%s", "argument 'kinds' must be an array of names");
    }
    size_t n;
    json_t *k;
    json_array_foreach(kinds, n, k) {
        int kind = json_is_string(k) ? kind_by_name(json_string_value(k)) : -1;
        if (kind < 0)
            return ctl_fail(r, "InvalidArgument", "unknown event kind '%s'",
                            json_is_string(k) ? json_string_value(k) : "?");
        mask |= EV_BIT(kind);
    }
    int vm = -1;
    if (json_object_get(r->args, "vm") && (vm = arg_vm(r)) < 0)
        return NULL;
    r->fx->subscribe = true;
    r->fx->event_mask = mask;
    r->fx->event_vm = vm;
    return json_object();
}

static json_t *cmd_quit(struct ctl_req *r)
{
    r->fx->quit = true;
    return json_object();
}

static const struct {
    const char *name;
    json_t *(*fn)(struct ctl_req *r);
} commands[] = {
    { "list", cmd_list }, { "create", cmd_create }, { "start", cmd_start },
    { "pause", cmd_pause }, { "resume", cmd_resume }, { "stop", cmd_stop },
    { "remove", cmd_remove }, { "reset", cmd_reset }, { "snapshot", cmd_snapshot },
    { "revert", cmd_revert }, { "migrate", cmd_migrate_vm }, { "stats", cmd_stats },
    { "events", cmd_events }, { "quit", cmd_quit },
    { "migrate-begin", cmd_migrate_begin }, { "migrate-pages", cmd_migrate_pages },
    { "migrate-state", cmd_migrate_state }, { "migrate-finish", cmd_migrate_finish },
    { "migrate-abort", cmd_migrate_abort }, { "replica-commit", cmd_replica_commit },
    { "recover", cmd_recover }, { "drain", cmd_drain },
};

/* ---- requests and replies ---- */

static char *reply(json_t *value, const char *cls, const char *desc, json_t *id)
{
    json_t *o = value ? json_pack("{s:o}", "return", value)
                      : json_pack("{s:{s:s, s:s}}", "error", "class", cls, "desc", desc);
    if (id)
        json_object_set(o, "id", id);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

/* A description quoting the client's bytes (a command name, jansson's
   "near '...'"), cut anywhere: one line of valid UTF-8, as the reply must be. */
static void printable(char *desc)
{
    for (char *p = desc; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
            *p = '?';
}

char *control_handle(struct host *h, const char *line, struct control_effect *fx)
{
    json_error_t jerr;
    memset(fx, 0, sizeof *fx);
    json_t *req = json_loads(line, JSON_REJECT_DUPLICATES, &jerr);
    if (!req || !json_is_object(req)) {
        char desc[200];
        snprintf(desc, sizeof desc, "not a JSON object: %s", req ? "wrong type" : jerr.text);
        printable(desc);
        json_decref(req);
        return reply(NULL, "ParseError", desc, NULL);
    }
    json_t *id = json_object_get(req, "id"), *exec = json_object_get(req, "execute");
    json_t *args = json_object_get(req, "arguments");
    char *out = NULL;
    if (!json_is_string(exec) || (args && !json_is_object(args)))
        out = reply(NULL, "InvalidRequest", "expected {\"execute\": NAME, \"arguments\": {...}}", id);
    for (size_t c = 0; !out && c < sizeof commands / sizeof *commands; c++) {
        if (strcmp(commands[c].name, json_string_value(exec)) != 0)
            continue;
        struct ctl_req r = { .h = h, .args = args ? args : json_object(), .fx = fx };
        json_t *v = commands[c].fn(&r);
        out = v ? reply(v, NULL, NULL, id) : reply(NULL, r.err_class ? r.err_class : "Failed",
                                                   r.err, id);
        if (!args)
            json_decref(r.args);
    }
    if (!out) {
        char desc[160];
        snprintf(desc, sizeof desc, "unknown command '%.100s'", json_string_value(exec));
        printable(desc);
        out = reply(NULL, "CommandNotFound", desc, id);
    }
    json_decref(req);
    return out;
}

char *control_greeting(void)
{
    json_t *o = json_pack("{s:{s:s, s:i}}", "ringside", "version", RINGSIDE_VERSION,
                          "protocol", CONTROL_PROTOCOL);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

char *control_event_line(const struct host *h, const struct event *ev)
{
    int i = host_by_id(h, ev->vm);
    const char *vm = i >= 0 ? h->vms[i].name : "?";
    json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:s, s:I, s:I, s:I, s:I}", "event",
                          event_kind_name((enum ev_kind)ev->kind), "vm", vm,
                          "cycle", (json_int_t)ev->cycle, "eip", (json_int_t)ev->eip,
                          "path", event_path_name((enum ev_path)ev->path),
                          "a", (json_int_t)ev->a, "b", (json_int_t)ev->b,
                          "c", (json_int_t)ev->c, "d", (json_int_t)ev->d);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}
