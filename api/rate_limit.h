/* Token-bucket rate limiting per key, in fixed memory, thread-safe.
 *
 * Each key (a principal, or a client id + address for /oauth/token) owns a
 * bucket of at most `burst` tokens that refills continuously at
 * per_minute / 60 tokens per second; a request takes one token or is refused
 * with the wait until one is available. A key seen for the first time starts
 * with a full bucket.
 *
 * Memory is fixed at creation: `slots` buckets split into `shards` shards,
 * each behind its own mutex (a key's shard is chosen by a hash of the key),
 * so threads working on different keys rarely contend. Lookup in a shard is a
 * scan of a compact array of 64-bit hashes, then an exact key comparison.
 *
 * Eviction, when a new key arrives and its shard is full: the bucket holding
 * the most tokens at `now` is replaced, the least recently used among equals.
 * A full bucket is exactly what a new key would get, so evicting it loses
 * nothing; when none is full, the one closest to full goes, and keys that
 * are being limited (empty buckets) are the last to be forgotten. A flood of
 * new keys (e.g. random client ids on /oauth/token) therefore evicts its own
 * barely-used buckets before it resets a limited one; but with more distinct
 * active keys than slots in a shard, some limited buckets can be reset early
 * (the limiter then lets through more than the rate, never fewer).
 *
 * Time is passed in: `now` is monotonic seconds (CLOCK_MONOTONIC in the
 * server, anything increasing in tests). A `now` older than a bucket's last
 * use (threads that read the clock before taking the lock) counts as no
 * elapsed time. Nothing here reads a clock, allocates after creation, or logs. */
#ifndef PVD_API_RATE_LIMIT_H
#define PVD_API_RATE_LIMIT_H

#include <stdbool.h>
#include <stddef.h>

/* Bytes of a key that are kept (NUL included): a longer key is truncated to
 * its first RATE_LIMIT_KEY_MAX - 1 bytes, so keys sharing that prefix share
 * a bucket. Put the most distinguishing part first (e.g. "t:<address>|<client
 * id>"), and bound untrusted parts before building a key. */
#define RATE_LIMIT_KEY_MAX 256

#define RATE_LIMIT_SLOTS_DEFAULT  4096
#define RATE_LIMIT_SHARDS_DEFAULT 16

struct rate_limit_options {
    double per_minute; /* refill rate; 0 disables the limiter (every take succeeds) */
    double burst;      /* bucket capacity, >= 1 (0: same as per_minute) */
    size_t slots;      /* buckets kept (0: RATE_LIMIT_SLOTS_DEFAULT) */
    size_t shards;     /* mutexes (0: RATE_LIMIT_SHARDS_DEFAULT; at most slots) */
};

struct rate_limiter;

/* Allocates the whole limiter (about 300 bytes per slot). NULL when the
 * options are invalid (negative or non-finite rate, burst < 1 once defaulted)
 * or memory is short. */
struct rate_limiter *rate_limiter_new(const struct rate_limit_options *options);
void rate_limiter_free(struct rate_limiter *limiter);

/* Takes one token from key's bucket at time now. True: allowed. False:
 * refused, and *retry_after_seconds (when not NULL) is the whole number of
 * seconds, >= 1, after which a take will succeed if nothing else takes from
 * this bucket meanwhile: the smallest such integer (rounded up). It is not
 * written on success. A NULL key is treated as "". Thread-safe. */
bool rate_limit_take(struct rate_limiter *limiter, const char *key, double now,
                     double *retry_after_seconds);

/* Number of keys currently held (for tests and metrics). Thread-safe. */
size_t rate_limiter_keys(struct rate_limiter *limiter);

#endif
