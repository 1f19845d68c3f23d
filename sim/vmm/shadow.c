/*
 * shadow.c - the VMM region: page directory, shadow GDT, the monitor's IDT
 * and TSS; guest memory and guest descriptors as the monitor sees them.
 *
 * The VMM occupies the top 4 MiB of the linear address space (0xFFC00000
 * up), backed by the 4 MiB of frames the machine allocates above guest RAM
 * (Adams & Agesen 2006, §3.1). Hardware paging is always on under the VMM:
 * while the guest has paging off, guest-physical memory is mapped 1:1 at the
 * same linear addresses with user access (4 MiB PSE pages where aligned), and
 * the VMM region is supervisor-only. The guest kernel runs at ring 1, which
 * paging counts as supervisor, so it is segment *truncation* that keeps it out
 * of the region: every guest code/data descriptor appears in the shadow GDT
 * with its limit cut below 0xFFC00000, and DPL 0 compressed to 1 (ring
 * compression). System descriptors (TSS, LDT, gates) are not present in the
 * shadow: the guest's TSS is only read by the monitor, never by the hardware.
 *
 * The shadow is rebuilt from guest memory on every LGDT (which traps); later
 * guest writes to its GDT are not traced (a limitation shared with a naive
 * monitor; BT and shadow paging write-protect the GDT page, later issues).
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

/* Replace the limit of a code/data descriptor, keeping everything else. */
static uint64_t desc_with_limit(uint64_t d, uint32_t limit)
{
    bool g = limit > 0xFFFFFu;
    uint32_t raw = g ? ((limit + 1u) >> 12) - 1u : limit;
    d &= ~(0xFFFFull | 0xFull << 48 | 1ull << 55);
    d |= raw & 0xFFFFu;
    d |= (uint64_t)((raw >> 16) & 0xFu) << 48;
    d |= (uint64_t)g << 55;
    return d;
}

/*
 * One guest descriptor as the shadow GDT holds it: DPL 0 -> 1, the limit
 * truncated so that base + limit stays below the VMM region, system
 * descriptors absent. Expand-down data segments are copied untruncated
 * (their valid range is above the limit; none of the samples uses one).
 */
uint64_t shadow_desc_from_guest(uint64_t g)
{
    if (!desc_s(g))
        return 0;
    if (desc_dpl(g) == 0)
        g |= 1ull << 45;
    if (!desc_code(g) && (desc_type(g) & 4u))
        return g;
    uint32_t base = desc_base(g), lim = desc_limit(g);
    if (base >= VMM_REGION_BASE)
        return g & ~(1ull << 47);            /* entirely inside: not present */
    uint32_t max = VMM_REGION_BASE - 1u - base;
    return lim > max ? desc_with_limit(g, max) : g;
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

void shadow_gdt_rebuild(struct vmm *v)
{
    const struct dtr *g = &v->vc.gdtr;
    shadow_write_slot(v, 0, 0);
    for (unsigned i = 1; i < VMM_GUEST_SLOTS; i++) {
        uint64_t d = 0;
        struct emu_fault f;
        if (i * 8u + 7u <= g->limit && gmem_read(v, g->base + i * 8u, &d, 8, &f) != EMU_NEXT)
            d = 0;
        shadow_write_slot(v, i, shadow_desc_from_guest(d));
    }
    cpu_notify_phys_write(v->cpu, v->region_pa + VMM_OFF_GDT, 0x10000u);
    if (v->bt)                          /* BT's LAR/LSL/VERR/VERW table too */
        v->bt->sel.valid = false;
}

/* Page directory: guest RAM 1:1 user/writable, the VMM region supervisor. */
static void shadow_build_paging(struct vmm *v)
{
    uint8_t *pd = region(v) + VMM_OFF_PD;
    uint32_t big = v->guest_ram >> 22, i;
    for (i = 0; i < big; i++)
        le_put32(pd + i * 4u, (i << 22) | 0x87u);          /* PS | U | W | P */
    if (v->guest_ram & 0x3FFFFFu) {
        uint8_t *pt = region(v) + VMM_OFF_PT_TAIL;
        le_put32(pd + i * 4u, (v->region_pa + VMM_OFF_PT_TAIL) | 7u);
        for (uint32_t j = 0; (i << 22) + (j << 12) < v->guest_ram; j++)
            le_put32(pt + j * 4u, ((i << 22) + (j << 12)) | 7u);
    }
    uint8_t *ptv = region(v) + VMM_OFF_PT_VMM;
    le_put32(pd + 1023u * 4u, (v->region_pa + VMM_OFF_PT_VMM) | 3u);   /* W | P, supervisor */
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
    shadow_write_slot(v, VMM_SEL_CODE >> 3, make_desc(VMM_REGION_BASE, VMM_REGION_SIZE - 1u, 0x9B, true));
    shadow_write_slot(v, VMM_SEL_DATA >> 3, make_desc(VMM_REGION_BASE, VMM_REGION_SIZE - 1u, 0x93, true));
    shadow_write_slot(v, VMM_SEL_TSS >> 3, make_desc(VMM_REGION_BASE + VMM_OFF_TSS, 103, 0x8B, false));
    struct cpu_state *s = &v->cpu->s;
    s->gdtr = (struct dtr){ VMM_REGION_BASE + VMM_OFF_GDT, 0xFFFF };
    s->idtr = (struct dtr){ VMM_REGION_BASE + VMM_OFF_IDT, 0x7FF };
    desc_to_seg(&s->tr, VMM_SEL_TSS, shadow_read_slot(v, VMM_SEL_TSS >> 3));
    s->ldtr = (struct seg){ 0, 0, 0, 0 };
    s->cr3 = v->region_pa + VMM_OFF_PD;
    s->cr4 |= CR4_PSE;
    s->cr0 |= CR0_PG | CR0_PE;
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
    if (!spt_active(v)) {
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

/* One page-bounded piece at guest-physical `pa`. */
static void gmem_move(struct vmm *v, uint32_t pa, uint8_t *p, uint32_t n, bool write)
{
    bool in_ram = (uint64_t)pa + n <= v->guest_ram;
    if (!write) {
        if (in_ram)
            memcpy(p, v->cpu->bus.ram + pa, n);
        else
            memset(p, 0, n);                    /* unassigned: reads 0 */
        return;
    }
    if (!in_ram)
        return;
    memcpy(v->cpu->bus.ram + pa, p, n);
    cpu_notify_phys_write(v->cpu, pa, n);
    if (spt_active(v))
        spt_guest_written(v, pa, n);
    else if (v->bt)                     /* the VMM wrote translated code? */
        bt_guest_written(v->bt, pa, n);
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
    if ((sel & 4u) || off + 7u > v->vc.gdtr.limit)
        return false;
    struct emu_fault f;
    return gmem_read(v, v->vc.gdtr.base + off, desc, 8, &f) == EMU_NEXT;
}

void hw_load_seg(struct vmm *v, int sreg, uint16_t sel, int rpl)
{
    struct seg *s = &v->cpu->s.seg[sreg];
    uint16_t hsel = (uint16_t)((sel & 0xFFFCu) | (unsigned)rpl);
    if ((sel & 0xFFFCu) == 0)
        *s = (struct seg){ hsel, 0, 0, 0 };
    else
        desc_to_seg(s, hsel, shadow_read_slot(v, sel >> 3));
    if (sreg == S_CS)
        v->cpu->s.cpl = rpl;
}

uint16_t guest_visible_sel(uint16_t hw_sel)
{
    return (hw_sel & 3u) == 1u ? (uint16_t)(hw_sel & ~3u) : hw_sel;
}
