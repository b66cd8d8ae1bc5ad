/* Statement execution for every repository: the one place db/ sends a
 * parameterised statement to PostgreSQL.
 *
 * On a pool opened without a transaction-mode pooler, each distinct SQL text
 * becomes a named prepared statement of the connection on its first use
 * (Parse once, then only Bind/Execute): PostgreSQL keeps its parse tree and,
 * after five executions, a generic plan when that plan is not costlier than
 * the custom ones (plan_cache_mode = auto). Behind a transaction-mode pooler
 * (PgBouncer 1.18 of Debian 12 does not track named statements) statements
 * stay unnamed, exactly as PQexecParams sends them.
 *
 * The cache belongs to the pooled connection: it is forgotten when the pool
 * replaces the PGconn (db_conn.generation moves) and bounded to
 * DB_STATEMENT_CACHE_MAX texts per connection; texts past the bound run
 * unnamed. Not thread-safe, like the connection it belongs to: only the
 * thread that holds the connection calls these functions. */
#ifndef PVD_DB_STATEMENTS_H
#define PVD_DB_STATEMENTS_H

#include <libpq-fe.h>

#include "pool.h"

#define DB_STATEMENT_CACHE_MAX 256

/* As PQexecParams(conn->pg, sql, nparams, NULL, params, NULL, NULL, 0): text
 * parameters, text results. Returns the statement's PGresult, or the failed
 * Parse's when preparing failed (then nothing is cached and the error is the
 * statement's: a syntax error, an aborted transaction, a lost connection).
 * NULL only when libpq could not allocate a result (db_result_from_pg maps
 * NULL to DB_FAILED). The caller owns the result (PQclear). A statement that
 * the server no longer knows (SQLSTATE 26000: DISCARD ALL, DEALLOCATE) or
 * whose cached plan changed result type (0A000, a migration altered a table
 * it reads) is forgotten, so the next call prepares it again; this call's
 * error is returned as is (inside a transaction, nothing can be retried). */
PGresult *db_exec_params(struct db_conn *conn, const char *sql, int nparams,
                         const char *const *params);

/* Frees the cache of conn (the pool calls it when it closes the slot for
 * good). The statements themselves die with their PGconn. NULL is accepted. */
void db_statements_free(struct db_conn *conn);

#endif
