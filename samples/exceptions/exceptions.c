/*
 * exceptions.c - CPU exceptions: raised, handled, and returned from.
 *
 * Each test below is a few instructions of assembly between two labels,
 * <name>_insn (the instruction that raises the exception) and <name>_end
 * (the next instruction). The handler prints the vector, the error code and
 * where EIP points relative to <name>_insn, then resumes at <name>_end.
 *
 * The EIP offsets teach the difference between the two kinds of exception
 * (Intel SDM vol. 3, 6.5): a *fault* (#DE, #BR, #UD, #GP) reports the
 * address of the faulting instruction itself, so that it can be restarted
 * after the cause is fixed; a *trap* (#BP from int3, #OF from into) reports
 * the address of the next instruction. Only some vectors push an error code
 * (#GP does: the selector that caused it, or 0).
 */
#include "kernel.h"

/* Each test function executes one faulting instruction and returns. */
void exc_de(void), exc_bp(void), exc_of(void), exc_br(void), exc_ud(void);
void exc_gp_sel(void), exc_gp_null(void), exc_gp_ss(void);
extern const char de_insn[], de_end[], bp_insn[], bp_end[], of_insn[], of_end[];
extern const char br_insn[], br_end[], ud_insn[], ud_end[];
extern const char gps_insn[], gps_end[], gpn_insn[], gpn_end[], gpss_insn[], gpss_end[];

__asm__(".text\n"
        "exc_de:\n"                      /* 1 / 0: #DE */
        "    mov $1, %eax\n"
        "    xor %edx, %edx\n"
        "    xor %ecx, %ecx\n"
        ".globl de_insn\n de_insn: divl %ecx\n"
        ".globl de_end\n de_end: ret\n"
        "exc_bp:\n"                      /* int3: #BP, a trap */
        ".globl bp_insn\n bp_insn: int3\n"
        ".globl bp_end\n bp_end: ret\n"
        "exc_of:\n"                      /* 0x7fffffff + 1 sets OF; into: #OF, a trap */
        "    mov $0x7fffffff, %eax\n"
        "    add $1, %eax\n"
        ".globl of_insn\n of_insn: into\n"
        ".globl of_end\n of_end: ret\n"
        "exc_br:\n"                      /* index 20 outside [0, 9]: #BR */
        "    mov $20, %eax\n"
        ".globl br_insn\n br_insn: bound %eax, bounds_0_9\n"
        ".globl br_end\n br_end: ret\n"
        "exc_ud:\n"                      /* the official undefined opcode */
        ".globl ud_insn\n ud_insn: ud2\n"
        ".globl ud_end\n ud_end: ret\n"
        "exc_gp_sel:\n"                  /* selector 0x30 is past the GDT limit */
        "    mov $0x30, %eax\n"
        ".globl gps_insn\n gps_insn: mov %ax, %fs\n"
        ".globl gps_end\n gps_end: ret\n"
        "exc_gp_null:\n"                 /* a far jump to the null selector */
        ".globl gpn_insn\n gpn_insn: ljmp $0, $gpn_end\n"
        ".globl gpn_end\n gpn_end: ret\n"
        "exc_gp_ss:\n"                   /* SS must have RPL = DPL = CPL */
        "    mov $0x23, %eax\n"
        ".globl gpss_insn\n gpss_insn: mov %ax, %ss\n"
        ".globl gpss_end\n gpss_end: ret\n"
        ".data\n"
        ".align 8\n"
        "bounds_0_9: .long 0, 9\n"
        ".text\n");

struct exc_test {
    const char *what;                 /* shown to the student */
    void (*run)(void);
    const char *insn, *end;           /* labels around the instruction */
    int vector;                       /* what the CPU must raise */
};

static const struct exc_test tests[] = {
    { "divl by zero", exc_de, de_insn, de_end, 0 },
    { "int3", exc_bp, bp_insn, bp_end, 3 },
    { "into with OF=1", exc_of, of_insn, of_end, 4 },
    { "bound 20 in [0,9]", exc_br, br_insn, br_end, 5 },
    { "ud2", exc_ud, ud_insn, ud_end, 6 },
    { "mov 0x30 to %fs (beyond GDT limit)", exc_gp_sel, gps_insn, gps_end, 13 },
    { "ljmp to null selector", exc_gp_null, gpn_insn, gpn_end, 13 },
    { "mov 0x23 to %ss (user data, RPL 3)", exc_gp_ss, gpss_insn, gpss_end, 13 },
};

static const struct exc_test *current;  /* the test now running */
static int handled;                     /* handler calls for `current` */

static int has_error_code(int vector)
{
    return vector == 8 || (vector >= 10 && vector <= 14) || vector == 17;
}

static void on_exception(struct trap_frame *tf)
{
    const struct exc_test *t = current;
    int32_t off = (int32_t)(tf->eip - (uint32_t)t->insn);

    kprintf("  vector %u %s", tf->vector, trap_name((int)tf->vector));
    if (has_error_code((int)tf->vector))
        kprintf(", error code 0x%04x", tf->err);
    kprintf(", eip = insn%+d (%s)\n", off,
            off == 0 ? "fault: points at the instruction" : "trap: points after it");
    handled++;
    if (tf->vector != (uint32_t)t->vector || handled > 1) {
        kprintf("  unexpected: wanted vector %d\n", t->vector);
        kexit(EXIT_FAIL);
    }
    tf->eip = (uint32_t)t->end;       /* resume after the instruction */
}

int kmain(uint32_t magic, struct multiboot_info *mbi)
{
    int failures = 0;

    con_init();
    desc_init();
    kprintf("exceptions: raise each one at ring 0, handle it, return\n");
    for (int v = 0; v < 32; v++)
        trap_set_handler(v, on_exception);
    for (size_t i = 0; i < ARRAY_SIZE(tests); i++) {
        current = &tests[i];
        handled = 0;
        kprintf("%s:\n", tests[i].what);
        tests[i].run();
        kprintf("  returned from the handler, continuing\n");
        failures += handled != 1;
    }
    kprintf("%d of %u exceptions handled\n", (int)ARRAY_SIZE(tests) - failures,
            (unsigned)ARRAY_SIZE(tests));
    return failures ? EXIT_FAIL : EXIT_OK;
}
