/*
 * tc_plugin.c - loading a TC placement policy from a shared object
 * (`--tc-policy plugin:FILE.so`; the interface is tc_policy.h).
 *
 * A lab asks students for their own eviction policy (lessons/labs/05-tcpolicy):
 * they build it as a shared object against tc_policy.h alone and ringside
 * loads it with dlopen, so no student code is compiled into ringside. The
 * object must export `ringside_tc_policy` with the ABI version this build
 * knows; anything else is refused with one line before the guest runs.
 */
#include "bt.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "tc_policy.h"

int bt_policy_load(const char *path, const struct tc_policy **out, char *err, size_t errlen)
{
    void *h = strchr(path, '/') ? dlopen(path, RTLD_NOW | RTLD_LOCAL) : NULL;
    if (!h) {
        snprintf(err, errlen, "--tc-policy plugin:%s: %s", path,
                 strchr(path, '/') ? dlerror() : "give a path (./policy.so)");
        return -1;
    }
    const struct tc_policy *p = dlsym(h, TC_POLICY_SYMBOL);
    if (!p || p->abi != TC_POLICY_ABI || !p->place) {
        snprintf(err, errlen, "--tc-policy plugin:%s: no %s of ABI %d with a place function",
                 path, TC_POLICY_SYMBOL, TC_POLICY_ABI);
        dlclose(h);
        return -1;
    }
    *out = p;   /* stays loaded for the life of the process */
    return 0;
}
