/* Reading the journal (writing is db/mutation.h's journal_record), as a list
 * and as the event feed. */
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
    /* Leave out the administration's entries (ressource_type habilitation,
     * client, and the webhook subscriptions and deliveries of issue 11 §2:
     * identities, credentials, endpoints), whatever the other members say. */
    bool sans_administration;
    const struct perimeter *departements; /* or NULL */
    const struct perimeter *regions;
    const struct perimeter *sirens;
    const struct perimeter *territoires;
};

/* What who may read of the journal and the event feed: everything for the
 * national administrator; the programme's entries (not the administration's)
 * for the national reader; the entries of its own départements (R43) for a
 * préfecture, of its régions for a préfecture de région; of its SIRENs and
 * territoires for a collectivité; of its SIRENs for a financer. Points into
 * who's perimeter (borrowed). */
void journal_visibility_of(const struct authz_principal *who, struct journal_visibility *v);

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

/* The event feed (migration 0021): journal rows in commit-safe order.
 * A key is "<xid>.<id>" (decimal digits, at most 20 and 19), the position
 * after a row; rows come in (xid, id) order, only those whose transaction
 * is older than every transaction still running, so a row never appears
 * before a key already returned. */
#define EVENEMENT_KEY_SIZE 48

/* One page of at most limit events after the key `after` (NULL: from the
 * first), of the types listed in `types` (a PostgreSQL text[] literal of
 * resource types and event types, or NULL: all), that v shows (NULL: the
 * public feed, evenement_est_public, with public data). *json_out: a JSON
 * array of Evenement (owned, free()), each carrying the data and version of
 * its resource's latest change v shows (0027); last_key the key of its last event
 * ("" when none); *more whether another event followed. DB_FAILED on a
 * malformed key (the caller validates keys first). */
enum db_result evenements_read(struct db_conn *conn, const struct journal_visibility *v,
                               const char *types, const char *after, size_t limit, char **json_out,
                               char last_key[EVENEMENT_KEY_SIZE], bool *more, struct db_error *err);

/* The key of "now" (the snapshot's xmin): every event committed after the
 * call comes after it. Events committed shortly before the call by a
 * transaction younger than one still running then come after it too: a
 * client replays them (harmless when it applies an event only over an older
 * version). */
enum db_result evenements_head(struct db_conn *conn, char key[EVENEMENT_KEY_SIZE],
                               struct db_error *err);

#endif
