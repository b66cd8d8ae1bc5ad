/* Syntax and check-digit rules (R42) for INSEE codes, SIREN and SIRET.
 * Knows no referential: existence of a code is checked by the caller. */
#include "identifiers.h"

#include <string.h>

#define SIREN_LENGTH         9
#define SIRET_LENGTH         14
#define LA_POSTE_SIREN       "356000000"
#define LA_POSTE_SUM_MODULUS 5

/* Not isdigit(): that one depends on the locale. */
static bool is_ascii_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* True when s is exactly len digits followed by NUL. Stops at the first
 * non-digit, so it never reads past the terminator of a shorter string. */
static bool is_digit_string(const char *s, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if (!is_ascii_digit(s[i]))
            return false;
    }
    return s[len] == '\0';
}

bool insee_code_is_valid(const char *s)
{
    if (!s)
        return false;
    if (s[0] == '2' && (s[1] == 'A' || s[1] == 'B')) {
        /* Corsica: 2A/2B */
    } else if (is_ascii_digit(s[0]) && is_ascii_digit(s[1])) {
        if (s[0] == '2' && s[1] == '0')
            return false;
    } else {
        return false;
    }
    return is_digit_string(s + 2, 3);
}

/* Two-character part of the département regex:
 * 0[1-9]|1[0-9]|2[1-9AB]|[3-8][0-9]|9[0-5]; a is already a digit. */
static bool is_two_char_departement(char a, char b)
{
    if (a == '2' && (b == 'A' || b == 'B'))
        return true;
    if (!is_ascii_digit(b))
        return false;
    if (a == '0' || a == '2')
        return b != '0';
    if (a == '9')
        return b <= '5';
    return true;
}

bool departement_code_is_valid(const char *s)
{
    if (!s || !is_ascii_digit(s[0]) || s[1] == '\0')
        return false;
    if (s[2] == '\0')
        return is_two_char_departement(s[0], s[1]);
    /* Three characters: 97[1-8]|98[46-9] */
    if (s[3] != '\0' || s[0] != '9' || !is_ascii_digit(s[2]))
        return false;
    if (s[1] == '7')
        return s[2] >= '1' && s[2] <= '8';
    if (s[1] == '8')
        return s[2] == '4' || s[2] >= '6';
    return false;
}

bool region_code_is_valid(const char *s)
{
    if (!s)
        return false;
    return is_digit_string(s, 2) || is_digit_string(s, 3);
}

bool insee_code_departement(const char *code, char out[4])
{
    size_t len;

    if (!out)
        return false;
    out[0] = '\0';
    if (!insee_code_is_valid(code))
        return false;
    len = (code[0] == '9' && (code[1] == '7' || code[1] == '8')) ? 3 : 2;
    memcpy(out, code, len);
    out[len] = '\0';
    return true;
}

bool luhn_is_valid(const char *digits, size_t len)
{
    unsigned sum = 0;
    size_t i;

    if (!digits || len == 0)
        return false;
    /* From the right: every second digit is doubled, minus 9 when > 9. */
    for (i = 0; i < len; i++) {
        char c = digits[len - 1 - i];
        unsigned d;

        if (!is_ascii_digit(c))
            return false;
        d = (unsigned)(c - '0');
        if (i % 2 == 1) {
            d *= 2;
            if (d > 9)
                d -= 9;
        }
        sum = (sum + d) % 10;
    }
    return sum == 0;
}

bool siren_is_valid(const char *s)
{
    return s && is_digit_string(s, SIREN_LENGTH) && luhn_is_valid(s, SIREN_LENGTH);
}

bool siren_format_is_valid(const char *s)
{
    return s && is_digit_string(s, SIREN_LENGTH);
}

bool siret_format_is_valid(const char *s)
{
    return s && is_digit_string(s, SIRET_LENGTH);
}

static bool is_la_poste_siret(const char *s)
{
    unsigned sum = 0;
    size_t i;

    if (memcmp(s, LA_POSTE_SIREN, SIREN_LENGTH) != 0)
        return false;
    for (i = 0; i < SIRET_LENGTH; i++)
        sum += (unsigned)(s[i] - '0');
    return sum % LA_POSTE_SUM_MODULUS == 0;
}

bool siret_is_valid(const char *s)
{
    if (!s || !is_digit_string(s, SIRET_LENGTH))
        return false;
    return luhn_is_valid(s, SIRET_LENGTH) || is_la_poste_siret(s);
}
