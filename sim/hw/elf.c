/*
 * elf.c - bounds-checked ELF32 parsing: header, program headers, PT_LOAD
 * placement into guest RAM, and the .symtab symbol table.
 *
 * Every offset and size read from the file is checked against the file
 * length with 64-bit arithmetic before use, so that a field such as
 * p_offset = 0xFFFFFFF0 with p_filesz = 0x20 cannot wrap around and pass.
 * Loading follows QEMU's load_elf (hw/core/loader.c, include/hw/elf_ops.h):
 * segments go to p_paddr, segments with p_memsz == 0 are ignored, and a
 * file with p_filesz > p_memsz is rejected.
 */
#include "hw/elf.h"
#include "le.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ELF_SHDR_SIZE 40u        /* sizeof(Elf32_Shdr) */
#define ELF_SYM_SIZE  16u        /* sizeof(Elf32_Sym) */
#define ELF_SHT_SYMTAB 2u
#define ELF_STT_NOTYPE 0u
#define ELF_STT_OBJECT 1u
#define ELF_STT_FUNC   2u
#define ELF_SHN_UNDEF  0u
#define ELF_MAX_SYMS   (1 << 20) /* sanity bound on symbols kept */

/* Does [off, off + size) lie inside a file of len bytes? No wrap-around. */
static bool in_file(uint64_t off, uint64_t size, size_t len)
{
    return off <= len && size <= len - off;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

bool elf_is_elf(const uint8_t *image, size_t len)
{
    return len >= 4 && image[0] == 0x7f && image[1] == 'E' && image[2] == 'L' &&
           image[3] == 'F';
}

/* e_ident checks shared by the loader and the symbol reader (ELF32, LSB). */
static int check_ident(const uint8_t *image, size_t len, char *err, size_t errlen)
{
    if (len == 0)
        return fail(err, errlen, "empty file");
    if (!elf_is_elf(image, len))
        return fail(err, errlen, "not an ELF file");
    if (len < 6)
        return fail(err, errlen, "truncated (ELF header is %u bytes, file has %zu)",
                    ELF_EHDR_SIZE, len);
    if (image[4] == 2)
        return fail(err, errlen, "ELF64 kernels are not supported");
    if (image[4] != 1)
        return fail(err, errlen, "bad ELF class %u", image[4]);
    if (image[5] == 2)
        return fail(err, errlen, "big-endian ELF files are not supported");
    if (image[5] != 1)
        return fail(err, errlen, "bad ELF data encoding %u", image[5]);
    if (len < ELF_EHDR_SIZE)
        return fail(err, errlen, "truncated (ELF header is %u bytes, file has %zu)",
                    ELF_EHDR_SIZE, len);
    return 0;
}

static void read_ehdr(const uint8_t *image, struct elf_ehdr *eh)
{
    eh->type = le_get16(image + 16);
    eh->machine = le_get16(image + 18);
    eh->entry = le_get32(image + 24);
    eh->phoff = le_get32(image + 28);
    eh->shoff = le_get32(image + 32);
    eh->phentsize = le_get16(image + 42);
    eh->phnum = le_get16(image + 44);
    eh->shentsize = le_get16(image + 46);
    eh->shnum = le_get16(image + 48);
}

int elf_parse_header(const uint8_t *image, size_t len, struct elf_ehdr *eh,
                     char *err, size_t errlen)
{
    if (check_ident(image, len, err, errlen) < 0)
        return -1;
    read_ehdr(image, eh);
    if (eh->machine != ELF_EM_386)
        return fail(err, errlen, "not an i386 ELF file (e_machine %u)", eh->machine);
    if (eh->type != ELF_ET_EXEC)
        return fail(err, errlen, "not an executable ELF file (e_type %u)", eh->type);
    if (eh->phnum == 0)
        return fail(err, errlen, "no program headers");
    if (eh->phentsize < ELF_PHDR_SIZE)
        return fail(err, errlen, "bad program header size %u", eh->phentsize);
    for (int i = 0; i < eh->phnum; i++) {
        uint64_t off = (uint64_t)eh->phoff + (uint64_t)i * eh->phentsize;
        if (!in_file(off, ELF_PHDR_SIZE, len))
            return fail(err, errlen, "truncated (program header %d runs past end of file)", i);
    }
    return 0;
}

void elf_get_phdr(const uint8_t *image, const struct elf_ehdr *eh, int i,
                  struct elf_phdr *ph)
{
    const uint8_t *p = image + eh->phoff + (size_t)i * eh->phentsize;
    ph->type = le_get32(p + 0);
    ph->offset = le_get32(p + 4);
    ph->vaddr = le_get32(p + 8);
    ph->paddr = le_get32(p + 12);
    ph->filesz = le_get32(p + 16);
    ph->memsz = le_get32(p + 20);
    ph->flags = le_get32(p + 24);
}

/* Describe a RAM size for messages: "32 MiB", or "1500 KiB". */
static void ram_desc(uint32_t ram_size, char *buf, size_t n)
{
    if (ram_size % (1024 * 1024) == 0)
        snprintf(buf, n, "%u MiB", ram_size / (1024 * 1024));
    else
        snprintf(buf, n, "%u KiB", ram_size / 1024);
}

/* Check one PT_LOAD segment against the file and guest RAM. */
static int check_segment(const struct elf_phdr *ph, int i, size_t len,
                         uint32_t ram_size, char *err, size_t errlen)
{
    char rd[32];
    if (ph->filesz > ph->memsz)
        return fail(err, errlen, "program header %d: p_filesz 0x%x > p_memsz 0x%x",
                    i, ph->filesz, ph->memsz);
    if (!in_file(ph->offset, ph->filesz, len))
        return fail(err, errlen, "truncated (segment %d: file bytes 0x%x + 0x%x run past "
                    "end of file at 0x%zx)", i, ph->offset, ph->filesz, len);
    uint64_t end = (uint64_t)ph->paddr + ph->memsz;
    if (end > ram_size) {
        ram_desc(ram_size, rd, sizeof rd);
        return fail(err, errlen, "segment 0x%08x - 0x%08llx lies outside guest RAM (%s)",
                    ph->paddr, (unsigned long long)end, rd);
    }
    return 0;
}

/* QEMU's rule for higher-half kernels: move e_entry to its physical copy. */
static void adjust_entry(const struct elf_phdr *ph, uint32_t e_entry, uint32_t *entry)
{
    if (ph->vaddr != ph->paddr && (ph->flags & ELF_PF_X) && e_entry >= ph->vaddr &&
        (uint64_t)e_entry < (uint64_t)ph->vaddr + ph->filesz)
        *entry = e_entry - ph->vaddr + ph->paddr;
}

/* Pass 1: validate every segment, compute the span and the entry. */
static int scan_segments(const uint8_t *image, size_t len, const struct elf_ehdr *eh,
                         uint32_t ram_size, struct elf_load_info *out, char *err,
                         size_t errlen)
{
    uint64_t low = UINT64_MAX, high = 0;
    out->entry = eh->entry;
    for (int i = 0; i < eh->phnum; i++) {
        struct elf_phdr ph;
        elf_get_phdr(image, eh, i, &ph);
        if (ph.type != ELF_PT_LOAD)
            continue;
        if (check_segment(&ph, i, len, ram_size, err, errlen) < 0)
            return -1;
        adjust_entry(&ph, eh->entry, &out->entry);
        if (ph.memsz == 0)
            continue;
        if (ph.paddr < low)
            low = ph.paddr;
        if ((uint64_t)ph.paddr + ph.memsz > high)
            high = (uint64_t)ph.paddr + ph.memsz;
    }
    if (high == 0)
        return fail(err, errlen, "no loadable segments");
    out->low = (uint32_t)low;
    out->high = (uint32_t)high;
    return 0;
}

int elf_load_segments(uint8_t *ram, uint32_t ram_size, const uint8_t *image,
                      size_t len, struct elf_load_info *out, char *err, size_t errlen)
{
    struct elf_ehdr eh;
    if (elf_parse_header(image, len, &eh, err, errlen) < 0)
        return -1;
    if (scan_segments(image, len, &eh, ram_size, out, err, errlen) < 0)
        return -1;
    for (int i = 0; i < eh.phnum; i++) {
        struct elf_phdr ph;
        elf_get_phdr(image, &eh, i, &ph);
        if (ph.type != ELF_PT_LOAD || ph.memsz == 0)
            continue;
        memcpy(ram + ph.paddr, image + ph.offset, ph.filesz);
        memset(ram + ph.paddr + ph.filesz, 0, ph.memsz - ph.filesz);
    }
    return 0;
}

/* ---- symbols ------------------------------------------------------------ */

/* A section header's fields the symbol reader needs. */
struct elf_shdr {
    uint32_t type, offset, size, link, entsize;
};

static int get_shdr(const uint8_t *image, size_t len, const struct elf_ehdr *eh,
                    uint32_t i, struct elf_shdr *sh)
{
    uint64_t off = (uint64_t)eh->shoff + (uint64_t)i * eh->shentsize;
    if (i >= eh->shnum || !in_file(off, ELF_SHDR_SIZE, len))
        return -1;
    const uint8_t *p = image + off;
    sh->type = le_get32(p + 4);
    sh->offset = le_get32(p + 16);
    sh->size = le_get32(p + 20);
    sh->link = le_get32(p + 24);
    sh->entsize = le_get32(p + 36);
    return 0;
}

static bool sym_wanted(const uint8_t *s)
{
    unsigned type = s[12] & 0xf;
    uint16_t shndx = le_get16(s + 14);
    return shndx != ELF_SHN_UNDEF && le_get32(s) != 0 &&
           (type == ELF_STT_FUNC || type == ELF_STT_OBJECT || type == ELF_STT_NOTYPE);
}

/* Copy symbol s's name out of the string table, or NULL if malformed. */
static char *sym_name(const uint8_t *image, const struct elf_shdr *str, uint32_t name)
{
    if (name >= str->size)
        return NULL;
    const char *p = (const char *)image + str->offset + name;
    size_t max = str->size - name;
    size_t n = strnlen(p, max);
    if (n == max || n == 0)
        return NULL;                    /* unterminated or empty */
    char *copy = malloc(n + 1);
    if (copy) {
        memcpy(copy, p, n);
        copy[n] = 0;
    }
    return copy;
}

static int sym_cmp(const void *a, const void *b)
{
    const struct elf_sym *x = a, *y = b;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Collect the wanted symbols of one SHT_SYMTAB section. */
static int read_symtab(const uint8_t *image, const struct elf_shdr *tab,
                       const struct elf_shdr *str, struct elf_symtab *out)
{
    uint32_t n = tab->size / ELF_SYM_SIZE;
    if (n > ELF_MAX_SYMS)
        return -1;
    out->syms = calloc(n ? n : 1, sizeof *out->syms);
    if (!out->syms)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *s = image + tab->offset + (size_t)i * ELF_SYM_SIZE;
        if (!sym_wanted(s))
            continue;
        char *name = sym_name(image, str, le_get32(s));
        if (!name)
            continue;
        out->syms[out->count++] = (struct elf_sym){ le_get32(s + 4), le_get32(s + 8), name };
    }
    qsort(out->syms, (size_t)out->count, sizeof *out->syms, sym_cmp);
    return 0;
}

/* Find the .symtab and its string table; 1 found, 0 none, -1 malformed. */
static int find_symtab(const uint8_t *image, size_t len, const struct elf_ehdr *eh,
                       struct elf_shdr *tab, struct elf_shdr *str)
{
    if (eh->shnum == 0 || eh->shoff == 0)
        return 0;
    if (eh->shentsize < ELF_SHDR_SIZE)
        return -1;
    for (uint32_t i = 0; i < eh->shnum; i++) {
        if (get_shdr(image, len, eh, i, tab) < 0)
            return -1;
        if (tab->type != ELF_SHT_SYMTAB)
            continue;
        if (get_shdr(image, len, eh, tab->link, str) < 0 ||
            !in_file(tab->offset, tab->size, len) || !in_file(str->offset, str->size, len))
            return -1;
        return 1;
    }
    return 0;
}

int elf_load_symbols(const uint8_t *image, size_t len, struct elf_symtab *out)
{
    struct elf_ehdr eh;
    struct elf_shdr tab, str;
    out->syms = NULL;
    out->count = 0;
    if (check_ident(image, len, NULL, 0) < 0)
        return -1;
    read_ehdr(image, &eh);
    int found = find_symtab(image, len, &eh, &tab, &str);
    if (found <= 0)
        return found;
    if (read_symtab(image, &tab, &str, out) < 0) {
        elf_symtab_free(out);
        return -1;
    }
    return 0;
}

const struct elf_sym *elf_sym_by_name(const struct elf_symtab *t, const char *name)
{
    for (int i = 0; i < t->count; i++)
        if (strcmp(t->syms[i].name, name) == 0)
            return &t->syms[i];
    return NULL;
}

const struct elf_sym *elf_sym_at(const struct elf_symtab *t, uint32_t addr,
                                 uint32_t *offset)
{
    int lo = 0, hi = t->count;          /* find the first symbol above addr */
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (t->syms[mid].addr <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (int i = lo - 1; i >= 0 && t->syms[i].addr == t->syms[lo - 1].addr; i--) {
        const struct elf_sym *s = &t->syms[i];
        if (s->size == 0 || (uint64_t)addr < (uint64_t)s->addr + s->size) {
            if (offset)
                *offset = addr - s->addr;
            return s;
        }
    }
    return NULL;
}

void elf_symtab_free(struct elf_symtab *t)
{
    for (int i = 0; i < t->count; i++)
        free(t->syms[i].name);
    free(t->syms);
    t->syms = NULL;
    t->count = 0;
}
