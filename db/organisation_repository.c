/* Organisation storage (see organisation_repository.h). */
#include "organisation_repository.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgutil.h"

#define UUID_RE "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"

/* Columns every read returns, in this order. */
#define ORGANISATION_COLUMNS                                                                       \
    "o.id::text, coalesce(o.siren, ''), o.nature, coalesce(o.code_departement, ''), "              \
    "coalesce(o.code_region, ''), o.revision, organisation_representation(o)::text"

void organisation_row_release(struct organisation_row *row)
{
    free(row->json);
    row->json = NULL;
}

static enum db_result one_row(struct db_conn *conn, const char *sql, int nparams,
                              const char *const *params, struct organisation_row *out,
                              struct db_error *err)
{
    memset(out, 0, sizeof *out);
    PGresult *res;
    enum db_result r = pg_exec_first_row(conn, sql, nparams, params, &res, err);
    if (r != DB_OK)
        return r;
    snprintf(out->id, sizeof out->id, "%s", PQgetvalue(res, 0, 0));
    snprintf(out->siren, sizeof out->siren, "%s", PQgetvalue(res, 0, 1));
    snprintf(out->nature, sizeof out->nature, "%s", PQgetvalue(res, 0, 2));
    snprintf(out->code_departement, sizeof out->code_departement, "%s", PQgetvalue(res, 0, 3));
    snprintf(out->code_region, sizeof out->code_region, "%s", PQgetvalue(res, 0, 4));
    out->revision = atoi(PQgetvalue(res, 0, 5));
    out->json = pg_strdup(PQgetvalue(res, 0, 6));
    if (!out->json)
        r = DB_FAILED;
    PQclear(res);
    return r;
}

static enum db_result journal_change(struct db_tx *tx, const char *action,
                                     const struct organisation_row *row, const char *avant,
                                     struct db_error *err)
{
    const char *deps[2] = {row->code_departement[0] ? row->code_departement : NULL, NULL};
    const char *regs[2] = {row->code_region[0] ? row->code_region : NULL, NULL};
    const char *sirens[2] = {row->siren[0] ? row->siren : NULL, NULL};
    struct journal_entry e = {action, "organisation", row->id,
                              avant,  row->json,      {deps, regs, sirens, NULL}};
    return journal_record(tx, &e, err);
}

enum db_result organisation_insert(struct db_tx *tx, const struct organisation_new *o,
                                   struct organisation_row *created, struct db_error *err)
{
    const char *params[6] = {o->siren,      o->nom, o->nature, o->code_insee, o->code_departement,
                             o->code_region};
    enum db_result r = one_row(tx->conn,
                               "INSERT INTO organisations AS o (siren, nom, nature, code_insee, "
                               "code_departement, code_region) VALUES ($1, $2, $3, $4, $5, $6) "
                               "RETURNING " ORGANISATION_COLUMNS,
                               6, params, created, err);
    if (r == DB_OK)
        r = journal_change(tx, "organisation.creer", created, NULL, err);
    return r;
}

enum db_result organisation_get(struct db_conn *conn, const char *id, struct organisation_row *out,
                                struct db_error *err)
{
    const char *params[1] = {id};
    return one_row(conn,
                   "SELECT " ORGANISATION_COLUMNS " FROM organisations o WHERE $1 ~ '" UUID_RE
                   "' AND o.id = CASE WHEN $1 ~ '" UUID_RE "' THEN $1::uuid END",
                   1, params, out, err);
}

enum db_result organisation_rename(struct db_tx *tx, const char *id, int revision, const char *nom,
                                   struct organisation_row *after, struct db_error *err)
{
    struct organisation_row before;
    char rev[16];
    snprintf(rev, sizeof rev, "%d", revision);
    const char *params[3] = {id, rev, nom};
    memset(after, 0, sizeof *after);
    enum db_result r = one_row(tx->conn,
                               "SELECT " ORGANISATION_COLUMNS " FROM organisations o WHERE o.id = "
                               "$1::uuid FOR UPDATE",
                               1, params, &before, err);
    if (r != DB_OK)
        return r;
    if (before.revision != revision) {
        organisation_row_release(&before);
        return DB_CONFLICT;
    }
    r = one_row(tx->conn,
                "UPDATE organisations AS o SET nom = $3, revision = o.revision + 1, "
                "modifie_le = now() WHERE o.id = $1::uuid AND o.revision = $2::int "
                "RETURNING " ORGANISATION_COLUMNS,
                3, params, after, err);
    if (r == DB_NOT_FOUND)
        r = DB_CONFLICT;
    if (r == DB_OK)
        r = journal_change(tx, "organisation.modifier", after, before.json, err);
    organisation_row_release(&before);
    return r;
}

/* The organisations a list shows, filtered by $1 … $3 (page and count). */
#define ORGANISATION_LIST_FROM                                                                     \
    "FROM organisations o "                                                                        \
    "WHERE ($1::text IS NULL OR o.siren = $1) AND ($2::text IS NULL OR o.nature = $2) "            \
    "AND ($3::text IS NULL OR o.code_departement = $3)"

enum db_result organisation_list(struct db_conn *conn, const struct organisation_filter *f,
                                 const char *after, size_t limit, char **json_out, char last_id[37],
                                 bool *more, size_t *total, struct db_error *err)
{
    char limit_text[24];
    snprintf(limit_text, sizeof limit_text, "%zu", limit + 1);
    const char *params[5] = {f->siren, f->nature, f->departement, after, limit_text};
    *json_out = NULL;
    last_id[0] = '\0';
    *more = false;
    PGresult *res = PQexecParams(
        conn->pg,
        "SELECT o.id::text, organisation_representation(o)::text " ORGANISATION_LIST_FROM
        " AND ($4::uuid IS NULL OR o.id > $4::uuid) ORDER BY o.id LIMIT $5::int",
        5, NULL, params, NULL, NULL, 0);
    enum db_result r = db_result_from_pg(conn, res, err);
    if (r == DB_OK && !pg_json_page(res, limit, json_out, last_id, 37, more))
        r = DB_FAILED;
    PQclear(res);
    if (r == DB_OK)
        r = pg_count(conn, "SELECT count(*) " ORGANISATION_LIST_FROM, 3, params, total, err);
    return r;
}
