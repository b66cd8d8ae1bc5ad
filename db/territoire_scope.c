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

enum db_result territoire_scope_from_lines(const char *id_pvd, const char *lines,
                                           struct territoire_scope *out)
{
    if (!lines || strncmp(lines, "t|", 2) != 0)
        return DB_NOT_FOUND;
    struct territoire_scope s;
    memset(&s, 0, sizeof s);
    snprintf(s.id_pvd, sizeof s.id_pvd, "%s", id_pvd);
    for (const char *line = lines; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char value[64];
        if (len >= 2 && line[1] == '|' && len - 2 < sizeof value) {
            memcpy(value, line + 2, len - 2);
            value[len - 2] = '\0';
            if (line == lines) { /* "t|<département>|<région>" */
                char *bar = strchr(value, '|');
                if (bar)
                    *bar = '\0';
                snprintf(s.code_departement, sizeof s.code_departement, "%.3s", value);
                snprintf(s.code_region, sizeof s.code_region, "%.3s", bar ? bar + 1 : "");
                add_code(s.departements, &s.departement_count, s.code_departement);
                add_code(s.regions, &s.region_count, s.code_region);
            } else if (line[0] == 'd') {
                add_code(s.departements, &s.departement_count, value);
            } else if (line[0] == 'r') {
                add_code(s.regions, &s.region_count, value);
            } else if (line[0] == 's') {
                territoire_scope_add_siren(&s, value);
            }
        }
        line = end ? end + 1 : NULL;
    }
    *out = s;
    return DB_OK;
}

static const char scope_sql[] = "SELECT " TERRITOIRE_SCOPE_LINES_SQL("$1");

enum db_result territoire_scope_load(struct db_conn *conn, const char *id_pvd,
                                     struct territoire_scope *out, struct db_error *err)
{
    const char *params[1] = {id_pvd};
    PGresult *res = db_exec_params(conn, scope_sql, 1, params);
    enum db_result r = db_result_from_pg(conn, res, err);
    if (r == DB_OK)
        r = PQntuples(res) == 1 ? territoire_scope_from_lines(id_pvd, PQgetvalue(res, 0, 0), out)
                                : DB_FAILED;
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
