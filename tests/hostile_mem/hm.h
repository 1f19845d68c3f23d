/*
 * hm.h - shared pieces of the hostile memory kernels (tests/hostile_mem/).
 *
 * Each kernel attacks one thing the VMM must not trust (a page-table entry
 * pointing past RAM, a software INT 14 under guest paging, a smashed low
 * memory...) and prints what it observes on COM1, so that the output under
 * --mode trap and --mode bt can be compared byte for byte with --mode native
 * and with QEMU (tests/test_isolation_mem.c). Nothing printed may depend on
 * the engine: no cycle counts, no selectors the trap engine leaks.
 *
 * hm_paging_on() identity-maps the first 32 MiB with 4 MiB pages (CR4.PSE)
 * in hm_pd and turns paging on; slot 8 (0x02000000) is left to the kernel
 * (hm_pt_free is a page table for it). SYS_EXIT (int 0x80, EAX = 1, EBX =
 * value) ends a ring-3 program: user_run() returns EBX.
 */
#ifndef HM_H
#define HM_H

#include "kernel.h"

#define PTE_P   0x001u
#define PTE_W   0x002u
#define PTE_U   0x004u
#define PTE_A   0x020u
#define PTE_D   0x040u
#define PDE_PS  0x080u
#define CR0_PG  0x80000000u
#define CR0_WP  0x00010000u
#define CR4_PSE 0x00000010u
#define MIB     0x100000u
#define HM_WIN  0x02000000u     /* linear window the kernels remap (PD slot 8) */
#define SYS_EXIT 1

extern uint32_t hm_pd[1024];
extern uint32_t hm_pt_free[1024];

/* con_init + desc_init (every kernel starts with it). */
void hm_init(void);
void hm_paging_on(void);
void hm_paging_off(void);
/* int 0x80 from ring 3: SYS_EXIT ends the user program. */
void hm_syscalls_init(void);
/* Print a #PF (CR2 and error code) and skip the faulting instruction, whose
   length the kernel announces in hm_skip before provoking it. */
void hm_pf_skip_init(void);
extern volatile uint32_t hm_skip;
extern volatile uint32_t hm_pf_count;

static inline void hm_user_exit(uint32_t v)
{
    __asm__ volatile("int $0x80" : : "a"(SYS_EXIT), "b"(v) : "memory");
    for (;;)
        ;
}

#endif
