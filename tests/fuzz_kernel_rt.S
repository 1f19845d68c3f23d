/*
 * fuzz_kernel_rt.S - the fixed guest runtime of the kernel differential
 * fuzzer (docs/fuzzing.md), assembled as 32-bit code into the test binary's
 * read-only data and copied to guest address FK_BASE with each generated
 * program. Written once here instead of as byte arrays in C so it can be
 * read; it is the same bytes for every program and every engine, and it is
 * a multiboot kernel's start, so a case written out as an ELF boots the same
 * way under QEMU.
 *
 * What it does: load the GDT/IDT/TSS the C side built in the image, turn
 * paging on if asked, load the initial registers and flags, enter the
 * program at ring 0 or ring 3. Every exception vector goes to a stub that
 * appends (vector, error code, CR2, EIP, EFLAGS, CPL) to the log in guest
 * memory and resumes at the address the current program unit stored in
 * FKV_RESUME (the end of the unit), so a faulting instruction is skipped.
 * INT 0x30 is logged and returns; the program ends with a jump to epi0
 * (ring 0) or INT 0x31 (ring 3): the epilogue stores the registers and
 * flags into the dump, and in print mode checksums memory and prints the
 * dump and the log on COM1 before writing isa-debug-exit.
 *
 * The runtime avoids visible use of the sensitive instructions: what it
 * stores never depends on them, so only the program's own instructions
 * can leak under trap-and-emulate.
 */
#include "fuzz_kernel.h"

#define A(x) (FK_BASE + ((x) - fkrt_start))
#define V(o) (FK_VARS + (o))

    .section .rodata.fkrt, "a"
    .globl fkrt_start, fkrt_end, fkrt_stubs, fkrt_epi0, fkrt_epi3
    .code32
fkrt_start:
    .long 0x1BADB002, 0, -0x1BADB002        /* multiboot header, no flags */
entry:
    cli
    lgdt V(FKV_GDTR)
    lidt V(FKV_IDTR)
    ljmp $0x08, $A(1f)
1:  movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %fs
    movw %ax, %gs
    movw %ax, %ss
    movl $FK_STK0, %esp
    movb $0xFF, %al
    outb %al, $0x21
    outb %al, $0xA1
    movw $0x28, %ax
    ltr %ax
    testl $FKC_PAGING, V(FKV_CONFIG)
    jz 2f
    movl $FK_PD, %eax
    movl %eax, %cr3
    movl %cr0, %eax
    orl $0x80010000, %eax                   /* PG | WP */
    movl %eax, %cr0
2:  testl $FKC_RING3, V(FKV_CONFIG)
    jnz ring3
    pushl V(FKV_EFL)
    popfl
    movl $V(FKV_REGS), %esp
    popal
    movl $FK_STK0, %esp
    .byte 0xE9                               /* jmp FK_CODE */
    .long FK_CODE - A(11f)
11:
ring3:
    movw $0x23, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %fs
    movw %ax, %gs
    movl $V(FKV_REGS), %esp
    popal
    movl $FK_STK0, %esp
    pushl $0x23
    pushl $FK_STK3
    pushl %ss:V(FKV_EFL)
    pushl $0x1B
    pushl $FK_CODE
    iret

/* Exception stubs, 16 bytes apart: vector v at fkrt_stubs + 16 * v. */
    .balign 16
fkrt_stubs:
    .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .balign 16
    .if (\v == 8) || (\v >= 10 && \v <= 14) || (\v == 17)
    pushl $\v
    .else
    pushl $0
    pushl $\v
    .endif
    jmp common
    .endr
    .balign 16
stub_soft:                                   /* fkrt_stubs + 16 * 32 */
    pushl $0
    pushl $FK_VEC_SOFT
    jmp common

/* stack: vec, err, eip, cs, eflags [, esp, ss] */
common:
    movl %eax, %ss:V(FKV_SAVE)
    movl %ebx, %ss:V(FKV_SAVE + 4)
    movw %ds, %ss:V(FKV_SAVE + 8)
    movw %es, %ss:V(FKV_SAVE + 12)
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movl V(FKV_LOGN), %eax
    cmpl $FK_LOG_MAX, %eax
    jae overflow
    shll $5, %eax
    addl $FK_LOG, %eax
    movl 0(%esp), %ebx
    movl %ebx, 4 * FKL_VEC(%eax)
    movl 4(%esp), %ebx
    movl %ebx, 4 * FKL_ERR(%eax)
    xorl %ebx, %ebx
    cmpl $14, 0(%esp)
    jne 3f
    movl %cr2, %ebx
3:  movl %ebx, 4 * FKL_CR2(%eax)
    movl 8(%esp), %ebx
    movl %ebx, 4 * FKL_EIP(%eax)
    movl 16(%esp), %ebx
    andl $FK_EFL_MASK, %ebx
    movl %ebx, 4 * FKL_EFL(%eax)
    movl 12(%esp), %ebx
    andl $3, %ebx
    movl %ebx, 4 * FKL_CPL(%eax)
    incl V(FKV_LOGN)
    cmpl $0x20, 0(%esp)
    jae 4f
    movl V(FKV_RESUME), %ebx
    movl %ebx, 8(%esp)
4:  movw %ss:V(FKV_SAVE + 12), %es
    movw %ss:V(FKV_SAVE + 8), %ds
    movl %ss:V(FKV_SAVE + 4), %ebx
    movl %ss:V(FKV_SAVE), %eax
    addl $8, %esp
    iret
overflow:                                    /* too many exceptions: end the run */
    movl %ss:V(FKV_SAVE + 4), %ebx
    movl %ss:V(FKV_SAVE), %eax
    jmp fkrt_epi0

/* The end of a ring-3 program: INT 0x31 (a DPL 3 gate). */
fkrt_epi3:
    movl %eax, %ss:FK_DUMP + 4 * 0
    movl 12(%esp), %eax                      /* the ring-3 ESP */
    movl %eax, %ss:FK_DUMP + 4 * 4
    movl 8(%esp), %eax                       /* the ring-3 EFLAGS */
    movl %eax, %ss:FK_DUMP + 4 * FKD_EFL
    jmp 5f

/* The end of a ring-0 program: jmp fkrt_epi0. */
fkrt_epi0:
    movl %eax, %ss:FK_DUMP + 4 * 0
    movl %esp, %ss:FK_DUMP + 4 * 4
    movl $FK_SCRATCH, %esp                   /* PUSHF away from compared memory */
    pushfl
    popl %eax
    movl %eax, %ss:FK_DUMP + 4 * FKD_EFL
5:  movl %ecx, %ss:FK_DUMP + 4 * 1
    movl %edx, %ss:FK_DUMP + 4 * 2
    movl %ebx, %ss:FK_DUMP + 4 * 3
    movl %ebp, %ss:FK_DUMP + 4 * 5
    movl %esi, %ss:FK_DUMP + 4 * 6
    movl %edi, %ss:FK_DUMP + 4 * 7
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movl $FK_SCRATCH, %esp
    cld
    andl $FK_EFL_MASK, FK_DUMP + 4 * FKD_EFL
    movl V(FKV_LOGN), %eax
    movl %eax, FK_DUMP + 4 * FKD_LOGN
    movl $0x600DD0E, FK_DUMP + 4 * FKD_DONE
    movl %cr0, %eax                          /* paging off: read every page */
    andl $0x7FFFFFFF, %eax
    movl %eax, %cr0
    testl $FKC_PRINT, V(FKV_CONFIG)
    jz exit
    xorl %eax, %eax                          /* checksum */
    movl $FK_CMP_LO, %esi
6:  addl (%esi), %eax
    roll $1, %eax
    addl $4, %esi
    cmpl $FK_CMP_HI, %esi
    jb 6b
    movl %eax, FK_DUMP + 4 * FKD_SUM
    movl $FK_DUMP, %esi
    movl $FKD_N, %ecx
    call print_line
    movl V(FKV_LOGN), %ebx
    cmpl $FK_LOG_MAX, %ebx
    jbe 7f
    movl $FK_LOG_MAX, %ebx
7:  movl $FK_LOG, %esi
8:  testl %ebx, %ebx
    jz exit
    movl $6, %ecx
    call print_line
    addl $8, %esi                            /* 8 dwords an entry, 6 printed */
    decl %ebx
    jmp 8b
exit:
    xorl %eax, %eax
    outb %al, $0xF4
9:  hlt
    jmp 9b

/* Print ECX dwords from ESI as hex, then a newline; ESI advances. */
print_line:
    lodsl
    movl %eax, %edx
    pushl %ecx
    movl $8, %ecx
10: roll $4, %edx
    movl %edx, %eax
    andl $15, %eax
    movb A(hexdigits)(%eax), %al
    call putc
    loop 10b
    movb $' ', %al
    call putc
    popl %ecx
    loop print_line
    movb $'\n', %al
putc:
    pushl %edx
    movw $0x3F8, %dx
    outb %al, %dx
    popl %edx
    ret
hexdigits:
    .ascii "0123456789abcdef"
fkrt_end:
    .section .note.GNU-stack, "", @progbits
