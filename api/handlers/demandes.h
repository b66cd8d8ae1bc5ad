/* Helpers shared by the handlers of the demandes de subvention (issue #10
 * §3): demandes.c (create, read, update, list) and demandes_transitions.c
 * (transitions, versements) — defined in demandes.c. */
#ifndef PVD_API_HANDLERS_DEMANDES_H
#define PVD_API_HANDLERS_DEMANDES_H

#include <jansson.h>
#include <stdbool.h>

#include "../../db/demande_repository.h"
#include "../../domain/demande.h"
#include "../http.h"
#include "../query_params.h"
#include "fiches_common.h"

#define DEMANDE_404 "Aucune demande de subvention visible n'a cet identifiant."

/* The rule inputs read from a stored representation (demande_representation
 * of 0019). */
struct demande_etat_lu {
    struct demande_echeance_input echeance; /* etat = the stored state */
    int64_t depense, sollicite, accorde;
    bool has_fiche;
    /* the delays each clock runs with: those of the parameters version in
     * force on its start date (member "_delais", demande_delais of 0020),
     * parametres_defaut's when none (issue #10 §1) */
    struct parametres_delais delais;
};
/* false when the document does not parse as a request (a bug). */
bool demande_lire_json(const json_t *doc, struct demande_etat_lu *out);

/* The parameters in force today (parametres_en_vigueur) on a pooled
 * connection. false: answered (503/500). */
bool demande_parametres_or_reply(struct request_ctx *ctx, struct date today,
                                 struct parametres *out);

/* Today (programme_today) into *today, then the parameters in force that
 * day into *out (demande_parametres_or_reply). false: answered (503/500). */
bool demande_today_parametres_or_reply(struct request_ctx *ctx, struct date *today,
                                       struct parametres *out);

/* The state shown: demande_etat_effectif of the stored one on today, with
 * lu->delais. */
enum demande_etat demande_effectif(const struct demande_etat_lu *lu, struct date today,
                                   struct demande_echeance *echeance);

/* Whether the caller finances the request (a financeur whose SIREN is one of
 * access's financeurs): demande_transition_allowed's financeur_du_dossier. */
bool demande_financeur_du_dossier(const struct request_ctx *ctx, const struct fiche_access *access);

/* Loads the request of the path parameter `id` with its access and decides
 * `action`: as fiche_load_or_reply (404 DEMANDE_404, 403, 503/500); no query
 * parameter allowed. true: the caller releases row. */
/* Reads request id into *row (zeroed first; the caller releases it with
 * demande_row_release, on false too). false: answered — 404 DEMANDE_404
 * when there is none, 503/500 when the read failed. No authorization. */
bool demande_get_or_reply(struct request_ctx *ctx, const char *id, struct demande_row *row);

bool demande_load_or_reply(struct request_ctx *ctx, enum action action, struct demande_row *row,
                           struct fiche_access *access);

/* Decides `action` on the loaded request row (its access into *access).
 * true: allowed; false: answered — 404 DEMANDE_404 on HIDE, 403 on FORBID,
 * 500 when its access does not parse. */
bool demande_decide_or_reply(struct request_ctx *ctx, enum action action,
                             const struct demande_row *row, struct fiche_access *access);

/* demande_send with the access read from row (500 when it does not parse). */
void demande_send_row(struct request_ctx *ctx, int status, const struct demande_row *row,
                      struct date today);

/* The organisations the body's demandeur_id and financeur_id name exist
 * ("organisation-inconnue" at their pointer), its poste_id names a poste
 * de chef de projet ("poste-inconnu" at /poste_id), and its siret_demandeur
 * and siret_financeur (when given) pass Luhn (R42 "siret-invalide") and
 * start with the SIREN of that organisation ("siret-incoherent"), appended
 * to v. body: the request as it would be stored (a PATCH passes the merged
 * document). false: answered (503/500: a lookup failed). */
bool demande_organisations_or_reply(struct request_ctx *ctx, const json_t *body,
                                    struct rule_report *v);

/* The territoire of a new request into id_pvd: its fiche's (fiche_id given;
 * "fiche-inconnue" when there is none, "territoire-incoherent" when
 * id_pvd_given names another), else id_pvd_given for the chef de projet post
 * (chef_de_projet), else "fiche-manquante" — appended to v (id_pvd "" then);
 * then 422 with v's violations when there are any, then the caller's right
 * to `action` on that territoire (programme_territoire_or_reply). true: v has
 * no violation and the caller may act. false: answered (422, 404, 403,
 * 503/500). */
bool demande_territoire_or_reply(struct request_ctx *ctx, enum action action, const char *fiche_id,
                                 const char *id_pvd_given, bool chef_de_projet, char id_pvd[17],
                                 struct rule_report *v);

/* Strong ETag of a request as shown on `today`: its stored representation
 * and its effective state (the ETag changes the day the state does). */
void demande_etag(const struct demande_row *row, enum demande_etat effectif, char out[24]);

/* Sends row decorated for the caller: `etat` the effective state,
 * `echeance` ({vers, dernier_jour} or null), `transitions_possibles`,
 * `avertissements` (warnings; NULL: []). A GET honours If-None-Match. */
void demande_send(struct request_ctx *ctx, int status, const struct demande_row *row,
                  struct fiche_access *access, struct date today,
                  const struct rule_report *warnings);

/* Runs unit(work) as one journaled mutation and answers its failure as
 * fiche_mutate_or_reply does (404 DEMANDE_404, 412, 422 with violations,
 * 409 `conflict` when given). true: committed, nothing sent. */
bool demande_mutate_or_reply(struct request_ctx *ctx, const char *id, db_mutation_fn unit,
                             void *work, const struct rule_report *violations,
                             const struct fiche_conflict *conflict);

/* The dates of the request merged from its stored document `stored` and a
 * body's members of the same names (a date given in the body wins; null
 * clears). */
void demande_dates_fusion(const json_t *stored, const json_t *body, struct demande_dates *out);

/* Locks request id at revision (demande_lock; -1: any) and parses it. DB_OK:
 * the caller releases *avant (or hands it to demande_write) and
 * json_decref()s *stored; otherwise nothing is held (DB_FAILED: the stored
 * document does not parse). */
enum db_result demande_lock_lire(struct db_tx *tx, const char *id, long revision,
                                 struct demande_row *avant, json_t **stored,
                                 struct demande_etat_lu *lu, struct db_error *err);

/* R18 (one non-terminal request per poste and year) for merged, a request
 * document as it would be stored (its dispositif, poste_id,
 * annee_programmation), in tx under the territoire lock already taken:
 * the other requests of its poste and year (exclude_id left out; NULL: a
 * creation), read under demande_autres_du_poste's lock, none in a
 * non-terminal effective state; else "demande-annee-deja-en-cours" (R18) at
 * /annee_programmation appended to v and DB_CONFLICT. Other dispositifs, or
 * no poste: DB_OK. */
enum db_result demande_r18_check(struct db_tx *tx, const json_t *merged, const char *exclude_id,
                                 struct date today, struct rule_report *v, struct db_error *err);

/* Adds etat (the effective state), echeance, transitions_possibles (for
 * ctx's caller) and avertissements (warnings, may be NULL) to obj, a stored
 * representation, dropping its "_delais"; the effective state into *shown.
 * false when obj is no request (demandes.c; the list, demandes_liste.c). */
bool demande_decorate(json_t *obj, const struct request_ctx *ctx, struct fiche_access *access,
                      struct date today, const struct rule_report *warnings,
                      enum demande_etat *shown);

/* The periodic sweep of the date-driven states (R30, R34, R35): every
 * request whose effective state on `today` (demande_etat_effectif, the
 * parameters in force today) differs from its stored one gets it stored,
 * one transaction per request under the territoire lock, revision + 1,
 * journaled as "demande_subvention.transition" by the actor
 * "systeme:echeances". The candidates are read with the SQL mirror of the
 * rule; the C rule decides on the locked row (a request changed meanwhile is
 * left alone). At most 500 per call (the next call takes the rest).
 * *moved (may be NULL): how many were moved. DB_OK, or the first failure
 * (err filled; those moved before it stay moved). Called by the server's
 * timer and `pvd-api echeances` (api/main.c). Thread-safe. */
enum db_result demandes_echeances_appliquer(struct db_pool *pool, struct date today, size_t *moved,
                                            struct db_error *err);

#endif
