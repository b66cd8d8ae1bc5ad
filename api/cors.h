/* CORS for the separate JS front end (Fetch standard, "CORS protocol").
 *
 * Policy:
 * - CORS_ALLOWED_ORIGINS is a comma-separated list of exact origins
 *   (scheme://host[:port], as browsers send them in Origin). Empty: no
 *   cross-origin browser access at all.
 * - A request whose Origin is listed gets Access-Control-Allow-Origin: <that
 *   origin> and the exposed headers. The origin is echoed from the
 *   configuration, never from the request.
 * - No Access-Control-Allow-Credentials: the front end authenticates with a
 *   bearer token in Authorization, not with cookies or TLS client
 *   certificates, so the browser never has to attach credentials.
 * - A preflight (OPTIONS + Origin + Access-Control-Request-Method) from a
 *   listed origin gets 204 with the allowed methods and headers; from any
 *   other origin 403 problem+json (code "interdit") without ACAO. An OPTIONS
 *   lacking either header is no preflight: the router answers it (405).
 * - Unlisted or absent Origin: no Access-Control-* header. But when origins
 *   are configured, every response carries Vary: Origin, since the answer
 *   depends on Origin: a shared cache must not give the response fetched
 *   without Origin (or from another origin) to a listed origin (Fetch
 *   standard, "CORS protocol and HTTP caches").
 *
 * The decision functions take plain strings and fill a list of headers to
 * add: they are used by the router (ulfius), by the server's gate (raw
 * libmicrohttpd, 413/414), and by the unit tests. */
#ifndef PVD_API_CORS_H
#define PVD_API_CORS_H

#include <stdbool.h>
#include <stddef.h>

/* Configuration capacity: at most this many origins, each shorter than
 * CORS_ORIGIN_MAX bytes ("https://" + a 253-byte host + ":65535"). */
#define CORS_MAX_ORIGINS 32
#define CORS_ORIGIN_MAX  272

/* The fixed values sent (public contract, also listed in the README). A
 * preflight's Access-Control-Allow-Methods is not fixed: it lists the methods
 * routed for the requested path (cors_decide). */
#define CORS_ALLOW_HEADERS                                                                         \
    "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key, X-Request-Id"
#define CORS_EXPOSE_HEADERS                                                                        \
    "ETag, Location, X-Request-Id, Link, Retry-After, Idempotent-Replayed, WWW-Authenticate"
#define CORS_MAX_AGE "600"
/* The detail of the 403 answered to a refused preflight (the origin is not
 * echoed: it is client-controlled and may not be UTF-8). */
#define CORS_REFUSED_DETAIL                                                                        \
    "Cette origine n'est pas autorisée à appeler l'API depuis un navigateur."

struct cors_config {
    size_t count;
    char origins[CORS_MAX_ORIGINS][CORS_ORIGIN_MAX];
};

/* Parses a CORS_ALLOWED_ORIGINS value into *config. NULL, "" or blanks only:
 * no origin (count 0). Entries are separated by commas, spaces and tabs
 * around them are ignored, duplicates are kept once. Each entry must be
 * "http" or "https", "://", a lower-case host (DNS name, IPv4, or [IPv6];
 * an IDN in its xn-- form) and an optional port 1-65535 other than the
 * scheme's default (browsers leave it out of Origin, so it could never
 * match); nothing else: no path, no trailing slash, no query, no user, no
 * wildcard. On a bad entry returns false, leaves count 0 and writes into
 * error (error_size bytes, always NUL-terminated when error_size > 0) a
 * French message naming the entry. */
bool cors_config_parse(struct cors_config *config, const char *list, char *error,
                       size_t error_size);

/* The listed origin equal to origin (exact, case-sensitive byte comparison),
 * or NULL. The returned string lives as long as config. */
const char *cors_origin_find(const struct cors_config *config, const char *origin);

/* Headers to add to one response. Names and values point to constants or
 * into the configuration: valid as long as config, never into the request. */
#define CORS_HEADERS_MAX 5
struct cors_header {
    const char *name;
    const char *value;
};
struct cors_headers {
    size_t count;
    struct cors_header items[CORS_HEADERS_MAX];
};

/* For a request that is not a preflight: origin is the request's Origin
 * header (NULL when absent). Fills out with
 * - listed origin: Access-Control-Allow-Origin, Access-Control-Expose-Headers,
 *   Vary: Origin;
 * - other or absent origin: Vary: Origin only;
 * - no origin configured: nothing. */
void cors_apply(const struct cors_config *config, const char *origin, struct cors_headers *out);

enum cors_action {
    CORS_CONTINUE,          /* not a preflight: route the request, add out's headers */
    CORS_PREFLIGHT_OK,      /* answer 204, empty body, with out's headers */
    CORS_PREFLIGHT_REFUSED, /* answer 403 problem "interdit" (CORS_REFUSED_DETAIL) + out */
};

/* Decides for any request: method is the HTTP method, origin and
 * request_method the Origin and Access-Control-Request-Method headers (NULL
 * when absent); allow_methods the methods routed for the request's path
 * ("GET, HEAD, POST", routes_allowed_methods) or NULL when no route has the
 * path. A preflight is OPTIONS with both headers present. Fills out with the
 * headers to add in every case (CORS_CONTINUE: those of cors_apply;
 * PREFLIGHT_OK: Allow-Origin, Allow-Methods (allow_methods, left out when
 * NULL: no method is announced that no route has), Allow-Headers, Max-Age,
 * Vary; PREFLIGHT_REFUSED: Vary only, never Allow-Origin). The strings in out
 * point into config, allow_methods or constants. */
enum cors_action cors_decide(const struct cors_config *config, const char *method,
                             const char *origin, const char *request_method,
                             const char *allow_methods, struct cors_headers *out);

/* Thin ulfius helper for the router: reads Origin and
 * Access-Control-Request-Method from req, calls cors_decide (with
 * allow_methods) and puts the headers into res (a Vary already present is
 * extended, not replaced).
 * For CORS_PREFLIGHT_OK it also sets status 204 and an empty body; for
 * CORS_PREFLIGHT_REFUSED the caller sends the 403 problem. */
struct _u_request;
struct _u_response;
enum cors_action cors_handle(const struct cors_config *config, const struct _u_request *req,
                             const char *allow_methods, struct _u_response *res);

#endif
