/* Idempotency-Key on POST routes (api.md "Requests"): the first response is
 * stored and replayed for the same caller, key and request (method, target
 * with its query string, body) within 24 hours; the same key with another
 * request is 422 cle-idempotence-reutilisee; a repeat while the first still
 * runs is 409. */
#ifndef PVD_API_IDEMPOTENCY_H
#define PVD_API_IDEMPOTENCY_H

#include <ulfius.h>

#include "http.h"

/* Runs ctx->route's handler under key for the authenticated ctx->principal,
 * and always answers (400 for a key that is not 1–255 visible ASCII
 * characters). The response of a write is stored in the write's own
 * transaction (struct mutation_idempotence, db/mutation.h): a crash or an
 * outage before its COMMIT leaves neither the object nor the record, so the
 * client's retry with the same key runs the request again; after it, the
 * retry gets the stored answer. A write whose COMMIT meets a serialization
 * failure is run again (3 runs at most, then 503). The response of a request
 * that wrote nothing (a refusal) is stored on its own; 5xx answers never. */
void idempotency_run(struct request_ctx *ctx, const char *key);

#endif
