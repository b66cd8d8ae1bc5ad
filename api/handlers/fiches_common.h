/* Helpers shared by the handlers of fiches action (issue #9): fiches.c
 * (create, read, update, list, CSV), fiches_transitions.c,
 * fiches_financement.c (plan de financement, échéancier) — defined in
 * fiches_common.c. Loading a fiche with its authorization target, the write
 * prologue and the mutation epilogue, rendering it for the caller, the shape
 * of financing lines and échéancier years, and the rules a stored fiche must
 * keep after every write (checked inside the writing transaction). */
#ifndef PVD_API_HANDLERS_FICHES_COMMON_H
#define PVD_API_HANDLERS_FICHES_COMMON_H

#include <jansson.h>
#include <stdbool.h>

#include "../../db/fiche_repository.h"
#include "../../db/mutation.h"
#include "../../db/territoire_scope.h"
#include "../../domain/authz.h"
#include "../../domain/fiche.h"
#include "../http.h"
#include "../problem.h"
#include "../query_params.h"

#define FICHE_404 "Aucune fiche action visible n'a cet identifiant."

/* Most financing lines of one fiche (a body holding more is refused, 400). */
#define FICHE_LIGNES_MAX 100
/* Most years of one échéancier. */
#define FICHE_ANNEES_MAX        30
#define FICHE_FINANCEURS_SIRENS 32

/* The thématiques (fiche_thematiques, FICHE_THEMATIQUE_COUNT) and natures de
 * dépense of §1.9 are named in domain/fiche.h. */

/* Who a fiche concerns, for authz_decide (domain/authz.h, FICHE_*): its
 * territoire's scope (départements, régions, id_pvd, the SIRENs of its
 * communes and EPCIs) plus the maître d'ouvrage's SIREN in `sirens`, and the
 * SIRENs of the financeurs of its lines in `financeur_sirens`. Value type;
 * fiche_access_target points into it (call it on the copy you keep). */
struct fiche_access {
    struct territoire_scope scope;
    char financeur_sirens[FICHE_FINANCEURS_SIRENS][10];
    size_t financeur_siren_count;
    const char *financeur_ptrs[FICHE_FINANCEURS_SIRENS + 1];
};

/* The authz target of the fiche (pointers into a; valid while a is). */
struct authz_target fiche_access_target(struct fiche_access *a);

/* The caller's decision on `action` for access's target (FORBID without a
 * habilitation). Also serves the demandes de subvention. */
enum authz_decision fiche_access_decide(const struct request_ctx *ctx, enum action action,
                                        struct fiche_access *access);

/* fiche_access_decide answered: true on ALLOW; false: sent 404
 * ressource-introuvable with detail what_404 on HIDE, 403 interdit with
 * detail what_403 on FORBID. Nothing to release. */
bool fiche_access_decide_or_reply(struct request_ctx *ctx, enum action action,
                                  struct fiche_access *access, const char *what_404,
                                  const char *what_403);

/* Reads the access of fiche `id` (db: territoire scope, maître d'ouvrage
 * and financeurs' SIRENs) with conn. DB_NOT_FOUND: no such fiche. */
enum db_result fiche_access_load(struct db_conn *conn, const char *id, struct fiche_access *out,
                                 struct db_error *err);
/* Same on a pooled connection acquired and released here. */
enum db_result fiche_access_load_pooled(struct db_pool *pool, const char *id,
                                        struct fiche_access *out, struct db_error *err);

/* The access an element of a list carries: obj's "id_pvd" and its member
 * "_acces" {"departements", "regions", "sirens", "financeurs"} (arrays of
 * codes; longer ones and extra items are dropped) into *a. Also serves the
 * demandes de subvention (demande_acces of migration 0019). */
void fiche_access_of_json(const json_t *obj, struct fiche_access *a);

/* Loads the fiche of the path parameter `id` into *row and its access into
 * *access, and decides `action` for the caller. A query parameter not
 * declared by `query` (NULL: none allowed) is a 400 (query_params.h); the
 * values of query's parameters are the caller's to read. true: allowed (the
 * caller releases row). false: an answer was sent — 404 when `id` is not a
 * UUID, the fiche does not exist or the decision is HIDE; 403 on FORBID;
 * 503/500 on a database failure — and row holds nothing. */
bool fiche_load_or_reply(struct request_ctx *ctx, enum action action,
                         const struct query_field *query, struct fiche_row *row,
                         struct fiche_access *access);

/* The common start of a write on one fiche: fiche_load_or_reply for
 * `action` (no query parameter allowed), the fiche's ETag into etag (for the
 * caller's If-Match, checked after the body's validation) and the JSON body
 * (one object) into *body. true: the caller releases *row and
 * json_decref()s *body. false: an answer was sent and nothing is held. */
bool fiche_write_begin_or_reply(struct request_ctx *ctx, enum action action, struct fiche_row *row,
                                struct fiche_access *access, char etag[24], json_t **body);

/* Strong ETag of a fiche: its stored representation (caller-independent:
 * transitions_possibles is not part of it). */
void fiche_etag(const struct fiche_row *row, char out[24]);

/* Adds to obj (a fiche representation) what depends on the caller:
 * `transitions_possibles` (the states fiche_transitions_possibles gives for
 * the caller's role, empty when FICHE_TRANSITION is not ALLOWed on access)
 * and `avertissements` (warnings, may be NULL: []). */
void fiche_decorate(json_t *obj, const struct request_ctx *ctx, struct fiche_access *access,
                    const struct rule_report *warnings);

/* Sends row's representation decorated for the caller, with its ETag (a
 * GET honours If-None-Match: 304). */
void fiche_send(struct request_ctx *ctx, int status, const struct fiche_row *row,
                struct fiche_access *access, const struct rule_report *warnings);

/* Runs unit(work) as one journaled mutation (db_run_mutation: the caller
 * as actor, its Idempotency-Key claim). true: committed, nothing sent (the
 * caller answers). false: answered — 422 regle-non-respectee when the unit
 * returned DB_CONFLICT with items in *violations (rules checked inside the
 * transaction; violations may be NULL); else respond_db_outcome: 404
 * FICHE_404 on DB_NOT_FOUND, 412 with fiche id's current ETag on DB_STALE
 * (id NULL: none sent), 409 `conflict` (NULL: a 500, not expected) on
 * DB_CONFLICT without violations. */
struct fiche_conflict {
    const char *pointer, *code, *detail;
};
bool fiche_mutate_or_reply(struct request_ctx *ctx, const char *id, db_mutation_fn unit, void *work,
                           const struct rule_report *violations,
                           const struct fiche_conflict *conflict);

/* fiche_mutate_or_reply for an object of any kind (also the demandes de
 * subvention): 404 with detail what_404 on DB_NOT_FOUND, 412 with detail
 * stale and the ETag etag_of(ctx, id, out) writes on DB_STALE; the rest
 * as above. true: committed, nothing sent. */
bool programme_object_mutate_or_reply(struct request_ctx *ctx, const char *id, db_mutation_fn unit,
                                      void *work, const struct rule_report *violations,
                                      const struct fiche_conflict *conflict, const char *what_404,
                                      const char *stale,
                                      void (*etag_of)(struct request_ctx *ctx, const char *id,
                                                      char out[24]));

/* ---- Shapes of the financing members (400 errors) ----------------------- */

/* Checks one financing line object at `pointer` (e.g. "/plan_financement/2"
 * or "" for a line posted alone): members financeur_id (UUID, required),
 * dispositif (financement_dispositif_parse, required), nature_financeur
 * ("public" | "prive", required), montant_centimes (integer
 * 0..FINANCEMENT_MONTANT_MAX, required), assiette_ht_centimes (integer
 * 1..FINANCEMENT_MONTANT_MAX or null, optional), statut
 * (financement_statut_parse, optional: "envisage"); `id` is accepted and
 * ignored (a line read back and sent again). Any other member: champ-inconnu.
 * Appends to errs; returns true when nothing was appended. */
bool fiche_ligne_shape_check(const json_t *ligne, const char *pointer, struct field_errors *errs);

/* The same for an array of lines at `pointer` ("/plan_financement" or ""):
 * an array of at most FICHE_LIGNES_MAX objects, each checked at
 * pointer/<i>. */
bool fiche_lignes_shape_check(const json_t *lignes, const char *pointer, struct field_errors *errs);

/* An échéancier at `pointer` ("/echeancier" or ""): an array of at most
 * FICHE_ANNEES_MAX objects {annee: integer 2000..2100, montant_centimes:
 * integer 0..FINANCEMENT_MONTANT_MAX}, both required, nothing else. A year
 * given twice is R27's (fiche_echeancier_annees_check), not a shape error. */
bool fiche_echeancier_shape_check(const json_t *echeancier, const char *pointer,
                                  struct field_errors *errs);

/* R27 on a shape-checked échéancier before it is written (the table's key
 * would refuse it): a year given twice is "echeancier-annee-repetee" (R27)
 * at <pointer>/<i>/annee, appended to violations. true when none. */
bool fiche_echeancier_annees_check(const json_t *echeancier, const char *pointer,
                                   struct rule_report *violations);

/* The financeur_id of each line of `lignes` (an array of shape-checked
 * lines) names an organisation: appends "organisation-inconnue" (regle "")
 * at <pointer>/<i>/financeur_id to violations for the others. false: an
 * answer was sent (503/500: the lookup failed) — true otherwise. */
bool fiche_financeurs_exist_or_reply(struct request_ctx *ctx, const json_t *lignes,
                                     const char *pointer, struct rule_report *violations);

/* ---- Rules a stored fiche keeps (inside the writing transaction) -------- */

/* After a write to fiche id in tx (under its territoire's lock, which every
 * fiche write takes), reads its rule inputs (fiche_regles_lire: the lines,
 * the échéancier and the costs as this transaction wrote them) and appends
 * to violations what the rules of a stored fiche say:
 * - costs (cout-negatif, cout-ttc-inferieur-ht) and R25 (planned dates,
 *   both required once the fiche is programmee or later);
 * - R29 (L1111-10 CGCT, the maître d'ouvrage's nature, code and the fiche's
 *   derogation) and R33 (State dotations) on its lines;
 * - R27 shape (a year twice, amounts) always; R24 and R27's balance while the
 *   fiche is programmee, en_cours or suspendue (its plan stays balanced
 *   after it was programmed). realisee and abandonnee fiches are not written
 *   (the handlers refuse first).
 * Returns DB_CONFLICT when it appended anything (the unit returns it: the
 * transaction rolls back and fiche_mutate_or_reply answers 422), DB_OK when
 * the rules hold, or the read's failure. */
enum db_result fiche_regles_apres_ecriture(struct db_tx *tx, const char *id, struct date today,
                                           struct rule_report *violations, struct db_error *err);

#endif
