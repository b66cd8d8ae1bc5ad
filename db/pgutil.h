/* Small libpq helpers shared by the repositories: result checking with
 * SQLSTATE mapping, and a growable byte buffer for COPY data. */
#ifndef PVD_DB_PGUTIL_H
#define PVD_DB_PGUTIL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "result.h"

/* DB_OK when res is PGRES_COMMAND_OK or PGRES_TUPLES_OK; otherwise maps the
 * SQLSTATE (see db/result.h) and fills err when non-NULL. res may be NULL. */
enum db_result pg_result_check(PGconn *conn, const PGresult *res, struct db_error *err);
/* Same mapping for a result known to be an error (or NULL: connection error). */
enum db_result pg_result_error(PGconn *conn, const PGresult *res, struct db_error *err);

/* Owned copies (free()); NULL on allocation failure. */
char *pg_strdup(const char *s);
char *pg_strndup(const char *s, size_t n);

struct pg_buf {
    char *data;
    size_t len;
    size_t cap;
    bool oom; /* an append failed: the content is incomplete */
};
#define PG_BUF_INIT {NULL, 0, 0, false}
void pg_buf_add(struct pg_buf *b, const char *s, size_t n);
void pg_buf_release(struct pg_buf *b);

#endif
