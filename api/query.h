/* Query-string parameters: strict parsing that reports every bad parameter
 * with its name, and the collection envelope with keyset pagination. */
#ifndef PVD_API_QUERY_H
#define PVD_API_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <ulfius.h>

#include "cursor.h"
#include "problem.h"
#include "query_params.h"

#define QUERY_LIMIT_DEFAULT 50
#define QUERY_LIMIT_MAX     500

struct request_ctx;

/* The first value of the query parameter `name`, or NULL; borrowed from req.
 * Once query_params_or_reply passed, it is valid UTF-8 without NUL or
 * control character. Path parameters are read with query_path_param. */
const char *query_get(const struct _u_request *req, const char *name);

/* The value of the path parameter `name` of the matched route (":name" in
 * ctx->route->path, else a bug: aborts), decoded from the raw URL path by
 * query_params_or_reply; never a query parameter. Borrowed from req. */
const char *query_path_param(const struct request_ctx *ctx, const char *name);

/* The check every routed request passes before its handler (routes.c
 * dispatch, see query_params.h): true when every path and query parameter
 * is clean text and no query parameter has a path parameter's name; false
 * after a 400 parametre-invalide naming each bad parameter (code
 * caractere-invalide or parametre-inconnu) was sent. */
bool query_params_or_reply(struct request_ctx *ctx);

/* `limite`: absent → QUERY_LIMIT_DEFAULT; else an integer in 1..QUERY_LIMIT_MAX. */
void query_limit(const struct _u_request *req, size_t *out, struct field_errors *errs);

/* An optional integer in [min, max]; absent → -1. */
void query_int(const struct _u_request *req, const char *name, int64_t min, int64_t max,
               int64_t *out, struct field_errors *errs);

/* An optional string accepted by valid(); absent → NULL. `expected` describes
 * the format in the French error message. */
void query_code(const struct _u_request *req, const char *name, bool (*valid)(const char *),
                const char *expected, const char **out, struct field_errors *errs);

/* Collection envelope builder: {"elements":[…],"suivant":…,"total":…}. */
struct collection {
    char *buf;
    size_t len, cap;
    size_t count;
};
void collection_begin(struct collection *c);
/* Appends an already rendered JSON element (copied). */
void collection_add(struct collection *c, const char *json, size_t len);
/* Closes the envelope; next_cursor may be NULL. The caller sends c->buf and
 * frees it with collection_release. */
void collection_end(struct collection *c, const char *next_cursor, size_t total);
void collection_release(struct collection *c);

/* Sets `Link: <path?params&curseur=…>; rel="next"` from the request's own
 * parameters (values percent-encoded), replacing curseur. */
void query_set_next_link(const struct _u_request *req, struct _u_response *res,
                         const char *const *params, const char *next_cursor);

/* Decodes `curseur`, when present, for the list `scope` with these filters:
 * *after points into key (NULL without a cursor). False when a 400
 * curseur-invalide was sent. */
bool query_cursor_or_reply(struct request_ctx *ctx, const char *scope, uint32_t fingerprint,
                           char key[CURSOR_KEY_MAX + 1], const char **after);

/* query_cursor_or_reply for a list whose keys satisfy valid: a decoded key
 * that does not is also a 400 curseur-invalide (the same answer). */
bool query_keyed_cursor_or_reply(struct request_ctx *ctx, const char *scope, uint32_t fingerprint,
                                 bool (*valid)(const char *), char key[CURSOR_KEY_MAX + 1],
                                 const char **after);

/* The path parameter `id` of a single-object route, when no query parameter
 * is given and valid(id); otherwise a 400 parametre-invalide (pointer /id,
 * French `expected` message) was sent and NULL is returned. */
const char *query_id_or_reply(struct request_ctx *ctx, bool (*valid)(const char *),
                              const char *expected);

/* A UUID in its textual form, any letter case (NULL: false). */
bool query_is_uuid(const char *s);

/* false, with a 400 parametre-invalide listing errs ("Paramètres
 * invalides."), when errs holds any error; true otherwise. */
bool query_errors_or_reply(struct request_ctx *ctx, const struct field_errors *errs);

/* Sends {"elements": elements_json, "suivant": <cursor after last_key or null>,
 * "total": total} (200) and the Link header when more rows follow. total is
 * the number of elements of every page of the list with the same filters. */
void respond_page(struct request_ctx *ctx, const char *const *params, const char *elements_json,
                  const char *scope, uint32_t fingerprint, const char *last_key, bool more,
                  size_t total);

#endif
