/*
 * emulate_task.c - the emulation library, part 3: hardware task switches
 * on the guest's own TSSes (Intel SDM vol. 3, chapter 7).
 *
 * Under a VMM the hardware TR is the VMM's (its busy TSS lives only in the
 * hidden cache, shadow.c) and the shadow GDT holds no system descriptors, so
 * a guest far JMP/CALL to a TSS or task gate faults with #GP(sel), a guest
 * IRET with NT = 1 makes the hardware read the VMM TSS's null back link and
 * fault with #TS(0), and an interrupt through a task gate is reflected
 * (reflect.c): the hardware never switches tasks for the guest. The monitor
 * performs the switch here instead, against the vcpu: the old task's
 * registers go into the guest TSS that vc.tr names, busy bits and the back
 * link change in the guest's GDT and TSS (guest linear memory through
 * gmem_*, faults as data), and the new task's state is loaded - vc.tr, the
 * virtual CR3 (shadow paging switches roots), CR0.TS, the virtual EFLAGS
 * (IF, IOPL), the general registers, and every segment register through
 * hw_load_seg with ring compression, so the hardware keeps the VMM's TSS,
 * GDT and IDT throughout.
 *
 * The checks and their order are task.c's (the native CPU's): before the
 * commit point faults leave the guest untouched; after it the LDT and the
 * segments are qualified in the new task, whose EIP a resulting fault
 * reports.
 *
 * The hw engine uses the same routines for its task-switch exits (VT-x exit
 * reason 9, hw_exit.c): there the CPU's registers are the guest's own
 * (non-root operation runs on the guest's GDT, TR and CPL), so the segment
 * registers, TR, LDTR, CPL and EFLAGS are loaded directly instead of
 * through ring compression and the virtual flags. Like task.c: 32-bit TSSes only, no virtual-8086 task, T bit
 * ignored. Under a VMM also: a new task at ring 1 or 2 stops the run (guest
 * rings 1 and 2 are not supported), and the old TSS is taken to be 32-bit if
 * its limit is at least 0x67 (the vcpu keeps TR's base and limit only).
 */
#include "vmm_internal.h"
#include "le.h"
#include "cpu/tss.h"

#include <string.h>


static int task_stop(struct vmm *v, const char *msg)
{
    v->stop_msg = msg;
    return EMU_STOP;
}

static int hw_rpl(int guest_rpl)
{
    return guest_rpl == 0 ? 1 : guest_rpl;
}

bool emu_is_task_desc(uint64_t d)
{
    return !desc_s(d) && (tss_type(desc_type(d)) || desc_type(d) == 5u);
}

/* A TSS descriptor lives in the GDT. */
static bool tss_desc(struct vmm *v, uint16_t sel, uint64_t *d)
{
    return !(sel & 4u) && guest_desc(v, sel, d);
}

static int set_busy(struct vmm *v, uint16_t sel, bool busy, struct emu_fault *f)
{
    uint32_t lin = v->vc.gdtr.base + (sel & 0xFFF8u) + 5u;
    uint8_t access;
    int rc = gmem_read(v, lin, &access, 1, f);
    if (rc != EMU_NEXT)
        return rc;
    access = busy ? (uint8_t)(access | 2u) : (uint8_t)(access & ~2u);
    rc = gmem_write(v, lin, &access, 1, f);
    if (rc == EMU_NEXT && !v->hw)      /* (hw has no shadow GDT) */
        shadow_gdt_refresh(v, sel >> 3u, sel >> 3u);
    return rc;
}

static int read_image(struct vmm *v, uint32_t base, struct task_image *t, struct emu_fault *f)
{
    uint8_t b[TSS32_BYTES];
    if (gmem_read(v, base, b, sizeof b, f) != EMU_NEXT)
        return EMU_FAULT;
    t->cr3 = le_get32(b + TSS_CR3);
    t->eip = le_get32(b + TSS_EIP);
    t->eflags = le_get32(b + TSS_EFLAGS);
    for (int i = 0; i < 8; i++)
        t->r[i] = le_get32(b + TSS_REGS + 4 * i);
    for (int i = 0; i < S_COUNT; i++)
        t->seg[i] = le_get16(b + TSS_SEGS + 4 * i);
    t->ldt = le_get16(b + TSS_LDT);
    return EMU_NEXT;
}

/* The guest-visible selector of hardware register i (RPL 1 shows as 0;
   under hw the CPU's registers are the guest's own). */
static uint16_t guest_sel(struct vmm *v, int i)
{
    uint16_t s = v->cpu->s.seg[i].sel;
    return v->vc.cpl == 0 && !v->hw ? guest_visible_sel(s) : s;
}

/* EIP, EFLAGS, general and segment registers into the old TSS. */
static int save_old(struct vmm *v, uint32_t eip, uint32_t eflags, struct emu_fault *f)
{
    uint8_t b[TSS_SEGS - TSS_EIP];
    uint32_t base = v->vc.tss_base;
    le_put32(b, eip);
    le_put32(b + 4, eflags);
    for (int i = 0; i < 8; i++)
        le_put32(b + 8 + 4 * i, v->cpu->s.r[i]);
    int rc = gmem_write(v, base + TSS_EIP, b, sizeof b, f);
    for (int i = 0; i < S_COUNT && rc == EMU_NEXT; i++) {
        uint8_t s[2];
        le_put16(s, guest_sel(v, i));
        rc = gmem_write(v, base + TSS_SEGS + 4u * (uint32_t)i, s, 2, f);
    }
    return rc;
}

/* Probe, before anything changes, what the switch will write: a #PF comes
   before the commit point. */
static int probe_writes(struct vmm *v, uint32_t new_base, struct emu_fault *f)
{
    uint8_t dummy[TSS32_BYTES];
    int rc = gmem_access(v, v->vc.tss_base, dummy, TSS32_BYTES, GMEM_WRITE | GMEM_PROBE, f);
    if (rc == EMU_NEXT)
        rc = gmem_access(v, new_base, dummy, 2, GMEM_WRITE | GMEM_PROBE, f);
    return rc;
}

/* ---- after the commit point: qualify LDT and segments in the new task ---- */

static int load_ldt(struct vmm *v, uint16_t sel, uint32_t ext, struct emu_fault *f)
{
    uint64_t d;
    v->vc.ldtr = sel;
    v->vc.ldt_base = 0;
    v->vc.ldt_limit = 0;
    if (v->hw)
        v->cpu->s.ldtr = (struct seg){ sel, 0, 0, 0 };
    if ((sel & 0xFFFCu) == 0) {
        v->vc.ldtr = 0;
        return EMU_NEXT;
    }
    if (!tss_desc(v, sel, &d) || desc_s(d) || desc_type(d) != 2u || !desc_present(d))
        return emu_fault(f, EXC_TS, (sel & 0xFFFCu) | ext);
    struct seg s;
    desc_to_seg(&s, sel, d);
    v->vc.ldt_base = s.base;
    v->vc.ldt_limit = s.limit;
    if (v->hw)
        v->cpu->s.ldtr = s;
    return EMU_NEXT;
}

/* Under trap and bt through hw_load_seg (shadow slot, truncation, RPL
   `rpl`); under hw the register is the guest's, loaded straight from its
   descriptor as the CPU would (non-root operation uses the guest's GDT). */
static void commit_seg(struct vmm *v, int sreg, uint16_t sel, int rpl)
{
    emu_set_accessed(v, sel);
    v->vc.sel[sreg] = sel;
    if (!v->hw) {
        hw_load_seg(v, sreg, sel, rpl);
        return;
    }
    struct seg *s = &v->cpu->s.seg[sreg];
    uint64_t d = 0;
    if ((sel & 0xFFFCu) == 0 || !guest_desc(v, sel, &d))
        *s = (struct seg){ sel, 0, 0, 0 };
    else
        desc_to_seg(s, sel, d | (desc_s(d) ? 1ull << 40 : 0));
    v->gseg[sreg] = v->hseg[sreg] = *s;
    if (sreg == S_CS)
        v->cpu->s.cpl = sel & 3;
}

static int load_cs(struct vmm *v, uint16_t sel, uint32_t ext, struct emu_fault *f)
{
    uint32_t err = (sel & 0xFFFCu) | ext;
    unsigned rpl = sel & 3u;
    uint64_t d;
    if ((sel & 0xFFFCu) == 0 || !guest_desc(v, sel, &d) || !desc_code(d))
        return emu_fault(f, EXC_TS, err);
    if ((desc_type(d) & 4u) ? desc_dpl(d) > rpl : desc_dpl(d) != rpl)
        return emu_fault(f, EXC_TS, err);
    if (!desc_present(d))
        return emu_fault(f, EXC_NP, err);
    if (!v->hw && !shadow_code_ok(d))
        return task_stop(v, "a code segment based in the top 4 MiB (the VMM region) is not supported");
    commit_seg(v, S_CS, sel, hw_rpl((int)rpl));
    return EMU_NEXT;
}

static int load_ss(struct vmm *v, uint16_t sel, uint32_t ext, struct emu_fault *f)
{
    uint32_t err = (sel & 0xFFFCu) | ext;
    int cpl = v->vc.cpl;
    uint64_t d;
    if ((sel & 0xFFFCu) == 0)
        return emu_fault(f, EXC_TS, ext);
    if (!guest_desc(v, sel, &d) || (int)(sel & 3u) != cpl || !desc_s(d) || desc_code(d) ||
        !(desc_type(d) & 2u) || (int)desc_dpl(d) != cpl)
        return emu_fault(f, EXC_TS, err);
    if (!desc_present(d))
        return emu_fault(f, EXC_SS, err);
    commit_seg(v, S_SS, sel, hw_rpl(cpl));
    return EMU_NEXT;
}

static int load_data(struct vmm *v, int sreg, uint16_t sel, uint32_t ext, struct emu_fault *f)
{
    uint32_t err = (sel & 0xFFFCu) | ext;
    unsigned cpl = (unsigned)v->vc.cpl, rpl = sel & 3u;
    uint64_t d;
    if ((sel & 0xFFFCu) == 0) {
        commit_seg(v, sreg, sel, (int)rpl);
        return EMU_NEXT;
    }
    if (!guest_desc(v, sel, &d) || !desc_s(d) || (desc_code(d) && !(desc_type(d) & 2u)))
        return emu_fault(f, EXC_TS, err);
    bool conforming = desc_code(d) && (desc_type(d) & 4u);
    if (!conforming && (desc_dpl(d) < cpl || desc_dpl(d) < rpl))
        return emu_fault(f, EXC_TS, err);
    if (!desc_present(d))
        return emu_fault(f, EXC_NP, err);
    commit_seg(v, sreg, sel, (int)rpl);
    return EMU_NEXT;
}

static int load_segments(struct vmm *v, const struct task_image *t, uint32_t ext,
                         struct emu_fault *f)
{
    static const int data[] = { S_ES, S_DS, S_FS, S_GS };
    int rc = load_ldt(v, t->ldt, ext, f);
    if (rc == EMU_NEXT)
        rc = load_cs(v, t->seg[S_CS], ext, f);
    if (rc == EMU_NEXT)
        rc = load_ss(v, t->seg[S_SS], ext, f);
    for (unsigned i = 0; i < 4 && rc == EMU_NEXT; i++)
        rc = load_data(v, data[i], t->seg[data[i]], ext, f);
    return rc;
}

/* The registers of the new task; the segment registers hold only their
   selectors (unusable) until load_segments qualifies them. */
static int commit(struct vmm *v, uint16_t sel, const struct seg *ntss,
                  const struct task_image *t)
{
    struct cpu *c = v->cpu;
    int cpl = (t->seg[S_CS] & 3u) == 3u ? 3 : 0;
    v->vc.cr0 |= CR0_TS;
    v->vc.tr = sel;
    v->vc.tss_base = ntss->base;
    v->vc.tss_limit = ntss->limit;
    if ((v->vc.cr0 & CR0_PG) && emu_write_cr3(v, t->cr3) != EMU_NEXT)
        return EMU_STOP;
    c->s.eip = t->eip;
    memcpy(c->s.r, t->r, sizeof c->s.r);
    for (int i = 0; i < S_COUNT; i++) {
        int rpl = (i == S_CS || i == S_SS) && !v->hw ? hw_rpl(t->seg[i] & 3) : t->seg[i] & 3;
        c->s.seg[i] = (struct seg){ (uint16_t)((t->seg[i] & 0xFFFCu) | (unsigned)rpl), 0, 0, 0 };
        v->gseg[i] = v->hseg[i] = c->s.seg[i];
        v->vc.sel[i] = t->seg[i];
    }
    v->vc.halted = false;
    if (v->hw) {                      /* the guest's own TR, CPL and EFLAGS */
        c->s.tr = (struct seg){ sel, ntss->base, ntss->limit, (ntss->flags & ~0xFu) | 0xBu };
        c->s.cpl = t->seg[S_CS] & 3;
        v->vc.cpl = c->s.cpl;
        cpu_set_eflags(c, (t->eflags & ~FL_VM) | FL_FIXED1);
        v->vc.vif = (t->eflags & FL_IF) != 0;
        v->vc.iopl = (t->eflags & FL_IOPL) >> 12;
        return EMU_NEXT;
    }
    c->s.cpl = hw_rpl(cpl);
    vmm_set_cpl(v, cpl);
    emu_set_guest_eflags(v, t->eflags, ~FL_VM);
    return EMU_NEXT;
}

/*
 * SWITCH-TASKS: `sel`/`d` an available (IRET: busy) TSS descriptor already
 * checked for type, privilege and presence; the old task resumes at
 * old_eip. EMU_JUMP with the new task loaded, or a fault / stop.
 */
static int task_switch(struct vmm *v, uint16_t sel, uint64_t d, bool nest, bool iret,
                       uint32_t old_eip, uint32_t ext, struct emu_fault *f)
{
    struct seg ntss;
    struct task_image t;
    if (!(desc_type(d) & 8u))
        return task_stop(v, "task switches to a 16-bit TSS are not supported");
    desc_to_seg(&ntss, sel, d);
    if (ntss.limit < TSS32_MIN_LIMIT)
        return emu_fault(f, EXC_TS, (sel & 0xFFFCu) | ext);
    if ((v->vc.tr & 0xFFFCu) == 0 || v->vc.tss_limit < TSS32_MIN_LIMIT)
        return task_stop(v, "a task switch from a 16-bit or unusable TSS is not supported");
    int rc = read_image(v, ntss.base, &t, f);
    if (rc != EMU_NEXT)
        return rc;
    if (t.eflags & FL_VM)
        return task_stop(v, "a task switch into virtual-8086 mode is not supported");
    if (!v->hw && ((t.seg[S_CS] & 3u) == 1u || (t.seg[S_CS] & 3u) == 2u))
        return task_stop(v, "guest rings 1 and 2 are not supported under a VMM");
    if ((rc = probe_writes(v, ntss.base, f)) != EMU_NEXT)
        return rc;
    uint32_t old_fl = emu_guest_eflags(v);
    if (!nest && (rc = set_busy(v, v->vc.tr, false, f)) != EMU_NEXT)
        return rc;
    if (iret)
        old_fl &= ~FL_NT;
    if ((rc = save_old(v, old_eip, old_fl, f)) != EMU_NEXT)
        return rc;
    if (nest) {
        uint8_t link[2];
        le_put16(link, v->vc.tr);
        if ((rc = gmem_write(v, ntss.base + TSS_LINK, link, 2, f)) != EMU_NEXT)
            return rc;
        t.eflags |= FL_NT;
    }
    if (!iret && (rc = set_busy(v, sel, true, f)) != EMU_NEXT)
        return rc;
    if ((rc = commit(v, sel, &ntss, &t)) != EMU_NEXT)
        return rc;
    return load_segments(v, &t, ext, f);
}

/* EIP within the new CS (the guest's own limit, not the truncated one). */
static int check_eip(struct vmm *v, uint32_t ext, struct emu_fault *f)
{
    return v->cpu->s.eip > v->gseg[S_CS].limit ? emu_fault(f, EXC_GP, ext) : EMU_JUMP;
}

/* The TSS a task gate names: in the GDT, a TSS, not busy, present. */
static int gate_tss(struct vmm *v, uint16_t tss_sel, uint32_t ext, uint64_t *d,
                    struct emu_fault *f)
{
    uint32_t err = (tss_sel & 0xFFFCu) | ext;
    if (!tss_desc(v, tss_sel, d) || desc_s(*d) || !tss_type(desc_type(*d)) ||
        (desc_type(*d) & 2u))
        return emu_fault(f, EXC_GP, err);
    return desc_present(*d) ? EMU_NEXT : emu_fault(f, EXC_NP, err);
}

int emu_task_far(struct vmm *v, uint16_t sel, uint64_t d, bool call, uint32_t next_eip,
                 struct emu_fault *f)
{
    unsigned dpl = desc_dpl(d), type = desc_type(d);
    if (dpl < (unsigned)v->vc.cpl || dpl < (sel & 3u))
        return emu_fault(f, EXC_GP, sel & 0xFFFCu);
    if (type != 5u && (type & 2u))
        return emu_fault(f, EXC_GP, sel & 0xFFFCu);        /* busy TSS */
    if (!desc_present(d))
        return emu_fault(f, EXC_NP, sel & 0xFFFCu);
    if (type == 5u) {
        sel = (uint16_t)(d >> 16);
        int rc = gate_tss(v, sel, 0, &d, f);
        if (rc != EMU_NEXT)
            return rc;
    } else if (sel & 4u) {
        return emu_fault(f, EXC_TS, sel & 0xFFFCu);        /* a TSS lives in the GDT */
    }
    int rc = task_switch(v, sel, d, call, false, next_eip, 0, f);
    return rc == EMU_NEXT ? check_eip(v, 0, f) : rc;
}

int emu_task_gate(struct vmm *v, uint64_t gate, uint32_t err, bool has_err, uint32_t ext,
                  uint32_t old_eip, struct emu_fault *f)
{
    uint16_t sel = (uint16_t)(gate >> 16);
    uint64_t d;
    int rc = gate_tss(v, sel, ext, &d, f);
    if (rc == EMU_NEXT)
        rc = task_switch(v, sel, d, true, false, old_eip, ext, f);
    if (rc != EMU_NEXT)
        return rc;
    if (has_err) {
        uint32_t esp = v->cpu->s.r[R_ESP] - 4u;
        uint8_t b[4];
        le_put32(b, err);
        if (!emu_seg_access_ok(&v->gseg[S_SS], esp, 4, true))
            return emu_fault(f, EXC_SS, ext);
        rc = gmem_access(v, v->gseg[S_SS].base + esp, b, 4,
                         GMEM_WRITE | (v->vc.cpl == 3 ? GMEM_USER : 0u), f);
        if (rc != EMU_NEXT)
            return rc;
        v->cpu->s.r[R_ESP] = esp;
    }
    return check_eip(v, ext, f);
}

int emu_task_return(struct vmm *v, uint32_t next_eip, struct emu_fault *f)
{
    uint8_t b[2];
    uint64_t d;
    if ((v->vc.tr & 0xFFFCu) == 0)
        return emu_fault(f, EXC_TS, 0);
    if (gmem_read(v, v->vc.tss_base + TSS_LINK, b, 2, f) != EMU_NEXT)
        return EMU_FAULT;
    uint16_t sel = le_get16(b);
    if (!tss_desc(v, sel, &d) || desc_s(d) || !tss_type(desc_type(d)) ||
        !(desc_type(d) & 2u))
        return emu_fault(f, EXC_TS, sel & 0xFFFCu);         /* must be a busy TSS */
    if (!desc_present(d))
        return emu_fault(f, EXC_NP, sel & 0xFFFCu);
    int rc = task_switch(v, sel, d, false, true, next_eip, 0, f);
    return rc == EMU_NEXT ? check_eip(v, 0, f) : rc;
}
