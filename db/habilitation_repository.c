/* Habilitation storage (see habilitation_repository.h). */
#include "habilitation_repository.h"
#include "statements.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgutil.h"

void habilitation_row_release(struct habilitation_row *row)
{
    free(row->json);
    row->json = NULL;
}

size_t pg_parse_code_array(const char *text, char *dst, size_t width, size_t max)
{
    size_t n = 0;
    const char *p = text;
    if (*p == '{')
        p++;
    while (*p && *p != '}' && n < max) {
        size_t len = strcspn(p, ",}");
        const char *start = p;
        if (*start == '"') { /* quoted element: codes never contain quotes or commas */
            start++;
            len = strcspn(start, "\"");
            p = start + len + 1;
        } else {
            p += len;
        }
        if (len > 0 && len < width) {
            memcpy(dst + n * width, start, len);
            dst[n * width + len] = '\0';
            n++;
        }
        if (*p == ',')
            p++;
    }
    return n;
}

void pg_fill_perimeter(const PGresult *res, int row, int first, struct perimeter *p)
{
    p->departement_count = pg_parse_code_array(PQgetvalue(res, row, first), &p->departements[0][0],
                                               sizeof p->departements[0], PERIMETER_MAX);
    p->region_count = pg_parse_code_array(PQgetvalue(res, row, first + 1), &p->regions[0][0],
                                          sizeof p->regions[0], PERIMETER_MAX);
    p->siren_count = pg_parse_code_array(PQgetvalue(res, row, first + 2), &p->sirens[0][0],
                                         sizeof p->sirens[0], PERIMETER_MAX);
    p->territoire_count =
        pg_parse_code_array(PQgetvalue(res, row, first + 3), &p->territoires[0][0],
                            sizeof p->territoires[0], PERIMETER_MAX);
}

char *pg_code_array_literal(const char *codes, size_t width, size_t count)
{
    struct pg_buf b = PG_BUF_INIT;
    pg_buf_add(&b, "{", 1);
    for (size_t i = 0; i < count; i++) {
        const char *code = codes + i * width;
        if (i)
            pg_buf_add(&b, ",", 1);
        pg_buf_add(&b, "\"", 1);
        pg_buf_add(&b, code, strnlen(code, width));
        pg_buf_add(&b, "\"", 1);
    }
    pg_buf_add(&b, "}", 1);
    if (b.oom) {
        pg_buf_release(&b);
        return NULL;
    }
    return b.data;
}

bool pg_perimeter_literals(const struct perimeter *p, char *out[4])
{
    static const struct perimeter empty;
    if (!p)
        p = &empty;
    out[0] = pg_code_array_literal(&p->departements[0][0], sizeof p->departements[0],
                                   p->departement_count);
    out[1] = pg_code_array_literal(&p->regions[0][0], sizeof p->regions[0], p->region_count);
    out[2] = pg_code_array_literal(&p->sirens[0][0], sizeof p->sirens[0], p->siren_count);
    out[3] =
        pg_code_array_literal(&p->territoires[0][0], sizeof p->territoires[0], p->territoire_count);
    return out[0] && out[1] && out[2] && out[3];
}

void pg_perimeter_literals_release(char *out[4])
{
    for (int i = 0; i < 4; i++) {
        free(out[i]);
        out[i] = NULL;
    }
}

/* Columns every read returns, in this order. */
#define HABILITATION_COLUMNS                                                                       \
    "h.id::text, h.role, h.departements::text, h.regions::text, h.sirens::text, "                  \
    "h.territoires::text, habilitation_representation(h)::text"

static enum db_result fill_row(const PGresult *res, int row, void *dst)
{
    struct habilitation_row *out = dst;
    memset(out, 0, sizeof *out);
    snprintf(out->id, sizeof out->id, "%s", PQgetvalue(res, row, 0));
    if (!role_parse(PQgetvalue(res, row, 1), &out->role))
        return DB_FAILED;
    pg_fill_perimeter(res, row, 2, &out->perimeter);
    out->json = pg_strdup(PQgetvalue(res, row, 6));
    return out->json ? DB_OK : DB_FAILED;
}

enum db_result habilitation_find_active(struct db_conn *conn, const char *issuer,
                                        const char *subject, struct habilitation_row *out,
                                        struct db_error *err)
{
    const char *params[2] = {issuer, subject};
    return pg_one_row(conn,
                      "SELECT " HABILITATION_COLUMNS " FROM habilitations h WHERE h.issuer = $1 "
                      "AND h.subject = $2 AND h.revoque_le IS NULL AND h.valide_du <= current_date "
                      "AND (h.valide_au IS NULL OR h.valide_au >= current_date)",
                      2, params, fill_row, out, sizeof *out, err);
}

enum db_result habilitation_get(struct db_conn *conn, const char *id, struct habilitation_row *out,
                                struct db_error *err)
{
    const char *params[1] = {id};
    return pg_one_row(conn,
                      "SELECT " HABILITATION_COLUMNS " FROM habilitations h WHERE $1 ~ '" PG_UUID_RE
                      "' AND h.id = CASE WHEN $1 ~ '" PG_UUID_RE "' THEN $1::uuid END",
                      1, params, fill_row, out, sizeof *out, err);
}

/* NULL-terminated list → text[] literal (owned). */
static char *list_literal(const char *const *items)
{
    size_t count = 0;
    while (items && items[count])
        count++;
    return pg_text_array_literal(items, count);
}

static enum db_result journal_change(struct db_tx *tx, const char *action, const char *id,
                                     const char *avant, const char *apres,
                                     const struct journal_scope *scope, struct db_error *err)
{
    struct journal_entry e = {action, "habilitation", id, avant, apres, *scope};
    return journal_record(tx, &e, err);
}

enum db_result habilitation_insert(struct db_tx *tx, const struct habilitation_new *h,
                                   const struct journal_scope *scope,
                                   struct habilitation_row *created, struct db_error *err)
{
    const struct perimeter *p = h->perimeter;
    char *deps = pg_code_array_literal(&p->departements[0][0], sizeof p->departements[0],
                                       p->departement_count);
    char *regs = pg_code_array_literal(&p->regions[0][0], sizeof p->regions[0], p->region_count);
    char *sirens = pg_code_array_literal(&p->sirens[0][0], sizeof p->sirens[0], p->siren_count);
    char *terrs =
        pg_code_array_literal(&p->territoires[0][0], sizeof p->territoires[0], p->territoire_count);
    char *pdeps = list_literal(h->portee_departements);
    char *pregs = list_literal(h->portee_regions);
    enum db_result r = DB_FAILED;
    memset(created, 0, sizeof *created);
    if (deps && regs && sirens && terrs && pdeps && pregs) {
        const char *params[12] = {
            h->issuer, h->subject,   role_name(h->role), deps,           regs,  sirens,
            terrs,     h->valide_du, h->valide_au,       h->accorde_par, pdeps, pregs};
        r = pg_one_row(
            tx->conn,
            "INSERT INTO habilitations AS h (issuer, subject, role, departements, regions, "
            "sirens, territoires, valide_du, valide_au, accorde_par, portee_departements, "
            "portee_regions) VALUES ($1, $2, $3, $4::text[], $5::text[], $6::text[], "
            "$7::text[], $8::date, $9::date, $10, $11::text[], $12::text[]) "
            "RETURNING " HABILITATION_COLUMNS,
            12, params, fill_row, created, sizeof *created, err);
    }
    free(pdeps);
    free(pregs);
    free(deps);
    free(regs);
    free(sirens);
    free(terrs);
    if (r == DB_OK)
        r = journal_change(tx, "habilitation.accorder", created->id, NULL, created->json, scope,
                           err);
    return r;
}

enum db_result habilitation_revoke(struct db_tx *tx, const char *id, const char *revoque_par,
                                   const struct journal_scope *scope,
                                   struct habilitation_row *after, struct db_error *err)
{
    struct habilitation_row before;
    const char *params[2] = {id, revoque_par};
    memset(after, 0, sizeof *after);
    enum db_result r =
        pg_one_row(tx->conn,
                   "SELECT " HABILITATION_COLUMNS " FROM habilitations h WHERE $1 ~ '" PG_UUID_RE
                   "' AND h.id = CASE WHEN $1 ~ '" PG_UUID_RE "' THEN $1::uuid END FOR UPDATE",
                   1, params, fill_row, &before, sizeof before, err);
    if (r != DB_OK)
        return r;
    r = pg_one_row(
        tx->conn,
        "UPDATE habilitations AS h SET revoque_le = now(), revoque_par = $2 WHERE h.id = "
        "$1::uuid AND h.revoque_le IS NULL RETURNING " HABILITATION_COLUMNS,
        2, params, fill_row, after, sizeof *after, err);
    if (r == DB_NOT_FOUND)
        r = DB_CONFLICT; /* already revoked */
    if (r == DB_OK)
        r = journal_change(tx, "habilitation.revoquer", id, before.json, after->json, scope, err);
    habilitation_row_release(&before);
    return r;
}

/* The habilitations a list shows, filtered by $1 … $6 (page and count). */
#define HABILITATION_LIST_FROM                                                                     \
    "FROM habilitations h "                                                                        \
    "WHERE ($1::text[] IS NULL AND $2::text[] IS NULL OR h.portee_departements && $1::text[] "     \
    "OR h.portee_regions && $2::text[]) AND ($3::text IS NULL OR h.issuer = $3) "                  \
    "AND ($4::text IS NULL OR h.subject = $4) AND ($5::text IS NULL OR h.role = $5) "              \
    "AND ($6::text IS NULL OR ($6 = 'active') = (h.revoque_le IS NULL))"

enum db_result habilitation_list(struct db_conn *conn, const struct habilitation_filter *f,
                                 const char *after, size_t limit, char **json_out, char last_id[37],
                                 bool *more, size_t *total, struct db_error *err)
{
    char *deps = NULL, *regs = NULL, limit_text[24];
    *json_out = NULL;
    last_id[0] = '\0';
    *more = false;
    if (f->visible_departements)
        deps = pg_code_array_literal(&f->visible_departements->departements[0][0], 4,
                                     f->visible_departements->departement_count);
    if (f->visible_regions)
        regs = pg_code_array_literal(&f->visible_regions->regions[0][0], 4,
                                     f->visible_regions->region_count);
    snprintf(limit_text, sizeof limit_text, "%zu", limit + 1);
    const char *params[8] = {deps,    regs,    f->issuer, f->subject,
                             f->role, f->etat, after,     limit_text};
    PGresult *res = db_exec_params(
        conn,
        "SELECT h.id::text, habilitation_representation(h)::text " HABILITATION_LIST_FROM
        " AND h.id > coalesce($7::uuid, '00000000-0000-0000-0000-000000000000'::uuid) ORDER BY "
        "h.id LIMIT $8::int",
        8, params);
    enum db_result r = db_result_from_pg(conn, res, err);
    if (r == DB_OK && !pg_json_page(res, limit, json_out, last_id, 37, more))
        r = DB_FAILED;
    PQclear(res);
    if (r == DB_OK)
        r = pg_count(conn, "SELECT count(*) " HABILITATION_LIST_FROM, 6, params, total, err);
    free(deps);
    free(regs);
    return r;
}
