/*
 * ring3.c - hostile kernel: the attacks of the other kernels from guest
 * user mode (CPL 3), which a VMM runs at real CPL 3 by direct execution:
 * a DPL-3 expand-down window over the top 4 MiB (read, write, read back),
 * a DPL-3 descriptor in GDT slot 8188 (selector 0xFFE3), a DPL-3 LDT
 * descriptor, and int $0x41 after planting a gate where the VMM's IDT is
 * (issue 11: from ring 3 that ran the planted handler under trap and bt).
 * User code cannot print: it records each outcome and the kernel prints.
 */
#include "hostile.h"

#define NREC 16
static struct { int vec; uint32_t val, err; } rec[NREC];
static int nrec;
static uint8_t user_stack[4096] __attribute__((aligned(16)));
static uint64_t ldt[4];
static uint32_t buf[4] = { 0x33330000u, 0x33330001u, 0x33330002u, 0x33330003u };
static int hits41;

static void note(int vec, uint32_t val)
{
    if (nrec < NREC) {
        rec[nrec].vec = vec;
        rec[nrec].val = val;
        rec[nrec].err = vec ? hx_err : 0;
        nrec++;
    }
}

static void probe_read(uint32_t off)
{
    uint32_t v = 0;
    int vec = hx_read32(off, &v);
    note(vec, v);
}

static void user_main(void)
{
    note(hx_load_fs(0x33), 0);                 /* expand-down DPL 3 window */
    probe_read(0xFFC00008u);
    probe_read(0xFFC11004u);
    probe_read(0xFFE00000u);
    note(hx_write32(0xFFC10000u + 0x41 * 8, 0xFFE82000u), 0);
    note(hx_write32(0xFFC10004u + 0x41 * 8, 0x0010EE00u), 0);
    probe_read(0xFFC10000u + 0x41 * 8);
    note(hx_load_fs(0xFFE3), 0);               /* GDT slot 8188, DPL 3 */
    probe_read(4);
    note(hx_load_fs(0x0F), 0);                 /* LDT entry 1, DPL 3, expand-down */
    probe_read(0xFFC00010u);
    note(hx_load_fs(0xFFEB), 0);               /* slot 8189: the guest's null-ish entry */
    note(hx_int41(), 0);
    syscall3(0, 0, 0, 0);
}

static void on_syscall(struct trap_frame *tf)
{
    user_return(0);
}

static void on_41(struct trap_frame *tf)
{
    hits41++;
}

int kmain(uint32_t magic, struct multiboot_info *mbi)
{
    con_init();
    desc_init();
    hx_catch_init();
    trap_set_handler(SYSCALL_VECTOR, on_syscall);
    idt_set_gate(SYSCALL_VECTOR, GATE_TRAP, 3);
    trap_set_handler(0x41, on_41);                  /* DPL 0 gate: #GP from ring 3 */
    hx_gdt_init(8192);
    hx_gdt[6] = hx_desc(0, 0xFFBFF, 0xF7, FL_G | FL_DB);       /* DPL 3 expand-down */
    hx_gdt[8188] = hx_desc((uint32_t)buf, 15, 0xF3, FL_DB);     /* DPL 3 data */
    ldt[1] = hx_desc(0, 0xFFBFF, 0xF7, FL_G | FL_DB);
    hx_ldt_load(7, ldt, 4);
    hx_gdt_lgdt();
    kprintf("ring3: probes from user mode\n");
    user_run(user_main, (uint32_t)(user_stack + sizeof user_stack), EFLAGS_RESERVED1);
    static const char *const what[] = {
        "load fs=0x33 (dpl3 top window)", "read shadow gdt", "read vmm tss", "read tc",
        "write idt[0x41] low", "write idt[0x41] high", "read idt[0x41]",
        "load fs=0xffe3 (slot 8188)", "read buf+4", "load fs=0x0f (ldt dpl3 window)",
        "read shadow gdt", "load fs=0xffeb (slot 8189, empty)", "int $0x41",
    };
    for (int i = 0; i < nrec && i < (int)ARRAY_SIZE(what); i++) {
        if (rec[i].vec)
            kprintf("  %-32s -> fault %s(0x%x)\n", what[i], trap_name(rec[i].vec), rec[i].err);
        else
            kprintf("  %-32s -> 0x%08x\n", what[i], rec[i].val);
    }
    kprintf("int 0x41 from ring 3: guest handler ran %d times (DPL 0 gate)\n", hits41);
    kprintf("ring3: done\n");
    return EXIT_OK;
}
