/* libFuzzer target over domain/text and domain/identifiers: arbitrary bytes
 * must never overflow an output buffer, and text_fold must keep its contract.
 * Build: clang -fsanitize=fuzzer,address,undefined -Idomain domain/... this. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "domain/identifiers.h"
#include "domain/text.h"

/* Small sizes probe truncation around multi-byte units. */
static const size_t small_sizes[] = {0, 1, 2, 3, 4, 5, 8, 13};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Heap copy of exactly n bytes, so that ASan flags any write past n. */
static char *copy_bytes(const uint8_t *data, size_t n, bool terminate)
{
    char *s = malloc(n + (terminate ? 1 : 0));

    if (!s)
        abort();
    if (n > 0)
        memcpy(s, data, n);
    if (terminate)
        s[n] = '\0';
    return s;
}

/* Folds in with out_size bytes and checks the invariants against the
 * untruncated result full (NULL when in is invalid). */
static void check_truncated_fold(const char *in, const char *full, size_t out_size)
{
    char *out = out_size > 0 ? malloc(out_size) : NULL;
    size_t len;

    if (out_size > 0 && !out)
        abort();
    len = text_fold(in, out, out_size);
    if (!full) {
        if (len != (size_t)-1 || (out_size > 0 && out[0] != '\0'))
            abort();
    } else if (out_size == 0) {
        if (len != 0)
            abort();
    } else {
        /* folds what fits: a NUL-terminated prefix of the full result,
         * never ending with a space */
        if (len >= out_size || strlen(out) != len || strncmp(out, full, len) != 0)
            abort();
        if (len > 0 && out[len - 1] == ' ')
            abort();
    }
    free(out);
}

static void check_fold(const char *in)
{
    size_t in_len = strlen(in);
    size_t full_size = in_len + 1; /* documented to always be enough */
    char *full = malloc(full_size);
    char *again = malloc(full_size);
    size_t len;
    size_t i;

    if (!full || !again)
        abort();
    len = text_fold(in, full, full_size);
    if (len == (size_t)-1) {
        if (full[0] != '\0')
            abort();
        for (i = 0; i < sizeof(small_sizes) / sizeof(small_sizes[0]); i++)
            check_truncated_fold(in, NULL, small_sizes[i]);
    } else {
        if (len > in_len || strlen(full) != len)
            abort();
        if (len > 0 && (full[0] == ' ' || full[len - 1] == ' ' || strstr(full, "  ")))
            abort();
        /* idempotent, and the result matches itself and the empty query */
        if (text_fold(full, again, full_size) != len || strcmp(again, full) != 0)
            abort();
        if (!text_folded_matches(full, full) || !text_folded_matches(full, ""))
            abort();
        for (i = 0; i < sizeof(small_sizes) / sizeof(small_sizes[0]); i++)
            check_truncated_fold(in, full, small_sizes[i]);
        check_truncated_fold(in, full, len + 1);
        if (len > 0)
            check_truncated_fold(in, full, len);
    }
    free(again);
    free(full);
}

static void check_identifiers(const char *s, const uint8_t *data, size_t size)
{
    char dep[4];
    size_t len = strlen(s);

    if (insee_code_is_valid(s) && len != 5)
        abort();
    if (departement_code_is_valid(s) && len != 2 && len != 3)
        abort();
    if (region_code_is_valid(s) && len != 2 && len != 3)
        abort();
    if (siren_is_valid(s) && (len != 9 || !luhn_is_valid(s, len)))
        abort();
    if (siret_is_valid(s) && len != 14)
        abort();
    if (insee_code_departement(s, dep)) {
        size_t dep_len = strlen(dep);

        if ((dep_len != 2 && dep_len != 3) || strncmp(dep, s, dep_len) != 0)
            abort();
    } else if (dep[0] != '\0') {
        abort();
    }
    /* raw bytes, not NUL-terminated: luhn_is_valid reads exactly size */
    {
        char *raw = copy_bytes(data, size, false);

        (void)luhn_is_valid(raw, size);
        free(raw);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = copy_bytes(data, size, true);
    size_t half = strlen(s) / 2;
    char *name;
    char *query;

    check_fold(s);
    check_identifiers(s, data, size);

    /* Matching must cope with any bytes, folded or not. */
    name = copy_bytes((const uint8_t *)s, half, true);
    query = copy_bytes((const uint8_t *)s + half, strlen(s) - half, true);
    (void)text_folded_matches(name, query);
    (void)text_folded_matches(query, name);
    free(query);
    free(name);
    free(s);
    return 0;
}
