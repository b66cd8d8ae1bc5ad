/* Keyset cursor encoding (see cursor.h). base64url without padding. */
#include "cursor.h"

#include <stdio.h>
#include <string.h>

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

uint32_t cursor_fingerprint(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

static size_t b64_encode(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = b64[(v >> 18) & 63];
        out[o++] = b64[(v >> 12) & 63];
        if (i + 1 < n)
            out[o++] = b64[(v >> 6) & 63];
        if (i + 2 < n)
            out[o++] = b64[v & 63];
    }
    out[o] = '\0';
    return o;
}

static int b64_value(char c)
{
    const char *p = c ? strchr(b64, c) : NULL;
    return p ? (int)(p - b64) : -1;
}

/* Returns the decoded length or -1 on a character outside the alphabet, a
 * length that no encoding produces, or non-zero padding bits. */
static long b64_decode(const char *in, unsigned char *out, size_t out_size)
{
    size_t n = strlen(in), o = 0;
    if (n % 4 == 1)
        return -1;
    for (size_t i = 0; i < n; i += 4) {
        int v[4] = {0, 0, 0, 0};
        size_t k = n - i < 4 ? n - i : 4;
        for (size_t j = 0; j < k; j++)
            if ((v[j] = b64_value(in[i + j])) < 0)
                return -1;
        uint32_t w = ((uint32_t)v[0] << 18) | ((uint32_t)v[1] << 12) | ((uint32_t)v[2] << 6) |
                     (uint32_t)v[3];
        size_t bytes = k - 1;
        if ((bytes == 1 && (w & 0xFFFF)) || (bytes == 2 && (w & 0xFF)))
            return -1;
        if (o + bytes > out_size)
            return -1;
        out[o++] = (unsigned char)(w >> 16);
        if (bytes > 1)
            out[o++] = (unsigned char)(w >> 8);
        if (bytes > 2)
            out[o++] = (unsigned char)w;
    }
    return (long)o;
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
    b64_encode((const unsigned char *)plain, (size_t)n, out);
    return true;
}

bool cursor_decode(const char *text, const char *scope, uint32_t fingerprint,
                   char key_out[CURSOR_KEY_MAX + 1])
{
    unsigned char plain[CURSOR_TEXT_MAX];
    if (text == NULL || strlen(text) >= CURSOR_TEXT_MAX)
        return false;
    long n = b64_decode(text, plain, sizeof plain - 1);
    if (n <= 0)
        return false;
    plain[n] = '\0';
    if (memchr(plain, '\0', (size_t)n))
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
