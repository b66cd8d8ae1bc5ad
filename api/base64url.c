/* base64url without padding (see base64url.h). */
#include "base64url.h"

#include <stdint.h>

const char base64url_alphabet[65] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Value of c in the alphabet, -1 outside it. */
static int value_of(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

bool base64url_is_char(unsigned char c)
{
    return value_of(c) >= 0;
}

size_t base64url_encode(const void *in, size_t n, char *out)
{
    const unsigned char *b = in;
    size_t o = 0;

    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)b[i] << 16;

        if (i + 1 < n)
            v |= (uint32_t)b[i + 1] << 8;
        if (i + 2 < n)
            v |= b[i + 2];
        out[o++] = base64url_alphabet[(v >> 18) & 63];
        out[o++] = base64url_alphabet[(v >> 12) & 63];
        if (i + 1 < n)
            out[o++] = base64url_alphabet[(v >> 6) & 63];
        if (i + 2 < n)
            out[o++] = base64url_alphabet[v & 63];
    }
    out[o] = '\0';
    return o;
}

bool base64url_decode(const char *in, size_t n, unsigned char *out, size_t out_cap, size_t *out_len)
{
    size_t o = 0;

    if (n % 4 == 1)
        return false;
    for (size_t i = 0; i < n; i += 4) {
        size_t k = n - i < 4 ? n - i : 4;
        uint32_t w = 0;

        for (size_t j = 0; j < 4; j++) {
            int v = j < k ? value_of((unsigned char)in[i + j]) : 0;

            if (v < 0)
                return false;
            w = (w << 6) | (uint32_t)v;
        }
        size_t bytes = k - 1;
        if ((bytes == 1 && (w & 0xFFFF)) || (bytes == 2 && (w & 0xFF)))
            return false; /* unused bits set: not the canonical text of these bytes */
        if (o + bytes > out_cap)
            return false;
        out[o++] = (unsigned char)(w >> 16);
        if (bytes > 1)
            out[o++] = (unsigned char)(w >> 8);
        if (bytes > 2)
            out[o++] = (unsigned char)w;
    }
    *out_len = o;
    return true;
}
