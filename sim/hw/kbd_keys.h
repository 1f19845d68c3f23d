/*
 * kbd_keys.h - typed characters as a PC keyboard sends them: scancode set 1.
 *
 * A guest's keyboard driver (xv6's kbd.c, Linux's atkbd) sees key presses
 * and releases, not characters. The 8042 translates the keyboard's codes to
 * set 1 (IBM PC/XT) as firmware leaves it, so that is what a typed
 * character becomes here, for a US layout: the key's make code, then its
 * break code (make | 0x80), inside Left Shift (0x2A / 0xAA) for capitals
 * and shifted symbols, or inside Left Ctrl (0x1D / 0x9D) for control
 * characters 0x01-0x1A. Enter is 0x1C ('\r' and '\n'), Backspace 0x0E (0x08
 * and 0x7F), Tab 0x0F, Escape 0x01, Space 0x39. Anything else (bytes above
 * 0x7E, other control characters) has no key.
 */
#ifndef RS_HW_KBD_KEYS_H
#define RS_HW_KBD_KEYS_H

#include <stdint.h>

#define KBD_KEY_MAX 4            /* the longest sequence: shift, make, break, shift */

/* The scancodes typing `ch` sends, into out; their number, 0 if no key types it. */
int kbd_key_scancodes(uint8_t ch, uint8_t out[KBD_KEY_MAX]);

#endif
