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

enum db_result plan_action_perimetres_check(struct db_tx *tx, const char *id_pvd,
                                            const char *body_json, struct rule_report *violations,
                                            struct db_error *err)
{
    const char *params[2] = {id_pvd, body_json};
    PGresult *res = NULL;
    enum db_result r = pg_exec_rows(
        tx->conn,
        "SELECT p.i - 1, c.j - 1, c.code FROM jsonb_array_elements(CASE WHEN "
        "jsonb_typeof($2::jsonb->'perimetres') = 'array' THEN $2::jsonb->'perimetres' ELSE "
        "'[]'::jsonb END) WITH ORDINALITY p(v, i), jsonb_array_elements_text(CASE WHEN "
        "jsonb_typeof(p.v->'communes') = 'array' THEN p.v->'communes' ELSE '[]'::jsonb END) WITH "
        "ORDINALITY c(code, j) WHERE NOT EXISTS (SELECT 1 FROM territoire_communes tc WHERE "
        "tc.id_pvd = $1 AND tc.code_insee = c.code) ORDER BY p.i, c.j",
        2, params, &res, err);
    for (int i = 0; r == DB_OK && i < PQntuples(res); i++) {
        char pointer[64];
        snprintf(pointer, sizeof pointer, "/perimetres/%s/communes/%s", PQgetvalue(res, i, 0),
                 PQgetvalue(res, i, 1));
        rule_report_add(violations, "", "commune-hors-territoire", pointer,
                        "La commune %s n'est pas une commune du territoire %s.",
                        PQgetvalue(res, i, 2), id_pvd);
    }
    PQclear(res);
    return r;
}

#define VERSION_SUMMARY                                                                            \
    "jsonb_build_object('version', v.version, 'decision_id', v.decision_id, "                      \
    "'date_validation_comite', v.date_validation_comite, 'nombre_fiches', "                        \
    "jsonb_array_length(COALESCE(v.representation->'fiches', '[]'::jsonb)), 'cree_par', "          \
    "v.cree_par, 'cree_le', horodatage(v.cree_le))"

enum db_result plan_action_versions(struct db_conn *conn, const char *id_pvd, long after,
                                    size_t limit, char **json_out, char last[24], bool *more,
                                    size_t *total, struct db_error *err)
{
    char after_text[24], limit_text[24];
    snprintf(after_text, sizeof after_text, "%ld", after);
    snprintf(limit_text, sizeof limit_text, "%zu", limit + 1);
    const char *params[3] = {id_pvd, after_text, limit_text};
    *json_out = NULL;
    last[0] = '\0';
    *more = false;
    PGresult *res = NULL;
    enum db_result r = pg_exec_rows(conn,
                                    "SELECT v.version::text, " VERSION_SUMMARY
                                    "::text FROM plan_action_versions v WHERE v.id_pvd = $1 AND "
                                    "v.version > $2::int ORDER BY v.version LIMIT $3::int",
                                    3, params, &res, err);
    if (r == DB_OK && !pg_json_page(res, limit, json_out, last, 24, more))
        r = DB_FAILED;
    PQclear(res);
    if (r == DB_OK)
        r = pg_count(conn, "SELECT count(*) FROM plan_action_versions WHERE id_pvd = $1", 1, params,
                     total, err);
    return r;
}

enum db_result plan_action_version(struct db_conn *conn, const char *id_pvd, long version,
                                   char **json_out, struct db_error *err)
{
    char version_text[24];
    snprintf(version_text, sizeof version_text, "%ld", version);
    const char *params[2] = {id_pvd, version_text};
    PGresult *res = NULL;
    *json_out = NULL;
    enum db_result r = pg_exec_first_row(
        conn,
        "SELECT (" VERSION_SUMMARY " || jsonb_build_object('plan', "
        "v.representation))::text FROM plan_action_versions v WHERE v.id_pvd = $1 AND v.version "
        "= $2::int",
        2, params, &res, err);
    if (r == DB_OK && !(*json_out = pg_strdup(PQgetvalue(res, 0, 0))))
        r = DB_FAILED;
    PQclear(res);
    return r;
}

enum db_result plan_action_freeze_if_valide_plan(struct db_tx *tx, const char *id_pvd,
                                                 const char *decision_id, struct db_error *err)
{
    const char *params[1] = {decision_id};
    PGresult *res = NULL;
    enum db_result r = pg_exec_first_row(
        tx->conn,
        "SELECT 1 FROM decisions WHERE id = " PG_AS_UUID("$1") " AND type = 'valide_plan'", 1,
        params, &res, err);
    PQclear(res);
    if (r == DB_NOT_FOUND)
        return DB_OK;
    if (r != DB_OK)
        return r;
    struct plan_action_row frozen;
    r = plan_action_freeze(tx, id_pvd, decision_id, &frozen, err);
    plan_action_row_release(&frozen);
    return r;
}
