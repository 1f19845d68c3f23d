/*
 * console.c - output on the COM1 serial port and a small printf.
 *
 * The only output device the samples use is the 16550 UART at 0x3F8. The
 * platform leaves it at 115200 baud, 8N1 (DESIGN.md section 4), so we never
 * touch the divisor latch: con_init() only writes LCR (8N1, DLAB clear), IER
 * (no UART interrupts) and MCR (DTR|RTS). con_putc() waits for the
 * transmitter holding register to be empty (LSR bit 5) and writes the byte.
 *
 * kvsnprintf() is the one formatter; kprintf() sends its result to COM1 and
 * uprintf() (user.c) sends it through a system call. Supported conversions:
 * %d %i %u %x %X %o %p %s %c %% with '-', '+', '0' and a width, and the length
 * modifiers l and ll (64-bit values are divided by libgcc's __udivdi3).
 */
#include "kernel.h"

#define COM1     0x3F8
#define UART_THR (COM1 + 0) /* transmit holding register */
#define UART_IER (COM1 + 1) /* interrupt enable */
#define UART_LCR (COM1 + 3) /* line control */
#define UART_MCR (COM1 + 4) /* modem control */
#define UART_LSR (COM1 + 5) /* line status */
#define LSR_THRE 0x20       /* transmitter holding register empty */

void con_init(void)
{
    outb(UART_IER, 0x00);   /* no UART interrupts */
    outb(UART_LCR, 0x03);   /* 8 data bits, no parity, 1 stop bit, DLAB=0 */
    outb(UART_MCR, 0x03);   /* DTR | RTS */
}

void con_putc(char c)
{
    while (!(inb(UART_LSR) & LSR_THRE))
        ;
    outb(UART_THR, (uint8_t)c);
}

void con_write(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        con_putc(s[i]);
}

/* ---- the formatter -------------------------------------------------------- */

struct fmt_out {
    char *buf;      /* destination */
    size_t size;    /* capacity including the final NUL */
    size_t len;     /* characters produced so far (may exceed size) */
};

struct fmt_spec {
    int width;      /* minimum field width */
    int left;       /* '-': pad on the right */
    int plus;       /* '+': print a sign on non-negative numbers too */
    char pad;       /* ' ' or '0' */
};

static void out_char(struct fmt_out *o, char c)
{
    if (o->len + 1 < o->size)
        o->buf[o->len] = c;
    o->len++;
}

/* sign is 0 (none), '-' or '+' */
static void out_field(struct fmt_out *o, const struct fmt_spec *sp,
                      const char *s, int n, char sign)
{
    int total = n + (sign != 0);
    int padlen = sp->width > total ? sp->width - total : 0;

    if (sign && sp->pad == '0')
        out_char(o, sign);
    if (!sp->left)
        for (int i = 0; i < padlen; i++)
            out_char(o, sp->pad);
    if (sign && sp->pad != '0')
        out_char(o, sign);
    for (int i = 0; i < n; i++)
        out_char(o, s[i]);
    if (sp->left)
        for (int i = 0; i < padlen; i++)
            out_char(o, ' ');
}

static void out_number(struct fmt_out *o, const struct fmt_spec *sp,
                       uint64_t v, unsigned base, int upper, char sign)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[24];
    int n = 0;

    do {
        tmp[sizeof(tmp) - 1 - n++] = digits[v % base];
        v /= base;
    } while (v);
    out_field(o, sp, tmp + sizeof(tmp) - n, n, sign);
}

/* Reads flags and width at *pf; leaves *pf on the length modifier. */
static void parse_spec(const char **pf, struct fmt_spec *sp)
{
    const char *f = *pf;

    sp->width = 0;
    sp->left = 0;
    sp->plus = 0;
    sp->pad = ' ';
    for (;; f++) {
        if (*f == '-')
            sp->left = 1;
        else if (*f == '+')
            sp->plus = 1;
        else if (*f == '0')
            sp->pad = '0';
        else
            break;
    }
    while (*f >= '0' && *f <= '9')
        sp->width = sp->width * 10 + (*f++ - '0');
    if (sp->left)
        sp->pad = ' ';
    *pf = f;
}

static uint64_t fetch_unsigned(va_list *ap, int longs)
{
    if (longs >= 2)
        return va_arg(*ap, unsigned long long);
    return va_arg(*ap, unsigned int);
}

static int64_t fetch_signed(va_list *ap, int longs)
{
    if (longs >= 2)
        return va_arg(*ap, long long);
    return va_arg(*ap, int);
}

static void format_one(struct fmt_out *o, char conv, const struct fmt_spec *sp,
                       int longs, va_list *ap)
{
    switch (conv) {
    case 'd': case 'i': {
        int64_t v = fetch_signed(ap, longs);
        char sign = v < 0 ? '-' : sp->plus ? '+' : 0;
        out_number(o, sp, v < 0 ? -(uint64_t)v : (uint64_t)v, 10, 0, sign);
        break;
    }
    case 'u': out_number(o, sp, fetch_unsigned(ap, longs), 10, 0, 0); break;
    case 'x': out_number(o, sp, fetch_unsigned(ap, longs), 16, 0, 0); break;
    case 'X': out_number(o, sp, fetch_unsigned(ap, longs), 16, 1, 0); break;
    case 'o': out_number(o, sp, fetch_unsigned(ap, longs), 8, 0, 0); break;
    case 'p': {
        struct fmt_spec p = { 8, 0, 0, '0' };
        out_char(o, '0');
        out_char(o, 'x');
        out_number(o, &p, (uintptr_t)va_arg(*ap, void *), 16, 0, 0);
        break;
    }
    case 'c': {
        char c = (char)va_arg(*ap, int);
        out_field(o, sp, &c, 1, 0);
        break;
    }
    case 's': {
        const char *s = va_arg(*ap, const char *);
        if (!s)
            s = "(null)";
        out_field(o, sp, s, (int)strlen(s), 0);
        break;
    }
    default:  /* "%%" and anything unknown print the character itself */
        out_char(o, conv);
        break;
    }
}

int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct fmt_out o = { buf, size, 0 };
    va_list aq;

    va_copy(aq, ap);
    for (const char *f = fmt; *f; f++) {
        struct fmt_spec sp;
        int longs = 0;

        if (*f != '%') {
            out_char(&o, *f);
            continue;
        }
        f++;
        parse_spec(&f, &sp);
        while (*f == 'l') {
            longs++;
            f++;
        }
        if (!*f)
            break;
        format_one(&o, *f, &sp, longs, &aq);
    }
    va_end(aq);
    if (size)
        buf[o.len < size ? o.len : size - 1] = '\0';
    return (int)o.len;
}

int ksnprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = kvsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

int kprintf(const char *fmt, ...)
{
    char buf[256];
    va_list ap;

    va_start(ap, fmt);
    int n = kvsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    con_write(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
    return n;
}

__attribute__((noreturn)) void kexit(unsigned code)
{
    outb(0xF4, (uint8_t)code);  /* isa-debug-exit: the machine stops here */
    for (;;)                    /* not reached on QEMU or ringside */
        __asm__ volatile("cli; hlt");
}
