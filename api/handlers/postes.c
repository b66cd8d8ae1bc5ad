/* Postes de chef de projet and their yearly funding (issue #10 §2,
 * domain.md §1.14, §2.5): create, read, list, update a poste; read the
 * years, read and write one year. Reads are "poste.lire", writes
 * "poste.ecrire" (domain/authz.h): the caller decides on each territoire
 * served (its scope, the employer's SIREN, the years' financers' SIRENs) and
 * the most open decision wins (inside one territoire served is inside the
 * poste).
 *
 * A year is checked by chef_projet_financement_check (R11–R20) and
 * chef_projet_r16_check with the parameters in force today
 * (parametres_en_vigueur), all read inside the writing transaction under the
 * poste's row lock and the territoire locks of the territoires served
 * (db/poste_repository.h): a refusal is 422 with the rule, code and pointer
 * of each violation, nothing written. The year stores that version's number
 * (a decision keeps the parameters of its date, migration 0024). A poste's
 * PATCH re-checks every stored year with the poste's new values in the same
 * transaction, each with the version it stores, not today's. R18 (one
 * non-terminal request per poste and year) is enforced where the requests
 * are written (the demandes de subvention, db/demande_repository.h); a year's
 * row is checked without other requests. The years' routes are in
 * postes_annees.c (shared pieces: postes.h). */
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
#include "postes.h"
#include "programme.h"

#define POSTE_403 "Votre habilitation ne permet pas cette action sur ce poste de chef de projet."
#define STALE_POSTE                                                                                \
    "Le poste de chef de projet a changé pendant votre requête (ETag périmé) : relisez-le."

/* ---- Access -------------------------------------------------------------- */

/* The caller's decision on the poste: the most open over its territoires
 * (ALLOW, then FORBID, then HIDE); FORBID without a habilitation. */
static enum authz_decision decide(const struct request_ctx *ctx, enum action action,
                                  struct poste_access *a)
{
    if (!ctx->principal || !ctx->principal->has_habilitation)
        return AUTHZ_FORBID;
    enum authz_decision best = AUTHZ_HIDE;
    for (size_t i = 0; i < a->scope_count; i++) {
        struct authz_target t = poste_access_target(a, i);
        enum authz_decision d = authz_decide(&ctx->principal->authz, action, &t);
        if (d == AUTHZ_ALLOW)
            return AUTHZ_ALLOW;
        if (d == AUTHZ_FORBID)
            best = AUTHZ_FORBID;
    }
    return best;
}

/* true when allowed; otherwise 404 (HIDE) or 403 (FORBID) was sent. */
static bool decide_or_reply(struct request_ctx *ctx, enum action action, struct poste_access *a)
{
    switch (decide(ctx, action, a)) {
    case AUTHZ_ALLOW:
        return true;
    case AUTHZ_HIDE:
        respond_problem(ctx, PROBLEM_RESSOURCE_INTROUVABLE, POSTE_404);
        return false;
    case AUTHZ_FORBID:
        break;
    }
    respond_problem(ctx, PROBLEM_INTERDIT, POSTE_403);
    return false;
}

bool poste_load_or_reply(struct request_ctx *ctx, enum action action,
                         const struct query_field *query, struct poste_row *row,
                         struct poste_access *access)
{
    const char *id = NULL;
    memset(row, 0, sizeof *row);
    if (!programme_path_id_or_reply(ctx, query, POSTE_404, &id))
        return false;
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    enum db_result r = db_pool_acquire(ctx->app->pool, &conn, &err);
    if (r == DB_OK) {
        r = poste_get(conn, id, row, &err);
        if (r == DB_OK) {
            r = poste_access_load(conn, id, access, &err);
            if (r != DB_OK)
                poste_row_release(row);
        }
        db_pool_release(ctx->app->pool, conn);
    }
    if (!respond_lookup_or_reply(ctx, r, &err, POSTE_404))
        return false;
    if (decide_or_reply(ctx, action, access))
        return true;
    poste_row_release(row);
    return false;
}

static void poste_etag(const struct poste_row *row, char out[24])
{
    http_etag(row->json, strlen(row->json), out);
}

static void poste_send(struct request_ctx *ctx, int status, const struct poste_row *row)
{
    char etag[24];
    poste_etag(row, etag);
    respond_representation(ctx, status, row->json, strlen(row->json), etag);
}

/* ---- The poste's body ------------------------------------------------------ */

static const char *const types_contrat[] = {"titulaire", "contrat_de_projet", "cdd", "autre", NULL};

struct poste_body {
    const char *employeur_id, *missions;
    const json_t *territoires;
    int64_t quotite;
    struct date recrutement, fin;
    bool has_fin;
    int type_contrat;
};
#define P(m) offsetof(struct poste_body, m)

static const struct json_field poste_fields[] = {
    {.name = "employeur_id",
     .kind = JSON_FIELD_STRING,
     .offset = P(employeur_id),
     .on_create = JSON_CREATE_REQUIRED,
     .check = query_is_uuid,
     .check_message = "L'identifiant d'une organisation est un UUID."},
    {.name = "territoires",
     .kind = JSON_FIELD_VALUE,
     .offset = P(territoires),
     .on_create = JSON_CREATE_REQUIRED},
    {.name = "quotite",
     .kind = JSON_FIELD_INTEGER,
     .offset = P(quotite),
     .on_create = JSON_CREATE_REQUIRED,
     .min = 1,
     .max = PARAMETRES_TAUX_UN},
    {.name = "date_recrutement",
     .kind = JSON_FIELD_DATE,
     .offset = P(recrutement),
     .on_create = JSON_CREATE_REQUIRED},
    {.name = "date_fin_contrat",
     .kind = JSON_FIELD_DATE,
     .offset = P(fin),
     .nullable = true,
     .present_at = JSON_PRESENT_AT(struct poste_body, has_fin)},
    {.name = "type_contrat",
     .kind = JSON_FIELD_ENUM,
     .offset = P(type_contrat),
     .nullable = true,
     .values = types_contrat},
    {.name = "missions",
     .kind = JSON_FIELD_STRING,
     .offset = P(missions),
     .nullable = true,
     .min_length = 1,
     .max_length = 20000},
    JSON_FIELDS_END,
};

/* The whole body's shape (creation, or the result of a merge patch): 400
 * errors into errs, values into *in, the territoires' ids into ids. */
static void poste_shape(const json_t *doc, enum json_spec_mode mode, struct poste_body *in,
                        const char *ids[POSTE_TERRITOIRES_MAX], size_t *count,
                        struct field_errors *errs)
{
    memset(in, 0, sizeof *in);
    in->type_contrat = -1;
    *count = 0;
    json_spec_apply(doc, poste_fields, mode, in, "", errs);
    in->has_fin = in->has_fin && !json_is_null(json_object_get(doc, "date_fin_contrat"));
    if (!in->territoires)
        return;
    if (!json_is_array(in->territoires) || json_array_size(in->territoires) == 0 ||
        json_array_size(in->territoires) > POSTE_TERRITOIRES_MAX) {
        field_errors_add(errs, "/territoires", NULL, "type-invalide",
                         "« territoires » est une liste de 1 à %d identifiants de territoire.",
                         POSTE_TERRITOIRES_MAX);
        return;
    }
    for (size_t i = 0; i < json_array_size(in->territoires); i++) {
        const char *s = json_string_value(json_array_get(in->territoires, i));
        char p[48];
        snprintf(p, sizeof p, "/territoires/%zu", i);
        if (!s || !territoire_id_pvd_is_valid(s)) {
            field_errors_add(errs, p, NULL, "format-invalide",
                             "Identifiant de territoire pvd-<région>-<département>-<n> attendu.");
            continue;
        }
        bool repeated = false;
        for (size_t j = 0; j < *count && !repeated; j++)
            repeated = strcmp(ids[j], s) == 0;
        if (repeated)
            field_errors_add(errs, p, NULL, "doublon", "Ce territoire est déjà cité.");
        else
            ids[(*count)++] = s;
    }
}

/* The domain's view of the body (employer kind given apart). */
static struct chef_projet_poste poste_of(const struct poste_body *in, enum organisation_kind kind,
                                         size_t territoire_count)
{
    struct chef_projet_poste p;
    memset(&p, 0, sizeof p);
    p.employeur_kind = kind;
    p.territoire_count = territoire_count;
    p.quotite = in->quotite;
    p.date_recrutement = in->recrutement;
    p.has_date_fin_contrat = in->has_fin;
    p.date_fin_contrat = in->fin;
    p.has_type_contrat = in->type_contrat >= 0;
    if (p.has_type_contrat)
        cdp_type_contrat_parse(types_contrat[in->type_contrat], &p.type_contrat);
    return p;
}

/* The employer and the territoires named exist: "organisation-inconnue",
 * "territoire-inconnu" (422) into violations; *kind and access filled.
 * false: a 503/500 was sent. */
static bool references_or_reply(struct request_ctx *ctx, const struct poste_body *in,
                                const char *const *ids, size_t count, enum organisation_kind *kind,
                                struct poste_access *access, struct rule_report *violations)
{
    char nature[16], siren[10];
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    enum db_result r = db_pool_acquire(ctx->app->pool, &conn, &err);
    if (r == DB_OK) {
        r = poste_organisation_lire(conn, in->employeur_id, nature, siren, &err);
        db_pool_release(ctx->app->pool, conn);
    }
    *kind = ORGANISATION_AUTRE;
    if (r == DB_NOT_FOUND) {
        rule_report_add(violations, "", "organisation-inconnue", "/employeur_id",
                        "Aucune organisation n'a l'identifiant %s.", in->employeur_id);
        siren[0] = '\0';
    } else if (r != DB_OK) {
        respond_db_error(ctx, r, &err);
        return false;
    } else if (!organisation_kind_parse(nature, kind)) {
        respond_problem(ctx, PROBLEM_ERREUR_INTERNE, NULL);
        return false;
    }
    size_t missing = 0;
    r = poste_access_of(ctx->app->pool, ids, count, siren, access, &missing, &err);
    if (r == DB_NOT_FOUND) {
        char p[48];
        snprintf(p, sizeof p, "/territoires/%zu", missing);
        rule_report_add(violations, "", "territoire-inconnu", p,
                        "Aucun territoire PVD n'a l'identifiant %s.", ids[missing]);
    } else if (r != DB_OK) {
        respond_db_error(ctx, r, &err);
        return false;
    }
    return true;
}

/* ---- Checking a year (inside the writing transaction) ---------------------- */

void poste_annee_check(const struct annee_contexte *c, const struct poste_annee_valeurs *v,
                       const char *base, struct rule_report *violations)
{
    struct chef_projet_financement_input in;
    memset(&in, 0, sizeof in);
    in.poste = c->poste;
    in.financement = v->f;
    in.parametres = c->parametres;
    in.adhesion_signee = c->adhesion_signee;
    in.etude_pre_operationnelle_anah = v->etude_pre_operationnelle_anah;
    in.opah_ru = v->opah_ru;
    /* R18: no demande de subvention yet (poste_repository.h): the year's row
     * is its own request. */
    in.autres_demandes = NULL;
    in.autres_demandes_count = 0;
    in.pointeur_base = base;
    chef_projet_financement_check(&in, NULL, violations);
}

enum db_result poste_lock_and_read(struct db_tx *tx, const char *const *ids, size_t count,
                                   bool *signee, struct db_error *err)
{
    enum db_result r = poste_territoires_lock(tx, ids, count, err);
    if (r == DB_NOT_FOUND)
        return DB_FAILED; /* the territoires exist (foreign key, or checked) */
    return r == DB_OK ? poste_adhesion_signee(tx, ids, count, signee, err) : r;
}

/* Appends s to the NULL-terminated list (capacity max + 1) unless it is
 * already there, "" or the list is full. */
static void add_unique(const char **list, size_t *n, size_t max, const char *s)
{
    if (!s || !*s || *n >= max)
        return;
    for (size_t i = 0; i < *n; i++)
        if (strcmp(list[i], s) == 0)
            return;
    list[(*n)++] = s;
    list[*n] = NULL;
}

#define JOURNAL_CODES  (POSTE_TERRITOIRES_MAX * TERRITOIRE_SCOPE_DEPARTEMENTS)
#define JOURNAL_SIRENS (POSTE_TERRITOIRES_MAX * TERRITOIRE_SCOPE_SIRENS)

/* The journal scope of a poste: the union of its territoires' scopes (as
 * they are in tx, after the write), so that each préfecture of a territoire
 * served reads the entry. */
struct poste_journal_scope {
    struct poste_access access;
    const char *departements[JOURNAL_CODES + 1], *regions[JOURNAL_CODES + 1];
    const char *sirens[JOURNAL_SIRENS + 1], *territoires[POSTE_TERRITOIRES_MAX + 1];
};

enum db_result poste_journal(struct db_tx *tx, const char *action, const char *id,
                             const char *avant, const char *apres, struct db_error *err)
{
    struct poste_journal_scope *j = xmalloc(sizeof *j);
    memset(j, 0, sizeof *j);
    enum db_result r = poste_access_load(tx->conn, id, &j->access, err);
    size_t nd = 0, nr = 0, ns = 0, nt = 0;
    for (size_t i = 0; r == DB_OK && i < j->access.scope_count; i++) {
        const struct territoire_scope *sc = &j->access.scopes[i];
        for (size_t k = 0; k < sc->departement_count; k++)
            add_unique(j->departements, &nd, JOURNAL_CODES, sc->departements[k]);
        for (size_t k = 0; k < sc->region_count; k++)
            add_unique(j->regions, &nr, JOURNAL_CODES, sc->regions[k]);
        for (size_t k = 0; k < sc->siren_count; k++)
            add_unique(j->sirens, &ns, JOURNAL_SIRENS, sc->sirens[k]);
        add_unique(j->territoires, &nt, POSTE_TERRITOIRES_MAX, sc->id_pvd);
    }
    struct journal_entry e = {action, "poste_chef_projet",
                              id,     avant,
                              apres,  {j->departements, j->regions, j->sirens, j->territoires}};
    if (r == DB_OK)
        r = journal_record(tx, &e, err);
    free(j);
    return r == DB_NOT_FOUND ? DB_FAILED : r; /* the poste was just written */
}

/* ---- POST /api/v1/postes-chef-de-projet ---------------------------------- */

struct poste_work {
    const char *id; /* NULL: a creation */
    long revision;
    const struct poste_valeurs *v;
    const struct chef_projet_poste *poste;
    const char *avant;
    struct rule_report violations;
    struct poste_row result;
};

static enum db_result create_unit(struct db_tx *tx, void *ctx, struct db_error *err)
{
    struct poste_work *w = ctx;
    poste_row_release(&w->result);
    enum db_result r = poste_territoires_lock(tx, w->v->territoires, w->v->territoire_count, err);
    if (r == DB_OK)
        r = poste_create(tx, w->v, &w->result, err);
    if (r == DB_OK)
        r = poste_journal(tx, "poste_chef_projet.creer", w->result.id, NULL, w->result.json, err);
    return r;
}

/* The values written from a shape-checked body. */
static struct poste_valeurs valeurs_of(const struct poste_body *in, const char *const *ids,
                                       size_t count)
{
    struct poste_valeurs v;
    memset(&v, 0, sizeof v);
    v.employeur_id = in->employeur_id;
    v.territoires = ids;
    v.territoire_count = count;
    v.quotite = in->quotite;
    v.date_recrutement = in->recrutement;
    v.has_date_fin_contrat = in->has_fin;
    v.date_fin_contrat = in->fin;
    v.type_contrat = in->type_contrat >= 0 ? types_contrat[in->type_contrat] : NULL;
    v.missions = in->missions;
    return v;
}

/* After the shape: the employer and territoires exist (422), the caller
 * may write a poste serving those territoires (404 / 403), the poste's pure
 * rules hold (422). true: *poste and *v (pointing into in and ids) are the
 * values to write; false: answered. */
static bool poste_values_or_reply(struct request_ctx *ctx, const struct poste_body *in,
                                  const char *const *ids, size_t count,
                                  struct chef_projet_poste *poste, struct poste_valeurs *v)
{
    struct rule_report violations;
    rule_report_init(&violations);
    struct poste_access access;
    enum organisation_kind kind;
    if (!references_or_reply(ctx, in, ids, count, &kind, &access, &violations))
        return false;
    if (rule_report_any(&violations)) {
        programme_respond_violations(ctx, &violations);
        return false;
    }
    if (!decide_or_reply(ctx, ACTION_POSTE_WRITE, &access))
        return false;
    *poste = poste_of(in, kind, count);
    chef_projet_poste_check(poste, &violations);
    if (!programme_rules_hold_or_reply(ctx, &violations))
        return false;
    *v = valeurs_of(in, ids, count);
    return true;
}

void handle_create_poste(struct request_ctx *ctx)
{
    json_t *body = NULL;
    FIELD_ERRORS(errs);
    if (!query_or_reply(ctx, query_no_params, NULL) || !json_body_read_or_reply(ctx, &body))
        return;
    struct poste_body in;
    const char *ids[POSTE_TERRITOIRES_MAX];
    size_t count = 0;
    poste_shape(body, JSON_SPEC_CREATE, &in, ids, &count, &errs);
    if (!body_errors_or_reply(ctx, &errs))
        goto out;
    struct chef_projet_poste poste;
    struct poste_valeurs v;
    if (!poste_values_or_reply(ctx, &in, ids, count, &poste, &v))
        goto out;
    struct poste_work work;
    memset(&work, 0, sizeof work);
    work.v = &v;
    struct db_error err = {{0}, {0}};
    enum db_result r = programme_mutate(ctx, create_unit, &work, &err);
    const struct db_answers answers = {.not_found = POSTE_404};
    if (programme_mutation_reply(ctx, r, &err, NULL, &answers, NULL, NULL)) {
        http_set_location(ctx->res, "/api/v1/postes-chef-de-projet/", work.result.id);
        poste_send(ctx, 201, &work.result);
    }
    poste_row_release(&work.result);
out:
    json_decref(body);
}

/* ---- GET /api/v1/postes-chef-de-projet/:id --------------------------------- */

void handle_get_poste(struct request_ctx *ctx)
{
    struct poste_row row;
    struct poste_access access;
    if (!poste_load_or_reply(ctx, ACTION_POSTE_READ, NULL, &row, &access))
        return;
    poste_send(ctx, 200, &row);
    poste_row_release(&row);
}

/* ---- GET /api/v1/postes-chef-de-projet -------------------------------------- */

struct poste_query {
    size_t limit;
    const char *id_pvd, *departement, *employeur;
    int64_t annee;
    struct query_sync sync;
};
#define PQ(m) offsetof(struct poste_query, m)

static const struct query_field list_fields[] = {
    QUERY_PAGE(struct poste_query, limit),
    QUERY_CODE_FIELD("id_pvd", PQ(id_pvd), territoire_id_pvd_is_valid,
                     "un identifiant pvd-<région>-<département>-<n>"),
    QUERY_CODE_FIELD("departement", PQ(departement), departement_code_is_valid,
                     "un code de département"),
    QUERY_CODE_FIELD("employeur", PQ(employeur), query_is_uuid, "un UUID"),
    {.name = "annee", .kind = QUERY_INT, .offset = PQ(annee), .min = 1900, .max = 2998},
    QUERY_SYNC_FIELDS(struct poste_query, sync),
    QUERY_FIELDS_END,
};

void handle_list_postes(struct request_ctx *ctx)
{
    struct poste_query q;
    if (!query_or_reply(ctx, list_fields, &q))
        return;
    char canon[200];
    snprintf(canon, sizeof canon, "p=%s|d=%s|e=%s|a=%lld", q.id_pvd ? q.id_pvd : "",
             q.departement ? q.departement : "", q.employeur ? q.employeur : "",
             (long long)q.annee);
    uint32_t fp;
    char key[CURSOR_KEY_MAX + 1];
    const char *after = NULL;
    if (!query_sync_cursor_or_reply(ctx, "postes-chef-de-projet", cursor_fingerprint(canon),
                                    &q.sync, query_is_uuid, key, &after, &fp))
        return;
    struct poste_filtre f = {
        .role = role_name(role_reads_as(ctx->principal->authz.role)),
        .perimeter = &ctx->principal->authz.perimeter,
        .id_pvd = q.id_pvd,
        .departement = q.departement,
        .employeur_id = q.employeur,
        .annee = q.annee < 0 ? -1 : (int)q.annee,
        .sync = query_sync_list(&q.sync),
    };
    struct db_error err = {{0}, {0}};
    char *json = NULL, last[CURSOR_KEY_MAX + 1];
    bool more = false;
    size_t total = 0;
    enum db_result r =
        poste_list(app_read_pool(ctx->app), &f, after, q.limit, &json, last, &more, &total, &err);
    if (r != DB_OK) {
        respond_db_error(ctx, r, &err);
        return;
    }
    respond_page(ctx, list_fields, json, "postes-chef-de-projet", fp, last, more, total);
    free(json);
}

/* ---- PATCH /api/v1/postes-chef-de-projet/:id --------------------------------- */

static enum db_result update_unit(struct db_tx *tx, void *ctx, struct db_error *err)
{
    struct poste_work *w = ctx;
    poste_row_release(&w->result);
    rule_report_init(&w->violations);
    struct poste_etat avant;
    enum db_result r = poste_lock(tx, w->id, &avant, err);
    if (r == DB_OK && avant.revision != w->revision)
        r = DB_STALE;
    /* the territoires served before and after, locked together in order */
    const char *ids[2 * POSTE_TERRITOIRES_MAX];
    size_t n = 0;
    for (size_t i = 0; i < avant.territoire_count; i++)
        ids[n++] = avant.territoires[i];
    for (size_t i = 0; i < w->v->territoire_count; i++)
        ids[n++] = w->v->territoires[i];
    if (r == DB_OK)
        r = poste_territoires_lock(tx, ids, n, err);
    bool signee = false;
    if (r == DB_OK)
        r = poste_adhesion_signee(tx, w->v->territoires, w->v->territoire_count, &signee, err);
    if (r == DB_OK)
        r = poste_update(tx, w->id, w->v, &w->result, err);
    /* every stored year still holds with the new values */
    struct poste_annee_row *rows = NULL;
    size_t count = 0;
    if (r == DB_OK)
        r = poste_annees_lire(tx->conn, w->id, &rows, &count, err);
    /* each year with the parameters version it was recorded with (rows by
     * annee: consecutive years usually share it, read once) */
    struct parametres *parametres = xmalloc(sizeof *parametres);
    long loaded = -1;
    struct annee_contexte c = {w->poste, parametres, signee};
    for (size_t i = 0; r == DB_OK && i < count; i++) {
        if (rows[i].parametres_version != loaded) {
            r = parametres_de_version(tx->conn, rows[i].parametres_version, parametres, err);
            loaded = rows[i].parametres_version;
            if (r != DB_OK)
                break;
        }
        char base[32];
        snprintf(base, sizeof base, "/annees/%d", rows[i].f.annee);
        struct poste_annee_valeurs v = {rows[i].f,
                                        rows[i].etude_pre_operationnelle_anah,
                                        rows[i].opah_ru,
                                        NULL,
                                        NULL,
                                        rows[i].parametres_version};
        poste_annee_check(&c, &v, base, &w->violations);
    }
    free(parametres);
    poste_annees_release(rows, count);
    if (r == DB_OK && rule_report_any(&w->violations))
        r = DB_CONFLICT;
    if (r == DB_OK)
        r = poste_journal(tx, "poste_chef_projet.modifier", w->id, w->avant, w->result.json, err);
    return r;
}

static void current_poste_etag(struct request_ctx *ctx, const char *id, char out[24])
{
    struct poste_row row;
    struct db_error err = {{0}, {0}};
    out[0] = '\0';
    if (id && poste_get_pooled(ctx->app->pool, id, &row, &err) == DB_OK) {
        poste_etag(&row, out);
        poste_row_release(&row);
    }
}

void handle_update_poste(struct request_ctx *ctx)
{
    struct poste_row row;
    struct poste_access access;
    json_t *patch = NULL, *merged = NULL;
    char etag[24];
    FIELD_ERRORS(errs);
    if (!poste_load_or_reply(ctx, ACTION_POSTE_WRITE, NULL, &row, &access))
        return;
    poste_etag(&row, etag);
    if (!json_body_read_or_reply(ctx, &patch))
        goto out;
    json_spec_apply(patch, poste_fields, JSON_SPEC_PATCH, &(struct poste_body){0}, "", &errs);
    if (!body_errors_or_reply(ctx, &errs))
        goto out;
    merged = gouv_merge_patch(row.json, poste_fields, patch);
    if (!merged) {
        respond_problem(ctx, PROBLEM_ERREUR_INTERNE, NULL);
        goto out;
    }
    struct poste_body in;
    const char *ids[POSTE_TERRITOIRES_MAX];
    size_t count = 0;
    poste_shape(merged, JSON_SPEC_REPLACE, &in, ids, &count, &errs);
    if (!body_errors_or_reply(ctx, &errs) || !if_match_or_reply(ctx, etag))
        goto out;
    /* the caller may write the poste where it goes too */
    struct chef_projet_poste poste;
    struct poste_valeurs v;
    if (!poste_values_or_reply(ctx, &in, ids, count, &poste, &v))
        goto out;
    struct poste_work work;
    memset(&work, 0, sizeof work);
    work.id = row.id;
    work.revision = row.revision;
    work.v = &v;
    work.poste = &poste;
    work.avant = row.json;
    struct db_error err = {{0}, {0}};
    enum db_result r = programme_mutate(ctx, update_unit, &work, &err);
    const struct db_answers answers = {.not_found = POSTE_404, .stale = STALE_POSTE};
    if (programme_mutation_reply(ctx, r, &err, &work.violations, &answers, current_poste_etag,
                                 row.id))
        poste_send(ctx, 200, &work.result);
    poste_row_release(&work.result);
out:
    json_decref(merged);
    json_decref(patch);
    poste_row_release(&row);
}
