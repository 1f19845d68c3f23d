/*
 * trapasm.S - interrupt and exception entry, and the way into ring 3.
 *
 * trap_stubs: one 16-byte stub per vector 0..255. The CPU pushes an error
 * code only for vectors 8, 10-14 and 17 (Intel SDM vol. 3, table 6-1); the
 * other stubs push a 0 in its place so every frame has the same shape. Each
 * stub then pushes its vector number and jumps to trap_common, which saves
 * the general and data segment registers, loads the kernel data segment and
 * calls trap_dispatch(struct trap_frame *). Returning from it unwinds the
 * same frame and IRETs, so a handler can change any saved register (EIP to
 * skip an instruction, EAX for a system call's result).
 *
 * user_run(fn, stack, eflags) saves the callee-saved registers and the
 * kernel stack pointer, then builds an IRET frame (SS, ESP, EFLAGS, CS, EIP)
 * that "returns" to fn at ring 3 (SDM vol. 3, 6.12.1 in reverse). A trap
 * handler later calls user_return(v), which abandons the trap stack and
 * resumes the kernel where user_run was called, returning v.
 */
#define SEL_KDATA 0x10
#define SEL_UCODE 0x1b
#define SEL_UDATA 0x23

    .text
    .align 16
    .globl trap_stubs
trap_stubs:
    .set vec, 0
    .rept 256
    .align 16
    .if (vec == 8) || (vec >= 10 && vec <= 14) || (vec == 17)
    .else
    pushl $0
    .endif
    pushl $vec
    jmp trap_common
    .set vec, vec + 1
    .endr

trap_common:
    pushal
    pushl %ds
    pushl %es
    pushl %fs
    pushl %gs
    mov $SEL_KDATA, %ax
    mov %ax, %ds
    mov %ax, %es
    cld
    pushl %esp                  /* struct trap_frame * */
    call trap_dispatch
    addl $4, %esp
    popl %gs
    popl %fs
    popl %es
    popl %ds
    popal
    addl $8, %esp               /* vector and error code */
    iret

    .globl user_run
user_run:
    pushl %ebp
    pushl %ebx
    pushl %esi
    pushl %edi
    mov %esp, saved_kernel_esp
    mov 20(%esp), %ecx          /* fn */
    mov 24(%esp), %edx          /* user stack top */
    mov 28(%esp), %eax          /* eflags */
    pushl $SEL_UDATA            /* SS */
    pushl %edx                  /* ESP */
    pushl %eax                  /* EFLAGS */
    pushl $SEL_UCODE            /* CS */
    pushl %ecx                  /* EIP */
    mov $SEL_UDATA, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %fs
    mov %ax, %gs
    iret

    .globl user_return
user_return:
    mov 4(%esp), %eax
    cli                         /* the kernel runs with interrupts off */
    mov saved_kernel_esp, %esp
    mov $SEL_KDATA, %cx
    mov %cx, %ds
    mov %cx, %es
    mov %cx, %fs
    mov %cx, %gs
    popl %edi
    popl %esi
    popl %ebx
    popl %ebp
    ret

    .bss
    .align 4
saved_kernel_esp:
    .long 0

    .section .note.GNU-stack, "", @progbits
