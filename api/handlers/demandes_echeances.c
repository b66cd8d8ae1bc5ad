/* The periodic sweep of the demandes' date-driven states (R30, R34, R35),
 * journaled as systeme:echeances (demandes.h demandes_echeances_appliquer). */
#include "demandes.h"

#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../db/parametres_repository.h"
#include "../../db/pgutil.h"
#include "../../db/territoire_lock.h"
#include "../../domain/identifiers.h"
#include "../../domain/territoire.h"
#include "../auth.h"
#include "../cursor.h"
#include "../json_spec.h"
#include "../query.h"
#include "gouvernance.h"
#include "handlers.h"
#include "programme.h"

/* ---- The sweep of the date-driven states ------------------------------------------------ */

struct sweep_one {
    const char *id;
    struct date today;
    const struct parametres *p;
    bool moved;
};

/* One request: its effective state stored when it differs (DB_STALE, rolled
 * back, when it no longer does). */
static enum db_result sweep_unit(struct db_tx *tx, void *arg, struct db_error *err)
{
    struct sweep_one *x = arg;
    x->moved = false;
    struct demande_row avant, after;
    json_t *stored = NULL;
    struct demande_etat_lu lu;
    enum db_result r = demande_lock_lire(tx, x->id, -1, &avant, &stored, &lu, err);
    if (r != DB_OK)
        return r;
    json_decref(stored);
    enum demande_etat e = demande_effectif(&lu, x->today, NULL);
    if (e == lu.echeance.etat) {
        demande_row_release(&avant);
        return DB_STALE;
    }
    r = demande_write(tx, &avant, "{}", demande_etat_name(e), "demande_subvention.transition",
                      &after, err);
    demande_row_release(&after);
    x->moved = r == DB_OK;
    return r;
}

enum db_result demandes_echeances_appliquer(struct db_pool *pool, struct date today, size_t *moved,
                                            struct db_error *err)
{
    size_t n = 0;
    struct parametres p;
    struct db_conn *conn = NULL;
    PGresult *res = NULL;
    enum db_result r = db_pool_acquire(pool, &conn, err);
    if (r != DB_OK)
        return r;
    long version;
    r = parametres_en_vigueur(conn, today, &p, &version, err);
    if (r == DB_OK) {
        char day[11], d[5][12];
        date_format(today, day);
        demande_delais_defaut_text(d);
        const char *params[6] = {day, d[0], d[1], d[2], d[3], d[4]};
        r = pg_exec_rows(conn,
                         "SELECT x.id::text FROM demandes_subvention x WHERE x.etat IN "
                         "('depose', 'en_instruction', 'notifiee', 'engagee') AND "
                         "demande_etat_effectif(x, $1::date, $2::int, $3::int, $4::int, $5::int, "
                         "$6::int) <> x.etat ORDER BY x.id LIMIT 500",
                         6, params, &res, err);
    }
    db_pool_release(pool, conn);
    struct journal_actor actor = {"systeme:echeances", NULL, NULL, NULL, NULL, NULL, NULL};
    for (int i = 0; r == DB_OK && i < PQntuples(res); i++) {
        struct sweep_one x = {PQgetvalue(res, i, 0), today, &p, false};
        r = db_run_mutation(pool, DB_ISOLATION_READ_COMMITTED, &actor, sweep_unit, &x, err);
        if (r == DB_NOT_FOUND || r == DB_STALE)
            r = DB_OK; /* changed meanwhile: nothing to do, rolled back */
        if (x.moved && r == DB_OK)
            n++;
    }
    PQclear(res);
    if (moved)
        *moved = n;
    return r;
}
