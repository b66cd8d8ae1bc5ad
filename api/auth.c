/* Request authentication (see auth.h). */
#include "auth.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../db/client_repository.h"
#include "../db/habilitation_repository.h"
#include "cached_reads.h"
#include "jwt.h"
#include "log.h"

static void unauthorized(struct request_ctx *ctx, const char *error, const char *description)
{
    char header[400];
    if (error)
        snprintf(header, sizeof header,
                 "Bearer realm=\"pvd-api\", error=\"%s\", error_description=\"%s\"", error,
                 description);
    else
        snprintf(header, sizeof header, "Bearer realm=\"pvd-api\"");
    respond_problem(ctx, PROBLEM_NON_AUTHENTIFIE,
                    error ? "Le jeton d'accès est refusé."
                          : "Un jeton d'accès (Bearer) est requis.");
    u_map_put(ctx->res->map_header, "WWW-Authenticate", header);
}

/* A token issued by pvd-api to a machine client: the client must still exist,
 * unrevoked and unexpired (its row read now or from the read cache, as a person's
 * habilitation below: a revocation at once, an expiry within READ_CACHE_TTL_MS). */
static bool client_principal_or_reply(struct request_ctx *ctx, const struct jwt_claims *claims,
                                      struct principal *out)
{
    struct app *app = ctx->app;
    snprintf(out->issuer, sizeof out->issuer, "%s", claims->iss);
    snprintf(out->subject, sizeof out->subject, "%s", claims->sub);
    snprintf(out->acteur, sizeof out->acteur, "client:%s", claims->client_id);
    if (cached_authority_get(ctx, out))
        return true;
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    struct client_row row;
    enum db_result r = db_pool_acquire(app->pool, &conn, &err);
    if (r != DB_OK) {
        respond_db_error(ctx, r, &err);
        return false;
    }
    r = client_get(conn, claims->client_id, &row, &err);
    db_pool_release(app->pool, conn);
    if (r == DB_NOT_FOUND || (r == DB_OK && !row.usable)) {
        if (r == DB_OK)
            client_row_release(&row);
        unauthorized(ctx, "invalid_token", "Client revoque, expire ou inconnu.");
        return false;
    }
    if (r != DB_OK) {
        respond_db_error(ctx, r, &err);
        return false;
    }
    snprintf(out->client_id, sizeof out->client_id, "%s", row.id);
    snprintf(out->acteur, sizeof out->acteur, "client:%s", row.id);
    out->has_habilitation = true;
    out->authz.role = row.role;
    out->authz.perimeter = row.perimeter;
    out->authz.is_machine = true;
    client_row_release(&row);
    cached_authority_put(ctx, out);
    return true;
}

static bool user_principal_or_reply(struct request_ctx *ctx, const struct jwt_claims *claims,
                                    struct principal *out);

struct journal_actor auth_journal_actor(const struct request_ctx *ctx)
{
    const struct principal *p = ctx->principal;
    bool user = p->client_id[0] == '\0';
    struct journal_actor a = {p->acteur,
                              user && p->issuer[0] ? p->issuer : NULL,
                              user && p->subject[0] ? p->subject : NULL,
                              user ? NULL : p->client_id,
                              role_name(p->authz.role),
                              ctx->request_id,
                              ctx->idempotence};
    return a;
}

bool auth_principal_or_reply(struct request_ctx *ctx, struct principal *out)
{
    struct app *app = ctx->app;
    memset(out, 0, sizeof *out);
    const char *header = u_map_get_case(ctx->req->map_header, "Authorization");
    if (header == NULL) {
        unauthorized(ctx, NULL, NULL);
        return false;
    }
    if (strncasecmp(header, "Bearer ", 7) != 0 || header[7] == '\0') {
        unauthorized(ctx, "invalid_token", "En-tete Authorization attendu : Bearer <jeton>.");
        return false;
    }
    struct jwt_claims claims;
    const char *token = header + 7;
    time_t now = time(NULL);
    /* A token verified before is not verified again (api/token_cache.h); what it grants
     * (the client's row, the habilitation) is read below as for a fresh one. */
    enum token_source source = TOKEN_SOURCE_USER;
    if (token_cache_get(app->tokens, token, now, &source, &claims))
        return source == TOKEN_SOURCE_CLIENT ? client_principal_or_reply(ctx, &claims, out)
                                             : user_principal_or_reply(ctx, &claims, out);
    enum jwt_error e = JWT_ERR_ISSUER;
    if (app->users)
        e = jwt_verify(app->users, token, now, &claims);
    if ((e == JWT_ERR_ISSUER || e == JWT_ERR_UNKNOWN_KID || app->users == NULL) && app->clients) {
        /* Not the provider's: perhaps one of pvd-api's own client tokens. */
        enum jwt_error own = jwt_verify(app->clients, token, now, &claims);
        if (own == JWT_OK) {
            token_cache_put(app->tokens, token, now, TOKEN_SOURCE_CLIENT, &claims);
            return client_principal_or_reply(ctx, &claims, out);
        }
        if (own != JWT_ERR_ISSUER && own != JWT_ERR_UNKNOWN_KID)
            e = own;
    }
    if (e != JWT_OK) {
        unauthorized(ctx, "invalid_token", jwt_error_message(e));
        log_line(LOG_INFO, ctx->request_id, "jeton refusé", "raison", jwt_error_name(e),
                 (const char *)NULL);
        return false;
    }
    token_cache_put(app->tokens, token, now, TOKEN_SOURCE_USER, &claims);
    return user_principal_or_reply(ctx, &claims, out);
}

/* A person's token, verified: the bootstrap administrator, or the habilitation in force
 * (or its absence) read now or from the read cache (api/cached_reads.h: strict, so a
 * revocation acknowledged before the request arrived is seen by it, on every replica). */
static bool user_principal_or_reply(struct request_ctx *ctx, const struct jwt_claims *claims,
                                    struct principal *out)
{
    struct app *app = ctx->app;
    snprintf(out->issuer, sizeof out->issuer, "%s", claims->iss);
    snprintf(out->subject, sizeof out->subject, "%s", claims->sub);
    snprintf(out->acteur, sizeof out->acteur, "oidc:%s|%s", claims->iss, claims->sub);

    if (app->config.auth_bootstrap_admin_sub[0] &&
        strcmp(claims->sub, app->config.auth_bootstrap_admin_sub) == 0 &&
        strcmp(claims->iss, app->config.auth_issuer) == 0) {
        out->bootstrap = true;
        out->has_habilitation = true;
        out->authz.role = ROLE_ANCT_NATIONAL;
        return true;
    }

    if (cached_authority_get(ctx, out))
        return true;
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    enum db_result r = db_pool_acquire(app->pool, &conn, &err);
    if (r != DB_OK) {
        respond_db_error(ctx, r, &err);
        return false;
    }
    struct habilitation_row row;
    r = habilitation_find_active(conn, out->issuer, out->subject, &row, &err);
    db_pool_release(app->pool, conn);
    if (r == DB_OK) {
        out->has_habilitation = true;
        snprintf(out->habilitation_id, sizeof out->habilitation_id, "%s", row.id);
        out->authz.role = row.role;
        out->authz.perimeter = row.perimeter;
        habilitation_row_release(&row);
        cached_authority_put(ctx, out);
        return true;
    }
    if (r == DB_NOT_FOUND) {
        cached_authority_put(ctx, out);
        return true;
    }
    respond_db_error(ctx, r, &err);
    return false;
}
