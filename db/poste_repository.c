/* Storage of the postes de chef de projet (see poste_repository.h). */
#include "poste_repository.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "habilitation_repository.h"
#include "pgutil.h"
#include "territoire_lock.h"

#define ROW_COLUMNS "x.id::text, x.revision, poste_representation(x)::text"
#define ANNEE_COLUMNS                                                                              \
    "f.annee, f.revision, poste_financement_representation(f)::text, f.cout_charge_annuel, "       \
    "f.avec_anah, f.part_anct_etat, f.part_bdt, f.part_anah, f.etude_pre_operationnelle_anah, "    \
    "f.opah_ru, coalesce(f.financeur_bdt_id::text, ''), "                                          \
    "coalesce(f.financeur_anah_id::text, ''), f.parametres_version"

static const char *acteur(const struct db_tx *tx)
{
    return tx->actor && tx->actor->acteur ? tx->actor->acteur : "?";
}

/* ---- the poste -------------------------------------------------------------- */

void poste_row_release(struct poste_row *row)
{
    free(row->json);
    row->json = NULL;
}

static enum db_result fill_row(const PGresult *res, int row, void *dst)
{
    struct poste_row *out = dst;
    snprintf(out->id, sizeof out->id, "%s", PQgetvalue(res, row, 0));
    out->revision = strtol(PQgetvalue(res, row, 1), NULL, 10);
    out->json = pg_strdup(PQgetvalue(res, row, 2));
    return out->json ? DB_OK : DB_FAILED;
}

enum db_result poste_get(struct db_conn *conn, const char *id, struct poste_row *out,
                         struct db_error *err)
{
    const char *params[1] = {id};
    return pg_one_row(
        conn, "SELECT " ROW_COLUMNS " FROM postes_chef_projet x WHERE x.id = " PG_AS_UUID("$1"), 1,
        params, fill_row, out, sizeof *out, err);
}

enum db_result poste_get_pooled(struct db_pool *pool, const char *id, struct poste_row *out,
                                struct db_error *err)
{
    struct db_conn *conn = NULL;
    memset(out, 0, sizeof *out);
    enum db_result r = db_pool_acquire(pool, &conn, err);
    if (r != DB_OK)
        return r;
    r = poste_get(conn, id, out, err);
    db_pool_release(pool, conn);
    return r;
}

/* ---- access ---------------------------------------------------------------- */

struct authz_target poste_access_target(struct poste_access *a, size_t i)
{
    struct authz_target t = territoire_scope_target(&a->scopes[i]);
    for (size_t k = 0; k < a->financeur_siren_count; k++)
        a->financeur_ptrs[k] = a->financeur_sirens[k];
    a->financeur_ptrs[a->financeur_siren_count] = NULL;
    t.financeur_sirens = a->financeur_ptrs;
    t.financeur_siren_count = a->financeur_siren_count;
    return t;
}

/* Loads the scopes of ids into out (employeur_siren added to each). */
static enum db_result load_scopes(struct db_conn *conn, const char *const *ids, size_t count,
                                  const char *employeur_siren, struct poste_access *out,
                                  size_t *missing, struct db_error *err)
{
    out->scope_count = 0;
    for (size_t i = 0; i < count && i < POSTE_TERRITOIRES_MAX; i++) {
        enum db_result r = territoire_scope_load(conn, ids[i], &out->scopes[i], err);
        if (r != DB_OK) {
            if (missing)
                *missing = i;
            return r;
        }
        if (employeur_siren && employeur_siren[0])
            territoire_scope_add_siren(&out->scopes[i], employeur_siren);
        out->scope_count = i + 1;
    }
    return DB_OK;
}

enum db_result poste_access_load(struct db_conn *conn, const char *id, struct poste_access *out,
                                 struct db_error *err)
{
    memset(out, 0, sizeof *out);
    const char *params[1] = {id};
    PGresult *res = NULL;
    enum db_result r = pg_exec_first_row(
        conn,
        "SELECT coalesce((SELECT o.siren::text FROM organisations o WHERE o.id = p.employeur_id),"
        " ''), array_to_string(ARRAY(SELECT pt.id_pvd::text FROM poste_territoires pt WHERE"
        " pt.poste_id = p.id ORDER BY pt.rang), ','), array_to_string(poste_financeur_sirens(p.id),"
        " ',') FROM postes_chef_projet p WHERE p.id = " PG_AS_UUID("$1"),
        1, params, &res, err);
    if (r != DB_OK) {
        PQclear(res);
        return r;
    }
    char siren[10], ids_text[POSTE_TERRITOIRES_MAX * 17 + 1];
    snprintf(siren, sizeof siren, "%s", PQgetvalue(res, 0, 0));
    snprintf(ids_text, sizeof ids_text, "%s", PQgetvalue(res, 0, 1));
    const char *fin = PQgetvalue(res, 0, 2);
    for (const char *p = fin; *p && out->financeur_siren_count < POSTE_FINANCEURS_SIRENS;) {
        size_t n = strcspn(p, ",");
        if (n == 9)
            snprintf(out->financeur_sirens[out->financeur_siren_count++], 10, "%.9s", p);
        p += n + (p[n] == ',');
    }
    PQclear(res);
    const char *ids[POSTE_TERRITOIRES_MAX];
    size_t count = 0;
    char *save = NULL;
    for (char *s = strtok_r(ids_text, ",", &save); s && count < POSTE_TERRITOIRES_MAX;
         s = strtok_r(NULL, ",", &save))
        ids[count++] = s;
    if (count == 0)
        return DB_FAILED; /* a poste serves ≥ 1 territoire */
    r = load_scopes(conn, ids, count, siren, out, NULL, err);
    return r == DB_NOT_FOUND ? DB_FAILED : r; /* the territoires exist (foreign key) */
}

enum db_result poste_access_load_pooled(struct db_pool *pool, const char *id,
                                        struct poste_access *out, struct db_error *err)
{
    struct db_conn *conn = NULL;
    enum db_result r = db_pool_acquire(pool, &conn, err);
    if (r == DB_OK) {
        r = poste_access_load(conn, id, out, err);
        db_pool_release(pool, conn);
    }
    return r;
}

enum db_result poste_access_of(struct db_pool *pool, const char *const *ids, size_t count,
                               const char *employeur_siren, struct poste_access *out,
                               size_t *missing, struct db_error *err)
{
    memset(out, 0, sizeof *out);
    struct db_conn *conn = NULL;
    enum db_result r = db_pool_acquire(pool, &conn, err);
    if (r == DB_OK) {
        r = load_scopes(conn, ids, count, employeur_siren, out, missing, err);
        db_pool_release(pool, conn);
    }
    return r;
}

/* ---- list ---------------------------------------------------------------- */

/* $1 role, $2..$5 perimeter, $6 id_pvd, $7 departement, $8 employeur_id,
 * $9 annee. The rows are read FROM postes_visibles (migration 0029), which the planner
 * inlines: the caller's visibility is a WHERE clause of this scan over sets computed once per
 * statement. */
#define LIST_WHERE                                                                                 \
    " FROM postes_visibles($1, $2::text[], $3::text[], $4::text[], $5::text[]) x"                  \
    " WHERE ($6::text IS NULL OR EXISTS (SELECT 1 FROM poste_territoires pt WHERE pt.poste_id ="   \
    " x.id AND pt.id_pvd = $6))"                                                                   \
    " AND ($7::text IS NULL OR EXISTS (SELECT 1 FROM poste_territoires pt JOIN territoires t ON"   \
    " t.id_pvd = pt.id_pvd WHERE pt.poste_id = x.id AND (t.code_departement = $7 OR EXISTS"        \
    " (SELECT 1 FROM territoire_communes tc JOIN communes c ON c.code_insee = tc.code_insee AND"   \
    " c.type = 'commune-actuelle' WHERE tc.id_pvd = pt.id_pvd AND c.code_departement = $7))))"     \
    " AND ($8::text IS NULL OR x.employeur_id = " PG_AS_UUID(                                      \
        "$8") ")"                                                                                  \
              " AND ($9::int IS NULL OR EXISTS (SELECT 1 FROM poste_financements f WHERE "         \
              "f.poste_id ="                                                                       \
              " x.id AND f.annee = $9::int))"
#define LIST_PARAMS 9

static const struct list_sync_columns list_columns = {"x.modifie_le", "x.id", "uuid", NULL};

enum db_result poste_list(struct db_pool *pool, const struct poste_filtre *f, const char *after,
                          size_t limit, char **json_out, char last_key[65], bool *more,
                          size_t *total, struct db_error *err)
{
    char annee_text[16];
    char *arrays[4] = {NULL, NULL, NULL, NULL};
    *json_out = NULL;
    last_key[0] = '\0';
    *more = false;
    *total = 0;
    snprintf(annee_text, sizeof annee_text, "%d", f->annee);
    if (!pg_perimeter_literals(f->perimeter, arrays)) {
        pg_perimeter_literals_release(arrays);
        return DB_FAILED;
    }
    const char *values[LIST_PARAMS + 3] = {f->role ? f->role : "",
                                           arrays[0],
                                           arrays[1],
                                           arrays[2],
                                           arrays[3],
                                           f->id_pvd,
                                           f->departement,
                                           f->employeur_id,
                                           f->annee < 0 ? NULL : annee_text};
    struct db_conn *conn = NULL;
    enum db_result r = db_pool_acquire(pool, &conn, err);
    if (r == DB_OK) {
        r = list_sync_page(conn, &f->sync, &list_columns, "poste_representation(x)::text",
                           LIST_WHERE, LIST_PARAMS + 1, values, after, limit, json_out, last_key,
                           more, total, err);
        db_pool_release(pool, conn);
    }
    pg_perimeter_literals_release(arrays);
    return r;
}

/* ---- writes --------------------------------------------------------------- */

/* The text parameters of v's columns: employeur, quotité, dates, contract,
 * missions (buffers in the caller's frame). */
struct valeurs_text {
    char quotite[24], recrutement[11], fin[11];
};

static void valeurs_params(const struct poste_valeurs *v, struct valeurs_text *t,
                           const char *params[6])
{
    snprintf(t->quotite, sizeof t->quotite, "%lld", (long long)v->quotite);
    date_format(v->date_recrutement, t->recrutement);
    date_format(v->date_fin_contrat, t->fin);
    params[0] = v->employeur_id;
    params[1] = t->quotite;
    params[2] = t->recrutement;
    params[3] = v->has_date_fin_contrat ? t->fin : NULL;
    params[4] = v->type_contrat;
    params[5] = v->missions;
}

/* Replaces poste id's territoires by v's. */
static enum db_result write_territoires(struct db_tx *tx, const char *id,
                                        const struct poste_valeurs *v, struct db_error *err)
{
    char *list = pg_text_array_literal(v->territoires, v->territoire_count);
    if (!list)
        return DB_FAILED;
    const char *params[2] = {id, list};
    enum db_result r = pg_exec_command(
        tx->conn, "DELETE FROM poste_territoires WHERE poste_id = $1::uuid", 1, params, err);
    if (r == DB_OK)
        r = pg_exec_command(tx->conn,
                            "INSERT INTO poste_territoires (poste_id, id_pvd, rang) SELECT"
                            " $1::uuid, u.t, u.o - 1 FROM unnest($2::text[]) WITH ORDINALITY AS"
                            " u(t, o)",
                            2, params, err);
    free(list);
    return r;
}

enum db_result poste_create(struct db_tx *tx, const struct poste_valeurs *v, struct poste_row *out,
                            struct db_error *err)
{
    struct valeurs_text t;
    const char *params[7];
    valeurs_params(v, &t, params);
    params[6] = acteur(tx);
    memset(out, 0, sizeof *out);
    char id[37];
    PGresult *res = NULL;
    enum db_result r = pg_exec_first_row(
        tx->conn,
        "INSERT INTO postes_chef_projet (employeur_id, quotite, date_recrutement,"
        " date_fin_contrat, type_contrat, missions, cree_par) VALUES ($1::uuid, $2::int,"
        " $3::date, $4::date, $5, $6, $7) RETURNING id::text",
        7, params, &res, err);
    if (r != DB_OK) {
        PQclear(res);
        return r;
    }
    snprintf(id, sizeof id, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    r = write_territoires(tx, id, v, err);
    return r == DB_OK ? poste_get(tx->conn, id, out, err) : r;
}

enum db_result poste_update(struct db_tx *tx, const char *id, const struct poste_valeurs *v,
                            struct poste_row *out, struct db_error *err)
{
    struct valeurs_text t;
    const char *params[7];
    valeurs_params(v, &t, params);
    params[6] = id;
    memset(out, 0, sizeof *out);
    PGresult *res = NULL;
    enum db_result r = pg_exec_first_row(
        tx->conn,
        "UPDATE postes_chef_projet SET employeur_id = $1::uuid, quotite = $2::int,"
        " date_recrutement = $3::date, date_fin_contrat = $4::date, type_contrat = $5,"
        " missions = $6, revision = revision + 1, modifie_le = now() WHERE id = " PG_AS_UUID(
            "$7") " RETURNING id",
        7, params, &res, err);
    PQclear(res);
    if (r == DB_OK)
        r = write_territoires(tx, id, v, err);
    return r == DB_OK ? poste_get(tx->conn, id, out, err) : r;
}

static bool date_of(const char *s, struct date *out)
{
    return date_parse(s, out);
}

enum db_result poste_lock(struct db_tx *tx, const char *id, struct poste_etat *out,
                          struct db_error *err)
{
    memset(out, 0, sizeof *out);
    const char *params[1] = {id};
    PGresult *res = NULL;
    enum db_result r = pg_exec_first_row(
        tx->conn,
        "SELECT p.revision, p.employeur_id::text, o.nature, p.quotite, p.date_recrutement::text,"
        " coalesce(p.date_fin_contrat::text, ''), coalesce(p.type_contrat, ''),"
        " array_to_string(ARRAY(SELECT pt.id_pvd::text FROM poste_territoires pt WHERE"
        " pt.poste_id = p.id ORDER BY pt.rang), ',') FROM postes_chef_projet p JOIN organisations"
        " o ON o.id = p.employeur_id WHERE p.id = " PG_AS_UUID("$1") " FOR UPDATE OF p",
        1, params, &res, err);
    if (r != DB_OK) {
        PQclear(res);
        return r;
    }
    bool ok = true;
    out->revision = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    snprintf(out->employeur_id, sizeof out->employeur_id, "%s", PQgetvalue(res, 0, 1));
    ok = organisation_kind_parse(PQgetvalue(res, 0, 2), &out->employeur_kind);
    out->poste.employeur_kind = out->employeur_kind;
    out->poste.quotite = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
    ok = ok && date_of(PQgetvalue(res, 0, 4), &out->poste.date_recrutement);
    out->poste.has_date_fin_contrat = PQgetvalue(res, 0, 5)[0] != '\0';
    if (out->poste.has_date_fin_contrat)
        ok = ok && date_of(PQgetvalue(res, 0, 5), &out->poste.date_fin_contrat);
    out->poste.has_type_contrat = PQgetvalue(res, 0, 6)[0] != '\0';
    if (out->poste.has_type_contrat)
        ok = ok && cdp_type_contrat_parse(PQgetvalue(res, 0, 6), &out->poste.type_contrat);
    char ids[POSTE_TERRITOIRES_MAX * 17 + 1];
    snprintf(ids, sizeof ids, "%s", PQgetvalue(res, 0, 7));
    PQclear(res);
    char *save = NULL;
    for (char *s = strtok_r(ids, ",", &save); s && out->territoire_count < POSTE_TERRITOIRES_MAX;
         s = strtok_r(NULL, ",", &save))
        snprintf(out->territoires[out->territoire_count++], 17, "%s", s);
    out->poste.territoire_count = out->territoire_count;
    return ok && out->territoire_count > 0 ? DB_OK : DB_FAILED;
}

static int compare_ids(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

enum db_result poste_territoires_lock(struct db_tx *tx, const char *const *ids, size_t count,
                                      struct db_error *err)
{
    const char *sorted[2 * POSTE_TERRITOIRES_MAX];
    if (count > 2 * POSTE_TERRITOIRES_MAX)
        return DB_FAILED;
    memcpy(sorted, ids, count * sizeof *ids);
    qsort(sorted, count, sizeof *sorted, compare_ids);
    for (size_t i = 0; i < count; i++) {
        if (i > 0 && strcmp(sorted[i], sorted[i - 1]) == 0)
            continue;
        enum db_result r = territoire_lock(tx, sorted[i], err);
        if (r != DB_OK)
            return r;
    }
    return DB_OK;
}

enum db_result poste_adhesion_signee(struct db_tx *tx, const char *const *ids, size_t count,
                                     bool *signee, struct db_error *err)
{
    *signee = false;
    char *list = pg_text_array_literal(ids, count);
    if (!list)
        return DB_FAILED;
    const char *params[1] = {list};
    PGresult *res = NULL;
    enum db_result r = pg_exec_first_row(
        tx->conn,
        "SELECT EXISTS (SELECT 1 FROM conventions c WHERE c.id_pvd = ANY ($1::text[]) AND"
        " c.type = 'adhesion' AND c.etat IN ('signee', 'relayee'))",
        1, params, &res, err);
    if (r == DB_OK)
        *signee = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    free(list);
    return r;
}

enum db_result poste_organisation_lire(struct db_conn *conn, const char *id, char nature[16],
                                       char siren[10], struct db_error *err)
{
    const char *params[1] = {id};
    PGresult *res = NULL;
    nature[0] = siren[0] = '\0';
    enum db_result r = pg_exec_first_row(conn,
                                         "SELECT nature, coalesce(siren::text, '') FROM"
                                         " organisations WHERE id = " PG_AS_UUID("$1"),
                                         1, params, &res, err);
    if (r == DB_OK) {
        snprintf(nature, 16, "%s", PQgetvalue(res, 0, 0));
        snprintf(siren, 10, "%s", PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    return r;
}

/* ---- years ----------------------------------------------------------------- */

void poste_annee_row_release(struct poste_annee_row *row)
{
    free(row->json);
    row->json = NULL;
}

static enum db_result fill_annee(const PGresult *res, int row, void *dst)
{
    struct poste_annee_row *out = dst;
    out->f.annee = (int)strtol(PQgetvalue(res, row, 0), NULL, 10);
    out->revision = strtol(PQgetvalue(res, row, 1), NULL, 10);
    out->json = pg_strdup(PQgetvalue(res, row, 2));
    out->f.cout_charge_annuel = strtoll(PQgetvalue(res, row, 3), NULL, 10);
    out->f.avec_anah = PQgetvalue(res, row, 4)[0] == 't';
    out->f.parts[CDP_FINANCEUR_ANCT_ETAT] = strtoll(PQgetvalue(res, row, 5), NULL, 10);
    out->f.parts[CDP_FINANCEUR_BDT] = strtoll(PQgetvalue(res, row, 6), NULL, 10);
    out->f.parts[CDP_FINANCEUR_ANAH] = strtoll(PQgetvalue(res, row, 7), NULL, 10);
    out->etude_pre_operationnelle_anah = PQgetvalue(res, row, 8)[0] == 't';
    out->opah_ru = PQgetvalue(res, row, 9)[0] == 't';
    snprintf(out->financeur_bdt_id, sizeof out->financeur_bdt_id, "%s", PQgetvalue(res, row, 10));
    snprintf(out->financeur_anah_id, sizeof out->financeur_anah_id, "%s", PQgetvalue(res, row, 11));
    out->parametres_version = strtol(PQgetvalue(res, row, 12), NULL, 10);
    return out->json ? DB_OK : DB_FAILED;
}

enum db_result poste_annee_get(struct db_conn *conn, const char *id, int annee, bool lock,
                               struct poste_annee_row *out, struct db_error *err)
{
    char annee_text[16];
    snprintf(annee_text, sizeof annee_text, "%d", annee);
    const char *params[2] = {id, annee_text};
    return pg_one_row(conn,
                      lock ? "SELECT " ANNEE_COLUMNS " FROM poste_financements f WHERE f.poste_id"
                             " = " PG_AS_UUID("$1") " AND f.annee = $2::int FOR UPDATE"
                           : "SELECT " ANNEE_COLUMNS " FROM poste_financements f WHERE f.poste_id"
                             " = " PG_AS_UUID("$1") " AND f.annee = $2::int",
                      2, params, fill_annee, out, sizeof *out, err);
}

enum db_result poste_annee_get_pooled(struct db_pool *pool, const char *id, int annee,
                                      struct poste_annee_row *out, struct db_error *err)
{
    struct db_conn *conn = NULL;
    memset(out, 0, sizeof *out);
    enum db_result r = db_pool_acquire(pool, &conn, err);
    if (r != DB_OK)
        return r;
    r = poste_annee_get(conn, id, annee, false, out, err);
    db_pool_release(pool, conn);
    return r;
}

void poste_annees_release(struct poste_annee_row *rows, size_t count)
{
    for (size_t i = 0; rows && i < count; i++)
        poste_annee_row_release(&rows[i]);
    free(rows);
}

enum db_result poste_annees_lire(struct db_conn *conn, const char *id,
                                 struct poste_annee_row **rows, size_t *count, struct db_error *err)
{
    *rows = NULL;
    *count = 0;
    const char *params[1] = {id};
    PGresult *res = NULL;
    enum db_result r = pg_exec_rows(conn,
                                    "SELECT " ANNEE_COLUMNS " FROM poste_financements f WHERE"
                                    " f.poste_id = " PG_AS_UUID("$1") " ORDER BY f.annee",
                                    1, params, &res, err);
    int n = r == DB_OK ? PQntuples(res) : 0;
    if (r == DB_OK && n > 0) {
        *rows = calloc((size_t)n, sizeof **rows);
        if (!*rows)
            r = DB_FAILED;
        for (int i = 0; r == DB_OK && i < n; i++) {
            r = fill_annee(res, i, &(*rows)[i]);
            *count = (size_t)i + 1;
        }
    }
    PQclear(res);
    if (r != DB_OK) {
        poste_annees_release(*rows, *count);
        *rows = NULL;
        *count = 0;
    }
    return r;
}

enum db_result poste_annee_ecrire(struct db_tx *tx, const char *id,
                                  const struct poste_annee_valeurs *v, struct poste_annee_row *out,
                                  struct db_error *err)
{
    char annee[16], cout[24], parts[CDP_FINANCEUR__COUNT][24], version[24];
    snprintf(annee, sizeof annee, "%d", v->f.annee);
    snprintf(version, sizeof version, "%ld", v->parametres_version);
    snprintf(cout, sizeof cout, "%lld", (long long)v->f.cout_charge_annuel);
    for (int i = 0; i < CDP_FINANCEUR__COUNT; i++)
        snprintf(parts[i], sizeof parts[i], "%lld", (long long)v->f.parts[i]);
    const char *params[13] = {
        id,
        annee,
        cout,
        v->f.avec_anah ? "true" : "false",
        v->etude_pre_operationnelle_anah ? "true" : "false",
        v->opah_ru ? "true" : "false",
        parts[CDP_FINANCEUR_ANCT_ETAT],
        parts[CDP_FINANCEUR_BDT],
        parts[CDP_FINANCEUR_ANAH],
        v->financeur_bdt_id && v->financeur_bdt_id[0] ? v->financeur_bdt_id : NULL,
        v->financeur_anah_id && v->financeur_anah_id[0] ? v->financeur_anah_id : NULL,
        acteur(tx),
        version};
    enum db_result r = pg_exec_command(
        tx->conn,
        "INSERT INTO poste_financements AS f (poste_id, annee, cout_charge_annuel, avec_anah,"
        " etude_pre_operationnelle_anah, opah_ru, part_anct_etat, part_bdt, part_anah,"
        " financeur_bdt_id, financeur_anah_id, cree_par, parametres_version) VALUES ($1::uuid,"
        " $2::int, $3::bigint, $4::boolean, $5::boolean, $6::boolean, $7::bigint, $8::bigint,"
        " $9::bigint, $10::uuid, $11::uuid, $12, $13::int) ON CONFLICT (poste_id, annee) DO UPDATE "
        "SET cout_charge_annuel ="
        " EXCLUDED.cout_charge_annuel, avec_anah = EXCLUDED.avec_anah,"
        " etude_pre_operationnelle_anah = EXCLUDED.etude_pre_operationnelle_anah, opah_ru ="
        " EXCLUDED.opah_ru, part_anct_etat = EXCLUDED.part_anct_etat, part_bdt ="
        " EXCLUDED.part_bdt, part_anah = EXCLUDED.part_anah, financeur_bdt_id ="
        " EXCLUDED.financeur_bdt_id, financeur_anah_id = EXCLUDED.financeur_anah_id,"
        " parametres_version = EXCLUDED.parametres_version, revision = f.revision + 1,"
        " modifie_le = now()",
        13, params, err);
    return r == DB_OK ? poste_annee_get(tx->conn, id, v->f.annee, false, out, err) : r;
}
