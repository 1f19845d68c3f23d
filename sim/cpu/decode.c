/*
 * decode.c - the instruction decoder: bytes in, struct insn out.
 *
 * x86 instructions are prefixes, one or two opcode bytes, an optional ModRM
 * byte (with SIB and displacement) and optional immediates (SDM vol. 2,
 * chapter 2). Everything opcode-specific comes from the opcode table: the
 * decoder looks the opcode up in a per-map index built once from op_table
 * (with ModRM.reg selecting the row of a group, or the whole ModRM byte
 * one of a group's register forms: VMCALL), then reads exactly the
 * operands the row's operand kinds call for. It is a pure function of its
 * input bytes and the code segment's D bit, so the run loop can cache its
 * output by physical address and the translator and tests can call it on
 * any buffer.
 *
 * The index is the only process-wide state in sim/: immutable after it is
 * built under pthread_once, and derived from the const table.
 */
#include <assert.h>
#include <pthread.h>
#include <string.h>
#include "exec_internal.h"

/* One slot per opcode: a plain row, or eight rows selected by ModRM.reg,
   ahead of which a few forms may be chosen by the whole ModRM byte. */
#define DMAP_EXACT 2
struct dmap_slot {
    const struct op_row *row;     /* non-group row (or NULL) */
    const struct op_row *grp[8];  /* group rows by ModRM.reg */
    const struct op_row *exact[DMAP_EXACT]; /* A_MODRM_EQ rows (VMCALL) */
    uint8_t nexact;
    bool group;
};

struct dmap {
    struct dmap_slot slot[2][256];
    const struct op_row *pause;   /* F3 90 */
};

static struct dmap dmap_storage;
static pthread_once_t dmap_once = PTHREAD_ONCE_INIT;

static bool row_is_z(const struct op_row *r)
{
    return r->opd[0] == O_Zb || r->opd[0] == O_Zv;
}

static void dmap_add(struct dmap *m, const struct op_row *r, int opcode)
{
    struct dmap_slot *s = &m->slot[r->map][opcode];
    if (r->attr & A_MODRM_EQ) {
        assert(s->nexact < DMAP_EXACT);
        s->exact[s->nexact++] = r;
        s->group = true;
    } else if (r->ext >= 0) {
        s->group = true;
        s->grp[r->ext] = r;
    } else {
        s->row = r;
    }
}

/* Z-register rows first, so exact rows (NOP over XCHG EAX,EAX) win. */
static void dmap_build(void)
{
    struct dmap *m = &dmap_storage;
    for (unsigned i = 0; i < op_table_len; i++) {
        const struct op_row *r = &op_table[i];
        if (row_is_z(r))
            for (int k = 0; k < 8; k++)
                dmap_add(m, r, r->opcode + k);
    }
    for (unsigned i = 0; i < op_table_len; i++) {
        const struct op_row *r = &op_table[i];
        if (r->attr & A_PFX_F3)
            m->pause = r;
        else if (!row_is_z(r))
            dmap_add(m, r, r->opcode);
    }
}

static const struct dmap *dmap_get(void)
{
    pthread_once(&dmap_once, dmap_build);
    return &dmap_storage;
}

/* Decoding cursor: bounds-checked against both `avail` and 15 bytes. */
struct cursor {
    const uint8_t *b;
    int avail, pos, err;
};

static bool cur_need(struct cursor *c, int n)
{
    if (c->err)
        return false;
    if (c->pos + n > 15)
        c->err = DECODE_TOOLONG;
    else if (c->pos + n > c->avail)
        c->err = DECODE_SHORT;
    return !c->err;
}

/* Little-endian immediate of n bytes (1, 2, 4), sign-extended if asked. */
static uint32_t cur_take(struct cursor *c, int n, bool sign)
{
    if (!cur_need(c, n))
        return 0;
    const uint8_t *p = c->b + c->pos;
    uint32_t v = p[0];
    if (n >= 2)
        v |= (uint32_t)p[1] << 8;
    if (n == 4)
        v |= (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    c->pos += n;
    return sign ? sext(v, n) : v;
}

/* Prefixes (SDM vol. 2, 2.1.1): any order, repeats allowed, last wins. */
static void decode_prefixes(struct cursor *c, bool d32, struct insn *in)
{
    bool osz = false, asz = false;
    for (;;) {
        if (!cur_need(c, 1))
            return;
        uint8_t b = c->b[c->pos];
        switch (b) {
        case 0x66: osz = true; break;
        case 0x67: asz = true; break;
        case 0xF0: in->lock = 1; break;
        case 0xF2: case 0xF3: in->rep = b; break;
        case 0x26: in->seg = S_ES; in->seg_override = 1; break;
        case 0x2E: in->seg = S_CS; in->seg_override = 1; break;
        case 0x36: in->seg = S_SS; in->seg_override = 1; break;
        case 0x3E: in->seg = S_DS; in->seg_override = 1; break;
        case 0x64: in->seg = S_FS; in->seg_override = 1; break;
        case 0x65: in->seg = S_GS; in->seg_override = 1; break;
        default:
            in->opsize = (d32 != osz) ? 4 : 2;
            in->adsize = (d32 != asz) ? 4 : 2;
            return;
        }
        c->pos++;
    }
}

/* 16-bit ModRM (SDM vol. 2, table 2-1): base/index pairs per r/m. */
static void decode_ea16(struct cursor *c, struct insn *in)
{
    static const uint8_t base[8] = { R_EBX, R_EBX, R_EBP, R_EBP, 8, 8, R_EBP, R_EBX };
    static const uint8_t index[8] = { R_ESI, R_EDI, R_ESI, R_EDI, R_ESI, R_EDI, 8, 8 };
    in->base = base[in->rm];
    in->index = index[in->rm];
    if (in->mod == 0 && in->rm == 6) {
        in->base = 8;
        in->disp = cur_take(c, 2, false);
    } else if (in->mod == 1) {
        in->disp = cur_take(c, 1, true);
    } else if (in->mod == 2) {
        in->disp = cur_take(c, 2, false);
    }
    if (in->base == R_EBP && !in->seg_override)
        in->seg = S_SS;
}

/* 32-bit ModRM with SIB (SDM vol. 2, tables 2-2 and 2-3). */
static void decode_ea32(struct cursor *c, struct insn *in)
{
    in->base = in->rm;
    if (in->rm == 4) {
        uint8_t sib = (uint8_t)cur_take(c, 1, false);
        in->scale = sib >> 6;
        in->index = (sib >> 3) & 7;
        if (in->index == R_ESP)
            in->index = 8;
        in->base = sib & 7;
        if (in->base == R_EBP && in->mod == 0) {
            in->base = 8;
            in->disp = cur_take(c, 4, false);
        }
    } else if (in->rm == 5 && in->mod == 0) {
        in->base = 8;
        in->disp = cur_take(c, 4, false);
    }
    if (in->mod == 1)
        in->disp = cur_take(c, 1, true);
    else if (in->mod == 2)
        in->disp = cur_take(c, 4, false);
    if ((in->base == R_ESP || in->base == R_EBP) && !in->seg_override)
        in->seg = S_SS;
}

static void decode_modrm(struct cursor *c, const struct op_row *r, struct insn *in)
{
    /* MOV to/from CR/DR ignore mod: the r/m is always a register */
    if (r->opd[0] == O_Cd || r->opd[1] == O_Cd || r->opd[0] == O_Dd || r->opd[1] == O_Dd)
        in->mod = 3;
    if (in->mod == 3)
        return;
    if (in->adsize == 2)
        decode_ea16(c, in);
    else
        decode_ea32(c, in);
}

/* Bytes of immediate data an operand kind occupies. */
static int imm_size(int kind, const struct insn *in)
{
    switch (kind) {
    case O_Ib: case O_Ibs: case O_Jb: return 1;
    case O_Iw: return 2;
    case O_Iv: case O_Jv: return in->opsize;
    case O_Ob: case O_Ov: return in->adsize;
    case O_Ap: return in->opsize + 2;
    default: return 0;
    }
}

static void decode_imms(struct cursor *c, const struct op_row *r, struct insn *in)
{
    int nimm = 0;
    for (int i = 0; i < 3; i++) {
        int k = r->opd[i], n = imm_size(k, in);
        if (n == 0)
            continue;
        if (k == O_Ob || k == O_Ov) {
            in->disp = cur_take(c, n, false);
        } else if (k == O_Ap) {
            in->imm = cur_take(c, in->opsize, false);
            in->imm2 = cur_take(c, 2, false);
        } else {
            bool sign = (k == O_Ibs || k == O_Jb || k == O_Jv);
            uint32_t v = cur_take(c, n, sign);
            if (nimm++ == 0)
                in->imm = v;
            else
                in->imm2 = v;
        }
    }
}

/* Pick the row for the opcode; ModRM is read here if the slot needs it. */
static const struct op_row *decode_row(struct cursor *c, const struct dmap *m,
                                       struct insn *in)
{
    const struct dmap_slot *s = &m->slot[in->map][in->opcode];
    const struct op_row *r = s->row;
    if (in->map == MAP_1B && in->opcode == 0x90 && in->rep == 0xF3)
        return m->pause;
    if (!s->group && (!r || !(r->attr & A_MODRM)))
        return r;
    uint8_t modrm = (uint8_t)cur_take(c, 1, false);
    in->mod = modrm >> 6;
    in->reg = (modrm >> 3) & 7;
    in->rm = modrm & 7;
    for (int i = 0; i < s->nexact; i++)
        if (s->exact[i]->modrm == modrm)
            return s->exact[i];
    return s->group ? s->grp[in->reg] : r;
}

int decode(const uint8_t *bytes, int avail, bool d32, struct insn *out)
{
    const struct dmap *m = dmap_get();
    struct cursor c = { bytes, avail, 0, 0 };
    struct insn *in = out;
    memset(in, 0, sizeof *in);
    in->seg = S_DS;
    in->base = in->index = 8;
    decode_prefixes(&c, d32, in);
    in->opcode = (uint8_t)cur_take(&c, 1, false);
    if (!c.err && in->opcode == 0x0F) {
        in->map = MAP_0F;
        in->opcode = (uint8_t)cur_take(&c, 1, false);
    }
    const struct op_row *r = c.err ? NULL : decode_row(&c, m, in);
    if (c.err)
        return c.err;
    if (!r)
        return DECODE_UD;
    in->row = r;
    in->fn = r->fn;
    in->cost = r->cost;
    if ((r->attr & A_MEMONLY) && in->mod == 3)
        return DECODE_UD;
    if (r->attr & A_MODRM)
        decode_modrm(&c, r, in);
    decode_imms(&c, r, in);
    if (c.err)
        return c.err;
    in->len = (uint8_t)c.pos;
    return c.pos;
}
