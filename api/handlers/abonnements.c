/* Webhook subscriptions (issue 11 §2): /api/v1/abonnements, their secret's
 * rotation, their delivery log and the replay of a delivery. A machine
 * client subscribes a URL to event types; the events it receives are those
 * its perimeter lets it read (api/webhooks.c delivers them). The secret is
 * shown in the creation's and the rotation's answer only, stored sealed
 * (api/webhook_crypto.h), never journaled nor logged. */
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../db/abonnement_repository.h"
#include "../../db/pgutil.h"
#include "../auth.h"
#include "../cursor.h"
#include "../evenement_types.h"
#include "../json_spec.h"
#include "../query.h"
#include "../query_params.h"
#include "../webhook_crypto.h"
#include "../webhooks.h"
#include "../xalloc.h"
#include "handlers.h"

struct abonnement_body {
    const char *url;
    const json_t *types;
    bool actif;
    bool has_actif;
};

static const struct json_field abonnement_fields[] = {
    {.name = "url",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct abonnement_body, url),
     .on_create = JSON_CREATE_REQUIRED,
     .min_length = 1,
     .max_length = 2048},
    {.name = "types", .kind = JSON_FIELD_VALUE, .offset = offsetof(struct abonnement_body, types)},
    {.name = "actif",
     .kind = JSON_FIELD_BOOLEAN,
     .offset = offsetof(struct abonnement_body, actif),
     .on_create = JSON_CREATE_ABSENT, /* active from its creation */
     .present_at = JSON_PRESENT_AT(struct abonnement_body, has_actif)},
    JSON_FIELDS_END,
};

/* `types` in form: an array of at most EVENEMENT_TYPES_MAX distinct valid
 * entries, as a text[] literal into literal (empty array: "{}", all). */
static void types_check(const json_t *types, char literal[EVENEMENT_TYPES_LITERAL_SIZE],
                        struct field_errors *errs)
{
    char csv[EVENEMENT_TYPES_LITERAL_SIZE] = "", pointer[32];
    size_t len = 0, i;
    const json_t *item;
    snprintf(literal, EVENEMENT_TYPES_LITERAL_SIZE, "{}");
    if (!json_is_array(types)) {
        field_errors_add(errs, "/types", NULL, "type-invalide",
                         "Tableau de types d'événements attendu.");
        return;
    }
    if (json_array_size(types) > EVENEMENT_TYPES_MAX) {
        field_errors_add(errs, "/types", NULL, "trop-d-elements", "Au plus %d types.",
                         EVENEMENT_TYPES_MAX);
        return;
    }
    bool ok = true;
    json_array_foreach(types, i, item)
    {
        snprintf(pointer, sizeof pointer, "/types/%zu", i);
        const char *s = json_string_value(item);
        if (s == NULL || !evenement_type_valid(s, strlen(s))) {
            field_errors_add(errs, pointer, NULL, "format-invalide",
                             "Type de ressource ou d'événement attendu, par exemple "
                             "« territoire » ou « fiche_action.modifiee ».");
            ok = false;
            continue;
        }
        for (size_t k = 0; k < i; k++)
            if (json_equal(json_array_get(types, k), item)) {
                field_errors_add(errs, pointer, NULL, "doublon", "Type déjà donné.");
                ok = false;
            }
        len += (size_t)snprintf(csv + len, sizeof csv - len, "%s%s", i ? "," : "", s);
    }
    if (ok && len > 0 && !evenement_types_literal(csv, literal, EVENEMENT_TYPES_LITERAL_SIZE))
        die_bug("valid types without a literal");
}

/* The entries of types that the feed does not know: 422 with one error per
 * entry. false when an answer was sent. */
static bool types_known_or_reply(struct request_ctx *ctx, const json_t *types, const char *literal)
{
    char unknown[EVENEMENT_TYPES_LITERAL_SIZE] = "";
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    if (strcmp(literal, "{}") == 0)
        return true;
    enum db_result r = db_pool_acquire(ctx->app->pool, &conn, &err);
    if (r == DB_OK) {
        r = evenement_types_unknown(conn, literal, unknown, sizeof unknown, &err);
        db_pool_release(ctx->app->pool, conn);
    }
    if (!respond_db_outcome(ctx, r, &err, NULL))
        return false;
    if (unknown[0] == '\0')
        return true;
    FIELD_ERRORS(errs);
    size_t i;
    const json_t *item;
    json_array_foreach(types, i, item)
    {
        const char *s = json_string_value(item);
        size_t n = strlen(s);
        for (const char *p = unknown; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
            if (strncmp(p, s, n) == 0 && (p[n] == ',' || p[n] == '\0')) {
                char pointer[32];
                snprintf(pointer, sizeof pointer, "/types/%zu", i);
                field_errors_add(&errs, pointer, NULL, "valeur-inconnue",
                                 "Type inconnu du flux d'événements : %s.", s);
                break;
            }
        }
    }
    respond_problem_fields(ctx, PROBLEM_REGLE_NON_RESPECTEE,
                           "L'abonnement ne respecte pas les règles des webhooks.", &errs);
    return false;
}

/* The URL rule (webhook_url_acceptable): 422 at /url. false when sent. */
static bool url_acceptable_or_reply(struct request_ctx *ctx, const char *url)
{
    char reason[200];
    if (webhook_url_acceptable(url, ctx->app->config.webhook_allow_http_localhost != 0, reason,
                               sizeof reason))
        return true;
    FIELD_ERRORS(errs);
    field_errors_add(&errs, "/url", NULL, "url-non-autorisee", "%s", reason);
    respond_problem_fields(ctx, PROBLEM_REGLE_NON_RESPECTEE,
                           "L'abonnement ne respecte pas les règles des webhooks.", &errs);
    return false;
}

/* authz_decide on the collection (row NULL) or a subscription; 403 or 404
 * sent when refused. */
static bool allowed_or_reply(struct request_ctx *ctx, enum action action,
                             const struct abonnement_row *row)
{
    const struct principal *p = ctx->principal;
    struct authz_target t;
    memset(&t, 0, sizeof t);
    if (row) {
        t.abonnement = true;
        t.is_own = p->authz.is_machine && strcmp(row->client_id, p->client_id) == 0;
    }
    switch (authz_decide(&p->authz, action, row ? &t : NULL)) {
    case AUTHZ_ALLOW:
        return true;
    case AUTHZ_HIDE:
        respond_problem(ctx, PROBLEM_RESSOURCE_INTROUVABLE,
                        "Aucun abonnement n'a cet identifiant.");
        return false;
    case AUTHZ_FORBID:
        break;
    }
    respond_problem(ctx, PROBLEM_INTERDIT,
                    row || action == ACTION_ABONNEMENT_READ
                        ? "Seuls le client machine de l'abonnement et l'administration nationale "
                          "(ANCT) y accèdent."
                        : "Seul un client machine s'abonne : il reçoit les événements que son "
                          "périmètre lui permet de lire.");
    return false;
}

/* 400 parametre-invalide naming the path parameter `name` (a UUID). */
static void reply_bad_uuid(struct request_ctx *ctx, const char *name, const char *what)
{
    FIELD_ERRORS(errs);
    char pointer[32];
    snprintf(pointer, sizeof pointer, "/%s", name);
    field_errors_add(&errs, pointer, name, "format-invalide", "Identifiant %s attendu : un UUID.",
                     what);
    respond_problem_fields(ctx, PROBLEM_PARAMETRE_INVALIDE, "Paramètre de chemin invalide.", &errs);
}

/* The subscription of the path's :id, readable by the caller for action.
 * `alone`: the route takes no query parameter (query_id_or_reply refuses
 * any); otherwise the route checks its own. */
static bool load_or_reply(struct request_ctx *ctx, enum action action, bool alone,
                          struct abonnement_row *row)
{
    const char *id =
        alone ? query_id_or_reply(ctx, query_is_uuid, "Identifiant d'abonnement attendu : un UUID.")
              : query_path_param(ctx, "id");
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    if (!alone && (id == NULL || !query_is_uuid(id)))
        reply_bad_uuid(ctx, "id", "d'abonnement");
    if (id == NULL || !query_is_uuid(id))
        return false;
    enum db_result r = db_pool_acquire(ctx->app->pool, &conn, &err);
    if (r == DB_OK) {
        r = abonnement_get(conn, id, row, &err);
        db_pool_release(ctx->app->pool, conn);
    }
    if (!respond_lookup_or_reply(ctx, r, &err, "Aucun abonnement n'a cet identifiant."))
        return false;
    if (allowed_or_reply(ctx, action, row))
        return true;
    abonnement_row_release(row);
    return false;
}

struct create_work {
    const struct abonnement_new *a;
    struct abonnement_row created;
};

static enum db_result create_unit(struct db_tx *tx, void *ctx, struct db_error *err)
{
    struct create_work *w = ctx;
    abonnement_row_release(&w->created);
    return abonnement_insert(tx, w->a, &w->created, err);
}

void handle_create_abonnement(struct request_ctx *ctx)
{
    json_t *body = NULL;
    struct abonnement_body in;
    char types[EVENEMENT_TYPES_LITERAL_SIZE] = "{}";
    FIELD_ERRORS(errs);
    memset(&in, 0, sizeof in);
    if (!allowed_or_reply(ctx, ACTION_ABONNEMENT_MANAGE, NULL))
        return;
    if (!ctx->app->webhooks_enabled) {
        respond_unavailable(ctx, "Webhooks non configurés sur ce service (WEBHOOK_KEY_FILE).");
        return;
    }
    if (!json_body_read_or_reply(ctx, &body))
        return;
    json_spec_apply(body, abonnement_fields, JSON_SPEC_CREATE, &in, "", &errs);
    if (in.types)
        types_check(in.types, types, &errs);
    if (!body_errors_or_reply(ctx, &errs) || !url_acceptable_or_reply(ctx, in.url) ||
        !types_known_or_reply(ctx, in.types, types)) {
        json_decref(body);
        return;
    }
    unsigned char raw[WEBHOOK_SECRET_BYTES], sealed[WEBHOOK_SEALED_BYTES];
    char secret[WEBHOOK_SECRET_TEXT_SIZE];
    webhook_secret_new(raw, secret);
    bool sealed_ok = webhook_secret_seal(ctx->app->webhook_key, raw, sealed);
    OPENSSL_cleanse(raw, sizeof raw);
    if (!sealed_ok)
        die_bug("AES-256-GCM failed");
    struct abonnement_new a = {ctx->principal->client_id, in.url, types, sealed,
                               ctx->principal->acteur};
    struct create_work work;
    memset(&work, 0, sizeof work);
    work.a = &a;
    struct journal_actor actor = auth_journal_actor(ctx);
    struct db_error err = {{0}, {0}};
    enum db_result r = db_run_mutation(ctx->app->pool, DB_ISOLATION_READ_COMMITTED, &actor,
                                       create_unit, &work, &err);
    if (respond_db_outcome(ctx, r, &err, NULL)) {
        http_set_location(ctx->res, "/api/v1/abonnements/", work.created.id);
        respond_with_secret(ctx->res, 201, work.created.json, secret);
        /* A replay of this Idempotency-Key answers without the secret. */
        ctx->idempotent_body = xstrdup(work.created.json);
    }
    OPENSSL_cleanse(secret, sizeof secret);
    abonnement_row_release(&work.created);
    json_decref(body);
}

void handle_get_abonnement(struct request_ctx *ctx)
{
    struct abonnement_row row;
    if (!load_or_reply(ctx, ACTION_ABONNEMENT_READ, true, &row))
        return;
    char etag[24];
    http_etag(row.json, strlen(row.json), etag);
    respond_conditional_json(ctx, row.json, strlen(row.json), etag);
    abonnement_row_release(&row);
}

void handle_list_abonnements(struct request_ctx *ctx)
{
    char key[CURSOR_KEY_MAX + 1];
    const char *after = NULL;
    struct query_page q;
    if (!allowed_or_reply(ctx, ACTION_ABONNEMENT_READ, NULL) ||
        !query_or_reply(ctx, query_page_params, &q))
        return;
    /* The national administration sees every subscription, a client its own. */
    const struct principal *p = ctx->principal;
    const char *client = p->authz.role == ROLE_ANCT_NATIONAL ? NULL : p->client_id;
    uint32_t fp = cursor_fingerprint(client ? client : "");
    if (!query_keyed_cursor_or_reply(ctx, "abonnements", fp, query_is_uuid, key, &after))
        return;
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    char *json = NULL, last[40] = "";
    bool more = false;
    size_t total = 0;
    enum db_result r = db_pool_acquire(ctx->app->pool, &conn, &err);
    if (r == DB_OK) {
        r = abonnement_list(conn, client, after, q.limit, &json, last, &more, &total, &err);
        db_pool_release(ctx->app->pool, conn);
    }
    if (respond_db_outcome(ctx, r, &err, NULL))
        respond_page(ctx, query_page_params, json, "abonnements", fp, last, more, total);
    free(json);
}

/* A change of a subscription under If-Match: the row is locked and must
 * still be the one the caller read (DB_STALE otherwise). */
struct change_work {
    const struct abonnement_row *read;
    const struct abonnement_change *change; /* NULL: delete */
    const char *action;
    struct abonnement_row after;
};

static enum db_result change_unit(struct db_tx *tx, void *ctx, struct db_error *err)
{
    struct change_work *w = ctx;
    struct abonnement_row locked;
    abonnement_row_release(&w->after);
    enum db_result r = abonnement_lock(tx, w->read->id, &locked, err);
    if (r == DB_OK && strcmp(locked.json, w->read->json) != 0)
        r = DB_STALE;
    if (r == DB_OK)
        r = w->change ? abonnement_update(tx, &locked, w->change, w->action, &w->after, err)
                      : abonnement_delete(tx, &locked, err);
    if (r != DB_NOT_FOUND)
        abonnement_row_release(&locked);
    return r;
}

/* Runs the change; true when done (nothing sent), else the answer is sent. */
static bool change_or_reply(struct request_ctx *ctx, struct change_work *work)
{
    struct journal_actor actor = auth_journal_actor(ctx);
    struct db_error err = {{0}, {0}};
    enum db_result r = db_run_mutation(ctx->app->pool, DB_ISOLATION_READ_COMMITTED, &actor,
                                       change_unit, work, &err);
    const struct db_answers answers = {.not_found = "Aucun abonnement n'a cet identifiant.",
                                       .stale =
                                           "L'abonnement a changé depuis sa lecture : le relire."};
    return respond_db_outcome(ctx, r, &err, &answers);
}

void handle_update_abonnement(struct request_ctx *ctx)
{
    struct abonnement_row row;
    json_t *body = NULL;
    struct abonnement_body in;
    char types[EVENEMENT_TYPES_LITERAL_SIZE] = "{}", etag[24];
    FIELD_ERRORS(errs);
    memset(&in, 0, sizeof in);
    if (!load_or_reply(ctx, ACTION_ABONNEMENT_MANAGE, true, &row))
        return;
    http_etag(row.json, strlen(row.json), etag);
    if (!if_match_or_reply(ctx, etag) || !json_body_read_or_reply(ctx, &body))
        goto out;
    json_spec_apply(body, abonnement_fields, JSON_SPEC_PATCH, &in, "", &errs);
    if (in.types)
        types_check(in.types, types, &errs);
    if (!body_errors_or_reply(ctx, &errs) || (in.url && !url_acceptable_or_reply(ctx, in.url)) ||
        (in.types && !types_known_or_reply(ctx, in.types, types)))
        goto out;
    if (!in.url && !in.types && !in.has_actif) { /* an empty patch changes and journals nothing */
        respond_json_etag(ctx->res, 200, row.json);
        goto out;
    }
    struct abonnement_change change = {in.url, in.types ? types : NULL,
                                       in.has_actif ? (in.actif ? 1 : 0) : -1, NULL};
    struct change_work work;
    memset(&work, 0, sizeof work);
    work.read = &row;
    work.change = &change;
    work.action = "abonnement.modifier";
    if (change_or_reply(ctx, &work))
        respond_json_etag(ctx->res, 200, work.after.json);
    abonnement_row_release(&work.after);
out:
    json_decref(body);
    abonnement_row_release(&row);
}

void handle_delete_abonnement(struct request_ctx *ctx)
{
    struct abonnement_row row;
    char etag[24];
    if (!load_or_reply(ctx, ACTION_ABONNEMENT_MANAGE, true, &row))
        return;
    http_etag(row.json, strlen(row.json), etag);
    if (if_match_or_reply(ctx, etag)) {
        struct change_work work;
        memset(&work, 0, sizeof work);
        work.read = &row;
        if (change_or_reply(ctx, &work))
            ulfius_set_empty_body_response(ctx->res, 204);
    }
    abonnement_row_release(&row);
}

void handle_rotate_abonnement_secret(struct request_ctx *ctx)
{
    struct abonnement_row row;
    char etag[24], secret[WEBHOOK_SECRET_TEXT_SIZE];
    unsigned char raw[WEBHOOK_SECRET_BYTES], sealed[WEBHOOK_SEALED_BYTES];
    if (!load_or_reply(ctx, ACTION_ABONNEMENT_MANAGE, true, &row))
        return;
    http_etag(row.json, strlen(row.json), etag);
    if (!ctx->app->webhooks_enabled) {
        respond_unavailable(ctx, "Webhooks non configurés sur ce service (WEBHOOK_KEY_FILE).");
    } else if (if_match_or_reply(ctx, etag)) {
        webhook_secret_new(raw, secret);
        bool sealed_ok = webhook_secret_seal(ctx->app->webhook_key, raw, sealed);
        OPENSSL_cleanse(raw, sizeof raw);
        if (!sealed_ok)
            die_bug("AES-256-GCM failed");
        struct abonnement_change change = {NULL, NULL, -1, sealed};
        struct change_work work;
        memset(&work, 0, sizeof work);
        work.read = &row;
        work.change = &change;
        work.action = "abonnement.renouveler_secret";
        if (change_or_reply(ctx, &work))
            respond_with_secret(ctx->res, 200, work.after.json, secret);
        OPENSSL_cleanse(secret, sizeof secret);
        abonnement_row_release(&work.after);
    }
    abonnement_row_release(&row);
}

static bool is_etat(const char *v)
{
    return strcmp(v, "en_attente") == 0 || strcmp(v, "en_cours") == 0 || strcmp(v, "livree") == 0 ||
           strcmp(v, "echec_definitif") == 0;
}

static bool is_numero(const char *v)
{
    size_t n = strspn(v, "0123456789");
    return n > 0 && n <= 18 && v[n] == '\0';
}

struct livraisons_query {
    const char *etat;
    size_t limit;
};

static const struct query_field livraisons_query_fields[] = {
    QUERY_CODE_FIELD("etat", offsetof(struct livraisons_query, etat), is_etat,
                     "en_attente, en_cours, livree ou echec_definitif"),
    QUERY_PAGE(struct livraisons_query, limit),
    QUERY_FIELDS_END,
};

void handle_list_livraisons(struct request_ctx *ctx)
{
    struct abonnement_row row;
    struct livraisons_query q;
    char key[CURSOR_KEY_MAX + 1];
    const char *after = NULL;
    if (!load_or_reply(ctx, ACTION_ABONNEMENT_READ, false, &row))
        return;
    /* A cursor serves one subscription's log with one filter. */
    char scope[64];
    uint32_t fp = 0;
    bool ok = query_or_reply(ctx, livraisons_query_fields, &q);
    if (ok) {
        snprintf(scope, sizeof scope, "%s|%s", row.id, q.etat ? q.etat : "");
        fp = cursor_fingerprint(scope);
    }
    if (!ok || !query_keyed_cursor_or_reply(ctx, "livraisons", fp, is_numero, key, &after)) {
        abonnement_row_release(&row);
        return;
    }
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    char *json = NULL, last[24] = "";
    bool more = false;
    size_t total = 0;
    enum db_result r = db_pool_acquire(ctx->app->pool, &conn, &err);
    if (r == DB_OK) {
        r = livraison_list(conn, row.id, q.etat, after, q.limit, &json, last, &more, &total, &err);
        db_pool_release(ctx->app->pool, conn);
    }
    if (respond_db_outcome(ctx, r, &err, NULL))
        respond_page(ctx, livraisons_query_fields, json, "livraisons", fp, last, more, total);
    free(json);
    abonnement_row_release(&row);
}

struct replay_work {
    const char *abonnement_id;
    const char *livraison_id;
    char *after;
};

static enum db_result replay_unit(struct db_tx *tx, void *ctx, struct db_error *err)
{
    struct replay_work *w = ctx;
    free(w->after);
    w->after = NULL;
    return livraison_replay(tx, w->abonnement_id, w->livraison_id, &w->after, err);
}

void handle_replay_livraison(struct request_ctx *ctx)
{
    struct abonnement_row row;
    if (!load_or_reply(ctx, ACTION_ABONNEMENT_MANAGE, true, &row))
        return;
    const char *livraison = query_path_param(ctx, "livraison_id");
    if (livraison == NULL || !query_is_uuid(livraison)) {
        reply_bad_uuid(ctx, "livraison_id", "de livraison");
        abonnement_row_release(&row);
        return;
    }
    struct replay_work work = {row.id, livraison, NULL};
    struct journal_actor actor = auth_journal_actor(ctx);
    struct db_error err = {{0}, {0}};
    enum db_result r = db_run_mutation(ctx->app->pool, DB_ISOLATION_READ_COMMITTED, &actor,
                                       replay_unit, &work, &err);
    const struct db_answers answers = {
        .not_found = "Cet abonnement n'a pas de livraison de cet identifiant.",
        .conflict = "Cette livraison est encore en attente ou en cours : elle sera tentée."};
    if (respond_db_outcome(ctx, r, &err, &answers))
        respond_json_etag(ctx->res, 200, work.after);
    free(work.after);
    abonnement_row_release(&row);
}
