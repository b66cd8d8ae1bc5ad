/* Every mutation of the service goes through db_run_mutation: one transaction
 * whose unit of work receives a struct db_tx, the only handle the mutating
 * repository functions accept, and which refuses to commit unless the unit
 * wrote at least one journal row. The journal is therefore enforced here, in
 * the db layer, not remembered by each handler. */
#ifndef PVD_DB_MUTATION_H
#define PVD_DB_MUTATION_H

#include <stdbool.h>
#include <stddef.h>

#include "pool.h"
#include "result.h"
#include "transaction.h"

/* The Idempotency-Key of the request a mutation serves (api.md "Requests").
 * When the actor carries one, db_run_mutation claims (caller, key) inside the
 * mutation's own transaction before running the unit, and on success leaves
 * that transaction open in `held`: the caller stores the response in it and
 * commits (idempotence_store_and_commit), so the write, the claim and the
 * stored response are committed together or not at all. A crash or an
 * outage before that COMMIT leaves nothing: the same key is simply run again.
 * Fields are borrowed, except held (owned by the caller once filled). */
struct mutation_idempotence {
    const char *caller;      /* the journal actor's acteur */
    const char *key;         /* the Idempotency-Key header */
    const char *fingerprint; /* hex SHA-256 of method, target (path and query) and body */
    struct db_held_tx held;  /* open after a successful mutation; zero-initialise */
    bool taken; /* set when another request with this key committed first: nothing was done */
    bool busy;  /* set when another request with this key was still running: nothing was done */
};

/* Who acts. Borrowed for the duration of db_run_mutation. */
struct journal_actor {
    const char *acteur;     /* "oidc:<issuer>|<subject>", "client:<id>", "systeme:<what>" */
    const char *issuer;     /* or NULL */
    const char *subject;    /* or NULL */
    const char *client_id;  /* or NULL */
    const char *role;       /* or NULL */
    const char *request_id; /* or NULL */
    struct mutation_idempotence *idempotence; /* or NULL: commit when the unit succeeds */
};

/* Territorial attributes recorded with an entry, so that the journal can be
 * read by perimeter (a préfecture sees its départements). NULL-terminated
 * arrays, or NULL. */
struct journal_scope {
    const char *const *departements;
    const char *const *regions;
    const char *const *sirens;
    const char *const *territoires;
};

struct journal_entry {
    const char *action;         /* "habilitation.accorder" … (domain action names) */
    const char *ressource_type; /* "habilitation", "client", … */
    const char *ressource_id;
    /* Top-level members whose name starts with "_" (the service's own, e.g.
     * a demande's "_delais") are left out of the journal. */
    const char *avant_json; /* the object before (JSON text), or NULL on creation */
    const char *apres_json; /* the object after, or NULL on deletion */
    struct journal_scope scope;
};

/* A transaction in progress; valid only inside the unit of work. */
struct db_tx {
    struct db_conn *conn;
    const struct journal_actor *actor;
    unsigned journal_rows;
};

typedef enum db_result (*db_mutation_fn)(struct db_tx *tx, void *ctx, struct db_error *err);

/* Runs work in one transaction (retried as db_run_transaction does). When
 * work returns DB_OK without having called journal_record, the transaction is
 * rolled back and DB_FAILED returned ("mutation sans journal"): a bug.
 * With actor->idempotence set (see struct mutation_idempotence): the key is
 * claimed first in the same transaction; when another request holds it,
 * nothing is done, `taken` or `busy` is set and DB_UNAVAILABLE returned (the
 * caller answers for the key instead); on DB_OK the transaction is left open
 * in actor->idempotence->held, for the caller to commit or abort. */
enum db_result db_run_mutation(struct db_pool *pool, enum db_isolation isolation,
                               const struct journal_actor *actor, db_mutation_fn work, void *ctx,
                               struct db_error *err);

/* Appends one journal row in tx, with tx's actor. */
enum db_result journal_record(struct db_tx *tx, const struct journal_entry *entry,
                              struct db_error *err);

/* The same under another actor (borrowed for the call): an automatic change
 * the service journals as "systeme:…" within a caller's transaction. It
 * counts as tx's journal row like any other. */
enum db_result journal_record_as(struct db_tx *tx, const struct journal_actor *actor,
                                 const struct journal_entry *entry, struct db_error *err);

#endif
