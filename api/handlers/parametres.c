/* The programme parameters over HTTP (issue #10 §1): GET /api/v1/parametres
 * (the version in force on a date, today by default), PUT (a new version,
 * anct_national only, If-Match on the version in force today), and the
 * stored versions. Every representation is rendered from a struct
 * parametres (api/parametres_json.h) with the version's metadata:
 *   {"version", "date_effet", "cree_par", "cree_le", "programme",
 *    "chef_projet", "delais", "dates_limites_depot"}
 * version 0 and null metadata when no version is in force (the defaults of
 * parametres_defaut). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../db/parametres_repository.h"
#include "../../domain/authz.h"
#include "../auth.h"
#include "../parametres_json.h"
#include "../query.h"
#include "../query_params.h"
#include "../xalloc.h"
#include "handlers.h"
#include "programme.h"

#define STALE_DETAIL                                                                               \
    "Les paramètres en vigueur ont changé depuis votre lecture : relisez-les (ETag)."

/* false after a 403 when the caller may not do action (no target: national
 * data). */
static bool allowed_or_reply(struct request_ctx *ctx, enum action action)
{
    if (authz_decide(&ctx->principal->authz, action, NULL) == AUTHZ_ALLOW)
        return true;
    respond_problem(ctx, PROBLEM_INTERDIT,
                    action == ACTION_PARAMETRES_WRITE
                        ? "Seule l'administration nationale (ANCT) modifie les paramètres du "
                          "programme."
                        : "Vous ne pouvez pas lire les paramètres du programme.");
    return false;
}

/* The representation of (p, info) with the pieces (JSON text of an array)
 * as compact JSON text (owned, free()). */
static char *render(const struct parametres *p, const struct parametres_version_info *info,
                    const char *pieces)
{
    json_t *o = xjson(json_object());
    json_object_set_new(o, "version", xjson(json_integer(info->version)));
    if (info->version > 0) {
        char day[11];
        date_format(info->date_effet, day);
        json_object_set_new(o, "date_effet", xjson(json_string(day)));
        json_object_set_new(o, "cree_par", xjson(json_string(info->cree_par)));
        json_object_set_new(o, "cree_le", xjson(json_string(info->cree_le)));
    } else {
        json_object_set_new(o, "date_effet", json_null());
        json_object_set_new(o, "cree_par", json_null());
        json_object_set_new(o, "cree_le", json_null());
    }
    json_t *doc = parametres_json_document(p);
    json_object_update(o, doc);
    json_decref(doc);
    json_t *list = json_loads(pieces, 0, NULL);
    if (!json_is_array(list))
        die_bug("pieces_requises stored is not an array");
    json_object_set_new(o, "pieces_requises", list);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!text)
        die_bug("parametres representation");
    return text;
}

/* The version in force on day, rendered (*json owned), and its version. */
static enum db_result read_in_force(struct app *app, struct date day, char **json, long *version,
                                    struct db_error *err)
{
    struct db_conn *conn = NULL;
    struct parametres p;
    struct parametres_version_info info;
    *json = NULL;
    enum db_result r = db_pool_acquire(app->pool, &conn, err);
    if (r != DB_OK)
        return r;
    char *pieces = NULL;
    r = parametres_version_en_vigueur(conn, day, &p, &info, err);
    if (r == DB_OK)
        r = parametres_pieces_requises(conn, info.version, &pieces, err);
    db_pool_release(app->pool, conn);
    if (r == DB_OK) {
        *json = render(&p, &info, pieces);
        *version = info.version;
    }
    free(pieces);
    return r;
}

/* ---- GET /api/v1/parametres ----------------------------------------------- */

struct lire_query {
    const char *date;
};

static bool is_date_text(const char *s)
{
    struct date d;
    return date_parse(s, &d);
}

static const struct query_field lire_params[] = {
    QUERY_CODE_FIELD("date", offsetof(struct lire_query, date), is_date_text,
                     "une date AAAA-MM-JJ existant au calendrier"),
    QUERY_FIELDS_END,
};

void handle_get_parametres(struct request_ctx *ctx)
{
    struct lire_query q;
    struct date day;
    if (!allowed_or_reply(ctx, ACTION_PARAMETRES_READ) || !query_or_reply(ctx, lire_params, &q))
        return;
    if (q.date)
        date_parse(q.date, &day);
    else
        programme_today(&day);
    char *json = NULL;
    long version = 0;
    struct db_error err = {{0}, {0}};
    enum db_result r = read_in_force(ctx->app, day, &json, &version, &err);
    if (r != DB_OK) {
        respond_db_error(ctx, r, &err);
        return;
    }
    char etag[24];
    http_etag(json, strlen(json), etag);
    respond_conditional_json(ctx, json, strlen(json), etag);
    free(json);
}

/* ---- PUT /api/v1/parametres ----------------------------------------------- */

struct ecrire_work {
    struct parametres_nouvelle n;
    struct parametres out;
    struct parametres_version_info info;
    char *pieces; /* as stored (owned) */
};

static enum db_result ecrire_unit(struct db_tx *tx, void *arg, struct db_error *err)
{
    struct ecrire_work *w = arg;
    free(w->pieces);
    w->pieces = NULL;
    enum db_result r = parametres_creer(tx, &w->n, &w->out, &w->info, err);
    if (r == DB_OK)
        r = parametres_pieces_requises(tx->conn, w->info.version, &w->pieces, err);
    return r;
}

/* The ETag of the version in force today ("" when it cannot be read). */
static void current_etag(struct request_ctx *ctx, const char *id, char out[24])
{
    (void)id;
    struct date today;
    char *json = NULL;
    long version = 0;
    struct db_error err = {{0}, {0}};
    out[0] = '\0';
    programme_today(&today);
    if (read_in_force(ctx->app, today, &json, &version, &err) == DB_OK)
        http_etag(json, strlen(json), out);
    free(json);
}

void handle_put_parametres(struct request_ctx *ctx)
{
    json_t *body = NULL;
    char *current = NULL, *document = NULL, *json = NULL;
    struct ecrire_work w;
    struct parametres p;
    struct date effet, today;
    FIELD_ERRORS(errs);
    if (!allowed_or_reply(ctx, ACTION_PARAMETRES_WRITE) ||
        !query_or_reply(ctx, query_no_params, NULL) || !json_body_read_or_reply(ctx, &body))
        return;
    json_t *pieces = NULL;
    parametres_json_read(body, &p, &effet, &pieces, &errs);
    json_decref(body);
    if (!body_errors_or_reply(ctx, &errs)) {
        json_decref(pieces);
        return;
    }

    /* If-Match: on the version in force today, as GET /parametres shows it. */
    programme_today(&today);
    long version_lue = 0;
    struct db_error err = {{0}, {0}};
    enum db_result r = read_in_force(ctx->app, today, &current, &version_lue, &err);
    if (r != DB_OK) {
        respond_db_error(ctx, r, &err);
        goto out;
    }
    char etag[24];
    http_etag(current, strlen(current), etag);
    if (!if_match_or_reply(ctx, etag))
        goto out;

    struct rule_report violations;
    rule_report_init(&violations);
    if (date_compare(effet, today) < 0) {
        char day[11];
        date_format(today, day);
        rule_report_add(&violations, "", "date-effet-passee", "/date_effet",
                        "Une nouvelle version des paramètres prend effet aujourd'hui (%s) ou "
                        "plus tard : une décision passée garde les paramètres de sa date.",
                        day);
    }
    parametres_check(&p, &violations);
    if (!programme_rules_hold_or_reply(ctx, &violations))
        goto out;

    json_t *doc = parametres_json_document(&p);
    json_object_set(doc, "pieces_requises", pieces);
    document = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (!document)
        die_bug("parametres document");
    memset(&w, 0, sizeof w);
    w.n = (struct parametres_nouvelle){.date_effet = effet,
                                       .document_json = document,
                                       .aujourdhui = today,
                                       .version_lue = version_lue};
    r = programme_mutate(ctx, ecrire_unit, &w, &err);
    const struct db_answers answers = {.stale = STALE_DETAIL};
    if (programme_mutation_reply(ctx, r, &err, NULL, &answers, current_etag, NULL)) {
        json = render(&w.out, &w.info, w.pieces);
        /* The ETag is /parametres' own only when the new version is in force
         * today; a future version leaves today's representation, and its
         * ETag, as they were. */
        if (date_compare(effet, today) == 0)
            respond_json_etag(ctx->res, 200, json);
        else
            respond_json_raw(ctx->res, 200, json, strlen(json));
    }
    free(w.pieces);
out:
    free(json);
    free(document);
    free(current);
    json_decref(pieces);
}

/* ---- GET /api/v1/parametres/versions[/:version] --------------------------- */

void handle_list_parametres_versions(struct request_ctx *ctx)
{
    struct query_page q;
    char key[CURSOR_KEY_MAX + 1];
    const char *after = NULL;
    if (!allowed_or_reply(ctx, ACTION_PARAMETRES_READ) ||
        !query_or_reply(ctx, query_page_params, &q))
        return;
    uint32_t fp = cursor_fingerprint("parametres");
    if (!query_keyed_cursor_or_reply(ctx, "parametres-versions", fp, query_version_key_valid, key,
                                     &after))
        return;
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    char *json = NULL, last[24];
    bool more = false;
    size_t total = 0;
    enum db_result r = db_pool_acquire(ctx->app->pool, &conn, &err);
    if (r == DB_OK) {
        r = parametres_versions(conn, after ? strtol(after, NULL, 10) : 0, q.limit, &json, last,
                                &more, &total, &err);
        db_pool_release(ctx->app->pool, conn);
    }
    if (r != DB_OK)
        respond_db_error(ctx, r, &err);
    else
        respond_page(ctx, query_page_params, json, "parametres-versions", fp, last, more, total);
    free(json);
}

void handle_get_parametres_version(struct request_ctx *ctx)
{
    long version = 0;
    if (!allowed_or_reply(ctx, ACTION_PARAMETRES_READ) ||
        !query_or_reply(ctx, query_no_params, NULL) ||
        !query_version_or_reply(ctx, "version", &version))
        return;
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    struct parametres p;
    struct parametres_version_info info;
    enum db_result r = db_pool_acquire(ctx->app->pool, &conn, &err);
    char *pieces = NULL;
    if (r == DB_OK) {
        r = parametres_version_lire(conn, version, &p, &info, &err);
        if (r == DB_OK)
            r = parametres_pieces_requises(conn, version, &pieces, &err);
        db_pool_release(ctx->app->pool, conn);
    }
    if (!respond_lookup_or_reply(ctx, r, &err,
                                 "Les paramètres n'ont pas de version de ce numéro.")) {
        free(pieces);
        return;
    }
    char *json = render(&p, &info, pieces);
    free(pieces);
    char etag[24];
    http_etag(json, strlen(json), etag);
    respond_conditional_json(ctx, json, strlen(json), etag);
    free(json);
}
