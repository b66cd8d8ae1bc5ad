/* Storage of the postes de chef de projet and their yearly funding (issue
 * #10 §2, migration 0018, domain/chef_projet.h). Representations are built
 * in SQL (poste_representation, poste_financement_representation); the
 * rules are the handler's (api/handlers/postes.c), which reads their inputs
 * here inside its writing transaction.
 *
 * Locks of a poste write (db/territoire_lock.h's order, with the poste row
 * before it): the poste row (poste_lock, FOR UPDATE: every write of a poste
 * and of its years takes it first, so that the territoires it serves cannot
 * change under the write), then the territoire locks of the territoires
 * served, in increasing id_pvd order (poste_territoires_lock). Nothing else
 * locks a poste row, so no transaction waits for it while holding a
 * territoire lock. A creation has no poste row yet: territoire locks only.
 *
 * R18 (one non-terminal request per poste and year): the demandes de
 * subvention are written by another part of issue #10; until they exist, a
 * year's row is its own request (one row per poste and year, the table's
 * key) and R18 reads no other row. */
#ifndef PVD_DB_POSTE_REPOSITORY_H
#define PVD_DB_POSTE_REPOSITORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../domain/authz.h"
#include "../domain/chef_projet.h"
#include "list_sync.h"
#include "mutation.h"
#include "pool.h"
#include "result.h"
#include "territoire_scope.h"

/* Most territoires one poste serves. */
#define POSTE_TERRITOIRES_MAX 8
/* Most financer SIRENs read for a poste's access. */
#define POSTE_FINANCEURS_SIRENS 16

/* A poste as stored: its representation (JSON text, owned: release). */
struct poste_row {
    char id[37];
    long revision;
    char *json;
};
void poste_row_release(struct poste_row *row);

/* Reads poste id (any transaction state). DB_NOT_FOUND: none (or id not a
 * UUID). */
enum db_result poste_get(struct db_conn *conn, const char *id, struct poste_row *out,
                         struct db_error *err);
enum db_result poste_get_pooled(struct db_pool *pool, const char *id, struct poste_row *out,
                                struct db_error *err);

/* Who a poste concerns, for authz_decide: one territoire_scope per
 * territoire served (each with the employer's SIREN added), and the SIRENs
 * of the financers of its years. A caller is inside the poste when it is
 * inside the target of any territoire served (poste_access_target(a, i)).
 * Value type; the targets point into it. */
struct poste_access {
    struct territoire_scope scopes[POSTE_TERRITOIRES_MAX];
    size_t scope_count;
    char financeur_sirens[POSTE_FINANCEURS_SIRENS][10];
    size_t financeur_siren_count;
    const char *financeur_ptrs[POSTE_FINANCEURS_SIRENS + 1];
};

/* The target of the i-th territoire served (i < a->scope_count). */
struct authz_target poste_access_target(struct poste_access *a, size_t i);

/* Reads the access of poste id with conn. DB_NOT_FOUND: no such poste. */
enum db_result poste_access_load(struct db_conn *conn, const char *id, struct poste_access *out,
                                 struct db_error *err);
enum db_result poste_access_load_pooled(struct db_pool *pool, const char *id,
                                        struct poste_access *out, struct db_error *err);

/* Loads the scopes of the territoires `ids` (count ≤ POSTE_TERRITOIRES_MAX)
 * and adds employeur_siren (may be NULL or "") to each: the access of a poste
 * about to be created. DB_NOT_FOUND with *missing = the index of the first
 * territoire that does not exist. */
enum db_result poste_access_of(struct db_pool *pool, const char *const *ids, size_t count,
                               const char *employeur_siren, struct poste_access *out,
                               size_t *missing, struct db_error *err);

/* ---- Lists ---------------------------------------------------------------- */

/* role: the caller's reading role (role_reads_as); perimeter: its perimeter.
 * NULL members filter nothing; annee < 0 filters nothing. */
struct poste_filtre {
    const char *role;
    const struct perimeter *perimeter;
    const char *id_pvd, *departement, *employeur_id;
    int annee;
    struct list_sync sync; /* modifie_depuis and the order (list_sync.h) */
};

/* A keyset page (in f->sync's order, list_sync.h) of the postes postes_visibles gives the caller
 * under f: *json_out a JSON array of representations (owned, free()), last_key, *more and *total
 * (the count under f). */
enum db_result poste_list(struct db_pool *pool, const struct poste_filtre *f, const char *after,
                          size_t limit, char **json_out, char last_key[65], bool *more,
                          size_t *total, struct db_error *err);

/* ---- Writes and rule inputs (inside the writing transaction) --------------- */

/* The values of a poste written (creation or update). Strings borrowed;
 * type_contrat and missions NULL: none. */
struct poste_valeurs {
    const char *employeur_id;
    const char *const *territoires;
    size_t territoire_count; /* 1..POSTE_TERRITOIRES_MAX */
    int64_t quotite;
    struct date date_recrutement;
    bool has_date_fin_contrat;
    struct date date_fin_contrat;
    const char *type_contrat;
    const char *missions;
};

/* Inserts the poste (cree_par: tx's actor) and its territoires; *out its
 * stored row (release). */
enum db_result poste_create(struct db_tx *tx, const struct poste_valeurs *v, struct poste_row *out,
                            struct db_error *err);

/* Replaces poste id's values and territoires, revision + 1; *out the new
 * row. DB_NOT_FOUND: no such poste. */
enum db_result poste_update(struct db_tx *tx, const char *id, const struct poste_valeurs *v,
                            struct poste_row *out, struct db_error *err);

/* The stored poste, as the rules read it. */
struct poste_etat {
    long revision;
    char employeur_id[37];
    enum organisation_kind employeur_kind;
    char territoires[POSTE_TERRITOIRES_MAX][17];
    size_t territoire_count;
    struct chef_projet_poste poste;
};

/* Locks poste id's row (FOR UPDATE) and reads it. DB_NOT_FOUND: no such
 * poste. DB_FAILED on a stored value the domain does not know (a bug). */
enum db_result poste_lock(struct db_tx *tx, const char *id, struct poste_etat *out,
                          struct db_error *err);

/* Takes the territoire lock of each of ids (count ≤ 2 ×
 * POSTE_TERRITOIRES_MAX: a PATCH locks the territoires before and after,
 * together), once each, in increasing id_pvd order (ids itself is not
 * reordered). DB_NOT_FOUND: one does not exist. */
enum db_result poste_territoires_lock(struct db_tx *tx, const char *const *ids, size_t count,
                                      struct db_error *err);

/* R11's input: *signee is true when one of the territoires ids has its
 * convention d'adhésion signee (or relayee: signed, then relayed by the
 * cadre). Read under their territoire locks. */
enum db_result poste_adhesion_signee(struct db_tx *tx, const char *const *ids, size_t count,
                                     bool *signee, struct db_error *err);

/* The nature of organisation id and its SIREN ("" when none). DB_NOT_FOUND:
 * no such organisation. */
enum db_result poste_organisation_lire(struct db_conn *conn, const char *id, char nature[16],
                                       char siren[10], struct db_error *err);

/* ---- Funding years ---------------------------------------------------------- */

/* One stored year: its representation (owned: release) and its values. */
struct poste_annee_row {
    long revision;
    char *json;
    struct chef_projet_financement f;
    bool etude_pre_operationnelle_anah, opah_ru;
    char financeur_bdt_id[37], financeur_anah_id[37]; /* "" when none */
    /* the parameters version the year was checked with when last written
     * (0: the defaults; migration 0024): every later check of the year
     * reads that one (parametres_de_version) */
    long parametres_version;
};
void poste_annee_row_release(struct poste_annee_row *row);

/* Reads year annee of poste id (lock: FOR UPDATE, inside a transaction).
 * DB_NOT_FOUND: no such row. */
enum db_result poste_annee_get(struct db_conn *conn, const char *id, int annee, bool lock,
                               struct poste_annee_row *out, struct db_error *err);
enum db_result poste_annee_get_pooled(struct db_pool *pool, const char *id, int annee,
                                      struct poste_annee_row *out, struct db_error *err);

/* Every year of poste id, by annee: *rows (owned: release each, then free
 * the array), *count. */
enum db_result poste_annees_lire(struct db_conn *conn, const char *id,
                                 struct poste_annee_row **rows, size_t *count,
                                 struct db_error *err);
void poste_annees_release(struct poste_annee_row *rows, size_t count);

/* The values of a year written. Ids borrowed, NULL or "": none. */
struct poste_annee_valeurs {
    struct chef_projet_financement f;
    bool etude_pre_operationnelle_anah, opah_ru;
    const char *financeur_bdt_id, *financeur_anah_id;
    long parametres_version; /* the version checked with (0: the defaults) */
};

/* Inserts or replaces year v->f.annee of poste id (revision 1, or + 1),
 * cree_par: tx's actor on insertion; *out the stored row. */
enum db_result poste_annee_ecrire(struct db_tx *tx, const char *id,
                                  const struct poste_annee_valeurs *v, struct poste_annee_row *out,
                                  struct db_error *err);

#endif
