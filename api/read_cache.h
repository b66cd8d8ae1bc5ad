/* The replicas' read cache (issue 12 §4): what a read found in PostgreSQL, kept in
 * this process and served again while the database has not changed.
 *
 * Validity: every entry carries the stamp (db/freshness.h) read before the read that
 * produced it began; a lookup gives the stamp read after the request arrived, and an
 * entry is served only if the two are equal — no writing transaction ended in
 * between, on any replica or outside the service — and it was stored less than
 * ttl_ms ago (what depends on the clock rather than on a write — a due date passing,
 * a client's expiry — is seen within ttl_ms). A stale entry found is freed.
 *
 * Memory: at most max_bytes of keys and values (plus fixed overhead), in
 * READ_CACHE_SHARDS shards with their own lock, each holding max_bytes /
 * READ_CACHE_SHARDS and evicting its least recently used entries; a value larger than
 * a quarter of a shard is not stored.
 *
 * Thread-safety: every function but read_cache_new/read_cache_free may be called from
 * any thread. No clock is read here: now_ms (a monotonic clock in milliseconds) is
 * passed in. A NULL cache (the cache off) is accepted by every function: nothing is
 * stored, every lookup misses. Stamp 0 means "unknown": nothing is served or stored. */
#ifndef PVD_API_READ_CACHE_H
#define PVD_API_READ_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define READ_CACHE_SHARDS 8

struct read_cache;

/* A cache of max_bytes serving entries ttl_ms at most. NULL when max_bytes or ttl_ms
 * is 0 (off). Aborts when memory is exhausted. */
struct read_cache *read_cache_new(size_t max_bytes, unsigned ttl_ms);
void read_cache_free(struct read_cache *c);

/* Called with the stored value while its shard is locked: must be quick, must not
 * call into the cache, must copy what it keeps. */
typedef void (*read_cache_use_fn)(void *arg, const void *value, size_t len);

/* When key (key_len bytes, any bytes) holds an entry of this stamp stored less than
 * ttl_ms before now_ms, calls use(arg, value, len) and returns true (a hit); false
 * otherwise (a miss: use is not called; an entry of another stamp, or expired, is
 * freed). */
bool read_cache_get(struct read_cache *c, const void *key, size_t key_len, uint64_t stamp,
                    uint64_t now_ms, read_cache_use_fn use, void *arg);

/* Stores a copy of value under key with stamp (replacing any entry), unless stamp is
 * 0 or value does not fit (see above). */
void read_cache_put(struct read_cache *c, const void *key, size_t key_len, uint64_t stamp,
                    uint64_t now_ms, const void *value, size_t len);

struct read_cache_stats {
    uint64_t hits, misses, stores, evictions;
    size_t bytes, entries, max_bytes;
};
void read_cache_stats(struct read_cache *c, struct read_cache_stats *out);

#endif
