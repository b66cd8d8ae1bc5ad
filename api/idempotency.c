/* Idempotency-Key (see idempotency.h). */
#include "idempotency.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../db/idempotence_repository.h"
#include "../db/mutation.h"
#include "auth.h"
#include "log.h"
#include "routes.h"
#include "xalloc.h"
#include "digest.h"

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

/* Hex SHA-256 of method, request target (path and query string, as sent)
 * and body: "the same request". */
static void request_fingerprint(const struct _u_request *req, char out[65])
{
    unsigned char digest[32];
    unsigned len = 0;
    const char *target = req->http_url ? req->http_url : req->url_path;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (md == NULL || !EVP_DigestInit_ex(md, digest_sha256(), NULL) ||
        !EVP_DigestUpdate(md, req->http_verb, strlen(req->http_verb)) ||
        !EVP_DigestUpdate(md, "\n", 1) || !EVP_DigestUpdate(md, target, strlen(target)) ||
        !EVP_DigestUpdate(md, "\n", 1) ||
        (req->binary_body_length &&
         !EVP_DigestUpdate(md, req->binary_body, req->binary_body_length)) ||
        !EVP_DigestFinal_ex(md, digest, &len))
        die_bug("SHA-256 failed");
    EVP_MD_CTX_free(md);
    for (size_t i = 0; i < sizeof digest; i++)
        snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

/* The response as it was when the handler was called (headers set by the
 * pipeline: X-Request-Id, CORS), to start a handler's run again. */
struct response_start {
    struct _u_map headers;
};

static void response_start_save(struct response_start *s, const struct _u_response *res)
{
    u_map_init(&s->headers);
    u_map_copy_into(&s->headers, res->map_header);
}

static void response_start_restore(const struct response_start *s, struct request_ctx *ctx)
{
    u_map_clean(ctx->res->map_header);
    u_map_init(ctx->res->map_header);
    u_map_copy_into(ctx->res->map_header, &s->headers);
    ulfius_set_binary_body_response(ctx->res, 200, "", 0);
    ctx->has_problem = false;
}

static void replay(struct _u_response *res, struct idempotence_response *stored)
{
    ulfius_set_binary_body_response(res, (unsigned)stored->status, stored->body ? stored->body : "",
                                    stored->body ? strlen(stored->body) : 0);
    if (stored->content_type)
        u_map_put(res->map_header, "Content-Type", stored->content_type);
    if (stored->location)
        u_map_put(res->map_header, "Location", stored->location);
    if (stored->etag)
        u_map_put(res->map_header, "ETag", stored->etag);
    u_map_put(res->map_header, "Idempotent-Replayed", "true");
}

/* Answers from the record of (caller, key): the first response replayed, 422
 * for another request, 409 when the first is still running (no record
 * committed yet); true when the record said nothing (no record in force). */
static bool answer_from_record(struct request_ctx *ctx, const char *key, const char *fingerprint)
{
    struct idempotence_response stored;
    enum idempotence_lookup found;
    struct db_error err = {{0}, {0}};
    enum db_result r = idempotence_find(ctx->app->pool, ctx->principal->acteur, key, fingerprint,
                                        &found, &stored, &err);
    if (r != DB_OK) {
        respond_db_error(ctx, r, &err);
        return false;
    }
    switch (found) {
    case IDEMPOTENCE_REPLAY:
        replay(ctx->res, &stored);
        idempotence_response_release(&stored);
        return false;
    case IDEMPOTENCE_MISMATCH:
        respond_problem(ctx, PROBLEM_CLE_IDEMPOTENCE_REUTILISEE,
                        "Cette clé d'idempotence a déjà servi pour une autre requête.");
        return false;
    case IDEMPOTENCE_NONE:
        break;
    }
    return true;
}

static void respond_key_busy(struct request_ctx *ctx)
{
    respond_problem(ctx, PROBLEM_CONFLIT,
                    "La requête d'origine de cette clé d'idempotence est encore en cours.");
}

/* How many times a request whose write failed to commit on a serialization
 * failure (DB_RETRY at COMMIT, SERIALIZABLE units) is run again. */
#define IDEMPOTENT_RUNS 3

void idempotency_run(struct request_ctx *ctx, const char *key)
{
    struct app *app = ctx->app;
    char fingerprint[65];
    struct db_error err = {{0}, {0}};
    if (!idempotency_key_is_valid(key)) {
        respond_problem(ctx, PROBLEM_REQUETE_INVALIDE,
                        "En-tête Idempotency-Key : 1 à 255 caractères ASCII visibles.");
        return;
    }
    request_fingerprint(ctx->req, fingerprint);
    const char *caller = ctx->principal->acteur;
    if (!answer_from_record(ctx, key, fingerprint))
        return;
    struct response_start start;
    response_start_save(&start, ctx->res);
    for (unsigned run = 1;; run++) {
        struct mutation_idempotence idem;
        memset(&idem, 0, sizeof idem);
        idem.caller = caller;
        idem.key = key;
        idem.fingerprint = fingerprint;
        ctx->idempotence = &idem;
        free(ctx->idempotent_body);
        ctx->idempotent_body = NULL;
        ctx->route->handler(ctx);
        ctx->idempotence = NULL;
        if (idem.taken || idem.busy) {
            /* Another request with this key got there first: its answer. */
            db_held_abort(&idem.held);
            response_start_restore(&start, ctx);
            if (idem.busy || answer_from_record(ctx, key, fingerprint))
                respond_key_busy(ctx);
            break;
        }
        if (ctx->res->status >= 500) { /* never stored: the client may retry */
            db_held_abort(&idem.held);
            break;
        }
        char *body = ctx->idempotent_body;
        ctx->idempotent_body = NULL;
        if (body == NULL) {
            body = xmalloc(ctx->res->binary_body_length + 1);
            memcpy(body, ctx->res->binary_body ? ctx->res->binary_body : "",
                   ctx->res->binary_body_length);
            body[ctx->res->binary_body_length] = '\0';
        }
        struct idempotence_response response = {
            (int)ctx->res->status, (char *)u_map_get_case(ctx->res->map_header, "Content-Type"),
            body, (char *)u_map_get_case(ctx->res->map_header, "Location"),
            (char *)u_map_get_case(ctx->res->map_header, "ETag")};
        enum db_result r;
        if (idem.held.conn) {
            r = idempotence_store_and_commit(&idem.held, caller, key, &response, &err);
        } else {
            r = idempotence_store(app->pool, caller, key, fingerprint, &response, &err);
            if (r != DB_OK) /* nothing was written: the answer stands, unrecorded */
                log_line(LOG_WARN, ctx->request_id, "réponse idempotente non enregistrée", "erreur",
                         err.message, (const char *)NULL);
            r = DB_OK;
        }
        free(body);
        if (r == DB_OK)
            break;
        /* The write did not commit: its answer must not be sent. */
        response_start_restore(&start, ctx);
        if (r == DB_RETRY && run < IDEMPOTENT_RUNS)
            continue;
        respond_db_error(ctx, r == DB_RETRY ? DB_UNAVAILABLE : r, &err);
        break;
    }
    free(ctx->idempotent_body);
    ctx->idempotent_body = NULL;
    u_map_clean(&start.headers);
}
