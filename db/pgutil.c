/* libpq helpers (see pgutil.h). */
#include "pgutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum db_result map_sqlstate(const char *state)
{
    if (state == NULL || state[0] == '\0')
        return DB_FAILED;
    if (strcmp(state, "23505") == 0 || strcmp(state, "23503") == 0 || strcmp(state, "23P01") == 0)
        return DB_CONFLICT;
    if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)
        return DB_RETRY;
    if (strcmp(state, "57014") == 0 || strcmp(state, "57P01") == 0 ||
        strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0 ||
        strncmp(state, "08", 2) == 0 || strncmp(state, "53", 2) == 0)
        return DB_UNAVAILABLE;
    return DB_FAILED;
}

enum db_result pg_result_error(PGconn *conn, const PGresult *res, struct db_error *err)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (msg == NULL)
        msg = conn ? PQerrorMessage(conn) : "no connection";
    if (err) {
        snprintf(err->sqlstate, sizeof err->sqlstate, "%s", state ? state : "");
        snprintf(err->message, sizeof err->message, "%s", msg);
    }
    if (conn == NULL || PQstatus(conn) == CONNECTION_BAD)
        return DB_UNAVAILABLE;
    return map_sqlstate(state);
}

enum db_result pg_result_check(PGconn *conn, const PGresult *res, struct db_error *err)
{
    ExecStatusType status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)
        return DB_OK;
    return pg_result_error(conn, res, err);
}

char *pg_strdup(const char *s)
{
    return strdup(s);
}

char *pg_strndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

void pg_buf_add(struct pg_buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->data, cap);
        if (p == NULL) {
            b->oom = true;
            return;
        }
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void pg_buf_release(struct pg_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = false;
}
