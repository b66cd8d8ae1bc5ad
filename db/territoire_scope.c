/* Territorial attributes of a territoire (see territoire_scope.h). */
#include "territoire_scope.h"
#include "statements.h"

#include "../domain/identifiers.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

void territoire_scope_add_siren(struct territoire_scope *s, const char *siren)
{
    if (!siren_format_is_valid(siren) || s->siren_count >= TERRITOIRE_SCOPE_SIRENS)
        return;
    for (size_t i = 0; i < s->siren_count; i++)
        if (strcmp(s->sirens[i], siren) == 0)
            return;
    snprintf(s->sirens[s->siren_count++], sizeof s->sirens[0], "%s", siren);
}

static void add_code(char (*list)[4], size_t *count, const char *code)
{
    if (!code || !code[0] || strlen(code) > 3 || *count >= TERRITOIRE_SCOPE_DEPARTEMENTS)
        return;
    for (size_t i = 0; i < *count; i++)
        if (strcmp(list[i], code) == 0)
            return;
    snprintf(list[(*count)++], 4, "%s", code);
}

/* One row per attribute: kind ('t' territoire, 'd' département, 'r' région,
 * 's' SIREN), value; the territoire's own row first. */
static const char scope_sql[] =
    "SELECT 't', t.code_departement || '|' || t.code_region FROM territoires t WHERE t.id_pvd = $1 "
    "UNION ALL SELECT 'd', c.code_departement FROM territoire_communes tc "
    "JOIN communes c ON c.code_insee = tc.code_insee AND c.type = 'commune-actuelle' "
    "WHERE tc.id_pvd = $1 AND c.code_departement IS NOT NULL "
    "UNION ALL SELECT 'r', c.code_region FROM territoire_communes tc "
    "JOIN communes c ON c.code_insee = tc.code_insee AND c.type = 'commune-actuelle' "
    "WHERE tc.id_pvd = $1 AND c.code_region IS NOT NULL "
    "UNION ALL SELECT 's', c.siren FROM territoire_communes tc "
    "JOIN communes c ON c.code_insee = tc.code_insee AND c.type = 'commune-actuelle' "
    "WHERE tc.id_pvd = $1 AND c.siren IS NOT NULL "
    "UNION ALL SELECT 's', te.siren FROM territoire_epcis te WHERE te.id_pvd = $1";

enum db_result territoire_scope_load(struct db_conn *conn, const char *id_pvd,
                                     struct territoire_scope *out, struct db_error *err)
{
    const char *params[1] = {id_pvd};
    PGresult *res = db_exec_params(conn, scope_sql, 1, params);
    enum db_result r = db_result_from_pg(conn, res, err);
    if (r == DB_OK && (PQntuples(res) == 0 || PQgetvalue(res, 0, 0)[0] != 't'))
        r = DB_NOT_FOUND;
    if (r == DB_OK) {
        struct territoire_scope s;
        memset(&s, 0, sizeof s);
        snprintf(s.id_pvd, sizeof s.id_pvd, "%s", id_pvd);
        const char *dr = PQgetvalue(res, 0, 1);
        const char *bar = strchr(dr, '|');
        snprintf(s.code_departement, sizeof s.code_departement, "%.*s", bar ? (int)(bar - dr) : 3,
                 dr);
        snprintf(s.code_region, sizeof s.code_region, "%s", bar ? bar + 1 : "");
        add_code(s.departements, &s.departement_count, s.code_departement);
        add_code(s.regions, &s.region_count, s.code_region);
        for (int i = 1; i < PQntuples(res); i++) {
            const char *v = PQgetvalue(res, i, 1);
            switch (PQgetvalue(res, i, 0)[0]) {
            case 'd':
                add_code(s.departements, &s.departement_count, v);
                break;
            case 'r':
                add_code(s.regions, &s.region_count, v);
                break;
            case 's':
                territoire_scope_add_siren(&s, v);
                break;
            default:
                break;
            }
        }
        *out = s;
    }
    PQclear(res);
    return r;
}

enum db_result territoire_scope_load_pooled(struct db_pool *pool, const char *id_pvd,
                                            struct territoire_scope *out, struct db_error *err)
{
    struct db_conn *conn;
    enum db_result r = db_pool_acquire(pool, &conn, err);
    if (r != DB_OK)
        return r;
    r = territoire_scope_load(conn, id_pvd, out, err);
    db_pool_release(pool, conn);
    return r;
}

static void fill_ptrs(struct territoire_scope *s)
{
    for (size_t i = 0; i < s->departement_count; i++)
        s->departement_ptrs[i] = s->departements[i];
    s->departement_ptrs[s->departement_count] = NULL;
    for (size_t i = 0; i < s->region_count; i++)
        s->region_ptrs[i] = s->regions[i];
    s->region_ptrs[s->region_count] = NULL;
    for (size_t i = 0; i < s->siren_count; i++)
        s->siren_ptrs[i] = s->sirens[i];
    s->siren_ptrs[s->siren_count] = NULL;
    s->territoire_ptrs[0] = s->id_pvd;
    s->territoire_ptrs[1] = NULL;
}

struct authz_target territoire_scope_target(struct territoire_scope *s)
{
    struct authz_target t;
    memset(&t, 0, sizeof t);
    fill_ptrs(s);
    t.departements = s->departement_ptrs;
    t.departement_count = s->departement_count;
    t.regions = s->region_ptrs;
    t.region_count = s->region_count;
    t.territoire = s->id_pvd;
    t.sirens = s->siren_ptrs;
    t.siren_count = s->siren_count;
    return t;
}

struct journal_scope territoire_scope_journal(struct territoire_scope *s)
{
    fill_ptrs(s);
    struct journal_scope j = {s->departement_ptrs, s->region_ptrs, s->siren_ptrs,
                              s->territoire_ptrs};
    return j;
}

enum db_result territoire_journal_record(struct db_tx *tx, const char *id_pvd,
                                         struct journal_entry *entry, struct db_error *err)
{
    struct territoire_scope scope;
    enum db_result r = territoire_scope_load(tx->conn, id_pvd, &scope, err);
    if (r != DB_OK)
        return r == DB_NOT_FOUND ? DB_FAILED : r;
    entry->scope = territoire_scope_journal(&scope);
    return journal_record(tx, entry, err);
}
