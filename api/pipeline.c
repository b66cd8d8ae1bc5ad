/* The request pipeline (see pipeline.h). */
#include "pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "cached_reads.h"
#include "cors.h"
#include "idempotency.h"
#include "json_body.h"
#include "log.h"
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
 * answered: 204 announcing the methods routed for its path, or 403 for an
 * origin not in CORS_ALLOWED_ORIGINS. */
static bool cors_answered(struct request_ctx *ctx)
{
    char allow[128];
    const char *methods = NULL;
    if (ctx->req->http_verb && strcmp(ctx->req->http_verb, "OPTIONS") == 0 &&
        routes_allowed_methods(ctx->req->url_path, allow, sizeof allow))
        methods = allow;
    switch (cors_handle(&ctx->app->config.cors, ctx->req, methods, ctx->res)) {
    case CORS_PREFLIGHT_OK:
        return true;
    case CORS_PREFLIGHT_REFUSED:
        respond_problem(ctx, PROBLEM_INTERDIT, CORS_REFUSED_DETAIL);
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

/* Fills ctx for a new request: request id from a valid X-Request-Id (1–128 of
 * [A-Za-z0-9._-]) or 16 random bytes in hex, echoed as a response header. */
static void request_ctx_begin(struct request_ctx *ctx, struct app *app, const struct route *route,
                              const struct _u_request *req, struct _u_response *res)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->app = app;
    ctx->req = req;
    ctx->res = res;
    ctx->route = route;
    clock_gettime(CLOCK_MONOTONIC, &ctx->start);
    const char *given = u_map_get_case(req->map_header, "X-Request-Id");
    if (request_id_is_valid(given))
        snprintf(ctx->request_id, sizeof ctx->request_id, "%s", given);
    else
        request_id_new(ctx->request_id);
    u_map_put(res->map_header, "X-Request-Id", ctx->request_id);
}

/* Writes the access line and the metrics of the finished request. */
static void request_ctx_end(struct request_ctx *ctx)
{
    free(ctx->idempotent_body); /* set without an Idempotency-Key: unused */
    ctx->idempotent_body = NULL;
    free(ctx->cached_answer);
    ctx->cached_answer = NULL;
    struct timespec end;
    clock_gettime(CLOCK_MONOTONIC, &end);
    double seconds =
        (double)(end.tv_sec - ctx->start.tv_sec) + (double)(end.tv_nsec - ctx->start.tv_nsec) / 1e9;
    size_t index = routes_index(ctx->route);
    metrics_observe(ctx->app->metrics, index, (int)ctx->res->status, seconds);
    struct log_access line = {
        ctx->request_id,
        ctx->req->http_verb,
        ctx->route ? routes_path(ctx->route) : "(aucune)",
        (int)ctx->res->status,
        seconds * 1000.0,
        ctx->has_problem ? problem_slug(ctx->problem) : NULL,
    };
    log_access(&line);
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
    return !cors_answered(c->ctx);
}

static bool step_authenticate(struct call *c)
{
    if (c->route->access == ROUTE_PUBLIC)
        return true;
    if (!auth_principal_or_reply(c->ctx, c->principal))
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
    return !respond_if_rate_limited(c->ctx, c->ctx->app->rate_principal, key);
}

static bool step_habilitation(struct call *c)
{
    if (c->route->access != ROUTE_HABILITATED || c->ctx->principal->has_habilitation)
        return true;
    respond_problem(c->ctx, PROBLEM_INTERDIT,
                    "Aucune habilitation en vigueur pour cette identité : "
                    "demandez-la à votre préfecture ou à l'ANCT.");
    return false;
}

/* Path and query parameters: valid UTF-8 without NUL or controls, no query
 * parameter named like a path one (api/query_params.h). */
static bool step_parameters(struct call *c)
{
    return query_params_or_reply(c->ctx);
}

/* GET, HEAD and DELETE take no body. */
static bool step_no_body_unless_expected(struct call *c)
{
    const char *m = c->route->method;
    bool takes_body = strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0;
    if (takes_body || !has_body(c->req))
        return true;
    if (!json_media_type_ok(u_map_get_case(c->req->map_header, "Content-Type"), false))
        respond_problem(c->ctx, PROBLEM_TYPE_MEDIA_NON_SUPPORTE,
                        "Seul application/json est accepté comme corps de requête.");
    else
        respond_problem(c->ctx, PROBLEM_REQUETE_INVALIDE,
                        "Cette route n'accepte pas de corps de requête.");
    return false;
}

/* The steps before the handler, in order. */
static const step_fn steps[] = {
    step_cors,         step_authenticate, step_rate_limit,
    step_habilitation, step_parameters,   step_no_body_unless_expected,
};

/* The last step: the route's handler, under its Idempotency-Key when the
 * route replays keys and the request has one; a CACHED route's answer from
 * the read cache when it holds one (api/cached_reads.h). */
static void step_handle(struct call *c)
{
    const char *key = u_map_get_case(c->req->map_header, "Idempotency-Key");
    if (key && c->route->key == ROUTE_KEY_REPLAYED) {
        idempotency_run(c->ctx, key);
        return;
    }
    struct cached_response cached;
    if (cached_response_begin(c->ctx, &cached))
        return;
    c->route->handler(c->ctx);
    cached_response_end(c->ctx, &cached);
}

/* One request for a row of the table, through the steps then the handler. */
static void dispatch_route(struct app *app, const struct route *route, const struct _u_request *req,
                           struct _u_response *res)
{
    struct request_ctx ctx;
    struct principal principal;
    struct call c = {route, req, res, &ctx, &principal};
    request_ctx_begin(&ctx, app, route, req, res);
    size_t i = 0;
    while (i < sizeof steps / sizeof steps[0] && steps[i](&c))
        i++;
    if (i == sizeof steps / sizeof steps[0])
        step_handle(&c);
    /* A write answered (whatever its outcome): before its answer leaves, this
     * replica's reads stop trusting a reading of the stamp older than it. */
    if (strcmp(route->method, "GET") != 0)
        db_freshness_written(app->freshness);
    http_encode_response(&ctx);
    request_ctx_end(&ctx);
}

/* A request no row serves: CORS preflights are answered for any path;
 * otherwise 405 with Allow for a known path, else 404. */
static void dispatch_unmatched(struct app *app, const struct _u_request *req,
                               struct _u_response *res)
{
    struct request_ctx ctx;
    char allow[128];
    request_ctx_begin(&ctx, app, NULL, req, res);
    if (cors_answered(&ctx)) {
        /* preflight: answered for any path; the actual request then gets its 404/405 */
    } else if (routes_allowed_methods(req->url_path, allow, sizeof allow)) {
        char detail[200];
        snprintf(detail, sizeof detail, "Méthode %.20s non autorisée ; méthodes permises : %s.",
                 req->http_verb, allow);
        respond_problem(&ctx, PROBLEM_METHODE_NON_AUTORISEE, detail);
        u_map_put(res->map_header, "Allow", allow);
    } else {
        respond_problem(&ctx, PROBLEM_ROUTE_INCONNUE, "Aucune route ne correspond à ce chemin.");
    }
    http_encode_response(&ctx);
    request_ctx_end(&ctx);
}

int pipeline_dispatch(const struct _u_request *req, struct _u_response *res, void *user_data)
{
    struct app *app = user_data;
    const struct route *route = routes_match(req->http_verb, req->url_path);
    if (route)
        dispatch_route(app, route, req, res);
    else
        dispatch_unmatched(app, req, res);
    return U_CALLBACK_COMPLETE;
}

bool pipeline_register(struct _u_instance *instance, struct app *app)
{
    size_t count;
    const struct route *routes = routes_table(&count);
    for (size_t i = 0; i < count; i++) {
        if (routes[i].access != ROUTE_PUBLIC && routes[i].action == NULL) {
            log_line(LOG_ERROR, NULL, "route non publique sans action déclarée", "route",
                     routes[i].path, (const char *)NULL);
            return false;
        }
        if (routes[i].key == ROUTE_KEY_REPLAYED &&
            (strcmp(routes[i].method, "POST") != 0 || routes[i].access == ROUTE_PUBLIC)) {
            log_line(LOG_ERROR, NULL, "Idempotency-Key rejouée hors d'un POST authentifié", "route",
                     routes[i].path, (const char *)NULL);
            return false;
        }
        if (routes[i].cache != ROUTE_CACHE_NONE &&
            (strcmp(routes[i].method, "GET") != 0 || routes[i].access == ROUTE_PUBLIC)) {
            log_line(LOG_ERROR, NULL, "cache de lecture hors d'un GET authentifié", "route",
                     routes[i].path, (const char *)NULL);
            return false;
        }
        if (!routes_reachable(&routes[i])) {
            log_line(LOG_ERROR, NULL, "route masquée par une ligne précédente de la table", "route",
                     routes[i].path, (const char *)NULL);
            return false;
        }
    }
    /* One catch-all endpoint: ulfius would otherwise split the template of
     * every registered endpoint of the method, allocating, on every request. */
    if (ulfius_add_endpoint_by_val(instance, "*", NULL, "*", 0, pipeline_dispatch, app) != U_OK) {
        log_line(LOG_ERROR, NULL, "enregistrement des routes impossible", (const char *)NULL);
        return false;
    }
    return true;
}
