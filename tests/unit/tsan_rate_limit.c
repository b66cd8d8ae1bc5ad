/* Standalone thread test of api/rate_limit, built with -fsanitize=thread
 * (criterion cannot run under ThreadSanitizer: its boxfort arena fails with
 * "Could not initialize inheritable arena", Criterion issue #274). Many
 * threads hammer one limiter: one shared key (exact token accounting), keys
 * of their own in a small table (constant eviction across shards), and the
 * key counter. Exit 0 when the accounting holds; TSan makes a race fatal
 * (run with TSAN_OPTIONS=halt_on_error=1). Not part of the criterion binary:
 * the name does not match tests/unit/test_*.c. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "api/rate_limit.h"

#define THREADS    8
#define TAKES      20000
#define SHARED_CAP 50000
#define SMALL_KEYS 64

struct worker {
    struct rate_limiter *shared;
    struct rate_limiter *small;
    int id;
    long allowed;
    long bad_retry;
};

static void *hammer(void *arg)
{
    struct worker *w = arg;
    char key[64];
    for (int i = 0; i < TAKES; i++) {
        double now = (double)(i / 1000) + 0.001 * w->id; /* clocks read slightly apart */
        double retry = 0;
        if (rate_limit_take(w->shared, "p:shared", now, &retry))
            w->allowed++;
        else if (retry < 1)
            w->bad_retry++;
        snprintf(key, sizeof key, "t:10.0.0.%d|client-%d", w->id, i % 300);
        retry = 0;
        if (!rate_limit_take(w->small, key, now, &retry) && retry < 1)
            w->bad_retry++;
        if (i % 1000 == 0 && rate_limiter_keys(w->small) > SMALL_KEYS)
            w->bad_retry++;
    }
    return NULL;
}

int main(void)
{
    /* The shared bucket never refills (1e-9/min): exactly SHARED_CAP takes succeed. */
    struct rate_limit_options shared_opts = {1e-9, SHARED_CAP, 0, 0};
    struct rate_limit_options small_opts = {120, 3, SMALL_KEYS, 4};
    struct rate_limiter *shared = rate_limiter_new(&shared_opts);
    struct rate_limiter *small = rate_limiter_new(&small_opts);
    if (shared == NULL || small == NULL) {
        fprintf(stderr, "tsan_rate_limit: rate_limiter_new failed\n");
        return 1;
    }
    struct worker w[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){shared, small, i, 0, 0};
        if (pthread_create(&t[i], NULL, hammer, &w[i]) != 0) {
            fprintf(stderr, "tsan_rate_limit: pthread_create failed\n");
            return 1;
        }
    }
    long total = 0, bad = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        total += w[i].allowed;
        bad += w[i].bad_retry;
    }
    size_t keys = rate_limiter_keys(small);
    rate_limiter_free(shared);
    rate_limiter_free(small);
    int ok = total == SHARED_CAP && bad == 0 && keys <= SMALL_KEYS;
    printf("tsan_rate_limit: %d threads x %d takes: %ld/%d allowed on the shared key, %zu keys "
           "kept (<= %d), %ld bad answers: %s\n",
           THREADS, TAKES, total, SHARED_CAP, keys, SMALL_KEYS, bad, ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
