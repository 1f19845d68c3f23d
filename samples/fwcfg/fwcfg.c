/*
 * fwcfg.c - QEMU's firmware configuration device, as a test kernel asks it.
 *
 * kvm-unit-tests (lib/x86/fwcfg.c) and SeaBIOS learn the machine's CPU
 * count and RAM size from fw_cfg: a 16-bit write of a key to port 0x510,
 * then the key's bytes, one per read of port 0x511. This kernel reads the
 * signature, the interface ID's traditional-interface bit (QEMU's pc
 * machine also has DMA, bit 1, which ringside does not), the CPU count and
 * maximum, the RAM size, bytes past the end of a key, a key no machine has,
 * and the same key selected through the write channel (bit 14).
 */
#include "kernel.h"

static void select_key(uint16_t key)
{
    __asm__ volatile("outw %0, %1" : : "a"(key), "Nd"((uint16_t)0x510));
}

static uint64_t get(uint16_t key, int bytes)
{
    uint64_t v = 0;
    select_key(key);
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t)inb(0x511) << (8 * i);
    return v;
}

int kmain(uint32_t magic, struct multiboot_info *mbi)
{
    char sig[5] = { 0 };
    select_key(0x00);
    for (int i = 0; i < 4; i++)
        sig[i] = (char)inb(0x511);
    kprintf("signature %s\n", sig);
    kprintf("traditional interface %u\n", (unsigned)(get(0x01, 4) & 1));
    kprintf("cpus %u, max %u\n", (unsigned)get(0x05, 2), (unsigned)get(0x0F, 2));
    kprintf("ram 0x%llx\n", (unsigned long long)get(0x03, 8));
    select_key(0x05);
    (void)inb(0x511), (void)inb(0x511);
    kprintf("past the end 0x%02x 0x%02x\n", inb(0x511), inb(0x511));
    kprintf("key 0x0100: 0x%llx\n", (unsigned long long)get(0x0100, 8));
    kprintf("write channel, key 0x05: %u\n", (unsigned)get(0x4005, 2));
    kprintf("no-graphic %u, boot menu %u\n", (unsigned)get(0x04, 2), (unsigned)get(0x0E, 2));
    return 0;
}
