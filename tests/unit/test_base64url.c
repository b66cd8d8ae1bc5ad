/* Unit tests of api/base64url: RFC 4648 §10 test vectors in the URL alphabet (§5), no padding,
 * and the strict decoder's refusals (padding, characters outside the alphabet, impossible
 * lengths, non-canonical unused bits, output capacity). */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "api/base64url.h"

static void assert_encodes(const void *in, size_t n, const char *expected)
{
    char out[128];

    cr_assert_lt(BASE64URL_ENCODED_LEN(n), sizeof out);
    memset(out, '#', sizeof out);
    cr_assert_eq(base64url_encode(in, n, out), strlen(expected), "length for \"%s\"", expected);
    cr_assert_str_eq(out, expected);
    cr_assert_eq(BASE64URL_ENCODED_LEN(n), strlen(expected));
}

static void assert_decodes(const char *text, const void *expected, size_t n)
{
    unsigned char out[128];
    size_t len = 12345;

    cr_assert_leq(n, BASE64URL_DECODED_MAX(strlen(text)), "DECODED_MAX(\"%s\")", text);
    cr_assert(base64url_decode(text, strlen(text), out, sizeof out, &len), "decode \"%s\"", text);
    cr_assert_eq(len, n, "decoded length of \"%s\"", text);
    cr_assert_eq(memcmp(out, expected, n), 0, "decoded bytes of \"%s\"", text);
}

/* Refused, with *out_len left as it was. */
static void assert_refused_n(const char *text, size_t n, const char *why)
{
    unsigned char out[128];
    size_t len = 12345;

    cr_assert_not(base64url_decode(text, n, out, sizeof out, &len), "%s was accepted", why);
    cr_assert_eq(len, 12345, "%s: out_len written", why);
}

static void assert_refused(const char *text, const char *why)
{
    assert_refused_n(text, strlen(text), why);
}

Test(base64url, rfc4648_test_vectors)
{
    static const struct {
        const char *plain, *encoded;
    } vectors[] = {
        {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
        {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
    };

    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        assert_encodes(vectors[i].plain, strlen(vectors[i].plain), vectors[i].encoded);
        assert_decodes(vectors[i].encoded, vectors[i].plain, strlen(vectors[i].plain));
    }
}

/* The two characters that differ from base64 (RFC 4648 §5): '-' for 62 and '_' for 63. */
Test(base64url, url_alphabet)
{
    static const unsigned char minus_underscore[] = {0xfb, 0xff}; /* base64 "+/8=" */
    static const unsigned char all_ones[] = {0xff, 0xff, 0xff};   /* base64 "////" */
    static const unsigned char all_62[] = {0xfb, 0xef, 0xbe};     /* base64 "++++" */
    unsigned char bytes[48];
    char text[65];
    size_t len = 0;

    assert_encodes(minus_underscore, sizeof minus_underscore, "-_8");
    assert_decodes("-_8", minus_underscore, sizeof minus_underscore);
    assert_encodes(all_ones, sizeof all_ones, "____");
    assert_encodes(all_62, sizeof all_62, "----");
    /* The whole alphabet, in the order of its values, is the text of 48 bytes. */
    cr_assert_eq(strlen(base64url_alphabet), 64);
    cr_assert(base64url_decode(base64url_alphabet, 64, bytes, sizeof bytes, &len));
    cr_assert_eq(len, 48);
    base64url_encode(bytes, len, text);
    cr_assert_str_eq(text, base64url_alphabet);
    cr_assert_eq(bytes[0], 0x00);
    cr_assert_eq(bytes[1], 0x10);
    cr_assert_eq(bytes[2], 0x83);
    cr_assert_eq(bytes[45], 0xf3); /* "89-_": 60, 61, 62, 63 */
    cr_assert_eq(bytes[46], 0xdf);
    cr_assert_eq(bytes[47], 0xbf);
}

Test(base64url, is_char_is_exactly_the_alphabet)
{
    size_t accepted = 0;

    for (unsigned c = 0; c < 256; c++) {
        bool in_alphabet = c != 0 && strchr(base64url_alphabet, (int)c) != NULL;

        cr_assert_eq(base64url_is_char((unsigned char)c), in_alphabet, "byte 0x%02x", c);
        accepted += in_alphabet;
    }
    cr_assert_eq(accepted, 64);
}

/* Every length round-trips, and the length macros are exact for what the encoder writes. */
Test(base64url, round_trip_every_length)
{
    unsigned char in[64], out[64];
    char text[BASE64URL_ENCODED_LEN(sizeof in) + 1];

    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (unsigned char)(i * 37 + 11);
    for (size_t n = 0; n <= sizeof in; n++) {
        size_t t = base64url_encode(in, n, text), len = 0;

        cr_assert_eq(t, BASE64URL_ENCODED_LEN(n), "n = %zu", n);
        cr_assert_neq(t % 4, 1, "n = %zu", n);
        cr_assert_eq(BASE64URL_DECODED_MAX(t), n, "n = %zu", n);
        cr_assert(base64url_decode(text, t, out, n, &len), "n = %zu, exact capacity", n);
        cr_assert_eq(len, n);
        cr_assert_eq(memcmp(in, out, n), 0, "n = %zu", n);
    }
}

Test(base64url, refuses_padding_and_foreign_characters)
{
    assert_refused("Zg==", "padding");
    assert_refused("Zm8=", "one padding character");
    assert_refused("Zm9v====", "padding block");
    assert_refused("Zm+v", "'+' (base64, not base64url)");
    assert_refused("Zm/v", "'/' (base64, not base64url)");
    assert_refused("Zm 9v", "space");
    assert_refused("Zm9v\n", "newline");
    assert_refused("Zm.v", "'.'");
    assert_refused("Zm\xc3\xa9", "non-ASCII");
    assert_refused_n("Zm\0v", 4, "NUL inside the given length");
}

Test(base64url, refuses_impossible_lengths)
{
    assert_refused("Z", "1 character");
    assert_refused("Zm9vY", "5 characters");
    assert_refused("Zm9vYmFyZ", "9 characters");
}

/* Exhaustive: after "A", a last character is accepted iff its 4 unused bits are zero; after
 * "AA", iff its 2 unused bits are. Otherwise two texts would decode to the same bytes. */
Test(base64url, refuses_non_canonical_unused_bits)
{
    for (int v = 0; v < 64; v++) {
        char two[3] = {'A', base64url_alphabet[v], '\0'};
        char three[4] = {'A', 'A', base64url_alphabet[v], '\0'};
        unsigned char out[4];
        size_t len = 0;

        cr_assert_eq(base64url_decode(two, 2, out, sizeof out, &len), (v & 0x0f) == 0, "\"%s\"",
                     two);
        cr_assert_eq(base64url_decode(three, 3, out, sizeof out, &len), (v & 0x03) == 0, "\"%s\"",
                     three);
    }
    assert_refused("Zh", "\"f\" with unused bits set (canonical: Zg)");
    assert_refused("Zm9", "\"fo\" with unused bits set (canonical: Zm8)");
}

Test(base64url, refuses_output_over_capacity)
{
    unsigned char out[6];
    size_t len = 99;

    cr_assert_not(base64url_decode("Zm9vYmFy", 8, out, 5, &len), "6 bytes into 5");
    cr_assert_eq(len, 99);
    cr_assert_not(base64url_decode("Zg", 2, out, 0, &len), "1 byte into 0");
    cr_assert(base64url_decode("Zm9vYmFy", 8, out, 6, &len));
    cr_assert_eq(len, 6);
    cr_assert(base64url_decode("", 0, out, 0, &len), "empty text, no capacity");
    cr_assert_eq(len, 0);
}

/* The decoder reads exactly n characters: what follows them does not count. */
Test(base64url, reads_exactly_n_characters)
{
    unsigned char out[8];
    size_t len = 0;

    cr_assert(base64url_decode("Zm9v=garbage", 4, out, sizeof out, &len));
    cr_assert_eq(len, 3);
    cr_assert_eq(memcmp(out, "foo", 3), 0);
}
