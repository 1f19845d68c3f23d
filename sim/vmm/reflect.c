/*
 * reflect.c - delivering an exception or interrupt into the guest.
 *
 * Every vector taken while the guest runs enters the monitor first (the
 * hardware IDT is the VMM's). What the guest must see is what its own
 * hardware would have done (Intel SDM vol. 3, 6.12): read the gate from the
 * *guest's* IDT, check it (type, DPL for INT n, present), check the target
 * code segment, switch to the stack named by the *guest's* TSS when going
 * from virtual CPL 3 to 0, push the frame, clear the virtual IF for an
 * interrupt gate. The monitor builds that frame in guest memory and loads the
 * hardware with the compressed equivalents (CS with RPL 1).
 *
 * The frame holds the guest-visible EFLAGS (virtual IF and IOPL) and, for
 * exceptions and device interrupts, the guest-visible CS (RPL 0): the
 * guest's IRET then faults on the hardware (RPL 0 < CPL 1) and is emulated,
 * which keeps the virtual IF exact. For INT n executed at virtual CPL 0 the
 * frame carries the *real* CS (RPL 1), as a naive monitor that forwards the
 * hardware frame would: the guest can see it ("INT frames carrying RPL 1")
 * and its IRET runs in hardware, so the virtual IF is not restored by it.
 *
 * A task gate makes delivery a task switch to the gate's task on the
 * guest's own TSSes (emulate_task.c), the error code pushed on its stack.
 *
 * A fault while delivering follows SDM vol. 3, table 6-5: contributory on
 * contributory (or anything bad on a #PF) becomes #DF; a fault while
 * delivering #DF is a triple fault.
 */
#include "vmm_internal.h"

#include <string.h>

enum { CLASS_BENIGN, CLASS_CONTRIB, CLASS_PF, CLASS_DF };

static int vector_class(int vec, enum reflect_kind kind)
{
    if (kind != RK_EXC)
        return CLASS_BENIGN;
    switch (vec) {
    case EXC_DE: case EXC_TS: case EXC_NP: case EXC_SS: case EXC_GP: return CLASS_CONTRIB;
    case EXC_PF: return CLASS_PF;
    case EXC_DF: return CLASS_DF;
    default: return CLASS_BENIGN;
    }
}

/* Where delivery goes, after the gate and code segment checks. */
struct target {
    uint64_t gate;
    uint16_t sel;       /* guest code selector */
    uint32_t eip;
    int cpl;            /* new virtual CPL */
    uint32_t ext;       /* EXT bit for error codes */
};

static int reflect_stop(struct vmm *v, const char *msg)
{
    v->stop_msg = msg;
    return EMU_STOP;
}

/* SDM vol. 3, 6.12.1.1: the gate. */
static int read_gate(struct vmm *v, int vec, enum reflect_kind kind, struct target *t,
                     struct emu_fault *f)
{
    uint32_t idt_err = (uint32_t)vec * 8u + 2u + t->ext;
    if ((uint32_t)vec * 8u + 7u > v->vc.idtr.limit)
        return emu_fault(f, EXC_GP, idt_err);
    if (gmem_read(v, v->vc.idtr.base + (uint32_t)vec * 8u, &t->gate, 8, f) != EMU_NEXT)
        return EMU_FAULT;
    unsigned type = desc_type(t->gate);
    if (desc_s(t->gate))
        return emu_fault(f, EXC_GP, idt_err);
    if ((type & 6u) != 6u && type != 5u)
        return emu_fault(f, EXC_GP, idt_err);
    if (!(type & 8u) && type != 5u)
        return reflect_stop(v, "16-bit interrupt gates are not supported under a VMM");
    if (kind == RK_SOFT && (int)desc_dpl(t->gate) < v->vc.cpl)
        return emu_fault(f, EXC_GP, (uint32_t)vec * 8u + 2u);
    if (!desc_present(t->gate))
        return emu_fault(f, EXC_NP, idt_err);
    t->sel = (uint16_t)(t->gate >> 16);
    t->eip = (uint32_t)(t->gate & 0xFFFFu) | (uint32_t)(t->gate >> 32 & 0xFFFF0000u);
    return EMU_NEXT;
}

/* SDM vol. 3, 6.12.1: the target code segment. */
static int check_code(struct vmm *v, struct target *t, struct emu_fault *f)
{
    uint32_t err = (t->sel & 0xFFFCu) | t->ext;
    uint64_t d;
    if ((t->sel & 0xFFFCu) == 0)
        return emu_fault(f, EXC_GP, t->ext);
    if (!guest_desc(v, t->sel, &d) || !desc_code(d) || (int)desc_dpl(d) > v->vc.cpl)
        return emu_fault(f, EXC_GP, err);
    if (!desc_present(d))
        return emu_fault(f, EXC_NP, err);
    if (!shadow_code_ok(d))          /* never a CS cache inside the region */
        return reflect_stop(v, "a handler code segment based in the VMM region is not supported");
    t->cpl = (desc_type(d) & 4u) ? v->vc.cpl : (int)desc_dpl(d);
    if (t->cpl == 1 || t->cpl == 2)
        return reflect_stop(v, "guest rings 1 and 2 are not supported under a VMM");
    struct seg s;
    desc_to_seg(&s, t->sel, d);
    return t->eip > s.limit ? emu_fault(f, EXC_GP, t->ext) : EMU_NEXT;
}

/* The inner stack from the guest TSS (ESP0 at +4, SS0 at +8). */
static int tss_stack(struct vmm *v, struct target *t, uint16_t *ss, uint32_t *esp,
                     struct seg *out, struct emu_fault *f)
{
    const struct vcpu *vc = &v->vc;
    uint32_t s0 = 0;
    uint64_t d;
    if ((vc->tr & 0xFFFCu) == 0 || vc->tss_limit < 11u)
        return emu_fault(f, EXC_TS, (vc->tr & 0xFFFCu) | t->ext);
    if (gmem_read(v, vc->tss_base + 4, esp, 4, f) != EMU_NEXT ||
        gmem_read(v, vc->tss_base + 8, &s0, 2, f) != EMU_NEXT)
        return EMU_FAULT;
    *ss = (uint16_t)s0;
    uint32_t err = (s0 & 0xFFFCu) | t->ext;
    if ((s0 & 0xFFFCu) == 0 || (s0 & 3u) != (unsigned)t->cpl || !guest_desc(v, *ss, &d))
        return emu_fault(f, EXC_TS, err);
    if (!desc_s(d) || desc_code(d) || !(desc_type(d) & 2u) || (int)desc_dpl(d) != t->cpl)
        return emu_fault(f, EXC_TS, err);
    if (!desc_present(d))
        return emu_fault(f, EXC_SS, err);
    desc_to_seg(out, *ss, d);
    return EMU_NEXT;
}

/* Build the frame; on success commit the new CS:EIP, stack and flags. */
static int push_frame(struct vmm *v, struct target *t, uint32_t err, bool has_err,
                      enum reflect_kind kind, uint32_t ret_eip, struct emu_fault *f)
{
    struct cpu *c = v->cpu;
    uint32_t vals[6], n = 0, esp = c->s.r[R_ESP];
    struct seg stk = c->s.seg[S_SS];
    uint16_t ss = 0;
    bool inner = t->cpl < v->vc.cpl;
    if (inner) {
        int rc = tss_stack(v, t, &ss, &esp, &stk, f);
        if (rc != EMU_NEXT)
            return rc;
        vals[n++] = guest_visible_sel(c->s.seg[S_SS].sel);
        vals[n++] = c->s.r[R_ESP];
    }
    uint16_t cs = c->s.seg[S_CS].sel;
    vals[n++] = emu_guest_eflags(v);
    /* the naive monitor forwards the hardware CS of INT n; BT does not leak */
    bool leak = kind == RK_SOFT && v->vc.cpl == 0 && v->engine == VMM_TRAP;
    vals[n++] = leak ? cs : guest_visible_sel(cs);
    vals[n++] = ret_eip;
    if (has_err)
        vals[n++] = err;
    uint32_t words[6];
    for (uint32_t i = 0; i < n; i++)
        words[i] = vals[n - 1 - i];                  /* lowest address first */
    esp -= 4u * n;
    if (!emu_seg_access_ok(&stk, esp, 4u * n, true))  /* #SS as intr_push natively */
        return emu_fault(f, EXC_SS, (inner ? (ss & 0xFFFCu) : 0u) | t->ext);
    if (gmem_write(v, stk.base + esp, words, 4u * n, f) != EMU_NEXT)
        return EMU_FAULT;
    if (inner) {
        hw_load_seg(v, S_SS, ss, 1);
        v->vc.sel[S_SS] = ss;
    }
    c->s.r[R_ESP] = esp;
    return EMU_NEXT;
}

static void commit(struct vmm *v, const struct target *t)
{
    struct cpu *c = v->cpu;
    uint16_t sel = (uint16_t)((t->sel & 0xFFFCu) | (unsigned)t->cpl);
    hw_load_seg(v, S_CS, sel, t->cpl == 0 ? 1 : 3);
    v->vc.sel[S_CS] = sel;
    c->s.eip = t->eip;
    uint32_t fl = cpu_get_eflags(c) & ~(FL_TF | FL_NT | FL_RF | FL_VM | FL_IF);
    cpu_set_eflags(c, fl | vmm_guest_hw_if(v));
    if (!(desc_type(t->gate) & 1u))              /* interrupt gate */
        v->vc.vif = false;
    v->vc.halted = false;
    vmm_set_cpl(v, t->cpl);
}

static int reflect_once(struct vmm *v, int vec, uint32_t err, bool has_err,
                        enum reflect_kind kind, uint32_t ret_eip, struct emu_fault *f)
{
    struct target t = { .ext = kind == RK_SOFT ? 0u : 1u };
    int rc = read_gate(v, vec, kind, &t, f);
    if (rc == EMU_NEXT && desc_type(t.gate) == 5u)     /* a task gate */
        return emu_task_gate(v, t.gate, err, has_err, t.ext, ret_eip, f);
    if (rc == EMU_NEXT)
        rc = check_code(v, &t, f);
    if (rc == EMU_NEXT)
        rc = push_frame(v, &t, err, has_err, kind, ret_eip, f);
    if (rc != EMU_NEXT)
        return rc;
    commit(v, &t);
    return EMU_JUMP;
}

static void reflect_events(struct vmm *v, int vec, uint32_t err, bool has_err,
                           enum reflect_kind kind)
{
    enum ev_kind k = kind == RK_SOFT ? EV_SOFTINT : kind == RK_EXT ? EV_INTERRUPT : EV_EXCEPTION;
    vmm_emit(v, k, PATH_EMULATED, (uint32_t)vec, err, has_err, 0);
    vmm_emit(v, EV_REFLECT, PATH_EMULATED, (uint32_t)vec, (uint32_t)kind, 0, 0);
}

int reflect_vector(struct vmm *v, int vec, uint32_t err, bool has_err,
                   enum reflect_kind kind, uint32_t ret_eip)
{
    struct emu_fault f;
    reflect_events(v, vec, err, has_err, kind);
    int rc = reflect_once(v, vec, err, has_err, kind, ret_eip, &f);
    if (rc != EMU_FAULT)
        return rc;
    if (f.vector == EXC_PF)
        v->vc.cr2 = f.cr2;                  /* CR2 is loaded as the #PF is detected */
    int first = vector_class(vec, kind), second = vector_class(f.vector, RK_EXC);
    bool bad = second == CLASS_CONTRIB || second == CLASS_PF;
    if (first == CLASS_DF && bad) {
        v->stop_msg = "triple fault";
        return EMU_TRIPLE;
    }
    if ((first == CLASS_CONTRIB && second == CLASS_CONTRIB) || (first == CLASS_PF && bad))
        return reflect_vector(v, EXC_DF, 0, true, RK_EXC, v->cpu->s.eip);
    return reflect_vector(v, f.vector, f.err, f.has_err, RK_EXC, v->cpu->s.eip);
}

int reflect_fault(struct vmm *v, const struct emu_fault *f, uint32_t ret_eip)
{
    if (f->vector == EXC_PF)
        v->vc.cr2 = f->cr2;
    return reflect_vector(v, f->vector, f->err, f->has_err, RK_EXC, ret_eip);
}

bool intr_has_err(int vec)
{
    return vec == EXC_DF || (vec >= EXC_TS && vec <= EXC_PF) || vec == EXC_AC;
}

/* What the hardware would have charged for delivering it natively. */
uint32_t reflect_native_cost(struct vmm *v, int vec, enum reflect_kind kind)
{
    const uint32_t *c = v->costs->v;
    if (kind == RK_SOFT && v->vc.cpl == 3)
        return c[COST_NATIVE_SYSCALL];
    if (kind == RK_EXC && vec == EXC_DE)
        return c[COST_NATIVE_DIVZERO];
    if (kind == RK_EXC && vec == EXC_PF)
        return c[COST_NATIVE_PGFAULT];
    return c[COST_NATIVE_EXCEPTION];
}
