/* Machine client storage (see client_repository.h). */
#include "client_repository.h"
#include "statements.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "habilitation_repository.h"
#include "pgutil.h"

void client_row_release(struct client_row *row)
{
    free(row->json);
    row->json = NULL;
}

#define CLIENT_COLUMNS                                                                             \
    "c.id, c.role, c.departements::text, c.regions::text, c.sirens::text, c.territoires::text, "   \
    "encode(c.secret_sel, 'hex'), encode(c.secret_empreinte, 'hex'), (c.revoque_le IS NULL AND "   \
    "(c.expire_le IS NULL OR c.expire_le > now())), client_representation(c)::text"

static enum db_result fill_row(const PGresult *res, int row, void *dst)
{
    struct client_row *out = dst;
    memset(out, 0, sizeof *out);
    snprintf(out->id, sizeof out->id, "%s", PQgetvalue(res, row, 0));
    if (!role_parse(PQgetvalue(res, row, 1), &out->role))
        return DB_FAILED;
    pg_fill_perimeter(res, row, 2, &out->perimeter);
    if (!pg_hex_decode(PQgetvalue(res, row, 6), out->salt, sizeof out->salt) ||
        !pg_hex_decode(PQgetvalue(res, row, 7), out->digest, sizeof out->digest))
        return DB_FAILED;
    out->usable = strcmp(PQgetvalue(res, row, 8), "t") == 0;
    out->json = pg_strdup(PQgetvalue(res, row, 9));
    return out->json ? DB_OK : DB_FAILED;
}

enum db_result client_get(struct db_conn *conn, const char *id, struct client_row *out,
                          struct db_error *err)
{
    const char *params[1] = {id};
    return pg_one_row(conn, "SELECT " CLIENT_COLUMNS " FROM clients c WHERE c.id = $1", 1, params,
                      fill_row, out, sizeof *out, err);
}

static enum db_result journal_client(struct db_tx *tx, const char *action, const char *id,
                                     const char *avant, const char *apres, struct db_error *err)
{
    struct journal_entry e = {action, "client", id, avant, apres, {NULL, NULL, NULL, NULL}};
    return journal_record(tx, &e, err);
}

enum db_result client_insert(struct db_tx *tx, const struct client_new *c,
                             struct client_row *created, struct db_error *err)
{
    const struct perimeter *p = c->perimeter;
    char salt[33], digest[65];
    pg_hex_encode(c->salt, 16, salt);
    pg_hex_encode(c->digest, 32, digest);
    char *deps = pg_code_array_literal(&p->departements[0][0], sizeof p->departements[0],
                                       p->departement_count);
    char *regs = pg_code_array_literal(&p->regions[0][0], sizeof p->regions[0], p->region_count);
    char *sirens = pg_code_array_literal(&p->sirens[0][0], sizeof p->sirens[0], p->siren_count);
    char *terrs =
        pg_code_array_literal(&p->territoires[0][0], sizeof p->territoires[0], p->territoire_count);
    enum db_result r = DB_FAILED;
    memset(created, 0, sizeof *created);
    if (deps && regs && sirens && terrs) {
        const char *params[11] = {
            c->id, c->nom, role_name(c->role), deps,       regs, sirens, terrs,
            salt,  digest, c->expire_le,       c->cree_par};
        r = pg_one_row(
            tx->conn,
            "INSERT INTO clients AS c (id, nom, role, departements, regions, sirens, "
            "territoires, secret_sel, secret_empreinte, expire_le, cree_par) VALUES ($1, "
            "$2, $3, $4::text[], $5::text[], $6::text[], $7::text[], decode($8, 'hex'), "
            "decode($9, 'hex'), $10::timestamptz, $11) RETURNING " CLIENT_COLUMNS,
            11, params, fill_row, created, sizeof *created, err);
    }
    free(deps);
    free(regs);
    free(sirens);
    free(terrs);
    if (r == DB_OK)
        r = journal_client(tx, "client.creer", created->id, NULL, created->json, err);
    return r;
}

static enum db_result change(struct db_tx *tx, const char *id, const char *action, const char *sql,
                             int nparams, const char *const *params, struct client_row *after,
                             struct db_error *err)
{
    struct client_row before;
    const char *id_param[1] = {id};
    memset(after, 0, sizeof *after);
    enum db_result r =
        pg_one_row(tx->conn, "SELECT " CLIENT_COLUMNS " FROM clients c WHERE c.id = $1 FOR UPDATE",
                   1, id_param, fill_row, &before, sizeof before, err);
    if (r != DB_OK)
        return r;
    r = pg_one_row(tx->conn, sql, nparams, params, fill_row, after, sizeof *after, err);
    if (r == DB_NOT_FOUND)
        r = DB_CONFLICT; /* revoked */
    if (r == DB_OK)
        r = journal_client(tx, action, id, before.json, after->json, err);
    client_row_release(&before);
    return r;
}

enum db_result client_rotate(struct db_tx *tx, const char *id, const unsigned char *salt,
                             const unsigned char *digest, struct client_row *after,
                             struct db_error *err)
{
    char salt_hex[33], digest_hex[65];
    pg_hex_encode(salt, 16, salt_hex);
    pg_hex_encode(digest, 32, digest_hex);
    const char *params[3] = {id, salt_hex, digest_hex};
    return change(tx, id, "client.renouveler_secret",
                  "UPDATE clients AS c SET secret_sel = decode($2, 'hex'), secret_empreinte = "
                  "decode($3, 'hex'), secret_renouvele_le = now() WHERE c.id = $1 AND "
                  "c.revoque_le IS NULL RETURNING " CLIENT_COLUMNS,
                  3, params, after, err);
}

enum db_result client_revoke(struct db_tx *tx, const char *id, const char *by,
                             struct client_row *after, struct db_error *err)
{
    const char *params[2] = {id, by};
    return change(tx, id, "client.revoquer",
                  "UPDATE clients AS c SET revoque_le = now(), revoque_par = $2 WHERE c.id = $1 "
                  "AND c.revoque_le IS NULL RETURNING " CLIENT_COLUMNS,
                  2, params, after, err);
}

enum db_result client_list(struct db_conn *conn, const char *after, size_t limit, char **json_out,
                           char last_id[32], bool *more, size_t *total, struct db_error *err)
{
    char limit_text[24];
    snprintf(limit_text, sizeof limit_text, "%zu", limit + 1);
    const char *params[2] = {after, limit_text};
    *json_out = NULL;
    last_id[0] = '\0';
    *more = false;
    PGresult *res =
        db_exec_params(conn,
                       "SELECT c.id, client_representation(c)::text FROM clients c "
                       "WHERE c.id > coalesce($1::text, '') ORDER BY c.id LIMIT $2::int",
                       2, params);
    enum db_result r = db_result_from_pg(conn, res, err);
    if (r == DB_OK && !pg_json_page(res, limit, json_out, last_id, 32, more))
        r = DB_FAILED;
    PQclear(res);
    if (r == DB_OK)
        r = pg_count(conn, "SELECT count(*) FROM clients", 0, NULL, total, err);
    return r;
}
