/* base64url (RFC 4648 §5) without padding, as JWS (RFC 7515 §2), JWK members and pvd-api's
 * cursors and client secrets use it. Pure functions: no allocation, no global state, safe from
 * any thread. The caller owns every buffer. */
#ifndef PVD_API_BASE64URL_H
#define PVD_API_BASE64URL_H

#include <stdbool.h>
#include <stddef.h>

/* Characters that encode n bytes (no padding), not counting the terminating NUL. */
#define BASE64URL_ENCODED_LEN(n) ((n) / 3 * 4 + ((n) % 3 == 0 ? 0 : (n) % 3 + 1))
/* Most bytes that n characters decode to: an output buffer of this size always suffices. */
#define BASE64URL_DECODED_MAX(n) ((n) / 4 * 3 + ((n) % 4 == 0 ? 0 : (n) % 4 - 1))

/* The 64 characters of the alphabet, in the order of their values, then a NUL. */
extern const char base64url_alphabet[65];

/* True when c is one of the 64 characters of the alphabet ('=' is not). */
bool base64url_is_char(unsigned char c);

/* Encodes in[0..n) into out, which must hold BASE64URL_ENCODED_LEN(n) + 1 bytes, and
 * NUL-terminates it. Returns the length written, BASE64URL_ENCODED_LEN(n). Cannot fail. */
size_t base64url_encode(const void *in, size_t n, char *out);

/* Decodes in[0..n) (not necessarily NUL-terminated) into out[0..out_cap) and sets *out_len.
 * Strict: false on a character outside the alphabet (padding '=', whitespace, '+', '/', NUL,
 * non-ASCII), a length no encoder produces (n % 4 == 1), non-zero unused bits in the last
 * character (a non-canonical text: two texts must never decode to the same bytes), or more
 * than out_cap bytes. On false, *out_len is untouched and out may hold a partial result.
 * n == 0 decodes to 0 bytes. */
bool base64url_decode(const char *in, size_t n, unsigned char *out, size_t out_cap,
                      size_t *out_len);

#endif
