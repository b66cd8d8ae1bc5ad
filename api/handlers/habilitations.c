/* Habilitations: who may act, with which role, on which perimeter (issue #3
 * §2). Decisions come from domain/authz.c; storage and journal from db/. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../db/habilitation_repository.h"
#include "../../domain/date.h"
#include "../../domain/identifiers.h"
#include "../auth.h"
#include "../cursor.h"
#include "../json_spec.h"
#include "../log.h"
#include "../query.h"
#include "../xalloc.h"
#include "handlers.h"
#include "perimetre.h"

/* The actor of a journaled mutation, from the authenticated principal. */

static struct authz_target target_of(const struct perimeter_scope *t, enum role role)
{
    struct authz_target target;
    memset(&target, 0, sizeof target);
    target.departements = t->departements;
    target.departement_count = t->departement_count;
    target.regions = t->regions;
    target.region_count = t->region_count;
    target.has_grant_role = true;
    target.grant_role = role;
    return target;
}

struct habilitation_body {
    const char *issuer;
    const char *subject;
    int role;
    const json_t *perimetre;
    struct date valide_du;
    bool has_valide_du;
    struct date valide_au;
    bool has_valide_au;
};

static const struct json_field habilitation_fields[] = {
    {.name = "issuer",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct habilitation_body, issuer),
     .on_create = JSON_CREATE_REQUIRED,
     .min_length = 1,
     .max_length = 255},
    {.name = "subject",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct habilitation_body, subject),
     .on_create = JSON_CREATE_REQUIRED,
     .min_length = 1,
     .max_length = 255},
    {.name = "role",
     .kind = JSON_FIELD_ENUM,
     .offset = offsetof(struct habilitation_body, role),
     .on_create = JSON_CREATE_REQUIRED,
     .values = role_names_all},
    {.name = "perimetre",
     .kind = JSON_FIELD_VALUE,
     .offset = offsetof(struct habilitation_body, perimetre),
     .on_create = JSON_CREATE_REQUIRED},
    {.name = "valide_du",
     .kind = JSON_FIELD_DATE,
     .offset = offsetof(struct habilitation_body, valide_du),
     .present_at = JSON_PRESENT_AT(struct habilitation_body, has_valide_du)},
    {.name = "valide_au",
     .kind = JSON_FIELD_DATE,
     .offset = offsetof(struct habilitation_body, valide_au),
     .nullable = true,
     .present_at = JSON_PRESENT_AT(struct habilitation_body, has_valide_au)},
    JSON_FIELDS_END,
};

static void today(struct date *d)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    d->year = tm.tm_year + 1900;
    d->month = tm.tm_mon + 1;
    d->day = tm.tm_mday;
}

struct grant_work {
    const struct habilitation_new *h;
    const struct journal_scope *scope;
    struct habilitation_row created;
};

static enum db_result grant_unit(struct db_tx *tx, void *ctx, struct db_error *err)
{
    struct grant_work *w = ctx;
    habilitation_row_release(&w->created);
    return habilitation_insert(tx, w->h, w->scope, &w->created, err);
}

void handle_create_habilitation(struct request_ctx *ctx)
{
    json_t *body = NULL;
    struct habilitation_body in;
    struct perimeter perimeter;
    struct referentiel_snapshot *snap = NULL;
    FIELD_ERRORS(errs);
    memset(&in, 0, sizeof in);
    if (!json_body_read_or_reply(ctx, &body))
        return;
    json_spec_apply(body, habilitation_fields, JSON_SPEC_CREATE, &in, "", &errs);
    habilitation_read_perimeter(in.perimetre, &perimeter, &errs);
    if (!body_errors_or_reply(ctx, &errs))
        goto out;
    snap = referentiel_store_acquire(ctx->app->referentiel);
    if (snap == NULL) {
        respond_unavailable(ctx, "Référentiel des communes non chargé.");
        goto out;
    }
    enum role role = (enum role)in.role;
    habilitation_check_perimeter(role, &perimeter, &snap->ref, &errs);
    if (!in.has_valide_du)
        today(&in.valide_du);
    if (in.has_valide_au && in.valide_au.year && date_compare(in.valide_au, in.valide_du) < 0)
        field_errors_add(&errs, "/valide_au", NULL, "dates-incoherentes",
                         "« valide_au » doit être postérieure ou égale à « valide_du ».");
    if (errs.count > 0) {
        respond_problem_fields(ctx, PROBLEM_REGLE_NON_RESPECTEE,
                               "L'habilitation ne respecte pas les règles du programme.", &errs);
        goto out;
    }
    struct perimeter_scope touched;
    perimeter_scope_of(&perimeter, &snap->ref, &touched);
    struct authz_target target = target_of(&touched, role);
    if (authz_decide(&ctx->principal->authz, ACTION_HABILITATION_GRANT, &target) != AUTHZ_ALLOW) {
        bool national = role == ROLE_ANCT_NATIONAL || role == ROLE_LECTEUR_NATIONAL;
        respond_problem(ctx, PROBLEM_INTERDIT,
                        national && ctx->principal->authz.is_machine
                            ? "Un client machine n'accorde pas de rôle national (anct_national, "
                              "lecteur_national) : seule une personne de l'ANCT, authentifiée "
                              "par ProConnect, le peut."
                            : "Vous ne pouvez pas accorder ce rôle sur ce périmètre.");
        goto out;
    }
    char du[11], au[11];
    date_format(in.valide_du, du);
    if (in.has_valide_au && in.valide_au.year)
        date_format(in.valide_au, au);
    struct habilitation_new h = {in.issuer,
                                 in.subject,
                                 role,
                                 &perimeter,
                                 du,
                                 in.has_valide_au && in.valide_au.year ? au : NULL,
                                 ctx->principal->acteur,
                                 touched.departements,
                                 touched.regions};
    const char *sirens[PERIMETER_MAX + 1] = {NULL}, *terrs[PERIMETER_MAX + 1] = {NULL};
    for (size_t i = 0; i < perimeter.siren_count; i++)
        sirens[i] = perimeter.sirens[i];
    for (size_t i = 0; i < perimeter.territoire_count; i++)
        terrs[i] = perimeter.territoires[i];
    struct journal_scope scope = {touched.departements, touched.regions, sirens, terrs};
    struct grant_work work;
    memset(&work, 0, sizeof work);
    work.h = &h;
    work.scope = &scope;
    struct journal_actor actor = auth_journal_actor(ctx);
    struct db_error err = {{0}, {0}};
    enum db_result r = db_run_mutation(ctx->app->pool, DB_ISOLATION_READ_COMMITTED, &actor,
                                       grant_unit, &work, &err);
    const struct db_answers answers = {
        .conflict = "Cette identité a déjà une habilitation non révoquée : révoquez-la d'abord."};
    if (respond_db_outcome(ctx, r, &err, &answers)) {
        http_set_location(ctx->res, "/api/v1/habilitations/", work.created.id);
        respond_json_etag(ctx->res, 201, work.created.json);
    }
    habilitation_row_release(&work.created);
out:
    referentiel_snapshot_release(ctx->app->referentiel, snap);
    json_decref(body);
}

/* Reads one habilitation and decides: false when a problem was sent. */
static bool load_visible(struct request_ctx *ctx, enum action action, struct habilitation_row *row)
{
    const char *id = query_id_or_reply(ctx, query_is_uuid, "Identifiant UUID attendu.");
    if (id == NULL)
        return false;
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    enum db_result r = db_pool_acquire(ctx->app->pool, &conn, &err);
    if (r == DB_OK) {
        r = habilitation_get(conn, id, row, &err);
        db_pool_release(ctx->app->pool, conn);
    }
    if (!respond_lookup_or_reply(ctx, r, &err, "Aucune habilitation visible n'a cet identifiant."))
        return false;
    struct referentiel_snapshot *snap = referentiel_store_acquire(ctx->app->referentiel);
    struct perimeter_scope touched;
    memset(&touched, 0, sizeof touched);
    if (snap)
        perimeter_scope_of(&row->perimeter, &snap->ref, &touched);
    struct authz_target target = target_of(&touched, row->role);
    /* A collectivité or a financeur is concerned by the habilitations of its
     * own organisations and territoires. */
    const char *sirens[PERIMETER_MAX + 1] = {NULL}, *terrs[PERIMETER_MAX + 1] = {NULL};
    for (size_t i = 0; i < row->perimeter.siren_count; i++)
        sirens[i] = row->perimeter.sirens[i];
    for (size_t i = 0; i < row->perimeter.territoire_count; i++)
        terrs[i] = row->perimeter.territoires[i];
    target.sirens = sirens;
    target.siren_count = row->perimeter.siren_count;
    target.territoire = row->perimeter.territoire_count ? terrs[0] : NULL;
    enum authz_decision d = authz_decide(&ctx->principal->authz, action, &target);
    referentiel_snapshot_release(ctx->app->referentiel, snap);
    if (d == AUTHZ_ALLOW)
        return true;
    if (d == AUTHZ_HIDE)
        respond_problem(ctx, PROBLEM_RESSOURCE_INTROUVABLE,
                        "Aucune habilitation visible n'a cet identifiant.");
    else
        respond_problem(ctx, PROBLEM_INTERDIT,
                        "Votre rôle ne permet pas cette action sur cette habilitation.");
    habilitation_row_release(row);
    return false;
}

void handle_get_habilitation(struct request_ctx *ctx)
{
    struct habilitation_row row;
    if (!load_visible(ctx, ACTION_HABILITATION_READ, &row))
        return;
    char etag[24];
    http_etag(row.json, strlen(row.json), etag);
    respond_conditional_json(ctx, row.json, strlen(row.json), etag);
    habilitation_row_release(&row);
}

struct revoke_work {
    const char *id;
    const char *by;
    const struct journal_scope *scope;
    struct habilitation_row after;
};

static enum db_result revoke_unit(struct db_tx *tx, void *ctx, struct db_error *err)
{
    struct revoke_work *w = ctx;
    habilitation_row_release(&w->after);
    return habilitation_revoke(tx, w->id, w->by, w->scope, &w->after, err);
}

void handle_revoke_habilitation(struct request_ctx *ctx)
{
    struct habilitation_row row;
    if (!load_visible(ctx, ACTION_HABILITATION_REVOKE, &row))
        return;
    char etag[24];
    http_etag(row.json, strlen(row.json), etag);
    if (!if_match_or_reply(ctx, etag)) {
        habilitation_row_release(&row);
        return;
    }
    struct referentiel_snapshot *snap = referentiel_store_acquire(ctx->app->referentiel);
    struct perimeter_scope touched;
    memset(&touched, 0, sizeof touched);
    if (snap)
        perimeter_scope_of(&row.perimeter, &snap->ref, &touched);
    const char *sirens[PERIMETER_MAX + 1] = {NULL}, *terrs[PERIMETER_MAX + 1] = {NULL};
    for (size_t i = 0; i < row.perimeter.siren_count; i++)
        sirens[i] = row.perimeter.sirens[i];
    for (size_t i = 0; i < row.perimeter.territoire_count; i++)
        terrs[i] = row.perimeter.territoires[i];
    struct journal_scope scope = {touched.departements, touched.regions, sirens, terrs};
    struct revoke_work work;
    memset(&work, 0, sizeof work);
    work.id = row.id;
    work.by = ctx->principal->acteur;
    work.scope = &scope;
    struct journal_actor actor = auth_journal_actor(ctx);
    struct db_error err = {{0}, {0}};
    enum db_result r = db_run_mutation(ctx->app->pool, DB_ISOLATION_READ_COMMITTED, &actor,
                                       revoke_unit, &work, &err);
    const struct db_answers answers = {.not_found =
                                           "Aucune habilitation visible n'a cet identifiant.",
                                       .conflict = "Cette habilitation est déjà révoquée."};
    if (respond_db_outcome(ctx, r, &err, &answers))
        respond_json_etag(ctx->res, 200, work.after.json);
    habilitation_row_release(&work.after);
    referentiel_snapshot_release(ctx->app->referentiel, snap);
    habilitation_row_release(&row);
}

static bool role_is_valid(const char *s)
{
    enum role parsed;
    return role_parse(s, &parsed);
}

static bool etat_is_valid(const char *s)
{
    return strcmp(s, "active") == 0 || strcmp(s, "revoquee") == 0;
}

/* The query of GET /habilitations. */
struct habilitation_query {
    size_t limit;
    struct habilitation_filter f;
};
#define HQ(member) offsetof(struct habilitation_query, member)
static const struct query_field habilitation_query_fields[] = {
    QUERY_PAGE(struct habilitation_query, limit),
    {.name = "issuer", .kind = QUERY_TEXT, .offset = HQ(f.issuer)},
    {.name = "subject", .kind = QUERY_TEXT, .offset = HQ(f.subject)},
    {.name = "role",
     .kind = QUERY_CODE,
     .offset = HQ(f.role),
     .valid = role_is_valid,
     .message = "Rôle inconnu."},
    {.name = "etat",
     .kind = QUERY_CODE,
     .offset = HQ(f.etat),
     .valid = etat_is_valid,
     .message = "« etat » vaut active ou revoquee."},
    QUERY_FIELDS_END,
};

void handle_list_habilitations(struct request_ctx *ctx)
{
    char key[CURSOR_KEY_MAX + 1], canon[800];
    const char *after = NULL;
    struct habilitation_query q;
    memset(&q, 0, sizeof q);
    if (!query_or_reply(ctx, habilitation_query_fields, &q))
        return;
    size_t limit = q.limit;
    const char *role = q.f.role, *etat = q.f.etat;
    const struct authz_principal *who = &ctx->principal->authz;
    struct habilitation_filter f = q.f;
    if (who->role == ROLE_PREFECTURE_INSTRUCTEUR)
        f.visible_departements = &who->perimeter;
    else if (who->role == ROLE_PREFECTURE_REGION)
        f.visible_regions = &who->perimeter;
    else if (who->role != ROLE_ANCT_NATIONAL) {
        respond_problem(ctx, PROBLEM_INTERDIT,
                        "Votre rôle ne permet pas de lister les habilitations (voir /api/v1/moi).");
        return;
    }
    snprintf(canon, sizeof canon, "i=%s|s=%s|r=%s|e=%s", f.issuer ? f.issuer : "",
             f.subject ? f.subject : "", role ? role : "", etat ? etat : "");
    uint32_t fp = cursor_fingerprint(canon);
    if (!query_keyed_cursor_or_reply(ctx, "habilitations", fp, query_is_uuid, key, &after))
        return;
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    char *json = NULL, last[37];
    bool more = false;
    size_t total = 0;
    enum db_result r = db_pool_acquire(app_read_pool(ctx->app), &conn, &err);
    if (r == DB_OK) {
        r = habilitation_list(conn, &f, after, limit, &json, last, &more, &total, &err);
        db_pool_release(app_read_pool(ctx->app), conn);
    }
    if (r != DB_OK) {
        respond_db_error(ctx, r, &err);
        return;
    }
    respond_page(ctx, habilitation_query_fields, json, "habilitations", fp, last, more, total);
    free(json);
}
