/* Authentication of a request: the bearer token (RFC 6750) is verified
 * (api/jwt.h) and the caller's authority is read from pvd-api's own
 * habilitations, never from the token. The token is never logged. */
#ifndef PVD_API_AUTH_H
#define PVD_API_AUTH_H

#include <stdbool.h>
#include <ulfius.h>

#include "../db/mutation.h"
#include "../domain/authz.h"
#include "http.h"

struct principal {
    char issuer[256];
    char subject[256];
    char client_id[64]; /* machine client; "" for a user */
    char acteur[600];   /* journal actor: "oidc:<iss>|<sub>" or "client:<id>" */
    bool has_habilitation;
    bool bootstrap; /* AUTH_BOOTSTRAP_ADMIN_SUB: anct_national by configuration */
    char habilitation_id[37];
    struct authz_principal authz;
};

/* Authenticates the request into *out. On failure a problem has been sent:
 * 401 (with WWW-Authenticate: Bearer, error="invalid_token" when a token was
 * given), or respond_db_error's answer when the database cannot be read
 * (503 unavailable, else 500); returns false. A valid
 * token with no habilitation in force succeeds with has_habilitation false. */
bool auth_principal_or_reply(struct request_ctx *ctx, struct principal *out);

/* The journal's actor for the authenticated caller of ctx (borrowed strings,
 * valid for the request): a user's issuer and subject, or a client's id, and
 * the request's Idempotency-Key claim (ctx->idempotence), so that the
 * mutation stores its response in its own transaction. */
struct journal_actor auth_journal_actor(const struct request_ctx *ctx);

#endif
