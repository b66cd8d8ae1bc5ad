/* Storage of the plan d'action (see plan_action_repository.h). */
#include "plan_action_repository.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgutil.h"
#include "territoire_lock.h"
#include "territoire_scope.h"

/* ---- plan d'action ----------------------------------------------------------- */

void plan_action_row_release(struct plan_action_row *row)
{
    free(row->json);
    row->json = NULL;
}

static enum db_result fill_plan(const PGresult *res, int row, void *dst)
{
    struct plan_action_row *out = dst;
    snprintf(out->id_pvd, sizeof out->id_pvd, "%s", PQgetvalue(res, row, 0));
    out->revision = strtol(PQgetvalue(res, row, 1), NULL, 10);
    out->version = strtol(PQgetvalue(res, row, 2), NULL, 10);
    out->json = pg_strdup(PQgetvalue(res, row, 3));
    return out->json ? DB_OK : DB_FAILED;
}

#define PLAN_SELECT                                                                                \
    "SELECT t.id_pvd::text, COALESCE(p.revision, 0), COALESCE(p.version, 0), CASE WHEN "           \
    "p.id_pvd IS NULL THEN jsonb_build_object('id_pvd', t.id_pvd, 'programme_global', '', "        \
    "'perimetres', '[]'::jsonb, 'version', 0, 'date_validation_comite', NULL, 'nombre_fiches', "   \
    "0, 'cree_le', NULL, 'modifie_le', NULL) ELSE plan_action_representation(p) END::text FROM "   \
    "territoires t LEFT JOIN plans_action p ON p.id_pvd = t.id_pvd WHERE t.id_pvd = $1"

enum db_result plan_action_get(struct db_conn *conn, const char *id_pvd,
                               struct plan_action_row *out, struct db_error *err)
{
    const char *params[1] = {id_pvd};
    return pg_one_row(conn, PLAN_SELECT, 1, params, fill_plan, out, sizeof *out, err);
}

/* Territoire lock (which serializes every writer of the plan row), then the
 * plan as it is. */
static enum db_result lock_plan(struct db_tx *tx, const char *id_pvd, struct plan_action_row *avant,
                                struct db_error *err)
{
    memset(avant, 0, sizeof *avant);
    enum db_result r = territoire_lock(tx, id_pvd, err);
    if (r != DB_OK)
        return r;
    return plan_action_get(tx->conn, id_pvd, avant, err);
}

static enum db_result plan_journal(struct db_tx *tx, const char *action, const char *id_pvd,
                                   const struct plan_action_row *avant,
                                   const struct plan_action_row *apres, struct db_error *err)
{
    struct journal_entry e = {
        action, "plan_action", id_pvd, avant->revision > 0 ? avant->json : NULL, apres->json, {0}};
    return territoire_journal_record(tx, id_pvd, &e, err);
}

enum db_result plan_action_update(struct db_tx *tx, const char *id_pvd, long expected_revision,
                                  const char *body_json, struct plan_action_row *out,
                                  struct db_error *err)
{
    struct plan_action_row avant;
    memset(out, 0, sizeof *out);
    enum db_result r = lock_plan(tx, id_pvd, &avant, err);
    if (r == DB_OK && expected_revision >= 0 && avant.revision != expected_revision)
        r = DB_STALE;
    const char *params[2] = {id_pvd, body_json};
    if (r == DB_OK)
        r = pg_exec_command(
            tx->conn,
            "INSERT INTO plans_action AS p (id_pvd, programme_global, perimetres) SELECT $1, "
            "COALESCE(b->>'programme_global', ''), CASE WHEN jsonb_typeof(b->'perimetres') = "
            "'array' THEN b->'perimetres' ELSE '[]'::jsonb END FROM (SELECT $2::jsonb AS b) s "
            "ON CONFLICT (id_pvd) DO UPDATE SET programme_global = CASE WHEN $2::jsonb ? "
            "'programme_global' THEN EXCLUDED.programme_global ELSE p.programme_global END, "
            "perimetres = CASE WHEN $2::jsonb ? 'perimetres' THEN EXCLUDED.perimetres ELSE "
            "p.perimetres END, revision = p.revision + 1, modifie_le = now()",
            2, params, err);
    if (r == DB_OK)
        r = plan_action_get(tx->conn, id_pvd, out, err);
    if (r == DB_OK)
        r = plan_journal(tx, "plan_action.modifier", id_pvd, &avant, out, err);
    if (r != DB_OK)
        plan_action_row_release(out);
    plan_action_row_release(&avant);
    return r;
}

enum db_result plan_action_freeze(struct db_tx *tx, const char *id_pvd, const char *decision_id,
                                  struct plan_action_row *out, struct db_error *err)
{
    struct plan_action_row avant;
    memset(out, 0, sizeof *out);
    enum db_result r = lock_plan(tx, id_pvd, &avant, err);
    if (r != DB_OK)
        return r;
    const char *params[2] = {id_pvd, decision_id};
    PGresult *res = NULL;
    r = pg_exec_first_row(
        tx->conn,
        "SELECT s.date::text FROM decisions d JOIN seances s ON s.id = "
        "d.seance_id JOIN comites c ON c.id = s.comite_id WHERE d.id = " PG_AS_UUID(
            "$2") " AND d.type = 'valide_plan' AND c.id_pvd = $1",
        2, params, &res, err);
    if (r == DB_NOT_FOUND)
        r = DB_CONFLICT;
    char date[16] = "";
    if (r == DB_OK)
        snprintf(date, sizeof date, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    const char *p2[2] = {id_pvd, date};
    const char *p4[4] = {id_pvd, decision_id, date,
                         tx->actor && tx->actor->acteur ? tx->actor->acteur : "?"};
    if (r == DB_OK)
        r = pg_exec_command(tx->conn,
                            "INSERT INTO plans_action AS p (id_pvd, version, "
                            "date_validation_comite) VALUES ($1, 1, $2::date) ON CONFLICT "
                            "(id_pvd) DO UPDATE SET version = p.version + 1, "
                            "date_validation_comite = $2::date, revision = p.revision + 1, "
                            "modifie_le = now()",
                            2, p2, err);
    if (r == DB_OK)
        r = pg_exec_command(
            tx->conn,
            "INSERT INTO plan_action_versions (id_pvd, version, decision_id, "
            "date_validation_comite, representation, cree_par) SELECT p.id_pvd, p.version, "
            "$2::uuid, $3::date, plan_action_representation(p) || jsonb_build_object('fiches', "
            "COALESCE((SELECT jsonb_agg(fiche_representation(f) ORDER BY f.numero, f.id) FROM "
            "fiches_action f WHERE f.id_pvd = p.id_pvd), '[]'::jsonb)), $4 FROM plans_action p "
            "WHERE p.id_pvd = $1",
            4, p4, err);
    if (r == DB_OK)
        r = plan_action_get(tx->conn, id_pvd, out, err);
    if (r == DB_OK)
        r = plan_journal(tx, "plan_action.valider", id_pvd, &avant, out, err);
    if (r != DB_OK)
        plan_action_row_release(out);
    plan_action_row_release(&avant);
    return r;
}
