/* Organisation storage (see organisation_repository.h). */
#include "organisation_repository.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgutil.h"

/* Columns every read returns, in this order. */
#define ORGANISATION_COLUMNS                                                                       \
    "o.id::text, coalesce(o.siren, ''), o.nature, coalesce(o.code_departement, ''), "              \
    "coalesce(o.code_region, ''), o.revision, organisation_representation(o)::text"

void organisation_row_release(struct organisation_row *row)
{
    free(row->json);
    row->json = NULL;
}

static enum db_result fill_row(const PGresult *res, int row, void *dst)
{
    struct organisation_row *out = dst;
    snprintf(out->id, sizeof out->id, "%s", PQgetvalue(res, row, 0));
    snprintf(out->siren, sizeof out->siren, "%s", PQgetvalue(res, row, 1));
    snprintf(out->nature, sizeof out->nature, "%s", PQgetvalue(res, row, 2));
    snprintf(out->code_departement, sizeof out->code_departement, "%s", PQgetvalue(res, row, 3));
    snprintf(out->code_region, sizeof out->code_region, "%s", PQgetvalue(res, row, 4));
    out->revision = atoi(PQgetvalue(res, row, 5));
    out->json = pg_strdup(PQgetvalue(res, row, 6));
    return out->json ? DB_OK : DB_FAILED;
}

static enum db_result journal_change(struct db_tx *tx, const char *action,
                                     const struct organisation_row *row, const char *avant,
                                     const struct journal_scope *scope, struct db_error *err)
{
    struct journal_entry e = {action, "organisation", row->id, avant, row->json, *scope};
    return journal_record(tx, &e, err);
}

void organisation_scope_release(struct organisation_scope *s)
{
    free(s->departements);
    free(s->regions);
    free(s->territoires);
    free(s->text);
    memset(s, 0, sizeof *s);
}

struct journal_scope organisation_scope_journal(const struct organisation_scope *s)
{
    struct journal_scope j = {s->departements, s->regions, s->sirens, s->territoires};
    return j;
}

/* Splits the comma-separated codes in codes (NUL-terminated, modified in
 * place) into a NULL-terminated array (owned); false on allocation failure. */
static bool split_codes(char *codes, const char ***out, size_t *count)
{
    size_t n = codes[0] ? 1 : 0;
    for (const char *c = codes; *c; c++)
        n += *c == ',';
    *out = calloc(n + 1, sizeof **out);
    if (!*out)
        return false;
    *count = 0;
    for (char *c = codes; n && c;) {
        char *comma = strchr(c, ',');
        if (comma)
            *comma = '\0';
        (*out)[(*count)++] = c;
        c = comma ? comma + 1 : NULL;
    }
    return true;
}

/* The perimeter of organisation $1 (issue 8 §1), as three comma-separated
 * lists: départements, régions, territoires (codes hold no comma). */
#define ORGANISATION_SCOPE_SQL                                                                     \
    "WITH o AS (SELECT * FROM organisations WHERE id = $1::uuid), "                                \
    "terrs AS (SELECT c.id_pvd FROM signataires s JOIN conventions c ON c.id = s.convention_id "   \
    "WHERE s.organisation_id = $1::uuid UNION SELECT cm.id_pvd FROM comite_membres m "             \
    "JOIN comites cm ON cm.id = m.comite_id WHERE m.organisation_id = $1::uuid), "                 \
    "deps AS (SELECT o.code_departement AS d FROM o WHERE o.code_departement IS NOT NULL "         \
    "UNION SELECT co.code_departement FROM o JOIN epci_membres em ON o.nature = 'epci' "           \
    "AND em.epci_siren = o.siren JOIN communes co ON co.code_insee = em.code_insee "               \
    "AND co.type = 'commune-actuelle' "                                                            \
    "UNION SELECT t.code_departement FROM terrs JOIN territoires t ON t.id_pvd = terrs.id_pvd "    \
    "UNION SELECT co.code_departement FROM terrs JOIN territoire_communes tc "                     \
    "ON tc.id_pvd = terrs.id_pvd JOIN communes co ON co.code_insee = tc.code_insee "               \
    "AND co.type = 'commune-actuelle'), "                                                          \
    "regs AS (SELECT o.code_region AS r FROM o WHERE o.code_region IS NOT NULL "                   \
    "UNION SELECT dp.code_region FROM deps JOIN departements dp ON dp.code = deps.d) "             \
    "SELECT coalesce((SELECT string_agg(d, ',' ORDER BY d) FROM deps WHERE d IS NOT NULL), ''), "  \
    "coalesce((SELECT string_agg(r, ',' ORDER BY r) FROM regs WHERE r IS NOT NULL), ''), "         \
    "coalesce((SELECT string_agg(id_pvd, ',' ORDER BY id_pvd) FROM terrs), '')"

enum db_result organisation_lock_scope(struct db_tx *tx, const char *id,
                                       struct organisation_row *row,
                                       struct organisation_scope *scope, struct db_error *err)
{
    const char *params[1] = {id};
    memset(scope, 0, sizeof *scope);
    enum db_result r =
        pg_one_row(tx->conn,
                   "SELECT " ORGANISATION_COLUMNS " FROM organisations o WHERE o.id = "
                   "$1::uuid FOR UPDATE",
                   1, params, fill_row, row, sizeof *row, err);
    if (r != DB_OK)
        return r;
    PGresult *res;
    r = pg_exec_first_row(tx->conn, ORGANISATION_SCOPE_SQL, 1, params, &res, err);
    if (r != DB_OK) {
        organisation_row_release(row);
        return r;
    }
    const char *cols[3] = {PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2)};
    size_t lens[3], total = 0;
    for (int i = 0; i < 3; i++)
        total += (lens[i] = strlen(cols[i])) + 1;
    scope->text = malloc(total);
    bool ok = scope->text != NULL;
    if (ok) {
        char *at = scope->text, *parts[3];
        for (int i = 0; i < 3; i++) {
            memcpy(at, cols[i], lens[i] + 1);
            parts[i] = at;
            at += lens[i] + 1;
        }
        ok = split_codes(parts[0], &scope->departements, &scope->departement_count) &&
             split_codes(parts[1], &scope->regions, &scope->region_count) &&
             split_codes(parts[2], &scope->territoires, &scope->territoire_count);
    }
    PQclear(res);
    if (!ok) {
        organisation_scope_release(scope);
        organisation_row_release(row);
        return DB_FAILED;
    }
    snprintf(scope->siren, sizeof scope->siren, "%s", row->siren);
    scope->siren_count = row->siren[0] ? 1 : 0;
    scope->sirens[0] = row->siren[0] ? scope->siren : NULL;
    scope->sirens[1] = NULL;
    return DB_OK;
}

enum db_result organisation_insert(struct db_tx *tx, const struct organisation_new *o,
                                   const struct journal_scope *scope,
                                   struct organisation_row *created, struct db_error *err)
{
    const char *params[6] = {o->siren,      o->nom, o->nature, o->code_insee, o->code_departement,
                             o->code_region};
    enum db_result r = pg_one_row(tx->conn,
                                  "INSERT INTO organisations AS o (siren, nom, nature, code_insee, "
                                  "code_departement, code_region) VALUES ($1, $2, $3, $4, $5, $6) "
                                  "RETURNING " ORGANISATION_COLUMNS,
                                  6, params, fill_row, created, sizeof *created, err);
    if (r == DB_OK)
        r = journal_change(tx, "organisation.creer", created, NULL, scope, err);
    return r;
}

enum db_result organisation_get(struct db_conn *conn, const char *id, struct organisation_row *out,
                                struct db_error *err)
{
    const char *params[1] = {id};
    return pg_one_row(conn,
                      "SELECT " ORGANISATION_COLUMNS " FROM organisations o WHERE $1 ~ '" PG_UUID_RE
                      "' AND o.id = CASE WHEN $1 ~ '" PG_UUID_RE "' THEN $1::uuid END",
                      1, params, fill_row, out, sizeof *out, err);
}

enum db_result organisation_rename(struct db_tx *tx, const struct organisation_row *before,
                                   int revision, const char *nom,
                                   const struct organisation_scope *scope,
                                   struct organisation_row *after, struct db_error *err)
{
    char rev[16];
    snprintf(rev, sizeof rev, "%d", revision);
    const char *params[3] = {before->id, rev, nom};
    memset(after, 0, sizeof *after);
    if (before->revision != revision)
        return DB_STALE;
    enum db_result r =
        pg_one_row(tx->conn,
                   "UPDATE organisations AS o SET nom = $3, revision = o.revision + 1, "
                   "modifie_le = now() WHERE o.id = $1::uuid AND o.revision = $2::int "
                   "RETURNING " ORGANISATION_COLUMNS,
                   3, params, fill_row, after, sizeof *after, err);
    if (r == DB_NOT_FOUND)
        r = DB_STALE;
    if (r == DB_OK) {
        struct journal_scope j = organisation_scope_journal(scope);
        r = journal_change(tx, "organisation.modifier", after, before->json, &j, err);
    }
    return r;
}

/* The organisations a list shows, filtered by $1 … $3 (page and count). */
#define ORGANISATION_LIST_FROM                                                                     \
    "FROM organisations o "                                                                        \
    "WHERE ($1::text IS NULL OR o.siren = $1) AND ($2::text IS NULL OR o.nature = $2) "            \
    "AND ($3::text IS NULL OR o.code_departement = $3)"

static const struct list_sync_columns list_columns = {"o.modifie_le", "o.id", "uuid", NULL};

enum db_result organisation_list(struct db_conn *conn, const struct organisation_filter *f,
                                 const char *after, size_t limit, char **json_out, char last_id[65],
                                 bool *more, size_t *total, struct db_error *err)
{
    const char *params[6] = {f->siren, f->nature, f->departement};
    return list_sync_page(conn, &f->sync, &list_columns, "organisation_representation(o)::text",
                          ORGANISATION_LIST_FROM, 4, params, after, limit, json_out, last_id, more,
                          total, err);
}
