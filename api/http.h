/* Per-request state and the response helpers every handler uses. A handler
 * always answers through these and returns; ulfius' own error bodies are
 * never sent. */
#ifndef PVD_API_HTTP_H
#define PVD_API_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <ulfius.h>

#include "app.h"
#include "problem.h"

struct route;
struct principal;
struct mutation_idempotence;

/* One request being served: every handler and response helper takes it
 * first, and reads the request and writes the response through it. */
struct request_ctx {
    struct app *app;
    const struct _u_request *req;      /* the request (ulfius), valid for the call */
    struct _u_response *res;           /* the response being built (ulfius) */
    const struct route *route;         /* NULL when no route matched */
    const struct principal *principal; /* authenticated caller, NULL on public routes */
    /* The request's Idempotency-Key claim, given to its mutation through
     * auth_journal_actor; NULL when the request has none (api/routes.c). */
    struct mutation_idempotence *idempotence;
    /* Set by a handler whose answer holds a secret shown once (a webhook
     * subscription's creation): the body stored for replays of its
     * Idempotency-Key instead of the one sent (owned; freed by
     * idempotency_run). NULL: the body sent. */
    char *idempotent_body;
    char request_id[129];
    struct timespec start;
    enum problem_code problem; /* the problem sent, valid when has_problem */
    bool has_problem;
    /* Set by respond_conditional when it answers 304: the Content-Type and the
     * body length of the 200 the 304 stands for, so that http_encode_response
     * gives the 304 that 200's Vary and ETag (RFC 9110 §15.4.5). */
    const char *not_modified_type;
    size_t not_modified_length;
    /* The gzip form of the body, when the handler has it already (static storage,
     * e.g. the documentation page compressed at build time): http_encode_response
     * sends it instead of compressing, whatever the Content-Type. NULL: none. */
    const unsigned char *gzip_variant;
    size_t gzip_variant_len;
    /* The database's stamp read for this request after it arrived (api/cached_reads.h),
     * once: valid when stamp_read; 0 when it could not be read (nothing cached used). */
    bool stamp_read;
    uint64_t stamp;
    /* The stored answer replayed from the read cache (owned; freed at the end of the
     * request: the 304's not_modified_type points into it). NULL: none. */
    char *cached_answer;
};

/* Fills buf (33 bytes at least) with a fresh request id: 32 hex digits. */
void request_id_new(char buf[33]);
/* True when s is acceptable as a client-given request id. */
bool request_id_is_valid(const char *s);

/* 2xx/3xx JSON bodies. respond_json_new steals body. */
void respond_json_new(struct _u_response *res, int status, json_t *body);
/* Sends bytes already rendered as JSON (copied). */
void respond_json_raw(struct _u_response *res, int status, const char *json, size_t len);
void respond_text(struct _u_response *res, int status, const char *content_type, const char *text,
                  size_t len);

/* A problem+json answer; detail may be NULL (the title is used). */
void respond_problem(struct request_ctx *ctx, enum problem_code code, const char *detail);
void respond_problem_fields(struct request_ctx *ctx, enum problem_code code, const char *detail,
                            const struct field_errors *errors);
/* Same, with the programme rule ("R5") the problem is about (rule may be NULL). */
void respond_problem_rule(struct request_ctx *ctx, enum problem_code code, const char *rule,
                          const char *detail, const struct field_errors *errors);
/* Takes a token from key's bucket (api/rate_limit.h, monotonic clock); when
 * there is none, answers 429 trop-de-requetes with Retry-After (whole
 * seconds) and returns true. */
struct rate_limiter;
bool respond_if_rate_limited(struct request_ctx *ctx, struct rate_limiter *limiter,
                             const char *key);

/* What one call answers for the database outcomes it expects: the French
 * details are data of the call. A NULL member means the outcome is not
 * expected there (a bug: 500). */
struct db_answers {
    const char *not_found;                        /* DB_NOT_FOUND: 404 ressource-introuvable */
    const char *conflict;                         /* DB_CONFLICT: 409 conflit */
    const char *conflict_pointer, *conflict_code; /* with conflict: one field error
                                                   * (pointer, code) in the 409 (NULL: none) */
    const char *stale;                            /* DB_STALE: 412 precondition-echouee */
    const char *stale_etag; /* with stale: the current ETag, sent in the 412's ETag header
                             * (NULL: none) */
};

/* The one mapping of database outcomes to HTTP. true when r is DB_OK
 * (nothing sent); otherwise false after sending: for DB_NOT_FOUND,
 * DB_CONFLICT and DB_STALE the answer `a` names (a may be NULL);
 * DB_UNAVAILABLE 503 service-indisponible with Retry-After; anything else,
 * or an outcome `a` does not name, 500 erreur-interne (a bug: logged with
 * its SQLSTATE). */
bool respond_db_outcome(struct request_ctx *ctx, enum db_result r, const struct db_error *err,
                        const struct db_answers *a);

/* respond_db_outcome(ctx, r, err, NULL), for an r that is not DB_OK. */
void respond_db_error(struct request_ctx *ctx, enum db_result r, const struct db_error *err);

/* respond_db_outcome with only a 404 (not_found_detail) expected. */
bool respond_lookup_or_reply(struct request_ctx *ctx, enum db_result r, const struct db_error *err,
                             const char *not_found_detail);

/* 503 service-indisponible with Retry-After. */
void respond_unavailable(struct request_ctx *ctx, const char *detail);

/* Reads the request body as one strict JSON object (api/json_body.h) into
 * *out (owned by the caller). false: a problem (415, 413, 400) was sent. */
bool json_body_read_or_reply(struct request_ctx *ctx, json_t **out);

/* 400 champs-invalides ("Le corps de la requête contient des champs
 * invalides.") listing errs. */
void respond_invalid_body(struct request_ctx *ctx, const struct field_errors *errs);

/* false, with respond_invalid_body, when errs holds any error; true
 * otherwise. */
bool body_errors_or_reply(struct request_ctx *ctx, const struct field_errors *errs);

/* Strong ETag ("…", 16 hex digits of FNV-1a 64) of a representation. */
void http_etag(const char *json, size_t len, char out[24]);
/* The same in steps, for a text held in pieces: h = HTTP_ETAG_SEED, then
 * h = http_etag_hash(h, piece, n) over the pieces in order, then
 * http_etag_format(h, out) writes what http_etag of the whole text writes. */
#define HTTP_ETAG_SEED 1469598103934665603ull
uint64_t http_etag_hash(uint64_t h, const char *bytes, size_t len);
void http_etag_format(uint64_t h, char out[24]);

/* If-Match for PATCH, DELETE and transitions: true when it lists etag (or
 * "*"), in its identity form or in its gzip variant's (etag with
 * CONTENT_CODING_ETAG_SUFFIX, as http_encode_response sends it: both name the
 * same state of the resource); otherwise 428 (absent) or 412 (stale) was
 * sent. If-None-Match (respond_conditional) accepts both forms the same way. */
bool if_match_or_reply(struct request_ctx *ctx, const char *etag);

/* A single object written or read for a write: its ETag (http_etag of
 * json) and json with `status`. */
void respond_json_etag(struct _u_response *res, int status, const char *json);

/* Location: prefix followed by id (e.g. "/api/v1/organisations/", uuid). */
void http_set_location(struct _u_response *res, const char *prefix, const char *id);

/* Single-object conditional GET: sets ETag and answers 304 (true) when
 * If-None-Match matches; otherwise sends the JSON with 200 (false). */
bool respond_conditional_json(struct request_ctx *ctx, const char *json, size_t len,
                              const char *etag);

/* The same for a body of any content_type (a static constant string). */
bool respond_conditional(struct request_ctx *ctx, const char *content_type, const char *body,
                         size_t len, const char *etag);

/* Appends token to the response's Vary header (created when absent; kept
 * once when already listed, any case). */
void http_vary_add(struct _u_response *res, const char *token);

/* The response path's content coding, called once per request after the
 * handler (api/pipeline.c): an answer whose Content-Type is JSON
 * (content_coding_compressible) or that has a ctx->gzip_variant, or a 304
 * standing for one, gets `Vary: Accept-Encoding`; when its identity body is over
 * CONTENT_CODING_MIN_BYTES and the request's Accept-Encoding prefers gzip
 * (content_coding_accepts_gzip), the body is replaced by its gzip form
 * (ctx->gzip_variant when set, else compressed here) with
 * `Content-Encoding: gzip` and a strong ETag gets the "-gzip" suffix inside
 * its quotes (a 304 gets the suffix on the same conditions, from the length
 * respond_conditional recorded). Streamed answers and other types are left
 * as they are. HEAD is treated as GET (same headers, Content-Length of the
 * body a GET would get). When zlib fails the identity answer is sent. */
void http_encode_response(struct request_ctx *ctx);

/* A single object with its ETag: a GET answered 200 goes through
 * respond_conditional_json (304 on If-None-Match); any other method or
 * status sends json with `status` and the ETag header. */
void respond_representation(struct request_ctx *ctx, int status, const char *json, size_t len,
                            const char *etag);

/* respond_representation of obj (taken: decref'd here) serialized
 * compactly; 500 erreur-interne when it cannot be serialized. */
void respond_object_representation(struct request_ctx *ctx, int status, json_t *obj,
                                   const char *etag);

#endif
