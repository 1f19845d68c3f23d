/*
 * emit_seq.c - in-TC sequences: sensitive instructions answered inside the
 * translation cache, against the vcpu page (gs:), without a callout.
 *
 * CLI and PUSHF against the virtual IF; PUSH/MOV of CS/SS with the guest's
 * selectors; SGDT/SIDT/SLDT/STR/SMSW from the virtual descriptor-table and
 * control registers; LAR/LSL/VERR/VERW from a table of the guest GDT; IN/OUT
 * of port 0x80 (the POST port) counted for the VMM. Each emitter's comment
 * says what it preserves: the guest's EFLAGS (only ZF for LAR and friends)
 * and registers, and precise faults at the guest instruction.
 */
#include "emit.h"

#include <stddef.h>
#include <string.h>

/* ---- emitters ---- */

/* CLI: clear the virtual IF in the vcpu page (in-TC emulation, A&A06 216
   cycles instead of a 2030-cycle trap). */
static void emit_cli(struct emit *e)
{
    e8(e, 0x65);
    e8(e, 0xC7);
    e_gs_modrm(e, 0, VP_VIF);
    e32(e, 0);
}

/* PUSHFD: push the hardware flags (IOPL = 0 while the guest runs, IF as
   set at TC entry), then replace IF and IOPL with the virtual ones without
   touching EFLAGS: [esp] += VIF + NHWIF + VIOPL (NHWIF = minus the
   hardware IF). Only the PUSHFD can fault (the stack). */
static void emit_pushf(struct emit *e)
{
    static const uint8_t load_top[] = { 0x8B, 0x04, 0x24 };        /* mov eax,[esp] */
    static const uint8_t lea_add[] = { 0x8D, 0x04, 0x18 };         /* lea eax,[eax+ebx] */
    static const uint8_t lea_iopl[] = { 0x8D, 0x04, 0x18 };        /* lea eax,[eax+ebx] */
    static const uint8_t store_top[] = { 0x89, 0x04, 0x24 };       /* mov [esp],eax */
    e8(e, 0x9C);
    e_store_gs(e, R_EAX, VP_S0);
    e_store_gs(e, R_EBX, VP_S1);
    ebytes(e, load_top, 3);
    e_load_gs(e, R_EBX, VP_VIF);
    ebytes(e, lea_add, 3);
    e_load_gs(e, R_EBX, VP_NHWIF);
    ebytes(e, lea_add, 3);
    e_load_gs(e, R_EBX, VP_VIOPL);
    ebytes(e, lea_iopl, 3);
    ebytes(e, store_top, 3);
    e_load_gs(e, R_EBX, VP_S1);
    e_load_gs(e, R_EAX, VP_S0);
}

/* PUSH CS/SS/GS: push the guest-visible selector from the vcpu page. */
static void emit_push_sreg(struct emit *e, const struct insn *in)
{
    if (in->opsize == 2)
        e8(e, 0x66);
    e8(e, 0x65);
    e8(e, 0xFF);
    e_gs_modrm(e, 6, VP_SEL + 4u * in->row->sreg);
}

/* MOV reg, CS/SS/GS: the guest-visible selector (zero-extended dword). */
static void emit_mov_from_sreg(struct emit *e, const struct insn *in)
{
    if (in->opsize == 2)
        e8(e, 0x66);
    e8(e, 0x65);
    e8(e, 0x8B);
    e_gs_modrm(e, in->rm, VP_SEL + 4u * in->reg);
}

/* Where the guest value of a sensitive read lives in the vcpu page. */
static uint32_t sysread_src(const struct insn *in)
{
    if (in->opcode == 0x00)
        return in->reg == 0 ? VP_LDTR : VP_TR;
    return in->reg == 0 ? VP_GDTR : in->reg == 1 ? VP_IDTR : VP_CR0;
}

/* The segment override that makes `[ebx]` use the guest operand's segment
   (none for DS, the default of [ebx]); CS and GS never get here. */
static void e_seg(struct emit *e, const struct insn *in)
{
    static const uint8_t pfx[S_COUNT] = { 0x26, 0, 0x36, 0, 0x64, 0 };
    if (pfx[in->seg])
        e8(e, pfx[in->seg]);
}

/* lea ebx, [base + index*scale + disp32]: the guest's effective address,
   from the decoded fields (reads guest registers, EBX not yet changed). */
static void emit_lea_ebx(struct emit *e, const struct insn *in)
{
    e8(e, 0x8D);
    if (in->base == 8 && in->index == 8) {
        e8(e, 0x1D);                                               /* [disp32] */
    } else {
        e8(e, in->base == 8 ? 0x1C : 0x9C);                        /* SIB (+disp32) */
        e8(e, (uint8_t)(in->scale << 6 | (in->index == 8 ? 4 : in->index) << 3 |
                        (in->base == 8 ? 5 : in->base)));
    }
    e32(e, in->disp);
}

/* `not word seg:[ebx+off]` twice: a write access that changes nothing
   (NOT leaves EFLAGS alone), so a fault there is precise. */
static void emit_probe(struct emit *e, const struct insn *in, uint8_t off)
{
    for (int k = 0; k < 2; k++) {
        e8(e, 0x66);
        e_seg(e, in);
        e8(e, 0xF7), e8(e, 0x53), e8(e, off);                      /* not word [ebx+off] */
    }
}

/*
 * SGDT/SIDT m, SLDT/STR/SMSW r/m: the guest's GDTR, IDTR, LDTR, TR or CR0
 * from the vcpu page (bt_run.c keeps it current: only callouts change
 * them, and every TC entry syncs the page), as op_sgdt ... op_smsw store
 * them (SDM vol. 2: a register destination gets the operand size, 32 bits
 * zero-extended for SLDT/STR and all of CR0 for SMSW; memory gets 16 bits,
 * or the 6-byte limit+base image). EFLAGS untouched. Register forms are
 * one `mov reg, gs:[src]`. Memory forms save EAX/EBX in S0/S1, take the
 * guest address with LEA, and store through the guest's segment; the first
 * guest access is the store (SMSW/SLDT/STR) or, for the 6-byte image, a
 * NOT pair probing the first and the last word, as op_sgdt checks all six
 * bytes before writing. A fault restores EAX/EBX (BT_HOW_RESTORE).
 * Limit: the probe reads before it writes, so a not-present page reports a
 * read (#PF error code W = 0) where the CPU reports a write.
 */
static void emit_sysread(struct emit *e, const struct insn *in)
{
    uint32_t src = sysread_src(in);
    bool dtr = in->opcode == 0x01 && in->reg <= 1;
    if (in->mod == 3) {
        if (in->opsize == 2)
            e8(e, 0x66);
        e_load_gs(e, in->rm, src);
        return;
    }
    e_store_gs(e, R_EAX, VP_S0);
    e_store_gs(e, R_EBX, VP_S1);
    emit_lea_ebx(e, in);
    if (dtr)
        emit_probe(e, in, 0), emit_probe(e, in, 4);
    e_load_gs(e, R_EAX, src);
    if (dtr) {
        e_seg(e, in);
        e8(e, 0x89), e8(e, 0x03);                                  /* mov [ebx], eax */
        e_load_gs(e, R_EAX, src + 4);
    }
    e8(e, 0x66);
    e_seg(e, in);
    if (dtr)
        e8(e, 0x89), e8(e, 0x43), e8(e, 4);                        /* mov [ebx+4], ax */
    else
        e8(e, 0x89), e8(e, 0x03);                                  /* mov [ebx], ax */
    e_load_gs(e, R_EBX, VP_S1);
    e_load_gs(e, R_EAX, VP_S0);
    e->restore = true;
}

/* ---- LAR, LSL, VERR, VERW ---- */

static void e_rel8(struct emit *e, uint8_t op, uint32_t *fix)     /* jcc/jmp rel8 */
{
    e8(e, op);
    *fix = e->len;
    e8(e, 0);
}

static void e_fix8(struct emit *e, uint32_t fix)                  /* aim it here */
{
    e->buf[fix] = (uint8_t)(e->len - fix - 1u);
}

/* test byte gs:[SELTAB + ebx*8], imm8 */
static void e_test_tab(struct emit *e, uint8_t mask)
{
    e8(e, 0x65), e8(e, 0xF6), e8(e, 0x04), e8(e, 0xDD);
    e32(e, BT_OFF_SELTAB);
    e8(e, mask);
}

/* add al, 0x7F (OF = the saved one), sahf (SF ZF AF PF CF), EBX, EAX back */
static void e_flags_back(struct emit *e)
{
    e8(e, 0x04), e8(e, 0x7F), e8(e, 0x9E);
    e_load_gs(e, R_EBX, VP_S1);
    e_load_gs(e, R_EAX, VP_S0);
}

/* LAR/LSL: dest = the table's dword (LAR: low byte cleared, `mov bl, 0`),
   at the operand size; EAX and EBX are the sequence's, so for them the
   value goes to their save slots and comes back with them. */
static void e_selquery_result(struct emit *e, const struct insn *in, bool lar)
{
    e8(e, 0x65), e8(e, 0x8B), e8(e, 0x1C), e8(e, 0xDD);           /* mov ebx, gs:[tab+ebx*8+d] */
    e32(e, BT_OFF_SELTAB + (lar ? 0u : 4u));
    if (lar)
        e8(e, 0xB3), e8(e, 0);                                     /* mov bl, 0 */
    if (in->opsize == 2)
        e8(e, 0x66);
    if (in->reg == R_EAX || in->reg == R_EBX) {
        e8(e, 0x65), e8(e, 0x89);
        e_gs_modrm(e, R_EBX, in->reg == R_EAX ? VP_S0 : VP_S1);   /* mov gs:[S], ebx|bx */
    } else {
        e8(e, 0x89), e8(e, (uint8_t)(0xD8 | in->reg));             /* mov reg, ebx|bx */
    }
}

static uint8_t selquery_mask(const struct insn *in)
{
    if (in->opcode == 0x02)
        return SELT_LAR;
    if (in->opcode == 0x03)
        return SELT_LSL;
    return in->reg == 4 ? SELT_VERR : SELT_VERW;
}

/*
 * LAR/LSL r, r/m16 and VERR/VERW r/m16 from the selector table
 * (BT_OFF_SELTAB, built at TC entry by bt_seltab_sync from the guest GDT,
 * which is write-protected or shadow-traced so that it cannot go stale
 * while the TC runs). Save EAX/EBX; EBX = the selector (memory forms: the
 * load through the guest's segment is the first guest access, so a fault
 * is precise and BT_HOW_RESTORE puts EAX/EBX back); LAHF + SETO AL keep
 * the guest flags while CMP/TEST decide; selectors >= BT_SELTAB_N or with
 * TI = 1 restore everything and leave through a callout exit (bt_emu.c
 * answers). Otherwise ZF is set or cleared in AH, the destination written
 * on success only, and `add al, 0x7F; sahf` restores OF, SF, AF, PF, CF
 * exactly: the sequence changes only ZF and the destination, as the CPU.
 */
static void emit_selquery(struct emit *e, const struct insn *in, uint32_t lin)
{
    uint32_t j_big, j_out, j_fail, j_done, j_next;
    bool val = in->opcode == 0x02 || in->opcode == 0x03;
    e_store_gs(e, R_EAX, VP_S0);
    e_store_gs(e, R_EBX, VP_S1);
    if (in->mod == 3) {
        e8(e, 0x0F), e8(e, 0xB7), e8(e, (uint8_t)(0xD8 | in->rm)); /* movzx ebx, r16 */
    } else {
        emit_lea_ebx(e, in);
        e_seg(e, in);
        e8(e, 0x0F), e8(e, 0xB7), e8(e, 0x1B);                     /* movzx ebx, word [ebx] */
        e->restore = true;
    }
    e8(e, 0x9F), e8(e, 0x0F), e8(e, 0x90), e8(e, 0xC0);            /* lahf; seto al */
    e8(e, 0x81), e8(e, 0xFB), e32(e, BT_SELTAB_N);                 /* cmp ebx, N */
    e_rel8(e, 0x73, &j_big);                                       /* jae out */
    e_test_tab(e, SELT_CALLOUT);
    e_rel8(e, 0x75, &j_out);                                       /* jnz out */
    e_test_tab(e, selquery_mask(in));
    e_rel8(e, 0x74, &j_fail);                                      /* jz fail */
    if (val)
        e_selquery_result(e, in, in->opcode == 0x02);
    e8(e, 0x80), e8(e, 0xCC), e8(e, 0x40);                         /* or ah, ZF */
    e_rel8(e, 0xEB, &j_done);
    e_fix8(e, j_fail);
    e8(e, 0x80), e8(e, 0xE4), e8(e, 0xBF);                         /* fail: and ah, ~ZF */
    e_fix8(e, j_done);
    e_flags_back(e);
    e_rel8(e, 0xEB, &j_next);
    e_fix8(e, j_big);
    e_fix8(e, j_out);
    e_flags_back(e);                                               /* out: as on entry */
    e_exit(e, -1, EXIT_CALLOUT, lin, HOW_BTEMU);
    e_fix8(e, j_next);
}

/* gs:[counter] += 1 without touching EFLAGS (EAX saved in S0). */
static void emit_count(struct emit *e, uint32_t counter)
{
    e_store_gs(e, R_EAX, VP_S0);
    e_load_gs(e, R_EAX, counter);
    e8(e, 0x8D), e8(e, 0x40), e8(e, 1);                            /* lea eax,[eax+1] */
    e_store_gs(e, R_EAX, counter);
    e_load_gs(e, R_EAX, VP_S0);
}

/* Port 0x80 (post_port_byte): IN gives what the POST device returns
   (0xFF, hw/post.c); OUT leaves AL in the vcpu page. No guest memory,
   no fault, EFLAGS untouched. */
static void emit_post(struct emit *e, const struct insn *in)
{
    if (in->opcode == 0xE6) {
        e8(e, 0x65), e8(e, 0x88);
        e_gs_modrm(e, R_EAX, VP_OUT80V);                           /* mov gs:[V], al */
    }
    emit_count(e, in->opcode == 0xE6 ? VP_OUT80 : VP_IN80);
    if (in->opcode == 0xE4)
        e8(e, 0xB0), e8(e, 0xFF);                                  /* mov al, 0xff */
}

void emit_seq(struct emit *e, const struct insn *in, uint32_t lin)
{
    const struct op_row *r = in->row;
    if (is_selquery(in))
        emit_selquery(e, in, lin);
    else if (r->map == MAP_0F && r->opcode <= 0x01)
        emit_sysread(e, in);
    else if (r->map == MAP_1B && (r->opcode == 0xE4 || r->opcode == 0xE6))
        emit_post(e, in);
    else if (r->map == MAP_1B && r->opcode == 0xFA)
        emit_cli(e);
    else if (r->map == MAP_1B && r->opcode == 0x9C)
        emit_pushf(e);
    else if (r->opd[0] == O_SEG)
        emit_push_sreg(e, in);
    else
        emit_mov_from_sreg(e, in);
}

