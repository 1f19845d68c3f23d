/*
 * hypercall.c - VMCALL: asking the hypervisor, if there is one.
 *
 * VMCALL (0F 01 C1) is how a guest that knows it is virtualized calls its
 * VMM: in VMX non-root operation it causes a VM exit (reason 18) whatever
 * the CPL, and the VMM does what the call number in EAX asks. Anywhere
 * else - on bare hardware, under QEMU's TCG, under a trap-and-emulate or
 * binary-translating VMM, none of which runs the guest in non-root mode -
 * it is an invalid opcode: #UD, a fault at the instruction (Intel SDM vol.
 * 2, VMCALL; vol. 3, 25.1.2).
 *
 * ringside's hw engine answers with a small ABI (docs/hw.md, sim/vmm/hw/
 * hw.h): EAX = 0 returns the ABI version 0x72730001, EAX = 1 writes the
 * byte in BL to COM1, any other number returns -1, and a call from ring 3
 * returns -2 (refused, as KVM refuses it). This kernel makes each call; its
 * #UD handler notes the fault and resumes after the instruction, so the
 * same binary prints "#UD" natively (QEMU's golden) and the hypervisor's
 * answers under --mode hw.
 */
#include "kernel.h"

#define HC_VERSION 0
#define HC_PUTC    1
#define SYS_WRITE  1
#define SYS_DONE   2

static uint8_t user_stack[8192] __attribute__((aligned(16)));
static volatile int ud_taken;            /* #UD handler calls since the last reset */
static volatile int32_t ud_offset;       /* its EIP relative to the VMCALL */

/* One VMCALL at a known address, so the #UD handler can check the fault's
   EIP and resume after it (a fault reports the instruction itself). */
uint32_t hc_call(uint32_t nr, uint32_t arg);
extern const char hc_insn[], hc_end[];
__asm__(".text\n"
        ".globl hc_call\n"
        "hc_call:\n"                     /* cdecl: nr, arg on the stack */
        "    push %ebx\n"
        "    mov 8(%esp), %eax\n"
        "    mov 12(%esp), %ebx\n"
        ".globl hc_insn\n hc_insn: vmcall\n"
        ".globl hc_end\n hc_end: pop %ebx\n"
        "    ret\n");

static void on_ud(struct trap_frame *tf)
{
    if (tf->eip < (uint32_t)hc_insn || tf->eip >= (uint32_t)hc_end) {
        kprintf("unexpected #UD at eip 0x%08x\n", tf->eip);
        kexit(EXIT_BAD_TRAP);
    }
    ud_offset = (int32_t)(tf->eip - (uint32_t)hc_insn);
    ud_taken++;
    tf->eip = (uint32_t)hc_end;
}

/* "eax=0x... " or "#UD at insn+0 ", for one call just made. */
static void report(uint32_t eax)
{
    if (ud_taken)
        kprintf("#UD, eip = insn%+d: no hypervisor to call\n", (int)ud_offset);
    else
        kprintf("eax=0x%08x (%d)\n", eax, (int)eax);
}

static uint32_t call(uint32_t nr, uint32_t arg)
{
    ud_taken = 0;
    return hc_call(nr, arg);
}

/* ---- ring 3: the same VMCALL from user mode -------------------------------- */

static void user_main(void)
{
    uint32_t r = call(HC_VERSION, 0);
    syscall3(SYS_DONE, r, 0, 0);
}

static void on_syscall(struct trap_frame *tf)
{
    if (tf->eax == SYS_WRITE) {
        con_write((const char *)tf->ebx, tf->ecx);
        tf->eax = tf->ecx;
    } else if (tf->eax == SYS_DONE) {
        user_return(tf->ebx);
    } else {
        tf->eax = (uint32_t)-1;
    }
}

int kmain(uint32_t magic, struct multiboot_info *mbi)
{
    static const char msg[] = "hi from a hypercall";
    con_init();
    desc_init();
    trap_set_handler(6, on_ud);
    idt_set_gate(SYSCALL_VECTOR, GATE_INTR, 3);
    trap_set_handler(SYSCALL_VECTOR, on_syscall);
    kprintf("hypercall: VMCALL (0f 01 c1), EAX = call number\n");

    kprintf("version (eax=0): ");
    report(call(HC_VERSION, 0));

    kprintf("putc (eax=1) x%u: ", (unsigned)(sizeof msg - 1));
    uint32_t r = 0;
    int uds = 0;
    for (size_t i = 0; i + 1 < sizeof msg; i++) {
        r |= call(HC_PUTC, (uint8_t)msg[i]);
        uds += ud_taken;
    }
    if (uds)
        kprintf("#UD x%d: no hypervisor to call\n", uds);
    else
        kprintf(" -> eax=0x%08x\n", r);

    kprintf("unknown (eax=0x1234): ");
    report(call(0x1234, 0));

    kprintf("version from ring 3: ");
    ud_taken = 0;
    uint32_t ur = user_run(user_main, (uint32_t)(user_stack + sizeof user_stack),
                           EFLAGS_RESERVED1);
    report(ur);

    kprintf("hypercall: done\n");
    return EXIT_OK;
}
