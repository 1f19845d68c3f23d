/*
 * hm_farpt.c - a PDE naming a page table 2 GiB past RAM, then INVLPG.
 *
 * The guest's hardware reads the PTE from open bus. Under ringside's native
 * engine open bus reads all ones, so the PTE is present and writable and
 * names frame 0xFFFFF000 (open bus again); QEMU reads unassigned memory as
 * zero (a not-present PTE, #PF). The engines must agree with native; this
 * kernel has no QEMU golden (tests/hostile_mem/hostile_mem.mk).
 */
#include "hm.h"

#define FAR 0x82000000u     /* 2 GiB past the end of 32 MiB of RAM */

static volatile uint32_t *const win2 = (volatile uint32_t *)(HM_WIN + 4 * MIB);

int kmain(uint32_t magic, struct multiboot_info *mbi)
{
    hm_init();
    hm_pf_skip_init();
    hm_paging_on();
    kprintf("farpt: PDE -> page table at 0x%08x\n", FAR);
    hm_pd[(HM_WIN >> 22) + 1] = FAR | PTE_P | PTE_W;
    invlpg((void *)win2);
    hm_skip = 2;                                /* movl (%ecx), %eax */
    uint32_t c;
    __asm__ volatile("mov $0x5a5a5a5a, %%eax\n\t.byte 0x8b, 0x01" : "=a"(c)
                     : "c"(win2) : "memory");
    hm_skip = 0;
    kprintf("  read 0x%08x, %u page faults\n", c, hm_pf_count);
    win2[0] = 1;
    invlpg((void *)win2);
    kprintf("  wrote through it: survived\n");
    hm_pd[(HM_WIN >> 22) + 1] = 0;
    invlpg((void *)win2);
    return EXIT_OK;
}
