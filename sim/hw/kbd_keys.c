/*
 * kbd_keys.c - characters to set-1 scancodes (see kbd_keys.h).
 */
#include "hw/kbd_keys.h"

#include <string.h>

#define SC_LSHIFT 0x2A
#define SC_LCTRL 0x1D

/* The unshifted and shifted character of each key, indexed by make code. */
static const char plain[0x3A] =
    "\0\0331234567890-=\b\tqwertyuiop[]\r\0asdfghjkl;'`\0\\zxcvbnm,./\0\0\0 ";
static const char shifted[0x3A] =
    "\0\0!@#$%^&*()_+\0\0QWERTYUIOP{}\0\0ASDFGHJKL:\"~\0|ZXCVBNM<>?\0\0\0\0";

static int find(const char *table, uint8_t ch)
{
    for (int sc = 1; sc < 0x3A; sc++)
        if ((uint8_t)table[sc] == ch)
            return sc;
    return 0;
}

static int press(uint8_t *out, int n, int sc)
{
    out[n++] = (uint8_t)sc;
    out[n++] = (uint8_t)(sc | 0x80);
    return n;
}

static int with(uint8_t *out, int modifier, int sc)
{
    out[0] = (uint8_t)modifier;
    press(out, 1, sc);
    out[3] = (uint8_t)(modifier | 0x80);
    return 4;
}

int kbd_key_scancodes(uint8_t ch, uint8_t out[KBD_KEY_MAX])
{
    if (ch == '\n')
        ch = '\r';
    if (ch == 0x7F)
        ch = '\b';
    if (!ch || ch > 0x7E)
        return 0;
    int sc = find(plain, ch);
    if (sc)
        return press(out, 0, sc);
    if ((sc = find(shifted, ch)) != 0)
        return with(out, SC_LSHIFT, sc);
    if (ch <= 0x1A && (sc = find(plain, (uint8_t)(ch + 'a' - 1))) != 0)
        return with(out, SC_LCTRL, sc);
    return 0;
}
