/*
 * intr.c - exceptions and interrupts: raising, classifying, delivering.
 *
 * A guest fault is data: cpu_raise() records {vector, error code} and
 * unwinds to the run loop (the protocol is in cpu_internal.h), which puts
 * EIP back on the faulting instruction and calls intr_exception(). That
 * applies the double-fault rules of Intel SDM vol. 3, 6.15 table 6-5 (a
 * contributory exception or page fault while delivering a contributory
 * exception or page fault becomes #DF; another one while delivering #DF is
 * a triple fault, which stops the run), then either stops for the owner
 * (cpu->intercept) or delivers through the IDT.
 *
 * Delivery (SDM vol. 3, 6.12) reads the gate for the vector, checks it (and
 * for software interrupts its DPL against CPL: the check that lets a kernel
 * hide vectors from user code), checks the target code segment and then
 * either stays on the current stack (same privilege, or a conforming
 * target) or switches to the inner stack named by the TSS, pushing the old
 * SS:ESP. Interrupt gates clear IF, trap gates leave it. The EXT bit of any
 * error code produced while delivering is set unless the event was a
 * software interrupt (INT n, INT3, INTO). A task gate hands the event to
 * task.c, which switches to the gate's task (and pushes the error code on
 * its stack). Virtual-8086 mode is not modelled: it stops the run with
 * CPU_STOP_UNSUPPORTED.
 */
#include <string.h>
#include "ops_system.h"
#include "vmx_internal.h"

enum { CLASS_BENIGN, CLASS_CONTRIB, CLASS_PF, CLASS_DF };

/* Exception classes of SDM vol. 3, table 6-4. */
static int intr_class(int vector)
{
    switch (vector) {
    case EXC_DE: case EXC_TS: case EXC_NP: case EXC_SS: case EXC_GP:
        return CLASS_CONTRIB;
    case EXC_PF:
        return CLASS_PF;
    case EXC_DF:
        return CLASS_DF;
    default:
        return CLASS_BENIGN;
    }
}

bool intr_has_error_code(int vector)
{
    return vector == EXC_DF || (vector >= EXC_TS && vector <= EXC_PF) ||
           vector == EXC_AC;
}

_Noreturn void cpu_raise(struct cpu *cpu, int vector, uint32_t err)
{
    cpu->pending_vector = vector;
    cpu->pending_error = err;
    cpu->pending_has_error = intr_has_error_code(vector);
    longjmp(cpu->fault_jmp, RAISE_EXC);
}

_Noreturn void cpu_raise_sel(struct cpu *cpu, int vector, uint16_t sel)
{
    cpu_raise(cpu, vector, sel & 0xfffcu);
}

_Noreturn void cpu_stop_run(struct cpu *cpu, enum cpu_stop why, const char *msg)
{
    cpu->stop = why;
    cpu->stop_msg = msg;
    cpu->fault_depth = 0;
    longjmp(cpu->fault_jmp, RAISE_STOP);
}

_Noreturn void cpu_unsupported(struct cpu *cpu, const char *msg)
{
    cpu_stop_run(cpu, CPU_STOP_UNSUPPORTED, msg);
}

/* Stop for the owner instead of delivering (cpu->intercept). */
static void intr_intercepted(struct cpu *cpu, int vector, uint32_t err, bool has, bool soft)
{
    cpu->stop = CPU_STOP_INTERCEPT;
    cpu->stop_soft = soft;
    cpu->stop_vector = vector;
    cpu->stop_error = err;
    cpu->stop_has_error = has;
    cpu->fault_depth = 0;
}

bool intr_exception(struct cpu *cpu)
{
    int vec = cpu->pending_vector;
    uint32_t err = cpu->pending_error;
    bool has = cpu->pending_has_error;
    if (cpu->vmcs && vmx_exception(cpu, vec, err, has, cpu->fault_depth != 0))
        return true;                             /* a VM exit, before any #DF */
    if (cpu->fault_depth) {                      /* fault while delivering */
        int first = cpu->deliver_class, second = intr_class(vec);
        bool bad2 = second == CLASS_CONTRIB || second == CLASS_PF;
        cpu->fault_depth = 0;
        if (first == CLASS_DF && bad2) {
            cpu->stop = CPU_STOP_TRIPLE;
            cpu->stop_msg = "triple fault";
            return true;
        }
        if ((first == CLASS_CONTRIB && second == CLASS_CONTRIB) ||
            (first == CLASS_PF && bad2)) {
            vec = EXC_DF;
            err = 0;
            has = true;
        }
    }
    if (vec < 32 && (cpu->intercept >> vec) & 1u) {
        intr_intercepted(cpu, vec, err, has, false);
        return true;
    }
    intr_deliver(cpu, vec, err, has, false, false);
    return false;
}

void intr_soft(struct cpu *cpu, int vector)
{
    if (vector < 32 && (cpu->intercept >> vector) & 1u) {
        intr_intercepted(cpu, vector, 0, false, true);
        longjmp(cpu->fault_jmp, RAISE_STOP);
    }
    intr_deliver(cpu, vector, 0, false, true, false);
}

/* The instruction completed (EIP is the next one): a fault while delivering,
   or a stop for the owner, must not roll it back. Intercepted, it still
   counts as retired, as INT n does under a monitor. */
void intr_trap(struct cpu *cpu, int vector)
{
    cpu->insn_eip = cpu->s.eip;
    if (vector < 32 && (cpu->intercept >> vector) & 1u) {
        cpu->insns++;
        intr_intercepted(cpu, vector, 0, false, false);
        longjmp(cpu->fault_jmp, RAISE_STOP);
    }
    intr_deliver(cpu, vector, 0, false, false, false);
}

/* Where delivery goes: the gate and its checked target. */
struct intr_target {
    uint64_t gate, code;   /* IDT gate and target code descriptor */
    uint16_t sel;          /* target code selector */
    uint32_t eip;          /* handler offset */
    int size;              /* 4 for 32-bit gates, 2 for 16-bit */
    int dpl;               /* new CPL */
    int ext;               /* EXT bit for error codes */
};

/* Read and check the IDT gate (SDM vol. 3, 6.12.1.1). */
static void intr_gate(struct cpu *cpu, int vec, bool soft, struct intr_target *t)
{
    uint32_t idt_err = (uint32_t)vec * 8u + 2u + (uint32_t)t->ext;
    if ((uint32_t)vec * 8u + 7u > cpu->s.idtr.limit)
        cpu_raise(cpu, EXC_GP, idt_err);
    uint32_t lin = cpu->s.idtr.base + (uint32_t)vec * 8u;
    t->gate = mem_read_lin(cpu, lin, 4, false) |
              (uint64_t)mem_read_lin(cpu, lin + 4, 4, false) << 32;
    unsigned type = desc_type(t->gate);
    if (desc_s(t->gate))
        cpu_raise(cpu, EXC_GP, idt_err);
    if ((type & 6u) != 6u && type != 5u)
        cpu_raise(cpu, EXC_GP, idt_err);
    if (soft && (int)desc_dpl(t->gate) < cpu->s.cpl)
        cpu_raise(cpu, EXC_GP, (uint32_t)vec * 8u + 2u);
    if (!desc_present(t->gate))
        cpu_raise(cpu, EXC_NP, idt_err);
    t->size = (type & 8u) ? 4 : 2;
    t->sel = gate_sel(t->gate);
    t->eip = gate_offset(t->gate);
    if (t->size == 2)
        t->eip &= 0xffffu;
}

/* Check the target code segment of the gate (SDM vol. 3, 6.12.1). */
static void intr_code(struct cpu *cpu, struct intr_target *t)
{
    uint32_t err = (t->sel & 0xfffcu) | (uint32_t)t->ext;
    if ((t->sel & 0xfffcu) == 0)
        cpu_raise(cpu, EXC_GP, (uint32_t)t->ext);
    uint64_t d;
    if (!seg_try_read_desc(cpu, t->sel, &d))
        cpu_raise(cpu, EXC_GP, err);
    if (!desc_is_code(d) || (int)desc_dpl(d) > cpu->s.cpl)
        cpu_raise(cpu, EXC_GP, err);
    if (!desc_present(d))
        cpu_raise(cpu, EXC_NP, err);
    t->code = d;
    t->dpl = desc_is_conforming(d) ? cpu->s.cpl : (int)desc_dpl(d);
    struct seg tmp;
    seg_from_desc(&tmp, t->sel, d);
    if (t->eip > tmp.limit)
        cpu_raise(cpu, EXC_GP, (uint32_t)t->ext);
}

/* Build the frame (old SS:ESP only for a stack switch) and push it. */
static void intr_push(struct cpu *cpu, const struct intr_target *t,
                      uint32_t err, bool has_err)
{
    uint32_t vals[6];
    int n = 0;
    bool inner = t->dpl < cpu->s.cpl;
    if (inner) {
        vals[n++] = cpu->s.seg[S_SS].sel;
        vals[n++] = cpu->s.r[R_ESP];
    }
    vals[n++] = flags_get(cpu);
    vals[n++] = cpu->s.seg[S_CS].sel;
    vals[n++] = cpu->s.eip;
    if (has_err)
        vals[n++] = err;
    if (!inner) {
        uint32_t sp = cpu->s.r[R_ESP];
        stack_push_frame(cpu, &cpu->s.seg[S_SS], &sp, vals, n, t->size,
                         cpu->s.cpl == 3, (uint32_t)t->ext);
        cpu->s.r[R_ESP] = sp;
        return;
    }
    uint16_t ss;
    uint32_t sp;
    tss_stack(cpu, t->dpl, &ss, &sp, t->ext);
    uint64_t ssd = seg_check_stack(cpu, ss, t->dpl, EXC_TS, t->ext);
    struct seg nss;
    seg_from_desc(&nss, ss, ssd);
    stack_push_frame(cpu, &nss, &sp, vals, n, t->size, t->dpl == 3,
                     (ss & 0xfffcu) | (uint32_t)t->ext);
    seg_commit(cpu, &cpu->s.seg[S_SS], ss, ssd);
    cpu->s.r[R_ESP] = sp;
}

void intr_deliver(struct cpu *cpu, int vector, uint32_t err, bool has_err,
                  bool soft, bool ext)
{
    struct intr_target t = { .ext = soft ? 0 : 1 };
    cpu->fault_depth = 1;
    cpu->delivering.vector = vector;
    cpu->delivering.error = err;
    cpu->delivering.has_error = has_err;
    cpu->delivering.soft = soft;
    cpu->delivering.ext = ext;
    cpu->deliver_class = (soft || ext) ? CLASS_BENIGN : intr_class(vector);
    if (cpu->hooks.on_vector)
        cpu->hooks.on_vector(cpu->hooks.ctx, vector, err, has_err, soft, ext,
                             cpu->s.eip);
    if (flags_get(cpu) & FL_VM)
        cpu_unsupported(cpu, "virtual-8086 mode is not supported");
    intr_gate(cpu, vector, soft, &t);
    if (desc_type(t.gate) == 5u) {               /* task gate: task.c */
        task_interrupt(cpu, t.gate, err, has_err, t.ext);
        cpu->s.halted = false;
        cpu->fault_depth = 0;
        return;
    }
    intr_code(cpu, &t);
    intr_push(cpu, &t, err, has_err);
    cpu->s.eip = t.eip;
    seg_load_cs(cpu, t.sel, t.code, t.dpl);
    uint32_t clear = FL_TF | FL_NT | FL_RF | FL_VM;
    if (!(desc_type(t.gate) & 1u))               /* interrupt gate */
        clear |= FL_IF;
    flags_set(cpu, 0, clear);
    cpu->s.halted = false;
    cpu->fault_depth = 0;
}

bool cpu_deliver(struct cpu *cpu, int vector, uint32_t error_code, bool has_error,
                 bool soft, bool ext)
{
    jmp_buf saved;
    volatile bool ok = true;
    memcpy(saved, cpu->fault_jmp, sizeof saved);
    int r = setjmp(cpu->fault_jmp);
    if (r == 0)
        intr_deliver(cpu, vector, error_code, has_error, soft, ext);
    else if (r == RAISE_EXC)
        ok = !intr_exception(cpu);   /* a nested fault: may jump back here */
    else
        ok = false;
    memcpy(cpu->fault_jmp, saved, sizeof saved);
    return ok;
}
