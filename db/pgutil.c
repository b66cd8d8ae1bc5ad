/* libpq helpers (see pgutil.h). */
#include "pgutil.h"
#include "statements.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "territoire_lock.h"

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

bool pg_json_page(const PGresult *res, size_t limit, char **json_out, char *last_key,
                  size_t last_key_size, bool *more)
{
    struct pg_buf b = PG_BUF_INIT;
    int rows = PQntuples(res);
    *json_out = NULL;
    last_key[0] = '\0';
    *more = (size_t)rows > limit;
    if (*more)
        rows = (int)limit;
    pg_buf_add(&b, "[", 1);
    for (int i = 0; i < rows; i++) {
        if (i)
            pg_buf_add(&b, ",", 1);
        const char *j = PQgetvalue(res, i, 1);
        pg_buf_add(&b, j, strlen(j));
        snprintf(last_key, last_key_size, "%s", PQgetvalue(res, i, 0));
    }
    pg_buf_add(&b, "]", 1);
    if (b.oom) {
        pg_buf_release(&b);
        return false;
    }
    *json_out = b.data;
    return true;
}

enum db_result pg_exec_command(struct db_conn *conn, const char *sql, int nparams,
                               const char *const *params, struct db_error *err)
{
    PGresult *res = db_exec_params(conn, sql, nparams, params);
    enum db_result r = db_result_from_pg(conn, res, err);
    PQclear(res);
    return r;
}

enum db_result pg_count(struct db_conn *conn, const char *sql, int nparams,
                        const char *const *params, size_t *total, struct db_error *err)
{
    PGresult *res = NULL;
    *total = 0;
    enum db_result r = pg_exec_first_row(conn, sql, nparams, params, &res, err);
    if (r == DB_NOT_FOUND)
        r = DB_FAILED;
    if (r == DB_OK) {
        char *end = NULL;
        unsigned long long n = strtoull(PQgetvalue(res, 0, 0), &end, 10);
        if (end == NULL || *end != '\0')
            r = DB_FAILED;
        else
            *total = (size_t)n;
    }
    PQclear(res);
    return r;
}

enum db_result pg_exec_first_row(struct db_conn *conn, const char *sql, int nparams,
                                 const char *const *params, PGresult **res, struct db_error *err)
{
    *res = db_exec_params(conn, sql, nparams, params);
    enum db_result r = db_result_from_pg(conn, *res, err);
    if (r == DB_OK && PQntuples(*res) == 0)
        r = DB_NOT_FOUND;
    if (r != DB_OK) {
        PQclear(*res);
        *res = NULL;
    }
    return r;
}

enum db_result pg_one_row(struct db_conn *conn, const char *sql, int nparams,
                          const char *const *params, pg_row_fill fill, void *out, size_t out_size,
                          struct db_error *err)
{
    PGresult *res;
    memset(out, 0, out_size);
    enum db_result r = pg_exec_first_row(conn, sql, nparams, params, &res, err);
    if (r == DB_OK)
        r = fill(res, 0, out);
    PQclear(res);
    return r;
}

char *pg_text_array_literal(const char *const *items, size_t count)
{
    struct pg_buf b = PG_BUF_INIT;
    pg_buf_add(&b, "{", 1);
    for (size_t i = 0; i < count; i++) {
        if (i)
            pg_buf_add(&b, ",", 1);
        pg_buf_add(&b, "\"", 1);
        pg_buf_add(&b, items[i], strlen(items[i]));
        pg_buf_add(&b, "\"", 1);
    }
    pg_buf_add(&b, "}", 1);
    if (b.oom) {
        pg_buf_release(&b);
        return NULL;
    }
    return b.data;
}

enum db_result pg_exec_rows(struct db_conn *conn, const char *sql, int nparams,
                            const char *const *params, PGresult **res, struct db_error *err)
{
    *res = db_exec_params(conn, sql, nparams, params);
    return db_result_from_pg(conn, *res, err);
}

enum db_result pg_one_text(struct db_conn *conn, const char *sql, const char *id, char *out,
                           size_t size, struct db_error *err)
{
    const char *params[1] = {id};
    PGresult *res = NULL;
    out[0] = '\0';
    enum db_result r = pg_exec_first_row(conn, sql, 1, params, &res, err);
    if (r == DB_OK)
        snprintf(out, size, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return r;
}

enum db_result pg_territoire_lock_of(struct db_tx *tx, const char *sql, const char *id,
                                     struct db_error *err)
{
    char id_pvd[17];
    enum db_result r = pg_one_text(tx->conn, sql, id, id_pvd, sizeof id_pvd, err);
    if (r == DB_OK) {
        r = territoire_lock(tx, id_pvd, err);
        if (r == DB_NOT_FOUND)
            r = DB_FAILED; /* the foreign key makes it impossible */
    }
    return r;
}

void pg_hex_encode(const unsigned char *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", in[i]);
    out[2 * n] = '\0';
}

bool pg_hex_decode(const char *hex, unsigned char *out, size_t n)
{
    if (strlen(hex) != 2 * n)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return false;
        out[i] = (unsigned char)v;
    }
    return true;
}
