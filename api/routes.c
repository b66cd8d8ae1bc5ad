/* The route table and its registration (see routes.h). */
#include "routes.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "../db/idempotence_repository.h"
#include "cors.h"
#include "handlers/handlers.h"
#include "json_body.h"
#include "log.h"
#include "xalloc.h"

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
    {"GET",   "/api/v1/conventions",              ROUTE_HABILITATED, "convention.lire",       handle_list_conventions},
    {"POST",  "/api/v1/conventions",              ROUTE_HABILITATED, "convention.ecrire",     handle_create_convention},
    {"GET",   "/api/v1/conventions/:id",          ROUTE_HABILITATED, "convention.lire",       handle_get_convention},
    {"PATCH", "/api/v1/conventions/:id",          ROUTE_HABILITATED, "convention.ecrire",     handle_update_convention},
    {"POST",  "/api/v1/conventions/:id/signatures", ROUTE_HABILITATED, "convention.signer",   handle_sign_convention},
    {"POST",  "/api/v1/conventions/:id/transitions", ROUTE_HABILITATED, "convention.transition", handle_transition_convention},
    {"POST",  "/api/v1/conventions/:id/avenants", ROUTE_HABILITATED, "convention.ecrire",     handle_create_avenant},
    {"GET",   "/api/v1/conventions/:id/versions", ROUTE_HABILITATED, "convention.lire",       handle_list_convention_versions},
    {"GET",   "/api/v1/conventions/:id/versions/:numero", ROUTE_HABILITATED, "convention.lire", handle_get_convention_version},
    {"GET",   "/api/v1/statistiques/conventions", ROUTE_HABILITATED, "statistiques.lire",     handle_get_statistiques_conventions},
    {"POST",  "/api/v1/oauth/token",              ROUTE_PUBLIC,      NULL,                    handle_oauth_token},
    {"GET",   "/api/v1/.well-known/jwks.json",    ROUTE_PUBLIC,      NULL,                    handle_get_jwks},
    /* Projet de territoire and comité de projet (issue 4 §3): axes.c, comites.c */
    {"GET",   "/api/v1/territoires/:id_pvd/axes-strategiques", ROUTE_HABILITATED, "projet.lire",   handle_list_axes},
    {"POST",  "/api/v1/territoires/:id_pvd/axes-strategiques", ROUTE_HABILITATED, "projet.ecrire", handle_create_axe},
    {"GET",   "/api/v1/axes-strategiques/:id",                 ROUTE_HABILITATED, "projet.lire",   handle_get_axe},
    {"PATCH", "/api/v1/axes-strategiques/:id",                 ROUTE_HABILITATED, "projet.ecrire", handle_update_axe},
    {"DELETE","/api/v1/axes-strategiques/:id",                 ROUTE_HABILITATED, "projet.ecrire", handle_delete_axe},
    {"GET",   "/api/v1/axes-strategiques/:id/indicateurs",     ROUTE_HABILITATED, "projet.lire",   handle_list_indicateurs},
    {"POST",  "/api/v1/axes-strategiques/:id/indicateurs",     ROUTE_HABILITATED, "projet.ecrire", handle_create_indicateur},
    {"GET",   "/api/v1/indicateurs/:id",                       ROUTE_HABILITATED, "projet.lire",   handle_get_indicateur},
    {"PATCH", "/api/v1/indicateurs/:id",                       ROUTE_HABILITATED, "projet.ecrire", handle_update_indicateur},
    {"DELETE","/api/v1/indicateurs/:id",                       ROUTE_HABILITATED, "projet.ecrire", handle_delete_indicateur},
    {"GET",   "/api/v1/indicateurs/:id/mesures",               ROUTE_HABILITATED, "projet.lire",   handle_list_mesures},
    {"POST",  "/api/v1/indicateurs/:id/mesures",               ROUTE_HABILITATED, "projet.ecrire", handle_create_mesure},
    {"GET",   "/api/v1/comites",                               ROUTE_HABILITATED, "projet.lire",   handle_list_comites},
    {"POST",  "/api/v1/comites",                               ROUTE_HABILITATED, "projet.ecrire", handle_create_comite},
    {"GET",   "/api/v1/comites/:id",                           ROUTE_HABILITATED, "projet.lire",   handle_get_comite},
    {"PATCH", "/api/v1/comites/:id",                           ROUTE_HABILITATED, "projet.ecrire", handle_update_comite},
    {"GET",   "/api/v1/comites/:id/seances",                   ROUTE_HABILITATED, "projet.lire",   handle_list_seances},
    {"POST",  "/api/v1/comites/:id/seances",                   ROUTE_HABILITATED, "projet.ecrire", handle_create_seance},
    {"GET",   "/api/v1/seances/:id",                           ROUTE_HABILITATED, "projet.lire",   handle_get_seance},
    {"PATCH", "/api/v1/seances/:id",                           ROUTE_HABILITATED, "projet.ecrire", handle_update_seance},
    {"GET",   "/api/v1/seances/:id/decisions",                 ROUTE_HABILITATED, "projet.lire",   handle_list_decisions},
    {"POST",  "/api/v1/seances/:id/decisions",                 ROUTE_HABILITATED, "projet.ecrire", handle_create_decision},
    /* Issue 4 §1: organisations and territoires PVD */
    {"GET",   "/api/v1/organisations",            ROUTE_PUBLIC,      NULL,                    handle_list_organisations},
    {"POST",  "/api/v1/organisations",            ROUTE_HABILITATED, "organisation.ecrire",   handle_create_organisation},
    {"GET",   "/api/v1/organisations/:id",        ROUTE_PUBLIC,      NULL,                    handle_get_organisation},
    {"PATCH", "/api/v1/organisations/:id",        ROUTE_HABILITATED, "organisation.ecrire",   handle_patch_organisation},
    {"GET",   "/api/v1/territoires",              ROUTE_PUBLIC,      NULL,                    handle_list_territoires},
    {"POST",  "/api/v1/territoires",              ROUTE_HABILITATED, "territoire.ecrire",     handle_create_territoire},
    {"POST",  "/api/v1/territoires/import",       ROUTE_HABILITATED, "territoire.ecrire",     handle_import_territoires},
    {"GET",   "/api/v1/territoires/:id_pvd",      ROUTE_PUBLIC,      NULL,                    handle_get_territoire},
    {"PATCH", "/api/v1/territoires/:id_pvd",      ROUTE_HABILITATED, "territoire.ecrire",     handle_patch_territoire},
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

/* POST routes whose first response is replayed for a repeated Idempotency-Key
 * (api.md). Not the client routes: their responses hold a secret, which must
 * never be stored. */
static bool replayable(const struct route *r)
{
    return strcmp(r->method, "POST") == 0 && r->access != ROUTE_PUBLIC && r->action &&
           strncmp(r->action, "client.", 7) != 0;
}

static bool idempotency_key_is_valid(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > 255)
        return false;
    for (size_t i = 0; i < n; i++)
        if (k[i] < 0x21 || k[i] > 0x7e)
            return false;
    return true;
}

/* Hex SHA-256 of method, path and body: "the same request". */
static void request_fingerprint(const struct _u_request *req, char out[65])
{
    unsigned char digest[32];
    unsigned len = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (md == NULL || !EVP_DigestInit_ex(md, EVP_sha256(), NULL) ||
        !EVP_DigestUpdate(md, req->http_verb, strlen(req->http_verb)) ||
        !EVP_DigestUpdate(md, "\n", 1) ||
        !EVP_DigestUpdate(md, req->url_path, strlen(req->url_path)) ||
        !EVP_DigestUpdate(md, "\n", 1) ||
        (req->binary_body_length &&
         !EVP_DigestUpdate(md, req->binary_body, req->binary_body_length)) ||
        !EVP_DigestFinal_ex(md, digest, &len))
        die_bug("SHA-256 failed");
    EVP_MD_CTX_free(md);
    for (size_t i = 0; i < sizeof digest; i++)
        snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

/* Runs the handler under an Idempotency-Key: the first response is stored and
 * replayed for the same caller, key and request within 24 hours; the same key
 * with another request is 422; a repeat while the first runs is 409. */
static void run_idempotent(const struct binding *b, const struct _u_request *req,
                           struct _u_response *res, struct request_ctx *ctx, const char *key)
{
    struct app *app = b->app;
    char fingerprint[65];
    struct idempotence_response stored;
    enum idempotence_claim claim;
    struct db_error err = {{0}, {0}};
    if (!idempotency_key_is_valid(key)) {
        respond_problem(ctx, req, res, PROBLEM_REQUETE_INVALIDE,
                        "En-tête Idempotency-Key : 1 à 255 caractères ASCII visibles.");
        return;
    }
    request_fingerprint(req, fingerprint);
    const char *caller = ctx->principal->acteur;
    if (idempotence_claim(app->pool, caller, key, fingerprint, &claim, &stored, &err) != DB_OK) {
        respond_unavailable(ctx, req, res, "Base de données indisponible.");
        return;
    }
    switch (claim) {
    case IDEMPOTENCE_REPLAY:
        ulfius_set_binary_body_response(res, (unsigned)stored.status,
                                        stored.body ? stored.body : "",
                                        stored.body ? strlen(stored.body) : 0);
        if (stored.content_type)
            u_map_put(res->map_header, "Content-Type", stored.content_type);
        if (stored.location)
            u_map_put(res->map_header, "Location", stored.location);
        if (stored.etag)
            u_map_put(res->map_header, "ETag", stored.etag);
        u_map_put(res->map_header, "Idempotent-Replayed", "true");
        idempotence_response_release(&stored);
        return;
    case IDEMPOTENCE_MISMATCH:
        respond_problem(ctx, req, res, PROBLEM_CLE_IDEMPOTENCE_REUTILISEE,
                        "Cette clé d'idempotence a déjà servi pour une autre requête.");
        return;
    case IDEMPOTENCE_RUNNING:
        respond_problem(ctx, req, res, PROBLEM_CONFLIT,
                        "La requête d'origine de cette clé d'idempotence est encore en cours.");
        return;
    case IDEMPOTENCE_NEW:
        break;
    }
    b->route->handler(req, res, ctx);
    if (res->status >= 500) {
        idempotence_finish(app->pool, caller, key, NULL, &err);
        return;
    }
    char *body = xmalloc(res->binary_body_length + 1);
    memcpy(body, res->binary_body ? res->binary_body : "", res->binary_body_length);
    body[res->binary_body_length] = '\0';
    struct idempotence_response response = {
        (int)res->status, (char *)u_map_get_case(res->map_header, "Content-Type"), body,
        (char *)u_map_get_case(res->map_header, "Location"),
        (char *)u_map_get_case(res->map_header, "ETag")};
    if (idempotence_finish(app->pool, caller, key, &response, &err) != DB_OK)
        log_line(LOG_WARN, ctx->request_id, "réponse idempotente non enregistrée", "erreur",
                 err.message, (const char *)NULL);
    free(body);
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
        if (!json_media_type_ok(u_map_get_case(req->map_header, "Content-Type"), false))
            respond_problem(&ctx, req, res, PROBLEM_TYPE_MEDIA_NON_SUPPORTE,
                            "Seul application/json est accepté comme corps de requête.");
        else
            respond_problem(&ctx, req, res, PROBLEM_REQUETE_INVALIDE,
                            "Cette route n'accepte pas de corps de requête.");
    } else {
        const char *key = u_map_get_case(req->map_header, "Idempotency-Key");
        if (key && replayable(b->route))
            run_idempotent(b, req, res, &ctx, key);
        else
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
