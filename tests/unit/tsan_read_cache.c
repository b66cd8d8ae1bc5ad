/* Standalone thread test of api/read_cache, built with -fsanitize=thread (criterion cannot
 * run under ThreadSanitizer, see tsan_rate_limit.c). Readers share keys and a stamp that a
 * writer moves without pause (the database changing); each stores values naming their key
 * and stamp, and every hit must return its own key's value stored under the stamp asked
 * for. Exit 0 when every hit does; TSan makes a race fatal (TSAN_OPTIONS=halt_on_error=1). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "api/read_cache.h"

#define THREADS 6
#define ROUNDS  20000

static struct read_cache *cache;
static atomic_int stop;
static _Atomic unsigned long long current = 1; /* the database's stamp */

struct seen {
    char key[32];
    char value[64];
    unsigned long long stamp;
    int ok;
};

static void check(void *arg, const void *value, size_t len)
{
    struct seen *s = arg;
    size_t n = len < sizeof s->value - 1 ? len : sizeof s->value - 1;
    memcpy(s->value, value, n);
    s->value[n] = '\0';
    char want[64];
    snprintf(want, sizeof want, "%s@%llu", s->key, s->stamp);
    s->ok = strcmp(s->value, want) == 0;
}

static void *reader(void *arg)
{
    long id = (long)arg, wrong = 0;
    for (int i = 0; i < ROUNDS; i++) {
        struct seen s = {{0}, {0}, atomic_load(&current), 0};
        uint64_t stamp = s.stamp;
        snprintf(s.key, sizeof s.key, "k%ld-%d", id % 3, i % 50);
        if (read_cache_get(cache, s.key, strlen(s.key), stamp, (uint64_t)i, check, &s)) {
            wrong += !s.ok;
            continue;
        }
        char value[64];
        int n = snprintf(value, sizeof value, "%s@%llu", s.key, (unsigned long long)stamp);
        read_cache_put(cache, s.key, strlen(s.key), stamp, (uint64_t)i, value, (size_t)n);
    }
    return (void *)wrong;
}

static void *writer(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        atomic_fetch_add(&current, 1);
        struct read_cache_stats st;
        read_cache_stats(cache, &st);
    }
    return NULL;
}

int main(void)
{
    cache = read_cache_new(64 * 1024, 1000000);
    pthread_t r[THREADS], w;
    pthread_create(&w, NULL, writer, NULL);
    for (long i = 0; i < THREADS; i++)
        pthread_create(&r[i], NULL, reader, (void *)i);
    long wrong = 0;
    for (int i = 0; i < THREADS; i++) {
        void *v;
        pthread_join(r[i], &v);
        wrong += (long)v;
    }
    atomic_store(&stop, 1);
    pthread_join(w, NULL);
    struct read_cache_stats st;
    read_cache_stats(cache, &st);
    read_cache_free(cache);
    printf("read cache: %llu hits, %llu stores, %llu stamps, %ld wrong\n",
           (unsigned long long)st.hits, (unsigned long long)st.stores,
           (unsigned long long)atomic_load(&current), wrong);
    return wrong == 0 ? 0 : 1;
}
