/* The helpers the convention handlers share (conventions_common.h): loading
 * a convention with its authorization, the write prologue and mutation
 * epilogue, rendering for the caller, validating content and signataires. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../domain/identifiers.h"
#include "../auth.h"
#include "../json_spec.h"
#include "../query.h"
#include "../xalloc.h"
#include "conventions_common.h"
#include "programme.h"

static bool is_url(const char *s)
{
    return strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0;
}

/* ---- Loading and rendering ---------------------------------------------- */

bool convention_load_or_reply(struct request_ctx *ctx, enum action action, const char *id,
                              struct convention_row *row, struct territoire_scope *scope)
{
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    enum db_result r = db_pool_acquire(ctx->app->pool, &conn, &err);
    if (r == DB_OK) {
        r = convention_get_scoped(conn, id, row, scope, &err);
        db_pool_release(ctx->app->pool, conn);
    }
    if (!respond_lookup_or_reply(ctx, r, &err, "Aucune convention visible n'a cet identifiant."))
        return false;
    for (size_t i = 0; i < row->signataire_count; i++)
        territoire_scope_add_siren(scope, row->signataires[i].s.siren);
    if (!programme_decide_or_reply(ctx, action, scope,
                                   "Aucune convention visible n'a cet identifiant.")) {
        convention_row_release(row);
        return false;
    }
    return true;
}

bool convention_load_path_or_reply(struct request_ctx *ctx, enum action action,
                                   const struct query_field *query, struct convention_row *row,
                                   struct territoire_scope *scope)
{
    FIELD_ERRORS(errs);
    query_spec_check_names(ctx->req, query ? query : query_no_params, &errs);
    const char *id = query_path_param(ctx, "id");
    if (!query_is_uuid(id))
        field_errors_add(&errs, "/id", "id", "format-invalide",
                         "Identifiant de convention (UUID) attendu.");
    if (errs.count > 0) {
        respond_problem_fields(ctx, PROBLEM_PARAMETRE_INVALIDE, "Paramètre invalide.", &errs);
        return false;
    }
    return convention_load_or_reply(ctx, action, id, row, scope);
}

bool convention_write_begin_or_reply(struct request_ctx *ctx, enum action action,
                                     struct convention_row *row, struct territoire_scope *scope,
                                     char etag[24], json_t **body)
{
    *body = NULL;
    if (!convention_load_path_or_reply(ctx, action, NULL, row, scope))
        return false;
    convention_etag(row, etag);
    if (json_body_read_or_reply(ctx, body))
        return true;
    convention_row_release(row);
    return false;
}

/* The current ETag of convention id into out (empty when it cannot be read:
 * the 412 then stands without it). */
static void current_etag(struct request_ctx *ctx, const char *id, char out[24])
{
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    struct convention_row row;
    out[0] = '\0';
    if (!id || db_pool_acquire(ctx->app->pool, &conn, &err) != DB_OK)
        return;
    if (convention_get(conn, id, &row, &err) == DB_OK) {
        convention_etag(&row, out);
        convention_row_release(&row);
    }
    db_pool_release(ctx->app->pool, conn);
}

bool convention_mutate_or_reply(struct request_ctx *ctx, const char *id, db_mutation_fn unit,
                                void *work, const struct rule_report *violations,
                                const struct convention_conflict *conflict)
{
    struct db_error err = {{0}, {0}};
    enum db_result r = programme_mutate(ctx, unit, work, &err);
    const struct db_answers answers = {
        .conflict = conflict ? conflict->detail : NULL,
        .conflict_pointer = conflict ? conflict->pointer : NULL,
        .conflict_code = conflict ? conflict->code : NULL,
        .stale = "La convention a changé pendant votre requête (ETag périmé) : relisez-la."};
    return programme_mutation_reply(ctx, r, &err, violations, &answers, current_etag, id);
}

void convention_etag(const struct convention_row *row, char out[24])
{
    /* The stored representation plus what today changes in it (R4 lateness
     * of an adhésion); not what depends on the caller, so that the ETag one
     * caller read is valid in another's If-Match. */
    struct rule_report scratch;
    struct date today;
    rule_report_init(&scratch);
    programme_today(&today);
    bool late = convention_r4_adhesion_warning(row->type, row->etat, row->has_date_signature,
                                               row->date_signature, today, &scratch);
    size_t len = strlen(row->json);
    char *text = xmalloc(len + 3);
    memcpy(text, row->json, len);
    memcpy(text + len, late ? "|1" : "|0", 3);
    http_etag(text, len + 2, out);
    free(text);
}

static bool json_date(const json_t *obj, const char *key, struct date *out)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s && date_parse(s, out);
}

void convention_decorate(json_t *obj, const struct request_ctx *ctx, bool may_transition,
                         const struct rule_report *extra)
{
    enum convention_type type = CONVENTION_ADHESION;
    enum convention_etat etat = CONVENTION_BROUILLON;
    convention_type_parse(json_string_value(json_object_get(obj, "type")), &type);
    convention_etat_parse(type, json_string_value(json_object_get(obj, "etat")), &etat);
    json_t *transitions = xjson(json_array());
    if (may_transition && ctx->principal) {
        enum convention_etat to[CONVENTION_ETAT__COUNT];
        size_t n = convention_transitions_possibles(type, etat, ctx->principal->authz.role, to,
                                                    CONVENTION_ETAT__COUNT);
        for (size_t i = 0; i < n && i < CONVENTION_ETAT__COUNT; i++)
            json_array_append_new(transitions, xjson(json_string(convention_etat_name(to[i]))));
    }
    json_object_set_new(obj, "transitions_possibles", transitions);

    struct rule_report warnings;
    rule_report_init(&warnings);
    struct date today, sig;
    programme_today(&today);
    bool has_sig = json_date(obj, "date_signature", &sig);
    if (type == CONVENTION_ADHESION) {
        bool late = convention_r4_adhesion_warning(type, etat, has_sig, sig, today, &warnings);
        json_object_set_new(obj, "en_retard", json_boolean(late));
    } else if (json_is_true(json_object_get(obj, "en_retard"))) {
        struct date limite;
        char s[11] = "?", l[11] = "?";
        if (has_sig)
            date_format(sig, s);
        if (json_date(obj, "date_limite_convention_cadre", &limite))
            date_format(limite, l);
        rule_report_add(&warnings, "R4", "convention-cadre-en-retard", "/date_signature",
                        "Convention-cadre signée le %s, après la date limite du %s (signature de "
                        "la convention d'adhésion + 18 mois).",
                        s, l);
    }
    for (size_t i = 0; extra && i < extra->count; i++) {
        const struct rule_violation *w = &extra->items[i];
        if (!rule_report_find(&warnings, w->code))
            rule_report_add(&warnings, w->regle, w->code, w->pointer, "%s", w->message);
    }
    json_object_set_new(obj, "avertissements", programme_avertissements(&warnings));
}

void convention_send(struct request_ctx *ctx, int status, const struct convention_row *row,
                     struct territoire_scope *scope, const struct rule_report *extra)
{
    char etag[24];
    convention_etag(row, etag);
    json_t *obj = json_loads(row->json, 0, NULL);
    if (!obj) {
        respond_problem(ctx, PROBLEM_ERREUR_INTERNE, NULL);
        return;
    }
    bool may = programme_decide(ctx, ACTION_CONVENTION_TRANSITION, scope) == AUTHZ_ALLOW;
    convention_decorate(obj, ctx, may, extra);
    char *text = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    if (!text) {
        respond_problem(ctx, PROBLEM_ERREUR_INTERNE, NULL);
        return;
    }
    respond_representation(ctx, status, text, strlen(text), etag);
    free(text);
}

void convention_respond_conflict(struct request_ctx *ctx, const char *pointer, const char *code,
                                 const char *detail)
{
    FIELD_ERRORS(errs);
    field_errors_add(&errs, pointer, NULL, code, "%s", detail);
    respond_problem_fields(ctx, PROBLEM_CONFLIT, detail, &errs);
}

/* ---- Content validation ------------------------------------------------- */

static const char *const type_values[] = {"adhesion", "cadre", NULL};
static const char *const volet_values[] = {"aucun", "opah", "opah_ru", NULL};
static const char *const role_values[] = {
    "beneficiaire", "ville_principale", "epci",           "etat",
    "financeur",    "partenaire",       "en_presence_de", NULL};

struct content {
    int type;
    const char *id_pvd;
    const char *intitule;
    const char *document_url;
    const char *moyens_ingenierie, *etudes_existantes, *besoins_operateurs;
    bool vaut_ort;
    struct date date_fin;
    const char *ambitions, *diagnostic;
    int volet_habitat;
    const char *section_habitat_prive, *engagements_partenaires, *gouvernance;
    const char *suivi_evaluation, *resultats_attendus;
    const json_t *signataires, *secteurs;
};

#define OFF(m) offsetof(struct content, m)
#define F_TEXT(n)                                                                                  \
    {                                                                                              \
        .name = #n, .kind = JSON_FIELD_STRING, .offset = OFF(n), .nullable = true,                 \
        .min_length = 1, .max_length = 20000                                                       \
    }
#define F_CREATE                                                                                   \
    {.name = "type",                                                                               \
     .kind = JSON_FIELD_ENUM,                                                                      \
     .offset = OFF(type),                                                                          \
     .on_create = JSON_CREATE_REQUIRED,                                                            \
     .on_patch = JSON_PATCH_IMMUTABLE,                                                             \
     .values = type_values},                                                                       \
    {                                                                                              \
        .name = "id_pvd", .kind = JSON_FIELD_STRING, .offset = OFF(id_pvd),                        \
        .on_create = JSON_CREATE_REQUIRED, .on_patch = JSON_PATCH_IMMUTABLE, .min_length = 1,      \
        .max_length = 16, .check = territoire_id_pvd_is_valid,                                     \
        .check_message = "Identifiant PVD attendu : pvd-<région>-<département>-<numéro>."       \
    }
#define F_COMMON                                                                                   \
    {.name = "intitule",                                                                           \
     .kind = JSON_FIELD_STRING,                                                                    \
     .offset = OFF(intitule),                                                                      \
     .on_create = JSON_CREATE_REQUIRED,                                                            \
     .min_length = 1,                                                                              \
     .max_length = 500},                                                                           \
    {                                                                                              \
        .name = "document_url", .kind = JSON_FIELD_STRING, .offset = OFF(document_url),            \
        .nullable = true, .min_length = 8, .max_length = 2000, .check = is_url,                    \
        .check_message = "Adresse http(s):// attendue."                                            \
    }
#define F_ADHESION F_TEXT(moyens_ingenierie), F_TEXT(etudes_existantes), F_TEXT(besoins_operateurs)
#define F_CADRE                                                                                    \
    {.name = "vaut_ort", .kind = JSON_FIELD_BOOLEAN, .offset = OFF(vaut_ort)},                     \
        {.name = "date_fin", .kind = JSON_FIELD_DATE, .offset = OFF(date_fin), .nullable = true},  \
        F_TEXT(ambitions), F_TEXT(diagnostic),                                                     \
        {.name = "volet_habitat",                                                                  \
         .kind = JSON_FIELD_ENUM,                                                                  \
         .offset = OFF(volet_habitat),                                                             \
         .values = volet_values},                                                                  \
        F_TEXT(section_habitat_prive), F_TEXT(engagements_partenaires), F_TEXT(gouvernance),       \
        F_TEXT(suivi_evaluation), F_TEXT(resultats_attendus),                                      \
    {                                                                                              \
        .name = "secteurs_intervention", .kind = JSON_FIELD_VALUE, .offset = OFF(secteurs)         \
    }
#define F_SIGNATAIRES                                                                              \
    {                                                                                              \
        .name = "signataires", .kind = JSON_FIELD_VALUE, .offset = OFF(signataires)                \
    }

/* A convention of each type, created (POST) or patched (PATCH). */
static const struct json_field adhesion_fields[] = {F_CREATE, F_COMMON, F_ADHESION, F_SIGNATAIRES,
                                                    JSON_FIELDS_END};
static const struct json_field cadre_fields[] = {F_CREATE, F_COMMON, F_CADRE, F_SIGNATAIRES,
                                                 JSON_FIELDS_END};
/* The modifications of an avenant: a patch that leaves the signataires. */
static const struct json_field avenant_adhesion[] = {F_COMMON, F_ADHESION, JSON_FIELDS_END};
static const struct json_field avenant_cadre[] = {F_COMMON, F_CADRE, JSON_FIELDS_END};

struct signataire_in {
    const char *organisation_id;
    int role;
    const char *representant_nom, *representant_qualite;
    struct date date_deliberation;
    const char *reference_deliberation;
};
static const struct json_field signataire_fields[] = {
    {.name = "organisation_id",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct signataire_in, organisation_id),
     .on_create = JSON_CREATE_REQUIRED,
     .check = query_is_uuid,
     .check_message = "Identifiant d'organisation (UUID) attendu."},
    {.name = "role",
     .kind = JSON_FIELD_ENUM,
     .offset = offsetof(struct signataire_in, role),
     .on_create = JSON_CREATE_REQUIRED,
     .values = role_values},
    {.name = "representant_nom",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct signataire_in, representant_nom),
     .on_create = JSON_CREATE_REQUIRED,
     .min_length = 1,
     .max_length = 200},
    {.name = "representant_qualite",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct signataire_in, representant_qualite),
     .on_create = JSON_CREATE_REQUIRED,
     .min_length = 1,
     .max_length = 200},
    {.name = "date_deliberation",
     .kind = JSON_FIELD_DATE,
     .offset = offsetof(struct signataire_in, date_deliberation),
     .nullable = true},
    {.name = "reference_deliberation",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct signataire_in, reference_deliberation),
     .nullable = true,
     .min_length = 1,
     .max_length = 200},
    JSON_FIELDS_END,
};

struct secteur_in {
    const char *nom, *code_insee;
    bool centre;
    const json_t *geometrie;
};
static const struct json_field secteur_fields[] = {
    {.name = "nom",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct secteur_in, nom),
     .on_create = JSON_CREATE_REQUIRED,
     .min_length = 1,
     .max_length = 300},
    {.name = "code_insee",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct secteur_in, code_insee),
     .on_create = JSON_CREATE_REQUIRED,
     .check = insee_code_is_valid,
     .check_message = "Code INSEE de commune attendu (5 caractères)."},
    {.name = "est_centre_ville_ville_principale",
     .kind = JSON_FIELD_BOOLEAN,
     .offset = offsetof(struct secteur_in, centre)},
    {.name = "geometrie",
     .kind = JSON_FIELD_VALUE,
     .offset = offsetof(struct secteur_in, geometrie),
     .nullable = true},
    JSON_FIELDS_END,
};

static void check_array(const json_t *array, const char *name, const struct json_field *spec,
                        void *scratch, size_t scratch_size, size_t max, const char *prefix,
                        struct field_errors *errs)
{
    char pointer[160], item[192];
    json_pointer_join(pointer, sizeof pointer, prefix, name);
    if (!json_is_array(array)) {
        field_errors_add(errs, pointer, NULL, "type-invalide", "La valeur doit être un tableau.");
        return;
    }
    if (json_array_size(array) > max) {
        field_errors_add(errs, pointer, NULL, "hors-bornes", "Au plus %zu éléments.", max);
        return;
    }
    size_t i;
    const json_t *v;
    json_array_foreach(array, i, v)
    {
        snprintf(item, sizeof item, "%s/%zu", pointer, i);
        if (!json_is_object(v)) {
            field_errors_add(errs, item, NULL, "type-invalide", "La valeur doit être un objet.");
            continue;
        }
        memset(scratch, 0, scratch_size);
        json_spec_apply(v, spec, JSON_SPEC_CREATE, scratch, item, errs);
        if (spec == secteur_fields) {
            const json_t *g = ((struct secteur_in *)scratch)->geometrie;
            if (g && !json_is_object(g) && !json_is_null(g)) {
                char gp[224];
                snprintf(gp, sizeof gp, "%s/geometrie", item);
                field_errors_add(errs, gp, NULL, "type-invalide",
                                 "La géométrie est un objet GeoJSON.");
            }
        }
    }
}

void convention_content_check(const json_t *obj, enum convention_type type, enum content_mode mode,
                              const char *prefix, struct field_errors *errs,
                              const json_t **signataires, const json_t **secteurs)
{
    const struct json_field *spec;
    struct content c;
    memset(&c, 0, sizeof c);
    if (mode == CONTENT_AVENANT)
        spec = type == CONVENTION_CADRE ? avenant_cadre : avenant_adhesion;
    else
        spec = type == CONVENTION_CADRE ? cadre_fields : adhesion_fields;
    json_spec_apply(obj, spec, mode == CONTENT_CREATE ? JSON_SPEC_CREATE : JSON_SPEC_PATCH, &c,
                    prefix, errs);
    struct signataire_in s;
    struct secteur_in t;
    if (c.signataires)
        check_array(c.signataires, "signataires", signataire_fields, &s, sizeof s,
                    CONVENTION_MAX_SIGNATAIRES, prefix, errs);
    if (c.secteurs)
        check_array(c.secteurs, "secteurs_intervention", secteur_fields, &t, sizeof t,
                    CONVENTION_MAX_SECTEURS, prefix, errs);
    *signataires = c.signataires;
    *secteurs = c.secteurs;
}

bool convention_signataires_check(struct request_ctx *ctx, const json_t *signataires,
                                  const char *prefix, struct rule_report *violations)
{
    size_t n = json_array_size(signataires);
    if (n == 0)
        return true;
    const char *ids[CONVENTION_MAX_SIGNATAIRES];
    bool found[CONVENTION_MAX_SIGNATAIRES];
    enum organisation_kind kind[CONVENTION_MAX_SIGNATAIRES];
    char siren[CONVENTION_MAX_SIGNATAIRES][10];
    for (size_t i = 0; i < n && i < CONVENTION_MAX_SIGNATAIRES; i++)
        ids[i] =
            json_string_value(json_object_get(json_array_get(signataires, i), "organisation_id"));
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    enum db_result r = db_pool_acquire(ctx->app->pool, &conn, &err);
    if (r == DB_OK) {
        r = convention_organisations(conn, ids, n, found, kind, siren, &err);
        db_pool_release(ctx->app->pool, conn);
    }
    if (r != DB_OK) {
        respond_db_error(ctx, r, &err);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char p[96];
        snprintf(p, sizeof p, "%s/signataires/%zu/organisation_id", prefix, i);
        if (!found[i]) {
            rule_report_add(violations, "", "organisation-inconnue", p,
                            "Aucune organisation n'a l'identifiant %s : créez-la d'abord "
                            "(POST /api/v1/organisations).",
                            ids[i]);
            continue;
        }
        const char *role =
            json_string_value(json_object_get(json_array_get(signataires, i), "role"));
        for (size_t j = 0; j < i; j++) {
            const char *rj =
                json_string_value(json_object_get(json_array_get(signataires, j), "role"));
            if (strcasecmp(ids[i], ids[j]) == 0 && role && rj && strcmp(role, rj) == 0) {
                rule_report_add(violations, "", "signataire-en-double", p,
                                "Cette organisation figure déjà avec le rôle %s (signataire %zu).",
                                role, j);
                break;
            }
        }
    }
    return true;
}
