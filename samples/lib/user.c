/*
 * user.c - helpers for code that runs at ring 3, and the multiboot
 * command line.
 *
 * Ring-3 code may not touch I/O ports (IOPL is 0 and the TSS has no I/O
 * bitmap), so it prints by formatting into a buffer on its own stack and
 * asking the kernel to write it: uprintf() issues system call 1 (write) via
 * int 0x80. Kernels that run user code implement that call; see rings.c.
 *
 * The multiboot command line is "<kernel path> <arguments>" under QEMU's
 * -kernel/-append (and ringside copies that). mb_args() skips the path, so
 * output does not depend on where the kernel file lives, and mb_arg_uint()
 * finds "key=N" among the arguments.
 */
#include "kernel.h"

#define SYS_WRITE 1

int uprintf(const char *fmt, ...)
{
    char buf[128];
    va_list ap;

    va_start(ap, fmt);
    int n = kvsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof(buf))
        n = sizeof(buf) - 1;
    syscall3(SYS_WRITE, (uint32_t)buf, (uint32_t)n, 0);
    return n;
}

const char *mb_cmdline(const struct multiboot_info *mbi)
{
    if (!(mbi->flags & MB_INFO_CMDLINE) || !mbi->cmdline)
        return "";
    return (const char *)mbi->cmdline;
}

const char *mb_args(const struct multiboot_info *mbi)
{
    const char *s = mb_cmdline(mbi);
    while (*s && *s != ' ')
        s++;
    while (*s == ' ')
        s++;
    return s;
}

static unsigned parse_uint(const char *s)
{
    unsigned v = 0;
    while (*s >= '0' && *s <= '9')
        v = v * 10 + (unsigned)(*s++ - '0');
    return v;
}

unsigned mb_arg_uint(const struct multiboot_info *mbi, const char *key, unsigned dflt)
{
    size_t klen = strlen(key);
    const char *s = mb_args(mbi);

    while (*s) {
        if (!strncmp(s, key, klen) && s[klen] >= '0' && s[klen] <= '9')
            return parse_uint(s + klen);
        while (*s && *s != ' ')
            s++;
        while (*s == ' ')
            s++;
    }
    return dflt;
}
