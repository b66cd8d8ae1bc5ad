/* Idempotency-Key records (see idempotence_repository.h). */
#include "idempotence_repository.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgutil.h"

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

enum db_result idempotence_claim(struct db_pool *pool, const char *caller, const char *key,
                                 const char *fingerprint, enum idempotence_claim *out,
                                 struct idempotence_response *stored, struct db_error *err)
{
    struct db_conn *conn = NULL;
    memset(stored, 0, sizeof *stored);
    enum db_result r = db_pool_acquire(pool, &conn, err);
    if (r != DB_OK)
        return r;
    const char *params[3] = {caller, key, fingerprint};
    /* One statement: a new key, or an expired record, becomes ours. */
    PGresult *res = PQexecParams(
        conn->pg,
        "INSERT INTO idempotence (appelant, cle, empreinte) VALUES ($1, $2, $3) "
        "ON CONFLICT (appelant, cle) DO UPDATE SET empreinte = excluded.empreinte, statut = NULL, "
        "type_contenu = NULL, corps = NULL, location = NULL, etag = NULL, cree_le = now() "
        "WHERE idempotence.cree_le < now() - interval '24 hours' RETURNING 1",
        3, NULL, params, NULL, NULL, 0);
    r = db_result_from_pg(conn, res, err);
    bool claimed = r == DB_OK && PQntuples(res) == 1;
    PQclear(res);
    if (r == DB_OK && claimed) {
        *out = IDEMPOTENCE_NEW;
    } else if (r == DB_OK) {
        res = PQexecParams(conn->pg,
                           "SELECT empreinte, statut, type_contenu, corps, location, etag FROM "
                           "idempotence WHERE appelant = $1 AND cle = $2",
                           2, NULL, params, NULL, NULL, 0);
        r = db_result_from_pg(conn, res, err);
        if (r == DB_OK && PQntuples(res) == 0) {
            *out = IDEMPOTENCE_RUNNING; /* released meanwhile: the client may retry */
        } else if (r == DB_OK) {
            if (strcmp(PQgetvalue(res, 0, 0), fingerprint) != 0) {
                *out = IDEMPOTENCE_MISMATCH;
            } else if (PQgetisnull(res, 0, 1)) {
                *out = IDEMPOTENCE_RUNNING;
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
    }
    db_pool_release(pool, conn);
    return r;
}

enum db_result idempotence_finish(struct db_pool *pool, const char *caller, const char *key,
                                  const struct idempotence_response *response, struct db_error *err)
{
    struct db_conn *conn = NULL;
    enum db_result r = db_pool_acquire(pool, &conn, err);
    if (r != DB_OK)
        return r;
    PGresult *res;
    if (response == NULL) {
        const char *params[2] = {caller, key};
        res = PQexecParams(conn->pg,
                           "DELETE FROM idempotence WHERE appelant = $1 AND cle = $2 AND "
                           "statut IS NULL",
                           2, NULL, params, NULL, NULL, 0);
    } else {
        char status[16];
        snprintf(status, sizeof status, "%d", response->status);
        const char *params[7] = {
            caller,        key, status, response->content_type, response->body, response->location,
            response->etag};
        res =
            PQexecParams(conn->pg,
                         "UPDATE idempotence SET statut = $3::int, type_contenu = $4, corps = $5, "
                         "location = $6, etag = $7 WHERE appelant = $1 AND cle = $2",
                         7, NULL, params, NULL, NULL, 0);
    }
    r = db_result_from_pg(conn, res, err);
    PQclear(res);
    db_pool_release(pool, conn);
    return r;
}
