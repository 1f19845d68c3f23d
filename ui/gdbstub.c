/*
 * gdbstub.c - a GDB remote stub for one VM (docs/gdb.md).
 *
 * gdb connects over TCP (127.0.0.1 only) and speaks its remote serial
 * protocol: packets "$data#checksum", acknowledged with '+'. The stub shows
 * gdb the guest as the guest sees itself - the virtual CPU's registers under
 * a VMM, memory through the guest's own page tables - in every engine.
 * Breakpoints (Z0/Z1) and write watchpoints (Z2) are checked by the stub
 * between guest instructions, so no byte of guest memory is ever patched
 * (a translated block or a checksum of its code sees nothing); Ctrl-C (0x03)
 * stops a running guest. Reverse step and continue (bs, bc) go back through
 * the VM's history (sim/history.h: restore the nearest checkpoint, run
 * forward again). Registers are gdb's i386 order: EAX ECX EDX EBX
 * ESP EBP ESI EDI EIP EFLAGS CS SS DS ES FS GS; the FPU registers that follow
 * in gdb's layout are reported unavailable.
 */
#include "gdbstub.h"
#include "cmd_run.h"
#include "history.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define GDB_MAX_BPS 64
#define GDB_PKT 4096

struct gdb_watch { uint32_t addr, len; uint8_t old[8]; };

struct gdb {
    struct vm *vm;
    int fd;
    char in[GDB_PKT + 8];
    uint32_t bps[GDB_MAX_BPS];
    int nbps;
    struct gdb_watch watch[8];
    int nwatch;
    bool detached, killed;
};

/* ---- packets ---- */

static int gdb_getc(struct gdb *g)
{
    unsigned char c;
    return recv(g->fd, &c, 1, 0) == 1 ? c : -1;
}

static void gdb_put(struct gdb *g, const char *data)
{
    char buf[GDB_PKT * 2 + 8];
    unsigned sum = 0;
    for (const char *p = data; *p; p++)
        sum += (unsigned char)*p;
    int n = snprintf(buf, sizeof buf, "$%s#%02x", data, sum & 0xFFu);
    if (n > 0)
        send(g->fd, buf, (size_t)n, MSG_NOSIGNAL);
}

/* The next packet's data (NUL-terminated in g->in), or NULL when gdb left. */
static char *gdb_packet(struct gdb *g)
{
    int c;
    for (;;) {
        while ((c = gdb_getc(g)) >= 0 && c != '$')
            ;
        if (c < 0)
            return NULL;
        size_t n = 0;
        unsigned sum = 0;
        while ((c = gdb_getc(g)) >= 0 && c != '#') {
            if (n < GDB_PKT)
                g->in[n++] = (char)c;
            sum += (unsigned)c;
        }
        int h1 = gdb_getc(g), h2 = gdb_getc(g);
        if (c < 0 || h1 < 0 || h2 < 0)
            return NULL;
        g->in[n] = 0;
        char hex[3] = { (char)h1, (char)h2, 0 };
        bool ok = strtoul(hex, NULL, 16) == (sum & 0xFFu) && n < GDB_PKT;
        send(g->fd, ok ? "+" : "-", 1, MSG_NOSIGNAL);
        if (ok)
            return g->in;
    }
}

/* ---- registers and memory ---- */

static void put_le32(char *out, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        sprintf(out + 2 * i, "%02x", (v >> (8 * i)) & 0xFFu);
}

static uint32_t get_le32(const char *in)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char b[3] = { in[2 * i], in[2 * i + 1], 0 };
        v |= (uint32_t)strtoul(b, NULL, 16) << (8 * i);
    }
    return v;
}

static uint32_t reg_value(const struct cpu_state *s, int n)
{
    static const int sregs[6] = { S_CS, S_SS, S_DS, S_ES, S_FS, S_GS };
    static const int gprs[8] = { 0, 1, 2, 3, 4, 5, 6, 7 };  /* EAX ECX EDX EBX ESP EBP ESI EDI */
    if (n < 8)
        return s->r[gprs[n]];
    if (n == 8)
        return s->eip;
    if (n == 9)
        return s->eflags;
    return s->seg[sregs[n - 10]].sel;
}

static void cmd_read_regs(struct gdb *g)
{
    struct cpu_state s;
    char out[16 * 8 + 1];
    vm_guest_state(g->vm, &s);
    for (int n = 0; n < 16; n++)
        put_le32(out + 8 * n, reg_value(&s, n));
    gdb_put(g, out);
}

static void cmd_read_reg(struct gdb *g, const char *arg)
{
    int n = (int)strtol(arg, NULL, 16);
    struct cpu_state s;
    char out[9];
    if (n >= 16) {
        gdb_put(g, "xxxxxxxx");             /* FPU and beyond: unavailable */
        return;
    }
    vm_guest_state(g->vm, &s);
    put_le32(out, reg_value(&s, n));
    gdb_put(g, out);
}

static void cmd_write_reg(struct gdb *g, const char *arg)
{
    char *eq;
    int n = (int)strtol(arg, &eq, 16);
    bool ok = *eq == '=' && strlen(eq + 1) >= 8 && vm_set_guest_reg(g->vm, n, get_le32(eq + 1));
    gdb_put(g, ok || n >= 10 ? "OK" : "E01");   /* segment registers: ignored */
}

static void cmd_write_regs(struct gdb *g, const char *arg)
{
    for (int n = 0; n < 10 && strlen(arg) >= 8u * (unsigned)(n + 1); n++)
        vm_set_guest_reg(g->vm, n, get_le32(arg + 8 * n));
    gdb_put(g, "OK");
}

static void cmd_read_mem(struct gdb *g, const char *arg)
{
    char *comma;
    uint32_t addr = (uint32_t)strtoul(arg, &comma, 16);
    uint32_t len = *comma == ',' ? (uint32_t)strtoul(comma + 1, NULL, 16) : 0;
    uint8_t buf[GDB_PKT / 2];
    char out[GDB_PKT + 1];
    if (len > sizeof buf - 1)
        len = sizeof buf - 1;
    if (vm_read_linear(g->vm, addr, buf, len) != 0) {
        gdb_put(g, "E14");                  /* EFAULT */
        return;
    }
    for (uint32_t i = 0; i < len; i++)
        sprintf(out + 2 * i, "%02x", buf[i]);
    out[2 * len] = 0;
    gdb_put(g, out);
}

static void cmd_write_mem(struct gdb *g, const char *arg)
{
    char *comma, *colon;
    uint32_t addr = (uint32_t)strtoul(arg, &comma, 16);
    uint32_t len = (uint32_t)strtoul(comma + 1, &colon, 16);
    uint8_t buf[GDB_PKT / 2];
    if (*comma != ',' || *colon != ':' || len > sizeof buf || strlen(colon + 1) < 2 * len) {
        gdb_put(g, "E01");
        return;
    }
    for (uint32_t i = 0; i < len; i++) {
        char b[3] = { colon[1 + 2 * i], colon[2 + 2 * i], 0 };
        buf[i] = (uint8_t)strtoul(b, NULL, 16);
    }
    gdb_put(g, vm_write_linear(g->vm, addr, buf, len) == 0 ? "OK" : "E14");
}

/* ---- breakpoints and watchpoints ---- */

static void cmd_point(struct gdb *g, const char *arg, bool insert)
{
    int type = arg[0] - '0';
    char *comma;
    uint32_t addr = (uint32_t)strtoul(arg + 2, &comma, 16);
    uint32_t len = *comma == ',' ? (uint32_t)strtoul(comma + 1, NULL, 16) : 1;
    if (type == 0 || type == 1) {
        for (int i = 0; i < g->nbps; i++)
            if (g->bps[i] == addr) {
                if (!insert)
                    g->bps[i] = g->bps[--g->nbps];
                gdb_put(g, "OK");
                return;
            }
        if (insert && g->nbps < GDB_MAX_BPS)
            g->bps[g->nbps++] = addr;
        gdb_put(g, insert && g->nbps > GDB_MAX_BPS ? "E01" : "OK");
        return;
    }
    if (type != 2 || len == 0 || len > 8) {
        gdb_put(g, "");                     /* read/access watchpoints: not offered */
        return;
    }
    for (int i = 0; i < g->nwatch; i++)
        if (g->watch[i].addr == addr) {
            if (!insert)
                g->watch[i] = g->watch[--g->nwatch];
            gdb_put(g, "OK");
            return;
        }
    if (!insert || g->nwatch == 8) {
        gdb_put(g, insert ? "E01" : "OK");
        return;
    }
    struct gdb_watch *w = &g->watch[g->nwatch++];
    *w = (struct gdb_watch){ .addr = addr, .len = len };
    vm_read_linear(g->vm, addr, w->old, len);
    gdb_put(g, "OK");
}

static uint32_t guest_pc(struct vm *vm)
{
    struct cpu_state s;
    vm_guest_state(vm, &s);
    return s.seg[S_CS].base + s.eip;
}

static bool at_breakpoint(const struct gdb *g)
{
    uint32_t pc = guest_pc(g->vm);
    for (int i = 0; i < g->nbps; i++)
        if (g->bps[i] == pc)
            return true;
    return false;
}

/* A watched location changed: its index, else -1. */
static int watch_hit(struct gdb *g)
{
    for (int i = 0; i < g->nwatch; i++) {
        uint8_t now[8];
        struct gdb_watch *w = &g->watch[i];
        if (vm_read_linear(g->vm, w->addr, now, w->len) == 0 && memcmp(now, w->old, w->len)) {
            memcpy(w->old, now, w->len);
            return i;
        }
    }
    return -1;
}

/* ---- running ---- */

/* One guest instruction (under bt the TC's extra instructions too). */
static enum machine_end step_one(struct vm *vm)
{
    uint64_t before = vm_guest_insns(vm);
    enum machine_end e = END_NONE;
    for (int i = 0; i < 1000 && e == END_NONE && vm_guest_insns(vm) == before; i++)
        e = vm_run(vm, vm->m.cpu.insns + 1);
    return e;
}

static bool interrupted(struct gdb *g)
{
    struct pollfd p = { .fd = g->fd, .events = POLLIN };
    unsigned char c;
    return poll(&p, 1, 0) > 0 && recv(g->fd, &c, 1, MSG_PEEK) == 1 && c == 0x03 &&
           recv(g->fd, &c, 1, 0) == 1;
}

static void stop_reply(struct gdb *g, enum machine_end e, int watch)
{
    char out[64];
    if (e != END_NONE) {
        snprintf(out, sizeof out, "W%02x", (unsigned)cmd_run_exit_status(&g->vm->m) & 0xFFu);
    } else if (watch >= 0) {
        snprintf(out, sizeof out, "T05watch:%x;", g->watch[watch].addr);
    } else {
        snprintf(out, sizeof out, "S05");
    }
    gdb_put(g, out);
}

static void cmd_continue(struct gdb *g)
{
    enum machine_end e = step_one(g->vm);          /* off the breakpoint we stand on */
    int w = watch_hit(g);
    bool checks = g->nbps || g->nwatch;
    for (unsigned long n = 0; e == END_NONE && w < 0 && !at_breakpoint(g); n++) {
        if ((n & 0xFFF) == 0 && interrupted(g)) {
            gdb_put(g, "S02");                      /* SIGINT */
            return;
        }
        e = checks ? step_one(g->vm) : vm_run(g->vm, g->vm->m.cpu.insns + 100000);
        w = watch_hit(g);
    }
    stop_reply(g, e, w);
}

/* ---- reverse execution (bs, bc) ---- */

/* The watched locations' current values become the ones to compare with. */
static void watch_refresh(void *ctx)
{
    struct gdb *g = ctx;
    for (int i = 0; i < g->nwatch; i++)
        vm_read_linear(g->vm, g->watch[i].addr, g->watch[i].old, g->watch[i].len);
}

static int rev_watch = -1;

/* A breakpoint's address reached, or a watched location changed by the
   instruction just re-executed. */
static bool rev_hit(void *ctx)
{
    struct gdb *g = ctx;
    rev_watch = watch_hit(g);
    return rev_watch >= 0 || at_breakpoint(g);
}

static void cmd_reverse(struct gdb *g, char how)
{
    struct history *h = g->vm->hist;
    if (!h || !h->every || (how != 's' && how != 'c')) {
        gdb_put(g, "E01");                  /* no history: --checkpoint-every 0 */
        return;
    }
    int rc;
    rev_watch = -1;
    if (how == 's') {
        rc = history_reverse_step(h) == 0 ? 1 : 0;
    } else {
        rc = history_reverse_find(h, rev_hit, watch_refresh, g);
        if (rc == 1) {
            int w = rev_watch;            /* the hit, found again on the way there */
            watch_refresh(g);
            rev_watch = w;
        }
    }
    watch_refresh(g);
    if (rc <= 0) {
        gdb_put(g, "T05replaylog:begin;");  /* the start of the history kept */
        return;
    }
    char out[64];
    if (rev_watch >= 0 && rev_watch < g->nwatch)
        snprintf(out, sizeof out, "T05watch:%x;", g->watch[rev_watch].addr);
    else
        snprintf(out, sizeof out, "S05");
    gdb_put(g, out);
}

static void cmd_query(struct gdb *g, const char *q)
{
    if (!strncmp(q, "qSupported", 10))
        gdb_put(g, g->vm->hist && g->vm->hist->every
                       ? "PacketSize=1000;swbreak+;hwbreak+;ReverseStep+;ReverseContinue+"
                       : "PacketSize=1000;swbreak+;hwbreak+");
    else if (!strcmp(q, "qAttached"))
        gdb_put(g, "1");
    else if (!strcmp(q, "qC"))
        gdb_put(g, "QC1");
    else if (!strcmp(q, "qfThreadInfo"))
        gdb_put(g, "m1");
    else if (!strcmp(q, "qsThreadInfo"))
        gdb_put(g, "l");
    else
        gdb_put(g, "");
}

static void gdb_command(struct gdb *g, char *p)
{
    switch (p[0]) {
    case '?': gdb_put(g, "S05"); break;
    case 'g': cmd_read_regs(g); break;
    case 'G': cmd_write_regs(g, p + 1); break;
    case 'p': cmd_read_reg(g, p + 1); break;
    case 'P': cmd_write_reg(g, p + 1); break;
    case 'm': cmd_read_mem(g, p + 1); break;
    case 'M': cmd_write_mem(g, p + 1); break;
    case 'Z': cmd_point(g, p + 1, true); break;
    case 'z': cmd_point(g, p + 1, false); break;
    case 'c': cmd_continue(g); break;
    case 'b': cmd_reverse(g, p[1]); break;
    case 's': { enum machine_end e = step_one(g->vm); stop_reply(g, e, watch_hit(g)); break; }
    case 'H': case 'T': gdb_put(g, "OK"); break;
    case 'q': cmd_query(g, p); break;
    case 'D': gdb_put(g, "OK"); g->detached = true; break;
    case 'k': g->killed = true; break;
    default: gdb_put(g, ""); break;     /* not supported: gdb falls back */
    }
}

static int gdb_accept(int port, char *err, size_t errlen)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int one = 1, ls = socket(AF_INET, SOCK_STREAM, 0);
    if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 1)) {
        snprintf(err, errlen, "--gdb %d: %s", port, strerror(errno));
        if (ls >= 0)
            close(ls);
        return -1;
    }
    fprintf(stderr, "ringside: waiting for gdb on 127.0.0.1:%d (target remote :%d)\n", port, port);
    int fd = accept(ls, NULL, NULL);
    close(ls);
    if (fd < 0)
        snprintf(err, errlen, "--gdb %d: accept: %s", port, strerror(errno));
    return fd;
}

int gdbstub_serve(struct vm *vm, int port)
{
    char err[200];
    struct gdb *g = calloc(1, sizeof *g);
    if (!g)
        return -1;
    g->vm = vm;
    g->fd = gdb_accept(port, err, sizeof err);
    if (g->fd < 0) {
        fprintf(stderr, "ringside: %s\n", err);
        free(g);
        return -1;
    }
    char *p;
    while (!g->detached && !g->killed && (p = gdb_packet(g)))
        gdb_command(g, p);
    close(g->fd);
    if (g->killed && vm->m.end == END_NONE) {   /* as a stopped machine: status 6 */
        vm->m.end = END_HALTED;
        snprintf(vm->m.end_msg, sizeof vm->m.end_msg, "killed by gdb");
    }
    free(g);
    return 0;
}
