/* The yearly funding rows of a poste de chef de projet (issue #10 §2,
 * domain.md §1.14, §2.5): list the years, read and write one year, each
 * checked as postes.c's header says (postes.h). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../db/parametres_repository.h"
#include "../../db/poste_repository.h"
#include "../../domain/chef_projet.h"
#include "../../domain/financement.h"
#include "../../domain/identifiers.h"
#include "../../domain/territoire.h"
#include "../auth.h"
#include "../cursor.h"
#include "../json_spec.h"
#include "../query.h"
#include "../xalloc.h"
#include "gouvernance.h"
#include "handlers.h"
#include "programme.h"

#include "postes.h"

/* ---- Years: representation ------------------------------------------------- */

/* The R19 schedule of year `annee` (caps in force from p), a new array. */
static json_t *echeancier_json(const struct parametres *p, int annee, bool avec_anah,
                               int64_t subvention)
{
    json_t *list = xjson(json_array());
    struct chef_projet_versement_prevu v[4];
    size_t n = chef_projet_echeancier(parametres_cdp_pour_annee(p, annee), annee, avec_anah,
                                      subvention, v, 4);
    for (size_t i = 0; i < n && i < 4; i++) {
        char tot[11], tard[11];
        date_format(v[i].au_plus_tot, tot);
        date_format(v[i].au_plus_tard, tard);
        json_t *o = xjson(json_object());
        json_object_set_new(o, "type", json_string(versement_type_name(v[i].type)));
        json_object_set_new(o, "montant_determine", json_boolean(v[i].montant_determine));
        json_object_set_new(o, "montant_centimes",
                            v[i].montant_determine ? json_integer(v[i].montant) : json_null());
        json_object_set_new(o, "montant_max_centimes", json_integer(v[i].montant));
        json_object_set_new(o, "sur_demande", json_boolean(v[i].sur_demande));
        json_object_set_new(o, "au_plus_tot", json_string(tot));
        json_object_set_new(o, "au_plus_tard",
                            v[i].has_au_plus_tard ? json_string(tard) : json_null());
        json_array_append_new(list, o);
    }
    return list;
}

/* The year's representation with its `echeancier` (a new object; NULL when
 * the stored JSON does not parse). */
static json_t *annee_json(const struct poste_annee_row *row, const struct parametres *p)
{
    json_t *obj = json_loads(row->json, 0, NULL);
    if (!obj)
        return NULL;
    int64_t subvention = 0;
    for (int i = 0; i < CDP_FINANCEUR__COUNT; i++)
        subvention += row->f.parts[i];
    json_object_set_new(obj, "echeancier",
                        echeancier_json(p, row->f.annee, row->f.avec_anah, subvention));
    return obj;
}

/* The parameters version `version` (a year's, 0: the defaults), read on a
 * pooled connection. false: a 503/500 was sent. */
static bool parametres_or_reply(struct request_ctx *ctx, long version, struct parametres *p)
{
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    enum db_result r = db_pool_acquire(ctx->app->pool, &conn, &err);
    if (r == DB_OK) {
        r = parametres_de_version(conn, version, p, &err);
        db_pool_release(ctx->app->pool, conn);
    }
    if (r == DB_OK)
        return true;
    respond_db_error(ctx, r, &err);
    return false;
}

static void annee_etag(const struct poste_annee_row *row, char out[24])
{
    http_etag(row->json, strlen(row->json), out);
}

static void annee_send(struct request_ctx *ctx, int status, const struct poste_annee_row *row)
{
    struct parametres *p = xmalloc(sizeof *p);
    if (parametres_or_reply(ctx, row->parametres_version, p)) {
        json_t *obj = annee_json(row, p);
        char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
        char etag[24];
        annee_etag(row, etag);
        if (text)
            respond_representation(ctx, status, text, strlen(text), etag);
        else
            respond_problem(ctx, PROBLEM_ERREUR_INTERNE, NULL);
        free(text);
        json_decref(obj);
    }
    free(p);
}

/* The path parameter `annee`: an integer 1900..2998. false: 400 sent. */
static bool annee_or_reply(struct request_ctx *ctx, int *annee)
{
    const char *s = query_path_param(ctx, "annee");
    char *end = NULL;
    long v = s ? strtol(s, &end, 10) : 0;
    if (s && *s >= '0' && *s <= '9' && end && *end == '\0' && strlen(s) == 4 && v >= 1900 &&
        v <= 2998) {
        *annee = (int)v;
        return true;
    }
    FIELD_ERRORS(errs);
    field_errors_add(&errs, "/annee", "annee", "format-invalide",
                     "« annee » doit être une année civile (1900 à 2998).");
    respond_problem_fields(ctx, PROBLEM_PARAMETRE_INVALIDE, "Paramètre invalide.", &errs);
    return false;
}

/* ---- GET /api/v1/postes-chef-de-projet/:id/annees ---------------------------- */

void handle_list_poste_annees(struct request_ctx *ctx)
{
    struct poste_row row;
    struct poste_access access;
    if (!poste_load_or_reply(ctx, ACTION_POSTE_READ, NULL, &row, &access))
        return;
    struct poste_annee_row *rows = NULL;
    size_t count = 0;
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    enum db_result r = db_pool_acquire(ctx->app->pool, &conn, &err);
    if (r == DB_OK) {
        r = poste_annees_lire(conn, row.id, &rows, &count, &err);
        db_pool_release(ctx->app->pool, conn);
    }
    struct parametres *p = xmalloc(sizeof *p);
    if (r != DB_OK) {
        respond_db_error(ctx, r, &err);
    } else {
        json_t *obj = xjson(json_object()), *list = xjson(json_array());
        bool ok = true, answered = false;
        long loaded = -1; /* each year's schedule with its own version */
        for (size_t i = 0; i < count && ok; i++) {
            if (rows[i].parametres_version != loaded) {
                loaded = rows[i].parametres_version;
                answered = !parametres_or_reply(ctx, loaded, p);
                if (answered)
                    break;
            }
            json_t *a = annee_json(&rows[i], p);
            ok = a != NULL;
            if (a)
                json_array_append_new(list, a);
        }
        json_object_set_new(obj, "poste_id", json_string(row.id));
        json_object_set_new(obj, "elements", list);
        char *text = ok && !answered ? json_dumps(obj, JSON_COMPACT) : NULL;
        char etag[24];
        if (text)
            http_etag(text, strlen(text), etag);
        if (text)
            respond_conditional_json(ctx, text, strlen(text), etag);
        else if (!answered)
            respond_problem(ctx, PROBLEM_ERREUR_INTERNE, NULL);
        free(text);
        json_decref(obj);
    }
    free(p);
    poste_annees_release(rows, count);
    poste_row_release(&row);
}

/* ---- GET /api/v1/postes-chef-de-projet/:id/annees/:annee --------------------- */

void handle_get_poste_annee(struct request_ctx *ctx)
{
    struct poste_row row;
    struct poste_access access;
    int annee = 0;
    if (!poste_load_or_reply(ctx, ACTION_POSTE_READ, NULL, &row, &access))
        return;
    if (annee_or_reply(ctx, &annee)) {
        struct poste_annee_row a;
        struct db_error err = {{0}, {0}};
        enum db_result r = poste_annee_get_pooled(ctx->app->pool, row.id, annee, &a, &err);
        if (respond_lookup_or_reply(ctx, r, &err, ANNEE_404)) {
            annee_send(ctx, 200, &a);
            poste_annee_row_release(&a);
        }
    }
    poste_row_release(&row);
}

/* ---- PUT /api/v1/postes-chef-de-projet/:id/annees/:annee ---------------------- */

struct annee_body {
    int64_t cout, parts[CDP_FINANCEUR__COUNT];
    bool avec_anah, etude, opah_ru;
    const char *bdt_id, *anah_id;
};
#define A(m) offsetof(struct annee_body, m)

static const struct json_field annee_fields[] = {
    {.name = "cout_charge_annuel_centimes",
     .kind = JSON_FIELD_INTEGER,
     .offset = A(cout),
     .on_create = JSON_CREATE_REQUIRED,
     .min = 0,
     .max = FINANCEMENT_MONTANT_MAX},
    {.name = "avec_anah",
     .kind = JSON_FIELD_BOOLEAN,
     .offset = A(avec_anah),
     .on_create = JSON_CREATE_REQUIRED},
    {.name = "etude_pre_operationnelle_anah", .kind = JSON_FIELD_BOOLEAN, .offset = A(etude)},
    {.name = "opah_ru", .kind = JSON_FIELD_BOOLEAN, .offset = A(opah_ru)},
    {.name = "part_anct_etat_centimes",
     .kind = JSON_FIELD_INTEGER,
     .offset = A(parts[CDP_FINANCEUR_ANCT_ETAT]),
     .on_create = JSON_CREATE_REQUIRED,
     .min = 0,
     .max = FINANCEMENT_MONTANT_MAX},
    {.name = "part_bdt_centimes",
     .kind = JSON_FIELD_INTEGER,
     .offset = A(parts[CDP_FINANCEUR_BDT]),
     .on_create = JSON_CREATE_REQUIRED,
     .min = 0,
     .max = FINANCEMENT_MONTANT_MAX},
    {.name = "part_anah_centimes",
     .kind = JSON_FIELD_INTEGER,
     .offset = A(parts[CDP_FINANCEUR_ANAH]),
     .on_create = JSON_CREATE_REQUIRED,
     .min = 0,
     .max = FINANCEMENT_MONTANT_MAX},
    {.name = "financeur_bdt_id",
     .kind = JSON_FIELD_STRING,
     .offset = A(bdt_id),
     .nullable = true,
     .check = query_is_uuid,
     .check_message = "L'identifiant d'une organisation est un UUID."},
    {.name = "financeur_anah_id",
     .kind = JSON_FIELD_STRING,
     .offset = A(anah_id),
     .nullable = true,
     .check = query_is_uuid,
     .check_message = "L'identifiant d'une organisation est un UUID."},
    JSON_FIELDS_END,
};

struct annee_work {
    const char *id, *base;
    bool existe; /* the caller saw the year (and checked its ETag) */
    long revision;
    struct poste_annee_valeurs v;
    struct date today;
    enum role role;
    struct rule_report violations;
    struct poste_annee_row avant, result;
};

/* The financers named exist: "organisation-inconnue" otherwise. */
static enum db_result financeurs_check(struct db_tx *tx, struct annee_work *w, struct db_error *err)
{
    const char *ids[2] = {w->v.financeur_bdt_id, w->v.financeur_anah_id};
    const char *names[2] = {"/financeur_bdt_id", "/financeur_anah_id"};
    for (int i = 0; i < 2; i++) {
        char nature[16], siren[10];
        if (!ids[i])
            continue;
        enum db_result r = poste_organisation_lire(tx->conn, ids[i], nature, siren, err);
        if (r == DB_NOT_FOUND)
            rule_report_add(&w->violations, "", "organisation-inconnue", names[i],
                            "Aucune organisation n'a l'identifiant %s.", ids[i]);
        else if (r != DB_OK)
            return r;
    }
    return DB_OK;
}

static enum db_result annee_unit(struct db_tx *tx, void *ctx, struct db_error *err)
{
    struct annee_work *w = ctx;
    poste_annee_row_release(&w->result);
    poste_annee_row_release(&w->avant);
    rule_report_init(&w->violations);
    struct poste_etat etat;
    enum db_result r = poste_lock(tx, w->id, &etat, err);
    const char *ids[POSTE_TERRITOIRES_MAX];
    for (size_t i = 0; i < etat.territoire_count; i++)
        ids[i] = etat.territoires[i];
    bool signee = false;
    if (r == DB_OK)
        r = poste_lock_and_read(tx, ids, etat.territoire_count, &signee, err);
    bool existe = false;
    if (r == DB_OK) {
        r = poste_annee_get(tx->conn, w->id, w->v.f.annee, true, &w->avant, err);
        existe = r == DB_OK;
        if (r == DB_NOT_FOUND)
            r = DB_OK;
    }
    if (r == DB_OK && (existe != w->existe || (existe && w->avant.revision != w->revision)))
        r = DB_STALE;
    struct parametres *parametres = xmalloc(sizeof *parametres);
    if (r == DB_OK)
        r = parametres_en_vigueur(tx->conn, w->today, parametres, &w->v.parametres_version, err);
    if (r == DB_OK)
        r = financeurs_check(tx, w, err);
    if (r == DB_OK) {
        struct annee_contexte c = {&etat.poste, parametres, signee};
        poste_annee_check(&c, &w->v, w->base, &w->violations);
        bool modifiees[CDP_FINANCEUR__COUNT];
        for (int f = 0; f < CDP_FINANCEUR__COUNT; f++)
            modifiees[f] = existe ? w->avant.f.parts[f] != w->v.f.parts[f] : w->v.f.parts[f] != 0;
        /* no demande de subvention yet: the request is a draft */
        chef_projet_r16_check(modifiees, w->role, false, false, CDP_FINANCEUR_ANCT_ETAT, w->base,
                              &w->violations);
        if (rule_report_any(&w->violations))
            r = DB_CONFLICT;
    }
    free(parametres);
    if (r == DB_OK)
        r = poste_annee_ecrire(tx, w->id, &w->v, &w->result, err);
    if (r == DB_OK)
        r = poste_journal(tx, "poste_chef_projet.financer_annee", w->id,
                          existe ? w->avant.json : NULL, w->result.json, err);
    return r;
}

/* key: "<poste id>/<annee>" (the 412's current ETag, "" when unreadable). */
static void current_annee_etag(struct request_ctx *ctx, const char *key, char out[24])
{
    char id[37];
    int annee = 0;
    struct poste_annee_row row;
    struct db_error err = {{0}, {0}};
    out[0] = '\0';
    if (!key || sscanf(key, "%36[^/]/%d", id, &annee) != 2)
        return;
    if (poste_annee_get_pooled(ctx->app->pool, id, annee, &row, &err) == DB_OK) {
        annee_etag(&row, out);
        poste_annee_row_release(&row);
    }
}

void handle_put_poste_annee(struct request_ctx *ctx)
{
    struct poste_row row;
    struct poste_access access;
    json_t *body = NULL;
    int annee = 0;
    FIELD_ERRORS(errs);
    if (!poste_load_or_reply(ctx, ACTION_POSTE_WRITE, NULL, &row, &access))
        return;
    if (!annee_or_reply(ctx, &annee) || !json_body_read_or_reply(ctx, &body))
        goto out;
    struct annee_body in;
    memset(&in, 0, sizeof in);
    json_spec_apply(body, annee_fields, JSON_SPEC_CREATE, &in, "", &errs);
    if (!body_errors_or_reply(ctx, &errs))
        goto out;
    struct annee_work work;
    memset(&work, 0, sizeof work);
    struct db_error err = {{0}, {0}};
    enum db_result r = poste_annee_get_pooled(ctx->app->pool, row.id, annee, &work.avant, &err);
    if (r == DB_OK) {
        char etag[24];
        annee_etag(&work.avant, etag);
        work.existe = true;
        work.revision = work.avant.revision;
        if (!if_match_or_reply(ctx, etag))
            goto done;
    } else if (r != DB_NOT_FOUND) {
        respond_db_error(ctx, r, &err);
        goto done;
    }
    work.id = row.id;
    work.base = "";
    work.v.f.annee = annee;
    work.v.f.cout_charge_annuel = in.cout;
    work.v.f.avec_anah = in.avec_anah;
    memcpy(work.v.f.parts, in.parts, sizeof in.parts);
    work.v.etude_pre_operationnelle_anah = in.etude;
    work.v.opah_ru = in.opah_ru;
    work.v.financeur_bdt_id = in.bdt_id;
    work.v.financeur_anah_id = in.anah_id;
    work.role = ctx->principal->authz.role;
    programme_today(&work.today);
    r = programme_mutate(ctx, annee_unit, &work, &err);
    const struct db_answers answers = {.not_found = POSTE_404, .stale = STALE_ANNEE};
    char key[64];
    snprintf(key, sizeof key, "%s/%d", row.id, annee);
    if (programme_mutation_reply(ctx, r, &err, &work.violations, &answers, current_annee_etag,
                                 key)) {
        if (!work.existe) {
            char location[96];
            snprintf(location, sizeof location, "%s/annees/%d", row.id, annee);
            http_set_location(ctx->res, "/api/v1/postes-chef-de-projet/", location);
        }
        annee_send(ctx, work.existe ? 200 : 201, &work.result);
    }
done:
    poste_annee_row_release(&work.avant);
    poste_annee_row_release(&work.result);
out:
    json_decref(body);
    poste_row_release(&row);
}
