/* Webhook subscriptions and their deliveries (issue 11 §2, migration 0025).
 * Subscriptions are written in journaled transactions (db/mutation.h);
 * deliveries are the dispatcher's bookkeeping (api/webhooks.c), written
 * without journal, except a replay. Secrets are stored sealed
 * (api/webhook_crypto.h): this layer never sees them in clear. */
#ifndef PVD_DB_ABONNEMENT_REPOSITORY_H
#define PVD_DB_ABONNEMENT_REPOSITORY_H

#include <stdbool.h>
#include <stddef.h>

#include "mutation.h"
#include "pool.h"

#define ABONNEMENT_SEALED_BYTES 60

struct abonnement_row {
    char id[37];
    char client_id[32];
    unsigned char sealed[ABONNEMENT_SEALED_BYTES];
    char *json; /* API representation, without secret (owned; abonnement_row_release) */
};
void abonnement_row_release(struct abonnement_row *row);

/* One subscription by id (any text: a malformed id is DB_NOT_FOUND). */
enum db_result abonnement_get(struct db_conn *conn, const char *id, struct abonnement_row *out,
                              struct db_error *err);

/* The same in tx, its row locked FOR UPDATE until the end of tx. */
enum db_result abonnement_lock(struct db_tx *tx, const char *id, struct abonnement_row *out,
                               struct db_error *err);

struct abonnement_new {
    const char *client_id;
    const char *url;
    const char *types; /* text[] literal, "{}" for all */
    const unsigned char *sealed;
    const char *cree_par;
};

/* Creates it at the feed's current position (evenements_head: the events
 * committed from now on are delivered), journaling "abonnement.creer". */
enum db_result abonnement_insert(struct db_tx *tx, const struct abonnement_new *a,
                                 struct abonnement_row *created, struct db_error *err);

/* What a change sets: NULL members (and actif < 0) are left as they are. */
struct abonnement_change {
    const char *url;
    const char *types;
    int actif; /* 0, 1, or -1 */
    const unsigned char *sealed;
};

/* Updates the subscription locked in tx (abonnement_lock), journaling
 * `action` ("abonnement.modifier", "abonnement.renouveler_secret") with
 * before (the locked row's representation) and after. */
enum db_result abonnement_update(struct db_tx *tx, const struct abonnement_row *locked,
                                 const struct abonnement_change *c, const char *action,
                                 struct abonnement_row *after, struct db_error *err);

/* Deletes the subscription locked in tx and its deliveries, journaling
 * "abonnement.supprimer". */
enum db_result abonnement_delete(struct db_tx *tx, const struct abonnement_row *locked,
                                 struct db_error *err);

/* Keyset page ordered by id after `after`, of client_id's subscriptions
 * (NULL: all). *json_out a JSON array (owned); *total over all pages. */
enum db_result abonnement_list(struct db_conn *conn, const char *client_id, const char *after,
                               size_t limit, char **json_out, char last_id[40], bool *more,
                               size_t *total, struct db_error *err);

/* Keyset page of the deliveries of a subscription, oldest first, of state
 * etat (NULL: any), after the key `after` (their creation number, digits). */
enum db_result livraison_list(struct db_conn *conn, const char *abonnement_id, const char *etat,
                              const char *after, size_t limit, char **json_out, char last[24],
                              bool *more, size_t *total, struct db_error *err);

/* Makes a delivered or dead delivery of the subscription due now with a
 * fresh schedule (tentatives 0), journaling "livraison.rejouer".
 * *json_after: its representation (owned). DB_NOT_FOUND when the
 * subscription has no such delivery, DB_CONFLICT when it is still pending
 * (en_attente, en_cours). */
enum db_result livraison_replay(struct db_tx *tx, const char *abonnement_id,
                                const char *livraison_id, char **json_after, struct db_error *err);

/* ---- the dispatcher (api/webhooks.c) ---------------------------------------------- */

/* The ids of the active subscriptions of usable clients (not revoked nor
 * expired), in id order: *ids an array of *count ids (owned, free()). */
enum db_result abonnements_actifs(struct db_conn *conn, char (**ids)[37], size_t *count,
                                  struct db_error *err);

/* One transaction: locks the subscription FOR UPDATE SKIP LOCKED (another
 * replica holding it: nothing done), reads at most `limit` events of the
 * feed after its position with its client's visibility (journal_visibility_of
 * of the client's role and perimeter, read now: a revoked or expired client
 * gets nothing) and its types, inserts one delivery per event and advances
 * the position past them. *created: the deliveries inserted; *more: more
 * events follow. An inactive or deleted subscription: DB_OK, nothing done. */
enum db_result abonnement_dispatch(struct db_pool *pool, const char *id, size_t limit,
                                   size_t *created, bool *more, struct db_error *err);

/* A delivery claimed by a sender. */
struct livraison_due {
    char id[37];
    char evenement_id[24];
    int tentatives; /* this attempt's number (1 for the first) */
    unsigned char sealed[ABONNEMENT_SEALED_BYTES];
    char *url;   /* owned */
    char *corps; /* owned: the exact body to send */
};
void livraisons_due_release(struct livraison_due *due, size_t count);

/* Claims at most max due deliveries (en_attente whose time has come, or
 * en_cours whose lease expired) of active subscriptions of usable clients,
 * FOR UPDATE SKIP LOCKED: each becomes en_cours, leased for lease_seconds,
 * its attempt counted, and is committed so before the call returns. *due:
 * an array of *count in creation order (owned: livraisons_due_release). */
enum db_result livraisons_claim(struct db_conn *conn, unsigned lease_seconds, size_t max,
                                struct livraison_due **due, size_t *count, struct db_error *err);

/* Records the outcome of attempt `tentatives` of a claimed delivery:
 * delivered (livree); or failed, due again in retry_in seconds (en_attente),
 * or for good when retry_in < 0 (echec_definitif). status: the HTTP status
 * (0: none), error: what failed (NULL: none). Nothing is changed when the
 * delivery was claimed again since (its lease expired): another attempt
 * owns it. */
enum db_result livraison_record(struct db_conn *conn, const char *id, int tentatives,
                                bool delivered, long status, const char *error, long retry_in,
                                struct db_error *err);

#endif
