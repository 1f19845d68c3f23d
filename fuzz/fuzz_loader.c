/*
 * fuzz_loader.c - libFuzzer target for the kernel loader: the multiboot
 * header search, the a.out-kludge and ELF loaders (multiboot.c, elf.c) and
 * the ELF symbol reader the UI and traces use.
 *
 * Why: a kernel file is outside input; the loader promises never to read
 * outside the image nor write outside guest RAM, whatever the bytes. Guest
 * RAM here is one 2 MiB heap block (the smallest --mem), so ASan catches a
 * write one byte past it. On success the reported spans must lie in RAM;
 * the symbol table must come back sorted by address.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hw/elf.h"
#include "hw/multiboot.h"

#define FUZZ_RAM (2u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_symbols(const uint8_t *image, size_t len)
{
    struct elf_symtab t;
    if (elf_load_symbols(image, len, &t) != 0) {
        if (t.count != 0)
            abort();           /* on -1 the table is empty */
        return;
    }
    for (int i = 1; i < t.count; i++)
        if (t.syms[i - 1].addr > t.syms[i].addr)
            abort();
    uint32_t off;
    for (int i = 0; i < t.count && i < 16; i++) {
        const struct elf_sym *s = elf_sym_at(&t, t.syms[i].addr, &off);
        if (!s || s->addr > t.syms[i].addr || strlen(s->name) > len)
            abort();
        elf_sym_by_name(&t, t.syms[i].name);
    }
    elf_symtab_free(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t *ram;
    if (!ram)
        ram = malloc(FUZZ_RAM);
    /* an exact-size heap copy: a read past the image is an ASan report */
    uint8_t *image = malloc(size ? size : 1);
    memcpy(image, data, size);
    struct mb_options opt = { .cmdline = "console=ttyS0", .kernel_path = "fuzz.elf" };
    struct mb_result res;
    memset(&res, 0, sizeof res);
    if (multiboot_load(ram, FUZZ_RAM, image, size, &opt, &res) == 0) {
        if (res.load_start > res.load_end || res.load_end > FUZZ_RAM ||
            res.used_end > FUZZ_RAM || res.eax != MB_BOOT_MAGIC)
            abort();
    } else if (!res.error[0] || memchr(res.error, '\n', sizeof res.error)) {
        abort();               /* a failure is one line */
    }
    check_symbols(image, size);
    free(image);
    return 0;
}
