/* The plan d'action of a territoire (issue #9 §1, domain.md §1.8): the living
 * plan (programme_global, perimetres by thématique) read and changed by
 * "fiche.lire" / "fiche.ecrire" on the territoire (404 outside the
 * perimeter, 403 inside without the right), and its frozen versions, one per
 * comité décision valide_plan (frozen by decision_insert, in the décision's
 * transaction: db/comite_repository.h). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../db/plan_action_repository.h"
#include "../../db/territoire_lock.h"
#include "../../domain/identifiers.h"
#include "../json_spec.h"
#include "../query.h"
#include "fiches_common.h"
#include "handlers.h"
#include "programme.h"

#define TERRITOIRE_404       "Aucun territoire visible n'a cet identifiant."
#define PROGRAMME_GLOBAL_MAX 20000
#define DESCRIPTION_MAX      20000
#define COMMUNES_MAX         500

/* A plan's perimetres are defined by the fiches' thématiques
 * (fiche_thematiques), one perimetre per thématique at most. */
#define THEMATIQUE_COUNT ((size_t)FICHE_THEMATIQUE_COUNT)

struct perimetre_body {
    int thematique;
    const char *description;
    const json_t *communes;
};

static const struct json_field perimetre_fields[] = {
    {.name = "thematique",
     .kind = JSON_FIELD_ENUM,
     .offset = offsetof(struct perimetre_body, thematique),
     .on_create = JSON_CREATE_REQUIRED,
     .values = fiche_thematiques},
    {.name = "description",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct perimetre_body, description),
     .on_create = JSON_CREATE_REQUIRED,
     .max_length = DESCRIPTION_MAX},
    {.name = "communes",
     .kind = JSON_FIELD_VALUE,
     .offset = offsetof(struct perimetre_body, communes),
     .on_create = JSON_CREATE_REQUIRED},
    JSON_FIELDS_END,
};

struct plan_body {
    const char *programme_global;
    const json_t *perimetres;
};

static const struct json_field plan_fields[] = {
    {.name = "programme_global",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct plan_body, programme_global),
     .max_length = PROGRAMME_GLOBAL_MAX},
    {.name = "perimetres",
     .kind = JSON_FIELD_VALUE,
     .offset = offsetof(struct plan_body, perimetres)},
    JSON_FIELDS_END,
};

/* The communes of one perimetre at `prefix` (/perimetres/<i>): an array of at
 * most COMMUNES_MAX INSEE codes (R42's format), each once. */
static void communes_check(const json_t *communes, const char *prefix, struct field_errors *errs)
{
    char pointer[64];
    snprintf(pointer, sizeof pointer, "%s/communes", prefix);
    if (!communes)
        return;
    if (!json_is_array(communes)) {
        field_errors_add(errs, pointer, NULL, "type-invalide",
                         "« communes » est une liste de codes INSEE.");
        return;
    }
    if (json_array_size(communes) > COMMUNES_MAX) {
        field_errors_add(errs, pointer, NULL, "longueur-invalide",
                         "Au plus %d communes pour un périmètre.", COMMUNES_MAX);
        return;
    }
    for (size_t j = 0; j < json_array_size(communes); j++) {
        const char *code = json_string_value(json_array_get(communes, j));
        char item[120];
        snprintf(item, sizeof item, "%s/%zu", pointer, j);
        if (!code || !insee_code_is_valid(code)) {
            field_errors_add(errs, item, NULL, "format-invalide",
                             "Code INSEE de commune attendu (5 caractères, ex. « 08105 »).");
            continue;
        }
        for (size_t k = 0; k < j; k++) {
            const char *other = json_string_value(json_array_get(communes, k));
            if (other && strcmp(other, code) == 0) {
                field_errors_add(errs, item, NULL, "doublon",
                                 "La commune %s est déjà citée dans ce périmètre.", code);
                break;
            }
        }
    }
}

/* The perimetres member: an array of perimetre objects, one per thématique
 * at most. */
static void perimetres_check(const json_t *perimetres, struct field_errors *errs)
{
    if (!perimetres)
        return;
    if (!json_is_array(perimetres)) {
        field_errors_add(errs, "/perimetres", NULL, "type-invalide",
                         "« perimetres » est une liste de périmètres (un par thématique).");
        return;
    }
    if (json_array_size(perimetres) > THEMATIQUE_COUNT) {
        field_errors_add(errs, "/perimetres", NULL, "longueur-invalide",
                         "Au plus un périmètre par thématique (%zu).", THEMATIQUE_COUNT);
        return;
    }
    bool seen[THEMATIQUE_COUNT] = {false};
    for (size_t i = 0; i < json_array_size(perimetres); i++) {
        const json_t *p = json_array_get(perimetres, i);
        char prefix[40];
        snprintf(prefix, sizeof prefix, "/perimetres/%zu", i);
        if (!json_is_object(p)) {
            field_errors_add(errs, prefix, NULL, "type-invalide",
                             "Un périmètre est un objet {thematique, description, communes}.");
            continue;
        }
        struct perimetre_body in = {.thematique = -1};
        json_spec_apply(p, perimetre_fields, JSON_SPEC_CREATE, &in, prefix, errs);
        communes_check(in.communes, prefix, errs);
        if (in.thematique >= 0 && (size_t)in.thematique < THEMATIQUE_COUNT) {
            if (seen[in.thematique]) {
                char pointer[64];
                snprintf(pointer, sizeof pointer, "%s/thematique", prefix);
                field_errors_add(errs, pointer, NULL, "doublon",
                                 "La thématique « %s » a déjà son périmètre.",
                                 fiche_thematiques[in.thematique]);
            }
            seen[in.thematique] = true;
        }
    }
}

/* ---- GET /api/v1/territoires/:id_pvd/plan-action ---------------------- */

/* Reads territoire id_pvd's plan into *row (the caller releases it). false:
 * 503/500 was sent (the territoire exists: its scope was just loaded). */
static bool plan_read_or_reply(struct request_ctx *ctx, const char *id_pvd,
                               struct plan_action_row *row)
{
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    memset(row, 0, sizeof *row);
    enum db_result r = db_pool_acquire(ctx->app->pool, &conn, &err);
    if (r == DB_OK) {
        r = plan_action_get(conn, id_pvd, row, &err);
        db_pool_release(ctx->app->pool, conn);
    }
    return respond_lookup_or_reply(ctx, r, &err, TERRITOIRE_404);
}

void handle_get_plan_action(struct request_ctx *ctx)
{
    struct territoire_scope scope;
    if (!programme_territoire_or_reply(ctx, ACTION_FICHE_READ, query_path_param(ctx, "id_pvd"),
                                       TERRITOIRE_404, &scope) ||
        !query_or_reply(ctx, query_no_params, NULL))
        return;
    struct plan_action_row row;
    if (plan_read_or_reply(ctx, scope.id_pvd, &row)) {
        char etag[24];
        http_etag(row.json, strlen(row.json), etag);
        respond_conditional_json(ctx, row.json, strlen(row.json), etag);
    }
    plan_action_row_release(&row);
}

/* ---- PATCH /api/v1/territoires/:id_pvd/plan-action -------------------- */

struct plan_work {
    const char *id_pvd;
    const char *etag; /* the ETag the caller's If-Match matched */
    const char *body_json;
    struct rule_report violations;
    struct plan_action_row after;
};

/* Under the territoire lock: the plan as it is (its ETag compared with the
 * one the caller matched), the perimetres' communes against the territoire's
 * (DB_CONFLICT with violations), then the write and its journal row. */
static enum db_result plan_unit(struct db_tx *tx, void *data, struct db_error *err)
{
    struct plan_work *w = data;
    struct plan_action_row before;
    memset(&w->violations, 0, sizeof w->violations);
    plan_action_row_release(&w->after);
    enum db_result r = territoire_lock(tx, w->id_pvd, err);
    if (r != DB_OK)
        return r;
    r = plan_action_get(tx->conn, w->id_pvd, &before, err);
    if (r != DB_OK)
        return r;
    char current[24];
    http_etag(before.json, strlen(before.json), current);
    long revision = before.revision;
    plan_action_row_release(&before);
    if (strcmp(current, w->etag) != 0)
        return DB_STALE;
    r = plan_action_perimetres_check(tx, w->id_pvd, w->body_json, &w->violations, err);
    if (r == DB_OK && rule_report_any(&w->violations))
        return DB_CONFLICT;
    if (r == DB_OK)
        r = plan_action_update(tx, w->id_pvd, revision, w->body_json, &w->after, err);
    return r;
}

/* The plan's current ETag, for a 412 ("" when it cannot be read). */
static void plan_current_etag(struct request_ctx *ctx, const char *id_pvd, char out[24])
{
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    struct plan_action_row row = {0};
    out[0] = '\0';
    if (db_pool_acquire(ctx->app->pool, &conn, &err) != DB_OK)
        return;
    if (plan_action_get(conn, id_pvd, &row, &err) == DB_OK)
        http_etag(row.json, strlen(row.json), out);
    db_pool_release(ctx->app->pool, conn);
    plan_action_row_release(&row);
}

void handle_update_plan_action(struct request_ctx *ctx)
{
    struct territoire_scope scope;
    if (!programme_territoire_or_reply(ctx, ACTION_FICHE_WRITE, query_path_param(ctx, "id_pvd"),
                                       TERRITOIRE_404, &scope) ||
        !query_or_reply(ctx, query_no_params, NULL))
        return;
    struct plan_action_row row;
    json_t *body = NULL;
    char *text = NULL;
    if (!plan_read_or_reply(ctx, scope.id_pvd, &row))
        goto out;
    if (!json_body_read_or_reply(ctx, &body))
        goto out;
    struct plan_body in;
    FIELD_ERRORS(errs);
    memset(&in, 0, sizeof in);
    json_spec_apply(body, plan_fields, JSON_SPEC_PATCH, &in, "", &errs);
    perimetres_check(in.perimetres, &errs);
    if (!body_errors_or_reply(ctx, &errs))
        goto out;
    char etag[24];
    http_etag(row.json, strlen(row.json), etag);
    if (!if_match_or_reply(ctx, etag))
        goto out;
    text = json_dumps(body, JSON_COMPACT);
    if (!text) {
        respond_problem(ctx, PROBLEM_ERREUR_INTERNE, NULL);
        goto out;
    }
    struct plan_work w = {.id_pvd = scope.id_pvd, .etag = etag, .body_json = text};
    struct db_error err = {{0}, {0}};
    enum db_result r = programme_mutate(ctx, plan_unit, &w, &err);
    const struct db_answers answers = {
        .not_found = TERRITOIRE_404,
        .stale = "Le plan d'action a changé depuis votre lecture : relisez-le (ETag)."};
    if (programme_mutation_reply(ctx, r, &err, &w.violations, &answers, plan_current_etag,
                                 scope.id_pvd))
        respond_json_etag(ctx->res, 200, w.after.json);
    plan_action_row_release(&w.after);
out:
    free(text);
    json_decref(body);
    plan_action_row_release(&row);
}

/* ---- GET …/plan-action/versions[/:version] ----------------------------- */

void handle_list_plan_action_versions(struct request_ctx *ctx)
{
    struct territoire_scope scope;
    if (!programme_territoire_or_reply(ctx, ACTION_FICHE_READ, query_path_param(ctx, "id_pvd"),
                                       TERRITOIRE_404, &scope))
        return;
    struct query_page q;
    char key[CURSOR_KEY_MAX + 1];
    const char *after = NULL;
    if (!query_or_reply(ctx, query_page_params, &q))
        return;
    uint32_t fp = cursor_fingerprint(scope.id_pvd);
    if (!query_keyed_cursor_or_reply(ctx, "plan-versions", fp, query_version_key_valid, key,
                                     &after))
        return;
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    char *json = NULL, last[24];
    bool more = false;
    size_t total = 0;
    enum db_result r = db_pool_acquire(ctx->app->pool, &conn, &err);
    if (r == DB_OK) {
        r = plan_action_versions(conn, scope.id_pvd, after ? strtol(after, NULL, 10) : 0, q.limit,
                                 &json, last, &more, &total, &err);
        db_pool_release(ctx->app->pool, conn);
    }
    if (r != DB_OK)
        respond_db_error(ctx, r, &err);
    else
        respond_page(ctx, query_page_params, json, "plan-versions", fp, last, more, total);
    free(json);
}

void handle_get_plan_action_version(struct request_ctx *ctx)
{
    struct territoire_scope scope;
    if (!programme_territoire_or_reply(ctx, ACTION_FICHE_READ, query_path_param(ctx, "id_pvd"),
                                       TERRITOIRE_404, &scope) ||
        !query_or_reply(ctx, query_no_params, NULL))
        return;
    long version = 0;
    if (!query_version_or_reply(ctx, "version", &version))
        return;
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    char *json = NULL;
    enum db_result r = db_pool_acquire(ctx->app->pool, &conn, &err);
    if (r == DB_OK) {
        r = plan_action_version(conn, scope.id_pvd, version, &json, &err);
        db_pool_release(ctx->app->pool, conn);
    }
    if (respond_lookup_or_reply(
            ctx, r, &err, "Le plan d'action de ce territoire n'a pas de version de ce numéro.")) {
        char etag[24];
        http_etag(json, strlen(json), etag);
        respond_conditional_json(ctx, json, strlen(json), etag);
    }
    free(json);
}
