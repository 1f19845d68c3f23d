/*
 * mptable.c - read the firmware's tables the way xv6 and other MP kernels
 * do: the BIOS data area words (COM ports, EBDA segment, base memory), the
 * Intel MP floating pointer (searched in the first KiB of the EBDA, the last
 * KiB of base memory, then the BIOS ROM 0xF0000-0xFFFFF, as the MP spec 1.4
 * section 4 says), and the MP configuration table with all its entries.
 *
 * Everything is printed with the checksums verified, so the output under
 * qemu-system-i386 (SeaBIOS) is the golden the simulated firmware must
 * reproduce byte for byte.
 */
#include "kernel.h"

/* Physical memory by address. The empty asm hides the constant from GCC,
   which otherwise takes a low address such as 0x40E for a null pointer's
   offset (-Warray-bounds). */
static volatile void *phys(uint32_t pa)
{
    __asm__("" : "+r"(pa));
    return (volatile void *)pa;
}
static uint16_t rd16(uint32_t pa) { return *(volatile uint16_t *)phys(pa); }
static uint32_t rd32(uint32_t pa) { return *(volatile uint32_t *)phys(pa); }
static uint8_t rd8(uint32_t pa) { return *(volatile uint8_t *)phys(pa); }

static uint8_t sum(uint32_t pa, uint32_t len)
{
    uint8_t s = 0;
    for (uint32_t i = 0; i < len; i++)
        s += rd8(pa + i);
    return s;
}

static uint32_t search(uint32_t base, uint32_t len)
{
    for (uint32_t p = base; p + 16 <= base + len; p += 16)
        if (memcmp((const void *)p, "_MP_", 4) == 0 && sum(p, 16) == 0)
            return p;
    return 0;
}

static void print_str(const char *label, uint32_t pa, int n)
{
    kprintf("%s \"", label);
    for (int i = 0; i < n; i++)
        con_putc((char)rd8(pa + (uint32_t)i));
    kprintf("\"");
}

/* CPUID leaf 1: EAX (0) or EDX (3), which firmware copies into the
   processor entries (the values depend on the CPU model, not the table). */
static uint32_t cpuid1(int reg)
{
    uint32_t r[4];
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(1));
    return r[reg];
}

static const char *const int_types[] = { "INT", "NMI", "SMI", "ExtINT" };

static uint32_t print_entry(uint32_t p)
{
    uint8_t type = rd8(p);
    switch (type) {
    case 0:
        kprintf("  cpu apic_id %u version 0x%02x flags 0x%02x signature %s features %s\n",
                rd8(p + 1), rd8(p + 2), rd8(p + 3),
                rd32(p + 4) == cpuid1(0) ? "= cpuid" : "!= cpuid",
                rd32(p + 8) == cpuid1(3) ? "= cpuid" : "!= cpuid");
        return 20;
    case 1:
        kprintf("  bus %u", rd8(p + 1));
        print_str("", p + 2, 6);
        kprintf("\n");
        return 8;
    case 2:
        kprintf("  ioapic id %u version 0x%02x flags 0x%02x address 0x%08x\n",
                rd8(p + 1), rd8(p + 2), rd8(p + 3), rd32(p + 4));
        return 8;
    case 3:
    case 4:
        kprintf("  %s %s flags 0x%04x bus %u irq %u -> %s %u pin %u\n",
                type == 3 ? "ioint" : "lint", int_types[rd8(p + 1) & 3], rd16(p + 2),
                rd8(p + 4), rd8(p + 5), type == 3 ? "ioapic" : "lapic", rd8(p + 6), rd8(p + 7));
        return 8;
    default:
        kprintf("  unknown entry type %u\n", type);
        return 0;
    }
}

static void print_config(uint32_t c)
{
    if (memcmp((const void *)c, "PCMP", 4) != 0) {
        kprintf("config table at 0x%08x: bad signature\n", c);
        return;
    }
    uint16_t len = rd16(c + 4), count = rd16(c + 34);
    kprintf("config table at 0x%08x: length %u version %u checksum %s\n", c, len,
            rd8(c + 6), sum(c, len) == 0 ? "ok" : "BAD");
    print_str(" oem", c + 8, 8);
    print_str(" product", c + 16, 12);
    kprintf("\n oem table 0x%08x size %u entries %u lapic 0x%08x ext length %u\n",
            rd32(c + 28), rd16(c + 32), count, rd32(c + 36), rd16(c + 40));
    uint32_t p = c + 44;
    for (unsigned i = 0; i < count && p < c + len; i++) {
        uint32_t n = print_entry(p);
        if (!n)
            return;
        p += n;
    }
}

int kmain(uint32_t magic, struct multiboot_info *mbi)
{
    con_init();
    uint16_t eq = rd16(0x410);
    kprintf("BDA: com %04x %04x %04x %04x lpt %04x ebda %04x equipment: serial %u parallel %u "
            "video %u basemem %u KiB\n", rd16(0x400), rd16(0x402), rd16(0x404), rd16(0x406),
            rd16(0x408), rd16(0x40e), (eq >> 9) & 7, eq >> 14, (eq >> 4) & 3, rd16(0x413));
    const char *where = "ebda";
    uint32_t fp = rd16(0x40e) ? search((uint32_t)rd16(0x40e) << 4, 1024) : 0;
    if (!fp) {
        where = "basemem";
        fp = search((uint32_t)rd16(0x413) * 1024 - 1024, 1024);
    }
    if (!fp) {
        where = "bios";
        fp = search(0xf0000, 0x10000);
    }
    if (!fp) {
        kprintf("no MP floating pointer\n");
        return EXIT_FAIL;
    }
    kprintf("MP floating pointer at 0x%08x (%s): config 0x%08x length %u rev %u "
            "features %02x %02x %02x %02x %02x\n", fp, where, rd32(fp + 4), rd8(fp + 8),
            rd8(fp + 9), rd8(fp + 11), rd8(fp + 12), rd8(fp + 13), rd8(fp + 14), rd8(fp + 15));
    if (rd32(fp + 4))
        print_config(rd32(fp + 4));
    kprintf("multiboot info at 0x%08x\n", (uint32_t)mbi);
    return EXIT_OK;
}
