/* Storage of Idempotency-Key records (api.md "Requests"). */
#ifndef PVD_DB_IDEMPOTENCE_REPOSITORY_H
#define PVD_DB_IDEMPOTENCE_REPOSITORY_H

#include "pool.h"

enum idempotence_claim {
    IDEMPOTENCE_NEW,      /* the key is ours now: run the request, then store its response */
    IDEMPOTENCE_REPLAY,   /* same key and request: *stored holds the first response */
    IDEMPOTENCE_MISMATCH, /* same key, another request: 422 */
    IDEMPOTENCE_RUNNING,  /* the first request has not finished yet: 409 */
};

struct idempotence_response {
    int status;
    char *content_type; /* owned (free) */
    char *body;         /* owned */
    char *location;     /* owned, or NULL */
    char *etag;         /* owned, or NULL */
};
void idempotence_response_release(struct idempotence_response *r);

/* Claims (caller, key) for a request of this fingerprint; a record older than
 * 24 hours is replaced. */
enum db_result idempotence_claim(struct db_pool *pool, const char *caller, const char *key,
                                 const char *fingerprint, enum idempotence_claim *out,
                                 struct idempotence_response *stored, struct db_error *err);

/* Stores the response of a claimed key (status < 500), or releases the claim
 * (response NULL) so that the request can be retried. */
enum db_result idempotence_finish(struct db_pool *pool, const char *caller, const char *key,
                                  const struct idempotence_response *response,
                                  struct db_error *err);

#endif
