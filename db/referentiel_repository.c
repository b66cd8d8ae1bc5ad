/* Referential storage (see referentiel_repository.h). Bulk writes go through
 * COPY into temporary tables, then one set-based merge per table. */
#include "referentiel_repository.h"
#include "statements.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgutil.h"
#include "pool.h"

/* COPY text-format field escaping (backslash, tab, newline, CR). */
static void copy_field(struct pg_buf *b, const char *s, bool last)
{
    if (s == NULL) {
        pg_buf_add(b, "\\N", 2);
    } else {
        for (; *s; s++) {
            switch (*s) {
            case '\\':
                pg_buf_add(b, "\\\\", 2);
                break;
            case '\t':
                pg_buf_add(b, "\\t", 2);
                break;
            case '\n':
                pg_buf_add(b, "\\n", 2);
                break;
            case '\r':
                pg_buf_add(b, "\\r", 2);
                break;
            default:
                pg_buf_add(b, s, 1);
            }
        }
    }
    pg_buf_add(b, last ? "\n" : "\t", 1);
}

static const char *opt(const char *s)
{
    return s[0] ? s : NULL;
}

static void copy_int(struct pg_buf *b, int64_t v, bool last)
{
    char num[24];
    if (v < 0) {
        copy_field(b, NULL, last);
        return;
    }
    snprintf(num, sizeof num, "%lld", (long long)v);
    copy_field(b, num, last);
}

static enum db_result copy_rows(struct db_conn *conn, const char *table, const char *columns,
                                struct pg_buf *data, struct db_error *err)
{
    char sql[256];
    snprintf(sql, sizeof sql, "COPY %s (%s) FROM STDIN", table, columns);
    PGresult *res = PQexec(conn->pg, sql);
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        enum db_result r = db_result_from_pg(conn, res, err);
        PQclear(res);
        return r;
    }
    PQclear(res);
    if (data->oom || PQputCopyData(conn->pg, data->data, (int)data->len) != 1 ||
        PQputCopyEnd(conn->pg, NULL) != 1)
        return db_result_from_pg(conn, NULL, err);
    enum db_result r = DB_OK;
    while ((res = PQgetResult(conn->pg)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
            r = db_result_from_pg(conn, res, err);
        PQclear(res);
    }
    return r;
}

struct table_merge {
    const char *table;
    const char *columns;
    const char *key;
    const char *updates;  /* SET list, or NULL for key-only tables */
    const char *compare;  /* (table cols) IS DISTINCT FROM (excluded cols) */
    const char *same_key; /* staging row s has the key of stored row t */
};

static const struct table_merge merges[] = {
    {"regions", "code, nom, zone, chef_lieu", "code",
     "nom = excluded.nom, zone = excluded.zone, chef_lieu = excluded.chef_lieu",
     "(t.nom, t.zone, t.chef_lieu) IS DISTINCT FROM (excluded.nom, excluded.zone, "
     "excluded.chef_lieu)",
     "s.code = t.code"},
    {"departements", "code, nom, code_region, zone, chef_lieu", "code",
     "nom = excluded.nom, code_region = excluded.code_region, zone = excluded.zone, "
     "chef_lieu = excluded.chef_lieu",
     "(t.nom, t.code_region, t.zone, t.chef_lieu) IS DISTINCT FROM (excluded.nom, "
     "excluded.code_region, excluded.zone, excluded.chef_lieu)",
     "s.code = t.code"},
    {"communes",
     "code_insee, type, nom, siren, code_departement, code_region, zone, population, "
     "codes_postaux, commune_parente",
     "code_insee, type",
     "nom = excluded.nom, siren = excluded.siren, code_departement = excluded.code_departement, "
     "code_region = excluded.code_region, zone = excluded.zone, population = excluded.population, "
     "codes_postaux = excluded.codes_postaux, commune_parente = excluded.commune_parente",
     "(t.nom, t.siren, t.code_departement, t.code_region, t.zone, t.population, t.codes_postaux, "
     "t.commune_parente) IS DISTINCT FROM (excluded.nom, excluded.siren, "
     "excluded.code_departement, excluded.code_region, excluded.zone, excluded.population, "
     "excluded.codes_postaux, excluded.commune_parente)",
     "s.code_insee = t.code_insee AND s.type = t.type"},
    {"epci", "siren, nom, type, mode_financement, population_totale, population_municipale",
     "siren",
     "nom = excluded.nom, type = excluded.type, mode_financement = excluded.mode_financement, "
     "population_totale = excluded.population_totale, "
     "population_municipale = excluded.population_municipale",
     "(t.nom, t.type, t.mode_financement, t.population_totale, t.population_municipale) IS "
     "DISTINCT FROM (excluded.nom, excluded.type, excluded.mode_financement, "
     "excluded.population_totale, excluded.population_municipale)",
     "s.siren = t.siren"},
    {"epci_membres", "epci_siren, code_insee", "code_insee", "epci_siren = excluded.epci_siren",
     "t.epci_siren IS DISTINCT FROM excluded.epci_siren",
     "s.code_insee = t.code_insee AND s.epci_siren = t.epci_siren"},
};
#define MERGE_COUNT (sizeof merges / sizeof merges[0])

static void fill_copy_data(const struct referentiel *ref, size_t table, struct pg_buf *b)
{
    switch (table) {
    case 0:
        for (size_t i = 0; i < ref->region_count; i++) {
            const struct ref_region *r = &ref->regions[i];
            copy_field(b, r->code, false);
            copy_field(b, r->nom, false);
            copy_field(b, ref_zone_name(r->zone), false);
            copy_field(b, opt(r->chef_lieu), true);
        }
        break;
    case 1:
        for (size_t i = 0; i < ref->departement_count; i++) {
            const struct ref_departement *d = &ref->departements[i];
            copy_field(b, d->code, false);
            copy_field(b, d->nom, false);
            copy_field(b, d->code_region, false);
            copy_field(b, ref_zone_name(d->zone), false);
            copy_field(b, opt(d->chef_lieu), true);
        }
        break;
    case 2:
        for (size_t i = 0; i < ref->commune_count; i++) {
            const struct ref_commune *c = &ref->communes[i];
            copy_field(b, c->code_insee, false);
            copy_field(b, ref_commune_type_name(c->type), false);
            copy_field(b, c->nom, false);
            copy_field(b, opt(c->siren), false);
            copy_field(b, opt(c->code_departement), false);
            copy_field(b, opt(c->code_region), false);
            copy_field(b, ref_zone_name(c->zone), false);
            copy_int(b, c->population, false);
            pg_buf_add(b, "{", 1);
            for (size_t j = 0; j < c->codes_postaux_count; j++) {
                if (j)
                    pg_buf_add(b, ",", 1);
                pg_buf_add(b, "\"", 1);
                pg_buf_add(b, c->codes_postaux[j], strlen(c->codes_postaux[j]));
                pg_buf_add(b, "\"", 1);
            }
            pg_buf_add(b, "}\t", 2);
            copy_field(b, opt(c->commune_parente), true);
        }
        break;
    case 3:
        for (size_t i = 0; i < ref->epci_count; i++) {
            const struct ref_epci *e = &ref->epcis[i];
            copy_field(b, e->siren, false);
            copy_field(b, e->nom, false);
            copy_field(b, ref_epci_type_name(e->type), false);
            copy_field(b, ref_financement_name(e->mode_financement), false);
            copy_int(b, e->population_totale, false);
            copy_int(b, e->population_municipale, true);
        }
        break;
    default:
        for (size_t i = 0; i < ref->epci_count; i++) {
            const struct ref_epci *e = &ref->epcis[i];
            for (size_t j = 0; j < e->membre_count; j++) {
                copy_field(b, e->siren, false);
                copy_field(b, e->membres[j], true);
            }
        }
    }
}

static enum db_result exec_count(struct db_conn *conn, const char *sql, long *inserted,
                                 long *updated, long *affected, struct db_error *err)
{
    PGresult *res = PQexec(conn->pg, sql);
    enum db_result r = db_result_from_pg(conn, res, err);
    if (r == DB_OK) {
        long rows = PQntuples(res);
        if (affected)
            *affected += atol(PQcmdTuples(res));
        for (long i = 0; inserted && i < rows; i++) {
            if (strcmp(PQgetvalue(res, (int)i, 0), "t") == 0)
                (*inserted)++;
            else
                (*updated)++;
        }
    }
    PQclear(res);
    return r;
}

enum db_result referentiel_repository_replace(struct db_conn *conn, const struct referentiel *ref,
                                              const char *source, const char *checksum,
                                              struct referentiel_counts *counts,
                                              struct db_error *err)
{
    char sql[2048];
    enum db_result r = DB_OK;
    memset(counts, 0, sizeof *counts);

    for (size_t t = 0; t < MERGE_COUNT && r == DB_OK; t++) {
        const struct table_merge *m = &merges[t];
        snprintf(sql, sizeof sql,
                 "CREATE TEMP TABLE staging_%s ON COMMIT DROP AS SELECT %s FROM %s WITH NO DATA",
                 m->table, m->columns, m->table);
        r = exec_count(conn, sql, NULL, NULL, NULL, err);
        if (r != DB_OK)
            break;
        struct pg_buf data = PG_BUF_INIT;
        fill_copy_data(ref, t, &data);
        char staging[64];
        snprintf(staging, sizeof staging, "staging_%s", m->table);
        r = copy_rows(conn, staging, m->columns, &data, err);
        pg_buf_release(&data);
        if (r != DB_OK)
            break;
        /* (xmax = 0) is true for a freshly inserted row, false for an updated one. */
        snprintf(sql, sizeof sql,
                 "INSERT INTO %s AS t (%s) SELECT %s FROM staging_%s "
                 "ON CONFLICT (%s) DO UPDATE SET %s WHERE %s RETURNING (t.xmax = 0)",
                 m->table, m->columns, m->columns, m->table, m->key, m->updates, m->compare);
        r = exec_count(conn, sql, &counts->inserted, &counts->updated, NULL, err);
    }
    /* Deletions child tables first, so foreign keys hold at each statement. */
    for (size_t t = MERGE_COUNT; t-- > 0 && r == DB_OK;) {
        const struct table_merge *m = &merges[t];
        snprintf(sql, sizeof sql,
                 "DELETE FROM %s t WHERE NOT EXISTS (SELECT 1 FROM staging_%s s WHERE %s)",
                 m->table, m->table, m->same_key);
        r = exec_count(conn, sql, NULL, NULL, &counts->deleted, err);
    }
    if (r != DB_OK)
        return r;

    char millesime[16];
    snprintf(millesime, sizeof millesime, "%d", ref->millesime);
    const char *params[3] = {millesime, source, checksum};
    PGresult *res = db_exec_params(
        conn,
        "INSERT INTO referentiel (singleton, millesime, source, checksum) "
        "VALUES (true, $1::int, $2, $3) ON CONFLICT (singleton) DO UPDATE SET "
        "millesime = excluded.millesime, source = excluded.source, checksum = excluded.checksum, "
        "charge_le = now() WHERE (referentiel.millesime, referentiel.source, referentiel.checksum) "
        "IS DISTINCT FROM (excluded.millesime, excluded.source, excluded.checksum)",
        3, params);
    r = db_result_from_pg(conn, res, err);
    PQclear(res);
    return r;
}

enum db_result referentiel_repository_checksum(struct db_conn *conn, char out[65],
                                               struct db_error *err)
{
    PGresult *res = db_exec_params(conn, "SELECT checksum FROM referentiel", 0, NULL);
    enum db_result r = db_result_from_pg(conn, res, err);
    if (r == DB_OK) {
        if (PQntuples(res) == 0)
            r = DB_NOT_FOUND;
        else
            snprintf(out, 65, "%s", PQgetvalue(res, 0, 0));
    }
    PQclear(res);
    return r;
}

static char *dup_value(const PGresult *res, int row, int col)
{
    return pg_strdup(PQgetvalue(res, row, col));
}

static void copy_value(char *dst, size_t size, const PGresult *res, int row, int col)
{
    snprintf(dst, size, "%s", PQgetisnull(res, row, col) ? "" : PQgetvalue(res, row, col));
}

static int64_t int_value(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? REF_NO_POPULATION : atoll(PQgetvalue(res, row, col));
}

static enum db_result select_all(struct db_conn *conn, const char *sql, PGresult **out,
                                 struct db_error *err)
{
    *out = db_exec_params(conn, sql, 0, NULL);
    enum db_result r = db_result_from_pg(conn, *out, err);
    if (r != DB_OK) {
        PQclear(*out);
        *out = NULL;
    }
    return r;
}

/* Splits a PostgreSQL text[] of postal codes ({01400,01500}) into owned strings. */
static bool parse_codes_postaux(const char *s, struct ref_commune *c)
{
    size_t n = 0, cap = 0;
    for (const char *p = s; *p; p++)
        if (*p == ',')
            cap++;
    cap++;
    c->codes_postaux = calloc(cap, sizeof *c->codes_postaux);
    if (!c->codes_postaux)
        return false;
    const char *p = s;
    if (*p == '{')
        p++;
    while (*p && *p != '}') {
        const char *end = p;
        while (*end && *end != ',' && *end != '}')
            end++;
        if (end > p) {
            c->codes_postaux[n] = pg_strndup(p, (size_t)(end - p));
            if (!c->codes_postaux[n])
                return false;
            n++;
        }
        p = *end == ',' ? end + 1 : end;
    }
    c->codes_postaux_count = n;
    return true;
}

enum db_result referentiel_repository_load(struct db_conn *conn, struct referentiel *ref,
                                           char checksum_out[65], struct db_error *err)
{
    PGresult *res = NULL;
    enum db_result r;
    memset(ref, 0, sizeof *ref);

    r = select_all(conn, "SELECT millesime, checksum FROM referentiel", &res, err);
    if (r != DB_OK)
        return r;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return DB_NOT_FOUND;
    }
    ref->millesime = atoi(PQgetvalue(res, 0, 0));
    snprintf(checksum_out, 65, "%s", PQgetvalue(res, 0, 1));
    PQclear(res);

    r = select_all(conn, "SELECT code, nom, zone, chef_lieu FROM regions", &res, err);
    if (r != DB_OK)
        goto fail;
    ref->region_count = (size_t)PQntuples(res);
    ref->regions = calloc(ref->region_count + 1, sizeof *ref->regions);
    for (int i = 0; ref->regions && i < PQntuples(res); i++) {
        struct ref_region *x = &ref->regions[i];
        copy_value(x->code, sizeof x->code, res, i, 0);
        x->nom = dup_value(res, i, 1);
        ref_zone_parse(PQgetvalue(res, i, 2), &x->zone);
        copy_value(x->chef_lieu, sizeof x->chef_lieu, res, i, 3);
    }
    PQclear(res);

    r = select_all(conn, "SELECT code, nom, code_region, zone, chef_lieu FROM departements", &res,
                   err);
    if (r != DB_OK)
        goto fail;
    ref->departement_count = (size_t)PQntuples(res);
    ref->departements = calloc(ref->departement_count + 1, sizeof *ref->departements);
    for (int i = 0; ref->departements && i < PQntuples(res); i++) {
        struct ref_departement *x = &ref->departements[i];
        copy_value(x->code, sizeof x->code, res, i, 0);
        x->nom = dup_value(res, i, 1);
        copy_value(x->code_region, sizeof x->code_region, res, i, 2);
        ref_zone_parse(PQgetvalue(res, i, 3), &x->zone);
        copy_value(x->chef_lieu, sizeof x->chef_lieu, res, i, 4);
    }
    PQclear(res);

    r = select_all(conn,
                   "SELECT code_insee, nom, siren, code_departement, code_region, zone, "
                   "population, codes_postaux FROM communes WHERE type = 'commune-actuelle'",
                   &res, err);
    if (r != DB_OK)
        goto fail;
    ref->commune_count = (size_t)PQntuples(res);
    ref->communes = calloc(ref->commune_count + 1, sizeof *ref->communes);
    for (int i = 0; ref->communes && i < PQntuples(res); i++) {
        struct ref_commune *x = &ref->communes[i];
        copy_value(x->code_insee, sizeof x->code_insee, res, i, 0);
        x->type = REF_COMMUNE_ACTUELLE;
        x->nom = dup_value(res, i, 1);
        copy_value(x->siren, sizeof x->siren, res, i, 2);
        copy_value(x->code_departement, sizeof x->code_departement, res, i, 3);
        copy_value(x->code_region, sizeof x->code_region, res, i, 4);
        ref_zone_parse(PQgetvalue(res, i, 5), &x->zone);
        x->population = int_value(res, i, 6);
        x->epci = -1;
        if (!parse_codes_postaux(PQgetvalue(res, i, 7), x)) {
            PQclear(res);
            r = DB_FAILED;
            goto fail;
        }
    }
    PQclear(res);

    r = select_all(conn,
                   "SELECT e.siren, e.nom, e.type, e.mode_financement, e.population_totale, "
                   "e.population_municipale, array_to_string(array_agg(m.code_insee ORDER BY "
                   "m.code_insee), ',') FROM epci e JOIN epci_membres m ON m.epci_siren = e.siren "
                   "GROUP BY e.siren",
                   &res, err);
    if (r != DB_OK)
        goto fail;
    ref->epci_count = (size_t)PQntuples(res);
    ref->epcis = calloc(ref->epci_count + 1, sizeof *ref->epcis);
    for (int i = 0; ref->epcis && i < PQntuples(res); i++) {
        struct ref_epci *x = &ref->epcis[i];
        copy_value(x->siren, sizeof x->siren, res, i, 0);
        x->nom = dup_value(res, i, 1);
        ref_epci_type_parse(PQgetvalue(res, i, 2), &x->type);
        ref_financement_parse(PQgetvalue(res, i, 3), &x->mode_financement);
        x->population_totale = int_value(res, i, 4);
        x->population_municipale = int_value(res, i, 5);
        const char *list = PQgetvalue(res, i, 6);
        size_t count = (strlen(list) + 1) / 6;
        x->membres = calloc(count + 1, sizeof *x->membres);
        if (!x->membres)
            break;
        for (size_t j = 0; j < count; j++)
            snprintf(x->membres[j], 6, "%.5s", list + j * 6);
        x->membre_count = count;
    }
    PQclear(res);
    if (!ref->regions || !ref->departements || !ref->communes || !ref->epcis) {
        r = DB_FAILED;
        goto fail;
    }
    return DB_OK;
fail:
    referentiel_release(ref);
    return r;
}
