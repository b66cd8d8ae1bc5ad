/* Plumbing shared by the handlers of the projet de territoire (axes.c) and of
 * the comité de projet (comites.c): read an object by its UUID path parameter
 * and authorize the caller on its territoire, list its children, run a
 * journaled creation / update / deletion with If-Match re-checked under the
 * row lock, JSON Merge Patch (RFC 7396) onto the editable members. */
#ifndef PVD_API_HANDLERS_GOUVERNANCE_H
#define PVD_API_HANDLERS_GOUVERNANCE_H

#include <jansson.h>
#include <stdbool.h>
#include <ulfius.h>

#include "../../db/projet_repository.h"
#include "../../db/territoire_scope.h"
#include "../json_spec.h"
#include "../query_params.h"
#include "programme.h"

/* Checks the query's names (only those `query` declares: query_params.h), reads
 * the object `kind` whose UUID is path parameter `param`, loads its
 * territoire's scope and decides `action`. true: *row
 * (owned: projet_row_release) and *scope are filled. false: an answer was
 * sent (400 parametre-invalide, 404 ressource-introuvable with what_404 —
 * also outside the perimeter —, 403, 503/500) and *row holds nothing. */
bool gouv_object_or_reply(struct request_ctx *ctx, enum projet_objet kind, const char *param,
                          const struct query_field *query, enum action action, const char *what_404,
                          struct projet_row *row, struct territoire_scope *scope);

/* GET of one object: 200 (or 304) with its ETag. */
void gouv_send_object(struct request_ctx *ctx, const struct projet_row *row);

/* A children list: the query parameters of gouv_children_fields(kind), then
 * one keyset page of kind under parent. */
void gouv_send_children(struct request_ctx *ctx, enum projet_objet kind, const char *parent);

/* The query spec of a children list of kind: query_page_params, plus
 * `modifie_depuis` and `tri` (QUERY_SYNC_FIELDS) for a
 * projet_objet_modifiable kind. Static storage. */
const struct query_field *gouv_children_fields(enum projet_objet kind);

/* Writes `body_json` as a creation under `parent` (or as the new content of
 * the object `parent` for an update). */
typedef enum db_result (*gouv_write_fn)(struct db_tx *tx, const char *key, const char *body_json,
                                        struct projet_row *out, struct db_error *err);

enum gouv_op { GOUV_CREER, GOUV_MODIFIER, GOUV_SUPPRIMER };

/* A rule that reads other rows than the body, checked inside the write: run
 * in tx after the territoire lock (and the object's lock on an update), on
 * the body about to be written for territoire id_pvd. It appends to
 * violations (the write is then rolled back and answered 422); DB_OK or the
 * failure. */
typedef enum db_result (*gouv_check_fn)(struct db_tx *tx, const char *id_pvd, const char *body_json,
                                        struct rule_report *violations, struct db_error *err);

/* One journaled mutation and its answer, under the territoire lock
 * (db/territoire_lock.h: taken first). check (NULL: none) runs in the
 * transaction before the write (422 regle-non-respectee when it reports).
 * For GOUV_MODIFIER / GOUV_SUPPRIMER,
 * `key` is the object's id and `etag` the ETag the caller's If-Match matched:
 * the row is locked and its ETag compared again (412 when it changed since).
 * Answers: 201 + Location (location_prefix + id) + ETag on creation, 200 +
 * ETag on update, 204 on deletion; 409 conflit with what_409 on a unique
 * violation; 404 when the object vanished; 503/500 on database failures.
 * The journal row is "<ressource_type>.creer|modifier|supprimer" with
 * before/after and the territoire's scope. */
void gouv_mutate_and_reply(struct request_ctx *ctx, enum projet_objet kind, enum gouv_op op,
                           const char *key, const char *etag, gouv_write_fn write,
                           gouv_check_fn check, const char *body_json,
                           struct territoire_scope *scope, const char *what_409,
                           const char *location_prefix);

/* Validates a creation or update body (owned by the caller) before it is
 * written, applying the kind's spec in `mode`: JSON_SPEC_CREATE on a
 * creation, JSON_SPEC_REPLACE on an update (the body is then the merged
 * content). `object` is the parent on a creation, the object itself on an
 * update; `scope` its territoire's (the validator may fill it anew). false:
 * an answer was sent (400 / 422 / 503). */
typedef bool (*gouv_valid_fn)(struct request_ctx *ctx, const json_t *body,
                              const struct projet_row *object, struct territoire_scope *scope,
                              enum json_spec_mode mode);

/* What the generic object handlers below need to know of one kind. All
 * pointers are static. */
struct gouv_kind {
    enum projet_objet kind;
    const char *what_404;            /* 404 message (also outside the perimeter) */
    const struct json_field *fields; /* the body's spec: a merge patch changes its editable ones */
    gouv_valid_fn valid;             /* body checks of creation and update */
    gouv_write_fn insert;            /* creation under the parent's id */
    gouv_write_fn update;            /* new content of the object */
    gouv_check_fn check;             /* rule checked in the write (creation, update), or NULL */
    const char *what_409_insert;     /* 409 conflit on creation */
    const char *what_409_update;     /* 409 conflit on update */
    const char *location_prefix;     /* Location of a creation, NULL: none */
};

/* GET /…/{id}: projet.lire on the object's territoire, then 200 (or 304)
 * with its ETag. */
void gouv_handle_get(struct request_ctx *ctx, const struct gouv_kind *k);

/* PATCH /…/{id}: projet.ecrire, If-Match, JSON Merge Patch of the body onto
 * the editable members of k->fields, k->valid (JSON_SPEC_REPLACE) on the
 * result, then k->update (200 + ETag). */
void gouv_handle_update(struct request_ctx *ctx, const struct gouv_kind *k);

/* DELETE /…/{id}: projet.ecrire, If-Match, deletion (204; 422 R9). */
void gouv_handle_delete(struct request_ctx *ctx, const struct gouv_kind *k);

/* GET /…/{id}/<children>: projet.lire on the parent (kind parent), then one
 * page of the children of kind `child`. */
void gouv_handle_list_children(struct request_ctx *ctx, const struct gouv_kind *parent,
                               enum projet_objet child);

/* POST /…/{id}/<children>: projet.ecrire on the parent, child->valid on the
 * body (object = the parent), then child->insert under the parent (201). */
void gouv_handle_create_child(struct request_ctx *ctx, const struct gouv_kind *parent,
                              const struct gouv_kind *child);

/* Defines the route handler `name` (handlers.h) as a call of one of the
 * generic handlers above: GOUV_HANDLER(handle_get_axe, gouv_handle_get,
 * &axe_kind). */
#define GOUV_HANDLER(name, generic, ...)                                                           \
    void name(struct request_ctx *ctx)                                                             \
    {                                                                                              \
        generic(ctx, __VA_ARGS__);                                                                 \
    }

/* If-Match against the object's current ETag (428 / 412 sent when false);
 * *etag receives the ETag. */
bool gouv_if_match_or_reply(struct request_ctx *ctx, const struct projet_row *row, char etag[24]);

/* JSON Merge Patch of `patch` onto the members of the representation
 * `current_json` that `fields` declares editable by a patch: a new object
 * (caller owns it) holding those members of the representation that are
 * present, replaced or removed (null) by the patch; the patch's other members
 * are copied too, so that the validation of the result (JSON_SPEC_REPLACE)
 * reports them as unknown. NULL on a malformed representation (a bug). */
json_t *gouv_merge_patch(const char *current_json, const struct json_field *fields,
                         const json_t *patch);

/* Which organisations named in `ids` (a JSON array of UUID strings; other
 * items ignored) exist: *found receives a new object (caller owns it)
 * {lower-case uuid: siren or null}. false: 503/500 was sent. */
bool gouv_organisations_or_reply(struct request_ctx *ctx, const json_t *ids, json_t **found);

/* The lower-case form of a UUID (out: 37 bytes). */
void gouv_uuid_lower(const char *uuid, char out[37]);

/* The body as compact JSON text (owned, free()). */
char *gouv_dump(const json_t *body);

#endif
