/* Automatic expiry of signed conventions-cadres (see echeance_repository.h). */
#include "echeance_repository.h"

#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

#include "../domain/convention.h"
#include "mutation.h"
#include "pgutil.h"
#include "territoire_scope.h"

struct expiry {
    const char *id;
    const char *id_pvd;
    bool moved;
};

static enum db_result expire_one(struct db_tx *tx, void *arg, struct db_error *err)
{
    struct expiry *x = arg;
    const char *params[1] = {x->id};
    x->moved = false;
    PGresult *res = PQexecParams(tx->conn->pg,
                                 "SELECT convention_representation(c)::text FROM conventions c "
                                 "WHERE c.id = $1::uuid AND c.type = 'cadre' AND c.etat = 'signee' "
                                 "FOR UPDATE",
                                 1, NULL, params, NULL, NULL, 0);
    enum db_result r = db_result_from_pg(tx->conn, res, err);
    if (r == DB_OK && PQntuples(res) != 1)
        r = DB_NOT_FOUND; /* changed meanwhile: nothing to do, rolled back */
    char *avant = r == DB_OK ? pg_strdup(PQgetvalue(res, 0, 0)) : NULL;
    PQclear(res);
    if (r != DB_OK)
        return r;
    res = PQexecParams(tx->conn->pg,
                       "UPDATE conventions c SET etat = 'echue', revision = revision + 1, "
                       "modifie_le = now() WHERE c.id = $1::uuid "
                       "RETURNING convention_representation(c)::text",
                       1, NULL, params, NULL, NULL, 0);
    r = db_result_from_pg(tx->conn, res, err);
    if (r == DB_OK && PQntuples(res) != 1)
        r = DB_FAILED;
    struct territoire_scope scope;
    if (r == DB_OK)
        r = territoire_scope_load(tx->conn, x->id_pvd, &scope, err);
    if (r == DB_OK) {
        struct journal_entry e = {
            "convention.transition",         "convention", x->id, avant, PQgetvalue(res, 0, 0),
            territoire_scope_journal(&scope)};
        r = journal_record(tx, &e, err);
    }
    PQclear(res);
    free(avant);
    if (r == DB_OK)
        x->moved = true;
    return r;
}

enum db_result echeances_appliquer(struct db_pool *pool, struct date today, size_t *expired,
                                   struct db_error *err)
{
    size_t moved = 0;
    char day[11];
    date_format(today, day);
    struct db_conn *conn;
    enum db_result r = db_pool_acquire(pool, &conn, err);
    if (r != DB_OK)
        return r;
    /* Candidates; the rule itself is domain/convention.c's. */
    const char *params[1] = {day};
    PGresult *res = PQexecParams(conn->pg,
                                 "SELECT id::text, id_pvd, date_fin::text FROM conventions "
                                 "WHERE type = 'cadre' AND etat = 'signee' AND date_fin < $1::date "
                                 "ORDER BY date_fin, id LIMIT 500",
                                 1, NULL, params, NULL, NULL, 0);
    r = db_result_from_pg(conn, res, err);
    db_pool_release(pool, conn);
    struct journal_actor actor = {"systeme:echeances", NULL, NULL, NULL, NULL, NULL, NULL};
    for (int i = 0; r == DB_OK && i < PQntuples(res); i++) {
        struct date fin;
        if (!date_parse(PQgetvalue(res, i, 2), &fin) ||
            !convention_echue(CONVENTION_CADRE, CONVENTION_SIGNEE, fin, today))
            continue;
        struct expiry x = {PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), false};
        r = db_run_mutation(pool, DB_ISOLATION_READ_COMMITTED, &actor, expire_one, &x, err);
        if (r == DB_NOT_FOUND)
            r = DB_OK;
        if (x.moved && r == DB_OK)
            moved++;
    }
    PQclear(res);
    if (expired)
        *expired = moved;
    return r;
}
