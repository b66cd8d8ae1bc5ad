/* The request pipeline (see pipeline.h). */
#include "pipeline.h"

#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "cors.h"
#include "idempotency.h"
#include "json_body.h"
#include "query.h"
#include "rate_limit.h"

/* True when the request carries a body (announced length > 0, or chunked). */
static bool has_body(const struct _u_request *req)
{
    const char *length = u_map_get_case(req->map_header, "Content-Length");
    return req->binary_body_length > 0 || (length && strcmp(length, "0") != 0) ||
           u_map_get_case(req->map_header, "Transfer-Encoding") != NULL;
}

/* Adds this request's CORS headers: they depend on its Origin, so they cannot
 * be ulfius default_headers. True when the request was a preflight, now
 * answered: 204, or 403 for an origin not in CORS_ALLOWED_ORIGINS. */
static bool cors_answered(struct request_ctx *ctx, const struct _u_request *req,
                          struct _u_response *res)
{
    switch (cors_handle(&ctx->app->config.cors, req, res)) {
    case CORS_PREFLIGHT_OK:
        return true;
    case CORS_PREFLIGHT_REFUSED:
        respond_problem(ctx, req, res, PROBLEM_INTERDIT, CORS_REFUSED_DETAIL);
        return true;
    case CORS_CONTINUE:
        break;
    }
    return false;
}

/* Rate-limit key of an authenticated caller (api/rate_limit.h: the first 255
 * bytes count, so the most distinguishing part comes first). */
static void principal_rate_key(const struct principal *p, char key[RATE_LIMIT_KEY_MAX])
{
    if (p->client_id[0])
        snprintf(key, RATE_LIMIT_KEY_MAX, "c:%.63s", p->client_id);
    else /* 2 + 200 + 1 + 52 bytes: subjects are short in practice (ProConnect: 64) */
        snprintf(key, RATE_LIMIT_KEY_MAX, "u:%.200s|%.52s", p->subject, p->issuer);
}

/* One call through the pipeline. */
struct call {
    const struct route *route;
    const struct _u_request *req;
    struct _u_response *res;
    struct request_ctx *ctx;
    struct principal *principal; /* storage for the authenticated caller */
};

/* A step answers (and returns false) or lets the request go on (true). */
typedef bool (*step_fn)(struct call *c);

static bool step_cors(struct call *c)
{
    return !cors_answered(c->ctx, c->req, c->res);
}

static bool step_authenticate(struct call *c)
{
    if (c->route->access == ROUTE_PUBLIC)
        return true;
    if (!auth_principal_or_reply(c->req, c->res, c->ctx, c->principal))
        return false;
    c->ctx->principal = c->principal;
    return true;
}

static bool step_rate_limit(struct call *c)
{
    if (c->ctx->principal == NULL)
        return true;
    char key[RATE_LIMIT_KEY_MAX];
    principal_rate_key(c->ctx->principal, key);
    return !respond_if_rate_limited(c->ctx, c->req, c->res, c->ctx->app->rate_principal, key);
}

static bool step_habilitation(struct call *c)
{
    if (c->route->access != ROUTE_HABILITATED || c->ctx->principal->has_habilitation)
        return true;
    respond_problem(c->ctx, c->req, c->res, PROBLEM_INTERDIT,
                    "Aucune habilitation en vigueur pour cette identité : "
                    "demandez-la à votre préfecture ou à l'ANCT.");
    return false;
}

/* Path and query parameters: valid UTF-8 without NUL or controls, no query
 * parameter named like a path one (api/query_params.h). */
static bool step_parameters(struct call *c)
{
    return query_params_or_reply(c->ctx, c->req, c->res);
}

/* GET, HEAD and DELETE take no body. */
static bool step_no_body_unless_expected(struct call *c)
{
    const char *m = c->route->method;
    bool takes_body = strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0;
    if (takes_body || !has_body(c->req))
        return true;
    if (!json_media_type_ok(u_map_get_case(c->req->map_header, "Content-Type"), false))
        respond_problem(c->ctx, c->req, c->res, PROBLEM_TYPE_MEDIA_NON_SUPPORTE,
                        "Seul application/json est accepté comme corps de requête.");
    else
        respond_problem(c->ctx, c->req, c->res, PROBLEM_REQUETE_INVALIDE,
                        "Cette route n'accepte pas de corps de requête.");
    return false;
}

/* The steps before the handler, in order. */
static const step_fn steps[] = {
    step_cors,         step_authenticate, step_rate_limit,
    step_habilitation, step_parameters,   step_no_body_unless_expected,
};

/* The last step: the route's handler, under its Idempotency-Key when the
 * route replays keys and the request has one. */
static void step_handle(struct call *c)
{
    const char *key = u_map_get_case(c->req->map_header, "Idempotency-Key");
    if (key && c->route->key == ROUTE_KEY_REPLAYED)
        idempotency_run(c->ctx, c->req, c->res, key);
    else
        c->route->handler(c->req, c->res, c->ctx);
}

int pipeline_dispatch(const struct _u_request *req, struct _u_response *res, void *user_data)
{
    const struct pipeline_binding *b = user_data;
    struct request_ctx ctx;
    struct principal principal;
    struct call c = {b->route, req, res, &ctx, &principal};
    request_ctx_begin(&ctx, b->app, b->route, req, res);
    size_t i = 0;
    while (i < sizeof steps / sizeof steps[0] && steps[i](&c))
        i++;
    if (i == sizeof steps / sizeof steps[0])
        step_handle(&c);
    request_ctx_end(&ctx, req, res);
    return U_CALLBACK_COMPLETE;
}

int pipeline_unmatched(const struct _u_request *req, struct _u_response *res, void *user_data)
{
    struct app *app = user_data;
    struct request_ctx ctx;
    char allow[128];
    request_ctx_begin(&ctx, app, NULL, req, res);
    if (cors_answered(&ctx, req, res)) {
        /* preflight: answered for any path; the actual request then gets its 404/405 */
    } else if (routes_allowed_methods(req->url_path, allow, sizeof allow)) {
        char detail[200];
        snprintf(detail, sizeof detail, "Méthode %.20s non autorisée ; méthodes permises : %s.",
                 req->http_verb, allow);
        respond_problem(&ctx, req, res, PROBLEM_METHODE_NON_AUTORISEE, detail);
        u_map_put(res->map_header, "Allow", allow);
    } else {
        respond_problem(&ctx, req, res, PROBLEM_ROUTE_INCONNUE,
                        "Aucune route ne correspond à ce chemin.");
    }
    request_ctx_end(&ctx, req, res);
    return U_CALLBACK_COMPLETE;
}
