/*
 * memfill.c - a guest that writes every page of its memory, each page with
 * content of its own.
 *
 * Content-based page sharing (Waldspurger, OSDI 2002) saves machine memory
 * only where guest pages are identical: kernels booted from one image, zero
 * pages. This kernel is the opposite case: it fills all of RAM above its own
 * image (from the end of .bss to the top mem_upper reports) with words that
 * depend on the page's physical address, so no two pages are alike and a
 * hypervisor's scan finds nothing to share. It then reads every word back
 * and checks it, so a hypervisor that merged or lost a page is caught. The
 * output does not depend on the memory size ("ringside host --vm
 * 'memfill.elf --mem 4'" prints the same as a 32 MiB run).
 */
#include "kernel.h"

extern char __bss_end[];

#define PAGE 4096u

/* The word at physical address pa: different in every page. */
static uint32_t fill_word(uint32_t pa)
{
    uint32_t x = pa * 2654435761u;
    return x ^ (x >> 15) ^ 0x6d656d66u;
}

static uint32_t first_page(void)
{
    return ((uint32_t)__bss_end + PAGE - 1) & ~(PAGE - 1);
}

static void fill(uint32_t from, uint32_t to)
{
    for (uint32_t pa = from; pa < to; pa += 4)
        *(volatile uint32_t *)pa = fill_word(pa);
}

/* The number of words that do not read back as written. */
static uint32_t verify(uint32_t from, uint32_t to)
{
    uint32_t bad = 0;
    for (uint32_t pa = from; pa < to; pa += 4)
        bad += *(volatile uint32_t *)pa != fill_word(pa);
    return bad;
}

int kmain(uint32_t magic, struct multiboot_info *mbi)
{
    con_init();
    if (!(mbi->flags & MB_INFO_MEM)) {
        kprintf("memfill: no memory size from the loader\n");
        return EXIT_FAIL;
    }
    uint32_t from = first_page(), to = 0x100000u + (mbi->mem_upper << 10);
    to &= ~(PAGE - 1);
    kprintf("memfill: writing every page above the kernel, each unlike the others\n");
    fill(from, to);
    uint32_t bad = verify(from, to);
    if (bad) {
        kprintf("memfill: %u words read back wrong\n", bad);
        return EXIT_FAIL;
    }
    kprintf("memfill: every word read back as written\n");
    return EXIT_OK;
}
