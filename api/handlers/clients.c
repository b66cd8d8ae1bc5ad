/* Machine clients (OAuth 2.0 client credentials, RFC 6749 §4.4): their
 * administration by the ANCT, the token endpoint and pvd-api's public keys
 * (issue #3 §3). Secrets are shown once and stored as SHA-256(salt || secret). */
#include <jansson.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../../db/client_repository.h"
#include "../../domain/date.h"
#include "../../domain/identifiers.h"
#include "../auth.h"
#include "../base64url.h"
#include "../cursor.h"
#include "../json_spec.h"
#include "../log.h"
#include "../query.h"
#include "../query_params.h"
#include "../xalloc.h"
#include "handlers.h"
#include "perimetre.h"
#include "../digest.h"

#define SECRET_BYTES 32

static void digest_of(const unsigned char salt[16], const char *secret, unsigned char out[32])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned len = 0;
    if (md == NULL || !EVP_DigestInit_ex(md, digest_sha256(), NULL) ||
        !EVP_DigestUpdate(md, salt, 16) || !EVP_DigestUpdate(md, secret, strlen(secret)) ||
        !EVP_DigestFinal_ex(md, out, &len))
        die_bug("SHA-256 failed");
    EVP_MD_CTX_free(md);
}

/* A new secret (text, 48 bytes) with its salt and digest. */
static void new_secret(char secret[64], unsigned char salt[16], unsigned char digest[32])
{
    unsigned char raw[SECRET_BYTES];
    if (RAND_bytes(raw, sizeof raw) != 1 || RAND_bytes(salt, 16) != 1)
        die_bug("RAND_bytes failed");
    memcpy(secret, "pvds_", 5);
    base64url_encode(raw, sizeof raw, secret + 5);
    OPENSSL_cleanse(raw, sizeof raw);
    digest_of(salt, secret, digest);
}

/* ACTION_CLIENT_MANAGE (list, read, revoke) or, when `issues` (create,
 * rotate a secret), ACTION_CLIENT_ISSUE: anct_national only, and a person
 * for the latter (domain/authz.c). false when a 403 was sent. */
static bool may_manage_or_reply(struct request_ctx *ctx, bool issues)
{
    const struct authz_principal *who = &ctx->principal->authz;
    if (authz_decide(who, issues ? ACTION_CLIENT_ISSUE : ACTION_CLIENT_MANAGE, NULL) == AUTHZ_ALLOW)
        return true;
    if (issues && who->is_machine && authz_decide(who, ACTION_CLIENT_MANAGE, NULL) == AUTHZ_ALLOW)
        respond_problem(ctx, PROBLEM_INTERDIT,
                        "Un client machine ne crée pas de client et ne renouvelle pas de secret : "
                        "seule une personne de l'ANCT, authentifiée par ProConnect, le peut.");
    else
        respond_problem(ctx, PROBLEM_INTERDIT,
                        "Seule l'administration nationale (ANCT) gère les clients machine.");
    return false;
}

void respond_with_secret(struct _u_response *res, int status, const char *json, const char *secret)
{
    char etag[24]; /* of the stored representation, for the next If-Match */
    http_etag(json, strlen(json), etag);
    u_map_put(res->map_header, "ETag", etag);
    u_map_put(res->map_header, "Cache-Control", "no-store");
    json_t *body = json_loads(json, 0, NULL);
    if (body == NULL)
        die_bug("representation is not JSON");
    json_object_set_new(body, "secret", xjson(json_string(secret)));
    respond_json_new(res, status, body);
}

struct client_body {
    const char *nom;
    int role;
    const json_t *perimetre;
    const char *expire_le;
};

/* YYYY-MM-DDTHH:MM:SSZ with a real date and time (PostgreSQL would refuse
 * anything else with an error, which must stay a client's 400). */
static bool is_instant_text(const char *s)
{
    char day[11];
    struct date d;
    if (strlen(s) != 20 || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z')
        return false;
    memcpy(day, s, 10);
    day[10] = '\0';
    if (!date_parse(day, &d))
        return false;
    for (int i = 11; i < 19; i++)
        if (i != 13 && i != 16 && (s[i] < '0' || s[i] > '9'))
            return false;
    return (s[11] - '0') * 10 + (s[12] - '0') < 24 && s[14] < '6' && s[17] < '6';
}

static const struct json_field client_fields[] = {
    {.name = "nom",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct client_body, nom),
     .on_create = JSON_CREATE_REQUIRED,
     .min_length = 1,
     .max_length = 200},
    {.name = "role",
     .kind = JSON_FIELD_ENUM,
     .offset = offsetof(struct client_body, role),
     .on_create = JSON_CREATE_REQUIRED,
     .values = role_names_all},
    {.name = "perimetre",
     .kind = JSON_FIELD_VALUE,
     .offset = offsetof(struct client_body, perimetre),
     .on_create = JSON_CREATE_REQUIRED},
    {.name = "expire_le",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct client_body, expire_le),
     .nullable = true,
     .check = is_instant_text,
     .check_message = "Instant UTC attendu : AAAA-MM-JJTHH:MM:SSZ."},
    JSON_FIELDS_END,
};

struct create_work {
    const struct client_new *c;
    struct client_row created;
};

static enum db_result create_unit(struct db_tx *tx, void *ctx, struct db_error *err)
{
    struct create_work *w = ctx;
    client_row_release(&w->created);
    return client_insert(tx, w->c, &w->created, err);
}

void handle_create_client(struct request_ctx *ctx)
{
    json_t *body = NULL;
    struct client_body in;
    struct perimeter perimeter;
    struct referentiel_snapshot *snap = NULL;
    FIELD_ERRORS(errs);
    memset(&in, 0, sizeof in);
    if (!may_manage_or_reply(ctx, true) || !json_body_read_or_reply(ctx, &body))
        return;
    json_spec_apply(body, client_fields, JSON_SPEC_CREATE, &in, "", &errs);
    habilitation_read_perimeter(in.perimetre, &perimeter, &errs);
    if (!body_errors_or_reply(ctx, &errs))
        goto out;
    snap = referentiel_store_acquire(ctx->app->referentiel);
    if (snap == NULL) {
        respond_unavailable(ctx, "Référentiel des communes non chargé.");
        goto out;
    }
    habilitation_check_perimeter((enum role)in.role, &perimeter, &snap->ref, &errs);
    if (errs.count > 0) {
        respond_problem_fields(ctx, PROBLEM_REGLE_NON_RESPECTEE,
                               "Le client ne respecte pas les règles du programme.", &errs);
        goto out;
    }
    unsigned char raw_id[12], salt[16], digest[32];
    char id[32], secret[64];
    if (RAND_bytes(raw_id, sizeof raw_id) != 1)
        die_bug("RAND_bytes failed");
    memcpy(id, "pvd_", 4);
    for (size_t i = 0; i < sizeof raw_id; i++)
        snprintf(id + 4 + 2 * i, 3, "%02x", raw_id[i]);
    new_secret(secret, salt, digest);
    struct client_new c = {id,         in.nom,       (enum role)in.role,
                           &perimeter, in.expire_le, ctx->principal->acteur,
                           salt,       digest};
    struct create_work work;
    memset(&work, 0, sizeof work);
    work.c = &c;
    struct journal_actor actor = auth_journal_actor(ctx);
    struct db_error err = {{0}, {0}};
    enum db_result r = db_run_mutation(ctx->app->pool, DB_ISOLATION_READ_COMMITTED, &actor,
                                       create_unit, &work, &err);
    if (r != DB_OK) {
        respond_db_error(ctx, r, &err);
    } else {
        http_set_location(ctx->res, "/api/v1/clients/", id);
        respond_with_secret(ctx->res, 201, work.created.json, secret);
    }
    OPENSSL_cleanse(secret, sizeof secret);
    client_row_release(&work.created);
out:
    referentiel_snapshot_release(ctx->app->referentiel, snap);
    json_decref(body);
}

static bool is_client_id(const char *id)
{
    return strlen(id) == 28 && strncmp(id, "pvd_", 4) == 0 &&
           strspn(id + 4, "0123456789abcdef") == 24;
}

static bool load_client(struct request_ctx *ctx, struct client_row *row)
{
    const char *id = query_id_or_reply(
        ctx, is_client_id,
        "Identifiant de client attendu : pvd_ suivi de 24 chiffres hexadécimaux.");
    if (id == NULL)
        return false;
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    enum db_result r = db_pool_acquire(ctx->app->pool, &conn, &err);
    if (r == DB_OK) {
        r = client_get(conn, id, row, &err);
        db_pool_release(ctx->app->pool, conn);
    }
    return respond_lookup_or_reply(ctx, r, &err, "Aucun client n'a cet identifiant.");
}

void handle_get_client(struct request_ctx *ctx)
{
    struct client_row row;
    if (!may_manage_or_reply(ctx, false) || !load_client(ctx, &row))
        return;
    char etag[24];
    http_etag(row.json, strlen(row.json), etag);
    respond_conditional_json(ctx, row.json, strlen(row.json), etag);
    client_row_release(&row);
}

void handle_list_clients(struct request_ctx *ctx)
{
    char key[CURSOR_KEY_MAX + 1];
    const char *after = NULL;
    struct query_page q;
    if (!may_manage_or_reply(ctx, false) || !query_or_reply(ctx, query_page_params, &q))
        return;
    size_t limit = q.limit;
    uint32_t fp = cursor_fingerprint("");
    if (!query_cursor_or_reply(ctx, "clients", fp, key, &after))
        return;
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    char *json = NULL, last[32];
    bool more = false;
    size_t total = 0;
    enum db_result r = db_pool_acquire(app_read_pool(ctx->app), &conn, &err);
    if (r == DB_OK) {
        r = client_list(conn, after, limit, &json, last, &more, &total, &err);
        db_pool_release(app_read_pool(ctx->app), conn);
    }
    if (r != DB_OK) {
        respond_db_error(ctx, r, &err);
        return;
    }
    respond_page(ctx, query_page_params, json, "clients", fp, last, more, total);
    free(json);
}

struct change_work {
    const char *id;
    const char *by;
    const unsigned char *salt;
    const unsigned char *digest;
    struct client_row after;
};

static enum db_result revoke_unit(struct db_tx *tx, void *ctx, struct db_error *err)
{
    struct change_work *w = ctx;
    client_row_release(&w->after);
    return client_revoke(tx, w->id, w->by, &w->after, err);
}

static enum db_result rotate_unit(struct db_tx *tx, void *ctx, struct db_error *err)
{
    struct change_work *w = ctx;
    client_row_release(&w->after);
    return client_rotate(tx, w->id, w->salt, w->digest, &w->after, err);
}

/* Revocation (DELETE) or secret rotation (POST …/secret), both under If-Match. */
static void change_client(struct request_ctx *ctx, bool rotate)
{
    struct client_row row;
    if (!may_manage_or_reply(ctx, rotate) || !load_client(ctx, &row))
        return;
    char etag[24], secret[64];
    unsigned char salt[16], digest[32];
    http_etag(row.json, strlen(row.json), etag);
    if (!if_match_or_reply(ctx, etag)) {
        client_row_release(&row);
        return;
    }
    struct change_work work;
    memset(&work, 0, sizeof work);
    work.id = row.id;
    work.by = ctx->principal->acteur;
    if (rotate) {
        new_secret(secret, salt, digest);
        work.salt = salt;
        work.digest = digest;
    }
    struct journal_actor actor = auth_journal_actor(ctx);
    struct db_error err = {{0}, {0}};
    enum db_result r = db_run_mutation(ctx->app->pool, DB_ISOLATION_READ_COMMITTED, &actor,
                                       rotate ? rotate_unit : revoke_unit, &work, &err);
    const struct db_answers answers = {.conflict = "Ce client est révoqué."};
    if (respond_db_outcome(ctx, r, &err, &answers)) {
        if (rotate)
            respond_with_secret(ctx->res, 200, work.after.json, secret);
        else
            respond_json_etag(ctx->res, 200, work.after.json);
    }
    if (rotate)
        OPENSSL_cleanse(secret, sizeof secret);
    client_row_release(&work.after);
    client_row_release(&row);
}

void handle_revoke_client(struct request_ctx *ctx)
{
    change_client(ctx, false);
}

void handle_rotate_client_secret(struct request_ctx *ctx)
{
    change_client(ctx, true);
}

void handle_get_jwks(struct request_ctx *ctx)
{
    (void)ctx->req;
    const char *jwks = ctx->app->jwks_json ? ctx->app->jwks_json : "{\"keys\":[]}";
    respond_json_raw(ctx->res, 200, jwks, strlen(jwks));
    u_map_put(ctx->res->map_header, "Cache-Control", "public, max-age=300");
}

/* ---- POST /api/v1/oauth/token (RFC 6749 §4.4, errors §5.2) --------------------------- */

/* RFC 6749 §5.2 error: error_description is ASCII (no accents). */
static void oauth_error(struct _u_response *res, int status, const char *error,
                        const char *description, bool basic)
{
    (void)basic;
    json_t *body = xjson(json_pack("{s:s, s:s}", "error", error, "error_description", description));
    respond_json_new(res, status, body);
    u_map_put(res->map_header, "Cache-Control", "no-store");
    u_map_put(res->map_header, "Pragma", "no-cache");
    if (status == 401) /* the client authentication method the endpoint supports */
        u_map_put(res->map_header, "WWW-Authenticate", "Basic realm=\"pvd-api\"");
}

/* Percent-decodes an application/x-www-form-urlencoded value in place; false
 * for a bad escape or a NUL. Other bytes pass: a client id or secret that is
 * not text is an unknown client (invalid_client), not a malformed request. */
static bool form_decode(char *s)
{
    size_t n = strlen(s), len = 0;
    char *decoded = xmalloc(n + 1);
    enum param_fault fault = param_decode(s, n, true, decoded, &len);
    bool ok = fault != PARAM_BAD_ESCAPE && fault != PARAM_NUL && memchr(decoded, '\0', len) == NULL;
    if (ok)
        memcpy(s, decoded, len + 1);
    free(decoded);
    return ok;
}

struct token_request {
    char grant_type[64];
    char client_id[64];
    char client_secret[128];
    bool duplicate;
    bool malformed;
};

static void form_parse(const char *body, size_t len, struct token_request *t)
{
    char *copy = xmalloc(len + 1);
    memcpy(copy, body, len);
    copy[len] = '\0';
    char *save = NULL;
    for (char *pair = strtok_r(copy, "&", &save); pair; pair = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(pair, '=');
        if (eq == NULL) {
            t->malformed = true;
            continue;
        }
        *eq = '\0';
        char *value = eq + 1;
        if (!form_decode(pair) || !form_decode(value)) {
            t->malformed = true;
            continue;
        }
        char *dst = NULL;
        size_t size = 0;
        if (strcmp(pair, "grant_type") == 0)
            dst = t->grant_type, size = sizeof t->grant_type;
        else if (strcmp(pair, "client_id") == 0)
            dst = t->client_id, size = sizeof t->client_id;
        else if (strcmp(pair, "client_secret") == 0)
            dst = t->client_secret, size = sizeof t->client_secret;
        if (dst == NULL)
            continue; /* RFC 6749 §3.2: unknown parameters are ignored */
        if (dst[0])
            t->duplicate = true;
        if (strlen(value) >= size)
            t->malformed = true;
        else
            snprintf(dst, size, "%s", value);
    }
    OPENSSL_cleanse(copy, len);
    free(copy);
}

void handle_oauth_token(struct request_ctx *ctx)
{
    struct app *app = ctx->app;
    struct token_request t;
    memset(&t, 0, sizeof t);
    const char *ct = u_map_get_case(ctx->req->map_header, "Content-Type");
    if (ct == NULL || strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0) {
        oauth_error(ctx->res, 400, "invalid_request",
                    "Content-Type: application/x-www-form-urlencoded attendu.", false);
        return;
    }
    form_parse(ctx->req->binary_body ? ctx->req->binary_body : "", ctx->req->binary_body_length,
               &t);
    bool basic = ctx->req->auth_basic_user != NULL;
    if (basic) {
        if (t.client_id[0] || t.client_secret[0])
            t.duplicate = true; /* RFC 6749 §2.3: one authentication method only */
        snprintf(t.client_id, sizeof t.client_id, "%s", ctx->req->auth_basic_user);
        snprintf(t.client_secret, sizeof t.client_secret, "%s",
                 ctx->req->auth_basic_password ? ctx->req->auth_basic_password : "");
    }
    char addr[INET6_ADDRSTRLEN] = "?", key[RATE_LIMIT_KEY_MAX];
    const struct sockaddr *sa = ctx->req->client_address;
    if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, addr, sizeof addr);
    snprintf(key, sizeof key, "t:%s|%.63s", addr, t.client_id);
    if (respond_if_rate_limited(ctx, app->rate_token, key))
        goto out;
    if (t.malformed || t.duplicate) {
        oauth_error(ctx->res, 400, "invalid_request", "Requete mal formee ou parametre repete.",
                    basic);
        goto out;
    }
    if (strcmp(t.grant_type, "client_credentials") != 0) {
        oauth_error(ctx->res, 400, t.grant_type[0] ? "unsupported_grant_type" : "invalid_request",
                    "Seul grant_type=client_credentials est accepte.", basic);
        goto out;
    }
    if (app->signer == NULL) {
        respond_unavailable(
            ctx, "Ce service n'émet pas de jetons (AUTH_SIGNING_KEY_FILE non configuré).");
        goto out;
    }
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    struct client_row row;
    enum db_result r = db_pool_acquire(app->pool, &conn, &err);
    if (r == DB_OK) {
        r = client_get(conn, t.client_id, &row, &err);
        db_pool_release(app->pool, conn);
    }
    if (r == DB_FAILED) /* e.g. a client_id that is not UTF-8: no such client */
        r = DB_NOT_FOUND;
    if (r == DB_UNAVAILABLE) {
        respond_unavailable(ctx, "Base de données indisponible.");
        goto out;
    }
    unsigned char digest[32];
    bool ok = false;
    if (r == DB_OK) {
        digest_of(row.salt, t.client_secret, digest);
        ok = CRYPTO_memcmp(digest, row.digest, sizeof digest) == 0 && row.usable;
    }
    if (!ok) {
        if (r == DB_OK)
            client_row_release(&row);
        oauth_error(ctx->res, 401, "invalid_client",
                    "Client inconnu, secret faux, client revoque ou expire.", basic);
        goto out;
    }
    char *token = jwt_signer_issue(
        app->signer, app->config.auth_token_issuer, app->config.auth_token_issuer, row.id, row.id,
        role_name(row.role), time(NULL), app->config.auth_token_ttl_seconds, NULL);
    client_row_release(&row);
    if (token == NULL)
        die_bug("token signing failed");
    json_t *body = xjson(json_pack("{s:s, s:s, s:I}", "access_token", token, "token_type", "Bearer",
                                   "expires_in", (json_int_t)app->config.auth_token_ttl_seconds));
    OPENSSL_cleanse(token, strlen(token));
    free(token);
    respond_json_new(ctx->res, 200, body);
    u_map_put(ctx->res->map_header, "Cache-Control", "no-store");
    u_map_put(ctx->res->map_header, "Pragma", "no-cache");
out:
    OPENSSL_cleanse(&t, sizeof t);
}
