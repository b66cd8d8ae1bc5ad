/* Territoire storage (see territoire_repository.h). */
#include "territoire_repository.h"
#include "statements.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgutil.h"

#define TERRITOIRE_COLUMNS "t.id_pvd, t.revision, territoire_representation(t)::text"

void territoire_row_release(struct territoire_row *row)
{
    free(row->json);
    row->json = NULL;
}

static enum db_result fill_row(const PGresult *res, int row, void *dst)
{
    struct territoire_row *out = dst;
    snprintf(out->id_pvd, sizeof out->id_pvd, "%s", PQgetvalue(res, row, 0));
    out->revision = atoi(PQgetvalue(res, row, 1));
    out->json = pg_strdup(PQgetvalue(res, row, 2));
    return out->json ? DB_OK : DB_FAILED;
}

enum db_result territoire_get(struct db_conn *conn, const char *id_pvd, struct territoire_row *out,
                              struct db_error *err)
{
    const char *params[1] = {id_pvd};
    return pg_one_row(conn, "SELECT " TERRITOIRE_COLUMNS " FROM territoires t WHERE t.id_pvd = $1",
                      1, params, fill_row, out, sizeof *out, err);
}

/* Inserts the communes and EPCIs of w (the territoire row exists). */
static enum db_result insert_members(struct db_tx *tx, const struct territoire_write *w,
                                     struct db_error *err)
{
    char *communes = pg_text_array_literal(w->communes, w->commune_count);
    char *epcis = pg_text_array_literal(w->epcis, w->epci_count);
    enum db_result r = DB_FAILED;
    if (communes && epcis) {
        const char *params[3] = {w->id_pvd, communes, epcis};
        r = pg_exec_command(
            tx->conn,
            "WITH c AS (INSERT INTO territoire_communes (id_pvd, code_insee, rang) "
            "SELECT $1, code, n - 1 FROM unnest($2::text[]) WITH ORDINALITY AS u(code, n)) "
            "INSERT INTO territoire_epcis (id_pvd, siren, rang) "
            "SELECT $1, siren, n - 1 FROM unnest($3::text[]) WITH ORDINALITY AS u(siren, n)",
            3, params, err);
    }
    free(communes);
    free(epcis);
    return r;
}

static enum db_result journal_change(struct db_tx *tx, const char *action, const char *id_pvd,
                                     const char *avant, const char *apres,
                                     const struct journal_scope *scope, struct db_error *err)
{
    struct journal_entry e = {action, "territoire", id_pvd, avant, apres, *scope};
    return journal_record(tx, &e, err);
}

enum db_result territoire_insert(struct db_tx *tx, const struct territoire_write *w,
                                 const struct journal_scope *scope, struct territoire_row *created,
                                 struct db_error *err)
{
    char millesime[16];
    snprintf(millesime, sizeof millesime, "%d", w->millesime);
    char *communes = pg_text_array_literal(w->communes, w->commune_count);
    char *epcis = pg_text_array_literal(w->epcis, w->epci_count);
    enum db_result r = DB_FAILED;
    memset(created, 0, sizeof *created);
    /* One round trip (the import writes hundreds): the foreign keys of the
     * members are checked at the end of the statement. */
    if (communes && epcis) {
        const char *params[9] = {w->id_pvd,
                                 w->nom,
                                 w->code_departement,
                                 w->code_region,
                                 w->date_designation,
                                 w->date_sortie,
                                 millesime,
                                 communes,
                                 epcis};
        r = pg_exec_command(
            tx->conn,
            "WITH t AS (INSERT INTO territoires (id_pvd, nom, code_departement, code_region, "
            "date_designation, date_sortie, millesime) VALUES ($1, $2, $3, $4, $5::date, "
            "$6::date, $7::int) RETURNING id_pvd), "
            "c AS (INSERT INTO territoire_communes (id_pvd, code_insee, rang) "
            "SELECT t.id_pvd, code, n - 1 FROM t, unnest($8::text[]) WITH ORDINALITY AS "
            "u(code, n)) "
            "INSERT INTO territoire_epcis (id_pvd, siren, rang) "
            "SELECT t.id_pvd, siren, n - 1 FROM t, unnest($9::text[]) WITH ORDINALITY AS "
            "u(siren, n)",
            9, params, err);
    }
    free(communes);
    free(epcis);
    if (r == DB_OK)
        r = territoire_get(tx->conn, w->id_pvd, created, err);
    if (r == DB_OK)
        r = journal_change(tx, "territoire.creer", w->id_pvd, NULL, created->json, scope, err);
    return r;
}

enum db_result territoire_replace(struct db_tx *tx, const struct territoire_write *w, int revision,
                                  const struct journal_scope *scope, struct territoire_row *after,
                                  struct db_error *err)
{
    struct territoire_row before;
    const char *id[1] = {w->id_pvd};
    memset(after, 0, sizeof *after);
    enum db_result r = pg_one_row(
        tx->conn, "SELECT " TERRITOIRE_COLUMNS " FROM territoires t WHERE t.id_pvd = $1 FOR UPDATE",
        1, id, fill_row, &before, sizeof before, err);
    if (r != DB_OK)
        return r;
    if (revision >= 0 && before.revision != revision) {
        territoire_row_release(&before);
        return DB_STALE;
    }
    char millesime[16];
    snprintf(millesime, sizeof millesime, "%d", w->millesime);
    const char *params[7] = {
        w->id_pvd,      w->nom,   w->code_departement, w->code_region, w->date_designation,
        w->date_sortie, millesime};
    r = pg_exec_command(tx->conn,
                        "UPDATE territoires SET nom = $2, code_departement = $3, code_region = $4, "
                        "date_designation = $5::date, date_sortie = $6::date, millesime = $7::int, "
                        "revision = revision + 1, modifie_le = now() WHERE id_pvd = $1",
                        7, params, err);
    if (r == DB_OK)
        r = pg_exec_command(tx->conn,
                            "WITH c AS (DELETE FROM territoire_communes WHERE id_pvd = $1) "
                            "DELETE FROM territoire_epcis WHERE id_pvd = $1",
                            1, id, err);
    if (r == DB_OK)
        r = insert_members(tx, w, err);
    if (r == DB_OK)
        r = territoire_get(tx->conn, w->id_pvd, after, err);
    if (r == DB_OK)
        r = journal_change(tx, "territoire.modifier", w->id_pvd, before.json, after->json, scope,
                           err);
    territoire_row_release(&before);
    return r;
}

enum db_result territoire_communes_owners(struct db_conn *conn, const char *const *codes,
                                          size_t count, const char *except_id_pvd,
                                          char (*owners)[24], size_t max, size_t *found,
                                          struct db_error *err)
{
    *found = 0;
    char *list = pg_text_array_literal(codes, count);
    if (!list)
        return DB_FAILED;
    const char *params[2] = {list, except_id_pvd};
    PGresult *res = db_exec_params(conn,
                                   "SELECT code_insee || ':' || id_pvd FROM territoire_communes "
                                   "WHERE code_insee = ANY($1::text[]) AND ($2::text IS NULL OR "
                                   "id_pvd <> $2) ORDER BY 1",
                                   2, params);
    enum db_result r = db_result_from_pg(conn, res, err);
    if (r == DB_OK)
        for (int i = 0; i < PQntuples(res) && *found < max; i++)
            snprintf(owners[(*found)++], 24, "%s", PQgetvalue(res, i, 0));
    PQclear(res);
    free(list);
    return r;
}

static char *nullable_dup(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : pg_strdup(PQgetvalue(res, row, col));
}

enum db_result territoire_contents_load(struct db_conn *conn, struct territoire_contents *out,
                                        struct db_error *err)
{
    memset(out, 0, sizeof *out);
    PGresult *res = PQexec(
        conn->pg,
        "SELECT t.id_pvd, t.revision, "
        "coalesce((SELECT string_agg(code_insee, ',' ORDER BY rang) FROM territoire_communes c "
        "WHERE c.id_pvd = t.id_pvd), ''), "
        "coalesce((SELECT string_agg(siren, ',' ORDER BY rang) FROM territoire_epcis e "
        "WHERE e.id_pvd = t.id_pvd), ''), t.nom, t.date_designation::text, t.date_sortie::text "
        "FROM territoires t ORDER BY t.id_pvd COLLATE \"C\"");
    enum db_result r = db_result_from_pg(conn, res, err);
    if (r == DB_OK) {
        size_t n = (size_t)PQntuples(res);
        out->items = calloc(n + 1, sizeof *out->items);
        if (!out->items)
            r = DB_FAILED;
        for (size_t i = 0; r == DB_OK && i < n; i++) {
            struct territoire_content *t = &out->items[i];
            snprintf(t->id_pvd, sizeof t->id_pvd, "%s", PQgetvalue(res, (int)i, 0));
            t->revision = atoi(PQgetvalue(res, (int)i, 1));
            t->communes = pg_strdup(PQgetvalue(res, (int)i, 2));
            t->epcis = pg_strdup(PQgetvalue(res, (int)i, 3));
            t->nom = nullable_dup(res, (int)i, 4);
            t->date_designation = nullable_dup(res, (int)i, 5);
            t->date_sortie = nullable_dup(res, (int)i, 6);
            out->count = i + 1;
            if (!t->communes || !t->epcis)
                r = DB_FAILED;
        }
    }
    PQclear(res);
    if (r != DB_OK) {
        territoire_contents_release(out);
        return r;
    }
    res = PQexec(conn->pg, "SELECT code_insee || ':' || id_pvd FROM territoire_communes "
                           "ORDER BY code_insee COLLATE \"C\"");
    r = db_result_from_pg(conn, res, err);
    if (r == DB_OK) {
        size_t n = (size_t)PQntuples(res);
        out->commune_owner = calloc(n + 1, sizeof *out->commune_owner);
        if (!out->commune_owner)
            r = DB_FAILED;
        for (size_t i = 0; r == DB_OK && i < n; i++)
            snprintf(out->commune_owner[i], 24, "%s", PQgetvalue(res, (int)i, 0));
        if (r == DB_OK)
            out->commune_owner_count = n;
    }
    PQclear(res);
    if (r != DB_OK)
        territoire_contents_release(out);
    return r;
}

void territoire_contents_release(struct territoire_contents *c)
{
    for (size_t i = 0; c->items && i < c->count; i++) {
        free(c->items[i].communes);
        free(c->items[i].epcis);
        free(c->items[i].nom);
        free(c->items[i].date_designation);
        free(c->items[i].date_sortie);
    }
    free(c->items);
    free(c->commune_owner);
    memset(c, 0, sizeof *c);
}

const struct territoire_content *territoire_contents_find(const struct territoire_contents *c,
                                                          const char *id_pvd)
{
    size_t lo = 0, hi = c->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(c->items[mid].id_pvd, id_pvd);
        if (cmp == 0)
            return &c->items[mid];
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const char *territoire_contents_owner(const struct territoire_contents *c, const char *code)
{
    size_t lo = 0, hi = c->commune_owner_count, len = strlen(code);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strncmp(c->commune_owner[mid], code, len);
        if (cmp == 0 && c->commune_owner[mid][len] == ':')
            return c->commune_owner[mid] + len + 1;
        if (cmp == 0)
            cmp = (unsigned char)c->commune_owner[mid][len] - (unsigned char)':';
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* The territoires a list shows, filtered by $1 … $5 (page and count). */
#define TERRITOIRE_LIST_FROM                                                                       \
    "FROM territoires t "                                                                          \
    "WHERE ($1::text IS NULL OR t.code_departement = $1 OR EXISTS ("                               \
    "SELECT 1 FROM territoire_communes tc JOIN communes c ON c.code_insee = "                      \
    "tc.code_insee AND c.type = 'commune-actuelle' WHERE tc.id_pvd = t.id_pvd "                    \
    "AND c.code_departement = $1)) "                                                               \
    "AND ($2::text IS NULL OR t.code_region = $2 OR EXISTS ("                                      \
    "SELECT 1 FROM territoire_communes tc JOIN communes c ON c.code_insee = "                      \
    "tc.code_insee AND c.type = 'commune-actuelle' WHERE tc.id_pvd = t.id_pvd "                    \
    "AND c.code_region = $2)) "                                                                    \
    "AND ($3::text IS NULL OR territoire_etat(t.id_pvd) = $3) "                                    \
    "AND ($4::text IS NULL OR EXISTS (SELECT 1 FROM territoire_communes tc "                       \
    "WHERE tc.id_pvd = t.id_pvd AND tc.code_insee = $4)) "                                         \
    "AND ($5::text IS NULL OR EXISTS (SELECT 1 FROM territoire_epcis te "                          \
    "WHERE te.id_pvd = t.id_pvd AND te.siren = $5))"

static const struct list_sync_columns list_columns = {"t.modifie_le", "t.id_pvd COLLATE \"C\"",
                                                      "text", NULL};

enum db_result territoire_list(struct db_conn *conn, const struct territoire_filter *f,
                               const char *after, size_t limit, char **json_out, char last_id[65],
                               bool *more, size_t *total, struct db_error *err)
{
    const char *params[8] = {f->departement, f->region, f->etat, f->commune, f->epci};
    return list_sync_page(conn, &f->sync, &list_columns, "territoire_representation(t)::text",
                          TERRITOIRE_LIST_FROM, 6, params, after, limit, json_out, last_id, more,
                          total, err);
}
