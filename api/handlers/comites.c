/* Comité de projet (issue 4 §3, domain.md §1.13): one comité per territoire
 * whose membres satisfy R40 at constitution and after each change (the rule
 * is domain/convention.h comite_r40_check), its séances and their décisions
 * (a décision names at most a convention of the same territoire). Reads are
 * "projet.lire", writes "projet.ecrire", decided on the territoire. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../db/comite_repository.h"
#include "../../db/fiche_repository.h"
#include "../../domain/convention.h"
#include "../../domain/projet.h"
#include "../json_spec.h"
#include "../query.h"
#include "../xalloc.h"
#include "gouvernance.h"
#include "handlers.h"

#define COMITE_404     "Aucun comité de projet visible n'a cet identifiant."
#define SEANCE_404     "Aucune séance visible n'a cet identifiant."
#define TERRITOIRE_404 "Aucun territoire visible n'a cet identifiant."
#define MEMBRES_MAX    COMITE_MEMBRES_MAX

static const char *const qualites[] = {
    "executif_commune",    "executif_epci", "chef_projet", "prefet",
    "signataire_adhesion", "partenaire",    "autre",       NULL};
static const char *const types_decision[] = {"valide_strategie",
                                             "valide_plan",
                                             "valide_fiche",
                                             "modifie_fiche",
                                             "abandonne_fiche",
                                             "autre",
                                             NULL};

/* ---- Comités ----------------------------------------------------------- */

struct comite_body {
    const char *id_pvd;
    const char *presidence;
    bool instance_preexistante;
    const json_t *membres;
};

/* A comité: created with its territoire's id_pvd, which no update changes. */
static const struct json_field comite_fields[] = {
    {.name = "id_pvd",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct comite_body, id_pvd),
     .on_create = JSON_CREATE_REQUIRED,
     .on_patch = JSON_PATCH_IMMUTABLE,
     .min_length = 1,
     .max_length = 16},
    {.name = "presidence",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct comite_body, presidence),
     .on_create = JSON_CREATE_REQUIRED,
     .min_length = 1,
     .max_length = 300},
    {.name = "instance_preexistante",
     .kind = JSON_FIELD_BOOLEAN,
     .offset = offsetof(struct comite_body, instance_preexistante)},
    {.name = "membres",
     .kind = JSON_FIELD_VALUE,
     .offset = offsetof(struct comite_body, membres),
     .on_create = JSON_CREATE_REQUIRED},
    JSON_FIELDS_END,
};

struct membre_body {
    int qualite;
    const char *organisation_id;
    const char *nom;
    const char *fonction;
};

static const struct json_field membre_fields[] = {
    {.name = "qualite",
     .kind = JSON_FIELD_ENUM,
     .offset = offsetof(struct membre_body, qualite),
     .on_create = JSON_CREATE_REQUIRED,
     .values = qualites},
    {.name = "organisation_id",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct membre_body, organisation_id),
     .nullable = true,
     .check = query_is_uuid,
     .check_message = "L'identifiant d'une organisation est un UUID."},
    {.name = "nom",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct membre_body, nom),
     .on_create = JSON_CREATE_REQUIRED,
     .min_length = 1,
     .max_length = 200},
    {.name = "fonction",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct membre_body, fonction),
     .nullable = true,
     .min_length = 1,
     .max_length = 200},
    JSON_FIELDS_END,
};

/* Validates a comité body (mode: JSON_SPEC_CREATE with id_pvd, or
 * JSON_SPEC_REPLACE without), then its membres' organisations (422
 * organisation-inconnue) and R40 against territoire id_pvd (NULL: the
 * body's). 400/422/503 sent when false. */
static bool comite_valid_or_reply(struct request_ctx *ctx, const json_t *body,
                                  enum json_spec_mode mode, const char *id_pvd,
                                  bool (*authorize)(struct request_ctx *, const char *,
                                                    struct territoire_scope *),
                                  struct territoire_scope *scope)
{
    struct comite_body in;
    struct membre_body m[MEMBRES_MAX];
    FIELD_ERRORS(errs);
    memset(&in, 0, sizeof in);
    json_spec_apply(body, comite_fields, mode, &in, "", &errs);
    const json_t *list = in.membres;
    size_t count = json_is_array(list) ? json_array_size(list) : 0;
    if (list && !json_is_array(list))
        field_errors_add(&errs, "/membres", NULL, "type-invalide",
                         "« membres » est une liste de membres.");
    if (count > MEMBRES_MAX)
        field_errors_add(&errs, "/membres", NULL, "longueur-invalide",
                         "Au plus %d membres par comité.", MEMBRES_MAX);
    for (size_t i = 0; i < count && i < MEMBRES_MAX; i++) {
        char prefix[48];
        snprintf(prefix, sizeof prefix, "/membres/%zu", i);
        memset(&m[i], 0, sizeof m[i]);
        const json_t *item = json_array_get(list, i);
        if (!json_is_object(item))
            field_errors_add(&errs, prefix, NULL, "type-invalide", "Un membre est un objet.");
        else
            json_spec_apply(item, membre_fields, JSON_SPEC_CREATE, &m[i], prefix, &errs);
    }
    if (errs.count > 0 || errs.dropped > 0) {
        respond_invalid_body(ctx, &errs);
        return false;
    }
    if (!id_pvd)
        id_pvd = in.id_pvd;
    if (authorize && !authorize(ctx, id_pvd, scope))
        return false;
    json_t *ids = xjson(json_array());
    for (size_t i = 0; i < count; i++)
        if (m[i].organisation_id)
            json_array_append_new(ids, xjson(json_string(m[i].organisation_id)));
    json_t *found = NULL;
    bool ok = gouv_organisations_or_reply(ctx, ids, &found);
    json_decref(ids);
    if (!ok)
        return false;
    /* Organisations are never deleted: one known now stays known. */
    struct rule_report violations = {0};
    for (size_t i = 0; i < count; i++) {
        if (!m[i].organisation_id)
            continue;
        char lower[37], pointer[64];
        gouv_uuid_lower(m[i].organisation_id, lower);
        if (!json_object_get(found, lower)) {
            snprintf(pointer, sizeof pointer, "/membres/%zu/organisation_id", i);
            rule_report_add(&violations, "", "organisation-inconnue", pointer,
                            "Aucune organisation n'a l'identifiant %s.", lower);
        }
    }
    json_decref(found);
    /* R40 reads the territoire's communes, EPCIs and adhésion: checked in the
     * write (comite_r40_write_check). */
    return programme_rules_hold_or_reply(ctx, &violations);
}

/* R40 inside the write, under the territoire lock (gouv_check_fn). */
static enum db_result comite_r40_write_check(struct db_tx *tx, const char *id_pvd,
                                             const char *body_json, struct rule_report *violations,
                                             struct db_error *err)
{
    return comite_r40_in_tx(tx, id_pvd, body_json, violations, err);
}

static bool authorize_creation(struct request_ctx *ctx, const char *id_pvd,
                               struct territoire_scope *scope)
{
    if (!programme_territoire_or_reply(ctx, ACTION_PROJET_WRITE, id_pvd, TERRITOIRE_404, scope))
        return false;
    struct comite_list existing;
    struct db_error err = {{0}, {0}};
    const struct list_sync all = {LIST_TRI_KEY, NULL};
    enum db_result r =
        comite_list_batch(ctx->app->pool, scope->id_pvd, &all, NULL, 1, &existing, &err);
    if (r != DB_OK) {
        respond_db_error(ctx, r, &err);
        return false;
    }
    size_t n = existing.count;
    comite_list_release(&existing);
    if (n > 0) {
        respond_problem(ctx, PROBLEM_CONFLIT,
                        "Ce territoire a déjà un comité de projet : modifiez-le.");
        return false;
    }
    return true;
}

static enum db_result comite_write_new(struct db_tx *tx, const char *key, const char *body_json,
                                       struct projet_row *out, struct db_error *err)
{
    (void)key;
    return comite_insert(tx, body_json, out, err);
}

void handle_create_comite(struct request_ctx *ctx)
{
    if (!query_or_reply(ctx, query_no_params, NULL))
        return;
    json_t *body = NULL;
    struct territoire_scope scope;
    if (!json_body_read_or_reply(ctx, &body))
        return;
    if (comite_valid_or_reply(ctx, body, JSON_SPEC_CREATE, NULL, authorize_creation, &scope)) {
        json_object_set_new(body, "id_pvd", xjson(json_string(scope.id_pvd)));
        char *text = gouv_dump(body);
        gouv_mutate_and_reply(ctx, PROJET_COMITE, GOUV_CREER, scope.id_pvd, NULL, comite_write_new,
                              comite_r40_write_check, text, &scope,
                              "Ce territoire a déjà un comité de projet : modifiez-le.",
                              "/api/v1/comites/");
        free(text);
    }
    json_decref(body);
}

/* A comité's update: its body without id_pvd, R40 on the comité's territoire. */
static bool comite_update_valid_or_reply(struct request_ctx *ctx, const json_t *body,
                                         const struct projet_row *object,
                                         struct territoire_scope *scope, enum json_spec_mode mode)
{
    return comite_valid_or_reply(ctx, body, mode, object->id_pvd, NULL, scope);
}

static const struct gouv_kind comite_kind = {
    .kind = PROJET_COMITE,
    .what_404 = COMITE_404,
    .fields = comite_fields,
    .valid = comite_update_valid_or_reply,
    .update = comite_update,
    .check = comite_r40_write_check,
    .what_409_update = "Le comité a changé.",
};

GOUV_HANDLER(handle_get_comite, gouv_handle_get, &comite_kind)
GOUV_HANDLER(handle_update_comite, gouv_handle_update, &comite_kind)

/* The territorial scope of a row of the comités list. */
static void comite_row_scope(const struct comite_list_row *row, struct territoire_scope *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->id_pvd, sizeof s->id_pvd, "%s", row->id_pvd);
    memcpy(s->departements, row->departements, sizeof s->departements);
    s->departement_count = row->departement_count;
    memcpy(s->regions, row->regions, sizeof s->regions);
    s->region_count = row->region_count;
    memcpy(s->sirens, row->sirens, sizeof s->sirens);
    s->siren_count = row->siren_count;
}

/* *total: the comités of the list (only territoire id_pvd's when not NULL)
 * that the caller may read, all pages together. Scans the whole list (a
 * comité per territoire: ~1,000 rows at most). DB_OK or the failure. */
static enum db_result count_visible_comites(struct request_ctx *ctx, const char *id_pvd,
                                            const char *modifie_depuis, size_t *total,
                                            struct db_error *err)
{
    const struct list_sync sync = {LIST_TRI_KEY, modifie_depuis};
    char scan_after[CURSOR_KEY_MAX + 1] = "";
    bool done = false;
    *total = 0;
    while (!done) {
        struct comite_list batch;
        enum db_result r = comite_list_batch(app_read_pool(ctx->app), id_pvd, &sync,
                                             scan_after[0] ? scan_after : NULL, 500, &batch, err);
        if (r != DB_OK)
            return r;
        done = batch.count < 500;
        for (size_t i = 0; i < batch.count; i++) {
            struct territoire_scope s;
            comite_row_scope(&batch.rows[i], &s);
            snprintf(scan_after, sizeof scan_after, "%s", batch.rows[i].key);
            if (programme_decide(ctx, ACTION_PROJET_READ, &s) == AUTHZ_ALLOW)
                (*total)++;
        }
        comite_list_release(&batch);
    }
    return DB_OK;
}

/* The list: comités of the caller's perimeter (projet.lire on each one's
 * territoire), by id_pvd, optionally only territoire id_pvd's. Rows outside
 * the perimeter are skipped, never revealed. */
static bool id_pvd_length_is_valid(const char *s)
{
    return strlen(s) >= 1 && strlen(s) <= 16;
}

/* The query of GET /comites. */
struct comite_query {
    size_t limit;
    const char *id_pvd;
    struct query_sync sync;
};
static const struct query_field comite_query_fields[] = {
    QUERY_PAGE(struct comite_query, limit),
    {.name = "id_pvd",
     .kind = QUERY_CODE,
     .offset = offsetof(struct comite_query, id_pvd),
     .valid = id_pvd_length_is_valid,
     .message = "L'identifiant d'un territoire a la forme pvd-27-58-900."},
    QUERY_SYNC_FIELDS(struct comite_query, sync),
    QUERY_FIELDS_END,
};

void handle_list_comites(struct request_ctx *ctx)
{
    char key[CURSOR_KEY_MAX + 1], canon[64];
    const char *after = NULL;
    struct comite_query q;
    if (!query_or_reply(ctx, comite_query_fields, &q))
        return;
    size_t limit = q.limit;
    const char *id_pvd = q.id_pvd;
    snprintf(canon, sizeof canon, "t=%s", id_pvd ? id_pvd : "");
    uint32_t fp;
    if (!query_sync_cursor_or_reply(ctx, "comites", cursor_fingerprint(canon), &q.sync,
                                    id_pvd_length_is_valid, key, &after, &fp))
        return;
    const struct list_sync sync = query_sync_list(&q.sync);
    char scan_after[CURSOR_KEY_MAX + 1] = "", last[CURSOR_KEY_MAX + 1] = "";
    if (after)
        snprintf(scan_after, sizeof scan_after, "%s", after);
    json_t *elements = xjson(json_array());
    size_t visible = 0;
    bool more = false, done = false;
    while (!done && !more) {
        struct comite_list batch;
        struct db_error err = {{0}, {0}};
        enum db_result r =
            comite_list_batch(app_read_pool(ctx->app), id_pvd, &sync,
                              scan_after[0] ? scan_after : NULL, limit + 1, &batch, &err);
        if (r != DB_OK) {
            json_decref(elements);
            respond_db_error(ctx, r, &err);
            return;
        }
        done = batch.count < limit + 1;
        for (size_t i = 0; i < batch.count; i++) {
            const struct comite_list_row *row = &batch.rows[i];
            struct territoire_scope s;
            comite_row_scope(row, &s);
            snprintf(scan_after, sizeof scan_after, "%s", row->key);
            if (programme_decide(ctx, ACTION_PROJET_READ, &s) != AUTHZ_ALLOW)
                continue;
            if (visible == limit) {
                more = true;
                break;
            }
            json_t *item = json_loads(row->json, 0, NULL);
            if (!item)
                die_bug("comite representation unreadable");
            json_array_append_new(elements, item);
            snprintf(last, sizeof last, "%s", row->key);
            visible++;
        }
        comite_list_release(&batch);
    }
    size_t total = 0;
    struct db_error count_err = {{0}, {0}};
    enum db_result counted =
        count_visible_comites(ctx, id_pvd, q.sync.modifie_depuis, &total, &count_err);
    if (counted != DB_OK) {
        json_decref(elements);
        respond_db_error(ctx, counted, &count_err);
        return;
    }
    char *text = gouv_dump(elements);
    json_decref(elements);
    respond_page(ctx, comite_query_fields, text, "comites", fp, last, more, total);
    free(text);
}

/* ---- Séances ----------------------------------------------------------- */

struct seance_body {
    struct date date;
    const char *ordre_du_jour;
    const char *compte_rendu;
};

static const struct json_field seance_fields[] = {
    {.name = "date",
     .kind = JSON_FIELD_DATE,
     .offset = offsetof(struct seance_body, date),
     .on_create = JSON_CREATE_REQUIRED},
    {.name = "ordre_du_jour",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct seance_body, ordre_du_jour),
     .nullable = true,
     .min_length = 1,
     .max_length = 20000},
    {.name = "compte_rendu",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct seance_body, compte_rendu),
     .nullable = true,
     .min_length = 1,
     .max_length = 100000},
    JSON_FIELDS_END,
};
static bool seance_valid_or_reply(struct request_ctx *ctx, const json_t *body,
                                  const struct projet_row *object, struct territoire_scope *scope,
                                  enum json_spec_mode mode)
{
    (void)object;
    (void)scope;
    struct seance_body in;
    FIELD_ERRORS(errs);
    memset(&in, 0, sizeof in);
    if (json_spec_apply(body, seance_fields, mode, &in, "", &errs))
        return true;
    respond_invalid_body(ctx, &errs);
    return false;
}

static const struct gouv_kind seance_kind = {
    .kind = PROJET_SEANCE,
    .what_404 = SEANCE_404,
    .fields = seance_fields,
    .valid = seance_valid_or_reply,
    .insert = seance_insert,
    .update = seance_update,
    .what_409_insert = "Le comité a changé.",
    .what_409_update = "La séance a changé.",
    .location_prefix = "/api/v1/seances/",
};

GOUV_HANDLER(handle_list_seances, gouv_handle_list_children, &comite_kind, PROJET_SEANCE)
GOUV_HANDLER(handle_create_seance, gouv_handle_create_child, &comite_kind, &seance_kind)
GOUV_HANDLER(handle_get_seance, gouv_handle_get, &seance_kind)
GOUV_HANDLER(handle_update_seance, gouv_handle_update, &seance_kind)

/* ---- Décisions --------------------------------------------------------- */

struct decision_body {
    int type;
    const char *objet;
    const char *convention_id;
    const char *fiche_action_id;
};

static const struct json_field decision_fields[] = {
    {.name = "type",
     .kind = JSON_FIELD_ENUM,
     .offset = offsetof(struct decision_body, type),
     .on_create = JSON_CREATE_REQUIRED,
     .values = types_decision},
    {.name = "objet",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct decision_body, objet),
     .on_create = JSON_CREATE_REQUIRED,
     .min_length = 1,
     .max_length = 2000},
    {.name = "convention_id",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct decision_body, convention_id),
     .nullable = true,
     .check = query_is_uuid,
     .check_message = "L'identifiant d'une convention est un UUID."},
    {.name = "fiche_action_id",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct decision_body, fiche_action_id),
     .nullable = true,
     .check = query_is_uuid,
     .check_message = "L'identifiant d'une fiche action est un UUID."},
    JSON_FIELDS_END,
};

/* The fiche action a décision names (R23: it examined the fiche; R28: it
 * decided its abandon) is a fiche of the séance's territoire: appends
 * "reference-inconnue" or "reference-hors-territoire" at /fiche_action_id.
 * A fiche never changes territoire nor disappears, so reading it before the
 * write is enough. false: an answer was sent (the lookup failed). */
static bool decision_fiche_or_reply(struct request_ctx *ctx, const char *fiche_id,
                                    const char *seance_id_pvd, struct rule_report *violations)
{
    struct fiche_row fiche;
    struct db_error err = {{0}, {0}};
    enum db_result r = fiche_get_pooled(ctx->app->pool, fiche_id, &fiche, &err);
    if (r == DB_NOT_FOUND) {
        rule_report_add(violations, "", "reference-inconnue", "/fiche_action_id",
                        "Aucune fiche action n'a cet identifiant.");
        return true;
    }
    if (r != DB_OK) {
        respond_db_error(ctx, r, &err);
        return false;
    }
    if (strcmp(fiche.id_pvd, seance_id_pvd) != 0)
        rule_report_add(violations, "", "reference-hors-territoire", "/fiche_action_id",
                        "La fiche action d'une décision est une fiche du territoire du comité "
                        "(%s), non d'un autre (%s).",
                        seance_id_pvd, fiche.id_pvd);
    fiche_row_release(&fiche);
    return true;
}

/* A décision: its body, then the convention and the fiche action it names
 * (if any) in the séance's territoire. */
static bool decision_valid_or_reply(struct request_ctx *ctx, const json_t *body,
                                    const struct projet_row *seance, struct territoire_scope *scope,
                                    enum json_spec_mode mode)
{
    (void)scope;
    struct decision_body in;
    FIELD_ERRORS(errs);
    memset(&in, 0, sizeof in);
    if (!json_spec_apply(body, decision_fields, mode, &in, "", &errs)) {
        respond_invalid_body(ctx, &errs);
        return false;
    }
    struct rule_report violations = {0};
    if (in.convention_id) {
        char convention_pvd[17];
        struct db_error err = {{0}, {0}};
        enum db_result r =
            convention_territoire(ctx->app->pool, in.convention_id, convention_pvd, &err);
        if (r != DB_OK && r != DB_NOT_FOUND) {
            respond_db_error(ctx, r, &err);
            return false;
        }
        decision_convention_check(r == DB_OK ? convention_pvd : NULL, seance->id_pvd, &violations);
    }
    if (in.fiche_action_id &&
        !decision_fiche_or_reply(ctx, in.fiche_action_id, seance->id_pvd, &violations))
        return false;
    return programme_rules_hold_or_reply(ctx, &violations);
}

static const struct gouv_kind decision_kind = {
    .kind = PROJET_DECISION,
    .valid = decision_valid_or_reply,
    .insert = decision_insert,
    .what_409_insert = "La séance a changé.",
};

GOUV_HANDLER(handle_list_decisions, gouv_handle_list_children, &seance_kind, PROJET_DECISION)
GOUV_HANDLER(handle_create_decision, gouv_handle_create_child, &seance_kind, &decision_kind)
