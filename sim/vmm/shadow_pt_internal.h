/*
 * shadow_pt_internal.h - what shadow_pt.c (the shadow structures: roots,
 * frame pool, fill, tracing set, invalidation) and shadow_pt_fault.c (the
 * guest walk, fault classification, the tracing single-step, VMM accesses
 * to guest memory) share. Not for use outside sim/vmm/shadow_pt*.c.
 */
#ifndef RS_SHADOW_PT_INTERNAL_H
#define RS_SHADOW_PT_INTERNAL_H

#include "vmm_internal.h"
#include "vmm/shadow_pt.h"

/* Page-table entry bits (Intel SDM vol. 3, 4.3, tables 4-4 to 4-6). */
#define SPT_P  0x001u
#define SPT_W  0x002u
#define SPT_U  0x004u
#define SPT_A  0x020u
#define SPT_D  0x040u
#define SPT_PS 0x080u

enum spt_frame_kind { SPF_FREE = 0, SPF_PD, SPF_PT };

/* One frame of the shadow pool and what it shadows. */
struct spt_frame {
    uint8_t kind;       /* enum spt_frame_kind */
    uint8_t root;       /* owning root (index in roots[]) */
    uint16_t pde;       /* SPF_PT: the PD slot it hangs from */
    bool large;         /* SPF_PT: shadows a 4 MiB guest page (src = its base) */
    uint32_t src;       /* SPF_PT: guest-physical frame of the guest PT */
};

/* A shadow root: the shadow page directory for one guest CR3. Which pool
   frame backs each PD slot is kept here, in host memory: the VMM never
   derives a frame number from an entry it reads back from the region
   (docs/isolation.md, "Memory and page tables"). */
struct spt_root {
    bool used;
    uint32_t gcr3;      /* guest page-directory frame (CR3 & ~0xfff) */
    uint16_t pd;        /* pool index of the shadow PD */
    uint64_t stamp;     /* last use, for LRU eviction */
    uint16_t pt[1024];  /* per PD slot: pool index of its shadow PT + 1 (0: none) */
};

/* A traced page made writable for one single-stepped instruction. */
struct spt_open {
    uint32_t lin;       /* linear page the guest wrote through */
    uint32_t pa;        /* guest-physical frame */
    bool code;          /* it held translated code (dropped on the fault) */
    bool open_bus;      /* the open-bus frame: its writes vanish (refilled) */
    uint8_t before[4096]; /* its contents before the instruction */
};

struct spt {
    bool active;                    /* guest CR0.PG: hardware on a shadow root */
    int cur;                        /* current root */
    uint64_t clock;                 /* LRU clock */
    uint32_t npages;                /* guest RAM frames */
    uint16_t *tref;                 /* per guest frame: shadow structures tracing it */
    struct spt_root roots[SPT_ROOTS];
    struct spt_frame frames[SPT_POOL_PAGES];
    uint32_t gdt_frames[17];        /* guest-physical frames of the guest GDT */
    uint32_t gdt_lin[17];           /* the linear page each of them backs */
    int ngdt;
    bool stepping;                  /* a tracing single-step is open */
    int nopen;
    struct spt_open open[SPT_STEP_PAGES];
};

/* Where the guest's tables say a linear address goes (shadow_pt_fault.c). */
struct spt_gwalk {
    uint32_t pde_pa, pte_pa;   /* guest-physical addresses of the entries */
    uint32_t pde, pte;         /* their values (pte = pde for a 4 MiB page) */
    uint32_t frame;            /* guest-physical 4 KiB frame */
    bool large;
    uint32_t err;              /* #PF error code if the walk failed */
};

/* ---- shadow_pt.c ---- */
uint32_t *spt_pool_ptr(struct vmm *v, unsigned idx);
uint32_t spt_pool_pa(const struct vmm *v, unsigned idx);
/* The VMM frame that stands for guest-physical memory above guest RAM
   under guest paging: all ones, never writable except for one stepped
   instruction whose writes are then discarded (native open bus). */
uint32_t spt_open_bus_pa(struct vmm *v);
void spt_open_bus_refill(struct vmm *v);
bool spt_traced(const struct vmm *v, uint32_t frame);
/* Under BT: the translator has code translated from `frame`. */
bool spt_code_frame(struct vmm *v, uint32_t frame);
/* Fill the shadow PTE for `lin` from a successful guest walk. */
bool spt_fill(struct vmm *v, uint32_t lin, const struct spt_gwalk *w, bool write, bool user);
/* The shadow PTE for `lin` in the current root, or NULL. */
uint32_t *spt_shadow_pte(struct vmm *v, uint32_t lin);
/* Guest-physical [pa, pa+len) changed: drop the shadow derived from it.
   Returns the number of shadow entries dropped; *kinds gets the roles. */
unsigned spt_invalidate(struct vmm *v, uint32_t pa, uint32_t len, unsigned *kinds);
/* The roles (enum spt_trace_kind bits) a guest frame plays for the shadow. */
unsigned spt_frame_roles(const struct vmm *v, uint32_t frame);
void spt_write_protect(struct vmm *v, uint32_t frame);
void spt_emit(struct vmm *v, enum ev_kind kind, uint32_t a, uint32_t b, uint32_t c, uint32_t d);

/* ---- shadow_pt_fault.c ---- */
bool spt_gwalk(struct vmm *v, uint32_t lin, bool write, bool user, struct spt_gwalk *w);
void spt_gwalk_set_ad(struct vmm *v, struct spt_gwalk *w, bool write);

#endif
