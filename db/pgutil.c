/* libpq helpers (see pgutil.h). */
#include "pgutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
