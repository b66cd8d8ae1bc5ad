/* THE route table: every HTTP route of the service in one place, with its
 * access rule, action, handler, Idempotency-Key handling and read cache;
 * nothing else.
 * The request pipeline (api/pipeline.h) routes every request through it
 * (routes_match); the 404/405 answers, the metrics and the OpenAPI
 * cross-check derive from it. */
#ifndef PVD_API_ROUTES_H
#define PVD_API_ROUTES_H

#include <stdbool.h>
#include <stddef.h>
#include <ulfius.h>

struct app;
struct request_ctx;

enum route_access {
    ROUTE_PUBLIC,      /* open data and service endpoints: no credentials */
    ROUTE_IDENTIFIED,  /* a valid bearer token; no habilitation needed (/moi) */
    ROUTE_HABILITATED, /* a valid token and a habilitation in force, else 403 */
};

enum route_key {
    ROUTE_KEY_IGNORED,  /* Idempotency-Key not honoured */
    ROUTE_KEY_REPLAYED, /* authenticated POST: first response stored and replayed */
};

enum route_cache {
    ROUTE_CACHE_NONE,      /* every answer computed */
    ROUTE_CACHE_PRIMARY,   /* authenticated GET reading the primary: its 200 may be cached */
    ROUTE_CACHE_READ_POOL, /* the same, reading app_read_pool: cached only without a read
                            * replica (the replica may lag behind the stamp's primary) */
};

/* A route's handler: answers ctx->req through ctx->res (api/http.h helpers). */
typedef void (*route_handler)(struct request_ctx *ctx);

struct route {
    const char *method;
    const char *path; /* ulfius format: /api/v1/communes/:code_insee */
    enum route_access access;
    const char *action; /* what the route does, for authorization and audit; NULL only
                         * for public routes (registration refuses otherwise) */
    route_handler handler;
    enum route_key key;     /* Idempotency-Key handling (registration checks it) */
    enum route_cache cache; /* read cache (registration checks: authenticated GET only) */
};

/* The table and its size. */
const struct route *routes_table(size_t *count);
/* Position of route in the table; the table size for NULL (unmatched). */
size_t routes_index(const struct route *route);
const char *routes_path(const struct route *route);

/* The row serving method on path (the URL path, without its query), NULL
 * when none: the first row, in table order, whose method is method
 * (compared without case, as ulfius did; HEAD is served by the GET row)
 * and whose template matches path segment by segment — empty segments
 * skipped, ":name" matching any one segment. No allocation; never fails. */
const struct route *routes_match(const char *method, const char *path);

/* True when a request for route's own template (each parameter given a
 * value) is matched to route itself, i.e. no earlier row shadows it. */
bool routes_reachable(const struct route *route);

/* Writes "GET, HEAD" style list of the methods routed for path into allow
 * (size bytes); returns false when no route has this path. */
bool routes_allowed_methods(const char *path, char *allow, size_t size);

/* Prints "METHOD path" per line (for the OpenAPI cross-check); with
 * details, also the access level and the action. */
void routes_print(bool details);

#endif
