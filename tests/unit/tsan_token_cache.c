/* Standalone thread test of api/token_cache, built with -fsanitize=thread (criterion cannot
 * run under ThreadSanitizer, see tsan_rate_limit.c). Threads share one small cache: each
 * stores and reads tokens of its own (constant eviction across sets) and one shared token;
 * every hit must return the claims stored for that very token. Exit 0 when they all do;
 * TSan makes a race fatal (TSAN_OPTIONS=halt_on_error=1). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "api/token_cache.h"

#define THREADS 8
#define ROUNDS  20000

struct worker {
    struct token_cache *cache;
    int id;
    long hits;
    long wrong;
};

static void *hammer(void *arg)
{
    struct worker *w = arg;
    char token[64];
    struct jwt_claims c, got;
    enum token_source src;
    for (int i = 0; i < ROUNDS; i++) {
        snprintf(token, sizeof token, "t-%d-%d", w->id, i % 97);
        memset(&c, 0, sizeof c);
        snprintf(c.sub, sizeof c.sub, "%s", token);
        c.exp = 1000000;
        token_cache_put(w->cache, token, 1000 + i / 1000, TOKEN_SOURCE_USER, &c);
        if (token_cache_get(w->cache, token, 1000 + i / 1000, &src, &got)) {
            w->hits++;
            if (strcmp(got.sub, token) != 0)
                w->wrong++;
        }
        if (token_cache_get(w->cache, "shared", 1000, &src, &got) &&
            (strcmp(got.sub, "shared") != 0 || src != TOKEN_SOURCE_CLIENT))
            w->wrong++;
    }
    return NULL;
}

int main(void)
{
    struct token_cache *cache = token_cache_new(64, 300);
    struct jwt_claims shared;
    memset(&shared, 0, sizeof shared);
    snprintf(shared.sub, sizeof shared.sub, "shared");
    shared.exp = 1000000;
    token_cache_put(cache, "shared", 1000, TOKEN_SOURCE_CLIENT, &shared);
    struct worker w[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){cache, i, 0, 0};
        if (pthread_create(&t[i], NULL, hammer, &w[i]) != 0) {
            fprintf(stderr, "tsan_token_cache: pthread_create failed\n");
            return 1;
        }
    }
    long hits = 0, wrong = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        hits += w[i].hits;
        wrong += w[i].wrong;
    }
    struct token_cache_stats st;
    token_cache_stats(cache, &st);
    token_cache_free(cache);
    int ok = wrong == 0 && hits > 0 && st.stores == (unsigned long long)THREADS * ROUNDS + 1;
    printf("tsan_token_cache: %d threads x %d rounds: %ld hits of own tokens, %llu evictions, "
           "%ld wrong answers: %s\n",
           THREADS, ROUNDS, hits, (unsigned long long)st.evictions, wrong, ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
