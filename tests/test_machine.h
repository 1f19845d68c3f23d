/*
 * test_machine.h - a tiny simulated machine for CPU unit tests: 2 MiB of flat
 * RAM, code at TM_CODE followed by HLT, every exception intercepted. Shared by
 * test_alu.c (one instruction against the host CPU) and test_exec.c (stack,
 * control transfers, the run loop).
 */
#ifndef RS_TEST_MACHINE_H
#define RS_TEST_MACHINE_H

#include <stdint.h>
#include "cpu/cpu.h"
#include "alu_ref.h"

#define TM_RAM (2u << 20)
#define TM_CODE 0x1000u
#define TM_STACK 0x80000u

struct tm {
    struct cpu cpu;
    uint8_t *ram;
};

struct tm *tm_new(void);
void tm_free(struct tm *t);
/* Run code (then HLT) from `st`; returns -1 or the intercepted vector,
   -3 for any other stop. The state is written back into `st`. */
int tm_run(struct tm *t, const uint8_t *code, int len, struct ref_state *st);

#endif
