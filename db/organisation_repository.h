/* Storage of organisations (signataires, maîtres d'ouvrage, financeurs:
 * issue 4 §1). Reads take a connection; writes take a journaled transaction
 * (db/mutation.h) and record "organisation.creer" / "organisation.modifier"
 * with the organisation's département, région and SIREN as journal scope. */
#ifndef PVD_DB_ORGANISATION_REPOSITORY_H
#define PVD_DB_ORGANISATION_REPOSITORY_H

#include <stdbool.h>
#include <stddef.h>

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

/* Values of a new organisation; NULL members are stored as NULL. Borrowed. */
struct organisation_new {
    const char *siren;
    const char *nom;
    const char *nature;
    const char *code_insee;
    const char *code_departement;
    const char *code_region;
};

/* Creates it and journals "organisation.creer". DB_CONFLICT when the SIREN
 * is already an organisation's. */
enum db_result organisation_insert(struct db_tx *tx, const struct organisation_new *o,
                                   struct organisation_row *created, struct db_error *err);

/* By id; DB_NOT_FOUND when absent or when id is not a UUID. */
enum db_result organisation_get(struct db_conn *conn, const char *id, struct organisation_row *out,
                                struct db_error *err);

/* Renames it (nom) if its revision is still `revision`, and journals
 * "organisation.modifier". DB_NOT_FOUND when absent, DB_CONFLICT when the
 * revision moved on (a concurrent change: 412 for the caller). */
enum db_result organisation_rename(struct db_tx *tx, const char *id, int revision, const char *nom,
                                   struct organisation_row *after, struct db_error *err);

/* Filters of the list; NULL members do not filter. */
struct organisation_filter {
    const char *siren;
    const char *nature;
    const char *departement;
};

/* One keyset page ordered by id after `after` (a UUID or NULL): *json_out a
 * JSON array text (owned, free()), last_id the last id ("" when empty),
 * *more whether rows follow.
 * *total: the number of elements of all pages with the same filters. */
enum db_result organisation_list(struct db_conn *conn, const struct organisation_filter *f,
                                 const char *after, size_t limit, char **json_out, char last_id[37],
                                 bool *more, size_t *total, struct db_error *err);

#endif
