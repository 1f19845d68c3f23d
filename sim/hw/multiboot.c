/*
 * multiboot.c - the Multiboot v1 boot loader: find the kernel's multiboot
 * header, load the kernel (ELF32 or a.out kludge), load the modules, and
 * build the multiboot information structure in guest RAM.
 *
 * It reproduces what a guest sees under `qemu-system-i386 -kernel`
 * (QEMU hw/i386/multiboot.c plus its multiboot.bin option ROM and SeaBIOS),
 * measured with QEMU 7.2 and a probe kernel that prints every field:
 *
 *   0x9000            memory map, six 24-byte entries (as SeaBIOS's e820)
 *   0x9500            multiboot_info (88 bytes), flags 0x24f
 *   kernel            at its physical load address [load_start, load_end)
 *   next page         module structs (16 bytes each), module cmdlines, the
 *                     kernel cmdline "PATH APPEND", the boot loader name
 *   next page         module 1, then module 2 on the following page, ...
 *
 * Differences from QEMU: the boot loader name is "ringside"; the info area
 * and modules are page aligned in absolute terms (QEMU aligns relative to
 * the kernel's load address, which matters only for kernels loaded at an
 * unaligned address). A kernel that overlaps 0x9000-0x9558 (one linked at
 * 0x8000, as kvm-unit-tests' realmode.flat is) gets the memory map and the
 * info structure on the page after its end instead, in front of the module
 * structs: QEMU keeps its copy of the info in the option ROM's buffer and
 * the kernel is never overwritten either. Spec references are to Multiboot
 * 0.6.96.
 */
#include "hw/multiboot.h"
#include "le.h"
#include "hw/elf.h"
#include "hw/hostfile.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MB_PAGE          4096u
#define MB_AOUT_KLUDGE   (1u << 16)   /* header flag: address fields valid */
#define MB_LOADER_NAME   "ringside"
#define MB_MOD_SIZE      16u          /* mod_start, mod_end, string, reserved */
#define MB_LOW_MEM       0x9fc00u     /* SeaBIOS: 639 KiB of conventional RAM */
#define MB_TOP_RESERVED  0x20000u     /* SeaBIOS reserves the top 128 KiB */
#define MB_MIN_RAM       (2u << 20)
#define MB_MAX_RAM       0xc0000000u

/* The multiboot header fields (spec 3.1.1), found in the kernel image. */
struct mb_header {
    uint32_t offset;              /* file offset of the magic */
    uint32_t flags;
    uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};

static uint64_t page_up(uint64_t a) { return (a + MB_PAGE - 1) & ~(uint64_t)(MB_PAGE - 1); }

/* Set res->error to "PATH: message" and return -1. */
static int mb_fail(struct mb_result *res, const struct mb_options *opt, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *path = opt && opt->kernel_path ? opt->kernel_path : "kernel";
    snprintf(res->error, sizeof res->error, "%s: %s", path, msg);
    return -1;
}

static void ram_desc(uint32_t ram_size, char *buf, size_t n)
{
    if (ram_size % (1024 * 1024) == 0)
        snprintf(buf, n, "%u MiB", ram_size / (1024 * 1024));
    else
        snprintf(buf, n, "%u KiB", ram_size / 1024);
}

/* ---- finding the header --------------------------------------------------- */

static void read_header(const uint8_t *image, size_t len, uint32_t i, struct mb_header *h)
{
    memset(h, 0, sizeof *h);
    h->offset = i;
    h->flags = le_get32(image + i + 4);
    if ((size_t)i + 32 > len)
        return;                   /* address fields absent; checked by caller */
    h->header_addr = le_get32(image + i + 12);
    h->load_addr = le_get32(image + i + 16);
    h->load_end_addr = le_get32(image + i + 20);
    h->bss_end_addr = le_get32(image + i + 24);
    h->entry_addr = le_get32(image + i + 28);
}

/*
 * Scan 4-byte aligned offsets of the first 8 KiB for magic, flags, checksum
 * with magic + flags + checksum == 0 (spec 3.1.2). Returns 1 found, 0 none;
 * *bad_at gets the offset of the first magic with a bad checksum, or -1.
 */
static int find_header(const uint8_t *image, size_t len, struct mb_header *h, long *bad_at)
{
    *bad_at = -1;
    for (uint32_t i = 0; (size_t)i + 12 <= len && i + 12 <= MB_SEARCH_LIMIT; i += 4) {
        if (le_get32(image + i) != MB_HEADER_MAGIC)
            continue;
        uint32_t flags = le_get32(image + i + 4), sum = le_get32(image + i + 8);
        if ((uint32_t)(MB_HEADER_MAGIC + flags + sum) == 0) {
            read_header(image, len, i, h);
            return 1;
        }
        if (*bad_at < 0)
            *bad_at = i;
    }
    return 0;
}

static int no_header(const uint8_t *image, size_t len, long bad_at,
                     const struct mb_options *opt, struct mb_result *res)
{
    if (bad_at >= 0)
        return mb_fail(res, opt, "multiboot header at offset 0x%lx has a bad checksum", bad_at);
    if (!elf_is_elf(image, len))
        return mb_fail(res, opt, "not an ELF file, and no multiboot header in the first "
                       "%u bytes", MB_SEARCH_LIMIT);
    return mb_fail(res, opt, "no multiboot header in the first %u bytes", MB_SEARCH_LIMIT);
}

/* ---- loading the kernel ---------------------------------------------------- */

/* The a.out kludge (header flag bit 16, spec 3.1.3), with QEMU's checks. */
static int load_aout(uint8_t *ram, uint32_t ram_size, const uint8_t *image, size_t len,
                     const struct mb_header *h, const struct mb_options *opt,
                     struct mb_result *res)
{
    char rd[32];
    if ((size_t)h->offset + 32 > len)
        return mb_fail(res, opt, "truncated (multiboot header at 0x%x runs past end of file)",
                       h->offset);
    if (h->header_addr < h->load_addr || h->header_addr - h->load_addr > h->offset)
        return mb_fail(res, opt, "a.out kludge: header_addr 0x%x and load_addr 0x%x "
                       "do not match the header's file offset 0x%x",
                       h->header_addr, h->load_addr, h->offset);
    uint32_t text_off = h->offset - (h->header_addr - h->load_addr);
    uint64_t load_size = len - text_off;
    if (h->load_end_addr) {
        if (h->load_end_addr < h->load_addr)
            return mb_fail(res, opt, "a.out kludge: load_end_addr 0x%x below load_addr 0x%x",
                           h->load_end_addr, h->load_addr);
        load_size = h->load_end_addr - h->load_addr;
    }
    if (load_size > len - text_off)
        return mb_fail(res, opt, "truncated (a.out kludge: 0x%llx bytes from offset 0x%x "
                       "run past end of file)", (unsigned long long)load_size, text_off);
    uint64_t mem_size = load_size;
    if (h->bss_end_addr) {
        if (h->bss_end_addr < (uint64_t)h->load_addr + load_size)
            return mb_fail(res, opt, "a.out kludge: bss_end_addr 0x%x below the end of the "
                           "loaded image", h->bss_end_addr);
        mem_size = h->bss_end_addr - h->load_addr;
    }
    if ((uint64_t)h->load_addr + mem_size > ram_size) {
        ram_desc(ram_size, rd, sizeof rd);
        return mb_fail(res, opt, "segment 0x%08x - 0x%08llx lies outside guest RAM (%s)",
                       h->load_addr, (unsigned long long)(h->load_addr + mem_size), rd);
    }
    memcpy(ram + h->load_addr, image + text_off, (size_t)load_size);
    memset(ram + h->load_addr + load_size, 0, (size_t)(mem_size - load_size));
    res->entry = h->entry_addr;
    res->load_start = h->load_addr;
    res->load_end = (uint32_t)(h->load_addr + mem_size);
    return 0;
}

static int load_elf_kernel(uint8_t *ram, uint32_t ram_size, const uint8_t *image,
                           size_t len, const struct mb_options *opt, struct mb_result *res)
{
    struct elf_load_info li;
    char err[200];
    if (elf_load_segments(ram, ram_size, image, len, &li, err, sizeof err) < 0)
        return mb_fail(res, opt, "%s", err);
    res->entry = li.entry;
    res->load_start = li.low;
    res->load_end = li.high;
    return 0;
}

/* ---- the information area ---------------------------------------------- */

/* Where each piece of the info area goes (guest-physical addresses). */
struct mb_layout {
    uint32_t mmap_addr, info_addr; /* MB_MMAP_ADDR / MB_INFO_ADDR, or above the kernel */
    uint32_t mods_addr;           /* module structs */
    uint32_t strings;             /* module cmdlines, kernel cmdline, loader name */
    uint64_t strings_size;
    uint32_t mods_start;          /* first module, page aligned */
};

static void plan_layout(const struct mb_options *opt, const char *cmdline,
                        uint32_t load_start, uint32_t load_end, struct mb_layout *l)
{
    const char *kpath = opt->kernel_path ? opt->kernel_path : "kernel";
    uint64_t size = strlen(kpath) + 1 + strlen(cmdline) + 1 + sizeof MB_LOADER_NAME;
    for (int i = 0; i < opt->nmodules; i++)
        size += strlen(opt->modules[i]) + 1;
    l->mmap_addr = MB_MMAP_ADDR;
    l->info_addr = MB_INFO_ADDR;
    l->mods_addr = (uint32_t)page_up(load_end);
    if (load_start < MB_INFO_ADDR + MB_INFO_SIZE && load_end > MB_MMAP_ADDR) {
        l->mmap_addr = l->mods_addr;              /* the kernel sits on 0x9000 */
        l->info_addr = l->mmap_addr + (MB_INFO_ADDR - MB_MMAP_ADDR);
        l->mods_addr = l->info_addr + MB_INFO_SIZE;
    }
    l->strings = l->mods_addr + MB_MOD_SIZE * (uint32_t)opt->nmodules;
    l->strings_size = size;
    l->mods_start = 0;            /* set by check once the sizes are known */
}

/* Copy a NUL-terminated string to guest RAM at *at; return its address. */
static uint32_t put_string(uint8_t *ram, uint32_t *at, const char *s)
{
    uint32_t addr = *at;
    size_t n = strlen(s) + 1;
    memcpy(ram + addr, s, n);
    *at += (uint32_t)n;
    return addr;
}

/* The module's file name: its string up to the first space. */
static void module_file(const char *spec, char *buf, size_t n)
{
    size_t k = strcspn(spec, " ");
    if (k >= n)
        k = n - 1;
    memcpy(buf, spec, k);
    buf[k] = 0;
}

/* Read module i and place it at *at (page aligned), advancing *at. */
static int load_module(uint8_t *ram, uint32_t ram_size, int i, uint64_t *at,
                       uint32_t *start, uint32_t *end, const struct mb_options *opt,
                       struct mb_result *res)
{
    char name[1024], err[300], rd[32];
    uint8_t *data;
    size_t len;
    module_file(opt->modules[i], name, sizeof name);
    if (mb_read_file(name, &data, &len, err, sizeof err) < 0)
        return mb_fail(res, opt, "module %s", err);
    if (*at + len > ram_size) {
        free(data);
        ram_desc(ram_size, rd, sizeof rd);
        return mb_fail(res, opt, "module %s (%zu bytes at 0x%llx) does not fit in guest "
                       "RAM (%s)", name, len, (unsigned long long)*at, rd);
    }
    memcpy(ram + *at, data, len);
    free(data);
    *start = (uint32_t)*at;
    *end = (uint32_t)(*at + len);
    *at = page_up(*at + len);
    return 0;
}

/* Module structs and their cmdlines; *strp advances past the strings. */
static int load_modules(uint8_t *ram, uint32_t ram_size, const struct mb_layout *l,
                        uint32_t *strp, uint64_t *end, const struct mb_options *opt,
                        struct mb_result *res)
{
    uint64_t at = l->mods_start;
    for (int i = 0; i < opt->nmodules; i++) {
        uint32_t start, stop;
        if (load_module(ram, ram_size, i, &at, &start, &stop, opt, res) < 0)
            return -1;
        uint8_t *m = ram + l->mods_addr + MB_MOD_SIZE * (uint32_t)i;
        le_put32(m + 0, start);
        le_put32(m + 4, stop);
        le_put32(m + 8, put_string(ram, strp, opt->modules[i]));
        le_put32(m + 12, 0);
    }
    *end = at;
    return 0;
}

/* One 24-byte memory map entry: size (20), base, length, type (spec 3.3). */
static void put_mmap(uint8_t *p, uint32_t base, uint32_t length, uint32_t type)
{
    le_put32(p + 0, 20);
    le_put32(p + 4, base);
    le_put32(p + 8, 0);
    le_put32(p + 12, length);
    le_put32(p + 16, 0);
    le_put32(p + 20, type);
}

/* SeaBIOS's e820 map under QEMU; returns its length in bytes. */
static uint32_t build_mmap(uint8_t *ram, uint32_t ram_size, uint32_t at)
{
    uint8_t *p = ram + at;
    uint32_t top = ram_size - MB_TOP_RESERVED;
    put_mmap(p + 0, 0, MB_LOW_MEM, 1);
    put_mmap(p + 24, MB_LOW_MEM, 0xa0000 - MB_LOW_MEM, 2);
    put_mmap(p + 48, 0xf0000, 0x10000, 2);
    put_mmap(p + 72, 0x100000, top - 0x100000, 1);
    put_mmap(p + 96, top, MB_TOP_RESERVED, 2);
    put_mmap(p + 120, 0xfffc0000u, 0x40000, 2);
    return 6 * 24;
}

/* The multiboot_info structure itself (spec 3.3), at l->info_addr. */
static void build_info(uint8_t *ram, uint32_t ram_size, const struct mb_layout *l,
                       int nmods, uint32_t cmdline, uint32_t loader)
{
    uint8_t *mbi = ram + l->info_addr;
    memset(mbi, 0, MB_INFO_SIZE);
    le_put32(mbi + 0, MB_INFO_MEMORY | MB_INFO_BOOTDEV | MB_INFO_CMDLINE | MB_INFO_MODS |
                  MB_INFO_MMAP | MB_INFO_LOADER);
    le_put32(mbi + 4, MB_LOW_MEM / 1024);                              /* mem_lower */
    le_put32(mbi + 8, (ram_size - MB_TOP_RESERVED - 0x100000) / 1024); /* mem_upper */
    le_put32(mbi + 12, 0x8000ffffu);                /* boot_device: BIOS disk 0x80 */
    le_put32(mbi + 16, cmdline);
    le_put32(mbi + 20, (uint32_t)nmods);
    le_put32(mbi + 24, l->mods_addr);
    le_put32(mbi + 44, build_mmap(ram, ram_size, l->mmap_addr));   /* mmap_length */
    le_put32(mbi + 48, l->mmap_addr);
    le_put32(mbi + 64, loader);
}

/* Refuse layouts that do not fit in RAM. */
static int check_layout(uint32_t ram_size, struct mb_layout *l,
                        const struct mb_options *opt, struct mb_result *res)
{
    char rd[32];
    uint64_t end = (uint64_t)l->strings + l->strings_size;
    ram_desc(ram_size, rd, sizeof rd);
    if (end > ram_size)
        return mb_fail(res, opt, "command lines and module list do not fit in guest RAM (%s)",
                       rd);
    l->mods_start = (uint32_t)page_up(end);
    return 0;
}

static int build_boot_info(uint8_t *ram, uint32_t ram_size, const struct mb_options *opt,
                           struct mb_result *res)
{
    const char *cmdline = opt->cmdline ? opt->cmdline : "";
    const char *kpath = opt->kernel_path ? opt->kernel_path : "kernel";
    struct mb_layout l;
    uint64_t end;
    plan_layout(opt, cmdline, res->load_start, res->load_end, &l);
    if (check_layout(ram_size, &l, opt, res) < 0)
        return -1;
    uint32_t str = l.strings;
    if (load_modules(ram, ram_size, &l, &str, &end, opt, res) < 0)
        return -1;
    uint32_t kcmd = str;              /* "PATH CMDLINE", as QEMU builds it */
    put_string(ram, &str, kpath);
    ram[str - 1] = ' ';
    put_string(ram, &str, cmdline);
    uint32_t loader = put_string(ram, &str, MB_LOADER_NAME);
    build_info(ram, ram_size, &l, opt->nmodules, kcmd, loader);
    res->used_end = (uint32_t)(end > l.mods_start ? end : l.mods_start);
    res->ebx = l.info_addr;
    return 0;
}

/* ---- entry points --------------------------------------------------------- */

int multiboot_load(uint8_t *ram, uint32_t ram_size, const uint8_t *image, size_t len,
                   const struct mb_options *opt, struct mb_result *res)
{
    struct mb_header h;
    long bad_at;
    assert(ram && opt && res && (image || len == 0));
    memset(res, 0, sizeof *res);
    if (ram_size < MB_MIN_RAM || ram_size > MB_MAX_RAM || ram_size % MB_PAGE)
        return mb_fail(res, opt, "unsupported guest RAM size 0x%x (2 MiB to 3 GiB, whole "
                       "pages)", ram_size);
    if (len == 0)
        return mb_fail(res, opt, "empty file");
    if (elf_is_elf(image, len) && len > 4 && image[4] == 2)
        return mb_fail(res, opt, "ELF64 kernels are not supported");
    if (opt->nmodules < 0 || (opt->nmodules > 0 && !opt->modules))
        return mb_fail(res, opt, "bad module list");
    if (!find_header(image, len, &h, &bad_at))
        return no_header(image, len, bad_at, opt, res);
    int rc = (h.flags & MB_AOUT_KLUDGE)
                 ? load_aout(ram, ram_size, image, len, &h, opt, res)
                 : load_elf_kernel(ram, ram_size, image, len, opt, res);
    if (rc < 0 || build_boot_info(ram, ram_size, opt, res) < 0)
        return -1;
    res->eax = MB_BOOT_MAGIC;
    return 0;
}

int mb_read_file(const char *path, uint8_t **data, size_t *len, char *err, size_t errlen)
{
    return hostfile_read(path, MB_MAX_FILE, data, len, err, errlen);
}
