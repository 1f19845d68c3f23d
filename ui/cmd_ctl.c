/*
 * cmd_ctl.c - `ringside ctl [--json] [--token-file F] ADDR COMMAND [KEY=VALUE ...]`.
 *
 * The management protocol's command-line client (what virsh is to libvirt):
 * it connects to a `ringside host --control ADDR`, sends one request built
 * from COMMAND and its KEY=VALUE arguments (a value made of digits is sent
 * as a number), and prints the reply - a table for `list`, KEY: VALUE lines
 * otherwise, or the reply's JSON line with --json. `events` prints one line
 * per event until the host goes away (or --count N events). Exit status 0
 * for a reply, 1 for an error reply, 2 for bad usage or no connection.
 */
#include "cmd_ctl.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl_migrate.h"
#include "host/ctlclient.h"
#include "options.h"

static void usage(FILE *f)
{
    fputs("usage: ringside ctl [--json] [--token-file FILE] [--count N] ADDR COMMAND [KEY=VALUE ...]\n"
          "  ADDR: the --control of a ringside host (a socket path, or 127.0.0.1:PORT)\n"
          "  COMMAND: list, create kernel=K [mode=bt] [name=N] [mem=32] [shares=1] [append=S],\n"
          "           start|pause|resume|stop|remove|reset vm=N, snapshot|revert vm=N file=F,\n"
          "           stats [vm=N], events [vm=N] [kinds=trap,io], quit,\n"
          "           recover vm=N (on a standby), drain --to ADDR2 (every VM),\n"
          "           migrate VM --to ADDR2 [--bandwidth BITS]\n"
          "                  [--latency US] [--max-rounds N]\n"
          "                  [--stop-pages N] [--to-token-file F] (docs/control.md, docs/migration.md)\n", f);
}

/* KEY=VALUE words into an arguments object; kinds=a,b becomes an array. */
static json_t *ctl_args(int argc, char **argv)
{
    json_t *o = json_object();
    for (int i = 0; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq || eq == argv[i]) {
            json_decref(o);
            return NULL;
        }
        char key[64];
        snprintf(key, sizeof key, "%.*s", (int)(eq - argv[i]), argv[i]);
        const char *v = eq + 1;
        json_t *val;
        if (!strcmp(key, "kinds")) {
            val = json_array();
            char *copy = strdup(v);
            for (char *t = strtok(copy, ","); t; t = strtok(NULL, ","))
                json_array_append_new(val, json_string(t));
            free(copy);
        } else if (*v && strspn(v, "0123456789") == strlen(v) && strlen(v) < 19) {
            val = json_integer(strtoll(v, NULL, 10));
        } else {
            val = json_string(v);
        }
        json_object_set_new(o, key, val);
    }
    return o;
}

static void print_value(const char *key, json_t *v)
{
    if (json_is_string(v))
        printf("%s: %s\n", key, json_string_value(v));
    else if (json_is_integer(v))
        printf("%s: %lld\n", key, (long long)json_integer_value(v));
    else if (json_is_real(v))
        printf("%s: %.4f\n", key, json_real_value(v));
    else {
        char *s = json_dumps(v, JSON_COMPACT);
        printf("%s: %s\n", key, s);
        free(s);
    }
}

static void print_list(json_t *a)
{
    printf("%-14s %-5s %-8s %6s %7s %14s  %s\n", "NAME", "MODE", "STATE", "SHARES", "CPU",
           "GUEST INSNS", "END");
    size_t i;
    json_t *vm;
    json_array_foreach(a, i, vm) {
        printf("%-14s %-5s %-8s %6lld %6.1f%% %14lld  %s\n",
               json_string_value(json_object_get(vm, "name")),
               json_string_value(json_object_get(vm, "mode")),
               json_string_value(json_object_get(vm, "state")),
               (long long)json_integer_value(json_object_get(vm, "shares")),
               100.0 * json_real_value(json_object_get(vm, "cpu_share")),
               (long long)json_integer_value(json_object_get(vm, "guest_insns")),
               json_string_value(json_object_get(vm, "end")));
    }
}

/* Print a reply; 0 for "return", 1 for "error". */
static int print_reply(const char *line, const char *command, bool raw)
{
    json_error_t e;
    json_t *r = json_loads(line, 0, &e);
    json_t *err = r ? json_object_get(r, "error") : NULL, *ret = r ? json_object_get(r, "return") : NULL;
    int rc = err || !ret ? 1 : 0;
    if (raw)
        puts(line);
    else if (err)
        fprintf(stderr, "ringside ctl: %s: %s\n", json_string_value(json_object_get(err, "class")),
                json_string_value(json_object_get(err, "desc")));
    else if (!ret)
        fprintf(stderr, "ringside ctl: malformed reply\n");
    else if (!strcmp(command, "list") && json_is_array(ret))
        print_list(ret);
    else if (!strcmp(command, "migrate") && json_is_object(ret))
        ctl_migrate_print(stdout, ret);
    else if (json_is_object(ret) && json_object_size(ret) == 0)
        puts("ok");
    else {
        const char *k;
        json_t *v;
        json_object_foreach(ret, k, v)
            print_value(k, v);
    }
    json_decref(r);
    return rc;
}

static int ctl_auth(struct ctl_conn *c, const char *token_file)
{
    char tok[128] = "";
    if (ctlc_read_token(token_file, tok, sizeof tok) != 0) {
        fprintf(stderr, "ringside ctl: --token-file %s: cannot read\n", token_file);
        return -1;
    }
    if (ctlc_auth(c, tok) != 0) {
        fprintf(stderr, "ringside ctl: the host refused the token\n");
        return -1;
    }
    return 0;
}

static int ctl_events(struct ctl_conn *c, long count)
{
    char *line;
    for (long n = 0; (count <= 0 || n < count) && (line = ctlc_line(c)); n++) {
        puts(line);
        fflush(stdout);
        free(line);
    }
    return 0;
}

int cmd_ctl(int argc, char **argv)
{
    bool raw = false;
    const char *token_file = NULL;
    long count = 0;
    int i = 0;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--json"))
            raw = true;
        else if (!strcmp(argv[i], "--token-file") && i + 1 < argc)
            token_file = argv[++i];
        else if (!strcmp(argv[i], "--count") && i + 1 < argc)
            count = atol(argv[++i]);
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return EXIT_OK;
        } else {
            fprintf(stderr, "ringside ctl: unknown option %s\n", argv[i]);
            return EXIT_BAD_INPUT;
        }
    }
    if (argc - i < 2) {
        usage(stderr);
        return EXIT_BAD_INPUT;
    }
    const char *addr = argv[i], *command = argv[i + 1];
    int nw = argc - i - 2;
    char **words = argv + i + 2, **mw = NULL;
    if ((!strcmp(command, "migrate") || !strcmp(command, "drain")) &&
        ctl_migrate_words(nw, words, token_file, &nw, &mw) != 0)
        return EXIT_BAD_INPUT;
    json_t *args = ctl_args(nw, mw ? mw : words);
    ctl_migrate_words_free(mw ? nw : 0, mw);
    if (!args) {
        fprintf(stderr, "ringside ctl: arguments are KEY=VALUE\n");
        return EXIT_BAD_INPUT;
    }
    char err[300];
    struct ctl_conn *c = calloc(1, sizeof *c);
    int rc = EXIT_BAD_INPUT;
    if (!c || ctlc_connect(c, addr, false, 0, err, sizeof err) != 0)
        fprintf(stderr, "ringside ctl: %s\n", c ? err : "out of memory");
    else if (!token_file || ctl_auth(c, token_file) == 0) {
        json_t *req = json_pack("{s:s, s:O}", "execute", command, "arguments", args);
        char *line = ctlc_send(c, req) == 0 ? ctlc_line(c) : NULL;
        json_decref(req);
        if (!line)
            fprintf(stderr, "ringside ctl: the host closed the connection\n");
        else
            rc = print_reply(line, command, raw);
        if (rc == 0 && !strcmp(command, "events"))
            rc = ctl_events(c, count);
        free(line);
    }
    json_decref(args);
    if (c)
        ctlc_close(c);
    free(c);
    return rc;
}
