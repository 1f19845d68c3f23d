/*
 * vmx.h - the CPU's hardware virtualization extension, in the spirit of
 * Intel VT-x (SDM vol. 3, chapters 23-27): VMX non-root operation and VM exits.
 *
 * This is still hardware: it knows nothing of a VMM. It adds to the CPU a
 * control structure (struct vmcs: guest-state area, host-state area,
 * execution controls, exit and entry information fields), an operation that
 * enters non-root mode from it (vmx_enter: VMLAUNCH/VMRESUME with the
 * entry checks and event injection of SDM chapter 26) and VM exits (chapter
 * 27): when the guest, in non-root mode, does something the controls say
 * the VMM must see, the CPU stores the guest state into the VMCS, records
 * why (exit reason, qualification, guest-linear address, instruction
 * length and information, interruption and IDT-vectoring information),
 * loads the host state and cpu_run returns CPU_STOP_VMEXIT.
 *
 * The guest kernel runs at its own ring 0: nothing is deprivileged, so
 * PUSHF, POPF, SGDT, SIDT, SMSW, MOV from CS... read and write the real
 * registers, which hold the guest's values. What the VMM owns is listed in
 * the controls. The host in ringside is C code (sim/vmm/hw), so the VMX
 * instructions the host would execute are these C calls; docs/hw.md lists
 * what is kept and what is simplified.
 */
#ifndef RS_VMX_H
#define RS_VMX_H

#include <stdint.h>
#include <stdbool.h>
#include "cpu.h"

/* Basic exit reasons (SDM vol. 3, appendix C). */
enum vmx_exit_reason {
    VMX_EXIT_EXCEPTION = 0,      /* exception (bitmap) */
    VMX_EXIT_EXT_INTR = 1,       /* external interrupt (pin-based control) */
    VMX_EXIT_TRIPLE_FAULT = 2,
    VMX_EXIT_INTR_WINDOW = 7,    /* the guest can take an interrupt */
    VMX_EXIT_TASK_SWITCH = 9,    /* unconditional: every task switch (qualification below) */
    VMX_EXIT_CPUID = 10,         /* unconditional */
    VMX_EXIT_HLT = 12,
    VMX_EXIT_INVLPG = 14,
    VMX_EXIT_VMCALL = 18,        /* unconditional in non-root operation, any CPL */
    VMX_EXIT_CR_ACCESS = 28,     /* MOV CR, CLTS, LMSW per masks and controls */
    VMX_EXIT_IO = 30,            /* IN/OUT/INS/OUTS per the I/O bitmaps */
    VMX_EXIT_RDMSR = 31,         /* per the MSR bitmaps */
    VMX_EXIT_WRMSR = 32,
    VMX_EXIT_INVALID_GUEST = 33, /* VM-entry failure: guest state (bit 31 set) */
    VMX_EXIT_MTF = 37,           /* monitor trap flag: one instruction done */
    VMX_EXIT_EPT_VIOLATION = 48, /* nested paging: the EPT-like table refused an access */
    VMX_EXIT_PREEMPT = 52,       /* VMX-preemption timer expired */
    VMX_EXIT_REASONS = 64
};
#define VMX_EXIT_ENTRY_FAIL 0x80000000u  /* bit 31 of the exit reason */
/* Task-switch exit qualification (SDM vol. 3, table 28-2 "Exit Qualification
   for Task Switches"): bits 15:0 the selector the switch names (the JMP/CALL
   operand, the IRET back link, the IDT task gate's TSS), bits 31:30 the
   source. The instruction has not executed (EIP on it, its length in the
   exit); an IDT source has the event in the IDT-vectoring information. */
enum { VMX_TS_CALL = 0, VMX_TS_IRET = 1, VMX_TS_JMP = 2, VMX_TS_IDT = 3 };
#define VMX_TS_QUAL(sel, source) ((uint32_t)(sel) | (uint32_t)(source) << 30)

/* Pin-based controls. */
#define VMX_PIN_EXT_INTR   0x00000001u   /* external interrupts exit */
#define VMX_PIN_PREEMPT    0x00000040u   /* VMX-preemption timer (here: cpu_run's limit) */
/* Primary processor-based controls. */
#define VMX_PROC_INTR_WINDOW 0x00000004u
#define VMX_PROC_HLT         0x00000080u
#define VMX_PROC_INVLPG      0x00000200u
#define VMX_PROC_CR3_LOAD    0x00008000u
#define VMX_PROC_CR3_STORE   0x00010000u
#define VMX_PROC_MTF         0x08000000u
#define VMX_PROC_IO_UNCOND   0x01000000u
#define VMX_PROC_IO_BITMAPS  0x02000000u
#define VMX_PROC_MSR_BITMAPS 0x10000000u
/* Secondary processor-based controls. */
#define VMX_PROC2_EPT          0x00000002u  /* nested paging (EPT) */
#define VMX_PROC2_UNRESTRICTED 0x00000080u  /* unrestricted guest: CR0.PG may be 0 (needs EPT) */

/*
 * The nested page table (EPT-like, SDM 28.2, in ringside's 32-bit shape):
 * two levels of 32-bit entries, 10 + 10 + 12 bits of guest-physical address,
 * a directory entry either pointing at a table or (EPT_LARGE) mapping 4 MiB.
 * Rights are read / write / execute; an entry with none of them is not
 * present. Execute is recorded but not checked (ringside's TLB does not
 * tell fetches from reads).
 */
#define EPT_R 0x001u
#define EPT_W 0x002u
#define EPT_X 0x004u
#define EPT_RWX 0x007u
#define EPT_LARGE 0x080u
/* EPT-violation qualification bits (SDM table 27-7). */
#define EPT_Q_READ   0x001u
#define EPT_Q_WRITE  0x002u
#define EPT_Q_LINEAR 0x080u   /* guest-linear address valid */
#define EPT_Q_FINAL  0x100u   /* the access's own address, not a guest page-table entry */

/* Interruption-information format (exit, entry, IDT-vectoring). */
#define VMX_INTR_VALID   0x80000000u
#define VMX_INTR_ERRCODE 0x00000800u
enum vmx_intr_type { VMX_INTR_EXT = 0, VMX_INTR_NMI = 2, VMX_INTR_HW_EXC = 3,
                     VMX_INTR_SOFT_INT = 4, VMX_INTR_SOFT_EXC = 6 };
static inline uint32_t vmx_intr_info(int vector, enum vmx_intr_type type, bool errcode)
{
    return VMX_INTR_VALID | (uint32_t)type << 8 | (errcode ? VMX_INTR_ERRCODE : 0u) |
           ((uint32_t)vector & 0xFFu);
}

/* Interruptibility state: blocking by STI / by MOV SS. */
#define VMX_BLOCK_STI   1u
#define VMX_BLOCK_MOVSS 2u
/* Activity state. */
enum { VMX_ACTIVE = 0, VMX_HLT = 1 };

/* VM-instruction error numbers (SDM vol. 3, 30.4) for a failed entry. */
enum vmx_insn_error {
    VMX_ERR_NONE = 0,
    VMX_ERR_LAUNCH_NONCLEAR = 4,      /* VMLAUNCH with a launched VMCS */
    VMX_ERR_RESUME_NONLAUNCHED = 5,   /* VMRESUME with a clear VMCS */
    VMX_ERR_CONTROLS = 7,             /* invalid control field(s) */
    VMX_ERR_HOST_STATE = 8,           /* invalid host-state field(s) */
};

/* Qualification of a control-register access (SDM table 27-3). */
enum { VMX_CR_MOV_TO = 0, VMX_CR_MOV_FROM = 1, VMX_CR_CLTS = 2, VMX_CR_LMSW = 3 };
#define VMX_CRQ(cr, type, gpr) ((uint32_t)(cr) | (uint32_t)(type) << 4 | (uint32_t)(gpr) << 8)
/* Qualification of an I/O instruction (SDM table 27-5). */
#define VMX_IOQ_IN     0x08u
#define VMX_IOQ_STRING 0x10u
#define VMX_IOQ_REP    0x20u
#define VMX_IOQ_IMM    0x40u

/* The host-state area: what a VM exit loads (SDM 24.5). */
struct vmcs_host {
    uint32_t cr0, cr3, cr4;
    uint32_t esp, eip;
    uint16_t sel[S_COUNT];   /* CS, SS, DS, ES, FS, GS (RPL and TI 0) */
    uint16_t tr;
    uint32_t fs_base, gs_base, tr_base;
    struct dtr gdtr, idtr;
    uint32_t sysenter_cs, sysenter_esp, sysenter_eip;
};

/* The VMCS. A plain struct: snapshot it like any state. */
struct vmcs {
    /* guest-state area (SDM 24.4): control, debug and segment registers with
       their hidden parts, EIP, ESP, EFLAGS, descriptor tables, SYSENTER
       MSRs, interruptibility (s.inhibit_irq) and activity (s.halted) state.
       Simplified: the general registers and CR2 are kept here too (VT-x
       leaves them in the processor for the VMM to save). */
    struct cpu_state guest;
    struct vmcs_host host;
    /* execution controls (SDM 24.6) */
    uint32_t pin, proc, proc2;
    uint32_t eptp;                     /* host-physical address of the nested directory */
    uint32_t exception_bitmap;         /* bit v: exception v exits */
    uint32_t cr0_mask, cr0_shadow;     /* guest/host mask, read shadow */
    uint32_t cr4_mask, cr4_shadow;
    uint8_t io_bitmap[8192];           /* A and B: one bit per port, 1 = exit */
    uint8_t msr_read[1024], msr_write[1024]; /* MSRs 0-0x1FFF, 1 = exit (others always exit) */
    /* entry controls: event injection (SDM 24.8.3) */
    uint32_t entry_intr_info;          /* vmx_intr_info(), or 0 */
    uint32_t entry_error;
    uint32_t entry_insn_len;           /* software interrupts/exceptions */
    /* exit information (SDM 24.9, read only for the VMM) */
    uint32_t exit_reason;
    uint32_t exit_qual;
    uint32_t guest_linear;             /* INS/OUTS, EPT violation: a linear address */
    uint32_t guest_physical;           /* EPT violation: the guest-physical address */
    uint32_t exit_intr_info, exit_intr_error;
    uint32_t idt_vectoring_info, idt_vectoring_error;
    uint32_t exit_insn_len, exit_insn_info;
    uint32_t insn_error;               /* enum vmx_insn_error of the last failed entry */
    bool launched;                     /* VMLAUNCH done (VMCS "launched" state) */
};

/* Every I/O port exits; MSRs exit unless opened with vmx_msr_pass. */
void vmcs_init(struct vmcs *vm);
void vmx_io_exit(struct vmcs *vm, uint16_t port, bool exits);
void vmx_msr_pass(struct vmcs *vm, uint32_t msr, bool read, bool write);

/*
 * VM entry (VMLAUNCH if !resume, VMRESUME otherwise): the control and host
 * checks (failure: VMfailValid, -1 with vm->insn_error; the CPU stays in
 * root operation), then the guest-state checks (failure: a VM exit with
 * reason VMX_EXIT_INVALID_GUEST | VMX_EXIT_ENTRY_FAIL, returns 1), then the
 * guest state is loaded and the injected event, if any, delivered through
 * the guest's IDT; a VM exit during that delivery (a #PF the bitmap takes)
 * also returns 1, with the event in the IDT-vectoring information.
 * 0: the CPU is in non-root operation; cpu_run runs the guest.
 */
int vmx_enter(struct cpu *cpu, struct vmcs *vm, bool resume);
/* The CPU is in VMX non-root operation. */
static inline bool vmx_nonroot(const struct cpu *cpu)
{
    return cpu->vmcs != NULL;
}
/* The host executes CPUID for itself (the VMM answering a CPUID exit):
   EAX..EDX of cpu->s from leaf EAX, as the processor would. */
void vmx_host_cpuid(struct cpu *cpu);
/* Exit reason names for people ("io", "cr-access"...), NULL if unnamed. */
const char *vmx_exit_name(unsigned reason);

#endif
