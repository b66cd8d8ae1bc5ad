/* Unit tests of api/token_cache: a verified token is served until min(exp, stored + cap) and
 * not after, a miss is never a hit, keys are compared on the whole SHA-256 (keys sharing a set
 * and all but one byte are told apart), LRU eviction within a full set, and many threads on
 * one cache (also run under -fsanitize=thread: tests/unit/tsan_token_cache.c). */
#include <criterion/criterion.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "api/digest.h"
#include "api/token_cache.h"

static struct jwt_claims claims_of(const char *sub, time_t exp)
{
    struct jwt_claims c;
    memset(&c, 0, sizeof c);
    snprintf(c.iss, sizeof c.iss, "https://idp.test");
    snprintf(c.sub, sizeof c.sub, "%s", sub);
    c.exp = exp;
    return c;
}

Test(token_cache, off_when_size_zero)
{
    cr_assert_null(token_cache_new(0, 300));
    struct jwt_claims c = claims_of("a", 2000), got;
    enum token_source src;
    token_cache_put(NULL, "tok", 1000, TOKEN_SOURCE_USER, &c);
    cr_assert_not(token_cache_get(NULL, "tok", 1000, &src, &got));
    char *text = token_cache_render_metrics(NULL);
    cr_assert(strstr(text, "pvd_auth_token_cache_capacity 0\n") != NULL);
    free(text);
}

Test(token_cache, stored_token_is_served_with_its_source_and_claims)
{
    struct token_cache *tc = token_cache_new(16, 300);
    struct jwt_claims c = claims_of("alice", 2000), got;
    enum token_source src = TOKEN_SOURCE_USER;
    cr_assert_not(token_cache_get(tc, "header.payload.sig", 1000, &src, &got), "empty cache");
    token_cache_put(tc, "header.payload.sig", 1000, TOKEN_SOURCE_CLIENT, &c);
    cr_assert(token_cache_get(tc, "header.payload.sig", 1001, &src, &got));
    cr_assert_eq(src, TOKEN_SOURCE_CLIENT);
    cr_assert_str_eq(got.sub, "alice");
    cr_assert_eq(got.exp, 2000);
    cr_assert_not(token_cache_get(tc, "header.payload.sig2", 1001, &src, &got),
                  "another token is not served");
    cr_assert_not(token_cache_get(tc, "header.payload.si", 1001, &src, &got), "nor a prefix");
    struct token_cache_stats st;
    token_cache_stats(tc, &st);
    cr_assert_eq(st.hits, 1);
    cr_assert_eq(st.misses, 3);
    cr_assert_eq(st.stores, 1);
    token_cache_free(tc);
}

Test(token_cache, never_served_at_or_after_exp)
{
    struct token_cache *tc = token_cache_new(16, 300);
    struct jwt_claims c = claims_of("bob", 1100), got;
    enum token_source src;
    token_cache_put(tc, "t", 1000, TOKEN_SOURCE_USER, &c);
    cr_assert(token_cache_get(tc, "t", 1099, &src, &got));
    cr_assert_not(token_cache_get(tc, "t", 1100, &src, &got), "exp reached: verify again");
    cr_assert_not(token_cache_get(tc, "t", 1099, &src, &got), "an expired entry is dropped");
    /* A token already at or past exp (accepted within the verifier's leeway) is not stored. */
    struct jwt_claims late = claims_of("bob", 1000);
    token_cache_put(tc, "late", 1000, TOKEN_SOURCE_USER, &late);
    cr_assert_not(token_cache_get(tc, "late", 1000, &src, &got));
    token_cache_free(tc);
}

Test(token_cache, served_at_most_the_cap_after_verification)
{
    struct token_cache *tc = token_cache_new(16, 300);
    struct jwt_claims c = claims_of("carol", 1000 + 86400), got;
    enum token_source src;
    token_cache_put(tc, "t", 1000, TOKEN_SOURCE_USER, &c);
    cr_assert(token_cache_get(tc, "t", 1299, &src, &got));
    cr_assert_not(token_cache_get(tc, "t", 1300, &src, &got), "cap of 300 s reached");
    token_cache_put(tc, "t", 1300, TOKEN_SOURCE_USER, &c); /* verified again: 300 s more */
    cr_assert(token_cache_get(tc, "t", 1599, &src, &got));
    token_cache_free(tc);
}

/* Keys equal in their first 31 bytes (so in the same set) differ: full comparison. */
Test(token_cache, keys_compared_on_the_whole_hash)
{
    struct token_cache *tc = token_cache_new(8, 300); /* one set */
    uint8_t k1[TOKEN_CACHE_KEY_BYTES], k2[TOKEN_CACHE_KEY_BYTES];
    memset(k1, 0xab, sizeof k1);
    memcpy(k2, k1, sizeof k2);
    k2[TOKEN_CACHE_KEY_BYTES - 1] ^= 1;
    struct jwt_claims c1 = claims_of("one", 5000), c2 = claims_of("two", 5000), got;
    enum token_source src;
    token_cache_put_key(tc, k1, 1000, TOKEN_SOURCE_USER, &c1);
    cr_assert_not(token_cache_get_key(tc, k2, 1000, &src, &got));
    token_cache_put_key(tc, k2, 1000, TOKEN_SOURCE_CLIENT, &c2);
    cr_assert(token_cache_get_key(tc, k1, 1000, &src, &got));
    cr_assert_str_eq(got.sub, "one");
    cr_assert_eq(src, TOKEN_SOURCE_USER);
    cr_assert(token_cache_get_key(tc, k2, 1000, &src, &got));
    cr_assert_str_eq(got.sub, "two");
    cr_assert_eq(src, TOKEN_SOURCE_CLIENT);
    token_cache_free(tc);
}

Test(token_cache, full_set_evicts_least_recently_used)
{
    struct token_cache *tc = token_cache_new(TOKEN_CACHE_WAYS, 300); /* one set */
    enum token_source src;
    struct jwt_claims got;
    char tok[32];
    for (int i = 0; i < TOKEN_CACHE_WAYS; i++) {
        snprintf(tok, sizeof tok, "tok-%d", i);
        struct jwt_claims c = claims_of(tok, 5000);
        token_cache_put(tc, tok, 1000, TOKEN_SOURCE_USER, &c);
    }
    /* tok-0 used again: tok-1 is now the least recently used. */
    cr_assert(token_cache_get(tc, "tok-0", 1001, &src, &got));
    struct jwt_claims c = claims_of("new", 5000);
    token_cache_put(tc, "new", 1002, TOKEN_SOURCE_USER, &c);
    cr_assert(token_cache_get(tc, "new", 1003, &src, &got));
    cr_assert(token_cache_get(tc, "tok-0", 1003, &src, &got));
    cr_assert_not(token_cache_get(tc, "tok-1", 1003, &src, &got), "the LRU entry went");
    for (int i = 2; i < TOKEN_CACHE_WAYS; i++) {
        snprintf(tok, sizeof tok, "tok-%d", i);
        cr_assert(token_cache_get(tc, tok, 1003, &src, &got), "%s kept", tok);
    }
    struct token_cache_stats st;
    token_cache_stats(tc, &st);
    cr_assert_eq(st.evictions, 1);
    cr_assert_eq(st.capacity, TOKEN_CACHE_WAYS);
    token_cache_free(tc);
}

Test(token_cache, expired_entry_replaced_before_a_valid_one)
{
    struct token_cache *tc = token_cache_new(TOKEN_CACHE_WAYS, 300);
    enum token_source src;
    struct jwt_claims got;
    char tok[32];
    for (int i = 0; i < TOKEN_CACHE_WAYS; i++) {
        snprintf(tok, sizeof tok, "tok-%d", i);
        /* tok-0 is the most recently used but expires first. */
        struct jwt_claims c = claims_of(tok, i == 0 ? 1050 : 5000);
        token_cache_put(tc, tok, 1000, TOKEN_SOURCE_USER, &c);
    }
    cr_assert(token_cache_get(tc, "tok-0", 1001, &src, &got));
    struct jwt_claims c = claims_of("new", 5000);
    token_cache_put(tc, "new", 1100, TOKEN_SOURCE_USER, &c);
    for (int i = 1; i < TOKEN_CACHE_WAYS; i++) {
        snprintf(tok, sizeof tok, "tok-%d", i);
        cr_assert(token_cache_get(tc, tok, 1101, &src, &got), "%s kept", tok);
    }
    struct token_cache_stats st;
    token_cache_stats(tc, &st);
    cr_assert_eq(st.evictions, 0, "an expired entry is not an eviction");
    token_cache_free(tc);
}

Test(token_cache, metrics_text)
{
    struct token_cache *tc = token_cache_new(10, 300);
    struct jwt_claims c = claims_of("m", 5000), got;
    enum token_source src;
    token_cache_put(tc, "t", 1000, TOKEN_SOURCE_USER, &c);
    cr_assert(token_cache_get(tc, "t", 1000, &src, &got));
    cr_assert(token_cache_get(tc, "t", 1000, &src, &got));
    char *text = token_cache_render_metrics(tc);
    cr_assert(strstr(text, "pvd_auth_token_cache_hits_total 2\n") != NULL, "%s", text);
    cr_assert(strstr(text, "pvd_auth_token_cache_misses_total 0\n") != NULL, "%s", text);
    cr_assert(strstr(text, "pvd_auth_token_cache_capacity 16\n") != NULL, "%s", text);
    free(text);
    token_cache_free(tc);
}

/* The key is the token's SHA-256 (api/digest.h: fetched once, shared by threads). */
Test(token_cache, key_is_the_sha256_of_the_token)
{
    static const uint8_t abc[TOKEN_CACHE_KEY_BYTES] = {
        0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
        0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
        0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    uint8_t key[TOKEN_CACHE_KEY_BYTES], again[TOKEN_CACHE_KEY_BYTES];
    cr_assert(token_cache_key("abc", key));
    cr_assert_arr_eq(key, abc, sizeof abc);
    cr_assert(token_cache_key("abd", again));
    cr_assert(memcmp(key, again, sizeof key) != 0);
    cr_assert_eq(digest_sha256(), digest_sha256(), "fetched once");
}
