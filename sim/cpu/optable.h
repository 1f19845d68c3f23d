/*
 * optable.h - the opcode table: the single source of truth about instructions.
 *
 * Every instruction form the CPU knows is one row (Bochs ia_opcodes.def,
 * KVM's opcode_table): its mnemonic as Capstone spells it, the handler that
 * executes it, its operand kinds and its attributes. The decoder builds its
 * lookup maps from these rows; the execution pipeline uses the attributes for
 * privilege checks; later the binary translator classifies rows as IDENT or
 * not from the same attributes, the lessons list the A_SENSITIVE rows (Robin &
 * Irvine's 17), and the UI names instructions from the mnemonics. There is no
 * second list of "privileged opcodes" anywhere in ringside.
 */
#ifndef RS_OPTABLE_H
#define RS_OPTABLE_H

#include <stdint.h>
#include <stdbool.h>

struct cpu;
struct insn;
typedef void (*op_fn)(struct cpu *cpu, const struct insn *in);

/* Opcode maps. */
enum { MAP_1B = 0, MAP_0F = 1 };

/* Operand kinds (Intel SDM vol. 2, appendix A.2 notation). */
enum opd {
    O_NONE = 0,
    O_Eb, O_Ew, O_Ev, O_Ed,   /* ModRM r/m: byte, word, word/dword, dword */
    O_Gb, O_Gw, O_Gv, O_Gd,   /* ModRM reg */
    O_Ib, O_Ibs, O_Iw, O_Iv,  /* immediate: byte, byte sign-extended to v, word, word/dword */
    O_Jb, O_Jv,               /* relative branch target */
    O_M, O_Mp,                /* memory only: address, far pointer m16:16/32 */
    O_Sw,                     /* segment register from ModRM reg */
    O_Ob, O_Ov,               /* moffs: absolute offset in the segment */
    O_Ap,                     /* ptr16:16/32 immediate far pointer */
    O_Zb, O_Zv,               /* register from the opcode's low 3 bits */
    O_AL, O_eAX, O_CL, O_DX,  /* fixed registers */
    O_ONE,                    /* the constant 1 (shift forms D0/D1) */
    O_Cd, O_Dd,               /* control / debug register from ModRM reg */
    O_SEG,                    /* fixed segment register (PUSH ES etc.): row->sreg */
    O_COUNT
};

/* Attributes: what the pipeline, translator, lessons and UI need to know. */
#define A_MODRM     0x00000001u /* has a ModRM byte */
#define A_PRIV      0x00000002u /* CPL must be 0, else #GP(0) */
#define A_IOPL      0x00000004u /* CPL must be <= IOPL, else #GP(0) (CLI, STI, IN/OUT...) */
#define A_SENSITIVE 0x00000008u /* sensitive but unprivileged (Robin & Irvine 2000) */
#define A_BRANCH    0x00000010u /* may change EIP other than falling through */
#define A_BLOCK_END 0x00000020u /* ends a translation unit */
#define A_STRING    0x00000040u /* string instruction: honours REP prefixes */
#define A_STACK     0x00000080u /* uses the stack implicitly */
#define A_IO        0x00000100u /* port I/O */
#define A_LOCKABLE  0x00000200u /* LOCK prefix allowed (with a memory destination) */
#define A_BYTE      0x00000400u /* byte operation (operand size 1) */
#define A_WB        0x00000800u /* operand 0 is written (handlers write it themselves) */
#define A_NOREAD0   0x00001000u /* operand 0 is write-only: do not fetch it */
#define A_MEMONLY   0x00002000u /* ModRM mod must not be 3, else #UD */
#define A_REGONLY   0x00004000u /* ModRM mod must be 3, else #UD */
#define A_FPU       0x00008000u /* x87/MMX/SSE: #NM if CR0.EM or TS, else #UD */
#define A_UD        0x00010000u /* always #UD (UD2, invalid forms) */
#define A_REPCOND   0x00020000u /* REPE/REPNE terminate on ZF (CMPS, SCAS) */
#define A_FLAGS_RD  0x00040000u /* reads arithmetic flags */
#define A_FLAGS_WR  0x00080000u /* writes arithmetic flags */
#define A_SEGLOAD   0x00100000u /* loads a segment register */
#define A_CALLOUT   0x00200000u /* BT: never IDENT, always emulated by the VMM */
#define A_FAR       0x00400000u /* far control transfer */
#define A_PFX_F3    0x00800000u /* form selected by an F3 prefix (PAUSE = F3 90) */
#define A_COND      0x01000000u /* conditional near branch: may fall through */
#define A_MODRM_EQ  0x02000000u /* form selected by the whole ModRM byte (row->modrm, mod 3):
                                   VMCALL = 0F 01 C1 in group 7's reg-0 slot (SGDT's) */
#define A_D64       0x00000000u /* (reserved) */

/* Cost classes for the cost model (sim/vmm/cost). */
enum cost_class {
    C_SIMPLE = 0, /* ALU, moves, LEA: 1 cycle */
    C_MEM,        /* explicit memory operand */
    C_BRANCH,     /* taken/not-taken control transfer */
    C_MUL, C_DIV,
    C_STRING,     /* per iteration */
    C_SYSTEM,     /* descriptor-table, CR, far transfers, IRET */
    C_IO,         /* IN/OUT/INS/OUTS (each port access also pays cpu->port_cost) */
    C_CLI,        /* CLI, STI: A&A06's cr8wr-class interrupt-flag writes */
    C_COUNT       /* at most 16: cpu->class_cost */
};

/*
 * The operation a row performs, where something outside the CPU's handler
 * acts on it (what KVM calls the intercept and Bochs the BX_IA_* id): the
 * VMM's emulation library dispatches on it, the monitor, the translator's
 * classifier, the history and the lessons ask it, instead of comparing
 * opcode bytes or mnemonics. OP_NONE: plain computation nothing outside the
 * handler treats specially.
 */
enum op_id {
    OP_NONE = 0,
    /* interrupt flag, halt */
    OP_CLI, OP_STI, OP_HLT,
    /* port I/O */
    OP_IN, OP_OUT, OP_INS, OP_OUTS,
    /* flags image */
    OP_PUSHF, OP_POPF,
    /* segment registers */
    OP_MOV_TO_SREG, OP_MOV_FROM_SREG, OP_PUSH_SREG, OP_POP_SREG,
    OP_LES, OP_LDS, OP_LSS, OP_LFS, OP_LGS,
    /* far transfers, interrupts */
    OP_JMP_FAR, OP_CALL_FAR, OP_RET_FAR, OP_IRET,
    OP_INT, OP_INT3, OP_INTO, OP_INT1, OP_SYSENTER, OP_SYSEXIT,
    /* descriptor tables and task register */
    OP_SGDT, OP_SIDT, OP_SLDT, OP_STR, OP_LGDT, OP_LIDT, OP_LLDT, OP_LTR,
    OP_LAR, OP_LSL, OP_VERR, OP_VERW, OP_ARPL,
    /* control, debug and model-specific registers, caches, TLB */
    OP_SMSW, OP_LMSW, OP_CLTS, OP_MOV_FROM_CR, OP_MOV_TO_CR, OP_MOV_FROM_DR, OP_MOV_TO_DR,
    OP_RDMSR, OP_WRMSR, OP_INVD, OP_WBINVD, OP_INVLPG,
    /* identification, time, hypercall, invalid */
    OP_CPUID, OP_RDTSC, OP_VMCALL, OP_UD2, OP_FPU,
    /* near calls and returns (the history's step-over), data moves (MMIO) */
    OP_CALL, OP_RET, OP_MOV, OP_MOVZX, OP_MOVSX,
    OP_COUNT
};

/* Its name: "cli", "mov-to-sreg", ... ("none" for OP_NONE). */
const char *op_id_name(enum op_id op);

struct op_row {
    const char *mnem;   /* Capstone's mnemonic for this form ("add", "lgdt") */
    op_fn fn;           /* handler */
    uint8_t map;        /* MAP_1B or MAP_0F */
    uint8_t opcode;     /* opcode byte within the map */
    int8_t ext;         /* ModRM.reg for group rows, -1 for all */
    uint8_t opd[3];     /* enum opd: destination first */
    uint8_t sreg;       /* segment register for O_SEG rows */
    uint8_t cost;       /* enum cost_class */
    uint32_t attr;      /* A_* */
    uint8_t modrm;      /* A_MODRM_EQ rows: the exact ModRM byte (ext is its reg field) */
    uint8_t op;         /* enum op_id */
};

/* The table itself (optable.c) and its size. */
extern const struct op_row op_table[];
extern const unsigned op_table_len;

/* LOCK is legal only on an A_LOCKABLE row with a memory destination (SDM
   vol. 2, LOCK); anything else raises #UD. Every engine asks this. */
bool insn_lock_ok(const struct insn *in);

/* The vector a software interrupt (INT n, INT3, INTO) raises; -1 for any
   other instruction. */
int insn_soft_vector(const struct insn *in);

/* Find the row for an opcode (ext -1 for non-group opcodes); NULL if none.
   A_MODRM_EQ and A_PFX_F3 forms are never returned: optable_find(MAP_0F,
   0x01, 0) is SGDT, not VMCALL. */
const struct op_row *optable_find(int map, int opcode, int ext);

/*
 * A decoded instruction. Produced by decode() from bytes, cached by physical
 * address, consumed by the pipeline and the handlers. Contains no pointers to
 * guest memory, so it can be rebuilt at any time.
 */
struct insn {
    const struct op_row *row;
    uint8_t len;        /* total length in bytes, prefixes included */
    uint8_t opsize;     /* 2 or 4 (operand-size attribute; byte rows ignore it) */
    uint8_t adsize;     /* 2 or 4 */
    uint8_t seg;        /* segment for the memory operand (default or override) */
    uint8_t rep;        /* 0, 0xF2 (REPNE) or 0xF3 (REP/REPE) */
    uint8_t lock;       /* LOCK prefix present */
    uint8_t mod, reg, rm; /* ModRM fields (mod 3 = register operand) */
    uint8_t base, index, scale; /* EA: base/index register or 8 for none; scale 0-3 */
    uint8_t seg_override; /* 1 if a segment prefix was present */
    uint8_t map, opcode;
    uint32_t disp;      /* displacement (sign-extended) */
    uint32_t imm;       /* first immediate (sign- or zero-extended per kind) */
    uint32_t imm2;      /* second immediate: ENTER level, far pointer selector */
    op_fn fn;           /* the handler: row->fn, or its form (forms.c) */
    uint8_t opr[2];     /* F_REG operands' registers (forms.c) */
    /* set by the run loop when it caches the instruction (decode() leaves 0) */
    uint8_t pre_checks; /* attribute checks or LOCK rules apply (exec.c) */
    uint8_t slow_retire;/* hooks, block end or port I/O after the handler */
    uint8_t cost;       /* row->cost */
    uint8_t extra;      /* one of translated code's extra instructions (exec.c) */
};

/* Decoder result codes (besides a positive length). */
#define DECODE_UD    (-1)  /* invalid opcode: #UD */
#define DECODE_SHORT (-2)  /* needs more bytes than `avail` */
#define DECODE_TOOLONG (-3)/* more than 15 bytes: #GP(0) */

/*
 * Decode one instruction from `bytes` (at most `avail` of them are valid).
 * `d32` is the code segment's D bit. Returns the length or a DECODE_ code.
 * A pure function: no CPU state, no memory access; the decoder tests and the
 * translator call it directly.
 */
int decode(const uint8_t *bytes, int avail, bool d32, struct insn *out);

#endif
