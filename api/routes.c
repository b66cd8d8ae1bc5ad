/* The route table and its registration (see routes.h). */
#include "routes.h"

#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "cors.h"
#include "handlers/handlers.h"
#include "json_body.h"
#include "log.h"

/* clang-format off */
static const struct route routes[] = {
    /* method  path                              access             action       handler */
    {"GET",   "/healthz",                         ROUTE_PUBLIC,      NULL,        handle_get_healthz},
    {"GET",   "/readyz",                          ROUTE_PUBLIC,      NULL,        handle_get_readyz},
    {"GET",   "/metrics",                         ROUTE_PUBLIC,      NULL,        handle_get_metrics},
    {"GET",   "/api/v1/openapi.json",             ROUTE_PUBLIC,      NULL,        handle_get_openapi},
    {"GET",   "/api/v1/regions",                  ROUTE_PUBLIC,      NULL,        handle_list_regions},
    {"GET",   "/api/v1/departements",             ROUTE_PUBLIC,      NULL,        handle_list_departements},
    {"GET",   "/api/v1/communes",                 ROUTE_PUBLIC,      NULL,        handle_list_communes},
    {"GET",   "/api/v1/communes/:code_insee",     ROUTE_PUBLIC,      NULL,        handle_get_commune},
    {"GET",   "/api/v1/epci",                     ROUTE_PUBLIC,      NULL,        handle_list_epci},
    {"GET",   "/api/v1/epci/:siren",              ROUTE_PUBLIC,      NULL,        handle_get_epci},
    {"GET",   "/api/v1/moi",                      ROUTE_IDENTIFIED,  "moi.lire",  handle_get_moi},
    {"GET",   "/api/v1/habilitations",            ROUTE_HABILITATED, "habilitation.lire",     handle_list_habilitations},
    {"POST",  "/api/v1/habilitations",            ROUTE_HABILITATED, "habilitation.accorder", handle_create_habilitation},
    {"GET",   "/api/v1/habilitations/:id",        ROUTE_HABILITATED, "habilitation.lire",     handle_get_habilitation},
    {"DELETE","/api/v1/habilitations/:id",        ROUTE_HABILITATED, "habilitation.revoquer", handle_revoke_habilitation},
    {"GET",   "/api/v1/journal",                  ROUTE_HABILITATED, "journal.lire",          handle_list_journal},
    {"GET",   "/api/v1/clients",                  ROUTE_HABILITATED, "client.gerer",          handle_list_clients},
    {"POST",  "/api/v1/clients",                  ROUTE_HABILITATED, "client.gerer",          handle_create_client},
    {"GET",   "/api/v1/clients/:id",              ROUTE_HABILITATED, "client.gerer",          handle_get_client},
    {"DELETE","/api/v1/clients/:id",              ROUTE_HABILITATED, "client.gerer",          handle_revoke_client},
    {"POST",  "/api/v1/clients/:id/secret",       ROUTE_HABILITATED, "client.gerer",          handle_rotate_client_secret},
    {"POST",  "/api/v1/oauth/token",              ROUTE_PUBLIC,      NULL,                    handle_oauth_token},
    {"GET",   "/api/v1/.well-known/jwks.json",    ROUTE_PUBLIC,      NULL,                    handle_get_jwks},
};
/* clang-format on */
#define ROUTE_COUNT (sizeof routes / sizeof routes[0])

const struct route *routes_table(size_t *count)
{
    *count = ROUTE_COUNT;
    return routes;
}

size_t routes_index(const struct route *route)
{
    return route ? (size_t)(route - routes) : ROUTE_COUNT;
}

const char *routes_path(const struct route *route)
{
    return route->path;
}

/* Does the URL path match the template? ":x" matches one non-empty segment. */
static bool path_matches(const char *template, const char *path)
{
    while (*template && *path) {
        if (*template != '/' || *path != '/')
            return false;
        template ++;
        path++;
        const char *t_end = strchr(template, '/');
        const char *p_end = strchr(path, '/');
        size_t t_len = t_end ? (size_t)(t_end - template) : strlen(template);
        size_t p_len = p_end ? (size_t)(p_end - path) : strlen(path);
        if (template[0] == ':') {
            if (p_len == 0)
                return false;
        } else if (t_len != p_len || strncmp(template, path, t_len) != 0) {
            return false;
        }
        template += t_len;
        path += p_len;
    }
    /* A single trailing slash is tolerated, as ulfius does. */
    return *template == '\0' && (*path == '\0' || strcmp(path, "/") == 0);
}

bool routes_allowed_methods(const char *path, char *allow, size_t size)
{
    size_t len = 0;
    bool found = false;
    allow[0] = '\0';
    for (size_t i = 0; i < ROUTE_COUNT; i++) {
        if (!path_matches(routes[i].path, path))
            continue;
        if (strstr(allow, routes[i].method))
            continue;
        int n = snprintf(allow + len, size - len, "%s%s", found ? ", " : "", routes[i].method);
        if (n > 0 && (size_t)n < size - len)
            len += (size_t)n;
        if (strcmp(routes[i].method, "GET") == 0) {
            n = snprintf(allow + len, size - len, ", HEAD");
            if (n > 0 && (size_t)n < size - len)
                len += (size_t)n;
        }
        found = true;
    }
    return found;
}

struct binding {
    const struct route *route;
    struct app *app;
};

static struct binding bindings[ROUTE_COUNT];

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

static int dispatch(const struct _u_request *req, struct _u_response *res, void *user_data)
{
    const struct binding *b = user_data;
    struct request_ctx ctx;
    struct principal principal;
    request_ctx_begin(&ctx, b->app, b->route, req, res);
    if (cors_answered(&ctx, req, res))
        goto out;
    if (b->route->access != ROUTE_PUBLIC) {
        if (!auth_principal_or_reply(req, res, &ctx, &principal))
            goto out;
        ctx.principal = &principal;
        char key[RATE_LIMIT_KEY_MAX];
        principal_rate_key(&principal, key);
        if (respond_if_rate_limited(&ctx, req, res, b->app->rate_principal, key))
            goto out;
        if (b->route->access == ROUTE_HABILITATED && !principal.has_habilitation) {
            respond_problem(&ctx, req, res, PROBLEM_INTERDIT,
                            "Aucune habilitation en vigueur pour cette identité : "
                            "demandez-la à votre préfecture ou à l'ANCT.");
            goto out;
        }
    }
    bool takes_body = strcmp(b->route->method, "POST") == 0 ||
                      strcmp(b->route->method, "PUT") == 0 ||
                      strcmp(b->route->method, "PATCH") == 0;
    if (!takes_body && has_body(req)) {
        /* GET, HEAD and DELETE take no body. */
        if (!json_media_type_ok(u_map_get_case(req->map_header, "Content-Type")))
            respond_problem(&ctx, req, res, PROBLEM_TYPE_MEDIA_NON_SUPPORTE,
                            "Seul application/json est accepté comme corps de requête.");
        else
            respond_problem(&ctx, req, res, PROBLEM_REQUETE_INVALIDE,
                            "Cette route n'accepte pas de corps de requête.");
    } else {
        b->route->handler(req, res, &ctx);
    }
out:
    request_ctx_end(&ctx, req, res);
    return U_CALLBACK_COMPLETE;
}

static int unmatched(const struct _u_request *req, struct _u_response *res, void *user_data)
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

bool routes_register(struct _u_instance *instance, struct app *app)
{
    for (size_t i = 0; i < ROUTE_COUNT; i++) {
        if (routes[i].access != ROUTE_PUBLIC && routes[i].action == NULL) {
            log_line(LOG_ERROR, NULL, "route non publique sans action déclarée", "route",
                     routes[i].path, (const char *)NULL);
            return false;
        }
        bindings[i].route = &routes[i];
        bindings[i].app = app;
        if (ulfius_add_endpoint_by_val(instance, routes[i].method, NULL, routes[i].path, 0,
                                       dispatch, &bindings[i]) != U_OK) {
            log_line(LOG_ERROR, NULL, "enregistrement de route impossible", "route", routes[i].path,
                     (const char *)NULL);
            return false;
        }
        /* HEAD is answered as GET; MHD sends no body for HEAD. */
        if (strcmp(routes[i].method, "GET") == 0 &&
            ulfius_add_endpoint_by_val(instance, "HEAD", NULL, routes[i].path, 0, dispatch,
                                       &bindings[i]) != U_OK) {
            log_line(LOG_ERROR, NULL, "enregistrement de route impossible", "route", routes[i].path,
                     (const char *)NULL);
            return false;
        }
    }
    if (ulfius_set_default_endpoint(instance, unmatched, app) != U_OK) {
        log_line(LOG_ERROR, NULL, "point d'entrée par défaut impossible", (const char *)NULL);
        return false;
    }
    return true;
}

void routes_print(bool details)
{
    static const char *const access[] = {"public", "identifie", "habilite"};
    for (size_t i = 0; i < ROUTE_COUNT; i++) {
        if (details)
            printf("%s %s %s %s\n", routes[i].method, routes[i].path, access[routes[i].access],
                   routes[i].action ? routes[i].action : "-");
        else
            printf("%s %s\n", routes[i].method, routes[i].path);
    }
}
