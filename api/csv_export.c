/* CSV documents for the exports: RFC 4180 with `;`, UTF-8 BOM, CR LF, and
 * formula-injection neutralisation (OWASP). Contracts are in csv_export.h. */
#include "csv_export.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

static const char bom[] = "\xEF\xBB\xBF";

/* Room for `extra` more bytes within max_bytes (and one NUL)? Grows the
 * buffer geometrically, never above max_bytes + 1. Sets the sticky flag. */
static enum csv_export_status reserve(struct csv_export *csv, size_t extra)
{
    size_t need, cap;

    if (csv->too_large)
        return CSV_EXPORT_TOO_LARGE;
    if (extra > csv->max_bytes - csv->len) {
        csv->too_large = true;
        return CSV_EXPORT_TOO_LARGE;
    }
    need = csv->len + extra + 1;
    if (need <= csv->cap)
        return CSV_EXPORT_OK;
    cap = csv->cap < 256 ? 256 : csv->cap;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (cap - 1 > csv->max_bytes)
        cap = csv->max_bytes + 1;
    csv->data = xrealloc(csv->data, cap);
    csv->cap = cap;
    return CSV_EXPORT_OK;
}

static void put(struct csv_export *csv, const char *s, size_t n)
{
    if (n > 0)
        memcpy(csv->data + csv->len, s, n);
    csv->len += n;
    csv->data[csv->len] = '\0';
}

static bool ready(const struct csv_export *csv)
{
    return csv && (csv->data || csv->too_large);
}

enum csv_export_status csv_export_init(struct csv_export *csv, size_t max_bytes)
{
    if (!csv)
        return CSV_EXPORT_INVALID;
    memset(csv, 0, sizeof *csv);
    csv->max_bytes = max_bytes ? max_bytes : CSV_EXPORT_MAX_BYTES;
    if (csv->max_bytes > SIZE_MAX / 2)
        csv->max_bytes = SIZE_MAX / 2; /* len + extra + 1 never wraps */
    if (reserve(csv, sizeof bom - 1) != CSV_EXPORT_OK)
        return CSV_EXPORT_TOO_LARGE;
    put(csv, bom, sizeof bom - 1);
    return CSV_EXPORT_OK;
}

/* Does the cell start with a character a spreadsheet reads as a formula? */
static bool needs_prefix(const unsigned char *s, size_t n)
{
    if (n == 0)
        return false;
    switch (s[0]) {
    case '=':
    case '+':
    case '-':
    case '@':
    case '\t':
    case '\r':
    case '\n':
        return true;
    default:
        break;
    }
    /* U+FF0B ＋ EF BC 8B, U+FF0D － EF BC 8D, U+FF1D ＝ EF BC 9D, U+FF20 ＠ EF BC A0 */
    return n >= 3 && s[0] == 0xEF && s[1] == 0xBC &&
           (s[2] == 0x8B || s[2] == 0x8D || s[2] == 0x9D || s[2] == 0xA0);
}

static bool needs_quotes(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (s[i] == ';' || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
            return true;
    }
    return false;
}

/* Appends one cell: separator, then [quote] [prefix] bytes (quotes doubled)
 * [quote]. All or nothing: the size is computed before anything is written. */
static enum csv_export_status cell(struct csv_export *csv, const char *s, size_t n, bool prefix)
{
    bool quote = needs_quotes(s, n);
    size_t sep = csv->row_cells > 0 ? 1 : 0;
    size_t size = sep + (prefix ? 1 : 0) + n;
    size_t i;
    enum csv_export_status st;

    if (quote) {
        size += 2;
        for (i = 0; i < n; i++)
            size += s[i] == '"';
    }
    st = reserve(csv, size);
    if (st != CSV_EXPORT_OK)
        return st;
    if (sep)
        put(csv, ";", 1);
    if (quote)
        put(csv, "\"", 1);
    if (prefix)
        put(csv, "'", 1);
    if (!quote) {
        put(csv, s, n);
    } else {
        for (i = 0; i < n; i++) {
            if (s[i] == '"')
                put(csv, "\"", 1);
            put(csv, s + i, 1);
        }
        put(csv, "\"", 1);
    }
    csv->row_cells++;
    return CSV_EXPORT_OK;
}

enum csv_export_status csv_export_text_n(struct csv_export *csv, const char *s, size_t len)
{
    if (!ready(csv))
        return CSV_EXPORT_INVALID;
    if (!s)
        len = 0;
    return cell(csv, s ? s : "", len, needs_prefix((const unsigned char *)(s ? s : ""), len));
}

enum csv_export_status csv_export_text(struct csv_export *csv, const char *s)
{
    return csv_export_text_n(csv, s, s ? strlen(s) : 0);
}

/* Decimal digits of v into the end of buf (size >= 21); returns the start. */
static char *utoa_end(uint64_t v, char *end)
{
    *end = '\0';
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    return end;
}

/* |v| without overflow for INT64_MIN. */
static uint64_t magnitude(int64_t v)
{
    return v < 0 ? (uint64_t)(-(v + 1)) + 1u : (uint64_t)v;
}

enum csv_export_status csv_export_int(struct csv_export *csv, int64_t value)
{
    char buf[24];
    char *p;

    if (!ready(csv))
        return CSV_EXPORT_INVALID;
    p = utoa_end(magnitude(value), buf + sizeof buf - 1);
    if (value < 0)
        *--p = '-';
    return cell(csv, p, strlen(p), false);
}

size_t csv_format_cents(int64_t cents, char out[CSV_EXPORT_CENTS_MAX])
{
    uint64_t m = magnitude(cents);
    char whole[24];
    const char *w = utoa_end(m / 100, whole + sizeof whole - 1);
    size_t wl = strlen(w);
    size_t n = 0;

    if (cents < 0)
        out[n++] = '-';
    memcpy(out + n, w, wl);
    n += wl;
    out[n++] = ',';
    out[n++] = (char)('0' + m / 10 % 10);
    out[n++] = (char)('0' + m % 10);
    out[n] = '\0';
    return n;
}

enum csv_export_status csv_export_cents(struct csv_export *csv, int64_t cents)
{
    char buf[CSV_EXPORT_CENTS_MAX];
    size_t n;

    if (!ready(csv))
        return CSV_EXPORT_INVALID;
    n = csv_format_cents(cents, buf);
    return cell(csv, buf, n, false);
}

static bool digits(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
    }
    return true;
}

enum csv_export_status csv_export_date(struct csv_export *csv, const char *iso)
{
    int month, day;

    if (!ready(csv) || !iso)
        return CSV_EXPORT_INVALID;
    if (strnlen(iso, 11) != 10 || !digits(iso, 4) || iso[4] != '-' || !digits(iso + 5, 2) ||
        iso[7] != '-' || !digits(iso + 8, 2))
        return CSV_EXPORT_INVALID;
    month = (iso[5] - '0') * 10 + (iso[6] - '0');
    day = (iso[8] - '0') * 10 + (iso[9] - '0');
    if (month < 1 || month > 12 || day < 1 || day > 31)
        return CSV_EXPORT_INVALID;
    return cell(csv, iso, 10, false);
}

enum csv_export_status csv_export_end_row(struct csv_export *csv)
{
    enum csv_export_status st;

    if (!ready(csv))
        return CSV_EXPORT_INVALID;
    st = reserve(csv, 2);
    if (st != CSV_EXPORT_OK)
        return st;
    put(csv, "\r\n", 2);
    csv->row_cells = 0;
    return CSV_EXPORT_OK;
}

char *csv_export_finish(struct csv_export *csv, size_t *len)
{
    char *out;

    if (!ready(csv))
        return NULL;
    if (csv->row_cells > 0)
        (void)csv_export_end_row(csv);
    if (csv->too_large) {
        csv_export_release(csv);
        return NULL;
    }
    out = csv->data;
    if (len)
        *len = csv->len;
    memset(csv, 0, sizeof *csv);
    return out;
}

void csv_export_release(struct csv_export *csv)
{
    if (!csv)
        return;
    free(csv->data);
    memset(csv, 0, sizeof *csv);
}
