/*
 * writer.c - a guest with a writable working set of a chosen size.
 *
 * Live migration's pre-copy (Clark et al., NSDI 2005) converges when the
 * guest dirties fewer pages per round than the link carries: the set of
 * pages a guest keeps writing - its writable working set - decides how many
 * rounds a migration takes and how long the final stop-and-copy stops the
 * VM. This kernel makes that set a parameter: each pass writes one word in
 * every page of a "pages=N" page buffer (default 64), then computes for a
 * while ("think=K" iterations, default 20000), "passes=P" times (default
 * 300), and prints a checksum every 50 passes. pages=0 is an idle guest.
 * "gap=G" computes G iterations after each page it writes as well (default
 * 0): the pages are then dirtied at a steady rate, one every G iterations,
 * which pre-copy can get ahead of when the link is faster (lab 6).
 * "crash=P" makes pass P end in a triple fault (an empty IDT, then int3),
 * for the host's isolation scenario: the machine resets, the VM ends.
 */
#include "kernel.h"

#define WRITER_MAX_PAGES 2048

static uint32_t buffer[WRITER_MAX_PAGES][1024] __attribute__((aligned(4096)));

/* No IDT at all: int3 cannot be delivered (#GP), nor can the #GP, nor the
   double fault: a triple fault. */
static void triple_fault(void)
{
    static const struct __attribute__((packed)) { uint16_t limit; uint32_t base; } none = { 0, 0 };
    __asm__ volatile("lidt %0\n\tint3" : : "m"(none));
}

static uint32_t think(uint32_t x, unsigned iterations)
{
    for (unsigned i = 0; i < iterations; i++)
        x = x * 1103515245u + 12345u;
    return x;
}

int kmain(uint32_t magic, struct multiboot_info *mbi)
{
    con_init();
    unsigned pages = mb_arg_uint(mbi, "pages=", 64), passes = mb_arg_uint(mbi, "passes=", 300);
    unsigned iterations = mb_arg_uint(mbi, "think=", 20000);
    unsigned crash = mb_arg_uint(mbi, "crash=", 0);
    unsigned gap = mb_arg_uint(mbi, "gap=", 0);
    if (pages > WRITER_MAX_PAGES)
        pages = WRITER_MAX_PAGES;
    kprintf("writer: %u pages written per pass, %u passes, think=%u\n", pages, passes,
            iterations);
    if (gap)
        kprintf("writer: gap=%u after each page\n", gap);
    uint32_t sum = 0x2545f491u;
    for (unsigned pass = 1; pass <= passes; pass++) {
        for (unsigned p = 0; p < pages; p++) {
            buffer[p][(pass * 7 + p) & 1023] = sum + p;
            sum = sum * 31 + buffer[p][(pass * 13) & 1023];
            if (gap)
                sum = think(sum, gap);
        }
        sum = think(sum, iterations);
        if (pass == crash) {
            kprintf("pass %u: crashing (triple fault)\n", pass);
            triple_fault();
        }
        if (pass % 50 == 0)
            kprintf("pass %u: checksum 0x%08x\n", pass, sum);
    }
    kprintf("writer: done\n");
    return EXIT_OK;
}
