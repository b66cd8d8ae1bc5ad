/* Freshness of what a replica remembers (issue 12 §4, api/read_cache.h): a stamp of
 * the database's state, read so that a read cache can be strict — never serve what
 * a transaction acknowledged before the request arrived has changed, whichever
 * replica or client wrote it, and without notifications.
 *
 * The stamp is a hash of pg_current_snapshot(): the transactions in progress and the
 * next transaction id. Every transaction that wrote (was given an id) changes it when
 * it ends (it leaves the in-progress list, or the next id moves past it), and ids are
 * never reused, so two equal stamps read at t1 < t2 mean that no writing transaction
 * ended between t1 and t2: whatever was read from the database after t1 is still what
 * it would read at t2. Transactions of every database of the cluster count (a write
 * elsewhere only costs a cache miss). Read-only transactions leave it alone.
 *
 * Reads are shared: db_freshness_stamp waits for a reading that BEGAN after the call;
 * when one is already under way, callers wait for the next, started by one of them,
 * so concurrent requests share one round trip (one in flight at a time, on a session
 * of its own; a plain statement: works through a transaction-mode pooler).
 *
 * Thread-safe; never logs; the connection string is a secret (copied, never printed). */
#ifndef PVD_DB_FRESHNESS_H
#define PVD_DB_FRESHNESS_H

#include <stdbool.h>
#include <stdint.h>

struct db_freshness;

/* A reader on conninfo (URI or keywords; connect_timeout 2 s unless conninfo sets
 * it), connected at its first use; a reading not answered within timeout_ms once
 * connected fails (its session is closed). max_age_ms 0: strict (below); otherwise
 * bounded staleness: a call may be answered with the last reading's stamp when that
 * reading began at most max_age_ms before the call and after the last
 * db_freshness_written. NULL when conninfo is NULL or memory is short. Free with
 * db_freshness_free (no call may be under way). */
struct db_freshness *db_freshness_new(const char *conninfo, const char *application_name,
                                      unsigned timeout_ms, unsigned max_age_ms);
void db_freshness_free(struct db_freshness *f);

/* Blocks until a reading of the stamp that began after this call has ended (or, with a
 * max_age_ms, answers at once with a recent enough one, see db_freshness_new): true with
 * *stamp (never 0). False when that reading failed (server down, timeout): the caller
 * must not use what it remembers; the session is opened again at the next reading.
 * A NULL f gives false. */
bool db_freshness_stamp(struct db_freshness *f, uint64_t *stamp);

/* This process made a write that is about to be acknowledged (call it before the
 * answer leaves): with a max_age_ms, no later call is answered with a reading that
 * began before this call, so a client reads its own writes on this replica. No-op
 * on a strict reader; a NULL f is ignored. Thread-safe. */
void db_freshness_written(struct db_freshness *f);

struct db_freshness_stats {
    uint64_t readings; /* round trips made */
    uint64_t failures; /* readings that failed */
    uint64_t waits;    /* db_freshness_stamp calls */
    uint64_t reused;   /* calls answered with a recent reading (max_age_ms) */
};
void db_freshness_stats(struct db_freshness *f, struct db_freshness_stats *out);

#endif
