/*
 * kernel.c - lab 1: a kernel that makes exactly the traps it is asked for.
 * The command line says how many: "cli=C lidt=L".
 */
#include "kernel.h"

int kmain(uint32_t magic, struct multiboot_info *mbi)
{
    con_init();
    unsigned clis = mb_arg_uint(mbi, "cli=", 0), lidts = mb_arg_uint(mbi, "lidt=", 0);
    kprintf("lab 1: asked for %u cli and %u lidt traps\n", clis, lidts);
    /* SOLUTION BEGIN */
    struct { uint16_t limit; uint32_t base; } __attribute__((packed)) idtr = { 0, 0 };
    for (unsigned i = 1; i < clis; i++)   /* the boot code made the first one */
        __asm__ volatile("cli");
    for (unsigned i = 0; i < lidts; i++)
        __asm__ volatile("lidt %0" : : "m"(idtr));
    /* SOLUTION END */
    return EXIT_OK;
}
