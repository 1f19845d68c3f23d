/*
 * hm_pgoff.c - paging off, the tables rewritten, paging on again.
 *
 * The shadow of the first tables must not survive CR0.PG = 0: after paging
 * is back on, the guest sees only its new tables, never frames the stale
 * shadow named (issue 11 variant: spt->frames[] indexed out of bounds after
 * turning paging off). The kernel also turns paging off with a page table
 * page that the VMM traces, rewrites it while paging is off, and flips
 * between two page directories.
 */
#include "hm.h"

static uint32_t pt_b[1024] FIXED("20_pt_b");
static uint32_t pd_b[1024] FIXED("21_pd_b");
static uint32_t frame_a[1024] FIXED("22_frame_a");
static uint32_t frame_b[1024] FIXED("23_frame_b");

static volatile uint32_t *const win = (volatile uint32_t *)HM_WIN;

int kmain(uint32_t magic, struct multiboot_info *mbi)
{
    hm_init();
    hm_pf_skip_init();
    frame_a[0] = 0xAAAA0000u;
    frame_b[0] = 0xBBBB0000u;
    hm_pt_free[0] = (uint32_t)frame_a | PTE_P | PTE_W;
    hm_pd[HM_WIN >> 22] = (uint32_t)hm_pt_free | PTE_P | PTE_W;
    for (int round = 0; round < 3; round++) {
        hm_paging_on();
        uint32_t got = win[0];
        win[0] = got + 1;
        kprintf("round %d: window reads 0x%08x\n", round, got);
        hm_paging_off();
        /* paging off: rewrite the table the shadow was built from */
        hm_pt_free[0] = (uint32_t)(round & 1 ? frame_a : frame_b) | PTE_P | PTE_W;
        hm_pd[(HM_WIN >> 22) + 1] = (uint32_t)hm_pt_free | PTE_P | PTE_W;
    }
    kprintf("frames: a=0x%08x b=0x%08x\n", frame_a[0], frame_b[0]);
    memcpy(pd_b, hm_pd, sizeof pd_b);
    pt_b[0] = (uint32_t)frame_b | PTE_P | PTE_W;
    pd_b[HM_WIN >> 22] = (uint32_t)pt_b | PTE_P | PTE_W;
    hm_paging_on();
    for (int i = 0; i < 4; i++) {
        write_cr3((uint32_t)(i & 1 ? hm_pd : pd_b));
        uint32_t got = 0x5A5A5A5Au;
        hm_skip = 2;                            /* movl (%ecx), %eax */
        __asm__ volatile(".byte 0x8b, 0x01" : "+a"(got) : "c"(win) : "memory");
        hm_skip = 0;
        kprintf("cr3 %s: 0x%08x\n", i & 1 ? "a" : "b", got);
        if (i == 1) {                           /* drop pd_b's window, paging off */
            hm_paging_off();
            pd_b[HM_WIN >> 22] = 0;
            write_cr3((uint32_t)pd_b);
            hm_paging_on();
        }
    }
    hm_paging_off();
    kprintf("pgoff: done, %u page faults\n", hm_pf_count);
    return EXIT_OK;
}
