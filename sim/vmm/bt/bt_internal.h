/*
 * bt_internal.h - what the parts of the binary translator share.
 *
 *   translate.c  guest block -> TC bytes: classification by the opcode
 *                table's attributes, one small emitter per case
 *   tcache.c     blocks, lookup by guest address + mode, TC space with the
 *                flush and FIFO policies, chaining, invalidation, the
 *                write protection of guest pages holding translated code
 *   bt_run.c     the engine: entering and leaving the TC (mode switches),
 *                exits and callouts at gate addresses, precise faults
 *   bt_emu.c     emulation of the sensitive reads that have no routine in
 *                the shared library (SGDT, SIDT, SLDT, STR, SMSW, LAR,
 *                LSL, VERR, VERW, MOV from CS/SS/GS to memory)
 *   bt_info.c    the inspection API (bt.h)
 *
 * Layout of the BT area inside the VMM region (offsets from its base; the
 * hardware GS points at the region base while translated code runs, so the
 * in-TC sequences reach the vcpu page as gs:OFFSET):
 */
#ifndef RS_BT_INTERNAL_H
#define RS_BT_INTERNAL_H

#include "vmm/bt/bt.h"
#include "vmm/vmm_internal.h"

#define BT_OFF_VCPU    0x030000u  /* the vcpu page (below) */
#define BT_OFF_PT      0x031000u  /* pool of 4 KiB page tables (write protection) */
#define BT_PT_COUNT    64u        /* 64 tables: 256 MiB of guest RAM can hold code */
#define BT_OFF_TABLE   0x080000u  /* indirect-branch lookup: 64 Ki x {guest, tc} */
#define BT_TABLE_SIZE  0x10000u
#define BT_OFF_SELTAB  0x072000u  /* LAR/LSL/VERR/VERW answers, 8 bytes per selector */
#define BT_SELTAB_N    2048u      /* selectors 0..2047 (GDT entries 0..255); more: callout */
#define BT_OFF_TC      0x200000u  /* the translation cache, up to BT_TC_SIZE_MAX */
#define BT_GATE_BASE   (VMM_REGION_BASE + 0x0u) /* gate = BT_GATE_BASE + exit site */
/* (0x100000-0x200000 is the shadow page-table pool, shadow_pt.h) */

/* The vcpu page: the part of the vcpu translated code reads and writes. */
#define VP_VIF    (BT_OFF_VCPU + 0x00)  /* virtual IF as an EFLAGS bit: 0 or 0x200 */
#define VP_VIOPL  (BT_OFF_VCPU + 0x04)  /* virtual IOPL << 12 */
#define VP_T      (BT_OFF_VCPU + 0x08)  /* indirect branch: guest target */
#define VP_T2     (BT_OFF_VCPU + 0x0C)  /* indirect branch: TC target */
#define VP_S0     (BT_OFF_VCPU + 0x10)  /* scratch for EAX, EBX, ECX */
#define VP_S1     (BT_OFF_VCPU + 0x14)
#define VP_S2     (BT_OFF_VCPU + 0x18)
#define VP_NHWIF  (BT_OFF_VCPU + 0x1C)  /* minus the hardware IF in the TC: -0x200 or 0 */
#define VP_SEL    (BT_OFF_VCPU + 0x20)  /* guest-visible selectors, dword per sreg */
#define VP_GDTR   (BT_OFF_VCPU + 0x40)  /* guest GDTR as SGDT stores it: limit16, base32 */
#define VP_IDTR   (BT_OFF_VCPU + 0x48)  /* guest IDTR, same 6-byte image */
#define VP_LDTR   (BT_OFF_VCPU + 0x50)  /* guest LDTR selector, zero-extended dword */
#define VP_TR     (BT_OFF_VCPU + 0x54)  /* guest TR selector, zero-extended dword */
#define VP_CR0    (BT_OFF_VCPU + 0x58)  /* guest CR0 (SMSW) */
#define VP_IN80   (BT_OFF_VCPU + 0x60)  /* in-TC `in al, 0x80` executed since the last exit */
#define VP_OUT80  (BT_OFF_VCPU + 0x64)  /* in-TC `out 0x80, al` executed since the last exit */
#define VP_OUT80V (BT_OFF_VCPU + 0x68)  /* the byte the last of those wrote */

/* A selector table entry (bt_emu.c, bt_seltab_sync): dword 0 = the LAR
   result (access rights & 0x00F0FF00, low byte always 0) or-ed with the
   flags below, dword 1 = the LSL limit. Built at virtual CPL 0. */
#define SELT_LAR     0x01u  /* LAR sets ZF and loads dword 0 & ~0xFF */
#define SELT_LSL     0x02u  /* LSL sets ZF and loads dword 1 */
#define SELT_VERR    0x04u  /* VERR sets ZF */
#define SELT_VERW    0x08u  /* VERW sets ZF */
#define SELT_CALLOUT 0x10u  /* TI = 1 (LDT): leave the TC, bt_emu.c answers */

/* The selectors the translator's two hidden caches show. They have no
   shadow GDT slot (every slot is the guest's): the hardware CS and GS are
   set directly at TC entry, and nothing reloads them from the table. */
#define BT_SEL_TC   0xFFE1u  /* TC code, DPL 1, base 0, 4 GiB */
#define BT_SEL_VMM  0xFFD9u  /* the region as data, DPL 1 (GS in the TC) */

/* TC offset 0 holds the shared indirect-miss stub (restore ECX, leave
   through gate BT_GATE_BASE + BT_MISS_SITE); blocks start after it. */
#define BT_MISS_STUB   0u
#define BT_MISS_SITE   7u         /* the stub's `jmp rel32` follows `mov ecx, gs:[S2]` */
#define BT_TC_FIRST    16u        /* first block offset */

#define BT_MAX_INSNS 64
#define BT_MAX_BLOCK_BYTES 4096   /* bound on one block's translation */
#define BT_ALIGN 16               /* blocks start on 16-byte boundaries */

/* How a guest instruction is executed when translated code reaches it. */
enum bt_how {
    HOW_IDENT = 0,   /* copied */
    HOW_SEQ,         /* rewritten into an in-TC sequence */
    HOW_BRANCH,      /* control flow: exits / lookup */
    HOW_EMU,         /* callout: the shared emulation library (emu_insn) */
    HOW_BTEMU,       /* callout: bt_emu.c (sensitive reads) */
    HOW_STEP,        /* callout: one step by direct execution in guest context */
    HOW_ADAPT,       /* callout: a store that kept causing tracing faults (bt_emu.c) */
};
/* Flag or-ed into a block's how[] entry: the sequence saved EAX in VP_S0
   and EBX in VP_S1 before its first guest access, so a fault there must
   put them back (bt_run.c, bt_leave). */
#define BT_HOW_RESTORE 0x80u
#define BT_HOW_MASK    0x7Fu

enum bt_exit_kind {
    EXIT_DIRECT = 1, /* branch/fall-through to a known guest address */
    EXIT_CALLOUT,    /* execute the guest instruction at `target` in the VMM */
    EXIT_INDIRECT,   /* lookup missed: guest target in VP_T */
};

struct bt_exit {
    uint8_t kind;          /* enum bt_exit_kind */
    uint8_t how;           /* EXIT_CALLOUT: enum bt_how */
    uint8_t rel;           /* offset of the rel32 inside the site instruction */
    uint32_t site;         /* TC offset of the jmp/jcc that leaves the block */
    uint32_t target;       /* guest linear target / the callout's instruction */
    int32_t to;            /* chained: block id it jumps to, else -1 */
    uint32_t to_gen;       /* generation of that block when chained */
};

#define BT_MAX_EXITS BT_INFO_EXITS  /* a block continues past a Jcc while room is left */

struct bt_block {
    bool live;
    uint32_t gen;          /* bumped when the slot is reused */
    uint32_t lin, pa;      /* guest linear / physical address of the first byte */
    uint32_t mode;         /* the mode bits it was translated for (bt_mode_key) */
    uint32_t glen;         /* guest bytes */
    uint32_t tc_off, tc_len; /* its bytes in the TC (entry stub first) */
    uint32_t body;         /* TC offset of the body from tc_off (after the stub) */
    uint32_t key;          /* guest EIP its indirect-lookup entry is keyed by */
    uint16_t ninsns;
    uint16_t *map;         /* 2 per insn: guest offset, TC offset (block-relative) */
    uint8_t *how;          /* enum bt_how per insn */
    uint8_t nexits;
    struct bt_exit exits[BT_MAX_EXITS];
    int32_t hash_next;     /* lookup bucket chain */
    int32_t page_next;     /* same-page bucket chain */
    uint64_t hits;
    uint64_t last_hit;     /* bt->clock at its last hit (or its translation) */
    uint64_t born;         /* bt->clock when it was translated */
};

/*
 * Adaptive BT (Adams & Agesen §3.3, "innocent until proven guilty"): a
 * store in translated code that causes BT_ADAPT_AFTER tracing faults
 * (shadow paging: its target is a traced guest page table) is retranslated
 * as a callout that performs the write through the shadow code's coherent
 * path (emu_mem_write -> gmem_write -> vmm_write_guest_phys), no fault. The old block
 * is dropped; the jumps chained into it fall back to their gates, which
 * translate the new one and chain to it (the forwarding).
 */
#define BT_ADAPT_AFTER 4u     /* tracing faults before an instruction is adapted */
#define BT_ADAPT_SLOTS 64u    /* direct-mapped by guest linear address */

struct bt_adapt {
    uint32_t lin;          /* guest linear address of the store */
    uint32_t faults;       /* tracing faults it caused */
    bool adapted;          /* translated as HOW_ADAPT from now on */
};

/* The last fault taken in the TC that may be a tracing fault. */
struct bt_tcfault {
    bool valid;
    uint32_t lin;          /* guest instruction */
    int id;                /* block it was in, and that block's generation */
    uint32_t gen;
};

struct bt {
    struct vmm *v;
    struct bt_config cfg;
    struct bt_counters n;
    struct bt_block *blocks;   /* slots; ids are indices */
    int nblocks, cap;          /* slots used / allocated */
    int32_t free_head;         /* free slot list through hash_next */
    uint32_t gen_seq;          /* last generation handed out (unique per block) */
    int32_t *hash;             /* BT_HASH buckets by guest linear */
    int32_t *page_hash;        /* BT_PHASH buckets by guest page */
    int32_t *gran;             /* block id per BT_ALIGN granule of the TC */
    uint32_t alloc;            /* next free TC offset */
    uint64_t clock;            /* TC lookups and translations: a placement policy's time */
    uint8_t *prot;             /* per guest page: write-protected for BT */
    uint32_t npages;
    int pt_used;               /* page tables taken from the pool */
    int32_t pt_of_pde[1024];   /* pool index of the table that split a PDE, or -1 */
    uint32_t table_mode;       /* mode the lookup table was filled for */
    bool in_tc;                /* the CPU is set up to run translated code */
    struct seg gcs, ggs;       /* the guest's CS and GS while in the TC */
    void *scratch;             /* the translator's emit buffer (translate.c) */
    uint8_t *bmap;             /* 1 bit per TC byte: a guest instruction's translation
                                  starts there (the CPU's boundary_map) */
    struct bt_adapt adapt[BT_ADAPT_SLOTS];
    struct bt_tcfault tcf;
    struct bt_seltab {     /* the selector table (BT_OFF_SELTAB) */
        bool used;         /* a translated LAR/LSL/VERR/VERW reads it */
        bool valid;        /* built, and the GDT traced since */
        uint32_t base, limit, pg, cr3; /* the guest GDTR and paging it was built for */
        uint32_t writes;   /* GDT rebuilds caused by writes (tests) */
    } sel;
};

#define BT_HASH  4096
#define BT_PHASH 1024

/* ---- tcache.c ---- */
int tc_init(struct bt *bt);
void tc_free(struct bt *bt);
void tc_flush(struct bt *bt, bool count);
uint32_t bt_mode_key(struct vmm *v);
int tc_lookup(struct bt *bt, uint32_t lin, uint32_t pa, uint32_t mode);
/* Reserve room for a block of at most `len` bytes (may flush or evict). */
uint32_t tc_reserve(struct bt *bt, uint32_t len);
int tc_new_block(struct bt *bt);
void tc_insert(struct bt *bt, int id);
void tc_remove(struct bt *bt, int id);
uint8_t *tc_ptr(struct bt *bt, uint32_t off);
uint32_t tc_lin(uint32_t off);
void tc_written(struct bt *bt, uint32_t off, uint32_t len);
void tc_patch_exit(struct bt *bt, struct bt_exit *e, uint32_t target_lin);
int tc_block_at(const struct bt *bt, uint32_t off);
/* Write protection of guest pages that hold translated code. */
void tc_protect_page(struct bt *bt, uint32_t pa);
/* Write-protect a guest page that holds the GDT (no shadow-paging hook). */
void tc_protect_gdt_page(struct bt *bt, uint32_t pa);
bool tc_page_protected(const struct bt *bt, uint32_t pa);
/* The guest wrote [pa, pa+len): drop the blocks on those pages. */
int tc_invalidate_range(struct bt *bt, uint32_t pa, uint32_t len, bool unprotect);
void tc_table_fill(struct bt *bt, uint32_t eip, int id);
/* TC linear address of a block's body (where chains and entries go). */
uint32_t tc_body_lin(const struct bt *bt, int id);
void tc_table_clear(struct bt *bt);
/* Mark the guest-instruction boundaries of block `id` (cpu.h boundary_map). */
void tc_mark_boundaries(struct bt *bt, int id);

/* ---- translate.c ---- */
/* Translate the block at guest linear `lin`; returns its id, or -1 with
   *fault set (the first instruction could not be fetched). */
int bt_translate(struct bt *bt, uint32_t lin, int *fault);
enum bt_how bt_classify(const struct insn *in, const uint8_t *bytes);

/* ---- bt_emu.c ---- */
/* Rebuild the selector table if the guest GDT may have changed, and
   write-protect its pages (guest paging off; shadow paging traces them
   itself). Called at every TC entry. */
void bt_seltab_sync(struct bt *bt);
int bt_emu_insn(struct vmm *v, const struct insn *in, struct emu_fault *f);
/* Stores adaptive BT can take over (MOV r/m, reg|imm to memory), and the
   callout doing one. */
bool bt_adaptable(const struct insn *in);
int bt_adapted_store(struct vmm *v, const struct insn *in, struct emu_fault *f);
/* Has the instruction at guest linear `lin` been adapted (bt_run.c)? */
bool bt_is_adapted(const struct bt *bt, uint32_t lin);

/* ---- bt_run.c ---- */
enum cpu_stop bt_run(struct vmm *v, uint64_t cycle_limit);
struct bt *bt_create(struct vmm *v, const struct bt_config *cfg);
void bt_destroy(struct bt *bt);
void bt_reset(struct bt *bt);
/* The VMM wrote guest memory (emulation, reflection frames). */
void bt_guest_written(struct bt *bt, uint32_t pa, uint32_t len);

#endif
