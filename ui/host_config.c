/*
 * host_config.c - see host_config.h.
 */
#include "host_config.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/hostfile.h"

#define HOST_CONFIG_MAX_FILE (1u << 20)

static int bad(char *err, size_t errlen, const char *path, const char *what, const char *key)
{
    snprintf(err, errlen, "%s: %s%s%s", path, what, key ? " " : "", key ? key : "");
    return -1;
}

static int get_uint(json_t *v, uint64_t lo, uint64_t hi, uint64_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < (json_int_t)lo ||
        (uint64_t)json_integer_value(v) > hi)
        return -1;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

/* A text that can sit in a --vm spec: no quotes, no control characters. */
static const char *get_word(json_t *v, size_t max)
{
    const char *s = json_string_value(v);
    if (!s || !*s || strlen(s) > max || strpbrk(s, "\"'\n\r\t"))
        return NULL;
    return s;
}

/* One VM object into "KERNEL --opt value ..." (the --vm syntax). */
static int vm_spec(json_t *o, char *spec, size_t len, const char *path, char *err, size_t errlen)
{
    if (!json_is_object(o))
        return bad(err, errlen, path, "each of \"vms\" must be an object", NULL);
    const char *kernel = get_word(json_object_get(o, "kernel"), 1000);
    if (!kernel || strchr(kernel, ' '))
        return bad(err, errlen, path, "a VM needs \"kernel\": a path without spaces", NULL);
    size_t n = (size_t)snprintf(spec, len, "%s", kernel);
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        static const char *const words[] = { "mode", "name", "append" };
        static const struct { const char *key, *opt; uint64_t lo, hi; } nums[] = {
            { "shares", "--shares", 1, 1000000 }, { "mem", "--mem", 2, 3072 },
            { "max_insns", "--max-insns", 1, UINT64_MAX >> 1 },
            { "tc_size", "--tc-size", 4, 2048 },
        };
        bool done = !strcmp(key, "kernel");
        for (int i = 0; i < 3 && !done; i++)
            if (!strcmp(key, words[i])) {
                const char *w = get_word(v, 200);
                if (!w)
                    return bad(err, errlen, path, "a text without quotes is needed for", key);
                n += (size_t)snprintf(spec + n, len - n, " --%s \"%s\"", key, w);
                done = true;
            }
        for (int i = 0; i < 4 && !done; i++)
            if (!strcmp(key, nums[i].key)) {
                uint64_t x;
                if (get_uint(v, nums[i].lo, nums[i].hi, &x))
                    return bad(err, errlen, path, "a whole number in range is needed for", key);
                n += (size_t)snprintf(spec + n, len - n, " %s %llu", nums[i].opt,
                                      (unsigned long long)x);
                done = true;
            }
        if (!done)
            return bad(err, errlen, path, "unknown VM key", key);
        if (n >= len)
            return bad(err, errlen, path, "a VM description is too long", NULL);
    }
    return 0;
}

/* The host's numeric keys, each in the range its option takes. */
static int host_number_key(const char *key, json_t *v, struct host_file *out, const char *path,
                           char *err, size_t errlen)
{
    static const struct { const char *key; uint64_t lo, hi; size_t at; } nums[] = {
        { "slice", 1000, 100000000, offsetof(struct host_file, slice) },
        { "switch_cost", 1000, 100000000, offsetof(struct host_file, switch_cost) },
        { "mem", 8, 3584, offsetof(struct host_file, mem) },
        { "share_pages", 1, 1000000, offsetof(struct host_file, share_pages) },
        { "share_period", 1000, 1000000000, offsetof(struct host_file, share_period) },
    };
    for (size_t i = 0; i < sizeof nums / sizeof *nums; i++) {
        if (strcmp(key, nums[i].key))
            continue;
        uint64_t x;
        if (get_uint(v, nums[i].lo, nums[i].hi, &x)) {
            char what[96];
            snprintf(what, sizeof what, "%llu to %llu are needed for",
                     (unsigned long long)nums[i].lo, (unsigned long long)nums[i].hi);
            return bad(err, errlen, path, what, key);
        }
        *(uint32_t *)(void *)((char *)out + nums[i].at) = (uint32_t)x;
        return 0;
    }
    return bad(err, errlen, path, "unknown key", key);
}

static int host_keys(json_t *root, struct host_file *out, const char *path, char *err,
                     size_t errlen)
{
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        if (!strcmp(key, "vms"))
            continue;
        if (!strcmp(key, "hypervisor")) {
            const char *t = json_string_value(v);
            if (!t || (strcmp(t, "type1") && strcmp(t, "type2")))
                return bad(err, errlen, path, "\"hypervisor\" is \"type1\" or \"type2\"", NULL);
            out->type = t[4] - '0';
        } else if (!strcmp(key, "page_sharing")) {
            if (!json_is_boolean(v))
                return bad(err, errlen, path, "true or false is needed for", key);
            out->page_sharing = json_is_true(v);
        } else if (host_number_key(key, v, out, path, err, errlen))
            return -1;
    }
    return 0;
}

int host_config_read(const char *path, struct host_file *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->page_sharing = -1;
    uint8_t *data;
    size_t len;
    if (hostfile_read(path, HOST_CONFIG_MAX_FILE, &data, &len, err, errlen))
        return -1;
    json_error_t je;
    json_t *root = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &je);
    free(data);
    if (!root) {
        snprintf(err, errlen, "%s:%d: %s", path, je.line, je.text);
        return -1;
    }
    json_t *vms = json_object_get(root, "vms");
    int rc = !json_is_object(root) ? bad(err, errlen, path, "not a JSON object", NULL)
           : !json_is_array(vms) || json_array_size(vms) == 0 ||
                     json_array_size(vms) > HOST_CONFIG_MAX_VMS
               ? bad(err, errlen, path, "\"vms\" must be an array of 1 to 64 VMs", NULL)
               : host_keys(root, out, path, err, errlen);
    for (size_t i = 0; rc == 0 && i < json_array_size(vms); i++) {
        char spec[2048];
        rc = vm_spec(json_array_get(vms, i), spec, sizeof spec, path, err, errlen);
        if (rc == 0 && !(out->vm_specs[out->nvm++] = strdup(spec)))
            exit(12);
    }
    json_decref(root);
    if (rc)
        host_config_free(out);
    return rc;
}

void host_config_free(struct host_file *f)
{
    for (int i = 0; i < f->nvm; i++)
        free(f->vm_specs[i]);
    f->nvm = 0;
}
