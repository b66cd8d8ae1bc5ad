/* SQL of the lists read by modification (see list_sync.h). */
#include "list_sync.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgutil.h"

/* The timestamptz of the µs count in the key $p (exact: float8 holds every
 * integer below 2^53 µs, year 2255). */
#define KEY_INSTANT(p)                                                                             \
    "(timestamptz 'epoch' + split_part(" p ", ',', 1)::bigint * interval '1 microsecond')"

/* printf into a new string; NULL when out of memory. */
static char *format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *format(const char *fmt, ...)
{
    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *out = n < 0 ? NULL : malloc((size_t)n + 1);
    if (out)
        vsnprintf(out, (size_t)n + 1, fmt, again);
    va_end(again);
    return out;
}

/* The modifie_depuis condition on $first (typed even where the rows have
 * no modifie_le: then it admits nothing but NULL). */
static void filter(const struct list_sync_columns *c, int first, char out[160])
{
    if (c->modifie)
        snprintf(out, 160, " AND ($%d::timestamptz IS NULL OR %s >= $%d::timestamptz)", first,
                 c->modifie, first);
    else
        snprintf(out, 160, " AND $%d::timestamptz IS NULL", first);
}

/* The smallest value of an id of type id_type ("uuid" or "text", as
 * list_sync.h says), below every real one (a random UUID is never all
 * zeros; ids and keys are never empty): the cursor of a first page. */
static const char *id_min(const char *id_type)
{
    return strcmp(id_type, "uuid") == 0 ? "'00000000-0000-0000-0000-000000000000'::uuid" : "''";
}

/* The cursor condition is one comparison whatever the parameters, no cursor
 * being the smallest key (or the ±infinity instant): the statements are
 * prepared once per connection (db/statements.h) and PostgreSQL may plan
 * them once for every value, where "$n IS NULL OR key > $n" left the index
 * a filter, every row before the cursor read (issue #12 §4, as the event
 * feed's cursor). */
char *list_sync_page_sql(const struct list_sync *s, const struct list_sync_columns *c,
                         const char *columns, const char *from_where, int first)
{
    char p[16], key[256], after[512], order[200];
    int a = first + 1;
    snprintf(p, sizeof p, "$%d", a);
    if (s->tri == LIST_TRI_KEY && c->key) {
        snprintf(key, sizeof key, "(%s)::text", c->key);
        snprintf(after, sizeof after, " AND %s > coalesce(%s::text, '')", c->key, p);
        snprintf(order, sizeof order, " ORDER BY %s", c->key);
    } else if (s->tri == LIST_TRI_KEY || !c->modifie) {
        snprintf(key, sizeof key, "(%s)::text", c->id);
        snprintf(after, sizeof after, " AND %s > coalesce(%s::%s, %s)", c->id, p, c->id_type,
                 id_min(c->id_type));
        snprintf(order, sizeof order, " ORDER BY %s", c->id);
    } else {
        bool desc = s->tri == LIST_TRI_MODIFIE_DESC;
        snprintf(key, sizeof key,
                 "(extract(epoch FROM %s) * 1000000)::bigint::text || ',' || (%s)::text",
                 c->modifie, c->id);
        snprintf(after, sizeof after,
                 " AND (%s, %s) %s (coalesce(" KEY_INSTANT(
                     "%s") ", '%sinfinity'), "
                           "coalesce(split_part(%s, ',', 2)::%s, %s))",
                 c->modifie, c->id, desc ? "<" : ">", p, desc ? "" : "-", p, c->id_type,
                 id_min(c->id_type));
        snprintf(order, sizeof order, " ORDER BY %s%s, %s%s", c->modifie, desc ? " DESC" : "",
                 c->id, desc ? " DESC" : "");
    }
    char since[160];
    filter(c, first, since);
    return format("SELECT %s, %s %s%s%s%s LIMIT $%d::int", key, columns, from_where, since, after,
                  order, first + 2);
}

char *list_sync_count_sql(const struct list_sync *s, const struct list_sync_columns *c,
                          const char *from_where, int first)
{
    (void)s;
    char since[160];
    filter(c, first, since);
    return format("SELECT count(*) %s%s", from_where, since);
}

void list_sync_params(const struct list_sync *s, const char *after, const char *limit_text,
                      const char **values)
{
    values[0] = s->modifie_depuis;
    values[1] = after;
    values[2] = limit_text;
}

bool list_sync_key_valid(const char *key, bool (*valid_id)(const char *))
{
    size_t digits = strspn(key, "0123456789");
    return digits >= 1 && digits <= 17 && key[digits] == ',' && valid_id(key + digits + 1);
}

enum db_result list_sync_page(struct db_conn *conn, const struct list_sync *s,
                              const struct list_sync_columns *c, const char *columns,
                              const char *from_where, int first, const char **params,
                              const char *after, size_t limit, char **json_out, char last_key[65],
                              bool *more, size_t *total, struct db_error *err)
{
    char limit_text[24];
    snprintf(limit_text, sizeof limit_text, "%zu", limit + 1);
    list_sync_params(s, after, limit_text, params + first - 1);
    *json_out = NULL;
    last_key[0] = '\0';
    *more = false;
    *total = 0;
    char *page_sql = list_sync_page_sql(s, c, columns, from_where, first);
    char *count_sql = list_sync_count_sql(s, c, from_where, first);
    enum db_result r = DB_FAILED;
    if (page_sql && count_sql) {
        PGresult *res = NULL;
        r = pg_exec_rows(conn, page_sql, first + 2, params, &res, err);
        if (r == DB_OK && !pg_json_page(res, limit, json_out, last_key, 65, more))
            r = DB_FAILED;
        PQclear(res);
    }
    if (r == DB_OK)
        r = pg_count(conn, count_sql, first, params, total, err);
    free(page_sql);
    free(count_sql);
    if (r != DB_OK) {
        free(*json_out);
        *json_out = NULL;
    }
    return r;
}
