/*
 * operand.c - operand access for decoded instructions.
 *
 * The decoder leaves an instruction's operands as kinds (the row's opd[])
 * plus ModRM fields, a displacement and immediates; this file turns them
 * into values: the effective address of a memory operand (SDM vol. 1, 3.7.5:
 * base + index * scale + displacement, truncated to the address size), the
 * general registers with their 8- and 16-bit views (AL..BH are the low and
 * high bytes of EAX..EBX), and a generic read/write of operand n used by the
 * small handlers. Memory goes through mem_read/mem_write (segmentation and
 * paging checks, faults).
 */
#include <assert.h>
#include "exec_internal.h"

uint32_t insn_ea(struct cpu *cpu, const struct insn *in)
{
    uint32_t ea = in->disp;
    if (in->base < 8)
        ea += cpu->s.r[in->base];
    if (in->index < 8)
        ea += cpu->s.r[in->index] << in->scale;
    return ea & ad_mask(in);
}

uint32_t reg_read(struct cpu *cpu, int reg, int size)
{
    return reg_get(cpu, reg, size);
}

void reg_write(struct cpu *cpu, int reg, int size, uint32_t val)
{
    reg_put(cpu, reg, size, val);
}

uint32_t rm_read(struct cpu *cpu, const struct insn *in, int size)
{
    if (in->mod == 3)
        return reg_read(cpu, in->rm, size);
    return mem_read(cpu, in->seg, insn_ea(cpu, in), size);
}

void rm_write(struct cpu *cpu, const struct insn *in, int size, uint32_t val)
{
    if (in->mod == 3)
        reg_write(cpu, in->rm, size, val);
    else
        mem_write(cpu, in->seg, insn_ea(cpu, in), size, val);
}

const uint8_t opd_kind_size[O_COUNT] = {
    [O_Eb] = 1, [O_Gb] = 1, [O_Ib] = 1, [O_Jb] = 1, [O_Ob] = 1, [O_Zb] = 1,
    [O_AL] = 1, [O_CL] = 1, [O_ONE] = 1,
    [O_Ew] = 2, [O_Gw] = 2, [O_Iw] = 2, [O_Sw] = 2, [O_DX] = 2, [O_SEG] = 2,
    [O_Ed] = 4, [O_Gd] = 4, [O_Cd] = 4, [O_Dd] = 4,
};

int insn_opd_size(const struct insn *in, int n)
{
    return opd_size(in, n);
}

uint32_t opd_read_slow(struct cpu *cpu, const struct insn *in, int n)
{
    int kind = in->row->opd[n], size = opd_size(in, n);
    switch (kind) {
    case O_Eb: case O_Ew: case O_Ev: case O_Ed:
        return rm_read(cpu, in, size);
    case O_Gb: case O_Gw: case O_Gv: case O_Gd:
        return reg_read(cpu, in->reg, size);
    case O_Zb: case O_Zv:
        return reg_read(cpu, in->opcode & 7, size);
    case O_AL: case O_eAX:
        return reg_read(cpu, R_EAX, size);
    case O_CL:
        return cpu->s.r[R_ECX] & 0xffu;
    case O_DX:
        return cpu->s.r[R_EDX] & 0xffffu;
    case O_ONE:
        return 1;
    case O_Ob: case O_Ov:
        return mem_read(cpu, in->seg, in->disp, size);
    case O_Ib: case O_Ibs: case O_Iw: case O_Iv: case O_Jb: case O_Jv:
        return in->imm & size_mask(size);
    default:
        assert(!"opd_read: operand kind without a generic value");
        return 0;
    }
}

void opd_write_slow(struct cpu *cpu, const struct insn *in, int n, uint32_t val)
{
    int kind = in->row->opd[n], size = opd_size(in, n);
    switch (kind) {
    case O_Eb: case O_Ew: case O_Ev: case O_Ed:
        rm_write(cpu, in, size, val);
        break;
    case O_Gb: case O_Gw: case O_Gv: case O_Gd:
        reg_write(cpu, in->reg, size, val);
        break;
    case O_Zb: case O_Zv:
        reg_write(cpu, in->opcode & 7, size, val);
        break;
    case O_AL: case O_eAX:
        reg_write(cpu, R_EAX, size, val);
        break;
    case O_Ob: case O_Ov:
        mem_write(cpu, in->seg, in->disp, size, val);
        break;
    default:
        assert(!"opd_write: operand kind is not writable");
    }
}
