/* Reading the journal (writing is db/mutation.h's journal_record). */
#ifndef PVD_DB_JOURNAL_REPOSITORY_H
#define PVD_DB_JOURNAL_REPOSITORY_H

#include <stdbool.h>
#include <stddef.h>

#include "../domain/authz.h"
#include "pool.h"

/* Which entries the caller may see: everything, or those whose recorded
 * départements / régions / SIRENs / territoires meet the given perimeter's
 * lists (only the lists relevant to the caller's role are passed). */
struct journal_visibility {
    bool all;
    /* Leave out the administration's entries (ressource_type habilitation and
     * client: identities, credentials), whatever the other members say. */
    bool sans_administration;
    const struct perimeter *departements; /* or NULL */
    const struct perimeter *regions;
    const struct perimeter *sirens;
    const struct perimeter *territoires;
};

struct journal_filter {
    const char *ressource_type; /* NULL: any */
    const char *ressource_id;
    const char *acteur;
    const char *du; /* RFC 3339, inclusive; NULL: none */
    const char *au; /* exclusive */
};

/* One keyset page, newest first, of entries with id < before (NULL: from the
 * newest). *json_out: a JSON array (owned, free()); *last_id the last id.
 * *total: the number of elements of all pages with the same filters. */
enum db_result journal_list(struct db_conn *conn, const struct journal_visibility *v,
                            const struct journal_filter *f, const char *before, size_t limit,
                            char **json_out, char last_id[24], bool *more, size_t *total,
                            struct db_error *err);

#endif
