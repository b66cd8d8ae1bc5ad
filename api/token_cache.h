/* Cache of verified bearer tokens (issue 12 §4): SHA-256 of the token → the claims its
 * verification gave and the verifier that accepted it, so that a token seen again skips the
 * signature check (an ES256/RS256 verification costs far more than the rest of a read).
 *
 * What is cached is only "this exact token was verified and says who it is": the caller's
 * authority (a machine client's row, a person's habilitation) is not taken from the token. It
 * is read from the database, or on the routes of the read cache from that cache, which is
 * strict (api/cached_reads.h): a revoked client or habilitation is refused at once, cached
 * token or not.
 *
 * - Key: the full 32-byte SHA-256 of the token, compared in full: two tokens share an entry
 *   only if they have the same SHA-256. The token itself is never stored.
 * - Only successes are stored (token_cache_put is called after JWT_OK); a refused token is
 *   verified again each time it is presented.
 * - An entry is served while now < min(exp, stored_at + max_ttl_seconds): never after the
 *   token's own exp (the verifier's leeway is not extended to cached entries), and at most
 *   max_ttl_seconds after it was verified, which bounds how long a key removed from the JWKS
 *   keeps admitting the tokens it signed. nbf needs no check: a token is stored only once
 *   verified, so its nbf (minus leeway) is already past.
 * - Memory is fixed at creation: capacity entries in sets of TOKEN_CACHE_WAYS, a token's set
 *   chosen by its hash; each set has its own mutex (threads on different sets do not
 *   contend). Eviction when a set is full: an expired entry first, else the least recently
 *   used one of the set (LRU per set).
 * - Thread-safety: every function but token_cache_new/token_cache_free may be called from any
 *   thread concurrently. Nothing here logs or reads a clock: `now` is passed in (seconds since
 *   the epoch, as jwt_verify's).
 * - NULL cache (capacity 0: AUTH_TOKEN_CACHE_SIZE=0, the cache is off): lookups miss without
 *   counting, puts do nothing, stats are zero. */
#ifndef PVD_API_TOKEN_CACHE_H
#define PVD_API_TOKEN_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "jwt.h"

#define TOKEN_CACHE_WAYS      8
#define TOKEN_CACHE_KEY_BYTES 32

/* Which verifier accepted the token: the provider's (a person) or pvd-api's own (a client). */
enum token_source { TOKEN_SOURCE_USER, TOKEN_SOURCE_CLIENT };

struct token_cache;

/* A cache of at least `capacity` entries (rounded up to a multiple of TOKEN_CACHE_WAYS), each
 * served at most max_ttl_seconds (>= 1) after its verification. NULL when capacity is 0 (no
 * cache) or max_ttl_seconds is 0; aborts when memory is exhausted. Free with
 * token_cache_free. */
struct token_cache *token_cache_new(size_t capacity, unsigned max_ttl_seconds);
void token_cache_free(struct token_cache *c);

/* True when `token` (NUL-terminated) was stored and is still valid at now: *source and *out
 * receive what token_cache_put stored. False otherwise (out untouched). Counts a hit or a
 * miss. */
bool token_cache_get(struct token_cache *c, const char *token, time_t now,
                     enum token_source *source, struct jwt_claims *out);

/* Stores a token that `source`'s verifier has just accepted at now with these claims. Does
 * nothing when claims->exp <= now (nothing left to serve) or on a NULL cache. Replaces an
 * entry of the same token. */
void token_cache_put(struct token_cache *c, const char *token, time_t now, enum token_source source,
                     const struct jwt_claims *claims);

/* The same two on a key already hashed (tests use them to build keys that share a set). */
bool token_cache_get_key(struct token_cache *c, const uint8_t key[TOKEN_CACHE_KEY_BYTES],
                         time_t now, enum token_source *source, struct jwt_claims *out);
void token_cache_put_key(struct token_cache *c, const uint8_t key[TOKEN_CACHE_KEY_BYTES],
                         time_t now, enum token_source source, const struct jwt_claims *claims);

/* SHA-256 of token into key. False only when OpenSSL fails (then nothing is cached). */
bool token_cache_key(const char *token, uint8_t key[TOKEN_CACHE_KEY_BYTES]);

struct token_cache_stats {
    uint64_t hits;      /* lookups served from the cache */
    uint64_t misses;    /* lookups not found or expired */
    uint64_t stores;    /* entries written by token_cache_put */
    uint64_t evictions; /* valid entries replaced because their set was full */
    size_t capacity;    /* entries */
};
/* Counters since creation (each read atomically; the four together are not a snapshot). */
void token_cache_stats(const struct token_cache *c, struct token_cache_stats *out);

/* The counters as Prometheus exposition text (pvd_auth_token_cache_hits_total,
 * _misses_total, _stores_total, _evictions_total, pvd_auth_token_cache_capacity), malloc'd:
 * the caller frees it. Rendered for a NULL cache too (zeros). Aborts on OOM. */
char *token_cache_render_metrics(const struct token_cache *c);

#endif
