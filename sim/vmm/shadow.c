/*
 * shadow.c - the VMM region: page directory, shadow GDT, the monitor's IDT
 * and TSS; guest memory and guest descriptors as the monitor sees them;
 * segment truncation and truncation faults.
 *
 * The VMM occupies the top 4 MiB of the linear address space (0xFFC00000
 * up), backed by the 4 MiB of frames the machine allocates above guest RAM
 * (Adams & Agesen 2006, §3.1). Hardware paging is always on under the VMM:
 * while the guest has paging off, guest-physical memory is mapped 1:1 at the
 * same linear addresses with user access (4 MiB PSE pages where aligned), and
 * the VMM region is supervisor-only. The guest kernel runs at ring 1, which
 * paging counts as supervisor, so it is segment *truncation* that keeps it out
 * of the region: every guest code/data segment reaches a hardware segment
 * register with its accepted offsets cut below 0xFFC00000, whatever its form
 * (expand-up or -down, 16- or 32-bit, wrapping), and DPL 0 compressed to 1
 * (ring compression). What the cut removes is re-executed with the guest's
 * own segments and the region unmapped (shadow_trunc_fault), so the guest
 * sees open bus there, as natively. All 8192 shadow GDT slots are the
 * guest's; the VMM's own segments live only in hidden caches. Segment loads
 * re-read the guest's descriptor (hw_load_seg). The invariants are stated in
 * docs/isolation.md.
 */
#include "vmm_internal.h"
#include "le.h"
#include "vmm/bt/bt_internal.h"
#include "shadow_pt_internal.h"

#include <string.h>

static uint8_t *region(struct vmm *v)
{
    return v->cpu->bus.ram + v->region_pa;
}

/* A code/data/system descriptor (SDM vol. 3, figure 3-8); `limit` in bytes. */
static uint64_t make_desc(uint32_t base, uint32_t limit, uint8_t access, bool db)
{
    bool g = limit > 0xFFFFFu;
    uint32_t raw = g ? limit >> 12 : limit;
    uint64_t d = raw & 0xFFFFu;
    d |= (uint64_t)(base & 0xFFFFFFu) << 16;
    d |= (uint64_t)access << 40;
    d |= (uint64_t)((raw >> 16) & 0xFu) << 48;
    d |= (uint64_t)((db ? 4u : 0u) | (g ? 8u : 0u)) << 52;
    d |= (uint64_t)(base >> 24) << 56;
    return d;
}

static uint32_t desc_base(uint64_t d)
{
    return (uint32_t)((d >> 16) & 0xFFFFFFu) | (uint32_t)((d >> 56) & 0xFFu) << 24;
}

static uint32_t desc_limit(uint64_t d)
{
    uint32_t raw = (uint32_t)(d & 0xFFFFu) | (uint32_t)((d >> 48) & 0xFu) << 16;
    return (d >> 55) & 1u ? (raw << 12) | 0xFFFu : raw;
}

void desc_to_seg(struct seg *s, uint16_t sel, uint64_t d)
{
    uint32_t hi = (uint32_t)(d >> 32);
    s->sel = sel;
    s->base = desc_base(d);
    s->limit = desc_limit(d);
    s->flags = (hi >> 8) & 0xF0FFu;
}

/* A hidden-cache segment back into descriptor form (the inverse of
   desc_to_seg; G is set exactly when the byte limit needs it, so the limit
   must be representable: low 12 bits all ones above 1 MiB). */
static uint64_t seg_to_desc(const struct seg *s)
{
    bool g = s->limit > 0xFFFFFu;
    uint32_t raw = g ? s->limit >> 12 : s->limit;
    uint64_t d = raw & 0xFFFFu;
    d |= (uint64_t)(s->base & 0xFFFFFFu) << 16;
    d |= (uint64_t)(s->flags & 0xFFu) << 40;
    d |= (uint64_t)((raw >> 16) & 0xFu) << 48;
    d |= (uint64_t)(((s->flags >> 12) & 7u) | (g ? 8u : 0u)) << 52;
    d |= (uint64_t)(s->base >> 24) << 56;
    return d;
}

/* Byte limits a descriptor can hold: above 1 MiB only whole pages. */
static uint32_t limit_down(uint64_t lim)
{
    return lim <= 0xFFFFFu ? (uint32_t)lim : (uint32_t)(((lim + 1u) & ~0xFFFull) - 1u);
}

static uint32_t limit_up(uint64_t lim)
{
    return lim <= 0xFFFFFu ? (uint32_t)lim : (uint32_t)(lim | 0xFFFu);
}

/*
 * Segment truncation (Adams & Agesen 2006, §3.1), on the hidden-cache form
 * of a code or data segment: shrink the offsets the segment accepts so that
 * every accepted offset lands at a linear address below the VMM region,
 * without wrapping past 4 GiB through it. The kept offsets are always a
 * subset of the guest's, so the guest never reaches memory it could not
 * reach natively; what is cut faults (#GP, or #SS through SS) and the
 * monitor re-executes the access with the guest's own segment
 * (shadow_trunc_fault), so the guest sees what native would.
 *   expand-up (code or data): offsets [0, limit] -> [0, min(limit,
 *     region - 1 - base)]; base inside the region: nothing is kept.
 *   expand-down data: offsets (limit, upper], upper 0xFFFF (B = 0) or
 *     0xFFFFFFFF (B = 1). Raising the limit is the only cut possible, so
 *     what stays is the part that wrapped to low addresses, if the top of
 *     the segment wraps below the region; else nothing is kept.
 * "Nothing kept" is an expand-down data segment with limit = upper (no
 * valid offset; B and the writable bit stay), or a not-present code
 * segment. Returns false if the segment was already safe.
 */
bool shadow_truncate_seg(struct seg *s)
{
    const uint64_t rb = VMM_REGION_BASE, top = 1ull << 32;
    uint64_t base = s->base, lim = s->limit;
    bool code = s->flags & 8u, down = !code && (s->flags & 4u);
    if (!(s->flags & SEGF_S))
        return false;
    if (!down) {
        if (base + lim < rb)
            return false;
        if (base < rb) {
            s->limit = limit_down(rb - 1u - base);
            return true;
        }
        if (code)
            s->flags &= ~SEGF_P;
        else
            s->flags |= 4u;                            /* expand-down, empty */
        s->limit = (s->flags & SEGF_DB) ? 0xFFFFFFFFu : 0xFFFFu;
        return true;
    }
    uint64_t upper = (s->flags & SEGF_DB) ? 0xFFFFFFFFu : 0xFFFFu;
    if (lim >= upper)
        return false;                                  /* already empty */
    uint64_t hi = base + upper;
    if (hi < rb)
        return false;
    if (hi >= top && hi - top < rb) {                  /* keep the wrapped low part */
        uint64_t cut = top - base - 1u;                /* last offset below 4 GiB */
        if (lim >= cut)
            return false;
        s->limit = limit_up(cut);
        return true;
    }
    s->limit = (uint32_t)upper;
    return true;
}

/*
 * One guest descriptor as the shadow holds it: DPL 0 -> 1 (ring
 * compression), truncated (shadow_truncate_seg), system descriptors absent.
 * A descriptor that needs no cut is kept bit for bit.
 */
uint64_t shadow_desc_from_guest(uint64_t g)
{
    if (!desc_s(g))
        return 0;
    if (desc_dpl(g) == 0)
        g |= 1ull << 45;
    struct seg s;
    desc_to_seg(&s, 0, g);
    return shadow_truncate_seg(&s) ? seg_to_desc(&s) : g;
}

bool shadow_code_ok(uint64_t g)
{
    return !desc_code(g) || !desc_present(g) || desc_present(shadow_desc_from_guest(g));
}

/* What a shadow GDT slot holds: data descriptors not present, so that
   every hardware load of a data or stack segment faults and is emulated
   (hw_load_seg then reads the guest's descriptor again: a rewritten GDT
   entry is seen on reload, as natively); code descriptors as
   shadow_desc_from_guest (far transfers at ring 1 run in hardware). */
static uint64_t slot_from_guest(uint64_t g)
{
    uint64_t d = shadow_desc_from_guest(g);
    return desc_code(d) ? d : d & ~(1ull << 47);
}

uint64_t shadow_read_slot(struct vmm *v, unsigned index)
{
    uint64_t d;
    memcpy(&d, region(v) + VMM_OFF_GDT + index * 8u, 8);
    return d;
}

static void shadow_write_slot(struct vmm *v, unsigned index, uint64_t d)
{
    memcpy(region(v) + VMM_OFF_GDT + index * 8u, &d, 8);
}

/* Slot i of the shadow from guest descriptor d (remembered in gsrc). */
static void shadow_put(struct vmm *v, unsigned i, uint64_t d)
{
    v->gsrc[i] = d;
    uint64_t s = slot_from_guest(d);
    if (shadow_read_slot(v, i) != s) {
        shadow_write_slot(v, i, s);
        cpu_notify_phys_write(v->cpu, v->region_pa + VMM_OFF_GDT + i * 8u, 8);
    }
}

/* Guest GDT entry i, or 0 past the limit / unreadable. */
static uint64_t guest_gdt_entry(struct vmm *v, unsigned i)
{
    const struct dtr *g = &v->vc.gdtr;
    uint64_t d = 0;
    struct emu_fault f;
    if (i == 0 || i * 8u + 7u > g->limit || gmem_read(v, g->base + i * 8u, &d, 8, &f) != EMU_NEXT)
        return 0;
    return d;
}

void shadow_gdt_refresh(struct vmm *v, unsigned first, unsigned last)
{
    for (unsigned i = first; i <= last && i < VMM_GUEST_SLOTS; i++)
        shadow_put(v, i, guest_gdt_entry(v, i));
    if (v->bt)
        v->bt->sel.valid = false;
}

void shadow_gdt_rebuild(struct vmm *v)
{
    for (unsigned i = 0; i < VMM_GUEST_SLOTS; i++)
        shadow_put(v, i, guest_gdt_entry(v, i));
    if (v->bt)                          /* BT's LAR/LSL/VERR/VERW table too */
        v->bt->sel.valid = false;
}

/*
 * Follow guest writes to its GDT that no trace saw (guest paging off): on
 * every monitor visit the slots whose guest entry changed are rebuilt.
 * Loaded segment registers keep their hidden caches, as on hardware.
 * Under guest paging the GDT frames are traced (spt_gdt_loaded).
 */
void shadow_gdt_sync(struct vmm *v)
{
    if (spt_active(v))
        return;
    uint32_t n = ((uint32_t)v->vc.gdtr.limit + 1u) / 8u, base = v->vc.gdtr.base;
    if (n < 2)
        return;
    if ((uint64_t)base + n * 8u <= v->guest_ram &&        /* the common case: no change */
        vmm_guest_phys_equal(v, base + 8u, &v->gsrc[1], (n - 1u) * 8u))
        return;
    for (unsigned i = 1; i < n && i < VMM_GUEST_SLOTS; i++) {
        uint64_t d = guest_gdt_entry(v, i);
        if (d != v->gsrc[i])
            shadow_put(v, i, d);
    }
}

/* Page directory: guest RAM 1:1 user/writable, the VMM region supervisor. */
#define HW_UNASSIGNED_PA 0xFFC00000u  /* no RAM there (guest RAM <= 3 GiB) */

/* Alone on its machine: guest RAM in 4 MiB pages, the tail in a table. */
static void shadow_build_flat_idmap(struct vmm *v, uint8_t *pd)
{
    uint32_t big = v->guest_ram >> 22, i;
    for (i = 0; i < big; i++)
        le_put32(pd + i * 4u, (i << 22) | 0x87u);          /* PS | U | W | P */
    if (v->guest_ram & 0x3FFFFFu) {
        uint8_t *pt = region(v) + VMM_OFF_PT_TAIL;
        le_put32(pd + i * 4u, (v->region_pa + VMM_OFF_PT_TAIL) | 7u);
        for (uint32_t j = 0; (i << 22) + (j << 12) < v->guest_ram; j++)
            le_put32(pt + j * 4u, ((i << 22) + (j << 12)) | 7u);
        for (uint32_t j = 0; v->engine == VMM_HW && j < 1024u; j++)
            if ((i << 22) + (j << 12) >= v->guest_ram)
                le_put32(pt + j * 4u, (HW_UNASSIGNED_PA + (j << 12)) | 7u);
        i++;
    }
    /* hw: the guest at ring 0 may reach any linear address with paging off;
       above its RAM it finds unassigned memory (reads 0, writes vanish), a
       physical range past every frame the machine has - except the device
       window (local and I/O APIC), which stays not present: an access is a
       #PF exit the VMM steps into the device model (shadow_pt_fault.c) */
    for (; v->engine == VMM_HW && i < 1024u; i++)
        if (i != VMM_MMIO_BASE >> 22)
            le_put32(pd + i * 4u, HW_UNASSIGNED_PA | 0x87u);
}

static void shadow_build_paging(struct vmm *v)
{
    uint8_t *pd = region(v) + VMM_OFF_PD;
    if (vmm_pooled(v))
        vmm_build_idmap(v, pd);         /* machine memory: 4 KiB entries, filled on touch */
    else
        shadow_build_flat_idmap(v, pd);
    uint8_t *ptv = region(v) + VMM_OFF_PT_VMM;
    /* W | P, supervisor; under hw the guest runs at ring 0: the region is
       not in its address space at all */
    if (v->engine != VMM_HW)
        le_put32(pd + 1023u * 4u, (v->region_pa + VMM_OFF_PT_VMM) | 3u);
    for (uint32_t j = 0; j < 1024u; j++)
        le_put32(ptv + j * 4u, (v->region_pa + (j << 12)) | 3u);
}

/* The VMM's TSS: ring-0 stack in the region; I/O bitmap offset past the
   limit, so deprivileged IN/OUT always fault (SDM vol. 1, 19.5.2). */
static void shadow_build_tss(struct vmm *v)
{
    uint8_t *t = region(v) + VMM_OFF_TSS;
    memset(t, 0, 104);
    le_put32(t + 4, VMM_REGION_BASE + VMM_OFF_STACK + 0x10000u);
    le_put32(t + 8, VMM_SEL_DATA);
    le_put32(t + 0x64, 104u << 16);
}

void shadow_build_region(struct vmm *v)
{
    memset(region(v), 0, VMM_OFF_STACK);
    shadow_build_paging(v);
    shadow_build_tss(v);
    struct cpu_state *s = &v->cpu->s;
    s->gdtr = (struct dtr){ VMM_REGION_BASE + VMM_OFF_GDT, 0xFFFF };
    s->idtr = (struct dtr){ VMM_REGION_BASE + VMM_OFF_IDT, 0x7FF };
    /* The VMM's busy TSS lives only in the hidden TR cache: all 8192 GDT
       slots are the guest's (no selector of the guest's can name it). */
    desc_to_seg(&s->tr, VMM_SEL_TSS,
                make_desc(VMM_REGION_BASE + VMM_OFF_TSS, 103, 0x8B, false));
    s->ldtr = (struct seg){ 0, 0, 0, 0 };
    s->cr3 = v->region_pa + VMM_OFF_PD;
    s->cr4 |= CR4_PSE;
    s->cr0 |= CR0_PG | CR0_PE;
    if (vmm_pooled(v))                  /* ring 1 honours the 1:1 map's read-only pages */
        s->cr0 |= CR0_WP;
    cpu_notify_phys_write(v->cpu, v->region_pa, VMM_OFF_STACK);
    cpu_flush_caches(v->cpu);
}

/* ---- guest memory and descriptors ---- */

/*
 * The VMM's accesses to guest linear memory. A fault is data: the record
 * the hardware would have delivered (#PF with its error code and CR2), for
 * the caller to reflect. Guest-physical addresses outside guest RAM read as
 * zeros and ignore writes, as QEMU's unassigned memory does (checked with
 * qemu-system-i386 7.2 -m 32: loads from 32 MiB up return 0, stores vanish);
 * they never reach the VMM region that lies above guest RAM. Every page is
 * translated before any byte moves, so a fault on the second page of a
 * crossing access leaves memory untouched.
 */
static int gmem_page_fault(struct emu_fault *f, uint32_t lin, uint32_t err)
{
    f->vector = EXC_PF;
    f->err = err;
    f->has_err = true;
    f->cr2 = lin;
    return EMU_FAULT;
}

/* Guest-physical address of `lin` (A/D set as the walk would), or a #PF. */
static int gmem_phys(struct vmm *v, uint32_t lin, unsigned how, uint32_t *pa,
                     struct emu_fault *f)
{
    bool paging = v->npt ? (v->vc.cr0 & CR0_PG) != 0 : spt_active(v);
    if (!paging) {
        *pa = lin;
        return EMU_NEXT;
    }
    struct spt_gwalk w;
    bool write = (how & GMEM_WRITE) != 0;
    if (!spt_gwalk(v, lin, write, (how & GMEM_USER) != 0, &w))
        return gmem_page_fault(f, lin, w.err);
    spt_gwalk_set_ad(v, &w, write);
    *pa = w.frame | (lin & 0xFFFu);
    return EMU_NEXT;
}

static uint32_t gmem_chunk(uint32_t lin, uint32_t len)
{
    uint32_t chunk = 0x1000u - (lin & 0xFFFu);
    return chunk > len ? len : chunk;
}

/* The device window (VMM_MMIO_BASE): the access goes to the machine's
   device model, as the guest's own load or store would natively (an
   adapted store under bt, an emulated instruction), in aligned pieces of
   at most 4 bytes. */
static void gmem_mmio(struct vmm *v, uint32_t pa, uint8_t *p, uint32_t n, bool write)
{
    const struct cpu_bus *b = &v->cpu->bus;
    while (n > 0) {
        uint32_t k = n >= 4 && !(pa & 3u) ? 4u : n >= 2 && !(pa & 1u) ? 2u : 1u;
        uint32_t val = 0;
        if (write) {
            for (uint32_t i = 0; i < k; i++)
                val |= (uint32_t)p[i] << (8 * i);
            if (b->mmio_write)
                b->mmio_write(b->ctx, pa, (int)k, val);
        } else {
            val = b->mmio_read ? b->mmio_read(b->ctx, pa, (int)k) : 0;
            for (uint32_t i = 0; i < k; i++)
                p[i] = (uint8_t)(val >> (8 * i));
        }
        pa += k, p += k, n -= k;
    }
}

/* One page-bounded piece at guest-physical `pa`. */
static void gmem_move(struct vmm *v, uint32_t pa, uint8_t *p, uint32_t n, bool write)
{
    bool in_ram = (uint64_t)pa + n <= v->guest_ram;
    if (pa >= VMM_MMIO_BASE && pa < VMM_MMIO_END) {
        gmem_mmio(v, pa, p, n, write);
        return;
    }
    if (!write) {
        if (in_ram)
            vmm_read_guest_phys(v, pa, p, n);
        else
            memset(p, 0, n);                    /* unassigned: reads 0 */
        return;
    }
    if (in_ram)
        vmm_write_guest_phys(v, pa, p, n);
}

int gmem_access(struct vmm *v, uint32_t lin, void *buf, uint32_t len, unsigned how,
                struct emu_fault *f)
{
    uint32_t pa, n;
    for (uint32_t done = 0; done < len; done += n) {        /* faults first */
        n = gmem_chunk(lin + done, len - done);
        if (gmem_phys(v, lin + done, how, &pa, f) != EMU_NEXT)
            return EMU_FAULT;
    }
    if (how & GMEM_PROBE)
        return EMU_NEXT;
    for (uint32_t done = 0; done < len; done += n) {
        n = gmem_chunk(lin + done, len - done);
        gmem_phys(v, lin + done, how, &pa, f);
        gmem_move(v, pa, (uint8_t *)buf + done, n, (how & GMEM_WRITE) != 0);
    }
    return EMU_NEXT;
}

int gmem_read(struct vmm *v, uint32_t lin, void *buf, uint32_t len, struct emu_fault *f)
{
    return gmem_access(v, lin, buf, len, 0, f);
}

int gmem_write(struct vmm *v, uint32_t lin, const void *buf, uint32_t len,
               struct emu_fault *f)
{
    return gmem_access(v, lin, (void *)buf, len, GMEM_WRITE, f);
}

bool guest_desc(struct vmm *v, uint16_t sel, uint64_t *desc)
{
    uint32_t off = sel & 0xFFF8u;
    struct emu_fault f;
    if (sel & 4u) {                     /* the guest's LDT (emu_lldt; limit 0: null) */
        if (off + 7u > v->vc.ldt_limit)
            return false;
        return gmem_read(v, v->vc.ldt_base + off, desc, 8, &f) == EMU_NEXT;
    }
    if (off + 7u > v->vc.gdtr.limit)
        return false;
    return gmem_read(v, v->vc.gdtr.base + off, desc, 8, &f) == EMU_NEXT;
}

/*
 * Load hardware segment register `sreg` for guest selector `sel`. The
 * descriptor is read from the guest's table again (not from the shadow
 * slot): the register gets what native would load now, truncated. The
 * guest's own hidden cache is remembered beside the hardware one, for
 * shadow_trunc_fault. The GDT slot is refreshed on the way.
 */
void hw_load_seg(struct vmm *v, int sreg, uint16_t sel, int rpl)
{
    struct seg *s = &v->cpu->s.seg[sreg];
    uint16_t hsel = (uint16_t)((sel & 0xFFFCu) | (unsigned)rpl);
    uint64_t d = 0;
    if ((sel & 0xFFFCu) == 0) {
        *s = (struct seg){ hsel, 0, 0, 0 };
        v->gseg[sreg] = *s;
    } else {
        if (!guest_desc(v, sel, &d))
            d = 0;
        if (!(sel & 4u))
            shadow_put(v, sel >> 3, d);
        uint64_t c = desc_s(d) && desc_dpl(d) == 0 ? d | 1ull << 45 : d;
        desc_to_seg(&v->gseg[sreg], hsel, c);   /* compressed DPL, full limit */
        desc_to_seg(s, hsel, shadow_desc_from_guest(d));
    }
    v->hseg[sreg] = *s;
    if (sreg == S_CS)
        v->cpu->s.cpl = rpl;
}

uint16_t guest_visible_sel(uint16_t hw_sel)
{
    return (hw_sel & 3u) == 1u ? (uint16_t)(hw_sel & ~3u) : hw_sel;
}

/* ---- truncation faults ---- */

static bool seg_same(const struct seg *a, const struct seg *b)
{
    return a->sel == b->sel && a->base == b->base && a->limit == b->limit &&
           a->flags == b->flags;
}

void shadow_reset_segs(struct vmm *v)
{
    for (int i = 0; i < S_COUNT; i++) {
        struct seg *s = &v->cpu->s.seg[i];
        if ((s->flags & SEGF_P) && (s->flags & SEGF_S) && SEGF_DPL(s->flags) == 0)
            s->flags |= 1u << 5;
        v->gseg[i] = *s;
        if (s->flags & SEGF_P)
            shadow_truncate_seg(s);
        v->hseg[i] = *s;
    }
}

/* The guest's own hidden cache behind hardware register i, if it differs
   from the hardware's (the register was truncated). A register the
   hardware loaded itself (a far transfer at ring 1 from a code slot) is
   the guest descriptor that slot was built from. */
static bool guest_cache(struct vmm *v, int i, struct seg *full)
{
    const struct seg *cur = &v->cpu->s.seg[i];
    if ((cur->sel & 0xFFFCu) == 0 || !(cur->flags & SEGF_S))
        return false;
    if (seg_same(cur, &v->hseg[i])) {
        *full = v->gseg[i];
    } else if (!(cur->sel & 4u)) {
        desc_to_seg(full, cur->sel, v->gsrc[cur->sel >> 3]);
        full->flags = (full->flags & ~0x60u) | (cur->flags & 0x60u);
        if (!(full->flags & SEGF_S))
            return false;
    } else {
        return false;
    }
    return !seg_same(cur, full);
}

void shadow_guest_seg(struct vmm *v, int i, struct seg *out)
{
    if (v->engine == VMM_HW || !guest_cache(v, i, out))   /* hw: the guest's own */
        *out = v->cpu->s.seg[i];
}

static uint8_t *hw_top_pde(struct vmm *v)
{
    return v->cpu->bus.ram + (v->cpu->s.cr3 & ~0xFFFu) + 1023u * 4u;
}

/* The step touched the top 4 MiB with guest paging on. If the guest's own
   tables do not map the address, native raises #PF there: reflect it with
   the guest's error code and CR2. If they do, the run stops (guest
   mappings of the top 4 MiB are not supported under a VMM). */
static enum cpu_stop trunc_top_fault(struct vmm *v)
{
    struct cpu *c = v->cpu;
    uint32_t lin = c->s.cr2, hw = c->stop_error;
    struct spt_gwalk w;
    if (spt_gwalk(v, lin, (hw & PF_W) != 0, (hw & PF_U) != 0, &w)) {
        c->stop_msg = "guest mapping of the top 4 MiB (not supported under a VMM)";
        return CPU_STOP_UNSUPPORTED;
    }
    v->vc.cr2 = lin;
    vmm_charge(v, OV_REFLECT, v->costs->v[COST_REFLECT],
               reflect_native_cost(v, EXC_PF, RK_EXC));
    switch (reflect_vector(v, EXC_PF, w.err, true, RK_EXC, c->s.eip)) {
    case EMU_STOP: c->stop_msg = v->stop_msg; return CPU_STOP_UNSUPPORTED;
    case EMU_TRIPLE: c->stop_msg = v->stop_msg; return CPU_STOP_TRIPLE;
    default: return CPU_STOP_BUDGET;
    }
}

/*
 * A #GP(0) or #SS(0) while some segment register is truncated may be an
 * access native would have allowed: to the part of the guest's segment the
 * truncation cut (the top 4 MiB, or what wraps past 4 GiB to low memory).
 * The instruction is executed again, once, with the guest's own hidden
 * caches in the segment registers and the VMM region unmapped from the
 * hardware: with guest paging off the top 4 MiB is mapped instead to the
 * physical addresses native would reach there (no RAM: open bus, reads
 * all ones, writes dropped), with guest paging on it is not present: the
 * guest gets its own #PF if its tables do not map the address, else the
 * run stops (guest mappings of the top 4 MiB are not supported under a
 * VMM, trunc_top_fault). External interrupts are held for the step. The
 * truncated caches come back afterwards. A fault of the step is the
 * guest's (native raises it too) and is left in the CPU's stop fields for
 * the monitor to reflect; trunc_step keeps it from being stepped again.
 */
/* The re-executed store hit a page BT write-protects for its translations
   (guest paging off, the 1:1 map): drop them and unprotect the page, as a
   store from the TC does (bt_smc_fault), so the step can be retried - a
   return to the run loop would translate the page, and protect it, again. */
static bool trunc_code_write(struct vmm *v, enum cpu_stop r)
{
    struct cpu *c = v->cpu;
    struct bt *bt = vmm_bt(v);
    if (!bt || spt_active(v) || r != CPU_STOP_INTERCEPT || c->stop_vector != EXC_PF ||
        (c->stop_error & (PF_P | PF_W)) != (PF_P | PF_W) || c->s.cr2 >= v->guest_ram ||
        !bt_page_has_code(bt, c->s.cr2))
        return false;
    bt_code_page_written(bt, c->s.cr2);
    cpu_tlb_flush(c);
    return true;
}

/* The step, again after a store into a page with translations, or with
   open bus mapped where (guest paging off) it reached beyond guest RAM. */
static enum cpu_stop trunc_run(struct vmm *v)
{
    struct cpu *c = v->cpu;
    enum cpu_stop r = cpu_run(c, UINT64_MAX);
    struct spt_open_map maps[2];
    int n = 0;
    for (int tries = 0; tries < 3 && r == CPU_STOP_INTERCEPT; tries++) {
        bool pf = c->stop_vector == EXC_PF && !c->stop_soft;
        if (pf && n < 2 && spt_open_bus_beyond(v, c->s.cr2))
            maps[n++] = spt_open_bus_map(v, c->s.cr2);
        else if (!trunc_code_write(v, r))
            break;
        r = cpu_run(c, UINT64_MAX);
    }
    while (n > 0)
        spt_open_bus_unmap(v, maps[--n]);
    return r;
}

bool shadow_trunc_fault(struct vmm *v, enum cpu_stop *why)
{
    struct cpu *c = v->cpu;
    if (v->trunc_step || (c->stop_vector != EXC_GP && c->stop_vector != EXC_SS) ||
        c->stop_error != 0)
        return false;
    struct seg saved[S_COUNT], full[S_COUNT];
    bool any = false;
    memcpy(saved, c->s.seg, sizeof saved);
    for (int i = 0; i < S_COUNT; i++) {
        full[i] = saved[i];
        if (guest_cache(v, i, &full[i]))
            any = true;
        else
            full[i] = saved[i];
    }
    if (!any)
        return false;
    uint8_t *pde = hw_top_pde(v);
    uint32_t old = le_get32(pde);
    le_put32(pde, spt_active(v) ? 0u : VMM_REGION_BASE | 0x87u);    /* PS | U | W | P */
    memcpy(c->s.seg, full, sizeof full);
    cpu_tlb_flush(c);
    bool (*pending)(void *) = c->bus.intr_pending;
    c->bus.intr_pending = NULL;
    c->single_step = true;
    v->trunc_step = true;
    enum cpu_stop r = trunc_run(v);
    v->trunc_step = false;
    c->single_step = false;
    c->bus.intr_pending = pending;
    le_put32(pde, old);
    cpu_tlb_flush(c);
    for (int i = 0; i < S_COUNT; i++)
        if (seg_same(&c->s.seg[i], &full[i]))
            c->s.seg[i] = saved[i];
    vmm_charge(v, OV_TRAP, v->costs->v[COST_TRAP_EMULATE], 0);   /* a truncation fault */
    if (r == CPU_STOP_STEP) {
        *why = CPU_STOP_BUDGET;
        return true;
    }
    if (r == CPU_STOP_INTERCEPT && c->stop_vector == EXC_PF && spt_active(v) &&
        c->s.cr2 >= VMM_REGION_BASE) {
        *why = trunc_top_fault(v);
        return true;
    }
    if (r != CPU_STOP_INTERCEPT) {
        *why = r;
        return true;
    }
    v->trunc_step = true;           /* the monitor handles the step's own fault */
    return false;
}
