/* Journaled mutations (see mutation.h). */
#include "mutation.h"
#include "statements.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idempotence_repository.h"
#include "pgutil.h"

struct mutation_call {
    const struct journal_actor *actor;
    db_mutation_fn work;
    void *ctx;
};

static enum db_result mutation_unit(struct db_conn *conn, void *ctx, struct db_error *err)
{
    struct mutation_call *call = ctx;
    struct db_tx tx = {conn, call->actor, 0};
    struct mutation_idempotence *idem = call->actor->idempotence;
    if (idem) {
        enum idempotence_claim_outcome claim;
        enum db_result c =
            idempotence_claim_in(conn, idem->caller, idem->key, idem->fingerprint, &claim, err);
        idem->busy = claim == IDEMPOTENCE_CLAIM_BUSY;
        idem->taken = c == DB_OK && claim == IDEMPOTENCE_CLAIM_TAKEN;
        if (c != DB_OK)
            return c;
        if (claim != IDEMPOTENCE_CLAIM_OURS) {
            db_error_set(err, NULL, "clé d'idempotence prise par une autre requête");
            return DB_UNAVAILABLE;
        }
    }
    enum db_result r = call->work(&tx, call->ctx, err);
    if (r == DB_OK && tx.journal_rows == 0) {
        db_error_set(err, NULL, "mutation sans journal : refusée");
        return DB_FAILED;
    }
    return r;
}

enum db_result db_run_mutation(struct db_pool *pool, enum db_isolation isolation,
                               const struct journal_actor *actor, db_mutation_fn work, void *ctx,
                               struct db_error *err)
{
    struct mutation_call call = {actor, work, ctx};
    if (actor->idempotence)
        return db_run_transaction_held(pool, isolation, mutation_unit, &call,
                                       &actor->idempotence->held, err);
    return db_run_transaction(pool, isolation, mutation_unit, &call, err);
}

/* Renders a NULL-terminated list as a PostgreSQL text[] literal ({"a","b"}). */
static void array_literal(struct pg_buf *b, const char *const *items)
{
    pg_buf_add(b, "{", 1);
    for (size_t i = 0; items && items[i]; i++) {
        if (i)
            pg_buf_add(b, ",", 1);
        pg_buf_add(b, "\"", 1);
        for (const char *p = items[i]; *p; p++) {
            if (*p == '"' || *p == '\\')
                pg_buf_add(b, "\\", 1);
            pg_buf_add(b, p, 1);
        }
        pg_buf_add(b, "\"", 1);
    }
    pg_buf_add(b, "}", 1);
}

enum db_result journal_record(struct db_tx *tx, const struct journal_entry *entry,
                              struct db_error *err)
{
    return journal_record_as(tx, tx->actor, entry, err);
}

enum db_result journal_record_as(struct db_tx *tx, const struct journal_actor *actor,
                                 const struct journal_entry *entry, struct db_error *err)
{
    struct pg_buf deps = PG_BUF_INIT, regs = PG_BUF_INIT, sirens = PG_BUF_INIT, terrs = PG_BUF_INIT;
    array_literal(&deps, entry->scope.departements);
    array_literal(&regs, entry->scope.regions);
    array_literal(&sirens, entry->scope.sirens);
    array_literal(&terrs, entry->scope.territoires);
    const struct journal_actor *a = actor;
    const char *params[15] = {
        a->acteur,
        a->issuer,
        a->subject,
        a->client_id,
        a->role,
        entry->action,
        entry->ressource_type,
        entry->ressource_id,
        entry->avant_json,
        entry->apres_json,
        a->request_id,
        deps.data,
        regs.data,
        sirens.data,
        terrs.data,
    };
    enum db_result r = DB_FAILED;
    if (deps.oom || regs.oom || sirens.oom || terrs.oom) {
        db_error_set(err, NULL, "mémoire insuffisante");
        goto out;
    }
    /* A top-level member whose name starts with "_" is the service's own
     * (e.g. a demande's "_delais", read with its row): not journaled. */
#define JOURNAL_DOC(p)                                                                             \
    "CASE WHEN jsonb_typeof(" p "::jsonb) = 'object' THEN (SELECT coalesce(jsonb_object_agg(e.k, " \
    "e.v), '{}'::jsonb) FROM jsonb_each(" p                                                        \
    "::jsonb) AS e(k, v) WHERE left(e.k, 1) <> '_') ELSE " p "::jsonb END"
    PGresult *res = db_exec_params(
        tx->conn,
        "INSERT INTO journal (acteur, acteur_issuer, acteur_subject, client_id, role, action, "
        "ressource_type, ressource_id, avant, apres, request_id, departements, regions, sirens, "
        "territoires) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, " JOURNAL_DOC("$9") ", " JOURNAL_DOC(
            "$10") ", $11, $12::text[], $13::text[], $14::text[], $15::text[])",
        15, params);
    r = db_result_from_pg(tx->conn, res, err);
    PQclear(res);
    if (r == DB_OK)
        tx->journal_rows++;
out:
    pg_buf_release(&deps);
    pg_buf_release(&regs);
    pg_buf_release(&sirens);
    pg_buf_release(&terrs);
    return r;
}
