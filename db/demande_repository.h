/* Storage of the demandes de subvention and their versements (issue #10 §3,
 * domain.md §1.12, tables of migration 0019) and the reading of the inputs
 * of the demande rules (domain/demande.h) inside the writing transaction.
 *
 * Bodies are validated JSON documents (text) with the wire members of the
 * representation (api/handlers/demandes.c checked their types, lengths,
 * dates and amounts; the CHECKs of 0019 only keep impossible rows out: a
 * violation is DB_FAILED, a bug of the caller's validation).
 *
 * Every mutating function takes a struct db_tx, takes the territoire lock
 * first (db/territoire_lock.h: the territoire row, then the demande row FOR
 * UPDATE) and writes exactly one journal row (ressource_type
 * "demande_subvention", action "demande_subvention.<verb>", avant/apres the
 * stored representation, scope the territoire's). On any result other than
 * DB_OK the caller lets the transaction roll back (db_run_mutation does). */
#ifndef PVD_DB_DEMANDE_REPOSITORY_H
#define PVD_DB_DEMANDE_REPOSITORY_H

#include <stdbool.h>
#include <stddef.h>

#include "../domain/authz.h"
#include "../domain/date.h"
#include "../domain/demande.h"
#include "../domain/parametres.h"
#include "list_sync.h"
#include "mutation.h"
#include "pool.h"
#include "result.h"

/* One request: id, territoire, revision (the ETag's source) and its stored
 * representation (demande_representation of 0019: `etat_enregistre`, the
 * versements included; no effective state). */
struct demande_row {
    char id[37];
    char id_pvd[17];
    long revision;
    char *json;  /* owned; free with demande_row_release (safe on a zeroed row);
                  * demande_representation with member "_delais": demande_delais
                  * of 0020, the delays of each clock (null: parametres_defaut);
                  * the journal leaves "_" members out (db/mutation.h) */
    char *acces; /* owned: demande_acces of 0019, {"departements", "regions",
                  * "sirens", "financeurs"}, the codes of its authz target */
};
void demande_row_release(struct demande_row *row);

/* parametres_defaut's five clock delays (rejet_implicite_mois,
 * caducite_annees, caducite_prolongation_annees, forclusion_annees,
 * forclusion_prolongation_annees) as decimal text: the last five arguments
 * of the SQL demande_etat_effectif (migration 0020), the delays of a clock
 * with no parameters version in force on its start date. */
void demande_delais_defaut_text(char d[5][12]);

/* Reads one request. DB_NOT_FOUND when absent or id is not a UUID. */
enum db_result demande_get(struct db_conn *conn, const char *id, struct demande_row *out,
                           struct db_error *err);

/* The inputs of R37 (domain/demande.h demande_r37_check) for the demandeur
 * organisation demandeur_id: its nature (an unknown one reads as autre),
 * its population (a commune's from the referential; an EPCI's
 * population_municipale — the referential holds no DGF population —), the
 * largest member commune's population of an EPCI; no potentiel financier,
 * area nor contract with the State (the referential has none). DB_NOT_FOUND:
 * no such organisation. */
enum db_result demande_r37_lire(struct db_conn *conn, const char *demandeur_id,
                                struct demande_r37_input *out, struct db_error *err);

/* Whether the poste de chef de projet poste_id exists (*exists; a
 * malformed id: false). */
enum db_result demande_poste_existe(struct db_conn *conn, const char *poste_id, bool *exists,
                                    struct db_error *err);

/* R18's input: the stored representations (a JSON array text, owned,
 * free()) of the other requests of poste poste_id for programming year
 * annee (decimal text), request exclude_id left out (NULL: none). Takes
 * first a transaction-scoped advisory lock on (poste, year), so that two
 * writes of requests of the same poste and year are serialized whatever
 * their territoires (every demande write takes its territoire lock before
 * it: one order). */
enum db_result demande_autres_du_poste(struct db_tx *tx, const char *poste_id, const char *annee,
                                       const char *exclude_id, char **json_out,
                                       struct db_error *err);

/* The territoire a new request belongs to: its fiche's (fiche_id given and
 * existing), else *id_pvd untouched. DB_NOT_FOUND: no such fiche. */
enum db_result demande_fiche_territoire(struct db_conn *conn, const char *fiche_id, char id_pvd[17],
                                        struct db_error *err);

/* Creates a request of territoire id_pvd in state `etat` (a wire name;
 * NULL: brouillon), revision 1,
 * cree_par the tx's acteur. Required members of body: dispositif,
 * demandeur_id, annee_programmation, intitule,
 * depense_subventionnable_ht_centimes, montant_sollicite_centimes; fiche_id
 * (unless chef_de_projet_pvd); every member demande_update writes is
 * accepted too. Journal "demande_subvention.creer". DB_NOT_FOUND: no such
 * territoire; DB_CONFLICT: an organisation or the fiche does not exist, or
 * ds_dossier_number is another request's. */
enum db_result demande_create(struct db_tx *tx, const char *id_pvd, const char *body_json,
                              const char *etat, struct demande_row *out, struct db_error *err);

/* The request whose Démarches simplifiées dossier number is numero
 * (decimal text) into id. DB_NOT_FOUND: none (or numero is not 1–12
 * digits). */
enum db_result demande_id_par_ds(struct db_conn *conn, const char *numero, char id[37],
                                 struct db_error *err);

/* Whether modifie_le (an RFC 3339 timestamp, validated by the caller) is
 * after the stored ds_modifie_le of request id (none stored: true), read in
 * tx (the row locked by demande_lock). */
enum db_result demande_ds_plus_recente(struct db_tx *tx, const char *id, const char *modifie_le,
                                       bool *newer, struct db_error *err);

/* Locks request id (territoire lock, then its row) and reads it into
 * *avant. expected_revision ≥ 0 and different: DB_STALE. DB_NOT_FOUND: no
 * such request. On DB_OK the caller releases *avant. */
enum db_result demande_lock(struct db_tx *tx, const char *id, long expected_revision,
                            struct demande_row *avant, struct db_error *err);

/* Writes the members present in body (null clears an optional one; absent
 * keep theirs): demandeur_id, financeur_id, poste_id, annee_programmation,
 * intitule, depense_subventionnable_ht_centimes, montant_sollicite_centimes,
 * the seven dates, montant_accorde_centimes, taux_accorde,
 * decision.mentions.<five>, motif_refus, avis_commission_elus,
 * garantie_bancaire, prorogation.{mois, reference},
 * prolongation_caducite_reference, prolongation_forclusion_reference,
 * ds_dossier_number, ds_procedure_id, ds_modifie_le, aides_territoires_aide_id; and etat
 * when etat is not NULL (a wire name of enum demande_etat). The row must be
 * locked by demande_lock in tx (avant: its representation then, consumed:
 * released here). revision + 1, journal `action` ("demande_subvention.
 * modifier", ".transition"…) under tx's actor. DB_CONFLICT as
 * demande_create. */
enum db_result demande_write(struct db_tx *tx, struct demande_row *avant, const char *body_json,
                             const char *etat, const char *action, struct demande_row *out,
                             struct db_error *err);

/* Appends one versement {type, date, montant_centimes} (body) to the locked
 * request (avant, released here), and when achevement, writes the body's
 * date_achevement_declaree to the request; revision + 1, journal
 * "demande_subvention.versement". */
enum db_result demande_versement_ajouter(struct db_tx *tx, struct demande_row *avant,
                                         const char *body_json, bool achevement,
                                         struct demande_row *out, struct db_error *err);

/* List filters. role and perimeter: the caller's read perimeter
 * (demandes_visibles of 0029; role a wire name of role_reads_as(caller),
 * NULL or unknown: nothing). Other NULL members do not filter; etat filters
 * on the EFFECTIVE state on `today` (demande_etat_effectif of 0020: each
 * clock with the delays in force on its start date). */
struct demande_filtre {
    const char *role;
    const struct perimeter *perimeter;
    const char *dispositif;
    const char *etat;
    const char *id_pvd;
    const char *departement;
    const char *annee; /* decimal text */
    const char *fiche_id;
    struct date today;
    struct list_sync sync; /* modifie_depuis and the order (list_sync.h) */
};

/* One keyset page in f->sync's order after the key `after` (NULL: first), at
 * most limit: a JSON
 * array text of stored representations (owned, free()), each with one more
 * member "_acces" {"departements", "regions", "sirens", "financeurs"} (the
 * target's codes, removed by the caller before sending); last_key, *more,
 * *total as fiche_list. */
enum db_result demande_list(struct db_pool *pool, const struct demande_filtre *f, const char *after,
                            size_t limit, char **json_out, char last_key[65], bool *more,
                            size_t *total, struct db_error *err);

#endif
