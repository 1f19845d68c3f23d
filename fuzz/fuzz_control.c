/*
 * fuzz_control.c - libFuzzer target for the control protocol's request
 * handling (sim/host/control.c: control_handle, the line a ctlsock client
 * sends).
 *
 * Why: a control socket takes lines from whoever holds the token; the
 * protocol promises (control.h) one one-line JSON reply per request, either
 * {"return": ...} or {"error": {"class", "desc"}}, never a crash, and that a
 * malformed request changes nothing. The input is one request line
 * (NUL-terminated copy) against a host with no VMs. Commands that would
 * reach files, sockets or create VMs (create, snapshot, revert, migrate,
 * migrate-begin, recover, replica-commit, drain) are left out when the input
 * names one, so the run stays in-process; their argument checks still run
 * for every other spelling the fuzzer makes. abort() when the contract
 * breaks: no reply, a newline in it, not a JSON object, neither or both of
 * "return" and "error", an error without a class or with a multi-line
 * description, or a VM that appeared.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "host/control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool reaches_outside(const char *line)
{
    static const char *const cmds[] = { "create", "snapshot", "revert", "migrate",
                                        "migrate-begin", "recover", "replica-commit", "drain" };
    json_t *j = json_loads(line, JSON_REJECT_DUPLICATES | JSON_DISABLE_EOF_CHECK, NULL);
    const char *cmd = json_string_value(json_object_get(j, "execute"));
    bool out = false;
    for (size_t i = 0; cmd && i < sizeof cmds / sizeof *cmds; i++)
        out |= strcmp(cmd, cmds[i]) == 0;
    json_decref(j);
    return out;
}

static void check_reply(const char *reply)
{
    if (!reply || strchr(reply, '\n'))
        abort();
    json_t *j = json_loads(reply, 0, NULL);
    if (!json_is_object(j))
        abort();
    json_t *ret = json_object_get(j, "return"), *e = json_object_get(j, "error");
    if (!ret == !e)
        abort();
    if (e) {
        const char *cls = json_string_value(json_object_get(e, "class"));
        const char *desc = json_string_value(json_object_get(e, "desc"));
        if (!cls || !cls[0] || !desc || strchr(desc, '\n'))
            abort();
    }
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct host h;
    static bool ready;
    if (!ready) {
        struct host_config hc = { .type = HOST_TYPE1 };
        host_init(&h, &hc);
        ready = true;
    }
    char *line = malloc(size + 1);
    memcpy(line, data, size);
    line[size] = 0;
    if (!reaches_outside(line)) {
        struct control_effect fx;
        char *reply = control_handle(&h, line, &fx);
        check_reply(reply);
        free(reply);
        if (h.nvms != 0)
            abort();
    }
    free(line);
    return 0;
}
