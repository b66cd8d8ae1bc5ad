/* Storage of organisations (signataires, maîtres d'ouvrage, financeurs:
 * issue 4 §1). Reads take a connection; writes take a journaled transaction
 * (db/mutation.h) and record "organisation.creer" / "organisation.modifier"
 * with the organisation's perimeter (where it acts, issue 8 §1) as journal
 * scope. */
#ifndef PVD_DB_ORGANISATION_REPOSITORY_H
#define PVD_DB_ORGANISATION_REPOSITORY_H

#include <stdbool.h>
#include <stddef.h>

#include "list_sync.h"
#include "mutation.h"
#include "pool.h"
#include "result.h"

struct organisation_row {
    char id[37];
    char siren[10]; /* "" when none (État) */
    char nature[16];
    char code_departement[4];
    char code_region[4];
    int revision;
    char *json; /* the API representation (owned; organisation_row_release) */
};
void organisation_row_release(struct organisation_row *row);

/* Where an organisation acts (issue 8 §1): the départements and régions of
 * its commune or EPCI (an EPCI's members'), those of the territoires where it
 * is a convention's signataire or a comité's membre (each territoire's own
 * and its communes' départements, R43), those territoires, and its own SIREN.
 * Lists are NULL-terminated arrays of codes; everything is owned by the
 * struct (organisation_scope_release). Empty lists: it acts nowhere yet. */
struct organisation_scope {
    const char **departements;
    size_t departement_count;
    const char **regions;
    size_t region_count;
    const char **territoires;
    size_t territoire_count;
    const char *sirens[2]; /* {siren, NULL} or {NULL} */
    size_t siren_count;
    char siren[10];
    char *text; /* storage of the codes */
};
/* Frees what s owns and empties it; idempotent; s zeroed is empty. */
void organisation_scope_release(struct organisation_scope *s);
/* The journal scope viewing s (borrowed from s). */
struct journal_scope organisation_scope_journal(const struct organisation_scope *s);

/* Values of a new organisation; NULL members are stored as NULL. Borrowed. */
struct organisation_new {
    const char *siren;
    const char *nom;
    const char *nature;
    const char *code_insee;
    const char *code_departement;
    const char *code_region;
};

/* Creates it and journals "organisation.creer" with `scope` (borrowed: the
 * new organisation's perimeter, or where its creator acts when it acts
 * nowhere yet). DB_CONFLICT when the SIREN is already an organisation's. */
enum db_result organisation_insert(struct db_tx *tx, const struct organisation_new *o,
                                   const struct journal_scope *scope,
                                   struct organisation_row *created, struct db_error *err);

/* By id; DB_NOT_FOUND when absent or when id is not a UUID. */
enum db_result organisation_get(struct db_conn *conn, const char *id, struct organisation_row *out,
                                struct db_error *err);

/* Locks the organisation's row (FOR UPDATE, until tx ends: signataires and
 * comité membres referencing it wait, so its perimeter cannot grow before the
 * write commits) and reads it into *row and its perimeter into *scope (both
 * owned by the caller: organisation_row_release, organisation_scope_release;
 * emptied on failure). DB_NOT_FOUND when absent. */
enum db_result organisation_lock_scope(struct db_tx *tx, const char *id,
                                       struct organisation_row *row,
                                       struct organisation_scope *scope, struct db_error *err);

/* Renames the organisation `before` (read by organisation_lock_scope in the
 * same tx) if its revision is still `revision`, and journals
 * "organisation.modifier" with `scope`. DB_STALE when the revision moved
 * on (a concurrent change: 412 for the caller). */
enum db_result organisation_rename(struct db_tx *tx, const struct organisation_row *before,
                                   int revision, const char *nom,
                                   const struct organisation_scope *scope,
                                   struct organisation_row *after, struct db_error *err);

/* Filters of the list; NULL members do not filter. */
struct organisation_filter {
    const char *siren;
    const char *nature;
    const char *departement;
    struct list_sync sync; /* modifie_depuis and the order (list_sync.h) */
};

/* One keyset page in f->sync's order after the key `after` (list_sync.h;
 * NULL: first page): *json_out a JSON array text (owned, free()), last_id
 * the last key ("" when empty),
 * *more whether rows follow.
 * *total: the number of elements of all pages with the same filters. */
enum db_result organisation_list(struct db_conn *conn, const struct organisation_filter *f,
                                 const char *after, size_t limit, char **json_out, char last_id[65],
                                 bool *more, size_t *total, struct db_error *err);

#endif
