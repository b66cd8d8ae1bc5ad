/* Unit tests of api/csv_export: BOM, separators, RFC 4180 quoting, the
 * formula-injection prefix for every trigger, typed cells never prefixed,
 * money in cents, UTF-8 kept, and the size limit. */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/csv_export.h"

#define BOM "\xEF\xBB\xBF"

/* One record of text cells (NULL-terminated list), finished; returns the document. */
static char *one_row(const char *const *cells)
{
    struct csv_export csv;
    size_t i, len = 0;
    char *doc;

    cr_assert_eq(csv_export_init(&csv, 0), CSV_EXPORT_OK);
    for (i = 0; cells[i]; i++)
        cr_assert_eq(csv_export_text(&csv, cells[i]), CSV_EXPORT_OK);
    cr_assert_eq(csv_export_end_row(&csv), CSV_EXPORT_OK);
    doc = csv_export_finish(&csv, &len);
    cr_assert_not_null(doc);
    cr_assert_eq(len, strlen(doc));
    return doc;
}

static void expect_cell(const char *in, const char *expected_line)
{
    const char *cells[] = {in, NULL};
    char *doc = one_row(cells);
    char want[256];

    snprintf(want, sizeof want, BOM "%s\r\n", expected_line);
    cr_expect_str_eq(doc, want, "cell [%s]", in);
    free(doc);
}

Test(csv_export, bom_separator_and_crlf)
{
    struct csv_export csv;
    size_t len;
    char *doc;

    cr_assert_eq(csv_export_init(&csv, 0), CSV_EXPORT_OK);
    cr_assert_eq(csv.len, 3);
    cr_assert_eq(memcmp(csv.data, BOM, 3), 0);
    csv_export_text(&csv, "numero");
    csv_export_text(&csv, "intitule");
    csv_export_text(&csv, "cout_ht");
    csv_export_end_row(&csv);
    csv_export_text(&csv, "FA-01");
    csv_export_text(&csv, NULL);
    csv_export_cents(&csv, 123456);
    /* no end_row: finish ends the record */
    doc = csv_export_finish(&csv, &len);
    cr_assert_str_eq(doc, BOM "numero;intitule;cout_ht\r\nFA-01;;1234,56\r\n");
    cr_assert_eq(len, strlen(doc));
    cr_assert_null(csv.data, "finish hands the buffer over");
    free(doc);
}

Test(csv_export, quoting_rfc4180)
{
    expect_cell("a;b", "\"a;b\"");
    expect_cell("dit \"oui\"", "\"dit \"\"oui\"\"\"");
    expect_cell("\"", "\"\"\"\"");
    expect_cell("ligne 1\r\nligne 2", "\"ligne 1\r\nligne 2\"");
    expect_cell("fin\n", "\"fin\n\"");
    expect_cell("a,b", "a,b"); /* the comma is no separator here */
    expect_cell("", "");
}

Test(csv_export, every_injection_trigger_is_prefixed)
{
    expect_cell("=SOMME(A1:A9)", "'=SOMME(A1:A9)");
    expect_cell("+33 6 12", "'+33 6 12");
    expect_cell("-2+3", "'-2+3");
    expect_cell("@SUM(1)", "'@SUM(1)");
    expect_cell("\tx", "'\tx");
    expect_cell("\rx", "\"'\rx\"");
    expect_cell("\nx", "\"'\nx\"");
    expect_cell("=HYPERLINK(\"http://x\";\"y\")", "\"'=HYPERLINK(\"\"http://x\"\";\"\"y\"\")\"");
    /* full-width forms */
    expect_cell("\xEF\xBC\x9D"
                "1+1",
                "'\xEF\xBC\x9D"
                "1+1");
    expect_cell("\xEF\xBC\x8B"
                "1",
                "'\xEF\xBC\x8B"
                "1");
    expect_cell("\xEF\xBC\x8D"
                "1",
                "'\xEF\xBC\x8D"
                "1");
    expect_cell("\xEF\xBC\xA0"
                "a",
                "'\xEF\xBC\xA0"
                "a");
    /* not at the start, or another first character: untouched */
    expect_cell("a=1", "a=1");
    expect_cell(" =1", " =1");
    expect_cell("'=1", "'=1");
    expect_cell("\xEF\xBC\x91", "\xEF\xBC\x91");
}

Test(csv_export, text_n_keeps_every_byte)
{
    struct csv_export csv;
    char *doc;
    size_t len;

    cr_assert_eq(csv_export_init(&csv, 0), CSV_EXPORT_OK);
    cr_assert_eq(csv_export_text_n(&csv, "a\0b", 3), CSV_EXPORT_OK);
    cr_assert_eq(csv_export_text_n(&csv, "=x", 1), CSV_EXPORT_OK); /* only "=" */
    cr_assert_eq(csv_export_text_n(&csv, NULL, 5), CSV_EXPORT_OK);
    doc = csv_export_finish(&csv, &len);
    cr_assert_eq(len, 3 + 3 + 1 + 2 + 1 + 2);
    cr_assert_eq(memcmp(doc, BOM "a\0b;'=;\r\n", len), 0);
    free(doc);
}

Test(csv_export, utf8_is_kept)
{
    expect_cell("Saint-Symphorien-sur-Coise — réhabilitation de l'îlot",
                "Saint-Symphorien-sur-Coise — réhabilitation de l'îlot");
    expect_cell("Œuvre « 2026 » €", "Œuvre « 2026 » €");
}

Test(csv_export, typed_cells_are_never_prefixed)
{
    struct csv_export csv;
    char *doc;

    cr_assert_eq(csv_export_init(&csv, 0), CSV_EXPORT_OK);
    cr_assert_eq(csv_export_cents(&csv, -1250), CSV_EXPORT_OK);
    cr_assert_eq(csv_export_int(&csv, -42), CSV_EXPORT_OK);
    cr_assert_eq(csv_export_int(&csv, INT64_MIN), CSV_EXPORT_OK);
    cr_assert_eq(csv_export_date(&csv, "2026-03-31"), CSV_EXPORT_OK);
    cr_assert_eq(csv_export_text(&csv, "-1250"), CSV_EXPORT_OK); /* the same as text: prefixed */
    doc = csv_export_finish(&csv, NULL);
    cr_assert_str_eq(doc, BOM "-12,50;-42;-9223372036854775808;2026-03-31;'-1250\r\n");
    free(doc);
}

Test(csv_export, dates_are_checked)
{
    static const char *const bad[] = {
        "2026-3-31",   "2026-13-01",  "2026-00-10", "2026-01-32", "2026-01-00",
        "=2026-01-01", "2026-01-011", "26-01-01",   "2026/01/01", ""};
    struct csv_export csv;
    size_t i;

    cr_assert_eq(csv_export_init(&csv, 0), CSV_EXPORT_OK);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_eq(csv_export_date(&csv, bad[i]), CSV_EXPORT_INVALID, "%s", bad[i]);
    cr_expect_eq(csv_export_date(&csv, NULL), CSV_EXPORT_INVALID);
    cr_expect_eq(csv.len, 3, "nothing written");
    csv_export_release(&csv);
}

Test(csv_export, cents_as_euros)
{
    static const struct {
        int64_t cents;
        const char *text;
    } cases[] = {
        {0, "0,00"},
        {5, "0,05"},
        {-5, "-0,05"},
        {99, "0,99"},
        {100, "1,00"},
        {-100, "-1,00"},
        {123456, "1234,56"},
        {-123456, "-1234,56"},
        {4500000, "45000,00"},
        {INT64_MAX, "92233720368547758,07"},
        {INT64_MIN, "-92233720368547758,08"},
    };
    char buf[CSV_EXPORT_CENTS_MAX];
    size_t i, n;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        n = csv_format_cents(cases[i].cents, buf);
        cr_expect_str_eq(buf, cases[i].text);
        cr_expect_eq(n, strlen(cases[i].text));
    }
}

Test(csv_export, limit_is_enforced_and_sticky)
{
    struct csv_export csv;

    /* BOM (3) + "abcd" (4) = 7 bytes; ";efg" needs 4 more than the 3 left */
    cr_assert_eq(csv_export_init(&csv, 10), CSV_EXPORT_OK);
    cr_assert_eq(csv_export_text(&csv, "abcd"), CSV_EXPORT_OK);
    cr_assert_eq(csv_export_text(&csv, "efg"), CSV_EXPORT_TOO_LARGE);
    cr_assert_eq(csv.len, 7);
    csv_export_release(&csv);

    /* BOM + "abcd" + ";" + "e" = 9 bytes, + CRLF = 11 */
    cr_assert_eq(csv_export_init(&csv, 9), CSV_EXPORT_OK);
    cr_assert_eq(csv_export_text(&csv, "abcd"), CSV_EXPORT_OK);
    cr_assert_eq(csv_export_text(&csv, "e"), CSV_EXPORT_OK, "exactly at the limit");
    cr_assert_eq(csv.len, 9);
    cr_assert_eq(csv_export_end_row(&csv), CSV_EXPORT_TOO_LARGE);
    cr_assert_eq(csv.len, 9, "nothing of the refused write");
    cr_assert_eq(csv_export_text(&csv, ""), CSV_EXPORT_TOO_LARGE, "sticky, even for 0 bytes");
    cr_assert_eq(csv_export_cents(&csv, 1), CSV_EXPORT_TOO_LARGE);
    cr_assert_null(csv_export_finish(&csv, NULL), "a truncated document is never handed over");
    cr_assert_null(csv.data);

    cr_assert_eq(csv_export_init(&csv, 2), CSV_EXPORT_TOO_LARGE, "no room for the BOM");
    cr_assert_eq(csv_export_text(&csv, "a"), CSV_EXPORT_TOO_LARGE);
    csv_export_release(&csv);
}

Test(csv_export, big_document_grows)
{
    struct csv_export csv;
    size_t i, len;
    char *doc;

    cr_assert_eq(csv_export_init(&csv, 1024 * 1024), CSV_EXPORT_OK);
    for (i = 0; i < 10000; i++) {
        cr_assert_eq(csv_export_int(&csv, (int64_t)i), CSV_EXPORT_OK);
        cr_assert_eq(csv_export_text(&csv, "fiche;action"), CSV_EXPORT_OK);
        cr_assert_eq(csv_export_end_row(&csv), CSV_EXPORT_OK);
    }
    cr_assert_leq(csv.cap, 1024 * 1024 + 1);
    doc = csv_export_finish(&csv, &len);
    cr_assert_not_null(doc);
    cr_assert_eq(len, strlen(doc));
    cr_assert(strstr(doc, "\r\n9999;\"fiche;action\"\r\n") != NULL);
    free(doc);
}

Test(csv_export, misuse_is_invalid)
{
    struct csv_export zero = {0};

    cr_assert_eq(csv_export_init(NULL, 0), CSV_EXPORT_INVALID);
    cr_assert_eq(csv_export_text(NULL, "a"), CSV_EXPORT_INVALID);
    cr_assert_eq(csv_export_text(&zero, "a"), CSV_EXPORT_INVALID, "not initialised");
    cr_assert_eq(csv_export_cents(&zero, 1), CSV_EXPORT_INVALID);
    cr_assert_eq(csv_export_end_row(&zero), CSV_EXPORT_INVALID);
    cr_assert_null(csv_export_finish(&zero, NULL));
    csv_export_release(NULL);
    csv_export_release(&zero);
}
