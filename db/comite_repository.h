/* Storage of the comité de projet (domain.md §1.13): comités with their
 * membres, séances, décisions, and what R40 needs to be checked (the
 * territoire's communes and EPCIs, its active adhésion's signataires). Reads
 * and locks of single objects, children lists and journal rows are those of
 * projet_repository.h (PROJET_COMITE, PROJET_SEANCE, PROJET_DECISION). */
#ifndef PVD_DB_COMITE_REPOSITORY_H
#define PVD_DB_COMITE_REPOSITORY_H

#include <stdbool.h>
#include <stddef.h>

#include "../domain/convention.h"
#include "projet_repository.h"

/* Comité body members: id_pvd (insert only), presidence,
 * instance_preexistante (boolean, may be absent: false), membres (array of
 * {qualite, organisation_id?, nom, fonction?}, replaced whole on update).
 * DB_CONFLICT when the territoire already has a comité (insert). */
enum db_result comite_insert(struct db_tx *tx, const char *body_json, struct projet_row *out,
                             struct db_error *err);
enum db_result comite_update(struct db_tx *tx, const char *id, const char *body_json,
                             struct projet_row *out, struct db_error *err);

/* Séance body members: date, ordre_du_jour, compte_rendu (strings or null). */
enum db_result seance_insert(struct db_tx *tx, const char *comite_id, const char *body_json,
                             struct projet_row *out, struct db_error *err);
enum db_result seance_update(struct db_tx *tx, const char *id, const char *body_json,
                             struct projet_row *out, struct db_error *err);

/* Décision body members: type, objet, convention_id (UUID or null). A
 * valide_plan décision freezes its territoire's plan d'action in tx
 * (plan_action_freeze: a new version, journaled "plan_action.valider"), so
 * that the décision and its version commit or roll back together. */
enum db_result decision_insert(struct db_tx *tx, const char *seance_id, const char *body_json,
                               struct projet_row *out, struct db_error *err);

#define COMITE_EXIGENCES_MAX 64

/* What R40 requires of a territoire's comité, read in one go: its communes'
 * SIRENs (from the referential), its EPCIs' SIRENs, and the signataires of
 * its adhésion that is not abandonnee (none when there is none). Value type;
 * the pointer arrays point into the struct itself. Lists longer than
 * COMITE_EXIGENCES_MAX are truncated (no territoire comes near). */
struct comite_besoins {
    char communes[COMITE_EXIGENCES_MAX][10];
    size_t commune_count;
    char epcis[COMITE_EXIGENCES_MAX][10];
    size_t epci_count;
    struct signataire signataires[COMITE_EXIGENCES_MAX];
    size_t signataire_count;
    const char *commune_ptrs[COMITE_EXIGENCES_MAX];
    const char *epci_ptrs[COMITE_EXIGENCES_MAX];
};

#define COMITE_MEMBRES_MAX 100

/* R40 (comite_r40_check) of the comité body body_json (validated: membres
 * with a known qualite and, when given, an existing organisation's UUID; at
 * most COMITE_MEMBRES_MAX) on territoire id_pvd, with what R40 requires read
 * in tx: call it under the territoire lock (territoire_lock.h), which the
 * adhésion's writes also take. Violations are appended; DB_OK or the
 * failure. */
enum db_result comite_r40_in_tx(struct db_tx *tx, const char *id_pvd, const char *body_json,
                                struct rule_report *violations, struct db_error *err);

/* The territoire of convention id: DB_NOT_FOUND when there is none (or id is
 * not a UUID). */
enum db_result convention_territoire(struct db_pool *pool, const char *id, char id_pvd[17],
                                     struct db_error *err);

/* One row of the comités list with the territorial attributes of its
 * territoire (territoire_portee), for the caller's perimeter filter. */
struct comite_list_row {
    char key[65];    /* its cursor key (list_sync.h) */
    char id_pvd[17]; /* its territoire */
    char *json;      /* owned by the list */
    char departements[8][4];
    size_t departement_count;
    char regions[8][4];
    size_t region_count;
    char sirens[64][10];
    size_t siren_count;
};
struct comite_list {
    struct comite_list_row *rows;
    size_t count;
};
void comite_list_release(struct comite_list *list);

/* Up to `batch` comités in sync's order (by id_pvd, or by modification;
 * list_sync.h) after the key `after` (NULL: from the start), only those
 * changed since sync->modifie_depuis, only territoire id_pvd's when id_pvd
 * is not NULL. */
enum db_result comite_list_batch(struct db_pool *pool, const char *id_pvd,
                                 const struct list_sync *sync, const char *after, size_t batch,
                                 struct comite_list *out, struct db_error *err);

#endif
