/* Organisations: signataires, maîtres d'ouvrage and financeurs (issue 4 §1).
 * Communes and EPCI resolve to the loaded referential by SIREN (R42), which
 * gives their nom, code INSEE, département and région; a SIREN failing Luhn
 * is refused (R42, 422). Reads are public. Writes are decided on the
 * organisation's perimeter, where it acts (issue 8 §1, domain/authz.h):
 * creation (organisation.creer) on the new organisation's commune / EPCI,
 * from the referential; a change (organisation.ecrire) on the perimeter read
 * in SQL in the writing transaction, the row locked. The journal row carries
 * that perimeter. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../db/organisation_repository.h"
#include "../../domain/convention.h"
#include "../../domain/identifiers.h"
#include "../auth.h"
#include "../cursor.h"
#include "../json_spec.h"
#include "../query.h"
#include "../referentiel_store.h"
#include "handlers.h"
#include "programme.h"

/* The natures in the order of enum organisation_kind (domain/convention.h),
 * NULL-terminated for the body spec. */
static const char *const nature_names[] = {"commune",     "epci",       "petr",      "departement",
                                           "region",      "etat",       "operateur", "bailleur",
                                           "association", "entreprise", "autre",     NULL};
_Static_assert(sizeof nature_names / sizeof nature_names[0] == ORGANISATION_KIND__COUNT + 1,
               "one name per organisation_kind");
enum {
    NATURE_COMMUNE = ORGANISATION_COMMUNE,
    NATURE_EPCI = ORGANISATION_EPCI,
    NATURE_ETAT = ORGANISATION_ETAT
};

struct organisation_body {
    const char *siren;
    int nature;
    const char *nom;
};

/* A creation gives nature (and siren, nom); a patch renames: nom only. */
static const struct json_field organisation_fields[] = {
    {.name = "siren",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct organisation_body, siren),
     .on_patch = JSON_PATCH_IMMUTABLE,
     .nullable = true,
     .check = siren_format_is_valid,
     .check_message = "SIREN : 9 chiffres attendus."},
    {.name = "nature",
     .kind = JSON_FIELD_ENUM,
     .offset = offsetof(struct organisation_body, nature),
     .on_create = JSON_CREATE_REQUIRED,
     .on_patch = JSON_PATCH_IMMUTABLE,
     .values = nature_names},
    {.name = "nom",
     .kind = JSON_FIELD_STRING,
     .offset = offsetof(struct organisation_body, nom),
     .on_patch = JSON_PATCH_REQUIRED,
     .min_length = 1,
     .max_length = 300},
    JSON_FIELDS_END,
};

struct create_work {
    const struct organisation_new *o;
    const struct journal_scope *scope;
    struct organisation_row created;
};

static enum db_result create_unit(struct db_tx *tx, void *ctx, struct db_error *err)
{
    struct create_work *w = ctx;
    organisation_row_release(&w->created);
    return organisation_insert(tx, w->o, w->scope, &w->created, err);
}

/* A NULL-terminated list of codes (borrowed), without duplicates. */
struct code_list {
    const char *codes[PERIMETER_MAX + 2];
    size_t count;
};

static void code_list_add(struct code_list *l, const char *code)
{
    if (!code || !code[0])
        return;
    for (size_t i = 0; i < l->count; i++)
        if (strcmp(l->codes[i], code) == 0)
            return;
    if (l->count < PERIMETER_MAX + 1)
        l->codes[l->count++] = code;
}

/* The perimeter of a new organisation (issue 8 §1): a commune's
 * département and région, an EPCI's members' départements and their
 * régions (from the referential), its SIREN; nothing territorial for the
 * other natures (it acts nowhere yet). */
struct new_scope {
    struct code_list deps, regs, sirens, terrs;
};

static void new_scope_of(const struct referentiel *ref, int nature, const char *siren,
                         const struct organisation_new *o, struct new_scope *s)
{
    memset(s, 0, sizeof *s);
    code_list_add(&s->sirens, siren);
    if (nature == NATURE_EPCI && ref) {
        const struct ref_epci *e = referentiel_find_epci(ref, siren);
        for (size_t i = 0; e && i < e->departement_count; i++) {
            const struct ref_departement *d = referentiel_find_departement(ref, e->departements[i]);
            code_list_add(&s->deps, e->departements[i]);
            code_list_add(&s->regs, d ? d->code_region : NULL);
        }
    }
    code_list_add(&s->deps, o->code_departement);
    code_list_add(&s->regs, o->code_region);
}

static struct authz_target new_scope_target(const struct new_scope *s)
{
    struct authz_target t;
    memset(&t, 0, sizeof t);
    t.departements = s->deps.codes;
    t.departement_count = s->deps.count;
    t.regions = s->regs.codes;
    t.region_count = s->regs.count;
    t.sirens = s->sirens.codes;
    t.siren_count = s->sirens.count;
    return t;
}

/* An organisation acting nowhere yet is journaled where its creator acts, so
 * that the creator's préfecture (or collectivité) sees it in GET /journal. */
static void new_scope_add_creator(struct new_scope *s, const struct perimeter *p)
{
    for (size_t i = 0; i < p->departement_count && i < PERIMETER_MAX; i++)
        code_list_add(&s->deps, p->departements[i]);
    for (size_t i = 0; i < p->region_count && i < PERIMETER_MAX; i++)
        code_list_add(&s->regs, p->regions[i]);
    for (size_t i = 0; i < p->siren_count && i < PERIMETER_MAX; i++)
        code_list_add(&s->sirens, p->sirens[i]);
    for (size_t i = 0; i < p->territoire_count && i < PERIMETER_MAX; i++)
        code_list_add(&s->terrs, p->territoires[i]);
}

/* The referential facts of a commune or EPCI organisation (R42); false with
 * a violation added when the SIREN is none of that nature's. */
static bool resolve_referentiel(const struct referentiel *ref, int nature, const char *siren,
                                struct organisation_new *o, char dep[4], char reg[4],
                                struct rule_report *violations)
{
    if (nature == NATURE_COMMUNE) {
        const struct ref_commune *c = referentiel_find_commune_by_siren(ref, siren);
        if (!c) {
            rule_report_add(violations, "R42", "siren-commune-inconnu", "/siren",
                            "Le SIREN %s n'est celui d'aucune commune du référentiel %d.", siren,
                            ref->millesime);
            return false;
        }
        o->nom = c->nom;
        o->code_insee = c->code_insee;
        snprintf(dep, 4, "%s", c->code_departement);
        snprintf(reg, 4, "%s", c->code_region);
    } else {
        const struct ref_epci *e = referentiel_find_epci(ref, siren);
        if (!e) {
            rule_report_add(violations, "R42", "siren-epci-inconnu", "/siren",
                            "Le SIREN %s n'est celui d'aucun EPCI du référentiel %d.", siren,
                            ref->millesime);
            return false;
        }
        o->nom = e->nom;
        /* An EPCI spanning départements has none of its own. */
        if (e->departement_count == 1) {
            const struct ref_departement *d = referentiel_find_departement(ref, e->departements[0]);
            snprintf(dep, 4, "%s", e->departements[0]);
            snprintf(reg, 4, "%s", d ? d->code_region : "");
        }
    }
    o->code_departement = dep[0] ? dep : NULL;
    o->code_region = reg[0] ? reg : NULL;
    return true;
}

void handle_create_organisation(struct request_ctx *ctx)
{
    json_t *body = NULL;
    struct organisation_body in;
    struct referentiel_snapshot *snap = NULL;
    FIELD_ERRORS(errs);
    memset(&in, 0, sizeof in);
    if (!json_body_read_or_reply(ctx, &body))
        return;
    json_spec_apply(body, organisation_fields, JSON_SPEC_CREATE, &in, "", &errs);
    if (errs.count == 0 && !in.siren && in.nature != NATURE_ETAT)
        field_errors_add(&errs, "/siren", NULL, "champ-requis",
                         "Le SIREN est obligatoire, sauf pour l'État (nature etat).");
    if (errs.count == 0 && !in.nom && in.nature != NATURE_COMMUNE && in.nature != NATURE_EPCI)
        field_errors_add(&errs, "/nom", NULL, "champ-requis",
                         "Le nom est obligatoire (il vient du référentiel pour une commune ou un "
                         "EPCI).");
    if (!body_errors_or_reply(ctx, &errs))
        goto out;
    const struct authz_principal *who = &ctx->principal->authz;
    /* A role that creates nothing, even where nobody acts, is told so first. */
    if (authz_decide(who, ACTION_ORGANISATION_CREATE, NULL) != AUTHZ_ALLOW) {
        respond_problem(ctx, PROBLEM_INTERDIT,
                        "Votre rôle ne permet pas d'enregistrer une organisation.");
        goto out;
    }
    struct rule_report violations;
    rule_report_init(&violations);
    /* R42: a SIREN passes Luhn. */
    if (in.siren && !siren_is_valid(in.siren))
        rule_report_add(&violations, "R42", "siren-invalide", "/siren",
                        "Le SIREN %s est invalide (clé de Luhn).", in.siren);
    struct organisation_new o = {in.siren, in.nom, nature_names[in.nature], NULL, NULL, NULL};
    char dep[4] = "", reg[4] = "";
    if (!rule_report_any(&violations) &&
        (in.nature == NATURE_COMMUNE || in.nature == NATURE_EPCI)) {
        snap = referentiel_store_acquire(ctx->app->referentiel);
        if (snap == NULL) {
            respond_unavailable(ctx, "Référentiel des communes non chargé.");
            goto out;
        }
        resolve_referentiel(&snap->ref, in.nature, in.siren, &o, dep, reg, &violations);
    }
    if (!programme_rules_hold_or_reply(ctx, &violations))
        goto out;
    struct new_scope scope;
    new_scope_of(snap ? &snap->ref : NULL, in.nature, in.siren, &o, &scope);
    struct authz_target target = new_scope_target(&scope);
    if (authz_decide(who, ACTION_ORGANISATION_CREATE, &target) != AUTHZ_ALLOW) {
        respond_problem(ctx, PROBLEM_INTERDIT,
                        "Cette organisation agit hors de votre périmètre (départements, régions, "
                        "SIREN) : seuls l'ANCT, les préfectures de son territoire et ses propres "
                        "utilisateurs l'enregistrent.");
        goto out;
    }
    if (scope.deps.count == 0 && scope.regs.count == 0)
        new_scope_add_creator(&scope, &who->perimeter);
    struct journal_scope journal = {scope.deps.codes, scope.regs.codes, scope.sirens.codes,
                                    scope.terrs.codes};
    struct create_work work;
    memset(&work, 0, sizeof work);
    work.o = &o;
    work.scope = &journal;
    struct journal_actor actor = auth_journal_actor(ctx);
    struct db_error err = {{0}, {0}};
    enum db_result r = db_run_mutation(ctx->app->pool, DB_ISOLATION_READ_COMMITTED, &actor,
                                       create_unit, &work, &err);
    const struct db_answers answers = {
        .conflict = "Une organisation porte déjà ce SIREN : retrouvez-la par "
                    "GET /api/v1/organisations?siren=…."};
    if (respond_db_outcome(ctx, r, &err, &answers)) {
        http_set_location(ctx->res, "/api/v1/organisations/", work.created.id);
        respond_json_etag(ctx->res, 201, work.created.json);
    }
    organisation_row_release(&work.created);
out:
    referentiel_snapshot_release(ctx->app->referentiel, snap);
    json_decref(body);
}

/* Reads one organisation by the path id; false when a problem was sent. */
static bool load_organisation(struct request_ctx *ctx, struct organisation_row *row)
{
    const char *id = query_id_or_reply(ctx, query_is_uuid, "Identifiant UUID attendu.");
    if (id == NULL)
        return false;
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    enum db_result r = db_pool_acquire(ctx->app->pool, &conn, &err);
    if (r == DB_OK) {
        r = organisation_get(conn, id, row, &err);
        db_pool_release(ctx->app->pool, conn);
    }
    return respond_lookup_or_reply(ctx, r, &err, "Aucune organisation n'a cet identifiant.");
}

void handle_get_organisation(struct request_ctx *ctx)
{
    struct organisation_row row;
    if (!load_organisation(ctx, &row))
        return;
    char etag[24];
    http_etag(row.json, strlen(row.json), etag);
    respond_conditional_json(ctx, row.json, strlen(row.json), etag);
    organisation_row_release(&row);
}

enum rename_outcome { RENAME_DONE, RENAME_FORBIDDEN, RENAME_REFERENTIEL };

struct rename_work {
    const char *id;
    int revision;
    const char *nom;
    const struct authz_principal *who;
    enum rename_outcome outcome;
    bool acts_nowhere; /* the organisation's perimeter is empty */
    struct organisation_row after;
    char current_etag[24]; /* DB_STALE: the ETag of the row as locked */
};

/* Locks the organisation, reads its perimeter and decides organisation.ecrire
 * on it in the same transaction (issue 8 §1); a refusal rolls back (outcome
 * set, DB_NOT_FOUND returned: nothing written). */
static enum db_result rename_unit(struct db_tx *tx, void *ctx, struct db_error *err)
{
    struct rename_work *w = ctx;
    struct organisation_row before;
    struct organisation_scope scope;
    organisation_row_release(&w->after);
    w->outcome = RENAME_DONE;
    enum db_result r = organisation_lock_scope(tx, w->id, &before, &scope, err);
    if (r != DB_OK)
        return r;
    struct authz_target target;
    memset(&target, 0, sizeof target);
    target.departements = scope.departements;
    target.departement_count = scope.departement_count;
    target.regions = scope.regions;
    target.region_count = scope.region_count;
    target.sirens = scope.sirens;
    target.siren_count = scope.siren_count;
    w->acts_nowhere = scope.departement_count == 0 && scope.region_count == 0;
    if (authz_decide(w->who, ACTION_ORGANISATION_WRITE, &target) != AUTHZ_ALLOW) {
        w->outcome = RENAME_FORBIDDEN;
        r = DB_NOT_FOUND;
    } else if (strcmp(before.nature, "commune") == 0 || strcmp(before.nature, "epci") == 0) {
        w->outcome = RENAME_REFERENTIEL;
        r = DB_NOT_FOUND;
    } else {
        r = organisation_rename(tx, &before, w->revision, w->nom, &scope, &w->after, err);
        if (r == DB_STALE)
            http_etag(before.json, strlen(before.json), w->current_etag);
    }
    organisation_scope_release(&scope);
    organisation_row_release(&before);
    return r;
}

void handle_patch_organisation(struct request_ctx *ctx)
{
    struct organisation_row row;
    json_t *body = NULL;
    if (!load_organisation(ctx, &row))
        return;
    char etag[24];
    http_etag(row.json, strlen(row.json), etag);
    if (!if_match_or_reply(ctx, etag))
        goto out;
    if (!json_body_read_or_reply(ctx, &body))
        goto out;
    struct organisation_body in = {NULL, 0, NULL};
    FIELD_ERRORS(errs);
    json_spec_apply(body, organisation_fields, JSON_SPEC_PATCH, &in, "", &errs);
    if (!body_errors_or_reply(ctx, &errs))
        goto out;
    struct rename_work work;
    memset(&work, 0, sizeof work);
    work.id = row.id;
    work.revision = row.revision;
    work.nom = in.nom;
    work.who = &ctx->principal->authz;
    struct journal_actor actor = auth_journal_actor(ctx);
    struct db_error err = {{0}, {0}};
    enum db_result r = db_run_mutation(ctx->app->pool, DB_ISOLATION_READ_COMMITTED, &actor,
                                       rename_unit, &work, &err);
    const struct db_answers answers = {
        .not_found = "Aucune organisation n'a cet identifiant.",
        .stale = "L'organisation a été modifiée entre-temps : relisez-la.",
        .stale_etag = work.current_etag[0] ? work.current_etag : NULL};
    if (work.outcome == RENAME_FORBIDDEN) {
        respond_problem(ctx, PROBLEM_INTERDIT,
                        work.acts_nowhere
                            ? "Cette organisation n'agit encore dans aucun territoire (ni commune, "
                              "ni EPCI, ni convention, ni comité) : seule l'ANCT la modifie."
                            : "Cette organisation agit hors de votre périmètre : seuls l'ANCT, les "
                              "préfectures des départements où elle agit (sa commune ou son EPCI, "
                              "les territoires de ses conventions et comités) et ses propres "
                              "utilisateurs la modifient.");
    } else if (work.outcome == RENAME_REFERENTIEL) {
        struct rule_report violations;
        rule_report_init(&violations);
        rule_report_add(&violations, "R42", "nom-du-referentiel", "/nom",
                        "Le nom d'une commune ou d'un EPCI est celui du référentiel : il ne se "
                        "modifie pas.");
        programme_respond_violations(ctx, &violations);
    } else if (respond_db_outcome(ctx, r, &err, &answers)) {
        respond_json_etag(ctx->res, 200, work.after.json);
    }
    organisation_row_release(&work.after);
out:
    json_decref(body);
    organisation_row_release(&row);
}

static bool nature_is_valid(const char *s)
{
    enum organisation_kind kind;
    return organisation_kind_parse(s, &kind);
}

/* The query of GET /organisations. */
struct organisation_query {
    size_t limit;
    struct organisation_filter f;
    struct query_sync sync;
};
static const struct query_field organisation_query_fields[] = {
    QUERY_PAGE(struct organisation_query, limit),
    QUERY_CODE_FIELD("siren", offsetof(struct organisation_query, f.siren), siren_format_is_valid,
                     "un SIREN de 9 chiffres"),
    QUERY_CODE_FIELD("nature", offsetof(struct organisation_query, f.nature), nature_is_valid,
                     "commune, epci, petr, departement, region, etat, operateur, bailleur, "
                     "association, entreprise ou autre"),
    QUERY_CODE_FIELD("departement", offsetof(struct organisation_query, f.departement),
                     departement_code_is_valid, "un code de département (01, 2A, 974…)"),
    QUERY_SYNC_FIELDS(struct organisation_query, sync),
    QUERY_FIELDS_END,
};

void handle_list_organisations(struct request_ctx *ctx)
{
    char key[CURSOR_KEY_MAX + 1], canon[200];
    const char *after = NULL;
    struct organisation_query q;
    if (!query_or_reply(ctx, organisation_query_fields, &q))
        return;
    size_t limit = q.limit;
    struct organisation_filter f = q.f;
    f.sync = query_sync_list(&q.sync);
    snprintf(canon, sizeof canon, "s=%s|n=%s|d=%s", f.siren ? f.siren : "",
             f.nature ? f.nature : "", f.departement ? f.departement : "");
    uint32_t fp;
    if (!query_sync_cursor_or_reply(ctx, "organisations", cursor_fingerprint(canon), &q.sync,
                                    query_is_uuid, key, &after, &fp))
        return;
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    char *json = NULL, last[CURSOR_KEY_MAX + 1];
    bool more = false;
    size_t total = 0;
    enum db_result r = db_pool_acquire(app_read_pool(ctx->app), &conn, &err);
    if (r == DB_OK) {
        r = organisation_list(conn, &f, after, limit, &json, last, &more, &total, &err);
        db_pool_release(app_read_pool(ctx->app), conn);
    }
    if (r != DB_OK) {
        respond_db_error(ctx, r, &err);
        return;
    }
    respond_page(ctx, organisation_query_fields, json, "organisations", fp, last, more, total);
    free(json);
}
