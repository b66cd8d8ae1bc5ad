/* Storage of conventions d'adhésion and conventions-cadres (issue #4 §2),
 * their signataires, secteurs d'intervention and signed versions, with the
 * lists and follow-up figures. Reads take a connection; writes take a
 * journaled transaction (db/mutation.h) and journal themselves. The rules
 * are domain/convention.h's pure functions; those that read other rows than
 * the convention's own (R4–R6 and R9 at a transition, R5 at a cadre's
 * creation) are fed here, with rows read in the writing transaction under
 * the territoire lock (territoire_lock.h), never on another connection.
 *
 * Concurrency: every write takes the revision the caller checked its rules
 * and If-Match against; when the row has moved on, the write returns
 * DB_STALE, writing nothing (the handler answers 412). */
#ifndef PVD_DB_CONVENTION_REPOSITORY_H
#define PVD_DB_CONVENTION_REPOSITORY_H

#include <stdbool.h>
#include <stddef.h>

#include "../domain/convention.h"
#include "list_sync.h"
#include "mutation.h"
#include "pool.h"
#include "result.h"
#include "territoire_scope.h"

#define CONVENTION_MAX_SIGNATAIRES 32
#define CONVENTION_MAX_SECTEURS    32
#define CONVENTION_MAX_AXES        64

struct convention_signataire_row {
    char id[37];
    char organisation_id[37];
    struct signataire s; /* kind, role, siren, dates: as the checks read them */
};

/* One convention as the handlers check and render it. */
struct convention_row {
    char id[37];
    enum convention_type type;
    enum convention_etat etat;
    char id_pvd[17];
    char adhesion_id[37]; /* "" for an adhésion */
    long revision;
    int numero_version;
    bool vaut_ort;
    enum volet_habitat volet_habitat;
    bool has_section_habitat_prive;
    bool has_date_signature;
    struct date date_signature;
    bool has_date_limite; /* adhésion: its R4 limit; cadre: its adhésion's */
    struct date date_limite;
    bool en_retard;    /* stored flag (a cadre signed late) */
    bool has_date_fin; /* cadre: its date_fin, when set */
    struct date date_fin;
    /* cadre: its adhésion (R4, R5) */
    enum convention_etat adhesion_etat;
    bool adhesion_has_date_signature;
    struct date adhesion_date_signature;
    /* R6 from the referential: the territoire's first EPCI and that EPCI's
     * most populous member commune (its ville principale); "" when unknown. */
    char siren_epci[10];
    char siren_ville_principale[10];
    struct convention_signataire_row signataires[CONVENTION_MAX_SIGNATAIRES];
    size_t signataire_count;
    struct secteur_ort secteurs[CONVENTION_MAX_SECTEURS];
    size_t secteur_count;
    char *json; /* convention_representation (owned: convention_row_release) */
};
void convention_row_release(struct convention_row *row);

/* Reads convention id (a UUID; anything else is DB_NOT_FOUND), its
 * signataires and secteurs included, in one statement. On failure out holds
 * nothing to release. */
enum db_result convention_get(struct db_conn *conn, const char *id, struct convention_row *out,
                              struct db_error *err);

/* Same, and the scope of its territoire into *scope (territoire_scope.h),
 * still in one statement (one round trip for a read's whole authorization).
 * The signataires' SIRENs are not added to the scope: the caller decides. */
enum db_result convention_get_scoped(struct db_conn *conn, const char *id,
                                     struct convention_row *out, struct territoire_scope *scope,
                                     struct db_error *err);

/* The active adhésion (not abandonnee) of territoire id_pvd: its id into
 * id_out. DB_NOT_FOUND when there is none. */
enum db_result convention_active_adhesion(struct db_conn *conn, const char *id_pvd, char id_out[37],
                                          struct db_error *err);

/* Organisations by id: for each of the count ids (UUID text), found[i],
 * kind[i] and siren[i] ("" for none). */
enum db_result convention_organisations(struct db_conn *conn, const char *const *ids, size_t count,
                                        bool *found, enum organisation_kind *kind,
                                        char (*siren)[10], struct db_error *err);

/* R9: the axes stratégiques of territoire id_pvd with their indicateur
 * counts, in numero order (at most max). */
enum db_result convention_axes(struct db_conn *conn, const char *id_pvd,
                               struct axe_strategique *out, size_t max, size_t *count,
                               struct db_error *err);

/* The état of territoire id_pvd's current cadre (the latest not resiliee nor
 * echue): *found false when there is none. */
enum db_result convention_cadre_etat(struct db_conn *conn, const char *id_pvd, bool *found,
                                     enum convention_etat *etat, struct db_error *err);

/* Creates a convention in brouillon with content doc (JSON text of the
 * validated body: content members, signataires, secteurs_intervention),
 * journals "convention.ecrire" and reads it back into created. DB_CONFLICT
 * when an active convention of that type exists for the territoire. */
enum db_result convention_insert(struct db_tx *tx, const char *type, const char *id_pvd,
                                 const char *adhesion_id, const char *doc,
                                 const struct journal_scope *scope, struct convention_row *created,
                                 struct db_error *err);

/* Writes the content members present in doc (signataires and secteurs
 * replaced whole when present); journals "convention.ecrire". */
enum db_result convention_update_content(struct db_tx *tx, const char *id, long revision,
                                         const char *doc, const struct journal_scope *scope,
                                         struct convention_row *after, struct db_error *err);

/* en_signature: records the délibérations of doc's "signataires" (same
 * order, same organisations: checked by the caller) without touching the
 * signatures; journals "convention.ecrire". */
enum db_result convention_update_deliberations(struct db_tx *tx, const char *id, long revision,
                                               const char *doc, const struct journal_scope *scope,
                                               struct convention_row *after, struct db_error *err);

/* Records signataire_id's signature (and its délibération when given:
 * date_deliberation / reference_deliberation may be NULL to keep the stored
 * ones); journals "convention.signer". */
enum db_result convention_record_signature(struct db_tx *tx, const char *id, long revision,
                                           const char *signataire_id, const char *date_signature,
                                           const char *date_deliberation,
                                           const char *reference_deliberation,
                                           const char *signe_par, const struct journal_scope *scope,
                                           struct convention_row *after, struct db_error *err);

/* The convention_input of the domain checks from a stored row (signataires,
 * secteurs, adhésion, R6 SIRENs). Pointers into row and signataires (room
 * for CONVENTION_MAX_SIGNATAIRES). */
void convention_input_of(const struct convention_row *row, struct convention_input *in,
                         struct signataire *signataires);

/* The start of a write whose rules read other rows than the convention's:
 * territoire_lock(id_pvd), then convention id locked (FOR UPDATE) with its
 * revision compared (revision < 0: not compared), then read into *row in tx
 * (owned: convention_row_release; nothing held on failure). DB_STALE when
 * the revision moved on (or id is not id_pvd's), DB_NOT_FOUND. */
enum db_result convention_lock_for_rules(struct db_tx *tx, const char *id_pvd, const char *id,
                                         long revision, struct convention_row *row,
                                         struct db_error *err);

/* A state change, the one path of every edge (POST …/transitions and the
 * automatic echue edge): convention_lock_for_rules, then in tx the state
 * machine (convention_transition_exists; for echue, convention_echue on the
 * locked row and rq->today) — else DB_STALE —, then the rules
 * of the target state on rows read in tx: at signee R4–R8, R10
 * (convention_check_signature: violations, and warnings for R4), at
 * validee_comite R9 on the territoire's axes and indicateurs — violations
 * give DB_CONFLICT and nothing written. Then the write:
 * etat, motif, revision + 1; entering signee also sets date_signature,
 * date_limite (adhésion) and en_retard and freezes version 1; journaled
 * "convention.transition" (before/after) by tx's actor. A cadre entering
 * signee moves its adhésion signee → relayee in the same transaction,
 * journaled by "systeme:conventions" with the request id of tx's actor.
 * violations and warnings are reset first (the unit may run again); *after
 * is owned by the caller (convention_row_release). */
struct convention_transition_request {
    const char *id_pvd; /* the convention's territoire, locked first */
    const char *id;
    long revision; /* the one the caller decided on; < 0: the current one */
    enum convention_etat to;
    const char *motif; /* or NULL */
    struct date today;
    const struct journal_scope *scope;
};
enum db_result convention_transition_checked(struct db_tx *tx,
                                             const struct convention_transition_request *rq,
                                             struct rule_report *violations,
                                             struct rule_report *warnings,
                                             struct convention_row *after, struct db_error *err);

/* An avenant: writes doc's content, numero_version + 1, and freezes the new
 * version (objet, date_signature). Journals "convention.ecrire". */
enum db_result convention_avenant(struct db_tx *tx, const char *id, long revision, const char *doc,
                                  const char *objet, const char *date_signature,
                                  const struct journal_scope *scope, struct convention_row *after,
                                  struct db_error *err);

/* Filters of lists and figures; NULL members do not filter. The caller's
 * perimeter restricts both (role name and its lists). */
struct convention_filter {
    const char *role;
    const struct perimeter *perimeter;
    const char *type;
    const char *etat;
    const char *id_pvd;
    const char *departement;
    const char *region;
    const char *en_retard; /* "true" | "false" */
    const char *today;     /* YYYY-MM-DD: en_retard is evaluated at this date */
    struct list_sync sync; /* modifie_depuis and the order (list_sync.h) */
};

/* One keyset page in f->sync's order after the key `after` (list_sync.h;
 * NULL: first page): *json_out a JSON array of representations (owned,
 * free()), last_id (the last key), *more.
 * *total: the number of elements of all pages with the same filters. */
enum db_result convention_list(struct db_conn *conn, const struct convention_filter *f,
                               const char *after, size_t limit, char **json_out, char last_id[65],
                               bool *more, size_t *total, struct db_error *err);

/* The follow-up figures over the filtered conventions (owned JSON text):
 * {"total", "par_type_etat": [{type, etat, nombre}], "par_departement":
 * [{code_departement, nombre}], "par_region": [{code_region, nombre}],
 * "adhesions_en_retard", "delai_median_adhesion_cadre_jours"}. */
enum db_result convention_statistiques(struct db_conn *conn, const struct convention_filter *f,
                                       char **json_out, struct db_error *err);

/* Versions of convention id: a keyset page by numero after `after` (>= 0).
 * *total: the number of elements of all pages with the same filters. */
enum db_result convention_versions(struct db_conn *conn, const char *id, long after, size_t limit,
                                   char **json_out, char last[24], bool *more, size_t *total,
                                   struct db_error *err);
/* One version (owned JSON text); DB_NOT_FOUND when absent. */
enum db_result convention_version(struct db_conn *conn, const char *id, long numero,
                                  char **json_out, struct db_error *err);

#endif
