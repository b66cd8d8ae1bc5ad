/* Keyset cursor encoding (see cursor.h). */
#include "cursor.h"

#include <stdio.h>
#include <string.h>

#include "base64url.h"

uint32_t cursor_fingerprint(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

static bool key_is_printable(const char *key)
{
    size_t n = strlen(key);
    if (n == 0 || n > CURSOR_KEY_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (key[i] < 0x21 || key[i] > 0x7e || key[i] == '|')
            return false;
    return true;
}

bool cursor_encode(const char *scope, uint32_t fingerprint, const char *last_key,
                   char out[CURSOR_TEXT_MAX])
{
    char plain[CURSOR_TEXT_MAX];
    if (!key_is_printable(last_key) || !key_is_printable(scope))
        return false;
    int n = snprintf(plain, sizeof plain, "v1|%s|%08x|%s", scope, fingerprint, last_key);
    if (n < 0 || (size_t)n >= sizeof plain || ((size_t)n + 2) / 3 * 4 >= CURSOR_TEXT_MAX)
        return false;
    base64url_encode(plain, (size_t)n, out);
    return true;
}

bool cursor_decode(const char *text, const char *scope, uint32_t fingerprint,
                   char key_out[CURSOR_KEY_MAX + 1])
{
    unsigned char plain[CURSOR_TEXT_MAX];
    if (text == NULL || strlen(text) >= CURSOR_TEXT_MAX)
        return false;
    size_t n;
    if (!base64url_decode(text, strlen(text), plain, sizeof plain - 1, &n) || n == 0)
        return false;
    plain[n] = '\0';
    if (memchr(plain, '\0', n))
        return false;
    char expect[CURSOR_TEXT_MAX];
    int p = snprintf(expect, sizeof expect, "v1|%s|%08x|", scope, fingerprint);
    if (p < 0 || strncmp((const char *)plain, expect, (size_t)p) != 0)
        return false;
    const char *key = (const char *)plain + p;
    if (!key_is_printable(key))
        return false;
    memcpy(key_out, key, strlen(key) + 1);
    return true;
}
