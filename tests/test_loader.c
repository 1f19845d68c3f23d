/*
 * test_loader.c - the multiboot loader, ELF parsing and symbols.
 *
 * Kernels are built in memory by a tiny ELF32 writer (one or two PT_LOAD
 * segments plus a multiboot header, optionally a .symtab). The multiboot
 * information expected here is golden data measured under QEMU 7.2
 * (`qemu-system-i386 -kernel probe.elf -append "foo bar=1" -initrd
 * "/tmp/rsmbAAAAAA arg1 arg2,/tmp/rsmbBBBBBB"`, a probe kernel that prints
 * every field on COM1): same kernel size and same string lengths give the
 * same addresses. Only the boot loader name differs ("ringside", not "qemu").
 * Bad inputs must give -1 and the documented message; truncations and
 * 20,000 seeded random mutations must never crash (run under ASan).
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hw/elf.h"
#include "hw/multiboot.h"

#define MiB (1024u * 1024u)
#define KPATH "probe.elf"

/* ---- a minimal ELF32 writer ---------------------------------------------- */

struct tseg {
    uint32_t paddr, vaddr, filesz, memsz, flags;
    uint8_t fill;                 /* file bytes are fill + index */
};

struct timg {
    uint8_t *buf;
    size_t len;
    uint32_t phoff;               /* where the program headers are */
    uint32_t mbhdr;               /* where the multiboot header is */
    uint32_t seg_off[2];          /* file offsets of the segments' bytes */
};

static void w16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void w32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t r32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Symbols written by the builder when asked: name, value, size, info, shndx. */
struct tsym { const char *name; uint32_t value, size; uint8_t info; uint16_t shndx; };
static const struct tsym test_syms[] = {
    { "start", 0x100000, 0, 0x10, 1 },       /* GLOBAL NOTYPE: asm label */
    { "kmain", 0x100010, 0x20, 0x12, 1 },    /* GLOBAL FUNC */
    { "data_obj", 0x100100, 8, 0x11, 1 },    /* GLOBAL OBJECT */
    { "ext", 0, 0, 0x10, 0 },                /* undefined: dropped */
    { "probe.c", 0, 0, 0x04, 0xfff1 },       /* FILE: dropped */
    { "", 0x100000, 0, 0x03, 1 },            /* SECTION: dropped */
};
#define NSYMS (int)(sizeof test_syms / sizeof test_syms[0])

static void put_phdr(uint8_t *p, const struct tseg *s, uint32_t off)
{
    w32(p + 0, 1);
    w32(p + 4, off);
    w32(p + 8, s->vaddr);
    w32(p + 12, s->paddr);
    w32(p + 16, s->filesz);
    w32(p + 20, s->memsz);
    w32(p + 24, s->flags);
    w32(p + 28, 0x1000);
}

/* Append .symtab and .strtab plus three section headers at *off. */
static void put_symtab(uint8_t *b, uint32_t *off)
{
    uint32_t str = *off, pos = 1;
    uint32_t names[NSYMS];
    b[str] = 0;
    for (int i = 0; i < NSYMS; i++) {
        names[i] = strlen(test_syms[i].name) ? pos : 0;
        memcpy(b + str + pos, test_syms[i].name, strlen(test_syms[i].name) + 1);
        pos += (uint32_t)strlen(test_syms[i].name) + 1;
    }
    uint32_t tab = (str + pos + 3) & ~3u;
    memset(b + tab, 0, 16);                        /* symbol 0 is null */
    for (int i = 0; i < NSYMS; i++) {
        uint8_t *s = b + tab + 16 * (i + 1);
        w32(s, names[i]);
        w32(s + 4, test_syms[i].value);
        w32(s + 8, test_syms[i].size);
        s[12] = test_syms[i].info;
        s[13] = 0;
        w16(s + 14, test_syms[i].shndx);
    }
    uint32_t sh = tab + 16 * (NSYMS + 1);
    memset(b + sh, 0, 3 * 40);
    w32(b + sh + 40 + 4, 2);                       /* [1] .symtab */
    w32(b + sh + 40 + 16, tab);
    w32(b + sh + 40 + 20, 16 * (NSYMS + 1));
    w32(b + sh + 40 + 24, 2);
    w32(b + sh + 40 + 36, 16);
    w32(b + sh + 80 + 4, 3);                       /* [2] .strtab */
    w32(b + sh + 80 + 16, str);
    w32(b + sh + 80 + 20, pos);
    w32(b + 32, sh);                               /* e_shoff */
    w16(b + 46, 40);
    w16(b + 48, 3);
    *off = sh + 3 * 40;
}

/* Build an i386 ET_EXEC with nseg segments and a multiboot header (flags). */
static struct timg build_elf(const struct tseg *segs, int nseg, uint32_t entry,
                             uint32_t mbflags, int with_syms)
{
    struct timg t = { 0 };
    uint8_t *b = calloc(1, 0x10000);
    memcpy(b, "\x7f" "ELF\x01\x01\x01", 7);
    w16(b + 16, 2);
    w16(b + 18, 3);
    w32(b + 20, 1);
    w32(b + 24, entry);
    w32(b + 28, t.phoff = 52);
    w16(b + 40, 52);
    w16(b + 42, 32);
    w16(b + 44, (uint16_t)nseg);
    t.mbhdr = 52 + 32 * (uint32_t)nseg;
    w32(b + t.mbhdr, MB_HEADER_MAGIC);
    w32(b + t.mbhdr + 4, mbflags);
    w32(b + t.mbhdr + 8, (uint32_t)-(MB_HEADER_MAGIC + mbflags));
    uint32_t off = t.mbhdr + 12;
    for (int i = 0; i < nseg; i++) {
        put_phdr(b + 52 + 32 * i, &segs[i], off);
        t.seg_off[i] = off;
        for (uint32_t k = 0; k < segs[i].filesz; k++)
            b[off + k] = (uint8_t)(segs[i].fill + k);
        off += (segs[i].filesz + 3) & ~3u;
    }
    if (with_syms)
        put_symtab(b, &off);
    t.buf = b;
    t.len = off;
    return t;
}

/* The two-segment kernel most tests use: text, and data with a bss tail. */
static struct timg std_kernel(int with_syms)
{
    static const struct tseg segs[2] = {
        { 0x100000, 0x100000, 0x40, 0x40, 5, 0x11 },
        { 0x102000, 0x102000, 0x10, 0x1000, 6, 0x80 },
    };
    return build_elf(segs, 2, 0x10000c, 3, with_syms);
}

/* The single-segment kernel matching QEMU's probe (0x4bc bytes at 1 MiB). */
static struct timg probe_kernel(void)
{
    static const struct tseg seg = { 0x100000, 0x100000, 0x4bc, 0x4bc, 5, 0x22 };
    return build_elf(&seg, 1, 0x10000c, 3, 0);
}

/* ---- running the loader ----------------------------------------------------- */

static uint8_t *test_ram;         /* 64 MiB, allocated by the suite init */

static int suite_init(void)
{
    test_ram = calloc(1, 64 * MiB);
    return test_ram ? 0 : -1;
}

static int suite_clean(void)
{
    free(test_ram);
    test_ram = NULL;
    return 0;
}

static int load(const uint8_t *img, size_t len, uint32_t ram_size, const char *cmdline,
                const char *const *mods, int nmods, struct mb_result *res)
{
    struct mb_options opt = { cmdline, KPATH, mods, nmods };
    uint8_t *copy = malloc(len ? len : 1);   /* exact size: ASan sees overreads */
    memcpy(copy, img, len);
    int rc = multiboot_load(test_ram, ram_size, copy, len, &opt, res);
    free(copy);
    return rc;
}

static uint32_t ram32(uint32_t a) { return r32(test_ram + a); }

/* ---- loading ELF kernels -------------------------------------------------- */

static void test_elf_segments(void)
{
    struct timg t = std_kernel(0);
    struct mb_result res;
    memset(test_ram, 0xaa, 4 * MiB);
    CU_ASSERT_EQUAL_FATAL(load(t.buf, t.len, 32 * MiB, "x", NULL, 0, &res), 0);
    CU_ASSERT_STRING_EQUAL(res.error, "");
    CU_ASSERT_EQUAL(memcmp(test_ram + 0x100000, t.buf + t.seg_off[0], 0x40), 0);
    CU_ASSERT_EQUAL(test_ram[0x100000], 0x11);
    CU_ASSERT_EQUAL(memcmp(test_ram + 0x102000, t.buf + t.seg_off[1], 0x10), 0);
    int bss_zero = 1;
    for (uint32_t a = 0x102010; a < 0x103000; a++)
        bss_zero &= test_ram[a] == 0;
    CU_ASSERT(bss_zero);
    CU_ASSERT_EQUAL(test_ram[0x100040], 0xaa);          /* gap untouched */
    CU_ASSERT_EQUAL(res.entry, 0x10000c);
    CU_ASSERT_EQUAL(res.eax, 0x2BADB002);
    CU_ASSERT_EQUAL(res.ebx, 0x9500);
    CU_ASSERT_EQUAL(res.load_start, 0x100000);
    CU_ASSERT_EQUAL(res.load_end, 0x103000);
    CU_ASSERT_EQUAL(ram32(0x9500 + 24), 0x103000);      /* mods_addr: next page */
    free(t.buf);
}

/* Higher-half kernel: QEMU 7.2 enters at the physical copy of e_entry. */
static void test_elf_higher_half_entry(void)
{
    static const struct tseg seg = { 0x100000, 0xC0100000, 0x20, 0x20, 5, 1 };
    struct timg t = build_elf(&seg, 1, 0xC010000c, 0, 0);
    struct mb_result res;
    CU_ASSERT_EQUAL_FATAL(load(t.buf, t.len, 32 * MiB, NULL, NULL, 0, &res), 0);
    CU_ASSERT_EQUAL(res.entry, 0x10000c);
    CU_ASSERT_EQUAL(test_ram[0x100000], 1);
    free(t.buf);
}

/* ---- the multiboot information, against QEMU 7.2 ---------------------------- */

static void check_mmap_entry(int i, uint32_t base, uint32_t len, uint32_t type)
{
    uint32_t e = 0x9000 + 24 * (uint32_t)i;
    CU_ASSERT_EQUAL(ram32(e), 20);
    CU_ASSERT_EQUAL(ram32(e + 4), base);
    CU_ASSERT_EQUAL(ram32(e + 8), 0);
    CU_ASSERT_EQUAL(ram32(e + 12), len);
    CU_ASSERT_EQUAL(ram32(e + 16), 0);
    CU_ASSERT_EQUAL(ram32(e + 20), type);
}

/* Write a 15-character temp file "/tmp/rsmbXXXXXX" (QEMU's run used the same length). */
static void temp_module(char *path, const char *content)
{
    strcpy(path, "/tmp/rsmbXXXXXX");
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT(write(fd, content, strlen(content)) == (ssize_t)strlen(content));
    close(fd);
}

static void test_mbi_qemu_32m_modules(void)
{
    char p1[32], p2[32], spec1[64];
    temp_module(p1, "HELLO MODULE ONE\n");
    temp_module(p2, "SECOND\n");
    snprintf(spec1, sizeof spec1, "%s arg1 arg2", p1);
    const char *mods[2] = { spec1, p2 };
    struct timg t = probe_kernel();
    struct mb_result res;
    memset(test_ram, 0, 32 * MiB);
    int rc = load(t.buf, t.len, 32 * MiB, "foo bar=1", mods, 2, &res);
    unlink(p1);
    unlink(p2);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_EQUAL(res.ebx, 0x9500);
    CU_ASSERT_EQUAL(ram32(0x9500), 0x24f);                /* flags */
    CU_ASSERT_EQUAL(ram32(0x9504), 0x27f);                /* mem_lower: 639 */
    CU_ASSERT_EQUAL(ram32(0x9508), 0x7b80);               /* mem_upper */
    CU_ASSERT_EQUAL(ram32(0x950c), 0x8000ffff);           /* boot_device */
    CU_ASSERT_EQUAL(ram32(0x9510), 0x10104a);             /* cmdline */
    CU_ASSERT_STRING_EQUAL((char *)test_ram + 0x10104a, "probe.elf foo bar=1");
    CU_ASSERT_EQUAL(ram32(0x9514), 2);                    /* mods_count */
    CU_ASSERT_EQUAL(ram32(0x9518), 0x101000);             /* mods_addr */
    CU_ASSERT_EQUAL(ram32(0x101000), 0x102000);
    CU_ASSERT_EQUAL(ram32(0x101004), 0x102011);
    CU_ASSERT_EQUAL(ram32(0x101008), 0x101020);
    CU_ASSERT_EQUAL(ram32(0x10100c), 0);
    CU_ASSERT_EQUAL(ram32(0x101010), 0x103000);
    CU_ASSERT_EQUAL(ram32(0x101014), 0x103007);
    CU_ASSERT_EQUAL(ram32(0x101018), 0x10103a);
    CU_ASSERT_STRING_EQUAL((char *)test_ram + 0x101020, spec1);
    CU_ASSERT_STRING_EQUAL((char *)test_ram + 0x10103a, p2);
    CU_ASSERT_EQUAL(memcmp(test_ram + 0x102000, "HELLO MODULE ONE\n", 17), 0);
    CU_ASSERT_EQUAL(memcmp(test_ram + 0x103000, "SECOND\n", 7), 0);
    CU_ASSERT_EQUAL(ram32(0x9500 + 44), 0x90);            /* mmap_length */
    CU_ASSERT_EQUAL(ram32(0x9500 + 48), 0x9000);          /* mmap_addr */
    check_mmap_entry(0, 0, 0x9fc00, 1);
    check_mmap_entry(1, 0x9fc00, 0x400, 2);
    check_mmap_entry(2, 0xf0000, 0x10000, 2);
    check_mmap_entry(3, 0x100000, 0x1ee0000, 1);
    check_mmap_entry(4, 0x1fe0000, 0x20000, 2);
    check_mmap_entry(5, 0xfffc0000, 0x40000, 2);
    CU_ASSERT_EQUAL(ram32(0x9500 + 64), 0x10105e);        /* boot_loader_name */
    CU_ASSERT_STRING_EQUAL((char *)test_ram + 0x10105e, "ringside");
    CU_ASSERT_EQUAL(ram32(0x9500 + 52), 0);               /* drives_length */
    CU_ASSERT_EQUAL(res.used_end, 0x104000);
    free(t.buf);
}

static void test_mbi_qemu_64m_no_append(void)
{
    struct timg t = probe_kernel();
    struct mb_result res;
    memset(test_ram, 0, 2 * MiB);
    CU_ASSERT_EQUAL_FATAL(load(t.buf, t.len, 64 * MiB, NULL, NULL, 0, &res), 0);
    CU_ASSERT_EQUAL(ram32(0x9508), 0xfb80);               /* mem_upper for 64 MiB */
    CU_ASSERT_EQUAL(ram32(0x9510), 0x101000);
    CU_ASSERT_STRING_EQUAL((char *)test_ram + 0x101000, "probe.elf ");
    CU_ASSERT_EQUAL(ram32(0x9514), 0);
    CU_ASSERT_EQUAL(ram32(0x9518), 0x101000);
    check_mmap_entry(3, 0x100000, 0x3ee0000, 1);
    check_mmap_entry(4, 0x3fe0000, 0x20000, 2);
    free(t.buf);
}

/* Same QEMU run without modules: cmdline first, loader name after it. */
static void test_mbi_qemu_32m_append(void)
{
    struct timg t = probe_kernel();
    struct mb_result res;
    CU_ASSERT_EQUAL_FATAL(load(t.buf, t.len, 32 * MiB, "foo bar=1", NULL, 0, &res), 0);
    CU_ASSERT_EQUAL(ram32(0x9510), 0x101000);
    CU_ASSERT_STRING_EQUAL((char *)test_ram + 0x101000, "probe.elf foo bar=1");
    CU_ASSERT_EQUAL(ram32(0x9540), 0x101014);
    free(t.buf);
}

/* Modules start on page boundaries, whatever the size of the one before. */
static void test_module_alignment(void)
{
    char p1[32], p2[32], big[0x1002];
    memset(big, 'B', sizeof big - 1);
    big[sizeof big - 1] = 0;
    temp_module(p1, big);
    temp_module(p2, "Z");
    const char *mods[2] = { p1, p2 };
    struct timg t = std_kernel(0);
    struct mb_result res;
    int rc = load(t.buf, t.len, 32 * MiB, "", mods, 2, &res);
    unlink(p1);
    unlink(p2);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    uint32_t m = ram32(0x9518);
    CU_ASSERT_EQUAL(m, 0x103000);
    CU_ASSERT_EQUAL(ram32(m), 0x104000);
    CU_ASSERT_EQUAL(ram32(m + 4), 0x105001);
    CU_ASSERT_EQUAL(ram32(m + 16), 0x106000);
    CU_ASSERT_EQUAL(test_ram[0x106000], 'Z');
    CU_ASSERT_EQUAL(test_ram[0x105000], 'B');
    free(t.buf);
}

/* ---- the a.out kludge ------------------------------------------------------ */

/* A flat image: 8 bytes, header (flags bit 16) at 8, then code bytes. */
static uint8_t *aout_image(size_t len, uint32_t load_end, uint32_t bss_end)
{
    uint8_t *b = malloc(len);
    for (size_t i = 0; i < len; i++)
        b[i] = (uint8_t)(0x40 + i);
    uint32_t flags = 0x10003;
    w32(b + 8, MB_HEADER_MAGIC);
    w32(b + 12, flags);
    w32(b + 16, (uint32_t)-(MB_HEADER_MAGIC + flags));
    w32(b + 20, 0x200008);                 /* header_addr */
    w32(b + 24, 0x200000);                 /* load_addr */
    w32(b + 28, load_end);
    w32(b + 32, bss_end);
    w32(b + 36, 0x200020);                 /* entry_addr */
    return b;
}

static void test_aout_kludge(void)
{
    uint8_t *b = aout_image(0x200, 0x200100, 0x201000);
    struct mb_result res;
    memset(test_ram + 0x200000, 0xaa, 0x2000);
    CU_ASSERT_EQUAL_FATAL(load(b, 0x200, 32 * MiB, NULL, NULL, 0, &res), 0);
    CU_ASSERT_EQUAL(memcmp(test_ram + 0x200000, b, 0x100), 0);
    CU_ASSERT_EQUAL(test_ram[0x200100], 0);                /* bss, not file byte */
    CU_ASSERT_EQUAL(test_ram[0x200fff], 0);
    CU_ASSERT_EQUAL(res.entry, 0x200020);
    CU_ASSERT_EQUAL(res.load_start, 0x200000);
    CU_ASSERT_EQUAL(res.load_end, 0x201000);
    CU_ASSERT_EQUAL(ram32(0x9518), 0x201000);
    free(b);
}

/* load_end_addr = 0: the rest of the file is loaded; bss_end 0: no bss. */
static void test_aout_whole_file(void)
{
    uint8_t *b = aout_image(0x300, 0, 0);
    struct mb_result res;
    memset(test_ram + 0x200000, 0xaa, 0x2000);
    CU_ASSERT_EQUAL_FATAL(load(b, 0x300, 32 * MiB, NULL, NULL, 0, &res), 0);
    CU_ASSERT_EQUAL(memcmp(test_ram + 0x200000, b, 0x300), 0);
    CU_ASSERT_EQUAL(test_ram[0x200300], 0xaa);
    CU_ASSERT_EQUAL(res.load_end, 0x200300);
    free(b);
}

/* ---- bad inputs ------------------------------------------------------------- */

/* Load and expect -1 with "probe.elf: " and the given text in the error. */
static void expect_error(const uint8_t *img, size_t len, uint32_t ram, const char *text)
{
    struct mb_result res;
    int rc = load(img, len, ram, NULL, NULL, 0, &res);
    CU_ASSERT_EQUAL(rc, -1);
    CU_ASSERT(strncmp(res.error, KPATH ": ", strlen(KPATH) + 2) == 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(res.error, text));
    CU_ASSERT_PTR_NULL(strchr(res.error, '\n'));
    if (rc != -1 || !strstr(res.error, text))
        fprintf(stderr, "\n  expected '%s', got rc %d '%s'\n", text, rc, res.error);
}

static void test_bad_header_fields(void)
{
    struct timg t = std_kernel(0);
    uint8_t *b = malloc(t.len);
    static const char text[] = "hello, this is not a kernel at all\n";
    expect_error(t.buf, 0, 32 * MiB, "empty file");
    expect_error((const uint8_t *)text, sizeof text, 32 * MiB, "not an ELF file");
#define MUTATE(stmt, msg) do { memcpy(b, t.buf, t.len); stmt; \
                               expect_error(b, t.len, 32 * MiB, msg); } while (0)
    MUTATE(b[4] = 2, "ELF64 kernels are not supported");
    MUTATE(b[5] = 2, "big-endian ELF files are not supported");
    MUTATE(w16(b + 18, 40), "not an i386 ELF file (e_machine 40)");
    MUTATE(w16(b + 16, 3), "not an executable ELF file (e_type 3)");
    MUTATE(w32(b + t.mbhdr, 0), "no multiboot header in the first 8192 bytes");
    MUTATE(b[t.mbhdr + 8] ^= 1, "has a bad checksum");
    MUTATE(w32(b + 28, (uint32_t)t.len - 10), "truncated (program header 0 runs past end of file)");
    MUTATE(w16(b + 44, 200), "runs past end of file");
    MUTATE(w32(b + 52 + 32 + 16, 0x2000), "p_filesz 0x2000 > p_memsz 0x1000");
    MUTATE((w32(b + 52 + 4, 0xFFFFFFF0), w32(b + 52 + 16, 0x20), w32(b + 52 + 20, 0x20)),
           "truncated");
    MUTATE(w32(b + 52 + 32 + 12, 0x1fff800), "segment 0x01fff800 - 0x02000800 lies outside "
                                             "guest RAM (32 MiB)");
    MUTATE(w32(b + 52 + 32 + 12, 0xfffff000), "lies outside guest RAM");
#undef MUTATE
    free(b);
    free(t.buf);
}

/* A kernel on top of 0x9000 (linked at 0x8000, as kvm-unit-tests'
   realmode.flat): it loads whole, and the memory map and the info move to
   the page after it, the module structs behind them. */
static void test_kernel_at_0x8000(void)
{
    static const struct tseg seg = { 0x8000, 0x8000, 0x5a30, 0x5a30, 5, 0x33 };
    struct timg t = build_elf(&seg, 1, 0x8000, 3, 0);
    struct mb_result res;
    memset(test_ram, 0, 64 * MiB);
    CU_ASSERT_EQUAL_FATAL(load(t.buf, t.len, 32 * MiB, NULL, NULL, 0, &res), 0);
    CU_ASSERT_EQUAL(res.load_start, 0x8000);
    CU_ASSERT_EQUAL(res.load_end, 0xda30);
    CU_ASSERT_EQUAL(test_ram[0x9000], (uint8_t)(0x33 + 0x1000)); /* the kernel, not the map */
    CU_ASSERT_EQUAL(test_ram[0x9557], (uint8_t)(0x33 + 0x1557));              /* nor the old info */
    CU_ASSERT_EQUAL(res.ebx, 0xe500);
    CU_ASSERT_EQUAL(r32(test_ram + 0xe500 + 48), 0xe000);  /* mmap_addr */
    CU_ASSERT_EQUAL(r32(test_ram + 0xe500 + 44), 144);     /* mmap_length */
    CU_ASSERT_EQUAL(r32(test_ram + 0xe000 + 20), 1);       /* first entry: RAM */
    CU_ASSERT_EQUAL(r32(test_ram + 0xe500 + 24), 0xe558);  /* mods_addr after the info */
    free(t.buf);
}

static void test_bad_aout(void)
{
    uint8_t *b = aout_image(0x200, 0x200100, 0x201000);
    w32(b + 20, 0x1ff000);                 /* header_addr below load_addr */
    expect_error(b, 0x200, 32 * MiB, "a.out kludge");
    free(b);
    b = aout_image(0x200, 0x200400, 0);    /* load_end past end of file */
    expect_error(b, 0x200, 32 * MiB, "truncated");
    free(b);
    b = aout_image(0x200, 0x200100, 0x2000f0);   /* bss_end below load_end */
    expect_error(b, 0x200, 32 * MiB, "bss_end_addr");
    free(b);
    b = aout_image(0x200, 0x200100, 0x3000000);  /* bss beyond 32 MiB */
    expect_error(b, 0x200, 32 * MiB, "outside guest RAM (32 MiB)");
    free(b);
}

static void test_missing_module(void)
{
    struct timg t = std_kernel(0);
    const char *mods[1] = { "/nonexistent/ringside-mod arg" };
    struct mb_result res;
    CU_ASSERT_EQUAL(load(t.buf, t.len, 32 * MiB, NULL, mods, 1, &res), -1);
    CU_ASSERT_STRING_EQUAL(res.error, "probe.elf: module /nonexistent/ringside-mod: "
                                      "No such file or directory");
    free(t.buf);
}

static void test_read_file(void)
{
    char p[32], err[256];
    uint8_t *data;
    size_t len;
    temp_module(p, "abc");
    CU_ASSERT_EQUAL(mb_read_file(p, &data, &len, err, sizeof err), 0);
    CU_ASSERT_EQUAL(len, 3);
    CU_ASSERT(data && memcmp(data, "abc", 3) == 0);
    free(data);
    unlink(p);
    CU_ASSERT_EQUAL(mb_read_file(p, &data, &len, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "No such file"));
    CU_ASSERT_EQUAL(mb_read_file("/tmp", &data, &len, err, sizeof err), -1);
    CU_ASSERT_STRING_EQUAL(err, "/tmp: is a directory");
}

/* ---- robustness ------------------------------------------------------------- */

static int load_ok_or_error(const uint8_t *img, size_t len)
{
    struct mb_result res;
    int rc = load(img, len, 32 * MiB, "a", NULL, 0, &res);
    if (rc == 0)
        return res.error[0] == 0 && res.eax == MB_BOOT_MAGIC && res.load_end <= 32 * MiB;
    return rc == -1 && res.error[0] != 0 && strlen(res.error) < sizeof res.error;
}

static void test_truncations(void)
{
    struct timg t = std_kernel(1);
    int bad = 0, ok = 0;
    for (size_t n = 0; n <= t.len; n++) {
        struct mb_result res;
        bad += !load_ok_or_error(t.buf, n);
        ok += load(t.buf, n, 32 * MiB, NULL, NULL, 0, &res) == 0;
        struct elf_symtab st;
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, t.buf, n);
        elf_load_symbols(copy, n, &st);
        elf_symtab_free(&st);
        free(copy);
    }
    CU_ASSERT_EQUAL(bad, 0);
    /* segment bytes end before the symbol table: only those prefixes load */
    CU_ASSERT(ok > 0 && ok < (int)t.len);
    free(t.buf);
}

static uint32_t rng_next(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static const uint32_t interesting[] = { 0, 1, 0x7fffffff, 0x80000000, 0xffffffff,
                                        0xfffffff0, 0x1000, 0x100000, 0x1ffffff };

/* One random mutation of b (length *len) in place. */
static void mutate(uint8_t *b, size_t *len, uint32_t *s)
{
    uint32_t r = rng_next(s), pos = rng_next(s) % (uint32_t)*len;
    switch (r % 5) {
    case 0: b[pos] ^= (uint8_t)(1u << (r >> 8) % 8); break;
    case 1: b[pos] = (uint8_t)(r >> 8); break;
    case 2: *len = pos; break;
    case 3:                              /* a header field to an edge value */
        pos = (rng_next(s) % 40) * 4 % (uint32_t)*len;
        if (pos + 4 <= *len)
            w32(b + pos, interesting[(r >> 8) % (sizeof interesting / 4)]);
        break;
    default: b[pos & ~3u] ^= 0xff; break;
    }
}

static void test_fuzz(void)
{
    struct timg t = std_kernel(1);
    uint8_t *aout = aout_image(0x200, 0x200100, 0x201000);
    uint32_t seed = 0x1badb002;
    int bad = 0, loaded = 0;
    uint8_t *b = malloc(t.len > 0x200 ? t.len : 0x200);
    for (int iter = 0; iter < 20000; iter++) {
        int use_aout = iter % 4 == 3;       /* a quarter exercise the a.out kludge */
        size_t len = use_aout ? 0x200 : t.len;
        memcpy(b, use_aout ? aout : t.buf, len);
        int nmut = 1 + (int)(rng_next(&seed) % 4);
        for (int m = 0; m < nmut && len > 0; m++)
            mutate(b, &len, &seed);
        bad += !load_ok_or_error(b, len);
        struct elf_symtab st;
        uint8_t *copy = malloc(len ? len : 1);
        memcpy(copy, b, len);
        if (elf_load_symbols(copy, len, &st) == 0)
            loaded += st.count > 0;
        elf_sym_at(&st, 0x100010, NULL);
        elf_symtab_free(&st);
        free(copy);
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT(loaded > 0);
    free(aout);
    free(b);
    free(t.buf);
}

/* ---- symbols ---------------------------------------------------------------- */

static void test_symbols(void)
{
    struct timg t = std_kernel(1);
    struct elf_symtab st;
    uint32_t off = 99;
    CU_ASSERT_EQUAL_FATAL(elf_load_symbols(t.buf, t.len, &st), 0);
    CU_ASSERT_EQUAL_FATAL(st.count, 3);
    CU_ASSERT_STRING_EQUAL(st.syms[0].name, "start");
    CU_ASSERT_STRING_EQUAL(st.syms[1].name, "kmain");
    CU_ASSERT_STRING_EQUAL(st.syms[2].name, "data_obj");
    const struct elf_sym *s = elf_sym_by_name(&st, "kmain");
    CU_ASSERT(s && s->addr == 0x100010 && s->size == 0x20);
    CU_ASSERT_PTR_NULL(elf_sym_by_name(&st, "ext"));
    CU_ASSERT_PTR_NULL(elf_sym_by_name(&st, "probe.c"));
    s = elf_sym_at(&st, 0x100015, &off);
    CU_ASSERT(s && strcmp(s->name, "kmain") == 0 && off == 5);
    s = elf_sym_at(&st, 0x100005, &off);
    CU_ASSERT(s && strcmp(s->name, "start") == 0 && off == 5);
    CU_ASSERT_PTR_NULL(elf_sym_at(&st, 0x100030, NULL));    /* past kmain's size */
    CU_ASSERT_PTR_NULL(elf_sym_at(&st, 0xfffff, NULL));     /* below every symbol */
    s = elf_sym_at(&st, 0x100107, &off);
    CU_ASSERT(s && strcmp(s->name, "data_obj") == 0 && off == 7);
    elf_symtab_free(&st);
    CU_ASSERT_EQUAL(st.count, 0);
    free(t.buf);
}

static void test_symbols_absent_or_bad(void)
{
    struct timg t = std_kernel(0);
    struct elf_symtab st;
    CU_ASSERT_EQUAL(elf_load_symbols(t.buf, t.len, &st), 0);  /* no .symtab */
    CU_ASSERT_EQUAL(st.count, 0);
    elf_symtab_free(&st);
    CU_ASSERT_EQUAL(elf_load_symbols((const uint8_t *)"nope", 4, &st), -1);
    free(t.buf);
    t = std_kernel(1);
    w32(t.buf + 32, (uint32_t)t.len - 8);                    /* e_shoff past end */
    CU_ASSERT_EQUAL(elf_load_symbols(t.buf, t.len, &st), -1);
    CU_ASSERT_EQUAL(st.count, 0);
    free(t.buf);
}

void suite_loader_register(void)
{
    CU_pSuite s = CU_add_suite("loader", suite_init, suite_clean);
    CU_add_test(s, "ELF segments, bss, entry", test_elf_segments);
    CU_add_test(s, "higher-half entry moved to p_paddr", test_elf_higher_half_entry);
    CU_add_test(s, "mbi = QEMU, 32 MiB, 2 modules", test_mbi_qemu_32m_modules);
    CU_add_test(s, "mbi = QEMU, 64 MiB, no -append", test_mbi_qemu_64m_no_append);
    CU_add_test(s, "mbi = QEMU, 32 MiB, -append", test_mbi_qemu_32m_append);
    CU_add_test(s, "modules page aligned", test_module_alignment);
    CU_add_test(s, "a.out kludge with bss", test_aout_kludge);
    CU_add_test(s, "a.out kludge whole file", test_aout_whole_file);
    CU_add_test(s, "bad ELF/multiboot headers", test_bad_header_fields);
    CU_add_test(s, "kernel at 0x8000: info after it", test_kernel_at_0x8000);
    CU_add_test(s, "bad a.out kludge", test_bad_aout);
    CU_add_test(s, "missing module", test_missing_module);
    CU_add_test(s, "mb_read_file", test_read_file);
    CU_add_test(s, "every truncation", test_truncations);
    CU_add_test(s, "20000 random mutations", test_fuzz);
    CU_add_test(s, "symbol lookup", test_symbols);
    CU_add_test(s, "no or bad symbol table", test_symbols_absent_or_bad);
}
