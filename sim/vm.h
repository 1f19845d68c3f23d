/*
 * vm.h - a virtual machine: the one recipe every command builds guests with.
 *
 * A VM is a simulated PC (machine.h) together with the engine that runs it,
 * its event stream, its statistics and its cost profile, built from a plain
 * description (struct vm_config). `ringside run`, `tc-dump`, `paper` and the
 * TUI all build their guests here, so an option such as --tc-size means the
 * same thing everywhere, and the host of several VMs (DESIGN.md §7) creates
 * each of its guests the same way.
 */
#ifndef RS_VM_H
#define RS_VM_H

#include <stddef.h>
#include <stdint.h>
#include "machine.h"

/* What a VM is made of. Zero means "the default" for every number. */
struct vm_config {
    const char *name;             /* for messages and the UI; NULL: the kernel path */
    uint8_t id;                   /* stamped on every event of this VM */
    const char *kernel_path;      /* as typed (the multiboot cmdline starts with it);
                                     NULL with no image: an empty VM for a restore */
    const uint8_t *image;         /* the kernel file's bytes; NULL: read kernel_path */
    size_t image_len;
    const char *cmdline;          /* multiboot command line, NULL = "" */
    const char *const *modules;   /* "FILE [args]" each, read when the VM is built */
    int nmodules;
    const char *const *disks;     /* "FILE" or "FILE,index=N": IDE disks in order */
    int ndisks;
    bool disk_write;              /* guest writes reach the image files */
    uint32_t mem_mib;             /* guest RAM, 2..3072 (0: 32) */
    enum machine_mode mode;       /* the engine */
    uint32_t tc_size;             /* bt: TC bytes (clamped to BT_TC_SIZE_MAX), 0: default */
    const char *tc_policy;        /* bt: "flush" or "fifo", NULL: flush */
    int tc_block_insns;           /* bt: guest instructions per unit, 0: 12 */
    const struct cost_profile *costs; /* NULL: the default profile (p4-672) */
    bool npt;                     /* hw: nested paging instead of shadow page tables */
    bool reference_cpu;           /* the CPU one instruction at a time, generic handlers
                                     (cpu.h: the definition the fast paths must match) */
    int64_t rtc_epoch;            /* the RTC's start, seconds since 1970 UTC (0: 2026-01-01) */
    struct frames *machine_memory; /* a host's pool (mem/frames.h): trap and bt VMs take
                                     frames from it; NULL: RAM of its own */
};

struct vm {
    struct machine m;             /* the hardware, its engine, events, stats, costs */
    char name[64];
    char kernel_path[256];        /* as given (empty: built without a kernel) */
    uint64_t kernel_size;         /* the kernel file's size and zlib CRC-32: */
    uint32_t kernel_crc;          /*   a snapshot names the kernel it was taken of */
    struct history *hist;         /* inputs and checkpoints (history.h), or NULL */
};

/* Build, configure and load a VM. NULL with a one-line reason in err (bad
   --mem, unreadable or malformed kernel or module, bad TC option). */
struct vm *vm_create(const struct vm_config *cfg, char *err, size_t errlen);
void vm_destroy(struct vm *vm);

/* ---- inspection: the guest as it sees itself, under any engine ---- */

/* The guest's architectural state (under a VMM: the virtual CPU's view). */
void vm_guest_state(struct vm *vm, struct cpu_state *out);
/* Set a general register (0-7: EAX..EDI), EIP (8) or EFLAGS' arithmetic and
   trap bits (9); false for any other. */
bool vm_set_guest_reg(struct vm *vm, int n, uint32_t value);
/* Guest linear memory through the guest's page tables: 0, or -1 when a
   page is not mapped (or not RAM). Writes reach every cache that holds a
   decoded or translated copy. */
int vm_read_linear(struct vm *vm, uint32_t lin, void *buf, uint32_t len);
int vm_write_linear(struct vm *vm, uint32_t lin, const void *buf, uint32_t len);
/* Guest instructions retired (not the TC's extra instructions). */
uint64_t vm_guest_insns(const struct vm *vm);
/* A byte from outside for COM1, or a character typed on the keyboard
   (machine_key_input); logged when the VM has a history. false when there
   is no room for it (or a recording is being replayed). */
bool vm_input(struct vm *vm, enum machine_input_dest dest, uint8_t byte);

/* ---- the dirty log: guest-physical pages written (cpu.h, dirtylog.c) ---- */

/* Guest RAM in 4 KiB pages (the log's bitmap has (pages + 7) / 8 bytes). */
static inline uint32_t vm_guest_pages(const struct vm *vm) { return vm->m.ram_size >> 12; }
/* Start logging every guest page (a running log starts over): 0, or -1 out of memory. */
int vm_dirty_log_start(struct vm *vm);
void vm_dirty_log_stop(struct vm *vm);
/* The pages written since the start or the last take (bit p of byte p / 8),
   and the log cleared; returns their number. */
uint32_t vm_dirty_log_take(struct vm *vm, uint8_t *bitmap);

/* Run until the VM ends or `insn_limit` total retired instructions (0: no
   limit); the stop reasons of machine_run. With a history, through it:
   logged inputs delivered, checkpoints taken. */
enum machine_end vm_run(struct vm *vm, uint64_t insn_limit);

#endif
