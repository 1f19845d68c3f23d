/*
 * multiboot.h - a Multiboot v1 boot loader (spec 0.6.96) for guest kernels.
 *
 * ringside boots kernels the way `qemu-system-i386 -kernel K -append A
 * -initrd "M1 args,M2"` does, so that a kernel sees the same multiboot
 * information under both: the kernel image (ELF32, or the a.out kludge when
 * header flag bit 16 is set) goes to its physical load address; module
 * structures, command lines and the boot loader name follow the kernel on
 * the next page; modules follow them, each page aligned; the memory map
 * lives at 0x9000 and the information structure at 0x9500 (QEMU's
 * MULTIBOOT_STRUCT_ADDR layout, hw/i386/multiboot.c). The memory map and
 * mem_lower/mem_upper are what SeaBIOS reports under QEMU (measured with
 * QEMU 7.2): 639 KiB of low memory, the top 128 KiB of RAM reserved.
 *
 * The caller then enters the kernel with cpu_reset_multiboot(cpu,
 * res.entry, res.eax, res.ebx).
 */
#ifndef RS_MULTIBOOT_H
#define RS_MULTIBOOT_H

#include <stddef.h>
#include <stdint.h>

#define MB_BOOT_MAGIC   0x2BADB002u  /* EAX at kernel entry */
#define MB_HEADER_MAGIC 0x1BADB002u  /* in the kernel's multiboot header */
#define MB_SEARCH_LIMIT 8192u        /* header must lie in the first 8 KiB */
#define MB_MMAP_ADDR    0x9000u      /* memory map (QEMU's ADDR_E820_MAP) */
#define MB_INFO_ADDR    0x9500u      /* multiboot info (QEMU's ADDR_MBI) */
#define MB_INFO_SIZE    88u          /* bytes of the info structure written */
#define MB_MAX_FILE     (256u << 20) /* largest kernel or module accepted */

/* multiboot_info.flags bits the loader sets (spec 3.3). */
#define MB_INFO_MEMORY   (1u << 0)
#define MB_INFO_BOOTDEV  (1u << 1)
#define MB_INFO_CMDLINE  (1u << 2)
#define MB_INFO_MODS     (1u << 3)
#define MB_INFO_MMAP     (1u << 6)
#define MB_INFO_LOADER   (1u << 9)

struct mb_module { const char *path; };   /* reserved for callers; unused here */

struct mb_options {
    const char *cmdline;          /* --append text, may be NULL (= "") */
    const char *kernel_path;      /* as typed; the info cmdline is "PATH CMDLINE" */
    const char *const *modules;   /* "file [args]": file is read, whole string is
                                     the module's cmdline (QEMU -initrd) */
    int nmodules;
};

struct mb_result {
    uint32_t entry;               /* EIP at entry (physical) */
    uint32_t eax, ebx;            /* MB_BOOT_MAGIC, MB_INFO_ADDR */
    uint32_t load_start, load_end;/* [start, end): the kernel image incl. bss */
    uint32_t used_end;            /* page-aligned end of everything written above
                                     the kernel (module structs, strings, modules) */
    char error[256];              /* one line, no newline, set on failure */
};

/*
 * Load a kernel image (the whole file) into guest RAM ram[0, ram_size) and
 * build the multiboot information. ram should be zeroed by the caller.
 * Returns 0, or -1 with res->error "PATH: problem". Never reads outside
 * image[0, len), never writes outside ram, whatever the bytes; on failure
 * RAM may be partly written.
 */
int multiboot_load(uint8_t *ram, uint32_t ram_size, const uint8_t *image, size_t len,
                   const struct mb_options *opt, struct mb_result *res);

/*
 * Read a whole file (kernel, module) into a malloc'd buffer (free() it).
 * Returns 0, or -1 with a one-line "PATH: reason" in err. Refuses files
 * larger than MB_MAX_FILE and anything not a regular file (hostfile_read).
 * An empty file gives *data != NULL, *len == 0.
 */
int mb_read_file(const char *path, uint8_t **data, size_t *len, char *err, size_t errlen);

#endif
