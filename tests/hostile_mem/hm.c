/*
 * hm.c - identity paging, a ring-3 exit system call and a #PF handler that
 * reports and skips, for the hostile memory kernels (hm.h).
 */
#include "hm.h"

uint32_t hm_pd[1024] FIXED("10_hm_pd");
uint32_t hm_pt_free[1024] FIXED("11_hm_pt_free");
volatile uint32_t hm_skip;
volatile uint32_t hm_pf_count;

void hm_init(void)
{
    con_init();
    desc_init();
}

void hm_paging_on(void)
{
    for (uint32_t i = 0; i < 8; i++)
        hm_pd[i] = (i << 22) | PDE_PS | PTE_P | PTE_W | PTE_U;
    write_cr3((uint32_t)hm_pd);
    write_cr4(read_cr4() | CR4_PSE);
    write_cr0(read_cr0() | CR0_PG | CR0_WP);
}

void hm_paging_off(void)
{
    write_cr0(read_cr0() & ~CR0_PG);
}

static void on_syscall(struct trap_frame *tf)
{
    if (tf->eax == SYS_EXIT)
        user_return(tf->ebx);
    kprintf("unexpected syscall %u\n", tf->eax);
    kexit(EXIT_FAIL);
}

void hm_syscalls_init(void)
{
    idt_set_gate(SYSCALL_VECTOR, GATE_INTR, 3);
    trap_set_handler(SYSCALL_VECTOR, on_syscall);
}

static void on_pf(struct trap_frame *tf)
{
    kprintf("  #PF CR2=0x%08x err=0x%x\n", read_cr2(), tf->err);
    hm_pf_count++;
    if (!hm_skip) {
        kprintf("  unexpected page fault\n");
        kexit(EXIT_BAD_TRAP);
    }
    tf->eip += hm_skip;
}

void hm_pf_skip_init(void)
{
    trap_set_handler(14, on_pf);
}
