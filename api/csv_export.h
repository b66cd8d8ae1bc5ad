/* CSV documents for the exports (issue 9 §1 and §3, api.md "Responses"):
 * what a French spreadsheet opens as intended. Pure: no I/O, no global state
 * (thread-safe); memory through xalloc (out of memory aborts the process).
 *
 * Format (RFC 4180 with the French separator):
 * - the document starts with the UTF-8 BOM (EF BB BF);
 * - cells are separated by `;`, every record ends with CR LF;
 * - a cell holding `;`, `"`, CR or LF is enclosed in quotation marks (`"`), each `"`
 *   inside doubled; other cells are written as they are. Text bytes are
 *   copied verbatim (the caller passes UTF-8, as PostgreSQL text is).
 *
 * Formula injection (OWASP "CSV injection"): a TEXT cell whose first
 * character is `=`, `+`, `-`, `@`, TAB, CR or LF — or the full-width forms
 * U+FF1D `＝`, U+FF0B `＋`, U+FF0D `－`, U+FF20 `＠`, which some spreadsheets
 * also read as a formula start — is written with a single quote `'` in front
 * (then quoted if it holds `;`, `"`, CR or LF). The quote stays visible in
 * the cell: the value is shown as text, never evaluated. An empty cell and
 * every other first character are not prefixed.
 * Numbers and dates the service itself computes go through the typed
 * functions (csv_export_int, csv_export_cents, csv_export_date), which are
 * never prefixed: "-12,50" stays a number for the spreadsheet.
 *
 * Bounds: the document never exceeds the max_bytes given to
 * csv_export_init (BOM and line ends included). A cell or line end that would
 * cross it is not written and CSV_EXPORT_TOO_LARGE is returned; the error is
 * sticky: every later write returns it too and writes nothing, and the
 * document must be discarded (the caller answers with a problem, not a
 * truncated file). */
#ifndef PVD_API_CSV_EXPORT_H
#define PVD_API_CSV_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CSV_EXPORT_MAX_BYTES ((size_t)32 * 1024 * 1024) /* default limit for an export */
#define CSV_EXPORT_CENTS_MAX 24 /* csv_format_cents buffer: "-92233720368547758,08" + NUL */

enum csv_export_status {
    CSV_EXPORT_OK = 0,
    CSV_EXPORT_TOO_LARGE, /* the limit was (or had already been) reached */
    CSV_EXPORT_INVALID,   /* NULL document, or a value the typed function refuses */
};

/* A document being built. Fields are read-only for the caller. */
struct csv_export {
    char *data;       /* owned; NUL-terminated after data[len]; NULL before init */
    size_t len;       /* bytes written, BOM included */
    size_t cap;       /* allocated bytes of data */
    size_t max_bytes; /* limit given to init */
    size_t row_cells; /* cells written on the current (unterminated) record */
    bool too_large;   /* sticky CSV_EXPORT_TOO_LARGE */
};

/* Starts a document in *csv (overwritten, not freed first) holding the BOM.
 * max_bytes 0 means CSV_EXPORT_MAX_BYTES. INVALID when csv is NULL;
 * TOO_LARGE (sticky, as above) when max_bytes < 3 (no room for the BOM).
 * In every case but a NULL csv the caller owns *csv and calls
 * csv_export_release (or csv_export_finish). */
enum csv_export_status csv_export_init(struct csv_export *csv, size_t max_bytes);

/* Appends a text cell: len bytes of s (may hold any byte), the injection
 * prefix and quoting applied as stated above. s NULL (with any len) is the
 * empty cell. INVALID when csv is NULL or not initialised. */
enum csv_export_status csv_export_text_n(struct csv_export *csv, const char *s, size_t len);
/* The same for a NUL-terminated s (NULL: empty cell). */
enum csv_export_status csv_export_text(struct csv_export *csv, const char *s);

/* Typed cells, never prefixed nor quoted (they hold neither `;` nor quotes):
 * - csv_export_int: decimal, "-" for negatives ("-42");
 * - csv_export_cents: an amount in integer cents as euros with a decimal
 *   comma and two decimals, no thousands separator ("1234,56", "-0,05",
 *   "0,00"), the way a French spreadsheet reads a number; exact for every
 *   int64 value (no floating point);
 * - csv_export_date: an ISO 8601 calendar date "YYYY-MM-DD" (what the
 *   database gives back), copied as is; INVALID (nothing written) when iso is
 *   NULL or not 4 digits, '-', 2 digits, '-', 2 digits with month 01–12 and
 *   day 01–31. */
enum csv_export_status csv_export_int(struct csv_export *csv, int64_t value);
enum csv_export_status csv_export_cents(struct csv_export *csv, int64_t cents);
enum csv_export_status csv_export_date(struct csv_export *csv, const char *iso);

/* Ends the current record with CR LF (a record with no cell is an empty
 * line). INVALID when csv is NULL or not initialised. */
enum csv_export_status csv_export_end_row(struct csv_export *csv);

/* Writes cents as euros into out (CSV_EXPORT_CENTS_MAX bytes, NUL-terminated),
 * the format of csv_export_cents; returns the length written (without NUL). */
size_t csv_format_cents(int64_t cents, char out[CSV_EXPORT_CENTS_MAX]);

/* Hands the document over: ends an open record with CR LF (when the limit
 * allows), returns the NUL-terminated buffer (*len its length without the
 * NUL, when len is not NULL) and zeroes *csv. The caller frees the buffer with
 * free(). Returns NULL (and frees everything) when the document is TOO_LARGE
 * or csv is NULL or not initialised. */
char *csv_export_finish(struct csv_export *csv, size_t *len);

/* Frees what *csv owns and zeroes it. Idempotent; NULL is a no-op. */
void csv_export_release(struct csv_export *csv);

#endif
