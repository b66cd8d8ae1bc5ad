/* Runs a unit of work in one transaction, retrying the whole unit on
 * serialization failures and deadlocks (SQLSTATE 40001, 40P01). */
#ifndef PVD_DB_TRANSACTION_H
#define PVD_DB_TRANSACTION_H

#include "pool.h"

enum db_isolation {
    DB_ISOLATION_READ_COMMITTED,
    DB_ISOLATION_REPEATABLE_READ,
    DB_ISOLATION_SERIALIZABLE,
};

/* work() may run several times: it must touch only the connection and its own
 * ctx, and reset any output it fills at its start. It returns DB_OK to commit;
 * any other value rolls back. DB_RETRY from work() (or from COMMIT) retries, up
 * to DB_TRANSACTION_MAX_ATTEMPTS, then is returned as DB_UNAVAILABLE. A
 * connection lost during COMMIT gives DB_UNAVAILABLE and is never retried.
 *
 * Details:
 *  - the runner acquires one pooled connection, uses it for every attempt and
 *    always releases it; an acquire failure is returned as is (DB_UNAVAILABLE);
 *  - when BEGIN finds the pooled connection dead (server restarted, backend
 *    killed while idle), the connection is replaced once and BEGIN re-run:
 *    nothing has been sent yet, so this is safe;
 *  - between attempts it sleeps (1..5 ms) x attempt number, jittered with a
 *    per-call seed;
 *  - work() returning DB_OK while the transaction is aborted (it ignored a
 *    failed statement) or already ended gives DB_FAILED: PostgreSQL would
 *    answer COMMIT with a silent ROLLBACK;
 *  - err, when non-NULL, receives the details of the final failure (for an
 *    exhausted retry, those of the last 40001/40P01); work() always gets a
 *    non-NULL err.
 * Blocks for the acquire, the round trips and the backoff. Thread-safe. */
#define DB_TRANSACTION_MAX_ATTEMPTS 5
typedef enum db_result (*db_work_fn)(struct db_conn *conn, void *ctx, struct db_error *err);
enum db_result db_run_transaction(struct db_pool *pool, enum db_isolation isolation,
                                  db_work_fn work, void *ctx, struct db_error *err);

/* A transaction left open by db_run_transaction_held, for its caller to end
 * with db_held_commit or db_held_abort (exactly one of them, always). Zero-
 * initialise it before use; conn is non-NULL only while it is open. */
struct db_held_tx {
    struct db_pool *pool;
    struct db_conn *conn;
};

/* As db_run_transaction (same retries and results), except that when work()
 * succeeds the transaction is not committed: it is left open in *held (the
 * pooled connection stays acquired) and DB_OK is returned. On any other
 * result nothing is held. For a caller that must write more in the same
 * transaction after work() (the stored response of an Idempotency-Key). */
enum db_result db_run_transaction_held(struct db_pool *pool, enum db_isolation isolation,
                                       db_work_fn work, void *ctx, struct db_held_tx *held,
                                       struct db_error *err);

/* COMMITs a held transaction and releases its connection (held->conn is
 * NULL afterwards, whatever the result). DB_OK: committed. DB_RETRY: a
 * serialization failure at COMMIT (SERIALIZABLE): nothing was committed and
 * the caller may run its whole unit again. DB_UNAVAILABLE: connection lost
 * during COMMIT, outcome unknown. DB_FAILED: the transaction was aborted by a
 * statement error the caller ignored. */
enum db_result db_held_commit(struct db_held_tx *held, struct db_error *err);

/* Rolls a held transaction back and releases its connection; no-op when
 * nothing is held (held NULL or held->conn NULL). */
void db_held_abort(struct db_held_tx *held);

/* Counter of retried attempts since start, for /metrics. Thread-safe. */
unsigned long db_transaction_retries(void);

#endif
