/* Shared helpers of the programme's handlers (see programme.h). */
#include "programme.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../auth.h"
#include "../csv_export.h"
#include "../query.h"
#include "../xalloc.h"

void programme_today(struct date *out)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    out->year = tm.tm_year + 1900;
    out->month = tm.tm_mon + 1;
    out->day = tm.tm_mday;
}

enum authz_decision programme_decide(const struct request_ctx *ctx, enum action action,
                                     struct territoire_scope *scope)
{
    if (!ctx->principal || !ctx->principal->has_habilitation)
        return AUTHZ_FORBID;
    struct authz_target target = territoire_scope_target(scope);
    return authz_decide(&ctx->principal->authz, action, &target);
}

bool programme_decide_or_reply(struct request_ctx *ctx, enum action action,
                               struct territoire_scope *scope, const char *what_404)
{
    switch (programme_decide(ctx, action, scope)) {
    case AUTHZ_ALLOW:
        return true;
    case AUTHZ_HIDE:
        respond_problem(ctx, PROBLEM_RESSOURCE_INTROUVABLE, what_404);
        return false;
    case AUTHZ_FORBID:
        break;
    }
    respond_problem(ctx, PROBLEM_INTERDIT,
                    "Votre habilitation ne permet pas cette action sur ce territoire.");
    return false;
}

bool programme_territoire_or_reply(struct request_ctx *ctx, enum action action, const char *id_pvd,
                                   const char *what_404, struct territoire_scope *scope)
{
    struct db_error err = {{0}, {0}};
    enum db_result r = territoire_scope_load_pooled(ctx->app->pool, id_pvd, scope, &err);
    if (!respond_lookup_or_reply(ctx, r, &err, what_404))
        return false;
    return programme_decide_or_reply(ctx, action, scope, what_404);
}

void programme_respond_violations(struct request_ctx *ctx, const struct rule_report *violations)
{
    FIELD_ERRORS(errs);
    const char *regle = NULL;
    const char *detail = NULL;
    for (size_t i = 0; i < violations->count && i < RULE_REPORT_MAX; i++) {
        const struct rule_violation *v = &violations->items[i];
        if (!regle && v->regle && v->regle[0])
            regle = v->regle;
        if (!detail)
            detail = v->message;
        field_errors_add(&errs, v->pointer, NULL, v->code, "%s", v->message);
    }
    errs.dropped += violations->dropped;
    respond_problem_rule(ctx, PROBLEM_REGLE_NON_RESPECTEE, regle, detail, &errs);
}

bool programme_rules_hold_or_reply(struct request_ctx *ctx, const struct rule_report *violations)
{
    if (!rule_report_any(violations))
        return true;
    programme_respond_violations(ctx, violations);
    return false;
}

json_t *programme_avertissements(const struct rule_report *warnings)
{
    json_t *list = xjson(json_array());
    for (size_t i = 0; warnings && i < warnings->count && i < RULE_REPORT_MAX; i++) {
        const struct rule_violation *w = &warnings->items[i];
        json_t *item = xjson(json_object());
        json_object_set_new(item, "regle", xjson(json_string(w->regle ? w->regle : "")));
        json_object_set_new(item, "code", xjson(json_string(w->code ? w->code : "")));
        json_object_set_new(item, "message", xjson(json_string(w->message)));
        json_object_set_new(item, "pointeur", xjson(json_string(w->pointer)));
        json_array_append_new(list, item);
    }
    return list;
}

enum db_result programme_mutate(struct request_ctx *ctx, db_mutation_fn unit, void *work,
                                struct db_error *err)
{
    struct journal_actor actor = auth_journal_actor(ctx);
    return db_run_mutation(ctx->app->pool, DB_ISOLATION_READ_COMMITTED, &actor, unit, work, err);
}

bool programme_mutation_reply(
    struct request_ctx *ctx, enum db_result r, const struct db_error *err,
    const struct rule_report *violations, const struct db_answers *answers,
    void (*current_etag)(struct request_ctx *ctx, const char *id, char out[24]), const char *id)
{
    if (r == DB_CONFLICT && violations && rule_report_any(violations)) {
        programme_respond_violations(ctx, violations);
        return false;
    }
    struct db_answers a = {0};
    if (answers)
        a = *answers;
    char etag[24] = "";
    if (r == DB_STALE && current_etag)
        current_etag(ctx, id, etag);
    a.stale_etag = etag[0] ? etag : NULL;
    return respond_db_outcome(ctx, r, err, &a);
}

bool programme_path_id_or_reply(struct request_ctx *ctx, const struct query_field *query,
                                const char *what_404, const char **id)
{
    FIELD_ERRORS(errs);
    if (!query_spec_check_names(ctx->req, query ? query : query_no_params, &errs)) {
        respond_problem_fields(ctx, PROBLEM_PARAMETRE_INVALIDE, "Paramètre invalide.", &errs);
        return false;
    }
    *id = query_path_param(ctx, "id");
    if (!query_is_uuid(*id)) {
        respond_problem(ctx, PROBLEM_RESSOURCE_INTROUVABLE, what_404);
        return false;
    }
    return true;
}

void programme_respond_csv(struct request_ctx *ctx, const char *const *header,
                           programme_csv_rows_fn rows, void *arg,
                           void (*too_large)(struct request_ctx *ctx), const char *name,
                           struct date today)
{
    struct csv_export csv;
    if (csv_export_init(&csv, CSV_EXPORT_MAX_BYTES) != CSV_EXPORT_OK) {
        csv_export_release(&csv);
        respond_problem(ctx, PROBLEM_ERREUR_INTERNE, NULL);
        return;
    }
    enum csv_export_status s = CSV_EXPORT_OK;
    for (size_t i = 0; s == CSV_EXPORT_OK && header[i]; i++)
        s = csv_export_text(&csv, header[i]);
    if (s == CSV_EXPORT_OK)
        s = csv_export_end_row(&csv);
    struct db_error err = {{0}, {0}};
    bool too_many = false, stopped = false;
    enum db_result r = DB_OK;
    if (s == CSV_EXPORT_OK)
        r = rows(ctx, arg, &csv, &too_many, &stopped, &err);
    if (r != DB_OK) {
        csv_export_release(&csv);
        respond_db_error(ctx, r, &err);
        return;
    }
    if (too_many || csv.too_large) {
        csv_export_release(&csv);
        too_large(ctx);
        return;
    }
    size_t len = 0;
    char *doc = s == CSV_EXPORT_OK && !stopped ? csv_export_finish(&csv, &len) : NULL;
    csv_export_release(&csv);
    if (!doc) { /* a value the typed cells refuse: a stored value out of shape */
        respond_problem(ctx, PROBLEM_ERREUR_INTERNE, NULL);
        return;
    }
    char today_text[11], disposition[120];
    date_format(today, today_text);
    snprintf(disposition, sizeof disposition, "attachment; filename=\"%s-%s.csv\"", name,
             today_text);
    respond_text(ctx->res, 200, "text/csv; charset=utf-8", doc, len);
    u_map_put(ctx->res->map_header, "Content-Disposition", disposition);
    free(doc);
}

void programme_respond_list(struct request_ctx *ctx, const struct query_field *fields,
                            const char *name, uint32_t fp, const char *after, size_t limit,
                            programme_list_fn list, programme_page_fn page_of, void *arg)
{
    struct db_error err = {{0}, {0}};
    char *json = NULL, last[CURSOR_KEY_MAX + 1];
    bool more = false;
    size_t total = 0;
    enum db_result r = list(ctx, arg, after, limit, &json, last, &more, &total, &err);
    if (r != DB_OK) {
        respond_db_error(ctx, r, &err);
        return;
    }
    char *page = page_of(ctx, arg, json);
    free(json);
    if (!page) {
        respond_problem(ctx, PROBLEM_ERREUR_INTERNE, NULL);
        return;
    }
    respond_page(ctx, fields, page, name, fp, last, more, total);
    free(page);
}
