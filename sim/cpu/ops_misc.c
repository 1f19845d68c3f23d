/*
 * ops_misc.c - the small ones: flag instructions (CLC, STC, CMC, CLD, STD),
 * NOP and PAUSE, CPUID, RDTSC, UD2, WAIT, and the x87/MMX/SSE forms that
 * this FPU-less CPU rejects.
 *
 * CPUID describes a GenuineIntel i686-class part without an FPU (SDM vol. 2,
 * CPUID, table 3-11): family 6, with TSC, MSR, CX8, APIC (the local APIC of
 * sim/hw/lapic.c), SEP, PGE, CMOV and PSE, and without FPU, MMX, FXSR or
 * SSE, so that a guest which checks before it uses floating point sees the
 * truth. The vendor string is Intel's so that kernels choose their Intel
 * paths (kvm-unit-tests takes any other string for AMD); the feature flags
 * are only what this CPU implements.
 */
#include "ops.h"

void op_nop(struct cpu *cpu, const struct insn *in) { }

void op_clc(struct cpu *cpu, const struct insn *in) { flags_set(cpu, 0, FL_CF); }
void op_stc(struct cpu *cpu, const struct insn *in) { flags_set(cpu, FL_CF, FL_CF); }
void op_cmc(struct cpu *cpu, const struct insn *in)
{
    flags_set(cpu, flag_cf(cpu) ? 0 : FL_CF, FL_CF);
}
void op_cld(struct cpu *cpu, const struct insn *in) { cpu->s.eflags &= ~FL_DF; }
void op_std(struct cpu *cpu, const struct insn *in) { cpu->s.eflags |= FL_DF; }

#define CPUID_PSE  (1u << 3)
#define CPUID_TSC  (1u << 4)
#define CPUID_MSR  (1u << 5)
#define CPUID_CX8  (1u << 8)
#define CPUID_APIC (1u << 9)
#define CPUID_SEP  (1u << 11)
#define CPUID_PGE  (1u << 13)
#define CPUID_CMOV (1u << 15)
#define CPUID_SIGNATURE 0x00000611u
#define CPUID_FEATURES  (CPUID_PSE | CPUID_TSC | CPUID_MSR | CPUID_CX8 | CPUID_APIC | \
                         CPUID_SEP | CPUID_PGE | CPUID_CMOV)

void cpu_cpuid(uint32_t leaf, uint32_t out[4])
{
    switch (leaf) {
    case 0: /* max leaf 1; vendor "GenuineIntel" in EBX, EDX, ECX */
        out[0] = 1;
        out[1] = 0x756e6547; /* "Genu" */
        out[3] = 0x49656e69; /* "ineI" */
        out[2] = 0x6c65746e; /* "ntel" */
        break;
    case 1: /* family 6, model 1, stepping 1; EBX: initial APIC ID 0 */
        out[0] = CPUID_SIGNATURE;
        out[1] = 0;
        out[2] = 0;
        out[3] = CPUID_FEATURES;
        break;
    default:
        out[0] = out[1] = out[2] = out[3] = 0;
        break;
    }
}

void op_cpuid(struct cpu *cpu, const struct insn *in)
{
    uint32_t *r = cpu->s.r, o[4];
    cpu_cpuid(r[R_EAX], o);
    r[R_EAX] = o[0];
    r[R_EBX] = o[1];
    r[R_ECX] = o[2];
    r[R_EDX] = o[3];
}

/* RDTSC: #GP(0) outside ring 0 when CR4.TSD is set (SDM vol. 2, RDTSC).
   The counter is the modeled cycle count, so virtual time stays
   deterministic. */
void op_rdtsc(struct cpu *cpu, const struct insn *in)
{
    if ((cpu->s.cr4 & CR4_TSD) && cpu->s.cpl > 0)
        cpu_raise(cpu, EXC_GP, 0);
    block_sync(cpu);
    uint64_t t = cpu->cycles + cpu->s.tsc_offset;
    cpu->s.r[R_EAX] = (uint32_t)t;
    cpu->s.r[R_EDX] = (uint32_t)(t >> 32);
}

void op_ud(struct cpu *cpu, const struct insn *in)
{
    cpu_raise(cpu, EXC_UD, 0);
}

/* VMCALL outside VMX non-root operation: #UD (SDM vol. 2, VMCALL; in root
   operation it would call the SMM monitor, which ringside does not have).
   Non-root operation never gets here: vmx_insn exits first (vmx.c). */
void op_vmcall(struct cpu *cpu, const struct insn *in)
{
    cpu_raise(cpu, EXC_UD, 0);
}

/* WAIT/FWAIT: #NM if CR0.MP and CR0.TS are both set, else a NOP. */
void op_wait(struct cpu *cpu, const struct insn *in)
{
    if ((cpu->s.cr0 & (CR0_MP | CR0_TS)) == (CR0_MP | CR0_TS))
        cpu_raise(cpu, EXC_NM, 0);
}

/*
 * No FPU (SDM vol. 3, table 2-2 and 13.1): an x87 escape (D8-DF) raises
 * #NM if CR0.EM or CR0.TS is set (so a kernel could emulate the FPU) and
 * #UD otherwise here, since there is no FPU to run it. MMX/SSE forms raise
 * #UD if CR0.EM is set, #NM if CR0.TS is set, else #UD (CPUID says no SSE).
 */
_Noreturn void fpu_fault(struct cpu *cpu, const struct insn *in)
{
    uint32_t cr0 = cpu->s.cr0;
    if (in->map == MAP_1B && (cr0 & (CR0_EM | CR0_TS)))
        cpu_raise(cpu, EXC_NM, 0);
    if (in->map == MAP_0F && !(cr0 & CR0_EM) && (cr0 & CR0_TS))
        cpu_raise(cpu, EXC_NM, 0);
    cpu_raise(cpu, EXC_UD, 0);
}

void op_fpu(struct cpu *cpu, const struct insn *in)
{
    fpu_fault(cpu, in);
}
