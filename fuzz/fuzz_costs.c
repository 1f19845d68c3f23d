/*
 * fuzz_costs.c - libFuzzer target for the cost-profile parser (cost.c).
 *
 * Why: `--costs FILE` is outside text. cost_parse must never read outside
 * the bytes it is given, must reject or accept every input with at most one
 * error line, and an accepted profile keeps every value in the documented
 * range (0..100000000 cycles).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/cost.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size ? size : 1);     /* exact size, no terminator */
    memcpy(text, data, size);
    struct cost_profile p;
    char err[256] = "";
    int rc = cost_parse(&p, text, size, "fuzz", err, sizeof err);
    if (rc == 0) {
        for (int k = 0; k < COST_COUNT; k++)
            if (p.v[k] > 100000000u)
                abort();
        if (!memchr(p.name, 0, sizeof p.name))
            abort();
    } else if (rc != -1 || !err[0] || strchr(err, '\n')) {
        abort();
    }
    free(text);
    return 0;
}
