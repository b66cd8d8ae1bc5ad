/* Lists read by modification (issue #11 §1): the SQL shared by every list
 * whose rows carry `modifie_le`, so that a list declares `modifie_depuis` and
 * `tri=modifie_le` / `tri=-modifie_le` once and pages by keyset on
 * (modifie_le, id) — page 1,000 costs what page 1 costs, given an index on
 * (modifie_le, id) (migration 0023).
 *
 * A list's page query is
 *   SELECT <key>, <columns> <from_where> <filter> <after> <order> LIMIT $n+2
 * and its count SELECT count(*) <from_where> <filter>, with three parameters
 * after the list's own $1..$n-1: $n the modifie_depuis instant (NULL: none),
 * $n+1 the cursor's key (NULL: first page), $n+2 the page size plus one.
 *
 * Cursor keys: in the list's key order (no tri), its key (the id) as text; by
 * modification, "<modifie_le in µs since the Unix epoch>,<id>". */
#ifndef PVD_DB_LIST_SYNC_H
#define PVD_DB_LIST_SYNC_H

#include <stdbool.h>
#include <stddef.h>

#include "pool.h"
#include "result.h"

enum list_tri {
    LIST_TRI_KEY,          /* the list's own order: by id */
    LIST_TRI_MODIFIE,      /* tri=modifie_le: oldest change first, then id */
    LIST_TRI_MODIFIE_DESC, /* tri=-modifie_le: newest change first, then id descending */
};

struct list_sync {
    enum list_tri tri;
    const char *modifie_depuis; /* RFC 3339 instant (rows with modifie_le >= it); NULL: all */
};

/* The columns of one list, as SQL expressions over its FROM. */
struct list_sync_columns {
    const char *modifie; /* e.g. "x.modifie_le"; NULL: the rows have none (tri must be
                            LIST_TRI_KEY and modifie_depuis NULL) */
    const char *id;      /* the unique key, as ordered: "x.id", "t.id_pvd COLLATE \"C\"" */
    const char *id_type; /* the type a key's id is read as: "uuid", "text" */
    const char *key;     /* the list's own order (LIST_TRI_KEY), a unique text expression;
                            NULL: id */
};

/* The page query (see above), in a new string (free()); NULL when out of
 * memory. first is n, the number of the modifie_depuis parameter. */
char *list_sync_page_sql(const struct list_sync *s, const struct list_sync_columns *c,
                         const char *columns, const char *from_where, int first);

/* The count query (see above), in a new string (free()); NULL when out of
 * memory. */
char *list_sync_count_sql(const struct list_sync *s, const struct list_sync_columns *c,
                          const char *from_where, int first);

/* Fills values[0..2] (the list's $n, $n+1, $n+2) from s, the decoded cursor
 * key after (NULL: first page) and the LIMIT text; values are borrowed. */
void list_sync_params(const struct list_sync *s, const char *after, const char *limit_text,
                      const char **values);

/* One page of a list on conn: the page query of columns over from_where
 * (its first column, the key, added first) and its count, params[0 ..
 * first - 2] being the list's own parameters and params[first - 1 ..
 * first + 1] filled here (params has first + 2 slots). *json_out: the JSON
 * array of the page's columns (owned, free(); NULL on failure), last_key the
 * last element's cursor key ("" when empty), *more whether more follow,
 * *total the count of every page. DB_FAILED when out of memory, else the
 * database's answer (err filled). */
enum db_result list_sync_page(struct db_conn *conn, const struct list_sync *s,
                              const struct list_sync_columns *c, const char *columns,
                              const char *from_where, int first, const char **params,
                              const char *after, size_t limit, char **json_out, char last_key[65],
                              bool *more, size_t *total, struct db_error *err);

/* True when key is a by-modification cursor key: 1 to 17 digits, ',', then
 * an id that valid_id accepts. */
bool list_sync_key_valid(const char *key, bool (*valid_id)(const char *));

#endif
