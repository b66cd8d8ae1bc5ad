/* Reads of the open-data datasets (see donnees_ouvertes_repository.h). */
#include "donnees_ouvertes_repository.h"

#include <stdio.h>
#include <string.h>

#include "pgutil.h"

/* The rows of each dataset: (element, modifie_le) with $1 departement (the
 * functions of migration 0022); $2 is the LIMIT; $3 today and $4 annee for the
 * subsidies only (a parameter no statement uses has no type). */
static const struct {
    const char *sql;
    int nparams;
} sources[JEU_OUVERT_COUNT] = {
    [JEU_LAUREATS] = {"laureats_ouverts($1::text)", 2},
    [JEU_FICHES_ACTION] = {"fiches_ouvertes($1::text)", 2},
    [JEU_SUBVENTIONS] = {"subventions_ouvertes($3::date, $4::int, $1::text)", 4},
};

enum db_result jeu_ouvert_lire(struct db_pool *pool, enum jeu_ouvert jeu,
                               const struct jeu_filtre *f, size_t max_rows, jeu_element_fn fn,
                               void *ctx, bool *too_many, bool *stopped,
                               char derniere_modification[32], struct db_error *err)
{
    *too_many = false;
    *stopped = false;
    derniere_modification[0] = '\0';
    char sql[400], limit[24];
    snprintf(limit, sizeof limit, "%zu", max_rows + 1);
    /* the window is computed over every matching row, before the LIMIT */
    snprintf(sql, sizeof sql,
             "SELECT s.element::text, coalesce(horodatage(max(s.modifie_le) OVER ()), '') "
             "FROM %s s LIMIT $2::int",
             sources[jeu].sql);
    const char *params[4] = {f->departement, limit, f->today, f->annee};
    struct db_conn *conn = NULL;
    enum db_result r = db_pool_acquire(pool, &conn, err);
    if (r != DB_OK)
        return r;
    PGresult *res = NULL;
    r = pg_exec_rows(conn, sql, sources[jeu].nparams, params, &res, err);
    db_pool_release(pool, conn);
    int n = r == DB_OK ? PQntuples(res) : 0;
    if ((size_t)n > max_rows)
        *too_many = true;
    if (r == DB_OK && n > 0)
        snprintf(derniere_modification, 32, "%s", PQgetvalue(res, 0, 1));
    for (int i = 0; r == DB_OK && !*too_many && i < n; i++) {
        if (!fn(PQgetvalue(res, i, 0), (size_t)PQgetlength(res, i, 0), ctx)) {
            *stopped = true;
            break;
        }
    }
    PQclear(res);
    return r;
}

enum db_result jeux_ouverts_modifications(struct db_pool *pool, const char *today,
                                          char out[JEU_OUVERT_COUNT][32], struct db_error *err)
{
    const char *params[1] = {today};
    struct db_conn *conn = NULL;
    enum db_result r = db_pool_acquire(pool, &conn, err);
    if (r != DB_OK)
        return r;
    PGresult *res = NULL;
    r = pg_exec_first_row(
        conn,
        "SELECT coalesce((SELECT horodatage(max(modifie_le)) FROM laureats_ouverts(NULL)), ''), "
        "coalesce((SELECT horodatage(max(modifie_le)) FROM fiches_ouvertes(NULL)), ''), "
        "coalesce((SELECT horodatage(max(modifie_le)) FROM subventions_ouvertes($1::date, NULL, "
        "NULL)), '')",
        1, params, &res, err);
    db_pool_release(pool, conn);
    for (int j = 0; r == DB_OK && j < JEU_OUVERT_COUNT; j++)
        snprintf(out[j], 32, "%s", PQgetvalue(res, 0, j));
    PQclear(res);
    return r;
}
