#include "statements.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Open addressing, linear probing; twice the bound so probes stay short. */
#define SLOTS (2 * DB_STATEMENT_CACHE_MAX)

struct entry {
    char *sql;     /* owned copy of the text; NULL: empty slot */
    uint64_t hash; /* text_hash of sql */
    unsigned id;   /* the statement is named "pvd_<id>" */
    int nparams;
    int dead; /* forgotten: kept as a tombstone so probing goes on */
};

struct db_statement_cache {
    uint64_t generation; /* db_conn.generation the names belong to */
    unsigned count;      /* live entries plus tombstones */
    unsigned next_id;
    struct entry slots[SLOTS];
};

static uint64_t fnv1a(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* FNV-1a of the length, the first and the last 256 bytes: texts run to
 * several kilobytes and lookup confirms with strcmp anyway. */
static uint64_t text_hash(const char *s)
{
    size_t n = strlen(s), edge = n < 256 ? n : 256;
    uint64_t h = fnv1a(1469598103934665603ULL, (const char *)&n, sizeof n);
    h = fnv1a(h, s, edge);
    return fnv1a(h, s + n - edge, edge);
}

static void cache_clear(struct db_statement_cache *c)
{
    for (unsigned i = 0; i < SLOTS; i++)
        free(c->slots[i].sql);
    memset(c->slots, 0, sizeof c->slots);
    c->count = 0;
}

void db_statements_free(struct db_conn *conn)
{
    if (!conn || !conn->statements)
        return;
    cache_clear(conn->statements);
    free(conn->statements);
    conn->statements = NULL;
}

/* The cache of conn for its current PGconn; NULL when out of memory. */
static struct db_statement_cache *cache_of(struct db_conn *conn)
{
    struct db_statement_cache *c = conn->statements;
    if (!c) {
        c = calloc(1, sizeof *c);
        if (!c)
            return NULL;
        c->generation = conn->generation;
        conn->statements = c;
    } else if (c->generation != conn->generation) {
        cache_clear(c);
        c->generation = conn->generation;
    }
    return c;
}

/* The live entry of sql, or the empty slot where it would go (sql NULL in
 * it), or NULL when the table has no room left. */
static struct entry *lookup(struct db_statement_cache *c, const char *sql, uint64_t hash)
{
    for (unsigned k = 0, i = (unsigned)(hash % SLOTS); k < SLOTS; k++, i = (i + 1) % SLOTS) {
        struct entry *e = &c->slots[i];
        if (!e->sql)
            return e;
        if (!e->dead && e->hash == hash && strcmp(e->sql, sql) == 0)
            return e;
    }
    return NULL;
}

static PGresult *exec_unnamed(struct db_conn *conn, const char *sql, int nparams,
                              const char *const *params)
{
    return PQexecParams(conn->pg, sql, nparams, NULL, params, NULL, NULL, 0);
}

/* 26000 invalid_sql_statement_name; 0A000 feature_not_supported, which is
 * "cached plan must not change result type" for an executed statement. */
static int statement_is_stale(const PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    return state && (strcmp(state, "26000") == 0 || strcmp(state, "0A000") == 0);
}

PGresult *db_exec_params(struct db_conn *conn, const char *sql, int nparams,
                         const char *const *params)
{
    struct db_statement_cache *c;
    struct entry *e;
    char name[24];
    uint64_t hash;

    if (!conn->named_statements || !(c = cache_of(conn)))
        return exec_unnamed(conn, sql, nparams, params);
    hash = text_hash(sql);
    e = lookup(c, sql, hash);
    if (!e || (!e->sql && c->count >= DB_STATEMENT_CACHE_MAX))
        return exec_unnamed(conn, sql, nparams, params);
    if (!e->sql) {
        char *copy = strdup(sql);
        if (!copy)
            return exec_unnamed(conn, sql, nparams, params);
        snprintf(name, sizeof name, "pvd_%u", c->next_id);
        PGresult *prep = PQprepare(conn->pg, name, sql, nparams, NULL);
        if (PQresultStatus(prep) != PGRES_COMMAND_OK) {
            free(copy);
            return prep;
        }
        PQclear(prep);
        *e = (struct entry){copy, hash, c->next_id++, nparams, 0};
        c->count++;
    } else if (e->nparams != nparams) {
        /* Same text, another parameter count: the server would refuse it as
         * the prepared statement; let it say so in the unnamed form. */
        return exec_unnamed(conn, sql, nparams, params);
    }
    snprintf(name, sizeof name, "pvd_%u", e->id);
    PGresult *res = PQexecPrepared(conn->pg, name, nparams, params, NULL, NULL, 0);
    if (statement_is_stale(res))
        e->dead = 1;
    return res;
}
