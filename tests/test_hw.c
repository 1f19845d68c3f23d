/*
 * test_hw.c - the hardware-assisted engine (--mode hw, sim/vmm/hw) inside
 * one process: the VMCS it builds, how exits and injections add up
 * against what the guest did, and that every exit is priced by the cost
 * profile. (The samples against their QEMU goldens under hw, and the
 * stats JSON relations, are in test_samples.c.)
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm.h"
#include "cpu/vmx.h"
#include "vmm/hw/hw.h"
#include "vmm/vmm.h"
#include "vmm/vmm_internal.h"
#include "vmm/emulate.h"
#include "proc.h"

static struct vm *engine_vm(const char *kernel, enum machine_mode mode, bool npt)
{
    char err[256];
    struct vm_config cfg = { .kernel_path = kernel, .mode = mode, .npt = npt };
    struct vm *vm = vm_create(&cfg, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(vm);
    return vm;
}

static struct vm *hw_vm(const char *kernel, const struct cost_profile *costs)
{
    char err[256];
    struct vm_config cfg = { .kernel_path = kernel, .mode = MODE_HW, .costs = costs };
    struct vm *vm = vm_create(&cfg, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(vm);
    return vm;
}

static void hw_run_ok(struct vm *vm)
{
    CU_ASSERT_EQUAL(vm_run(vm, 2000000000ull), END_GUEST_EXIT);
    CU_ASSERT_EQUAL(vm->m.exit_code, 1);
}

static uint64_t exits_sum(const struct stats *st)
{
    uint64_t n = 0;
    for (int r = 0; r < 64; r++)
        n += st->vmexits[r];
    return n;
}

/* The VMCS as docs/hw.md describes it. */
static void test_hw_vmcs_controls(void)
{
    struct vm *vm = hw_vm("samples/bin/hello.elf", NULL);
    const struct vmcs *vc = hw_vmcs(vm->m.vmm);
    CU_ASSERT_PTR_NOT_NULL_FATAL(vc);
    CU_ASSERT_EQUAL(vc->exception_bitmap, 1u << EXC_PF);          /* shadow paging only */
    CU_ASSERT_EQUAL(vc->cr0_mask & (CR0_PG | CR0_PE | CR0_WP), CR0_PG | CR0_PE | CR0_WP);
    CU_ASSERT_FALSE(vc->cr0_mask & CR0_TS);                       /* the guest's bit */
    CU_ASSERT_EQUAL(vc->cr4_mask, 0xFFFFFFFFu);
    uint32_t want = VMX_PROC_HLT | VMX_PROC_INVLPG | VMX_PROC_CR3_LOAD | VMX_PROC_CR3_STORE |
                    VMX_PROC_IO_BITMAPS | VMX_PROC_MSR_BITMAPS;
    CU_ASSERT_EQUAL(vc->proc & want, want);
    CU_ASSERT(vc->pin & VMX_PIN_PREEMPT);
    for (unsigned i = 0; i < sizeof vc->io_bitmap; i++)
        if (vc->io_bitmap[i] != 0xFF)
            CU_FAIL("an I/O port that does not exit");
    CU_ASSERT_FALSE((vc->msr_read[0x174 >> 3] >> (0x174 & 7)) & 1);   /* SYSENTER_CS passes */
    CU_ASSERT_TRUE((vc->msr_read[0x10 >> 3] >> (0x10 & 7)) & 1);      /* the TSC exits */
    hw_run_ok(vm);
    CU_ASSERT_TRUE(vc->launched);
    CU_ASSERT_EQUAL(vc->exit_reason, VMX_EXIT_IO);                 /* the isa-debug-exit OUT */
    CU_ASSERT_EQUAL(vc->exit_qual >> 16, 0xF4u);
    vm_destroy(vm);
}

/* paging: every #PF exit is a hidden, true or tracing fault; every true
   fault is injected (at least once: a delivery can itself exit). */
static void test_hw_paging_exits(void)
{
    struct vm *vm = hw_vm("samples/bin/paging.elf", NULL);
    hw_run_ok(vm);
    const struct stats *st = &vm->m.stats;
    CU_ASSERT_EQUAL(st->vmexits[VMX_EXIT_EXCEPTION], st->pf_hidden + st->pf_true + st->trace_faults);
    CU_ASSERT(st->pf_true >= 4);                  /* the kernel's own four #PF lines */
    CU_ASSERT_EQUAL(st->injected[EXC_PF] - st->reinjections, st->pf_true);
    CU_ASSERT_EQUAL(st->exceptions[EXC_PF], st->injected[EXC_PF]);   /* the CPU delivered each */
    CU_ASSERT(st->vmexits[VMX_EXIT_CR_ACCESS] >= 3);   /* CR3 loads, CR0.PG/WP writes */
    CU_ASSERT(st->vmexits[VMX_EXIT_INVLPG] >= 2);
    CU_ASSERT_EQUAL(exits_sum(st), st->vmexits_total);
    CU_ASSERT_EQUAL(st->world_switches, 2 * st->vmexits_total);
    vm_destroy(vm);
}

/* The PIT's interrupts reach the guest only by injection (rings), some
   after an interrupt-window exit: the guest had IF = 0 when they came. */
static void test_hw_timer_injection(void)
{
    struct vm *vm = hw_vm("samples/bin/rings.elf", NULL);
    hw_run_ok(vm);
    const struct stats *st = &vm->m.stats;
    CU_ASSERT(st->injected[32] > 0);
    CU_ASSERT_EQUAL(st->interrupts[32], st->injected[32]);
    CU_ASSERT_EQUAL(st->vmexits[VMX_EXIT_EXT_INTR], 0);   /* no physical interrupts */
    CU_ASSERT(st->vmexits[VMX_EXIT_PREEMPT] > 0);         /* the machine's slices end */
    vm_destroy(vm);
    /* hm_clitimer: timer edges during long CLIs; each STI opens a window */
    vm = hw_vm("tests/bin/hostile_mem/hm_clitimer.elf", NULL);
    hw_run_ok(vm);
    st = &vm->m.stats;
    CU_ASSERT(st->vmexits[VMX_EXIT_INTR_WINDOW] >= 5);
    CU_ASSERT(st->injections - st->reinjections >= st->vmexits[VMX_EXIT_INTR_WINDOW]);
    CU_ASSERT_EQUAL(st->interrupts[32], st->injected[32]);
    vm_destroy(vm);
}

/* Every exit is priced by the profile: raising vt_entry by 1000 raises the
   total by 1000 per exit that paid it (hello: I/O exits only, and a guest
   whose instructions do not depend on time). */
static void test_hw_exit_pricing(void)
{
    struct cost_profile p;
    cost_default(&p);
    struct vm *a = hw_vm("samples/bin/hello.elf", &p);
    hw_run_ok(a);
    p.v[COST_VT_ENTRY] += 1000;
    struct vm *b = hw_vm("samples/bin/hello.elf", &p);
    hw_run_ok(b);
    const struct stats *sa = &a->m.stats;
    CU_ASSERT_EQUAL(vm_guest_insns(a), vm_guest_insns(b));
    CU_ASSERT_EQUAL(sa->vmexits_total, sa->vmexits[VMX_EXIT_IO]);
    CU_ASSERT_EQUAL(b->m.cpu.cycles - a->m.cpu.cycles, 1000 * sa->vmexits_total);
    CU_ASSERT_EQUAL(machine_native_equiv(&a->m), machine_native_equiv(&b->m));
    vm_destroy(a);
    vm_destroy(b);
}

/* samples/hypercall: every VMCALL is one exit 18 (1 + 19 putc + 1 unknown
   + 1 from ring 3), a trap by instruction, one emulated instruction, and
   priced by vt_entry like every instruction exit; the guest's own #UD
   handler never runs. */
static void test_hw_hypercall(void)
{
    struct cost_profile p;
    cost_default(&p);
    struct vm *a = hw_vm("samples/bin/hypercall.elf", &p);
    hw_run_ok(a);
    p.v[COST_VT_ENTRY] += 1000;
    struct vm *b = hw_vm("samples/bin/hypercall.elf", &p);
    hw_run_ok(b);
    const struct stats *sa = &a->m.stats;
    CU_ASSERT_EQUAL(sa->vmexits[VMX_EXIT_VMCALL], 22);
    CU_ASSERT_EQUAL(sa->exceptions[EXC_UD], 0);
    CU_ASSERT_EQUAL(sa->vmexits_total, sa->vmexits[VMX_EXIT_IO] + sa->vmexits[VMX_EXIT_VMCALL]);
    CU_ASSERT_EQUAL(b->m.cpu.cycles - a->m.cpu.cycles, 1000 * sa->vmexits_total);
    const struct vmcs *vc = hw_vmcs(a->m.vmm);
    CU_ASSERT_EQUAL(vc->exit_reason, VMX_EXIT_IO);              /* the last: isa-debug-exit */
    vm_destroy(a);
    vm_destroy(b);
    /* natively: 22 #UD, no exit */
    struct vm *n = engine_vm("samples/bin/hypercall.elf", MODE_NATIVE, false);
    hw_run_ok(n);
    CU_ASSERT_EQUAL(n->m.stats.exceptions[EXC_UD], 22);
    CU_ASSERT_EQUAL(n->m.stats.vmexits[VMX_EXIT_VMCALL], 0);
    vm_destroy(n);
}

/* The guest kernel is not deprivileged: its state as the debugger sees it
   is the CPU's own (CPL 0, its own TR and GDT), with the guest's view of
   CR0 (PG from the read shadow); between exits it can be saved. */
static void test_hw_guest_state(void)
{
    struct vm *vm = hw_vm("samples/bin/paging.elf", NULL);
    CU_ASSERT_EQUAL(vm_run(vm, 20000), END_NONE);
    struct cpu_state s;
    vm_guest_state(vm, &s);
    CU_ASSERT_EQUAL(s.cpl, 0);
    CU_ASSERT_FALSE(s.cr0 & CR0_PG);              /* not yet enabled by the guest */
    CU_ASSERT(vm->m.cpu.s.cr0 & CR0_PG);          /* the hardware pages (1:1 map) */
    CU_ASSERT_EQUAL(s.seg[S_CS].sel & 3u, 0u);
    char err[128];
    CU_ASSERT_EQUAL(vmm_settle(vm->m.vmm, err, sizeof err), 0);    /* between exits */
    vm_destroy(vm);
}

/* --npt: the guest's page tables are walked by the hardware under the
   nested table: no #PF, CR3 or INVLPG exit, no shadow fill; the nested
   table is filled by EPT violations, one per 4 MiB block touched; the
   nested walks are overhead, and the guest sees exactly native's faults. */
static void test_hw_npt_paging(void)
{
    struct vm *n = engine_vm("samples/bin/paging.elf", MODE_NATIVE, false);
    hw_run_ok(n);
    struct vm *vm = engine_vm("samples/bin/paging.elf", MODE_HW, true);
    hw_run_ok(vm);
    const struct stats *st = &vm->m.stats;
    CU_ASSERT_EQUAL(st->vmexits[VMX_EXIT_EXCEPTION], 0);
    CU_ASSERT_EQUAL(st->vmexits[VMX_EXIT_CR_ACCESS], 0);
    CU_ASSERT_EQUAL(st->vmexits[VMX_EXIT_INVLPG], 0);
    CU_ASSERT(st->vmexits[VMX_EXIT_EPT_VIOLATION] >= 1);
    CU_ASSERT(st->vmexits[VMX_EXIT_EPT_VIOLATION] <= 1024);
    CU_ASSERT_EQUAL(st->pf_hidden + st->pf_true + st->trace_faults, 0);
    CU_ASSERT_EQUAL(st->exceptions[EXC_PF], n->m.stats.exceptions[EXC_PF]);
    CU_ASSERT(st->overhead_by_cause[OV_NPT] > 0);
    CU_ASSERT(vm->m.cpu.npt_refs > 0);
    CU_ASSERT_EQUAL(vm_guest_insns(vm), vm_guest_insns(n));
    CU_ASSERT_EQUAL(machine_native_equiv(&vm->m), n->m.cpu.cycles);
    const struct vmcs *vc = hw_vmcs(vm->m.vmm);
    CU_ASSERT(vc->proc2 & VMX_PROC2_EPT);
    CU_ASSERT_EQUAL(vc->exception_bitmap, 0u);
    vm_destroy(vm);
    vm_destroy(n);
    char err[128];
    struct vm_config bad = { .kernel_path = "samples/bin/hello.elf", .mode = MODE_BT, .npt = true };
    CU_ASSERT_PTR_NULL(vm_create(&bad, err, sizeof err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "--npt"));
}

static uint64_t traps_sum(const struct stats *st)
{
    uint64_t n = 0;
    for (unsigned r = 0; r < STATS_ROWS; r++)
        n += st->traps_by_row[r];
    return n;
}

/* The local APIC (samples/lapic, guest paging off): the device window is
   not present in the VMM's 1:1 map, so every register access is one #PF
   exit whose MOV the VMM emulates against the device model (each an
   emulated instruction besides the trapped ones), and nothing else exits
   on #PF; the
   LAPIC timer's (vector 0x40) and the self-IPI's (0x41) interrupts reach
   the guest only by injection, as many as natively. With --npt the
   nested table never maps the window: every access is an EPT violation. */
static void test_hw_lapic_mmio(void)
{
    struct vm *n = engine_vm("samples/bin/lapic.elf", MODE_NATIVE, false);
    hw_run_ok(n);
    for (int npt = 0; npt < 2; npt++) {
        struct vm *vm = engine_vm("samples/bin/lapic.elf", MODE_HW, npt);
        hw_run_ok(vm);
        const struct stats *st = &vm->m.stats;
        uint64_t mmio = vm->m.mmio_reads + vm->m.mmio_writes;
        CU_ASSERT(vm->m.mmio_writes > 0);
        CU_ASSERT_EQUAL(vm->m.mmio_unassigned, 0);
        if (npt) {
            CU_ASSERT_EQUAL(st->vmexits[VMX_EXIT_EXCEPTION], 0);
            CU_ASSERT(st->vmexits[VMX_EXIT_EPT_VIOLATION] >= mmio);
            CU_ASSERT(st->vmexits[VMX_EXIT_EPT_VIOLATION] <= mmio + 1024);
        } else {
            CU_ASSERT_EQUAL(st->vmexits[VMX_EXIT_EXCEPTION], mmio);
            CU_ASSERT_EQUAL(st->pf_true, 0);
        }
        for (int vec = 0x40; vec <= 0x41; vec++) {
            CU_ASSERT(st->interrupts[vec] > 0);
            CU_ASSERT_EQUAL(st->interrupts[vec], n->m.stats.interrupts[vec]);
            CU_ASSERT_EQUAL(st->injected[vec], st->interrupts[vec]);
        }
        CU_ASSERT_EQUAL(vm->m.mmio_writes, n->m.mmio_writes);   /* the guest's own writes */
        uint64_t mmio_exits = npt ? mmio : st->vmexits[VMX_EXIT_EXCEPTION];
        CU_ASSERT_EQUAL(st->path_insns[PATH_EMULATED], traps_sum(st) + mmio_exits);
        vm_destroy(vm);
    }
    vm_destroy(n);
}

/* emu_mmio_move, the routine hw's APIC exits use, form by form against the
   machine's local APIC (guest paging off, flat segments at the multiboot
   entry): MOV r/m imm, MOV moffs, MOV r/m from a register, MOVZX of one
   byte; anything else is left to the caller (EMU_STOP, no message), and
   LOCK on a MOV is #UD. */
static int mmio_insn(struct vmm *v, const uint8_t *bytes, int n, struct emu_fault *f)
{
    struct insn in;
    CU_ASSERT_EQUAL_FATAL(decode(bytes, n, true, &in), n);
    return emu_mmio_move(v, &in, f);
}

static void test_hw_mmio_move(void)
{
    struct vm *vm = hw_vm("samples/bin/hello.elf", NULL);
    struct vmm *v = vm->m.vmm;
    struct cpu *c = &vm->m.cpu;
    struct emu_fault f;
    static const uint8_t mov_imm[] = { 0xc7, 0x05, 0x80, 0x00, 0xe0, 0xfe, 0x30, 0, 0, 0 };
    static const uint8_t mov_moffs[] = { 0xa1, 0x80, 0x00, 0xe0, 0xfe };
    static const uint8_t mov_store[] = { 0x89, 0x8b, 0x80, 0x00, 0x00, 0x00 };
    static const uint8_t movzx[] = { 0x0f, 0xb6, 0x53, 0x30 };
    static const uint8_t or_mem[] = { 0x09, 0x83, 0xf0, 0x00, 0x00, 0x00 };
    static const uint8_t lock_mov[] = { 0xf0, 0x89, 0x8b, 0x80, 0x00, 0x00, 0x00 };
    CU_ASSERT_EQUAL(mmio_insn(v, mov_imm, sizeof mov_imm, &f), EMU_NEXT);
    CU_ASSERT_EQUAL(lapic_read(&vm->m.lapic, 0x80, 4), 0x30u);         /* TPR */
    CU_ASSERT_EQUAL(mmio_insn(v, mov_moffs, sizeof mov_moffs, &f), EMU_NEXT);
    CU_ASSERT_EQUAL(c->s.r[0], 0x30u);
    c->s.r[3] = 0xFEE00000u, c->s.r[1] = 0x20u;
    CU_ASSERT_EQUAL(mmio_insn(v, mov_store, sizeof mov_store, &f), EMU_NEXT);
    CU_ASSERT_EQUAL(lapic_read(&vm->m.lapic, 0x80, 4), 0x20u);
    c->s.r[2] = 0xFFFFFFFFu;
    CU_ASSERT_EQUAL(mmio_insn(v, movzx, sizeof movzx, &f), EMU_NEXT);
    CU_ASSERT_EQUAL(c->s.r[2], 0x14u);                                 /* version 0x50014 */
    CU_ASSERT_EQUAL(mmio_insn(v, or_mem, sizeof or_mem, &f), EMU_STOP);
    CU_ASSERT_PTR_NULL(v->stop_msg);
    CU_ASSERT_EQUAL(mmio_insn(v, lock_mov, sizeof lock_mov, &f), EMU_FAULT);
    CU_ASSERT_EQUAL(f.vector, EXC_UD);
    CU_ASSERT_EQUAL(vm->m.mmio_writes, 2u);
    CU_ASSERT_EQUAL(vm->m.mmio_reads, 2u);
    vm_destroy(vm);
}

/* The cell of `row` in the CSV column of engine `mode`. */
static long paper_cell(const char *csv, const char *row, const char *mode)
{
    const char *hdr_end = strchr(csv, '\n');
    char key[32];
    snprintf(key, sizeof key, ",%s", mode);
    const char *h = strstr(csv, key);
    if (!h || !hdr_end || h > hdr_end)
        return -2;
    int col = 0;
    for (const char *q = csv; q <= h; q++)
        col += *q == ',';
    snprintf(key, sizeof key, "\n%s,", row);
    const char *p = strstr(csv, key);
    if (!p)
        return -2;
    p += strlen(key) - 1;
    for (int i = 1; i < col && p; i++)
        p = strchr(p + 1, ',');
    return p ? strtol(p + 1, NULL, 10) : -2;
}

/* `ringside paper` measures the VT column under hw: the rows without an
   exit cost what native costs (the paper's VT is within 14% of native
   there: 246/242, 177/150, 11/11, 1014/889); `in` is one exit round trip
   plus its handler; ptemod is a tracing fault, dearer than adaptive BT;
   each row says whose winner it is, against the paper's. */
static void test_hw_paper_column(void)
{
    char *csv[] = { (char *)proc_ringside(), "paper", "--csv", "--kernel",
                    "samples/bin/nanobench.elf", NULL };
    struct proc_result r;
    CU_ASSERT_EQUAL_FATAL(proc_run(csv, 300, &r), 0);
    CU_ASSERT_EQUAL_FATAL(r.status, 0);
    static const char *const same[] = { "syscall", "cli", "callret", "divzero" };
    for (int i = 0; i < 4; i++) {
        long h = paper_cell(r.out, same[i], "hw"), n = paper_cell(r.out, same[i], "native");
        CU_ASSERT(h > 0);
        CU_ASSERT_EQUAL(h, n);
    }
    long in = paper_cell(r.out, "in", "hw");
    CU_ASSERT(in >= 2409 + 600 && in <= 2409 + 600 + 2);
    CU_ASSERT(paper_cell(r.out, "ptemod", "hw") > paper_cell(r.out, "ptemod", "bt"));
    CU_ASSERT(paper_cell(r.out, "pgfault", "hw") >= 1931 + 600 + 1093);
    /* the fourth column: nested paging takes the shadow's exits away */
    CU_ASSERT_EQUAL(paper_cell(r.out, "ptemod", "hw+npt"), paper_cell(r.out, "ptemod", "native"));
    CU_ASSERT(paper_cell(r.out, "pgfault", "hw+npt") < paper_cell(r.out, "pgfault", "hw"));
    CU_ASSERT(paper_cell(r.out, "pgfault", "hw+npt") > paper_cell(r.out, "pgfault", "native"));
    /* kvm-unit-tests' vmexit family: CPUID exits unconditionally under hw
       only; a CR4 toggle is two exits under hw (the read comes from the
       shadow) and none with --npt (the guest owns CR4 there) */
    CU_ASSERT(paper_cell(r.out, "cpuid", "native") < 100);
    CU_ASSERT_EQUAL(paper_cell(r.out, "cpuid", "trap"), paper_cell(r.out, "cpuid", "native"));
    CU_ASSERT(paper_cell(r.out, "cpuid", "hw") >= 2409 + 600);
    CU_ASSERT(paper_cell(r.out, "cr4pge", "hw") >= 2 * (2409 + 600));
    CU_ASSERT(paper_cell(r.out, "cr4pge", "hw+npt") < 2409);
    CU_ASSERT(paper_cell(r.out, "inl", "hw") >= 2409 + 600);
    /* VMCALL (test 12): one exit under hw; a #UD delivered (natively) or
       reflected (trap, bt) elsewhere, as on hardware outside non-root */
    CU_ASSERT(paper_cell(r.out, "vmcall", "hw") >= 2409 + 600);
    CU_ASSERT(paper_cell(r.out, "vmcall", "native") > 0);
    CU_ASSERT(paper_cell(r.out, "vmcall", "native") < 2409);
    CU_ASSERT(labs(paper_cell(r.out, "vmcall", "native") -
                   paper_cell(r.out, "divzero", "native")) < 10);      /* a fault, like #DE */
    CU_ASSERT(paper_cell(r.out, "vmcall", "trap") > paper_cell(r.out, "vmcall", "native"));
    CU_ASSERT(paper_cell(r.out, "vmcall", "bt") > paper_cell(r.out, "vmcall", "native"));
    proc_result_free(&r);
    char *txt[] = { (char *)proc_ringside(), "paper", "--kernel", "samples/bin/nanobench.elf",
                    NULL };
    CU_ASSERT_EQUAL_FATAL(proc_run(txt, 300, &r), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "VT column: measured under --mode hw"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "faster: paper VT, ringside hw (matches)"));  /* syscall */
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "faster: paper BT, ringside bt (matches)"));  /* in */
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "pgfault differs: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "kvm-unit-tests x86/vmexit family"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "  hw      2.00 trap, 2.00 VM exit\n"));   /* cr4.pge */
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "  hw      1.00 VM exit, 1.00 tracing fault") ||
                           strstr(r.out, "  hw      1.00 tracing fault, 1.00 VM exit"));
    proc_result_free(&r);
}

void suite_hw_register(void)
{
    CU_pSuite s = CU_add_suite("hw (the VT-x-style engine: VMCS, exits, injection, costs)",
                               NULL, NULL);
    CU_add_test(s, "the VMCS's controls", test_hw_vmcs_controls);
    CU_add_test(s, "paging: #PF exits = hidden + true + tracing", test_hw_paging_exits);
    CU_add_test(s, "timer interrupts injected, window exits", test_hw_timer_injection);
    CU_add_test(s, "each exit priced by vt_entry", test_hw_exit_pricing);
    CU_add_test(s, "hypercall: VMCALL exits (18), priced by vt_entry; #UD natively",
                test_hw_hypercall);
    CU_add_test(s, "guest state: ring 0, CR0 from the shadow", test_hw_guest_state);
    CU_add_test(s, "--npt: paging without shadow exits", test_hw_npt_paging);
    CU_add_test(s, "local APIC: MMIO exits emulated against the device, timer injected",
                test_hw_lapic_mmio);
    CU_add_test(s, "emu_mmio_move: the MOV forms against the local APIC", test_hw_mmio_move);
    CU_add_test(s, "ringside paper: the measured VT column (and hw+npt)", test_hw_paper_column);
}
