/* Conventions d'adhésion and conventions-cadres (issue #4 §2): create, read,
 * list and update drafts (shared helpers: conventions_common.[ch]). Rules
 * from domain/convention.h, storage from db/convention_repository.h. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../domain/identifiers.h"
#include "../auth.h"
#include "../cursor.h"
#include "../json_spec.h"
#include "../query.h"
#include "../xalloc.h"
#include "../../db/territoire_lock.h"
#include "conventions_common.h"
#include "handlers.h"
#include "programme.h"

/* ---- POST /api/v1/conventions ------------------------------------------- */

struct create_work {
    enum convention_type type;
    const char *id_pvd, *doc;
    const struct journal_scope *scope;
    struct rule_report violations; /* R5: a cadre hangs on the active adhésion */
    struct convention_row created;
};

/* Under the territoire lock (which the adhésion's transitions also take),
 * a cadre is attached to the adhésion active in the transaction. */
static enum db_result create_unit(struct db_tx *tx, void *ctx, struct db_error *err)
{
    struct create_work *w = ctx;
    convention_row_release(&w->created);
    rule_report_init(&w->violations);
    char adhesion_id[37] = "";
    enum db_result r = territoire_lock(tx, w->id_pvd, err);
    if (r == DB_OK && w->type == CONVENTION_CADRE) {
        r = convention_active_adhesion(tx->conn, w->id_pvd, adhesion_id, err);
        if (r == DB_NOT_FOUND) {
            rule_report_add(&w->violations, "R5", "convention-adhesion-manquante", "/adhesion_id",
                            "Le territoire %s n'a pas de convention d'adhésion : la "
                            "convention-cadre s'y rattache.",
                            w->id_pvd);
            return DB_CONFLICT;
        }
    }
    if (r != DB_OK)
        return r;
    return convention_insert(tx, convention_type_name(w->type), w->id_pvd,
                             adhesion_id[0] ? adhesion_id : NULL, w->doc, w->scope, &w->created,
                             err);
}

void handle_create_convention(struct request_ctx *ctx)
{
    json_t *body = NULL;
    char *doc = NULL;
    FIELD_ERRORS(errs);
    if (!json_body_read_or_reply(ctx, &body))
        return;
    enum convention_type type = CONVENTION_ADHESION;
    convention_type_parse(json_string_value(json_object_get(body, "type")), &type);
    const json_t *signataires = NULL, *secteurs = NULL;
    convention_content_check(body, type, CONTENT_CREATE, "", &errs, &signataires, &secteurs);
    if (!body_errors_or_reply(ctx, &errs))
        goto out;
    const char *id_pvd = json_string_value(json_object_get(body, "id_pvd"));
    struct territoire_scope scope;
    struct db_error err = {{0}, {0}};
    enum db_result r = territoire_scope_load_pooled(ctx->app->pool, id_pvd, &scope, &err);
    struct rule_report violations;
    rule_report_init(&violations);
    if (r == DB_NOT_FOUND) {
        rule_report_add(&violations, "", "territoire-inconnu", "/id_pvd",
                        "Aucun territoire PVD n'a l'identifiant %s.", id_pvd);
        programme_respond_violations(ctx, &violations);
        goto out;
    }
    if (r != DB_OK) {
        respond_db_error(ctx, r, &err);
        goto out;
    }
    if (!programme_decide_or_reply(ctx, ACTION_CONVENTION_WRITE, &scope,
                                   "Aucun territoire visible n'a cet identifiant."))
        goto out;
    if (!convention_signataires_check(ctx, signataires, "", &violations))
        goto out;
    if (!programme_rules_hold_or_reply(ctx, &violations))
        goto out;
    doc = json_dumps(body, JSON_COMPACT);
    struct journal_scope jscope = territoire_scope_journal(&scope);
    struct create_work work;
    memset(&work, 0, sizeof work);
    work.type = type;
    work.id_pvd = id_pvd;
    work.doc = doc;
    work.scope = &jscope;
    const struct convention_conflict active = {
        "/type", "convention-active-existante",
        type == CONVENTION_CADRE
            ? "Ce territoire a déjà une convention-cadre active (ni échue ni résiliée)."
            : "Ce territoire a déjà une convention d'adhésion active (non abandonnée)."};
    if (convention_mutate_or_reply(ctx, NULL, create_unit, &work, &work.violations, &active)) {
        http_set_location(ctx->res, "/api/v1/conventions/", work.created.id);
        convention_send(ctx, 201, &work.created, &scope, NULL);
    }
    convention_row_release(&work.created);
out:
    free(doc);
    json_decref(body);
}

/* ---- GET /api/v1/conventions/:id ----------------------------------------- */

void handle_get_convention(struct request_ctx *ctx)
{
    struct convention_row row;
    struct territoire_scope scope;
    if (!convention_load_path_or_reply(ctx, ACTION_CONVENTION_READ, NULL, &row, &scope))
        return;
    convention_send(ctx, 200, &row, &scope, NULL);
    convention_row_release(&row);
}

/* ---- GET /api/v1/conventions --------------------------------------------- */

static bool is_type(const char *s)
{
    enum convention_type t;
    return convention_type_parse(s, &t);
}

static bool is_etat(const char *s)
{
    enum convention_etat e;
    return convention_etat_parse(CONVENTION_ADHESION, s, &e) ||
           convention_etat_parse(CONVENTION_CADRE, s, &e);
}

/* Decorates each element of a JSON array of representations (whose hidden
 * "_sirens" member lists the SIRENs concerned, removed here). */
static char *decorate_page(const char *json, const struct request_ctx *ctx)
{
    json_t *list = json_loads(json, 0, NULL);
    if (!list)
        return NULL;
    size_t i;
    json_t *obj;
    json_array_foreach(list, i, obj)
    {
        const char *deps[2] = {json_string_value(json_object_get(obj, "code_departement")), NULL};
        const char *regs[2] = {json_string_value(json_object_get(obj, "code_region")), NULL};
        const char *sirens[CONVENTION_MAX_SIGNATAIRES * 2];
        size_t n = 0, k;
        json_t *s;
        json_array_foreach(json_object_get(obj, "_sirens"), k, s)
        {
            if (n < sizeof sirens / sizeof sirens[0] && json_string_value(s))
                sirens[n++] = json_string_value(s);
        }
        struct authz_target t;
        memset(&t, 0, sizeof t);
        t.departements = deps;
        t.departement_count = deps[0] ? 1 : 0;
        t.regions = regs;
        t.region_count = regs[0] ? 1 : 0;
        t.territoire = json_string_value(json_object_get(obj, "id_pvd"));
        t.sirens = sirens;
        t.siren_count = n;
        bool may = ctx->principal && authz_decide(&ctx->principal->authz,
                                                  ACTION_CONVENTION_TRANSITION, &t) == AUTHZ_ALLOW;
        convention_decorate(obj, ctx, may, NULL);
        json_object_del(obj, "_sirens");
    }
    char *text = json_dumps(list, JSON_COMPACT);
    json_decref(list);
    return text;
}

/* The query of GET /conventions. */
struct convention_query {
    size_t limit;
    const char *type, *etat, *id_pvd, *departement, *region, *en_retard;
    struct query_sync sync;
};
#define CQ(member) offsetof(struct convention_query, member)
static const struct query_field convention_query_fields[] = {
    QUERY_PAGE(struct convention_query, limit),
    QUERY_CODE_FIELD("type", CQ(type), is_type, "adhesion ou cadre"),
    QUERY_CODE_FIELD("etat", CQ(etat), is_etat, "un état de convention"),
    QUERY_CODE_FIELD("id_pvd", CQ(id_pvd), territoire_id_pvd_is_valid,
                     "un identifiant pvd-<région>-<département>-<n>"),
    QUERY_CODE_FIELD("departement", CQ(departement), departement_code_is_valid,
                     "un code de département"),
    QUERY_CODE_FIELD("region", CQ(region), region_code_is_valid, "un code de région"),
    QUERY_CODE_FIELD("en_retard", CQ(en_retard), query_is_bool_text, "true ou false"),
    QUERY_SYNC_FIELDS(struct convention_query, sync),
    QUERY_FIELDS_END,
};

void handle_list_conventions(struct request_ctx *ctx)
{
    struct convention_query q;
    if (!query_or_reply(ctx, convention_query_fields, &q))
        return;
    size_t limit = q.limit;
    const char *type = q.type, *etat = q.etat, *id_pvd = q.id_pvd, *dep = q.departement,
               *reg = q.region, *retard = q.en_retard;
    char today_text[11], canon[400], key[CURSOR_KEY_MAX + 1];
    struct date today;
    programme_today(&today);
    date_format(today, today_text);
    snprintf(canon, sizeof canon, "t=%s|e=%s|p=%s|d=%s|r=%s|l=%s", type ? type : "",
             etat ? etat : "", id_pvd ? id_pvd : "", dep ? dep : "", reg ? reg : "",
             retard ? retard : "");
    uint32_t fp;
    const char *after = NULL;
    if (!query_sync_cursor_or_reply(ctx, "conventions", cursor_fingerprint(canon), &q.sync,
                                    query_is_uuid, key, &after, &fp))
        return;
    struct convention_filter f = {role_name(role_reads_as(ctx->principal->authz.role)),
                                  &ctx->principal->authz.perimeter,
                                  type,
                                  etat,
                                  id_pvd,
                                  dep,
                                  reg,
                                  retard,
                                  today_text,
                                  query_sync_list(&q.sync)};
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    char *json = NULL, last[CURSOR_KEY_MAX + 1];
    bool more = false;
    size_t total = 0;
    enum db_result r = db_pool_acquire(app_read_pool(ctx->app), &conn, &err);
    if (r == DB_OK) {
        r = convention_list(conn, &f, after, limit, &json, last, &more, &total, &err);
        db_pool_release(app_read_pool(ctx->app), conn);
    }
    if (r != DB_OK) {
        respond_db_error(ctx, r, &err);
        return;
    }
    char *page = decorate_page(json, ctx);
    free(json);
    if (!page) {
        respond_problem(ctx, PROBLEM_ERREUR_INTERNE, NULL);
        return;
    }
    respond_page(ctx, convention_query_fields, page, "conventions", fp, last, more, total);
    free(page);
}

/* ---- PATCH /api/v1/conventions/:id --------------------------------------- */

struct update_work {
    const char *id, *id_pvd, *doc;
    long revision;
    bool deliberations_only;
    const struct journal_scope *scope;
    struct convention_row after;
};

static enum db_result update_unit(struct db_tx *tx, void *ctx, struct db_error *err)
{
    struct update_work *w = ctx;
    convention_row_release(&w->after);
    enum db_result r = territoire_lock(tx, w->id_pvd, err); /* lock order: territoire_lock.h */
    if (r != DB_OK)
        return r;
    if (w->deliberations_only)
        return convention_update_deliberations(tx, w->id, w->revision, w->doc, w->scope, &w->after,
                                               err);
    return convention_update_content(tx, w->id, w->revision, w->doc, w->scope, &w->after, err);
}

/* en_signature: the body holds only `signataires`, the same organisations in
 * the same order with the same representatives; only their délibérations
 * change. Appends the mismatches to errs (409 avenant-requis otherwise). */
static bool only_deliberations(const json_t *body, const struct convention_row *row,
                               const char **why)
{
    const json_t *list = json_object_get(body, "signataires");
    if (json_object_size(body) != 1 || !list) {
        *why = "En signature, seules les délibérations des signataires peuvent encore être "
               "enregistrées (membre « signataires » seul).";
        return false;
    }
    if (json_array_size(list) != row->signataire_count) {
        *why = "En signature, la liste des signataires ne change plus.";
        return false;
    }
    json_t *stored = json_loads(row->json, 0, NULL);
    const json_t *current = json_object_get(stored, "signataires");
    bool same = stored != NULL;
    static const char *const fixed[] = {"organisation_id", "role", "representant_nom",
                                        "representant_qualite", NULL};
    for (size_t i = 0; same && i < row->signataire_count; i++) {
        const json_t *a = json_array_get(list, i), *b = json_array_get(current, i);
        for (size_t k = 0; fixed[k]; k++) {
            const char *x = json_string_value(json_object_get(a, fixed[k]));
            const char *y = json_string_value(json_object_get(b, fixed[k]));
            if (!x || !y || strcasecmp(x, y) != 0)
                same = false;
        }
    }
    json_decref(stored);
    if (!same)
        *why = "En signature, seules les délibérations des signataires changent : organisations, "
               "rôles et représentants restent ceux de la convention.";
    return same;
}

void handle_update_convention(struct request_ctx *ctx)
{
    struct convention_row row;
    struct territoire_scope scope;
    json_t *body = NULL;
    char *doc = NULL;
    FIELD_ERRORS(errs);
    char etag[24];
    if (!convention_write_begin_or_reply(ctx, ACTION_CONVENTION_WRITE, &row, &scope, etag, &body))
        return;
    const json_t *signataires = NULL, *secteurs = NULL;
    convention_content_check(body, row.type, CONTENT_PATCH, "", &errs, &signataires, &secteurs);
    if (!body_errors_or_reply(ctx, &errs))
        goto out;
    if (!if_match_or_reply(ctx, etag))
        goto out;
    bool deliberations_only = false;
    if (row.etat == CONVENTION_EN_SIGNATURE) {
        const char *why = NULL;
        if (!only_deliberations(body, &row, &why)) {
            convention_respond_conflict(ctx, "", "modification-en-signature", why);
            goto out;
        }
        deliberations_only = true;
    } else if (row.etat != CONVENTION_BROUILLON && row.etat != CONVENTION_EN_CONCERTATION) {
        char detail[300];
        bool signed_once = row.etat == CONVENTION_SIGNEE || row.etat == CONVENTION_RELAYEE;
        snprintf(detail, sizeof detail,
                 signed_once ? "La convention est à l'état %s : elle ne change plus que par un "
                               "avenant (POST /api/v1/conventions/{id}/avenants)."
                             : "La convention est à l'état %s : elle ne se modifie plus.",
                 convention_etat_name(row.etat));
        convention_respond_conflict(ctx, "", signed_once ? "avenant-requis" : "convention-figee",
                                    detail);
        goto out;
    }
    struct rule_report violations;
    rule_report_init(&violations);
    if (signataires && !convention_signataires_check(ctx, signataires, "", &violations))
        goto out;
    if (!programme_rules_hold_or_reply(ctx, &violations))
        goto out;
    doc = json_dumps(body, JSON_COMPACT);
    struct journal_scope jscope = territoire_scope_journal(&scope);
    struct update_work work;
    memset(&work, 0, sizeof work);
    work.id = row.id;
    work.id_pvd = row.id_pvd;
    work.doc = doc;
    work.revision = row.revision;
    work.deliberations_only = deliberations_only;
    work.scope = &jscope;
    static const struct convention_conflict doublon = {
        "/signataires", "signataire-en-double",
        "Une organisation figure deux fois avec le même rôle."};
    if (convention_mutate_or_reply(ctx, row.id, update_unit, &work, NULL, &doublon))
        convention_send(ctx, 200, &work.after, &scope, NULL);
    convention_row_release(&work.after);
out:
    free(doc);
    json_decref(body);
    convention_row_release(&row);
}
