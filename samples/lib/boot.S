/*
 * boot.S - multiboot v1 header and the entry point of every sample kernel.
 *
 * A multiboot loader (QEMU's -kernel, GRUB, or ringside's loader) finds the
 * header below in the first 8 KiB of the file, loads the ELF segments at
 * their physical addresses and jumps to _start in 32-bit protected mode with
 * flat segments, paging and interrupts off, EAX = 0x2BADB002 and EBX = the
 * physical address of the multiboot information structure (Multiboot
 * Specification 0.6.96, section 3.2). The loader's stack is not to be
 * trusted, so _start switches to its own, clears .bss (a loader should have
 * done that, but the kernel does not rely on it), calls
 * kmain(magic, mbi) and passes kmain's return value to kexit().
 */
#define MB_HEADER_MAGIC 0x1BADB002
#define MB_HEADER_FLAGS 0x00000003   /* bit 0: page-align modules, bit 1: want mem info */

    .section .multiboot, "a"
    .align 4
    .long MB_HEADER_MAGIC
    .long MB_HEADER_FLAGS
    .long -(MB_HEADER_MAGIC + MB_HEADER_FLAGS)

    .section .bss
    .align 16
boot_stack:
    .skip 16384
boot_stack_top:

    .text
    .globl _start
_start:
    cli
    cld
    mov $boot_stack_top, %esp
    xor %ebp, %ebp
    mov %eax, %esi              /* keep magic and mbi across the clear */
    mov %ebx, %edx
    mov $__bss_start, %edi
    mov $__bss_end, %ecx
    sub %edi, %ecx
    xor %eax, %eax
    rep stosb
    push %edx                   /* kmain(magic, mbi) */
    push %esi
    call kmain
    push %eax
    call kexit
1:  hlt
    jmp 1b

    .section .note.GNU-stack, "", @progbits
