/*
 * smc.c - self-modifying and generated code.
 *
 * x86 lets a program write its own instructions and run them, with no
 * special instruction needed: the CPU notices stores to code it has
 * fetched or decoded (Intel SDM vol. 3, 11.6 "Self-Modifying Code"). Any
 * emulator or binary translator that caches decoded or translated code must
 * notice too - this kernel checks that it does:
 *
 *  1. patch the immediate of "mov $imm, %eax" in a function, call it again;
 *  2. patch the very next instruction in the same basic block (the store
 *     and the patched instruction are a few bytes apart);
 *  3. generate a small function with a loop into a buffer and call it,
 *     then rewrite one instruction of it (add -> sub) and call it again;
 *  4. a loop whose body increments the immediate of one of its own
 *     instructions on every iteration.
 *
 * The four tests run three times: with paging off (every byte of memory is
 * writable and executable), again with paging on (one page table
 * identity-maps 0-4 MiB, read/write), and again with paging off. The second
 * round is for the VMMs: a binary translator must then keep pages holding
 * translated code write-protected in the *shadow* page tables the hardware
 * walks, not only in its own 1:1 map (Adams & Agesen 2006, §3.2 on
 * tracing). The third is for the way back: the 1:1 map's protection must
 * hold again once the guest leaves paging (it did not: ringside's bt ran
 * stale translations there).
 */
#include "kernel.h"

uint32_t smc_get(void);           /* returns the immediate at smc_get_imm */
uint32_t smc_next(void);          /* patches its own next instruction */
uint32_t smc_loop(void);          /* patches its own loop body */
extern uint8_t smc_get_imm[], smc_loop_imm[];

__asm__(".text\n"
        ".globl smc_get\n"
        "smc_get:\n"
        "    .byte 0xb8\n"               /* mov $imm32, %eax */
        ".globl smc_get_imm\n"
        "smc_get_imm:\n"
        "    .long 0x11111111\n"
        "    ret\n"
        /* The store rewrites the imm8 of the following "mov $0, %al". */
        ".globl smc_next\n"
        "smc_next:\n"
        "    xor %eax, %eax\n"
        "    movb $0x42, smc_next_insn + 1\n"
        "smc_next_insn:\n"
        "    mov $0x00, %al\n"
        "    ret\n"
        /* sum = 1 + 2 + ... + 10, the addend being the instruction's own
           immediate, incremented in place after each use. */
        ".globl smc_loop\n"
        "smc_loop:\n"
        "    movl $1, smc_loop_imm\n"
        "    xor %eax, %eax\n"
        "    mov $10, %ecx\n"
        "1:  .byte 0x05\n"               /* add $imm32, %eax */
        ".globl smc_loop_imm\n"
        "smc_loop_imm:\n"
        "    .long 1\n"
        "    incl smc_loop_imm\n"
        "    dec %ecx\n"
        "    jnz 1b\n"
        "    ret\n");

static uint8_t code_buf[64] FIXED("30_code_buf");   /* at 0x203000 */
static uint32_t smc_pd[1024] FIXED("40_smc_pd");
static uint32_t smc_pt[1024] FIXED("41_smc_pt");

/* sum(n): n + (n-1) + ... + 1, as bytes (offsets in the comments) */
static const uint8_t sum_code[] = {
    0x8b, 0x4c, 0x24, 0x04,  /* 0: mov 4(%esp), %ecx  ; n */
    0x31, 0xc0,              /* 4: xor %eax, %eax */
    0x01, 0xc8,              /* 6: add %ecx, %eax    ; loop: */
    0x49,                    /* 8: dec %ecx */
    0x75, 0xfb,              /* 9: jnz 6 */
    0xc3,                    /* 11: ret */
};
#define SUM_ADD_OFFSET 6

static void test_patch_imm(void)
{
    kprintf("1. patch an immediate: smc_get() = 0x%08x\n", smc_get());
    *(volatile uint32_t *)smc_get_imm = 0x22222222u;
    kprintf("   after writing 0x22222222 into its mov: smc_get() = 0x%08x\n", smc_get());
    *(volatile uint32_t *)smc_get_imm = 0x33333333u;
    kprintf("   and 0x33333333: smc_get() = 0x%08x\n", smc_get());
}

static void test_patch_next(void)
{
    kprintf("2. patch the next instruction (mov $0, %%al -> mov $0x42, %%al) "
            "from the same block: returns 0x%02x\n", smc_next());
}

static void test_generated(void)
{
    int (*sum)(int) = (int (*)(int))(void *)code_buf;

    memcpy(code_buf, sum_code, sizeof(sum_code));
    kprintf("3. generated code at 0x%08x (%u bytes): sum(10) = %d, sum(100) = %d\n",
            (uint32_t)code_buf, (unsigned)sizeof(sum_code), sum(10), sum(100));
    ((volatile uint8_t *)code_buf)[SUM_ADD_OFFSET] = 0x29;   /* add -> sub */
    kprintf("   after rewriting add into sub: sum(10) = %d, sum(100) = %d\n",
            sum(10), sum(100));
}

static void test_loop(void)
{
    uint32_t first = smc_loop(), second = smc_loop();
    kprintf("4. a loop rewriting its own body (add $1, add $2, ... add $10): %u, "
            "again: %u, final immediate %u\n", first, second,
            *(volatile uint32_t *)smc_loop_imm);
}

/* Identity-map 0-4 MiB with 4 KiB pages (P|W, supervisor) and turn paging on. */
static void paging_on(void)
{
    for (uint32_t i = 0; i < 1024; i++)
        smc_pt[i] = (i << 12) | 0x3u;
    smc_pd[0] = (uint32_t)smc_pt | 0x3u;
    write_cr3((uint32_t)smc_pd);
    write_cr0(read_cr0() | 0x80000000u);
}

static void run_tests(void)
{
    test_patch_imm();
    test_patch_next();
    test_generated();
    test_loop();
}

int kmain(uint32_t magic, struct multiboot_info *mbi)
{
    con_init();
    kprintf("smc: self-modifying and generated code\n");
    run_tests();
    paging_on();
    kprintf("paging on (0-4 MiB identity-mapped, 4 KiB pages): the same again\n");
    run_tests();
    write_cr0(read_cr0() & ~0x80000000u);
    kprintf("paging off again: the same once more\n");
    run_tests();
    kprintf("done\n");
    return EXIT_OK;
}
