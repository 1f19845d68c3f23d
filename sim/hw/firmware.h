/*
 * firmware.h - the memory a PC BIOS leaves behind for a multiboot kernel.
 *
 * Under `qemu-system-i386 -kernel` SeaBIOS runs before the kernel and
 * leaves tables in low memory that real kernels read: xv6 finds the other
 * CPUs and the I/O APIC through the Intel MP table, which it searches for
 * via the BIOS data area (BDA) words at 0x40E (EBDA segment) and 0x413
 * (base memory in KiB). ringside has no BIOS code; firmware_build() writes
 * the same bytes SeaBIOS writes (measured under QEMU 7.2 with
 * samples/mptable, whose output is the golden tests/golden/mptable.out):
 *
 *   0x400  BDA: COM1 at 0x3F8 (COM2-4 and LPT absent), equipment word
 *          (one serial port, 80x25 colour), EBDA segment 0x9FC0, 639 KiB
 *   0x9FC00 EBDA: its size in KiB (1) in the first byte
 *   0xF5BA0 MP floating pointer (MP spec 1.4, section 4.1), rev 1.4,
 *          feature bytes 0 (virtual wire mode, no IMCR)
 *   0xF5BB0 MP configuration table (section 4.2): OEM "BOCHSCPU", product
 *          "0.1", local APIC at 0xFEE00000, one processor entry per CPU,
 *          buses PCI 0 and ISA 1, the I/O APIC (ID 0, as measured) at
 *          0xFEC00000, the I/O interrupt
 *          entries SeaBIOS writes for QEMU's i440FX, and LINT0 = ExtINT,
 *          LINT1 = NMI.
 *
 * The processor entries carry the CPU's own CPUID signature and feature
 * flags, as SeaBIOS copies them. The two PCI interrupt entries (bus 0) are
 * kept byte for byte although ringside has no PCI devices: a kernel that
 * reads them finds no device behind them, as it would find no device in an
 * empty slot.
 */
#ifndef RS_HW_FIRMWARE_H
#define RS_HW_FIRMWARE_H

#include <stdint.h>

#define FW_EBDA_SEG     0x9FC0u
#define FW_BASE_MEM_KIB 639u
#define FW_MP_FP_ADDR   0xF5BA0u    /* SeaBIOS's F-segment placement */
#define FW_MP_TABLE     0xF5BB0u
#define FW_LAPIC_ADDR   0xFEE00000u
#define FW_IOAPIC_ADDR  0xFEC00000u
#define FW_LAPIC_VER    0x14u       /* QEMU's local APIC version */
#define FW_IOAPIC_VER   0x11u       /* QEMU's I/O APIC version */
#define FW_MAX_CPUS     8

struct fw_cpu_id {
    uint32_t signature;             /* CPUID.1 EAX */
    uint32_t features;              /* CPUID.1 EDX */
};

/* Write the BDA, EBDA and MP tables for `ncpus` CPUs (1..FW_MAX_CPUS) into
   ram (at least 1 MiB). Returns the MP configuration table's length. */
uint32_t firmware_build(uint8_t *ram, int ncpus, struct fw_cpu_id id);

#endif
