/* Forward-only schema migrations: db/migrations/NNNN_name.sql applied in order,
 * each once, in its own transaction, under a PostgreSQL advisory lock, with
 * its SHA-256 recorded in schema_migrations. */
#ifndef PVD_DB_MIGRATE_H
#define PVD_DB_MIGRATE_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "result.h"

/* Session-level advisory lock held by db_migrate for its whole run: the ASCII
 * bytes of "pvd-migr" (8103774725771716466). In pg_locks it shows as
 * locktype 'advisory', classid 1886807085, objid 1835624306, objsubid 1. */
#define DB_MIGRATE_LOCK_KEY INT64_C(0x7076642d6d696772)

/* One migration file as compiled into the binary (see db/migrations.c, generated). */
struct migration {
    int version;      /* NNNN */
    const char *name; /* file name, e.g. "0001_referentiel.sql" */
    const char *sql;
};

/* Applies the missing migrations of list[0..count) on conn (an open connection,
 * outside any transaction). Refuses to go on (DB_FAILED, message in err) when an
 * applied migration's checksum differs from the file's, or when the database
 * has a version this binary does not know. *applied receives the number of
 * migrations applied now.
 *
 * Details:
 *  - list must be sorted by strictly increasing version > 0, with non-NULL
 *    name and sql; otherwise DB_FAILED before anything is sent;
 *  - the applied versions must be a prefix of the list: a missing version
 *    below an applied one (a migration inserted after a newer one shipped)
 *    gives DB_FAILED rather than applying it out of order;
 *  - schema_migrations(version, name, checksum, applied_at) is created in the
 *    first schema of search_path when missing; checksum is the lowercase hex
 *    SHA-256 of the sql bytes;
 *  - each migration runs as BEGIN; its SQL; INSERT into schema_migrations;
 *    COMMIT. Its SQL may hold several statements but no transaction control
 *    (BEGIN/COMMIT/ROLLBACK: detected, DB_FAILED) and no COPY FROM STDIN/TO
 *    STDOUT (DB_FAILED). On failure that migration leaves nothing behind, the
 *    earlier ones stay applied, and err names the file;
 *  - conn's statement_timeout applies to every statement, the advisory-lock
 *    wait included: use a connection with no or a generous timeout;
 *  - notices raised by migrations go to conn's notice processor;
 *  - the advisory lock (DB_MIGRATE_LOCK_KEY) is released before returning,
 *    whatever the outcome; a concurrent db_migrate waits for it and then
 *    finds nothing left to do.
 * Blocks. Not for use on one conn from two threads at once. */
enum db_result db_migrate(PGconn *conn, const struct migration *list, size_t count, int *applied,
                          struct db_error *err);

/* DB_OK when every migration of the list is applied with a matching checksum;
 * DB_NOT_FOUND when one is missing (including no schema_migrations table);
 * DB_FAILED on mismatch or unknown version; DB_UNAVAILABLE when the
 * connection is lost. One query; call it outside a transaction. For /readyz. */
enum db_result db_migrations_current(PGconn *conn, const struct migration *list, size_t count,
                                     struct db_error *err);

#endif
