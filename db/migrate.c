/* Schema migrations: applies the SQL files compiled into the binary, each once
 * and in order, under an advisory lock. Never logs; never runs SQL built from
 * input. */
#include "migrate.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"

#define SHA256_HEX_LEN 64

static const char create_table_sql[] = "create table schema_migrations ("
                                       " version int primary key,"
                                       " name text not null,"
                                       " checksum text not null,"
                                       " applied_at timestamptz not null default now())";
static const char comment_table_sql[] =
    "comment on table schema_migrations is"
    " 'Migrations applied by db_migrate: file name and hex SHA-256 of its SQL'";
static const char select_applied_sql[] =
    "select version, name, checksum from schema_migrations order by version";
static const char insert_applied_sql[] =
    "insert into schema_migrations (version, name, checksum) values ($1::int4, $2::text, $3::text)";

/* Maps a result on a caller-owned PGconn; `broken` has no meaning outside
 * the pool, a lost connection still reads as DB_UNAVAILABLE. */
static enum db_result map_result(PGconn *pg, const PGresult *res, struct db_error *err)
{
    struct db_conn wrapper = {.pg = pg};

    return db_result_from_pg(&wrapper, res, err);
}

/* Runs one statement without parameters through the extended protocol,
 * which refuses multi-statement strings. */
static enum db_result exec_simple(PGconn *pg, const char *sql, struct db_error *err)
{
    PGresult *res = PQexecParams(pg, sql, 0, NULL, NULL, NULL, NULL, 0);
    enum db_result result = map_result(pg, res, err);

    PQclear(res);
    return result;
}

static void rollback_if_open(PGconn *pg)
{
    PGresult *res = NULL;
    PGTransactionStatusType status = PQtransactionStatus(pg);

    if (status != PQTRANS_INTRANS && status != PQTRANS_INERROR)
        return;
    res = PQexec(pg, "ROLLBACK");
    PQclear(res);
}

static bool checksum_hex(const char *sql, char out[SHA256_HEX_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    unsigned int i;

    if (EVP_Digest(sql, strlen(sql), md, &len, EVP_sha256(), NULL) != 1 ||
        len * 2 != SHA256_HEX_LEN)
        return false;
    for (i = 0; i < len; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 0x0f];
    }
    out[SHA256_HEX_LEN] = '\0';
    return true;
}

static enum db_result check_list(const struct migration *list, size_t count, struct db_error *err)
{
    size_t i;

    for (i = 0; i < count; i++) {
        if (!list[i].name || !list[i].sql || list[i].version <= 0) {
            db_error_set(err, NULL,
                         "liste de migrations invalide : entrée %zu sans nom, sans SQL ou de "
                         "version <= 0 / invalid migration list: entry %zu",
                         i, i);
            return DB_FAILED;
        }
        if (i > 0 && list[i].version <= list[i - 1].version) {
            db_error_set(err, NULL,
                         "liste de migrations non triée ou en double : %s après %s / migration "
                         "list not sorted or has duplicates: %s after %s",
                         list[i].name, list[i - 1].name, list[i].name, list[i - 1].name);
            return DB_FAILED;
        }
    }
    return DB_OK;
}

static bool parse_version(const char *text, int *out)
{
    char *end = NULL;
    long v;

    errno = 0;
    v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v <= 0 || v > INT_MAX)
        return false;
    *out = (int)v;
    return true;
}

static const struct migration *find_version(const struct migration *list, size_t count, int version,
                                            size_t *index)
{
    size_t i;

    for (i = 0; i < count; i++) {
        if (list[i].version == version) {
            *index = i;
            return &list[i];
        }
    }
    return NULL;
}

/* Checks rows of select_applied_sql against the list. DB_OK with
 * *n_applied = rows when they are exactly list[0..rows) with equal checksums;
 * DB_NOT_FOUND when a listed version is missing below an applied one;
 * DB_FAILED for an unknown version, a modified file or a malformed row. */
static enum db_result compare_applied(const PGresult *res, const struct migration *list,
                                      size_t count, size_t *n_applied, struct db_error *err)
{
    char expected[SHA256_HEX_LEN + 1];
    const struct migration *m;
    int rows = PQntuples(res);
    int row, version;
    size_t index = 0;

    if (PQnfields(res) != 3) {
        db_error_set(err, NULL, "schema_migrations: unexpected column count %d", PQnfields(res));
        return DB_FAILED;
    }
    for (row = 0; row < rows; row++) {
        if (PQgetisnull(res, row, 0) || PQgetisnull(res, row, 1) || PQgetisnull(res, row, 2) ||
            !parse_version(PQgetvalue(res, row, 0), &version)) {
            db_error_set(err, NULL, "schema_migrations: malformed row %d", row);
            return DB_FAILED;
        }
        m = find_version(list, count, version, &index);
        if (!m) {
            db_error_set(err, NULL,
                         "la base contient la migration %d (%s) inconnue de ce binaire / the "
                         "database has migration %d (%s) unknown to this binary",
                         version, PQgetvalue(res, row, 1), version, PQgetvalue(res, row, 1));
            return DB_FAILED;
        }
        if (!checksum_hex(m->sql, expected)) {
            db_error_set(err, NULL, "SHA-256 failed for %s", m->name);
            return DB_FAILED;
        }
        if (strcmp(expected, PQgetvalue(res, row, 2)) != 0) {
            db_error_set(err, NULL,
                         "la migration %s a été modifiée après application (somme de contrôle "
                         "différente) / migration %s was modified after being applied "
                         "(checksum mismatch)",
                         m->name, m->name);
            return DB_FAILED;
        }
        /* Rows are sorted and unique, so index >= row; more means a hole. */
        if (index != (size_t)row) {
            db_error_set(err, NULL,
                         "la migration %s n'est pas appliquée alors que %s, plus récente, "
                         "l'est / migration %s is missing while the newer %s is applied",
                         list[row].name, m->name, list[row].name, m->name);
            return DB_NOT_FOUND;
        }
    }
    *n_applied = (size_t)rows;
    return DB_OK;
}

/* A migration must not use COPY with the client; if one does, end the copy
 * so that the connection can still roll back and unlock. */
static void end_copy(PGconn *pg, ExecStatusType status)
{
    PGresult *res;
    char *buf = NULL;

    if (status == PGRES_COPY_IN || status == PGRES_COPY_BOTH)
        PQputCopyEnd(pg, "COPY with the client is not allowed in migrations");
    if (status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH) {
        while (PQgetCopyData(pg, &buf, 0) > 0) {
            PQfreemem(buf);
            buf = NULL;
        }
    }
    while ((res = PQgetResult(pg)) != NULL)
        PQclear(res);
}

static enum db_result apply_one(PGconn *pg, const struct migration *m, struct db_error *err)
{
    char checksum[SHA256_HEX_LEN + 1];
    char version[16];
    const char *params[3];
    PGresult *res = NULL;
    ExecStatusType status;
    enum db_result result;
    struct db_error cause = {{0}, {0}};

    if (!checksum_hex(m->sql, checksum)) {
        db_error_set(err, NULL, "SHA-256 failed for %s", m->name);
        result = DB_FAILED;
        goto out;
    }
    res = PQexec(pg, "BEGIN");
    result = map_result(pg, res, err);
    PQclear(res);
    res = NULL;
    if (result != DB_OK)
        goto out;

    /* PQexec rather than PQexecParams: a migration file holds several
     * statements, which only the simple protocol accepts. This is the one
     * place where db/ runs a non-constant string through PQexec; it is safe
     * because the SQL is compiled into the binary from db/migrations/, never
     * built from input. */
    res = PQexec(pg, m->sql);
    status = PQresultStatus(res);
    if (status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH) {
        PQclear(res);
        res = NULL;
        end_copy(pg, status);
        db_error_set(err, NULL,
                     "la migration %s utilise COPY avec le client / migration %s uses COPY "
                     "FROM STDIN or TO STDOUT",
                     m->name, m->name);
        result = DB_FAILED;
        goto out;
    }
    /* An empty file (or comments only) is a no-op, not an error. */
    result = res && status == PGRES_EMPTY_QUERY ? DB_OK : map_result(pg, res, &cause);
    PQclear(res);
    res = NULL;
    if (result != DB_OK) {
        db_error_set(err, cause.sqlstate, "la migration %s a échoué / migration %s failed: %s",
                     m->name, m->name, cause.message);
        goto out;
    }
    if (PQtransactionStatus(pg) != PQTRANS_INTRANS) {
        db_error_set(err, NULL,
                     "la migration %s termine elle-même la transaction (pas de BEGIN, COMMIT "
                     "ni ROLLBACK) / migration %s ends the transaction itself",
                     m->name, m->name);
        result = DB_FAILED;
        goto out;
    }

    snprintf(version, sizeof version, "%d", m->version);
    params[0] = version;
    params[1] = m->name;
    params[2] = checksum;
    res = PQexecParams(pg, insert_applied_sql, 3, NULL, params, NULL, NULL, 0);
    result = map_result(pg, res, err);
    PQclear(res);
    res = NULL;
    if (result != DB_OK)
        goto out;

    res = PQexec(pg, "COMMIT");
    result = map_result(pg, res, err);
    if (result == DB_OK && strcmp(PQcmdStatus(res), "COMMIT") != 0) {
        db_error_set(err, NULL, "COMMIT of %s answered %s", m->name, PQcmdStatus(res));
        result = DB_FAILED;
    }
out:
    PQclear(res);
    if (result != DB_OK)
        rollback_if_open(pg);
    return result;
}

/* Runs "select <fn>($1::int8)" with DB_MIGRATE_LOCK_KEY; *ok receives the
 * boolean result for pg_advisory_unlock (pg_advisory_lock returns void). */
static enum db_result advisory(PGconn *pg, const char *sql, bool *ok, struct db_error *err)
{
    char key[24];
    const char *params[1] = {key};
    PGresult *res = NULL;
    enum db_result result;

    snprintf(key, sizeof key, "%" PRId64, DB_MIGRATE_LOCK_KEY);
    res = PQexecParams(pg, sql, 1, NULL, params, NULL, NULL, 0);
    result = map_result(pg, res, err);
    if (result == DB_OK && ok)
        *ok = PQntuples(res) == 1 && !PQgetisnull(res, 0, 0) &&
              strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return result;
}

static enum db_result ensure_table(PGconn *pg, struct db_error *err)
{
    PGresult *res = NULL;
    enum db_result result;
    bool missing;

    /* Checked first rather than "create table if not exists", which raises a
     * NOTICE on every run; the advisory lock rules out a race. */
    res = PQexecParams(pg, "select to_regclass('schema_migrations') is null", 0, NULL, NULL, NULL,
                       NULL, 0);
    result = map_result(pg, res, err);
    if (result != DB_OK)
        goto out;
    missing =
        PQntuples(res) == 1 && !PQgetisnull(res, 0, 0) && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    if (!missing)
        goto out;
    result = exec_simple(pg, create_table_sql, err);
    if (result == DB_OK)
        result = exec_simple(pg, comment_table_sql, err);
out:
    PQclear(res);
    return result;
}

enum db_result db_migrate(PGconn *conn, const struct migration *list, size_t count, int *applied,
                          struct db_error *err)
{
    struct db_error unlock_err;
    PGresult *res = NULL;
    enum db_result result, unlocked;
    bool locked = false, released = false;
    size_t done = 0, i;
    int n = 0;

    result = check_list(list, count, err);
    if (result != DB_OK)
        goto out;
    if (!conn || PQstatus(conn) != CONNECTION_OK) {
        db_error_set(err, "08003", "db_migrate: no open connection");
        result = DB_UNAVAILABLE;
        goto out;
    }
    if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
        db_error_set(err, "25001", "db_migrate must be called outside a transaction");
        result = DB_FAILED;
        goto out;
    }

    result = advisory(conn, "select pg_advisory_lock($1::int8)", NULL, err);
    if (result != DB_OK)
        goto out;
    locked = true;

    result = ensure_table(conn, err);
    if (result != DB_OK)
        goto out;
    res = PQexecParams(conn, select_applied_sql, 0, NULL, NULL, NULL, NULL, 0);
    result = map_result(conn, res, err);
    if (result != DB_OK)
        goto out;
    result = compare_applied(res, list, count, &done, err);
    if (result == DB_NOT_FOUND)
        result = DB_FAILED; /* a hole: never apply out of order */
    if (result != DB_OK)
        goto out;

    for (i = done; i < count; i++) {
        result = apply_one(conn, &list[i], err);
        if (result != DB_OK)
            goto out;
        n++;
    }

out:
    PQclear(res);
    if (locked) {
        rollback_if_open(conn);
        unlocked = advisory(conn, "select pg_advisory_unlock($1::int8)", &released, &unlock_err);
        /* A lost connection drops the lock with the session; anything else
         * that keeps it held is worth reporting when all went well. */
        if (result == DB_OK && unlocked == DB_OK && !released) {
            db_error_set(err, NULL, "advisory lock %" PRId64 " was not held at the end",
                         DB_MIGRATE_LOCK_KEY);
            result = DB_FAILED;
        } else if (result == DB_OK && unlocked != DB_OK) {
            if (err)
                *err = unlock_err;
            result = unlocked;
        }
    }
    if (applied)
        *applied = n;
    return result;
}

enum db_result db_migrations_current(PGconn *conn, const struct migration *list, size_t count,
                                     struct db_error *err)
{
    PGresult *res = NULL;
    enum db_result result;
    const char *sqlstate;
    size_t done = 0;

    result = check_list(list, count, err);
    if (result != DB_OK)
        goto out;
    res = PQexecParams(conn, select_applied_sql, 0, NULL, NULL, NULL, NULL, 0);
    result = map_result(conn, res, err);
    sqlstate = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (result == DB_FAILED && sqlstate && strcmp(sqlstate, "42P01") == 0) {
        db_error_set(err, sqlstate,
                     "aucune migration appliquée (pas de table schema_migrations) / no "
                     "migration applied (no schema_migrations table)");
        result = DB_NOT_FOUND;
        goto out;
    }
    if (result != DB_OK)
        goto out;
    result = compare_applied(res, list, count, &done, err);
    if (result == DB_OK && done < count) {
        db_error_set(err, NULL, "la migration %s n'est pas appliquée / migration %s is not applied",
                     list[done].name, list[done].name);
        result = DB_NOT_FOUND;
    }
out:
    PQclear(res);
    return result;
}
