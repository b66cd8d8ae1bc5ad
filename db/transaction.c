/* Transaction runner: BEGIN, work(), COMMIT, retrying the whole unit on
 * 40001/40P01. Knows nothing about HTTP and never logs. */
#include "transaction.h"

#include <assert.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Zero-initialised static atomics are valid (C11 7.17.2.1). */
static atomic_ulong retries;

unsigned long db_transaction_retries(void)
{
    return atomic_load(&retries);
}

static const char *begin_sql(enum db_isolation isolation)
{
    switch (isolation) {
    case DB_ISOLATION_REPEATABLE_READ:
        return "BEGIN ISOLATION LEVEL REPEATABLE READ";
    case DB_ISOLATION_SERIALIZABLE:
        return "BEGIN ISOLATION LEVEL SERIALIZABLE";
    case DB_ISOLATION_READ_COMMITTED:
        break;
    }
    assert(isolation == DB_ISOLATION_READ_COMMITTED);
    return "BEGIN ISOLATION LEVEL READ COMMITTED";
}

/* PQexec is used for the constant BEGIN/COMMIT/ROLLBACK strings only (and
 * BEGIN's constant settings suffix). */
static enum db_result exec_command(struct db_conn *conn, const char *sql, struct db_error *err)
{
    PGresult *res = PQexec(conn->pg, sql);
    enum db_result result = db_result_from_pg(conn, res, err);

    PQclear(res);
    return result;
}

static void rollback(struct db_conn *conn)
{
    struct db_error ignored;

    if (conn->broken || PQtransactionStatus(conn->pg) == PQTRANS_IDLE)
        return;
    if (exec_command(conn, "ROLLBACK", &ignored) != DB_OK)
        db_conn_mark_broken(conn);
}

/* BEGIN, followed in the same round trip by the pool's per-transaction
 * settings when it has some (behind a transaction pooler). */
static enum db_result exec_begin(struct db_pool *pool, struct db_conn *conn,
                                 enum db_isolation isolation, struct db_error *err)
{
    const char *settings = db_pool_transaction_settings(pool);
    char sql[256];
    int n;

    if (!settings)
        return exec_command(conn, begin_sql(isolation), err);
    n = snprintf(sql, sizeof sql, "%s; %s", begin_sql(isolation), settings);
    if (n < 0 || (size_t)n >= sizeof sql) {
        db_error_set(err, NULL, "BEGIN with settings longer than %zu bytes", sizeof sql);
        return DB_FAILED;
    }
    return exec_command(conn, sql, err);
}

/* BEGIN on *conn. A pooled connection found dead here (server restart,
 * backend killed while idle) is replaced once per call: nothing of the unit
 * has run on it, so going on with a fresh connection is safe. */
static enum db_result begin(struct db_pool *pool, struct db_conn **conn,
                            enum db_isolation isolation, bool *replaced, struct db_error *err)
{
    enum db_result result = exec_begin(pool, *conn, isolation, err);

    if (result == DB_UNAVAILABLE && (*conn)->broken && !*replaced) {
        *replaced = true;
        db_pool_release(pool, *conn);
        *conn = NULL;
        result = db_pool_acquire(pool, conn, err);
        if (result == DB_OK)
            result = exec_begin(pool, *conn, isolation, err);
    }
    return result;
}

static enum db_result commit(struct db_conn *conn, struct db_error *err)
{
    PGresult *res = NULL;
    enum db_result result;

    /* COMMIT of an aborted transaction "succeeds" with a ROLLBACK tag:
     * refuse it before sending, so a swallowed error is not a silent loss. */
    switch (PQtransactionStatus(conn->pg)) {
    case PQTRANS_INTRANS:
        break;
    case PQTRANS_INERROR:
        db_error_set(err, "25P02",
                     "work() returned DB_OK but a statement failed: the transaction is aborted");
        result = DB_FAILED;
        goto out;
    case PQTRANS_UNKNOWN:
        db_conn_mark_broken(conn);
        db_error_set(err, "08006", "connection lost before COMMIT");
        result = DB_UNAVAILABLE;
        goto out;
    default:
        db_error_set(err, NULL, "work() returned DB_OK but the transaction is no longer open");
        result = DB_FAILED;
        goto out;
    }

    res = PQexec(conn->pg, "COMMIT");
    result = db_result_from_pg(conn, res, err);
    if (result == DB_OK && strcmp(PQcmdStatus(res), "COMMIT") != 0) {
        db_error_set(err, NULL, "COMMIT answered %s", PQcmdStatus(res));
        result = DB_FAILED;
    }
    /* Lost during COMMIT: the outcome is unknown, so it must not be retried. */
    if (result != DB_OK && conn->broken)
        result = DB_UNAVAILABLE;
out:
    PQclear(res);
    return result;
}

static unsigned backoff_seed(const void *stack_address)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (unsigned)now.tv_nsec ^ (unsigned)now.tv_sec ^ (unsigned)(uintptr_t)stack_address;
}

/* Sleeps (1..5 ms) x attempt. */
static void backoff(unsigned attempt, unsigned *seed)
{
    long ms = (long)(1 + rand_r(seed) % 5) * (long)attempt;
    struct timespec left = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

    while (nanosleep(&left, &left) == -1 && errno == EINTR)
        continue;
}

/* The runner of db_run_transaction and db_run_transaction_held: with held
 * non-NULL, a successful work() is not committed but left open in *held. */
static enum db_result run(struct db_pool *pool, enum db_isolation isolation, db_work_fn work,
                          void *ctx, struct db_held_tx *held, struct db_error *err)
{
    struct db_error last = {{0}, {0}};
    struct db_conn *conn = NULL;
    enum db_result result;
    bool replaced = false;
    unsigned attempt;
    unsigned seed = backoff_seed(&last);

    assert(pool && work);
    result = db_pool_acquire(pool, &conn, &last);
    if (result != DB_OK)
        goto out;

    for (attempt = 1;; attempt++) {
        result = begin(pool, &conn, isolation, &replaced, &last);
        if (result != DB_OK)
            goto out;
        result = work(conn, ctx, &last);
        if (result == DB_OK && held) {
            if (PQtransactionStatus(conn->pg) != PQTRANS_INTRANS) {
                db_error_set(&last, NULL, "work() returned DB_OK but the transaction is not open");
                result = DB_FAILED;
                goto out;
            }
            held->pool = pool;
            held->conn = conn;
            conn = NULL;
            goto out;
        }
        if (result == DB_OK)
            result = commit(conn, &last);
        else
            rollback(conn);
        if (result != DB_RETRY)
            goto out;
        if (attempt == DB_TRANSACTION_MAX_ATTEMPTS) {
            result = DB_UNAVAILABLE;
            goto out;
        }
        atomic_fetch_add(&retries, 1);
        backoff(attempt, &seed);
    }

out:
    if (conn) {
        rollback(conn); /* no-op unless commit() refused an aborted or open transaction */
        db_pool_release(pool, conn);
    }
    if (result != DB_OK && err)
        *err = last;
    return result;
}

enum db_result db_run_transaction(struct db_pool *pool, enum db_isolation isolation,
                                  db_work_fn work, void *ctx, struct db_error *err)
{
    return run(pool, isolation, work, ctx, NULL, err);
}

enum db_result db_run_transaction_held(struct db_pool *pool, enum db_isolation isolation,
                                       db_work_fn work, void *ctx, struct db_held_tx *held,
                                       struct db_error *err)
{
    assert(held && held->conn == NULL);
    return run(pool, isolation, work, ctx, held, err);
}

enum db_result db_held_commit(struct db_held_tx *held, struct db_error *err)
{
    struct db_error last = {{0}, {0}};
    enum db_result result;

    assert(held && held->conn);
    result = commit(held->conn, &last);
    if (result == DB_RETRY)
        atomic_fetch_add(&retries, 1);
    rollback(held->conn); /* no-op unless commit() refused the transaction */
    db_pool_release(held->pool, held->conn);
    held->conn = NULL;
    if (result != DB_OK && err)
        *err = last;
    return result;
}

void db_held_abort(struct db_held_tx *held)
{
    if (held == NULL || held->conn == NULL)
        return;
    rollback(held->conn);
    db_pool_release(held->pool, held->conn);
    held->conn = NULL;
}
