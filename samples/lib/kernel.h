/*
 * kernel.h - the tiny support library shared by every ringside guest kernel.
 *
 * The sample kernels are meant to be read by students, so the machinery they
 * all need lives here once: the multiboot entry (boot.S), COM1 output and a
 * small printf (console.c), string functions (string.c), the flat GDT, the
 * IDT and the TSS (desc.c), exception/IRQ entry stubs and a C dispatcher that
 * receives a register frame (trapasm.S, trap.c), the 8259A PIC and 8254 PIT
 * (pic.c) and entering ring 3 plus system calls (trapasm.S, user.c).
 *
 * Everything targets the PC subset described in DESIGN.md section 4, and
 * behaves identically under QEMU and ringside, so the printed output can be
 * compared byte for byte. Exit convention (see samples/README.md): a kernel
 * ends with kexit(v), which writes v to the isa-debug-exit port 0xF4; QEMU
 * then exits with status (v << 1) | 1. v = 0 means success (status 1).
 */
#ifndef SAMPLES_KERNEL_H
#define SAMPLES_KERNEL_H

#include <stdint.h>
#include <stddef.h>
#include <stdarg.h>

/* ---- exit codes (written to port 0xF4) ---------------------------------- */
#define EXIT_OK          0  /* everything printed as expected */
#define EXIT_FAIL        1  /* a self-check in the kernel failed */
#define EXIT_BAD_TRAP    2  /* an exception or interrupt nobody expected */
#define EXIT_BAD_BOOT    3  /* not started by a multiboot loader */

/* ---- multiboot v1 (Multiboot Specification 0.6.96, section 3.3) ---------- */
#define MB_BOOT_MAGIC   0x2BADB002u /* in EAX when the loader jumps to us */
#define MB_INFO_MEM     0x001u      /* mem_lower / mem_upper valid */
#define MB_INFO_CMDLINE 0x004u      /* cmdline valid */

struct multiboot_info {
    uint32_t flags;       /* which of the fields below are valid */
    uint32_t mem_lower;   /* KiB of memory below 1 MiB */
    uint32_t mem_upper;   /* KiB of memory from 1 MiB to the first hole */
    uint32_t boot_device; /* BIOS drive the kernel came from */
    uint32_t cmdline;     /* physical address of a NUL-terminated string */
    uint32_t mods_count;  /* number of boot modules */
    uint32_t mods_addr;   /* physical address of the module list */
};

const char *mb_cmdline(const struct multiboot_info *mbi);
const char *mb_args(const struct multiboot_info *mbi);
unsigned mb_arg_uint(const struct multiboot_info *mbi, const char *key, unsigned dflt);

/* Every kernel defines kmain; its return value is passed to kexit(). */
int kmain(uint32_t magic, struct multiboot_info *mbi);

/* ---- port I/O ------------------------------------------------------------ */
static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline void outw(uint16_t port, uint16_t v)
{
    __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint16_t inw(uint16_t port)
{
    uint16_t v;
    __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

__attribute__((noreturn)) void kexit(unsigned code);

/* ---- console (COM1) and formatting --------------------------------------- */
void con_init(void);
void con_putc(char c);
void con_write(const char *s, size_t n);
int kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int ksnprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- strings (string.c) -------------------------------------------------- */
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strcpy(char *dst, const char *src);
char *strchr(const char *s, int c);

/* ---- segments: GDT, IDT, TSS (desc.c) ------------------------------------ */
#define SEL_KCODE 0x08  /* ring-0 flat code */
#define SEL_KDATA 0x10  /* ring-0 flat data (and stack) */
#define SEL_UCODE 0x1b  /* ring-3 flat code, RPL 3 */
#define SEL_UDATA 0x23  /* ring-3 flat data, RPL 3 */
#define SEL_TSS   0x28  /* the one 32-bit TSS */
#define GDT_ENTRIES 6

#define GATE_INTR 0xE   /* 32-bit interrupt gate: clears IF on entry */
#define GATE_TRAP 0xF   /* 32-bit trap gate: leaves IF alone */

void desc_init(void);   /* GDT + TSS + IDT (all 256 vectors) loaded */
void idt_set_gate(int vector, int type, int dpl);
/* Point a gate at the kernel's own entry code (no trap_frame, no C). */
void idt_set_handler(int vector, void (*entry)(void), int type, int dpl);
void tss_set_esp0(uint32_t esp0);

/* ---- traps (trapasm.S, trap.c) ------------------------------------------- */
/* The register frame built by trap_common; field order mirrors the pushes. */
struct trap_frame {
    uint32_t gs, fs, es, ds;                       /* pushed by trap_common */
    uint32_t edi, esi, ebp, esp_unused, ebx, edx, ecx, eax; /* PUSHAD */
    uint32_t vector;    /* pushed by the per-vector stub */
    uint32_t err;       /* CPU error code, or 0 pushed by the stub */
    uint32_t eip, cs, eflags; /* pushed by the CPU */
    uint32_t user_esp, user_ss; /* pushed by the CPU only on a ring change */
};

typedef void (*trap_handler_t)(struct trap_frame *tf);
void trap_set_handler(int vector, trap_handler_t h);
void trap_dispatch(struct trap_frame *tf);   /* called from trap_common */
const char *trap_name(int vector);

#define IRQ_BASE 0x20   /* PIC vectors after pic_remap(): IRQ n -> 0x20 + n */

/* ---- 8259A PIC and 8254 PIT (pic.c) -------------------------------------- */
void pic_remap(void);           /* master 0x20-0x27, slave 0x28-0x2f, all masked */
void pic_unmask(int irq);
void pic_mask(int irq);
void pic_eoi(int irq);
void pit_set_divisor(uint16_t div); /* channel 0, mode 2, 1193182 / div Hz */

/* ---- ring 3 and system calls (trapasm.S, user.c) -------------------------- */
#define EFLAGS_IF 0x200u
#define EFLAGS_RESERVED1 0x002u
#define SYSCALL_VECTOR 0x80

/* Run fn at ring 3 on the given stack, with the given EFLAGS. Returns the
   value passed to user_return() by a kernel trap handler. */
uint32_t user_run(void (*fn)(void), uint32_t user_stack_top, uint32_t eflags);
__attribute__((noreturn)) void user_return(uint32_t value);

static inline uint32_t syscall3(uint32_t n, uint32_t a, uint32_t b, uint32_t c)
{
    uint32_t ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(n), "b"(a), "c"(b), "d"(c)
                     : "memory");
    return ret;
}

int uprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- small helpers ------------------------------------------------------- */
static inline uint32_t read_eflags(void)
{
    uint32_t f;
    __asm__ volatile("pushfl; popl %0" : "=r"(f));
    return f;
}

static inline uint32_t read_cr0(void)
{
    uint32_t v;
    __asm__ volatile("mov %%cr0, %0" : "=r"(v));
    return v;
}

static inline uint32_t read_cr2(void)
{
    uint32_t v;
    __asm__ volatile("mov %%cr2, %0" : "=r"(v));
    return v;
}

static inline void write_cr0(uint32_t v) { __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory"); }
static inline void write_cr3(uint32_t v) { __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory"); }
static inline void write_cr4(uint32_t v) { __asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory"); }

static inline uint32_t read_cr4(void)
{
    uint32_t v;
    __asm__ volatile("mov %%cr4, %0" : "=r"(v));
    return v;
}

static inline void invlpg(const void *va)
{
    __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGNED_PAGE __attribute__((aligned(4096)))

/* A zeroed variable at a fixed place in the memory map (link.ld): the
   sections .bss.fixed.* are laid out from 2 MiB up, sorted by `key`, so
   printed addresses do not depend on the compiler. Use page-sized or
   page-aligned objects, and keys like "10_name" to choose the order. */
#define FIXED(key) __attribute__((section(".bss.fixed." key), aligned(4096)))

#endif
