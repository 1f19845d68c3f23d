/*
 * hostile.h - shared helpers of the hostile guest kernels (tests/hostile).
 *
 * Each hostile kernel attacks the VMM's isolation through segmentation or
 * the descriptor tables (docs/isolation.md) and prints on COM1 what it can
 * observe, so that tests/test_isolation.c can compare the output under
 * --mode trap and --mode bt with native (and native with QEMU) byte for
 * byte. The helpers give each kernel its own GDT (up to 8192 entries; the
 * library's six entries are copied into it so the trap stubs keep working)
 * and probes that read or write through a segment register with a fault
 * caught and reported instead of ending the run.
 */
#ifndef HOSTILE_H
#define HOSTILE_H

#include "kernel.h"

/* access byte values */
#define ACC_DATA_RW   0x93u   /* data, read/write, accessed, DPL 0 */
#define ACC_DATA_DOWN 0x97u   /* data, expand-down, read/write, accessed */
#define ACC_CODE_RX   0x9Bu   /* code, execute/read, accessed, DPL 0 */
#define ACC_LDT       0x82u   /* LDT system descriptor */
/* flags nibble */
#define FL_G  0x8u
#define FL_DB 0x4u

static inline uint64_t hx_desc(uint32_t base, uint32_t raw_limit, uint8_t access, uint8_t flags)
{
    uint64_t d = raw_limit & 0xFFFFu;
    d |= (uint64_t)(base & 0xFFFFFFu) << 16;
    d |= (uint64_t)access << 40;
    d |= (uint64_t)((raw_limit >> 16) & 0xFu) << 48;
    d |= (uint64_t)(flags & 0xFu) << 52;
    d |= (uint64_t)(base >> 24) << 56;
    return d;
}

/* The kernel's own GDT: hx_gdt_init(n) copies the library's entries into
   the first six and loads it with n entries. */
extern uint64_t hx_gdt[8192];
void hx_gdt_init(unsigned entries);
/* LGDT again (after writing entries: a VMM rebuilds its shadow on LGDT, so
   the attack does not depend on the VMM following GDT writes). */
void hx_gdt_lgdt(void);
/* Make `entries` entries at `table` an LDT, described by GDT slot `slot`,
   and load it. */
void hx_ldt_load(unsigned slot, uint64_t *table, unsigned entries);

/* Probes through FS (the library never uses FS): load `sel` into FS and
   access fs:off. Return 0 or the vector of the fault (error code in
   hx_err). A fault while loading FS is reported the same way. */
extern volatile uint32_t hx_err, hx_cr2;   /* of the last caught fault */
int hx_load_fs(uint16_t sel);
int hx_read32(uint32_t off, uint32_t *val);    /* FS as it is loaded */
int hx_write32(uint32_t off, uint32_t val);

/* Print "name: value" or "name: fault #GP(err)". */
void hx_show_read(const char *name, uint32_t off);
void hx_show_write(const char *name, uint32_t off, uint32_t val);
void hx_show_load(const char *name, uint16_t sel);
void hx_catch_init(void);   /* #GP, #SS, #NP, #PF, #UD handlers that resume */
/* int $0x41 with faults caught: 0 or the vector (a handler for 0x41 runs as usual). */
int hx_int41(void);

#endif
