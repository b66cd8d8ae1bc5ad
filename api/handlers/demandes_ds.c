/* PUT /api/v1/demandes-subvention/par-dossier-ds/{numero} (issue #10 §3):
 * the préfectures' systems deliver a Démarches simplifiées dossier; the
 * request of that dossier number is created, or updated, idempotently and
 * never backwards. Ordering: the delivery's `ds_modifie_le` (the DS
 * dossier's dateDerniereModification); one not after the stored one — a
 * retry or an out-of-order delivery — changes nothing (200 with the
 * request as stored, no journal row). A newer one writes its members and
 * the state its `etat_ds` names (demande_etat_from_ds), unless the request
 * has gone past the DS states (notifiee, engagee, soldee, or a date-driven
 * state): DS knows nothing of the post-decision life, whose state is kept.
 * Authorization: demande.synchroniser on the request's target (creation:
 * on the territoire of the fiche, or id_pvd for the chef de projet post; a
 * préfecture de région creates DSIL dossiers only, R38).
 * Journal "demande_subvention.synchroniser". */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../domain/territoire.h"
#include "../auth.h"
#include "../json_spec.h"
#include "../query.h"
#include "demandes.h"
#include "gouvernance.h"
#include "handlers.h"
#include "programme.h"

static const char *const etats_ds[] = {
    "brouillon", "en_construction", "en_instruction", "accepte", "refuse", "sans_suite", NULL};
static const char *const dispositifs[] = {
    "chef_de_projet_pvd", "DETR", "DSIL", "fonds_vert_recyclage_foncier", "FNADT", "autre", NULL};

struct ds_body {
    int etat_ds, dispositif;
    const char *modifie_le, *id_pvd, *demandeur_id, *fiche_id, *intitule, *motif_refus;
    int64_t annee, depense, sollicite, accorde, procedure;
    struct date dates[3];
    bool has_dispositif, has_demandeur, has_annee, has_intitule, has_depense, has_sollicite;
};
#define DSB(m)        offsetof(struct ds_body, m)
#define DS_PRESENT(m) JSON_PRESENT_AT(struct ds_body, m)

static const struct json_field ds_fields[] = {
    {.name = "etat_ds",
     .kind = JSON_FIELD_ENUM,
     .offset = DSB(etat_ds),
     .on_create = JSON_CREATE_REQUIRED,
     .values = etats_ds},
    {.name = "ds_modifie_le",
     .kind = JSON_FIELD_STRING,
     .offset = DSB(modifie_le),
     .on_create = JSON_CREATE_REQUIRED,
     .check = query_is_instant,
     .check_message = "Un instant RFC 3339 (dateDerniereModification du dossier)."},
    {.name = "ds_procedure_id",
     .kind = JSON_FIELD_INTEGER,
     .offset = DSB(procedure),
     .min = 1,
     .max = INT64_C(999999999999)},
    {.name = "id_pvd",
     .kind = JSON_FIELD_STRING,
     .offset = DSB(id_pvd),
     .check = territoire_id_pvd_is_valid,
     .check_message = "Un identifiant pvd-<région>-<département>-<n>."},
    {.name = "dispositif",
     .kind = JSON_FIELD_ENUM,
     .offset = DSB(dispositif),
     .present_at = DS_PRESENT(has_dispositif),
     .values = dispositifs},
    {.name = "demandeur_id",
     .kind = JSON_FIELD_STRING,
     .offset = DSB(demandeur_id),
     .present_at = DS_PRESENT(has_demandeur),
     .check = query_is_uuid,
     .check_message = "Un UUID."},
    {.name = "fiche_id",
     .kind = JSON_FIELD_STRING,
     .offset = DSB(fiche_id),
     .check = query_is_uuid,
     .check_message = "Un UUID."},
    {.name = "annee_programmation",
     .kind = JSON_FIELD_INTEGER,
     .offset = DSB(annee),
     .present_at = DS_PRESENT(has_annee),
     .min = 2000,
     .max = 2100},
    {.name = "intitule",
     .kind = JSON_FIELD_STRING,
     .offset = DSB(intitule),
     .present_at = DS_PRESENT(has_intitule),
     .min_length = 1,
     .max_length = 300},
    {.name = "depense_subventionnable_ht_centimes",
     .kind = JSON_FIELD_INTEGER,
     .offset = DSB(depense),
     .present_at = DS_PRESENT(has_depense),
     .min = 0,
     .max = FINANCEMENT_MONTANT_MAX},
    {.name = "montant_sollicite_centimes",
     .kind = JSON_FIELD_INTEGER,
     .offset = DSB(sollicite),
     .present_at = DS_PRESENT(has_sollicite),
     .min = 0,
     .max = FINANCEMENT_MONTANT_MAX},
    {.name = "date_depot", .kind = JSON_FIELD_DATE, .offset = DSB(dates[0])},
    {.name = "date_accuse_reception", .kind = JSON_FIELD_DATE, .offset = DSB(dates[1])},
    {.name = "date_decision", .kind = JSON_FIELD_DATE, .offset = DSB(dates[2])},
    {.name = "montant_accorde_centimes",
     .kind = JSON_FIELD_INTEGER,
     .offset = DSB(accorde),
     .min = 0,
     .max = FINANCEMENT_MONTANT_MAX},
    {.name = "motif_refus",
     .kind = JSON_FIELD_STRING,
     .offset = DSB(motif_refus),
     .min_length = 1,
     .max_length = 2000},
    JSON_FIELDS_END,
};

/* Past the Démarches simplifiées states: kept whatever DS says. */
static bool au_dela_de_ds(enum demande_etat e)
{
    return e == DEMANDE_NOTIFIEE || e == DEMANDE_ENGAGEE || e == DEMANDE_SOLDEE ||
           e == DEMANDE_CADUQUE || e == DEMANDE_FORCLOSE || e == DEMANDE_REJET_IMPLICITE;
}

struct ds_work {
    const char *id;     /* existing request; NULL: create */
    const char *id_pvd; /* creation */
    const char *doc, *modifie_le;
    enum demande_etat etat;
    struct date today;
    const struct parametres *p;
    bool unchanged;
    struct rule_report violations;
    struct demande_row result;
};

static enum db_result ds_unit(struct db_tx *tx, void *ctx, struct db_error *err)
{
    struct ds_work *w = ctx;
    demande_row_release(&w->result);
    rule_report_init(&w->violations);
    w->unchanged = false;
    if (!w->id) {
        json_t *body = json_loads(w->doc, 0, NULL);
        struct demande_dates dates;
        demande_dates_fusion(body, NULL, &dates);
        json_decref(body);
        if (demande_dates_check(&dates, w->today, &w->violations) > 0)
            return DB_CONFLICT;
        return demande_create(tx, w->id_pvd, w->doc, demande_etat_name(w->etat), &w->result, err);
    }
    struct demande_row avant;
    json_t *stored = NULL;
    struct demande_etat_lu lu;
    enum db_result r = demande_lock_lire(tx, w->id, -1, &avant, &stored, &lu, err);
    if (r != DB_OK)
        return r;
    bool newer = false;
    r = demande_ds_plus_recente(tx, w->id, w->modifie_le, &newer, err);
    if (r != DB_OK || !newer) {
        w->unchanged = r == DB_OK;
        json_decref(stored);
        demande_row_release(&avant);
        return r == DB_OK ? DB_STALE : r; /* nothing written: rolled back */
    }
    enum demande_etat shown = demande_effectif(&lu, w->today, NULL);
    enum demande_etat to = au_dela_de_ds(shown) ? lu.echeance.etat : w->etat;
    json_t *body = json_loads(w->doc, 0, NULL);
    struct demande_dates dates;
    demande_dates_fusion(stored, body, &dates);
    json_decref(body);
    json_decref(stored);
    if (demande_dates_check(&dates, w->today, &w->violations) > 0) {
        demande_row_release(&avant);
        return DB_CONFLICT;
    }
    return demande_write(tx, &avant, w->doc, demande_etat_name(to),
                         "demande_subvention.synchroniser", &w->result, err);
}

/* The members a creation needs (400 champ-requis for the others). */
static void creation_members(const struct ds_body *in, struct field_errors *errs)
{
    const struct {
        bool has;
        const char *pointer;
    } required[] = {{in->has_dispositif, "/dispositif"},
                    {in->has_demandeur, "/demandeur_id"},
                    {in->has_annee, "/annee_programmation"},
                    {in->has_intitule, "/intitule"},
                    {in->has_depense, "/depense_subventionnable_ht_centimes"},
                    {in->has_sollicite, "/montant_sollicite_centimes"}};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (!required[i].has)
            field_errors_add(errs, required[i].pointer, NULL, "champ-requis",
                             "Requis pour créer la demande de ce dossier.");
}

static const struct fiche_conflict conflit_ds = {
    "", "reference-inconnue",
    "Une référence du dossier n'existe pas, ou le dossier a été créé par une autre livraison "
    "concurrente : relivrez-le."};

void handle_sync_demande_ds(struct request_ctx *ctx)
{
    json_t *body = NULL;
    char *doc = NULL;
    struct demande_row row;
    memset(&row, 0, sizeof row);
    FIELD_ERRORS(errs);
    if (!query_or_reply(ctx, query_no_params, NULL))
        return;
    const char *numero = query_path_param(ctx, "numero");
    if (!numero || strlen(numero) < 1 || strlen(numero) > 12 ||
        strspn(numero, "0123456789") != strlen(numero) || numero[0] == '0') {
        respond_problem(ctx, PROBLEM_RESSOURCE_INTROUVABLE,
                        "Un numéro de dossier Démarches simplifiées est un entier de 1 à 12 "
                        "chiffres.");
        return;
    }
    if (!json_body_read_or_reply(ctx, &body))
        return;
    struct ds_body in;
    memset(&in, 0, sizeof in);
    json_spec_apply(body, ds_fields, JSON_SPEC_CREATE, &in, "", &errs);
    if (!body_errors_or_reply(ctx, &errs))
        goto out;
    struct date today;
    struct parametres p;
    programme_today(&today);
    char id[37] = "";
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    enum db_result r = db_pool_acquire(ctx->app->pool, &conn, &err);
    if (r == DB_OK) {
        r = demande_id_par_ds(conn, numero, id, &err);
        db_pool_release(ctx->app->pool, conn);
    }
    if (r != DB_OK && r != DB_NOT_FOUND) {
        respond_db_error(ctx, r, &err);
        goto out;
    }
    struct rule_report violations;
    rule_report_init(&violations);
    char id_pvd[17] = "";
    struct fiche_access access;
    if (id[0]) { /* an update: authorized on the request */
        struct demande_row current;
        /* demande_load_or_reply reads :id; the request is named by its number */
        if (!demande_parametres_or_reply(ctx, today, &p))
            goto out;
        if (!demande_get_or_reply(ctx, id, &current)) {
            demande_row_release(&current);
            goto out;
        }
        bool ok = demande_decide_or_reply(ctx, ACTION_DEMANDE_SYNC, &current, &access);
        demande_row_release(&current);
        if (!ok)
            goto out;
    } else {
        creation_members(&in, &errs);
        if (!body_errors_or_reply(ctx, &errs))
            goto out;
        if (!demande_territoire_or_reply(ctx, ACTION_DEMANDE_SYNC, in.fiche_id, in.id_pvd,
                                         in.dispositif == SUBVENTION_CHEF_DE_PROJET_PVD, id_pvd,
                                         &violations))
            goto out;
        if (ctx->principal->authz.role == ROLE_PREFECTURE_REGION &&
            in.dispositif != SUBVENTION_DSIL) { /* R38: its dispositif is DSIL, it sees no other */
            respond_problem(ctx, PROBLEM_INTERDIT,
                            "La préfecture de région instruit les demandes DSIL (R38), pas les "
                            "autres dispositifs.");
            goto out;
        }
        if (!demande_parametres_or_reply(ctx, today, &p))
            goto out;
    }
    if (!demande_organisations_or_reply(ctx, body, &violations) ||
        !programme_rules_hold_or_reply(ctx, &violations))
        goto out;
    /* the document written: the body's members, etat_ds out, the number in */
    json_t *copy = json_deep_copy(body);
    json_object_del(copy, "etat_ds");
    json_object_del(copy, "id_pvd");
    json_object_set_new(copy, "ds_dossier_number", json_integer(strtoll(numero, NULL, 10)));
    doc = gouv_dump(copy);
    json_decref(copy);
    struct ds_work work;
    memset(&work, 0, sizeof work);
    work.id = id[0] ? id : NULL;
    work.id_pvd = id_pvd;
    work.doc = doc;
    work.modifie_le = in.modifie_le;
    work.today = today;
    work.p = &p;
    demande_etat_from_ds(etats_ds[in.etat_ds], &work.etat);
    r = programme_mutate(ctx, ds_unit, &work, &err);
    if (r == DB_STALE && work.unchanged) { /* a retry or an older delivery */
        if (demande_get_or_reply(ctx, id, &row))
            demande_send_row(ctx, 200, &row, today);
        goto out;
    }
    const struct db_answers answers = {
        .not_found = DEMANDE_404,
        .conflict = conflit_ds.detail,
        .conflict_pointer = conflit_ds.pointer,
        .conflict_code = conflit_ds.code,
        .stale = "Le dossier a changé pendant la livraison : relivrez-le."};
    if (programme_mutation_reply(ctx, r, &err, &work.violations, &answers, NULL, NULL)) {
        if (!work.id)
            http_set_location(ctx->res, "/api/v1/demandes-subvention/", work.result.id);
        demande_send_row(ctx, work.id ? 200 : 201, &work.result, today);
    }
    demande_row_release(&work.result);
out:
    demande_row_release(&row);
    free(doc);
    json_decref(body);
}
