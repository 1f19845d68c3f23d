/*
 * test_vmx.c - the CPU's VT-x-style extension (sim/cpu/vmx.h): VM entry
 * and its checks, every exit reason the engine uses, the read shadows,
 * event injection and the IDT-vectoring information.
 *
 * Each test builds a small machine (8 MiB RAM; GDT at 0x1000 with flat
 * ring-0 code/data and a busy TSS; IDT at 0x2000 whose gates lead to
 * one-byte HLT stubs at 0x20000 + 16 * vector; paging on with two 4 MiB
 * PSE pages mapping 0-8 MiB, VT-x without unrestricted guest requires it),
 * a VMCS whose guest-state area is that machine, and hand-assembled guest
 * code at 0x10000 (the source beside the bytes). Expected values are the
 * SDM's (vol. 3 chapters 24-27: field formats, exit qualifications, entry
 * checks), never ringside's own output.
 */
#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>
#include "cpu/cpu.h"
#include "cpu/vmx.h"

#define RAM_SIZE (8u << 20)
#define GDT 0x1000u
#define IDT 0x2000u
#define TSS 0x3000u
#define STUBS 0x20000u
#define CODE 0x10000u
#define STACK 0x90000u
#define PD 0x100000u
#define HOST_EIP 0x400000u

struct tv {
    struct cpu cpu;
    struct vmcs vm;
    uint8_t *ram;
    bool intr_line;
    int io_in, io_out;
    uint16_t last_port;
};

static uint32_t tv_in(void *ctx, uint16_t port, int size)
{
    struct tv *t = ctx;
    t->io_in++;
    t->last_port = port;
    return 0x5a;
}

static void tv_out(void *ctx, uint16_t port, int size, uint32_t val)
{
    struct tv *t = ctx;
    t->io_out++;
    t->last_port = port;
}

static bool tv_pending(void *ctx) { return ((struct tv *)ctx)->intr_line; }
static int tv_ack(void *ctx) { ((struct tv *)ctx)->intr_line = false; return 0x30; }

static void put32(struct tv *t, uint32_t pa, uint32_t v) { memcpy(t->ram + pa, &v, 4); }
static uint32_t get32(struct tv *t, uint32_t pa) { uint32_t v; memcpy(&v, t->ram + pa, 4); return v; }

static void put_desc(struct tv *t, unsigned idx, uint32_t lo, uint32_t hi)
{
    put32(t, GDT + idx * 8u, lo);
    put32(t, GDT + idx * 8u + 4u, hi);
}

/* The guest's tables and its state, as an OS would have set them up. */
static void tv_guest(struct tv *t)
{
    put_desc(t, 1, 0x0000FFFFu, 0x00CF9B00u);          /* 0x08 code, flat */
    put_desc(t, 2, 0x0000FFFFu, 0x00CF9300u);          /* 0x10 data, flat */
    put_desc(t, 3, (TSS << 16) | 0x67u, 0x00008B00u);  /* 0x18 busy TSS */
    for (unsigned v = 0; v < 64; v++) {
        uint32_t off = STUBS + 16u * v;
        put32(t, IDT + v * 8u, (off & 0xFFFFu) | 0x08u << 16);
        put32(t, IDT + v * 8u + 4u, (off & 0xFFFF0000u) | 0x8E00u);   /* interrupt gate */
        t->ram[off] = 0xF4;                             /* hlt */
    }
    put32(t, PD, 0x00000087u);                          /* 0-4 MiB, PS|U|W|P */
    put32(t, PD + 4, 0x00400087u);                      /* 4-8 MiB */
    struct cpu_state *g = &t->vm.guest;
    cpu_reset_multiboot(&t->cpu, CODE, 0, 0);
    *g = t->cpu.s;
    g->gdtr = (struct dtr){ GDT, 4 * 8 - 1 };
    g->idtr = (struct dtr){ IDT, 64 * 8 - 1 };
    g->tr = (struct seg){ 0x18, TSS, 0x67, 0x8B };
    g->cr0 = CR0_PE | CR0_ET | CR0_PG;
    g->cr3 = PD;
    g->cr4 = CR4_PSE;
    g->r[R_ESP] = STACK;
    g->eflags = FL_FIXED1;
}

static void tv_host(struct tv *t)
{
    struct vmcs_host *h = &t->vm.host;
    h->cr0 = CR0_PE | CR0_PG | CR0_ET;
    h->cr3 = PD;
    h->cr4 = CR4_PSE;
    h->eip = HOST_EIP;
    h->esp = 0x7F000;
    h->sel[S_CS] = 0x08;
    for (int i = 0; i < S_COUNT; i++)
        if (i != S_CS)
            h->sel[i] = 0x10;
    h->tr = 0x18;
    h->tr_base = TSS;
    h->gdtr.base = GDT;
    h->idtr.base = IDT;
}

static struct tv *tv_new(void)
{
    struct tv *t = calloc(1, sizeof *t);
    t->ram = calloc(1, RAM_SIZE);
    struct cpu_bus bus = { .ctx = t, .ram = t->ram, .ram_size = RAM_SIZE,
                           .io_in = tv_in, .io_out = tv_out,
                           .intr_pending = tv_pending, .intr_ack = tv_ack };
    CU_ASSERT_FATAL(cpu_init(&t->cpu, &bus) == 0);
    vmcs_init(&t->vm);
    tv_guest(t);
    tv_host(t);
    return t;
}

static void tv_free(struct tv *t)
{
    cpu_free(&t->cpu);
    free(t->ram);
    free(t);
}

static void tv_code(struct tv *t, const uint8_t *code, size_t len)
{
    memcpy(t->ram + CODE, code, len);
    cpu_notify_phys_write(&t->cpu, CODE, (uint32_t)len);
}

/* Enter (VMLAUNCH) and run until a stop; the CPU's stop reason. */
static enum cpu_stop tv_go(struct tv *t, const uint8_t *code, size_t len)
{
    tv_code(t, code, len);
    int rc = vmx_enter(&t->cpu, &t->vm, false);
    CU_ASSERT(rc >= 0);
    if (rc != 0)
        return CPU_STOP_VMEXIT;
    return cpu_run(&t->cpu, t->cpu.cycles + 100000);
}

/* The exit happened, the instruction at `eip` (`len` bytes) did not run,
   and the host state is loaded. */
static void tv_exited(struct tv *t, enum cpu_stop why, uint32_t reason, uint32_t eip,
                      uint32_t len)
{
    CU_ASSERT_EQUAL(why, CPU_STOP_VMEXIT);
    CU_ASSERT_EQUAL(t->vm.exit_reason, reason);
    CU_ASSERT_EQUAL(t->vm.guest.eip, eip);
    CU_ASSERT_EQUAL(t->vm.exit_insn_len, len);
    CU_ASSERT_FALSE(vmx_nonroot(&t->cpu));
    CU_ASSERT_EQUAL(t->cpu.s.eip, HOST_EIP);
    CU_ASSERT_EQUAL(t->cpu.s.r[R_ESP], 0x7F000u);
    CU_ASSERT_EQUAL(t->cpu.s.cpl, 0);
}

/* ---- entry checks (SDM 26.2, 26.3) ---- */

static void test_entry_launch_state(void)
{
    struct tv *t = tv_new();
    CU_ASSERT_EQUAL(vmx_enter(&t->cpu, &t->vm, true), -1);      /* VMRESUME, clear VMCS */
    CU_ASSERT_EQUAL(t->vm.insn_error, VMX_ERR_RESUME_NONLAUNCHED);
    static const uint8_t c[] = { 0x0f, 0xa2 };                   /* cpuid */
    tv_go(t, c, sizeof c);
    CU_ASSERT_EQUAL(vmx_enter(&t->cpu, &t->vm, false), -1);     /* VMLAUNCH, launched */
    CU_ASSERT_EQUAL(t->vm.insn_error, VMX_ERR_LAUNCH_NONCLEAR);
    CU_ASSERT_EQUAL(vmx_enter(&t->cpu, &t->vm, true), 0);       /* VMRESUME: fine */
    CU_ASSERT_TRUE(vmx_nonroot(&t->cpu));
    tv_free(t);
}

static void test_entry_host_checks(void)
{
    struct tv *t = tv_new();
    t->vm.host.cr0 &= ~CR0_PG;
    CU_ASSERT_EQUAL(vmx_enter(&t->cpu, &t->vm, false), -1);
    CU_ASSERT_EQUAL(t->vm.insn_error, VMX_ERR_HOST_STATE);
    tv_host(t);
    t->vm.host.sel[S_CS] = 0;
    CU_ASSERT_EQUAL(vmx_enter(&t->cpu, &t->vm, false), -1);
    CU_ASSERT_EQUAL(t->vm.insn_error, VMX_ERR_HOST_STATE);
    tv_host(t);
    t->vm.host.sel[S_DS] = 0x13;                                  /* RPL 3 */
    CU_ASSERT_EQUAL(vmx_enter(&t->cpu, &t->vm, false), -1);
    CU_ASSERT_FALSE(vmx_nonroot(&t->cpu));
    CU_ASSERT_FALSE(t->vm.launched);
    tv_free(t);
}

static void test_entry_event_checks(void)
{
    struct tv *t = tv_new();
    /* #PF pushes an error code: the deliver-error-code bit must say so */
    t->vm.entry_intr_info = vmx_intr_info(EXC_PF, VMX_INTR_HW_EXC, false);
    CU_ASSERT_EQUAL(vmx_enter(&t->cpu, &t->vm, false), -1);
    CU_ASSERT_EQUAL(t->vm.insn_error, VMX_ERR_CONTROLS);
    t->vm.entry_intr_info = VMX_INTR_VALID | 1u << 8 | 0x20;      /* type 1: reserved */
    CU_ASSERT_EQUAL(vmx_enter(&t->cpu, &t->vm, false), -1);
    t->vm.entry_intr_info = vmx_intr_info(0x30, VMX_INTR_EXT, true);  /* ext. with error code */
    CU_ASSERT_EQUAL(vmx_enter(&t->cpu, &t->vm, false), -1);
    CU_ASSERT_EQUAL(t->vm.insn_error, VMX_ERR_CONTROLS);
    tv_free(t);
}

/* A bad guest state is a VM exit with reason 33 | bit 31: host loaded,
   the guest never ran. */
static void expect_bad_guest(void (*spoil)(struct vmcs *))
{
    struct tv *t = tv_new();
    spoil(&t->vm);
    CU_ASSERT_EQUAL(vmx_enter(&t->cpu, &t->vm, false), 1);
    CU_ASSERT_EQUAL(t->vm.exit_reason, VMX_EXIT_INVALID_GUEST | VMX_EXIT_ENTRY_FAIL);
    CU_ASSERT_FALSE(vmx_nonroot(&t->cpu));
    CU_ASSERT_EQUAL(t->cpu.s.eip, HOST_EIP);
    CU_ASSERT_EQUAL(t->cpu.insns, 0);
    tv_free(t);
}

static void spoil_pg(struct vmcs *vm) { vm->guest.cr0 &= ~CR0_PG; }
static void spoil_vm86(struct vmcs *vm) { vm->guest.eflags |= FL_VM; }
static void spoil_rsvd(struct vmcs *vm) { vm->guest.eflags |= 0x8u; }
static void spoil_cs(struct vmcs *vm) { vm->guest.seg[S_CS].flags = 0x93u | SEGF_DB | SEGF_G; }
static void spoil_ss_rpl(struct vmcs *vm) { vm->guest.seg[S_SS].sel = 0x13; }
static void spoil_tr(struct vmcs *vm) { vm->guest.tr.flags = 0x89u; }   /* available, not busy */
static void spoil_ext_if(struct vmcs *vm)
{
    vm->entry_intr_info = vmx_intr_info(0x30, VMX_INTR_EXT, false);   /* IF = 0 */
}

static void test_entry_guest_checks(void)
{
    expect_bad_guest(spoil_pg);
    expect_bad_guest(spoil_vm86);
    expect_bad_guest(spoil_rsvd);
    expect_bad_guest(spoil_cs);
    expect_bad_guest(spoil_ss_rpl);
    expect_bad_guest(spoil_tr);
    expect_bad_guest(spoil_ext_if);
}

/* ---- exits by instruction ---- */

static void test_exit_cpuid(void)
{
    struct tv *t = tv_new();
    static const uint8_t c[] = { 0x90, 0x0f, 0xa2 };             /* nop; cpuid */
    tv_exited(t, tv_go(t, c, sizeof c), VMX_EXIT_CPUID, CODE + 1, 2);
    CU_ASSERT_EQUAL(t->vm.guest.cr3, PD);
    CU_ASSERT_EQUAL(t->cpu.s.tr.sel, 0x18);                       /* host TR */
    tv_free(t);
}

/* A task switch in non-root operation is an unconditional exit (reason 9)
   before the switch: the qualification holds the selector and the source
   (SDM vol. 3, 25.4.2 and table 28-2), nothing of the guest changes; from
   an IDT task gate the event is the IDT-vectoring information. */
static void test_exit_task_switch(void)
{
    struct tv *t = tv_new();
    put_desc(t, 4, (0x3100u << 16) | 0x67u, 0x00008900u);   /* 0x20 available TSS */
    t->vm.guest.gdtr.limit = 5 * 8 - 1;
    static const uint8_t c_jmp[] = { 0x90, 0xea, 0, 0, 0, 0, 0x20, 0 };  /* nop; ljmp $0x20,$0 */
    tv_exited(t, tv_go(t, c_jmp, sizeof c_jmp), VMX_EXIT_TASK_SWITCH, CODE + 1, 7);
    CU_ASSERT_EQUAL(t->vm.exit_qual, VMX_TS_QUAL(0x20, VMX_TS_JMP));
    CU_ASSERT_EQUAL(t->vm.guest.tr.sel, 0x18);
    CU_ASSERT_EQUAL(t->ram[GDT + 0x20 + 5], 0x89);             /* not made busy */
    CU_ASSERT_EQUAL(t->ram[GDT + 0x18 + 5], 0x8b);
    tv_free(t);
    t = tv_new();
    put_desc(t, 4, (0x3100u << 16) | 0x67u, 0x00008900u);
    t->vm.guest.gdtr.limit = 5 * 8 - 1;
    put32(t, IDT, 0x20u << 16);                               /* vector 0: task gate */
    put32(t, IDT + 4, 0x8500u);
    static const uint8_t c_de[] = { 0x31, 0xc9, 0xf7, 0xf1 };  /* xor ecx,ecx; div ecx */
    tv_exited(t, tv_go(t, c_de, sizeof c_de), VMX_EXIT_TASK_SWITCH, CODE + 2, 0);
    CU_ASSERT_EQUAL(t->vm.exit_qual, VMX_TS_QUAL(0x20, VMX_TS_IDT));
    CU_ASSERT_EQUAL(t->vm.idt_vectoring_info, vmx_intr_info(EXC_DE, VMX_INTR_HW_EXC, false));
    CU_ASSERT_EQUAL(t->vm.guest.tr.sel, 0x18);
    tv_free(t);
}

/* VMCALL: an unconditional exit (reason 18, length 3, nothing executed);
   LOCK makes it #UD, which has priority over the exit and goes to the
   guest (not in the bitmap); outside VMX operation it is #UD. */
static void test_exit_vmcall(void)
{
    struct tv *t = tv_new();
    static const uint8_t c[] = { 0x90, 0x0f, 0x01, 0xc1 };       /* nop; vmcall */
    t->vm.guest.r[R_EAX] = 0x1234;
    tv_exited(t, tv_go(t, c, sizeof c), VMX_EXIT_VMCALL, CODE + 1, 3);
    CU_ASSERT_EQUAL(t->vm.guest.r[R_EAX], 0x1234u);
    CU_ASSERT_EQUAL(t->vm.exit_qual, 0);
    CU_ASSERT_STRING_EQUAL(vmx_exit_name(VMX_EXIT_VMCALL), "vmcall");
    tv_free(t);
    t = tv_new();
    static const uint8_t l[] = { 0xf0, 0x0f, 0x01, 0xc1 };       /* lock vmcall: #UD */
    CU_ASSERT_EQUAL(tv_go(t, l, sizeof l), CPU_STOP_HLT);        /* in the guest's #UD stub */
    CU_ASSERT_TRUE(vmx_nonroot(&t->cpu));
    CU_ASSERT_EQUAL(t->cpu.s.eip, STUBS + 16u * EXC_UD + 1u);
    CU_ASSERT_EQUAL(get32(t, STACK - 12), CODE);                 /* a fault: EIP on it */
    tv_free(t);
    t = tv_new();                                                /* root operation */
    tv_code(t, c, sizeof c);
    t->cpu.s = t->vm.guest;
    CU_ASSERT_EQUAL(cpu_run(&t->cpu, t->cpu.cycles + 100000), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(t->cpu.s.eip, STUBS + 16u * EXC_UD + 1u);
    CU_ASSERT_EQUAL(get32(t, STACK - 12), CODE + 1);
    tv_free(t);
}

static void test_exit_hlt(void)
{
    struct tv *t = tv_new();
    static const uint8_t c[] = { 0xf4 };                         /* hlt */
    CU_ASSERT_EQUAL(tv_go(t, c, sizeof c), CPU_STOP_HLT);         /* no HLT exiting */
    CU_ASSERT_TRUE(vmx_nonroot(&t->cpu));
    tv_free(t);
    t = tv_new();
    t->vm.proc |= VMX_PROC_HLT;
    tv_exited(t, tv_go(t, c, sizeof c), VMX_EXIT_HLT, CODE, 1);
    CU_ASSERT_FALSE(t->vm.guest.halted);
    tv_free(t);
}

static void test_exit_invlpg(void)
{
    struct tv *t = tv_new();
    t->vm.proc |= VMX_PROC_INVLPG;
    t->vm.guest.r[R_EAX] = 0x123456;
    static const uint8_t c[] = { 0x0f, 0x01, 0x38 };             /* invlpg (%eax) */
    tv_exited(t, tv_go(t, c, sizeof c), VMX_EXIT_INVLPG, CODE, 3);
    CU_ASSERT_EQUAL(t->vm.exit_qual, 0x123456u);
    tv_free(t);
}

static void test_exit_cr3(void)
{
    struct tv *t = tv_new();
    static const uint8_t ld[] = { 0x0f, 0x22, 0xdb };            /* mov %ebx, %cr3 */
    t->vm.proc |= VMX_PROC_CR3_LOAD;
    tv_exited(t, tv_go(t, ld, sizeof ld), VMX_EXIT_CR_ACCESS, CODE, 3);
    CU_ASSERT_EQUAL(t->vm.exit_qual, VMX_CRQ(3, VMX_CR_MOV_TO, R_EBX));
    CU_ASSERT_EQUAL(t->vm.exit_qual, 0x303u);                     /* SDM table 27-3 */
    tv_free(t);
    t = tv_new();
    static const uint8_t st[] = { 0x0f, 0x20, 0xd9 };            /* mov %cr3, %ecx */
    t->vm.proc |= VMX_PROC_CR3_STORE;
    tv_exited(t, tv_go(t, st, sizeof st), VMX_EXIT_CR_ACCESS, CODE, 3);
    CU_ASSERT_EQUAL(t->vm.exit_qual, 0x113u);                     /* CR3, MOV from, ECX */
    tv_free(t);
}

/* CR0: a write changing an owned bit exits; one changing only the guest's
   bits does not, and keeps the owned bits; reads show the shadow. */
static void test_cr0_mask_shadow(void)
{
    struct tv *t = tv_new();
    t->vm.cr0_mask = CR0_PG | CR0_PE;
    t->vm.cr0_shadow = CR0_PE;                    /* the guest believes PG = 0 */
    t->vm.guest.r[R_EAX] = CR0_PE | CR0_ET | CR0_TS;
    /* mov %eax, %cr0 ; mov %cr0, %ebx ; smsw %ecx ; cpuid */
    static const uint8_t c[] = { 0x0f, 0x22, 0xc0, 0x0f, 0x20, 0xc3, 0x0f, 0x01, 0xe1,
                                 0x0f, 0xa2 };
    tv_exited(t, tv_go(t, c, sizeof c), VMX_EXIT_CPUID, CODE + 9, 2);
    CU_ASSERT_EQUAL(t->vm.guest.cr0, CR0_PE | CR0_ET | CR0_TS | CR0_PG);  /* PG kept */
    CU_ASSERT_EQUAL(t->vm.guest.r[R_EBX], CR0_PE | CR0_ET | CR0_TS);     /* PG from the shadow */
    CU_ASSERT_EQUAL(t->vm.guest.r[R_ECX], CR0_PE | CR0_ET | CR0_TS);
    tv_free(t);
    t = tv_new();
    t->vm.cr0_mask = CR0_PG | CR0_PE;
    t->vm.cr0_shadow = CR0_PE | CR0_PG;
    t->vm.guest.r[R_EDX] = CR0_PE | CR0_ET;       /* clears PG: owned, differs from shadow */
    static const uint8_t w[] = { 0x0f, 0x22, 0xc2 };             /* mov %edx, %cr0 */
    tv_exited(t, tv_go(t, w, sizeof w), VMX_EXIT_CR_ACCESS, CODE, 3);
    CU_ASSERT_EQUAL(t->vm.exit_qual, VMX_CRQ(0, VMX_CR_MOV_TO, R_EDX));
    CU_ASSERT(t->vm.guest.cr0 & CR0_PG);
    tv_free(t);
}

static void test_cr4_shadow(void)
{
    struct tv *t = tv_new();
    t->vm.cr4_mask = 0xFFFFFFFFu;
    t->vm.cr4_shadow = CR4_TSD;
    static const uint8_t c[] = { 0x0f, 0x20, 0xe0, 0x0f, 0xa2 }; /* mov %cr4,%eax; cpuid */
    tv_exited(t, tv_go(t, c, sizeof c), VMX_EXIT_CPUID, CODE + 3, 2);
    CU_ASSERT_EQUAL(t->vm.guest.r[R_EAX], CR4_TSD);
    CU_ASSERT_EQUAL(t->vm.guest.cr4, CR4_PSE);
    tv_free(t);
}

static void test_exit_lmsw_clts(void)
{
    struct tv *t = tv_new();
    t->vm.cr0_mask = CR0_TS;
    t->vm.cr0_shadow = 0;
    t->vm.guest.r[R_EAX] = CR0_PE | CR0_TS;
    static const uint8_t l[] = { 0x0f, 0x01, 0xf0 };             /* lmsw %ax */
    tv_exited(t, tv_go(t, l, sizeof l), VMX_EXIT_CR_ACCESS, CODE, 3);
    CU_ASSERT_EQUAL(t->vm.exit_qual, VMX_CRQ(0, VMX_CR_LMSW, 0) | (CR0_PE | CR0_TS) << 16);
    tv_free(t);
    t = tv_new();
    t->vm.cr0_mask = CR0_TS;
    t->vm.cr0_shadow = CR0_TS;
    static const uint8_t c[] = { 0x0f, 0x06 };                   /* clts */
    tv_exited(t, tv_go(t, c, sizeof c), VMX_EXIT_CR_ACCESS, CODE, 2);
    CU_ASSERT_EQUAL(t->vm.exit_qual, 0x20u);                      /* CR0, type 2 (CLTS) */
    tv_free(t);
}

static void test_exit_io(void)
{
    struct tv *t = tv_new();
    t->vm.proc |= VMX_PROC_IO_BITMAPS;
    memset(t->vm.io_bitmap, 0, sizeof t->vm.io_bitmap);
    vmx_io_exit(&t->vm, 0x80, true);
    vmx_io_exit(&t->vm, 0x3FB, true);
    /* in $0x81,%al (passes) ; out %al,$0x80 (exits) */
    static const uint8_t c[] = { 0xe4, 0x81, 0xe6, 0x80 };
    tv_exited(t, tv_go(t, c, sizeof c), VMX_EXIT_IO, CODE + 2, 2);
    CU_ASSERT_EQUAL(t->io_in, 1);
    CU_ASSERT_EQUAL(t->vm.guest.r[R_EAX] & 0xFFu, 0x5au);
    CU_ASSERT_EQUAL(t->io_out, 0);
    CU_ASSERT_EQUAL(t->vm.exit_qual, 0x800040u);     /* port 0x80, imm, out, 1 byte */
    tv_free(t);
    /* in (%dx),%eax from 0x3F8: bytes 0x3F8-0x3FB, the last one's bit exits */
    t = tv_new();
    t->vm.proc |= VMX_PROC_IO_BITMAPS;
    memset(t->vm.io_bitmap, 0, sizeof t->vm.io_bitmap);
    vmx_io_exit(&t->vm, 0x3FB, true);
    t->vm.guest.r[R_EDX] = 0x3F8;
    static const uint8_t d[] = { 0xed };
    tv_exited(t, tv_go(t, d, sizeof d), VMX_EXIT_IO, CODE, 1);
    CU_ASSERT_EQUAL(t->vm.exit_qual, 0x3F8000Bu);    /* size 4, IN, DX */
    CU_ASSERT_EQUAL(t->io_in, 0);
    tv_free(t);
    /* rep insb: string + rep, the linear address of ES:EDI */
    t = tv_new();
    t->vm.proc |= VMX_PROC_IO_UNCOND;
    t->vm.guest.r[R_EDI] = 0x5000;
    t->vm.guest.r[R_ECX] = 4;
    static const uint8_t s[] = { 0xf3, 0x6c };
    tv_exited(t, tv_go(t, s, sizeof s), VMX_EXIT_IO, CODE, 2);
    CU_ASSERT_EQUAL(t->vm.exit_qual & 0xFFFFu, 0x38u);            /* 1 byte, IN, string, REP */
    CU_ASSERT_EQUAL(t->vm.guest_linear, 0x5000u);
    CU_ASSERT_EQUAL(t->vm.guest.r[R_ECX], 4u);                    /* nothing done */
    tv_free(t);
    /* with a zero count REP INS does nothing: no exit (found by kernel_fuzz) */
    t = tv_new();
    t->vm.proc |= VMX_PROC_IO_UNCOND;
    static const uint8_t z[] = { 0xf3, 0x6c, 0x0f, 0xa2 };       /* rep insb ; cpuid */
    tv_exited(t, tv_go(t, z, sizeof z), VMX_EXIT_CPUID, CODE + 2, 2);
    CU_ASSERT_EQUAL(t->io_in, 0);
    tv_free(t);
}

static void test_exit_msr(void)
{
    struct tv *t = tv_new();
    t->vm.proc |= VMX_PROC_MSR_BITMAPS;
    vmx_msr_pass(&t->vm, 0x174, true, false);
    t->vm.guest.sysenter_cs = 0x08;
    t->vm.guest.r[R_ECX] = 0x174;
    /* rdmsr (passes) ; wrmsr (write not passed: exits) */
    static const uint8_t c[] = { 0x0f, 0x32, 0x0f, 0x30 };
    tv_exited(t, tv_go(t, c, sizeof c), VMX_EXIT_WRMSR, CODE + 2, 2);
    CU_ASSERT_EQUAL(t->vm.guest.r[R_EAX], 0x08u);
    tv_free(t);
    t = tv_new();
    t->vm.proc |= VMX_PROC_MSR_BITMAPS;
    t->vm.guest.r[R_ECX] = 0x10;                                  /* TSC: not passed */
    tv_exited(t, tv_go(t, c, 2), VMX_EXIT_RDMSR, CODE, 2);
    tv_free(t);
}

/* ---- exceptions, interrupts, the timer ---- */

static void test_exit_exception_bitmap(void)
{
    struct tv *t = tv_new();
    static const uint8_t c[] = { 0xf7, 0xf1 };                   /* div %ecx (ECX = 0) */
    CU_ASSERT_EQUAL(tv_go(t, c, sizeof c), CPU_STOP_HLT);         /* not in the bitmap */
    CU_ASSERT_EQUAL(t->cpu.s.eip, STUBS + 1);                     /* the guest's own #DE */
    tv_free(t);
    t = tv_new();
    t->vm.exception_bitmap = 1u << EXC_DE;
    tv_exited(t, tv_go(t, c, sizeof c), VMX_EXIT_EXCEPTION, CODE, 0);
    CU_ASSERT_EQUAL(t->vm.exit_intr_info, VMX_INTR_VALID | 3u << 8 | EXC_DE);
    CU_ASSERT_EQUAL(t->vm.idt_vectoring_info, 0);
    tv_free(t);
}

/* #PF: the qualification is the address, CR2 stays as it was (27.1). */
static void test_exit_page_fault(void)
{
    struct tv *t = tv_new();
    t->vm.exception_bitmap = 1u << EXC_PF;
    put32(t, PD + 4, 0);                                          /* 4-8 MiB not present */
    t->vm.guest.cr2 = 0x1111;
    static const uint8_t c[] = { 0xa1, 0x00, 0x00, 0x50, 0x00 }; /* mov 0x500000, %eax */
    tv_exited(t, tv_go(t, c, sizeof c), VMX_EXIT_EXCEPTION, CODE, 0);
    CU_ASSERT_EQUAL(t->vm.exit_qual, 0x500000u);
    CU_ASSERT_EQUAL(t->vm.exit_intr_info, VMX_INTR_VALID | VMX_INTR_ERRCODE | 3u << 8 | EXC_PF);
    CU_ASSERT_EQUAL(t->vm.exit_intr_error, 0u);                   /* read, not present */
    CU_ASSERT_EQUAL(t->vm.guest.cr2, 0x1111u);
    tv_free(t);
}

static void test_exit_intr_window(void)
{
    struct tv *t = tv_new();
    t->vm.proc |= VMX_PROC_INTR_WINDOW;
    static const uint8_t c[] = { 0x90, 0xfb, 0x90, 0x90, 0xeb, 0xfe }; /* nop; sti; nop; nop */
    /* STI blocks for one instruction: the window opens before the second nop */
    tv_exited(t, tv_go(t, c, sizeof c), VMX_EXIT_INTR_WINDOW, CODE + 3, 0);
    CU_ASSERT(t->vm.guest.eflags & FL_IF);
    tv_free(t);
}

static void test_exit_external_interrupt(void)
{
    struct tv *t = tv_new();
    t->vm.pin |= VMX_PIN_EXT_INTR;
    t->intr_line = true;                          /* guest IF = 0: it exits anyway (25.2) */
    static const uint8_t c[] = { 0xeb, 0xfe };
    tv_exited(t, tv_go(t, c, sizeof c), VMX_EXIT_EXT_INTR, CODE, 0);
    CU_ASSERT_TRUE(t->intr_line);                 /* not acknowledged */
    tv_free(t);
    t = tv_new();                                 /* without the control: the guest takes it */
    t->vm.guest.eflags |= FL_IF;
    t->intr_line = true;
    CU_ASSERT_EQUAL(tv_go(t, c, sizeof c), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(t->cpu.s.eip, STUBS + 16u * 0x30 + 1);
    tv_free(t);
}

static void test_exit_timer_mtf_triple(void)
{
    struct tv *t = tv_new();
    t->vm.pin |= VMX_PIN_PREEMPT;
    static const uint8_t spin[] = { 0xeb, 0xfe };                /* jmp . */
    tv_exited(t, tv_go(t, spin, sizeof spin), VMX_EXIT_PREEMPT, CODE, 0);
    tv_free(t);
    t = tv_new();
    t->vm.proc |= VMX_PROC_MTF;
    t->cpu.single_step = true;
    static const uint8_t two[] = { 0x90, 0x90 };
    tv_exited(t, tv_go(t, two, sizeof two), VMX_EXIT_MTF, CODE + 1, 0);
    tv_free(t);
    t = tv_new();
    t->vm.guest.idtr.limit = 0;                   /* #DE -> #GP -> #DF -> triple */
    static const uint8_t div[] = { 0xf7, 0xf1 };
    tv_exited(t, tv_go(t, div, sizeof div), VMX_EXIT_TRIPLE_FAULT, CODE, 0);
    tv_free(t);
}

/* ---- event injection (26.5) ---- */

static void test_inject_external(void)
{
    struct tv *t = tv_new();
    t->vm.guest.eflags |= FL_IF;
    t->vm.entry_intr_info = vmx_intr_info(0x30, VMX_INTR_EXT, false);
    static const uint8_t c[] = { 0x90 };
    CU_ASSERT_EQUAL(tv_go(t, c, sizeof c), CPU_STOP_HLT);         /* in the guest's handler */
    CU_ASSERT_EQUAL(t->cpu.s.eip, STUBS + 16u * 0x30 + 1);
    CU_ASSERT_EQUAL(get32(t, STACK - 12), CODE);                  /* frame: EIP, CS, EFLAGS */
    CU_ASSERT_EQUAL(get32(t, STACK - 8), 0x08u);
    CU_ASSERT(get32(t, STACK - 4) & FL_IF);
    CU_ASSERT_FALSE(t->cpu.s.eflags & FL_IF);                    /* interrupt gate */
    CU_ASSERT_EQUAL(t->vm.entry_intr_info, 0u);                   /* consumed */
    tv_free(t);
}

static void test_inject_exception_and_soft(void)
{
    struct tv *t = tv_new();
    t->vm.entry_intr_info = vmx_intr_info(EXC_GP, VMX_INTR_HW_EXC, true);
    t->vm.entry_error = 0x1234;
    static const uint8_t c[] = { 0xcd, 0x31 };
    CU_ASSERT_EQUAL(tv_go(t, c, sizeof c), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(t->cpu.s.eip, STUBS + 16u * EXC_GP + 1);
    CU_ASSERT_EQUAL(get32(t, STACK - 16), 0x1234u);               /* error code on top */
    CU_ASSERT_EQUAL(get32(t, STACK - 12), CODE);
    tv_free(t);
    t = tv_new();
    t->vm.entry_intr_info = vmx_intr_info(0x31, VMX_INTR_SOFT_INT, false);
    t->vm.entry_insn_len = 2;
    CU_ASSERT_EQUAL(tv_go(t, c, sizeof c), CPU_STOP_HLT);
    CU_ASSERT_EQUAL(t->cpu.s.eip, STUBS + 16u * 0x31 + 1);
    CU_ASSERT_EQUAL(get32(t, STACK - 12), CODE + 2);              /* returns past the INT */
    tv_free(t);
}

/* Delivery of an injected event hits a #PF the bitmap takes: a VM exit
   with the event in the IDT-vectoring information, never a #DF. */
static void test_inject_vectoring(void)
{
    struct tv *t = tv_new();
    t->vm.exception_bitmap = 1u << EXC_PF;
    put32(t, PD + 4, 0);
    t->vm.guest.r[R_ESP] = 0x500010;                              /* stack not mapped */
    t->vm.entry_intr_info = vmx_intr_info(EXC_PF, VMX_INTR_HW_EXC, true);
    t->vm.entry_error = 2;
    static const uint8_t c[] = { 0x90 };
    tv_code(t, c, sizeof c);
    CU_ASSERT_EQUAL(vmx_enter(&t->cpu, &t->vm, false), 1);
    CU_ASSERT_EQUAL(t->vm.exit_reason, VMX_EXIT_EXCEPTION);
    CU_ASSERT_EQUAL(t->vm.exit_intr_info & 0xFFu, EXC_PF);
    CU_ASSERT_EQUAL(t->vm.exit_intr_error, PF_W);                 /* the frame's write */
    CU_ASSERT(t->vm.exit_qual >= 0x500000u && t->vm.exit_qual < 0x500010u);
    CU_ASSERT_EQUAL(t->vm.idt_vectoring_info, vmx_intr_info(EXC_PF, VMX_INTR_HW_EXC, true));
    CU_ASSERT_EQUAL(t->vm.idt_vectoring_error, 2u);
    CU_ASSERT_EQUAL(t->vm.guest.eip, CODE);
    CU_ASSERT_EQUAL(t->vm.guest.r[R_ESP], 0x500010u);
    CU_ASSERT_FALSE(vmx_nonroot(&t->cpu));
    tv_free(t);
}

/* Sensitive instructions are simply correct in non-root mode at ring 0. */
static void test_sensitive_native(void)
{
    struct tv *t = tv_new();
    /* sgdt 0x6000 ; pushf ; pop %ebx ; mov %cs, %ecx ; cpuid */
    static const uint8_t c[] = { 0x0f, 0x01, 0x05, 0x00, 0x60, 0x00, 0x00, 0x9c, 0x5b,
                                 0x8c, 0xc9, 0x0f, 0xa2 };
    t->vm.guest.eflags |= FL_IOPL;
    tv_exited(t, tv_go(t, c, sizeof c), VMX_EXIT_CPUID, CODE + 11, 2);
    CU_ASSERT_EQUAL(get32(t, 0x6002), GDT);
    CU_ASSERT_EQUAL(t->vm.guest.r[R_EBX] & FL_IOPL, FL_IOPL);
    CU_ASSERT_EQUAL(t->vm.guest.r[R_ECX] & 0xFFFFu, 0x08u);       /* RPL 0: no compression */
    tv_free(t);
}

/* ---- nested paging (EPT-like, vmx_ept.c) ---- */

#define EPT_PD 0x180000u
#define EPT_PT 0x181000u

/* A nested table mapping guest-physical 0-4 MiB 1:1 with 4 KiB entries
   (one table) and nothing else; unrestricted guest, guest paging off. */
static void tv_ept(struct tv *t)
{
    t->vm.proc2 = VMX_PROC2_EPT | VMX_PROC2_UNRESTRICTED;
    t->vm.eptp = EPT_PD;
    memset(t->ram + EPT_PD, 0, 0x2000);
    put32(t, EPT_PD, EPT_PT | EPT_RWX);
    for (uint32_t j = 0; j < 1024; j++)
        put32(t, EPT_PT + j * 4, (j << 12) | EPT_RWX);
    t->vm.guest.cr0 &= ~CR0_PG;
}

/* Guest-physical 0x5000 is remapped to host 0x7000: the guest reads what
   the host page holds; a read of an unmapped block is an EPT violation
   with the guest-physical address, and CR2 and the guest are untouched. */
static void test_ept_translate_and_violation(void)
{
    struct tv *t = tv_new();
    tv_ept(t);
    put32(t, EPT_PT + 5 * 4, 0x7000u | EPT_RWX);
    put32(t, 0x5000, 0x11111111);
    put32(t, 0x7000, 0x77777777);
    /* mov 0x5000, %eax ; mov 0x500000, %ebx */
    static const uint8_t c[] = { 0xa1, 0x00, 0x50, 0x00, 0x00, 0x8b, 0x1d, 0x00, 0x00, 0x50, 0x00 };
    tv_exited(t, tv_go(t, c, sizeof c), VMX_EXIT_EPT_VIOLATION, CODE + 5, 0);
    CU_ASSERT_EQUAL(t->vm.guest.r[R_EAX], 0x77777777u);
    CU_ASSERT_EQUAL(t->vm.guest_physical, 0x500000u);
    CU_ASSERT_EQUAL(t->vm.guest_linear, 0x500000u);
    CU_ASSERT_EQUAL(t->vm.exit_qual, EPT_Q_READ | EPT_Q_LINEAR | EPT_Q_FINAL);
    CU_ASSERT_FALSE(t->vm.guest.cr0 & CR0_PG);
    tv_free(t);
}

/* A write to a page the nested table maps read-only exits; the
   qualification has the write bit and the entry's rights (R) in bits 3-5. */
static void test_ept_write_protect(void)
{
    struct tv *t = tv_new();
    tv_ept(t);
    put32(t, EPT_PT + 6 * 4, 0x6000u | EPT_R);
    static const uint8_t c[] = { 0xa1, 0x00, 0x60, 0x00, 0x00,   /* mov 0x6000, %eax: fine */
                                 0xa3, 0x00, 0x60, 0x00, 0x00 }; /* mov %eax, 0x6000: exits */
    tv_exited(t, tv_go(t, c, sizeof c), VMX_EXIT_EPT_VIOLATION, CODE + 5, 0);
    CU_ASSERT_EQUAL(t->vm.exit_qual, EPT_Q_WRITE | EPT_R << 3 | EPT_Q_LINEAR | EPT_Q_FINAL);
    CU_ASSERT_EQUAL(t->vm.guest_physical, 0x6000u);
    tv_free(t);
}

/* The two-dimensional walk: with guest paging on (a guest page table at
   guest-physical 0x102000 mapping linear 0x400000 -> 0x8000), one cold
   access reads 2 nested entries for each of the PDE, the PTE and the page
   itself: 6 references, each charged npt_ref_cost. A guest page table in
   a block the nested table does not map is a violation that is not FINAL. */
static void test_ept_two_dimensional_walk(void)
{
    struct tv *t = tv_new();
    tv_ept(t);
    t->vm.guest.cr0 |= CR0_PG;
    put32(t, PD + 4, 0x102000u | 7u);                 /* 4-8 MiB: a page table */
    memset(t->ram + 0x102000, 0, 4096);
    put32(t, 0x102000, 0x8000u | 7u);                 /* 0x400000 -> 0x8000 */
    put32(t, 0x8000, 0xabcdef01u);
    t->cpu.npt_ref_cost = 20;
    /* mov 0x400000, %eax ; cpuid */
    static const uint8_t c[] = { 0xa1, 0x00, 0x00, 0x40, 0x00, 0x0f, 0xa2 };
    tv_code(t, c, sizeof c);
    CU_ASSERT_EQUAL_FATAL(vmx_enter(&t->cpu, &t->vm, false), 0);
    uint64_t refs0 = t->cpu.npt_refs;
    t->cpu.single_step = true;                        /* the fetch walks first */
    CU_ASSERT_EQUAL(cpu_run(&t->cpu, t->cpu.cycles + 1000), CPU_STOP_STEP);   /* no MTF */
    CU_ASSERT_TRUE(vmx_nonroot(&t->cpu));
    CU_ASSERT_EQUAL(t->cpu.s.r[R_EAX], 0xabcdef01u);
    /* the code fetch (PDE 4 MiB page at 0, large: 2 + 2 refs) and the load
       (PDE, PTE, page: 6 refs) */
    CU_ASSERT_EQUAL(t->cpu.npt_refs - refs0, 10u);
    CU_ASSERT_EQUAL(t->cpu.npt_cycles, 20u * t->cpu.npt_refs);
    tv_free(t);
    t = tv_new();
    tv_ept(t);
    t->vm.guest.cr0 |= CR0_PG;
    put32(t, PD + 4, 0x402000u | 7u);                 /* its page table is at 4 MiB + 8K */
    tv_exited(t, tv_go(t, c, sizeof c), VMX_EXIT_EPT_VIOLATION, CODE, 0);
    CU_ASSERT_EQUAL(t->vm.guest_physical, 0x402000u);
    CU_ASSERT_EQUAL(t->vm.exit_qual & EPT_Q_FINAL, 0u);
    tv_free(t);
}

static void test_ept_entry_checks(void)
{
    struct tv *t = tv_new();
    t->vm.proc2 = VMX_PROC2_UNRESTRICTED;             /* without EPT */
    CU_ASSERT_EQUAL(vmx_enter(&t->cpu, &t->vm, false), -1);
    CU_ASSERT_EQUAL(t->vm.insn_error, VMX_ERR_CONTROLS);
    tv_free(t);
}

void suite_vmx_register(void)
{
    CU_pSuite s = CU_add_suite("vmx (VT-x-style non-root mode: entry, exits, injection)",
                               NULL, NULL);
    CU_add_test(s, "entry: launch state (VMfailValid 4, 5)", test_entry_launch_state);
    CU_add_test(s, "entry: host-state checks", test_entry_host_checks);
    CU_add_test(s, "entry: event-injection field checks", test_entry_event_checks);
    CU_add_test(s, "entry: guest-state checks -> exit 33", test_entry_guest_checks);
    CU_add_test(s, "exit: CPUID", test_exit_cpuid);
    CU_add_test(s, "task switch: exit reason 9 (JMP, IDT task gate)", test_exit_task_switch);
    CU_add_test(s, "exit: VMCALL (18, any CPL; #UD outside non-root, LOCK)", test_exit_vmcall);
    CU_add_test(s, "exit: HLT", test_exit_hlt);
    CU_add_test(s, "exit: INVLPG", test_exit_invlpg);
    CU_add_test(s, "exit: CR3 load and store", test_exit_cr3);
    CU_add_test(s, "CR0 guest/host mask and read shadow", test_cr0_mask_shadow);
    CU_add_test(s, "CR4 read shadow", test_cr4_shadow);
    CU_add_test(s, "exit: LMSW, CLTS", test_exit_lmsw_clts);
    CU_add_test(s, "exit: I/O bitmaps, unconditional, string", test_exit_io);
    CU_add_test(s, "exit: RDMSR/WRMSR bitmaps", test_exit_msr);
    CU_add_test(s, "exit: exception bitmap", test_exit_exception_bitmap);
    CU_add_test(s, "exit: #PF (qualification, CR2 kept)", test_exit_page_fault);
    CU_add_test(s, "exit: interrupt window after STI blocking", test_exit_intr_window);
    CU_add_test(s, "exit: external interrupt", test_exit_external_interrupt);
    CU_add_test(s, "exit: preemption timer, MTF, triple fault", test_exit_timer_mtf_triple);
    CU_add_test(s, "inject: external interrupt", test_inject_external);
    CU_add_test(s, "inject: exception with error code, INT n", test_inject_exception_and_soft);
    CU_add_test(s, "inject: #PF during delivery -> IDT-vectoring info", test_inject_vectoring);
    CU_add_test(s, "sensitive instructions correct at ring 0", test_sensitive_native);
    CU_add_test(s, "EPT: translation, violation (guest-physical, qualification)",
                test_ept_translate_and_violation);
    CU_add_test(s, "EPT: write to a read-only nested page", test_ept_write_protect);
    CU_add_test(s, "EPT: two-dimensional walk, its references and cost",
                test_ept_two_dimensional_walk);
    CU_add_test(s, "EPT: unrestricted guest needs EPT", test_ept_entry_checks);
}
