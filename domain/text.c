/* Search folding of names and prefix matching of folded words.
 * Knows nothing of HTTP or SQL; validates UTF-8 itself (no locale). */
#include "text.h"

#include <stdint.h>
#include <string.h>

#define LATIN_FOLD_FIRST 0x00C0u
#define LATIN_FOLD_LAST  0x017Fu

/* ASCII base of U+00C0-U+017F (Latin-1 letters and Latin Extended-A), from
 * NFKD without combining marks, lower-cased; letters with no decomposition
 * (stroke, ligature, eth, thorn, eng, kra) by their usual transliteration.
 * "" marks the two symbols of the range, x and division sign: separators. */
static const char latin_fold[LATIN_FOLD_LAST - LATIN_FOLD_FIRST + 1][3] = {
    /* U+00C0 */ "a", "a", "a",  "a",  "a", "a", "ae", "c",
    /* U+00C8 */ "e", "e", "e",  "e",  "i", "i", "i",  "i",
    /* U+00D0 */ "d", "n", "o",  "o",  "o", "o", "o",  "",
    /* U+00D8 */ "o", "u", "u",  "u",  "u", "y", "th", "ss",
    /* U+00E0 */ "a", "a", "a",  "a",  "a", "a", "ae", "c",
    /* U+00E8 */ "e", "e", "e",  "e",  "i", "i", "i",  "i",
    /* U+00F0 */ "d", "n", "o",  "o",  "o", "o", "o",  "",
    /* U+00F8 */ "o", "u", "u",  "u",  "u", "y", "th", "y",
    /* U+0100 */ "a", "a", "a",  "a",  "a", "a", "c",  "c",
    /* U+0108 */ "c", "c", "c",  "c",  "c", "c", "d",  "d",
    /* U+0110 */ "d", "d", "e",  "e",  "e", "e", "e",  "e",
    /* U+0118 */ "e", "e", "e",  "e",  "g", "g", "g",  "g",
    /* U+0120 */ "g", "g", "g",  "g",  "h", "h", "h",  "h",
    /* U+0128 */ "i", "i", "i",  "i",  "i", "i", "i",  "i",
    /* U+0130 */ "i", "i", "ij", "ij", "j", "j", "k",  "k",
    /* U+0138 */ "k", "l", "l",  "l",  "l", "l", "l",  "l",
    /* U+0140 */ "l", "l", "l",  "n",  "n", "n", "n",  "n",
    /* U+0148 */ "n", "n", "n",  "n",  "o", "o", "o",  "o",
    /* U+0150 */ "o", "o", "oe", "oe", "r", "r", "r",  "r",
    /* U+0158 */ "r", "r", "s",  "s",  "s", "s", "s",  "s",
    /* U+0160 */ "s", "s", "t",  "t",  "t", "t", "t",  "t",
    /* U+0168 */ "u", "u", "u",  "u",  "u", "u", "u",  "u",
    /* U+0170 */ "u", "u", "u",  "u",  "w", "w", "y",  "y",
    /* U+0178 */ "y", "z", "z",  "z",  "z", "z", "z",  "s",
};

enum fold_kind {
    FOLD_KIND_TEXT,      /* unit holds the folded bytes */
    FOLD_KIND_SEPARATOR, /* word boundary */
    FOLD_KIND_DROPPED,   /* invisible: neither text nor boundary */
};

/* Decodes one code point at s (NUL-terminated). Returns its byte length
 * (1-4), or 0 when the sequence is not well-formed UTF-8 (Unicode table 3-7).
 * Bytes are checked in order, so a NUL ends the check and nothing past the
 * terminator is read. */
static size_t utf8_decode(const unsigned char *s, uint32_t *cp)
{
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    size_t len;
    size_t i;

    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        len = 2;
        *cp = s[0] & 0x1Fu;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        len = 3;
        *cp = s[0] & 0x0Fu;
        if (s[0] == 0xE0)
            lo = 0xA0; /* overlong */
        else if (s[0] == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        len = 4;
        *cp = s[0] & 0x07u;
        if (s[0] == 0xF0)
            lo = 0x90; /* overlong */
        else if (s[0] == 0xF4)
            hi = 0x8F; /* above U+10FFFF */
    } else {
        return 0; /* continuation byte, C0/C1 overlong lead, F5-FF */
    }
    for (i = 1; i < len; i++) {
        if (s[i] < lo || s[i] > hi)
            return 0;
        *cp = (*cp << 6) | (s[i] & 0x3Fu);
        lo = 0x80;
        hi = 0xBF;
    }
    return len;
}

static enum fold_kind fold_ascii(unsigned char c, char *unit, size_t *unit_len)
{
    if (c >= 'A' && c <= 'Z') {
        unit[0] = (char)(c - 'A' + 'a');
    } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
        unit[0] = (char)c;
    } else {
        return FOLD_KIND_SEPARATOR;
    }
    *unit_len = 1;
    return FOLD_KIND_TEXT;
}

/* U+0080-U+00BF: C1 controls and Latin-1 symbols, with a few letters and
 * digits in disguise. */
static enum fold_kind fold_latin1_symbol(uint32_t cp, char *unit, size_t *unit_len)
{
    switch (cp) {
    case 0x00AA: /* feminine ordinal */
        unit[0] = 'a';
        break;
    case 0x00BA: /* masculine ordinal */
        unit[0] = 'o';
        break;
    case 0x00B9:
        unit[0] = '1';
        break;
    case 0x00B2:
        unit[0] = '2';
        break;
    case 0x00B3:
        unit[0] = '3';
        break;
    case 0x00AD: /* soft hyphen: invisible, must not split a word */
        return FOLD_KIND_DROPPED;
    default:
        return FOLD_KIND_SEPARATOR;
    }
    *unit_len = 1;
    return FOLD_KIND_TEXT;
}

static bool is_invisible_format(uint32_t cp)
{
    return (cp >= 0x200B && cp <= 0x200F) || (cp >= 0x202A && cp <= 0x202E) ||
           (cp >= 0x2060 && cp <= 0x206F) || cp == 0xFEFF;
}

/* Folds one code point cp, encoded as src[0..src_len), into unit (at least
 * 4 bytes). Every unit is no longer than its source, which bounds the output
 * by strlen(in). */
static enum fold_kind fold_code_point(uint32_t cp, const unsigned char *src, size_t src_len,
                                      char *unit, size_t *unit_len)
{
    if (cp < 0x80)
        return fold_ascii((unsigned char)cp, unit, unit_len);
    if (cp == 0x00B5) {
        /* micro sign: a letter, kept as-is like other non-Latin letters */
    } else if (cp < LATIN_FOLD_FIRST) {
        return fold_latin1_symbol(cp, unit, unit_len);
    } else if (cp <= LATIN_FOLD_LAST) {
        const char *base = latin_fold[cp - LATIN_FOLD_FIRST];

        if (base[0] == '\0')
            return FOLD_KIND_SEPARATOR;
        *unit_len = strlen(base);
        memcpy(unit, base, *unit_len);
        return FOLD_KIND_TEXT;
    } else if (cp >= 0x0300 && cp <= 0x036F) {
        return FOLD_KIND_DROPPED; /* combining marks of decomposed accents */
    } else if (is_invisible_format(cp)) {
        return FOLD_KIND_DROPPED;
    } else if (cp >= 0x2000 && cp <= 0x206F) {
        return FOLD_KIND_SEPARATOR; /* spaces, dashes, quotes, ellipsis */
    }
    memcpy(unit, src, src_len);
    *unit_len = src_len;
    return FOLD_KIND_TEXT;
}

size_t text_fold(const char *in, char *out, size_t out_size)
{
    const unsigned char *p = (const unsigned char *)in;
    bool pending_space = false;
    bool full = false;
    size_t len = 0;

    if (out_size > 0)
        out[0] = '\0';
    if (!in)
        return (size_t)-1;

    while (*p != '\0') {
        char unit[4];
        size_t unit_len = 0;
        uint32_t cp;
        size_t src_len = utf8_decode(p, &cp);
        enum fold_kind kind;

        if (src_len == 0) {
            if (out_size > 0)
                out[0] = '\0';
            return (size_t)-1;
        }
        kind = fold_code_point(cp, p, src_len, unit, &unit_len);
        p += src_len;

        if (kind == FOLD_KIND_SEPARATOR) {
            pending_space = len > 0;
        } else if (kind == FOLD_KIND_TEXT && !full) {
            /* The space goes out with the next unit, so that neither a
             * trailing space nor a cut unit is ever written. */
            size_t need = unit_len + (pending_space ? 1 : 0);

            if (out_size == 0 || need >= out_size - len) {
                /* Keep going: the rest of in must still be valid UTF-8. */
                full = true;
                continue;
            }
            if (pending_space)
                out[len++] = ' ';
            memcpy(out + len, unit, unit_len);
            len += unit_len;
            pending_space = false;
        }
    }
    if (out_size > 0)
        out[len] = '\0';
    return len;
}

/* Length of the word starting at s, which ends at a space or NUL. */
static size_t word_length(const char *s)
{
    size_t n = 0;

    while (s[n] != '\0' && s[n] != ' ')
        n++;
    return n;
}

static bool has_word_with_prefix(const char *name, const char *prefix, size_t prefix_len)
{
    while (*name != '\0') {
        size_t n;

        if (*name == ' ') {
            name++;
            continue;
        }
        n = word_length(name);
        if (n >= prefix_len && memcmp(name, prefix, prefix_len) == 0)
            return true;
        name += n;
    }
    return false;
}

bool text_folded_matches(const char *folded_name, const char *folded_query)
{
    const char *q = folded_query ? folded_query : "";
    const char *name = folded_name ? folded_name : "";

    while (*q != '\0') {
        size_t n;

        if (*q == ' ') {
            q++;
            continue;
        }
        n = word_length(q);
        if (!has_word_with_prefix(name, q, n))
            return false;
        q += n;
    }
    return true;
}

bool text_is_blank(const char *s)
{
    if (!s)
        return true;
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return false;
    return true;
}
