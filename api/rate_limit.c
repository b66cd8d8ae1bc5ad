/* Sharded token buckets in fixed memory (see rate_limit.h). */
#define _POSIX_C_SOURCE 200809L
#include "rate_limit.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Tolerance on token counts: sums of fractional refills may land a hair
 * below a whole token that is due. */
#define TOKEN_EPSILON 1e-9

struct slot {
    double tokens; /* as of `last` */
    double last;   /* time of the last take: refill reference and LRU order */
    size_t len;
    char key[RATE_LIMIT_KEY_MAX];
};

/* One lock per shard; aligned so that two shards' locks never share a cache line. */
struct shard {
    _Alignas(64) pthread_mutex_t lock;
    size_t used;       /* slots [0, used) hold keys */
    uint64_t *hash;    /* [per_shard], compact for the lookup scan */
    struct slot *slot; /* [per_shard] */
};

struct rate_limiter {
    double rate;  /* tokens per second */
    double burst; /* capacity */
    bool disabled;
    size_t shard_count;
    size_t per_shard;
    struct shard *shards;
    uint64_t *hashes;
    struct slot *slots;
};

/* FNV-1a, 64 bits. */
static uint64_t hash_key(const char *key, size_t len)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)key[i];
        h *= 1099511628211ull;
    }
    return h;
}

struct rate_limiter *rate_limiter_new(const struct rate_limit_options *options)
{
    double per_minute = options->per_minute;
    double burst = options->burst > 0 ? options->burst : per_minute;
    if (!isfinite(per_minute) || per_minute < 0 || !isfinite(burst))
        return NULL;
    bool disabled = per_minute == 0;
    if (!disabled && burst < 1)
        return NULL;
    size_t slots = options->slots ? options->slots : RATE_LIMIT_SLOTS_DEFAULT;
    size_t shard_count = options->shards ? options->shards : RATE_LIMIT_SHARDS_DEFAULT;
    if (shard_count > slots)
        shard_count = slots;
    size_t per_shard = (slots + shard_count - 1) / shard_count;

    struct rate_limiter *l = calloc(1, sizeof *l);
    if (l == NULL)
        return NULL;
    l->rate = per_minute / 60.0;
    l->burst = burst;
    l->disabled = disabled;
    l->shard_count = shard_count;
    l->per_shard = per_shard;
    l->shards = aligned_alloc(_Alignof(struct shard), shard_count * sizeof *l->shards);
    l->hashes = calloc(shard_count * per_shard, sizeof *l->hashes);
    l->slots = calloc(shard_count * per_shard, sizeof *l->slots);
    if (l->shards == NULL || l->hashes == NULL || l->slots == NULL) {
        free(l->shards);
        free(l->hashes);
        free(l->slots);
        free(l);
        return NULL;
    }
    memset(l->shards, 0, shard_count * sizeof *l->shards);
    for (size_t i = 0; i < shard_count; i++) {
        pthread_mutex_init(&l->shards[i].lock, NULL);
        l->shards[i].hash = l->hashes + i * per_shard;
        l->shards[i].slot = l->slots + i * per_shard;
    }
    return l;
}

void rate_limiter_free(struct rate_limiter *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->shard_count; i++)
        pthread_mutex_destroy(&l->shards[i].lock);
    free(l->shards);
    free(l->hashes);
    free(l->slots);
    free(l);
}

/* Tokens of s at now (refilled, capped at the burst), without changing s. */
static double tokens_at(const struct rate_limiter *l, const struct slot *s, double now)
{
    double elapsed = now > s->last ? now - s->last : 0.0;
    double t = s->tokens + elapsed * l->rate;
    return t < l->burst ? t : l->burst;
}

/* The slot to reuse in a full shard: most tokens at now, then least recently used. */
static size_t victim(const struct rate_limiter *l, const struct shard *sh, double now)
{
    size_t best = 0;
    double best_tokens = tokens_at(l, &sh->slot[0], now);
    for (size_t i = 1; i < sh->used; i++) {
        double t = tokens_at(l, &sh->slot[i], now);
        if (t > best_tokens || (t == best_tokens && sh->slot[i].last < sh->slot[best].last)) {
            best = i;
            best_tokens = t;
        }
    }
    return best;
}

/* x rounded up to a whole number, for x >= 0 (no libm: the unit tests link none). */
static double round_up(double x)
{
    if (!(x < 4503599627370496.0)) /* 2^52: already whole (or NaN) */
        return x;
    double t = (double)(uint64_t)x;
    return t < x ? t + 1 : t;
}

/* Smallest whole number of seconds n >= 1 after which `tokens` has refilled to one. */
static double whole_seconds_until_token(double tokens, double rate)
{
    double n = round_up((1.0 - tokens) / rate);
    if (n < 1)
        n = 1;
    while (n > 1 && tokens + (n - 1) * rate >= 1.0 - TOKEN_EPSILON)
        n--;
    while (tokens + n * rate < 1.0 - TOKEN_EPSILON)
        n++;
    return n;
}

bool rate_limit_take(struct rate_limiter *l, const char *key, double now,
                     double *retry_after_seconds)
{
    if (l->disabled)
        return true;
    if (key == NULL)
        key = "";
    size_t len = strnlen(key, RATE_LIMIT_KEY_MAX - 1);
    uint64_t h = hash_key(key, len);
    struct shard *sh = &l->shards[(h ^ (h >> 32)) % l->shard_count];

    pthread_mutex_lock(&sh->lock);
    size_t i = 0;
    while (i < sh->used &&
           (sh->hash[i] != h || sh->slot[i].len != len || memcmp(sh->slot[i].key, key, len) != 0))
        i++;
    if (i == sh->used) { /* new key: a free slot, else evict */
        if (sh->used < l->per_shard)
            sh->used++;
        else
            i = victim(l, sh, now);
        struct slot *s = &sh->slot[i];
        sh->hash[i] = h;
        s->len = len;
        memcpy(s->key, key, len);
        s->key[len] = '\0';
        s->tokens = l->burst;
        s->last = now;
    }
    struct slot *s = &sh->slot[i];
    double tokens = tokens_at(l, s, now);
    if (now > s->last)
        s->last = now;
    bool allowed = tokens >= 1.0 - TOKEN_EPSILON;
    if (allowed) {
        tokens -= 1.0;
        s->tokens = tokens > 0 ? tokens : 0;
    } else {
        s->tokens = tokens;
        if (retry_after_seconds)
            *retry_after_seconds = whole_seconds_until_token(tokens, l->rate);
    }
    pthread_mutex_unlock(&sh->lock);
    return allowed;
}

size_t rate_limiter_keys(struct rate_limiter *l)
{
    size_t n = 0;
    for (size_t i = 0; i < l->shard_count; i++) {
        pthread_mutex_lock(&l->shards[i].lock);
        n += l->shards[i].used;
        pthread_mutex_unlock(&l->shards[i].lock);
    }
    return n;
}
