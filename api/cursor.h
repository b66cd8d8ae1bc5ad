/* Opaque keyset cursors: base64url("v1|<scope>|<filters fingerprint>|<last key>").
 * A cursor is valid only for the list (scope) and filters it was made for. */
#ifndef PVD_API_CURSOR_H
#define PVD_API_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CURSOR_KEY_MAX  64
#define CURSOR_TEXT_MAX 192

/* FNV-1a 32-bit of a canonical filter string; stable across releases. */
uint32_t cursor_fingerprint(const char *canonical_filters);

/* Writes the cursor text (NUL-terminated) into out[CURSOR_TEXT_MAX]. The key
 * must be at most CURSOR_KEY_MAX bytes of printable ASCII; false otherwise. */
bool cursor_encode(const char *scope, uint32_t fingerprint, const char *last_key,
                   char out[CURSOR_TEXT_MAX]);

/* Decodes text; true when it is well formed, of this scope and fingerprint,
 * with the last key copied into key_out[CURSOR_KEY_MAX + 1]. */
bool cursor_decode(const char *text, const char *scope, uint32_t fingerprint,
                   char key_out[CURSOR_KEY_MAX + 1]);

#endif
