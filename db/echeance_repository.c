/* Automatic expiry of signed conventions-cadres (see echeance_repository.h). */
#include "echeance_repository.h"
#include "statements.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../domain/convention.h"
#include "convention_repository.h"
#include "mutation.h"
#include "pgutil.h"
#include "territoire_scope.h"

struct expiry {
    const char *id;
    const char *id_pvd;
    const char *date_fin;
    struct date today;
    bool moved;
};

/* One convention through the transition path of every edge
 * (convention_transition_checked: territoire lock, state machine and
 * convention_echue on the locked row, revision + 1, journal). */
static enum db_result expire_one(struct db_tx *tx, void *arg, struct db_error *err)
{
    struct expiry *x = arg;
    x->moved = false;
    struct territoire_scope scope;
    enum db_result r = territoire_scope_load(tx->conn, x->id_pvd, &scope, err);
    if (r != DB_OK)
        return r;
    char motif[80];
    snprintf(motif, sizeof motif, "Échue : date de fin du %s dépassée.", x->date_fin);
    struct journal_scope jscope = territoire_scope_journal(&scope);
    struct convention_transition_request rq = {x->id_pvd, x->id,    -1,     CONVENTION_ECHUE,
                                               motif,     x->today, &jscope};
    struct rule_report violations, warnings;
    struct convention_row after;
    r = convention_transition_checked(tx, &rq, &violations, &warnings, &after, err);
    convention_row_release(&after);
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
    PGresult *res =
        db_exec_params(conn,
                       "SELECT id::text, id_pvd, date_fin::text FROM conventions "
                       "WHERE type = 'cadre' AND etat = 'signee' AND date_fin < $1::date "
                       "ORDER BY date_fin, id LIMIT 500",
                       1, params);
    r = db_result_from_pg(conn, res, err);
    db_pool_release(pool, conn);
    struct journal_actor actor = {"systeme:echeances", NULL, NULL, NULL, NULL, NULL, NULL};
    for (int i = 0; r == DB_OK && i < PQntuples(res); i++) {
        struct date fin;
        if (!date_parse(PQgetvalue(res, i, 2), &fin) ||
            !convention_echue(CONVENTION_CADRE, CONVENTION_SIGNEE, fin, today))
            continue;
        struct expiry x = {PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
                           today, false};
        r = db_run_mutation(pool, DB_ISOLATION_READ_COMMITTED, &actor, expire_one, &x, err);
        if (r == DB_NOT_FOUND || r == DB_STALE)
            r = DB_OK; /* changed meanwhile: nothing to do, rolled back */
        if (x.moved && r == DB_OK)
            moved++;
    }
    PQclear(res);
    if (expired)
        *expired = moved;
    return r;
}
