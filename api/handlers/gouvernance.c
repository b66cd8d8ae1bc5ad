/* Shared plumbing of the projet de territoire and comité handlers (see
 * gouvernance.h). */
#include "gouvernance.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../db/convention_repository.h"
#include "../../db/territoire_lock.h"
#include "../auth.h"
#include "../query.h"
#include "../xalloc.h"

bool gouv_object_or_reply(struct request_ctx *ctx, enum projet_objet kind, const char *param,
                          const struct query_field *query, enum action action, const char *what_404,
                          struct projet_row *row, struct territoire_scope *scope)
{
    FIELD_ERRORS(errs);
    char pointer[64];
    memset(row, 0, sizeof *row);
    query_spec_check_names(ctx->req, query, &errs);
    const char *id = query_path_param(ctx, param);
    if (!query_is_uuid(id)) {
        snprintf(pointer, sizeof pointer, "/%s", param);
        field_errors_add(&errs, pointer, param, "format-invalide",
                         "L'identifiant doit être un UUID.");
    }
    if (!query_errors_or_reply(ctx, &errs))
        return false;
    struct db_error err = {{0}, {0}};
    enum db_result r = projet_get_pooled(ctx->app->pool, kind, id, row, &err);
    if (!respond_lookup_or_reply(ctx, r, &err, what_404)) {
        projet_row_release(row);
        return false;
    }
    if (!programme_territoire_or_reply(ctx, action, row->id_pvd, what_404, scope)) {
        projet_row_release(row);
        return false;
    }
    return true;
}

void gouv_send_object(struct request_ctx *ctx, const struct projet_row *row)
{
    char etag[24];
    size_t len = strlen(row->json);
    http_etag(row->json, len, etag);
    respond_conditional_json(ctx, row->json, len, etag);
}

/* The query of a children list: `limite`, `curseur`, and for the kinds
 * that carry modifie_le, `modifie_depuis` and `tri`. */
struct children_query {
    size_t limit;
    struct query_sync sync;
};
static const struct query_field children_sync_fields[] = {
    QUERY_PAGE(struct children_query, limit),
    QUERY_SYNC_FIELDS(struct children_query, sync),
    QUERY_FIELDS_END,
};

const struct query_field *gouv_children_fields(enum projet_objet kind)
{
    return projet_objet_modifiable(kind) ? children_sync_fields : query_page_params;
}

/* A key of a list in its own order: any text (compared as text, never
 * parsed). */
static bool any_key(const char *key)
{
    (void)key;
    return true;
}

void gouv_send_children(struct request_ctx *ctx, enum projet_objet kind, const char *parent)
{
    char key[CURSOR_KEY_MAX + 1], canon[128];
    const char *after = NULL;
    const struct query_field *fields = gouv_children_fields(kind);
    struct children_query q = {0, {NULL, NULL}};
    if (!query_or_reply(ctx, fields, &q))
        return;
    const char *scope_name = projet_objet_type(kind);
    snprintf(canon, sizeof canon, "p=%s", parent);
    uint32_t fp;
    if (!query_sync_cursor_or_reply(ctx, scope_name, cursor_fingerprint(canon), &q.sync,
                                    q.sync.tri ? query_is_uuid : any_key, key, &after, &fp))
        return;
    struct list_sync sync = query_sync_list(&q.sync);
    char *json = NULL, last[CURSOR_KEY_MAX + 1];
    bool more = false;
    size_t total = 0;
    struct db_error err = {{0}, {0}};
    enum db_result r = projet_list_children(app_read_pool(ctx->app), kind, parent, &sync, after,
                                            q.limit, &json, last, &more, &total, &err);
    if (r != DB_OK) {
        respond_db_error(ctx, r, &err);
        return;
    }
    respond_page(ctx, fields, json, scope_name, fp, last, more, total);
    free(json);
}

bool gouv_if_match_or_reply(struct request_ctx *ctx, const struct projet_row *row, char etag[24])
{
    http_etag(row->json, strlen(row->json), etag);
    return if_match_or_reply(ctx, etag);
}

struct gouv_work {
    const char *id_pvd; /* the object's territoire, locked first */
    enum projet_objet kind;
    enum gouv_op op;
    const char *key;
    const char *etag;
    gouv_write_fn write;
    gouv_check_fn check;
    const char *body_json;
    const struct journal_scope *scope;
    struct projet_row before, after;
    struct rule_report violations; /* refused in the write: R9 (deletion), check */
};

/* After a deletion in tx, under the territoire lock that the transition to
 * validee_comite also takes (so that the two serialize): when the
 * territoire's cadre is validated (R9 locked), R9 must still hold on the
 * rows as they are in tx; otherwise fills w->violations. */
static enum db_result r9_still_holds(struct db_tx *tx, struct gouv_work *w, struct db_error *err)
{
    bool found;
    enum convention_etat etat;
    enum db_result r = convention_cadre_etat(tx->conn, w->before.id_pvd, &found, &etat, err);
    if (r != DB_OK || !found || !convention_r9_verrouille(etat))
        return r;
    struct axe_strategique axes[CONVENTION_MAX_AXES];
    size_t count = 0;
    r = convention_axes(tx->conn, w->before.id_pvd, axes, CONVENTION_MAX_AXES, &count, err);
    if (r == DB_OK)
        convention_r9_check(axes, count, &w->violations);
    return r;
}

static enum db_result gouv_unit(struct db_tx *tx, void *arg, struct db_error *err)
{
    struct gouv_work *w = arg;
    enum db_result r = DB_OK;
    projet_row_release(&w->before);
    projet_row_release(&w->after);
    rule_report_init(&w->violations);
    r = territoire_lock(tx, w->id_pvd, err); /* lock order: territoire_lock.h */
    if (r != DB_OK)
        return r;
    if (w->op != GOUV_CREER) {
        char etag[24];
        r = projet_lock(tx, w->kind, w->key, &w->before, err);
        if (r != DB_OK)
            return r;
        http_etag(w->before.json, strlen(w->before.json), etag);
        if (strcmp(etag, w->etag) != 0)
            return DB_STALE;
    }
    static const char *const verbs[] = {"creer", "modifier", "supprimer"};
    if (w->op == GOUV_SUPPRIMER) {
        r = projet_delete(tx, w->kind, w->key, err);
        if (r == DB_OK)
            r = r9_still_holds(tx, w, err);
        if (r == DB_OK && rule_report_any(&w->violations))
            return DB_CONFLICT; /* rolled back: R9 */
        if (r == DB_OK)
            r = projet_journal(tx, w->kind, verbs[w->op], &w->before, NULL, w->scope, err);
        return r;
    }
    if (w->check) {
        r = w->check(tx, w->id_pvd, w->body_json, &w->violations, err);
        if (r == DB_OK && rule_report_any(&w->violations))
            return DB_CONFLICT; /* rolled back: the rule does not hold */
        if (r != DB_OK)
            return r;
    }
    r = w->write(tx, w->key, w->body_json, &w->after, err);
    if (r == DB_OK)
        r = projet_journal(tx, w->kind, verbs[w->op], w->op == GOUV_CREER ? NULL : &w->before,
                           &w->after, w->scope, err);
    return r;
}

void gouv_mutate_and_reply(struct request_ctx *ctx, enum projet_objet kind, enum gouv_op op,
                           const char *key, const char *etag, gouv_write_fn write,
                           gouv_check_fn check, const char *body_json,
                           struct territoire_scope *scope, const char *what_409,
                           const char *location_prefix)
{
    struct journal_scope jscope = territoire_scope_journal(scope);
    struct gouv_work w;
    memset(&w, 0, sizeof w);
    w.id_pvd = scope->id_pvd;
    w.kind = kind;
    w.op = op;
    w.key = key;
    w.etag = etag ? etag : "";
    w.write = write;
    w.check = check;
    w.body_json = body_json;
    w.scope = &jscope;
    struct journal_actor actor = auth_journal_actor(ctx);
    struct db_error err = {{0}, {0}};
    enum db_result r =
        db_run_mutation(ctx->app->pool, DB_ISOLATION_READ_COMMITTED, &actor, gouv_unit, &w, &err);
    char current[24] = ""; /* the row as locked, for a 412 */
    if (w.before.json)
        http_etag(w.before.json, strlen(w.before.json), current);
    const struct db_answers answers = {
        .not_found = "La ressource n'existe plus.",
        .conflict = what_409 ? what_409 : problem_title(PROBLEM_CONFLIT),
        .stale = "La ressource a changé depuis votre lecture : relisez-la (ETag).",
        .stale_etag = current};
    bool written = false;
    if (r == DB_CONFLICT && rule_report_any(&w.violations))
        programme_respond_violations(ctx, &w.violations);
    else
        written = respond_db_outcome(ctx, r, &err, &answers);
    if (written && op == GOUV_SUPPRIMER) {
        ulfius_set_empty_body_response(ctx->res, 204);
    } else if (written) {
        if (op == GOUV_CREER && location_prefix)
            http_set_location(ctx->res, location_prefix, w.after.id);
        respond_json_etag(ctx->res, op == GOUV_CREER ? 201 : 200, w.after.json);
    }
    projet_row_release(&w.before);
    projet_row_release(&w.after);
}

void gouv_handle_get(struct request_ctx *ctx, const struct gouv_kind *k)
{
    struct projet_row row;
    struct territoire_scope scope;
    if (!gouv_object_or_reply(ctx, k->kind, "id", query_no_params, ACTION_PROJET_READ, k->what_404,
                              &row, &scope))
        return;
    gouv_send_object(ctx, &row);
    projet_row_release(&row);
}

void gouv_handle_update(struct request_ctx *ctx, const struct gouv_kind *k)
{
    struct projet_row row;
    struct territoire_scope scope;
    char etag[24];
    json_t *patch = NULL, *merged = NULL;
    if (!gouv_object_or_reply(ctx, k->kind, "id", query_no_params, ACTION_PROJET_WRITE, k->what_404,
                              &row, &scope))
        return;
    if (!gouv_if_match_or_reply(ctx, &row, etag) || !json_body_read_or_reply(ctx, &patch))
        goto out;
    merged = gouv_merge_patch(row.json, k->fields, patch);
    if (!merged) {
        char what[96];
        snprintf(what, sizeof what, "%s representation unreadable", projet_objet_type(k->kind));
        die_bug(what);
    }
    if (k->valid(ctx, merged, &row, &scope, JSON_SPEC_REPLACE)) {
        char *text = gouv_dump(merged);
        gouv_mutate_and_reply(ctx, k->kind, GOUV_MODIFIER, row.id, etag, k->update, k->check, text,
                              &scope, k->what_409_update, NULL);
        free(text);
    }
out:
    json_decref(merged);
    json_decref(patch);
    projet_row_release(&row);
}

void gouv_handle_delete(struct request_ctx *ctx, const struct gouv_kind *k)
{
    struct projet_row row;
    struct territoire_scope scope;
    char etag[24];
    if (!gouv_object_or_reply(ctx, k->kind, "id", query_no_params, ACTION_PROJET_WRITE, k->what_404,
                              &row, &scope))
        return;
    if (gouv_if_match_or_reply(ctx, &row, etag))
        gouv_mutate_and_reply(ctx, k->kind, GOUV_SUPPRIMER, row.id, etag, NULL, NULL, NULL, &scope,
                              "", NULL);
    projet_row_release(&row);
}

void gouv_handle_list_children(struct request_ctx *ctx, const struct gouv_kind *parent,
                               enum projet_objet child)
{
    struct projet_row row;
    struct territoire_scope scope;
    if (!gouv_object_or_reply(ctx, parent->kind, "id", gouv_children_fields(child),
                              ACTION_PROJET_READ, parent->what_404, &row, &scope))
        return;
    gouv_send_children(ctx, child, row.id);
    projet_row_release(&row);
}

void gouv_handle_create_child(struct request_ctx *ctx, const struct gouv_kind *parent,
                              const struct gouv_kind *child)
{
    struct projet_row row;
    struct territoire_scope scope;
    json_t *body = NULL;
    if (!gouv_object_or_reply(ctx, parent->kind, "id", query_no_params, ACTION_PROJET_WRITE,
                              parent->what_404, &row, &scope))
        return;
    if (json_body_read_or_reply(ctx, &body) &&
        child->valid(ctx, body, &row, &scope, JSON_SPEC_CREATE)) {
        char *text = gouv_dump(body);
        gouv_mutate_and_reply(ctx, child->kind, GOUV_CREER, row.id, NULL, child->insert,
                              child->check, text, &scope, child->what_409_insert,
                              child->location_prefix);
        free(text);
    }
    json_decref(body);
    projet_row_release(&row);
}

json_t *gouv_merge_patch(const char *current_json, const struct json_field *fields,
                         const json_t *patch)
{
    json_t *current = json_loads(current_json, 0, NULL);
    if (!current)
        return NULL;
    json_t *out = xjson(json_object());
    for (const struct json_field *f = fields; f->name; f++) {
        json_t *v = json_object_get(current, f->name);
        if (v && json_field_allowed(f, JSON_SPEC_PATCH))
            json_object_set(out, f->name, v);
    }
    const char *name;
    json_t *value;
    json_object_foreach((json_t *)patch, name, value)
    {
        if (json_is_null(value))
            json_object_del(out, name);
        else
            json_object_set(out, name, value);
    }
    json_decref(current);
    return out;
}

char *gouv_dump(const json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    if (!text)
        die_bug("json_dumps failed");
    return text;
}

void gouv_uuid_lower(const char *uuid, char out[37])
{
    size_t i = 0;
    for (; uuid && uuid[i] && i < 36; i++)
        out[i] = (char)(uuid[i] >= 'A' && uuid[i] <= 'F' ? uuid[i] - 'A' + 'a' : uuid[i]);
    out[i] = '\0';
}

bool gouv_organisations_or_reply(struct request_ctx *ctx, const json_t *ids, json_t **found)
{
    char *ids_json = gouv_dump(ids);
    char *text = NULL;
    struct db_error err = {{0}, {0}};
    enum db_result r = organisations_sirens(ctx->app->pool, ids_json, &text, &err);
    free(ids_json);
    *found = NULL;
    if (r == DB_OK) {
        *found = json_loads(text, 0, NULL);
        if (!*found)
            r = DB_FAILED;
    }
    free(text);
    if (r != DB_OK) {
        respond_db_error(ctx, r, &err);
        return false;
    }
    return true;
}
