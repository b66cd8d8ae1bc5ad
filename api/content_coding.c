/* Content codings of answers (see content_coding.h). */
#include "content_coding.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

/* q-value in thousandths (RFC 9110 §12.4.2: "0" ["." 0*3DIGIT] / "1" ["." 0*3"0"]);
 * -1 when s[0..n) is not one. */
static int qvalue(const char *s, size_t n)
{
    if (n == 0 || (s[0] != '0' && s[0] != '1'))
        return -1;
    int q = (s[0] - '0') * 1000;
    if (n == 1)
        return q;
    if (s[1] != '.' || n > 5)
        return -1;
    int scale = 100;
    for (size_t i = 2; i < n; i++, scale /= 10) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        q += (s[i] - '0') * scale;
    }
    return q > 1000 ? -1 : q;
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* The q of one list element e[0..n) ("coding *( OWS ";" OWS param )"), its
 * coding name in *name (*name_len bytes). Parameters other than q are ignored. */
static int element_q(const char *e, size_t n, const char **name, size_t *name_len)
{
    size_t i = 0;
    while (i < n && e[i] != ';' && !is_ows(e[i]))
        i++;
    *name = e;
    *name_len = i;
    int q = 1000;
    while (i < n) {
        while (i < n && (is_ows(e[i]) || e[i] == ';'))
            i++;
        size_t start = i;
        while (i < n && e[i] != ';')
            i++;
        size_t end = i;
        while (end > start && is_ows(e[end - 1]))
            end--;
        const char *p = e + start;
        size_t len = end - start;
        if (len >= 2 && (p[0] == 'q' || p[0] == 'Q')) {
            size_t k = 1;
            while (k < len && is_ows(p[k]))
                k++;
            if (k < len && p[k] == '=') {
                k++;
                while (k < len && is_ows(p[k]))
                    k++;
                q = qvalue(p + k, len - k);
                if (q < 0)
                    return 0; /* malformed: refused, never preferred */
            }
        }
    }
    return q;
}

static bool name_is(const char *name, size_t n, const char *want)
{
    return strlen(want) == n && strncasecmp(name, want, n) == 0;
}

bool content_coding_accepts_gzip(const char *header)
{
    if (header == NULL)
        return false;
    int q_gzip = -1, q_identity = -1, q_any = -1; /* -1: not listed */
    for (const char *p = header; *p;) {
        while (*p == ',' || is_ows(*p))
            p++;
        if (*p == '\0')
            break;
        size_t n = strcspn(p, ",");
        size_t end = n;
        while (end > 0 && is_ows(p[end - 1]))
            end--;
        const char *name;
        size_t name_len;
        int q = element_q(p, end, &name, &name_len);
        if (name_is(name, name_len, "gzip") || name_is(name, name_len, "x-gzip"))
            q_gzip = q > q_gzip ? q : q_gzip;
        else if (name_is(name, name_len, "identity"))
            q_identity = q;
        else if (name_is(name, name_len, "*"))
            q_any = q;
        p += n;
    }
    int gzip = q_gzip >= 0 ? q_gzip : q_any;
    if (gzip <= 0)
        return false;
    /* identity is always acceptable unless excluded (§12.5.3); unlisted, it is the fallback
     * and any accepted coding is preferred to it. */
    int identity = q_identity >= 0 ? q_identity : q_any >= 0 ? q_any : 0;
    return gzip >= identity;
}

bool content_coding_compressible(const char *content_type)
{
    if (content_type == NULL)
        return false;
    size_t n = strcspn(content_type, "; \t");
    return name_is(content_type, n, "application/json") ||
           name_is(content_type, n, "application/problem+json");
}

bool content_coding_gzip(const void *in, size_t len, unsigned char **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (len > UINT_MAX)
        return false;
    z_stream z;
    memset(&z, 0, sizeof z);
    /* windowBits 15 + 16: a gzip header and trailer instead of zlib's. */
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return false;
    size_t cap = deflateBound(&z, (uLong)len);
    unsigned char *buf = malloc(cap);
    if (buf == NULL) {
        deflateEnd(&z);
        return false;
    }
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    z.next_out = buf;
    z.avail_out = (uInt)cap;
    int r = deflate(&z, Z_FINISH);
    size_t produced = cap - z.avail_out;
    deflateEnd(&z);
    if (r != Z_STREAM_END) {
        free(buf);
        return false;
    }
    *out = buf;
    *out_len = produced;
    return true;
}
