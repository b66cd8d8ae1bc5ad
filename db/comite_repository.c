/* Storage of the comité de projet (see comite_repository.h). */
#include "comite_repository.h"
#include "statements.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "habilitation_repository.h"
#include "plan_action_repository.h"
#include "pgutil.h"

#define COMITE_RETURNING " RETURNING x.id::text, x.id_pvd::text, comite_representation(x)::text"

/* Replaces the membres of comité id by those of body's "membres". */
static enum db_result write_membres(struct db_tx *tx, const char *id, const char *body_json,
                                    struct db_error *err)
{
    const char *params[2] = {id, body_json};
    enum db_result r = pg_exec_command(
        tx->conn, "DELETE FROM comite_membres WHERE comite_id = $1::uuid", 1, params, err);
    if (r == DB_OK)
        r = pg_exec_command(
            tx->conn,
            "INSERT INTO comite_membres (comite_id, rang, qualite, organisation_id, "
            "nom, fonction) SELECT $1::uuid, e.n - 1, e.m->>'qualite', "
            "(e.m->>'organisation_id')::uuid, e.m->>'nom', e.m->>'fonction' FROM "
            "jsonb_array_elements($2::jsonb->'membres') WITH ORDINALITY AS e(m, n)",
            2, params, err);
    return r;
}

enum db_result comite_insert(struct db_tx *tx, const char *body_json, struct projet_row *out,
                             struct db_error *err)
{
    struct projet_row created;
    const char *params[1] = {body_json};
    memset(out, 0, sizeof *out);
    enum db_result r = projet_exec_row(
        tx->conn,
        "INSERT INTO comites AS x (id_pvd, presidence, instance_preexistante) SELECT b->>'id_pvd', "
        "b->>'presidence', COALESCE((b->>'instance_preexistante')::boolean, false) FROM (SELECT "
        "$1::jsonb AS b) s" COMITE_RETURNING,
        1, params, &created, err);
    if (r != DB_OK)
        return r;
    r = write_membres(tx, created.id, body_json, err);
    if (r == DB_OK)
        r = projet_get(tx->conn, PROJET_COMITE, created.id, out, err);
    projet_row_release(&created);
    return r;
}

enum db_result comite_update(struct db_tx *tx, const char *id, const char *body_json,
                             struct projet_row *out, struct db_error *err)
{
    struct projet_row updated;
    const char *params[2] = {id, body_json};
    memset(out, 0, sizeof *out);
    enum db_result r = projet_exec_row(
        tx->conn,
        "UPDATE comites AS x SET presidence = b->>'presidence', instance_preexistante = "
        "COALESCE((b->>'instance_preexistante')::boolean, false), revision = x.revision + 1, "
        "modifie_le = now() FROM (SELECT $2::jsonb AS b) s WHERE x.id = $1::uuid" COMITE_RETURNING,
        2, params, &updated, err);
    if (r != DB_OK)
        return r;
    r = write_membres(tx, id, body_json, err);
    if (r == DB_OK)
        r = projet_get(tx->conn, PROJET_COMITE, id, out, err);
    projet_row_release(&updated);
    return r;
}

#define SEANCE_RETURNING                                                                           \
    " RETURNING x.id::text, (SELECT c.id_pvd FROM comites c WHERE c.id = x.comite_id), "           \
    "seance_representation(x)::text"

enum db_result seance_insert(struct db_tx *tx, const char *comite_id, const char *body_json,
                             struct projet_row *out, struct db_error *err)
{
    const char *params[2] = {comite_id, body_json};
    return projet_exec_row(
        tx->conn,
        "INSERT INTO seances AS x (comite_id, date, ordre_du_jour, "
        "compte_rendu) SELECT $1::uuid, (b->>'date')::date, b->>'ordre_du_jour', "
        "b->>'compte_rendu' FROM (SELECT $2::jsonb AS b) s" SEANCE_RETURNING,
        2, params, out, err);
}

enum db_result seance_update(struct db_tx *tx, const char *id, const char *body_json,
                             struct projet_row *out, struct db_error *err)
{
    const char *params[2] = {id, body_json};
    return projet_exec_row(tx->conn,
                           "UPDATE seances AS x SET date = (b->>'date')::date, ordre_du_jour = "
                           "b->>'ordre_du_jour', compte_rendu = b->>'compte_rendu', revision = "
                           "x.revision + 1, modifie_le = now() FROM (SELECT $2::jsonb AS b) s "
                           "WHERE x.id = $1::uuid" SEANCE_RETURNING,
                           2, params, out, err);
}

enum db_result decision_insert(struct db_tx *tx, const char *seance_id, const char *body_json,
                               struct projet_row *out, struct db_error *err)
{
    const char *params[2] = {seance_id, body_json};
    enum db_result r = projet_exec_row(
        tx->conn,
        "INSERT INTO decisions AS x (seance_id, type, objet, convention_id, fiche_action_id) "
        "SELECT $1::uuid, b->>'type', b->>'objet', (b->>'convention_id')::uuid, "
        "(b->>'fiche_action_id')::uuid FROM (SELECT $2::jsonb AS b) s "
        "RETURNING x.id::text, (SELECT c.id_pvd FROM seances s JOIN comites c ON c.id = "
        "s.comite_id WHERE s.id = x.seance_id), decision_representation(x)::text",
        2, params, out, err);
    if (r == DB_OK)
        r = plan_action_freeze_if_valide_plan(tx, out->id_pvd, out->id, err);
    return r;
}

/* One row per requirement: kind ('c' commune, 'e' EPCI, 's' signataire),
 * SIREN, then for signataires the organisation's nature and the role. */
static const char besoins_sql[] =
    "SELECT 'c', c.siren::text, NULL, NULL FROM territoire_communes tc JOIN communes c ON "
    "c.code_insee = tc.code_insee AND c.type = 'commune-actuelle' WHERE tc.id_pvd = $1 AND "
    "c.siren IS NOT NULL "
    "UNION ALL SELECT 'e', te.siren::text, NULL, NULL FROM territoire_epcis te WHERE te.id_pvd = "
    "$1 "
    "UNION ALL SELECT 's', COALESCE(o.siren::text, ''), o.nature, s.role FROM conventions cv "
    "JOIN signataires s ON s.convention_id = cv.id JOIN organisations o ON o.id = "
    "s.organisation_id WHERE cv.id_pvd = $1 AND cv.type = 'adhesion' AND cv.etat <> 'abandonnee'";

static enum db_result besoins_read(struct db_conn *conn, const char *id_pvd,
                                   struct comite_besoins *out, struct db_error *err)
{
    memset(out, 0, sizeof *out);
    const char *params[1] = {id_pvd};
    enum db_result r;
    PGresult *res = db_exec_params(conn, besoins_sql, 1, params);
    r = db_result_from_pg(conn, res, err);
    for (int i = 0; r == DB_OK && i < PQntuples(res); i++) {
        const char *siren = PQgetvalue(res, i, 1);
        switch (PQgetvalue(res, i, 0)[0]) {
        case 'c':
            if (out->commune_count < COMITE_EXIGENCES_MAX)
                snprintf(out->communes[out->commune_count++], 10, "%s", siren);
            break;
        case 'e':
            if (out->epci_count < COMITE_EXIGENCES_MAX)
                snprintf(out->epcis[out->epci_count++], 10, "%s", siren);
            break;
        default:
            if (out->signataire_count < COMITE_EXIGENCES_MAX) {
                struct signataire *s = &out->signataires[out->signataire_count];
                memset(s, 0, sizeof *s);
                snprintf(s->siren, sizeof s->siren, "%s", siren);
                if (organisation_kind_parse(PQgetvalue(res, i, 2), &s->kind) &&
                    signataire_role_parse(PQgetvalue(res, i, 3), &s->role))
                    out->signataire_count++;
            }
            break;
        }
    }
    PQclear(res);
    return r;
}

static struct comite_exigences comite_exigences_view(struct comite_besoins *b);

enum db_result comite_r40_in_tx(struct db_tx *tx, const char *id_pvd, const char *body_json,
                                struct rule_report *violations, struct db_error *err)
{
    struct comite_besoins besoins;
    enum db_result r = besoins_read(tx->conn, id_pvd, &besoins, err);
    if (r != DB_OK)
        return r;
    const char *params[1] = {body_json};
    PGresult *res = db_exec_params(
        tx->conn,
        "SELECT e.m->>'qualite', coalesce(o.siren::text, '') FROM "
        "jsonb_array_elements($1::jsonb->'membres') WITH ORDINALITY AS e(m, n) "
        "LEFT JOIN organisations o ON o.id = (e.m->>'organisation_id')::uuid ORDER BY e.n",
        1, params);
    r = db_result_from_pg(tx->conn, res, err);
    size_t count = 0;
    struct comite_membre membres[COMITE_MEMBRES_MAX];
    for (int i = 0; r == DB_OK && i < PQntuples(res) && count < COMITE_MEMBRES_MAX; i++) {
        memset(&membres[count], 0, sizeof membres[count]);
        if (!comite_membre_kind_parse(PQgetvalue(res, i, 0), &membres[count].kind)) {
            r = DB_FAILED; /* the handler validated the body: a bug */
            break;
        }
        snprintf(membres[count].siren, sizeof membres[count].siren, "%s", PQgetvalue(res, i, 1));
        count++;
    }
    PQclear(res);
    if (r == DB_OK) {
        struct comite_exigences exigences = comite_exigences_view(&besoins);
        comite_r40_check(membres, count, &exigences, violations);
    }
    return r;
}

/* The exigences view of b: pointers into b itself. */
static struct comite_exigences comite_exigences_view(struct comite_besoins *b)
{
    for (size_t i = 0; i < b->commune_count; i++)
        b->commune_ptrs[i] = b->communes[i];
    for (size_t i = 0; i < b->epci_count; i++)
        b->epci_ptrs[i] = b->epcis[i];
    struct comite_exigences e = {b->commune_ptrs, b->commune_count, b->epci_ptrs,
                                 b->epci_count,   b->signataires,   b->signataire_count};
    return e;
}

enum db_result convention_territoire(struct db_pool *pool, const char *id, char id_pvd[17],
                                     struct db_error *err)
{
    struct db_conn *conn = NULL;
    id_pvd[0] = '\0';
    enum db_result r = db_pool_acquire(pool, &conn, err);
    if (r != DB_OK)
        return r;
    const char *params[1] = {id};
    PGresult *res =
        db_exec_params(conn,
                       "SELECT c.id_pvd::text FROM conventions c WHERE c.id = CASE WHEN "
                       "$1 ~ '" PG_UUID_RE "' THEN $1::uuid END",
                       1, params);
    r = db_result_from_pg(conn, res, err);
    if (r == DB_OK && PQntuples(res) == 0)
        r = DB_NOT_FOUND;
    if (r == DB_OK)
        snprintf(id_pvd, 17, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    db_pool_release(pool, conn);
    return r;
}

void comite_list_release(struct comite_list *list)
{
    for (size_t i = 0; list->rows && i < list->count; i++)
        free(list->rows[i].json);
    free(list->rows);
    list->rows = NULL;
    list->count = 0;
}

static const struct list_sync_columns list_columns = {"x.modifie_le", "x.id_pvd", "text", NULL};

enum db_result comite_list_batch(struct db_pool *pool, const char *id_pvd,
                                 const struct list_sync *sync, const char *after, size_t batch,
                                 struct comite_list *out, struct db_error *err)
{
    struct db_conn *conn = NULL;
    char limit_text[24];
    memset(out, 0, sizeof *out);
    enum db_result r = db_pool_acquire(pool, &conn, err);
    if (r != DB_OK)
        return r;
    snprintf(limit_text, sizeof limit_text, "%zu", batch);
    const char *params[4] = {id_pvd};
    list_sync_params(sync, after, limit_text, params + 1);
    char *sql =
        list_sync_page_sql(sync, &list_columns,
                           "comite_representation(x)::text, p.departements::text, "
                           "p.regions::text, p.sirens::text",
                           "FROM comites x CROSS JOIN LATERAL territoire_portee(x.id_pvd) p "
                           "WHERE ($1::text IS NULL OR x.id_pvd = $1)",
                           2);
    PGresult *res = sql ? db_exec_params(conn, sql, 4, params) : NULL;
    free(sql);
    r = res ? db_result_from_pg(conn, res, err) : DB_FAILED;
    int n = r == DB_OK ? PQntuples(res) : 0;
    if (n > 0) {
        out->rows = calloc((size_t)n, sizeof *out->rows);
        if (!out->rows)
            r = DB_FAILED;
    }
    for (int i = 0; r == DB_OK && i < n; i++) {
        struct comite_list_row *row = &out->rows[i];
        snprintf(row->key, sizeof row->key, "%s", PQgetvalue(res, i, 0));
        snprintf(row->id_pvd, sizeof row->id_pvd, "%s", PQgetvalue(res, i, 5));
        row->json = pg_strdup(PQgetvalue(res, i, 1));
        out->count++;
        if (!row->json) {
            r = DB_FAILED;
            break;
        }
        row->departement_count =
            pg_parse_code_array(PQgetvalue(res, i, 2), &row->departements[0][0], 4, 8);
        row->region_count = pg_parse_code_array(PQgetvalue(res, i, 3), &row->regions[0][0], 4, 8);
        row->siren_count = pg_parse_code_array(PQgetvalue(res, i, 4), &row->sirens[0][0], 10, 64);
    }
    PQclear(res);
    db_pool_release(pool, conn);
    if (r != DB_OK)
        comite_list_release(out);
    return r;
}
