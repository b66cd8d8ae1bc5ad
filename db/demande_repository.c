/* Storage of the demandes de subvention (see demande_repository.h). */
#include "demande_repository.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "habilitation_repository.h"
#include "pgutil.h"
#include "territoire_lock.h"
#include "territoire_scope.h"

#define ROW_COLUMNS                                                                                \
    "x.id::text, x.id_pvd::text, x.revision, (demande_representation(x) || "                       \
    "jsonb_build_object('_delais', demande_delais(x)))::text, demande_acces(x)::text"

/* The delays of parametres_defaut as the decimal text arguments $N..$N+4 of
 * demande_etat_effectif of 0020 (used by a clock with no parameters version
 * in force on its start date). */
void demande_delais_defaut_text(char d[5][12])
{
    struct parametres p;
    parametres_defaut(&p);
    snprintf(d[0], 12, "%d", p.delais.rejet_implicite_mois);
    snprintf(d[1], 12, "%d", p.delais.caducite_annees);
    snprintf(d[2], 12, "%d", p.delais.caducite_prolongation_annees);
    snprintf(d[3], 12, "%d", p.delais.forclusion_annees);
    snprintf(d[4], 12, "%d", p.delais.forclusion_prolongation_annees);
}

void demande_row_release(struct demande_row *row)
{
    free(row->json);
    free(row->acces);
    row->json = NULL;
    row->acces = NULL;
}

static enum db_result fill_row(const PGresult *res, int row, void *dst)
{
    struct demande_row *out = dst;
    snprintf(out->id, sizeof out->id, "%s", PQgetvalue(res, row, 0));
    snprintf(out->id_pvd, sizeof out->id_pvd, "%s", PQgetvalue(res, row, 1));
    out->revision = strtol(PQgetvalue(res, row, 2), NULL, 10);
    out->json = pg_strdup(PQgetvalue(res, row, 3));
    out->acces = pg_strdup(PQgetvalue(res, row, 4));
    return out->json && out->acces ? DB_OK : DB_FAILED;
}

static enum db_result read_row(struct db_conn *conn, const char *id, bool lock,
                               struct demande_row *out, struct db_error *err)
{
    const char *params[1] = {id};
    enum db_result r = pg_one_row(
        conn,
        lock ? "SELECT " ROW_COLUMNS
               " FROM demandes_subvention x WHERE x.id = " PG_AS_UUID("$1") " FOR UPDATE OF x"
             : "SELECT " ROW_COLUMNS " FROM demandes_subvention x WHERE x.id = " PG_AS_UUID("$1"),
        1, params, fill_row, out, sizeof *out, err);
    if (r != DB_OK)
        demande_row_release(out);
    return r;
}

enum db_result demande_get(struct db_conn *conn, const char *id, struct demande_row *out,
                           struct db_error *err)
{
    return read_row(conn, id, false, out, err);
}

enum db_result demande_fiche_territoire(struct db_conn *conn, const char *fiche_id, char id_pvd[17],
                                        struct db_error *err)
{
    return pg_one_text(conn, "SELECT id_pvd FROM fiches_action WHERE id = " PG_AS_UUID("$1"),
                       fiche_id, id_pvd, 17, err);
}

enum db_result demande_r37_lire(struct db_conn *conn, const char *demandeur_id,
                                struct demande_r37_input *out, struct db_error *err)
{
    memset(out, 0, sizeof *out);
    const char *params[1] = {demandeur_id};
    PGresult *res = NULL;
    enum db_result r = pg_exec_first_row(
        conn,
        "SELECT o.nature, coalesce((SELECT c.population FROM communes c WHERE c.siren = o.siren "
        "AND c.type = 'commune-actuelle' LIMIT 1), (SELECT e.population_municipale FROM epci e "
        "WHERE e.siren = o.siren), 0), coalesce((SELECT max(c.population) FROM epci_membres m "
        "JOIN communes c ON c.code_insee = m.code_insee AND c.type = 'commune-actuelle' WHERE "
        "m.epci_siren = o.siren), 0) FROM organisations o WHERE o.id = " PG_AS_UUID("$1"),
        1, params, &res, err);
    if (r == DB_OK) {
        if (!organisation_kind_parse(PQgetvalue(res, 0, 0), &out->demandeur_kind))
            out->demandeur_kind = ORGANISATION_AUTRE;
        out->population = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        out->plus_grande_commune_population = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
    }
    PQclear(res);
    return r;
}

enum db_result demande_poste_existe(struct db_conn *conn, const char *poste_id, bool *exists,
                                    struct db_error *err)
{
    const char *params[1] = {poste_id};
    size_t n = 0;
    enum db_result r =
        pg_count(conn, "SELECT count(*) FROM postes_chef_projet WHERE id = " PG_AS_UUID("$1"), 1,
                 params, &n, err);
    *exists = r == DB_OK && n > 0;
    return r;
}

enum db_result demande_autres_du_poste(struct db_tx *tx, const char *poste_id, const char *annee,
                                       const char *exclude_id, char **json_out,
                                       struct db_error *err)
{
    *json_out = NULL;
    const char *params[3] = {poste_id, annee, exclude_id};
    enum db_result r = pg_exec_command(
        tx->conn, "SELECT pg_advisory_xact_lock(hashtext('demande-poste:' || $1 || ':' || $2))", 2,
        params, err);
    PGresult *res = NULL;
    if (r == DB_OK)
        r = pg_exec_first_row(
            tx->conn,
            "SELECT coalesce(jsonb_agg(demande_representation(x) || jsonb_build_object('_delais', "
            "demande_delais(x)) ORDER BY x.id), '[]')::text "
            "FROM demandes_subvention x WHERE x.poste_id = " PG_AS_UUID(
                "$1") " AND "
                      "x.annee_programmation = $2::int AND ($3::text IS NULL OR x.id "
                      "<> " PG_AS_UUID("$3") ")",
            3, params, &res, err);
    if (r == DB_OK && !(*json_out = pg_strdup(PQgetvalue(res, 0, 0))))
        r = DB_FAILED;
    PQclear(res);
    return r;
}

/* ---- writes ---------------------------------------------------------------- */

/* The members demande_write writes: the JSON path in the body (text[]
 * literal), the column and its SQL type. */
static const struct {
    const char *path, *column, *type;
} COLUMNS[] = {
    {"{demandeur_id}", "demandeur_id", "uuid"},
    {"{financeur_id}", "financeur_id", "uuid"},
    {"{poste_id}", "poste_id", "uuid"},
    {"{annee_programmation}", "annee_programmation", "smallint"},
    {"{intitule}", "intitule", "text"},
    {"{depense_subventionnable_ht_centimes}", "depense_subventionnable_ht", "bigint"},
    {"{montant_sollicite_centimes}", "montant_sollicite", "bigint"},
    {"{date_depot}", "date_depot", "date"},
    {"{date_accuse_reception}", "date_accuse_reception", "date"},
    {"{date_dossier_complet}", "date_dossier_complet", "date"},
    {"{date_commencement_execution}", "date_commencement_execution", "date"},
    {"{date_decision}", "date_decision", "date"},
    {"{date_notification}", "date_notification", "date"},
    {"{date_achevement_declaree}", "date_achevement_declaree", "date"},
    {"{montant_accorde_centimes}", "montant_accorde", "bigint"},
    {"{taux_accorde}", "taux_accorde", "integer"},
    {"{decision,mentions,beneficiaires}", "mention_beneficiaires", "text"},
    {"{decision,mentions,objet}", "mention_objet", "text"},
    {"{decision,mentions,montant_maximum}", "mention_montant_maximum", "text"},
    {"{decision,mentions,calendrier}", "mention_calendrier", "text"},
    {"{decision,mentions,modalites_versement}", "mention_modalites_versement", "text"},
    {"{motif_refus}", "motif_refus", "text"},
    {"{avis_commission_elus}", "avis_commission_elus", "boolean"},
    {"{garantie_bancaire}", "garantie_bancaire", "boolean"},
    {"{prorogation,mois}", "prorogation_mois", "smallint"},
    {"{prorogation,reference}", "prorogation_reference", "text"},
    {"{prolongation_caducite_reference}", "prolongation_caducite_reference", "text"},
    {"{prolongation_forclusion_reference}", "prolongation_forclusion_reference", "text"},
    {"{ds_dossier_number}", "ds_dossier_number", "bigint"},
    {"{ds_procedure_id}", "ds_procedure_id", "bigint"},
    {"{ds_modifie_le}", "ds_modifie_le", "timestamptz"},
    {"{aides_territoires_aide_id}", "aides_territoires_aide_id", "text"},
    {"{siret_demandeur}", "siret_demandeur", "text"},
    {"{siret_financeur}", "siret_financeur", "text"},
};

/* UPDATE of the members present in $2 (jsonb) of request $1, etat $3 when
 * not null, revision + 1. Owned (free()); NULL when out of memory. A NOT
 * NULL boolean or prorogation_mois given null keeps its default. */
static char *update_sql(void)
{
    struct pg_buf b = PG_BUF_INIT;
    static const char head[] = "UPDATE demandes_subvention SET revision = revision + 1, "
                               "modifie_le = now(), etat = coalesce($3::text, etat)";
    pg_buf_add(&b, head, sizeof head - 1);
    for (size_t i = 0; i < sizeof COLUMNS / sizeof COLUMNS[0]; i++) {
        char part[512];
        bool not_null = strcmp(COLUMNS[i].type, "boolean") == 0 ||
                        strcmp(COLUMNS[i].column, "prorogation_mois") == 0;
        int n = snprintf(part, sizeof part,
                         ", %s = CASE WHEN ($2::jsonb #> '%s') IS NULL THEN %s ELSE "
                         "%s($2::jsonb #>> '%s')::%s%s END",
                         COLUMNS[i].column, COLUMNS[i].path, COLUMNS[i].column,
                         not_null ? "coalesce(" : "", COLUMNS[i].path, COLUMNS[i].type,
                         not_null ? (strcmp(COLUMNS[i].type, "boolean") == 0 ? ", false)" : ", 0)")
                                  : "");
        pg_buf_add(&b, part, (size_t)n);
    }
    static const char tail[] = " WHERE id = $1::uuid";
    pg_buf_add(&b, tail, sizeof tail); /* with its NUL */
    if (b.oom) {
        pg_buf_release(&b);
        return NULL;
    }
    return b.data;
}

static enum db_result journal(struct db_tx *tx, const char *action, const struct demande_row *avant,
                              const struct demande_row *apres, struct db_error *err)
{
    struct journal_entry e = {
        action, "demande_subvention", apres->id, avant ? avant->json : NULL, apres->json, {0}};
    return territoire_journal_record(tx, apres->id_pvd, &e, err);
}

static enum db_result apply(struct db_tx *tx, const char *id, const char *body_json,
                            const char *etat, struct db_error *err)
{
    char *sql = update_sql();
    if (!sql)
        return DB_FAILED;
    const char *params[3] = {id, body_json, etat};
    enum db_result r = pg_exec_command(tx->conn, sql, 3, params, err);
    free(sql);
    return r;
}

enum db_result demande_create(struct db_tx *tx, const char *id_pvd, const char *body_json,
                              const char *etat, struct demande_row *out, struct db_error *err)
{
    memset(out, 0, sizeof *out);
    enum db_result r = territoire_lock(tx, id_pvd, err);
    if (r != DB_OK)
        return r;
    const char *params[3] = {id_pvd, body_json,
                             tx->actor && tx->actor->acteur ? tx->actor->acteur : "?"};
    PGresult *res = NULL;
    r = pg_exec_rows(
        tx->conn,
        "INSERT INTO demandes_subvention (id_pvd, dispositif, demandeur_id, fiche_id, "
        "annee_programmation, intitule, depense_subventionnable_ht, montant_sollicite, cree_par, "
        "revision) SELECT $1, b->>'dispositif', (b->>'demandeur_id')::uuid, "
        "(b->>'fiche_id')::uuid, (b->>'annee_programmation')::smallint, b->>'intitule', "
        "(b->>'depense_subventionnable_ht_centimes')::bigint, "
        "(b->>'montant_sollicite_centimes')::bigint, $3, 0 FROM (SELECT $2::jsonb AS b) s "
        "RETURNING id::text",
        3, params, &res, err);
    char id[37] = "";
    if (r == DB_OK)
        snprintf(id, sizeof id, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    if (r == DB_OK)
        r = apply(tx, id, body_json, etat, err); /* revision 0 → 1 */
    if (r == DB_OK)
        r = read_row(tx->conn, id, false, out, err);
    if (r == DB_OK)
        r = journal(tx, "demande_subvention.creer", NULL, out, err);
    if (r != DB_OK)
        demande_row_release(out);
    return r;
}

enum db_result demande_lock(struct db_tx *tx, const char *id, long expected_revision,
                            struct demande_row *avant, struct db_error *err)
{
    memset(avant, 0, sizeof *avant);
    enum db_result r = pg_territoire_lock_of(
        tx, "SELECT id_pvd FROM demandes_subvention WHERE id = " PG_AS_UUID("$1"), id, err);
    if (r == DB_OK)
        r = read_row(tx->conn, id, true, avant, err);
    if (r == DB_OK && expected_revision >= 0 && avant->revision != expected_revision) {
        demande_row_release(avant);
        r = DB_STALE;
    }
    return r;
}

/* The request as it is now, journaled; avant released. */
static enum db_result finish(struct db_tx *tx, const char *action, struct demande_row *avant,
                             struct demande_row *out, struct db_error *err)
{
    enum db_result r = read_row(tx->conn, avant->id, false, out, err);
    if (r == DB_OK)
        r = journal(tx, action, avant, out, err);
    if (r != DB_OK)
        demande_row_release(out);
    demande_row_release(avant);
    return r;
}

enum db_result demande_write(struct db_tx *tx, struct demande_row *avant, const char *body_json,
                             const char *etat, const char *action, struct demande_row *out,
                             struct db_error *err)
{
    memset(out, 0, sizeof *out);
    enum db_result r = apply(tx, avant->id, body_json, etat, err);
    if (r != DB_OK) {
        demande_row_release(avant);
        return r;
    }
    return finish(tx, action, avant, out, err);
}

enum db_result demande_versement_ajouter(struct db_tx *tx, struct demande_row *avant,
                                         const char *body_json, bool achevement,
                                         struct demande_row *out, struct db_error *err)
{
    memset(out, 0, sizeof *out);
    const char *params[3] = {avant->id, body_json,
                             tx->actor && tx->actor->acteur ? tx->actor->acteur : "?"};
    enum db_result r = pg_exec_command(
        tx->conn,
        "INSERT INTO demande_versements (demande_id, type, date, montant, cree_par) SELECT "
        "$1::uuid, b->>'type', (b->>'date')::date, (b->>'montant_centimes')::bigint, $3 FROM "
        "(SELECT $2::jsonb AS b) s",
        3, params, err);
    if (r == DB_OK)
        r = pg_exec_command(tx->conn,
                            achevement
                                ? "UPDATE demandes_subvention SET revision = revision + 1, "
                                  "modifie_le = now(), date_achevement_declaree = "
                                  "($2::jsonb->>'date_achevement_declaree')::date WHERE id = "
                                  "$1::uuid"
                                : "UPDATE demandes_subvention SET revision = revision + 1, "
                                  "modifie_le = now() WHERE id = $1::uuid AND $2::text IS NOT NULL",
                            2, params, err);
    if (r != DB_OK) {
        demande_row_release(avant);
        return r;
    }
    return finish(tx, "demande_subvention.versement", avant, out, err);
}

/* ---- list ------------------------------------------------------------------ */

/* $1 role, $2..$5 perimeter, $6 dispositif, $7 etat (effective), $8 id_pvd,
 * $9 departement, $10 annee, $11 fiche_id, $12 today, $13..$17 the default delays.
 * The rows are read FROM demandes_visibles (migration 0029), which the planner inlines: the
 * caller's visibility is a WHERE clause of this scan over sets computed once per statement. */
#define LIST_WHERE                                                                                 \
    " FROM demandes_visibles($1, $2::text[], $3::text[], $4::text[], $5::text[]) x"                \
    " JOIN territoires t ON t.id_pvd = x.id_pvd"                                                   \
    " WHERE ($6::text IS NULL OR x.dispositif = $6)"                                               \
    " AND ($7::text IS NULL OR demande_etat_effectif(x, $12::date, $13::int, $14::int,"            \
    " $15::int, $16::int, $17::int) = $7)"                                                         \
    " AND ($8::text IS NULL OR x.id_pvd = $8)"                                                     \
    " AND ($9::text IS NULL OR t.code_departement = $9 OR EXISTS (SELECT 1 FROM"                   \
    " territoire_communes tc JOIN communes c ON c.code_insee = tc.code_insee AND c.type ="         \
    " 'commune-actuelle' WHERE tc.id_pvd = x.id_pvd AND c.code_departement = $9))"                 \
    " AND ($10::text IS NULL OR x.annee_programmation = $10::int)"                                 \
    " AND ($11::text IS NULL OR x.fiche_id = " PG_AS_UUID("$11") ")"
#define LIST_PARAMS 17

static const struct list_sync_columns list_columns = {"x.modifie_le", "x.id", "uuid", NULL};

enum db_result demande_list(struct db_pool *pool, const struct demande_filtre *f, const char *after,
                            size_t limit, char **json_out, char last_key[65], bool *more,
                            size_t *total, struct db_error *err)
{
    *json_out = NULL;
    last_key[0] = '\0';
    *more = false;
    *total = 0;
    char *arrays[4] = {NULL, NULL, NULL, NULL};
    if (!pg_perimeter_literals(f->perimeter, arrays)) {
        pg_perimeter_literals_release(arrays);
        return DB_FAILED;
    }
    char today[11], d[5][12];
    date_format(f->today, today);
    demande_delais_defaut_text(d);
    const char *v[LIST_PARAMS + 3] = {f->role ? f->role : "",
                                      arrays[0],
                                      arrays[1],
                                      arrays[2],
                                      arrays[3],
                                      f->dispositif,
                                      f->etat,
                                      f->id_pvd,
                                      f->departement,
                                      f->annee,
                                      f->fiche_id,
                                      today,
                                      d[0],
                                      d[1],
                                      d[2],
                                      d[3],
                                      d[4]};
    struct db_conn *conn = NULL;
    enum db_result r = db_pool_acquire(pool, &conn, err);
    if (r == DB_OK) {
        r = list_sync_page(conn, &f->sync, &list_columns,
                           "(demande_representation(x) || jsonb_build_object('_acces', "
                           "demande_acces(x), '_delais', demande_delais(x)))::text",
                           LIST_WHERE, LIST_PARAMS + 1, v, after, limit, json_out, last_key, more,
                           total, err);
        db_pool_release(pool, conn);
    }
    pg_perimeter_literals_release(arrays);
    return r;
}

enum db_result demande_id_par_ds(struct db_conn *conn, const char *numero, char id[37],
                                 struct db_error *err)
{
    const char *params[1] = {numero};
    PGresult *res = NULL;
    enum db_result r =
        pg_exec_first_row(conn,
                          "SELECT id::text FROM demandes_subvention WHERE ds_dossier_number = "
                          "CASE WHEN $1 ~ '^[0-9]{1,12}$' THEN $1::bigint END",
                          1, params, &res, err);
    if (r == DB_OK)
        snprintf(id, 37, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return r;
}

enum db_result demande_ds_plus_recente(struct db_tx *tx, const char *id, const char *modifie_le,
                                       bool *newer, struct db_error *err)
{
    const char *params[2] = {id, modifie_le};
    PGresult *res = NULL;
    enum db_result r = pg_exec_first_row(
        tx->conn,
        "SELECT $2::timestamptz > coalesce(ds_modifie_le, '-infinity'::timestamptz) FROM "
        "demandes_subvention WHERE id = $1::uuid",
        2, params, &res, err);
    if (r == DB_OK)
        *newer = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return r;
}
