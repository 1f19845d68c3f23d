/*
 * endings.S - tiny multiboot kernels that end a run in each documented way,
 * for the exit-status contract tests. One source, selected by -DENDING=n:
 *   1  write 0x2a to isa-debug-exit        -> status (0x2a << 1) | 1 = 85
 *   2  triple fault (load an empty IDT, then fault)  -> status 4
 *   3  cli; hlt                            -> status 6
 *   4  spin forever (jmp .)                -> status 8 with --max-insns
 *   5  print numbered lines forever        (killed-run output tests)
 *   6  print 1000 numbered lines and "tail" (no newline), then spin
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
#elif ENDING == 5 || ENDING == 6
    mov $stack_top, %esp
    xor %ebx, %ebx
3:  call line
    inc %ebx
#if ENDING == 6
    cmp $1000, %ebx
    jne 3b
    mov $tail, %esi
    call puts
#else
    jmp 3b
#endif
#endif
    jmp .

#if ENDING == 5 || ENDING == 6
/* "line XXXXXXXX the quick brown fox\n" with EBX in hex. */
line:
    mov $head, %esi
    call puts
    mov $8, %ecx
    mov %ebx, %edi
4:  rol $4, %edi
    mov %edi, %eax
    and $15, %eax
    movb hexdig(%eax), %al
    out %al, %dx
    loop 4b
    mov $body, %esi
    /* fall through */
puts:
    mov $0x3f8, %dx
5:  lodsb
    test %al, %al
    jz 6f
    out %al, %dx
    jmp 5b
6:  ret
#endif

    .data
head:
    .asciz "line "
body:
    .asciz " the quick brown fox\n"
tail:
    .asciz "tail"
hexdig:
    .ascii "0123456789abcdef"
    .align 16
stack:
    .space 256
stack_top:
idt_empty:
    .word 0
    .long 0
msg:
    .asciz "ending\n"
