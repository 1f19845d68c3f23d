/*
 * test_shadow.c - shadow page tables (sim/vmm/shadow_pt*.c), unit level.
 *
 * Each test builds guest page tables by hand in the RAM of a --mode trap
 * machine, turns guest paging on through the same entry the emulated
 * MOV CR0 uses (spt_cr_written), and then drives the monitor's #PF path
 * (spt_page_fault) directly, checking the *hardware's* view afterwards
 * with cpu_linear_to_phys (which walks the shadow root in CR3). Expected
 * values are those of the Intel SDM vol. 3, chapter 4 (4.6 access rights,
 * 4.7 #PF error codes, 4.8 accessed and dirty flags), worked out by hand,
 * never taken from a ringside run. The nanobenchmark orderings are checked
 * against the paper (Adams & Agesen 2006, fig. 4) through `ringside paper`.
 */
#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>

#include "machine.h"
#include "vmm/vmm_internal.h"
#include "proc.h"

#define PD1   0x10000u   /* guest page directory */
#define PD2   0x12000u   /* a second guest page directory */
#define PT1   0x11000u   /* guest page table for 0x00400000-0x007fffff */
#define GDTP  0x13000u   /* guest GDT frame */
#define LIN   0x00400000u
#define F_A   0x20000u
#define F_B   0x21000u
#define F_C   0x22000u
#define P 1u
#define W 2u
#define U 4u
#define PS 0x80u

static void put32(struct machine *m, uint32_t pa, uint32_t v) { memcpy(m->ram + pa, &v, 4); }
static uint32_t get32(struct machine *m, uint32_t pa) { uint32_t v; memcpy(&v, m->ram + pa, 4); return v; }

/*
 * PD1: slot 0 identity 4 MiB page (PS, for the guest's own code and data),
 * slot 1 -> PT1 (LIN -> F_A rw user; LIN+0x1000 -> PT1 itself, rw; LIN+0x2000
 * -> F_B supervisor read-only; LIN+0x3000 -> GDTP rw), slot 2 a 4 MiB page
 * at physical 8 MiB. PD2: slot 1 -> a table mapping LIN -> F_C.
 */
static struct machine *shadow_machine(void)
{
    struct machine *m = malloc(sizeof *m);
    char err[128];
    CU_ASSERT_FATAL(m && machine_init_mode(m, 16, MODE_TRAP, err, sizeof err) == 0);
    machine_enter(m, 0x10000, 0x2BADB002, 0);
    put32(m, PD1 + 0, 0 | PS | P | W);
    put32(m, PD1 + 4, PT1 | P | W | U);
    put32(m, PD1 + 8, 0x800000u | PS | P | W | U);
    put32(m, PT1 + 0, F_A | P | W | U);
    put32(m, PT1 + 4, PT1 | P | W);
    put32(m, PT1 + 8, F_B | P);
    put32(m, PT1 + 12, GDTP | P | W);
    put32(m, PD2 + 0, 0 | PS | P | W);
    put32(m, PD2 + 4, 0x14000u | P | W | U);
    put32(m, 0x14000u, F_C | P | W | U);
    struct vmm *v = m->vmm;
    v->vc.cr3 = PD1;
    v->vc.cr4 |= CR4_PSE;
    v->vc.cr0 |= CR0_PG | CR0_WP;
    CU_ASSERT_FATAL(spt_cr_written(v, 0, v->vc.cr0 & ~CR0_PG));
    return m;
}

static void shadow_free(struct machine *m)
{
    machine_free(m);
    free(m);
}

/* What the hardware (the shadow) does with an access at guest CPL 0. */
static bool hw_ok(struct machine *m, uint32_t lin, bool write, uint32_t *pa)
{
    uint32_t tmp;
    return cpu_linear_to_phys(&m->cpu, lin, write, 1, pa ? pa : &tmp);
}

static void test_fill_hidden(void)
{
    struct machine *m = shadow_machine();
    uint32_t err = 0, pa = 0;
    CU_ASSERT_TRUE(spt_active(m->vmm));
    CU_ASSERT_FALSE(hw_ok(m, LIN + 0x10, false, NULL));      /* lazily filled */
    CU_ASSERT_EQUAL(spt_page_fault(m->vmm, LIN + 0x10, 0, &err), SPT_HIDDEN);
    CU_ASSERT_TRUE(hw_ok(m, LIN + 0x10, false, &pa));
    CU_ASSERT_EQUAL(pa, F_A + 0x10);
    CU_ASSERT_EQUAL(m->stats.pf_hidden, 1);
    CU_ASSERT_EQUAL(m->stats.pf_true, 0);
    /* the VMM region stays mapped, supervisor only */
    CU_ASSERT_TRUE(hw_ok(m, VMM_REGION_BASE, false, NULL));
    CU_ASSERT_FALSE(cpu_linear_to_phys(&m->cpu, VMM_REGION_BASE, false, 3, &pa));
    shadow_free(m);
}

/* SDM 4.8: A on the first access, D on the first write, in the guest PTE. */
static void test_accessed_dirty(void)
{
    struct machine *m = shadow_machine();
    uint32_t err;
    CU_ASSERT_EQUAL(get32(m, PT1) & 0x60u, 0);
    spt_page_fault(m->vmm, LIN, 0, &err);
    CU_ASSERT_EQUAL(get32(m, PT1) & 0x60u, 0x20u);            /* A=1 D=0 */
    CU_ASSERT_EQUAL(get32(m, PD1 + 4) & 0x20u, 0x20u);        /* PDE accessed */
    CU_ASSERT_FALSE(hw_ok(m, LIN, true, NULL));               /* clean: read-only */
    CU_ASSERT_EQUAL(spt_page_fault(m->vmm, LIN, PF_P | PF_W, &err), SPT_HIDDEN);
    CU_ASSERT_EQUAL(get32(m, PT1) & 0x60u, 0x60u);            /* A=1 D=1 */
    CU_ASSERT_TRUE(hw_ok(m, LIN, true, NULL));
    CU_ASSERT_EQUAL(m->stats.guest_dirty_set, 1);
    /* a 4 MiB page: A and D land in the PDE */
    CU_ASSERT_EQUAL(spt_page_fault(m->vmm, 0x800000u + 0x5000u, PF_W, &err), SPT_HIDDEN);
    CU_ASSERT_EQUAL(get32(m, PD1 + 8) & 0x60u, 0x60u);
    uint32_t pa;
    CU_ASSERT_TRUE(hw_ok(m, 0x805004u, true, &pa));
    CU_ASSERT_EQUAL(pa, 0x805004u);
    shadow_free(m);
}

/* SDM 4.7: error codes of true faults; CR2 in the vcpu. */
static void test_true_faults(void)
{
    struct machine *m = shadow_machine();
    uint32_t err = 99;
    CU_ASSERT_EQUAL(spt_page_fault(m->vmm, 0x00C01234u, 0, &err), SPT_TRUE);
    CU_ASSERT_EQUAL(err, 0);                                   /* not present, read, sup */
    CU_ASSERT_EQUAL(m->vmm->vc.cr2, 0x00C01234u);
    CU_ASSERT_EQUAL(spt_page_fault(m->vmm, LIN + 0x2000, PF_U, &err), SPT_TRUE);
    CU_ASSERT_EQUAL(err, PF_P | PF_U);                         /* user reads supervisor */
    CU_ASSERT_EQUAL(spt_page_fault(m->vmm, LIN + 0x2000, PF_W, &err), SPT_TRUE);
    CU_ASSERT_EQUAL(err, PF_P | PF_W);                         /* WP=1: ring 0 write to RO */
    CU_ASSERT_EQUAL(m->stats.pf_true, 3);
    CU_ASSERT_EQUAL(m->stats.pf_hidden, 0);
    /* with CR0.WP=0 the same supervisor write is allowed: hidden */
    uint32_t old = m->vmm->vc.cr0;
    m->vmm->vc.cr0 &= ~CR0_WP;
    CU_ASSERT_TRUE(spt_cr_written(m->vmm, 0, old));
    CU_ASSERT_EQUAL(spt_page_fault(m->vmm, LIN + 0x2000, PF_W, &err), SPT_HIDDEN);
    CU_ASSERT_TRUE(hw_ok(m, LIN + 0x2000, true, NULL));
    shadow_free(m);
}

/* CR3 switches: a root per guest directory, reused from the cache. */
static void test_cr3_switch(void)
{
    struct machine *m = shadow_machine();
    struct vmm *v = m->vmm;
    uint32_t err, pa;
    spt_page_fault(v, LIN, 0, &err);
    uint32_t root1 = m->cpu.s.cr3;
    v->vc.cr3 = PD2;
    CU_ASSERT_TRUE(spt_cr_written(v, 3, PD1));
    CU_ASSERT_NOT_EQUAL(m->cpu.s.cr3, root1);
    spt_page_fault(v, LIN, 0, &err);
    CU_ASSERT_TRUE(hw_ok(m, LIN, false, &pa));
    CU_ASSERT_EQUAL(pa, F_C);
    v->vc.cr3 = PD1;
    CU_ASSERT_TRUE(spt_cr_written(v, 3, PD2));
    CU_ASSERT_EQUAL(m->cpu.s.cr3, root1);
    CU_ASSERT_TRUE(hw_ok(m, LIN, false, &pa));                 /* still filled: cached */
    CU_ASSERT_EQUAL(pa, F_A);
    CU_ASSERT_EQUAL(m->stats.root_builds, 2);
    CU_ASSERT_EQUAL(m->stats.root_switches, 3);
    /* more directories than cached roots: the least recently used goes */
    for (uint32_t i = 0; i < SPT_ROOTS; i++) {
        v->vc.cr3 = 0x30000u + i * 0x1000u;
        CU_ASSERT_TRUE(spt_cr_written(v, 3, 0));
    }
    CU_ASSERT(m->stats.root_evictions >= 2);
    shadow_free(m);
}

/* The guest's writer, at 0x15000 (identity-mapped by PD slot 0):
   mov %ebx,(%eax). A tracing fault executes it with the page open. */
static void set_writer(struct machine *m, uint32_t addr, uint32_t val)
{
    static const uint8_t code[] = { 0x89, 0x18, 0xf4 };
    memcpy(m->ram + 0x15000, code, sizeof code);
    cpu_notify_phys_write(&m->cpu, 0x15000, sizeof code);
    m->cpu.s.eip = 0x15000;
    m->cpu.s.r[R_EAX] = addr;
    m->cpu.s.r[R_EBX] = val;
}

/* A write to a guest page table is traced: the shadow follows the change. */
static void test_trace_page_table(void)
{
    struct machine *m = shadow_machine();
    struct vmm *v = m->vmm;
    uint32_t err, pa;
    spt_page_fault(v, LIN, 0, &err);                           /* PT1 is now traced */
    CU_ASSERT_TRUE(hw_ok(m, LIN, false, NULL));
    set_writer(m, LIN + 0x1000, F_B | P | W | U);              /* PT1[0] via its alias */
    CU_ASSERT_EQUAL(spt_page_fault(v, LIN + 0x1000, PF_W, &err), SPT_TRACE);
    CU_ASSERT_EQUAL(m->cpu.s.eip, 0x15002);                    /* the writer ran */
    CU_ASSERT_EQUAL(get32(m, PT1), F_B | P | W | U);
    CU_ASSERT_FALSE(hw_ok(m, LIN + 0x1000, true, NULL));       /* protected again */
    CU_ASSERT_FALSE(hw_ok(m, LIN, false, NULL));               /* stale entry dropped */
    CU_ASSERT_EQUAL(spt_page_fault(v, LIN, 0, &err), SPT_HIDDEN);
    CU_ASSERT_TRUE(hw_ok(m, LIN, false, &pa));
    CU_ASSERT_EQUAL(pa, F_B);
    CU_ASSERT_EQUAL(m->stats.trace_faults, 1);
    CU_ASSERT_EQUAL(m->stats.shadow_invalidated, 1);
    /* an unchanged write (ptemod) is still a tracing fault, and changes nothing */
    set_writer(m, LIN + 0x1000, get32(m, PT1));
    CU_ASSERT_EQUAL(spt_page_fault(v, LIN + 0x1000, PF_W | PF_P, &err), SPT_TRACE);
    CU_ASSERT_EQUAL(m->stats.trace_unchanged, 1);
    CU_ASSERT_TRUE(hw_ok(m, LIN, false, NULL));
    /* a traced write the guest's own tables forbid is a true fault */
    set_writer(m, LIN + 0x2000, 0);
    CU_ASSERT_EQUAL(spt_page_fault(v, LIN + 0x2000, PF_W, &err), SPT_TRUE);
    CU_ASSERT_EQUAL(m->cpu.s.eip, 0x15000);
    shadow_free(m);
}

/* A write to the guest GDT is traced and rebuilds the shadow GDT. */
static void test_trace_gdt(void)
{
    struct machine *m = shadow_machine();
    struct vmm *v = m->vmm;
    uint32_t err;
    v->vc.gdtr = (struct dtr){ LIN + 0x3000, 0x17 };
    put32(m, GDTP + 8, 0x0000FFFFu);                           /* low half of slot 1 */
    spt_gdt_loaded(v);
    set_writer(m, LIN + 0x300C, 0x00CF9B00u);                  /* flat DPL-0 code */
    CU_ASSERT_EQUAL(spt_page_fault(v, LIN + 0x300C, PF_W, &err), SPT_TRACE);
    uint64_t slot = shadow_read_slot(v, 1);
    CU_ASSERT_TRUE(desc_present(slot));
    CU_ASSERT_TRUE(desc_code(slot));
    CU_ASSERT_EQUAL(desc_dpl(slot), 1);                        /* compressed */
    CU_ASSERT_EQUAL(m->stats.trace_faults, 1);
    shadow_free(m);
}

/* Guest paging off again: the hardware is back on the VMM's 1:1 map. */
static void test_paging_off(void)
{
    struct machine *m = shadow_machine();
    struct vmm *v = m->vmm;
    uint32_t pa;
    v->vc.cr0 &= ~CR0_PG;
    CU_ASSERT_TRUE(spt_cr_written(v, 0, v->vc.cr0 | CR0_PG));
    CU_ASSERT_FALSE(spt_active(v));
    CU_ASSERT_TRUE(hw_ok(m, 0x800123u, true, &pa));
    CU_ASSERT_EQUAL(pa, 0x800123u);
    shadow_free(m);
}

/* ---- the nanobenchmark table: orderings of A&A06 fig. 4 ---- */

static long csv_cell(const char *csv, const char *row, int col)
{
    char key[32];
    snprintf(key, sizeof key, "\n%s,", row);
    const char *p = strstr(csv, key);
    if (!p)
        return -2;
    p += strlen(key);
    for (int i = 0; i < col; i++) {
        p = strchr(p, ',');
        if (!p)
            return -2;
        p++;
    }
    return strtol(p, NULL, 10);
}

static int csv_col(const char *csv, const char *mode)
{
    char key[16];
    size_t n = (size_t)snprintf(key, sizeof key, ",%s", mode);
    const char *p = csv, *nl = strchr(csv, '\n');
    while ((p = strstr(p, key)) && p[n] != ',' && p[n] != '\n')
        p++;
    if (!p || !nl || p > nl)
        return -1;
    int col = 0;
    for (const char *q = csv; q < p; q++)
        col += *q == ',';
    return col;
}

static void test_paper_orderings(void)
{
    char *argv[] = { (char *)proc_ringside(), "paper", "--csv", "--kernel",
                     "samples/bin/nanobench.elf", NULL };
    struct proc_result r;
    CU_ASSERT_EQUAL_FATAL(proc_run(argv, 300, &r), 0);
    CU_ASSERT_EQUAL_FATAL(r.status, 0);
    static const char *rows[] = { "syscall", "in", "cli", "callret", "pgfault",
                                  "divzero", "ptemod" };
    int nat = csv_col(r.out, "native"), trap = csv_col(r.out, "trap"), bt = csv_col(r.out, "bt");
    CU_ASSERT_FATAL(nat > 0 && trap > 0);
    for (int i = 0; i < 7; i++) {
        long n = csv_cell(r.out, rows[i], nat), t = csv_cell(r.out, rows[i], trap);
        long pn = csv_cell(r.out, rows[i], 0), pb = csv_cell(r.out, rows[i], 1);
        CU_ASSERT(n >= 0 && t >= 0);
        /* trap-and-emulate pays for every privileged operation, exception
           and traced write (callret runs directly); an emulated port costs
           the trap but not the ISA bus, so "in" is the one row it wins */
        if (!strcmp(rows[i], "in")) {
            CU_ASSERT(t < n);
        } else {
            CU_ASSERT(strcmp(rows[i], "callret") ? t > n : t == n);
        }
        /* The paper's BT column: the same ordering against native, every row */
        CU_ASSERT_FATAL(bt > 0);
        long b = csv_cell(r.out, rows[i], bt);
        CU_ASSERT(b >= 0);
        CU_ASSERT((pn < pb) == (n < b));
    }
    /* the paper's native cells that ringside prices from the same events:
       one port access (native_in 3209 + the IN itself), one CLI (native_cli) */
    CU_ASSERT(labs(csv_cell(r.out, "in", nat) - 3209) <= 2);
    CU_ASSERT(labs(csv_cell(r.out, "cli", nat) - 60) <= 2);
    /* an emulated port is charged once: the trap, not the bus on top */
    CU_ASSERT(labs(csv_cell(r.out, "in", trap) - 2030) <= 2);
    proc_result_free(&r);
}

/* The mechanism lines count events per operation: a syscall is one INT n,
   a trap-and-emulate pgfault one trap, one reflection, one true #PF. */
static void test_paper_mechanisms(void)
{
    char *argv[] = { (char *)proc_ringside(), "paper", "--kernel",
                     "samples/bin/nanobench.elf", NULL };
    struct proc_result r;
    CU_ASSERT_EQUAL_FATAL(proc_run(argv, 300, &r), 0);
    CU_ASSERT_EQUAL_FATAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "  native  1.00 INT n delivered\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "  trap    1.00 trap, 1.00 reflection, 1.00 true #PF, "
                                         "1.00 exception delivered\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "  trap    1.00 tracing fault\n"));
    proc_result_free(&r);
}

/* ---- self-modifying code under guest paging (bt) ---- */

/*
 * The smc sample's second round runs with paging on: under bt the pages
 * holding translated code must be read-only in the *shadow* too, so each
 * patch is a tracing fault that drops the translations. Output against the
 * QEMU golden; without the shadow protection the stale translations print
 * the old immediates and sums (and no tracing fault is counted: the guest
 * has no traced page tables it writes).
 */
static void test_smc_paging_bt(void)
{
    const char *json = "build/test_shadow_smc.json";
    char *argv[] = { (char *)proc_ringside(), "run", "--mode", "bt", "--stats-json",
                     (char *)json, "samples/bin/smc.elf", NULL };
    struct proc_result r;
    CU_ASSERT_EQUAL_FATAL(proc_run(argv, 120, &r), 0);
    size_t glen = 0;
    char *golden = proc_read_file("tests/golden/smc.out", &glen);
    CU_ASSERT_PTR_NOT_NULL_FATAL(golden);
    CU_ASSERT(strstr(golden, "paging on") != NULL);
    CU_ASSERT(r.out_len == glen && memcmp(r.out, golden, glen) == 0);
    char *j = proc_read_file(json, NULL);
    const char *tf = j ? strstr(j, "\"tracing_faults\": ") : NULL;
    CU_ASSERT_PTR_NOT_NULL(tf);
    if (tf)   /* smc_loop alone patches its code 10 times per call, 2 calls */
        CU_ASSERT(strtol(tf + strlen("\"tracing_faults\": "), NULL, 10) >= 20);
    free(j);
    free(golden);
    proc_result_free(&r);
}

void suite_shadow_register(void)
{
    CU_pSuite s = CU_add_suite("shadow page tables (hidden/true faults, tracing, A/D, CR3)",
                               NULL, NULL);
    CU_add_test(s, "hidden fault fills the shadow", test_fill_hidden);
    CU_add_test(s, "accessed/dirty propagated to the guest", test_accessed_dirty);
    CU_add_test(s, "true faults: error code and CR2", test_true_faults);
    CU_add_test(s, "CR3 switch and the root cache", test_cr3_switch);
    CU_add_test(s, "tracing a page-table write", test_trace_page_table);
    CU_add_test(s, "tracing a GDT write", test_trace_gdt);
    CU_add_test(s, "paging off: back to the 1:1 map", test_paging_off);
    CU_add_test(s, "nanobenchmark orderings (ringside paper)", test_paper_orderings);
    CU_add_test(s, "nanobenchmark mechanisms: events per operation", test_paper_mechanisms);
    CU_add_test(s, "self-modifying code under guest paging (bt)", test_smc_paging_bt);
}
