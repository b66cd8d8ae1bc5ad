/* Storage of the programme parameters: see parametres_repository.h and
 * migration 0017. The stored document is read member by member with
 * PostgreSQL's JSON operators (text values) and parsed strictly here: a value
 * that does not parse, or a row beyond the struct's capacity, is DB_FAILED
 * (the document was written from a valid struct: a bug). */
#include "parametres_repository.h"

#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgutil.h"

/* The version row and its scalar members: columns 0–3 the metadata, 4–6 the
 * programme dates, 7–14 the delays (in struct parametres_delais order). */
#define HEAD_SQL                                                                                   \
    "SELECT v.version::text, to_char(v.date_effet, 'YYYY-MM-DD'), v.cree_par, "                    \
    "to_char(v.cree_le AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "                 \
    "v.document #>> '{programme,date_lancement}', v.document #>> '{programme,date_fin}', "         \
    "v.document #>> '{programme,fin_cofinancement_cdp}', "                                         \
    "v.document #>> '{delais,rejet_implicite_mois}', v.document #>> '{delais,caducite_annees}', "  \
    "v.document #>> '{delais,caducite_prolongation_annees}', "                                     \
    "v.document #>> '{delais,forclusion_annees}', "                                                \
    "v.document #>> '{delais,forclusion_prolongation_annees}', "                                   \
    "v.document #>> '{delais,seuil_commission_detr_centimes}', "                                   \
    "v.document #>> '{delais,avance_taux_max}', v.document #>> "                                   \
    "'{delais,avance_taux_max_garantie}' "                                                         \
    "FROM parametres_versions v "

/* One row per (chef_projet element, financer): index (1-based), the
 * element's scalars, the financer's name and caps (NULL without financers). */
#define CDP_SQL                                                                                    \
    "SELECT c.i::text, c.e->>'annee_debut', c.e->>'taux_max', c.e->>'taux_premier_versement', "    \
    "c.e->>'plafond_annuel_centimes', c.e->>'plafond_annuel_avec_anah_centimes', f.key, "          \
    "f.value->>'taux_max', f.value->>'plafond_annuel_centimes' FROM parametres_versions v "        \
    "CROSS JOIN LATERAL jsonb_array_elements(v.document->'chef_projet') WITH ORDINALITY c(e, i) "  \
    "LEFT JOIN LATERAL jsonb_each(c.e->'financeurs') f ON true WHERE v.version = $1::int "         \
    "ORDER BY c.i, f.key"

#define LIMITES_SQL                                                                                \
    "SELECT l.e->>'dispositif', l.e->>'annee', l.e->>'code_departement', l.e->>'date_limite' "     \
    "FROM parametres_versions v CROSS JOIN LATERAL "                                               \
    "jsonb_array_elements(v.document->'dates_limites_depot') WITH ORDINALITY l(e, i) "             \
    "WHERE v.version = $1::int ORDER BY l.i"

/* The whole text as a decimal integer in [min, max]. */
static bool parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *end = NULL;
    if (s == NULL || *s == '\0')
        return false;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return false;
    *out = (int64_t)v;
    return true;
}

static bool parse_int(const char *s, int *out)
{
    int64_t v = 0;
    if (!parse_i64(s, -1000000, 1000000, &v))
        return false;
    *out = (int)v;
    return true;
}

static const char *cell(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

static enum db_result failed(struct db_error *err, const char *what)
{
    snprintf(err->message, sizeof err->message, "document de paramètres illisible : %s", what);
    return DB_FAILED;
}

/* Row 0 of a HEAD_SQL result into *out (zeroed first) and *info. */
static enum db_result fill_head(const PGresult *res, struct parametres *out,
                                struct parametres_version_info *info, struct db_error *err)
{
    int64_t v = 0;
    memset(out, 0, sizeof *out);
    memset(info, 0, sizeof *info);
    if (!parse_i64(cell(res, 0, 0), 1, INT32_MAX, &v) ||
        !date_parse(PQgetvalue(res, 0, 1), &info->date_effet))
        return failed(err, "version");
    info->version = (long)v;
    snprintf(info->cree_par, sizeof info->cree_par, "%s", PQgetvalue(res, 0, 2));
    snprintf(info->cree_le, sizeof info->cree_le, "%s", PQgetvalue(res, 0, 3));
    struct date *dates[] = {&out->date_lancement, &out->date_fin, &out->fin_cofinancement_cdp};
    for (int i = 0; i < 3; i++)
        if (!cell(res, 0, 4 + i) || !date_parse(cell(res, 0, 4 + i), dates[i]))
            return failed(err, "programme");
    struct parametres_delais *d = &out->delais;
    int *ints[] = {&d->rejet_implicite_mois, &d->caducite_annees, &d->caducite_prolongation_annees,
                   &d->forclusion_annees, &d->forclusion_prolongation_annees};
    for (int i = 0; i < 5; i++)
        if (!parse_int(cell(res, 0, 7 + i), ints[i]))
            return failed(err, "delais");
    int64_t *i64s[] = {&d->seuil_commission_detr, &d->avance_taux_max,
                       &d->avance_taux_max_garantie};
    for (int i = 0; i < 3; i++)
        if (!parse_i64(cell(res, 0, 12 + i), INT64_MIN, INT64_MAX, i64s[i]))
            return failed(err, "delais");
    return DB_OK;
}

static enum db_result fill_cdp(struct db_conn *conn, const char *version, struct parametres *out,
                               struct db_error *err)
{
    const char *params[1] = {version};
    PGresult *res = NULL;
    enum db_result r = pg_exec_rows(conn, CDP_SQL, 1, params, &res, err);
    for (int row = 0; r == DB_OK && row < PQntuples(res); row++) {
        int64_t index = 0;
        if (!parse_i64(cell(res, row, 0), 1, PARAMETRES_CDP_MAX, &index)) {
            r = failed(err, "chef_projet");
            break;
        }
        struct parametres_cdp *c = &out->chef_projet[index - 1];
        if ((size_t)index > out->chef_projet_count)
            out->chef_projet_count = (size_t)index;
        if (!parse_int(cell(res, row, 1), &c->annee_debut) ||
            !parse_i64(cell(res, row, 2), INT64_MIN, INT64_MAX, &c->taux_max) ||
            !parse_i64(cell(res, row, 3), INT64_MIN, INT64_MAX, &c->taux_premier_versement) ||
            !parse_i64(cell(res, row, 4), INT64_MIN, INT64_MAX, &c->plafond_annuel) ||
            !parse_i64(cell(res, row, 5), INT64_MIN, INT64_MAX, &c->plafond_annuel_avec_anah)) {
            r = failed(err, "chef_projet");
            break;
        }
        if (!cell(res, row, 6))
            continue;
        enum cdp_financeur f;
        if (!cdp_financeur_parse(cell(res, row, 6), &f) ||
            !parse_i64(cell(res, row, 7), INT64_MIN, INT64_MAX, &c->financeurs[f].taux_max) ||
            !parse_i64(cell(res, row, 8), INT64_MIN, INT64_MAX, &c->financeurs[f].plafond_annuel))
            r = failed(err, "chef_projet financeurs");
    }
    PQclear(res);
    return r;
}

static enum db_result fill_limites(struct db_conn *conn, const char *version,
                                   struct parametres *out, struct db_error *err)
{
    const char *params[1] = {version};
    PGresult *res = NULL;
    enum db_result r = pg_exec_rows(conn, LIMITES_SQL, 1, params, &res, err);
    if (r == DB_OK && PQntuples(res) > PARAMETRES_DATES_LIMITES_MAX)
        r = failed(err, "dates_limites_depot");
    for (int row = 0; r == DB_OK && row < PQntuples(res); row++) {
        struct parametres_date_limite *l = &out->dates_limites[row];
        const char *code = cell(res, row, 2);
        if (!cell(res, row, 0) || !subvention_dispositif_parse(cell(res, row, 0), &l->dispositif) ||
            !parse_int(cell(res, row, 1), &l->annee) || !code ||
            strlen(code) >= sizeof l->code_departement || !cell(res, row, 3) ||
            !date_parse(cell(res, row, 3), &l->date_limite)) {
            r = failed(err, "dates_limites_depot");
            break;
        }
        memcpy(l->code_departement, code, strlen(code) + 1);
        out->dates_limites_count = (size_t)row + 1;
    }
    PQclear(res);
    return r;
}

/* The version HEAD_SQL + where ($1) selects, complete. DB_NOT_FOUND when
 * none. */
static enum db_result read_version(struct db_conn *conn, const char *where, const char *param,
                                   struct parametres *out, struct parametres_version_info *info,
                                   struct db_error *err)
{
    char sql[2048];
    const char *params[1] = {param};
    PGresult *res = NULL;
    snprintf(sql, sizeof sql, "%s%s", HEAD_SQL, where);
    enum db_result r = pg_exec_first_row(conn, sql, 1, params, &res, err);
    if (r == DB_OK)
        r = fill_head(res, out, info, err);
    PQclear(res);
    if (r == DB_OK) {
        char version[24];
        snprintf(version, sizeof version, "%ld", info->version);
        r = fill_cdp(conn, version, out, err);
        if (r == DB_OK)
            r = fill_limites(conn, version, out, err);
    }
    return r;
}

enum db_result parametres_version_en_vigueur(struct db_conn *conn, struct date date,
                                             struct parametres *out,
                                             struct parametres_version_info *info,
                                             struct db_error *err)
{
    char day[11];
    date_format(date, day);
    enum db_result r = read_version(
        conn, "WHERE v.date_effet <= $1::date ORDER BY v.date_effet DESC, v.version DESC LIMIT 1",
        day, out, info, err);
    if (r == DB_NOT_FOUND) {
        parametres_defaut(out);
        memset(info, 0, sizeof *info);
        r = DB_OK;
    }
    return r;
}

enum db_result parametres_en_vigueur(struct db_conn *conn, struct date date, struct parametres *out,
                                     long *version, struct db_error *err)
{
    struct parametres_version_info info;
    enum db_result r = parametres_version_en_vigueur(conn, date, out, &info, err);
    if (r == DB_OK && version)
        *version = info.version;
    return r;
}

enum db_result parametres_version_lire(struct db_conn *conn, long version, struct parametres *out,
                                       struct parametres_version_info *info, struct db_error *err)
{
    char text[24];
    snprintf(text, sizeof text, "%ld", version);
    return read_version(conn, "WHERE v.version = $1::int", text, out, info, err);
}

enum db_result parametres_de_version(struct db_conn *conn, long version, struct parametres *out,
                                     struct db_error *err)
{
    if (version == 0) {
        parametres_defaut(out);
        return DB_OK;
    }
    struct parametres_version_info info;
    enum db_result r = parametres_version_lire(conn, version, out, &info, err);
    if (r == DB_NOT_FOUND) {
        snprintf(err->message, sizeof err->message, "version de paramètres %ld absente", version);
        return DB_FAILED;
    }
    return r;
}

enum db_result parametres_versions(struct db_conn *conn, long after, size_t limit, char **json_out,
                                   char last[24], bool *more, size_t *total, struct db_error *err)
{
    char after_text[24], limit_text[24];
    snprintf(after_text, sizeof after_text, "%ld", after);
    snprintf(limit_text, sizeof limit_text, "%zu", limit + 1);
    const char *params[2] = {after_text, limit_text};
    *json_out = NULL;
    last[0] = '\0';
    *more = false;
    PGresult *res = NULL;
    enum db_result r = pg_exec_rows(
        conn,
        "SELECT v.version::text, jsonb_build_object('version', v.version, 'date_effet', "
        "to_char(v.date_effet, 'YYYY-MM-DD'), 'cree_par', v.cree_par, 'cree_le', "
        "to_char(v.cree_le AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'))::text FROM "
        "parametres_versions v WHERE v.version > $1::int ORDER BY v.version LIMIT $2::int",
        2, params, &res, err);
    if (r == DB_OK && !pg_json_page(res, limit, json_out, last, 24, more))
        r = DB_FAILED;
    PQclear(res);
    if (r == DB_OK)
        r = pg_count(conn, "SELECT count(*) FROM parametres_versions", 0, NULL, total, err);
    return r;
}

enum db_result parametres_pieces_requises(struct db_conn *conn, long version, char **json_out,
                                          struct db_error *err)
{
    char text[24];
    const char *params[1] = {text};
    PGresult *res = NULL;
    *json_out = NULL;
    if (version == 0)
        return (*json_out = pg_strdup("[]")) ? DB_OK : DB_FAILED;
    snprintf(text, sizeof text, "%ld", version);
    enum db_result r = pg_exec_first_row(conn,
                                         "SELECT COALESCE(v.document->'pieces_requises', "
                                         "'[]'::jsonb)::text FROM parametres_versions v WHERE "
                                         "v.version = $1::int",
                                         1, params, &res, err);
    if (r == DB_OK && !(*json_out = pg_strdup(PQgetvalue(res, 0, 0))))
        r = DB_FAILED;
    PQclear(res);
    return r;
}

/* The journal's text of the version in force on day (the stored document
 * with its version and date_effet), or NULL when none is stored (*text
 * owned, free()). */
static enum db_result document_en_vigueur(struct db_conn *conn, const char *day, char **text,
                                          struct db_error *err)
{
    const char *params[1] = {day};
    PGresult *res = NULL;
    *text = NULL;
    enum db_result r = pg_exec_first_row(
        conn,
        "SELECT (v.document || jsonb_build_object('version', v.version, 'date_effet', "
        "to_char(v.date_effet, 'YYYY-MM-DD')))::text FROM parametres_versions v WHERE "
        "v.date_effet <= $1::date ORDER BY v.date_effet DESC, v.version DESC LIMIT 1",
        1, params, &res, err);
    if (r == DB_OK && !(*text = pg_strdup(PQgetvalue(res, 0, 0))))
        r = DB_FAILED;
    PQclear(res);
    return r == DB_NOT_FOUND ? DB_OK : r;
}

enum db_result parametres_creer(struct db_tx *tx, const struct parametres_nouvelle *n,
                                struct parametres *out, struct parametres_version_info *info,
                                struct db_error *err)
{
    char today[11], effet[11];
    char *avant = NULL, *apres = NULL;
    PGresult *res = NULL;
    date_format(n->aujourdhui, today);
    date_format(n->date_effet, effet);
    const char *today_p[1] = {today};
    /* One writer at a time; readers go on reading the committed versions. */
    enum db_result r = pg_exec_command(
        tx->conn, "LOCK TABLE parametres_versions IN SHARE ROW EXCLUSIVE MODE", 0, NULL, err);
    if (r == DB_OK) {
        r = pg_exec_first_row(tx->conn,
                              "SELECT COALESCE((SELECT v.version FROM parametres_versions v WHERE "
                              "v.date_effet <= $1::date ORDER BY v.date_effet DESC, v.version "
                              "DESC LIMIT 1), 0)::text",
                              1, today_p, &res, err);
        if (r == DB_OK && strtol(PQgetvalue(res, 0, 0), NULL, 10) != n->version_lue)
            r = DB_STALE;
        PQclear(res);
        res = NULL;
    }
    if (r == DB_OK)
        r = document_en_vigueur(tx->conn, effet, &avant, err);
    if (r == DB_OK) {
        const char *p[3] = {effet, n->document_json, tx->actor->acteur};
        r = pg_exec_first_row(
            tx->conn,
            "INSERT INTO parametres_versions (version, date_effet, document, cree_par) SELECT "
            "COALESCE(max(version), 0) + 1, $1::date, $2::jsonb, $3 FROM parametres_versions "
            "RETURNING version::text, (document || jsonb_build_object('version', version, "
            "'date_effet', to_char(date_effet, 'YYYY-MM-DD')))::text",
            3, p, &res, err);
        if (r == DB_OK && !(apres = pg_strdup(PQgetvalue(res, 0, 1))))
            r = DB_FAILED;
    }
    if (r == DB_OK) {
        const struct journal_entry entry = {.action = "parametres.modifier",
                                            .ressource_type = "parametres",
                                            .ressource_id = PQgetvalue(res, 0, 0),
                                            .avant_json = avant,
                                            .apres_json = apres};
        r = journal_record(tx, &entry, err);
    }
    if (r == DB_OK)
        r = parametres_version_lire(tx->conn, strtol(PQgetvalue(res, 0, 0), NULL, 10), out, info,
                                    err);
    PQclear(res);
    free(avant);
    free(apres);
    return r;
}
