/* Storage of Idempotency-Key records (api.md "Requests"): for each (caller,
 * key), the fingerprint of the first request and its response, kept 24 hours.
 *
 * A response that follows a write is stored in the write's own transaction
 * (idempotence_claim_in at its start, idempotence_store_and_commit at its
 * end; see struct mutation_idempotence in mutation.h), so a record exists
 * only for a write that committed, and always with its response. A response
 * for which nothing was written (a refusal) is stored on its own
 * (idempotence_store). */
#ifndef PVD_DB_IDEMPOTENCE_REPOSITORY_H
#define PVD_DB_IDEMPOTENCE_REPOSITORY_H

#include "pool.h"
#include "transaction.h"

/* What a stored record says of a new request with the same caller and key. */
enum idempotence_lookup {
    IDEMPOTENCE_NONE,     /* no record in force: run the request */
    IDEMPOTENCE_REPLAY,   /* same request: *stored holds the first response */
    IDEMPOTENCE_MISMATCH, /* another request used this key: 422 */
};

struct idempotence_response {
    int status;
    char *content_type; /* owned (free) */
    char *body;         /* owned */
    char *location;     /* owned, or NULL */
    char *etag;         /* owned, or NULL */
};
/* Frees the members and zeroes r. */
void idempotence_response_release(struct idempotence_response *r);

/* Looks (caller, key) up on a pooled connection. Records older than 24 hours
 * count as none. *stored is zeroed, then filled (owned by the caller, free
 * with idempotence_response_release) only for IDEMPOTENCE_REPLAY. Fails as
 * the pool and PostgreSQL do (DB_UNAVAILABLE, DB_FAILED). */
enum db_result idempotence_find(struct db_pool *pool, const char *caller, const char *key,
                                const char *fingerprint, enum idempotence_lookup *out,
                                struct idempotence_response *stored, struct db_error *err);

enum idempotence_claim_outcome {
    IDEMPOTENCE_CLAIM_OURS,  /* the key is claimed in this transaction */
    IDEMPOTENCE_CLAIM_TAKEN, /* a record in force exists (committed by another request) */
    IDEMPOTENCE_CLAIM_BUSY,  /* another transaction claiming it did not end within 2 s */
};

/* Claims (caller, key) inside the open transaction of conn: inserts the
 * record (response still empty), replacing an expired one. Waits at most 2 s
 * for a concurrent transaction that claimed the same key (then BUSY, and the
 * transaction is aborted: the caller must roll it back, which any non-OK
 * result of a unit does). DB_OK with *out set, or the failure of the
 * statement (DB_RETRY under SERIALIZABLE when the competing record committed
 * after the snapshot). */
enum db_result idempotence_claim_in(struct db_conn *conn, const char *caller, const char *key,
                                    const char *fingerprint, enum idempotence_claim_outcome *out,
                                    struct db_error *err);

/* Stores response (status < 500) in the record claimed in the held
 * transaction, then commits it (db_held_commit's results; DB_RETRY: nothing
 * committed, the request may be run again). The transaction is always ended:
 * held->conn is NULL afterwards. */
enum db_result idempotence_store_and_commit(struct db_held_tx *held, const char *caller,
                                            const char *key,
                                            const struct idempotence_response *response,
                                            struct db_error *err);

/* Stores the response of a request that wrote nothing, in its own
 * transaction; does nothing when a record in force exists (a concurrent
 * request with the same key was first). */
enum db_result idempotence_store(struct db_pool *pool, const char *caller, const char *key,
                                 const char *fingerprint,
                                 const struct idempotence_response *response, struct db_error *err);

#endif
