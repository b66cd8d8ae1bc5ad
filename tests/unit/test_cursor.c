/* Unit tests of api/cursor: opaque keyset cursors,
 * base64url("v1|<scope>|<fingerprint>|<last key>") without padding. A cursor
 * is honoured only for its list and filters; anything altered is refused. */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "api/base64url.h"
#include "api/cursor.h"

/* base64url of n bytes (api/base64url, tested in test_base64url.c), to forge cursors. */
static void forge(const void *plain, size_t n, char *out, size_t out_size)
{
    cr_assert_lt(BASE64URL_ENCODED_LEN(n), out_size);
    base64url_encode(plain, n, out);
}

static void forge_text(const char *plain, char *out, size_t out_size)
{
    forge(plain, strlen(plain), out, out_size);
}

/* Asserts that text is refused for (scope, fingerprint). */
static void assert_refused(const char *text, const char *scope, uint32_t fingerprint)
{
    char key[CURSOR_KEY_MAX + 1];

    cr_assert_not(cursor_decode(text, scope, fingerprint, key), "cursor \"%s\" was accepted",
                  text ? text : "(null)");
}

static void assert_round_trip(const char *scope, uint32_t fingerprint, const char *last_key)
{
    char text[CURSOR_TEXT_MAX];
    char key[CURSOR_KEY_MAX + 1];

    cr_assert(cursor_encode(scope, fingerprint, last_key, text), "encode \"%s\"", last_key);
    cr_assert_lt(strlen(text), CURSOR_TEXT_MAX);
    for (const char *p = text; *p; p++)
        cr_assert(base64url_is_char((unsigned char)*p), "'%c' is not base64url", *p);
    memset(key, 'x', sizeof key);
    cr_assert(cursor_decode(text, scope, fingerprint, key), "decode \"%s\"", text);
    cr_assert_str_eq(key, last_key);
}

/* ---- fingerprint ------------------------------------------------------- */

/* FNV-1a 32-bit reference values: a change of hash would silently invalidate
 * every cursor held by clients, so it must break this test. */
Test(cursor_fingerprint, known_values)
{
    cr_assert_eq(cursor_fingerprint(""), 0x811c9dc5u);
    cr_assert_eq(cursor_fingerprint("a"), 0xe40c292cu);
    cr_assert_eq(cursor_fingerprint("foobar"), 0xbf9cf968u);
    cr_assert_eq(cursor_fingerprint("d=974"), 0x919bc96au);
    cr_assert_eq(cursor_fingerprint("d=|r=|e=|min=-1|max=-1|q="), 0x44dcfc3bu);
}

Test(cursor_fingerprint, distinguishes_filters)
{
    cr_assert_neq(cursor_fingerprint("d=2A"), cursor_fingerprint("d=2B"));
    cr_assert_neq(cursor_fingerprint("d=974"), cursor_fingerprint("d=97"));
    cr_assert_eq(cursor_fingerprint("d=974"), cursor_fingerprint("d=974"));
}

/* ---- encoding ---------------------------------------------------------- */

Test(cursor, known_encoding)
{
    char text[CURSOR_TEXT_MAX];

    /* base64url("v1|communes|811c9dc5|2A004"), no padding */
    cr_assert(cursor_encode("communes", 0x811c9dc5u, "2A004", text));
    cr_assert_str_eq(text, "djF8Y29tbXVuZXN8ODExYzlkYzV8MkEwMDQ");
}

Test(cursor, round_trip)
{
    assert_round_trip("communes", cursor_fingerprint("d=2A"), "2A004");
    assert_round_trip("communes", 0, "97411");
    assert_round_trip("epci", 0xffffffffu, "249740119");
    assert_round_trip("epci", 0x919bc96au, "!~#$%&'()*+,-./:;<=>?@[\\]^_`{}");
}

Test(cursor, round_trip_every_key_length)
{
    char key[CURSOR_KEY_MAX + 1];

    /* lengths 1..64 cover the three base64 tail sizes */
    for (size_t n = 1; n <= CURSOR_KEY_MAX; n++) {
        for (size_t i = 0; i < n; i++)
            key[i] = (char)('0' + (i * 7 + n) % 75);
        key[n] = '\0';
        assert_round_trip("communes", cursor_fingerprint("q=saint"), key);
    }
}

Test(cursor, encode_refuses_bad_keys)
{
    char text[CURSOR_TEXT_MAX];
    char long_key[CURSOR_KEY_MAX + 2];

    cr_assert_not(cursor_encode("communes", 1, "a|b", text), "'|' is the separator");
    cr_assert_not(cursor_encode("communes", 1, "|", text));
    cr_assert_not(cursor_encode("communes", 1, "Saint Denis", text), "space");
    cr_assert_not(cursor_encode("communes", 1, " ", text));
    cr_assert_not(cursor_encode("communes", 1, "a\tb", text));
    cr_assert_not(cursor_encode("communes", 1, "a\nb", text));
    cr_assert_not(cursor_encode("communes", 1, "a\x7f", text), "DEL");
    cr_assert_not(cursor_encode("communes", 1, "Étang", text), "non-ASCII");
    cr_assert_not(cursor_encode("communes", 1, "", text), "empty key");
    memset(long_key, 'k', CURSOR_KEY_MAX + 1);
    long_key[CURSOR_KEY_MAX + 1] = '\0';
    cr_assert_not(cursor_encode("communes", 1, long_key, text), "key longer than the maximum");
    long_key[CURSOR_KEY_MAX] = '\0';
    cr_assert(cursor_encode("communes", 1, long_key, text), "key of exactly the maximum");
}

Test(cursor, encode_refuses_bad_scopes)
{
    char text[CURSOR_TEXT_MAX];

    cr_assert_not(cursor_encode("a|b", 1, "2A004", text));
    cr_assert_not(cursor_encode("mes communes", 1, "2A004", text));
    cr_assert_not(cursor_encode("", 1, "2A004", text));
}

/* ---- decoding ---------------------------------------------------------- */

Test(cursor, wrong_scope_or_fingerprint_is_refused)
{
    char text[CURSOR_TEXT_MAX];
    uint32_t fp = cursor_fingerprint("d=2A");

    cr_assert(cursor_encode("communes", fp, "2A004", text));
    assert_refused(text, "epci", fp);
    assert_refused(text, "commune", fp);
    assert_refused(text, "communes2", fp);
    assert_refused(text, "communes", fp + 1);
    assert_refused(text, "communes", cursor_fingerprint("d=2B"));
    assert_refused(text, "communes", 0);
}

Test(cursor, garbage_empty_and_null_are_refused)
{
    assert_refused(NULL, "communes", 0);
    assert_refused("", "communes", 0);
    assert_refused("A", "communes", 0);
    assert_refused("AA", "communes", 0);
    assert_refused("not a cursor", "communes", 0);
    assert_refused("djF8", "communes", 0);
    assert_refused("2A004", "communes", 0);
    assert_refused("!!!!", "communes", 0);
    assert_refused("\xc3\xa9\xc3\xa9", "communes", 0);
}

Test(cursor, forged_plaintexts_are_refused)
{
    char text[CURSOR_TEXT_MAX];
    char key[CURSOR_KEY_MAX + 1];

    /* sanity: a forged well-formed plaintext is accepted */
    forge_text("v1|communes|811c9dc5|2A004", text, sizeof text);
    cr_assert(cursor_decode(text, "communes", 0x811c9dc5u, key));
    cr_assert_str_eq(key, "2A004");

    forge_text("v2|communes|811c9dc5|2A004", text, sizeof text);
    assert_refused(text, "communes", 0x811c9dc5u);
    forge_text("v1|communes|811C9DC5|2A004", text, sizeof text);
    assert_refused(text, "communes", 0x811c9dc5u);
    forge_text("v1|communes|811c9dc5|", text, sizeof text);
    assert_refused(text, "communes", 0x811c9dc5u);
    forge_text("v1|communes|811c9dc5", text, sizeof text);
    assert_refused(text, "communes", 0x811c9dc5u);
    forge_text("v1|communes|811c9dc5|2A|004", text, sizeof text);
    assert_refused(text, "communes", 0x811c9dc5u);
    forge_text("v1|communes|811c9dc5|Saint Denis", text, sizeof text);
    assert_refused(text, "communes", 0x811c9dc5u);
    forge_text("v1|communes|811c9dc5|2A004\n", text, sizeof text);
    assert_refused(text, "communes", 0x811c9dc5u);
    forge_text("v1|communes|811c9dc5|\xc3\x89tang", text, sizeof text);
    assert_refused(text, "communes", 0x811c9dc5u);
}

Test(cursor, key_longer_than_the_maximum_is_refused)
{
    char plain[128];
    char text[CURSOR_TEXT_MAX];
    char key[CURSOR_KEY_MAX + 1];
    int n = snprintf(plain, sizeof plain, "v1|communes|811c9dc5|");

    memset(plain + n, 'k', CURSOR_KEY_MAX + 1);
    plain[n + CURSOR_KEY_MAX + 1] = '\0';
    forge_text(plain, text, sizeof text);
    assert_refused(text, "communes", 0x811c9dc5u);
    plain[n + CURSOR_KEY_MAX] = '\0';
    forge_text(plain, text, sizeof text);
    cr_assert(cursor_decode(text, "communes", 0x811c9dc5u, key));
    cr_assert_eq(strlen(key), CURSOR_KEY_MAX);
}

Test(cursor, too_long_text_is_refused)
{
    char text[CURSOR_TEXT_MAX + 64];

    memset(text, 'A', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    assert_refused(text, "communes", 0);
    text[CURSOR_TEXT_MAX] = '\0';
    assert_refused(text, "communes", 0);
    text[CURSOR_TEXT_MAX - 1] = '\0';
    assert_refused(text, "communes", 0);
}

Test(cursor, non_base64url_characters_are_refused)
{
    char text[CURSOR_TEXT_MAX];
    char altered[CURSOR_TEXT_MAX + 1];
    static const char bad[] = "+/=. \n%*";

    cr_assert(cursor_encode("communes", 0x811c9dc5u, "2A004", text));
    /* standard base64 padding is not base64url without padding */
    snprintf(altered, sizeof altered, "%s=", text);
    assert_refused(altered, "communes", 0x811c9dc5u);
    for (size_t i = 0; bad[i]; i++) {
        for (size_t at = 0; at < strlen(text); at += 7) {
            snprintf(altered, sizeof altered, "%s", text);
            altered[at] = bad[i];
            assert_refused(altered, "communes", 0x811c9dc5u);
        }
    }
}

Test(cursor, non_zero_padding_bits_are_refused)
{
    char text[CURSOR_TEXT_MAX];
    char key[CURSOR_KEY_MAX + 1];
    size_t n;

    /* 26 plaintext bytes: 35 characters, the last one carries 2 padding bits */
    cr_assert(cursor_encode("communes", 0x811c9dc5u, "2A004", text));
    n = strlen(text);
    cr_assert_eq(n % 4, 3);
    cr_assert_eq(text[n - 1], 'Q');
    text[n - 1] = 'R'; /* same bytes, padding bits 01 */
    assert_refused(text, "communes", 0x811c9dc5u);
    text[n - 1] = 'T';
    assert_refused(text, "communes", 0x811c9dc5u);

    /* 25 plaintext bytes: 34 characters, the last one carries 4 padding bits */
    cr_assert(cursor_encode("communes", 0x811c9dc5u, "2A00", text));
    n = strlen(text);
    cr_assert_eq(n % 4, 2);
    cr_assert(cursor_decode(text, "communes", 0x811c9dc5u, key));
    cr_assert_eq(text[n - 1], 'A');
    text[n - 1] = 'B';
    assert_refused(text, "communes", 0x811c9dc5u);
    text[n - 1] = 'P';
    assert_refused(text, "communes", 0x811c9dc5u);

    /* a length that no encoding produces (4k + 1) */
    cr_assert(cursor_encode("communes", 0x811c9dc5u, "2A00", text));
    strcat(text, "AAA");
    cr_assert_eq(strlen(text) % 4, 1);
    assert_refused(text, "communes", 0x811c9dc5u);
}

Test(cursor, embedded_nul_is_refused)
{
    static const char with_nul[] = "v1|communes|811c9dc5|2A\0004";
    static const char trailing_nul[] = "v1|communes|811c9dc5|2A004\0";
    static const char leading_nul[] = "\0v1|communes|811c9dc5|2A004";
    char text[CURSOR_TEXT_MAX];

    forge(with_nul, sizeof with_nul - 1, text, sizeof text);
    assert_refused(text, "communes", 0x811c9dc5u);
    forge(trailing_nul, sizeof trailing_nul - 1, text, sizeof text);
    assert_refused(text, "communes", 0x811c9dc5u);
    forge(leading_nul, sizeof leading_nul - 1, text, sizeof text);
    assert_refused(text, "communes", 0x811c9dc5u);
}
