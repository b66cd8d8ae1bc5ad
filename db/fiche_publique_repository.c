/* The open-data read of fiches action (see fiche_publique_repository.h). */
#include "fiche_publique_repository.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>

#include "pgutil.h"

static enum db_result fill_json(const PGresult *res, int row, void *dst)
{
    char **out = dst;
    *out = pg_strdup(PQgetvalue(res, row, 0));
    return *out ? DB_OK : DB_FAILED;
}

enum db_result fiche_publique_get(struct db_pool *pool, const char *id, char **json_out,
                                  struct db_error *err)
{
    const char *params[1] = {id};
    struct db_conn *conn = NULL;
    *json_out = NULL;
    enum db_result r = db_pool_acquire(pool, &conn, err);
    if (r != DB_OK)
        return r;
    r = pg_one_row(conn,
                   "SELECT fiche_publique_representation(x)::text FROM fiches_action x"
                   " WHERE x.public AND x.id = " PG_AS_UUID("$1"),
                   1, params, fill_json, json_out, sizeof *json_out, err);
    db_pool_release(pool, conn);
    if (r != DB_OK) {
        free(*json_out);
        *json_out = NULL;
    }
    return r;
}

#define LIST_FROM " FROM fiches_publiques($1, $2, $3, $4, $5, $6, $7::uuid) x"

enum db_result fiche_publique_list(struct db_pool *pool, const struct fiche_publique_filtre *f,
                                   const char *after, size_t limit, char **json_out,
                                   char last_key[37], bool *more, size_t *total,
                                   struct db_error *err)
{
    char limit_text[24];
    *json_out = NULL;
    last_key[0] = '\0';
    *more = false;
    *total = 0;
    snprintf(limit_text, sizeof limit_text, "%zu", limit + 1);
    const char *params[9] = {f->id_pvd, f->departement, f->region, f->thematique, f->nature_depense,
                             f->etat,   f->axe_id,      after,     limit_text};
    struct db_conn *conn = NULL;
    enum db_result r = db_pool_acquire(pool, &conn, err);
    if (r != DB_OK)
        return r;
    PGresult *res = NULL;
    r = pg_exec_rows(conn,
                     "SELECT x.id::text, fiche_publique_representation(x)::text" LIST_FROM
                     " WHERE x.id > coalesce($8::uuid, "
                     "'00000000-0000-0000-0000-000000000000'::uuid) ORDER BY x.id LIMIT $9::int",
                     9, params, &res, err);
    if (r == DB_OK && !pg_json_page(res, limit, json_out, last_key, 37, more))
        r = DB_FAILED;
    PQclear(res);
    if (r == DB_OK)
        r = pg_count(conn, "SELECT count(*)" LIST_FROM, 7, params, total, err);
    db_pool_release(pool, conn);
    if (r != DB_OK) {
        free(*json_out);
        *json_out = NULL;
    }
    return r;
}
