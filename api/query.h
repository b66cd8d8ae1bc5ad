/* Query-string parameters: strict parsing that reports every bad parameter
 * with its name, and the collection envelope with keyset pagination. */
#ifndef PVD_API_QUERY_H
#define PVD_API_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <ulfius.h>

#include "../db/list_sync.h"
#include "cursor.h"
#include "problem.h"
#include "query_params.h"

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
 * query parameters that spec declares (values percent-encoded): the filters
 * in spec order, then limite, then the new cursor under the name of spec's
 * QUERY_CURSOR field ("curseur" when it has none). */
void query_set_next_link(const struct _u_request *req, struct _u_response *res,
                         const struct query_field *spec, const char *next_cursor);

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

/* A version number as the key of a versions cursor: 1 to 9 digits (a
 * cursor is not signed: anything else is refused). */
bool query_version_key_valid(const char *key);

/* The path parameter `name` of a route ".../versions/:name" as a version
 * number 1..100000 (decimal, no sign nor leading zero) into *out; otherwise
 * a 400 parametre-invalide (pointer /<name>, format-invalide) was sent and
 * false is returned. */
bool query_version_or_reply(struct request_ctx *ctx, const char *name, long *out);

/* A UUID in its textual form, any letter case (NULL: false). */
bool query_is_uuid(const char *s);

/* "true" or "false", exactly (NULL: false): a QUERY_CODE filter whose
 * absence means "no filter", where QUERY_BOOL would read it as false. */
bool query_is_bool_text(const char *s);

/* An RFC 3339 instant: YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM), a real
 * date and time (NULL: false). */
bool query_is_instant(const char *s);

/* ---- Reading a list by modification (issue #11 §1) ------------------------
 * Every list whose objects carry `modifie_le` declares QUERY_SYNC_FIELDS in
 * its query spec: `modifie_depuis` (an RFC 3339 instant; the elements whose
 * modifie_le is at or after it) and `tri` (`modifie_le`, `-modifie_le`;
 * absent: the list's own order by id). The repository builds its SQL with
 * db/list_sync.h. */
struct query_sync {
    const char *modifie_depuis, *tri; /* NULL when absent */
};

/* "modifie_le" or "-modifie_le" (NULL: false). */
bool query_is_tri_modifie(const char *s);

/* `modifie_depuis` and `tri` into type's struct query_sync member. */
#define QUERY_SYNC_FIELDS(type, member)                                                            \
    QUERY_CODE_FIELD("modifie_depuis", offsetof(type, member.modifie_depuis), query_is_instant,    \
                     "un instant RFC 3339 (2026-03-01T08:00:00Z, 2026-03-01T09:00:00+01:00)"),     \
        QUERY_CODE_FIELD("tri", offsetof(type, member.tri), query_is_tri_modifie,                  \
                         "modifie_le ou -modifie_le")

/* The repository's view of q. */
struct list_sync query_sync_list(const struct query_sync *q);

/* query_keyed_cursor_or_reply for a list with QUERY_SYNC_FIELDS: the cursor
 * is bound to the filters (fingerprint), to `modifie_depuis` and to `tri`
 * (another tri or instant is a 400 curseur-invalide), and its key is of the
 * tri's shape (list_sync.h; valid_id checks the id). *fp_out is the
 * fingerprint to give respond_page. False when the 400 was sent. */
bool query_sync_cursor_or_reply(struct request_ctx *ctx, const char *scope, uint32_t fingerprint,
                                const struct query_sync *q, bool (*valid_id)(const char *),
                                char key[CURSOR_KEY_MAX + 1], const char **after, uint32_t *fp_out);

/* query_spec_apply (query_params.h) of the route's spec to the request's
 * query into target; false after a 400 parametre-invalide ("Paramètres
 * invalides.") listing every error. */
bool query_or_reply(struct request_ctx *ctx, const struct query_field *spec, void *target);

/* false, with a 400 parametre-invalide listing errs ("Paramètres
 * invalides."), when errs holds any error; true otherwise. */
bool query_errors_or_reply(struct request_ctx *ctx, const struct field_errors *errs);

/* Sends {"elements": elements_json, "suivant": <cursor after last_key or null>,
 * "total": total} (200) and the Link header (query_set_next_link with the
 * route's spec) when more rows follow. total is the number of elements of
 * every page of the list with the same filters. The page carries a strong
 * ETag of its body; a request whose If-None-Match lists it gets 304 with no
 * body (RFC 9110 §13.1.2), with the same ETag and Link. */
void respond_page(struct request_ctx *ctx, const struct query_field *spec,
                  const char *elements_json, const char *scope, uint32_t fingerprint,
                  const char *last_key, bool more, size_t total);

/* Sends a list page's body (JSON, len bytes) as respond_page does: 200 with
 * a strong ETag of the body, or 304 with no body when If-None-Match lists
 * it. For the lists that build their envelope themselves (collection). */
void respond_list_body(struct request_ctx *ctx, const char *body, size_t len);

#endif
