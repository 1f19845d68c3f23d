/*
 * ops_string.c - string instructions: MOVS, STOS, LODS, SCAS, CMPS, INS,
 * OUTS, with the REP, REPE and REPNE prefixes.
 *
 * A string instruction works on DS:ESI (segment overridable) and ES:EDI
 * (never overridable), stepping both by the element size, backwards when
 * EFLAGS.DF is set; the address size picks ESI/EDI/ECX or SI/DI/CX (SDM
 * vol. 1, 7.3.9). With a REP prefix it repeats ECX times; REPE/REPNE on
 * CMPS and SCAS also stop when ZF says so. Each iteration does its memory
 * accesses and then updates the registers, so a fault in iteration k leaves
 * k iterations done and EIP at the instruction: restarting it resumes the
 * loop, exactly as the SDM describes (vol. 2, REP). For the same reason a
 * long REP yields after REP_CHUNK iterations by restarting itself, which
 * lets interrupts and the cycle budget in.
 */
#include "ops.h"

struct strctx {
    int size;          /* element size */
    uint32_t am;       /* address-size mask */
    uint32_t step;     /* +size or -size */
};

static void str_init(struct cpu *cpu, const struct insn *in, struct strctx *c)
{
    c->size = (in->row->attr & A_BYTE) ? 1 : in->opsize;
    c->am = ad_mask(in);
    c->step = (cpu->s.eflags & FL_DF) ? (uint32_t)-c->size : (uint32_t)c->size;
}

static uint32_t idx(struct cpu *cpu, const struct strctx *c, int reg)
{
    return cpu->s.r[reg] & c->am;
}

static void idx_step(struct cpu *cpu, const struct strctx *c, int reg)
{
    uint32_t *r = &cpu->s.r[reg];
    *r = (*r & ~c->am) | ((*r + c->step) & c->am);
}

/* One element; returns false when a REPE/REPNE condition ends the loop. */
typedef bool (*str_step_fn)(struct cpu *cpu, const struct insn *in,
                            const struct strctx *c);

static bool step_movs(struct cpu *cpu, const struct insn *in, const struct strctx *c)
{
    uint32_t v = mem_read(cpu, in->seg, idx(cpu, c, R_ESI), c->size);
    mem_write(cpu, S_ES, idx(cpu, c, R_EDI), c->size, v);
    idx_step(cpu, c, R_ESI);
    idx_step(cpu, c, R_EDI);
    return true;
}

static bool step_stos(struct cpu *cpu, const struct insn *in, const struct strctx *c)
{
    mem_write(cpu, S_ES, idx(cpu, c, R_EDI), c->size, reg_read(cpu, R_EAX, c->size));
    idx_step(cpu, c, R_EDI);
    return true;
}

static bool step_lods(struct cpu *cpu, const struct insn *in, const struct strctx *c)
{
    uint32_t v = mem_read(cpu, in->seg, idx(cpu, c, R_ESI), c->size);
    reg_write(cpu, R_EAX, c->size, v);
    idx_step(cpu, c, R_ESI);
    return true;
}

/* REPE continues while equal (ZF=1), REPNE while not equal. */
static bool rep_cond(const struct insn *in, uint32_t a, uint32_t b)
{
    return in->rep == 0xF3 ? a == b : a != b;
}

static bool step_scas(struct cpu *cpu, const struct insn *in, const struct strctx *c)
{
    uint32_t a = reg_read(cpu, R_EAX, c->size);
    uint32_t b = mem_read(cpu, S_ES, idx(cpu, c, R_EDI), c->size);
    lf_set(cpu, LF_SUB, c->size, a, b, (a - b) & size_mask(c->size), 0);
    idx_step(cpu, c, R_EDI);
    return rep_cond(in, a, b);
}

static bool step_cmps(struct cpu *cpu, const struct insn *in, const struct strctx *c)
{
    uint32_t a = mem_read(cpu, in->seg, idx(cpu, c, R_ESI), c->size);
    uint32_t b = mem_read(cpu, S_ES, idx(cpu, c, R_EDI), c->size);
    lf_set(cpu, LF_SUB, c->size, a, b, (a - b) & size_mask(c->size), 0);
    idx_step(cpu, c, R_ESI);
    idx_step(cpu, c, R_EDI);
    return rep_cond(in, a, b);
}

/* INS checks the destination before the port read, whose side effects
   cannot be undone. Permission (IOPL / I/O bitmap) is io_allowed's. */
static bool step_ins(struct cpu *cpu, const struct insn *in, const struct strctx *c)
{
    uint16_t port = (uint16_t)cpu->s.r[R_EDX];
    io_allowed(cpu, port, c->size);
    mem_check_write(cpu, S_ES, idx(cpu, c, R_EDI), (uint32_t)c->size);
    uint32_t v = port_in(cpu, port, c->size);
    mem_write(cpu, S_ES, idx(cpu, c, R_EDI), c->size, v);
    idx_step(cpu, c, R_EDI);
    return true;
}

static bool step_outs(struct cpu *cpu, const struct insn *in, const struct strctx *c)
{
    uint16_t port = (uint16_t)cpu->s.r[R_EDX];
    io_allowed(cpu, port, c->size);
    uint32_t v = mem_read(cpu, in->seg, idx(cpu, c, R_ESI), c->size);
    port_out(cpu, port, c->size, v);
    idx_step(cpu, c, R_ESI);
    return true;
}

/* The REP loop: ECX counts down after each element. */
static void string_run(struct cpu *cpu, const struct insn *in, str_step_fn step)
{
    struct strctx c;
    str_init(cpu, in, &c);
    if (!in->rep) {
        step(cpu, in, &c);
        return;
    }
    bool cond = in->row->attr & A_REPCOND;
    for (unsigned n = 0; (cpu->s.r[R_ECX] & c.am) != 0; n++) {
        if (n == REP_CHUNK) {
            cpu->s.eip = cpu->insn_eip;  /* resume later */
            return;
        }
        if (n > 0)
            cpu->cycles += cpu->class_cost[C_STRING];
        bool go = step(cpu, in, &c);
        uint32_t *ecx = &cpu->s.r[R_ECX];
        *ecx = (*ecx & ~c.am) | ((*ecx - 1) & c.am);
        if (cond && !go)
            return;
    }
}

void op_movs(struct cpu *cpu, const struct insn *in) { string_run(cpu, in, step_movs); }
void op_stos(struct cpu *cpu, const struct insn *in) { string_run(cpu, in, step_stos); }
void op_lods(struct cpu *cpu, const struct insn *in) { string_run(cpu, in, step_lods); }
void op_scas(struct cpu *cpu, const struct insn *in) { string_run(cpu, in, step_scas); }
void op_cmps(struct cpu *cpu, const struct insn *in) { string_run(cpu, in, step_cmps); }
void op_ins(struct cpu *cpu, const struct insn *in) { string_run(cpu, in, step_ins); }
void op_outs(struct cpu *cpu, const struct insn *in) { string_run(cpu, in, step_outs); }
