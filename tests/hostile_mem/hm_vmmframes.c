/*
 * hm_vmmframes.c - a page table mapping the 4 MiB of frames right above
 * guest RAM, where trap and BT keep the VMM region (shadow GDT, IDT, TSS,
 * page directory, shadow page tables, the translation cache).
 *
 * To the guest those frames are simply past the end of its RAM: open bus.
 * The kernel maps all 1024 of them at 0x02000000, reads the first words of
 * each page, writes a pattern and reads again, at ring 0 and then from
 * ring 3 (user pages). Nothing it reads may differ from page to page (the
 * VMM's structures differ) and no write may stick.
 */
#include "hm.h"

#define RAM_END (32u * MIB)

static uint8_t user_stack[4096] __attribute__((aligned(16)));
static volatile uint32_t user_diff;

static uint32_t scan(int write)
{
    volatile uint32_t *w = (volatile uint32_t *)HM_WIN;
    uint32_t first = w[0], diff = 0;
    for (uint32_t p = 0; p < 1024; p++) {
        volatile uint32_t *pg = w + p * 1024;
        for (uint32_t i = 0; i < 1024; i += 61) {
            if (write)
                pg[i] = 0xDEAD0000u | p;
            diff += pg[i] != first;
        }
    }
    return diff;
}

static void user_main(void)
{
    user_diff = scan(1);
    hm_user_exit(0);
}

int kmain(uint32_t magic, struct multiboot_info *mbi)
{
    hm_init();
    hm_syscalls_init();
    hm_pf_skip_init();
    hm_paging_on();
    for (uint32_t i = 0; i < 1024; i++)
        hm_pt_free[i] = (RAM_END + (i << 12)) | PTE_P | PTE_W | PTE_U;
    hm_pd[HM_WIN >> 22] = (uint32_t)hm_pt_free | PTE_P | PTE_W | PTE_U;
    write_cr3((uint32_t)hm_pd);
    kprintf("vmmframes: frames 0x%08x-0x%08x mapped at 0x%08x\n", RAM_END,
            RAM_END + 4 * MIB - 1, HM_WIN);
    kprintf("  ring 0 read: %u words differ from the first\n", scan(0));
    kprintf("  ring 0 write+read: %u words differ\n", scan(1));
    user_run(user_main, (uint32_t)(user_stack + sizeof user_stack), EFLAGS_RESERVED1);
    kprintf("  ring 3 write+read: %u words differ\n", user_diff);
    kprintf("  accessed bits set: %u of 1024\n", ({
        uint32_t n = 0;
        for (uint32_t i = 0; i < 1024; i++)
            n += (hm_pt_free[i] >> 5) & 1;
        n; }));
    hm_paging_off();
    return EXIT_OK;
}
