/* Storage of the plan d'action's fiches action, their plan de financement and
 * their échéancier (domain.md §1.8–§1.11, tables of migration 0012), and the
 * reading of every input of the fiche rules (domain/fiche.h,
 * domain/financement.h) inside the writing transaction.
 *
 * Bodies are validated JSON documents (text): the handler checked types,
 * enums, lengths, dates and amounts (cents, 0..FINANCEMENT_MONTANT_MAX); the
 * CHECKs of 0012 only keep impossible rows out (a violation is DB_FAILED, a
 * bug of the caller's validation).
 *
 * Every mutating function takes a struct db_tx, takes the territoire lock
 * first (db/territoire_lock.h: the territoire row, then the fiche row FOR
 * UPDATE), and writes exactly one journal row (ressource_type "fiche_action",
 * action "fiche_action.<verb>", avant/apres the fiche's representation,
 * scope the territoire's: db/territoire_scope.h). On any result other than
 * DB_OK the caller must let the transaction roll back (db_run_mutation does). */
#ifndef PVD_DB_FICHE_REPOSITORY_H
#define PVD_DB_FICHE_REPOSITORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../domain/fiche.h"
#include "../domain/financement.h"
#include "list_sync.h"
#include "mutation.h"
#include "pool.h"
#include "result.h"

struct territoire_scope;

/* One fiche: its id, territoire, revision (the ETag's source) and its
 * representation (fiche_representation of 0012: the plan_financement lines
 * and the échéancier included). */
struct fiche_row {
    char id[37];
    char id_pvd[17];
    long revision;
    char *json; /* owned; free with fiche_row_release (safe on a zeroed row) */
};
void fiche_row_release(struct fiche_row *row);

/* Reads one fiche. DB_NOT_FOUND when absent or id is not a UUID. */
enum db_result fiche_get(struct db_conn *conn, const char *id, struct fiche_row *out,
                         struct db_error *err);
/* Same on a pooled connection acquired and released here. */
enum db_result fiche_get_pooled(struct db_pool *pool, const char *id, struct fiche_row *out,
                                struct db_error *err);

/* List filters. role and perimeter are the caller's read perimeter: only
 * the fiches of fiches_visibles (migration 0014: the rule of authz_decide for
 * ACTION_FICHE_READ) are listed; role is a wire name as
 * role_name(role_reads_as(caller)) gives it (NULL or an unknown name: no
 * fiche), perimeter NULL an empty one. Other NULL members (public_: -1) do
 * not filter. departement and region match the territoire's code_departement
 * / code_region or those of one of its communes (as territoire_scope reads
 * them); axe_id and maitre_ouvrage_id must be UUIDs when given (else nothing
 * matches); thematique: one of the fiche's thematiques; etat and
 * nature_depense: wire names (an unknown one matches nothing). */
struct fiche_filtre {
    const char *role;
    const struct perimeter *perimeter;
    const char *id_pvd;
    const char *departement;
    const char *region;
    const char *axe_id;
    const char *etat; /* a wire name of enum fiche_etat */
    const char *thematique;
    const char *maitre_ouvrage_id;
    const char *nature_depense;
    int public_;           /* -1: any, 0: not public, 1: public */
    struct list_sync sync; /* modifie_depuis and the order (list_sync.h) */
};

/* One keyset page of fiches in filtre->sync's order (by id, or by
 * modification), after `after` (the last key, list_sync.h; NULL: first
 * page), at most limit. *json_out: JSON array text of representations
 * (owned, free()), each with one more member "_acces" that is not part of the
 * representation (the caller removes it before sending): {"departements",
 * "regions", "sirens", "financeurs"}, arrays of the codes fiche_access_load
 * reads (the territoire's départements and régions, the SIRENs of its
 * communes, EPCIs and maître d'ouvrage, those of its financeurs), so that
 * the caller decides other actions per element without a query each;
 * last_key: id of its last element ("" when empty); *more: whether more
 * follow; *total: count of all pages with the same filters (one WHERE for
 * both, two statements on one connection). */
enum db_result fiche_list(struct db_pool *pool, const struct fiche_filtre *filtre,
                          const char *after, size_t limit, char **json_out, char last_key[65],
                          bool *more, size_t *total, struct db_error *err);

/* One row of the CSV export of the fiches (GET /fiches-action.csv). Strings
 * are borrowed for the callback's call only; "" when the value is absent
 * (dates, siren, commune name). thematiques: the fiche's, joined by ", ";
 * axe: "<numero>. <intitulé>"; finance_centimes: Σ montant of the lines
 * whose statut counts (financement_statut_compte: sollicité, accordé, versé
 * partiel, soldé). */
struct fiche_export_ligne {
    const char *id, *id_pvd, *numero, *intitule, *axe, *etat, *maturite, *thematiques;
    const char *maitre_ouvrage_nom, *maitre_ouvrage_siren, *commune_insee, *commune_nom;
    const char *nature_depense;
    int64_t cout_total_ht_centimes;
    bool has_cout_total_ttc;
    int64_t cout_total_ttc_centimes;
    const char *date_debut_prevue, *date_fin_prevue, *date_commencement, *date_achevement;
    int64_t finance_centimes;
    bool public_;
};
/* Called once per exported fiche, in the order of the list (filtre->sync); false
 * stops the export (fiche_export then returns DB_OK with *stopped true). */
typedef bool (*fiche_export_fn)(const struct fiche_export_ligne *ligne, void *ctx);

/* Every fiche the filter admits (fiche_list's WHERE, no page), at most
 * max_rows: *too_many is set, and fn never called, when more match (one
 * statement reading max_rows + 1 rows). Otherwise fn is called for each row.
 * DB_OK, or the query's failure; DB_FAILED when a stored value does not
 * parse. */
enum db_result fiche_export(struct db_pool *pool, const struct fiche_filtre *filtre,
                            size_t max_rows, fiche_export_fn fn, void *ctx, bool *too_many,
                            bool *stopped, struct db_error *err);

/* Creates a fiche in territoire id_pvd's plan d'action (the plan row is
 * created on first use), in state brouillon, revision 1, with cree_par the
 * tx's acteur. Body members: numero, intitule, axe_id, description,
 * objectifs, maitre_ouvrage_id, nature_depense, cout_total_ht_centimes,
 * localisation_commune_insee (required); partenaires (UUID array),
 * thematiques (string array), intercommunale, dans_secteur_ort_id,
 * cout_total_ttc_centimes, depense_subventionnable_ht_centimes, base_financement ("ht"/"ttc"),
 * date_debut_prevue, date_fin_prevue, priorite, lien_crte, crte_id,
 * date_examen_comite, comite_seance_id, avant_convention_cadre, public,
 * pieces_jointes, derogation_l1111_10 ({type, reference}), indicateurs (UUID
 * array), plan_financement (array of lines, see fiche_replace_financements),
 * echeancier (array of {annee, montant_centimes}) (optional). Money members
 * end in _centimes (api.md). Journal
 * "fiche_action.creer". DB_NOT_FOUND: no such territoire; DB_CONFLICT: the
 * numero is used in the plan, the axe is not one of the territoire's (R21),
 * or the maître d'ouvrage, a financeur, the séance, an indicateur or the
 * secteur does not exist (foreign keys). The partenaires array is not
 * checked by the database (the handler checks it, as axes' partenaires with
 * organisations_sirens). */
enum db_result fiche_create(struct db_tx *tx, const char *id_pvd, const char *body_json,
                            struct fiche_row *out, struct db_error *err);

/* Changes the fiche when its revision is expected_revision: every member of
 * fiche_create's list present in the body replaces the stored value (null
 * clears an optional one), absent members keep theirs; etat, motif,
 * date_commencement and date_achevement are not written here (transitions:
 * fiche_write_transition). indicateurs, plan_financement, echeancier, when
 * present, replace the whole list. revision + 1, journal "fiche_action.modifier".
 * DB_NOT_FOUND: no such fiche; DB_STALE: another revision (nothing
 * written); DB_CONFLICT as fiche_create. */
enum db_result fiche_update(struct db_tx *tx, const char *id, long expected_revision,
                            const char *body_json, struct fiche_row *out, struct db_error *err);

/* Replaces the whole plan de financement of the fiche (revision checked as
 * fiche_update) by lignes_json, a JSON array of lines {financeur_id,
 * dispositif, nature_financeur, montant_centimes, assiette_ht_centimes (or
 * absent/null), statut
 * (absent: "envisage"), id (optional)}, stored in array order (an empty
 * array, or anything but an array, leaves no line: the handler validates it
 * first). A line whose `id` names one of the fiche's current lines keeps that
 * id (a line read back and sent again: its first mention only); every other
 * line gets a new id (an `id` that is not such a UUID is ignored). The same
 * holds for plan_financement in fiche_update; fiche_create and
 * fiche_add_financement always give new ids.
 * revision + 1, journal
 * "fiche_action.plan_financement". DB_CONFLICT: an unknown financeur. */
enum db_result fiche_replace_financements(struct db_tx *tx, const char *id, long expected_revision,
                                          const char *lignes_json, struct fiche_row *out,
                                          struct db_error *err);

/* Appends one line (an object as in fiche_replace_financements) after the
 * fiche's last one. Revision, journal "fiche_action.ajouter_financement" and
 * results as fiche_replace_financements. */
enum db_result fiche_add_financement(struct db_tx *tx, const char *id, long expected_revision,
                                     const char *ligne_json, struct fiche_row *out,
                                     struct db_error *err);

/* Replaces the whole échéancier by echeancier_json, a JSON array of {annee,
 * montant_centimes}. A year given twice is DB_CONFLICT (the handler reports it first
 * with financement_r27_check). Revision, journal "fiche_action.echeancier". */
enum db_result fiche_replace_echeancier(struct db_tx *tx, const char *id, long expected_revision,
                                        const char *echeancier_json, struct fiche_row *out,
                                        struct db_error *err);

/* The fiche's lines (JSON array in order, as in the representation) and its
 * échéancier (JSON array by year), owned, free(). DB_NOT_FOUND: no such fiche. */
enum db_result fiche_financements_list(struct db_conn *conn, const char *id, char **json_out,
                                       struct db_error *err);
enum db_result fiche_echeancier_list(struct db_conn *conn, const char *id, char **json_out,
                                     struct db_error *err);

/* Takes the territoire's lock, then the fiche's row lock, then compares its
 * revision (expected_revision < 0: not compared); *avant gets the fiche as
 * it is (owned; released on any failure). DB_NOT_FOUND: no such fiche;
 * DB_STALE: another revision. The lock order of db/territoire_lock.h. */
enum db_result fiche_lock(struct db_tx *tx, const char *id, long expected_revision,
                          struct fiche_row *avant, struct db_error *err);

/* ---- Rule inputs -------------------------------------------------------- */

/* Every input of the fiche rules, as read in one transaction after the
 * territoire lock and the fiche's row lock (so nothing it reads can change
 * before the transaction ends, except through this transaction):
 * - etat, revision, numero, couts, dates, commencement/achèvement,
 *   intercommunale: the fiche's row (FOR UPDATE);
 * - numero_deja_utilise: another fiche of the same plan has this numero;
 * - axe_id_pvd (R21): the territoire of the fiche's axe ("" when the axe is
 *   gone: has_axe false);
 * - communes_territoire (R22): territoire_communes of the territoire, by rang;
 *   communes_epci: every commune-actuelle member (epci_membres) of the
 *   territoire's EPCIs (territoire_epcis), by code;
 * - seances (R23): the dates of the séances of the territoire's comité that
 *   examined the fiche: its comite_seance_id, and every séance holding a
 *   décision whose fiche_action_id is the fiche (any type), each once;
 * - plan (R24): count and Σ montant of the lines that count
 *   (financement_statut_compte: sollicité, accordé, versé partiel, soldé; an
 *   envisaged or refused line is not a financing), base from base_financement;
 *   lignes: every line in rang order (financeur index = the line's own index,
 *   par_maitre_ouvrage: financeur_id = maitre_ouvrage_id) for R29/R33;
 * - echeancier and r27 (R27): the échéancier by year and what
 *   financement_r27_check found on it against cout_total_ht;
 * - adhesion_signee (R26): the territoire has an adhésion signee or relayee;
 *   cadre_signee: a convention-cadre signee;
 * - indicateurs_sans_mesure: the fiche's indicateurs (fiche_indicateurs) that
 *   have no indicateur_mesures row;
 * - has_decision_abandon (R28): a décision abandonne_fiche about the fiche in
 *   a séance dated on or before date_transition. */
struct fiche_regles {
    char id[37];
    char id_pvd[17];
    enum fiche_etat etat;
    long revision;
    char numero[21];
    bool numero_deja_utilise;
    bool has_axe;
    char axe_id_pvd[17];
    char commune[6];
    bool intercommunale;
    char (*communes_territoire)[6]; /* owned */
    size_t communes_territoire_count;
    char (*communes_epci)[6]; /* owned */
    size_t communes_epci_count;
    /* owned: views for fiche_r22_check: commune_ptrs[0..communes_territoire_count)
     * the territoire's, then commune_ptrs + communes_territoire_count the EPCIs' */
    const char **commune_ptrs;
    struct fiche_seance_examen *seances; /* owned */
    size_t seance_count;
    struct fiche_couts couts;
    struct fiche_plan_financement plan;
    struct financement_ligne *lignes; /* owned */
    size_t ligne_count;
    struct fiche_dates dates;
    struct financement_annee *echeancier; /* owned */
    size_t echeancier_count;
    struct rule_report r27;
    bool adhesion_signee, cadre_signee;
    bool has_date_commencement;
    struct date date_commencement;
    bool has_date_achevement;
    struct date date_achevement;
    size_t indicateurs_sans_mesure;
    bool has_decision_abandon;
    /* R29, R33 (financement_r29_check, financement_r33_check): the maître
     * d'ouvrage's nature and code (its commune's INSEE code, else its
     * département's; "" when it has neither), whether nature_depense is an
     * investment (investissement, acquisition), the recorded derogation
     * (reference "" when none), and depense_subventionnable_ht. */
    enum organisation_kind maitre_ouvrage_kind;
    char maitre_ouvrage_code[6];
    bool investissement;
    bool has_derogation;
    enum financement_derogation_type derogation;
    char derogation_reference[301];
    bool has_depense_subventionnable_ht;
    int64_t depense_subventionnable_ht;
};
/* Frees what out owns; safe on a zeroed struct and twice. */
void fiche_regles_release(struct fiche_regles *r);

/* Fills out (zeroed first) as described above. Takes the territoire lock of
 * the fiche's territoire, then locks the fiche's row, both until tx ends.
 * DB_NOT_FOUND: no such fiche (or id not a UUID); DB_FAILED: a stored value
 * that does not parse, or out of memory (out released then); else DB_OK or
 * the query's failure. */
enum db_result fiche_regles_lire(struct db_tx *tx, const char *id, struct date date_transition,
                                 struct fiche_regles *out, struct db_error *err);

/* R28 for a request that names its décision (decision_id of POST
 * …/transitions): *is_abandon is true when decision_id is a décision of type
 * abandonne_fiche about fiche id in a séance dated on or before
 * date_transition (the reading of has_decision_abandon, for this décision
 * only); false for any other décision, an unknown one or a decision_id that
 * is not a UUID. Read with tx (call it after fiche_regles_lire: the fiche's
 * lock is held). DB_OK or the query's failure. */
enum db_result fiche_decision_abandon_lire(struct db_tx *tx, const char *id,
                                           const char *decision_id, struct date date_transition,
                                           bool *is_abandon, struct db_error *err);

/* The input of fiche_transition_check for the edge etat → to, pointing into
 * r (valid while r is): seances, plan, couts, dates, r27_report, adhésion,
 * commencement, achèvement, indicateurs, décision d'abandon from r; motif
 * borrowed. A request that records the commencement or the achèvement puts
 * its date in in->date_commencement / in->date_achevement afterwards. */
void fiche_regles_transition_input(const struct fiche_regles *r, enum fiche_etat to,
                                   enum role role_of_caller, struct date date_transition,
                                   const char *motif, struct fiche_transition_input *in);

/* Writes a transition already checked (fiche_transition_check gave 0 on the
 * inputs of fiche_regles_lire, in this tx, the request's own
 * date_commencement / date_achevement put in place of the stored ones):
 * etat = to, revision + 1; motif is stored when entering suspendue or
 * abandonnee; date_commencement / date_achevement (NULL: unchanged) when
 * entering en_cours / realisee. expected_revision < 0: not compared.
 * Journal "fiche_action.transition". DB_NOT_FOUND: no such fiche; DB_STALE:
 * another revision (nothing written); DB_FAILED: a row the CHECKs refuse
 * (e.g. en_cours without any date_commencement: the check was skipped). */
enum db_result fiche_write_transition(struct db_tx *tx, const char *id, long expected_revision,
                                      enum fiche_etat to, const char *motif,
                                      const char *date_commencement, const char *date_achevement,
                                      struct fiche_row *out, struct db_error *err);

/* Whether the references a fiche of territoire id_pvd would hold belong to
 * it (they exist, and are its own): seance_id a séance of its comité,
 * secteur_id a secteur d'intervention of one of its conventions (NULL: not
 * given, ok), and which of indicateurs_json (a JSON array of UUID strings;
 * NULL: none) are not indicateurs of its axes: their 0-based indexes,
 * comma-separated, into *indicateurs_hors ("" when all are; owned, free()).
 * Read with tx's connection. DB_FAILED: out of memory. */
enum db_result fiche_references_lire(struct db_tx *tx, const char *id_pvd, const char *seance_id,
                                     const char *secteur_id, const char *indicateurs_json,
                                     bool *seance_ok, bool *secteur_ok, char **indicateurs_hors,
                                     struct db_error *err);

/* ---- Access ------------------------------------------------------------ */

/* Who fiche id concerns, for the authorization target: its territoire
 * (id_pvd), its maître d'ouvrage's SIREN ("" when it has none) and the
 * distinct SIRENs of its lines' financeurs (at most cap into financeurs, their
 * number in *count). Any transaction state. DB_NOT_FOUND: no such fiche (or
 * id not a UUID). */
enum db_result fiche_sirens_lire(struct db_conn *conn, const char *id, char id_pvd[17],
                                 char maitre_ouvrage_siren[10], char (*financeurs)[10], size_t cap,
                                 size_t *count, struct db_error *err);

/* Fiche id (its row, as fiche_get) and what decides access to it — as
 * fiche_sirens_lire, and the scope of its territoire (territoire_scope.h,
 * without the maître d'ouvrage's SIREN: the caller adds it) — in one
 * statement, so one snapshot. Any transaction state. DB_NOT_FOUND: no such
 * fiche (or id not a UUID); DB_FAILED also when its territoire is absent. On
 * DB_OK the caller releases row (fiche_row_release); otherwise row holds
 * nothing. */
enum db_result fiche_get_with_access(struct db_conn *conn, const char *id, struct fiche_row *row,
                                     char maitre_ouvrage_siren[10], char (*financeurs)[10],
                                     size_t cap, size_t *count, struct territoire_scope *scope,
                                     struct db_error *err);

/* ---- Inputs of a fiche not written yet (create, or a changed member) ---- */

/* Inputs of R21, R22 and the numero check for the values a create or update
 * body gives, read with tx's connection after the caller took the territoire
 * lock (fiche_create / fiche_update take it again: a no-op in the same tx):
 * - numero_deja_utilise: a fiche of id_pvd's plan other than except_id (NULL:
 *   none excepted) has this numero;
 * - has_axe / axe_id_pvd: the territoire of axe axe_id (has_axe false when no
 *   such axe, or axe_id is not a UUID);
 * - communes: as in struct fiche_regles (commune_ptrs split at
 *   communes_territoire_count). Strings are borrowed for the call only.
 * DB_NOT_FOUND: no such territoire; DB_FAILED: out of memory. out is zeroed
 * first; release with fiche_regles_release. */
enum db_result fiche_candidate_lire(struct db_tx *tx, const char *id_pvd, const char *numero,
                                    const char *except_id, const char *axe_id,
                                    struct fiche_regles *out, struct db_error *err);

#endif
