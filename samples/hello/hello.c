/*
 * hello.c - the smallest complete guest: boot, print, exit.
 *
 * Demonstrates the multiboot contract every sample relies on: the loader
 * jumps to us with EAX = 0x2BADB002 and EBX pointing at the multiboot
 * information structure, whose mem_lower/mem_upper fields say how much
 * memory lies below 640 KiB and above 1 MiB. QEMU's firmware reports what
 * the BIOS leaves free: 639 KiB low (one KiB is the EBDA) and RAM - 1 MiB -
 * 128 KiB high (31616 KiB for a 32 MiB machine). The command line is
 * "<kernel path> <arguments>". We print the kernel's file name (not its
 * directory, which depends on where it was run from) and the arguments,
 * then exit through the isa-debug-exit port with code 0.
 */
#include "kernel.h"

static const char *base_name(const char *path, char *buf, size_t size)
{
    const char *start = path, *end = path;

    for (const char *p = path; *p && *p != ' '; p++) {
        if (*p == '/')
            start = p + 1;
        end = p + 1;
    }
    size_t n = (size_t)(end - start) < size - 1 ? (size_t)(end - start) : size - 1;
    memcpy(buf, start, n);
    buf[n] = '\0';
    return buf;
}

int kmain(uint32_t magic, struct multiboot_info *mbi)
{
    char name[64];

    con_init();
    kprintf("Hello from ringside guest\n");
    if (magic != MB_BOOT_MAGIC) {
        kprintf("multiboot magic: 0x%08x (expected 0x%08x) - not a multiboot boot\n",
                magic, MB_BOOT_MAGIC);
        return EXIT_BAD_BOOT;
    }
    kprintf("multiboot magic: 0x%08x ok\n", magic);
    if (mbi->flags & MB_INFO_MEM)
        kprintf("memory: mem_lower %u KiB, mem_upper %u KiB\n",
                mbi->mem_lower, mbi->mem_upper);
    else
        kprintf("memory: not reported by the loader\n");
    kprintf("kernel file: %s\n", base_name(mb_cmdline(mbi), name, sizeof(name)));
    kprintf("arguments: \"%s\"\n", mb_args(mbi));
    kprintf("bye (exit code 0 -> QEMU status 1)\n");
    return EXIT_OK;
}
