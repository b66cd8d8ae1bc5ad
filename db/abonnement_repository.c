/* Webhook subscriptions and deliveries (see abonnement_repository.h). */
#include "abonnement_repository.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_repository.h"
#include "journal_repository.h"
#include "pgutil.h"

void abonnement_row_release(struct abonnement_row *row)
{
    free(row->json);
    row->json = NULL;
}

#define ABONNEMENT_COLUMNS                                                                         \
    "a.id::text, a.client_id, encode(a.secret_chiffre, 'hex'), "                                   \
    "abonnement_representation(a)::text"

static enum db_result fill_row(const PGresult *res, int row, void *dst)
{
    struct abonnement_row *out = dst;
    snprintf(out->id, sizeof out->id, "%s", PQgetvalue(res, row, 0));
    snprintf(out->client_id, sizeof out->client_id, "%s", PQgetvalue(res, row, 1));
    if (!pg_hex_decode(PQgetvalue(res, row, 2), out->sealed, sizeof out->sealed))
        return DB_FAILED;
    out->json = pg_strdup(PQgetvalue(res, row, 3));
    return out->json ? DB_OK : DB_FAILED;
}

enum db_result abonnement_get(struct db_conn *conn, const char *id, struct abonnement_row *out,
                              struct db_error *err)
{
    const char *params[1] = {id};
    return pg_one_row(
        conn, "SELECT " ABONNEMENT_COLUMNS " FROM abonnements a WHERE a.id = " PG_AS_UUID("$1"), 1,
        params, fill_row, out, sizeof *out, err);
}

enum db_result abonnement_lock(struct db_tx *tx, const char *id, struct abonnement_row *out,
                               struct db_error *err)
{
    const char *params[1] = {id};
    return pg_one_row(tx->conn,
                      "SELECT " ABONNEMENT_COLUMNS
                      " FROM abonnements a WHERE a.id = " PG_AS_UUID("$1") " FOR UPDATE",
                      1, params, fill_row, out, sizeof *out, err);
}

static enum db_result journal_abonnement(struct db_tx *tx, const char *action, const char *id,
                                         const char *avant, const char *apres, struct db_error *err)
{
    struct journal_entry e = {action, "abonnement", id, avant, apres, {NULL, NULL, NULL, NULL}};
    return journal_record(tx, &e, err);
}

enum db_result abonnement_insert(struct db_tx *tx, const struct abonnement_new *a,
                                 struct abonnement_row *created, struct db_error *err)
{
    char sealed[2 * ABONNEMENT_SEALED_BYTES + 1], position[EVENEMENT_KEY_SIZE];
    pg_hex_encode(a->sealed, ABONNEMENT_SEALED_BYTES, sealed);
    memset(created, 0, sizeof *created);
    enum db_result r = evenements_head(tx->conn, position, err);
    if (r != DB_OK)
        return r;
    const char *params[6] = {a->client_id, a->url, a->types, sealed, position, a->cree_par};
    r = pg_one_row(tx->conn,
                   "INSERT INTO abonnements AS a (client_id, url, types, secret_chiffre, position, "
                   "cree_par) VALUES ($1, $2, $3::text[], decode($4, 'hex'), $5, $6) "
                   "RETURNING " ABONNEMENT_COLUMNS,
                   6, params, fill_row, created, sizeof *created, err);
    if (r == DB_OK)
        r = journal_abonnement(tx, "abonnement.creer", created->id, NULL, created->json, err);
    return r;
}

enum db_result abonnement_update(struct db_tx *tx, const struct abonnement_row *locked,
                                 const struct abonnement_change *c, const char *action,
                                 struct abonnement_row *after, struct db_error *err)
{
    char sealed[2 * ABONNEMENT_SEALED_BYTES + 1];
    if (c->sealed)
        pg_hex_encode(c->sealed, ABONNEMENT_SEALED_BYTES, sealed);
    const char *params[5] = {locked->id, c->url, c->types,
                             c->actif < 0 ? NULL : (c->actif ? "t" : "f"),
                             c->sealed ? sealed : NULL};
    memset(after, 0, sizeof *after);
    enum db_result r = pg_one_row(
        tx->conn,
        "UPDATE abonnements AS a SET url = coalesce($2, a.url), types = coalesce($3::text[], "
        "a.types), actif = coalesce($4::bool, a.actif), secret_chiffre = coalesce(decode($5, "
        "'hex'), a.secret_chiffre), secret_renouvele_le = CASE WHEN $5 IS NULL THEN "
        "a.secret_renouvele_le ELSE now() END, modifie_le = now() WHERE a.id = $1::uuid "
        "RETURNING " ABONNEMENT_COLUMNS,
        5, params, fill_row, after, sizeof *after, err);
    if (r == DB_OK)
        r = journal_abonnement(tx, action, locked->id, locked->json, after->json, err);
    return r;
}

enum db_result abonnement_delete(struct db_tx *tx, const struct abonnement_row *locked,
                                 struct db_error *err)
{
    const char *params[1] = {locked->id};
    enum db_result r =
        pg_exec_command(tx->conn, "DELETE FROM abonnements WHERE id = $1::uuid", 1, params, err);
    if (r == DB_OK)
        r = journal_abonnement(tx, "abonnement.supprimer", locked->id, locked->json, NULL, err);
    return r;
}

#define ABONNEMENT_LIST_FROM "FROM abonnements a WHERE ($1::text IS NULL OR a.client_id = $1)"

enum db_result abonnement_list(struct db_conn *conn, const char *client_id, const char *after,
                               size_t limit, char **json_out, char last_id[40], bool *more,
                               size_t *total, struct db_error *err)
{
    char limit_text[24];
    snprintf(limit_text, sizeof limit_text, "%zu", limit + 1);
    const char *params[3] = {client_id, after, limit_text};
    *json_out = NULL;
    PGresult *res = NULL;
    enum db_result r =
        pg_exec_rows(conn,
                     "SELECT a.id::text, abonnement_representation(a)::text " ABONNEMENT_LIST_FROM
                     " AND a.id > coalesce($2::uuid, '00000000-0000-0000-0000-000000000000'::uuid) "
                     "ORDER BY a.id LIMIT $3::int",
                     3, params, &res, err);
    if (r == DB_OK && !pg_json_page(res, limit, json_out, last_id, 40, more))
        r = DB_FAILED;
    PQclear(res);
    if (r == DB_OK)
        r = pg_count(conn, "SELECT count(*) " ABONNEMENT_LIST_FROM, 1, params, total, err);
    return r;
}

#define LIVRAISON_LIST_FROM                                                                        \
    "FROM livraisons l WHERE l.abonnement_id = $1::uuid AND ($2::text IS NULL OR l.etat = $2)"

enum db_result livraison_list(struct db_conn *conn, const char *abonnement_id, const char *etat,
                              const char *after, size_t limit, char **json_out, char last[24],
                              bool *more, size_t *total, struct db_error *err)
{
    char limit_text[24];
    snprintf(limit_text, sizeof limit_text, "%zu", limit + 1);
    const char *params[4] = {abonnement_id, etat, after, limit_text};
    *json_out = NULL;
    PGresult *res = NULL;
    enum db_result r =
        pg_exec_rows(conn,
                     "SELECT l.numero::text, livraison_representation(l)::text " LIVRAISON_LIST_FROM
                     " AND l.numero > coalesce($3::bigint, 0) ORDER BY l.numero "
                     "LIMIT $4::int",
                     4, params, &res, err);
    if (r == DB_OK && !pg_json_page(res, limit, json_out, last, 24, more))
        r = DB_FAILED;
    PQclear(res);
    if (r == DB_OK)
        r = pg_count(conn, "SELECT count(*) " LIVRAISON_LIST_FROM, 2, params, total, err);
    return r;
}

static enum db_result fill_text_pair(const PGresult *res, int row, void *dst)
{
    char **out = dst;
    out[0] = pg_strdup(PQgetvalue(res, row, 0));
    out[1] = pg_strdup(PQgetvalue(res, row, 1));
    return out[0] && out[1] ? DB_OK : DB_FAILED;
}

enum db_result livraison_replay(struct db_tx *tx, const char *abonnement_id,
                                const char *livraison_id, char **json_after, struct db_error *err)
{
    const char *params[2] = {abonnement_id, livraison_id};
    char *before[2] = {NULL, NULL}, *after[2] = {NULL, NULL};
    *json_after = NULL;
    enum db_result r =
        pg_one_row(tx->conn,
                   "SELECT l.etat, livraison_representation(l)::text FROM livraisons l WHERE "
                   "l.abonnement_id = $1::uuid AND l.id = " PG_AS_UUID("$2") " FOR UPDATE",
                   2, params, fill_text_pair, before, sizeof before, err);
    if (r == DB_OK && strcmp(before[0], "livree") != 0 && strcmp(before[0], "echec_definitif") != 0)
        r = DB_CONFLICT;
    if (r == DB_OK)
        r = pg_one_row(tx->conn,
                       "UPDATE livraisons l SET etat = 'en_attente', tentatives = 0, "
                       "prochaine_tentative_le = now(), bail_jusqu_au = NULL WHERE l.id = "
                       "$2::uuid AND l.abonnement_id = $1::uuid RETURNING l.etat, "
                       "livraison_representation(l)::text",
                       2, params, fill_text_pair, after, sizeof after, err);
    if (r == DB_OK) {
        struct journal_entry e = {"livraison.rejouer", "livraison", livraison_id,
                                  before[1],           after[1],    {NULL, NULL, NULL, NULL}};
        r = journal_record(tx, &e, err);
    }
    if (r == DB_OK) {
        *json_after = after[1];
        after[1] = NULL;
    }
    free(before[0]);
    free(before[1]);
    free(after[0]);
    free(after[1]);
    return r;
}

enum db_result abonnements_actifs(struct db_conn *conn, char (**ids)[37], size_t *count,
                                  struct db_error *err)
{
    PGresult *res = NULL;
    *ids = NULL;
    *count = 0;
    enum db_result r = pg_exec_rows(
        conn,
        "SELECT a.id::text FROM abonnements a JOIN clients c ON c.id = a.client_id WHERE a.actif "
        "AND c.revoque_le IS NULL AND (c.expire_le IS NULL OR c.expire_le > now()) ORDER BY a.id",
        0, NULL, &res, err);
    int n = r == DB_OK ? PQntuples(res) : 0;
    if (n > 0) {
        *ids = calloc((size_t)n, sizeof **ids);
        if (*ids == NULL)
            r = DB_FAILED;
        for (int i = 0; *ids && i < n; i++)
            snprintf((*ids)[i], sizeof(*ids)[i], "%s", PQgetvalue(res, i, 0));
        if (*ids)
            *count = (size_t)n;
    }
    PQclear(res);
    return r;
}

struct dispatch_work {
    const char *id;
    size_t limit;
    size_t created;
    bool more;
};

struct dispatch_row {
    char position[EVENEMENT_KEY_SIZE];
    char *types;
    char client_id[32];
};

static enum db_result fill_dispatch_row(const PGresult *res, int row, void *dst)
{
    struct dispatch_row *out = dst;
    snprintf(out->position, sizeof out->position, "%s", PQgetvalue(res, row, 0));
    out->types = pg_strdup(PQgetvalue(res, row, 1));
    snprintf(out->client_id, sizeof out->client_id, "%s", PQgetvalue(res, row, 2));
    return out->types ? DB_OK : DB_FAILED;
}

/* A feed key "<xid>.<id>" as two numbers (keys are checked by the table's
 * CHECK and produced by the feed: 1 to 19 digits each). */
static void key_parse(const char *key, unsigned long long *xid, unsigned long long *id)
{
    char *dot = NULL;
    *xid = strtoull(key, &dot, 10);
    *id = dot && *dot == '.' ? strtoull(dot + 1, NULL, 10) : 0;
}

/* Is key a after key b? */
static bool key_after(const char *a, const char *b)
{
    unsigned long long ax, ai, bx, bi;
    key_parse(a, &ax, &ai);
    key_parse(b, &bx, &bi);
    return ax > bx || (ax == bx && ai > bi);
}

/* Journal rows to skip over before a subscription whose types matched
 * nothing advances its position anyway (one write per this many rows). */
#define SKIP_ADVANCE_ROWS 1000

struct pending {
    char position[EVENEMENT_KEY_SIZE]; /* the subscription's */
    char bound[EVENEMENT_KEY_SIZE];    /* the last journal row final before the read ("": none) */
    char last[EVENEMENT_KEY_SIZE];     /* the last event read ("": none) */
    char *json;                        /* the events (owned) */
    bool more;
};

/* Reads the subscription (locked FOR UPDATE SKIP LOCKED when `lock`) and
 * at most limit events after its position that its client may read now.
 * p->bound is taken first: every journal row up to it is final (its
 * transaction older than all running ones), so once a read after it
 * returns all its matches (!more), nothing up to it remains to deliver.
 * DB_NOT_FOUND: nothing to do (held by another replica, inactive, deleted,
 * client revoked or expired). */
static enum db_result pending_events(struct db_conn *conn, const char *id, bool lock, size_t limit,
                                     struct pending *p, struct db_error *err)
{
    struct dispatch_row row;
    struct client_row client;
    const char *id_param[1] = {id};
    free(p->json);
    memset(p, 0, sizeof *p);
    enum db_result r = pg_one_row(conn,
                                  lock ? "SELECT a.position, a.types::text, a.client_id FROM "
                                         "abonnements a WHERE a.id = $1::uuid AND a.actif FOR "
                                         "UPDATE SKIP LOCKED"
                                       : "SELECT a.position, a.types::text, a.client_id FROM "
                                         "abonnements a WHERE a.id = $1::uuid AND a.actif",
                                  1, id_param, fill_dispatch_row, &row, sizeof row, err);
    if (r == DB_OK) {
        snprintf(p->position, sizeof p->position, "%s", row.position);
        r = pg_one_text(conn,
                        "SELECT coalesce((SELECT xid::text || '.' || id::text FROM journal WHERE "
                        "xid < pg_snapshot_xmin(pg_current_snapshot()) ORDER BY xid DESC, id DESC "
                        "LIMIT 1), '') WHERE $1::text IS NULL",
                        NULL, p->bound, sizeof p->bound, err);
    }
    if (r == DB_OK)
        r = client_get(conn, row.client_id, &client, err);
    if (r == DB_OK && !client.usable) {
        client_row_release(&client);
        r = DB_NOT_FOUND;
    }
    if (r == DB_OK) {
        /* The client's perimeter, read now (journal_visibility_of borrows it). */
        struct authz_principal who = {client.role, client.perimeter, true};
        struct journal_visibility v;
        journal_visibility_of(&who, &v);
        r = evenements_read(conn, &v, strcmp(row.types, "{}") == 0 ? NULL : row.types, row.position,
                            limit, &p->json, p->last, &p->more, err);
        client_row_release(&client);
    }
    free(row.types);
    return r;
}

/* Rows of the journal between two keys, roughly (their ids' difference). */
static unsigned long long rows_between(const char *from, const char *to)
{
    unsigned long long fx, fi, tx, ti;
    key_parse(from, &fx, &fi);
    key_parse(to, &tx, &ti);
    return ti > fi ? ti - fi : 0;
}

static enum db_result dispatch_unit(struct db_conn *conn, void *ctx, struct db_error *err)
{
    struct dispatch_work *w = ctx;
    struct pending p = {"", "", "", NULL, false};
    w->created = 0;
    w->more = false;
    /* A look without lock first: a subscription with nothing to deliver
     * takes no row lock, hence no transaction id, and never holds back the
     * feed's horizon (migration 0021) for the others — unless its types
     * have matched nothing for SKIP_ADVANCE_ROWS rows: its position then
     * moves past them, so that the next looks do not read them again. */
    enum db_result r = pending_events(conn, w->id, false, 1, &p, err);
    bool work =
        r == DB_OK && (p.last[0] || (p.bound[0] && key_after(p.bound, p.position) &&
                                     rows_between(p.position, p.bound) > SKIP_ADVANCE_ROWS));
    if (work)
        r = pending_events(conn, w->id, true, w->limit, &p, err);
    if (r == DB_NOT_FOUND || (r == DB_OK && !work)) {
        free(p.json);
        return DB_OK;
    }
    w->more = p.more;
    if (r == DB_OK && p.last[0]) {
        const char *params[2] = {w->id, p.json};
        PGresult *res = NULL;
        r = pg_exec_rows(conn,
                         "INSERT INTO livraisons (abonnement_id, evenement_id, type, corps) SELECT "
                         "$1::uuid, (e->>'id')::bigint, e->>'type', jsonb_build_object('type', "
                         "e->'type', 'timestamp', e->'survenu_le', 'data', e)::text FROM "
                         "jsonb_array_elements($2::jsonb) e ON CONFLICT DO NOTHING",
                         2, params, &res, err);
        if (r == DB_OK)
            w->created = (size_t)strtoul(PQcmdTuples(res), NULL, 10);
        PQclear(res);
    }
    /* The new position: after the last event read, or after the bound
     * when every match up to it was read. */
    const char *next = p.last[0] ? p.last : p.position;
    if (!p.more && p.bound[0] && key_after(p.bound, next))
        next = p.bound;
    const char *position[2] = {w->id, next};
    if (r == DB_OK && strcmp(next, p.position) != 0)
        r = pg_exec_command(conn, "UPDATE abonnements SET position = $2 WHERE id = $1::uuid", 2,
                            position, err);
    free(p.json);
    return r;
}

enum db_result abonnement_dispatch(struct db_pool *pool, const char *id, size_t limit,
                                   size_t *created, bool *more, struct db_error *err)
{
    struct dispatch_work w = {id, limit, 0, false};
    enum db_result r =
        db_run_transaction(pool, DB_ISOLATION_READ_COMMITTED, dispatch_unit, &w, err);
    *created = r == DB_OK ? w.created : 0;
    *more = r == DB_OK && w.more;
    return r;
}

void livraisons_due_release(struct livraison_due *due, size_t count)
{
    for (size_t i = 0; due && i < count; i++) {
        free(due[i].url);
        free(due[i].corps);
    }
    free(due);
}

enum db_result livraisons_claim(struct db_conn *conn, unsigned lease_seconds, size_t max,
                                struct livraison_due **due, size_t *count, struct db_error *err)
{
    char lease[24], limit[24];
    snprintf(lease, sizeof lease, "%u", lease_seconds);
    snprintf(limit, sizeof limit, "%zu", max);
    const char *params[2] = {lease, limit};
    PGresult *res = NULL;
    *due = NULL;
    *count = 0;
    enum db_result r = pg_exec_rows(
        conn,
        "WITH claimed AS (UPDATE livraisons l SET etat = 'en_cours', tentatives = l.tentatives + "
        "1, "
        "derniere_tentative_le = now(), bail_jusqu_au = now() + make_interval(secs => "
        "$1::int) FROM abonnements a WHERE a.id = l.abonnement_id AND l.id IN (SELECT d.id "
        "FROM livraisons d JOIN abonnements s ON s.id = d.abonnement_id JOIN clients c ON "
        "c.id = s.client_id WHERE ((d.etat = 'en_attente' AND d.prochaine_tentative_le <= "
        "now()) OR (d.etat = 'en_cours' AND d.bail_jusqu_au <= now())) AND s.actif AND "
        "c.revoque_le IS NULL AND (c.expire_le IS NULL OR c.expire_le > now()) ORDER BY "
        "d.prochaine_tentative_le, d.numero LIMIT $2::int FOR UPDATE OF d SKIP LOCKED) "
        "RETURNING l.numero, l.id::text, l.evenement_id::text, l.tentatives, "
        "encode(a.secret_chiffre, 'hex'), a.url, l.corps) SELECT id, evenement_id, tentatives, "
        "encode, url, corps FROM claimed ORDER BY numero",
        2, params, &res, err);
    int n = r == DB_OK ? PQntuples(res) : 0;
    if (n > 0) {
        struct livraison_due *d = calloc((size_t)n, sizeof *d);
        if (d == NULL)
            r = DB_FAILED;
        for (int i = 0; d && i < n; i++) {
            snprintf(d[i].id, sizeof d[i].id, "%s", PQgetvalue(res, i, 0));
            snprintf(d[i].evenement_id, sizeof d[i].evenement_id, "%s", PQgetvalue(res, i, 1));
            d[i].tentatives = atoi(PQgetvalue(res, i, 2));
            d[i].url = pg_strdup(PQgetvalue(res, i, 4));
            d[i].corps = pg_strdup(PQgetvalue(res, i, 5));
            if (!pg_hex_decode(PQgetvalue(res, i, 3), d[i].sealed, sizeof d[i].sealed) ||
                !d[i].url || !d[i].corps)
                r = DB_FAILED;
        }
        if (r == DB_OK) {
            *due = d;
            *count = (size_t)n;
        } else {
            livraisons_due_release(d, d ? (size_t)n : 0);
        }
    }
    PQclear(res);
    return r;
}

enum db_result livraison_record(struct db_conn *conn, const char *id, int tentatives,
                                bool delivered, long status, const char *error, long retry_in,
                                struct db_error *err)
{
    char attempt[24], status_text[24], retry[24];
    snprintf(attempt, sizeof attempt, "%d", tentatives);
    snprintf(status_text, sizeof status_text, "%ld", status);
    snprintf(retry, sizeof retry, "%ld", retry_in);
    const char *params[6] = {id,    attempt, delivered ? "t" : "f", status ? status_text : NULL,
                             error, retry};
    return pg_exec_command(
        conn,
        "UPDATE livraisons SET etat = CASE WHEN $3::bool THEN 'livree' WHEN $6::int < 0 THEN "
        "'echec_definitif' ELSE 'en_attente' END, livree_le = CASE WHEN $3::bool THEN now() END, "
        "prochaine_tentative_le = CASE WHEN $3::bool OR $6::int < 0 THEN prochaine_tentative_le "
        "ELSE now() + make_interval(secs => $6::int) END, bail_jusqu_au = NULL, dernier_statut = "
        "$4::int, derniere_erreur = $5 WHERE id = $1::uuid AND etat = 'en_cours' AND tentatives "
        "= $2::int",
        6, params, err);
}
