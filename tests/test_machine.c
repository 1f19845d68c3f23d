/*
 * test_machine.c - the CPU unit tests' tiny machine (test_machine.h).
 */
#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>
#include "test_machine.h"

struct tm *tm_new(void)
{
    struct tm *t = calloc(1, sizeof *t);
    t->ram = calloc(1, TM_RAM);
    struct cpu_bus bus = { .ctx = t, .ram = t->ram, .ram_size = TM_RAM };
    CU_ASSERT_FATAL(cpu_init(&t->cpu, &bus) == 0);
    cpu_reset_multiboot(&t->cpu, TM_CODE, 0, 0);
    t->cpu.intercept = 0xffffffffu;
    return t;
}

void tm_free(struct tm *t)
{
    cpu_free(&t->cpu);
    free(t->ram);
    free(t);
}

int tm_run(struct tm *t, const uint8_t *code, int len, struct ref_state *st)
{
    struct cpu *c = &t->cpu;
    memcpy(t->ram + TM_CODE, code, (size_t)len);
    t->ram[TM_CODE + len] = 0xf4;
    cpu_notify_phys_write(c, TM_CODE, (uint32_t)len + 1);
    memcpy(t->ram + REF_MEM_BASE, st->mem, REF_MEM_SIZE);
    memcpy(c->s.r, st->r, sizeof st->r);
    c->s.r[R_ESP] = TM_STACK;
    c->s.eip = TM_CODE;
    c->s.halted = false;
    cpu_set_eflags(c, (st->flags & 0x0cd5u) | FL_FIXED1);
    enum cpu_stop why = cpu_run(c, c->cycles + 10000);
    memcpy(st->r, c->s.r, sizeof st->r);
    st->flags = cpu_get_eflags(c) & 0x0cd5u;
    memcpy(st->mem, t->ram + REF_MEM_BASE, REF_MEM_SIZE);
    if (why == CPU_STOP_HLT)
        return -1;
    return why == CPU_STOP_INTERCEPT ? c->stop_vector : -3;
}

