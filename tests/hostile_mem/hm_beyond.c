/*
 * hm_beyond.c - guest page tables pointing 2 GiB past RAM, and INVLPG.
 *
 * A PTE naming a frame far above RAM and a 4 MiB page there: the guest's
 * hardware reads open bus through them (writes vanish; the value read is
 * all ones natively, zero under QEMU, so only its stability is printed).
 * hm_farpt.c has a page table up there. The monitor must not
 * follow such a frame into host memory (issue 11: spt_invlpg stored at
 * bus.ram + frame, SIGSEGV). Each step INVLPGs the page and reads again.
 */
#include "hm.h"

#define FAR 0x82000000u     /* 2 GiB past the end of 32 MiB of RAM */

static volatile uint32_t *const win = (volatile uint32_t *)HM_WIN;
static volatile uint32_t *const win3 = (volatile uint32_t *)(HM_WIN + 8 * MIB);

int kmain(uint32_t magic, struct multiboot_info *mbi)
{
    hm_init();
    hm_pf_skip_init();
    hm_paging_on();
    kprintf("beyond: PTE -> frame 0x%08x\n", FAR);
    hm_pt_free[0] = FAR | PTE_P | PTE_W;
    hm_pd[HM_WIN >> 22] = (uint32_t)hm_pt_free | PTE_P | PTE_W;
    invlpg((void *)win);
    uint32_t a = win[0];
    win[1] = 0x12345678u;
    uint32_t b = win[1];
    kprintf("  write stuck: %s, reads stable: %s, PTE A/D=%u/%u\n",
            b == 0x12345678u ? "yes" : "no", a == b ? "yes" : "no",
            (hm_pt_free[0] >> 5) & 1, (hm_pt_free[0] >> 6) & 1);
    invlpg((void *)win);
    kprintf("  after invlpg: stable: %s\n", win[1] == a ? "yes" : "no");
    hm_pt_free[0] = 0;
    invlpg((void *)win);

    kprintf("beyond: 4 MiB page at 0x%08x\n", FAR & 0xFFC00000u);
    hm_pd[(HM_WIN >> 22) + 2] = (FAR & 0xFFC00000u) | PDE_PS | PTE_P | PTE_W;
    win3[5] = 0xCAFEu;
    kprintf("  write stuck: %s, same as the 4 KiB page: %s\n", win3[5] == 0xCAFEu ? "yes" : "no",
            win3[5] == a ? "yes" : "no");
    invlpg((void *)win3);
    hm_pd[(HM_WIN >> 22) + 2] = 0;
    invlpg((void *)win3);

    kprintf("beyond: RAM intact: 0x%08x\n", hm_pd[0]);
    return EXIT_OK;
}
