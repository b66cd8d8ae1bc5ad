/* Request context and response helpers (see http.h). */
#define _POSIX_C_SOURCE 200809L
#include "http.h"

#include <openssl/rand.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "content_coding.h"
#include "json_body.h"
#include "log.h"
#include "rate_limit.h"
#include "xalloc.h"

bool request_id_is_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 128)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

/* 8 random bytes drawn once per thread, then a per-thread counter: unique and
 * unguessable enough for correlation, without a system call per request. */
void request_id_new(char buf[33])
{
    static _Thread_local unsigned char prefix[8];
    static _Thread_local uint64_t counter;
    static const char hex[] = "0123456789abcdef";
    if (counter == 0) {
        if (RAND_bytes(prefix, sizeof prefix) != 1 ||
            RAND_bytes((unsigned char *)&counter, sizeof counter) != 1)
            die_bug("RAND_bytes failed");
        counter |= 1;
    }
    uint64_t n = counter++;
    for (size_t i = 0; i < 8; i++) {
        buf[2 * i] = hex[prefix[i] >> 4];
        buf[2 * i + 1] = hex[prefix[i] & 15];
    }
    for (size_t i = 0; i < 16; i++)
        buf[16 + i] = hex[(n >> (60 - 4 * i)) & 15];
    buf[32] = '\0';
}

void respond_json_raw(struct _u_response *res, int status, const char *json, size_t len)
{
    ulfius_set_binary_body_response(res, (unsigned)status, json, len);
    u_map_put(res->map_header, "Content-Type", "application/json");
}

void respond_json_new(struct _u_response *res, int status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(body);
    if (text == NULL)
        die_bug("json_dumps failed");
    respond_json_raw(res, status, text, strlen(text));
    free(text);
}

void respond_text(struct _u_response *res, int status, const char *content_type, const char *text,
                  size_t len)
{
    ulfius_set_binary_body_response(res, (unsigned)status, text, len);
    u_map_put(res->map_header, "Content-Type", content_type);
}

void respond_problem_fields(struct request_ctx *ctx, enum problem_code code, const char *detail,
                            const struct field_errors *errors)
{
    respond_problem_rule(ctx, code, NULL, detail, errors);
}

void respond_problem_rule(struct request_ctx *ctx, enum problem_code code, const char *rule,
                          const char *detail, const struct field_errors *errors)
{
    struct problem p = {code,  detail, rule, ctx->req ? ctx->req->url_path : NULL, ctx->request_id,
                        errors};
    json_t *body = problem_to_json(&p, ctx->app->config.problem_base_url);
    char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(body);
    if (text == NULL)
        die_bug("json_dumps failed");
    ulfius_set_binary_body_response(ctx->res, (unsigned)problem_status(code), text, strlen(text));
    free(text);
    u_map_put(ctx->res->map_header, "Content-Type", "application/problem+json");
    ctx->problem = code;
    ctx->has_problem = true;
}

void respond_problem(struct request_ctx *ctx, enum problem_code code, const char *detail)
{
    respond_problem_fields(ctx, code, detail, NULL);
}

bool respond_if_rate_limited(struct request_ctx *ctx, struct rate_limiter *limiter, const char *key)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double retry = 0;
    if (rate_limit_take(limiter, key, (double)now.tv_sec + (double)now.tv_nsec / 1e9, &retry))
        return false;
    char seconds[24], detail[120];
    snprintf(seconds, sizeof seconds, "%.0f", retry);
    snprintf(detail, sizeof detail, "Trop de requêtes : réessayer dans %s s.", seconds);
    respond_problem(ctx, PROBLEM_TROP_DE_REQUETES, detail);
    u_map_put(ctx->res->map_header, "Retry-After", seconds);
    return true;
}

bool respond_db_outcome(struct request_ctx *ctx, enum db_result r, const struct db_error *err,
                        const struct db_answers *a)
{
    static const struct db_answers none = {NULL, NULL, NULL, NULL, NULL, NULL};
    if (!a)
        a = &none;
    if (r == DB_OK)
        return true;
    if (r == DB_NOT_FOUND && a->not_found) {
        respond_problem(ctx, PROBLEM_RESSOURCE_INTROUVABLE, a->not_found);
    } else if (r == DB_CONFLICT && a->conflict) {
        FIELD_ERRORS(errs);
        if (a->conflict_code)
            field_errors_add(&errs, a->conflict_pointer ? a->conflict_pointer : "", NULL,
                             a->conflict_code, "%s", a->conflict);
        respond_problem_fields(ctx, PROBLEM_CONFLIT, a->conflict, a->conflict_code ? &errs : NULL);
    } else if (r == DB_STALE && a->stale) {
        respond_problem(ctx, PROBLEM_PRECONDITION_ECHOUEE, a->stale);
        if (a->stale_etag)
            u_map_put(ctx->res->map_header, "ETag", a->stale_etag);
    } else if (r == DB_UNAVAILABLE) {
        log_line(LOG_WARN, ctx->request_id, "base de données indisponible", "sqlstate",
                 err ? err->sqlstate : "", "erreur", err ? err->message : "", (const char *)NULL);
        respond_unavailable(ctx, "Base de données indisponible.");
    } else {
        log_line(LOG_ERROR, ctx->request_id, "erreur de base de données", "sqlstate",
                 err ? err->sqlstate : "", "erreur", err ? err->message : "", (const char *)NULL);
        respond_problem(ctx, PROBLEM_ERREUR_INTERNE, "Erreur interne du service.");
    }
    return false;
}

void respond_db_error(struct request_ctx *ctx, enum db_result r, const struct db_error *err)
{
    respond_db_outcome(ctx, r, err, NULL);
}

bool respond_lookup_or_reply(struct request_ctx *ctx, enum db_result r, const struct db_error *err,
                             const char *not_found_detail)
{
    struct db_answers a = {.not_found = not_found_detail};
    return respond_db_outcome(ctx, r, err, &a);
}

void respond_unavailable(struct request_ctx *ctx, const char *detail)
{
    respond_problem(ctx, PROBLEM_SERVICE_INDISPONIBLE, detail);
    u_map_put(ctx->res->map_header, "Retry-After", "2");
}

bool json_body_read_or_reply(struct request_ctx *ctx, json_t **out)
{
    char detail[300];
    bool merge_patch = strcmp(ctx->req->http_verb, "PATCH") == 0;
    enum problem_code code =
        json_body_parse(u_map_get_case(ctx->req->map_header, "Content-Type"), merge_patch,
                        ctx->req->binary_body, ctx->req->binary_body_length,
                        ctx->app->config.http_max_body_bytes, out, detail, sizeof detail);
    if (code == PROBLEM__COUNT)
        return true;
    respond_problem(ctx, code, detail);
    return false;
}

uint64_t http_etag_hash(uint64_t h, const char *bytes, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)bytes[i];
        h *= 1099511628211ull;
    }
    return h;
}

void http_etag_format(uint64_t h, char out[24])
{
    snprintf(out, 24, "\"%016llx\"", (unsigned long long)h);
}

void http_etag(const char *json, size_t len, char out[24])
{
    http_etag_format(http_etag_hash(HTTP_ETAG_SEED, json, len), out);
}

/* True when the list element starting at p ends at p[n]. */
static bool ends_at(const char *p, size_t n)
{
    return p[n] == '\0' || p[n] == ',' || p[n] == ' ' || p[n] == '\t';
}

/* True when the If-None-Match / If-Match list contains etag, its gzip
 * variant ("…-gzip", http_encode_response) or "*". */
static bool etag_listed(const char *header, const char *etag)
{
    size_t n = strlen(etag);
    static const size_t suffix = sizeof CONTENT_CODING_ETAG_SUFFIX - 1;
    for (const char *p = header; p && *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        if (*p == '*')
            return true;
        if (strncmp(p, etag, n) == 0 && ends_at(p, n))
            return true;
        /* "abc-gzip" for "abc": the same opening, the suffix, the closing quote. */
        if (n >= 2 && etag[n - 1] == '"' && strncmp(p, etag, n - 1) == 0 &&
            strncmp(p + n - 1, CONTENT_CODING_ETAG_SUFFIX, suffix) == 0 &&
            p[n - 1 + suffix] == '"' && ends_at(p, n + suffix))
            return true;
        p = strchr(p, ',');
    }
    return false;
}

bool if_match_or_reply(struct request_ctx *ctx, const char *etag)
{
    const char *header = u_map_get_case(ctx->req->map_header, "If-Match");
    if (header == NULL) {
        respond_problem(ctx, PROBLEM_PRECONDITION_REQUISE,
                        "En-tête If-Match requis : renvoyez l'ETag de la dernière lecture.");
        return false;
    }
    if (!etag_listed(header, etag)) {
        respond_problem(ctx, PROBLEM_PRECONDITION_ECHOUEE,
                        "La ressource a changé depuis votre lecture (ETag périmé) : relisez-la.");
        u_map_put(ctx->res->map_header, "ETag", etag);
        return false;
    }
    return true;
}

bool respond_conditional(struct request_ctx *ctx, const char *content_type, const char *body,
                         size_t len, const char *etag)
{
    u_map_put(ctx->res->map_header, "ETag", etag);
    if (etag_listed(u_map_get_case(ctx->req->map_header, "If-None-Match"), etag)) {
        ctx->res->status = 304;
        ctx->not_modified_type = content_type;
        ctx->not_modified_length = len;
        return true;
    }
    respond_text(ctx->res, 200, content_type, body, len);
    return false;
}

bool respond_conditional_json(struct request_ctx *ctx, const char *json, size_t len,
                              const char *etag)
{
    return respond_conditional(ctx, "application/json", json, len, etag);
}

void http_vary_add(struct _u_response *res, const char *token)
{
    const char *present = u_map_get_case(res->map_header, "Vary");
    if (present == NULL || *present == '\0') {
        u_map_put(res->map_header, "Vary", token);
        return;
    }
    size_t n = strlen(token);
    for (const char *p = present; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        size_t len = strcspn(p, ", \t");
        if (len == n && strncasecmp(p, token, n) == 0)
            return;
        p += len;
    }
    size_t size = strlen(present) + n + 3;
    char *merged = xmalloc(size);
    snprintf(merged, size, "%s, %s", present, token);
    u_map_put(res->map_header, "Vary", merged);
    free(merged);
}

/* Puts the gzip variant's ETag ("abc" → "abc-gzip") in place of a strong ETag;
 * weak and malformed ones are left as they are. */
static void etag_to_gzip_variant(struct _u_response *res)
{
    const char *etag = u_map_get_case(res->map_header, "ETag");
    size_t n = etag ? strlen(etag) : 0;
    if (n < 2 || etag[0] != '"' || etag[n - 1] != '"')
        return;
    char variant[160];
    if (snprintf(variant, sizeof variant, "%.*s%s\"", (int)(n - 1), etag,
                 CONTENT_CODING_ETAG_SUFFIX) >= (int)sizeof variant)
        return;
    u_map_put(res->map_header, "ETag", variant);
}

void http_encode_response(struct request_ctx *ctx)
{
    struct _u_response *res = ctx->res;
    if (res->stream_callback != NULL)
        return;
    bool not_modified = res->status == 304 && ctx->not_modified_type != NULL;
    const char *type =
        not_modified ? ctx->not_modified_type : u_map_get_case(res->map_header, "Content-Type");
    if (ctx->gzip_variant == NULL && !content_coding_compressible(type))
        return;
    http_vary_add(res, "Accept-Encoding");
    size_t len = not_modified ? ctx->not_modified_length : res->binary_body_length;
    if (len <= CONTENT_CODING_MIN_BYTES ||
        !content_coding_accepts_gzip(u_map_get_case(ctx->req->map_header, "Accept-Encoding")))
        return;
    if (!not_modified && ctx->gzip_variant) {
        ulfius_set_binary_body_response(res, res->status, (const char *)ctx->gzip_variant,
                                        ctx->gzip_variant_len);
        u_map_put(res->map_header, "Content-Encoding", "gzip");
    } else if (!not_modified) {
        unsigned char *gz;
        size_t gz_len;
        if (!content_coding_gzip(res->binary_body, len, &gz, &gz_len)) {
            log_line(LOG_WARN, ctx->request_id,
                     "compression gzip impossible : réponse envoyée telle quelle",
                     (const char *)NULL);
            return;
        }
        ulfius_set_binary_body_response(res, res->status, (const char *)gz, gz_len);
        free(gz);
        u_map_put(res->map_header, "Content-Encoding", "gzip");
    }
    etag_to_gzip_variant(res);
}

void respond_invalid_body(struct request_ctx *ctx, const struct field_errors *errs)
{
    respond_problem_fields(ctx, PROBLEM_CHAMPS_INVALIDES,
                           "Le corps de la requête contient des champs invalides.", errs);
}

bool body_errors_or_reply(struct request_ctx *ctx, const struct field_errors *errs)
{
    if (errs->count == 0)
        return true;
    respond_invalid_body(ctx, errs);
    return false;
}

void respond_json_etag(struct _u_response *res, int status, const char *json)
{
    char etag[24];
    size_t len = strlen(json);
    http_etag(json, len, etag);
    u_map_put(res->map_header, "ETag", etag);
    respond_json_raw(res, status, json, len);
}

void http_set_location(struct _u_response *res, const char *prefix, const char *id)
{
    char location[160];
    snprintf(location, sizeof location, "%s%s", prefix, id);
    u_map_put(res->map_header, "Location", location);
}

void respond_representation(struct request_ctx *ctx, int status, const char *json, size_t len,
                            const char *etag)
{
    if (status == 200 && strcmp(ctx->req->http_verb, "GET") == 0) {
        respond_conditional_json(ctx, json, len, etag);
        return;
    }
    u_map_put(ctx->res->map_header, "ETag", etag);
    respond_json_raw(ctx->res, status, json, len);
}

void respond_object_representation(struct request_ctx *ctx, int status, json_t *obj,
                                   const char *etag)
{
    char *text = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    if (!text) {
        respond_problem(ctx, PROBLEM_ERREUR_INTERNE, NULL);
        return;
    }
    respond_representation(ctx, status, text, strlen(text), etag);
    free(text);
}
