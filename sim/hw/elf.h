/*
 * elf.h - ELF32 (i386) parsing with every bound checked, and a symbol table.
 *
 * A guest kernel is untrusted input: any byte of the file may be wrong. The
 * functions here never read outside [image, image + len) and report a bad
 * file as a one-line message instead of crashing. The multiboot loader uses
 * the header and program-header helpers to place PT_LOAD segments in guest
 * RAM; the UI and the breakpoint code use the symbol table (.symtab) to turn
 * addresses into names and back.
 *
 * Reference: System V ABI, "Executable and Linking Format (ELF)", v1.2,
 * Book I chapter 1 (header, sections, symbol table) and chapter 2 (program
 * headers).
 */
#ifndef RS_ELF_H
#define RS_ELF_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* Values from the ELF specification that callers need. */
#define ELF_ET_EXEC   2u          /* e_type: executable file */
#define ELF_EM_386    3u          /* e_machine: Intel 80386 */
#define ELF_EM_X86_64 62u         /* e_machine: AMD x86-64 */
#define ELF_PT_LOAD   1u          /* p_type: loadable segment */
#define ELF_PF_X      1u          /* p_flags: executable */
#define ELF_EHDR_SIZE 52u         /* sizeof(Elf32_Ehdr) */
#define ELF_PHDR_SIZE 32u         /* sizeof(Elf32_Phdr) */

/* The fields of an Elf32_Ehdr the simulator uses, in host order. */
struct elf_ehdr {
    uint16_t type;                /* e_type (ELF_ET_EXEC for kernels) */
    uint16_t machine;             /* e_machine (ELF_EM_386) */
    uint32_t entry;               /* e_entry: virtual entry address */
    uint32_t phoff;               /* file offset of the program headers */
    uint32_t shoff;               /* file offset of the section headers */
    uint16_t phentsize;           /* bytes per program header (>= 32) */
    uint16_t phnum;               /* number of program headers */
    uint16_t shentsize;           /* bytes per section header (>= 40) */
    uint16_t shnum;               /* number of section headers */
};

/* One Elf32_Phdr, in host order. */
struct elf_phdr {
    uint32_t type;                /* p_type (ELF_PT_LOAD, ...) */
    uint32_t offset;              /* file offset of the segment's bytes */
    uint32_t vaddr;               /* virtual address */
    uint32_t paddr;               /* physical address (where loaders put it) */
    uint32_t filesz;              /* bytes present in the file */
    uint32_t memsz;               /* bytes in memory (rest zero-filled) */
    uint32_t flags;               /* ELF_PF_X | W | R */
};

/* True if the image starts with the ELF magic "\x7fELF". */
bool elf_is_elf(const uint8_t *image, size_t len);

/*
 * Validate the header of a 32-bit little-endian i386 executable and the
 * bounds of its program header table. Returns 0, or -1 with a one-line
 * message in err ("not an ELF file", "ELF64 kernels are not supported",
 * "truncated (program header 3 runs past end of file)", ...).
 */
int elf_parse_header(const uint8_t *image, size_t len, struct elf_ehdr *eh,
                     char *err, size_t errlen);

/* Program header i (0 <= i < eh->phnum) of an image elf_parse_header accepted. */
void elf_get_phdr(const uint8_t *image, const struct elf_ehdr *eh, int i,
                  struct elf_phdr *ph);

/* What elf_load_segments placed in guest RAM. */
struct elf_load_info {
    uint32_t entry;               /* physical entry (see elf_load_segments) */
    uint32_t low, high;           /* [low, high): span of all loaded segments */
};

/*
 * Copy every PT_LOAD segment with p_memsz > 0 to guest-physical p_paddr in
 * ram[0, ram_size), zero-filling p_memsz beyond p_filesz, as QEMU's load_elf
 * does. If e_entry is a virtual address inside an executable segment whose
 * p_vaddr differs from p_paddr (a higher-half kernel), the entry is moved to
 * the physical copy, as QEMU does. All segments are checked before any byte
 * is written. Returns 0, or -1 with a one-line message in err.
 */
int elf_load_segments(uint8_t *ram, uint32_t ram_size, const uint8_t *image,
                      size_t len, struct elf_load_info *out, char *err, size_t errlen);

/* Symbol table for the UI and breakpoints. */
struct elf_sym {
    uint32_t addr, size;          /* st_value, st_size */
    char *name;                   /* owned copy, NUL-terminated */
};
struct elf_symtab {
    struct elf_sym *syms;         /* sorted by addr, then name */
    int count;
};

/*
 * Read the functions, objects and untyped labels of .symtab (SHT_SYMTAB).
 * Returns 0 (the table may be empty: no .symtab is not an error) or -1 if
 * the image is not ELF32 or its section/symbol tables are malformed; on -1
 * *out is empty. Free with elf_symtab_free.
 */
int elf_load_symbols(const uint8_t *image, size_t len, struct elf_symtab *out);
/* First symbol with this exact name, or NULL. */
const struct elf_sym *elf_sym_by_name(const struct elf_symtab *t, const char *name);
/*
 * The symbol containing addr: the highest-addressed symbol at or below addr
 * whose size covers addr (a size-0 label covers everything up to the next
 * symbol). *offset (if non-NULL) gets addr - sym->addr. NULL if none.
 */
const struct elf_sym *elf_sym_at(const struct elf_symtab *t, uint32_t addr,
                                 uint32_t *offset);
void elf_symtab_free(struct elf_symtab *t);

#endif
