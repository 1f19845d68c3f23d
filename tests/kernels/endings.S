/*
 * endings.S - tiny multiboot kernels that end a run in each documented way,
 * for the exit-status contract tests. One source, selected by -DENDING=n:
 *   1  write 0x2a to isa-debug-exit        -> status (0x2a << 1) | 1 = 85
 *   2  triple fault (load an empty IDT, then fault)  -> status 4
 *   3  cli; hlt                            -> status 6
 *   4  spin forever (jmp .)                -> status 8 with --max-insns
 * Each prints one line on COM1 first, so the output contract is checked too.
 */
    .set MB_MAGIC, 0x1BADB002
    .set MB_FLAGS, 0x00000003
    .section .multiboot, "a"
    .align 4
    .long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

    .text
    .globl _start
_start:
    mov $msg, %esi
1:  lodsb
    test %al, %al
    jz 2f
    mov $0x3f8, %dx
    out %al, %dx
    jmp 1b
2:
#if ENDING == 1
    mov $0xf4, %dx
    mov $0x2a, %al
    out %al, %dx
#elif ENDING == 2
    lidt idt_empty
    int $3
#elif ENDING == 3
    cli
    hlt
#endif
    jmp .

    .data
idt_empty:
    .word 0
    .long 0
msg:
    .asciz "ending\n"
