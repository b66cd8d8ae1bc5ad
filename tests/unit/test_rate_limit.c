/* Unit tests of api/rate_limit: token buckets per key with the clock passed
 * in. Burst, refill rate, Retry-After as the smallest whole number of seconds
 * that works, independent keys, eviction in fixed memory (fullest bucket
 * first, then least recently used), and many threads on one limiter (exact
 * token accounting; also run under -fsanitize=thread, see the Makefile). */
#include <criterion/criterion.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "api/rate_limit.h"

static struct rate_limiter *limiter(double per_minute, double burst, size_t slots, size_t shards)
{
    struct rate_limit_options o = {per_minute, burst, slots, shards};
    struct rate_limiter *l = rate_limiter_new(&o);
    cr_assert_not_null(l);
    return l;
}

/* Takes n tokens at now, all expected to succeed. */
static void take_n(struct rate_limiter *l, const char *key, double now, int n)
{
    for (int i = 0; i < n; i++)
        cr_assert(rate_limit_take(l, key, now, NULL), "take %d of %d for \"%s\" at %.3f", i + 1, n,
                  key, now);
}

/* Expects a refusal at now and returns its Retry-After. */
static double refused(struct rate_limiter *l, const char *key, double now)
{
    double retry = -1;
    cr_assert_not(rate_limit_take(l, key, now, &retry), "\"%s\" allowed at %.3f", key, now);
    cr_assert_geq(retry, 1);
    cr_assert_eq(retry, (double)(long long)retry, "Retry-After %.17g is not whole", retry);
    return retry;
}

Test(rate_limit, defaults_600_per_minute_burst_600)
{
    struct rate_limiter *l = limiter(600, 0, 0, 0);
    take_n(l, "p:alice", 100.0, 600);
    cr_assert_eq(refused(l, "p:alice", 100.0), 1); /* 10 tokens/s: the next in 0.1 s */
    take_n(l, "p:alice", 100.1, 1);
    refused(l, "p:alice", 100.1);
    take_n(l, "p:alice", 101.1, 10); /* one second: ten more */
    refused(l, "p:alice", 101.1);
    rate_limiter_free(l);
}

Test(rate_limit, burst_smaller_than_rate)
{
    struct rate_limiter *l = limiter(60, 5, 0, 0);
    take_n(l, "k", 0, 5);
    cr_assert_eq(refused(l, "k", 0), 1);
    take_n(l, "k", 1, 1);
    refused(l, "k", 1);
    /* A long idle period refills to the burst, not beyond. */
    take_n(l, "k", 1000, 5);
    refused(l, "k", 1000);
    rate_limiter_free(l);
}

Test(rate_limit, token_endpoint_30_per_minute)
{
    struct rate_limiter *l = limiter(30, 0, 0, 0);
    take_n(l, "t:127.0.0.1|client", 0, 30);
    cr_assert_eq(refused(l, "t:127.0.0.1|client", 0), 2);
    cr_assert_eq(refused(l, "t:127.0.0.1|client", 1.5), 1);
    cr_assert_eq(refused(l, "t:127.0.0.1|client", 1.999), 1);
    take_n(l, "t:127.0.0.1|client", 2.0, 1);
    cr_assert_eq(refused(l, "t:127.0.0.1|client", 2.0), 2);
    rate_limiter_free(l);
}

/* A client that retries as soon as allowed gets burst + rate × time, no more. */
Test(rate_limit, sustained_rate)
{
    static const double rates[] = {1, 7, 30, 600, 6000};
    for (size_t r = 0; r < sizeof rates / sizeof rates[0]; r++) {
        struct rate_limiter *l = limiter(rates[r], 0, 0, 0);
        long allowed = 0;
        for (int step = 0; step <= 60000; step++) /* every 10 ms for 600 s */
            while (rate_limit_take(l, "k", step / 100.0, NULL))
                allowed++;
        long expected = (long)rates[r] + (long)(rates[r] * 10); /* burst + 600 s of refill */
        cr_assert(allowed >= expected - 1 && allowed <= expected + 1,
                  "%g/min: %ld allowed, %ld expected", rates[r], allowed, expected);
        rate_limiter_free(l);
    }
}

/* Retry-After is exact: waiting that many seconds works, one second less does not. */
Test(rate_limit, retry_after_is_the_smallest_whole_wait)
{
    static const double rates[] = {1, 7, 29, 30, 59, 60, 61, 90, 600, 1000, 7200};
    static const double starts[] = {0, 0.37, 12345.678, 987654.25};
    for (size_t r = 0; r < sizeof rates / sizeof rates[0]; r++) {
        for (size_t s = 0; s < sizeof starts / sizeof starts[0]; s++) {
            struct rate_limiter *l = limiter(rates[r], 3, 0, 0);
            double t = starts[s];
            take_n(l, "k", t, 3);
            for (int round = 0; round < 40; round++) {
                double retry = refused(l, "k", t);
                if (retry > 1) {
                    double sooner = -1;
                    cr_assert_not(rate_limit_take(l, "k", t + retry - 1, &sooner),
                                  "%g/min: allowed %g s early", rates[r], retry - 1);
                    cr_assert_eq(sooner, 1, "%g/min: one second before, 1 s is left", rates[r]);
                }
                t += retry;
                cr_assert(rate_limit_take(l, "k", t, NULL), "%g/min from %g: refused after %g s",
                          rates[r], starts[s], retry);
                /* Move to a fractional instant and spend what refilled: empty again. */
                t += 0.013 * round;
                while (rate_limit_take(l, "k", t, NULL))
                    ;
            }
            rate_limiter_free(l);
        }
    }
}

Test(rate_limit, retry_after_exact_values)
{
    /* 30/min = 0.5 token/s; 7/min: one token every 60/7 = 8.57 s; 600/min: 0.1 s → 1. */
    struct rate_limiter *l = limiter(30, 1, 0, 0);
    take_n(l, "a", 0, 1);
    cr_assert_eq(refused(l, "a", 0), 2);
    rate_limiter_free(l);
    l = limiter(7, 1, 0, 0);
    take_n(l, "a", 0, 1);
    cr_assert_eq(refused(l, "a", 0), 9);
    cr_assert_eq(refused(l, "a", 8), 1);
    take_n(l, "a", 60.0 / 7, 1);
    rate_limiter_free(l);
    l = limiter(600, 1, 0, 0);
    take_n(l, "a", 0, 1);
    cr_assert_eq(refused(l, "a", 0), 1);
    rate_limiter_free(l);
}

Test(rate_limit, retry_after_untouched_on_success)
{
    struct rate_limiter *l = limiter(60, 2, 0, 0);
    double retry = -7;
    cr_assert(rate_limit_take(l, "k", 0, &retry));
    cr_assert_eq(retry, -7);
    rate_limiter_free(l);
}

Test(rate_limit, keys_are_independent)
{
    struct rate_limiter *l = limiter(60, 2, 0, 0);
    take_n(l, "p:alice", 0, 2);
    refused(l, "p:alice", 0);
    take_n(l, "p:bob", 0, 2);
    take_n(l, "p:alic", 0, 2);
    take_n(l, "p:alice ", 0, 2);
    take_n(l, "", 0, 2);
    take_n(l, NULL, 0, 0);
    refused(l, NULL, 0); /* NULL is "" */
    refused(l, "p:alice", 0);
    cr_assert_eq(rate_limiter_keys(l), 5);
    rate_limiter_free(l);
}

Test(rate_limit, long_keys_are_truncated)
{
    struct rate_limiter *l = limiter(60, 1, 0, 0);
    char a[400], b[400];
    memset(a, 'x', sizeof a - 1);
    a[sizeof a - 1] = '\0';
    memcpy(b, a, sizeof b);
    b[300] = 'y'; /* differs after the kept prefix: same bucket */
    take_n(l, a, 0, 1);
    refused(l, b, 0);
    b[300] = 'x';
    b[RATE_LIMIT_KEY_MAX - 2] = 'y'; /* differs inside the kept prefix: its own bucket */
    take_n(l, b, 0, 1);
    rate_limiter_free(l);
}

Test(rate_limit, eviction_replaces_the_fullest_bucket)
{
    /* 3 slots in one shard, 2-token buckets refilling at 1/min. */
    struct rate_limiter *l = limiter(1, 2, 3, 1);
    take_n(l, "limited", 0, 2); /* oldest, and empty */
    take_n(l, "y", 1, 1);       /* 1 token left, refilling since 1 */
    take_n(l, "z", 2, 1);       /* 1 token left, refilling since 2 */
    cr_assert_eq(rate_limiter_keys(l), 3);
    /* A new key evicts the bucket with the most tokens at 3: y (1.033), not the oldest. */
    take_n(l, "new", 3, 1);
    cr_assert_eq(rate_limiter_keys(l), 3);
    refused(l, "limited", 3); /* remembered: still limited */
    take_n(l, "z", 3, 1);     /* remembered: one token, not a fresh two */
    refused(l, "z", 3);
    take_n(l, "y", 3, 2); /* forgotten: back with a full bucket (evicting "new", now fullest) */
    refused(l, "y", 3);
    refused(l, "limited", 3);
    cr_assert_eq(rate_limiter_keys(l), 3);
    rate_limiter_free(l);
}

Test(rate_limit, eviction_among_equals_is_least_recently_used)
{
    /* No refill to speak of: every bucket keeps what it has. */
    struct rate_limiter *l = limiter(1e-9, 2, 3, 1);
    take_n(l, "a", 0, 1);
    take_n(l, "b", 1, 1);
    take_n(l, "c", 2, 1);
    take_n(l, "d", 3, 1); /* a, b, c hold one token each: a, least recently used, goes */
    take_n(l, "b", 4, 1); /* b and c are remembered with one token */
    refused(l, "b", 4);
    take_n(l, "c", 4, 1);
    refused(l, "c", 4);
    take_n(l, "a", 5, 2); /* a was forgotten: a full bucket again (d goes: one token, oldest) */
    refused(l, "a", 5);
    refused(l, "b", 5);
    refused(l, "c", 5);
    take_n(l, "d", 6, 2); /* d was forgotten */
    rate_limiter_free(l);
}

Test(rate_limit, time_going_backwards_counts_as_no_time)
{
    struct rate_limiter *l = limiter(60, 1, 0, 0);
    take_n(l, "k", 10, 1);
    cr_assert_eq(refused(l, "k", 9), 1);
    cr_assert_eq(refused(l, "k", 10.5), 1);
    take_n(l, "k", 11, 1);
    rate_limiter_free(l);
}

Test(rate_limit, zero_rate_disables)
{
    struct rate_limiter *l = limiter(0, 0, 0, 0);
    for (int i = 0; i < 100000; i++)
        cr_assert(rate_limit_take(l, "k", 0, NULL));
    rate_limiter_free(l);
}

Test(rate_limit, invalid_options)
{
    struct rate_limit_options bad[] = {
        {-1, 0, 0, 0}, {NAN, 0, 0, 0}, {INFINITY, 0, 0, 0}, {60, 0.5, 0, 0}, {0.5, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_null(rate_limiter_new(&bad[i]), "options %zu accepted", i);
    rate_limiter_free(NULL);
}

/* ---- threads ------------------------------------------------------------ */

#define THREADS    8
#define TAKES      20000
#define SHARED_CAP 50000

struct worker {
    struct rate_limiter *shared; /* one key, many threads: exact accounting */
    struct rate_limiter *small;  /* many keys, few slots: constant eviction */
    int id;
    long allowed;
};

static void *hammer(void *arg)
{
    struct worker *w = arg;
    char key[64];
    for (int i = 0; i < TAKES; i++) {
        double now = (double)(i / 1000); /* the same few instants in every thread */
        if (rate_limit_take(w->shared, "p:shared", 0.0, NULL))
            w->allowed++;
        snprintf(key, sizeof key, "p:%d:%d", w->id, i % 500);
        double retry = 0;
        if (!rate_limit_take(w->small, key, now, &retry) && retry < 1)
            w->allowed = -1000000; /* reported by the main thread */
    }
    return NULL;
}

Test(rate_limit, many_threads)
{
    /* The shared bucket never refills (1e-9/min): exactly SHARED_CAP takes may succeed. */
    struct rate_limiter *shared = limiter(1e-9, SHARED_CAP, 0, 0);
    struct rate_limiter *small = limiter(120, 3, 64, 4);
    struct worker w[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){shared, small, i, 0};
        cr_assert_eq(pthread_create(&t[i], NULL, hammer, &w[i]), 0);
    }
    long total = 0;
    for (int i = 0; i < THREADS; i++) {
        cr_assert_eq(pthread_join(t[i], NULL), 0);
        cr_assert_geq(w[i].allowed, 0, "a refusal came without a Retry-After");
        total += w[i].allowed;
    }
    cr_assert_eq(total, SHARED_CAP, "%ld takes succeeded on a %d-token bucket", total, SHARED_CAP);
    cr_assert_leq(rate_limiter_keys(small), 64);
    rate_limiter_free(shared);
    rate_limiter_free(small);
}
