/*
 * cost.h - the cost model: modeled cycles charged per event and per
 * instruction class (DESIGN.md §3).
 *
 * A profile is data: a name and one number per key, each default written
 * beside its source (cost.c), loadable from a text file (`--costs FILE`,
 * format in docs/costs.md). The default profile is the Pentium 4 672 that
 * Adams & Agesen measured (ASPLOS 2006), so the overheads ringside reports can
 * be put beside the paper. Virtual time (PIT, RDTSC) advances with these
 * cycles, which is why a guest that times itself sees its own overhead.
 */
#ifndef RS_COST_H
#define RS_COST_H

#include <stddef.h>
#include <stdint.h>

enum cost_key {
    /* native instruction classes (cost_class_key maps enum cost_class here) */
    COST_INSN_SIMPLE, COST_INSN_MEM, COST_INSN_BRANCH, COST_INSN_MUL, COST_INSN_DIV,
    COST_INSN_STRING, COST_INSN_SYSTEM, COST_INSN_IO,
    /* native events */
    COST_NATIVE_CLI,          /* CLI/STI on bare hardware (cost class C_CLI) */
    COST_NATIVE_SYSCALL,      /* INT n round trip from ring 3 (delivery + IRET) */
    COST_NATIVE_DIVZERO,      /* #DE delivery and return */
    COST_NATIVE_PGFAULT,      /* #PF delivery and return */
    COST_NATIVE_EXCEPTION,    /* any other exception or interrupt delivery */
    COST_NATIVE_IN,           /* each port access made by the CPU (cpu.port_cost) */
    /* VMM events */
    COST_TRAP_EMULATE,        /* privileged instruction: trap, decode, emulate, resume */
    COST_CALLOUT_EMULATE,     /* BT callout into the VMM and back */
    COST_TC_EMULATE,          /* in-TC emulation sequence (e.g. CLI on the vcpu) */
    COST_TRANSLATE_INSN,      /* translating one guest instruction */
    COST_INDIRECT,            /* extra for an indirect control transfer in the TC */
    COST_REFLECT,             /* building a virtual exception frame */
    COST_VT_ENTRY,            /* VT-x VM entry/exit round trip */
    COST_VT_PF_EXIT,          /* VT-x page-fault exit */
    COST_HIDDEN_FAULT,        /* shadow paging: hidden #PF (guest walk + shadow fill) */
    COST_TRACE_FAULT,         /* shadow paging: tracing fault (emulate the write, update) */
    COST_HOSTED_IO,           /* Type II host: world switch to the host OS and back per
                                 emulated device access */
    COST_VT_EXIT_HANDLE,      /* hw: the VMM's work for one VM exit (read the exit
                                 fields, decode, emulate) */
    COST_NPT_WALK_REF,        /* hw --npt: one memory reference a nested walk adds */
    COST_COUNT
};

struct cost_profile {
    char name[32];
    uint32_t v[COST_COUNT];   /* modeled cycles */
};

void cost_default(struct cost_profile *p);
#define COST_MAX_FILE (64u << 10)  /* largest profile file read (a real one is ~2 KiB) */
#define COST_MAX_LINE 511          /* longest line accepted */
/* Load a profile file over the defaults: a regular file of at most
   COST_MAX_FILE bytes (hostfile_read). 0, or -1 with a one-line err. */
int cost_load(struct cost_profile *p, const char *path, char *err, size_t errlen);
/* Parse profile text text[0, len) over the defaults; errors say "NAME:LINE:
   why". Never reads outside text, whatever the bytes. 0 or -1. */
int cost_parse(struct cost_profile *p, const char *text, size_t len, const char *name,
               char *err, size_t errlen);
const char *cost_key_name(enum cost_key k);   /* "trap_emulate" */
const char *cost_key_source(enum cost_key k); /* where the default comes from */
/* The key pricing native instructions of a cost class (enum cost_class in
   cpu/optable.h): C_CLI is priced by native_cli, the others by insn_*. */
enum cost_key cost_class_key(int cost_class);

#endif
