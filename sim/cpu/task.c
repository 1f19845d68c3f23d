/*
 * task.c - hardware task switches (Intel SDM vol. 3, chapter 7).
 *
 * A task switch saves the running task's registers in its TSS (the one TR
 * names) and loads every register from another TSS, in one instruction. Four
 * things start one: a far JMP or CALL to a TSS descriptor or a task gate, an
 * interrupt or exception whose IDT entry is a task gate, and IRET with
 * EFLAGS.NT = 1, which returns to the task named by the current TSS's
 * previous-task link. The busy bit in each TSS descriptor (type 9 -> 11)
 * keeps a task from being entered twice; CALL and interrupts nest (NT set in
 * the new task, back link written into its TSS), JMP and IRET do not.
 *
 * The switch has a commit point (SDM 7.3, table 7-1). Everything before it
 * (descriptor types, privilege, busy, present, TSS limit, the pages of both
 * TSSes) faults in the old task with nothing changed. After it - the old
 * state saved, TR, CR3, EFLAGS, EIP and the general registers loaded - the
 * LDT and segment descriptors are qualified in the context of the *new*
 * task: a bad one raises #TS/#NP/#SS(selector) whose frame shows the new
 * task's EIP (task_commit moves insn_eip there, so the run loop's rollback
 * keeps it).
 *
 * In VMX non-root operation every task switch is a VM exit instead (reason
 * 9, vmx.c), taken once the target is known to be a TSS or task gate (the
 * far transfer's descriptor read, the IDT gate's DPL and present checks
 * come first) and before any check of this file: the VMM emulates the
 * switch, checks included.
 * Only 32-bit TSSes are modelled; a 16-bit TSS and a new task in virtual-
 * 8086 mode stop the run with CPU_STOP_UNSUPPORTED. The T (debug trap) bit of the TSS
 * is ignored and DR7's local enables are not cleared. CR3 is loaded from the
 * new TSS only while paging is on, as QEMU does (the goldens come from it).
 */
#include "ops_system.h"
#include "vmx_internal.h"

#include "tss.h"

#define TSS_BUSY_HI     (2u << 8)  /* descriptor type bit 1, in the high dword */

/* Read the TSS descriptor `sel` names; it must be in the GDT. Returns false
   if the selector is local or past the GDT limit. */
static bool tss_desc_read(struct cpu *cpu, uint16_t sel, uint64_t *d)
{
    if (sel & 4u)
        return false;
    return seg_try_read_desc(cpu, sel, d);
}

static void tss_set_busy(struct cpu *cpu, uint16_t sel, bool busy)
{
    uint32_t lin = cpu->s.gdtr.base + (sel & ~7u) + 4u;
    uint32_t hi = mem_read_lin(cpu, lin, 4, false);
    hi = busy ? hi | TSS_BUSY_HI : hi & ~TSS_BUSY_HI;
    mem_write_lin(cpu, lin, 4, hi, false);
}

/* Translate every page of [lin, lin+len) for a write: a #PF here comes
   before the commit point, with nothing changed. */
static void touch_writable(struct cpu *cpu, uint32_t lin, uint32_t len)
{
    mem_translate(cpu, lin, true, false);
    mem_translate(cpu, lin + len - 1u, true, false);
}

static void task_read_image(struct cpu *cpu, uint32_t base, struct task_image *t)
{
    t->cr3 = mem_read_lin(cpu, base + TSS_CR3, 4, false);
    t->eip = mem_read_lin(cpu, base + TSS_EIP, 4, false);
    t->eflags = mem_read_lin(cpu, base + TSS_EFLAGS, 4, false);
    for (int i = 0; i < 8; i++)
        t->r[i] = mem_read_lin(cpu, base + TSS_REGS + 4u * (uint32_t)i, 4, false);
    for (int i = 0; i < S_COUNT; i++)
        t->seg[i] = (uint16_t)mem_read_lin(cpu, base + TSS_SEGS + 4u * (uint32_t)i, 2, false);
    t->ldt = (uint16_t)mem_read_lin(cpu, base + TSS_LDT, 2, false);
}

/* The dynamic fields of the old task (SDM 7.2.1): EIP, EFLAGS, the general
   and segment registers. CR3, LDTR and the stack pointers are not saved. */
static void task_save_old(struct cpu *cpu, uint32_t eip, uint32_t eflags)
{
    uint32_t base = cpu->s.tr.base;
    mem_write_lin(cpu, base + TSS_EIP, 4, eip, false);
    mem_write_lin(cpu, base + TSS_EFLAGS, 4, eflags, false);
    for (int i = 0; i < 8; i++)
        mem_write_lin(cpu, base + TSS_REGS + 4u * (uint32_t)i, 4, cpu->s.r[i], false);
    for (int i = 0; i < S_COUNT; i++)
        mem_write_lin(cpu, base + TSS_SEGS + 4u * (uint32_t)i, 2, cpu->s.seg[i].sel, false);
}

/* ---- after the commit point: qualify LDT and segments in the new task ---- */

static void task_load_ldt(struct cpu *cpu, uint16_t sel, int ext)
{
    uint32_t err = (sel & 0xfffcu) | (uint32_t)ext;
    uint64_t d;
    if ((sel & 0xfffcu) == 0)
        return;
    if ((sel & 4u) || !seg_try_read_desc(cpu, sel, &d))
        cpu_raise(cpu, EXC_TS, err);
    if (desc_s(d) || desc_type(d) != 2u || !desc_present(d))
        cpu_raise(cpu, EXC_TS, err);
    seg_from_desc(&cpu->s.ldtr, sel, d);
}

/* CS from the new TSS: code, DPL = RPL (non-conforming) or DPL <= RPL. */
static void task_load_cs(struct cpu *cpu, uint16_t sel, int ext)
{
    uint32_t err = (sel & 0xfffcu) | (uint32_t)ext;
    uint64_t d;
    if ((sel & 0xfffcu) == 0 || !seg_try_read_desc(cpu, sel, &d) || !desc_is_code(d))
        cpu_raise(cpu, EXC_TS, err);
    unsigned dpl = desc_dpl(d), rpl = sel & 3u;
    if (desc_is_conforming(d) ? dpl > rpl : dpl != rpl)
        cpu_raise(cpu, EXC_TS, err);
    if (!desc_present(d))
        cpu_raise(cpu, EXC_NP, err);
    seg_commit(cpu, &cpu->s.seg[S_CS], sel, d);
}

/* A data segment register from the new TSS (null allowed). */
static void task_load_data(struct cpu *cpu, int sreg, uint16_t sel, int ext)
{
    uint32_t err = (sel & 0xfffcu) | (uint32_t)ext;
    unsigned cpl = (unsigned)cpu->s.cpl, rpl = sel & 3u;
    uint64_t d;
    if ((sel & 0xfffcu) == 0)
        return;                                /* stays unusable */
    if (!seg_try_read_desc(cpu, sel, &d) || !desc_s(d) ||
        (desc_is_code(d) && !(desc_type(d) & 2u)))
        cpu_raise(cpu, EXC_TS, err);
    if (!desc_is_conforming(d) && (desc_dpl(d) < cpl || desc_dpl(d) < rpl))
        cpu_raise(cpu, EXC_TS, err);
    if (!desc_present(d))
        cpu_raise(cpu, EXC_NP, err);
    seg_commit(cpu, &cpu->s.seg[sreg], sel, d);
}

static void task_load_segments(struct cpu *cpu, const struct task_image *t, int ext)
{
    static const int data[] = { S_ES, S_DS, S_FS, S_GS };
    task_load_ldt(cpu, t->ldt, ext);
    task_load_cs(cpu, t->seg[S_CS], ext);
    uint64_t ssd = seg_check_stack(cpu, t->seg[S_SS], cpu->s.cpl, EXC_TS, ext);
    seg_commit(cpu, &cpu->s.seg[S_SS], t->seg[S_SS], ssd);
    for (unsigned i = 0; i < 4; i++)
        task_load_data(cpu, data[i], t->seg[data[i]], ext);
}

/* Registers from the new TSS; segment registers hold only their selectors
   (unusable) until task_load_segments qualifies them. */
static void task_commit(struct cpu *cpu, uint16_t sel, uint64_t d,
                        const struct task_image *t)
{
    int old_cpl = cpu->s.cpl;
    cpu->s.cr0 |= CR0_TS;
    seg_from_desc(&cpu->s.tr, sel, d | ((uint64_t)TSS_BUSY_HI << 32));
    if ((cpu->s.cr0 & CR0_PG) && t->cr3 != cpu->s.cr3) {
        cpu->s.cr3 = t->cr3;
        tlb_flush_nonglobal(cpu);
    }
    cpu->s.eip = t->eip;
    cpu->insn_eip = t->eip;                    /* later faults: in the new task */
    flags_set(cpu, t->eflags | FL_FIXED1, 0xffffffffu);
    for (int i = 0; i < 8; i++)
        cpu->s.r[i] = t->r[i];
    for (int i = 0; i < S_COUNT; i++)
        cpu->s.seg[i] = (struct seg){ .sel = t->seg[i] };
    cpu->s.ldtr = (struct seg){ .sel = t->ldt };
    cpu->s.cpl = t->seg[S_CS] & 3;
    if (old_cpl != cpu->s.cpl && cpu->hooks.on_ring_change)
        cpu->hooks.on_ring_change(cpu->hooks.ctx, old_cpl, cpu->s.cpl, cpu->s.eip);
}

/*
 * SWITCH-TASKS of the SDM: `sel`/`d` name an available (or, for IRET, busy)
 * 32-bit TSS already checked for type, privilege and presence; `old_eip` is
 * what the old task resumes at. Returns with the new task running.
 */
static void task_switch(struct cpu *cpu, uint16_t sel, uint64_t d, enum task_source src,
                        uint32_t old_eip, int ext)
{
    struct seg ntss;
    struct task_image t;
    uint32_t err = (sel & 0xfffcu) | (uint32_t)ext;
    if (!(desc_type(d) & 8u))
        cpu_unsupported(cpu, "task switches to a 16-bit TSS are not supported");
    seg_from_desc(&ntss, sel, d);
    if (ntss.limit < TSS32_MIN_LIMIT)
        cpu_raise(cpu, EXC_TS, err);
    if (!(SEGF_TYPE(cpu->s.tr.flags) & 8u) || cpu->s.tr.limit < TSS32_MIN_LIMIT)
        cpu_unsupported(cpu, "a task switch from a 16-bit or unusable TSS is not supported");
    task_read_image(cpu, ntss.base, &t);
    if (t.eflags & FL_VM)
        cpu_unsupported(cpu, "a task switch into virtual-8086 mode is not supported");
    touch_writable(cpu, cpu->s.tr.base, TSS32_MIN_LIMIT + 1u);
    touch_writable(cpu, ntss.base, 2u);
    uint32_t old_fl = flags_get(cpu);
    if (src == TASK_JMP || src == TASK_IRET)
        tss_set_busy(cpu, cpu->s.tr.sel, false);
    if (src == TASK_IRET)
        old_fl &= ~FL_NT;
    task_save_old(cpu, old_eip, old_fl);
    if (src == TASK_CALL || src == TASK_INT) {
        mem_write_lin(cpu, ntss.base + TSS_LINK, 2, cpu->s.tr.sel, false);
        t.eflags |= FL_NT;
    }
    if (src != TASK_IRET)
        tss_set_busy(cpu, sel, true);
    task_commit(cpu, sel, d, &t);
    task_load_segments(cpu, &t, ext);
}

static void task_check_eip(struct cpu *cpu, int ext)
{
    if (cpu->s.eip > cpu->s.seg[S_CS].limit)
        cpu_raise(cpu, EXC_GP, (uint32_t)ext);
}

/* The TSS a task gate names (SDM vol. 2, JMP/CALL/INT n "TASK-GATE"). */
static uint64_t task_gate_tss(struct cpu *cpu, uint16_t tss_sel, int ext)
{
    uint32_t err = (tss_sel & 0xfffcu) | (uint32_t)ext;
    uint64_t d;
    if (!tss_desc_read(cpu, tss_sel, &d))
        cpu_raise(cpu, EXC_GP, err);
    if (desc_s(d) || !tss_type(desc_type(d)) || (desc_type(d) & 2u))
        cpu_raise(cpu, EXC_GP, err);           /* not a TSS, or busy */
    if (!desc_present(d))
        cpu_raise(cpu, EXC_NP, err);
    return d;
}

void task_far(struct cpu *cpu, uint16_t sel, uint64_t d, bool call, uint32_t next_eip)
{
    unsigned dpl = desc_dpl(d), type = desc_type(d);
    if (cpu->vmcs)
        vmx_task_switch_exit(cpu, sel, call ? VMX_TS_CALL : VMX_TS_JMP, next_eip - cpu->insn_eip);
    if (dpl < (unsigned)cpu->s.cpl || dpl < (sel & 3u))
        cpu_raise_sel(cpu, EXC_GP, sel);
    if (type != 5u && (type & 2u))
        cpu_raise_sel(cpu, EXC_GP, sel);       /* busy TSS */
    if (!desc_present(d))
        cpu_raise_sel(cpu, EXC_NP, sel);
    if (type == 5u) {
        sel = gate_sel(d);
        d = task_gate_tss(cpu, sel, 0);
    } else if (sel & 4u) {
        cpu_raise_sel(cpu, EXC_TS, sel);       /* a TSS lives in the GDT */
    }
    task_switch(cpu, sel, d, call ? TASK_CALL : TASK_JMP, next_eip, 0);
    task_check_eip(cpu, 0);
}

void task_interrupt(struct cpu *cpu, uint64_t gate, uint32_t err, bool has_err, int ext)
{
    uint16_t sel = gate_sel(gate);
    if (cpu->vmcs)
        vmx_task_switch_exit(cpu, sel, VMX_TS_IDT, 0);
    uint64_t d = task_gate_tss(cpu, sel, ext);
    task_switch(cpu, sel, d, TASK_INT, cpu->s.eip, ext);
    if (has_err) {
        uint32_t sp = cpu->s.r[R_ESP];
        stack_push_frame(cpu, &cpu->s.seg[S_SS], &sp, &err, 1, 4,
                         cpu->s.cpl == 3, (uint32_t)ext);
        cpu->s.r[R_ESP] = sp;
    }
    task_check_eip(cpu, ext);
}

void task_return(struct cpu *cpu, uint32_t next_eip)
{
    uint16_t sel = (uint16_t)mem_read_lin(cpu, cpu->s.tr.base + TSS_LINK, 2, false);
    uint64_t d;
    if (cpu->vmcs)
        vmx_task_switch_exit(cpu, sel, VMX_TS_IRET, next_eip - cpu->insn_eip);
    if (!tss_desc_read(cpu, sel, &d) || desc_s(d) || !tss_type(desc_type(d)) ||
        !(desc_type(d) & 2u))
        cpu_raise_sel(cpu, EXC_TS, sel);       /* must be a busy TSS */
    if (!desc_present(d))
        cpu_raise_sel(cpu, EXC_NP, sel);
    task_switch(cpu, sel, d, TASK_IRET, next_eip, 0);
    task_check_eip(cpu, 0);
}
