/* Small helpers shared by the repositories: owned string copies, a
 * growable byte buffer for COPY data, statement execution with its result
 * mapped (db_result_from_pg) and keyset pages. */
#ifndef PVD_DB_PGUTIL_H
#define PVD_DB_PGUTIL_H

#include <stdbool.h>
#include <libpq-fe.h>
#include <stddef.h>

#include "pool.h"

/* Owned copies (free()); NULL on allocation failure. */
char *pg_strdup(const char *s);
char *pg_strndup(const char *s, size_t n);

struct pg_buf {
    char *data;
    size_t len;
    size_t cap;
    bool oom; /* an append failed: the content is incomplete */
};
#define PG_BUF_INIT                                                                                \
    {                                                                                              \
        NULL, 0, 0, false                                                                          \
    }
void pg_buf_add(struct pg_buf *b, const char *s, size_t n);
void pg_buf_release(struct pg_buf *b);

/* A keyset page from a result whose rows are (key text, JSON text), fetched
 * with LIMIT limit + 1: *json_out receives a JSON array of the first `limit`
 * rows (owned, free()), last_key the key of the last one ("" when none),
 * *more whether a row followed. False on allocation failure. */
bool pg_json_page(const PGresult *res, size_t limit, char **json_out, char *last_key,
                  size_t last_key_size, bool *more);

/* Runs sql, a query of one row and one integer column (SELECT count(*) …),
 * with text parameters on conn: DB_OK with *total set, else the failure
 * (db_result_from_pg; DB_FAILED when the answer is not a count). */
enum db_result pg_count(struct db_conn *conn, const char *sql, int nparams,
                        const char *const *params, size_t *total, struct db_error *err);

/* SQL for parameter p as a uuid, or NULL when its text is not a UUID (so a
 * malformed id finds no row instead of failing the statement). */
#define PG_UUID_RE    "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
#define PG_AS_UUID(p) "CASE WHEN " p " ~ '" PG_UUID_RE "' THEN " p "::uuid END"

/* Runs sql with text parameters on conn and discards its rows. */
enum db_result pg_exec_command(struct db_conn *conn, const char *sql, int nparams,
                               const char *const *params, struct db_error *err);

/* Runs sql with text parameters on conn and keeps its result in *res, rows
 * or none: the caller PQclear()s it, also on failure (db_result_from_pg's
 * result). */
enum db_result pg_exec_rows(struct db_conn *conn, const char *sql, int nparams,
                            const char *const *params, PGresult **res, struct db_error *err);

/* Runs sql with text parameters on conn. DB_OK: *res holds at least one row
 * (the caller PQclear()s it). Otherwise *res is NULL: DB_NOT_FOUND when no
 * row came back, else the failure (db_result_from_pg). */
enum db_result pg_exec_first_row(struct db_conn *conn, const char *sql, int nparams,
                                 const char *const *params, PGresult **res, struct db_error *err);

/* The first column of the first row sql returns for $1 = id, copied into
 * out (size bytes, truncated to fit). DB_OK; DB_NOT_FOUND when no row came
 * back; else the failure (err filled). out is "" unless DB_OK. */
enum db_result pg_one_text(struct db_conn *conn, const char *sql, const char *id, char *out,
                           size_t size, struct db_error *err);

/* Takes the territoire lock (db/territoire_lock.h) of the row sql names: sql
 * returns the row's id_pvd for $1 = id (pg_one_text). DB_OK: locked until
 * the end of tx; DB_NOT_FOUND when there is no such row; DB_FAILED when the
 * territoire does not exist (its foreign key makes it impossible); else the
 * failure (err filled). */
struct db_tx;
enum db_result pg_territoire_lock_of(struct db_tx *tx, const char *sql, const char *id,
                                     struct db_error *err);

/* Fills out from row `row` of res (a repository's column list): DB_OK, or
 * DB_FAILED when a value does not parse or an allocation fails (what it
 * allocated is then held by out, released by out's release function). */
typedef enum db_result (*pg_row_fill)(const PGresult *res, int row, void *out);

/* Runs sql with text parameters on conn and fills out from its first row:
 * out (out_size bytes) is zeroed first, then fill(res, 0, out). DB_OK;
 * DB_NOT_FOUND when no row came back; fill's DB_FAILED; else the failure
 * (db_result_from_pg). Nothing of res is held afterwards. */
enum db_result pg_one_row(struct db_conn *conn, const char *sql, int nparams,
                          const char *const *params, pg_row_fill fill, void *out, size_t out_size,
                          struct db_error *err);

/* Bytes as lower-case hex (2n digits and a NUL into out), for
 * decode($n, 'hex'); and back: false unless hex is exactly 2n hex digits. */
void pg_hex_encode(const unsigned char *in, size_t n, char *out);
bool pg_hex_decode(const char *hex, unsigned char *out, size_t n);

/* The text[] literal {"a","b"} of count strings (owned, free()); NULL on
 * allocation failure. The items hold no quote nor backslash (codes). */
char *pg_text_array_literal(const char *const *items, size_t count);

#endif
