/* Helpers shared by the convention handlers (conventions.c: create, read,
 * list, update; conventions_actions.c: signatures, transitions, avenants,
 * versions; statistiques.c), defined in conventions_common.c: loading a
 * convention with its authorization, the write prologue and mutation
 * epilogue, rendering it for the caller, validating its content. */
#ifndef PVD_API_HANDLERS_CONVENTIONS_COMMON_H
#define PVD_API_HANDLERS_CONVENTIONS_COMMON_H

#include <jansson.h>
#include <stdbool.h>
#include <ulfius.h>

#include "../../db/convention_repository.h"
#include "../../db/mutation.h"
#include "../../db/territoire_scope.h"
#include "../../domain/territoire.h"
#include "../http.h"
#include "../problem.h"
#include "../query_params.h"

/* Loads convention `id` (already validated as a UUID) into *row and its
 * territoire's scope (plus its signataires' SIRENs) into *scope, and decides
 * `action`. true: allowed (the caller releases row). false: an answer was sent
 * (404 when absent or hidden, 403, 503) and row holds nothing. */
bool convention_load_or_reply(struct request_ctx *ctx, enum action action, const char *id,
                              struct convention_row *row, struct territoire_scope *scope);

/* Same with the path parameter `id` (400 when not a UUID or when a query
 * parameter that `query` does not declare is given: query_params.h; NULL:
 * none). The values of query's parameters are the caller's to read. */
bool convention_load_path_or_reply(struct request_ctx *ctx, enum action action,
                                   const struct query_field *query, struct convention_row *row,
                                   struct territoire_scope *scope);

/* The common start of a write on one convention: convention_load_path_or_reply
 * for `action`, its ETag into etag (for the caller's If-Match, checked after
 * the body's validation) and the JSON body into *body. true: the caller
 * releases *row and json_decref()s *body. false: an answer was sent and
 * nothing is held. */
bool convention_write_begin_or_reply(struct request_ctx *ctx, enum action action,
                                     struct convention_row *row, struct territoire_scope *scope,
                                     char etag[24], json_t **body);

/* 409 conflit of a write: one erreurs item (pointer, code, message = detail). */
struct convention_conflict {
    const char *pointer, *code, *detail;
};

/* Runs unit(work) as one journaled mutation (db_run_mutation, READ
 * COMMITTED, the caller as actor). true: committed, nothing sent (the caller
 * answers). false: answered 422 regle-non-respectee when the unit returned
 * DB_CONFLICT with violations (NULL: none) filled — rules checked in the
 * transaction —, else respond_db_outcome: 412 with convention id's current
 * ETag on DB_STALE, 409 `conflict` (NULL: not expected) on DB_CONFLICT. */
bool convention_mutate_or_reply(struct request_ctx *ctx, const char *id, db_mutation_fn unit,
                                void *work, const struct rule_report *violations,
                                const struct convention_conflict *conflict);

/* Strong ETag of a convention: its stored representation and its read-time
 * R4 lateness (caller-independent: transitions_possibles is not part of it,
 * so one caller's ETag serves another's If-Match). */
void convention_etag(const struct convention_row *row, char out[24]);

/* Adds to obj (a convention_representation) what depends on the caller and
 * on today: transitions_possibles (empty unless `may_transition`), the
 * read-time en_retard of an adhésion and avertissements (R4), plus the
 * warnings in extra (may be NULL). */
void convention_decorate(json_t *obj, const struct request_ctx *ctx, bool may_transition,
                         const struct rule_report *extra);

/* Sends row's representation decorated for the caller, with its ETag.
 * A GET honours If-None-Match (304). */
void convention_send(struct request_ctx *ctx, int status, const struct convention_row *row,
                     struct territoire_scope *scope, const struct rule_report *extra);

/* Validation of content members (create, PATCH, avenant modifications).
 * mode CONTENT_CREATE: intitule required, type and id_pvd allowed;
 * CONTENT_PATCH: every member optional (null removes an optional one);
 * CONTENT_AVENANT: as PATCH without signataires. Members of the other type
 * are unknown (400 champ-inconnu). Errors carry pointers under prefix. On
 * success, *signataires / *secteurs are the arrays when present (borrowed
 * from obj). */
enum content_mode { CONTENT_CREATE, CONTENT_PATCH, CONTENT_AVENANT };
void convention_content_check(const json_t *obj, enum convention_type type, enum content_mode mode,
                              const char *prefix, struct field_errors *errs,
                              const json_t **signataires, const json_t **secteurs);

/* R42-like referential check of the signataires: every organisation_id
 * exists ("organisation-inconnue") and no (organisation, role) pair repeats
 * ("signataire-en-double"), appended to violations. False (answer sent) on a
 * database failure. */
bool convention_signataires_check(struct request_ctx *ctx, const json_t *signataires,
                                  const char *prefix, struct rule_report *violations);

/* 409 conflit with one erreurs item (pointer, code, message = detail). */
void convention_respond_conflict(struct request_ctx *ctx, const char *pointer, const char *code,
                                 const char *detail);

#endif
