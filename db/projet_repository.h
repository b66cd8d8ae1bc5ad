/* Storage of the projet de territoire (axes stratégiques, indicateurs,
 * mesures, domain.md §1.7) and the generic reads, locks, lists and journal
 * entries shared with the comité de projet's objects (comite_repository.h).
 * Every object hangs on one territoire (its id_pvd), which scopes its
 * authorization and its journal rows. Bodies are passed as validated JSON
 * documents (text): the handler checked types, enums, lengths and dates.
 * Reads take a connection; writes take a journaled transaction. */
#ifndef PVD_DB_PROJET_REPOSITORY_H
#define PVD_DB_PROJET_REPOSITORY_H

#include <stdbool.h>
#include <stddef.h>

#include "list_sync.h"
#include "mutation.h"
#include "pool.h"
#include "result.h"

enum projet_objet {
    PROJET_AXE,        /* axes_strategiques, ressource_type "axe_strategique" */
    PROJET_INDICATEUR, /* indicateurs, "indicateur" */
    PROJET_MESURE,     /* indicateur_mesures, "indicateur_mesure" */
    PROJET_COMITE,     /* comites, "comite" */
    PROJET_SEANCE,     /* seances, "seance" */
    PROJET_DECISION,   /* decisions, "decision" */
    PROJET_OBJET__COUNT
};

/* The journal's ressource_type of kind (static string). */
const char *projet_objet_type(enum projet_objet kind);

/* One object: its id, its territoire and its API representation. */
struct projet_row {
    char id[37];
    char id_pvd[17];
    char *json; /* owned; free with projet_row_release (safe on a zeroed row) */
};
void projet_row_release(struct projet_row *row);

/* Reads one object by id; DB_NOT_FOUND when absent or id is not a UUID. */
enum db_result projet_get(struct db_conn *conn, enum projet_objet kind, const char *id,
                          struct projet_row *out, struct db_error *err);
/* Same on a pooled connection. */
enum db_result projet_get_pooled(struct db_pool *pool, enum projet_objet kind, const char *id,
                                 struct projet_row *out, struct db_error *err);
/* Same in tx, locking the row (FOR UPDATE) until the end of tx. */
enum db_result projet_lock(struct db_tx *tx, enum projet_objet kind, const char *id,
                           struct projet_row *out, struct db_error *err);

/* One keyset page of the children of `parent` (an id_pvd for PROJET_AXE, an
 * axe id for PROJET_INDICATEUR, an indicateur id for PROJET_MESURE, a comité
 * id for PROJET_SEANCE, a séance id for PROJET_DECISION; ids must be UUIDs,
 * e.g. those of loaded rows), in their natural
 * order (axes by numero, mesures by date, séances by date, others by id),
 * or in sync's order (list_sync.h: only for a projet_objet_modifiable kind),
 * after the key `after` (NULL: first page). *json_out: a JSON array text
 * (owned, free()); last_key: the key of its last element ("" when empty);
 * *more: whether elements follow. PROJET_COMITE is listed by comite_list.
 * *total: the number of elements of all pages with the same filters. */
enum db_result projet_list_children(struct db_pool *pool, enum projet_objet kind,
                                    const char *parent, const struct list_sync *sync,
                                    const char *after, size_t limit, char **json_out,
                                    char last_key[65], bool *more, size_t *total,
                                    struct db_error *err);

/* True when objects of kind carry modifie_le (axes, indicateurs, comités,
 * séances; not mesures nor décisions, which are never changed). */
bool projet_objet_modifiable(enum projet_objet kind);

/* Appends the journal row "<ressource_type>.<verb>" about an object:
 * avant NULL on creation, apres NULL on deletion (at least one is given; the
 * id is taken from it). */
enum db_result projet_journal(struct db_tx *tx, enum projet_objet kind, const char *verb,
                              const struct projet_row *avant, const struct projet_row *apres,
                              const struct journal_scope *scope, struct db_error *err);

/* Runs one statement returning (id text, id_pvd text, representation text)
 * with params; DB_NOT_FOUND when it returns no row. Shared by the writers. */
enum db_result projet_exec_row(struct db_conn *conn, const char *sql, int nparams,
                               const char *const *params, struct projet_row *out,
                               struct db_error *err);

/* Deletes the object (its children go with it: ON DELETE CASCADE).
 * DB_NOT_FOUND when absent. Only PROJET_AXE and PROJET_INDICATEUR. */
enum db_result projet_delete(struct db_tx *tx, enum projet_objet kind, const char *id,
                             struct db_error *err);

/* Axe body members: numero (integer 1–99), intitule, enjeux, partenaires
 * (array of organisation UUIDs, may be absent), echelle (string or null).
 * DB_CONFLICT when the territoire already has an axe with this numero. */
enum db_result axe_insert(struct db_tx *tx, const char *id_pvd, const char *body_json,
                          struct projet_row *out, struct db_error *err);
enum db_result axe_update(struct db_tx *tx, const char *id, const char *body_json,
                          struct projet_row *out, struct db_error *err);

/* Indicateur body members: type, libelle, unite, valeur_reference,
 * date_reference, valeur_cible, date_cible (decimal strings, dates or null). */
enum db_result indicateur_insert(struct db_tx *tx, const char *axe_id, const char *body_json,
                                 struct projet_row *out, struct db_error *err);
enum db_result indicateur_update(struct db_tx *tx, const char *id, const char *body_json,
                                 struct projet_row *out, struct db_error *err);

/* Mesure body members: date, valeur (decimal string), source (or null).
 * DB_CONFLICT when the indicateur already has a mesure at this date. */
enum db_result mesure_insert(struct db_tx *tx, const char *indicateur_id, const char *body_json,
                             struct projet_row *out, struct db_error *err);

/* The organisations among `ids_json` (a JSON array of UUID strings) that
 * exist: *found_json receives a JSON object {uuid: siren-or-null} (owned,
 * free()). */
enum db_result organisations_sirens(struct db_pool *pool, const char *ids_json, char **found_json,
                                    struct db_error *err);

#endif
