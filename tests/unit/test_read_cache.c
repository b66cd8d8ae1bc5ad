/* Unit tests of api/read_cache: an entry is served only for the stamp it was stored
 * with and for ttl_ms, an entry found stale is freed, stamp 0 serves and stores
 * nothing, memory is bounded per shard (least recently used evicted first), values
 * too large are refused, NULL = off. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "api/read_cache.h"

struct got {
    char value[2048];
    size_t len;
    int calls;
};

static void copy(void *arg, const void *value, size_t len)
{
    struct got *g = arg;
    cr_assert_lt(len, sizeof g->value);
    memcpy(g->value, value, len);
    g->value[len] = '\0';
    g->len = len;
    g->calls++;
}

static bool get(struct read_cache *c, const char *key, uint64_t stamp, uint64_t now, struct got *g)
{
    memset(g, 0, sizeof *g);
    return read_cache_get(c, key, strlen(key), stamp, now, copy, g);
}

static void put(struct read_cache *c, const char *key, uint64_t stamp, uint64_t now,
                const char *value)
{
    read_cache_put(c, key, strlen(key), stamp, now, value, strlen(value));
}

static struct read_cache *cache(size_t bytes, unsigned ttl)
{
    struct read_cache *c = read_cache_new(bytes, ttl);
    cr_assert_not_null(c);
    return c;
}

Test(read_cache, off_when_size_or_ttl_is_zero_and_null_is_accepted)
{
    cr_assert_null(read_cache_new(0, 1000));
    cr_assert_null(read_cache_new(1 << 20, 0));
    struct got g;
    put(NULL, "k", 3, 0, "v");
    cr_assert_not(get(NULL, "k", 3, 0, &g));
    struct read_cache_stats st;
    read_cache_stats(NULL, &st);
    cr_assert_eq(st.entries, 0);
    cr_assert_eq(st.max_bytes, 0);
}

Test(read_cache, served_only_for_its_stamp_and_freed_when_stale)
{
    struct read_cache *c = cache(1 << 20, 1000);
    struct got g;
    put(c, "k", 7, 10, "valeur");
    cr_assert(get(c, "k", 7, 11, &g));
    cr_assert_str_eq(g.value, "valeur");
    cr_assert_eq(g.calls, 1);
    cr_assert(get(c, "k", 7, 12, &g), "served again while the stamp is the same");
    cr_assert_not(get(c, "k", 8, 13, &g), "served after the database changed");
    cr_assert_not(get(c, "k", 7, 14, &g), "a stale entry is freed, not kept for its stamp");
    struct read_cache_stats st;
    read_cache_stats(c, &st);
    cr_assert_eq(st.entries, 0);
    cr_assert_eq(st.bytes, 0);
    cr_assert_eq(st.hits, 2);
    cr_assert_eq(st.misses, 2);
    cr_assert_eq(st.stores, 1);
    read_cache_free(c);
}

Test(read_cache, stamp_zero_serves_and_stores_nothing)
{
    struct read_cache *c = cache(1 << 20, 1000);
    struct got g;
    put(c, "k", 0, 10, "v");
    cr_assert_not(get(c, "k", 0, 10, &g));
    put(c, "k", 5, 10, "v");
    cr_assert_not(get(c, "k", 0, 11, &g), "served without a stamp");
    cr_assert(get(c, "k", 5, 12, &g));
    struct read_cache_stats st;
    read_cache_stats(c, &st);
    cr_assert_eq(st.stores, 1);
    read_cache_free(c);
}

Test(read_cache, entries_expire_after_ttl)
{
    struct read_cache *c = cache(1 << 20, 1000);
    put(c, "k", 1, 5000, "v");
    struct got g;
    cr_assert(get(c, "k", 1, 5999, &g));
    cr_assert_not(get(c, "k", 1, 6000, &g));
    put(c, "k", 1, 7000, "w");
    cr_assert_not(get(c, "k", 1, 6999, &g), "a clock before the store is not trusted");
    read_cache_free(c);
}

Test(read_cache, a_put_replaces_and_keys_are_bytes)
{
    struct read_cache *c = cache(1 << 20, 1000);
    const char k1[] = {'a', '\0', 'b'}, k2[] = {'a', '\0', 'c'};
    read_cache_put(c, k1, 3, 4, 0, "1", 1);
    read_cache_put(c, k2, 3, 4, 0, "2", 1);
    read_cache_put(c, k1, 3, 4, 0, "3", 1);
    struct got g;
    memset(&g, 0, sizeof g);
    cr_assert(read_cache_get(c, k1, 3, 4, 1, copy, &g));
    cr_assert_str_eq(g.value, "3");
    memset(&g, 0, sizeof g);
    cr_assert(read_cache_get(c, k2, 3, 4, 1, copy, &g));
    cr_assert_str_eq(g.value, "2");
    cr_assert_not(read_cache_get(c, "a", 1, 4, 1, copy, &g));
    struct read_cache_stats st;
    read_cache_stats(c, &st);
    cr_assert_eq(st.entries, 2);
    read_cache_free(c);
}

Test(read_cache, memory_is_bounded_and_the_least_recently_used_goes_first)
{
    /* 8 shards of 8 KB; values of 1 KB (a quarter of a shard is 2 KB). */
    size_t total = READ_CACHE_SHARDS * 8192;
    struct read_cache *c = cache(total, 100000);
    char value[1025];
    memset(value, 'x', 1024);
    value[1024] = '\0';
    char key[32];
    for (int i = 0; i < 400; i++) {
        snprintf(key, sizeof key, "cle-%d", i);
        put(c, key, 9, (uint64_t)i, value);
        if (i >= 1) { /* keep cle-0 recently used */
            struct got g;
            cr_assert(get(c, "cle-0", 9, (uint64_t)i, &g), "cle-0 evicted at %d", i);
        }
    }
    struct read_cache_stats st;
    read_cache_stats(c, &st);
    cr_assert_leq(st.bytes, total, "%zu bytes held for a budget of %zu", st.bytes, total);
    cr_assert_eq(st.max_bytes, total);
    cr_assert_gt(st.evictions, 300);
    struct got g;
    cr_assert_not(get(c, "cle-1", 9, 500, &g), "the least recently used was kept");
    cr_assert(get(c, "cle-399", 9, 500, &g));
    /* Too large for a shard: not stored. */
    char big[4000];
    memset(big, 'y', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    put(c, "gros", 9, 500, big);
    cr_assert_not(get(c, "gros", 9, 501, &g));
    read_cache_free(c);
}
