/* libFuzzer target over api/csv_export: arbitrary cells (text of any bytes,
 * integers, amounts in cents) and records are written under an arbitrary
 * limit; the document must then parse back, with a small strict RFC 4180
 * reader (`;`, CR LF, BOM), to exactly the cells written — a text cell with
 * the `'` prefix when it starts with a formula trigger, a typed cell
 * unprefixed and equal to its value — and never exceed the limit.
 * Input layout: byte 0..1 the limit; then ops: 0 text (1 length byte, bytes),
 * 1 integer (8 bytes), 2 cents (8 bytes), 3 end of record. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/csv_export.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_CELLS 512

struct cell {
    char *bytes; /* expected content, as parsed back */
    size_t len;
};

static struct cell cells[MAX_CELLS];
static size_t row_end[MAX_CELLS]; /* index of the first cell of the next record */

static bool trigger(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;

    if (n == 0)
        return false;
    if (u[0] != '\0' && strchr("=+-@\t\r\n", u[0]))
        return true;
    return n >= 3 && u[0] == 0xEF && u[1] == 0xBC &&
           (u[2] == 0x8B || u[2] == 0x8D || u[2] == 0x9D || u[2] == 0xA0);
}

static void expect(size_t i, const char *s, size_t n, bool prefix)
{
    cells[i].len = n + (prefix ? 1 : 0);
    cells[i].bytes = malloc(cells[i].len + 1);
    if (!cells[i].bytes)
        abort();
    if (prefix)
        cells[i].bytes[0] = '\'';
    if (n)
        memcpy(cells[i].bytes + (prefix ? 1 : 0), s, n);
}

static int64_t read64(const uint8_t *p)
{
    uint64_t v = 0;
    int k;

    for (k = 0; k < 8; k++)
        v = v << 8 | p[k];
    return (int64_t)v;
}

/* Euros "[-]D+,DD" back to cents; aborts on any other shape. */
static int64_t parse_cents(const char *s, size_t n)
{
    bool neg = n > 0 && s[0] == '-';
    size_t i = neg ? 1 : 0;
    uint64_t m = 0;

    if (n < i + 4 || s[n - 3] != ',')
        abort();
    for (; i < n; i++) {
        if (i == n - 3)
            continue;
        if (s[i] < '0' || s[i] > '9')
            abort();
        m = m * 10 + (uint64_t)(s[i] - '0');
    }
    return neg ? (int64_t)(0 - m) : (int64_t)m;
}

/* Strict RFC 4180 reader over a document (s, n), at pos. */
struct reader {
    const char *s;
    size_t n, pos;
};

/* Reads one cell into out (*len bytes) and its terminator: *last false after
 * a `;`, true after CR LF. Aborts on anything RFC 4180 does not allow. */
static void read_cell(struct reader *r, char *out, size_t *len, bool *last)
{
    size_t o = 0;

    if (r->pos < r->n && r->s[r->pos] == '"') {
        r->pos++;
        for (;;) {
            if (r->pos >= r->n)
                abort(); /* unclosed quote */
            if (r->s[r->pos] == '"') {
                if (r->pos + 1 < r->n && r->s[r->pos + 1] == '"') {
                    out[o++] = '"';
                    r->pos += 2;
                    continue;
                }
                r->pos++;
                break;
            }
            out[o++] = r->s[r->pos++];
        }
    } else {
        while (r->pos < r->n && r->s[r->pos] != ';' && r->s[r->pos] != '\r') {
            if (r->s[r->pos] == '"' || r->s[r->pos] == '\n')
                abort(); /* a bare quote or LF in an unquoted cell */
            out[o++] = r->s[r->pos++];
        }
    }
    *len = o;
    if (r->pos < r->n && r->s[r->pos] == ';') {
        r->pos++;
        *last = false;
        return;
    }
    if (r->pos + 1 < r->n && r->s[r->pos] == '\r' && r->s[r->pos + 1] == '\n') {
        r->pos += 2;
        *last = true;
        return;
    }
    abort(); /* text after a closing quote, or a record without CR LF */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct csv_export csv;
    size_t max, i = 2, ncells = 0, nrows = 0, start = 0, len = 0, r, c, got;
    enum csv_export_status st = CSV_EXPORT_OK;
    char *doc, *buf;
    bool last;

    if (size < 2)
        return 0;
    max = (size_t)data[0] << 8 | data[1];
    if (csv_export_init(&csv, max) != CSV_EXPORT_OK) {
        if (max >= 3 || csv_export_text(&csv, "a") != CSV_EXPORT_TOO_LARGE)
            abort();
        csv_export_release(&csv);
        return 0;
    }
    if (max == 0)
        max = CSV_EXPORT_MAX_BYTES; /* 0 asks for the default */
    while (i < size && st == CSV_EXPORT_OK && ncells < MAX_CELLS - 1) {
        uint8_t op = data[i++] % 4;

        if (op == 0) {
            size_t n = i < size ? data[i++] : 0;
            const char *s = (const char *)data + i;

            if (n > size - i)
                n = size - i;
            i += n;
            st = csv_export_text_n(&csv, s, n);
            expect(ncells++, s, n, trigger(s, n));
        } else if (op == 1 || op == 2) {
            int64_t v;

            if (size - i < 8)
                break;
            v = read64(data + i);
            i += 8;
            st = op == 1 ? csv_export_int(&csv, v) : csv_export_cents(&csv, v);
            /* typed cells are checked by value: kind byte, then v */
            cells[ncells].bytes = malloc(9);
            if (!cells[ncells].bytes)
                abort();
            cells[ncells].bytes[0] = (char)op;
            memcpy(cells[ncells].bytes + 1, &v, 8);
            cells[ncells].len = SIZE_MAX;
            ncells++;
        } else {
            st = csv_export_end_row(&csv);
            if (st == CSV_EXPORT_OK) {
                if (ncells == start)
                    expect(ncells++, NULL, 0, false); /* an empty line reads as one empty cell */
                row_end[nrows++] = ncells;
                start = ncells;
            }
        }
        if (csv.len > max)
            abort();
    }
    if (st == CSV_EXPORT_TOO_LARGE) {
        if (csv_export_text(&csv, "") != CSV_EXPORT_TOO_LARGE || csv.len > max)
            abort();
        if (csv_export_finish(&csv, NULL) != NULL)
            abort();
        goto out;
    }
    if (st != CSV_EXPORT_OK)
        abort();
    if (ncells > start)
        row_end[nrows++] = ncells; /* finish ends the record, when it fits */
    doc = csv_export_finish(&csv, &len);
    if (!doc)
        goto out; /* the final CR LF did not fit */
    if (len > max || len < 3 || memcmp(doc, "\xEF\xBB\xBF", 3) != 0)
        abort();
    buf = malloc(len + 1);
    if (!buf)
        abort();
    {
        struct reader rd = {doc, len, 3};

        c = 0;
        for (r = 0; r < nrows; r++) {
            do {
                read_cell(&rd, buf, &got, &last);
                if (c >= row_end[r])
                    abort(); /* more cells than written */
                if (cells[c].len == SIZE_MAX) {
                    int64_t v;

                    memcpy(&v, cells[c].bytes + 1, 8);
                    if (cells[c].bytes[0] == 2) {
                        if (parse_cents(buf, got) != v)
                            abort();
                    } else {
                        char *end;

                        buf[got] = '\0';
                        if (strtoll(buf, &end, 10) != v || *end != '\0' || got == 0)
                            abort();
                    }
                } else if (got != cells[c].len || memcmp(buf, cells[c].bytes, got) != 0) {
                    abort();
                }
                c++;
            } while (!last);
            if (c != row_end[r])
                abort(); /* fewer cells than written */
        }
        if (rd.pos != len)
            abort(); /* trailing bytes */
    }
    free(buf);
    free(doc);
out:
    for (c = 0; c < ncells; c++)
        free(cells[c].bytes);
    return 0;
}
