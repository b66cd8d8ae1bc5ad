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
 * of each violation, nothing written. A poste's PATCH re-checks every stored
 * year with the poste's new values in the same transaction. R18 reads no
 * other row until the demandes de subvention exist (poste_repository.h). */
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

#define POSTE_404 "Aucun poste de chef de projet visible n'a cet identifiant."
#define ANNEE_404 "Ce poste de chef de projet n'a pas de financement pour cette année."
#define POSTE_403 "Votre habilitation ne permet pas cette action sur ce poste de chef de projet."
#define STALE_POSTE                                                                                \
    "Le poste de chef de projet a changé pendant votre requête (ETag périmé) : relisez-le."
#define STALE_ANNEE                                                                                \
    "Le financement de cette année a changé pendant votre requête (ETag périmé) : relisez-le."

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

/* Loads the poste of path parameter `id` and its access and decides
 * `action`. A query parameter not declared by query (NULL: none) is a 400.
 * true: allowed (the caller releases row); false: answered, nothing held. */
static bool poste_load_or_reply(struct request_ctx *ctx, enum action action,
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

/* The years' common inputs, read under the locks. */
struct annee_contexte {
    const struct chef_projet_poste *poste;
    const struct parametres *parametres;
    bool adhesion_signee;
};

/* chef_projet_financement_check on one year (pointers under base). */
static void annee_check(const struct annee_contexte *c, const struct poste_annee_valeurs *v,
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

/* The territoire locks of the poste's territoires and R11's input. */
static enum db_result lock_and_read(struct db_tx *tx, const char *const *ids, size_t count,
                                    bool *signee, struct db_error *err)
{
    enum db_result r = poste_territoires_lock(tx, ids, count, err);
    if (r == DB_NOT_FOUND)
        return DB_FAILED; /* the territoires exist (foreign key, or checked) */
    return r == DB_OK ? poste_adhesion_signee(tx, ids, count, signee, err) : r;
}

static void today_of(struct date *d)
{
    programme_today(d);
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

/* Journals an entry about poste id with that union (read here in tx). */
static enum db_result journal_poste(struct db_tx *tx, const char *action, const char *id,
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
        r = journal_poste(tx, "poste_chef_projet.creer", w->result.id, NULL, w->result.json, err);
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
    uint32_t fp = cursor_fingerprint(canon);
    char key[CURSOR_KEY_MAX + 1];
    const char *after = NULL;
    if (!query_keyed_cursor_or_reply(ctx, "postes-chef-de-projet", fp, query_is_uuid, key, &after))
        return;
    struct poste_filtre f = {
        .role = role_name(role_reads_as(ctx->principal->authz.role)),
        .perimeter = &ctx->principal->authz.perimeter,
        .id_pvd = q.id_pvd,
        .departement = q.departement,
        .employeur_id = q.employeur,
        .annee = q.annee < 0 ? -1 : (int)q.annee,
    };
    struct db_error err = {{0}, {0}};
    char *json = NULL, last[37];
    bool more = false;
    size_t total = 0;
    enum db_result r =
        poste_list(ctx->app->pool, &f, after, q.limit, &json, last, &more, &total, &err);
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
    struct parametres *parametres = NULL;
    if (r == DB_OK && count > 0) {
        struct date today;
        long version = 0;
        today_of(&today);
        parametres = xmalloc(sizeof *parametres);
        r = parametres_en_vigueur(tx->conn, today, parametres, &version, err);
    }
    struct annee_contexte c = {w->poste, parametres, signee};
    for (size_t i = 0; r == DB_OK && i < count; i++) {
        char base[32];
        snprintf(base, sizeof base, "/annees/%d", rows[i].f.annee);
        struct poste_annee_valeurs v = {rows[i].f, rows[i].etude_pre_operationnelle_anah,
                                        rows[i].opah_ru, NULL, NULL};
        annee_check(&c, &v, base, &w->violations);
    }
    free(parametres);
    poste_annees_release(rows, count);
    if (r == DB_OK && rule_report_any(&w->violations))
        r = DB_CONFLICT;
    if (r == DB_OK)
        r = journal_poste(tx, "poste_chef_projet.modifier", w->id, w->avant, w->result.json, err);
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

/* The parameters in force today, read on a pooled connection. false: a
 * 503/500 was sent. */
static bool parametres_or_reply(struct request_ctx *ctx, struct parametres *p)
{
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    struct date today;
    long version = 0;
    today_of(&today);
    enum db_result r = db_pool_acquire(ctx->app->pool, &conn, &err);
    if (r == DB_OK) {
        r = parametres_en_vigueur(conn, today, p, &version, &err);
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
    if (parametres_or_reply(ctx, p)) {
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
    } else if (parametres_or_reply(ctx, p)) {
        json_t *obj = xjson(json_object()), *list = xjson(json_array());
        bool ok = true;
        for (size_t i = 0; i < count && ok; i++) {
            json_t *a = annee_json(&rows[i], p);
            ok = a != NULL;
            if (a)
                json_array_append_new(list, a);
        }
        json_object_set_new(obj, "poste_id", json_string(row.id));
        json_object_set_new(obj, "elements", list);
        char *text = ok ? json_dumps(obj, JSON_COMPACT) : NULL;
        char etag[24];
        if (text)
            http_etag(text, strlen(text), etag);
        if (text)
            respond_conditional_json(ctx, text, strlen(text), etag);
        else
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
        r = lock_and_read(tx, ids, etat.territoire_count, &signee, err);
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
    long version = 0;
    if (r == DB_OK)
        r = parametres_en_vigueur(tx->conn, w->today, parametres, &version, err);
    if (r == DB_OK)
        r = financeurs_check(tx, w, err);
    if (r == DB_OK) {
        struct annee_contexte c = {&etat.poste, parametres, signee};
        annee_check(&c, &w->v, w->base, &w->violations);
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
        r = journal_poste(tx, "poste_chef_projet.financer_annee", w->id,
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
    today_of(&work.today);
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
