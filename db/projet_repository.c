/* Storage of the projet de territoire (see projet_repository.h). */
#include "projet_repository.h"
#include "statements.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgutil.h"

struct objet_sql {
    const char *type;
    const char *table;
    const char *representation;
    const char *id_pvd; /* expression of the territoire of row x */
    /* children listing: parent column, key expression, order */
    const char *parent_column;
    const char *key;
    const char *modifie; /* its modifie_le column, NULL: none */
};

static const struct objet_sql objets[PROJET_OBJET__COUNT] = {
    [PROJET_AXE] = {"axe_strategique", "axes_strategiques", "axe_strategique_representation",
                    "x.id_pvd", "x.id_pvd", "lpad(x.numero::text, 2, '0')", "x.modifie_le"},
    [PROJET_INDICATEUR] = {"indicateur", "indicateurs", "indicateur_representation",
                           "(SELECT a.id_pvd FROM axes_strategiques a WHERE a.id = x.axe_id)",
                           "x.axe_id", "x.id::text", "x.modifie_le"},
    [PROJET_MESURE] = {"indicateur_mesure", "indicateur_mesures",
                       "indicateur_mesure_representation",
                       "(SELECT a.id_pvd FROM indicateurs i JOIN axes_strategiques a ON a.id = "
                       "i.axe_id WHERE i.id = x.indicateur_id)",
                       "x.indicateur_id", "x.date::text", NULL},
    [PROJET_COMITE] = {"comite", "comites", "comite_representation", "x.id_pvd", "x.id_pvd",
                       "x.id_pvd::text", "x.modifie_le"},
    [PROJET_SEANCE] = {"seance", "seances", "seance_representation",
                       "(SELECT c.id_pvd FROM comites c WHERE c.id = x.comite_id)", "x.comite_id",
                       "x.date::text || '/' || x.id::text", "x.modifie_le"},
    [PROJET_DECISION] = {"decision", "decisions", "decision_representation",
                         "(SELECT c.id_pvd FROM seances s JOIN comites c ON c.id = s.comite_id "
                         "WHERE s.id = x.seance_id)",
                         "x.seance_id", "x.id::text", NULL},
};

const char *projet_objet_type(enum projet_objet kind)
{
    return (unsigned)kind < PROJET_OBJET__COUNT ? objets[kind].type : NULL;
}

void projet_row_release(struct projet_row *row)
{
    free(row->json);
    row->json = NULL;
}

static enum db_result fill_row(const PGresult *res, int row, void *dst)
{
    struct projet_row *out = dst;
    snprintf(out->id, sizeof out->id, "%s", PQgetvalue(res, row, 0));
    snprintf(out->id_pvd, sizeof out->id_pvd, "%s", PQgetvalue(res, row, 1));
    out->json = pg_strdup(PQgetvalue(res, row, 2));
    return out->json ? DB_OK : DB_FAILED;
}

enum db_result projet_exec_row(struct db_conn *conn, const char *sql, int nparams,
                               const char *const *params, struct projet_row *out,
                               struct db_error *err)
{
    return pg_one_row(conn, sql, nparams, params, fill_row, out, sizeof *out, err);
}

static enum db_result get_row(struct db_conn *conn, enum projet_objet kind, const char *id,
                              bool lock, struct projet_row *out, struct db_error *err)
{
    const struct objet_sql *o = &objets[kind];
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT x.id::text, %s, %s(x)::text FROM %s x WHERE x.id = " PG_AS_UUID("$1") "%s",
             o->id_pvd, o->representation, o->table, lock ? " FOR UPDATE OF x" : "");
    const char *params[1] = {id};
    return projet_exec_row(conn, sql, 1, params, out, err);
}

enum db_result projet_get(struct db_conn *conn, enum projet_objet kind, const char *id,
                          struct projet_row *out, struct db_error *err)
{
    return get_row(conn, kind, id, false, out, err);
}

enum db_result projet_get_pooled(struct db_pool *pool, enum projet_objet kind, const char *id,
                                 struct projet_row *out, struct db_error *err)
{
    struct db_conn *conn = NULL;
    memset(out, 0, sizeof *out);
    enum db_result r = db_pool_acquire(pool, &conn, err);
    if (r != DB_OK)
        return r;
    r = projet_get(conn, kind, id, out, err);
    db_pool_release(pool, conn);
    return r;
}

enum db_result projet_lock(struct db_tx *tx, enum projet_objet kind, const char *id,
                           struct projet_row *out, struct db_error *err)
{
    return get_row(tx->conn, kind, id, true, out, err);
}

bool projet_objet_modifiable(enum projet_objet kind)
{
    return (unsigned)kind < PROJET_OBJET__COUNT && objets[kind].modifie != NULL;
}

enum db_result projet_list_children(struct db_pool *pool, enum projet_objet kind,
                                    const char *parent, const struct list_sync *sync,
                                    const char *after, size_t limit, char **json_out,
                                    char last_key[65], bool *more, size_t *total,
                                    struct db_error *err)
{
    const struct objet_sql *o = &objets[kind];
    const struct list_sync_columns columns = {o->modifie, "x.id", "uuid", o->key};
    char select[128], from[256];
    snprintf(select, sizeof select, "%s(x)::text", o->representation);
    snprintf(from, sizeof from, "FROM %s x WHERE %s = $1%s", o->table, o->parent_column,
             kind == PROJET_AXE ? "" : "::uuid");
    const char *params[4] = {parent};
    struct db_conn *conn = NULL;
    *json_out = NULL;
    last_key[0] = '\0';
    *more = false;
    enum db_result r = db_pool_acquire(pool, &conn, err);
    if (r != DB_OK)
        return r;
    r = list_sync_page(conn, sync, &columns, select, from, 2, params, after, limit, json_out,
                       last_key, more, total, err);
    db_pool_release(pool, conn);
    return r;
}

enum db_result projet_journal(struct db_tx *tx, enum projet_objet kind, const char *verb,
                              const struct projet_row *avant, const struct projet_row *apres,
                              const struct journal_scope *scope, struct db_error *err)
{
    char action[64];
    snprintf(action, sizeof action, "%s.%s", objets[kind].type, verb);
    const struct projet_row *any = apres ? apres : avant;
    struct journal_entry e = {
        action, objets[kind].type, any->id, avant ? avant->json : NULL, apres ? apres->json : NULL,
        *scope};
    return journal_record(tx, &e, err);
}

enum db_result projet_delete(struct db_tx *tx, enum projet_objet kind, const char *id,
                             struct db_error *err)
{
    if (kind != PROJET_AXE && kind != PROJET_INDICATEUR)
        return DB_FAILED;
    char sql[256];
    snprintf(sql, sizeof sql, "DELETE FROM %s x WHERE x.id = " PG_AS_UUID("$1"),
             objets[kind].table);
    const char *params[1] = {id};
    PGresult *res = db_exec_params(tx->conn, sql, 1, params);
    enum db_result r = db_result_from_pg(tx->conn, res, err);
    if (r == DB_OK && strcmp(PQcmdTuples(res), "1") != 0)
        r = DB_NOT_FOUND;
    PQclear(res);
    return r;
}

#define AXE_RETURNING                                                                              \
    " RETURNING x.id::text, x.id_pvd::text, axe_strategique_representation(x)::text"
#define AXE_VALUES                                                                                 \
    "(b->>'numero')::smallint, b->>'intitule', b->>'enjeux', "                                     \
    "ARRAY(SELECT jsonb_array_elements_text(COALESCE(b->'partenaires', '[]'::jsonb)))::uuid[], "   \
    "b->>'echelle'"

enum db_result axe_insert(struct db_tx *tx, const char *id_pvd, const char *body_json,
                          struct projet_row *out, struct db_error *err)
{
    const char *params[2] = {id_pvd, body_json};
    return projet_exec_row(tx->conn,
                           "INSERT INTO axes_strategiques AS x (id_pvd, numero, intitule, enjeux, "
                           "partenaires, echelle) SELECT $1, " AXE_VALUES
                           " FROM (SELECT $2::jsonb AS b) s" AXE_RETURNING,
                           2, params, out, err);
}

enum db_result axe_update(struct db_tx *tx, const char *id, const char *body_json,
                          struct projet_row *out, struct db_error *err)
{
    const char *params[2] = {id, body_json};
    return projet_exec_row(tx->conn,
                           "UPDATE axes_strategiques AS x SET (numero, intitule, enjeux, "
                           "partenaires, echelle) = (SELECT " AXE_VALUES "), revision = "
                           "x.revision + 1, modifie_le = now() FROM (SELECT $2::jsonb AS b) s "
                           "WHERE x.id = $1::uuid" AXE_RETURNING,
                           2, params, out, err);
}

#define INDICATEUR_RETURNING                                                                       \
    " RETURNING x.id::text, (SELECT a.id_pvd FROM axes_strategiques a WHERE a.id = x.axe_id), "    \
    "indicateur_representation(x)::text"
#define INDICATEUR_VALUES                                                                          \
    "b->>'type', b->>'libelle', b->>'unite', (b->>'valeur_reference')::numeric, "                  \
    "(b->>'date_reference')::date, (b->>'valeur_cible')::numeric, (b->>'date_cible')::date"

enum db_result indicateur_insert(struct db_tx *tx, const char *axe_id, const char *body_json,
                                 struct projet_row *out, struct db_error *err)
{
    const char *params[2] = {axe_id, body_json};
    return projet_exec_row(tx->conn,
                           "INSERT INTO indicateurs AS x (axe_id, type, libelle, unite, "
                           "valeur_reference, date_reference, valeur_cible, date_cible) SELECT "
                           "$1::uuid, " INDICATEUR_VALUES
                           " FROM (SELECT $2::jsonb AS b) s" INDICATEUR_RETURNING,
                           2, params, out, err);
}

enum db_result indicateur_update(struct db_tx *tx, const char *id, const char *body_json,
                                 struct projet_row *out, struct db_error *err)
{
    const char *params[2] = {id, body_json};
    return projet_exec_row(
        tx->conn,
        "UPDATE indicateurs AS x SET (type, libelle, unite, valeur_reference, date_reference, "
        "valeur_cible, date_cible) = (SELECT " INDICATEUR_VALUES "), revision = x.revision + 1, "
        "modifie_le = now() FROM (SELECT $2::jsonb AS b) s WHERE x.id = "
        "$1::uuid" INDICATEUR_RETURNING,
        2, params, out, err);
}

enum db_result mesure_insert(struct db_tx *tx, const char *indicateur_id, const char *body_json,
                             struct projet_row *out, struct db_error *err)
{
    const char *params[2] = {indicateur_id, body_json};
    return projet_exec_row(
        tx->conn,
        "INSERT INTO indicateur_mesures AS x (indicateur_id, date, valeur, source) SELECT "
        "$1::uuid, (b->>'date')::date, (b->>'valeur')::numeric, b->>'source' FROM (SELECT "
        "$2::jsonb AS b) s RETURNING x.id::text, (SELECT a.id_pvd FROM indicateurs i JOIN "
        "axes_strategiques a ON a.id = i.axe_id WHERE i.id = x.indicateur_id), "
        "indicateur_mesure_representation(x)::text",
        2, params, out, err);
}

enum db_result organisations_sirens(struct db_pool *pool, const char *ids_json, char **found_json,
                                    struct db_error *err)
{
    struct db_conn *conn = NULL;
    *found_json = NULL;
    enum db_result r = db_pool_acquire(pool, &conn, err);
    if (r != DB_OK)
        return r;
    const char *params[1] = {ids_json};
    PGresult *res = db_exec_params(
        conn,
        "SELECT COALESCE(jsonb_object_agg(o.id::text, o.siren), '{}'::jsonb)::text FROM "
        "organisations o WHERE o.id::text IN (SELECT lower(jsonb_array_elements_text($1::jsonb)))",
        1, params);
    r = db_result_from_pg(conn, res, err);
    if (r == DB_OK) {
        *found_json = pg_strdup(PQgetvalue(res, 0, 0));
        if (!*found_json)
            r = DB_FAILED;
    }
    PQclear(res);
    db_pool_release(pool, conn);
    return r;
}
