/*
 * ctl_migrate.c - the migrate command of `ringside ctl` (ctl_migrate.h).
 *
 * The protocol takes KEY=VALUE arguments like every command; this file
 * lets the user write the migration the way virsh does (`migrate VM --to
 * ADDR`), and prints the report a class reads: one line per pre-copy
 * round (pages sent, pages dirtied meanwhile, bytes, modeled and host
 * time), then the stop-and-copy, the downtime and the totals.
 */
#include "ctl_migrate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/ctlclient.h"

/* 1000, 100M, 1G, 2.5G: bits per second. */
static int bits_per_second(const char *s, char *out, size_t len)
{
    char *end;
    double v = strtod(s, &end);
    double scale = !*end ? 1 : !strcmp(end, "k") || !strcmp(end, "K") ? 1e3
                   : !strcmp(end, "M") ? 1e6 : !strcmp(end, "G") ? 1e9 : 0;
    if (end == s || scale == 0 || v * scale < 1000 || v * scale > 1e12)
        return -1;
    snprintf(out, len, "%.0f", v * scale);
    return 0;
}

static const char *const opt_keys[][2] = {
    { "--to", "to" }, { "--bandwidth", "bandwidth" }, { "--latency", "latency_us" },
    { "--max-rounds", "max_rounds" }, { "--stop-pages", "stop_pages" },
};

static char *word(const char *key, const char *value)
{
    size_t n = strlen(key) + strlen(value) + 2;
    char *w = malloc(n);
    if (w)
        snprintf(w, n, "%s=%s", key, value);
    return w;
}

int ctl_migrate_words(int argc, char **argv, const char *token_file, int *out_argc,
                      char ***out_argv)
{
    char **w = calloc((size_t)argc + 2, sizeof *w), tok[128], num[32];
    int n = 0;
    const char *tokfile = token_file;
    for (int i = 0; w && i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int k = 0;
        while (k < 5 && strcmp(a, opt_keys[k][0]) != 0)
            k++;
        if (k < 5 || !strcmp(a, "--to-token-file")) {
            if (!v || (k == 1 && bits_per_second(v, num, sizeof num) != 0)) {
                fprintf(stderr, "ringside ctl: migrate %s: %s\n", a,
                        v ? "expected bits per second, 1000 to 1T (k, M, G suffixes)" : "needs a value");
                ctl_migrate_words_free(n, w);
                return -1;
            }
            i++;
            if (k == 5)
                tokfile = v;
            else
                w[n++] = word(opt_keys[k][1], k == 1 ? num : v);
        } else if (a[0] == '-') {
            fprintf(stderr, "ringside ctl: migrate: unknown option %s\n", a);
            ctl_migrate_words_free(n, w);
            return -1;
        } else {
            w[n++] = strchr(a, '=') ? strdup(a) : word("vm", a);
        }
    }
    if (w && tokfile) {
        if (ctlc_read_token(tokfile, tok, sizeof tok) != 0) {
            fprintf(stderr, "ringside ctl: token file %s: cannot read\n", tokfile);
            ctl_migrate_words_free(n, w);
            return -1;
        }
        w[n++] = word("token", tok);
    }
    *out_argc = n;
    *out_argv = w;
    return w ? 0 : -1;
}

void ctl_migrate_words_free(int argc, char **argv)
{
    for (int i = 0; argv && i < argc; i++)
        free(argv[i]);
    free(argv);
}

static long long num(json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

static double ms(json_t *o, const char *k)
{
    return json_number_value(json_object_get(o, k));
}

void ctl_migrate_print(FILE *f, json_t *ret)
{
    fprintf(f, "%5s %11s %14s %12s %11s %9s\n", "ROUND", "PAGES SENT", "PAGES DIRTIED", "BYTES",
           "MODELED MS", "HOST MS");
    size_t i;
    json_t *rd;
    json_array_foreach(json_object_get(ret, "rounds"), i, rd)
        fprintf(f, "%5lld %11lld %14lld %12lld %11.3f %9.1f\n", num(rd, "round"), num(rd, "pages_sent"),
               num(rd, "pages_dirtied"), num(rd, "bytes"), ms(rd, "modeled_ms"), ms(rd, "host_ms"));
    fprintf(f, "pre-copy stopped: %s\n", json_string_value(json_object_get(ret, "stop_reason")));
    fprintf(f, "stop-and-copy: %lld pages and the state (%lld bytes), %lld bytes\n",
           num(ret, "final_pages"), num(ret, "state_bytes"), num(ret, "final_bytes"));
    fprintf(f, "writable working set: %lld pages\n", num(ret, "wws_pages"));
    fprintf(f, "downtime: %.3f ms modeled, %.1f ms host\n", ms(ret, "downtime_modeled_ms"),
           ms(ret, "downtime_host_ms"));
    fprintf(f, "total: %.3f ms modeled, %.1f ms host; %lld pages, %lld bytes\n",
           ms(ret, "total_modeled_ms"), ms(ret, "total_host_ms"), num(ret, "pages_sent"),
           num(ret, "total_bytes"));
    fprintf(f, "moved to %s at %lld guest instructions\n", json_string_value(json_object_get(ret, "to")),
           num(ret, "guest_insns"));
}
