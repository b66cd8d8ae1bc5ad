/* Storage of the fiches action (see fiche_repository.h). */
#include "fiche_repository.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgutil.h"
#include "habilitation_repository.h"
#include "territoire_lock.h"
#include "territoire_scope.h"

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
    return pg_one_row(
        conn,
        lock ? "SELECT " ROW_COLUMNS
               " FROM fiches_action x WHERE x.id = " PG_AS_UUID("$1") " FOR UPDATE OF x"
             : "SELECT " ROW_COLUMNS " FROM fiches_action x WHERE x.id = " PG_AS_UUID("$1"),
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

/* ---- access ---------------------------------------------------------------- */

/* The maître d'ouvrage's SIREN and the financeurs' (distinct, comma-separated)
 * of the fiche aliased x, as two text columns. */
#define ACCESS_COLUMNS                                                                             \
    "coalesce(o.siren::text, ''), coalesce(array_to_string(ARRAY(SELECT DISTINCT fo.siren::text"   \
    " FROM fiche_financements l JOIN organisations fo ON fo.id = l.financeur_id WHERE l.fiche_id"  \
    " = x.id AND fo.siren IS NOT NULL ORDER BY 1), ','), '')"
#define ACCESS_JOIN " JOIN organisations o ON o.id = x.maitre_ouvrage_id"

/* Copies the columns ACCESS_COLUMNS at column col of res's first row. */
static void access_fill(const PGresult *res, int col, char maitre_ouvrage_siren[10],
                        char (*financeurs)[10], size_t cap, size_t *count)
{
    snprintf(maitre_ouvrage_siren, 10, "%s", PQgetvalue(res, 0, col));
    const char *p = PQgetvalue(res, 0, col + 1);
    *count = 0;
    while (*p && *count < cap) {
        size_t n = strcspn(p, ",");
        if (n == 9) {
            memcpy(financeurs[*count], p, 9);
            financeurs[*count][9] = '\0';
            (*count)++;
        }
        p += n;
        if (*p == ',')
            p++;
    }
}

enum db_result fiche_sirens_lire(struct db_conn *conn, const char *id, char id_pvd[17],
                                 char maitre_ouvrage_siren[10], char (*financeurs)[10], size_t cap,
                                 size_t *count, struct db_error *err)
{
    const char *params[1] = {id};
    PGresult *res = NULL;
    *count = 0;
    enum db_result r =
        pg_exec_first_row(conn,
                          "SELECT x.id_pvd::text, " ACCESS_COLUMNS
                          " FROM fiches_action x" ACCESS_JOIN " WHERE x.id = " PG_AS_UUID("$1"),
                          1, params, &res, err);
    if (r != DB_OK)
        return r;
    snprintf(id_pvd, 17, "%s", PQgetvalue(res, 0, 0));
    access_fill(res, 1, maitre_ouvrage_siren, financeurs, cap, count);
    PQclear(res);
    return DB_OK;
}

enum db_result fiche_get_with_access(struct db_conn *conn, const char *id, struct fiche_row *row,
                                     char maitre_ouvrage_siren[10], char (*financeurs)[10],
                                     size_t cap, size_t *count, struct territoire_scope *scope,
                                     struct db_error *err)
{
    const char *params[1] = {id};
    PGresult *res = NULL;
    memset(row, 0, sizeof *row);
    *count = 0;
    enum db_result r = pg_exec_first_row(
        conn,
        "SELECT " ROW_COLUMNS ", " ACCESS_COLUMNS
        ", " TERRITOIRE_SCOPE_LINES_SQL("x.id_pvd") " FROM fiches_action x" ACCESS_JOIN
                                                    " WHERE x.id = " PG_AS_UUID("$1"),
        1, params, &res, err);
    if (r != DB_OK)
        return r;
    r = fill_row(res, 0, row);
    if (r == DB_OK) {
        access_fill(res, 4, maitre_ouvrage_siren, financeurs, cap, count);
        if (territoire_scope_from_lines(row->id_pvd, PQgetvalue(res, 0, 6), scope) != DB_OK) {
            db_error_set(err, NULL, "fiche %s: territoire %s absent", row->id, row->id_pvd);
            r = DB_FAILED; /* fiches_action.id_pvd references territoires */
        }
    }
    PQclear(res);
    if (r != DB_OK)
        fiche_row_release(row);
    return r;
}

/* ---- list ---------------------------------------------------------------- */

/* fiches_visibles (migration 0014) as a predicate on x: the same four branches, each an
 * uncorrelated subquery computed once per statement and probed per row (the visible territoires,
 * the caller's organisations as maître d'ouvrage, the fiches it finances), instead of
 * `x.id IN (SELECT fiches_visibles(…))`, which built the caller's whole set of visible fiches
 * for every page: 50,200 fiches of one territoire, a préfecture's page 73 ms → 5 ms, its count
 * 187 ms → 26 ms (issue 12 §4). test_fiches_liste.c holds the lists to the single read. */
#define FICHES_VISIBLES_SQL                                                                        \
    "($1 IN ('anct_national', 'lecteur_national') OR x.id_pvd IN (SELECT"                          \
    " fiche_territoires_visibles($1, $2::text[], $3::text[], $4::text[], $5::text[]))"             \
    " OR ($1 IN ('collectivite_agent', 'collectivite_elu', 'financeur') AND x.maitre_ouvrage_id"   \
    " IN (SELECT o.id FROM organisations o WHERE o.siren = ANY ($4::text[])))"                     \
    " OR ($1 = 'financeur' AND x.id IN (SELECT l.fiche_id FROM fiche_financements l JOIN"          \
    " organisations o ON o.id = l.financeur_id WHERE o.siren = ANY ($4::text[]))))"

/* $1 role, $2..$5 perimeter (départements, régions, SIRENs, territoires),
 * $6 id_pvd, $7 departement, $8 region, $9 axe_id, $10 etat, $11 thematique,
 * $12 maitre_ouvrage_id, $13 nature_depense, $14 public. */
#define LIST_WHERE                                                                                 \
    " FROM fiches_action x JOIN territoires t ON t.id_pvd = x.id_pvd"                              \
    " WHERE " FICHES_VISIBLES_SQL " AND ($6::text IS NULL OR x.id_pvd = $6)"                       \
    " AND ($7::text IS NULL OR t.code_departement = $7 OR EXISTS (SELECT 1 FROM"                   \
    " territoire_communes tc JOIN communes c ON c.code_insee = tc.code_insee AND c.type ="         \
    " 'commune-actuelle' WHERE tc.id_pvd = x.id_pvd AND c.code_departement = $7))"                 \
    " AND ($8::text IS NULL OR t.code_region = $8 OR EXISTS (SELECT 1 FROM"                        \
    " territoire_communes tc JOIN communes c ON c.code_insee = tc.code_insee AND c.type ="         \
    " 'commune-actuelle' WHERE tc.id_pvd = x.id_pvd AND c.code_region = $8))"                      \
    " AND ($9::text IS NULL OR x.axe_id = " PG_AS_UUID(                                            \
        "$9") ")"                                                                                  \
              " AND ($10::text IS NULL OR x.etat = $10)"                                           \
              " AND ($11::text IS NULL OR x.thematiques @> ARRAY[$11::text])"                      \
              " AND ($12::text IS NULL OR x.maitre_ouvrage_id = " PG_AS_UUID(                      \
                  "$12") ")"                                                                       \
                         " AND ($13::text IS NULL OR x.nature_depense = $13)"                      \
                         " AND ($14::boolean IS NULL OR x.public = $14)"
#define LIST_PARAMS 14

/* The parameters of LIST_WHERE, plus four free slots at the end; arrays owns
 * the perimeter's literals (pg_perimeter_literals_release). */
struct list_params {
    char *arrays[4];
    const char *values[LIST_PARAMS + 4];
};

/* Builds p for f and acquires a connection: DB_OK (release both with
 * list_close), else nothing is held (DB_FAILED: out of memory, or the
 * pool's failure). */
static enum db_result list_open(struct db_pool *pool, const struct fiche_filtre *f,
                                struct list_params *p, struct db_conn **conn, struct db_error *err)
{
    memset(p, 0, sizeof *p);
    *conn = NULL;
    if (!pg_perimeter_literals(f->perimeter, p->arrays)) {
        pg_perimeter_literals_release(p->arrays);
        return DB_FAILED;
    }
    const char *pub = f->public_ < 0 ? NULL : f->public_ ? "true" : "false";
    const char *v[LIST_PARAMS] = {f->role ? f->role : "",
                                  p->arrays[0],
                                  p->arrays[1],
                                  p->arrays[2],
                                  p->arrays[3],
                                  f->id_pvd,
                                  f->departement,
                                  f->region,
                                  f->axe_id,
                                  f->etat,
                                  f->thematique,
                                  f->maitre_ouvrage_id,
                                  f->nature_depense,
                                  pub};
    memcpy(p->values, v, sizeof v);
    enum db_result r = db_pool_acquire(pool, conn, err);
    if (r != DB_OK)
        pg_perimeter_literals_release(p->arrays);
    return r;
}

static void list_close(struct db_pool *pool, struct list_params *p, struct db_conn *conn)
{
    db_pool_release(pool, conn);
    pg_perimeter_literals_release(p->arrays);
}

static const struct list_sync_columns list_columns = {"x.modifie_le", "x.id", "uuid", NULL};

enum db_result fiche_list(struct db_pool *pool, const struct fiche_filtre *f, const char *after,
                          size_t limit, char **json_out, char last_key[65], bool *more,
                          size_t *total, struct db_error *err)
{
    struct list_params p;
    struct db_conn *conn = NULL;
    *json_out = NULL;
    last_key[0] = '\0';
    *more = false;
    *total = 0;
    enum db_result r = list_open(pool, f, &p, &conn, err);
    if (r != DB_OK)
        return r;
    r = list_sync_page(conn, &f->sync, &list_columns,
                       "(fiche_representation(x) || jsonb_build_object('_acces', "
                       "fiche_acces(x)))::text",
                       LIST_WHERE, LIST_PARAMS + 1, p.values, after, limit, json_out, last_key,
                       more, total, err);
    list_close(pool, &p, conn);
    return r;
}

/* Columns of one export row, in the order fiche_export reads them (after
 * the cursor key that list_sync_page_sql puts first); $18:
 * the statuts that count as financing (financement_statut_compte). */
#define EXPORT_COLUMNS                                                                             \
    "x.id::text, x.id_pvd::text, x.numero, x.intitule, coalesce((SELECT a.numero || '. ' || "      \
    "a.intitule FROM axes_strategiques a WHERE a.id = x.axe_id), ''), x.etat, "                    \
    "CASE WHEN x.etat IN ('brouillon', 'en_maturation') THEN 'en_maturation' ELSE 'prete' END, "   \
    "array_to_string(x.thematiques, ', '), (SELECT o.nom FROM organisations o WHERE o.id = "       \
    "x.maitre_ouvrage_id), coalesce((SELECT o.siren::text FROM organisations o WHERE o.id = "      \
    "x.maitre_ouvrage_id), ''), "                                                                  \
    "x.localisation_commune_insee::text, coalesce((SELECT c.nom FROM communes c WHERE "            \
    "c.code_insee = x.localisation_commune_insee AND c.type = 'commune-actuelle' LIMIT 1), ''), "  \
    "x.nature_depense, x.cout_total_ht, x.cout_total_ttc, coalesce(x.date_debut_prevue::text, "    \
    "''), coalesce(x.date_fin_prevue::text, ''), coalesce(x.date_commencement::text, ''), "        \
    "coalesce(x.date_achevement::text, ''), (SELECT coalesce(sum(l.montant), 0) FROM "             \
    "fiche_financements l WHERE l.fiche_id = x.id AND l.statut = ANY ($18::text[])), x.public"

enum db_result fiche_export(struct db_pool *pool, const struct fiche_filtre *f, size_t max_rows,
                            fiche_export_fn fn, void *ctx, bool *too_many, bool *stopped,
                            struct db_error *err)
{
    char limit_text[24];
    *too_many = false;
    *stopped = false;
    snprintf(limit_text, sizeof limit_text, "%zu", max_rows + 1);
    const char *comptes[FINANCEMENT_STATUT__COUNT];
    size_t ncomptes = 0;
    for (int st = 0; st < FINANCEMENT_STATUT__COUNT; st++)
        if (financement_statut_compte((enum financement_statut)st))
            comptes[ncomptes++] = financement_statut_name((enum financement_statut)st);
    char *statuts = pg_text_array_literal(comptes, ncomptes);
    if (!statuts)
        return DB_FAILED;
    char *sql =
        list_sync_page_sql(&f->sync, &list_columns, EXPORT_COLUMNS, LIST_WHERE, LIST_PARAMS + 1);
    struct list_params p;
    struct db_conn *conn;
    enum db_result r = sql ? list_open(pool, f, &p, &conn, err) : DB_FAILED;
    if (r != DB_OK) {
        free(statuts);
        free(sql);
        return r;
    }
    list_sync_params(&f->sync, NULL, limit_text, p.values + LIST_PARAMS);
    p.values[LIST_PARAMS + 3] = statuts;
    PGresult *res = NULL;
    r = pg_exec_rows(conn, sql, LIST_PARAMS + 4, p.values, &res, err);
    list_close(pool, &p, conn);
    free(statuts);
    free(sql);
    int n = r == DB_OK ? PQntuples(res) : 0;
    if (r == DB_OK && (size_t)n > max_rows)
        *too_many = true;
    for (int i = 0; r == DB_OK && !*too_many && i < n; i++) {
        struct fiche_export_ligne l;
        char *end = NULL;
        l.id = PQgetvalue(res, i, 1);
        l.id_pvd = PQgetvalue(res, i, 2);
        l.numero = PQgetvalue(res, i, 3);
        l.intitule = PQgetvalue(res, i, 4);
        l.axe = PQgetvalue(res, i, 5);
        l.etat = PQgetvalue(res, i, 6);
        l.maturite = PQgetvalue(res, i, 7);
        l.thematiques = PQgetvalue(res, i, 8);
        l.maitre_ouvrage_nom = PQgetvalue(res, i, 9);
        l.maitre_ouvrage_siren = PQgetvalue(res, i, 10);
        l.commune_insee = PQgetvalue(res, i, 11);
        l.commune_nom = PQgetvalue(res, i, 12);
        l.nature_depense = PQgetvalue(res, i, 13);
        l.cout_total_ht_centimes = strtoll(PQgetvalue(res, i, 14), &end, 10);
        if (!end || *end)
            r = DB_FAILED;
        l.has_cout_total_ttc = !PQgetisnull(res, i, 15);
        l.cout_total_ttc_centimes =
            l.has_cout_total_ttc ? strtoll(PQgetvalue(res, i, 15), NULL, 10) : 0;
        l.date_debut_prevue = PQgetvalue(res, i, 16);
        l.date_fin_prevue = PQgetvalue(res, i, 17);
        l.date_commencement = PQgetvalue(res, i, 18);
        l.date_achevement = PQgetvalue(res, i, 19);
        l.finance_centimes = strtoll(PQgetvalue(res, i, 20), &end, 10);
        if (!end || *end)
            r = DB_FAILED;
        l.public_ = strcmp(PQgetvalue(res, i, 21), "t") == 0;
        if (r == DB_OK && !fn(&l, ctx))
            *stopped = true;
        if (*stopped)
            break;
    }
    PQclear(res);
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
    {"cout_total_ht", "cout_total_ht_centimes", "(b->>'cout_total_ht_centimes')::bigint", NULL},
    {"cout_total_ttc", "cout_total_ttc_centimes", "(b->>'cout_total_ttc_centimes')::bigint", NULL},
    {"depense_subventionnable_ht", "depense_subventionnable_ht_centimes",
     "(b->>'depense_subventionnable_ht_centimes')::bigint", NULL},
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
    "INSERT INTO fiche_financements (id, fiche_id, rang, financeur_id, dispositif, "               \
    "nature_financeur, montant, assiette_ht, statut) SELECT COALESCE(" PG_AS_UUID(                 \
        "(e.v->>'id')") ", gen_random_uuid()), $1::uuid, (COALESCE((SELECT max(o.rang) + 1 FROM "  \
                        "fiche_financements o WHERE o.fiche_id = $1::uuid), 0) + e.n - "           \
                        "1)::smallint, "                                                           \
                        "(e.v->>'financeur_id')::uuid, e.v->>'dispositif', "                       \
                        "e.v->>'nature_financeur', "                                               \
                        "(e.v->>'montant_centimes')::bigint, "                                     \
                        "(e.v->>'assiette_ht_centimes')::bigint, "                                 \
                        "COALESCE(e.v->>'statut', "                                                \
                        "'envisage') FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS "     \
                        "e(v, n)"

/* The lines $2 (a JSON array) with the `id` of each line removed unless the
 * lines are replaced ($3) and it names a line the fiche $1 has now (its first
 * mention only): a line sent back keeps its id, any other gets a new one. */
#define LIGNES_IDS_KEPT                                                                            \
    "SELECT COALESCE(jsonb_agg(CASE WHEN s.garde THEN s.v ELSE s.v - 'id' END ORDER BY s.n), "     \
    "'[]'::jsonb)::text FROM (SELECT e.v, e.n, $3::boolean AND COALESCE(" PG_AS_UUID(              \
        "(e.v->>'id')") " IN (SELECT o.id FROM fiche_financements o WHERE o.fiche_id = "           \
                        "$1::uuid), false) AND row_number() OVER (PARTITION BY lower(e.v->>'id') " \
                        "ORDER BY e.n) = 1 AS garde FROM jsonb_array_elements($2::jsonb) WITH "    \
                        "ORDINALITY AS e(v, n)) s"

#define ECHEANCIER_INSERT                                                                          \
    "INSERT INTO fiche_echeancier (fiche_id, annee, montant) SELECT $1::uuid, "                    \
    "(e.v->>'annee')::smallint, (e.v->>'montant_centimes')::bigint FROM "                          \
    "jsonb_array_elements($2::jsonb) "                                                             \
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
        r = pg_exec_rows(tx->conn, "SELECT jsonb_typeof($1::jsonb -> $2), ($1::jsonb -> $2)::text",
                         2, member, &res, err);
        if (r == DB_OK && !PQgetisnull(res, 0, 0)) {
            bool is_array = strcmp(PQgetvalue(res, 0, 0), "array") == 0;
            char *lignes = NULL;
            if (is_array && strcmp(lists[i].key, "plan_financement") == 0) {
                const char *p3[3] = {id, PQgetvalue(res, 0, 1), replace ? "true" : "false"};
                PGresult *kept = NULL;
                r = pg_exec_rows(tx->conn, LIGNES_IDS_KEPT, 3, p3, &kept, err);
                if (r == DB_OK && !(lignes = pg_strdup(PQgetvalue(kept, 0, 0))))
                    r = DB_FAILED;
                PQclear(kept);
            }
            if (r == DB_OK && replace) {
                char sql[128];
                snprintf(sql, sizeof sql, "DELETE FROM %s WHERE fiche_id = $1::uuid",
                         lists[i].table);
                r = pg_exec_command(tx->conn, sql, 1, params, err);
            }
            if (r == DB_OK && is_array) {
                const char *p2[2] = {id, lignes ? lignes : PQgetvalue(res, 0, 1)};
                r = pg_exec_command(tx->conn, lists[i].insert, 2, p2, err);
            }
            free(lignes);
        }
        PQclear(res);
    }
    return r;
}

static enum db_result journal(struct db_tx *tx, const char *action, const struct fiche_row *avant,
                              const struct fiche_row *apres, struct db_error *err)
{
    const struct fiche_row *any = apres ? apres : avant;
    struct journal_entry e = {
        action, "fiche_action", any->id, avant ? avant->json : NULL, apres ? apres->json : NULL,
        {0}};
    return territoire_journal_record(tx, any->id_pvd, &e, err);
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
    r = pg_exec_rows(tx->conn, sql, 3, params, &res, err);
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

enum db_result fiche_lock(struct db_tx *tx, const char *id, long expected_revision,
                          struct fiche_row *avant, struct db_error *err)
{
    memset(avant, 0, sizeof *avant);
    enum db_result r = pg_territoire_lock_of(
        tx, "SELECT id_pvd FROM fiches_action WHERE id = " PG_AS_UUID("$1"), id, err);
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
    enum db_result r = fiche_lock(tx, id, expected_revision, &avant, err);
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
    enum db_result r = fiche_lock(tx, id, expected_revision, &avant, err);
    if (r != DB_OK)
        return r;
    const char *params[2] = {key, value_json};
    PGresult *res = NULL;
    r = pg_exec_rows(tx->conn, "SELECT jsonb_build_object($1::text, $2::jsonb)::text", 2, params,
                     &res, err);
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
                     "fiches_action x WHERE x.id = " PG_AS_UUID("$1"),
                     id, json_out, err);
}

enum db_result fiche_echeancier_list(struct db_conn *conn, const char *id, char **json_out,
                                     struct db_error *err)
{
    return list_json(conn,
                     "SELECT (fiche_representation(x) -> 'echeancier')::text FROM "
                     "fiches_action x WHERE x.id = " PG_AS_UUID("$1"),
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
    enum db_result r = fiche_lock(tx, id, expected_revision, &avant, err);
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
