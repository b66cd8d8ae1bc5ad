/* The demandes de subvention (issue #10 §3, domain.md §1.12, §2.4):
 * GET/POST /api/v1/demandes-subvention, GET/PATCH /{id} (drafts only), and
 * the helpers demandes_transitions.c shares (demandes.h). Every
 * representation shows the EFFECTIVE state (demande_etat_effectif: R30,
 * R34, R35 from the dates and today), its next deadline and the
 * transitions the caller may take. Authorization target: the territoire's
 * scope (via the fiche), the demandeur's SIREN, the financers'
 * (demande_acces of 0019; the régions only for DSIL, R38). */
#include "demandes.h"

#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../db/parametres_repository.h"
#include "../../db/pgutil.h"
#include "../../db/territoire_lock.h"
#include "../../domain/identifiers.h"
#include "../../domain/territoire.h"
#include "../auth.h"
#include "../cursor.h"
#include "../json_spec.h"
#include "../query.h"
#include "gouvernance.h"
#include "handlers.h"
#include "programme.h"

/* ---- Reading a stored representation -------------------------------------- */

static struct demande_date date_of(const json_t *doc, const char *name)
{
    struct demande_date d = {false, {0, 0, 0}};
    d.has = date_parse(json_string_value(json_object_get(doc, name)), &d.date);
    return d;
}

void demande_dates_fusion(const json_t *stored, const json_t *body, struct demande_dates *out)
{
    static const char *const names[] = {"date_depot",
                                        "date_accuse_reception",
                                        "date_dossier_complet",
                                        "date_commencement_execution",
                                        "date_decision",
                                        "date_notification",
                                        "date_achevement_declaree"};
    struct demande_date *slots[] = {&out->depot,
                                    &out->accuse_reception,
                                    &out->dossier_complet,
                                    &out->commencement_execution,
                                    &out->decision,
                                    &out->notification,
                                    &out->achevement_declaree};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        *slots[i] = date_of(body && json_object_get(body, names[i]) ? body : stored, names[i]);
}

bool demande_lire_json(const json_t *doc, struct demande_etat_lu *out)
{
    memset(out, 0, sizeof *out);
    struct demande_echeance_input *e = &out->echeance;
    if (!demande_etat_parse(json_string_value(json_object_get(doc, "etat_enregistre")), &e->etat) ||
        !subvention_dispositif_parse(json_string_value(json_object_get(doc, "dispositif")),
                                     &e->dispositif))
        return false;
    demande_dates_fusion(doc, NULL, &e->dates);
    e->prorogation_mois =
        (int)json_integer_value(json_object_get(json_object_get(doc, "prorogation"), "mois"));
    e->prolongation_caducite =
        json_is_string(json_object_get(doc, "prolongation_caducite_reference"));
    e->prolongation_forclusion =
        json_is_string(json_object_get(doc, "prolongation_forclusion_reference"));
    out->depense = json_integer_value(json_object_get(doc, "depense_subventionnable_ht_centimes"));
    out->sollicite = json_integer_value(json_object_get(doc, "montant_sollicite_centimes"));
    out->accorde = json_integer_value(json_object_get(doc, "montant_accorde_centimes"));
    out->has_fiche = json_is_string(json_object_get(doc, "fiche_id"));
    struct parametres def;
    parametres_defaut(&def);
    out->delais = def.delais;
    const json_t *dl = json_object_get(doc, "_delais");
    int *slots[] = {&out->delais.rejet_implicite_mois, &out->delais.caducite_annees,
                    &out->delais.caducite_prolongation_annees, &out->delais.forclusion_annees,
                    &out->delais.forclusion_prolongation_annees};
    const char *names[] = {"rejet_implicite_mois", "caducite_annees",
                           "caducite_prolongation_annees", "forclusion_annees",
                           "forclusion_prolongation_annees"};
    for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++) {
        const json_t *v = json_object_get(dl, names[i]);
        if (json_is_integer(v))
            *slots[i] = (int)json_integer_value(v);
    }
    return true;
}

bool demande_today_parametres_or_reply(struct request_ctx *ctx, struct date *today,
                                       struct parametres *out)
{
    programme_today(today);
    return demande_parametres_or_reply(ctx, *today, out);
}

bool demande_parametres_or_reply(struct request_ctx *ctx, struct date today, struct parametres *out)
{
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    enum db_result r = db_pool_acquire(ctx->app->pool, &conn, &err);
    if (r == DB_OK) {
        long version = 0;
        r = parametres_en_vigueur(conn, today, out, &version, &err);
        db_pool_release(ctx->app->pool, conn);
    }
    if (r != DB_OK) {
        respond_db_error(ctx, r, &err);
        return false;
    }
    return true;
}

enum demande_etat demande_effectif(const struct demande_etat_lu *lu, struct date today,
                                   struct demande_echeance *echeance)
{
    return demande_etat_effectif(&lu->echeance, &lu->delais, today, echeance);
}

bool demande_financeur_du_dossier(const struct request_ctx *ctx, const struct fiche_access *access)
{
    if (!ctx->principal || ctx->principal->authz.role != ROLE_FINANCEUR)
        return false;
    for (size_t i = 0; i < access->financeur_siren_count; i++)
        if (perimeter_has_siren(&ctx->principal->authz.perimeter, access->financeur_sirens[i]))
            return true;
    return false;
}

/* ---- Loading and rendering ---------------------------------------------------- */

/* access from row (its id_pvd and demande_acces document). */
static bool access_of_row(const struct demande_row *row, struct fiche_access *access)
{
    json_t *obj = json_object();
    json_t *acces = json_loads(row->acces, 0, NULL);
    bool ok = obj && acces;
    if (ok) {
        json_object_set_new(obj, "id_pvd", json_string(row->id_pvd));
        json_object_set_new(obj, "_acces", acces);
        acces = NULL;
        fiche_access_of_json(obj, access);
    }
    json_decref(acces);
    json_decref(obj);
    return ok;
}

bool demande_get_or_reply(struct request_ctx *ctx, const char *id, struct demande_row *row)
{
    memset(row, 0, sizeof *row);
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    enum db_result r = db_pool_acquire(ctx->app->pool, &conn, &err);
    if (r == DB_OK) {
        r = demande_get(conn, id, row, &err);
        db_pool_release(ctx->app->pool, conn);
    }
    return respond_lookup_or_reply(ctx, r, &err, DEMANDE_404);
}

bool demande_load_or_reply(struct request_ctx *ctx, enum action action, struct demande_row *row,
                           struct fiche_access *access)
{
    memset(row, 0, sizeof *row);
    const char *id = NULL;
    if (!programme_path_id_or_reply(ctx, NULL, DEMANDE_404, &id))
        return false;
    if (!demande_get_or_reply(ctx, id, row))
        return false;
    if (demande_decide_or_reply(ctx, action, row, access))
        return true;
    demande_row_release(row);
    return false;
}

bool demande_decide_or_reply(struct request_ctx *ctx, enum action action,
                             const struct demande_row *row, struct fiche_access *access)
{
    if (!access_of_row(row, access)) {
        respond_problem(ctx, PROBLEM_ERREUR_INTERNE, NULL);
        return false;
    }
    return fiche_access_decide_or_reply(
        ctx, action, access, DEMANDE_404,
        "Votre habilitation ne permet pas cette action sur cette demande.");
}

void demande_etag(const struct demande_row *row, enum demande_etat effectif, char out[24])
{
    size_t n = strlen(row->json);
    const char *etat = demande_etat_name(effectif);
    size_t m = etat ? strlen(etat) : 0;
    char *buf = malloc(n + m + 1);
    if (!buf) {
        http_etag(row->json, n, out);
        return;
    }
    memcpy(buf, row->json, n);
    memcpy(buf + n, etat, m);
    buf[n + m] = '\0';
    http_etag(buf, n + m, out);
    free(buf);
}

/* See demandes.h. */
bool demande_decorate(json_t *obj, const struct request_ctx *ctx, struct fiche_access *access,
                      struct date today, const struct rule_report *warnings,
                      enum demande_etat *shown)
{
    struct demande_etat_lu lu;
    if (!demande_lire_json(obj, &lu))
        return false;
    json_object_del(obj, "_delais");
    struct demande_echeance ech;
    enum demande_etat e = demande_effectif(&lu, today, &ech);
    *shown = e;
    json_object_set_new(obj, "etat", json_string(demande_etat_name(e)));
    if (ech.has) {
        char d[11];
        date_format(ech.dernier_jour, d);
        json_object_set_new(
            obj, "echeance",
            json_pack("{s:s, s:s}", "vers", demande_etat_name(ech.vers), "dernier_jour", d));
    } else {
        json_object_set_new(obj, "echeance", json_null());
    }
    json_t *possibles = json_array();
    if (fiche_access_decide(ctx, ACTION_DEMANDE_TRANSITION, access) == AUTHZ_ALLOW) {
        enum demande_etat to[DEMANDE_ETAT__COUNT];
        size_t n = demande_transitions_possibles(
            e, lu.echeance.dispositif, ctx->principal->authz.role,
            demande_financeur_du_dossier(ctx, access), to, DEMANDE_ETAT__COUNT);
        for (size_t i = 0; i < n && i < DEMANDE_ETAT__COUNT; i++)
            json_array_append_new(possibles, json_string(demande_etat_name(to[i])));
    }
    json_object_set_new(obj, "transitions_possibles", possibles);
    json_object_set_new(obj, "avertissements", programme_avertissements(warnings));
    return true;
}

void demande_send(struct request_ctx *ctx, int status, const struct demande_row *row,
                  struct fiche_access *access, struct date today,
                  const struct rule_report *warnings)
{
    json_t *obj = json_loads(row->json, 0, NULL);
    enum demande_etat shown = DEMANDE_BROUILLON;
    if (!obj || !demande_decorate(obj, ctx, access, today, warnings, &shown)) {
        json_decref(obj);
        respond_problem(ctx, PROBLEM_ERREUR_INTERNE, NULL);
        return;
    }
    char etag[24];
    demande_etag(row, shown, etag);
    respond_object_representation(ctx, status, obj, etag);
}

void demande_send_row(struct request_ctx *ctx, int status, const struct demande_row *row,
                      struct date today)
{
    struct fiche_access access;
    if (access_of_row(row, &access))
        demande_send(ctx, status, row, &access, today, NULL);
    else
        respond_problem(ctx, PROBLEM_ERREUR_INTERNE, NULL);
}

/* The current ETag of request id ("" when it cannot be read). */
static void current_etag(struct request_ctx *ctx, const char *id, char out[24])
{
    struct demande_row row;
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    struct parametres p;
    struct date today;
    out[0] = '\0';
    programme_today(&today);
    if (!id || db_pool_acquire(ctx->app->pool, &conn, &err) != DB_OK)
        return;
    long version;
    if (parametres_en_vigueur(conn, today, &p, &version, &err) == DB_OK &&
        demande_get(conn, id, &row, &err) == DB_OK) {
        json_t *doc = json_loads(row.json, 0, NULL);
        struct demande_etat_lu lu;
        if (doc && demande_lire_json(doc, &lu))
            demande_etag(&row, demande_effectif(&lu, today, NULL), out);
        json_decref(doc);
        demande_row_release(&row);
    }
    db_pool_release(ctx->app->pool, conn);
}

bool demande_mutate_or_reply(struct request_ctx *ctx, const char *id, db_mutation_fn unit,
                             void *work, const struct rule_report *violations,
                             const struct fiche_conflict *conflict)
{
    return programme_object_mutate_or_reply(
        ctx, id, unit, work, violations, conflict, DEMANDE_404,
        "La demande a changé pendant votre requête (ETag périmé) : relisez-la.", current_etag);
}

/* ---- Bodies ---------------------------------------------------------------------- */

static const char *const dispositifs[] = {
    "chef_de_projet_pvd", "DETR", "DSIL", "fonds_vert_recyclage_foncier", "FNADT", "autre", NULL};

struct demande_body {
    const char *id_pvd, *demandeur_id, *financeur_id, *fiche_id, *poste_id, *intitule;
    const char *ds_aide, *siret_demandeur, *siret_financeur;
    int dispositif;
    int64_t annee, depense, sollicite, ds_dossier, ds_procedure;
    bool garantie;
    struct date dates[3];
};
#define DB_(m) offsetof(struct demande_body, m)

#define MONEY(n, m)                                                                                \
    {                                                                                              \
        .name = n, .kind = JSON_FIELD_INTEGER, .offset = DB_(m),                                   \
        .on_create = JSON_CREATE_REQUIRED, .min = 0, .max = FINANCEMENT_MONTANT_MAX                \
    }
#define UUID_FIELD(n, m, create, patch, null)                                                      \
    {                                                                                              \
        .name = n, .kind = JSON_FIELD_STRING, .offset = DB_(m), .on_create = create,               \
        .on_patch = patch, .nullable = null, .check = query_is_uuid, .check_message = "Un UUID."   \
    }

#define SIRET_FIELD(n, m)                                                                          \
    {                                                                                              \
        .name = n, .kind = JSON_FIELD_STRING, .offset = DB_(m), .nullable = true,                  \
        .check = siret_format_is_valid, .check_message = "Un SIRET : 14 chiffres."                 \
    }

/* The draft's members (create and PATCH). Dates of instruction, decision
 * and execution are given with the transitions that record them. */
static const struct json_field demande_fields[] = {
    {.name = "id_pvd",
     .kind = JSON_FIELD_STRING,
     .offset = DB_(id_pvd),
     .on_patch = JSON_PATCH_IMMUTABLE,
     .check = territoire_id_pvd_is_valid,
     .check_message = "Un identifiant pvd-<région>-<département>-<n>."},
    {.name = "dispositif",
     .kind = JSON_FIELD_ENUM,
     .offset = DB_(dispositif),
     .on_create = JSON_CREATE_REQUIRED,
     .on_patch = JSON_PATCH_IMMUTABLE,
     .values = dispositifs},
    UUID_FIELD("demandeur_id", demandeur_id, JSON_CREATE_REQUIRED, JSON_PATCH_EDITABLE, false),
    UUID_FIELD("financeur_id", financeur_id, JSON_CREATE_OPTIONAL, JSON_PATCH_EDITABLE, true),
    UUID_FIELD("fiche_id", fiche_id, JSON_CREATE_OPTIONAL, JSON_PATCH_IMMUTABLE, false),
    UUID_FIELD("poste_id", poste_id, JSON_CREATE_OPTIONAL, JSON_PATCH_EDITABLE, true),
    {.name = "annee_programmation",
     .kind = JSON_FIELD_INTEGER,
     .offset = DB_(annee),
     .on_create = JSON_CREATE_REQUIRED,
     .min = 2000,
     .max = 2100},
    {.name = "intitule",
     .kind = JSON_FIELD_STRING,
     .offset = DB_(intitule),
     .on_create = JSON_CREATE_REQUIRED,
     .min_length = 1,
     .max_length = 300},
    MONEY("depense_subventionnable_ht_centimes", depense),
    MONEY("montant_sollicite_centimes", sollicite),
    {.name = "date_depot", .kind = JSON_FIELD_DATE, .offset = DB_(dates[0]), .nullable = true},
    {.name = "date_accuse_reception",
     .kind = JSON_FIELD_DATE,
     .offset = DB_(dates[1]),
     .nullable = true},
    {.name = "date_dossier_complet",
     .kind = JSON_FIELD_DATE,
     .offset = DB_(dates[2]),
     .nullable = true},
    {.name = "garantie_bancaire", .kind = JSON_FIELD_BOOLEAN, .offset = DB_(garantie)},
    {.name = "ds_dossier_number",
     .kind = JSON_FIELD_INTEGER,
     .offset = DB_(ds_dossier),
     .nullable = true,
     .min = 1,
     .max = INT64_C(999999999999)},
    {.name = "ds_procedure_id",
     .kind = JSON_FIELD_INTEGER,
     .offset = DB_(ds_procedure),
     .nullable = true,
     .min = 1,
     .max = INT64_C(999999999999)},
    {.name = "aides_territoires_aide_id",
     .kind = JSON_FIELD_STRING,
     .offset = DB_(ds_aide),
     .nullable = true,
     .min_length = 1,
     .max_length = 100},
    /* the SIRETs of the open data (SCDL idBeneficiaire, idAttribuant): key
     * and SIREN checked by demande_organisations_or_reply */
    SIRET_FIELD("siret_demandeur", siret_demandeur),
    SIRET_FIELD("siret_financeur", siret_financeur),
    JSON_FIELDS_END,
};

/* The checks of a draft as it would be stored (merged document): dates
 * (demande_dates_check), the fiche (required but for the chef de projet
 * post), amounts. */
static void draft_rules(const json_t *merged, struct date today, struct rule_report *v)
{
    struct demande_dates dates;
    memset(&dates, 0, sizeof dates);
    demande_dates_fusion(merged, NULL, &dates);
    demande_dates_check(&dates, today, v);
    enum subvention_dispositif d;
    if (subvention_dispositif_parse(json_string_value(json_object_get(merged, "dispositif")), &d) &&
        d != SUBVENTION_CHEF_DE_PROJET_PVD && !json_is_string(json_object_get(merged, "fiche_id")))
        rule_report_add(v, "", "fiche-manquante", DEMANDE_PTR_FICHE,
                        "Une demande de subvention d'investissement porte sur une fiche action.");
    if (json_integer_value(json_object_get(merged, "montant_sollicite_centimes")) >
        json_integer_value(json_object_get(merged, "depense_subventionnable_ht_centimes")))
        rule_report_add(v, "", "montant-invalide", DEMANDE_PTR_SOLLICITE,
                        "Le montant sollicité dépasse la dépense subventionnable.");
}

/* siret_demandeur and siret_financeur of body (when given): the Luhn key
 * (R42 siret-invalide) and the SIREN of the organisation named by
 * demandeur_id, resp. financeur_id (siret-incoherent; a siret_financeur
 * without financeur also). found: {uuid: siren} of those organisations. */
static void sirets_check(const json_t *body, const json_t *found, struct rule_report *v)
{
    static const char *const sirets[] = {"siret_demandeur", "siret_financeur"};
    static const char *const owners[] = {"demandeur_id", "financeur_id"};
    for (size_t i = 0; i < 2; i++) {
        const char *siret = json_string_value(json_object_get(body, sirets[i]));
        const char *id = json_string_value(json_object_get(body, owners[i]));
        char pointer[24], lower[37];
        if (!siret)
            continue;
        snprintf(pointer, sizeof pointer, "/%s", sirets[i]);
        if (!siret_is_valid(siret)) {
            rule_report_add(v, "R42", "siret-invalide", pointer,
                            "Le SIRET %s n'a pas une clé valide (algorithme de Luhn).", siret);
            continue;
        }
        if (id)
            gouv_uuid_lower(id, lower);
        const char *siren = id ? json_string_value(json_object_get(found, lower)) : NULL;
        if (!id)
            rule_report_add(v, "", "siret-incoherent", pointer,
                            "Un SIRET du financeur demande un financeur (financeur_id).");
        else if (siren && strncmp(siret, siren, 9) != 0)
            rule_report_add(v, "", "siret-incoherent", pointer,
                            "Le SIRET %s n'est pas un établissement du SIREN %s de l'organisation "
                            "%s : ses 9 premiers chiffres sont le SIREN.",
                            siret, siren, owners[i]);
    }
}

bool demande_organisations_or_reply(struct request_ctx *ctx, const json_t *body,
                                    struct rule_report *v)
{
    static const char *const members[] = {"demandeur_id", "financeur_id"};
    json_t *ids = json_array();
    for (size_t i = 0; i < 2; i++)
        if (json_is_string(json_object_get(body, members[i])))
            json_array_append(ids, json_object_get(body, members[i]));
    json_t *found = NULL;
    bool ok = json_array_size(ids) == 0 || gouv_organisations_or_reply(ctx, ids, &found);
    const char *poste = json_string_value(json_object_get(body, "poste_id"));
    if (ok && poste) { /* the poste de chef de projet named exists */
        struct db_conn *conn = NULL;
        struct db_error err = {{0}, {0}};
        bool exists = false;
        enum db_result r = db_pool_acquire(ctx->app->pool, &conn, &err);
        if (r == DB_OK) {
            r = demande_poste_existe(conn, poste, &exists, &err);
            db_pool_release(ctx->app->pool, conn);
        }
        if (r != DB_OK) {
            respond_db_error(ctx, r, &err);
            ok = false;
        } else if (!exists) {
            rule_report_add(v, "", "poste-inconnu", "/poste_id",
                            "Aucun poste de chef de projet n'a l'identifiant %s.", poste);
        }
    }
    for (size_t i = 0; ok && found && i < 2; i++) {
        const char *id = json_string_value(json_object_get(body, members[i]));
        char lower[37], p[40];
        if (!id)
            continue;
        gouv_uuid_lower(id, lower);
        if (!json_object_get(found, lower)) {
            snprintf(p, sizeof p, "/%s", members[i]);
            rule_report_add(v, "", "organisation-inconnue", p,
                            "Aucune organisation n'a l'identifiant %s.", lower);
        }
    }
    if (ok && found)
        sirets_check(body, found, v);
    json_decref(found);
    json_decref(ids);
    return ok;
}

/* The territoire of a new request as demande_territoire_or_reply describes
 * it, its violations appended to v. false: answered (503/500). */
static bool territoire_lu_or_reply(struct request_ctx *ctx, const char *fiche_id,
                                   const char *id_pvd_given, bool chef_de_projet, char id_pvd[17],
                                   struct rule_report *v)
{
    id_pvd[0] = '\0';
    if (!fiche_id) {
        if (chef_de_projet && id_pvd_given)
            snprintf(id_pvd, 17, "%s", id_pvd_given);
        else
            rule_report_add(v, "", "fiche-manquante", DEMANDE_PTR_FICHE,
                            "Une fiche action (fiche_id), ou pour le poste de chef de projet le "
                            "territoire (id_pvd).");
        return true;
    }
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    enum db_result r = db_pool_acquire(ctx->app->pool, &conn, &err);
    if (r == DB_OK) {
        r = demande_fiche_territoire(conn, fiche_id, id_pvd, &err);
        db_pool_release(ctx->app->pool, conn);
    }
    if (r == DB_NOT_FOUND) {
        rule_report_add(v, "", "fiche-inconnue", DEMANDE_PTR_FICHE,
                        "Aucune fiche action n'a l'identifiant %s.", fiche_id);
        return true;
    }
    if (r != DB_OK) {
        respond_db_error(ctx, r, &err);
        return false;
    }
    if (id_pvd_given && strcmp(id_pvd_given, id_pvd) != 0)
        rule_report_add(v, "", "territoire-incoherent", "/id_pvd",
                        "La fiche action est celle du territoire %s.", id_pvd);
    return true;
}

bool demande_territoire_or_reply(struct request_ctx *ctx, enum action action, const char *fiche_id,
                                 const char *id_pvd_given, bool chef_de_projet, char id_pvd[17],
                                 struct rule_report *v)
{
    struct territoire_scope scope;
    return territoire_lu_or_reply(ctx, fiche_id, id_pvd_given, chef_de_projet, id_pvd, v) &&
           programme_rules_hold_or_reply(ctx, v) &&
           programme_territoire_or_reply(ctx, action, id_pvd,
                                         "Aucun territoire visible n'a cet identifiant.", &scope);
}

enum db_result demande_r18_check(struct db_tx *tx, const json_t *merged, const char *exclude_id,
                                 struct date today, struct rule_report *v, struct db_error *err)
{
    enum subvention_dispositif d;
    const char *poste = json_string_value(json_object_get(merged, "poste_id"));
    if (!poste ||
        !subvention_dispositif_parse(json_string_value(json_object_get(merged, "dispositif")),
                                     &d) ||
        d != SUBVENTION_CHEF_DE_PROJET_PVD)
        return DB_OK;
    char annee[24];
    long long year = (long long)json_integer_value(json_object_get(merged, "annee_programmation"));
    snprintf(annee, sizeof annee, "%lld", year);
    char *json = NULL;
    enum db_result r = demande_autres_du_poste(tx, poste, annee, exclude_id, &json, err);
    if (r != DB_OK)
        return r;
    json_t *autres = json_loads(json, 0, NULL);
    free(json);
    if (!autres)
        return DB_FAILED;
    size_t i;
    json_t *o;
    json_array_foreach(autres, i, o)
    {
        struct demande_etat_lu lu;
        if (!demande_lire_json(o, &lu)) {
            r = DB_FAILED;
            break;
        }
        enum demande_etat e = demande_effectif(&lu, today, NULL);
        if (!demande_etat_terminal(e)) {
            rule_report_add(v, "R18", "demande-annee-deja-en-cours", "/annee_programmation",
                            "Une demande de subvention (%s) est déjà en cours pour ce poste et "
                            "l'année %lld : une seule demande couvre tous les financeurs.",
                            demande_etat_name(e), year);
            r = DB_CONFLICT;
            break;
        }
    }
    json_decref(autres);
    return r;
}

/* ---- POST /api/v1/demandes-subvention ------------------------------------------- */

struct create_work {
    const char *id_pvd, *doc;
    const json_t *body;
    const struct parametres *p;
    struct date today;
    struct rule_report violations;
    struct demande_row result;
};

static enum db_result create_unit(struct db_tx *tx, void *ctx, struct db_error *err)
{
    struct create_work *w = ctx;
    demande_row_release(&w->result);
    rule_report_init(&w->violations);
    enum db_result r = territoire_lock(tx, w->id_pvd, err); /* before R18's lock: one order */
    if (r == DB_OK)
        r = demande_r18_check(tx, w->body, NULL, w->today, &w->violations, err);
    if (r != DB_OK)
        return r;
    return demande_create(tx, w->id_pvd, w->doc, NULL, &w->result, err);
}

static const struct fiche_conflict conflit_creation = {
    "", "reference-inconnue",
    "Une référence de la demande n'existe pas, ou ce numéro de dossier Démarches simplifiées "
    "est déjà celui d'une autre demande."};

void handle_create_demande(struct request_ctx *ctx)
{
    json_t *body = NULL;
    char *doc = NULL;
    FIELD_ERRORS(errs);
    if (!query_or_reply(ctx, query_no_params, NULL) || !json_body_read_or_reply(ctx, &body))
        return;
    struct demande_body in;
    memset(&in, 0, sizeof in);
    json_spec_apply(body, demande_fields, JSON_SPEC_CREATE, &in, "", &errs);
    if (!body_errors_or_reply(ctx, &errs))
        goto out;
    struct date today;
    programme_today(&today);
    struct rule_report violations;
    rule_report_init(&violations);
    char id_pvd[17] = "";
    if (!demande_territoire_or_reply(ctx, ACTION_DEMANDE_WRITE, in.fiche_id, in.id_pvd,
                                     in.dispositif == SUBVENTION_CHEF_DE_PROJET_PVD, id_pvd,
                                     &violations))
        goto out;
    draft_rules(body, today, &violations);
    if (!demande_organisations_or_reply(ctx, body, &violations) ||
        !programme_rules_hold_or_reply(ctx, &violations))
        goto out;
    struct parametres p;
    if (!demande_parametres_or_reply(ctx, today, &p))
        goto out;
    doc = gouv_dump(body);
    struct create_work work;
    memset(&work, 0, sizeof work);
    work.id_pvd = id_pvd;
    work.doc = doc;
    work.body = body;
    work.p = &p;
    work.today = today;
    if (demande_mutate_or_reply(ctx, NULL, create_unit, &work, &work.violations,
                                &conflit_creation)) {
        http_set_location(ctx->res, "/api/v1/demandes-subvention/", work.result.id);
        demande_send_row(ctx, 201, &work.result, today);
    }
    demande_row_release(&work.result);
out:
    free(doc);
    json_decref(body);
}

/* ---- GET /api/v1/demandes-subvention/:id ----------------------------------------- */

void handle_get_demande(struct request_ctx *ctx)
{
    struct demande_row row;
    struct fiche_access access;
    if (!demande_load_or_reply(ctx, ACTION_DEMANDE_READ, &row, &access))
        return;
    struct date today;
    struct parametres p;
    if (demande_today_parametres_or_reply(ctx, &today, &p))
        demande_send(ctx, 200, &row, &access, today, NULL);
    demande_row_release(&row);
}

/* ---- PATCH /api/v1/demandes-subvention/:id ---------------------------------------- */

struct update_work {
    const char *id, *doc;
    long revision;
    const json_t *body;
    const struct parametres *p;
    struct date today;
    struct rule_report violations;
    struct demande_row result;
    bool plus_brouillon;
};

static enum db_result update_unit(struct db_tx *tx, void *ctx, struct db_error *err)
{
    struct update_work *w = ctx;
    demande_row_release(&w->result);
    rule_report_init(&w->violations);
    struct demande_row avant;
    enum db_result r = demande_lock(tx, w->id, w->revision, &avant, err);
    if (r != DB_OK)
        return r;
    json_t *doc = json_loads(avant.json, 0, NULL);
    w->plus_brouillon =
        !doc || strcmp(json_string_value(json_object_get(doc, "etat_enregistre"))
                           ? json_string_value(json_object_get(doc, "etat_enregistre"))
                           : "",
                       "brouillon") != 0;
    if (!w->plus_brouillon) { /* R18 on the draft as it would be */
        json_object_update(doc, (json_t *)w->body);
        r = demande_r18_check(tx, doc, w->id, w->today, &w->violations, err);
    }
    json_decref(doc);
    if (w->plus_brouillon || r != DB_OK) {
        demande_row_release(&avant);
        return w->plus_brouillon ? DB_CONFLICT : r;
    }
    return demande_write(tx, &avant, w->doc, NULL, "demande_subvention.modifier", &w->result, err);
}

static const struct fiche_conflict non_brouillon = {
    "", "demande-non-modifiable",
    "Seul un brouillon se modifie : une demande déposée change par ses transitions."};

void handle_update_demande(struct request_ctx *ctx)
{
    struct demande_row row;
    struct fiche_access access;
    json_t *body = NULL, *merged = NULL;
    char *doc = NULL;
    FIELD_ERRORS(errs);
    if (!demande_load_or_reply(ctx, ACTION_DEMANDE_WRITE, &row, &access))
        return;
    if (!json_body_read_or_reply(ctx, &body))
        goto out;
    struct demande_body in;
    memset(&in, 0, sizeof in);
    json_spec_apply(body, demande_fields, JSON_SPEC_PATCH, &in, "", &errs);
    if (!body_errors_or_reply(ctx, &errs))
        goto out;
    struct date today;
    struct parametres p;
    if (!demande_today_parametres_or_reply(ctx, &today, &p))
        goto out;
    merged = json_loads(row.json, 0, NULL);
    struct demande_etat_lu lu;
    if (!merged || !demande_lire_json(merged, &lu)) {
        respond_problem(ctx, PROBLEM_ERREUR_INTERNE, NULL);
        goto out;
    }
    char etag[24];
    demande_etag(&row, demande_effectif(&lu, today, NULL), etag);
    if (!if_match_or_reply(ctx, etag))
        goto out;
    json_object_update(merged, body);
    struct rule_report violations;
    rule_report_init(&violations);
    draft_rules(merged, today, &violations);
    if (!demande_organisations_or_reply(ctx, merged, &violations) ||
        !programme_rules_hold_or_reply(ctx, &violations))
        goto out;
    doc = gouv_dump(body);
    struct update_work work;
    memset(&work, 0, sizeof work);
    work.id = row.id;
    work.doc = doc;
    work.revision = row.revision;
    work.body = body;
    work.p = &p;
    work.today = today;
    if (demande_mutate_or_reply(ctx, row.id, update_unit, &work, &work.violations, &non_brouillon))
        demande_send(ctx, 200, &work.result, &access, today, NULL);
    demande_row_release(&work.result);
out:
    free(doc);
    json_decref(merged);
    json_decref(body);
    demande_row_release(&row);
}

/* ---- Shared by the writes ------------------------------------------------------------ */

enum db_result demande_lock_lire(struct db_tx *tx, const char *id, long revision,
                                 struct demande_row *avant, json_t **stored,
                                 struct demande_etat_lu *lu, struct db_error *err)
{
    *stored = NULL;
    enum db_result r = demande_lock(tx, id, revision, avant, err);
    if (r != DB_OK)
        return r;
    *stored = json_loads(avant->json, 0, NULL);
    if (!*stored || !demande_lire_json(*stored, lu)) {
        json_decref(*stored);
        *stored = NULL;
        demande_row_release(avant);
        return DB_FAILED;
    }
    return DB_OK;
}
