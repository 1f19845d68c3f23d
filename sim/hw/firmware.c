/*
 * firmware.c - the BIOS data area and the Intel MP tables (see firmware.h).
 *
 * Layouts from the Intel MultiProcessor Specification 1.4: the floating
 * pointer structure (table 4-1, 16 bytes), the configuration table header
 * (table 4-2, 44 bytes) and its entries (processor 20 bytes, bus, I/O APIC,
 * I/O interrupt and local interrupt 8 bytes each). Both structures carry a
 * checksum byte that makes all their bytes sum to 0 modulo 256.
 */
#include "hw/firmware.h"
#include "le.h"

#include <string.h>

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

/* The byte that makes [p, p+len) sum to zero. */
static uint8_t checksum_of(const uint8_t *p, uint32_t len)
{
    uint8_t s = 0;
    for (uint32_t i = 0; i < len; i++)
        s += p[i];
    return (uint8_t)-s;
}

static void build_bda(uint8_t *ram)
{
    uint8_t *bda = ram + 0x400;
    memset(bda, 0, 0x100);
    put16(bda + 0x00, 0x3F8);                   /* COM1 */
    put16(bda + 0x0E, FW_EBDA_SEG);
    put16(bda + 0x10, 1u << 9 | 2u << 4);       /* one serial port, 80x25 colour */
    put16(bda + 0x13, FW_BASE_MEM_KIB);
    memset(ram + ((uint32_t)FW_EBDA_SEG << 4), 0, 1024);
    ram[(uint32_t)FW_EBDA_SEG << 4] = 1;        /* EBDA size, KiB */
}

/* An 8-byte interrupt entry: type 3 (I/O) or 4 (local). */
static uint8_t *put_int(uint8_t *p, int type, int kind, uint16_t flags, int bus, int irq,
                        int dest, int pin)
{
    p[0] = (uint8_t)type;
    p[1] = (uint8_t)kind;
    put16(p + 2, flags);
    p[4] = (uint8_t)bus;
    p[5] = (uint8_t)irq;
    p[6] = (uint8_t)dest;
    p[7] = (uint8_t)pin;
    return p + 8;
}

static uint8_t *put_cpus(uint8_t *p, int ncpus, struct fw_cpu_id id)
{
    for (int i = 0; i < ncpus; i++, p += 20) {
        memset(p, 0, 20);
        p[1] = (uint8_t)i;                      /* local APIC ID */
        p[2] = FW_LAPIC_VER;
        p[3] = (uint8_t)(1u | (i == 0 ? 2u : 0u)); /* enabled, bootstrap */
        le_put32(p + 4, id.signature);
        le_put32(p + 8, id.features);
    }
    return p;
}

static uint8_t *put_buses_ioapic(uint8_t *p, int ioapic_id)
{
    static const char *const names[2] = { "PCI   ", "ISA   " };
    for (int b = 0; b < 2; b++, p += 8) {
        p[0] = 1;
        p[1] = (uint8_t)b;
        memcpy(p + 2, names[b], 6);
    }
    p[0] = 2;
    p[1] = (uint8_t)ioapic_id;
    p[2] = FW_IOAPIC_VER;
    p[3] = 1;                                   /* enabled */
    le_put32(p + 4, FW_IOAPIC_ADDR);
    return p + 8;
}

/* SeaBIOS's I/O interrupt entries under QEMU: two PCI INTA lines (level,
   active high: flags 1), ISA IRQ 0 on pin 2, the other ISA IRQs on their
   own pins but for 2 (cascade) and the PCI-routed 5, 9, 10 and 11. */
static uint8_t *put_irqs(uint8_t *p, int ioapic_id)
{
    static const uint8_t isa[] = { 0, 1, 3, 4, 6, 7, 8, 12, 13, 14, 15 };
    p = put_int(p, 3, 0, 1, 0, 4, ioapic_id, 9);
    p = put_int(p, 3, 0, 1, 0, 12, ioapic_id, 11);
    for (unsigned i = 0; i < sizeof isa; i++)
        p = put_int(p, 3, 0, 0, 1, isa[i], ioapic_id, isa[i] == 0 ? 2 : isa[i]);
    p = put_int(p, 4, 3, 0, 1, 0, 0, 0);        /* ExtINT -> LINT0 of CPU 0 */
    return put_int(p, 4, 1, 0, 1, 0, 0xFF, 1);  /* NMI -> LINT1 of every CPU */
}

uint32_t firmware_build(uint8_t *ram, int ncpus, struct fw_cpu_id id)
{
    if (ncpus < 1)
        ncpus = 1;
    if (ncpus > FW_MAX_CPUS)
        ncpus = FW_MAX_CPUS;
    build_bda(ram);
    int ioapic_id = 0;
    uint8_t *t = ram + FW_MP_TABLE;
    uint8_t *p = put_irqs(put_buses_ioapic(put_cpus(t + 44, ncpus, id), ioapic_id), ioapic_id);
    uint32_t len = (uint32_t)(p - t);
    memset(t, 0, 44);
    memcpy(t, "PCMP", 4);
    put16(t + 4, (uint16_t)len);
    t[6] = 4;                                   /* spec 1.4 */
    memcpy(t + 8, "BOCHSCPU", 8);
    memcpy(t + 16, "0.1         ", 12);
    put16(t + 34, (uint16_t)(ncpus + 3 + 2 + 11 + 2));
    le_put32(t + 36, FW_LAPIC_ADDR);
    t[7] = checksum_of(t, len);
    uint8_t *fp = ram + FW_MP_FP_ADDR;
    memset(fp, 0, 16);
    memcpy(fp, "_MP_", 4);
    le_put32(fp + 4, FW_MP_TABLE);
    fp[8] = 1;                                  /* length in 16-byte units */
    fp[9] = 4;
    fp[10] = checksum_of(fp, 16);
    return len;
}
