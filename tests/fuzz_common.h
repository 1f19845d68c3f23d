/*
 * fuzz_common.h - what the differential fuzzers share (fuzz_bt.c, the
 * sequence-level BT fuzzer, and fuzz_kernel*.c, the whole-kernel fuzzer):
 * the seeded PRNG, a machine per engine, the guest-visible EFLAGS of a
 * machine under any engine, and the Capstone listing of a reproducer.
 */
#ifndef RS_FUZZ_COMMON_H
#define RS_FUZZ_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "machine.h"

/* xorshift32: the fuzzers' only randomness (a seed is a reproducer). */
static inline uint32_t fuzz_rnd(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* A machine with mem_mib MiB of RAM under `mode`, or NULL. */
struct machine *fuzz_machine_new(enum machine_mode mode, uint32_t mem_mib);
void fuzz_machine_free(struct machine *m);
/* EFLAGS as the guest sees them (virtual IF and IOPL under a VMM). */
uint32_t fuzz_guest_eflags(struct machine *m);
/* Disassemble n bytes at guest address `addr`: one "mnemonic operands;"
   after another on one line, or one instruction a line ("addr: bytes  text")
   after `indent`. */
void fuzz_disasm(FILE *f, const uint8_t *b, size_t n, uint32_t addr, bool one_line,
                 const char *indent);

#endif
