/*
 * cost.c - the default cost profile, its sources, and the profile file parser.
 *
 * Every default below carries its source. Numbers from Adams & Agesen 2006
 * ("A Comparison of Software and Hardware Techniques for x86 Virtualization",
 * ASPLOS XII), measured on a 3.8 GHz Pentium 4 672, are quoted as "A&A06" with
 * the section or figure. Numbers that are ringside's own modelling choices say
 * so: a course should be able to see which cells are measured and which are
 * assumed.
 */
#include "cost.h"
#include "cpu/optable.h"
#include "hw/hostfile.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    uint32_t value;
    const char *source;
} cost_defaults[COST_COUNT] = {
    [COST_INSN_SIMPLE]  = { "insn_simple", 1, "model: ALU/move/LEA retire at about 1 per cycle on a P4" },
    [COST_INSN_MEM]     = { "insn_mem", 1, "model: L1 hits pipelined with the ALU op" },
    [COST_INSN_BRANCH]  = { "insn_branch", 1, "model: predicted branch" },
    [COST_INSN_MUL]     = { "insn_mul", 10, "model: P4 integer multiply latency ~10" },
    [COST_INSN_DIV]     = { "insn_div", 40, "model: P4 32-bit divide latency ~40" },
    [COST_INSN_STRING]  = { "insn_string", 1, "model: per string iteration" },
    [COST_INSN_SYSTEM]  = { "insn_system", 20, "model: serializing system instructions" },
    [COST_INSN_IO]      = { "insn_io", 1, "model: the instruction; each port access adds native_in" },
    [COST_NATIVE_CLI]   = { "native_cli", 60, "A&A06 as quoted by issue 4 (native CLI 60; fig. 4 cr8wr native 150): prices the CLI/STI rows (cost class C_CLI)" },
    [COST_NATIVE_SYSCALL] = { "native_syscall", 242, "A&A06 fig. 4: syscall, native" },
    [COST_NATIVE_DIVZERO] = { "native_divzero", 889, "A&A06 fig. 4: divzero, native" },
    [COST_NATIVE_PGFAULT] = { "native_pgfault", 1093, "A&A06 fig. 4: pgfault, native" },
    [COST_NATIVE_EXCEPTION] = { "native_exception", 889, "model: other faults cost like divzero (A&A06 fig. 4)" },
    [COST_NATIVE_IN]    = { "native_in", 3209, "A&A06 fig. 4: in (port 0x80), native" },
    [COST_TRAP_EMULATE] = { "trap_emulate", 2030, "A&A06 sec. 6.1: trap-and-emulate of a privileged instruction" },
    [COST_CALLOUT_EMULATE] = { "callout_emulate", 1254, "A&A06 sec. 6.1: callout-and-emulate" },
    [COST_TC_EMULATE]   = { "tc_emulate", 216, "A&A06 fig. 4: in, BT (emulated in the TC)" },
    [COST_TRANSLATE_INSN] = { "translate_insn", 2300, "A&A06 sec. 6.2: translation cost per guest instruction" },
    [COST_INDIRECT]     = { "indirect", 40, "A&A06 fig. 4: call/ret 11 native vs 51 BT" },
    [COST_REFLECT]      = { "reflect", 1000, "model: building the guest's exception frame in the VMM" },
    [COST_VT_ENTRY]     = { "vt_entry", 2409, "A&A06 sec. 6.1: VM entry + exit round trip (P4 672)" },
    [COST_VT_PF_EXIT]   = { "vt_pf_exit", 1931, "A&A06 sec. 6.1: page-fault exit" },
    [COST_HIDDEN_FAULT] = { "hidden_fault", 2300, "model: a #PF into the VMM priced like trap_emulate (A&A06 sec. 6.1, 2030) plus ~270 for walking the guest tables and filling one shadow PTE" },
    [COST_HOSTED_IO]    = { "hosted_io", 19000, "estimate: Type II (VMware Workstation's hosted architecture, Sugerman et al., USENIX 2001): each emulated device access switches from the VMM world to the host OS world and back and calls the host's driver; about 5 us at 3.8 GHz" },
    [COST_VT_EXIT_HANDLE] = { "vt_exit_handle", 600, "model: the hardware VMM's handler for one exit (read the exit fields with VMREAD, decode the instruction, run the shared emulation routine); priced below a BT callout-and-emulate (1254, A&A06 sec. 6.1), which also pays a world switch of its own" },
    [COST_NPT_WALK_REF] = { "npt_walk_ref", 20, "model: one nested-table entry read on a TLB miss, priced as a cache hit of a few tens of cycles (not measured); a 2-level guest walk under a 2-level nested table reads up to 6 such entries besides the native 2 ((n+1)(m+1)-1 references: Bhargava et al., ASPLOS 2008)" },
    [COST_TRACE_FAULT]  = { "trace_fault", 2400, "model: a #PF into the VMM (2030, as trap_emulate) plus decoding/performing the write and updating the shadow; A&A06 fig. 4 ptemod under VT (12733) is this plus exits, BT after adaptation 391" },
};

void cost_default(struct cost_profile *p)
{
    snprintf(p->name, sizeof p->name, "p4-672");
    for (int k = 0; k < COST_COUNT; k++)
        p->v[k] = cost_defaults[k].value;
}

const char *cost_key_name(enum cost_key k)
{
    return (unsigned)k < COST_COUNT ? cost_defaults[k].name : "?";
}

const char *cost_key_source(enum cost_key k)
{
    return (unsigned)k < COST_COUNT ? cost_defaults[k].source : "?";
}

enum cost_key cost_class_key(int cost_class)
{
    static const enum cost_key keys[C_COUNT] = {
        [C_SIMPLE] = COST_INSN_SIMPLE, [C_MEM] = COST_INSN_MEM, [C_BRANCH] = COST_INSN_BRANCH,
        [C_MUL] = COST_INSN_MUL, [C_DIV] = COST_INSN_DIV, [C_STRING] = COST_INSN_STRING,
        [C_SYSTEM] = COST_INSN_SYSTEM, [C_IO] = COST_INSN_IO, [C_CLI] = COST_NATIVE_CLI,
    };
    return cost_class >= 0 && cost_class < C_COUNT ? keys[cost_class] : COST_INSN_SIMPLE;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = 0;
    return s;
}

static int cost_find(const char *key)
{
    for (int k = 0; k < COST_COUNT; k++)
        if (!strcmp(key, cost_defaults[k].name))
            return k;
    return -1;
}

/* One "key = value" line (comment already stripped). 0 or -1 with err. */
static int cost_line(struct cost_profile *p, char *line, char *err, size_t errlen)
{
    char *eq = strchr(line, '=');
    if (!eq) {
        snprintf(err, errlen, "expected 'key = value', got '%.40s'", line);
        return -1;
    }
    *eq = 0;
    char *key = trim(line), *val = trim(eq + 1);
    if (!strcmp(key, "name")) {
        snprintf(p->name, sizeof p->name, "%s", val);
        return 0;
    }
    int k = cost_find(key);
    char *end;
    errno = 0;
    unsigned long v = strtoul(val, &end, 10);
    if (k < 0) {
        snprintf(err, errlen, "unknown cost '%.40s'", key);
        return -1;
    }
    if (!*val || *end || errno || v > 100000000ul || *val == '-') {
        snprintf(err, errlen, "%s: '%.20s' is not a cycle count", key, val);
        return -1;
    }
    p->v[k] = (uint32_t)v;
    return 0;
}

int cost_parse(struct cost_profile *p, const char *text, size_t len, const char *name,
               char *err, size_t errlen)
{
    char line[COST_MAX_LINE + 1], why[160];
    int lineno = 0;
    cost_default(p);
    for (size_t at = 0; at < len;) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t n = (nl ? (size_t)(nl - text) : len) - at;
        lineno++;
        if (n > COST_MAX_LINE || memchr(text + at, 0, n)) {
            snprintf(err, errlen, "%s:%d: %s", name, lineno,
                     n > COST_MAX_LINE ? "line too long (not a cost profile?)"
                                       : "NUL byte (not a text file)");
            return -1;
        }
        memcpy(line, text + at, n);
        line[n] = 0;
        at += n + 1;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        char *s = trim(line);
        if (*s && cost_line(p, s, why, sizeof why) != 0) {
            snprintf(err, errlen, "%s:%d: %s", name, lineno, why);
            return -1;
        }
    }
    return 0;
}

int cost_load(struct cost_profile *p, const char *path, char *err, size_t errlen)
{
    uint8_t *text;
    size_t len;
    cost_default(p);
    if (hostfile_read(path, COST_MAX_FILE, &text, &len, err, errlen) != 0)
        return -1;
    int rc = cost_parse(p, (const char *)text, len, path, err, errlen);
    free(text);
    return rc;
}
