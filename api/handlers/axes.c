/* Projet de territoire (issue 4 §3, domain.md §1.7): axes stratégiques of a
 * territoire, their indicateurs and the indicateurs' mesures. Reads are
 * "projet.lire", writes "projet.ecrire", both decided on the territoire
 * (404 outside the perimeter, 403 inside without the right). Values are
 * decimal strings (api.md); their checks are in domain/projet.h. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../domain/projet.h"
#include "../json_spec.h"
#include "../query.h"
#include "../xalloc.h"
#include "gouvernance.h"
#include "handlers.h"

#define AXE_404         "Aucun axe stratégique visible n'a cet identifiant."
#define INDICATEUR_404  "Aucun indicateur visible n'a cet identifiant."
#define TERRITOIRE_404  "Aucun territoire visible n'a cet identifiant."
#define PARTENAIRES_MAX 50

static const char *const echelles[] = {"commune", "epci", "secteur", "autre", NULL};
static const char *const types_indicateur[] = {"mise_en_oeuvre", "resultat", NULL};

/* ---- Axes stratégiques ------------------------------------------------- */

struct axe_body {
    int64_t numero;
    const char *intitule;
    const char *enjeux;
    const json_t *partenaires;
    int echelle;
};

static const struct json_field axe_fields[] = {
    {.name = "numero",
     .kind = JSON_FIELD_INTEGER,
     .offset = offsetof(struct axe_body, numero),
     .on_create = JSON_CREATE_REQUIRED,
     .min = 1,
     .max = 99},
    {.name = "intitule",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct axe_body, intitule),
     .on_create = JSON_CREATE_REQUIRED,
     .min_length = 1,
     .max_length = 500},
    {.name = "enjeux",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct axe_body, enjeux),
     .on_create = JSON_CREATE_REQUIRED,
     .min_length = 1,
     .max_length = 20000},
    {.name = "partenaires",
     .kind = JSON_FIELD_VALUE,
     .offset = offsetof(struct axe_body, partenaires)},
    {.name = "echelle",
     .kind = JSON_FIELD_ENUM,
     .offset = offsetof(struct axe_body, echelle),
     .nullable = true,
     .values = echelles},
    JSON_FIELDS_END,
};
/* Validates an axe body; 400 or 422 (unknown partenaires) sent when false. */
static bool axe_valid_or_reply(struct request_ctx *ctx, const json_t *body,
                               const struct projet_row *object, struct territoire_scope *scope,
                               enum json_spec_mode mode)
{
    (void)object;
    (void)scope;
    struct axe_body in;
    FIELD_ERRORS(errs);
    memset(&in, 0, sizeof in);
    in.echelle = -1;
    json_spec_apply(body, axe_fields, mode, &in, "", &errs);
    const json_t *p = in.partenaires;
    if (p && !json_is_array(p))
        field_errors_add(&errs, "/partenaires", NULL, "type-invalide",
                         "« partenaires » est une liste d'identifiants d'organisations.");
    if (p && json_is_array(p) && json_array_size(p) > PARTENAIRES_MAX)
        field_errors_add(&errs, "/partenaires", NULL, "longueur-invalide",
                         "Au plus %d partenaires pour un axe.", PARTENAIRES_MAX);
    for (size_t i = 0; p && json_is_array(p) && i < json_array_size(p); i++) {
        const char *id = json_string_value(json_array_get(p, i));
        char pointer[48];
        snprintf(pointer, sizeof pointer, "/partenaires/%zu", i);
        if (!query_is_uuid(id))
            field_errors_add(&errs, pointer, NULL, "format-invalide",
                             "L'identifiant d'une organisation est un UUID.");
        for (size_t j = 0; id && j < i; j++) {
            const char *other = json_string_value(json_array_get(p, j));
            if (other && strcasecmp(other, id) == 0)
                field_errors_add(&errs, pointer, NULL, "doublon",
                                 "Cette organisation est déjà citée.");
        }
    }
    if (errs.count > 0) {
        respond_invalid_body(ctx, &errs);
        return false;
    }
    if (!p || json_array_size(p) == 0)
        return true;
    json_t *found = NULL;
    if (!gouv_organisations_or_reply(ctx, p, &found))
        return false;
    struct rule_report violations = {0};
    for (size_t i = 0; i < json_array_size(p); i++) {
        char lower[37], pointer[48];
        gouv_uuid_lower(json_string_value(json_array_get(p, i)), lower);
        snprintf(pointer, sizeof pointer, "/partenaires/%zu", i);
        if (!json_object_get(found, lower))
            rule_report_add(&violations, "", "organisation-inconnue", pointer,
                            "Aucune organisation n'a l'identifiant %s.", lower);
    }
    json_decref(found);
    return programme_rules_hold_or_reply(ctx, &violations);
}

static const struct gouv_kind axe_kind = {
    .kind = PROJET_AXE,
    .what_404 = AXE_404,
    .fields = axe_fields,
    .valid = axe_valid_or_reply,
    .insert = axe_insert,
    .update = axe_update,
    .what_409_insert = "Ce territoire a déjà un axe stratégique de ce numéro.",
    .what_409_update = "Ce territoire a déjà un axe stratégique de ce numéro.",
    .location_prefix = "/api/v1/axes-strategiques/",
};

void handle_list_axes(struct request_ctx *ctx)
{
    struct territoire_scope scope;
    const char *id_pvd = query_path_param(ctx, "id_pvd");
    if (!programme_territoire_or_reply(ctx, ACTION_PROJET_READ, id_pvd, TERRITOIRE_404, &scope))
        return;
    gouv_send_children(ctx, PROJET_AXE, scope.id_pvd);
}

void handle_create_axe(struct request_ctx *ctx)
{
    if (!query_or_reply(ctx, query_no_params, NULL))
        return;
    struct territoire_scope scope;
    if (!programme_territoire_or_reply(ctx, ACTION_PROJET_WRITE, query_path_param(ctx, "id_pvd"),
                                       TERRITOIRE_404, &scope))
        return;
    json_t *body = NULL;
    if (!json_body_read_or_reply(ctx, &body))
        return;
    if (axe_kind.valid(ctx, body, NULL, &scope, JSON_SPEC_CREATE)) {
        char *text = gouv_dump(body);
        gouv_mutate_and_reply(ctx, PROJET_AXE, GOUV_CREER, scope.id_pvd, NULL, axe_kind.insert,
                              axe_kind.check, text, &scope, axe_kind.what_409_insert,
                              axe_kind.location_prefix);
        free(text);
    }
    json_decref(body);
}

GOUV_HANDLER(handle_get_axe, gouv_handle_get, &axe_kind)
GOUV_HANDLER(handle_update_axe, gouv_handle_update, &axe_kind)
GOUV_HANDLER(handle_delete_axe, gouv_handle_delete, &axe_kind)

/* ---- Indicateurs ------------------------------------------------------- */

struct indicateur_body {
    int type;
    const char *libelle;
    const char *unite;
    const char *valeur_reference;
    struct date date_reference;
    const char *valeur_cible;
    struct date date_cible;
};

static bool decimal_check(const char *s)
{
    return projet_decimal_is_valid(s);
}
#define DECIMAL_MESSAGE                                                                            \
    "Nombre décimal attendu sous forme de chaîne (« 12 », « -3.5 ») : au plus 15 chiffres "  \
    "avant la virgule et 6 après, séparateur « . »."

static const struct json_field indicateur_fields[] = {
    {.name = "type",
     .kind = JSON_FIELD_ENUM,
     .offset = offsetof(struct indicateur_body, type),
     .on_create = JSON_CREATE_REQUIRED,
     .values = types_indicateur},
    {.name = "libelle",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct indicateur_body, libelle),
     .on_create = JSON_CREATE_REQUIRED,
     .min_length = 1,
     .max_length = 500},
    {.name = "unite",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct indicateur_body, unite),
     .on_create = JSON_CREATE_REQUIRED,
     .min_length = 1,
     .max_length = 50},
    {.name = "valeur_reference",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct indicateur_body, valeur_reference),
     .nullable = true,
     .check = decimal_check,
     .check_message = DECIMAL_MESSAGE},
    {.name = "date_reference",
     .kind = JSON_FIELD_DATE,
     .offset = offsetof(struct indicateur_body, date_reference),
     .nullable = true},
    {.name = "valeur_cible",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct indicateur_body, valeur_cible),
     .nullable = true,
     .check = decimal_check,
     .check_message = DECIMAL_MESSAGE},
    {.name = "date_cible",
     .kind = JSON_FIELD_DATE,
     .offset = offsetof(struct indicateur_body, date_cible),
     .nullable = true},
    JSON_FIELDS_END,
};
static bool indicateur_valid_or_reply(struct request_ctx *ctx, const json_t *body,
                                      const struct projet_row *object,
                                      struct territoire_scope *scope, enum json_spec_mode mode)
{
    (void)object;
    (void)scope;
    struct indicateur_body in;
    FIELD_ERRORS(errs);
    memset(&in, 0, sizeof in);
    if (!json_spec_apply(body, indicateur_fields, mode, &in, "", &errs)) {
        respond_invalid_body(ctx, &errs);
        return false;
    }
    struct rule_report violations = {0};
    indicateur_dates_check(in.date_reference.year != 0, in.date_reference, in.date_cible.year != 0,
                           in.date_cible, &violations);
    return programme_rules_hold_or_reply(ctx, &violations);
}

static const struct gouv_kind indicateur_kind = {
    .kind = PROJET_INDICATEUR,
    .what_404 = INDICATEUR_404,
    .fields = indicateur_fields,
    .valid = indicateur_valid_or_reply,
    .insert = indicateur_insert,
    .update = indicateur_update,
    .what_409_insert = "L'axe a changé.",
    .what_409_update = "L'indicateur a changé.",
    .location_prefix = "/api/v1/indicateurs/",
};

GOUV_HANDLER(handle_list_indicateurs, gouv_handle_list_children, &axe_kind, PROJET_INDICATEUR)
GOUV_HANDLER(handle_create_indicateur, gouv_handle_create_child, &axe_kind, &indicateur_kind)
GOUV_HANDLER(handle_get_indicateur, gouv_handle_get, &indicateur_kind)
GOUV_HANDLER(handle_update_indicateur, gouv_handle_update, &indicateur_kind)
GOUV_HANDLER(handle_delete_indicateur, gouv_handle_delete, &indicateur_kind)

/* ---- Mesures ----------------------------------------------------------- */

struct mesure_body {
    struct date date;
    const char *valeur;
    const char *source;
};

static const struct json_field mesure_fields[] = {
    {.name = "date",
     .kind = JSON_FIELD_DATE,
     .offset = offsetof(struct mesure_body, date),
     .on_create = JSON_CREATE_REQUIRED},
    {.name = "valeur",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct mesure_body, valeur),
     .on_create = JSON_CREATE_REQUIRED,
     .check = decimal_check,
     .check_message = DECIMAL_MESSAGE},
    {.name = "source",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct mesure_body, source),
     .nullable = true,
     .min_length = 1,
     .max_length = 500},
    JSON_FIELDS_END,
};

/* A mesure: its body, then its date not in the future. */
static bool mesure_valid_or_reply(struct request_ctx *ctx, const json_t *body,
                                  const struct projet_row *object, struct territoire_scope *scope,
                                  enum json_spec_mode mode)
{
    (void)object;
    (void)scope;
    struct mesure_body in;
    FIELD_ERRORS(errs);
    memset(&in, 0, sizeof in);
    if (!json_spec_apply(body, mesure_fields, mode, &in, "", &errs)) {
        respond_invalid_body(ctx, &errs);
        return false;
    }
    struct date today;
    programme_today(&today);
    struct rule_report violations = {0};
    indicateur_mesure_date_check(in.date, today, &violations);
    return programme_rules_hold_or_reply(ctx, &violations);
}

static const struct gouv_kind mesure_kind = {
    .kind = PROJET_MESURE,
    .valid = mesure_valid_or_reply,
    .insert = mesure_insert,
    .what_409_insert = "Cet indicateur a déjà une mesure à cette date.",
};

GOUV_HANDLER(handle_list_mesures, gouv_handle_list_children, &indicateur_kind, PROJET_MESURE)
GOUV_HANDLER(handle_create_mesure, gouv_handle_create_child, &indicateur_kind, &mesure_kind)
