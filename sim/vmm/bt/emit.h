/*
 * emit.h - the translator's code buffer and its byte emitters, shared by
 * translate.c (blocks, branches, exits) and emit_seq.c (the in-TC sequences
 * for sensitive instructions).
 */
#ifndef RS_BT_EMIT_H
#define RS_BT_EMIT_H

#include "bt_internal.h"

struct emit {
    uint8_t buf[BT_MAX_BLOCK_BYTES];
    uint32_t len;
    struct bt_block *b;
    uint32_t miss_fix;     /* offset of the entry stub's jmp to the miss stub */
    int n_left;            /* instructions the block may still take */
    bool cont;             /* the last Jcc let the block go on */
    bool restore;          /* the last sequence saved EAX/EBX (BT_HOW_RESTORE) */
    uint16_t map[2 * BT_MAX_INSNS + 2];
    uint8_t how[BT_MAX_INSNS + 1];
};

/* ---- byte emission ---- */

static inline void e8(struct emit *e, uint8_t v)
{
    if (e->len < BT_MAX_BLOCK_BYTES)
        e->buf[e->len++] = v;
}

static inline void e32(struct emit *e, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        e8(e, (uint8_t)(v >> (8 * i)));
}

static inline void ebytes(struct emit *e, const uint8_t *p, int n)
{
    for (int i = 0; i < n; i++)
        e8(e, p[i]);
}

/* gs:[off] as a ModRM memory operand: mod 00, rm 101 (disp32). */
static inline void e_gs_modrm(struct emit *e, int reg, uint32_t off)
{
    e8(e, (uint8_t)(0x05 | reg << 3));
    e32(e, off);
}

static inline void e_store_gs(struct emit *e, int reg, uint32_t off)   /* mov gs:[off], r32 */
{
    e8(e, 0x65);
    e8(e, 0x89);
    e_gs_modrm(e, reg, off);
}

static inline void e_load_gs(struct emit *e, int reg, uint32_t off)    /* mov r32, gs:[off] */
{
    e8(e, 0x65);
    e8(e, 0x8B);
    e_gs_modrm(e, reg, off);
}

/* An exit: `jmp rel32` (or `jcc rel32`) aimed at the exit's own gate. */
void e_exit(struct emit *e, int jcc, enum bt_exit_kind kind, uint32_t target,
            enum bt_how how);

/* LAR, LSL, VERR, VERW (answered from the selector table). */
bool is_selquery(const struct insn *in);
/* The in-TC sequence for a sensitive instruction classified HOW_SEQ. */
void emit_seq(struct emit *e, const struct insn *in, uint32_t lin);

#endif
