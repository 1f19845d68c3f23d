/*
 * b64.h - base64 (RFC 4648, with padding) for binary data in JSON strings.
 *
 * The migration stream travels over the control protocol, whose messages
 * are JSON lines; pages and state images are binary, so they are carried
 * base64-encoded. The decoder is strict: a character outside the alphabet,
 * a length that is not a multiple of four or misplaced padding is refused,
 * so a corrupted message is an error, never a shorter buffer.
 */
#ifndef RS_B64_H
#define RS_B64_H

#include <stddef.h>
#include <stdint.h>

/* Encoded length of n bytes, without the NUL. */
static inline size_t b64_len(size_t n) { return (n + 2) / 3 * 4; }
/* Encode into out (b64_len(n) + 1 bytes, NUL-terminated). */
void b64_encode(const uint8_t *in, size_t n, char *out);
/* Decode the NUL-terminated `in` into out (at most `cap` bytes): the byte
   count, or -1 when it is not strict base64 or does not fit. */
long b64_decode(const char *in, uint8_t *out, size_t cap);

#endif
