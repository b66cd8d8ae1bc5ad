/* The replicas' read cache (see read_cache.h). */
#include "read_cache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

#define BUCKETS_PER_SHARD 1024 /* a power of two */

struct entry {
    struct entry *next_in_bucket;
    struct entry *lru_prev, *lru_next; /* lru_prev: more recently used */
    uint64_t hash;
    uint64_t stamp;
    uint64_t stored_ms;
    size_t key_len, len;
    unsigned char *key;   /* key_len bytes */
    unsigned char *value; /* len bytes */
};

struct shard {
    pthread_mutex_t lock;
    struct entry *buckets[BUCKETS_PER_SHARD];
    struct entry *lru_head, *lru_tail; /* head: most recently used */
    size_t bytes, entries;
};

struct read_cache {
    size_t shard_bytes, max_value;
    unsigned ttl_ms;
    atomic_ullong hits, misses, stores, evictions;
    struct shard shards[READ_CACHE_SHARDS];
};

static uint64_t hash_of(const void *key, size_t len)
{
    const unsigned char *p = key;
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

static size_t entry_bytes(const struct entry *e)
{
    return sizeof *e + e->key_len + e->len;
}

struct read_cache *read_cache_new(size_t max_bytes, unsigned ttl_ms)
{
    if (max_bytes == 0 || ttl_ms == 0)
        return NULL;
    struct read_cache *c = xcalloc(1, sizeof *c);
    c->shard_bytes = max_bytes / READ_CACHE_SHARDS;
    c->max_value = c->shard_bytes / 4;
    c->ttl_ms = ttl_ms;
    for (size_t i = 0; i < READ_CACHE_SHARDS; i++)
        if (pthread_mutex_init(&c->shards[i].lock, NULL) != 0)
            die_bug("pthread_mutex_init failed");
    return c;
}

static void entry_free(struct entry *e)
{
    free(e->key);
    free(e->value);
    free(e);
}

void read_cache_free(struct read_cache *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < READ_CACHE_SHARDS; i++) {
        struct entry *e = c->shards[i].lru_head;
        while (e) {
            struct entry *next = e->lru_next;
            entry_free(e);
            e = next;
        }
        pthread_mutex_destroy(&c->shards[i].lock);
    }
    free(c);
}

static struct shard *shard_of(struct read_cache *c, uint64_t h)
{
    return &c->shards[(h >> 56) % READ_CACHE_SHARDS];
}

static struct entry **slot_of(struct shard *s, uint64_t h, const void *key, size_t key_len)
{
    struct entry **p = &s->buckets[h & (BUCKETS_PER_SHARD - 1)];
    while (*p &&
           !((*p)->hash == h && (*p)->key_len == key_len && memcmp((*p)->key, key, key_len) == 0))
        p = &(*p)->next_in_bucket;
    return p;
}

static void lru_unlink(struct shard *s, struct entry *e)
{
    if (e->lru_prev)
        e->lru_prev->lru_next = e->lru_next;
    else
        s->lru_head = e->lru_next;
    if (e->lru_next)
        e->lru_next->lru_prev = e->lru_prev;
    else
        s->lru_tail = e->lru_prev;
    e->lru_prev = e->lru_next = NULL;
}

static void lru_push_front(struct shard *s, struct entry *e)
{
    e->lru_prev = NULL;
    e->lru_next = s->lru_head;
    if (s->lru_head)
        s->lru_head->lru_prev = e;
    s->lru_head = e;
    if (s->lru_tail == NULL)
        s->lru_tail = e;
}

/* Unlinks *slot's entry from its bucket and the LRU list and frees it. */
static void remove_at(struct shard *s, struct entry **slot)
{
    struct entry *e = *slot;
    *slot = e->next_in_bucket;
    lru_unlink(s, e);
    s->bytes -= entry_bytes(e);
    s->entries--;
    entry_free(e);
}

bool read_cache_get(struct read_cache *c, const void *key, size_t key_len, uint64_t stamp,
                    uint64_t now_ms, read_cache_use_fn use, void *arg)
{
    if (c == NULL || stamp == 0)
        return false;
    uint64_t h = hash_of(key, key_len);
    struct shard *s = shard_of(c, h);
    bool hit = false;
    pthread_mutex_lock(&s->lock);
    struct entry **slot = slot_of(s, h, key, key_len);
    if (*slot) {
        struct entry *e = *slot;
        if (e->stamp == stamp && now_ms >= e->stored_ms && now_ms - e->stored_ms < c->ttl_ms) {
            lru_unlink(s, e);
            lru_push_front(s, e);
            use(arg, e->value, e->len);
            hit = true;
        } else {
            remove_at(s, slot);
        }
    }
    pthread_mutex_unlock(&s->lock);
    atomic_fetch_add_explicit(hit ? &c->hits : &c->misses, 1, memory_order_relaxed);
    return hit;
}

void read_cache_put(struct read_cache *c, const void *key, size_t key_len, uint64_t stamp,
                    uint64_t now_ms, const void *value, size_t len)
{
    if (c == NULL || stamp == 0 || len + key_len > c->max_value)
        return;
    uint64_t h = hash_of(key, key_len);
    struct shard *s = shard_of(c, h);
    struct entry *e = xcalloc(1, sizeof *e);
    e->hash = h;
    e->stamp = stamp;
    e->stored_ms = now_ms;
    e->key_len = key_len;
    e->len = len;
    e->key = xmalloc(key_len ? key_len : 1);
    memcpy(e->key, key, key_len);
    e->value = xmalloc(len ? len : 1);
    memcpy(e->value, value, len);
    size_t need = entry_bytes(e);
    unsigned long long evicted = 0;
    pthread_mutex_lock(&s->lock);
    struct entry **slot = slot_of(s, h, key, key_len);
    if (*slot)
        remove_at(s, slot);
    while (s->lru_tail && s->bytes + need > c->shard_bytes) {
        struct entry *victim = s->lru_tail;
        struct entry **vslot = slot_of(s, victim->hash, victim->key, victim->key_len);
        if (victim->stamp == stamp && now_ms - victim->stored_ms < c->ttl_ms)
            evicted++;
        remove_at(s, vslot);
    }
    slot = slot_of(s, h, key, key_len);
    *slot = e;
    lru_push_front(s, e);
    s->bytes += need;
    s->entries++;
    pthread_mutex_unlock(&s->lock);
    atomic_fetch_add_explicit(&c->stores, 1, memory_order_relaxed);
    if (evicted)
        atomic_fetch_add_explicit(&c->evictions, evicted, memory_order_relaxed);
}

void read_cache_stats(struct read_cache *c, struct read_cache_stats *out)
{
    memset(out, 0, sizeof *out);
    if (c == NULL)
        return;
    out->hits = atomic_load_explicit(&c->hits, memory_order_relaxed);
    out->misses = atomic_load_explicit(&c->misses, memory_order_relaxed);
    out->stores = atomic_load_explicit(&c->stores, memory_order_relaxed);
    out->evictions = atomic_load_explicit(&c->evictions, memory_order_relaxed);
    out->max_bytes = c->shard_bytes * READ_CACHE_SHARDS;
    for (size_t i = 0; i < READ_CACHE_SHARDS; i++) {
        pthread_mutex_lock(&c->shards[i].lock);
        out->bytes += c->shards[i].bytes;
        out->entries += c->shards[i].entries;
        pthread_mutex_unlock(&c->shards[i].lock);
    }
}
