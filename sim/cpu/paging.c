/*
 * paging.c - 32-bit two-level paging and the TLB.
 *
 * With CR0.PG set every linear address goes through a page directory (CR3)
 * and a page table, or through a 4 MiB page when CR4.PSE is set and the PDE
 * has PS (Intel SDM vol. 3, 4.3 "32-bit paging"). Each level is checked for
 * presence, user/supervisor and read/write rights (4.6: the rights of the
 * two levels combine; supervisor writes to read-only pages are allowed
 * unless CR0.WP is set). A failed check raises #PF with CR2 = the linear
 * address and an error code whose P, W/R and U/S bits tell the handler what
 * went wrong (4.7). A successful walk sets the accessed bit in the PDE and
 * the PTE and, for a write, the dirty bit in the PTE (or the 4 MiB PDE),
 * exactly once per clean entry (4.8); like QEMU and Bochs we set them only
 * when the access is allowed, except that a PDE used to reach a page table
 * is marked accessed even if the walk then faults.
 *
 * Translations are cached in a direct-mapped TLB (see ops_system.h). Like a
 * real TLB it is not coherent with the page tables: the guest must reload
 * CR3 or execute INVLPG after changing an entry, and a teaching guest that
 * forgets will see the stale translation, as it would on hardware.
 */
#include <stdlib.h>
#include <string.h>
#include <assert.h>
#include "ops_system.h"
#include "vmx_internal.h"

#define PTE_P  0x001u
#define PTE_W  0x002u
#define PTE_U  0x004u
#define PTE_A  0x020u
#define PTE_D  0x040u
#define PTE_PS 0x080u
#define PTE_G  0x100u

/* Result of a walk, before any side effect. */
struct walk {
    uint32_t pde_pa, pte_pa;  /* where the entries live (pte_pa 0 for 4M) */
    uint32_t pde, pte;        /* their values */
    uint32_t page;            /* physical page address */
    unsigned allowed;         /* TP_* kinds the combined rights allow */
    bool large, global;
    uint32_t pf_err;          /* #PF error code if the walk failed */
};

struct cpu_tlb *tlb_create(void)
{
    return calloc(1, sizeof(struct cpu_tlb));
}

void tlb_destroy(struct cpu_tlb *tlb)
{
    free(tlb);
}

/* Rights of the combined U and W bits of both levels (SDM 4.6.1). */
static unsigned walk_rights(struct cpu *cpu, uint32_t u_w)
{
    unsigned allowed = TP_RS;
    bool w = u_w & PTE_W, u = u_w & PTE_U;
    if (w || !(cpu->s.cr0 & CR0_WP))
        allowed |= TP_WS;
    if (u)
        allowed |= TP_RU;
    if (u && w)
        allowed |= TP_WU;
    return allowed;
}

/* A guest page-table entry's address: guest-physical under nested paging
   (translated through the EPT table, vmx_ept.c), else physical. */
static uint32_t walk_entry_pa(struct cpu *cpu, uint32_t pa, uint32_t lin)
{
    return cpu->ept_on ? vmx_ept_translate(cpu, pa, false, lin, false, NULL) : pa;
}

/* Read the entries for `lin` without side effects; false if not present. */
static bool walk_tables(struct cpu *cpu, uint32_t lin, struct walk *w)
{
    w->pde_pa = walk_entry_pa(cpu, (cpu->s.cr3 & ~0xfffu) | ((lin >> 22) << 2), lin);
    w->pde = phys_read(cpu, w->pde_pa, 4);
    w->pte_pa = 0;
    w->large = (w->pde & PTE_PS) && (cpu->s.cr4 & CR4_PSE);
    if (!(w->pde & PTE_P))
        return false;
    if (w->large) {
        w->pte = w->pde;
        w->page = (w->pde & 0xffc00000u) | (lin & 0x003ff000u);
        w->allowed = walk_rights(cpu, w->pde);
    } else {
        w->pte_pa = walk_entry_pa(cpu, (w->pde & ~0xfffu) | (((lin >> 12) & 0x3ffu) << 2), lin);
        w->pte = phys_read(cpu, w->pte_pa, 4);
        if (!(w->pte & PTE_P))
            return false;
        w->page = w->pte & ~0xfffu;
        w->allowed = walk_rights(cpu, w->pde & w->pte);
    }
    w->global = (w->pte & PTE_G) && (cpu->s.cr4 & CR4_PGE);
    return true;
}

/* Walk and check one access; false with w->pf_err set on a fault. */
static bool walk_check(struct cpu *cpu, uint32_t lin, bool write, bool user,
                       struct walk *w)
{
    uint32_t kind = (write ? PF_W : 0) | (user ? PF_U : 0);
    if (!walk_tables(cpu, lin, w)) {
        w->pf_err = kind;
        return false;
    }
    unsigned need = 1u << ((unsigned)write + 2u * (unsigned)user);
    if (!(w->allowed & need)) {
        w->pf_err = kind | PF_P;
        return false;
    }
    return true;
}

/* Set A (and D for a write) in memory, as the processor does (SDM 4.8). */
static void walk_set_ad(struct cpu *cpu, struct walk *w, bool write)
{
    if (w->large) {
        uint32_t want = w->pde | PTE_A | (write ? PTE_D : 0);
        if (want != w->pde)
            phys_write(cpu, w->pde_pa, 4, want);
        w->pde = w->pte = want;
        return;
    }
    if (!(w->pde & PTE_A))
        phys_write(cpu, w->pde_pa, 4, w->pde |= PTE_A);
    uint32_t want = w->pte | PTE_A | (write ? PTE_D : 0);
    if (want != w->pte)
        phys_write(cpu, w->pte_pa, 4, want);
    w->pte = want;
}

static void tlb_fill(struct cpu *cpu, uint32_t lin, const struct walk *w)
{
    struct tlb_entry *e = &cpu->tlb->e[(lin >> 12) & (TLB_SIZE - 1)];
    e->tag = lin & ~0xfffu;
    e->pa = w->page;
    e->perm = (uint8_t)w->allowed;
    if (!(w->pte & PTE_D))
        e->perm &= (uint8_t)~(TP_WS | TP_WU);
    e->global = w->global;
    e->large = w->large;
    if (w->large)
        cpu->tlb->has_large = true;
}

/* Nested paging with the guest's paging off: linear = guest-physical. */
static uint32_t nested_only(struct cpu *cpu, uint32_t lin, bool write)
{
    bool writable;
    uint32_t hpa = vmx_ept_translate(cpu, lin, write, lin, true, &writable);
    struct walk w = { .page = hpa & ~0xfffu, .pte = PTE_D, .allowed = TP_RS | TP_RU |
                      (writable ? TP_WS | TP_WU : 0u) };
    tlb_fill(cpu, lin, &w);
    return hpa;
}

/* The guest's page, guest-physical under nested paging: its host page,
   write rights removed if the nested table has none. */
static void walk_nested_page(struct cpu *cpu, uint32_t lin, bool write, struct walk *w)
{
    bool writable;
    w->page = vmx_ept_translate(cpu, w->page | (lin & 0xfffu), write, lin, true, &writable) &
              ~0xfffu;
    if (!writable)
        w->allowed &= ~(TP_WS | TP_WU);
}

uint32_t paging_walk(struct cpu *cpu, uint32_t lin, bool write, bool user)
{
    struct walk w;
    if (!(cpu->s.cr0 & CR0_PG))
        return nested_only(cpu, lin, write);   /* only reached with cpu->ept_on */
    if (!walk_check(cpu, lin, write, user, &w)) {
        /* A PDE that was used to reach the page table gets its accessed
           flag even if the walk then faults (SDM vol. 3, 4.8 and the #PF
           footnote in 6.15; QEMU does the same). A faulting leaf entry
           is left alone (model specific). */
        if ((w.pde & PTE_P) && !w.large && !(w.pde & PTE_A))
            phys_write(cpu, w.pde_pa, 4, w.pde | PTE_A);
        cpu->pf_cr2_before = cpu->s.cr2;   /* a #PF that VM-exits leaves CR2 (vmx.c) */
        cpu->s.cr2 = lin;
        cpu_raise(cpu, EXC_PF, w.pf_err);
    }
    walk_set_ad(cpu, &w, write);
    if (cpu->ept_on)
        walk_nested_page(cpu, lin, write, &w);
    tlb_fill(cpu, lin, &w);
    return w.page | (lin & 0xfffu);
}

uint32_t mem_translate(struct cpu *cpu, uint32_t lin, bool write, bool user)
{
    return tlb_translate(cpu, lin, write, user);
}

void tlb_flush_all(struct cpu *cpu)
{
    if (cpu->tlb)
        memset(cpu->tlb, 0, sizeof *cpu->tlb);
}

void cpu_tlb_flush(struct cpu *cpu)
{
    tlb_flush_all(cpu);
}

void tlb_flush_nonglobal(struct cpu *cpu)
{
    bool large = false;
    for (unsigned i = 0; i < TLB_SIZE; i++) {
        struct tlb_entry *e = &cpu->tlb->e[i];
        if (!e->global)
            e->perm = 0;
        else if (e->perm && e->large)
            large = true;
    }
    cpu->tlb->has_large = large;
}

/* INVLPG: drop the page; for a 4 MiB page, every entry it filled. */
void tlb_flush_page(struct cpu *cpu, uint32_t lin)
{
    struct cpu_tlb *t = cpu->tlb;
    t->e[(lin >> 12) & (TLB_SIZE - 1)].perm = 0;
    if (!t->has_large)
        return;
    for (unsigned i = 0; i < TLB_SIZE; i++)
        if (t->e[i].large && (t->e[i].tag >> 22) == (lin >> 22))
            t->e[i].perm = 0;
}

bool cpu_linear_to_phys(struct cpu *cpu, uint32_t lin, bool write, int cpl,
                        uint32_t *phys)
{
    if (cpu->ept_on)
        return false;     /* a nested walk may exit: only inside cpu_run (owners read
                             guest memory through the VMM once the CPU has exited) */
    if (!(cpu->s.cr0 & CR0_PG)) {
        *phys = lin;
        return true;
    }
    struct walk w;
    if (!walk_check(cpu, lin, write, cpl == 3, &w))
        return false;
    *phys = w.page | (lin & 0xfffu);
    return true;
}

/* Debugger read: RAM only (device registers may have read side effects). */
bool cpu_peek(struct cpu *cpu, uint32_t lin, void *buf, uint32_t len)
{
    uint8_t *out = buf;
    while (len > 0) {
        uint32_t pa, chunk = 0x1000u - (lin & 0xfffu);
        if (chunk > len)
            chunk = len;
        if (!cpu_linear_to_phys(cpu, lin, false, 0, &pa))
            return false;
        if (pa >= cpu->bus.ram_size || chunk > cpu->bus.ram_size - pa)
            return false;
        memcpy(out, cpu->bus.ram + pa, chunk);
        out += chunk;
        lin += chunk;
        len -= chunk;
    }
    return true;
}
