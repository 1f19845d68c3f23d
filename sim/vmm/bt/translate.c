/*
 * translate.c - the translator: a block of guest kernel code in, real x86
 * code for the translation cache out (Adams & Agesen 2006, §3.2).
 *
 * A translation unit starts at a guest address and ends at a control
 * transfer, at a callout, at the end of the guest page, or after
 * `block_insns` instructions (12 by default). Each guest instruction is
 * decoded with the CPU's own decode() and classified by its opcode-table
 * row (bt_classify): there is no second list of sensitive opcodes here.
 *
 * Translated code runs at ring 1 with CS = the TC code segment (base 0) and
 * GS = the VMM region, so in-TC sequences reach the vcpu page as gs:OFFSET;
 * guest instructions that use GS themselves are therefore not IDENT. Every
 * sequence is built so that only its *first* instruction that touches guest
 * memory can fault, before anything guest-visible changed: a fault at any
 * TC address is then precise at the guest instruction that owns it. Other
 * stops in the middle of a sequence (interrupts, budget) are rolled forward
 * to the next guest-instruction boundary (bt_run.c). The sequences use only
 * instructions that leave EFLAGS alone (MOV, LEA, NOT, MOVZX, JECXZ, PUSH),
 * so the guest's arithmetic flags live in the hardware flags throughout;
 * the one exception, LAR/LSL/VERR/VERW (emit_selquery), keeps them with
 * LAHF/SETO and puts them back with ADD/SAHF, changing only ZF. The in-TC
 * sequences for sensitive instructions are in emit_seq.c.
 */
#include "emit.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* An exit: `jmp rel32` (or `jcc rel32`) aimed at the exit's own gate. */
void e_exit(struct emit *e, int jcc, enum bt_exit_kind kind, uint32_t target,
                   enum bt_how how)
{
    struct bt_block *b = e->b;
    if (b->nexits >= BT_MAX_EXITS)
        return;
    struct bt_exit *x = &b->exits[b->nexits++];
    x->kind = (uint8_t)kind;
    x->how = (uint8_t)how;
    x->site = e->len;
    x->target = target;
    x->to = -1;
    if (jcc >= 0) {
        e8(e, 0x0F);
        e8(e, (uint8_t)(0x80 | jcc));
        x->rel = 2;
    } else {
        e8(e, 0xE9);
        x->rel = 1;
    }
    e32(e, 0);                 /* patched to the gate once placed */
}

/* ---- instruction layout ---- */

static bool is_prefix(uint8_t b)
{
    switch (b) {
    case 0xF0: case 0xF2: case 0xF3: case 0x2E: case 0x36: case 0x3E:
    case 0x26: case 0x64: case 0x65: case 0x66: case 0x67:
        return true;
    default:
        return false;
    }
}

static int prefix_count(const uint8_t *p, int len)
{
    int n = 0;
    while (n < len && is_prefix(p[n]))
        n++;
    return n;
}

static bool has_prefix(const uint8_t *p, int len, uint8_t which)
{
    int n = prefix_count(p, len);
    for (int i = 0; i < n; i++)
        if (p[i] == which)
            return true;
    return false;
}

/* ---- classification: from the opcode table's attributes ---- */

static enum bt_how classify_branch(const struct insn *in, const uint8_t *bytes)
{
    const struct op_row *r = in->row;
    if (r->opd[0] == O_Jb || r->opd[0] == O_Jv)
        return in->opsize == 4 ? HOW_BRANCH : HOW_STEP;
    if (!strcmp(r->mnem, "ret") || !strcmp(r->mnem, "jmp") || !strcmp(r->mnem, "call")) {
        if (in->opsize != 4 || has_prefix(bytes, in->len, 0x65) ||
            has_prefix(bytes, in->len, 0x2E))
            return HOW_STEP;
        return HOW_BRANCH;
    }
    return HOW_EMU;              /* INT n, INT3, INTO, IRET */
}

/*
 * SGDT/SIDT (memory), SLDT/STR/SMSW (register or memory) run in the TC
 * (emit_sysread) unless the operand needs what the sequence cannot give:
 * 16-bit addressing, a CS or GS override (both are the VMM's in the TC),
 * LOCK/REP (#UD, left to the callout). LAR/LSL/VERR/VERW too
 * (emit_selquery), from a table of the guest GDT kept in the vcpu area.
 */
static bool sysread_in_tc(const struct insn *in, const uint8_t *bytes)
{
    const struct op_row *r = in->row;
    int np = prefix_count(bytes, in->len);
    for (int i = 0; i < np; i++)
        if (bytes[i] != 0x66 && bytes[i] != 0x26 && bytes[i] != 0x36 &&
            bytes[i] != 0x3E && bytes[i] != 0x64)
            return false;
    if (r->map != MAP_0F || in->adsize != 4)
        return false;
    if (r->opcode == 0x00)
        return in->reg <= 1 || in->reg == 4 || in->reg == 5; /* SLDT STR VERR VERW */
    if (r->opcode == 0x01)
        return (in->reg <= 1 && in->mod != 3) || in->reg == 4; /* SGDT SIDT SMSW */
    return r->opcode == 0x02 || r->opcode == 0x03;           /* LAR, LSL */
}

/* LAR, LSL, VERR, VERW: answered from the selector table (emit_selquery). */
bool is_selquery(const struct insn *in)
{
    const struct op_row *r = in->row;
    return r->map == MAP_0F && (r->opcode == 0x02 || r->opcode == 0x03 ||
                                (r->opcode == 0x00 && (in->reg == 4 || in->reg == 5)));
}

/* Sensitive but unprivileged (Robin & Irvine): never IDENT where it would
   show hardware state instead of virtual state. */
static enum bt_how classify_sensitive(const struct insn *in, const uint8_t *bytes)
{
    const struct op_row *r = in->row;
    if (r->opd[0] == O_SEG && (r->attr & A_STACK) && !(r->attr & A_SEGLOAD)) {
        int s = r->sreg;                         /* PUSH sreg */
        return (s == S_CS || s == S_SS || s == S_GS) ? HOW_SEQ : HOW_IDENT;
    }
    if (r->opd[1] == O_Sw) {                     /* MOV r/m, sreg */
        if (in->reg >= S_COUNT)
            return HOW_STEP;
        if (in->reg != S_CS && in->reg != S_SS && in->reg != S_GS)
            return HOW_IDENT;
        return in->mod == 3 ? HOW_SEQ : HOW_BTEMU;
    }
    if (r->attr & A_STACK)                       /* PUSHF / POPF */
        return (r->attr & A_BLOCK_END) || in->opsize != 4 ? HOW_EMU : HOW_SEQ;
    return sysread_in_tc(in, bytes) ? HOW_SEQ : HOW_BTEMU;
}

/*
 * `in al, 0x80` / `out 0x80, al`, the POST port used as an I/O delay
 * (Adams & Agesen: `in` costs 216 cycles under BT against 3209 native,
 * because the TC emulates it): in-TC sequences (emit_post) that count in
 * the vcpu page; at the next exit bt_run.c charges tc_emulate per access
 * and hands the writes to the device model. The charges reach the cycle
 * counter at that exit, so RDTSC is stepped outside the TC (an exit, no
 * modeled cost): a guest timing a loop of them sees them all.
 */
static bool post_port_byte(const struct insn *in, const uint8_t *bytes)
{
    return in->row->map == MAP_1B && (in->opcode == 0xE4 || in->opcode == 0xE6) &&
           (in->imm & 0xFFu) == 0x80 && prefix_count(bytes, in->len) == 0;
}

enum bt_how bt_classify(const struct insn *in, const uint8_t *bytes)
{
    const struct op_row *r = in->row;
    uint32_t a = r->attr;
    if ((a & (A_UD | A_FPU)) || !insn_lock_ok(in))
        return HOW_STEP;                         /* raises #UD / #NM by itself */
    if (r->map == MAP_1B && r->opcode == 0xFA)
        return HOW_SEQ;                          /* CLI: the virtual IF */
    if ((a & A_BRANCH) && !(a & A_FAR) && !(a & A_SEGLOAD))
        return classify_branch(in, bytes);
    if (a & (A_SEGLOAD | A_FAR)) {
        if (r->map == MAP_0F && (r->opcode == 0x34 || r->opcode == 0x35))
            return HOW_STEP;                     /* SYSENTER/SYSEXIT */
        return HOW_EMU;
    }
    if (post_port_byte(in, bytes))
        return HOW_SEQ;                          /* port 0x80 in the TC (emit_post) */
    if (r->map == MAP_0F && r->opcode == 0x31)
        return HOW_STEP;                         /* RDTSC: see post_port_byte */
    if (a & (A_PRIV | A_IOPL | A_CALLOUT))
        return HOW_EMU;
    if (a & A_SENSITIVE)
        return classify_sensitive(in, bytes);
    if ((a & A_BLOCK_END) && !(a & A_BRANCH))
        return HOW_STEP;                         /* CPUID, and the like */
    if (has_prefix(bytes, in->len, 0x65) || has_prefix(bytes, in->len, 0x2E))
        return HOW_STEP;                         /* GS is the VMM's in the TC */
    return HOW_IDENT;
}

/*
 * The indirect-branch lookup. The site leaves the guest target in ECX and
 * in gs:[T] (guest ECX saved in gs:[S2]) and jumps through the TC half of
 * the 64 Ki-entry table at index target & 0xFFFF: `movzx ecx, cx; jmp
 * gs:[TABLE + 4 + ecx*8]`. The entry points at the entry stub of the block
 * last filled for that index (emit_entry_stub checks the EIP) or at the
 * shared miss stub, which leaves through a gate (tcache.c). 2 instructions
 * here and 4 in the stub on a hit, none of which writes EFLAGS.
 */
static void emit_table_jump(struct emit *e)
{
    e8(e, 0x65), e8(e, 0xFF), e8(e, 0x24), e8(e, 0xCD);            /* jmp gs:[tab+4+ecx*8] */
    e32(e, BT_OFF_TABLE + 4);
}

static void emit_lookup(struct emit *e)
{
    e_store_gs(e, R_ECX, VP_T);
    e8(e, 0x0F), e8(e, 0xB7), e8(e, 0xC9);                         /* movzx ecx,cx */
    emit_table_jump(e);
}

/* RET: `pop gs:[T]` (the only guest access), then the lookup from T. */
static void emit_ret(struct emit *e, const struct insn *in)
{
    e8(e, 0x65), e8(e, 0x8F);
    e_gs_modrm(e, 0, VP_T);                                        /* pop gs:[T] */
    if (in->row->opcode == 0xC2) {
        e8(e, 0x8D), e8(e, 0xA4), e8(e, 0x24);                     /* lea esp,[esp+imm] */
        e32(e, in->imm & 0xFFFFu);
    }
    e_store_gs(e, R_ECX, VP_S2);
    e8(e, 0x65), e8(e, 0x0F), e8(e, 0xB7);                         /* movzx ecx,word gs:[T] */
    e_gs_modrm(e, R_ECX, VP_T);
    emit_table_jump(e);
}

/*
 * A block's entry stub, run only when it is entered through the lookup
 * table (chains and the monitor enter at the body): ECX = target EIP -
 * this block's EIP via LEA (flag-free), JECXZ to the body after restoring
 * ECX; otherwise on to the shared miss stub (which restores ECX itself).
 */
static void emit_entry_stub(struct emit *e, uint32_t eip)
{
    e_load_gs(e, R_ECX, VP_T);
    e8(e, 0x8D), e8(e, 0x89), e32(e, (uint32_t)-eip);             /* lea ecx,[ecx-eip] */
    e8(e, 0xE3), e8(e, 5);                                         /* jecxz ok */
    e->miss_fix = e->len;
    e8(e, 0xE9), e32(e, 0);                                        /* jmp miss stub */
    e_load_gs(e, R_ECX, VP_S2);                                    /* ok: */
}

/* mov ecx, r/m32 of an indirect JMP/CALL (same prefixes, ModRM reg = ECX),
   after saving ECX; the target also goes to gs:[T]. */
static void emit_load_target(struct emit *e, const struct insn *in, const uint8_t *bytes)
{
    int np = prefix_count(bytes, in->len), m = np + 1;
    e_store_gs(e, R_ECX, VP_S2);
    ebytes(e, bytes, np);
    e8(e, 0x8B);
    e8(e, (uint8_t)((bytes[m] & 0xC7) | (R_ECX << 3)));
    ebytes(e, bytes + m + 1, in->len - m - 1);
}

/* LOOP/LOOPE/LOOPNE/JECXZ: `op +2; jmp +5; jmp taken; jmp fall`. */
static void emit_loop(struct emit *e, const struct insn *in, const uint8_t *bytes,
                      uint32_t taken, uint32_t fall)
{
    int np = prefix_count(bytes, in->len);
    for (int i = 0; i < np; i++)
        if (bytes[i] == 0x67)
            e8(e, 0x67);
    e8(e, in->opcode);
    e8(e, 2);
    e8(e, 0xEB);
    e8(e, 5);
    e_exit(e, -1, EXIT_DIRECT, taken, HOW_BRANCH);
    e_exit(e, -1, EXIT_DIRECT, fall, HOW_BRANCH);
}

/*
 * After a Jcc the block goes on with the fall-through instruction (an
 * extended basic block, as QEMU and A&A06's translator do), so the
 * not-taken path costs no extra jump. It needs room for two more exits
 * (a LOOP's pair, or a Jcc and the final one) and the same guest page.
 */
static bool jcc_continues(struct emit *e, uint32_t next)
{
    if (e->b->nexits + 2 > BT_MAX_EXITS || e->n_left <= 1 ||
        (next >> 12) != (e->b->lin >> 12) || (next & 0xFFFu) == 0)
        return false;
    e->cont = true;
    return true;
}

static void emit_branch(struct emit *e, const struct insn *in, const uint8_t *bytes,
                        uint32_t lin, uint32_t cs_base)
{
    const struct op_row *r = in->row;
    uint32_t next = lin + in->len, target = next + in->imm;
    if (r->opd[0] == O_Jb || r->opd[0] == O_Jv) {
        if (!strcmp(r->mnem, "jmp")) {
            e_exit(e, -1, EXIT_DIRECT, target, HOW_BRANCH);
        } else if (!strcmp(r->mnem, "call")) {
            e8(e, 0x68);                                           /* push guest return */
            e32(e, next - cs_base);
            e_exit(e, -1, EXIT_DIRECT, target, HOW_BRANCH);
        } else if (r->map == MAP_0F || (r->opcode & 0xF0) == 0x70) {
            e_exit(e, in->opcode & 0xF, EXIT_DIRECT, target, HOW_BRANCH);
            if (!jcc_continues(e, next))
                e_exit(e, -1, EXIT_DIRECT, next, HOW_BRANCH);
        } else {
            emit_loop(e, in, bytes, target, next);
        }
        return;
    }
    if (!strcmp(r->mnem, "ret")) {
        emit_ret(e, in);
        return;
    } else {
        emit_load_target(e, in, bytes);
        if (!strcmp(r->mnem, "call")) {                            /* push can fault: */
            e_store_gs(e, R_ECX, VP_T);                            /* ECX back first */
            e_load_gs(e, R_ECX, VP_S2);
            e8(e, 0x68);
            e32(e, next - cs_base);
            e_load_gs(e, R_ECX, VP_T);
        }
    }
    emit_lookup(e);
}

/* ---- the block ---- */

/* Fetch and decode the guest instruction at `lin` without crossing its page:
   the bytes in one read (one translation), or as many as can be read. */
static int fetch_insn(struct vmm *v, uint32_t lin, uint8_t *bytes, struct insn *in)
{
    uint32_t avail = 0x1000u - (lin & 0xFFFu);
    if (avail > 15)
        avail = 15;
    uint32_t n = cpu_peek(v->cpu, lin, bytes, avail) ? avail : 0;
    while (n < avail && cpu_peek(v->cpu, lin + n, bytes + n, 1))
        n++;
    if (n == 0)
        return -1;
    return decode(bytes, (int)n, (v->cpu->s.seg[S_CS].flags & SEGF_DB) != 0, in);
}

static bool ends_block(const struct insn *in, enum bt_how how)
{
    return how == HOW_BRANCH || how >= HOW_EMU || (in->row->attr & A_BLOCK_END);
}

/* Translate one guest instruction; returns true if it ends the block. */
static bool translate_one(struct emit *e, const struct insn *in, const uint8_t *bytes,
                          uint32_t lin, uint32_t cs_base, enum bt_how how)
{
    switch (how) {
    case HOW_IDENT:
        ebytes(e, bytes, in->len);
        break;
    case HOW_SEQ:
        emit_seq(e, in, lin);
        break;
    case HOW_BRANCH:
        emit_branch(e, in, bytes, lin, cs_base);
        break;
    default:
        e_exit(e, -1, EXIT_CALLOUT, lin, how);
        break;
    }
    return ends_block(in, how);
}

static void record(struct emit *e, int i, uint32_t goff, enum bt_how how)
{
    e->map[2 * i] = (uint16_t)goff;
    e->map[2 * i + 1] = (uint16_t)e->len;
    e->how[i] = (uint8_t)how;
}

/* Decode and emit up to block_insns instructions into e; returns the count. */
static int translate_body(struct bt *bt, struct emit *e, uint32_t lin, uint32_t *glen)
{
    const struct seg *cs = &bt->v->cpu->s.seg[S_CS];
    uint32_t off = 0;
    int i = 0;
    emit_entry_stub(e, lin - cs->base);
    e->b->body = e->len;
    e->b->key = lin - cs->base;
    for (; i < bt->cfg.block_insns; i++) {
        uint8_t bytes[16];
        struct insn in;
        uint32_t eip = lin + off - cs->base;
        if (i > 0 && ((lin + off) >> 12) != (lin >> 12))
            break;                               /* blocks never span pages */
        int len = fetch_insn(bt->v, lin + off, bytes, &in);
        bool fits = len > 0 && (uint64_t)eip + (uint32_t)len - 1u <= cs->limit;
        if (!fits && i > 0)
            break;                               /* let the next block fault */
        enum bt_how how = fits ? bt_classify(&in, bytes) : HOW_STEP;
        if (how == HOW_IDENT && bt_is_adapted(bt, lin + off) && bt_adaptable(&in))
            how = HOW_ADAPT;                     /* adaptive BT (bt_internal.h) */
        if (how == HOW_SEQ && is_selquery(&in)) {
            if (e->b->nexits + 2 > BT_MAX_EXITS)
                how = HOW_BTEMU;                 /* no room for its callout exit */
            else
                bt->sel.used = true;             /* bt_seltab_sync builds the table */
        }
        record(e, i, off, how);
        e->n_left = bt->cfg.block_insns - i;
        e->cont = false;
        e->restore = false;
        bool end = fits ? translate_one(e, &in, bytes, lin + off, cs->base, how)
                        : (e_exit(e, -1, EXIT_CALLOUT, lin + off, HOW_STEP), true);
        if (e->restore)
            e->how[i] |= BT_HOW_RESTORE;
        off += fits ? (uint32_t)len : 1u;
        if (end && !e->cont) {
            i++;
            *glen = off;
            return i;
        }
    }
    *glen = off;
    e_exit(e, -1, EXIT_DIRECT, lin + off, HOW_BRANCH);
    return i;
}

/* Copy the emitted block into the TC and aim its exits at their gates. */
static int place(struct bt *bt, struct emit *e, struct bt_block *tmp)
{
    uint32_t off = tc_reserve(bt, e->len);
    int id = tc_new_block(bt);
    if (id < 0)
        return -1;
    struct bt_block *b = &bt->blocks[id];
    uint32_t gen = b->gen;
    *b = *tmp;
    b->gen = gen;
    b->tc_off = off;
    b->tc_len = e->len;
    memcpy(tc_ptr(bt, off), e->buf, e->len);
    tc_written(bt, off, e->len);
    int32_t rel = (int32_t)(tc_lin(BT_MISS_STUB) - tc_lin(off + e->miss_fix + 5u));
    memcpy(tc_ptr(bt, off + e->miss_fix + 1u), &rel, 4);
    tc_written(bt, off + e->miss_fix + 1u, 4);
    for (int k = 0; k < b->nexits; k++) {
        b->exits[k].site += off;
        tc_patch_exit(bt, &b->exits[k], BT_GATE_BASE + b->exits[k].site);
    }
    return id;
}

static bool block_tables(struct bt_block *b, const struct emit *e, int n)
{
    b->map = malloc(sizeof(uint16_t) * 2u * (size_t)n);
    b->how = malloc((size_t)n);
    if (!b->map || !b->how) {
        free(b->map);
        free(b->how);
        return false;
    }
    memcpy(b->map, e->map, sizeof(uint16_t) * 2u * (size_t)n);
    memcpy(b->how, e->how, (size_t)n);
    return true;
}

int bt_translate(struct bt *bt, uint32_t lin, int *fault)
{
    struct vmm *v = bt->v;
    if (!bt->scratch && !(bt->scratch = malloc(sizeof(struct emit))))
        return -1;
    struct emit *ep = bt->scratch;
    struct bt_block tmp;
    uint32_t pa, glen = 0;
    *fault = 0;
    if (!vmm_lin_to_gpa(v, lin, &pa)) {
        *fault = 1;
        return -1;
    }
    memset(&tmp, 0, sizeof tmp);
    ep->len = 0;
    ep->b = &tmp;
    tmp.lin = lin;
    int n = translate_body(bt, ep, lin, &glen);
    tmp.lin = lin, tmp.pa = pa, tmp.mode = bt_mode_key(v);
    tmp.glen = glen, tmp.ninsns = (uint16_t)n;
    if (!block_tables(&tmp, ep, n))
        return -1;
    int id = place(bt, ep, &tmp);
    if (id < 0) {
        free(tmp.map);
        free(tmp.how);
        return -1;
    }
    tc_insert(bt, id);
    tc_mark_boundaries(bt, id);
    tc_protect_page(bt, pa);
    bt->n.translations++;
    bt->n.guest_bytes += glen;
    bt->n.tc_bytes += ep->len;
    bt->n.guest_insns += (uint64_t)n;
    uint32_t ident = 0;
    for (int i = 0; i < n; i++)
        ident += (tmp.how[i] & BT_HOW_MASK) == HOW_IDENT;
    vmm_emit(v, EV_TRANSLATE, PATH_EMULATED, glen, ep->len, (uint32_t)n | ident << 16,
             (uint32_t)id);
    vmm_charge(v, OV_TRANSLATE, v->costs->v[COST_TRANSLATE_INSN] * (uint32_t)n, 0);
    return id;
}
