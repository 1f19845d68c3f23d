/*
 * dirty.S - test kernels for the dirty log and live migration, selected by
 * -DDIRTY=n (tests/test_dirtylog.c, tests/test_migrate.c, make bench):
 *   1  patch: turn paging on (an identity page table for the first 4 MiB),
 *      then spin on `mov $1, %eax; cmp $2, %eax` until someone outside the
 *      guest patches the immediate to 2 (exit value 0, status 1); after
 *      2,000,000 turns unpatched it gives up (exit value 1, status 3). A
 *      stale decoded or translated copy of the loop never sees the patch.
 *   2  writer: PASSES sweeps over NPAGES pages at 4 MiB; each page is filled
 *      with 1024 words of a linear congruential sequence seeded by the pass
 *      and the page (incompressible, and different on every pass), then
 *      DELAY turns of a delay loop set the write rate. After each sweep a
 *      line "pass P last X" (hex), then exit value 0. Interrupts stay off,
 *      so the output and the pages written depend on nothing but the code.
 *   3  idle: its own GDT and an IDT whose vector 8 (IRQ 0, where the PIC is
 *      left at boot) counts the firmware's 18.2 Hz timer ticks; halts
 *      between ticks, printing "tick N" every TICKS/4 ticks, exit value 0
 *      after TICKS ticks. It writes almost nothing: a migration's one round.
 * Every line goes to COM1.
 */
    .set MB_MAGIC, 0x1BADB002
    .set MB_FLAGS, 0x00000003
    .section .multiboot, "a"
    .align 4
    .long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

    .set BUF, 0x400000
#ifndef NPAGES
#define NPAGES 64
#endif
#ifndef PASSES
#define PASSES 8
#endif
#ifndef DELAY
#define DELAY 0
#endif
#ifndef TICKS
#define TICKS 16
#endif

    .text
    .globl _start
_start:
    mov $stack_top, %esp
#if DIRTY == 1
    mov $msg_patch, %esi
    call puts
    mov $pt0, %edi                  /* PT: the first 4 MiB, identity */
    mov $0x003, %eax
1:  mov %eax, (%edi)
    add $4, %edi
    add $0x1000, %eax
    cmp $0x400003, %eax
    jne 1b
    mov $pt0 + 3, %eax
    mov %eax, pgdir
    mov $pgdir, %eax
    mov %eax, %cr3
    mov %cr0, %eax
    or $0x80000000, %eax
    mov %eax, %cr0
    xor %ebx, %ebx
spin:
    mov $1, %eax                    /* the patch site: B8 01 00 00 00 */
    cmp $2, %eax
    je patched
    inc %ebx
    cmp $2000000, %ebx
    jb spin
    mov $1, %al
    jmp exit
patched:
    xor %eax, %eax
#elif DIRTY == 2
    mov $msg_writer, %esi
    call puts
    xor %ebp, %ebp                  /* pass */
pass:
    xor %esi, %esi                  /* page */
page:
    mov %esi, %edi
    shl $12, %edi
    add $BUF, %edi
    mov %ebp, %eax
    imul $0x10001, %eax, %eax
    add %esi, %eax
    mov $1024, %ecx
fill:
    imul $1103515245, %eax, %eax
    add $12345, %eax
    mov %eax, (%edi)
    add $4, %edi
    dec %ecx
    jnz fill
#if DELAY
    mov $DELAY, %ecx
2:  dec %ecx
    jnz 2b
#endif
    inc %esi
    cmp $NPAGES, %esi
    jb page
    mov %eax, %ebx
    mov $msg_pass, %esi
    call puts
    mov %ebp, %eax
    call hex
    mov $msg_last, %esi
    call puts
    mov %ebx, %eax
    call hex
    mov $msg_nl, %esi
    call puts
    inc %ebp
    cmp $PASSES, %ebp
    jb pass
    xor %eax, %eax
#elif DIRTY == 3
    mov $msg_idle, %esi
    call puts
    lgdt gdt_desc
    ljmp $0x08, $1f
1:  mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov $tick_isr, %eax             /* IDT entry 8: a 32-bit interrupt gate */
    mov %ax, idt + 64
    movw $0x08, idt + 66
    movw $0x8E00, idt + 68
    shr $16, %eax
    mov %ax, idt + 70
    lidt idt_desc
    sti
2:  hlt
    mov ticks, %eax
    cmp %eax, shown
    je 2b
    mov %eax, shown
    test $(TICKS / 4 - 1), %eax
    jnz 3f
    mov $msg_tick, %esi
    call puts
    mov ticks, %eax
    call hex
    mov $msg_nl, %esi
    call puts
3:  cmpl $TICKS, ticks
    jb 2b
    cli
    xor %eax, %eax
#endif
exit:
    mov $0xf4, %dx
    out %al, %dx
    jmp .

#if DIRTY == 3
tick_isr:
    push %eax
    incl ticks
    mov $0x20, %al                  /* EOI to the master PIC */
    out %al, $0x20
    pop %eax
    iret
#endif

/* COM1 <- the NUL-terminated string at ESI. */
puts:
    mov $0x3f8, %dx
3:  lodsb
    test %al, %al
    jz 4f
    out %al, %dx
    jmp 3b
4:  ret

/* COM1 <- EAX as 8 hex digits. */
hex:
    push %ecx
    mov %eax, %edi
    mov $8, %ecx
    mov $0x3f8, %dx
5:  rol $4, %edi
    mov %edi, %eax
    and $15, %eax
    movb hexdig(%eax), %al
    out %al, %dx
    dec %ecx
    jnz 5b
    pop %ecx
    ret

    .data
msg_patch:
    .asciz "patch\n"
msg_writer:
    .asciz "writer\n"
msg_pass:
    .asciz "pass "
msg_last:
    .asciz " last "
msg_nl:
    .asciz "\n"
msg_idle:
    .asciz "idle\n"
msg_tick:
    .asciz "tick "
hexdig:
    .ascii "0123456789abcdef"
    .align 8
gdt:
    .quad 0, 0x00CF9A000000FFFF, 0x00CF92000000FFFF
gdt_desc:
    .word 23
    .long gdt
    .align 8
idt:
    .space 256
idt_desc:
    .word 255
    .long idt
    .align 4
ticks:
    .long 0
shown:
    .long 0
    .align 16
stack:
    .space 256
stack_top:
    .align 4096
pgdir:
    .space 4096
pt0:
    .space 4096
