/* Helpers shared by the handlers of the programme's objects (territoires,
 * conventions, projet de territoire, comités): authorization on a territoire,
 * rule reports as problem+json or `avertissements`, today's date. */
#ifndef PVD_API_HANDLERS_PROGRAMME_H
#define PVD_API_HANDLERS_PROGRAMME_H

#include <jansson.h>
#include <stdbool.h>
#include <ulfius.h>

#include "../../db/mutation.h"
#include "../../db/territoire_scope.h"
#include "../../domain/authz.h"
#include "../../domain/date.h"
#include "../../domain/rules.h"
#include "../http.h"
#include "../query_params.h"

/* Today in UTC (the service's clock; domain/ never reads one). */
void programme_today(struct date *out);

/* Loads territoire id_pvd's scope into *scope (extra SIRENs, e.g. a
 * convention's signataires, may be added afterwards by the caller and the
 * decision re-taken with programme_decide_or_reply) and decides `action` for
 * the caller. true: allowed. false: an answer was sent — 404
 * ressource-introuvable when there is no such territoire or the decision is
 * HIDE (`what_404` is its French detail, e.g. "Aucun territoire n'a cet
 * identifiant."), 403 interdit when FORBID, 503/500 on a database failure. */
bool programme_territoire_or_reply(struct request_ctx *ctx, enum action action, const char *id_pvd,
                                   const char *what_404, struct territoire_scope *scope);

/* The common prologue of a route on one object of the programme addressed by
 * its UUID: the query parameters against `query` (NULL: none allowed; 400
 * parametre-invalide otherwise) and the path parameter `id` — 404
 * ressource-introuvable with `what_404` when it is not a UUID (an id that
 * cannot exist is answered like one that does not). true: *id points at it
 * (valid for the request). */
bool programme_path_id_or_reply(struct request_ctx *ctx, const struct query_field *query,
                                const char *what_404, const char **id);

/* Decides `action` on an already loaded scope; same answers as above. */
bool programme_decide_or_reply(struct request_ctx *ctx, enum action action,
                               struct territoire_scope *scope, const char *what_404);

/* The caller's decision without answering (e.g. to pick readable items). */
enum authz_decision programme_decide(const struct request_ctx *ctx, enum action action,
                                     struct territoire_scope *scope);

/* 422 regle-non-respectee: `regle` is the first violation's rule number (when
 * it has one), `erreurs` one item per violation (pointeur, code, message); the
 * detail is the first violation's message. violations must hold ≥ 1 item. */
void programme_respond_violations(struct request_ctx *ctx, const struct rule_report *violations);

/* false, with the 422 above, when violations holds any item; true
 * otherwise (the rules hold). */
bool programme_rules_hold_or_reply(struct request_ctx *ctx, const struct rule_report *violations);

/* The mutation of the programme's objects, in two steps so that the
 * answer may read what the unit found (e.g. which conflict):
 * programme_mutate runs unit(work) as one journaled mutation
 * (db_run_mutation, READ COMMITTED, the caller as actor with its
 * Idempotency-Key claim) and returns its result (err filled on failure);
 * programme_mutation_reply answers for that result: true when r is DB_OK
 * (nothing sent: the caller answers); otherwise false after sending 422
 * regle-non-respectee when r is DB_CONFLICT and *violations (may be NULL)
 * holds items (rules checked inside the transaction), else
 * respond_db_outcome with `answers` (NULL: none expected), whose stale_etag
 * is replaced on DB_STALE by what current_etag(ctx, id, out) writes (NULL, or
 * "" written: none). */
enum db_result programme_mutate(struct request_ctx *ctx, db_mutation_fn unit, void *work,
                                struct db_error *err);
bool programme_mutation_reply(
    struct request_ctx *ctx, enum db_result r, const struct db_error *err,
    const struct rule_report *violations, const struct db_answers *answers,
    void (*current_etag)(struct request_ctx *ctx, const char *id, char out[24]), const char *id);

/* `avertissements`: a new JSON array (caller owns it) of
 * {"regle", "code", "message", "pointeur"} objects, one per warning; [] when
 * warnings is NULL or empty. */
json_t *programme_avertissements(const struct rule_report *warnings);

/* The rows of a CSV export, written into csv after its header by the
 * caller's read (arg: the caller's): the read's result (err filled on
 * failure); *too_many set when there are more rows than the export's limit,
 * *stopped when a cell was refused (the read stopped). */
struct csv_export;
typedef enum db_result (*programme_csv_rows_fn)(struct request_ctx *ctx, void *arg,
                                                struct csv_export *csv, bool *too_many,
                                                bool *stopped, struct db_error *err);

/* Answers a CSV export: the header row (NULL-terminated names), then
 * rows(ctx, arg, …); 200 text/csv with Content-Disposition attachment
 * "<name>-<today>.csv". Failures answered: too_large(ctx) when the rows
 * exceed their limit or CSV_EXPORT_MAX_BYTES, respond_db_error when the read
 * failed, 500 when a cell was refused or memory ran out. Nothing to free. */
void programme_respond_csv(struct request_ctx *ctx, const char *const *header,
                           programme_csv_rows_fn rows, void *arg,
                           void (*too_large)(struct request_ctx *ctx), const char *name,
                           struct date today);

/* One page of a keyed list (arg: the caller's): list reads up to limit
 * elements after key `after` as a JSON array into *json_out (the caller of
 * list frees it), the last key, whether there are more and the total
 * (err filled on failure); page_of decorates that array for the caller into
 * a new JSON text (freed by programme_respond_list; NULL: it failed). */
typedef enum db_result (*programme_list_fn)(struct request_ctx *ctx, void *arg, const char *after,
                                            size_t limit, char **json_out, char last_key[65],
                                            bool *more, size_t *total, struct db_error *err);
typedef char *(*programme_page_fn)(struct request_ctx *ctx, void *arg, const char *json);

/* Answers a keyed list's page: list, then page_of, then respond_page with
 * the query spec `fields`, the cursor scope `name` and fingerprint fp.
 * Failures answered: respond_db_error when list failed, 500 when page_of
 * returned NULL. Nothing to free. */
void programme_respond_list(struct request_ctx *ctx, const struct query_field *fields,
                            const char *name, uint32_t fp, const char *after, size_t limit,
                            programme_list_fn list, programme_page_fn page_of, void *arg);

#endif
