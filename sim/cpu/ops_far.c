/*
 * ops_far.c - far transfers: JMP, CALL and RET through code segments and
 * call gates, and IRET (Intel SDM vol. 2: JMP, CALL, RET, IRET; vol. 3, 5.8).
 *
 * A far transfer loads CS from a descriptor, so it carries every protected-
 * mode rule the manual lists: conforming and non-conforming code, RPL/DPL/CPL
 * checks, call gates with a stack switch to a more privileged level, returns
 * to an outer level that nullify data segments the new CPL may not use. All
 * checks happen before any register changes, so a fault leaves the
 * instruction undone. A TSS descriptor or task gate as the target, and IRET
 * with NT = 1, are task switches (task.c). Far CALL/JMP/RET are also sensitive (Robin & Irvine):
 * the CS they push or load shows the real CPL in its RPL.
 */
#include <stddef.h>
#include "ops_system.h"

/* ---- far transfers (SDM vol. 2 JMP, CALL, RET, IRET; vol. 3, 5.8) ---- */

/* A code segment as the direct target of a far JMP or CALL. */
static void far_check_code(struct cpu *cpu, uint16_t sel, uint64_t d)
{
    unsigned dpl = desc_dpl(d), cpl = (unsigned)cpu->s.cpl;
    if (!desc_is_code(d))
        cpu_raise_sel(cpu, EXC_GP, sel);
    if (desc_is_conforming(d) ? dpl > cpl : ((sel & 3u) > cpl || dpl != cpl))
        cpu_raise_sel(cpu, EXC_GP, sel);
    if (!desc_present(d))
        cpu_raise_sel(cpu, EXC_NP, sel);
}

static void far_check_eip(struct cpu *cpu, uint64_t d, uint32_t eip)
{
    struct seg s;
    seg_from_desc(&s, 0, d);
    if (eip > s.limit)
        cpu_raise(cpu, EXC_GP, 0);
}

static void far_commit(struct cpu *cpu, uint16_t sel, uint64_t d, uint32_t eip,
                       int cpl)
{
    cpu->s.eip = eip;
    seg_load_cs(cpu, sel, d, cpl);
}

/* Push the return address CS:EIP on the current stack. */
static void far_push_return(struct cpu *cpu, int size)
{
    uint32_t vals[2] = { cpu->s.seg[S_CS].sel, cpu->s.eip };
    uint32_t sp = cpu->s.r[R_ESP];
    stack_push_frame(cpu, &cpu->s.seg[S_SS], &sp, vals, 2, size,
                     cpu->s.cpl == 3, 0);
    cpu->s.r[R_ESP] = sp;
}

/* A call gate and its target code segment (SDM vol. 3, 5.8.4). */
struct gate_target {
    uint64_t code;  /* target code descriptor */
    uint16_t sel;   /* target code selector */
    uint32_t eip;   /* entry point */
    int size;       /* 4: 32-bit gate, 2: 16-bit gate */
    int params;     /* parameter count to copy on a stack switch */
};

static void gate_target(struct cpu *cpu, uint16_t gsel, uint64_t g,
                        struct gate_target *t)
{
    unsigned gdpl = desc_dpl(g);
    if (gdpl < (unsigned)cpu->s.cpl || gdpl < (gsel & 3u))
        cpu_raise_sel(cpu, EXC_GP, gsel);
    if (!desc_present(g))
        cpu_raise_sel(cpu, EXC_NP, gsel);
    t->sel = gate_sel(g);
    if ((t->sel & 0xfffcu) == 0)
        cpu_raise(cpu, EXC_GP, 0);
    t->code = seg_read_desc(cpu, t->sel, EXC_GP);
    if (!desc_is_code(t->code) || desc_dpl(t->code) > (unsigned)cpu->s.cpl)
        cpu_raise_sel(cpu, EXC_GP, t->sel);
    if (!desc_present(t->code))
        cpu_raise_sel(cpu, EXC_NP, t->sel);
    t->size = (desc_type(g) & 8u) ? 4 : 2;
    t->eip = t->size == 4 ? gate_offset(g) : gate_offset(g) & 0xffffu;
    t->params = (int)(desc_hi(g) & 0x1fu);
    far_check_eip(cpu, t->code, t->eip);
}

/* Read the descriptor of a far JMP/CALL target: a code segment, a call
   gate, or a TSS / task gate (types 1, 3, 5, 9, 11: task.c decides). */
static bool is_task_type(unsigned type)
{
    return (type & 5u) == 1u || type == 5u;
}

static uint64_t far_target(struct cpu *cpu, uint16_t sel)
{
    if ((sel & 0xfffcu) == 0)
        cpu_raise(cpu, EXC_GP, 0);
    uint64_t d = seg_read_desc(cpu, sel, EXC_GP);
    if (desc_s(d))
        return d;
    unsigned type = desc_type(d);
    if (type != 4u && type != 0xcu && !is_task_type(type))
        cpu_raise_sel(cpu, EXC_GP, sel);
    return d;
}

/* JMP/CALL straight to a code segment (not through a gate): the SDM's
   checks, then for CALL the return address, then CS:EIP at the same CPL. */
static void far_direct(struct cpu *cpu, uint16_t sel, uint64_t d, uint32_t eip, int opsize,
                       bool call)
{
    if (opsize == 2)
        eip &= 0xffffu;
    far_check_code(cpu, sel, d);
    far_check_eip(cpu, d, eip);
    if (call)
        far_push_return(cpu, opsize);
    far_commit(cpu, sel, d, eip, cpu->s.cpl);
}

static void far_jump(struct cpu *cpu, uint16_t sel, uint32_t eip, int opsize)
{
    uint64_t d = far_target(cpu, sel);
    if (desc_s(d)) {
        far_direct(cpu, sel, d, eip, opsize, false);
        return;
    }
    if (is_task_type(desc_type(d))) {
        task_far(cpu, sel, d, false, cpu->s.eip);
        return;
    }
    struct gate_target t;
    gate_target(cpu, sel, d, &t);
    if (!desc_is_conforming(t.code) && (int)desc_dpl(t.code) != cpu->s.cpl)
        cpu_raise_sel(cpu, EXC_GP, t.sel);
    far_commit(cpu, t.sel, t.code, t.eip, cpu->s.cpl);
}

/* CALL through a gate to a more privileged non-conforming segment: switch
   to the TSS stack, copy `params` parameters, push the return frame. */
static void call_gate_inner(struct cpu *cpu, const struct gate_target *t)
{
    int dpl = (int)desc_dpl(t->code), n = 0;
    uint16_t nss;
    uint32_t nsp, vals[40];
    tss_stack(cpu, dpl, &nss, &nsp, 0);
    uint64_t ssd = seg_check_stack(cpu, nss, dpl, EXC_TS, 0);
    vals[n++] = cpu->s.seg[S_SS].sel;
    vals[n++] = cpu->s.r[R_ESP];
    for (int i = t->params - 1; i >= 0; i--)
        vals[n++] = stack_read_at(cpu, (uint32_t)(i * t->size), t->size);
    vals[n++] = cpu->s.seg[S_CS].sel;
    vals[n++] = cpu->s.eip;
    struct seg ss;
    seg_from_desc(&ss, nss, ssd);
    stack_push_frame(cpu, &ss, &nsp, vals, n, t->size, false, nss & 0xfffcu);
    seg_commit(cpu, &cpu->s.seg[S_SS], nss, ssd);
    cpu->s.r[R_ESP] = nsp;
    far_commit(cpu, t->sel, t->code, t->eip, dpl);
}

static void far_call(struct cpu *cpu, uint16_t sel, uint32_t eip, int opsize)
{
    uint64_t d = far_target(cpu, sel);
    if (desc_s(d)) {
        far_direct(cpu, sel, d, eip, opsize, true);
        return;
    }
    if (is_task_type(desc_type(d))) {
        task_far(cpu, sel, d, true, cpu->s.eip);
        return;
    }
    struct gate_target t;
    gate_target(cpu, sel, d, &t);
    if (!desc_is_conforming(t.code) && (int)desc_dpl(t.code) < cpu->s.cpl) {
        call_gate_inner(cpu, &t);
        return;
    }
    far_push_return(cpu, t.size);
    far_commit(cpu, t.sel, t.code, t.eip, cpu->s.cpl);
}

/* ptr16:16/32 immediate: offset in imm, selector in imm2. */
void op_jmp_far(struct cpu *cpu, const struct insn *in)
{
    far_jump(cpu, (uint16_t)in->imm2, in->imm, in->opsize);
}

void op_call_far(struct cpu *cpu, const struct insn *in)
{
    far_call(cpu, (uint16_t)in->imm2, in->imm, in->opsize);
}

/* m16:16/32 operand: offset first, then the selector. */
static void read_far_ptr(struct cpu *cpu, const struct insn *in, uint16_t *sel,
                         uint32_t *off)
{
    uint32_t ea = insn_ea(cpu, in);
    *off = mem_read(cpu, in->seg, ea, in->opsize);
    *sel = (uint16_t)mem_read(cpu, in->seg, ea + in->opsize, 2);
}

void op_jmp_far_m(struct cpu *cpu, const struct insn *in)
{
    uint16_t sel;
    uint32_t off;
    read_far_ptr(cpu, in, &sel, &off);
    far_jump(cpu, sel, off, in->opsize);
}

void op_call_far_m(struct cpu *cpu, const struct insn *in)
{
    uint16_t sel;
    uint32_t off;
    read_far_ptr(cpu, in, &sel, &off);
    far_call(cpu, sel, off, in->opsize);
}

/* The code segment a RET/IRET returns to (RPL >= CPL). */
static uint64_t ret_check_code(struct cpu *cpu, uint16_t cs)
{
    if ((cs & 0xfffcu) == 0)
        cpu_raise(cpu, EXC_GP, 0);
    uint64_t d = seg_read_desc(cpu, cs, EXC_GP);
    unsigned rpl = cs & 3u, dpl = desc_dpl(d);
    if (rpl < (unsigned)cpu->s.cpl || !desc_is_code(d))
        cpu_raise_sel(cpu, EXC_GP, cs);
    if (desc_is_conforming(d) ? dpl > rpl : dpl != rpl)
        cpu_raise_sel(cpu, EXC_GP, cs);
    if (!desc_present(d))
        cpu_raise_sel(cpu, EXC_NP, cs);
    return d;
}

static void sp_add(struct cpu *cpu, uint32_t n)
{
    uint32_t mask = seg_sp_mask(&cpu->s.seg[S_SS]), esp = cpu->s.r[R_ESP];
    cpu->s.r[R_ESP] = (esp & ~mask) | ((esp + n) & mask);
}

/* EFLAGS from IRET: IF only if CPL <= IOPL, IOPL only at CPL 0. */
static void iret_flags(struct cpu *cpu, uint32_t fl, int size)
{
    int iopl = (int)((cpu->s.eflags & FL_IOPL) >> 12);
    uint32_t mask = FL_ARITH | FL_TF | FL_DF | FL_NT;
    if (size == 4)
        mask |= FL_RF | FL_AC | FL_ID;
    if (cpu->s.cpl <= iopl)
        mask |= FL_IF;
    if (cpu->s.cpl == 0)
        mask |= FL_IOPL;
    flags_set(cpu, fl, mask);
}

/* Return to an outer level (RET far, IRET): SS:ESP are read from offset
   `off`; IRET passes its popped EFLAGS, applied with the old CPL. */
static void ret_outer(struct cpu *cpu, uint16_t cs, uint64_t d, uint32_t eip,
                      uint32_t off, int size, const uint32_t *iret_fl)
{
    int rpl = cs & 3;
    uint32_t nsp = stack_read_at(cpu, off, size);
    uint16_t nss = (uint16_t)stack_read_at(cpu, off + (uint32_t)size, 2);
    uint64_t ssd = seg_check_stack(cpu, nss, rpl, EXC_GP, 0);
    far_check_eip(cpu, d, eip);
    if (iret_fl)
        iret_flags(cpu, *iret_fl, size);
    far_commit(cpu, cs, d, eip, rpl);
    seg_commit(cpu, &cpu->s.seg[S_SS], nss, ssd);
    cpu->s.r[R_ESP] = size == 4 ? nsp : (cpu->s.r[R_ESP] & ~0xffffu) | (nsp & 0xffffu);
    seg_null_outer(cpu);
}

/* RET far [imm16]: the immediate is released from both stacks. */
void op_ret_far(struct cpu *cpu, const struct insn *in)
{
    int size = in->opsize;
    uint32_t imm = in->row->opd[0] == O_Iw ? in->imm & 0xffffu : 0;
    uint32_t eip = stack_read_at(cpu, 0, size);
    uint16_t cs = (uint16_t)stack_read_at(cpu, (uint32_t)size, 2);
    uint64_t d = ret_check_code(cpu, cs);
    if ((int)(cs & 3u) == cpu->s.cpl) {
        far_check_eip(cpu, d, eip);
        sp_add(cpu, 2u * (uint32_t)size + imm);
        far_commit(cpu, cs, d, eip, cpu->s.cpl);
        return;
    }
    ret_outer(cpu, cs, d, eip, 2u * (uint32_t)size + imm, size, NULL);
    sp_add(cpu, imm);
}

void op_iret(struct cpu *cpu, const struct insn *in)
{
    int size = in->opsize;
    if (flags_get(cpu) & FL_NT) {
        task_return(cpu, cpu->s.eip);            /* back to the previous task */
        return;
    }
    uint32_t eip = stack_read_at(cpu, 0, size);
    uint16_t cs = (uint16_t)stack_read_at(cpu, (uint32_t)size, 2);
    uint32_t fl = stack_read_at(cpu, 2u * (uint32_t)size, size);
    if (size == 4 && cpu->s.cpl == 0 && (fl & FL_VM))
        cpu_unsupported(cpu, "virtual-8086 mode is not supported");
    uint64_t d = ret_check_code(cpu, cs);
    if ((int)(cs & 3u) == cpu->s.cpl) {
        far_check_eip(cpu, d, eip);
        sp_add(cpu, 3u * (uint32_t)size);
        iret_flags(cpu, fl, size);
        far_commit(cpu, cs, d, eip, cpu->s.cpl);
        return;
    }
    ret_outer(cpu, cs, d, eip, 3u * (uint32_t)size, size, &fl);
}
