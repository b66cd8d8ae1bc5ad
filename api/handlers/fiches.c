/* Fiches action (issue #9 §1, domain.md §1.9): create, read and update
 * (JSON Merge Patch). Reads are "fiche.lire", writes "fiche.ecrire"
 * (domain/authz.h). A body is checked in three passes, nothing written until
 * all hold: its shape (400, json_spec), the pure rules on the values it
 * leaves (422: numero, costs, R25 — so that no CHECK of 0012 can refuse the
 * row), then in ONE transaction under the territoire's lock: numero unique
 * in the plan (409), R21 and R22 (422) on the candidate values, the write, and
 * the rules of a stored fiche on what was written (fiche_regles_apres_ecriture:
 * R29, R33, and R24/R27 once programmed), rolled back on any violation. The
 * financing lines and échéancier may be given at creation; afterwards they
 * change through their own routes (fiches_financement.c). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../db/territoire_lock.h"
#include "../../domain/financement.h"
#include "../../domain/identifiers.h"
#include "../../domain/territoire.h"
#include "../json_spec.h"
#include "../query.h"
#include "../xalloc.h"
#include "fiches_common.h"
#include "gouvernance.h"
#include "handlers.h"
#include "programme.h"

#define PARTENAIRES_MAX 50
#define INDICATEURS_MAX 50
#define PIECES_MAX      20
#define TERRITOIRE_404  "Aucun territoire visible n'a cet identifiant."
#define REFERENCE_INCONNUE                                                                         \
    "Une référence du corps n'existe pas : séance de comité (comite_seance_id), indicateur "   \
    "(indicateurs) ou secteur d'intervention (dans_secteur_ort_id)."

static const char *const bases[] = {"ht", "ttc", NULL};
static const char *const priorites[] = {"elevee", "moyenne", "basse", NULL};
static const char *const derogations[] = {"renouvellement_urbain",
                                          "monument_protege",
                                          "calamite_publique",
                                          "cooperation_europeenne",
                                          "patrimoine_non_protege",
                                          "corse",
                                          NULL};

static bool is_commune(const char *s)
{
    return insee_code_is_valid(s);
}

/* ---- The body ------------------------------------------------------------- */

struct derogation_body {
    int type;
    const char *reference;
};

static const struct json_field derogation_fields[] = {
    {.name = "type",
     .kind = JSON_FIELD_ENUM,
     .offset = offsetof(struct derogation_body, type),
     .on_create = JSON_CREATE_REQUIRED,
     .values = derogations},
    {.name = "reference",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct derogation_body, reference),
     .nullable = true,
     .min_length = 1,
     .max_length = 300},
    JSON_FIELDS_END,
};

struct fiche_body {
    const char *id_pvd, *numero, *intitule, *axe_id, *description, *objectifs;
    const char *maitre_ouvrage_id, *commune, *secteur, *crte_id, *seance;
    const json_t *partenaires, *thematiques, *indicateurs, *pieces, *lignes, *echeancier;
    int nature, base, priorite;
    bool intercommunale, lien_crte, avant_cadre, public_;
    int64_t cout_ht, cout_ttc, depense;
    bool has_cout_ttc, has_depense, has_debut, has_fin, has_derogation;
    struct date debut, fin, examen;
    struct derogation_body derogation;
};
#define F(m) offsetof(struct fiche_body, m)

static const struct json_field fiche_fields[] = {
    {.name = "id_pvd",
     .kind = JSON_FIELD_STRING,
     .offset = F(id_pvd),
     .on_create = JSON_CREATE_REQUIRED,
     .on_patch = JSON_PATCH_IMMUTABLE,
     .check = territoire_id_pvd_is_valid,
     .check_message = "Identifiant de territoire pvd-<région>-<département>-<n> attendu."},
    {.name = "numero",
     .kind = JSON_FIELD_STRING,
     .offset = F(numero),
     .on_create = JSON_CREATE_REQUIRED,
     .min_length = 1,
     .max_length = 20},
    {.name = "intitule",
     .kind = JSON_FIELD_STRING,
     .offset = F(intitule),
     .on_create = JSON_CREATE_REQUIRED,
     .min_length = 1,
     .max_length = 300},
    {.name = "axe_id",
     .kind = JSON_FIELD_STRING,
     .offset = F(axe_id),
     .on_create = JSON_CREATE_REQUIRED,
     .check = query_is_uuid,
     .check_message = "L'identifiant d'un axe stratégique est un UUID."},
    {.name = "description",
     .kind = JSON_FIELD_STRING,
     .offset = F(description),
     .on_create = JSON_CREATE_REQUIRED,
     .min_length = 1,
     .max_length = 20000},
    {.name = "objectifs",
     .kind = JSON_FIELD_STRING,
     .offset = F(objectifs),
     .on_create = JSON_CREATE_REQUIRED,
     .min_length = 1,
     .max_length = 20000},
    {.name = "maitre_ouvrage_id",
     .kind = JSON_FIELD_STRING,
     .offset = F(maitre_ouvrage_id),
     .on_create = JSON_CREATE_REQUIRED,
     .check = query_is_uuid,
     .check_message = "L'identifiant d'une organisation est un UUID."},
    {.name = "partenaires", .kind = JSON_FIELD_VALUE, .offset = F(partenaires)},
    {.name = "thematiques", .kind = JSON_FIELD_VALUE, .offset = F(thematiques)},
    {.name = "localisation_commune_insee",
     .kind = JSON_FIELD_STRING,
     .offset = F(commune),
     .on_create = JSON_CREATE_REQUIRED,
     .check = is_commune,
     .check_message = "Code INSEE de commune attendu (5 caractères)."},
    {.name = "intercommunale", .kind = JSON_FIELD_BOOLEAN, .offset = F(intercommunale)},
    {.name = "dans_secteur_ort_id",
     .kind = JSON_FIELD_STRING,
     .offset = F(secteur),
     .nullable = true,
     .check = query_is_uuid,
     .check_message = "L'identifiant d'un secteur d'intervention est un UUID."},
    {.name = "nature_depense",
     .kind = JSON_FIELD_ENUM,
     .offset = F(nature),
     .on_create = JSON_CREATE_REQUIRED,
     .values = fiche_natures_depense},
    {.name = "cout_total_ht_centimes",
     .kind = JSON_FIELD_INTEGER,
     .offset = F(cout_ht),
     .on_create = JSON_CREATE_REQUIRED,
     .min = 0,
     .max = FINANCEMENT_MONTANT_MAX},
    {.name = "cout_total_ttc_centimes",
     .kind = JSON_FIELD_INTEGER,
     .offset = F(cout_ttc),
     .nullable = true,
     .present_at = JSON_PRESENT_AT(struct fiche_body, has_cout_ttc),
     .min = 0,
     .max = FINANCEMENT_MONTANT_MAX},
    {.name = "depense_subventionnable_ht_centimes",
     .kind = JSON_FIELD_INTEGER,
     .offset = F(depense),
     .nullable = true,
     .present_at = JSON_PRESENT_AT(struct fiche_body, has_depense),
     .min = 0,
     .max = FINANCEMENT_MONTANT_MAX},
    {.name = "base_financement", .kind = JSON_FIELD_ENUM, .offset = F(base), .values = bases},
    {.name = "date_debut_prevue",
     .kind = JSON_FIELD_DATE,
     .offset = F(debut),
     .nullable = true,
     .present_at = JSON_PRESENT_AT(struct fiche_body, has_debut)},
    {.name = "date_fin_prevue",
     .kind = JSON_FIELD_DATE,
     .offset = F(fin),
     .nullable = true,
     .present_at = JSON_PRESENT_AT(struct fiche_body, has_fin)},
    {.name = "priorite",
     .kind = JSON_FIELD_ENUM,
     .offset = F(priorite),
     .nullable = true,
     .values = priorites},
    {.name = "lien_crte", .kind = JSON_FIELD_BOOLEAN, .offset = F(lien_crte)},
    {.name = "crte_id",
     .kind = JSON_FIELD_STRING,
     .offset = F(crte_id),
     .nullable = true,
     .min_length = 1,
     .max_length = 100},
    {.name = "date_examen_comite", .kind = JSON_FIELD_DATE, .offset = F(examen), .nullable = true},
    {.name = "comite_seance_id",
     .kind = JSON_FIELD_STRING,
     .offset = F(seance),
     .nullable = true,
     .check = query_is_uuid,
     .check_message = "L'identifiant d'une séance de comité est un UUID."},
    {.name = "avant_convention_cadre", .kind = JSON_FIELD_BOOLEAN, .offset = F(avant_cadre)},
    {.name = "public", .kind = JSON_FIELD_BOOLEAN, .offset = F(public_)},
    {.name = "pieces_jointes", .kind = JSON_FIELD_VALUE, .offset = F(pieces)},
    {.name = "derogation_l1111_10",
     .kind = JSON_FIELD_OBJECT,
     .offset = F(derogation),
     .nullable = true,
     .present_at = JSON_PRESENT_AT(struct fiche_body, has_derogation),
     .fields = derogation_fields},
    {.name = "indicateurs", .kind = JSON_FIELD_VALUE, .offset = F(indicateurs)},
    {.name = "plan_financement",
     .kind = JSON_FIELD_VALUE,
     .offset = F(lignes),
     .on_patch = JSON_PATCH_IMMUTABLE},
    {.name = "echeancier",
     .kind = JSON_FIELD_VALUE,
     .offset = F(echeancier),
     .on_patch = JSON_PATCH_IMMUTABLE},
    JSON_FIELDS_END,
};

/* A list member: an array of at most max distinct items, each passing
 * item_ok (UUIDs compared without case). Errors at /<name> and /<name>/<i>. */
static void list_check(const json_t *list, const char *name, size_t max,
                       bool (*item_ok)(const char *), const char *item_message,
                       struct field_errors *errs)
{
    char p[160];
    snprintf(p, sizeof p, "/%s", name);
    if (!list || json_is_null(list))
        return;
    if (!json_is_array(list)) {
        field_errors_add(errs, p, NULL, "type-invalide", "« %s » est une liste.", name);
        return;
    }
    if (json_array_size(list) > max) {
        field_errors_add(errs, p, NULL, "longueur-invalide", "Au plus %zu éléments dans « %s ».",
                         max, name);
        return;
    }
    for (size_t i = 0; i < json_array_size(list); i++) {
        const char *s = json_string_value(json_array_get(list, i));
        snprintf(p, sizeof p, "/%s/%zu", name, i);
        if (!s || !item_ok(s)) {
            field_errors_add(errs, p, NULL, "valeur-inconnue", "%s", item_message);
            continue;
        }
        for (size_t j = 0; j < i; j++) {
            const char *o = json_string_value(json_array_get(list, j));
            if (o && strcasecmp(o, s) == 0)
                field_errors_add(errs, p, NULL, "doublon", "Cet élément est déjà cité.");
        }
    }
}

static bool is_http_url(const char *s)
{
    return (strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0) && strlen(s) <= 2000 &&
           strpbrk(s, " \t\r\n") == NULL;
}

/* pieces_jointes: at most PIECES_MAX objects {titre (1..300), url (http(s))}. */
static void pieces_check(const json_t *list, struct field_errors *errs)
{
    if (!list || json_is_null(list))
        return;
    if (!json_is_array(list) || json_array_size(list) > PIECES_MAX) {
        field_errors_add(errs, "/pieces_jointes", NULL, "type-invalide",
                         "Au plus %d pièces jointes {titre, url}.", PIECES_MAX);
        return;
    }
    for (size_t i = 0; i < json_array_size(list); i++) {
        const json_t *o = json_array_get(list, i);
        const char *titre = json_string_value(json_object_get(o, "titre"));
        const char *url = json_string_value(json_object_get(o, "url"));
        char p[64];
        snprintf(p, sizeof p, "/pieces_jointes/%zu", i);
        if (!json_is_object(o) || json_object_size(o) != 2 || !titre || !*titre ||
            strlen(titre) > 300 || !url || !is_http_url(url))
            field_errors_add(errs, p, NULL, "valeur-inconnue",
                             "Une pièce jointe est {titre (1 à 300 caractères), url (http ou "
                             "https)}.");
    }
}

/* The shape of a whole body (creation, or the result of a merge patch): 400
 * errors into errs; values into *in. */
static void body_shape(const json_t *doc, enum json_spec_mode mode, struct fiche_body *in,
                       struct field_errors *errs)
{
    memset(in, 0, sizeof *in);
    in->nature = in->base = in->priorite = -1;
    in->derogation.type = -1;
    json_spec_apply(doc, fiche_fields, mode, in, "", errs);
    /* present_at marks null members too: a null is "not given" here */
    in->has_cout_ttc =
        in->has_cout_ttc && !json_is_null(json_object_get(doc, "cout_total_ttc_centimes"));
    in->has_depense = in->has_depense &&
                      !json_is_null(json_object_get(doc, "depense_subventionnable_ht_centimes"));
    in->has_debut = in->has_debut && !json_is_null(json_object_get(doc, "date_debut_prevue"));
    in->has_fin = in->has_fin && !json_is_null(json_object_get(doc, "date_fin_prevue"));
    in->has_derogation =
        in->has_derogation && !json_is_null(json_object_get(doc, "derogation_l1111_10"));
    list_check(in->partenaires, "partenaires", PARTENAIRES_MAX, query_is_uuid,
               "L'identifiant d'une organisation est un UUID.", errs);
    list_check(in->thematiques, "thematiques", 10, fiche_thematique_is_valid,
               "Thématique inconnue (habitat, commerce, espaces_publics, mobilite…).", errs);
    list_check(in->indicateurs, "indicateurs", INDICATEURS_MAX, query_is_uuid,
               "L'identifiant d'un indicateur est un UUID.", errs);
    pieces_check(in->pieces, errs);
    if (in->lignes)
        fiche_lignes_shape_check(in->lignes, "/plan_financement", errs);
    if (in->echeancier)
        fiche_echeancier_shape_check(in->echeancier, "/echeancier", errs);
}

/* The pure rules on the values a body leaves (422): numero not blank, costs,
 * R25 (both dates once the fiche is programmed: the CHECKs of 0012 hold
 * then), and R27's repeated years of a given échéancier. */
static void body_rules(const struct fiche_body *in, enum fiche_etat etat,
                       struct rule_report *violations)
{
    fiche_numero_check(in->numero, false, violations);
    struct fiche_couts couts = {in->cout_ht, in->has_cout_ttc, in->cout_ttc};
    fiche_couts_check(&couts, violations);
    struct fiche_dates dates = {in->has_debut, in->debut, in->has_fin, in->fin};
    bool engagee = etat == FICHE_PROGRAMMEE || etat == FICHE_EN_COURS || etat == FICHE_SUSPENDUE;
    fiche_r25_check(&dates, engagee, violations);
    if (in->echeancier)
        fiche_echeancier_annees_check(in->echeancier, "/echeancier", violations);
}

/* The organisations the body names (maître d'ouvrage, partenaires, lines'
 * financeurs) exist: "organisation-inconnue" items otherwise. false: an
 * answer was sent. */
static bool organisations_or_reply(struct request_ctx *ctx, const struct fiche_body *in,
                                   struct rule_report *violations)
{
    json_t *ids = json_array();
    json_array_append_new(ids, json_string(in->maitre_ouvrage_id));
    for (size_t i = 0; in->partenaires && i < json_array_size(in->partenaires); i++)
        json_array_append(ids, json_array_get(in->partenaires, i));
    json_t *found = NULL;
    bool ok = gouv_organisations_or_reply(ctx, ids, &found);
    json_decref(ids);
    if (!ok)
        return false;
    char lower[37], p[64];
    gouv_uuid_lower(in->maitre_ouvrage_id, lower);
    if (!json_object_get(found, lower))
        rule_report_add(violations, "", "organisation-inconnue", "/maitre_ouvrage_id",
                        "Aucune organisation n'a l'identifiant %s.", lower);
    for (size_t i = 0; in->partenaires && i < json_array_size(in->partenaires); i++) {
        gouv_uuid_lower(json_string_value(json_array_get(in->partenaires, i)), lower);
        snprintf(p, sizeof p, "/partenaires/%zu", i);
        if (!json_object_get(found, lower))
            rule_report_add(violations, "", "organisation-inconnue", p,
                            "Aucune organisation n'a l'identifiant %s.", lower);
    }
    json_decref(found);
    return !in->lignes ||
           fiche_financeurs_exist_or_reply(ctx, in->lignes, "/plan_financement", violations);
}

/* ---- The writing transaction ------------------------------------------------ */

struct write_work {
    const char *id; /* NULL: a creation */
    const char *id_pvd, *doc;
    long revision;
    const struct fiche_body *in;
    struct date today;
    struct rule_report violations;
    struct fiche_conflict conflict;
    struct fiche_row result;
    /* A creation: the new fiche's access, read in the writing transaction
     * (under an Idempotency-Key that transaction stays open until the
     * answer is stored, so another connection would not see the fiche). */
    struct fiche_access created;
};

static const struct fiche_conflict numero_pris = {
    "/numero", "numero-deja-utilise",
    "Une autre fiche du plan d'action du territoire porte déjà ce numéro."};
static const struct fiche_conflict reference_inconnue = {"", "reference-inconnue",
                                                         REFERENCE_INCONNUE};

/* The séance, the secteur and the indicateurs the fiche names are its
 * territoire's ("reference-hors-territoire", 422, at each pointer). Returns
 * DB_CONFLICT when w->violations holds anything. */
static enum db_result references_check(struct db_tx *tx, struct write_work *w)
{
    struct db_error err = {{0}, {0}};
    bool seance_ok = true, secteur_ok = true;
    char *hors = NULL, *indicateurs = w->in->indicateurs && json_is_array(w->in->indicateurs)
                                          ? gouv_dump(w->in->indicateurs)
                                          : NULL;
    enum db_result r = fiche_references_lire(tx, w->id_pvd, w->in->seance, w->in->secteur,
                                             indicateurs, &seance_ok, &secteur_ok, &hors, &err);
    free(indicateurs);
    if (r != DB_OK)
        return r;
    if (!seance_ok)
        rule_report_add(&w->violations, "", "reference-hors-territoire", "/comite_seance_id",
                        "Aucune séance du comité de projet du territoire %s n'a cet identifiant.",
                        w->id_pvd);
    if (!secteur_ok)
        rule_report_add(&w->violations, "", "reference-hors-territoire", "/dans_secteur_ort_id",
                        "Aucun secteur d'intervention d'une convention du territoire %s n'a cet "
                        "identifiant.",
                        w->id_pvd);
    for (const char *p = hors; p && *p;) {
        char pointer[48];
        long i = strtol(p, (char **)&p, 10);
        snprintf(pointer, sizeof pointer, "/indicateurs/%ld", i);
        rule_report_add(&w->violations, "", "reference-hors-territoire", pointer,
                        "Aucun indicateur d'un axe du territoire %s n'a cet identifiant.",
                        w->id_pvd);
        if (*p == ',')
            p++;
    }
    free(hors);
    return rule_report_any(&w->violations) ? DB_CONFLICT : DB_OK;
}

/* numero unique (409), R21 and R22 (422) on the values written, then the
 * references (references_check). */
static enum db_result candidate_check(struct db_tx *tx, struct write_work *w)
{
    struct fiche_regles c;
    struct db_error err = {{0}, {0}};
    enum db_result r =
        fiche_candidate_lire(tx, w->id_pvd, w->in->numero, w->id, w->in->axe_id, &c, &err);
    if (r != DB_OK)
        return r;
    if (c.numero_deja_utilise) {
        fiche_regles_release(&c);
        w->conflict = numero_pris;
        return DB_CONFLICT;
    }
    fiche_r21_check(w->id_pvd, c.has_axe ? c.axe_id_pvd : NULL, &w->violations);
    fiche_r22_check(w->in->commune, c.commune_ptrs, c.communes_territoire_count,
                    c.commune_ptrs + c.communes_territoire_count, c.communes_epci_count,
                    w->in->intercommunale, &w->violations);
    fiche_regles_release(&c);
    return references_check(tx, w);
}

static enum db_result write_unit(struct db_tx *tx, void *ctx, struct db_error *err)
{
    struct write_work *w = ctx;
    fiche_row_release(&w->result);
    rule_report_init(&w->violations);
    w->conflict = reference_inconnue;
    struct fiche_row avant = {0};
    enum db_result r = w->id ? fiche_lock(tx, w->id, w->revision, &avant, err)
                             : territoire_lock(tx, w->id_pvd, err);
    fiche_row_release(&avant);
    if (r == DB_OK)
        r = candidate_check(tx, w);
    if (r == DB_OK)
        r = w->id ? fiche_update(tx, w->id, w->revision, w->doc, &w->result, err)
                  : fiche_create(tx, w->id_pvd, w->doc, &w->result, err);
    if (r == DB_OK)
        r = fiche_regles_apres_ecriture(tx, w->result.id, w->today, &w->violations, err);
    if (r == DB_OK && !w->id)
        r = fiche_access_load(tx->conn, w->result.id, &w->created, err);
    return r;
}

/* ---- POST /api/v1/fiches-action -------------------------------------------- */

void handle_create_fiche(struct request_ctx *ctx)
{
    json_t *body = NULL;
    char *doc = NULL;
    FIELD_ERRORS(errs);
    if (!query_or_reply(ctx, query_no_params, NULL) || !json_body_read_or_reply(ctx, &body))
        return;
    struct fiche_body in;
    body_shape(body, JSON_SPEC_CREATE, &in, &errs);
    if (!body_errors_or_reply(ctx, &errs))
        goto out;
    struct rule_report violations;
    rule_report_init(&violations);
    struct fiche_access access;
    memset(&access, 0, sizeof access);
    struct db_error err = {{0}, {0}};
    enum db_result r = territoire_scope_load_pooled(ctx->app->pool, in.id_pvd, &access.scope, &err);
    if (r == DB_NOT_FOUND) {
        rule_report_add(&violations, "", "territoire-inconnu", "/id_pvd",
                        "Aucun territoire PVD n'a l'identifiant %s.", in.id_pvd);
        programme_respond_violations(ctx, &violations);
        goto out;
    }
    if (r != DB_OK) {
        respond_db_error(ctx, r, &err);
        goto out;
    }
    if (!programme_decide_or_reply(ctx, ACTION_FICHE_WRITE, &access.scope, TERRITOIRE_404))
        goto out;
    body_rules(&in, FICHE_BROUILLON, &violations);
    if (!organisations_or_reply(ctx, &in, &violations) ||
        !programme_rules_hold_or_reply(ctx, &violations))
        goto out;
    doc = gouv_dump(body);
    struct write_work work;
    memset(&work, 0, sizeof work);
    work.id_pvd = access.scope.id_pvd;
    work.doc = doc;
    work.in = &in;
    programme_today(&work.today);
    if (fiche_mutate_or_reply(ctx, NULL, write_unit, &work, &work.violations, &work.conflict)) {
        http_set_location(ctx->res, "/api/v1/fiches-action/", work.result.id);
        fiche_send(ctx, 201, &work.result, &work.created, NULL);
    }
    fiche_row_release(&work.result);
out:
    free(doc);
    json_decref(body);
}

/* ---- GET /api/v1/fiches-action/:id -------------------------------------------- */

void handle_get_fiche(struct request_ctx *ctx)
{
    struct fiche_row row;
    struct fiche_access access;
    if (!fiche_load_or_reply(ctx, ACTION_FICHE_READ, NULL, &row, &access))
        return;
    fiche_send(ctx, 200, &row, &access, NULL);
    fiche_row_release(&row);
}

/* ---- PATCH /api/v1/fiches-action/:id ------------------------------------------ */

/* The document fiche_update writes: the patch's members, each with its
 * merged value (null when the merge removed it), so that a nested object
 * given in part is written whole. */
static json_t *update_document(const json_t *patch, const json_t *merged)
{
    json_t *doc = xjson(json_object());
    const char *name;
    json_t *v;
    json_object_foreach((json_t *)patch, name, v)
    {
        json_t *m = json_object_get(merged, name);
        json_object_set_new(doc, name, m ? json_incref(m) : json_null());
    }
    return doc;
}

void handle_update_fiche(struct request_ctx *ctx)
{
    struct fiche_row row;
    struct fiche_access access;
    json_t *patch = NULL, *merged = NULL, *update = NULL;
    char *doc = NULL, etag[24];
    FIELD_ERRORS(errs);
    if (!fiche_write_begin_or_reply(ctx, ACTION_FICHE_WRITE, &row, &access, etag, &patch))
        return;
    json_spec_apply(patch, fiche_fields, JSON_SPEC_PATCH, &(struct fiche_body){0}, "", &errs);
    if (!body_errors_or_reply(ctx, &errs))
        goto out;
    merged = gouv_merge_patch(row.json, fiche_fields, patch);
    struct fiche_body in;
    if (!merged) {
        respond_problem(ctx, PROBLEM_ERREUR_INTERNE, NULL);
        goto out;
    }
    body_shape(merged, JSON_SPEC_REPLACE, &in, &errs);
    if (!body_errors_or_reply(ctx, &errs) || !if_match_or_reply(ctx, etag))
        goto out;
    json_t *stored = json_loads(row.json, 0, NULL);
    enum fiche_etat etat = FICHE_BROUILLON;
    bool known = fiche_etat_parse(json_string_value(json_object_get(stored, "etat")), &etat);
    json_decref(stored);
    if (!known) {
        respond_problem(ctx, PROBLEM_ERREUR_INTERNE, NULL);
        goto out;
    }
    if (etat == FICHE_REALISEE || etat == FICHE_ABANDONNEE) {
        FIELD_ERRORS(figee);
        field_errors_add(&figee, "", NULL, "fiche-figee",
                         "La fiche action est %s : elle ne se modifie plus.",
                         fiche_etat_name(etat));
        respond_problem_fields(ctx, PROBLEM_CONFLIT, "La fiche action ne se modifie plus.", &figee);
        goto out;
    }
    struct rule_report violations;
    rule_report_init(&violations);
    body_rules(&in, etat, &violations);
    if (!organisations_or_reply(ctx, &in, &violations) ||
        !programme_rules_hold_or_reply(ctx, &violations))
        goto out;
    update = update_document(patch, merged);
    doc = gouv_dump(update);
    struct write_work work;
    memset(&work, 0, sizeof work);
    work.id = row.id;
    work.id_pvd = row.id_pvd;
    work.revision = row.revision;
    work.doc = doc;
    work.in = &in;
    programme_today(&work.today);
    if (fiche_mutate_or_reply(ctx, row.id, write_unit, &work, &work.violations, &work.conflict)) {
        struct fiche_access after;
        struct db_error err = {{0}, {0}};
        if (fiche_access_load_pooled(ctx->app->pool, row.id, &after, &err) == DB_OK)
            fiche_send(ctx, 200, &work.result, &after, NULL);
        else
            respond_db_error(ctx, DB_FAILED, &err);
    }
    fiche_row_release(&work.result);
out:
    free(doc);
    json_decref(update);
    json_decref(merged);
    json_decref(patch);
    fiche_row_release(&row);
}
