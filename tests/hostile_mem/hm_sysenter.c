/*
 * hm_sysenter.c - SYSENTER from ring 3 and SYSEXIT back.
 *
 * The kernel programs the SYSENTER MSRs (CS = 0x08, so SS = 0x10 and
 * SYSEXIT's CS/SS = 0x1b/0x23 match its GDT), and a ring-3 program calls
 * it twice with SYSENTER; the entry runs at CPL 0 on the SYSENTER stack and
 * SYSEXITs to EDX with ESP = ECX. Then SYSENTER_CS = 0: SYSENTER raises
 * #GP(0) (Intel SDM vol. 2, SYSENTER). Under trap and bt the VMM must
 * emulate both against the guest's MSRs (issue 11: a silent #GP).
 * Nothing printed depends on the engine (no selectors, no EFLAGS.IF).
 */
#include "hm.h"

static uint8_t user_stack[4096] __attribute__((aligned(16)));
static uint8_t sysenter_stack[4096] __attribute__((aligned(16)));
static volatile uint32_t calls, last_eax, last_esp;

void sysenter_entry(void);
__asm__(".text\n.globl sysenter_entry\nsysenter_entry:\n"
        "    movl %esp, last_esp\n"
        "    movl %eax, last_eax\n"
        "    incl calls\n"
        "    addl $1000, %eax\n"
        "    sysexit\n");

static inline void wrmsr(uint32_t msr, uint32_t lo)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"(lo), "d"(0));
}

static uint32_t user_sysenter(uint32_t n)
{
    uint32_t r;
    __asm__ volatile("movl %%esp, %%ecx\n\t"
                     "leal 1f, %%edx\n\t"
                     "sysenter\n"
                     "1:"
                     : "=a"(r) : "a"(n) : "ecx", "edx", "memory");
    return r;
}

static void user_main(void)
{
    uint32_t a = user_sysenter(42);
    uint32_t b = user_sysenter(a);
    hm_user_exit(b);
}

static void on_gp(struct trap_frame *tf)
{
    kprintf("  #GP err=0x%x from %s\n", tf->err, (tf->cs & 3) == 3 ? "user" : "kernel");
    user_return(0xdead);
}

static void user_fault(void)
{
    user_sysenter(7);
    hm_user_exit(1);
}

int kmain(uint32_t magic, struct multiboot_info *mbi)
{
    hm_init();
    hm_syscalls_init();
    trap_set_handler(13, on_gp);
    wrmsr(0x174, SEL_KCODE);
    wrmsr(0x175, (uint32_t)(sysenter_stack + sizeof sysenter_stack));
    wrmsr(0x176, (uint32_t)sysenter_entry);
    kprintf("sysenter: MSRs set\n");
    uint32_t v = user_run(user_main, (uint32_t)(user_stack + sizeof user_stack),
                          EFLAGS_RESERVED1);
    kprintf("  user got %u after %u calls, last eax=%u, entry esp at top: %s\n", v, calls,
            last_eax, last_esp == (uint32_t)(sysenter_stack + sizeof sysenter_stack)
                      ? "yes" : "no");
    wrmsr(0x174, 0);
    kprintf("sysenter with SYSENTER_CS = 0:\n");
    v = user_run(user_fault, (uint32_t)(user_stack + sizeof user_stack), EFLAGS_RESERVED1);
    kprintf("  user_run returned 0x%x, calls %u\n", v, calls);
    return EXIT_OK;
}
