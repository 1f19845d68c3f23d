/*
 * paging.c - two-level x86 paging, page faults and the TLB.
 *
 * The kernel builds a page directory that identity-maps 0-4 MiB with 4 KiB
 * pages (one page table) and 4-8 MiB with a single 4 MiB page (CR4.PSE),
 * plus a second 4 MiB page at 16 MiB that aliases physical 4 MiB. It then
 * turns paging on (CR0.PG, with CR0.WP so ring 0 honours read-only pages)
 * and shows, one step at a time (Intel SDM vol. 3, chapter 4):
 *
 *  - a 4 MiB page: the same bytes seen through two virtual addresses;
 *  - demand paging: touching unmapped memory raises #PF with CR2 = the
 *    address; the handler maps a fresh frame and returns, and the faulting
 *    instruction is restarted and succeeds;
 *  - protection: a ring-0 write to a read-only page (silently allowed with
 *    CR0.WP=0, a #PF with WP=1), and a ring-3 read of a supervisor page;
 *  - the TLB: after changing a PTE the old translation may still be cached
 *    until INVLPG; a different page directory (a CR3 reload) gives a
 *    different view of the same virtual address;
 *  - accessed and dirty bits, which the CPU sets in the PTE (or the 4 MiB
 *    PDE) on the first read and the first write.
 */
#include "kernel.h"

#define PTE_P   0x001u  /* present */
#define PTE_W   0x002u  /* writable */
#define PTE_U   0x004u  /* user accessible */
#define PTE_A   0x020u  /* accessed: set by the CPU */
#define PTE_D   0x040u  /* dirty: set by the CPU on a write */
#define PDE_PS  0x080u  /* 4 MiB page (CR4.PSE) */
#define CR0_PG  0x80000000u
#define CR0_WP  0x00010000u
#define CR4_PSE 0x00000010u
#define MIB     0x100000u

#define DEMAND_BASE 0x00800000u /* PDE 2: nothing mapped until touched */
#define WINDOW_VA   0x00C00000u /* PDE 3: a page we remap to other frames */
#define ALIAS_VA    0x01000000u /* PDE 4: 4 MiB page -> physical 4 MiB */

typedef uint32_t page_table[1024];

/* All at fixed addresses from 0x203000 up (link.ld), in this order. */
static page_table pd_main FIXED("10_pd_main"), pd_second FIXED("11_pd_second");
static page_table pt_low FIXED("12_pt_low"), pt_demand FIXED("13_pt_demand");
static page_table pt_window FIXED("14_pt_window"), pt_window2 FIXED("15_pt_window2");
static uint8_t frame_a[4096] FIXED("20_frame_a");
static uint8_t frame_b[4096] FIXED("21_frame_b");
static uint8_t frame_c[4096] FIXED("22_frame_c");
static uint8_t demand_pool[2][4096] FIXED("23_demand_pool"); /* frames handed out on #PF */
static uint8_t ro_page[4096] FIXED("24_ro_page");         /* mapped read-only */
static uint8_t secret_page[4096] FIXED("25_secret_page"); /* supervisor only */
static uint8_t ad_page[4096] FIXED("26_ad_page");         /* accessed/dirty demo */
static uint8_t user_stack[4096] __attribute__((aligned(16)));

enum pf_expect { PF_NONE, PF_DEMAND, PF_READONLY, PF_USER };
static enum pf_expect pf_expect;  /* what the running test provokes */
static unsigned demand_used;      /* frames taken from demand_pool */

static uint32_t *pte_of(uint32_t va)   /* only for pages in pt_low */
{
    return &pt_low[(va >> 12) & 1023];
}

static void build_tables(void)
{
    for (uint32_t i = 0; i < 1024; i++)
        pt_low[i] = (i << 12) | PTE_P | PTE_W | PTE_U;
    *pte_of((uint32_t)ro_page) &= ~PTE_W;
    *pte_of((uint32_t)secret_page) &= ~PTE_U;
    pd_main[0] = (uint32_t)pt_low | PTE_P | PTE_W | PTE_U;
    pd_main[1] = 4 * MIB | PDE_PS | PTE_P | PTE_W | PTE_U;
    pd_main[3] = (uint32_t)pt_window | PTE_P | PTE_W | PTE_U;
    pd_main[4] = 4 * MIB | PDE_PS | PTE_P | PTE_W | PTE_U;
    pt_window[0] = (uint32_t)frame_a | PTE_P | PTE_W | PTE_U;
    memcpy(pd_second, pd_main, sizeof(pd_main));
    pd_second[3] = (uint32_t)pt_window2 | PTE_P | PTE_W | PTE_U;
    pt_window2[0] = (uint32_t)frame_c | PTE_P | PTE_W | PTE_U;
    *(uint32_t *)frame_a = 0xAAAAAAAAu;
    *(uint32_t *)frame_b = 0xBBBBBBBBu;
    *(uint32_t *)frame_c = 0xCCCCCCCCu;
}

static void enable_paging(void)
{
    write_cr3((uint32_t)pd_main);
    write_cr4(read_cr4() | CR4_PSE);
    write_cr0(read_cr0() | CR0_PG | CR0_WP);
    uint32_t cr0 = read_cr0();
    kprintf("paging on: CR0.PG=%u CR0.WP=%u CR4.PSE=%u CR3=0x%08x\n",
            cr0 >> 31, (cr0 >> 16) & 1, (read_cr4() >> 4) & 1, (uint32_t)pd_main);
}

/* ---- the page-fault handler --------------------------------------------- */

static void print_pf(struct trap_frame *tf, uint32_t cr2)
{
    kprintf("  #PF: CR2=0x%08x error=0x%x (%s, %s, %s), faulting CPL %u\n", cr2, tf->err,
            tf->err & 1 ? "protection violation" : "page not present",
            tf->err & 2 ? "write" : "read", tf->err & 4 ? "user" : "supervisor",
            tf->cs & 3);
}

static void demand_map(uint32_t cr2)
{
    if (!(pd_main[DEMAND_BASE >> 22] & PTE_P)) {
        pd_main[DEMAND_BASE >> 22] = (uint32_t)pt_demand | PTE_P | PTE_W | PTE_U;
        kprintf("  handler: installed a page table for 0x%08x-0x%08x\n",
                DEMAND_BASE, DEMAND_BASE + 4 * MIB - 1);
    }
    uint32_t *frame = (uint32_t *)demand_pool[demand_used++];
    uint32_t page = cr2 & ~0xFFFu;
    for (int i = 0; i < 1024; i++)
        frame[i] = page + 4 * (uint32_t)i;   /* each word holds its own address */
    pt_demand[(cr2 >> 12) & 1023] = (uint32_t)frame | PTE_P | PTE_W | PTE_U;
    kprintf("  handler: mapped page 0x%08x -> frame 0x%08x, returning to retry\n",
            page, (uint32_t)frame);
}

static void on_page_fault(struct trap_frame *tf)
{
    uint32_t cr2 = read_cr2();

    print_pf(tf, cr2);
    if (pf_expect == PF_DEMAND && !(tf->err & 1) && demand_used < 2) {
        demand_map(cr2);
    } else if (pf_expect == PF_READONLY && (tf->err & 3) == 3) {
        *pte_of(cr2) |= PTE_W;
        invlpg((void *)cr2);
        kprintf("  handler: made the page writable (+ invlpg), returning to retry\n");
    } else if (pf_expect == PF_USER && (tf->err & 4)) {
        kprintf("  handler: ring 3 may not read a supervisor page: ending the user program\n");
        user_return(1);
    } else {
        kprintf("  unexpected page fault\n");
        kexit(EXIT_FAIL);
    }
    pf_expect = PF_NONE;
}

/* ---- the tests ------------------------------------------------------------- */

static void test_4m_page(void)
{
    volatile uint32_t *phys = (uint32_t *)(4 * MIB + 0x10);
    volatile uint32_t *alias = (uint32_t *)(ALIAS_VA + 0x10);

    kprintf("4 MiB page: PDE 4 maps 0x%08x to physical 0x%08x\n", ALIAS_VA, 4 * MIB);
    pd_main[4] &= ~(PTE_A | PTE_D);
    invlpg((void *)alias);
    *phys = 0x4D1B0000u;
    kprintf("  wrote 0x%08x at 0x%08x, read 0x%08x through 0x%08x\n",
            0x4D1B0000u, (uint32_t)phys, *alias, (uint32_t)alias);
    *alias = 0x4D1B0001u;
    kprintf("  wrote through the alias, the PDE now has A=%u D=%u\n",
            (pd_main[4] >> 5) & 1, (pd_main[4] >> 6) & 1);
}

static void test_demand(void)
{
    volatile uint32_t *p = (uint32_t *)(DEMAND_BASE + 0x120);
    volatile uint32_t *q = (uint32_t *)(DEMAND_BASE + 0x1000 + 0x4);

    kprintf("demand paging: read 0x%08x (nothing mapped there)\n", (uint32_t)p);
    pf_expect = PF_DEMAND;
    uint32_t v = *p;
    kprintf("  the read completed after the handler: value 0x%08x\n", v);
    kprintf("demand paging: write 0x12345678 to 0x%08x\n", (uint32_t)q);
    pf_expect = PF_DEMAND;
    *q = 0x12345678u;
    kprintf("  the write completed: read back 0x%08x\n", *q);
}

static void test_readonly(void)
{
    volatile uint32_t *p = (uint32_t *)ro_page;

    kprintf("read-only page at 0x%08x, ring-0 write with CR0.WP=0:\n", (uint32_t)p);
    write_cr0(read_cr0() & ~CR0_WP);
    *p = 0x11111111u;
    kprintf("  no fault: the supervisor ignores R/W when WP=0 (value 0x%08x)\n", *p);
    write_cr0(read_cr0() | CR0_WP);
    invlpg(ro_page);
    kprintf("same write with CR0.WP=1:\n");
    pf_expect = PF_READONLY;
    *p = 0x22222222u;
    kprintf("  the write completed after the handler: value 0x%08x\n", *p);
}

static void test_invlpg_cr3(void)
{
    volatile uint32_t *w = (uint32_t *)WINDOW_VA;

    kprintf("TLB: 0x%08x -> frame A 0x%08x reads 0x%08x\n",
            WINDOW_VA, (uint32_t)frame_a, *w);
    pt_window[0] = (uint32_t)frame_b | PTE_P | PTE_W | PTE_U;
    invlpg((void *)w);
    kprintf("  PTE changed to frame B 0x%08x + invlpg: reads 0x%08x\n",
            (uint32_t)frame_b, *w);
    write_cr3((uint32_t)pd_second);
    kprintf("  CR3 = second directory 0x%08x (maps frame C): reads 0x%08x\n",
            (uint32_t)pd_second, *w);
    write_cr3((uint32_t)pd_main);
    kprintf("  CR3 = first directory again: reads 0x%08x\n", *w);
}

static void test_accessed_dirty(void)
{
    volatile uint32_t *p = (uint32_t *)ad_page;
    uint32_t *pte = pte_of((uint32_t)ad_page);

    *pte &= ~(PTE_A | PTE_D);
    invlpg(ad_page);
    kprintf("accessed/dirty bits of the PTE for 0x%08x: cleared: A=%u D=%u\n",
            (uint32_t)p, (*pte >> 5) & 1, (*pte >> 6) & 1);
    (void)*p;
    kprintf("  after a read:  A=%u D=%u\n", (*pte >> 5) & 1, (*pte >> 6) & 1);
    *p = 1;
    kprintf("  after a write: A=%u D=%u\n", (*pte >> 5) & 1, (*pte >> 6) & 1);
}

/* ---- ring 3 touching a supervisor page -------------------------------------- */

static void on_syscall(struct trap_frame *tf)
{
    if (tf->eax == 1)           /* write(buf, len) */
        con_write((const char *)tf->ebx, tf->ecx);
    else
        user_return(tf->ebx);   /* exit(code) */
}

static void user_main(void)
{
    uprintf("  user: reading a user page: 0x%08x\n", *(volatile uint32_t *)frame_b);
    uprintf("  user: now reading the supervisor page 0x%08x\n", (uint32_t)secret_page);
    uprintf("  user: read 0x%08x (must not happen)\n", *(volatile uint32_t *)secret_page);
    syscall3(2, 0, 0, 0);
}

static void test_user_supervisor(void)
{
    kprintf("ring 3 reads a supervisor page (PTE U/S=0):\n");
    pf_expect = PF_USER;
    uint32_t r = user_run(user_main, (uint32_t)(user_stack + sizeof(user_stack)),
                          EFLAGS_RESERVED1);
    kprintf("  kernel: back in ring 0, user program %s\n", r ? "killed" : "exited");
}

int kmain(uint32_t magic, struct multiboot_info *mbi)
{
    con_init();
    desc_init();
    idt_set_gate(SYSCALL_VECTOR, GATE_INTR, 3);
    trap_set_handler(SYSCALL_VECTOR, on_syscall);
    trap_set_handler(14, on_page_fault);
    kprintf("paging: page tables, page faults, the TLB\n");
    build_tables();
    enable_paging();
    test_4m_page();
    test_demand();
    test_readonly();
    test_invlpg_cr3();
    test_accessed_dirty();
    test_user_supervisor();
    kprintf("done\n");
    return EXIT_OK;
}
