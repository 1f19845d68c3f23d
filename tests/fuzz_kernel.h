/*
 * fuzz_kernel.h - the guest memory layout of the kernel differential fuzzer
 * (tests/fuzz_kernel*.c, docs/fuzzing.md), shared by the fixed guest runtime
 * (fuzz_kernel_rt.S: multiboot header, prologue, exception handlers,
 * epilogue) and the C side that generates programs, builds images and
 * compares runs. Everything lives in one 64 KiB image at FK_BASE plus the
 * generated code at FK_CODE, so the same image is a multiboot ELF for QEMU.
 */
#ifndef RS_FUZZ_KERNEL_H
#define RS_FUZZ_KERNEL_H

#define FK_BASE     0x100000    /* image (and ELF load) address */
#define FK_RT       FK_BASE     /* runtime code: multiboot header first */
#define FK_ENTRY    (FK_BASE + 12)
#define FK_GDT      (FK_BASE + 0x2000)  /* FK_GDT_N descriptors */
#define FK_GDT_N    16
#define FK_TSS      (FK_BASE + 0x2100)
#define FK_VARS     (FK_BASE + 0x2200)  /* see FKV_* */
#define FK_SCRATCH  (FK_BASE + 0x2800)  /* epilogue scratch stack top */
#define FK_IDT      (FK_BASE + 0x2800)  /* 256 gates (grows up from here) */
#define FK_PD       (FK_BASE + 0x3000)
#define FK_PT       (FK_BASE + 0x4000)  /* maps linear 0 .. 4 MiB */
#define FK_LOG      (FK_BASE + 0x5000)  /* FK_LOG_MAX entries of 8 dwords */
#define FK_LOG_MAX  32
#define FK_DUMP     (FK_BASE + 0x5800)  /* FKD_* dwords */
#define FK_DATA     (FK_BASE + 0x6000)  /* pages 0-4, see FK_PAGE_* */
#define FK_STK3     (FK_BASE + 0xC000)  /* ring-3 stack top */
#define FK_STK0     (FK_BASE + 0xD000)  /* ring-0 stack top */
#define FK_CODE     (FK_BASE + 0x10000) /* generated program */
#define FK_CODE_MAX 0x4000
#define FK_IMAGE    (FK_CODE - FK_BASE + FK_CODE_MAX)
#define FK_CMP_LO   (FK_BASE + 0x3000)  /* compared/checksummed: page tables .. stacks */
#define FK_CMP_HI   (FK_BASE + 0xD000)

/* Data pages under paging: 0, 1 read/write user; 2 read-only; 3 not present;
   4 supervisor only (with paging off all five are plain RAM). */
#define FK_PAGE(n)  (FK_DATA + 0x1000 * (n))

/* FK_VARS offsets */
#define FKV_GDTR    0x00
#define FKV_IDTR    0x08
#define FKV_RESUME  0x10        /* where a handled exception resumes */
#define FKV_CONFIG  0x14        /* FKC_* */
#define FKV_LOGN    0x18        /* log entries written */
#define FKV_EFL     0x1C        /* initial EFLAGS */
#define FKV_REGS    0x20        /* initial registers, in PUSHAD layout */
#define FKV_SAVE    0x40        /* handler scratch */
#define FKC_PAGING  1
#define FKC_RING3   2
#define FKC_PRINT   4           /* epilogue prints the dump on COM1 */

/* FK_DUMP dword indexes */
#define FKD_REGS    0           /* eax ecx edx ebx esp ebp esi edi */
#define FKD_EFL     8
#define FKD_LOGN    9
#define FKD_SUM     10          /* checksum of FK_CMP_LO..HI (print mode only) */
#define FKD_DONE    11          /* 0x600DD0E once the epilogue ran */
#define FKD_N       12

/* Log entry dword indexes */
#define FKL_VEC 0
#define FKL_ERR 1
#define FKL_CR2 2               /* vector 14 only */
#define FKL_EIP 3
#define FKL_EFL 4               /* frame EFLAGS & FK_EFL_MASK */
#define FKL_CPL 5               /* frame CS & 3 */

#define FK_EFL_MASK 0x0DD5      /* arithmetic flags, TF, DF */
#define FK_VEC_SOFT 0x30        /* INT 0x30: logged, returns normally */
#define FK_VEC_END  0x31        /* INT 0x31: ring-3 programs end here */

#ifndef __ASSEMBLER__
#include <stdbool.h>
#include <stdint.h>

/* What a program unit exercises. Each kind is a generator feature that can
   be switched on or off (fk_kind_info); a divergence is classed by the
   kinds of the units its minimal reproducer keeps. */
enum fk_kind {
    K_ALU, K_MEM, K_STACK, K_BRANCH, K_FAULT, K_SEG, K_FAR, K_FARPTR, K_STRING, K_IO,
    K_LOCK, K_PT, K_SENS, K_INT, K_EXC, K_PRIV,
    /* kinds that diverge on main today (fk_kind_info says which fix each waits for) */
    K_RMW, K_SEG_HOSTILE, K_FARPTR_PF, K_FAR_PF, K_STRING_PF, K_IO_PF, K_LOCK_UD,
    K_INT_EXC, K_XADD_RR,
    K_COUNT,
    /* program options, switched like kinds */
    KO_PAGING = K_COUNT, KO_RING3, KO_IOPL3, KO_COUNT
};

struct fk_kind_info {
    const char *name;
    const char *waits;      /* NULL: agrees on main, in the quick run */
};
extern const struct fk_kind_info fk_kind_info[KO_COUNT];

#define FK_MAX_UNITS 32
#define FK_UNIT_MAX 120

struct fk_unit {
    uint8_t kind;           /* enum fk_kind */
    uint8_t n;              /* body bytes */
    uint8_t nrel;           /* relocations */
    uint8_t rel[3];         /* offsets of imm32s holding unit-relative addresses */
    uint8_t b[FK_UNIT_MAX];
};

struct fk_prog {
    uint32_t seed;
    uint32_t config;        /* FKC_* */
    uint32_t eflags;        /* initial EFLAGS */
    uint32_t regs[8];       /* initial EAX..EDI (ESP ignored) */
    int n;
    struct fk_unit u[FK_MAX_UNITS];
};

/* Generate the program for `seed` with the features in `enabled`
   (bit per enum fk_kind / KO_*). Deterministic. */
void fk_gen(struct fk_prog *p, uint32_t seed, uint64_t enabled);
/* The guest image (FK_IMAGE bytes loaded at FK_BASE) for a program;
   returns the code length. */
uint32_t fk_image(const struct fk_prog *p, uint8_t *img);
/* Where unit i starts in guest memory (after fk_image). */
uint32_t fk_unit_addr(const struct fk_prog *p, int i);
#endif

#endif
