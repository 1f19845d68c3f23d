/*
 * alu_ref.c - reference results from real hardware for the ALU tests.
 *
 * Two programs in one file:
 *
 *  - normally (linked into the test binary, compiled WITHOUT sanitizers):
 *    alu_ref_run() copies the instruction bytes into an executable page
 *    followed by RET, loads the registers and EFLAGS, CALLs it, and stores
 *    the registers and EFLAGS back. A fault in the instruction (#DE, #UD,
 *    #GP) arrives as a signal and is reported as its vector. The host is
 *    x86-64; the test only uses encodings that mean the same there as in
 *    32-bit mode (no INC/DEC 40-4F, no BCD, no stack).
 *
 *  - with -DALU_REF_BCD_KERNEL -m32 -ffreestanding -nostdlib: a multiboot
 *    kernel that runs DAA/DAS/AAA/AAS/AAM/AAD over all AL values for each
 *    group of alu_ref_bcd_golden and prints the FNV-1a hash of each group on
 *    COM1, then exits through isa-debug-exit. Its output under
 *    `qemu-system-i386 -kernel K -serial stdio -display none -device
 *    isa-debug-exit,iobase=0xf4,iosize=4` is the table below (QEMU 7.2).
 *    Rebuild: gcc -m32 -O1 -ffreestanding -nostdlib -fno-pie -no-pie
 *    -DALU_REF_BCD_KERNEL -Wl,-Ttext=0x100000 -Wl,--build-id=none
 *    tests/alu_ref.c -o /tmp/bcd.elf
 */
#include <stdint.h>
#include "alu_ref.h"

/* Defined flags: DAA/DAS all but OF; AAA/AAS CF AF; AAM/AAD SF ZF PF. */
uint32_t alu_ref_bcd_mask(uint8_t op)
{
    switch (op) {
    case 0x27: case 0x2F: return 0x01 | 0x04 | 0x10 | 0x40 | 0x80;
    case 0x37: case 0x3F: return 0x01 | 0x10;
    default: return 0x04 | 0x40 | 0x80;
    }
}

uint32_t alu_ref_fnv1a(uint32_t h, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        h ^= (v >> (8 * i)) & 0xffu;
        h *= 16777619u;
    }
    return h;
}

#define G(op, ah, fl, imm) { op, ah, fl, imm }
#define BCD_GROUPS                                                         \
    G(0x27, 0, 0x00, 0), G(0x27, 0, 0x01, 0), G(0x27, 0, 0x10, 0), G(0x27, 0, 0x11, 0), \
    G(0x2F, 0, 0x00, 0), G(0x2F, 0, 0x01, 0), G(0x2F, 0, 0x10, 0), G(0x2F, 0, 0x11, 0), \
    G(0x37, 0x00, 0x00, 0), G(0x37, 0x00, 0x11, 0), G(0x37, 0xff, 0x00, 0), G(0x37, 0xff, 0x10, 0), \
    G(0x37, 0x12, 0x01, 0), G(0x3F, 0x00, 0x00, 0), G(0x3F, 0x00, 0x11, 0), G(0x3F, 0xff, 0x00, 0), \
    G(0x3F, 0xff, 0x10, 0), G(0x3F, 0x12, 0x01, 0),                        \
    G(0xD4, 0, 0, 10), G(0xD4, 0, 0, 16), G(0xD4, 0, 0, 7), G(0xD4, 0x55, 0, 255), \
    G(0xD5, 0x00, 0, 10), G(0xD5, 0x01, 0, 10), G(0xD5, 0x09, 0, 10), G(0xD5, 0xff, 0, 10), \
    G(0xD5, 0x07, 0, 16), G(0xD5, 0x80, 0, 7), G(0xD5, 0x33, 0, 0)

#ifdef ALU_REF_BCD_KERNEL
/* ---------------- the QEMU generator kernel (32-bit) ---------------- */

__attribute__((section(".text.mb"), aligned(4), used))
static const uint32_t mb_header[3] = { 0x1BADB002u, 0u, (uint32_t)-(0x1BADB002u) };

static const struct bcd_golden groups[] = { BCD_GROUPS };

static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static void putc_serial(char c) { outb(0x3f8, (uint8_t)c); }

static void put_hex(uint32_t v)
{
    for (int i = 28; i >= 0; i -= 4)
        putc_serial("0123456789abcdef"[(v >> i) & 15]);
}

/* Run one BCD instruction; returns AX | flags << 16. */
static uint32_t run_bcd(uint8_t op, uint32_t ax, uint32_t fl, uint8_t imm)
{
    uint32_t f = fl;
    switch (op) {
#define BCD(opc, insn)                                                     \
    case opc:                                                              \
        __asm__ volatile("push %1; popf; " insn "; pushf; pop %1"          \
                         : "+a"(ax), "+r"(f) : : "cc");                    \
        break;
    BCD(0x27, "daa") BCD(0x2F, "das") BCD(0x37, "aaa") BCD(0x3F, "aas")
    case 0xD4: case 0xD5: {
        /* AAM/AAD with an immediate: patch-free via a tiny jump table */
        static uint8_t code[4] __attribute__((aligned(4)));
        code[0] = op; code[1] = imm; code[2] = 0xc3;
        __asm__ volatile("push %1; popf; call *%2; pushf; pop %1"
                         : "+a"(ax), "+r"(f) : "r"(code) : "cc", "memory");
        break;
    }
    }
    return (ax & 0xffffu) | (f << 16);
}

void kmain(void)
{
    for (unsigned g = 0; g < sizeof groups / sizeof groups[0]; g++) {
        const struct bcd_golden *b = &groups[g];
        uint32_t h = 2166136261u, mask = alu_ref_bcd_mask(b->op);
        for (uint32_t al = 0; al < 256; al++) {
            uint32_t out = run_bcd(b->op, (uint32_t)b->ah << 8 | al, 0x2u | b->flags, b->imm);
            h = alu_ref_fnv1a(h, (out & 0xffffu) | (((out >> 16) & mask) << 16));
        }
        put_hex(h);
        putc_serial('\n');
    }
    outb(0xf4, 0);
}

__asm__(".globl _start\n_start:\n mov $0x200000, %esp\n call kmain\n1: hlt\n jmp 1b\n");

#else
/* ---------------- the host reference (x86-64) ---------------- */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>

const struct bcd_golden alu_ref_bcd_golden[] = { BCD_GROUPS };
const unsigned alu_ref_bcd_golden_len = sizeof alu_ref_bcd_golden / sizeof alu_ref_bcd_golden[0];
/* Output of the generator kernel above under QEMU 7.2 (TCG). */
const uint32_t alu_ref_bcd_hash[] = {
    0xef13b685u, 0x6eed1345u, 0xfbd69645u, 0x57626505u, 0x3804fd75u, 0xb5c15e85u,
    0x0418a265u, 0x3a75a805u, 0xff2c8bb9u, 0xf4f6c079u, 0x6e888a29u, 0x4b982f29u,
    0xb52b32c9u, 0x097ced05u, 0xc3a6715du, 0x1a560e45u, 0x8588ee85u, 0x4d83fdc5u,
    0xe6947265u, 0xc1413405u, 0x92851c81u, 0x32e0953du, 0x55c2c785u, 0xd5a76585u,
    0x939deb05u, 0x5874a685u, 0x0e764185u, 0x32526785u, 0x55c2c785u,
};

static uint8_t *ref_code;       /* RWX page: the instruction + RET */
static bool ref_ready, ref_failed;
static sigjmp_buf ref_jmp;

static void ref_signal(int sig)
{
    siglongjmp(ref_jmp, sig == SIGFPE ? 1 : sig == SIGILL ? 2 : 3);
}

static bool ref_init(void)
{
    if (ref_ready || ref_failed)
        return ref_ready;
    ref_failed = true;
    ref_code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    void *win = mmap((void *)(uintptr_t)REF_MEM_BASE, 65536, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (ref_code == MAP_FAILED || win != (void *)(uintptr_t)REF_MEM_BASE)
        return false;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = ref_signal;
    sa.sa_flags = SA_NODEFER;
    sigaction(SIGFPE, &sa, NULL);
    sigaction(SIGILL, &sa, NULL);
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    ref_failed = false;
    return ref_ready = true;
}

/* Load EAX..EDI (not ESP) and EFLAGS, call the code, store them back.
   The red zone is skipped because the CALL pushes below RSP. */
static void ref_exec(struct ref_state *st, uint8_t *code)
{
    __asm__ volatile(
        "sub $128, %%rsp\n\t"
        "push %%rbx\n\tpush %%rbp\n\tpush %%r12\n\tpush %%r15\n\t"
        "mov %%rdi, %%r15\n\tmov %%rsi, %%r12\n\t"
        "mov 32(%%r15), %%eax\n\tpush %%rax\n\tpopfq\n\t"
        "mov 0(%%r15), %%eax\n\tmov 4(%%r15), %%ecx\n\tmov 8(%%r15), %%edx\n\t"
        "mov 12(%%r15), %%ebx\n\tmov 20(%%r15), %%ebp\n\tmov 24(%%r15), %%esi\n\t"
        "mov 28(%%r15), %%edi\n\t"
        "call *%%r12\n\t"
        "pushfq\n\t"
        "mov %%eax, 0(%%r15)\n\tmov %%ecx, 4(%%r15)\n\tmov %%edx, 8(%%r15)\n\t"
        "mov %%ebx, 12(%%r15)\n\tmov %%ebp, 20(%%r15)\n\tmov %%esi, 24(%%r15)\n\t"
        "mov %%edi, 28(%%r15)\n\t"
        "pop %%rax\n\tmov %%eax, 32(%%r15)\n\tcld\n\t"
        "pop %%r15\n\tpop %%r12\n\tpop %%rbp\n\tpop %%rbx\n\t"
        "add $128, %%rsp\n\t"
        : "+D"(st), "+S"(code)
        :
        : "rax", "rcx", "rdx", "r8", "r9", "r10", "r11", "r13", "r14", "memory", "cc");
}

int alu_ref_run(const uint8_t *code, int len, struct ref_state *st)
{
    static const int vec[4] = { -1, 0, 6, 13 };
    if (!ref_init() || len < 1 || len > 15)
        return -2;
    memcpy(ref_code, code, (size_t)len);
    ref_code[len] = 0xc3;
    uint8_t *win = (uint8_t *)(uintptr_t)REF_MEM_BASE;
    memcpy(win, st->mem, REF_MEM_SIZE);
    st->flags &= 0x0cd5u;  /* arithmetic flags and DF only */
    int sig = sigsetjmp(ref_jmp, 1);
    if (sig == 0)
        ref_exec(st, ref_code);
    memcpy(st->mem, win, REF_MEM_SIZE);
    st->flags &= 0x0cd5u;
    return vec[sig];
}
#endif
