/* Idempotency-Key records (see idempotence_repository.h). */
#include "idempotence_repository.h"
#include "statements.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgutil.h"

/* A record is in force for 24 hours; an older one is replaced by a new claim. */
#define IN_FORCE "cree_le >= now() - interval '24 hours'"

void idempotence_response_release(struct idempotence_response *r)
{
    free(r->content_type);
    free(r->body);
    free(r->location);
    free(r->etag);
    memset(r, 0, sizeof *r);
}

static char *nullable_copy(const PGresult *res, int col)
{
    return PQgetisnull(res, 0, col) ? NULL : pg_strdup(PQgetvalue(res, 0, col));
}

enum db_result idempotence_find(struct db_pool *pool, const char *caller, const char *key,
                                const char *fingerprint, enum idempotence_lookup *out,
                                struct idempotence_response *stored, struct db_error *err)
{
    struct db_conn *conn = NULL;
    memset(stored, 0, sizeof *stored);
    *out = IDEMPOTENCE_NONE;
    enum db_result r = db_pool_acquire(pool, &conn, err);
    if (r != DB_OK)
        return r;
    const char *params[2] = {caller, key};
    PGresult *res = db_exec_params(conn,
                                   "SELECT empreinte, statut, type_contenu, corps, location, etag "
                                   "FROM idempotence WHERE appelant = $1 AND cle = $2 AND "
                                   "statut IS NOT NULL AND " IN_FORCE,
                                   2, params);
    r = db_result_from_pg(conn, res, err);
    if (r == DB_OK && PQntuples(res) == 1) {
        if (strcmp(PQgetvalue(res, 0, 0), fingerprint) != 0) {
            *out = IDEMPOTENCE_MISMATCH;
        } else {
            *out = IDEMPOTENCE_REPLAY;
            stored->status = atoi(PQgetvalue(res, 0, 1));
            stored->content_type = nullable_copy(res, 2);
            stored->body = nullable_copy(res, 3);
            stored->location = nullable_copy(res, 4);
            stored->etag = nullable_copy(res, 5);
        }
    }
    PQclear(res);
    db_pool_release(pool, conn);
    return r;
}

enum db_result idempotence_claim_in(struct db_conn *conn, const char *caller, const char *key,
                                    const char *fingerprint, enum idempotence_claim_outcome *out,
                                    struct db_error *err)
{
    const char *params[3] = {caller, key, fingerprint};
    *out = IDEMPOTENCE_CLAIM_TAKEN;
    /* A concurrent claim of the same key holds the unique index entry until
     * its transaction ends: wait for it, but not for long. */
    enum db_result r = pg_exec_command(conn, "SET LOCAL lock_timeout = '2s'", 0, NULL, err);
    if (r != DB_OK)
        return r;
    PGresult *res = db_exec_params(
        conn,
        "INSERT INTO idempotence (appelant, cle, empreinte) VALUES ($1, $2, $3) "
        "ON CONFLICT (appelant, cle) DO UPDATE SET empreinte = excluded.empreinte, statut = NULL, "
        "type_contenu = NULL, corps = NULL, location = NULL, etag = NULL, cree_le = now() "
        "WHERE NOT (idempotence." IN_FORCE ") RETURNING 1",
        3, params);
    r = db_result_from_pg(conn, res, err);
    bool claimed = r == DB_OK && PQntuples(res) == 1;
    PQclear(res);
    if (r != DB_OK) {
        if (strcmp(err->sqlstate, "55P03") == 0) { /* lock_not_available */
            *out = IDEMPOTENCE_CLAIM_BUSY;
            return DB_UNAVAILABLE;
        }
        return r;
    }
    *out = claimed ? IDEMPOTENCE_CLAIM_OURS : IDEMPOTENCE_CLAIM_TAKEN;
    return pg_exec_command(conn, "SET LOCAL lock_timeout TO DEFAULT", 0, NULL, err);
}

static void response_params(const struct idempotence_response *response, char status[16],
                            const char *params[5])
{
    snprintf(status, 16, "%d", response->status);
    params[0] = status;
    params[1] = response->content_type;
    params[2] = response->body;
    params[3] = response->location;
    params[4] = response->etag;
}

enum db_result idempotence_store_and_commit(struct db_held_tx *held, const char *caller,
                                            const char *key,
                                            const struct idempotence_response *response,
                                            struct db_error *err)
{
    char status[16];
    const char *params[7] = {NULL, NULL, NULL, NULL, NULL, caller, key};
    response_params(response, status, params);
    PGresult *res = db_exec_params(held->conn,
                                   "UPDATE idempotence SET statut = $1::int, type_contenu = $2, "
                                   "corps = $3, location = $4, etag = $5 "
                                   "WHERE appelant = $6 AND cle = $7",
                                   7, params);
    enum db_result r = db_result_from_pg(held->conn, res, err);
    if (r == DB_OK && strcmp(PQcmdTuples(res), "1") != 0) {
        db_error_set(err, NULL, "clé d'idempotence non réclamée dans cette transaction");
        r = DB_FAILED;
    }
    PQclear(res);
    if (r != DB_OK) {
        db_held_abort(held);
        return r;
    }
    return db_held_commit(held, err);
}

enum db_result idempotence_store(struct db_pool *pool, const char *caller, const char *key,
                                 const char *fingerprint,
                                 const struct idempotence_response *response, struct db_error *err)
{
    struct db_conn *conn = NULL;
    enum db_result r = db_pool_acquire(pool, &conn, err);
    if (r != DB_OK)
        return r;
    char status[16];
    const char *params[8] = {NULL, NULL, NULL, NULL, NULL, caller, key, fingerprint};
    response_params(response, status, params);
    PGresult *res = db_exec_params(
        conn,
        "INSERT INTO idempotence (appelant, cle, empreinte, statut, type_contenu, corps, "
        "location, etag) VALUES ($6, $7, $8, $1::int, $2, $3, $4, $5) "
        "ON CONFLICT (appelant, cle) DO UPDATE SET empreinte = excluded.empreinte, "
        "statut = excluded.statut, type_contenu = excluded.type_contenu, corps = excluded.corps, "
        "location = excluded.location, etag = excluded.etag, cree_le = now() "
        "WHERE NOT (idempotence." IN_FORCE ")",
        8, params);
    r = db_result_from_pg(conn, res, err);
    PQclear(res);
    db_pool_release(pool, conn);
    return r;
}
