/*
 * emulate_seg.c - the emulation library, part 2: segments, far transfers,
 * IRET, PUSHF/POPF and INT n.
 *
 * These are the operations ring compression breaks. The guest kernel runs
 * at ring 1 with its ring-0 descriptors shown as DPL 1, so a selector with
 * RPL 0 for SS, or a far RET/IRET to a ring-0 code selector, faults on the
 * hardware (SDM vol. 3, 5.8 and 6.12: RPL < CPL) although it is legal for
 * the guest. The monitor re-executes the operation here with the guest's own
 * descriptors and the *virtual* CPL: if the SDM's checks pass, the hardware
 * register is loaded from the shadow GDT with RPL 1 in place of 0, and the
 * vcpu remembers the selector the guest thinks it loaded; if they fail, the
 * guest gets exactly the fault bare hardware would have raised. Call gates,
 * 16-bit IRET, guest rings 1 and 2 and code segments based in
 * the VMM region stop the run: nothing in ringside's samples uses them.
 * Segment loads at any virtual CPL arrive here (data descriptors are not
 * present in the shadow, the hardware LDT is empty), and land through
 * hw_load_seg, which reads the guest's descriptor again (docs/isolation.md).
 */
#include "vmm_internal.h"

#include <string.h>

#define CODE_IN_REGION "a code segment based in the top 4 MiB (the VMM region) is not supported"

static int emu_stop_seg(struct vmm *v, const char *msg)
{
    v->stop_msg = msg;
    return EMU_STOP;
}

/* Hardware RPL for a guest privilege level (ring compression). */
static int hw_rpl(int guest_rpl)
{
    return guest_rpl == 0 ? 1 : guest_rpl;
}

/* Load a data or stack segment register at the virtual CPL (SDM vol. 3, 5.10.1,
   MOV/POP sreg checks in vol. 2). */
static int seg_check(struct vmm *v, int sreg, uint16_t sel, struct emu_fault *f)
{
    int cpl = v->vc.cpl, rpl = sel & 3;
    uint64_t d;
    if ((sel & 0xFFFCu) == 0)
        return sreg == S_SS ? emu_fault(f, EXC_GP, 0) : EMU_NEXT;
    if (!guest_desc(v, sel, &d) || !desc_s(d))
        return emu_fault(f, EXC_GP, sel & 0xFFFCu);
    unsigned type = desc_type(d), dpl = desc_dpl(d);
    if (sreg == S_SS) {
        if (rpl != cpl || (int)dpl != cpl || (type & 8u) || !(type & 2u))
            return emu_fault(f, EXC_GP, sel & 0xFFFCu);
        return desc_present(d) ? EMU_NEXT : emu_fault(f, EXC_SS, sel & 0xFFFCu);
    }
    if ((type & 8u) && !(type & 2u))
        return emu_fault(f, EXC_GP, sel & 0xFFFCu);      /* execute-only code */
    bool conforming_code = (type & 0xCu) == 0xCu;
    if (!conforming_code && (int)dpl < (cpl > rpl ? cpl : rpl))
        return emu_fault(f, EXC_GP, sel & 0xFFFCu);
    return desc_present(d) ? EMU_NEXT : emu_fault(f, EXC_NP, sel & 0xFFFCu);
}

/* A segment load sets the descriptor's accessed bit in the guest's GDT, as
   the hardware does (SDM vol. 3, 3.4.5.1); LAR shows it. */
void emu_set_accessed(struct vmm *v, uint16_t sel)
{
    uint64_t d;
    if ((sel & 0xFFFCu) == 0 || !guest_desc(v, sel, &d) || (d & (1ull << 40)))
        return;
    uint8_t access = (uint8_t)(d >> 40) | 1u;
    struct emu_fault f;
    gmem_write(v, v->vc.gdtr.base + (sel & 0xFFF8u) + 5u, &access, 1, &f);
}

static void seg_commit(struct vmm *v, int sreg, uint16_t sel)
{
    emu_set_accessed(v, sel);
    int rpl = sel & 3;
    if (sreg == S_SS || sreg == S_CS)
        rpl = hw_rpl(rpl);
    hw_load_seg(v, sreg, sel, rpl);
    v->vc.sel[sreg] = sel;
    if (sreg == S_SS)
        v->cpu->s.inhibit_irq = 1;   /* MOV/POP SS hold interrupts one insn */
}

static int seg_load(struct vmm *v, int sreg, uint16_t sel, struct emu_fault *f)
{
    int rc = seg_check(v, sreg, sel, f);
    if (rc == EMU_NEXT)
        seg_commit(v, sreg, sel);
    return rc;
}

int emu_mov_to_sreg(struct vmm *v, const struct insn *in, struct emu_fault *f)
{
    uint32_t sel;
    if (in->reg == S_CS || in->reg >= S_COUNT)
        return emu_fault(f, EXC_UD, 0);
    int rc = emu_rm_read(v, in, 2, &sel, f);
    return rc != EMU_NEXT ? rc : seg_load(v, in->reg, (uint16_t)sel, f);
}

/* ---- the stack ---- */

static uint32_t sp_mask(const struct vmm *v)
{
    return (v->cpu->s.seg[S_SS].flags & SEGF_DB) ? 0xFFFFFFFFu : 0xFFFFu;
}

static int stack_read(struct vmm *v, uint32_t index_bytes, uint32_t *val, int size,
                      struct emu_fault *f)
{
    uint32_t sp = (v->cpu->s.r[R_ESP] + index_bytes) & sp_mask(v);
    *val = 0;
    return emu_mem_read(v, S_SS, sp, val, (uint32_t)size, f);
}

static void sp_add(struct vmm *v, uint32_t n)
{
    uint32_t m = sp_mask(v), *esp = &v->cpu->s.r[R_ESP];
    *esp = (*esp & ~m) | ((*esp + n) & m);
}

static int stack_push(struct vmm *v, uint32_t val, int size, struct emu_fault *f)
{
    uint32_t sp = (v->cpu->s.r[R_ESP] - (uint32_t)size) & sp_mask(v);
    int rc = emu_mem_write(v, S_SS, sp, &val, (uint32_t)size, f);
    if (rc == EMU_NEXT)
        sp_add(v, (uint32_t)-size);
    return rc;
}

int emu_pop_sreg(struct vmm *v, const struct insn *in, struct emu_fault *f)
{
    uint32_t sel;
    int rc = stack_read(v, 0, &sel, 2, f);
    if (rc == EMU_NEXT)
        rc = seg_load(v, in->row->sreg, (uint16_t)sel, f);
    if (rc == EMU_NEXT)
        sp_add(v, in->opsize);
    return rc;
}

/* LDS/LES/LSS/LFS/LGS: offset then selector in memory. */
int emu_load_far_ptr(struct vmm *v, const struct insn *in, struct emu_fault *f)
{
    int op = in->row->op;
    int sreg = op == OP_LES ? S_ES : op == OP_LDS ? S_DS : op == OP_LSS ? S_SS
             : op == OP_LFS ? S_FS : S_GS;
    uint32_t off = 0, sel = 0, ea = emu_ea(v, in);
    int rc = emu_mem_read(v, in->seg, ea, &off, in->opsize, f);
    if (rc == EMU_NEXT)
        rc = emu_mem_read(v, in->seg, ea + in->opsize, &sel, 2, f);
    if (rc == EMU_NEXT)
        rc = seg_load(v, sreg, (uint16_t)sel, f);
    if (rc == EMU_NEXT)
        emu_set_reg(v, in->reg, in->opsize, off);
    return rc;
}

/* ---- far transfers ---- */

/* A system descriptor as a far JMP/CALL target, other than a TSS or task
   gate (those switch tasks: task_target, emulate_task.c): a call gate gets
   the checks native makes on the gate itself (DPL against CPL and RPL,
   present) and then stops the run; any other type is #GP(selector), as
   natively (sim/cpu/ops_far.c). */
static int system_target(struct vmm *v, uint16_t sel, uint64_t d, struct emu_fault *f)
{
    unsigned type = desc_type(d);
    if (type != 4u && type != 0xCu)
        return emu_fault(f, EXC_GP, sel & 0xFFFCu);
    if ((int)desc_dpl(d) < v->vc.cpl || desc_dpl(d) < (sel & 3u))
        return emu_fault(f, EXC_GP, sel & 0xFFFCu);
    if (!desc_present(d))
        return emu_fault(f, EXC_NP, sel & 0xFFFCu);
    return emu_stop_seg(v, "call gates are not supported under a VMM");
}

/* A code segment as a direct far JMP/CALL target (SDM vol. 3, 5.8.1). */
static int code_target(struct vmm *v, uint16_t sel, struct emu_fault *f)
{
    int cpl = v->vc.cpl;
    uint64_t d;
    if ((sel & 0xFFFCu) == 0)
        return emu_fault(f, EXC_GP, 0);
    if (!guest_desc(v, sel, &d))
        return emu_fault(f, EXC_GP, sel & 0xFFFCu);
    if (!desc_s(d))
        return system_target(v, sel, d, f);
    if (!desc_code(d))
        return emu_fault(f, EXC_GP, sel & 0xFFFCu);
    bool conf = desc_type(d) & 4u;
    if (conf ? (int)desc_dpl(d) > cpl : ((sel & 3) > cpl || (int)desc_dpl(d) != cpl))
        return emu_fault(f, EXC_GP, sel & 0xFFFCu);
    if (!desc_present(d))
        return emu_fault(f, EXC_NP, sel & 0xFFFCu);
    return shadow_code_ok(d) ? EMU_NEXT : emu_stop_seg(v, CODE_IN_REGION);
}

static void cs_commit(struct vmm *v, uint16_t sel, int cpl, uint32_t eip)
{
    emu_set_accessed(v, sel);
    uint16_t gsel = (uint16_t)((sel & 0xFFFCu) | (unsigned)cpl);
    hw_load_seg(v, S_CS, gsel, hw_rpl(cpl));
    v->vc.sel[S_CS] = gsel;
    v->cpu->s.eip = eip;
}

static int far_operand(struct vmm *v, const struct insn *in, uint16_t *sel, uint32_t *off,
                       struct emu_fault *f)
{
    if (in->row->opd[0] == O_Ap) {                  /* ptr16:32 in the instruction */
        *sel = (uint16_t)in->imm2;
        *off = in->imm;
        return EMU_NEXT;
    }
    uint32_t ea = emu_ea(v, in), s = 0;
    *off = 0;
    int rc = emu_mem_read(v, in->seg, ea, off, in->opsize, f);
    if (rc == EMU_NEXT)
        rc = emu_mem_read(v, in->seg, ea + in->opsize, &s, 2, f);
    *sel = (uint16_t)s;
    return rc;
}

/* A TSS descriptor or task gate as the far target: a task switch. */
static bool task_target(struct vmm *v, uint16_t sel, uint64_t *d)
{
    return (sel & 0xFFFCu) != 0 && guest_desc(v, sel, d) && emu_is_task_desc(*d);
}

int emu_jmp_far(struct vmm *v, const struct insn *in, struct emu_fault *f)
{
    uint16_t sel;
    uint32_t off;
    uint64_t d;
    int rc = far_operand(v, in, &sel, &off, f);
    if (rc == EMU_NEXT && task_target(v, sel, &d))
        return emu_task_far(v, sel, d, false, v->cpu->s.eip + in->len, f);
    if (rc == EMU_NEXT)
        rc = code_target(v, sel, f);
    if (rc != EMU_NEXT)
        return rc;
    cs_commit(v, sel, v->vc.cpl, off);
    return EMU_JUMP;
}

/* The pushed CS is the guest-visible selector (RPL = virtual CPL). */
int emu_call_far(struct vmm *v, const struct insn *in, struct emu_fault *f)
{
    uint16_t sel;
    uint32_t off, ret = v->cpu->s.eip + in->len;
    uint64_t d;
    int rc = far_operand(v, in, &sel, &off, f);
    if (rc == EMU_NEXT && task_target(v, sel, &d))
        return emu_task_far(v, sel, d, true, ret, f);
    if (rc == EMU_NEXT)
        rc = code_target(v, sel, f);
    uint32_t esp = v->cpu->s.r[R_ESP];
    if (rc == EMU_NEXT)
        rc = stack_push(v, v->vc.sel[S_CS], in->opsize, f);
    if (rc == EMU_NEXT)
        rc = stack_push(v, ret, in->opsize, f);
    if (rc != EMU_NEXT) {
        v->cpu->s.r[R_ESP] = esp;
        return rc;
    }
    cs_commit(v, sel, v->vc.cpl, off);
    return EMU_JUMP;
}

/* The code segment a RET/IRET returns to: RPL >= CPL (SDM vol. 2, RET). */
static int ret_target(struct vmm *v, uint16_t cs, struct emu_fault *f)
{
    uint64_t d;
    unsigned rpl = cs & 3u;
    if ((cs & 0xFFFCu) == 0)
        return emu_fault(f, EXC_GP, 0);
    if (!guest_desc(v, cs, &d) || rpl < (unsigned)v->vc.cpl || !desc_code(d))
        return emu_fault(f, EXC_GP, cs & 0xFFFCu);
    bool conf = desc_type(d) & 4u;
    if (conf ? desc_dpl(d) > rpl : desc_dpl(d) != rpl)
        return emu_fault(f, EXC_GP, cs & 0xFFFCu);
    if (!desc_present(d))
        return emu_fault(f, EXC_NP, cs & 0xFFFCu);
    if (!shadow_code_ok(d))
        return emu_stop_seg(v, CODE_IN_REGION);
    if (rpl == 1 || rpl == 2)
        return emu_stop_seg(v, "guest rings 1 and 2 are not supported under a VMM");
    return EMU_NEXT;
}

/* Returning outward: data segments the new level may not use become null
   (SDM vol. 2, RET/IRET "return to outer privilege level"). */
static void null_outer_segs(struct vmm *v)
{
    static const int regs[] = { S_ES, S_DS, S_FS, S_GS };
    for (int i = 0; i < 4; i++) {
        struct seg *s = &v->cpu->s.seg[regs[i]];
        bool conf_code = (SEGF_TYPE(s->flags) & 0xCu) == 0xCu && (s->flags & SEGF_S);
        if (!conf_code && (int)SEGF_DPL(s->flags) < v->cpu->s.cpl) {
            *s = (struct seg){ 0, 0, 0, 0 };
            v->vc.sel[regs[i]] = 0;
        }
    }
}

/* Read SS:ESP at `off` on the stack and check SS for privilege `rpl`. */
static int outer_stack(struct vmm *v, uint32_t off, int rpl, uint32_t *esp, uint16_t *ss,
                       struct emu_fault *f)
{
    uint32_t s = 0;
    int rc = stack_read(v, off, esp, 4, f);
    if (rc == EMU_NEXT)
        rc = stack_read(v, off + 4, &s, 2, f);
    *ss = (uint16_t)s;
    if (rc != EMU_NEXT)
        return rc;
    if ((s & 3u) != (unsigned)rpl)
        return emu_fault(f, EXC_GP, s & 0xFFFCu);
    int saved = v->vc.cpl;
    v->vc.cpl = rpl;                      /* check as the new level would */
    rc = seg_check(v, S_SS, *ss, f);
    v->vc.cpl = saved;
    return rc;
}

static void go_outer(struct vmm *v, uint16_t cs, uint32_t eip, uint16_t ss, uint32_t esp)
{
    cs_commit(v, cs, cs & 3, eip);
    hw_load_seg(v, S_SS, ss, ss & 3);
    v->vc.sel[S_SS] = ss;
    v->cpu->s.r[R_ESP] = esp;
    vmm_set_cpl(v, cs & 3);
    null_outer_segs(v);
}

int emu_ret_far(struct vmm *v, const struct insn *in, struct emu_fault *f)
{
    int size = in->opsize;
    uint32_t imm = in->row->opd[0] == O_Iw ? in->imm & 0xFFFFu : 0, eip, cs;
    int rc = stack_read(v, 0, &eip, size, f);
    if (rc == EMU_NEXT)
        rc = stack_read(v, (uint32_t)size, &cs, 2, f);
    if (rc == EMU_NEXT)
        rc = ret_target(v, (uint16_t)cs, f);
    if (rc != EMU_NEXT)
        return rc;
    if ((int)(cs & 3u) == v->vc.cpl) {
        sp_add(v, 2u * (uint32_t)size + imm);
        cs_commit(v, (uint16_t)cs, v->vc.cpl, eip);
        return EMU_JUMP;
    }
    uint32_t esp;
    uint16_t ss;
    rc = outer_stack(v, 2u * (uint32_t)size + imm, cs & 3, &esp, &ss, f);
    if (rc != EMU_NEXT)
        return rc;
    go_outer(v, (uint16_t)cs, eip, ss, esp + imm);
    return EMU_JUMP;
}

/* ---- IRET and the flags ---- */

/* IRET at virtual CPL 0 may change IF and IOPL (SDM vol. 2, IRET). */
static uint32_t iret_mask(const struct vmm *v)
{
    uint32_t m = FL_ARITH | FL_TF | FL_DF | FL_NT | FL_RF | FL_AC | FL_ID;
    if ((uint32_t)v->vc.cpl <= v->vc.iopl)
        m |= FL_IF;
    if (v->vc.cpl == 0)
        m |= FL_IOPL;
    return m;
}

int emu_iret(struct vmm *v, const struct insn *in, struct emu_fault *f)
{
    if (cpu_get_eflags(v->cpu) & FL_NT)           /* NT: a task return */
        return emu_task_return(v, v->cpu->s.eip + in->len, f);
    if (in->opsize != 4)
        return emu_stop_seg(v, "16-bit IRET is not supported under a VMM");
    uint32_t eip, cs, fl;
    int rc = stack_read(v, 0, &eip, 4, f);
    if (rc == EMU_NEXT)
        rc = stack_read(v, 4, &cs, 2, f);
    if (rc == EMU_NEXT)
        rc = stack_read(v, 8, &fl, 4, f);
    if (rc == EMU_NEXT && v->vc.cpl == 0 && (fl & FL_VM))
        return emu_stop_seg(v, "virtual-8086 mode is not supported");
    if (rc == EMU_NEXT)
        rc = ret_target(v, (uint16_t)cs, f);
    if (rc != EMU_NEXT)
        return rc;
    if ((int)(cs & 3u) == v->vc.cpl) {
        sp_add(v, 12);
        emu_set_guest_eflags(v, fl, iret_mask(v));
        cs_commit(v, (uint16_t)cs, v->vc.cpl, eip);
        return EMU_JUMP;
    }
    uint32_t esp;
    uint16_t ss;
    rc = outer_stack(v, 12, cs & 3, &esp, &ss, f);
    if (rc != EMU_NEXT)
        return rc;
    emu_set_guest_eflags(v, fl, iret_mask(v));
    go_outer(v, (uint16_t)cs, eip, ss, esp);
    return EMU_JUMP;
}

/* PUSHF/POPF under the virtual flags: what BT callouts execute (in trap
   mode they never run: the hardware executes PUSHF/POPF silently). */
int emu_pushf(struct vmm *v, const struct insn *in, struct emu_fault *f)
{
    return stack_push(v, emu_guest_eflags(v) & ~(FL_VM | FL_RF), in->opsize, f);
}

int emu_popf(struct vmm *v, const struct insn *in, struct emu_fault *f)
{
    uint32_t fl;
    int rc = stack_read(v, 0, &fl, in->opsize, f);
    if (rc != EMU_NEXT)
        return rc;
    uint32_t mask = iret_mask(v) & ~FL_RF;
    if (in->opsize == 2)
        mask &= 0xFFFFu;
    sp_add(v, in->opsize);
    emu_set_guest_eflags(v, fl, mask);
    return EMU_NEXT;
}

/* INT n / INT3 / INTO: delivery through the guest IDT (reflect.c). */
int emu_int(struct vmm *v, const struct insn *in, struct emu_fault *f)
{
    int vec = insn_soft_vector(in);
    if (in->row->op == OP_INTO && !(cpu_get_eflags(v->cpu) & FL_OF))
        return EMU_NEXT;
    return reflect_vector(v, vec, 0, false, RK_SOFT, v->cpu->s.eip + in->len);
}
