/* Storage of the fiches action (see fiche_repository.h). */
#include "fiche_repository.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgutil.h"
#include "territoire_lock.h"
#include "territoire_scope.h"

#define UUID_RE    "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
#define AS_UUID(p) "CASE WHEN " p " ~ '" UUID_RE "' THEN " p "::uuid END"

#define ROW_COLUMNS "x.id::text, x.id_pvd::text, x.revision, fiche_representation(x)::text"

/* ---- rows ---------------------------------------------------------------- */

void fiche_row_release(struct fiche_row *row)
{
    free(row->json);
    row->json = NULL;
}

static enum db_result fill_row(const PGresult *res, int row, void *dst)
{
    struct fiche_row *out = dst;
    snprintf(out->id, sizeof out->id, "%s", PQgetvalue(res, row, 0));
    snprintf(out->id_pvd, sizeof out->id_pvd, "%s", PQgetvalue(res, row, 1));
    out->revision = strtol(PQgetvalue(res, row, 2), NULL, 10);
    out->json = pg_strdup(PQgetvalue(res, row, 3));
    return out->json ? DB_OK : DB_FAILED;
}

static enum db_result read_row(struct db_conn *conn, const char *id, bool lock,
                               struct fiche_row *out, struct db_error *err)
{
    const char *params[1] = {id};
    return pg_one_row(conn,
                      lock ? "SELECT " ROW_COLUMNS
                             " FROM fiches_action x WHERE x.id = " AS_UUID("$1") " FOR UPDATE OF x"
                           : "SELECT " ROW_COLUMNS
                             " FROM fiches_action x WHERE x.id = " AS_UUID("$1"),
                      1, params, fill_row, out, sizeof *out, err);
}

enum db_result fiche_get(struct db_conn *conn, const char *id, struct fiche_row *out,
                         struct db_error *err)
{
    return read_row(conn, id, false, out, err);
}

enum db_result fiche_get_pooled(struct db_pool *pool, const char *id, struct fiche_row *out,
                                struct db_error *err)
{
    struct db_conn *conn = NULL;
    memset(out, 0, sizeof *out);
    enum db_result r = db_pool_acquire(pool, &conn, err);
    if (r != DB_OK)
        return r;
    r = fiche_get(conn, id, out, err);
    db_pool_release(pool, conn);
    return r;
}

/* Runs sql and keeps its rows in *res (PQclear by the caller, also on failure). */
static enum db_result query(struct db_conn *conn, const char *sql, int nparams,
                            const char *const *params, PGresult **res, struct db_error *err)
{
    *res = PQexecParams(conn->pg, sql, nparams, NULL, params, NULL, NULL, 0);
    return db_result_from_pg(conn, *res, err);
}

/* ---- list ---------------------------------------------------------------- */

#define LIST_WHERE                                                                                 \
    " FROM fiches_action x JOIN territoires t ON t.id_pvd = x.id_pvd"                              \
    " WHERE ($1::text IS NULL OR x.id_pvd = $1)"                                                   \
    " AND ($2::text IS NULL OR t.code_departement = $2 OR EXISTS (SELECT 1 FROM"                   \
    " territoire_communes tc JOIN communes c ON c.code_insee = tc.code_insee AND c.type ="         \
    " 'commune-actuelle' WHERE tc.id_pvd = x.id_pvd AND c.code_departement = $2))"                 \
    " AND ($3::text IS NULL OR t.code_region = $3 OR EXISTS (SELECT 1 FROM"                        \
    " territoire_communes tc JOIN communes c ON c.code_insee = tc.code_insee AND c.type ="         \
    " 'commune-actuelle' WHERE tc.id_pvd = x.id_pvd AND c.code_region = $3))"                      \
    " AND ($4::text IS NULL OR x.axe_id = " AS_UUID(                                               \
        "$4") ")"                                                                                  \
              " AND ($5::text IS NULL OR x.etat = $5)"                                             \
              " AND ($6::text IS NULL OR x.maitre_ouvrage_id = " AS_UUID(                          \
                  "$6") ")"                                                                        \
                        " AND ($7::boolean IS NULL OR x.public = $7)"

enum db_result fiche_list(struct db_pool *pool, const struct fiche_filtre *f, const char *after,
                          size_t limit, char **json_out, char last_key[37], bool *more,
                          size_t *total, struct db_error *err)
{
    char limit_text[24];
    *json_out = NULL;
    last_key[0] = '\0';
    *more = false;
    *total = 0;
    snprintf(limit_text, sizeof limit_text, "%zu", limit + 1);
    const char *pub = f->public_ < 0 ? NULL : f->public_ ? "true" : "false";
    const char *params[9] = {f->id_pvd, f->departement, f->region,
                             f->axe_id, f->etat,        f->maitre_ouvrage_id,
                             pub,       after,          limit_text};
    struct db_conn *conn = NULL;
    enum db_result r = db_pool_acquire(pool, &conn, err);
    if (r != DB_OK)
        return r;
    PGresult *res = NULL;
    r = query(conn,
              "SELECT x.id::text, fiche_representation(x)::text" LIST_WHERE
              " AND ($8::text IS NULL OR x.id > " AS_UUID("$8") ") ORDER BY x.id LIMIT $9::int",
              9, params, &res, err);
    if (r == DB_OK && !pg_json_page(res, limit, json_out, last_key, 37, more))
        r = DB_FAILED;
    PQclear(res);
    if (r == DB_OK)
        r = pg_count(conn, "SELECT count(*)" LIST_WHERE, 7, params, total, err);
    db_pool_release(pool, conn);
    if (r != DB_OK) {
        free(*json_out);
        *json_out = NULL;
    }
    return r;
}

/* ---- writes -------------------------------------------------------------- */

/* A member of the body and the column it writes. expr reads the body `b`;
 * dflt (or NULL) replaces a null/absent value of a NOT NULL column. */
struct colonne {
    const char *column;
    const char *key;
    const char *expr;
    const char *dflt;
};

#define UUID_ARRAY(k)                                                                              \
    "ARRAY(SELECT jsonb_array_elements_text(CASE WHEN jsonb_typeof(b->'" k "') = 'array' THEN "    \
    "b->'" k "' ELSE '[]'::jsonb END))::uuid[]"
#define TEXT_ARRAY(k)                                                                              \
    "ARRAY(SELECT jsonb_array_elements_text(CASE WHEN jsonb_typeof(b->'" k "') = 'array' THEN "    \
    "b->'" k "' ELSE '[]'::jsonb END))::text[]"

static const struct colonne colonnes[] = {
    {"numero", "numero", "b->>'numero'", NULL},
    {"intitule", "intitule", "b->>'intitule'", NULL},
    {"axe_id", "axe_id", "(b->>'axe_id')::uuid", NULL},
    {"description", "description", "b->>'description'", NULL},
    {"objectifs", "objectifs", "b->>'objectifs'", NULL},
    {"maitre_ouvrage_id", "maitre_ouvrage_id", "(b->>'maitre_ouvrage_id')::uuid", NULL},
    {"partenaires", "partenaires", UUID_ARRAY("partenaires"), NULL},
    {"thematiques", "thematiques", TEXT_ARRAY("thematiques"), NULL},
    {"localisation_commune_insee", "localisation_commune_insee", "b->>'localisation_commune_insee'",
     NULL},
    {"intercommunale", "intercommunale", "(b->>'intercommunale')::boolean", "false"},
    {"dans_secteur_ort_id", "dans_secteur_ort_id", "(b->>'dans_secteur_ort_id')::uuid", NULL},
    {"nature_depense", "nature_depense", "b->>'nature_depense'", NULL},
    {"cout_total_ht", "cout_total_ht", "(b->>'cout_total_ht')::bigint", NULL},
    {"cout_total_ttc", "cout_total_ttc", "(b->>'cout_total_ttc')::bigint", NULL},
    {"depense_subventionnable_ht", "depense_subventionnable_ht",
     "(b->>'depense_subventionnable_ht')::bigint", NULL},
    {"base_financement", "base_financement", "b->>'base_financement'", "'ht'"},
    {"date_debut_prevue", "date_debut_prevue", "(b->>'date_debut_prevue')::date", NULL},
    {"date_fin_prevue", "date_fin_prevue", "(b->>'date_fin_prevue')::date", NULL},
    {"priorite", "priorite", "b->>'priorite'", NULL},
    {"lien_crte", "lien_crte", "(b->>'lien_crte')::boolean", "false"},
    {"crte_id", "crte_id", "b->>'crte_id'", NULL},
    {"date_examen_comite", "date_examen_comite", "(b->>'date_examen_comite')::date", NULL},
    {"comite_seance_id", "comite_seance_id", "(b->>'comite_seance_id')::uuid", NULL},
    {"avant_convention_cadre", "avant_convention_cadre", "(b->>'avant_convention_cadre')::boolean",
     "false"},
    {"public", "public", "(b->>'public')::boolean", "false"},
    {"pieces_jointes", "pieces_jointes",
     "CASE WHEN jsonb_typeof(b->'pieces_jointes') = 'array' THEN b->'pieces_jointes' END",
     "'[]'::jsonb"},
    {"derogation_type", "derogation_l1111_10", "b->'derogation_l1111_10'->>'type'", NULL},
    {"derogation_reference", "derogation_l1111_10", "b->'derogation_l1111_10'->>'reference'", NULL},
};
#define COLONNE_COUNT (sizeof colonnes / sizeof colonnes[0])

static void add(struct pg_buf *b, const char *s)
{
    pg_buf_add(b, s, strlen(s));
}

static void add_value(struct pg_buf *b, const struct colonne *c)
{
    if (c->dflt) {
        add(b, "COALESCE(");
        add(b, c->expr);
        add(b, ", ");
        add(b, c->dflt);
        add(b, ")");
    } else {
        add(b, c->expr);
    }
}

/* The statements, built once per call (small): INSERT … SELECT exprs FROM
 * (SELECT $3::jsonb AS b) s, and UPDATE … SET col = CASE WHEN b ? key …. NUL-
 * terminated; NULL on allocation failure (free()). */
static char *insert_sql(void)
{
    struct pg_buf b = PG_BUF_INIT;
    add(&b, "INSERT INTO fiches_action AS x (id_pvd, cree_par");
    for (size_t i = 0; i < COLONNE_COUNT; i++) {
        add(&b, ", ");
        add(&b, colonnes[i].column);
    }
    add(&b, ") SELECT $1, $2");
    for (size_t i = 0; i < COLONNE_COUNT; i++) {
        add(&b, ", ");
        add_value(&b, &colonnes[i]);
    }
    add(&b, " FROM (SELECT $3::jsonb AS b) s RETURNING x.id::text");
    pg_buf_add(&b, "", 1);
    if (b.oom) {
        pg_buf_release(&b);
        return NULL;
    }
    return b.data;
}

static char *update_sql(void)
{
    struct pg_buf b = PG_BUF_INIT;
    add(&b, "UPDATE fiches_action AS x SET revision = x.revision + 1, modifie_le = now()");
    for (size_t i = 0; i < COLONNE_COUNT; i++) {
        add(&b, ", ");
        add(&b, colonnes[i].column);
        add(&b, " = CASE WHEN b ? '");
        add(&b, colonnes[i].key);
        add(&b, "' THEN ");
        add_value(&b, &colonnes[i]);
        add(&b, " ELSE x.");
        add(&b, colonnes[i].column);
        add(&b, " END");
    }
    add(&b, " FROM (SELECT $2::jsonb AS b) s WHERE x.id = $1::uuid");
    pg_buf_add(&b, "", 1);
    if (b.oom) {
        pg_buf_release(&b);
        return NULL;
    }
    return b.data;
}

#define LIGNES_INSERT                                                                              \
    "INSERT INTO fiche_financements (fiche_id, rang, financeur_id, dispositif, nature_financeur, " \
    "montant, assiette_ht, statut) SELECT $1::uuid, (COALESCE((SELECT max(o.rang) + 1 FROM "       \
    "fiche_financements o WHERE o.fiche_id = $1::uuid), 0) + e.n - 1)::smallint, "                 \
    "(e.v->>'financeur_id')::uuid, e.v->>'dispositif', e.v->>'nature_financeur', "                 \
    "(e.v->>'montant')::bigint, (e.v->>'assiette_ht')::bigint, COALESCE(e.v->>'statut', "          \
    "'envisage') FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS e(v, n)"

#define ECHEANCIER_INSERT                                                                          \
    "INSERT INTO fiche_echeancier (fiche_id, annee, montant) SELECT $1::uuid, "                    \
    "(e.v->>'annee')::smallint, (e.v->>'montant')::bigint FROM jsonb_array_elements($2::jsonb) "   \
    "e(v)"

#define INDICATEURS_INSERT                                                                         \
    "INSERT INTO fiche_indicateurs (fiche_id, indicateur_id, rang) SELECT $1::uuid, "              \
    "e.v::uuid, (e.n - 1)::smallint FROM jsonb_array_elements_text($2::jsonb) WITH ORDINALITY "    \
    "AS e(v, n)"

/* Writes the lists of the body present in it (replace: the old ones deleted
 * first). */
static enum db_result write_lists(struct db_tx *tx, const char *id, const char *body_json,
                                  bool replace, struct db_error *err)
{
    static const struct {
        const char *key, *table, *insert;
    } lists[] = {
        {"plan_financement", "fiche_financements", LIGNES_INSERT},
        {"echeancier", "fiche_echeancier", ECHEANCIER_INSERT},
        {"indicateurs", "fiche_indicateurs", INDICATEURS_INSERT},
    };
    enum db_result r = DB_OK;
    for (size_t i = 0; r == DB_OK && i < sizeof lists / sizeof lists[0]; i++) {
        const char *params[1] = {id};
        const char *member[2] = {body_json, lists[i].key};
        PGresult *res = NULL;
        r = query(tx->conn, "SELECT jsonb_typeof($1::jsonb -> $2), ($1::jsonb -> $2)::text", 2,
                  member, &res, err);
        if (r == DB_OK && !PQgetisnull(res, 0, 0)) {
            bool is_array = strcmp(PQgetvalue(res, 0, 0), "array") == 0;
            if (replace) {
                char sql[128];
                snprintf(sql, sizeof sql, "DELETE FROM %s WHERE fiche_id = $1::uuid",
                         lists[i].table);
                r = pg_exec_command(tx->conn, sql, 1, params, err);
            }
            if (r == DB_OK && is_array) {
                const char *p2[2] = {id, PQgetvalue(res, 0, 1)};
                r = pg_exec_command(tx->conn, lists[i].insert, 2, p2, err);
            }
        }
        PQclear(res);
    }
    return r;
}

/* Appends entry (an object of territoire id_pvd) with the territoire's
 * scope. Call sites spell the action ("<ressource>.<verbe>") and the type as
 * literals: tests/contract/check_codes.mjs checks each against the spec. */
static enum db_result journal_about(struct db_tx *tx, const char *id_pvd, struct journal_entry *e,
                                    struct db_error *err)
{
    struct territoire_scope scope;
    enum db_result r = territoire_scope_load(tx->conn, id_pvd, &scope, err);
    if (r != DB_OK)
        return r == DB_NOT_FOUND ? DB_FAILED : r;
    e->scope = territoire_scope_journal(&scope);
    return journal_record(tx, e, err);
}

static enum db_result journal(struct db_tx *tx, const char *action, const struct fiche_row *avant,
                              const struct fiche_row *apres, struct db_error *err)
{
    const struct fiche_row *any = apres ? apres : avant;
    struct journal_entry e = {
        action, "fiche_action", any->id, avant ? avant->json : NULL, apres ? apres->json : NULL,
        {0}};
    return journal_about(tx, any->id_pvd, &e, err);
}

enum db_result fiche_create(struct db_tx *tx, const char *id_pvd, const char *body_json,
                            struct fiche_row *out, struct db_error *err)
{
    memset(out, 0, sizeof *out);
    enum db_result r = territoire_lock(tx, id_pvd, err);
    if (r != DB_OK)
        return r;
    const char *p1[1] = {id_pvd};
    r = pg_exec_command(tx->conn,
                        "INSERT INTO plans_action (id_pvd) VALUES ($1) ON CONFLICT DO NOTHING", 1,
                        p1, err);
    if (r != DB_OK)
        return r;
    char *sql = insert_sql();
    if (!sql)
        return DB_FAILED;
    const char *params[3] = {id_pvd, tx->actor && tx->actor->acteur ? tx->actor->acteur : "?",
                             body_json};
    PGresult *res = NULL;
    r = query(tx->conn, sql, 3, params, &res, err);
    free(sql);
    char id[37] = "";
    if (r == DB_OK)
        snprintf(id, sizeof id, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    if (r == DB_OK)
        r = write_lists(tx, id, body_json, false, err);
    if (r == DB_OK)
        r = read_row(tx->conn, id, false, out, err);
    if (r == DB_OK)
        r = journal(tx, "fiche_action.creer", NULL, out, err);
    if (r != DB_OK)
        fiche_row_release(out);
    return r;
}

/* Territoire lock, then the fiche's row lock, then its revision compared
 * (expected_revision < 0: not compared). avant: the fiche as it was. */
static enum db_result lock_fiche(struct db_tx *tx, const char *id, long expected_revision,
                                 struct fiche_row *avant, struct db_error *err)
{
    memset(avant, 0, sizeof *avant);
    const char *params[1] = {id};
    PGresult *res = NULL;
    enum db_result r =
        pg_exec_first_row(tx->conn, "SELECT id_pvd FROM fiches_action WHERE id = " AS_UUID("$1"), 1,
                          params, &res, err);
    char id_pvd[17] = "";
    if (r == DB_OK)
        snprintf(id_pvd, sizeof id_pvd, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    if (r == DB_OK) {
        r = territoire_lock(tx, id_pvd, err);
        if (r == DB_NOT_FOUND)
            r = DB_FAILED; /* the foreign key makes it impossible */
    }
    if (r == DB_OK)
        r = read_row(tx->conn, id, true, avant, err);
    if (r == DB_OK && expected_revision >= 0 && avant->revision != expected_revision)
        r = DB_STALE;
    if (r != DB_OK)
        fiche_row_release(avant);
    return r;
}

/* revision + 1 (unless bumped already) and the fiche as it is now. */
static enum db_result finish(struct db_tx *tx, const char *action, const char *id, bool bump,
                             struct fiche_row *avant, struct fiche_row *out, struct db_error *err)
{
    enum db_result r = DB_OK;
    const char *params[1] = {id};
    if (bump)
        r = pg_exec_command(tx->conn,
                            "UPDATE fiches_action SET revision = revision + 1, modifie_le = now() "
                            "WHERE id = $1::uuid",
                            1, params, err);
    if (r == DB_OK)
        r = read_row(tx->conn, id, false, out, err);
    if (r == DB_OK)
        r = journal(tx, action, avant, out, err);
    if (r != DB_OK)
        fiche_row_release(out);
    fiche_row_release(avant);
    return r;
}

enum db_result fiche_update(struct db_tx *tx, const char *id, long expected_revision,
                            const char *body_json, struct fiche_row *out, struct db_error *err)
{
    struct fiche_row avant;
    memset(out, 0, sizeof *out);
    enum db_result r = lock_fiche(tx, id, expected_revision, &avant, err);
    if (r != DB_OK)
        return r;
    char *sql = update_sql();
    if (!sql) {
        fiche_row_release(&avant);
        return DB_FAILED;
    }
    const char *params[2] = {avant.id, body_json};
    r = pg_exec_command(tx->conn, sql, 2, params, err);
    free(sql);
    if (r == DB_OK)
        r = write_lists(tx, avant.id, body_json, true, err);
    if (r != DB_OK) {
        fiche_row_release(&avant);
        return r;
    }
    return finish(tx, "fiche_action.modifier", avant.id, false, &avant, out, err);
}

/* Replaces (or appends to) one list of the fiche: body is {key: value}. */
static enum db_result change_list(struct db_tx *tx, const char *id, long expected_revision,
                                  const char *key, const char *value_json, bool replace,
                                  const char *action, struct fiche_row *out, struct db_error *err)
{
    struct fiche_row avant;
    memset(out, 0, sizeof *out);
    enum db_result r = lock_fiche(tx, id, expected_revision, &avant, err);
    if (r != DB_OK)
        return r;
    const char *params[2] = {key, value_json};
    PGresult *res = NULL;
    r = query(tx->conn, "SELECT jsonb_build_object($1::text, $2::jsonb)::text", 2, params, &res,
              err);
    char *body = NULL;
    if (r == DB_OK && !(body = pg_strdup(PQgetvalue(res, 0, 0))))
        r = DB_FAILED;
    PQclear(res);
    if (r == DB_OK)
        r = write_lists(tx, avant.id, body, replace, err);
    free(body);
    if (r != DB_OK) {
        fiche_row_release(&avant);
        return r;
    }
    return finish(tx, action, avant.id, true, &avant, out, err);
}

enum db_result fiche_replace_financements(struct db_tx *tx, const char *id, long expected_revision,
                                          const char *lignes_json, struct fiche_row *out,
                                          struct db_error *err)
{
    return change_list(tx, id, expected_revision, "plan_financement", lignes_json, true,
                       "fiche_action.plan_financement", out, err);
}

enum db_result fiche_add_financement(struct db_tx *tx, const char *id, long expected_revision,
                                     const char *ligne_json, struct fiche_row *out,
                                     struct db_error *err)
{
    struct pg_buf b = PG_BUF_INIT;
    add(&b, "[");
    add(&b, ligne_json);
    add(&b, "]");
    pg_buf_add(&b, "", 1);
    if (b.oom) {
        pg_buf_release(&b);
        memset(out, 0, sizeof *out);
        return DB_FAILED;
    }
    enum db_result r = change_list(tx, id, expected_revision, "plan_financement", b.data, false,
                                   "fiche_action.ajouter_financement", out, err);
    pg_buf_release(&b);
    return r;
}

enum db_result fiche_replace_echeancier(struct db_tx *tx, const char *id, long expected_revision,
                                        const char *echeancier_json, struct fiche_row *out,
                                        struct db_error *err)
{
    return change_list(tx, id, expected_revision, "echeancier", echeancier_json, true,
                       "fiche_action.echeancier", out, err);
}

static enum db_result list_json(struct db_conn *conn, const char *sql, const char *id,
                                char **json_out, struct db_error *err)
{
    const char *params[1] = {id};
    PGresult *res = NULL;
    *json_out = NULL;
    enum db_result r = pg_exec_first_row(conn, sql, 1, params, &res, err);
    if (r == DB_OK && PQgetisnull(res, 0, 0))
        r = DB_NOT_FOUND;
    if (r == DB_OK && !(*json_out = pg_strdup(PQgetvalue(res, 0, 0))))
        r = DB_FAILED;
    PQclear(res);
    return r;
}

enum db_result fiche_financements_list(struct db_conn *conn, const char *id, char **json_out,
                                       struct db_error *err)
{
    return list_json(conn,
                     "SELECT (fiche_representation(x) -> 'plan_financement')::text FROM "
                     "fiches_action x WHERE x.id = " AS_UUID("$1"),
                     id, json_out, err);
}

enum db_result fiche_echeancier_list(struct db_conn *conn, const char *id, char **json_out,
                                     struct db_error *err)
{
    return list_json(conn,
                     "SELECT (fiche_representation(x) -> 'echeancier')::text FROM "
                     "fiches_action x WHERE x.id = " AS_UUID("$1"),
                     id, json_out, err);
}

enum db_result fiche_write_transition(struct db_tx *tx, const char *id, long expected_revision,
                                      enum fiche_etat to, const char *motif,
                                      const char *date_commencement, const char *date_achevement,
                                      struct fiche_row *out, struct db_error *err)
{
    struct fiche_row avant;
    memset(out, 0, sizeof *out);
    const char *etat = fiche_etat_name(to);
    if (!etat)
        return DB_FAILED;
    enum db_result r = lock_fiche(tx, id, expected_revision, &avant, err);
    if (r != DB_OK)
        return r;
    bool with_motif = to == FICHE_SUSPENDUE || to == FICHE_ABANDONNEE;
    const char *params[5] = {avant.id, etat, with_motif ? motif : NULL,
                             to == FICHE_EN_COURS ? date_commencement : NULL,
                             to == FICHE_REALISEE ? date_achevement : NULL};
    r = pg_exec_command(tx->conn,
                        "UPDATE fiches_action SET etat = $2, motif = COALESCE($3, motif), "
                        "date_commencement = COALESCE($4::date, date_commencement), "
                        "date_achevement = COALESCE($5::date, date_achevement), "
                        "revision = revision + 1, modifie_le = now() WHERE id = $1::uuid",
                        5, params, err);
    if (r != DB_OK) {
        fiche_row_release(&avant);
        return r;
    }
    return finish(tx, "fiche_action.transition", avant.id, false, &avant, out, err);
}

/* ---- rule inputs ----------------------------------------------------------- */

void fiche_regles_release(struct fiche_regles *r)
{
    free(r->communes_territoire);
    free(r->communes_epci);
    free(r->commune_ptrs);
    free(r->seances);
    free(r->lignes);
    free(r->echeancier);
    r->communes_territoire = NULL;
    r->communes_epci = NULL;
    r->commune_ptrs = NULL;
    r->seances = NULL;
    r->lignes = NULL;
    r->echeancier = NULL;
    r->communes_territoire_count = r->communes_epci_count = 0;
    r->seance_count = r->ligne_count = r->echeancier_count = 0;
}

static bool bool_at(const PGresult *res, int row, int col)
{
    return strcmp(PQgetvalue(res, row, col), "t") == 0;
}

/* A nullable date column: false when it is NULL or does not parse (*ok
 * cleared then). */
static bool date_at(const PGresult *res, int row, int col, struct date *out, bool *ok)
{
    if (PQgetisnull(res, row, col))
        return false;
    if (!date_parse(PQgetvalue(res, row, col), out)) {
        *ok = false;
        return false;
    }
    return true;
}

static enum db_result read_codes(struct db_conn *conn, const char *sql, const char *id_pvd,
                                 char (**codes)[6], size_t *count, struct db_error *err)
{
    const char *params[1] = {id_pvd};
    PGresult *res = NULL;
    enum db_result r = query(conn, sql, 1, params, &res, err);
    if (r == DB_OK) {
        int n = PQntuples(res);
        *codes = calloc(n > 0 ? (size_t)n : 1, sizeof **codes);
        if (!*codes)
            r = DB_FAILED;
        for (int i = 0; r == DB_OK && i < n; i++)
            snprintf((*codes)[i], sizeof(*codes)[i], "%s", PQgetvalue(res, i, 0));
        if (r == DB_OK)
            *count = (size_t)n;
    }
    PQclear(res);
    return r;
}

static enum db_result read_main(struct db_tx *tx, const char *id, const char *date_text,
                                struct fiche_regles *out, char *maitre_ouvrage, size_t mo_size,
                                struct db_error *err)
{
    const char *params[2] = {id, date_text};
    PGresult *res = NULL;
    enum db_result r = pg_exec_first_row(
        tx->conn,
        "SELECT x.id::text, x.id_pvd::text, x.etat, x.revision, x.numero, EXISTS (SELECT 1 FROM "
        "fiches_action o WHERE o.id_pvd = x.id_pvd AND o.numero = x.numero AND o.id <> x.id), "
        "a.id_pvd::text, x.localisation_commune_insee, x.intercommunale, x.cout_total_ht, "
        "x.cout_total_ttc, x.base_financement, x.date_debut_prevue::text, "
        "x.date_fin_prevue::text, x.date_commencement::text, x.date_achevement::text, "
        "EXISTS (SELECT 1 FROM conventions c WHERE c.id_pvd = x.id_pvd AND c.type = 'adhesion' "
        "AND c.etat IN ('signee', 'relayee')), EXISTS (SELECT 1 FROM conventions c WHERE "
        "c.id_pvd = x.id_pvd AND c.type = 'cadre' AND c.etat = 'signee'), (SELECT count(*) FROM "
        "fiche_indicateurs fi WHERE fi.fiche_id = x.id AND NOT EXISTS (SELECT 1 FROM "
        "indicateur_mesures m WHERE m.indicateur_id = fi.indicateur_id)), EXISTS (SELECT 1 FROM "
        "decisions d JOIN seances s ON s.id = d.seance_id WHERE d.fiche_action_id = x.id AND "
        "d.type = 'abandonne_fiche' AND s.date <= $2::date), x.maitre_ouvrage_id::text FROM "
        "fiches_action x LEFT JOIN axes_strategiques a ON a.id = x.axe_id WHERE x.id = "
        "$1::uuid FOR UPDATE OF x",
        2, params, &res, err);
    if (r != DB_OK)
        return r;
    bool ok = true;
    snprintf(out->id, sizeof out->id, "%s", PQgetvalue(res, 0, 0));
    snprintf(out->id_pvd, sizeof out->id_pvd, "%s", PQgetvalue(res, 0, 1));
    ok = fiche_etat_parse(PQgetvalue(res, 0, 2), &out->etat);
    out->revision = strtol(PQgetvalue(res, 0, 3), NULL, 10);
    snprintf(out->numero, sizeof out->numero, "%s", PQgetvalue(res, 0, 4));
    out->numero_deja_utilise = bool_at(res, 0, 5);
    out->has_axe = !PQgetisnull(res, 0, 6);
    snprintf(out->axe_id_pvd, sizeof out->axe_id_pvd, "%s", PQgetvalue(res, 0, 6));
    snprintf(out->commune, sizeof out->commune, "%s", PQgetvalue(res, 0, 7));
    out->intercommunale = bool_at(res, 0, 8);
    out->couts.cout_total_ht = strtoll(PQgetvalue(res, 0, 9), NULL, 10);
    out->couts.has_cout_total_ttc = !PQgetisnull(res, 0, 10);
    out->couts.cout_total_ttc = strtoll(PQgetvalue(res, 0, 10), NULL, 10);
    out->plan.base = strcmp(PQgetvalue(res, 0, 11), "ttc") == 0 ? FICHE_BASE_TTC : FICHE_BASE_HT;
    out->dates.has_date_debut_prevue = date_at(res, 0, 12, &out->dates.date_debut_prevue, &ok);
    out->dates.has_date_fin_prevue = date_at(res, 0, 13, &out->dates.date_fin_prevue, &ok);
    out->has_date_commencement = date_at(res, 0, 14, &out->date_commencement, &ok);
    out->has_date_achevement = date_at(res, 0, 15, &out->date_achevement, &ok);
    out->adhesion_signee = bool_at(res, 0, 16);
    out->cadre_signee = bool_at(res, 0, 17);
    out->indicateurs_sans_mesure = (size_t)strtoul(PQgetvalue(res, 0, 18), NULL, 10);
    out->has_decision_abandon = bool_at(res, 0, 19);
    snprintf(maitre_ouvrage, mo_size, "%s", PQgetvalue(res, 0, 20));
    PQclear(res);
    return ok ? DB_OK : DB_FAILED;
}

static enum db_result read_seances(struct db_tx *tx, struct fiche_regles *out, struct db_error *err)
{
    const char *params[2] = {out->id, out->id_pvd};
    PGresult *res = NULL;
    enum db_result r = query(
        tx->conn,
        "SELECT s.date::text FROM seances s JOIN comites c ON c.id = s.comite_id WHERE c.id_pvd "
        "= $2 AND (s.id = (SELECT f.comite_seance_id FROM fiches_action f WHERE f.id = $1::uuid) "
        "OR s.id IN (SELECT d.seance_id FROM decisions d WHERE d.fiche_action_id = $1::uuid)) "
        "ORDER BY s.date, s.id",
        2, params, &res, err);
    if (r == DB_OK) {
        int n = PQntuples(res);
        out->seances = calloc(n > 0 ? (size_t)n : 1, sizeof *out->seances);
        if (!out->seances)
            r = DB_FAILED;
        for (int i = 0; r == DB_OK && i < n; i++)
            if (!date_parse(PQgetvalue(res, i, 0), &out->seances[i].date))
                r = DB_FAILED;
        if (r == DB_OK)
            out->seance_count = (size_t)n;
    }
    PQclear(res);
    return r;
}

static enum db_result read_lignes(struct db_tx *tx, struct fiche_regles *out,
                                  const char *maitre_ouvrage, struct db_error *err)
{
    const char *params[2] = {out->id, maitre_ouvrage};
    PGresult *res = NULL;
    enum db_result r = query(tx->conn,
                             "SELECT l.dispositif, l.nature_financeur, l.montant, l.statut, "
                             "l.financeur_id = $2::uuid FROM fiche_financements l WHERE "
                             "l.fiche_id = $1::uuid ORDER BY l.rang",
                             2, params, &res, err);
    if (r == DB_OK) {
        int n = PQntuples(res);
        out->lignes = calloc(n > 0 ? (size_t)n : 1, sizeof *out->lignes);
        if (!out->lignes)
            r = DB_FAILED;
        int64_t somme = 0;
        size_t comptees = 0;
        for (int i = 0; r == DB_OK && i < n; i++) {
            struct financement_ligne *l = &out->lignes[i];
            l->financeur = (size_t)i;
            if (!financement_dispositif_parse(PQgetvalue(res, i, 0), &l->dispositif) ||
                !financement_statut_parse(PQgetvalue(res, i, 3), &l->statut))
                r = DB_FAILED;
            l->public = strcmp(PQgetvalue(res, i, 1), "public") == 0;
            l->montant = strtoll(PQgetvalue(res, i, 2), NULL, 10);
            l->par_maitre_ouvrage = bool_at(res, i, 4);
            if (r == DB_OK && financement_statut_compte(l->statut)) {
                /* each montant ≤ 10^15 (CHECK) and at most 32767 lines: no overflow */
                somme += l->montant;
                comptees++;
            }
        }
        if (r == DB_OK) {
            out->ligne_count = (size_t)n;
            out->plan.ligne_count = comptees;
            out->plan.somme_montants = somme;
        }
    }
    PQclear(res);
    return r;
}

static enum db_result read_echeancier(struct db_tx *tx, struct fiche_regles *out,
                                      struct db_error *err)
{
    const char *params[1] = {out->id};
    PGresult *res = NULL;
    enum db_result r = query(tx->conn,
                             "SELECT e.annee, e.montant FROM fiche_echeancier e WHERE "
                             "e.fiche_id = $1::uuid ORDER BY e.annee",
                             1, params, &res, err);
    if (r == DB_OK) {
        int n = PQntuples(res);
        out->echeancier = calloc(n > 0 ? (size_t)n : 1, sizeof *out->echeancier);
        if (!out->echeancier)
            r = DB_FAILED;
        for (int i = 0; r == DB_OK && i < n; i++) {
            out->echeancier[i].annee = (int)strtol(PQgetvalue(res, i, 0), NULL, 10);
            out->echeancier[i].montant = strtoll(PQgetvalue(res, i, 1), NULL, 10);
        }
        if (r == DB_OK) {
            out->echeancier_count = (size_t)n;
            rule_report_init(&out->r27);
            financement_r27_check(out->echeancier, out->echeancier_count, out->couts.cout_total_ht,
                                  &out->r27);
        }
    }
    PQclear(res);
    return r;
}

static enum db_result read_communes(struct db_conn *conn, struct fiche_regles *out,
                                    struct db_error *err)
{
    enum db_result r = read_codes(
        conn, "SELECT code_insee FROM territoire_communes WHERE id_pvd = $1 ORDER BY rang",
        out->id_pvd, &out->communes_territoire, &out->communes_territoire_count, err);
    if (r == DB_OK)
        r = read_codes(conn,
                       "SELECT DISTINCT m.code_insee FROM territoire_epcis te JOIN epci_membres m "
                       "ON m.epci_siren = te.siren WHERE te.id_pvd = $1 ORDER BY 1",
                       out->id_pvd, &out->communes_epci, &out->communes_epci_count, err);
    if (r == DB_OK) {
        size_t n = out->communes_territoire_count + out->communes_epci_count;
        out->commune_ptrs = calloc(n > 0 ? n : 1, sizeof *out->commune_ptrs);
        if (!out->commune_ptrs)
            return DB_FAILED;
        for (size_t i = 0; i < out->communes_territoire_count; i++)
            out->commune_ptrs[i] = out->communes_territoire[i];
        for (size_t i = 0; i < out->communes_epci_count; i++)
            out->commune_ptrs[out->communes_territoire_count + i] = out->communes_epci[i];
    }
    return r;
}

enum db_result fiche_regles_lire(struct db_tx *tx, const char *id, struct date date_transition,
                                 struct fiche_regles *out, struct db_error *err)
{
    memset(out, 0, sizeof *out);
    if (!date_is_valid(date_transition))
        return DB_FAILED;
    char date_text[16];
    snprintf(date_text, sizeof date_text, "%04d-%02d-%02d", date_transition.year,
             date_transition.month, date_transition.day);
    struct fiche_row avant;
    enum db_result r = lock_fiche(tx, id, -1, &avant, err);
    if (r != DB_OK)
        return r;
    char maitre_ouvrage[37] = "";
    r = read_main(tx, avant.id, date_text, out, maitre_ouvrage, sizeof maitre_ouvrage, err);
    fiche_row_release(&avant);
    if (r == DB_OK)
        r = read_communes(tx->conn, out, err);
    if (r == DB_OK)
        r = read_seances(tx, out, err);
    if (r == DB_OK)
        r = read_lignes(tx, out, maitre_ouvrage, err);
    if (r == DB_OK)
        r = read_echeancier(tx, out, err);
    if (r != DB_OK)
        fiche_regles_release(out);
    return r;
}

void fiche_regles_transition_input(const struct fiche_regles *r, enum fiche_etat to,
                                   enum role role_of_caller, struct date date_transition,
                                   const char *motif, struct fiche_transition_input *in)
{
    memset(in, 0, sizeof *in);
    in->from = r->etat;
    in->to = to;
    in->role_of_caller = role_of_caller;
    in->date_transition = date_transition;
    in->seances = r->seances;
    in->seance_count = r->seance_count;
    in->couts = r->couts;
    in->plan = r->plan;
    in->dates = r->dates;
    in->r27_report = &r->r27;
    in->adhesion_signee = r->adhesion_signee;
    in->cadre_signee = r->cadre_signee;
    in->has_date_commencement = r->has_date_commencement;
    in->date_commencement = r->date_commencement;
    in->has_date_achevement = r->has_date_achevement;
    in->date_achevement = r->date_achevement;
    in->indicateurs_sans_mesure = r->indicateurs_sans_mesure;
    in->motif = motif;
    in->has_decision_abandon = r->has_decision_abandon;
}

/* ---- candidate inputs ------------------------------------------------------ */

enum db_result fiche_candidate_lire(struct db_tx *tx, const char *id_pvd, const char *numero,
                                    const char *except_id, const char *axe_id,
                                    struct fiche_regles *out, struct db_error *err)
{
    memset(out, 0, sizeof *out);
    const char *params[4] = {id_pvd, numero, except_id, axe_id};
    PGresult *res = NULL;
    enum db_result r = pg_exec_first_row(
        tx->conn,
        "SELECT t.id_pvd::text, EXISTS (SELECT 1 FROM fiches_action o WHERE o.id_pvd = t.id_pvd "
        "AND o.numero = $2 AND o.id IS DISTINCT FROM " AS_UUID(
            "$3") "), (SELECT a.id_pvd::text "
                  "FROM axes_strategiques a WHERE a.id = " AS_UUID(
                      "$4") ") FROM territoires t WHERE "
                            "t.id_pvd = $1",
        4, params, &res, err);
    if (r != DB_OK)
        return r;
    snprintf(out->id_pvd, sizeof out->id_pvd, "%s", PQgetvalue(res, 0, 0));
    snprintf(out->numero, sizeof out->numero, "%s", numero ? numero : "");
    out->numero_deja_utilise = bool_at(res, 0, 1);
    out->has_axe = !PQgetisnull(res, 0, 2);
    snprintf(out->axe_id_pvd, sizeof out->axe_id_pvd, "%s", PQgetvalue(res, 0, 2));
    PQclear(res);
    r = read_communes(tx->conn, out, err);
    if (r != DB_OK)
        fiche_regles_release(out);
    return r;
}

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
    return journal_about(tx, id_pvd, &e, err);
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
    r = pg_exec_first_row(tx->conn,
                          "SELECT s.date::text FROM decisions d JOIN seances s ON s.id = "
                          "d.seance_id JOIN comites c ON c.id = s.comite_id WHERE d.id = " AS_UUID(
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
