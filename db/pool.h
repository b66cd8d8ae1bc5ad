/* Fixed-size pool of libpq connections shared by the HTTP worker threads.
 * Thread-safe. A connection is used by one thread at a time (libpq's rule).
 * Never logs: failures come back as enum db_result plus struct db_error. */
#ifndef PVD_DB_POOL_H
#define PVD_DB_POOL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "result.h"

struct db_pool;

/* Every connection is opened with PQconnectdbParams(expand_dbname = 1), so
 * `conninfo` may be a URI or a keyword string. Keywords are layered as follows:
 *  - defaults that conninfo may override: connect_timeout=2, keepalives=1,
 *    keepalives_idle=30, keepalives_interval=10, keepalives_count=3;
 *  - then conninfo itself;
 *  - then, overriding conninfo: application_name (when non-NULL) and `options`.
 *    `options` is conninfo's own `options` value (if any) followed by
 *    "-c statement_timeout=N -c idle_in_transaction_session_timeout=M
 *    -c TimeZone=UTC", so the pool's session settings win over conninfo's and
 *    the PGOPTIONS environment variable is not consulted.
 * A timeout of 0 disables that timeout (PostgreSQL's meaning of 0).
 *
 * Behind a transaction-mode pooler (PgBouncer pool_mode=transaction, the
 * CloudNativePG Pooler), `transaction_pooler` is true: consecutive
 * transactions of one PGconn may run on different server sessions, so no
 * session state may be relied on, and PgBouncer refuses the `options`
 * startup parameter. Then:
 *  - `options` is not sent (conninfo's own `options`, if any, still is);
 *  - after connecting, the pool runs "SET TimeZone TO 'UTC'": TimeZone is a
 *    parameter the server reports, which poolers track per client and replay
 *    on whichever server session runs the client's next transaction;
 *  - the two timeouts are applied per transaction instead: see
 *    db_pool_transaction_settings, which db_run_transaction appends to its
 *    BEGIN (same round trip). Statements run outside a transaction get the
 *    server's defaults for them (set them on the role: README). */
struct db_pool_options {
    const char *conninfo;           /* libpq connection string or URI; borrowed during the call */
    unsigned size;                  /* number of connections, >= 1 */
    unsigned acquire_timeout_ms;    /* bounded wait in db_pool_acquire; 0 = do not wait */
    unsigned statement_timeout_ms;  /* SET statement_timeout at connect */
    unsigned idle_in_tx_timeout_ms; /* SET idle_in_transaction_session_timeout at connect */
    const char *application_name;   /* borrowed during the call; NULL = libpq's default */
    bool transaction_pooler;        /* see above; false: session settings at connect */
};

/* One pooled connection. `pg` is valid between acquire and release. `generation`
 * increases each time the underlying PGconn is replaced, so callers that cache
 * per-connection state (prepared statements) know when to redo it. It is 0
 * before the slot's first connection and 1 after it; it never goes back. */
struct db_conn {
    PGconn *pg;
    uint64_t generation;
    unsigned index;
    bool broken;           /* set by db_conn_mark_broken; the pool reconnects before reuse */
    bool named_statements; /* !transaction_pooler: db_exec_params may prepare (statements.h) */
    struct db_statement_cache *statements; /* owned by the slot; see statements.h */
};

/* Creates the pool. Connections are opened lazily on first acquire, so a
 * database that is down at start does not stop the process; see db_pool_ping.
 * Returns NULL on allocation failure or invalid options (NULL conninfo, size 0).
 * Free with db_pool_free. */
struct db_pool *db_pool_new(const struct db_pool_options *options);

/* Waits at most acquire_timeout_ms for a free connection, (re)connects it when
 * needed and returns DB_OK with *out set. DB_UNAVAILABLE when no connection is
 * free in time (err: empty sqlstate, message starting "pool épuisé") or the
 * server cannot be reached (err: sqlstate "08001", libpq's message); err is
 * filled when non-NULL. Blocks: up to acquire_timeout_ms waiting, plus the
 * connect time (connect_timeout) when a connection has to be opened, which is
 * done outside the pool lock. Free slots that already hold a connection are
 * preferred, so the pool only grows to the concurrency actually seen. */
enum db_result db_pool_acquire(struct db_pool *pool, struct db_conn **out, struct db_error *err);

/* Returns the connection and wakes one waiter. A connection left inside a
 * transaction is a caller bug: it is rolled back (closed if ROLLBACK fails)
 * and counted in db_pool_stats.released_in_transaction, since db/ does not
 * log. A broken connection, or one whose PQstatus is not CONNECTION_OK, is
 * closed and reopened by a later acquire. May block for the ROLLBACK round
 * trip. conn must not be used afterwards. */
void db_pool_release(struct db_pool *pool, struct db_conn *conn);

/* Marks the connection as unusable (e.g. after a lost connection): the pool
 * closes it on release and reconnects on the next acquire. Called by the
 * thread that holds conn. */
void db_conn_mark_broken(struct db_conn *conn);

/* Acquires a connection, runs "select 1" and releases it. DB_OK when the
 * database answers; otherwise what acquire or the query returned. For
 * startup checks and /readyz. */
enum db_result db_pool_ping(struct db_pool *pool, struct db_error *err);

/* Counters for /metrics. Thread-safe snapshot. */
struct db_pool_stats {
    unsigned size;
    unsigned in_use;
    unsigned waiting;
    uint64_t acquire_timeouts;
    uint64_t reconnects;              /* PGconns opened to replace an earlier one of the slot */
    uint64_t connect_failures;        /* failed connection attempts */
    uint64_t released_in_transaction; /* caller bugs caught by db_pool_release */
};
void db_pool_stats(struct db_pool *pool, struct db_pool_stats *out);

/* Statements to run right after BEGIN in each transaction, or NULL when the
 * session already carries the settings (transaction_pooler false). With
 * transaction_pooler: "SET LOCAL statement_timeout = N; SET LOCAL
 * idle_in_transaction_session_timeout = M" (the pool's values). Owned by the
 * pool, valid until db_pool_free. Thread-safe (immutable). */
const char *db_pool_transaction_settings(const struct db_pool *pool);

/* Closes every connection and frees the pool. No connection may be in use.
 * NULL is accepted. */
void db_pool_free(struct db_pool *pool);

/* Maps a PGresult (may be NULL) and its connection (may be NULL) to a db_result.
 * PGRES_COMMAND_OK and PGRES_TUPLES_OK are DB_OK and leave err untouched.
 * Otherwise err (when non-NULL) receives the SQLSTATE and the first 255 bytes
 * of the primary message (cut on a UTF-8 boundary), and:
 *  - connection lost (PQstatus CONNECTION_BAD, SQLSTATE 08xxx, 57P01, 57P02):
 *    conn is marked broken, DB_UNAVAILABLE;
 *  - 57014 (statement timeout, cancel), 57P03, 53xxx: DB_UNAVAILABLE;
 *  - 23505, 23503, 23P01: DB_CONFLICT;
 *  - 40001, 40P01: DB_RETRY;
 *  - anything else, including PGRES_EMPTY_QUERY and COPY states: DB_FAILED.
 * Does not clear res. */
enum db_result db_result_from_pg(struct db_conn *conn, const PGresult *res, struct db_error *err);

/* Fills err (when non-NULL) with sqlstate (NULL = empty) and a printf-style
 * message truncated to fit on a UTF-8 boundary. Shared by db/ modules. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
void db_error_set(struct db_error *err, const char *sqlstate, const char *fmt, ...);

#endif
