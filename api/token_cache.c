/* Cache of verified bearer tokens (see token_cache.h). */
#include "token_cache.h"
#include "digest.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    uint8_t key[TOKEN_CACHE_KEY_BYTES];
    bool used;
    enum token_source source;
    time_t expiry;     /* served while now < expiry */
    uint64_t last_use; /* the set's clock at the last hit or store: LRU within the set */
    struct jwt_claims claims;
};

struct set {
    pthread_mutex_t lock;
    uint64_t clock;
    struct entry way[TOKEN_CACHE_WAYS];
};

struct token_cache {
    size_t set_count;
    unsigned max_ttl;
    struct set *sets;
    atomic_uint_fast64_t hits, misses, stores, evictions;
};

static void *alloc_or_abort(size_t count, size_t size)
{
    void *p = calloc(count, size);
    if (p == NULL) {
        fputs("token_cache: out of memory\n", stderr);
        abort();
    }
    return p;
}

struct token_cache *token_cache_new(size_t capacity, unsigned max_ttl_seconds)
{
    if (capacity == 0 || max_ttl_seconds == 0)
        return NULL;
    struct token_cache *c = alloc_or_abort(1, sizeof *c);
    c->set_count = (capacity + TOKEN_CACHE_WAYS - 1) / TOKEN_CACHE_WAYS;
    c->max_ttl = max_ttl_seconds;
    c->sets = alloc_or_abort(c->set_count, sizeof *c->sets);
    for (size_t i = 0; i < c->set_count; i++)
        pthread_mutex_init(&c->sets[i].lock, NULL);
    atomic_init(&c->hits, 0);
    atomic_init(&c->misses, 0);
    atomic_init(&c->stores, 0);
    atomic_init(&c->evictions, 0);
    return c;
}

void token_cache_free(struct token_cache *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->set_count; i++)
        pthread_mutex_destroy(&c->sets[i].lock);
    /* The claims of verified tokens do not outlive the cache. */
    explicit_bzero(c->sets, c->set_count * sizeof *c->sets);
    free(c->sets);
    free(c);
}

bool token_cache_key(const char *token, uint8_t key[TOKEN_CACHE_KEY_BYTES])
{
    unsigned len = 0;
    return EVP_Digest(token, strlen(token), key, &len, digest_sha256(), NULL) == 1 &&
           len == TOKEN_CACHE_KEY_BYTES;
}

/* The set of a key: its first 8 bytes (SHA-256 output is uniform) modulo the set count. */
static struct set *set_of(const struct token_cache *c, const uint8_t key[TOKEN_CACHE_KEY_BYTES])
{
    uint64_t h = 0;
    memcpy(&h, key, sizeof h);
    return &c->sets[h % c->set_count];
}

bool token_cache_get_key(struct token_cache *c, const uint8_t key[TOKEN_CACHE_KEY_BYTES],
                         time_t now, enum token_source *source, struct jwt_claims *out)
{
    if (c == NULL)
        return false;
    struct set *s = set_of(c, key);
    bool found = false;
    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < TOKEN_CACHE_WAYS; i++) {
        struct entry *e = &s->way[i];
        if (e->used && memcmp(e->key, key, TOKEN_CACHE_KEY_BYTES) == 0) {
            if (now < e->expiry) {
                e->last_use = ++s->clock;
                *source = e->source;
                *out = e->claims;
                found = true;
            } else {
                e->used = false; /* expired: the slot is free again */
            }
            break;
        }
    }
    pthread_mutex_unlock(&s->lock);
    atomic_fetch_add_explicit(found ? &c->hits : &c->misses, 1, memory_order_relaxed);
    return found;
}

void token_cache_put_key(struct token_cache *c, const uint8_t key[TOKEN_CACHE_KEY_BYTES],
                         time_t now, enum token_source source, const struct jwt_claims *claims)
{
    if (c == NULL || claims->exp <= now)
        return;
    time_t expiry = now + (time_t)c->max_ttl;
    if (claims->exp < expiry)
        expiry = claims->exp;
    struct set *s = set_of(c, key);
    bool evicted = false;
    pthread_mutex_lock(&s->lock);
    /* The same key, else a free or expired slot, else the least recently used. */
    struct entry *victim = NULL;
    for (int i = 0; i < TOKEN_CACHE_WAYS && victim == NULL; i++)
        if (s->way[i].used && memcmp(s->way[i].key, key, TOKEN_CACHE_KEY_BYTES) == 0)
            victim = &s->way[i];
    for (int i = 0; i < TOKEN_CACHE_WAYS && victim == NULL; i++)
        if (!s->way[i].used || s->way[i].expiry <= now)
            victim = &s->way[i];
    if (victim == NULL) {
        victim = &s->way[0];
        for (int i = 1; i < TOKEN_CACHE_WAYS; i++)
            if (s->way[i].last_use < victim->last_use)
                victim = &s->way[i];
        evicted = true;
    }
    memcpy(victim->key, key, TOKEN_CACHE_KEY_BYTES);
    victim->used = true;
    victim->source = source;
    victim->expiry = expiry;
    victim->last_use = ++s->clock;
    victim->claims = *claims;
    pthread_mutex_unlock(&s->lock);
    atomic_fetch_add_explicit(&c->stores, 1, memory_order_relaxed);
    if (evicted)
        atomic_fetch_add_explicit(&c->evictions, 1, memory_order_relaxed);
}

bool token_cache_get(struct token_cache *c, const char *token, time_t now,
                     enum token_source *source, struct jwt_claims *out)
{
    uint8_t key[TOKEN_CACHE_KEY_BYTES];
    if (c == NULL || token == NULL)
        return false;
    if (!token_cache_key(token, key)) {
        atomic_fetch_add_explicit(&c->misses, 1, memory_order_relaxed);
        return false;
    }
    return token_cache_get_key(c, key, now, source, out);
}

void token_cache_put(struct token_cache *c, const char *token, time_t now, enum token_source source,
                     const struct jwt_claims *claims)
{
    uint8_t key[TOKEN_CACHE_KEY_BYTES];
    if (c != NULL && token != NULL && token_cache_key(token, key))
        token_cache_put_key(c, key, now, source, claims);
}

void token_cache_stats(const struct token_cache *c, struct token_cache_stats *out)
{
    memset(out, 0, sizeof *out);
    if (c == NULL)
        return;
    /* atomic_load takes a pointer to non-const in C11 (DR 459): the counters are only read. */
    struct token_cache *m = (struct token_cache *)c;
    out->hits = atomic_load_explicit(&m->hits, memory_order_relaxed);
    out->misses = atomic_load_explicit(&m->misses, memory_order_relaxed);
    out->stores = atomic_load_explicit(&m->stores, memory_order_relaxed);
    out->evictions = atomic_load_explicit(&m->evictions, memory_order_relaxed);
    out->capacity = c->set_count * TOKEN_CACHE_WAYS;
}

char *token_cache_render_metrics(const struct token_cache *c)
{
    struct token_cache_stats st;
    token_cache_stats(c, &st);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL) {
        fputs("token_cache: out of memory\n", stderr);
        abort();
    }
    fprintf(f,
            "# HELP pvd_auth_token_cache_hits_total Bearer tokens served from the verified-token "
            "cache (signature not checked again).\n"
            "# TYPE pvd_auth_token_cache_hits_total counter\n"
            "pvd_auth_token_cache_hits_total %llu\n"
            "# HELP pvd_auth_token_cache_misses_total Bearer tokens not in the cache (verified).\n"
            "# TYPE pvd_auth_token_cache_misses_total counter\n"
            "pvd_auth_token_cache_misses_total %llu\n"
            "# HELP pvd_auth_token_cache_stores_total Verified tokens stored in the cache.\n"
            "# TYPE pvd_auth_token_cache_stores_total counter\n"
            "pvd_auth_token_cache_stores_total %llu\n"
            "# HELP pvd_auth_token_cache_evictions_total Valid entries evicted (set full).\n"
            "# TYPE pvd_auth_token_cache_evictions_total counter\n"
            "pvd_auth_token_cache_evictions_total %llu\n"
            "# HELP pvd_auth_token_cache_capacity Entries of the cache (0: off).\n"
            "# TYPE pvd_auth_token_cache_capacity gauge\n"
            "pvd_auth_token_cache_capacity %zu\n",
            (unsigned long long)st.hits, (unsigned long long)st.misses,
            (unsigned long long)st.stores, (unsigned long long)st.evictions, st.capacity);
    if (fclose(f) != 0 || text == NULL) {
        fputs("token_cache: out of memory\n", stderr);
        abort();
    }
    return text;
}
