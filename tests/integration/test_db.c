/* Integration tests of db/ (pool, transaction runner, migrations) against a
 * real PostgreSQL named by PVD_TEST_DATABASE_URL. Each test works in its own
 * database t_<pid>_<n>, created in setup and dropped in teardown, so tests are
 * independent and may run in parallel (criterion runs each in its own process). */
#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/migrations.h"
#include "db/abonnement_repository.h"
#include "db/comite_repository.h"
#include "db/freshness.h"
#include "db/demande_repository.h"
#include "db/fiche_repository.h"
#include "db/journal_repository.h"
#include "db/maquette_repository.h"
#include "db/plan_action_repository.h"
#include "db/migrate.h"
#include "db/parametres_repository.h"
#include "db/mutation.h"
#include "db/pool.h"
#include "db/list_sync.h"
#include "db/statements.h"
#include "db/territoire_scope.h"
#include "db/transaction.h"
#include "domain/fiche.h"

#define ENV_URL "PVD_TEST_DATABASE_URL"

struct test_db {
    char name[64];
    char *base;     /* PVD_TEST_DATABASE_URL */
    char *conninfo; /* keyword string for the test database, owned */
};

static struct test_db tdb;
static unsigned tdb_counter;

static void quiet_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static PGconn *connect_to(const char *conninfo)
{
    PGconn *pg = PQconnectdb(conninfo);

    cr_assert(pg && PQstatus(pg) == CONNECTION_OK, "cannot connect to \"%s\": %s", conninfo,
              pg ? PQerrorMessage(pg) : "out of memory");
    PQsetNoticeProcessor(pg, quiet_notice, NULL);
    return pg;
}

static PGconn *test_connect(void)
{
    return connect_to(tdb.conninfo);
}

static void exec_ok(PGconn *pg, const char *sql)
{
    PGresult *res = PQexec(pg, sql);
    ExecStatusType status = PQresultStatus(res);
    char message[512];

    snprintf(message, sizeof message, "%s", res ? PQresultErrorMessage(res) : "no result");
    PQclear(res);
    cr_assert(status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK, "%s: %s", sql, message);
}

/* First column of the first row, copied into buf ("<null>" for SQL NULL). */
static const char *query_text(PGconn *pg, const char *sql, const char *param, char *buf,
                              size_t size)
{
    const char *params[1] = {param};
    PGresult *res =
        PQexecParams(pg, sql, param ? 1 : 0, NULL, param ? params : NULL, NULL, NULL, 0);
    bool ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;

    if (ok)
        snprintf(buf, size, "%s", PQgetisnull(res, 0, 0) ? "<null>" : PQgetvalue(res, 0, 0));
    else
        snprintf(buf, size, "%s", res ? PQresultErrorMessage(res) : "no result");
    PQclear(res);
    cr_assert(ok, "%s: %s", sql, buf);
    return buf;
}

static long query_long(PGconn *pg, const char *sql, const char *param)
{
    char buf[64];

    return strtol(query_text(pg, sql, param, buf, sizeof buf), NULL, 10);
}

static long count_rows(const char *sql)
{
    PGconn *pg = test_connect();
    long n = query_long(pg, sql, NULL);

    PQfinish(pg);
    return n;
}

/* Rebuilds `base` (URI or keywords) with dbname replaced, as a keyword string
 * or as a URI. Owned by the caller. */
static char *build_conninfo(const char *base, const char *dbname, bool uri)
{
    PQconninfoOption *opts, *o;
    char *errmsg = NULL;
    char *out = NULL;
    size_t len = 0;
    FILE *f;
    const char *p;
    char sep = '?';

    opts = PQconninfoParse(base, &errmsg);
    cr_assert(opts, ENV_URL " is not a valid libpq conninfo: %s", errmsg ? errmsg : "?");
    f = open_memstream(&out, &len);
    cr_assert(f);
    if (uri)
        fprintf(f, "postgresql:///%s", dbname);
    for (o = opts; o->keyword; o++) {
        if (!o->val || strcmp(o->keyword, "dbname") == 0)
            continue;
        if (uri) {
            fprintf(f, "%c%s=", sep, o->keyword);
            sep = '&';
            for (p = o->val; *p; p++) {
                if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.')
                    fputc(*p, f);
                else
                    fprintf(f, "%%%02X", (unsigned char)*p);
            }
        } else {
            fprintf(f, "%s='", o->keyword);
            for (p = o->val; *p; p++) {
                if (*p == '\'' || *p == '\\')
                    fputc('\\', f);
                fputc(*p, f);
            }
            fputs("' ", f);
        }
    }
    if (!uri)
        fprintf(f, "dbname='%s'", dbname);
    fclose(f);
    PQconninfoFree(opts);
    return out;
}

static void setup(void)
{
    const char *url = getenv(ENV_URL);
    char sql[160];
    PGconn *admin;

    cr_assert(url && url[0],
              ENV_URL " is not set: these integration tests need a real PostgreSQL 15 they may "
                      "create databases in, e.g. " ENV_URL "='host=/tmp/dbtest/sock port=56432 "
                      "user=postgres dbname=postgres' (see docs/toolchain.md section 2)");
    tdb.base = strdup(url);
    /* pid + counter: unique among live test processes, and only digits, so
     * it is safe to put into CREATE DATABASE (identifiers cannot be bound). */
    snprintf(tdb.name, sizeof tdb.name, "t_%ld_%u", (long)getpid(), tdb_counter++);
    admin = connect_to(url);
    snprintf(sql, sizeof sql, "drop database if exists %s with (force)", tdb.name);
    exec_ok(admin, sql);
    snprintf(sql, sizeof sql, "create database %s", tdb.name);
    exec_ok(admin, sql);
    PQfinish(admin);
    tdb.conninfo = build_conninfo(url, tdb.name, false);
}

static void teardown(void)
{
    char sql[160];
    PGconn *admin;

    if (!tdb.base)
        return;
    admin = connect_to(tdb.base);
    snprintf(sql, sizeof sql, "drop database if exists %s with (force)", tdb.name);
    exec_ok(admin, sql);
    PQfinish(admin);
    free(tdb.conninfo);
    free(tdb.base);
    tdb.conninfo = NULL;
    tdb.base = NULL;
}

TestSuite(db, .init = setup, .fini = teardown, .timeout = 60);

/* ------------------------------------------------------------------ helpers */

static struct db_pool *make_pool_with(const char *conninfo, unsigned size, unsigned acquire_ms,
                                      unsigned statement_ms)
{
    struct db_pool_options options = {
        .conninfo = conninfo,
        .size = size,
        .acquire_timeout_ms = acquire_ms,
        .statement_timeout_ms = statement_ms,
        .idle_in_tx_timeout_ms = 60000,
        .application_name = "pvd-test",
    };
    struct db_pool *pool = db_pool_new(&options);

    cr_assert(pool);
    return pool;
}

static struct db_pool *make_pool(unsigned size, unsigned acquire_ms, unsigned statement_ms)
{
    return make_pool_with(tdb.conninfo, size, acquire_ms, statement_ms);
}

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* Runs sql (one optional text parameter) on a pooled connection and maps the
 * result the way repositories do. */
static enum db_result run(struct db_conn *conn, const char *sql, const char *param,
                          struct db_error *err)
{
    const char *params[1] = {param};
    PGresult *res =
        PQexecParams(conn->pg, sql, param ? 1 : 0, NULL, param ? params : NULL, NULL, NULL, 0);
    enum db_result result = db_result_from_pg(conn, res, err);

    PQclear(res);
    return result;
}

static void terminate_backend(int pid)
{
    PGconn *other = test_connect();
    char pidtext[16], buf[16];

    snprintf(pidtext, sizeof pidtext, "%d", pid);
    /* PostgreSQL 14+: waits up to 5 s for the backend to be gone. */
    query_text(other, "select pg_terminate_backend($1::int, 5000)", pidtext, buf, sizeof buf);
    cr_assert_str_eq(buf, "t");
    PQfinish(other);
}

static void setup_items(void)
{
    PGconn *pg = test_connect();

    exec_ok(pg, "create table items (id int primary key, note text)");
    PQfinish(pg);
}

/* ------------------------------------------------------------------- pool */

Test(db, pool_acquire_release)
{
    struct db_pool *pool = make_pool(2, 1000, 5000);
    struct db_conn *a = NULL, *b = NULL;
    struct db_pool_stats stats;
    struct db_error err = {{0}, {0}};

    db_pool_stats(pool, &stats);
    cr_assert_eq(stats.size, 2);
    cr_assert_eq(stats.in_use, 0);

    cr_assert_eq(db_pool_acquire(pool, &a, &err), DB_OK, "%s", err.message);
    cr_assert_eq(db_pool_acquire(pool, &b, &err), DB_OK, "%s", err.message);
    cr_assert_neq(a->index, b->index);
    cr_assert_eq(a->generation, 1);
    cr_assert_eq(b->generation, 1);
    cr_assert_eq(run(a, "select 1", NULL, &err), DB_OK);
    db_pool_stats(pool, &stats);
    cr_assert_eq(stats.in_use, 2);
    db_pool_release(pool, a);
    db_pool_release(pool, b);

    db_pool_stats(pool, &stats);
    cr_assert_eq(stats.in_use, 0);
    cr_assert_eq(stats.reconnects, 0);
    cr_assert_eq(stats.acquire_timeouts, 0);

    /* Reuse keeps the connection and its generation. */
    cr_assert_eq(db_pool_acquire(pool, &a, &err), DB_OK);
    cr_assert_eq(a->generation, 1);
    db_pool_release(pool, a);
    cr_assert_eq(db_pool_ping(pool, &err), DB_OK, "%s", err.message);
    db_pool_free(pool);
}

Test(db, pool_exhaustion_times_out)
{
    struct db_pool *pool = make_pool(1, 100, 5000);
    struct db_conn dummy = {0};
    struct db_conn *held = NULL, *second = &dummy;
    struct db_pool_stats stats;
    struct db_error err = {{0}, {0}};
    double t0, elapsed;

    cr_assert_eq(db_pool_acquire(pool, &held, &err), DB_OK, "%s", err.message);
    t0 = now_ms();
    cr_assert_eq(db_pool_acquire(pool, &second, &err), DB_UNAVAILABLE);
    elapsed = now_ms() - t0;
    cr_assert_null(second);
    cr_assert(elapsed >= 95 && elapsed < 1000, "waited %.1f ms", elapsed);
    cr_assert_str_empty(err.sqlstate);
    cr_assert(strstr(err.message, "pool épuisé"), "%s", err.message);
    db_pool_stats(pool, &stats);
    cr_assert_eq(stats.acquire_timeouts, 1);
    cr_assert_eq(stats.waiting, 0);
    cr_assert_eq(stats.in_use, 1);

    db_pool_release(pool, held);
    cr_assert_eq(db_pool_acquire(pool, &held, &err), DB_OK);
    db_pool_release(pool, held);
    db_pool_free(pool);
}

struct waiter {
    struct db_pool *pool;
    enum db_result result;
    double waited_ms;
};

static void *waiter_main(void *arg)
{
    struct waiter *w = arg;
    struct db_conn *conn = NULL;
    double t0 = now_ms();

    w->result = db_pool_acquire(w->pool, &conn, NULL);
    w->waited_ms = now_ms() - t0;
    if (conn)
        db_pool_release(w->pool, conn);
    return NULL;
}

Test(db, pool_release_wakes_waiter)
{
    struct db_pool *pool = make_pool(1, 5000, 5000);
    struct waiter w = {.pool = pool, .result = DB_FAILED};
    struct db_conn *held = NULL;
    struct db_pool_stats stats;
    pthread_t thread;
    int i;

    cr_assert_eq(db_pool_acquire(pool, &held, NULL), DB_OK);
    cr_assert_eq(pthread_create(&thread, NULL, waiter_main, &w), 0);
    for (i = 0; i < 200; i++) {
        db_pool_stats(pool, &stats);
        if (stats.waiting == 1)
            break;
        sleep_ms(5);
    }
    cr_assert_eq(stats.waiting, 1, "the second thread never waited");
    sleep_ms(50);
    db_pool_release(pool, held);
    pthread_join(thread, NULL);
    cr_assert_eq(w.result, DB_OK);
    cr_assert(w.waited_ms >= 50 && w.waited_ms < 2000, "waited %.1f ms", w.waited_ms);
    db_pool_stats(pool, &stats);
    cr_assert_eq(stats.waiting, 0);
    cr_assert_eq(stats.acquire_timeouts, 0);
    db_pool_free(pool);
}

Test(db, pool_reconnects_after_backend_killed)
{
    struct db_pool *pool = make_pool(1, 1000, 5000);
    struct db_conn *conn = NULL;
    struct db_pool_stats stats;
    struct db_error err = {{0}, {0}};
    int pid;

    cr_assert_eq(db_pool_acquire(pool, &conn, &err), DB_OK, "%s", err.message);
    pid = PQbackendPID(conn->pg);
    db_pool_release(pool, conn);

    terminate_backend(pid);

    /* The backend said goodbye and closed (terminate_backend waits for it):
     * the idle connection has input pending, so the pool replaces it when
     * handing the slot out, and the request's first statement succeeds (a
     * replica idle through a database restart, issue #12 §1). */
    cr_assert_eq(db_pool_acquire(pool, &conn, &err), DB_OK, "%s", err.message);
    cr_assert_eq(conn->generation, 2);
    cr_assert_neq(PQbackendPID(conn->pg), pid);
    cr_assert_not(conn->broken);
    cr_assert_eq(run(conn, "select 1", NULL, &err), DB_OK, "%s", err.message);
    db_pool_release(pool, conn);
    db_pool_stats(pool, &stats);
    cr_assert_eq(stats.reconnects, 1);

    /* Lost while held: the statement fails as unavailable, the connection is
     * marked broken, and the next acquisition replaces it. */
    cr_assert_eq(db_pool_acquire(pool, &conn, &err), DB_OK, "%s", err.message);
    terminate_backend(PQbackendPID(conn->pg));
    cr_assert_eq(run(conn, "select 1", NULL, &err), DB_UNAVAILABLE);
    cr_assert(conn->broken);
    db_pool_release(pool, conn);
    cr_assert_eq(db_pool_acquire(pool, &conn, &err), DB_OK, "%s", err.message);
    cr_assert_eq(conn->generation, 3);
    cr_assert_eq(run(conn, "select 1", NULL, &err), DB_OK, "%s", err.message);
    db_pool_release(pool, conn);
    db_pool_free(pool);
}

Test(db, pool_connect_failure_is_unavailable)
{
    struct db_pool *pool =
        make_pool_with("host=127.0.0.1 port=1 user=nobody dbname=none", 1, 100, 5000);
    struct db_conn dummy = {0};
    struct db_conn *conn = &dummy;
    struct db_pool_stats stats;
    struct db_error err = {{0}, {0}};

    cr_assert_eq(db_pool_acquire(pool, &conn, &err), DB_UNAVAILABLE);
    cr_assert_null(conn);
    cr_assert_str_eq(err.sqlstate, "08001");
    cr_assert(strstr(err.message, "127.0.0.1"), "%s", err.message);
    db_pool_stats(pool, &stats);
    cr_assert_eq(stats.in_use, 0);
    cr_assert_eq(stats.connect_failures, 1);
    cr_assert_eq(stats.reconnects, 0);
    /* The slot was given back: a second try fails the same way, not by timeout. */
    cr_assert_eq(db_pool_acquire(pool, &conn, &err), DB_UNAVAILABLE);
    cr_assert_str_eq(err.sqlstate, "08001");
    db_pool_stats(pool, &stats);
    cr_assert_eq(stats.acquire_timeouts, 0);
    db_pool_free(pool);
}

static const char *conninfo_value(PGconn *pg, const char *keyword, char *buf, size_t size)
{
    PQconninfoOption *opts = PQconninfo(pg), *o;

    snprintf(buf, size, "<unset>");
    for (o = opts; o && o->keyword; o++)
        if (strcmp(o->keyword, keyword) == 0 && o->val)
            snprintf(buf, size, "%s", o->val);
    PQconninfoFree(opts);
    return buf;
}

Test(db, pool_session_settings)
{
    char *conninfo = NULL;
    struct db_pool *pool;
    struct db_conn *conn = NULL;
    char buf[128];
    size_t len = strlen(tdb.conninfo) + 64;

    /* conninfo's own options and connect_timeout are kept; the pool's
     * session settings are added after them. */
    conninfo = malloc(len);
    cr_assert(conninfo);
    snprintf(conninfo, len, "%s options='-c work_mem=8MB' connect_timeout=7", tdb.conninfo);
    pool = make_pool_with(conninfo, 1, 1000, 1500);
    free(conninfo);

    cr_assert_eq(db_pool_acquire(pool, &conn, NULL), DB_OK);
    cr_assert_str_eq(query_text(conn->pg, "show statement_timeout", NULL, buf, sizeof buf),
                     "1500ms");
    cr_assert_str_eq(
        query_text(conn->pg, "show idle_in_transaction_session_timeout", NULL, buf, sizeof buf),
        "1min");
    cr_assert_str_eq(query_text(conn->pg, "show TimeZone", NULL, buf, sizeof buf), "UTC");
    cr_assert_str_eq(query_text(conn->pg, "show application_name", NULL, buf, sizeof buf),
                     "pvd-test");
    cr_assert_str_eq(query_text(conn->pg, "show work_mem", NULL, buf, sizeof buf), "8MB");
    cr_assert_str_eq(query_text(conn->pg, "show jit", NULL, buf, sizeof buf), "off");
    cr_assert_str_eq(conninfo_value(conn->pg, "connect_timeout", buf, sizeof buf), "7");
    cr_assert_str_eq(conninfo_value(conn->pg, "keepalives", buf, sizeof buf), "1");
    db_pool_release(pool, conn);
    db_pool_free(pool);

    /* Without one in conninfo, connect_timeout defaults to 2. */
    pool = make_pool(1, 1000, 1500);
    cr_assert_eq(db_pool_acquire(pool, &conn, NULL), DB_OK);
    cr_assert_str_eq(conninfo_value(conn->pg, "connect_timeout", buf, sizeof buf), "2");
    cr_assert_str_eq(conninfo_value(conn->pg, "keepalives_idle", buf, sizeof buf), "30");
    db_pool_release(pool, conn);
    db_pool_free(pool);
}

/* Issue 12 §2: behind a transaction pooler no session state is relied on. The pool sends no
 * `options` (PgBouncer refuses it), sets TimeZone with SET (a reported parameter the
 * pooler replays), and each transaction of db_run_transaction carries the timeouts with SET
 * LOCAL, which end with it. */
struct pooler_seen {
    char statement_timeout[32], idle_timeout[32], isolation[32], jit[8];
};

static enum db_result work_show_settings(struct db_conn *conn, void *arg, struct db_error *err)
{
    struct pooler_seen *seen = arg;

    (void)err;
    query_text(conn->pg, "show statement_timeout", NULL, seen->statement_timeout,
               sizeof seen->statement_timeout);
    query_text(conn->pg, "show idle_in_transaction_session_timeout", NULL, seen->idle_timeout,
               sizeof seen->idle_timeout);
    query_text(conn->pg, "show transaction_isolation", NULL, seen->isolation,
               sizeof seen->isolation);
    query_text(conn->pg, "show jit", NULL, seen->jit, sizeof seen->jit);
    return DB_OK;
}

Test(db, pool_transaction_pooler_settings_per_transaction)
{
    struct db_pool_options options = {
        .conninfo = tdb.conninfo,
        .size = 1,
        .acquire_timeout_ms = 1000,
        .statement_timeout_ms = 1500,
        .idle_in_tx_timeout_ms = 60000,
        .application_name = "pvd-test",
        .transaction_pooler = true,
    };
    struct db_pool *pool = db_pool_new(&options);
    struct db_conn *conn = NULL;
    struct pooler_seen seen;
    struct db_error err = {{0}, {0}};
    char buf[64];

    cr_assert(pool);
    cr_assert_str_eq(db_pool_transaction_settings(pool),
                     "SET LOCAL statement_timeout = 1500;"
                     " SET LOCAL idle_in_transaction_session_timeout = 60000; SET LOCAL jit = off");
    cr_assert_eq(db_pool_acquire(pool, &conn, NULL), DB_OK);
    cr_assert_str_eq(query_text(conn->pg, "show statement_timeout", NULL, buf, sizeof buf), "0");
    cr_assert_str_eq(query_text(conn->pg, "show TimeZone", NULL, buf, sizeof buf), "UTC");
    conninfo_value(conn->pg, "options", buf, sizeof buf);
    cr_assert(strcmp(buf, "<unset>") == 0 || buf[0] == '\0', "options sent: %s", buf);
    db_pool_release(pool, conn);

    cr_assert_eq(
        db_run_transaction(pool, DB_ISOLATION_SERIALIZABLE, work_show_settings, &seen, &err), DB_OK,
        "%s", err.message);
    cr_assert_str_eq(seen.statement_timeout, "1500ms");
    cr_assert_str_eq(seen.idle_timeout, "1min");
    cr_assert_str_eq(seen.isolation, "serializable");
    cr_assert_str_eq(seen.jit, "off");

    /* SET LOCAL ended with the transaction: nothing is left on the session. */
    cr_assert_eq(db_pool_acquire(pool, &conn, NULL), DB_OK);
    cr_assert_str_eq(query_text(conn->pg, "show statement_timeout", NULL, buf, sizeof buf), "0");
    db_pool_release(pool, conn);
    db_pool_free(pool);

    /* Without a pooler there is nothing to add to BEGIN. */
    pool = make_pool(1, 1000, 1500);
    cr_assert_null(db_pool_transaction_settings(pool));
    db_pool_free(pool);
}

/* ------------------------------------------------------- prepared statements */

/* The number of prepared statements of conn's session. */
static long prepared_count(struct db_conn *conn)
{
    return query_long(conn->pg, "select count(*) from pg_prepared_statements", NULL);
}

static enum db_result cached_exec(struct db_conn *conn, const char *sql, const char *param,
                                  char *out, size_t size, struct db_error *err)
{
    const char *params[1] = {param};
    PGresult *res = db_exec_params(conn, sql, param ? 1 : 0, param ? params : NULL);
    enum db_result r = db_result_from_pg(conn, res, err);
    if (out)
        snprintf(out, size, "%s", r == DB_OK && PQntuples(res) ? PQgetvalue(res, 0, 0) : "");
    PQclear(res);
    return r;
}

Test(db, statements_prepared_once_per_connection)
{
    struct db_pool *pool = make_pool(1, 1000, 0);
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    char buf[64];

    cr_assert_eq(db_pool_acquire(pool, &conn, NULL), DB_OK);
    cr_assert_eq(prepared_count(conn), 0);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(cached_exec(conn, "select $1::int + 1", "41", buf, sizeof buf, &err), DB_OK);
        cr_assert_str_eq(buf, "42");
    }
    cr_assert_eq(prepared_count(conn), 1, "one text, one prepared statement");
    cr_assert_eq(cached_exec(conn, "select $1::int + 2", "40", buf, sizeof buf, &err), DB_OK);
    cr_assert_str_eq(buf, "42");
    cr_assert_eq(prepared_count(conn), 2);

    /* A failed Parse caches nothing and answers the statement's own error. */
    cr_assert_eq(cached_exec(conn, "selec 1", NULL, NULL, 0, &err), DB_FAILED);
    cr_assert_str_eq(err.sqlstate, "42601");
    cr_assert_eq(prepared_count(conn), 2);

    /* The server forgot them (DISCARD ALL): one error, then prepared again. */
    cr_assert_eq(cached_exec(conn, "discard all", NULL, NULL, 0, &err), DB_OK);
    cr_assert_eq(cached_exec(conn, "select $1::int + 1", "1", buf, sizeof buf, &err), DB_FAILED);
    cr_assert_str_eq(err.sqlstate, "26000");
    cr_assert_eq(cached_exec(conn, "select $1::int + 1", "1", buf, sizeof buf, &err), DB_OK);
    cr_assert_str_eq(buf, "2");
    db_pool_release(pool, conn);

    /* A replaced connection starts with an empty cache. */
    cr_assert_eq(db_pool_acquire(pool, &conn, NULL), DB_OK);
    db_conn_mark_broken(conn);
    db_pool_release(pool, conn);
    cr_assert_eq(db_pool_acquire(pool, &conn, NULL), DB_OK);
    cr_assert_eq(prepared_count(conn), 0);
    cr_assert_eq(cached_exec(conn, "select $1::int + 1", "2", buf, sizeof buf, &err), DB_OK);
    cr_assert_str_eq(buf, "3");
    cr_assert_eq(prepared_count(conn), 1);
    db_pool_release(pool, conn);
    db_pool_free(pool);
}

Test(db, statements_bounded_per_connection)
{
    struct db_pool *pool = make_pool(1, 1000, 0);
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    char sql[64], buf[32];

    cr_assert_eq(db_pool_acquire(pool, &conn, NULL), DB_OK);
    for (int i = 0; i < DB_STATEMENT_CACHE_MAX + 50; i++) {
        snprintf(sql, sizeof sql, "select %d", i);
        cr_assert_eq(cached_exec(conn, sql, NULL, buf, sizeof buf, &err), DB_OK);
        cr_assert_eq(atoi(buf), i);
    }
    cr_assert_eq(prepared_count(conn), DB_STATEMENT_CACHE_MAX, "texts past the bound run unnamed");
    db_pool_release(pool, conn);
    db_pool_free(pool);
}

Test(db, statements_unnamed_behind_transaction_pooler)
{
    struct db_pool_options options = {
        .conninfo = tdb.conninfo,
        .size = 1,
        .acquire_timeout_ms = 1000,
        .idle_in_tx_timeout_ms = 60000,
        .transaction_pooler = true,
    };
    struct db_pool *pool = db_pool_new(&options);
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    char buf[32];

    cr_assert(pool);
    cr_assert_eq(db_pool_acquire(pool, &conn, NULL), DB_OK);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(cached_exec(conn, "select $1::int * 2", "21", buf, sizeof buf, &err), DB_OK);
    cr_assert_str_eq(buf, "42");
    cr_assert_eq(prepared_count(conn), 0, "no named statement for a transaction pooler");
    db_pool_release(pool, conn);
    db_pool_free(pool);
}

Test(db, territoire_scope_from_lines)
{
    struct territoire_scope s;

    memset(&s, 0x5a, sizeof s);
    cr_assert_eq(territoire_scope_from_lines("pvd-1", NULL, &s), DB_NOT_FOUND);
    cr_assert_eq(territoire_scope_from_lines("pvd-1", "", &s), DB_NOT_FOUND);
    cr_assert_eq(territoire_scope_from_lines("pvd-1", "d|90\nt|90|27", &s), DB_NOT_FOUND,
                 "the territoire's own line comes first");
    cr_assert_eq(((unsigned char *)&s)[0], 0x5a, "out untouched when not found");

    cr_assert_eq(territoire_scope_from_lines("pvd-1",
                                             "t|90|27\nd|90\nd|25\nr|27\nr|27\ns|123456789\n"
                                             "s|12345\ns|123456789\nx|zz\nd|\ns|987654321",
                                             &s),
                 DB_OK);
    cr_assert_str_eq(s.id_pvd, "pvd-1");
    cr_assert_str_eq(s.code_departement, "90");
    cr_assert_str_eq(s.code_region, "27");
    cr_assert_eq(s.departement_count, 2);
    cr_assert_str_eq(s.departements[0], "90");
    cr_assert_str_eq(s.departements[1], "25");
    cr_assert_eq(s.region_count, 1);
    cr_assert_eq(s.siren_count, 2, "malformed and repeated SIRENs skipped");
    cr_assert_str_eq(s.sirens[0], "123456789");
    cr_assert_str_eq(s.sirens[1], "987654321");
}

Test(db, pool_accepts_uri)
{
    char *uri = build_conninfo(tdb.base, tdb.name, true);
    struct db_pool *pool = make_pool_with(uri, 1, 1000, 2500);
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    char buf[64];

    cr_assert_eq(db_pool_acquire(pool, &conn, &err), DB_OK, "%s: %s", uri, err.message);
    cr_assert_str_eq(query_text(conn->pg, "select current_database()", NULL, buf, sizeof buf),
                     tdb.name);
    cr_assert_str_eq(query_text(conn->pg, "show statement_timeout", NULL, buf, sizeof buf),
                     "2500ms");
    db_pool_release(pool, conn);
    db_pool_free(pool);
    free(uri);
}

Test(db, statement_timeout_is_unavailable)
{
    struct db_pool *pool = make_pool(1, 1000, 100);
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    double t0, elapsed;

    cr_assert_eq(db_pool_acquire(pool, &conn, &err), DB_OK);
    t0 = now_ms();
    cr_assert_eq(run(conn, "select pg_sleep(2)", NULL, &err), DB_UNAVAILABLE);
    elapsed = now_ms() - t0;
    cr_assert(elapsed < 1500, "took %.1f ms", elapsed);
    cr_assert_str_eq(err.sqlstate, "57014");
    cr_assert(strstr(err.message, "statement timeout"), "%s", err.message);
    /* A timeout does not break the connection. */
    cr_assert_not(conn->broken);
    cr_assert_eq(run(conn, "select 1", NULL, &err), DB_OK);
    db_pool_release(pool, conn);
    cr_assert_eq(db_pool_acquire(pool, &conn, &err), DB_OK);
    cr_assert_eq(conn->generation, 1);
    db_pool_release(pool, conn);
    db_pool_free(pool);
}

Test(db, sqlstate_mapping)
{
    struct db_pool *pool = make_pool(1, 1000, 5000);
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};

    cr_assert_eq(db_pool_acquire(pool, &conn, &err), DB_OK);
    cr_assert_eq(run(conn, "create table parent (id int primary key)", NULL, &err), DB_OK);
    cr_assert_eq(run(conn, "create table child (parent_id int references parent (id))", NULL, &err),
                 DB_OK);
    cr_assert_eq(run(conn, "insert into parent values ($1::int)", "1", &err), DB_OK);

    cr_assert_eq(run(conn, "insert into parent values ($1::int)", "1", &err), DB_CONFLICT);
    cr_assert_str_eq(err.sqlstate, "23505");
    cr_assert(strstr(err.message, "duplicate key"), "%s", err.message);
    cr_assert_eq(run(conn, "insert into child values ($1::int)", "99", &err), DB_CONFLICT);
    cr_assert_str_eq(err.sqlstate, "23503");
    cr_assert_eq(
        run(conn, "do $$ begin raise exception 'x' using errcode = '40P01'; end $$", NULL, &err),
        DB_RETRY);
    cr_assert_str_eq(err.sqlstate, "40P01");
    cr_assert_eq(run(conn, "selec 1", NULL, &err), DB_FAILED);
    cr_assert_str_eq(err.sqlstate, "42601");
    cr_assert_eq(run(conn, "select 1/0", NULL, &err), DB_FAILED);
    cr_assert_str_eq(err.sqlstate, "22012");
    /* Data exceptions (22xxx) are failures, never an outage: text that is not
     * UTF-8 (22021), a number out of range (22003). */
    cr_assert_eq(run(conn, "select $1::text", "\xc0\xaf", &err), DB_FAILED);
    cr_assert_str_eq(err.sqlstate, "22021");
    cr_assert_not(conn->broken);
    cr_assert_eq(run(conn, "select $1::bigint", "99999999999999999999999", &err), DB_FAILED);
    cr_assert_str_eq(err.sqlstate, "22003");
    cr_assert_eq(
        run(conn, "do $$ begin raise exception 'x' using errcode = '53300'; end $$", NULL, &err),
        DB_UNAVAILABLE);
    cr_assert_not(conn->broken);
    /* No result at all (libpq out of memory, say): unavailable only when the
     * connection is gone, else failed. */
    cr_assert_eq(db_result_from_pg(conn, NULL, &err), DB_FAILED);
    cr_assert_not(conn->broken);
    db_pool_release(pool, conn);
    db_pool_free(pool);
}

Test(db, release_rolls_back_leaked_transaction)
{
    struct db_pool *pool = make_pool(1, 1000, 5000);
    struct db_conn *conn = NULL;
    struct db_pool_stats stats;
    PGresult *res;

    setup_items();
    cr_assert_eq(db_pool_acquire(pool, &conn, NULL), DB_OK);
    res = PQexec(conn->pg, "BEGIN");
    PQclear(res);
    cr_assert_eq(run(conn, "insert into items values (1)", NULL, NULL), DB_OK);
    cr_assert_eq(PQtransactionStatus(conn->pg), PQTRANS_INTRANS);
    db_pool_release(pool, conn);

    db_pool_stats(pool, &stats);
    cr_assert_eq(stats.released_in_transaction, 1);
    cr_assert_eq(db_pool_acquire(pool, &conn, NULL), DB_OK);
    cr_assert_eq(PQtransactionStatus(conn->pg), PQTRANS_IDLE);
    cr_assert_eq(conn->generation, 1, "rolled back, not reconnected");
    db_pool_release(pool, conn);
    db_pool_free(pool);
    cr_assert_eq(count_rows("select count(*) from items"), 0);
}

Test(db, error_message_cut_on_utf8_boundary)
{
    struct db_error err;
    char long_text[600];
    size_t i, len;

    for (i = 0; i + 2 < sizeof long_text; i += 2)
        memcpy(long_text + i, "\xc3\xa9", 2); /* é */
    long_text[i] = '\0';
    /* 2k bytes: the 255-byte cut falls inside the 128th é, which is dropped. */
    db_error_set(&err, "XX000", "%s", long_text);
    len = strlen(err.message);
    cr_assert_eq(len, 254);
    cr_assert_eq((unsigned char)err.message[len - 1], 0xa9);
    /* 1 + 2k bytes: the cut falls on a boundary, nothing more is dropped. */
    db_error_set(&err, "XX000", "a%s", long_text);
    cr_assert_eq(strlen(err.message), 255);
    cr_assert_str_eq(err.sqlstate, "XX000");
    db_error_set(&err, NULL, "line\n");
    cr_assert_str_eq(err.message, "line");
    cr_assert_str_empty(err.sqlstate);
    db_error_set(NULL, NULL, "ignored");
}

/* ------------------------------------------------------------ transactions */

struct tx_ctx {
    int calls;
    int fail_first;        /* attempts that end with a simulated 40001 */
    const char *id;        /* row inserted by every attempt */
    enum db_result finish; /* returned after the insert */
    bool swallow_error;    /* run a failing statement and ignore it */
};

static enum db_result work_insert(struct db_conn *conn, void *arg, struct db_error *err)
{
    struct tx_ctx *ctx = arg;
    enum db_result result;

    ctx->calls++;
    result = run(conn, "insert into items (id) values ($1::int)", ctx->id, err);
    if (result != DB_OK)
        return result;
    if (ctx->calls <= ctx->fail_first)
        return run(conn, "do $$ begin raise exception 'simulated' using errcode = '40001'; end $$",
                   NULL, err);
    if (ctx->swallow_error)
        (void)run(conn, "select 1/0", NULL, err);
    if (ctx->finish != DB_OK)
        snprintf(err->message, sizeof err->message, "work gave up");
    return ctx->finish;
}

Test(db, transaction_commits)
{
    struct db_pool *pool = make_pool(1, 1000, 5000);
    struct tx_ctx ctx = {.id = "1"};
    struct db_pool_stats stats;
    struct db_error err = {{0}, {0}};

    setup_items();
    cr_assert_eq(db_run_transaction(pool, DB_ISOLATION_SERIALIZABLE, work_insert, &ctx, &err),
                 DB_OK, "%s", err.message);
    cr_assert_eq(ctx.calls, 1);
    cr_assert_eq(db_transaction_retries(), 0);
    db_pool_stats(pool, &stats);
    cr_assert_eq(stats.in_use, 0);
    cr_assert_eq(stats.released_in_transaction, 0);
    db_pool_free(pool);
    cr_assert_eq(count_rows("select count(*) from items where id = 1"), 1);
}

Test(db, transaction_rolls_back_on_work_failure)
{
    struct db_pool *pool = make_pool(1, 1000, 5000);
    struct tx_ctx ctx = {.id = "1", .finish = DB_NOT_FOUND};
    struct db_pool_stats stats;
    struct db_error err = {{0}, {0}};

    setup_items();
    cr_assert_eq(db_run_transaction(pool, DB_ISOLATION_READ_COMMITTED, work_insert, &ctx, &err),
                 DB_NOT_FOUND);
    cr_assert_str_eq(err.message, "work gave up");
    cr_assert_eq(ctx.calls, 1);
    db_pool_stats(pool, &stats);
    cr_assert_eq(stats.released_in_transaction, 0, "the runner rolls back itself");
    db_pool_free(pool);
    cr_assert_eq(count_rows("select count(*) from items"), 0);
}

Test(db, transaction_conflict_is_not_retried)
{
    struct db_pool *pool = make_pool(1, 1000, 5000);
    struct tx_ctx ctx = {.id = "1"};
    struct db_error err = {{0}, {0}};

    setup_items();
    cr_assert_eq(db_run_transaction(pool, DB_ISOLATION_READ_COMMITTED, work_insert, &ctx, &err),
                 DB_OK);
    ctx.calls = 0;
    cr_assert_eq(db_run_transaction(pool, DB_ISOLATION_READ_COMMITTED, work_insert, &ctx, &err),
                 DB_CONFLICT);
    cr_assert_str_eq(err.sqlstate, "23505");
    cr_assert_eq(ctx.calls, 1);
    cr_assert_eq(db_transaction_retries(), 0);
    db_pool_free(pool);
}

Test(db, transaction_retries_40001_from_work)
{
    struct db_pool *pool = make_pool(1, 1000, 5000);
    struct tx_ctx ctx = {.id = "1", .fail_first = 1};
    struct db_error err = {{0}, {0}};

    setup_items();
    /* Attempt 1 inserts id 1 then fails: if it were not rolled back,
     * attempt 2 would hit 23505. */
    cr_assert_eq(db_run_transaction(pool, DB_ISOLATION_SERIALIZABLE, work_insert, &ctx, &err),
                 DB_OK, "%s", err.message);
    cr_assert_eq(ctx.calls, 2);
    cr_assert_eq(db_transaction_retries(), 1);
    db_pool_free(pool);
    cr_assert_eq(count_rows("select count(*) from items"), 1);
}

Test(db, transaction_gives_up_after_max_attempts)
{
    struct db_pool *pool = make_pool(1, 1000, 5000);
    struct tx_ctx ctx = {.id = "1", .fail_first = 1000};
    struct db_error err = {{0}, {0}};

    setup_items();
    cr_assert_eq(db_run_transaction(pool, DB_ISOLATION_SERIALIZABLE, work_insert, &ctx, &err),
                 DB_UNAVAILABLE);
    cr_assert_eq(ctx.calls, DB_TRANSACTION_MAX_ATTEMPTS);
    cr_assert_eq(db_transaction_retries(), DB_TRANSACTION_MAX_ATTEMPTS - 1);
    cr_assert_str_eq(err.sqlstate, "40001");
    db_pool_free(pool);
    cr_assert_eq(count_rows("select count(*) from items"), 0);
}

Test(db, transaction_retries_40001_from_commit)
{
    struct db_pool *pool = make_pool(1, 1000, 5000);
    struct tx_ctx ctx = {.id = "1"};
    struct db_error err = {{0}, {0}};
    PGconn *pg = test_connect();

    setup_items();
    /* A deferred constraint trigger runs at COMMIT; the sequence is not
     * transactional, so only the first COMMIT fails. */
    exec_ok(pg, "create sequence commit_failures");
    exec_ok(pg, "create function fail_first_commit() returns trigger language plpgsql as $$"
                " begin"
                "   if nextval('commit_failures') = 1 then"
                "     raise exception 'simulated at commit' using errcode = '40001';"
                "   end if;"
                "   return null;"
                " end $$");
    exec_ok(pg, "create constraint trigger items_commit after insert on items"
                " deferrable initially deferred for each row execute function fail_first_commit()");
    PQfinish(pg);

    cr_assert_eq(db_run_transaction(pool, DB_ISOLATION_SERIALIZABLE, work_insert, &ctx, &err),
                 DB_OK, "%s", err.message);
    cr_assert_eq(ctx.calls, 2);
    cr_assert_eq(db_transaction_retries(), 1);
    db_pool_free(pool);
    cr_assert_eq(count_rows("select count(*) from items"), 1);
}

/* db_run_transaction_held: work done, transaction left open until the
 * caller commits or aborts; nothing is visible before. */
Test(db, held_transaction_commits_only_when_asked)
{
    struct db_pool *pool = make_pool(2, 1000, 5000);
    struct tx_ctx ctx = {.id = "1"};
    struct db_error err = {{0}, {0}};
    struct db_held_tx held = {NULL, NULL};
    struct db_pool_stats stats;

    setup_items();
    cr_assert_eq(
        db_run_transaction_held(pool, DB_ISOLATION_READ_COMMITTED, work_insert, &ctx, &held, &err),
        DB_OK, "%s", err.message);
    cr_assert_not_null(held.conn);
    cr_assert_eq(count_rows("select count(*) from items"), 0, "not committed yet");
    db_pool_stats(pool, &stats);
    cr_assert_eq(stats.in_use, 1, "the held transaction keeps its connection");
    cr_assert_eq(db_held_commit(&held, &err), DB_OK, "%s", err.message);
    cr_assert_null(held.conn);
    cr_assert_eq(count_rows("select count(*) from items where id = 1"), 1);

    ctx = (struct tx_ctx){.id = "2"};
    cr_assert_eq(
        db_run_transaction_held(pool, DB_ISOLATION_READ_COMMITTED, work_insert, &ctx, &held, &err),
        DB_OK);
    db_held_abort(&held);
    cr_assert_null(held.conn);
    db_held_abort(&held); /* a no-op once ended */
    db_pool_stats(pool, &stats);
    cr_assert_eq(stats.in_use, 0);
    cr_assert_eq(stats.released_in_transaction, 0, "abort rolled back itself");
    db_pool_free(pool);
    cr_assert_eq(count_rows("select count(*) from items where id = 2"), 0);
}

/* A failed unit holds nothing; a serialization failure at the held COMMIT is
 * DB_RETRY with nothing committed, so the caller can run its unit again. */
Test(db, held_transaction_failures_hold_nothing)
{
    struct db_pool *pool = make_pool(1, 1000, 5000);
    struct tx_ctx ctx = {.id = "1", .finish = DB_NOT_FOUND};
    struct db_error err = {{0}, {0}};
    struct db_held_tx held = {NULL, NULL};
    PGconn *pg = test_connect();

    setup_items();
    cr_assert_eq(
        db_run_transaction_held(pool, DB_ISOLATION_READ_COMMITTED, work_insert, &ctx, &held, &err),
        DB_NOT_FOUND);
    cr_assert_null(held.conn);

    exec_ok(pg, "create sequence held_commit_failures");
    exec_ok(pg, "create function fail_first_held_commit() returns trigger language plpgsql as $$"
                " begin"
                "   if nextval('held_commit_failures') = 1 then"
                "     raise exception 'simulated at commit' using errcode = '40001';"
                "   end if;"
                "   return null;"
                " end $$");
    exec_ok(pg, "create constraint trigger items_held_commit after insert on items"
                " deferrable initially deferred for each row execute function"
                " fail_first_held_commit()");
    PQfinish(pg);
    ctx = (struct tx_ctx){.id = "1"};
    cr_assert_eq(
        db_run_transaction_held(pool, DB_ISOLATION_SERIALIZABLE, work_insert, &ctx, &held, &err),
        DB_OK);
    cr_assert_eq(db_held_commit(&held, &err), DB_RETRY);
    cr_assert_str_eq(err.sqlstate, "40001");
    cr_assert_null(held.conn);
    cr_assert_eq(count_rows("select count(*) from items"), 0);
    cr_assert_eq(
        db_run_transaction_held(pool, DB_ISOLATION_SERIALIZABLE, work_insert, &ctx, &held, &err),
        DB_OK);
    cr_assert_eq(db_held_commit(&held, &err), DB_OK, "%s", err.message);
    db_pool_free(pool);
    cr_assert_eq(count_rows("select count(*) from items"), 1);
}

Test(db, transaction_connection_lost_at_commit_is_not_retried)
{
    struct db_pool *pool = make_pool(1, 1000, 5000);
    struct tx_ctx ctx = {.id = "1"};
    struct db_pool_stats stats;
    struct db_error err = {{0}, {0}};
    struct db_conn *conn = NULL;
    PGconn *pg = test_connect();

    setup_items();
    /* The backend kills itself while running the deferred trigger at COMMIT. */
    exec_ok(pg, "create function die_at_commit() returns trigger language plpgsql as $$"
                " begin perform pg_terminate_backend(pg_backend_pid()); return null; end $$");
    exec_ok(pg, "create constraint trigger items_commit after insert on items"
                " deferrable initially deferred for each row execute function die_at_commit()");
    PQfinish(pg);

    cr_assert_eq(db_run_transaction(pool, DB_ISOLATION_READ_COMMITTED, work_insert, &ctx, &err),
                 DB_UNAVAILABLE);
    cr_assert_eq(ctx.calls, 1);
    cr_assert_eq(db_transaction_retries(), 0);
    /* Depending on timing libpq reads the FATAL (57P01) or only sees EOF. */
    cr_assert(strcmp(err.sqlstate, "57P01") == 0 || err.sqlstate[0] == '\0', "%s: %s", err.sqlstate,
              err.message);
    cr_assert_str_not_empty(err.message);

    /* The dead connection was closed on release and is replaced. */
    cr_assert_eq(db_pool_acquire(pool, &conn, &err), DB_OK);
    cr_assert_eq(conn->generation, 2);
    db_pool_release(pool, conn);
    db_pool_stats(pool, &stats);
    cr_assert_eq(stats.reconnects, 1);
    db_pool_free(pool);
}

Test(db, transaction_refuses_commit_of_aborted_work)
{
    struct db_pool *pool = make_pool(1, 1000, 5000);
    struct tx_ctx ctx = {.id = "1", .swallow_error = true};
    struct db_pool_stats stats;
    struct db_error err = {{0}, {0}};

    setup_items();
    cr_assert_eq(db_run_transaction(pool, DB_ISOLATION_READ_COMMITTED, work_insert, &ctx, &err),
                 DB_FAILED);
    cr_assert_str_eq(err.sqlstate, "25P02");
    db_pool_stats(pool, &stats);
    cr_assert_eq(stats.released_in_transaction, 0);
    db_pool_free(pool);
    cr_assert_eq(count_rows("select count(*) from items"), 0);
}

Test(db, transaction_replaces_connection_killed_while_idle)
{
    struct db_pool *pool = make_pool(1, 1000, 5000);
    struct tx_ctx ctx = {.id = "1"};
    struct db_pool_stats stats;
    struct db_error err = {{0}, {0}};
    struct db_conn *conn = NULL;
    int pid;

    setup_items();
    cr_assert_eq(db_pool_acquire(pool, &conn, &err), DB_OK);
    pid = PQbackendPID(conn->pg);
    db_pool_release(pool, conn);
    terminate_backend(pid);

    cr_assert_eq(db_run_transaction(pool, DB_ISOLATION_READ_COMMITTED, work_insert, &ctx, &err),
                 DB_OK, "%s", err.message);
    cr_assert_eq(ctx.calls, 1);
    db_pool_stats(pool, &stats);
    cr_assert_eq(stats.reconnects, 1);
    db_pool_free(pool);
    cr_assert_eq(count_rows("select count(*) from items"), 1);
}

/* -------------------------------------------------------------- migrations */

static const struct migration m1 = {1, "0001_a.sql",
                                    "create table a (id int primary key);\n"
                                    "comment on table a is 'first';\n"};
static const struct migration m2 = {2, "0002_b.sql",
                                    "create table b (id int references a (id));\n"
                                    "insert into a values (1);\n"
                                    "insert into b values (1);\n"};
static const struct migration m3 = {3, "0003_c.sql", "alter table b add column note text;"};

static long advisory_locks(void)
{
    /* pg_locks is cluster-wide: other tests run in parallel in other databases. */
    return count_rows("select count(*) from pg_locks l join pg_database d on d.oid = l.database"
                      " where l.locktype = 'advisory' and d.datname = current_database()");
}

static bool table_exists(const char *name)
{
    PGconn *pg = test_connect();
    char buf[64];
    bool exists;

    exists = strcmp(query_text(pg, "select to_regclass($1) is not null", name, buf, sizeof buf),
                    "t") == 0;
    PQfinish(pg);
    return exists;
}

Test(db, migrate_applies_then_noop)
{
    const struct migration two[] = {m1, m2};
    const struct migration three[] = {m1, m2, m3};
    struct db_error err = {{0}, {0}};
    PGconn *pg = test_connect();
    PGresult *res;
    int applied = -1, i;

    cr_assert_eq(db_migrations_current(pg, two, 2, &err), DB_NOT_FOUND);
    cr_assert_eq(db_migrate(pg, two, 2, &applied, &err), DB_OK, "%s", err.message);
    cr_assert_eq(applied, 2);
    cr_assert(table_exists("a") && table_exists("b"));
    cr_assert_eq(PQtransactionStatus(pg), PQTRANS_IDLE);
    cr_assert_eq(advisory_locks(), 0);

    /* The recorded checksum is the hex SHA-256 of the SQL, as PostgreSQL computes it. */
    res = PQexec(pg, "select version, name, checksum,"
                     " applied_at is not null from schema_migrations order by version");
    cr_assert_eq(PQntuples(res), 2);
    for (i = 0; i < 2; i++) {
        char buf[80];

        cr_assert_eq(atoi(PQgetvalue(res, i, 0)), two[i].version);
        cr_assert_str_eq(PQgetvalue(res, i, 1), two[i].name);
        cr_assert_str_eq(PQgetvalue(res, i, 3), "t");
        query_text(pg, "select encode(sha256(convert_to($1, 'UTF8')), 'hex')", two[i].sql, buf,
                   sizeof buf);
        cr_assert_str_eq(PQgetvalue(res, i, 2), buf);
    }
    PQclear(res);

    applied = -1;
    cr_assert_eq(db_migrate(pg, two, 2, &applied, &err), DB_OK, "%s", err.message);
    cr_assert_eq(applied, 0);
    cr_assert_eq(db_migrations_current(pg, two, 2, &err), DB_OK, "%s", err.message);

    cr_assert_eq(db_migrations_current(pg, three, 3, &err), DB_NOT_FOUND);
    cr_assert(strstr(err.message, "0003_c.sql"), "%s", err.message);
    cr_assert_eq(db_migrate(pg, three, 3, &applied, &err), DB_OK, "%s", err.message);
    cr_assert_eq(applied, 1);
    cr_assert_eq(db_migrations_current(pg, three, 3, &err), DB_OK, "%s", err.message);
    PQfinish(pg);
}

Test(db, migrate_refuses_modified_migration)
{
    const struct migration two[] = {m1, m2};
    struct migration edited[] = {m1, m2};
    struct db_error err = {{0}, {0}};
    PGconn *pg = test_connect();
    int applied = -1;

    cr_assert_eq(db_migrate(pg, two, 2, &applied, &err), DB_OK, "%s", err.message);
    edited[0].sql = "create table a (id bigint primary key);";
    cr_assert_eq(db_migrate(pg, edited, 2, &applied, &err), DB_FAILED);
    cr_assert_eq(applied, 0);
    cr_assert(strstr(err.message, "la migration 0001_a.sql a été modifiée après application "
                                  "(somme de contrôle différente)"),
              "%s", err.message);
    cr_assert(strstr(err.message, "checksum mismatch"), "%s", err.message);
    cr_assert_eq(db_migrations_current(pg, edited, 2, &err), DB_FAILED);
    cr_assert(strstr(err.message, "0001_a.sql"), "%s", err.message);
    cr_assert_eq(advisory_locks(), 0, "lock released on error");
    PQfinish(pg);
}

Test(db, migrate_refuses_unknown_version)
{
    const struct migration two[] = {m1, m2};
    const struct migration one[] = {m1};
    struct db_error err = {{0}, {0}};
    PGconn *pg = test_connect();
    int applied = -1;

    cr_assert_eq(db_migrate(pg, two, 2, &applied, &err), DB_OK, "%s", err.message);
    cr_assert_eq(db_migrate(pg, one, 1, &applied, &err), DB_FAILED);
    cr_assert_eq(applied, 0);
    cr_assert(strstr(err.message, "la base contient la migration 2 (0002_b.sql) inconnue de ce "
                                  "binaire"),
              "%s", err.message);
    cr_assert_eq(db_migrations_current(pg, one, 1, &err), DB_FAILED);
    cr_assert_eq(advisory_locks(), 0);
    PQfinish(pg);
}

Test(db, migrate_failure_rolls_back_that_migration)
{
    const struct migration bad = {2, "0002_bad.sql",
                                  "create table c (id int);\n"
                                  "insert into c values (1);\n"
                                  "select 1/0;\n"};
    const struct migration list[] = {m1, bad};
    struct db_error err = {{0}, {0}};
    PGconn *pg = test_connect();
    int applied = -1;

    cr_assert_eq(db_migrate(pg, list, 2, &applied, &err), DB_FAILED);
    cr_assert_eq(applied, 1);
    cr_assert_str_eq(err.sqlstate, "22012");
    cr_assert(strstr(err.message, "0002_bad.sql"), "%s", err.message);
    cr_assert(strstr(err.message, "division by zero"), "%s", err.message);
    cr_assert(table_exists("a"));
    cr_assert_not(table_exists("c"));
    cr_assert_eq(count_rows("select count(*) from schema_migrations"), 1);
    cr_assert_eq(count_rows("select count(*) from schema_migrations where version = 2"), 0);
    cr_assert_eq(PQtransactionStatus(pg), PQTRANS_IDLE);
    cr_assert_eq(advisory_locks(), 0);
    PQfinish(pg);
}

Test(db, migrate_rejects_bad_lists)
{
    const struct migration unsorted[] = {m2, m1};
    struct migration duplicate[] = {m1, m1};
    const struct migration no_sql[] = {{1, "0001_x.sql", NULL}};
    struct db_error err = {{0}, {0}};
    PGconn *pg = test_connect();
    int applied = -1;

    duplicate[1].name = "0001_again.sql";
    cr_assert_eq(db_migrate(pg, unsorted, 2, &applied, &err), DB_FAILED);
    cr_assert_eq(applied, 0);
    cr_assert(strstr(err.message, "0001_a.sql après 0002_b.sql"), "%s", err.message);
    cr_assert_eq(db_migrate(pg, duplicate, 2, &applied, &err), DB_FAILED);
    cr_assert(strstr(err.message, "0001_again.sql"), "%s", err.message);
    cr_assert_eq(db_migrate(pg, no_sql, 1, &applied, &err), DB_FAILED);
    cr_assert_eq(db_migrations_current(pg, unsorted, 2, &err), DB_FAILED);
    /* Refused before anything was sent. */
    cr_assert_not(table_exists("schema_migrations"));
    PQfinish(pg);
}

Test(db, migrate_refuses_hole)
{
    struct migration m3_alone = {3, "0003_c.sql", "create table c (id int);"};
    struct migration with_gap[] = {m1, m3_alone};
    struct migration complete[] = {m1, m2, m3_alone};
    struct db_error err = {{0}, {0}};
    PGconn *pg = test_connect();
    int applied = -1;

    cr_assert_eq(db_migrate(pg, with_gap, 2, &applied, &err), DB_OK, "%s", err.message);
    cr_assert_eq(applied, 2);
    cr_assert_eq(db_migrate(pg, complete, 3, &applied, &err), DB_FAILED);
    cr_assert_eq(applied, 0);
    cr_assert(strstr(err.message, "0002_b.sql"), "%s", err.message);
    cr_assert_not(table_exists("b"));
    cr_assert_eq(db_migrations_current(pg, complete, 3, &err), DB_NOT_FOUND);
    PQfinish(pg);
}

Test(db, migrate_rejects_transaction_control)
{
    const struct migration sneaky[] = {{1, "0001_commit.sql", "create table x (id int); commit;"}};
    struct db_error err = {{0}, {0}};
    PGconn *pg = test_connect();
    int applied = -1;

    cr_assert_eq(db_migrate(pg, sneaky, 1, &applied, &err), DB_FAILED);
    cr_assert_eq(applied, 0);
    cr_assert(strstr(err.message, "0001_commit.sql"), "%s", err.message);
    cr_assert_eq(count_rows("select count(*) from schema_migrations"), 0);
    cr_assert_eq(PQtransactionStatus(pg), PQTRANS_IDLE);
    cr_assert_eq(advisory_locks(), 0);
    PQfinish(pg);
}

Test(db, migrate_rejects_copy_from_stdin)
{
    const struct migration copy[] = {
        {1, "0001_copy.sql", "create table x (id int); copy x from stdin; select 1;"}};
    struct db_error err = {{0}, {0}};
    PGconn *pg = test_connect();
    int applied = -1;

    cr_assert_eq(db_migrate(pg, copy, 1, &applied, &err), DB_FAILED);
    cr_assert(strstr(err.message, "COPY"), "%s", err.message);
    cr_assert_eq(PQtransactionStatus(pg), PQTRANS_IDLE);
    cr_assert_not(table_exists("x"));
    cr_assert_eq(advisory_locks(), 0);
    PQfinish(pg);
}

struct migrate_thread {
    const struct migration *list;
    size_t count;
    pthread_barrier_t *start;
    enum db_result result;
    int applied;
    struct db_error err;
    atomic_bool done;
};

static void *migrate_main(void *arg)
{
    struct migrate_thread *t = arg;
    PGconn *pg = PQconnectdb(tdb.conninfo);

    if (t->start)
        pthread_barrier_wait(t->start);
    t->result = db_migrate(pg, t->list, t->count, &t->applied, &t->err);
    PQfinish(pg);
    atomic_store(&t->done, true);
    return NULL;
}

Test(db, migrate_concurrent_applies_each_once)
{
    /* The first migration is slow so that both runs overlap. */
    const struct migration slow = {1, "0001_slow.sql",
                                   "create table a (id int primary key);\n"
                                   "select pg_sleep(0.3);\n"};
    const struct migration list[] = {slow, m2};
    struct migrate_thread t[2];
    pthread_barrier_t start;
    pthread_t threads[2];
    int i;

    pthread_barrier_init(&start, NULL, 2);
    for (i = 0; i < 2; i++) {
        memset(&t[i], 0, sizeof t[i]);
        t[i].list = list;
        t[i].count = 2;
        t[i].start = &start;
        cr_assert_eq(pthread_create(&threads[i], NULL, migrate_main, &t[i]), 0);
    }
    for (i = 0; i < 2; i++)
        pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&start);

    cr_assert_eq(t[0].result, DB_OK, "%s", t[0].err.message);
    cr_assert_eq(t[1].result, DB_OK, "%s", t[1].err.message);
    cr_assert_eq(t[0].applied + t[1].applied, 2);
    cr_assert(t[0].applied == 0 || t[1].applied == 0, "applied %d and %d", t[0].applied,
              t[1].applied);
    cr_assert_eq(count_rows("select count(*) from schema_migrations"), 2);
    cr_assert_eq(count_rows("select count(*) from a"), 1);
    cr_assert_eq(advisory_locks(), 0);
}

Test(db, migrate_waits_for_documented_lock_key)
{
    const struct migration list[] = {m1, m2};
    struct migrate_thread t = {.list = list, .count = 2};
    PGconn *holder = test_connect();
    char key[32], buf[64];
    pthread_t thread;
    int i;
    long waiting = 0;

    snprintf(key, sizeof key, "%lld", (long long)DB_MIGRATE_LOCK_KEY);
    cr_assert_str_eq(key, "8103774725771716466");
    query_text(holder, "select pg_advisory_lock($1::int8)", key, buf, sizeof buf);
    cr_assert_eq(pthread_create(&thread, NULL, migrate_main, &t), 0);
    for (i = 0; i < 200 && waiting == 0; i++) {
        sleep_ms(10);
        waiting = count_rows("select count(*) from pg_locks l join pg_database d on d.oid ="
                             " l.database where d.datname = current_database()"
                             " and l.locktype = 'advisory' and not granted and l.classid = "
                             "1886807085 and l.objid = 1835624306"
                             " and l.objsubid = 1");
    }
    cr_assert_eq(waiting, 1, "db_migrate is not waiting on the documented key");
    cr_assert_not(atomic_load(&t.done));
    query_text(holder, "select pg_advisory_unlock($1::int8)", key, buf, sizeof buf);
    cr_assert_str_eq(buf, "t");
    pthread_join(thread, NULL);
    cr_assert_eq(t.result, DB_OK, "%s", t.err.message);
    cr_assert_eq(t.applied, 2);
    PQfinish(holder);
}

/* ------------------------------------------------- fiches action (0012) */

#define T1   "pvd-84-38-1"
#define T2   "pvd-84-38-2"
#define ORG1 "00000000-0000-4000-8000-000000000001"
#define ORG2 "00000000-0000-4000-8000-000000000002"
#define AXE1 "00000000-0000-4000-8000-0000000000a1"
#define AXE2 "00000000-0000-4000-8000-0000000000a2"
#define SEA1 "00000000-0000-4000-8000-0000000000c1"
#define IND1 "00000000-0000-4000-8000-0000000000d1"

/* The real schema (every embedded migration) and a small programme: two
 * territoires of département 38, one EPCI whose member 38003 is outside T1,
 * an axe each, two organisations, T1's comité with one séance (2026-03-01)
 * and an indicateur without mesure. */
static void fiche_schema(void)
{
    size_t count = 0;
    const struct migration *list = migrations_embedded(&count);
    struct db_error err = {{0}, {0}};
    PGconn *pg = test_connect();
    int applied = 0;

    cr_assert_eq(db_migrate(pg, list, count, &applied, &err), DB_OK, "%s", err.message);
    cr_assert_eq(applied, (int)count);
    exec_ok(pg,
            "insert into regions values ('84', 'Auvergne-Rhône-Alpes', 'metro', null);"
            "insert into departements values ('38', 'Isère', '84', 'metro', null);"
            "insert into communes (code_insee, type, nom, siren, code_departement, "
            "code_region, zone) values ('38001', 'commune-actuelle', 'A', '213800011', '38', "
            "'84', 'metro'), ('38003', 'commune-actuelle', 'C', '213800037', '38', '84', "
            "'metro');"
            "insert into epci values ('200000172', 'CC X', 'CC', 'FPU', 10, 10);"
            "insert into epci_membres (epci_siren, code_insee) values ('200000172', "
            "'38001'), ('200000172', '38003');"
            "insert into territoires (id_pvd, code_departement, code_region, millesime) "
            "values ('" T1 "', '38', '84', 2024), ('" T2 "', '38', '84', 2024);"
            "insert into territoire_communes values ('" T1 "', '38001', 0);"
            "insert into territoire_epcis values ('" T1 "', '200000172', 0);"
            "insert into organisations (id, siren, nom, nature) values ('" ORG1
            "', '213800011', 'A', 'commune'), ('" ORG2 "', '200000172', 'CC X', 'epci');"
            "insert into axes_strategiques (id, id_pvd, numero, intitule, enjeux) values ('" AXE1
            "', '" T1 "', 1, 'Axe', 'E'), ('" AXE2 "', '" T2 "', 1, 'Axe', 'E');"
            "insert into comites (id_pvd, presidence) values ('" T1 "', 'Maire');"
            "insert into seances (id, comite_id, date) select '" SEA1
            "', id, '2026-03-01' from comites;"
            "insert into indicateurs (id, axe_id, type, libelle, unite) values ('" IND1 "', '" AXE1
            "', 'resultat', 'L', 'u')");
    PQfinish(pg);
}

/* The body of a valid fiche numbered numero, with extra members appended. */
static char *fiche_body(const char *numero, const char *extra)
{
    size_t size = 1024 + (extra ? strlen(extra) : 0);
    char *out = malloc(size);
    cr_assert(out);
    cr_assert(snprintf(out, size,
                       "{\"numero\": \"%s\", \"intitule\": \"Halles\", \"axe_id\": \"" AXE1
                       "\", \"description\": \"D\", \"objectifs\": \"O\", "
                       "\"maitre_ouvrage_id\": \"" ORG1 "\", \"nature_depense\": "
                       "\"investissement\", \"cout_total_ht_centimes\": 100000, "
                       "\"localisation_commune_insee\": \"38001\"%s%s}",
                       numero, extra ? ", " : "", extra ? extra : "") < (int)size);
    return out;
}

enum fiche_op {
    OP_CREATE,
    OP_UPDATE,
    OP_LIGNES,
    OP_ADD_LIGNE,
    OP_ECHEANCIER,
    OP_REGLES,
    OP_CANDIDATE,
    OP_TRANSITION,
    OP_PLAN_UPDATE,
    OP_PLAN_FREEZE
};

struct fiche_call {
    enum fiche_op op;
    const char *id_pvd, *id, *json;
    long revision;
    struct date date;
    struct fiche_row row;
    struct fiche_regles regles;
    struct plan_action_row plan;
    const char *numero, *except_id, *axe_id, *motif, *date_commencement;
    enum fiche_etat to;
    unsigned journal_rows;
    enum db_result result;
    atomic_bool done;
};

static enum db_result fiche_work(struct db_tx *tx, void *ctx, struct db_error *err)
{
    struct fiche_call *c = ctx;
    enum db_result r = DB_FAILED;

    fiche_row_release(&c->row);
    plan_action_row_release(&c->plan);
    switch (c->op) {
    case OP_CREATE:
        r = fiche_create(tx, c->id_pvd, c->json, &c->row, err);
        break;
    case OP_UPDATE:
        r = fiche_update(tx, c->id, c->revision, c->json, &c->row, err);
        break;
    case OP_LIGNES:
        r = fiche_replace_financements(tx, c->id, c->revision, c->json, &c->row, err);
        break;
    case OP_ADD_LIGNE:
        r = fiche_add_financement(tx, c->id, c->revision, c->json, &c->row, err);
        break;
    case OP_ECHEANCIER:
        r = fiche_replace_echeancier(tx, c->id, c->revision, c->json, &c->row, err);
        break;
    case OP_REGLES:
        fiche_regles_release(&c->regles);
        r = fiche_regles_lire(tx, c->id, c->date, &c->regles, err);
        if (r == DB_OK) {
            /* a read: the runner wants a journal row, the test a rollback */
            struct journal_entry e = {"test.lire", "fiche_action", c->id, NULL, "{}", {0}};
            r = journal_record(tx, &e, err);
            if (r == DB_OK)
                r = DB_CONFLICT;
        }
        break;
    case OP_CANDIDATE:
        fiche_regles_release(&c->regles);
        r = fiche_candidate_lire(tx, c->id_pvd, c->numero, c->except_id, c->axe_id, &c->regles,
                                 err);
        if (r == DB_OK) {
            struct journal_entry e = {"test.lire", "fiche_action", "x", NULL, "{}", {0}};
            r = journal_record(tx, &e, err);
            if (r == DB_OK)
                r = DB_CONFLICT;
        }
        break;
    case OP_TRANSITION:
        r = fiche_write_transition(tx, c->id, c->revision, c->to, c->motif, c->date_commencement,
                                   NULL, &c->row, err);
        break;
    case OP_PLAN_UPDATE:
        r = plan_action_update(tx, c->id_pvd, c->revision, c->json, &c->plan, err);
        break;
    case OP_PLAN_FREEZE:
        r = plan_action_freeze(tx, c->id_pvd, c->id, &c->plan, err);
        break;
    }
    c->journal_rows = tx->journal_rows;
    return r;
}

static const struct journal_actor fiche_actor = {.acteur = "systeme:test"};

static enum db_result fiche_run(struct db_pool *pool, struct fiche_call *c)
{
    struct db_error err = {{0}, {0}};
    enum db_result r =
        db_run_mutation(pool, DB_ISOLATION_READ_COMMITTED, &fiche_actor, fiche_work, c, &err);
    if (r != DB_OK && r != DB_STALE && r != DB_CONFLICT && r != DB_NOT_FOUND)
        cr_log_info("fiche op %d: %d %s %s", c->op, r, err.sqlstate, err.message);
    return r;
}

static void exec_fails(PGconn *pg, const char *sql, const char *sqlstate)
{
    PGresult *res = PQexec(pg, sql);
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

    cr_expect(state && strcmp(state, sqlstate) == 0, "%s: expected %s, got %s (%s)", sql, sqlstate,
              state ? state : "success", PQresultErrorMessage(res));
    PQclear(res);
}

#define FICHE_COLS                                                                                 \
    "insert into fiches_action (id_pvd, numero, intitule, axe_id, description, objectifs, "        \
    "maitre_ouvrage_id, localisation_commune_insee, nature_depense, cout_total_ht, "               \
    "cout_total_ttc, etat, cree_par) values "

Test(db, fiche_migration_constraints)
{
    fiche_schema();
    PGconn *pg = test_connect();

    exec_ok(pg, "insert into plans_action (id_pvd) values ('" T1 "')");
    exec_ok(pg, FICHE_COLS "('" T1 "', '1.1', 'I', '" AXE1 "', 'D', 'O', '" ORG1
                           "', '38001', 'etude', 100, 120, 'brouillon', 'x')");
    /* numero unique in the plan */
    exec_fails(pg,
               FICHE_COLS "('" T1 "', '1.1', 'I', '" AXE1 "', 'D', 'O', '" ORG1
                          "', '38001', 'etude', 100, null, 'brouillon', 'x')",
               "23505");
    /* R21 by key: the axe of another territoire */
    exec_fails(pg,
               FICHE_COLS "('" T1 "', '1.2', 'I', '" AXE2 "', 'D', 'O', '" ORG1
                          "', '38001', 'etude', 100, null, 'brouillon', 'x')",
               "23503");
    /* no plan d'action for T2 */
    exec_fails(pg,
               FICHE_COLS "('" T2 "', '1.1', 'I', '" AXE2 "', 'D', 'O', '" ORG1
                          "', '38001', 'etude', 100, null, 'brouillon', 'x')",
               "23503");
    /* negative cost, TTC below HT, beyond 10^15, unknown state, blank numero */
    exec_fails(pg,
               FICHE_COLS "('" T1 "', '1.3', 'I', '" AXE1 "', 'D', 'O', '" ORG1
                          "', '38001', 'etude', -1, null, 'brouillon', 'x')",
               "23514");
    exec_fails(pg,
               FICHE_COLS "('" T1 "', '1.3', 'I', '" AXE1 "', 'D', 'O', '" ORG1
                          "', '38001', 'etude', 100, 99, 'brouillon', 'x')",
               "23514");
    exec_fails(pg,
               FICHE_COLS "('" T1 "', '1.3', 'I', '" AXE1 "', 'D', 'O', '" ORG1
                          "', '38001', 'etude', 1000000000000001, null, 'brouillon', 'x')",
               "23514");
    exec_fails(pg,
               FICHE_COLS "('" T1 "', '1.3', 'I', '" AXE1 "', 'D', 'O', '" ORG1
                          "', '38001', 'etude', 100, null, 'terminee', 'x')",
               "23514");
    exec_fails(pg,
               FICHE_COLS "('" T1 "', ' ', 'I', '" AXE1 "', 'D', 'O', '" ORG1
                          "', '38001', 'etude', 100, null, 'brouillon', 'x')",
               "23514");
    /* a suspended fiche without motif; programmee without dates */
    exec_fails(pg,
               FICHE_COLS "('" T1 "', '1.3', 'I', '" AXE1 "', 'D', 'O', '" ORG1
                          "', '38001', 'etude', 100, null, 'programmee', 'x')",
               "23514");
    exec_fails(pg,
               "update fiches_action set date_debut_prevue = '2026-02-01', date_fin_prevue = "
               "'2026-01-01'",
               "23514");
    /* lines: negative montant, unknown statut or dispositif, unknown financeur */
    const char *lines = "insert into fiche_financements (fiche_id, rang, financeur_id, dispositif, "
                        "nature_financeur, montant, statut) select id, ";
    char sql[512];
    snprintf(sql, sizeof sql,
             "%s0, '" ORG1 "', 'DETR', 'public', -1, 'envisage' from fiches_action", lines);
    exec_fails(pg, sql, "23514");
    snprintf(sql, sizeof sql, "%s0, '" ORG1 "', 'DETR', 'public', 1, 'promis' from fiches_action",
             lines);
    exec_fails(pg, sql, "23514");
    snprintf(sql, sizeof sql, "%s0, '" ORG1 "', 'loto', 'public', 1, 'envisage' from fiches_action",
             lines);
    exec_fails(pg, sql, "23514");
    snprintf(sql, sizeof sql,
             "%s0, '00000000-0000-4000-8000-0000000000ff', 'DETR', 'public', 1, 'envisage' from "
             "fiches_action",
             lines);
    exec_fails(pg, sql, "23503");
    /* échéancier: one row per year, montant ≥ 0 */
    exec_ok(pg, "insert into fiche_echeancier select id, 2026, 10 from fiches_action");
    exec_fails(pg, "insert into fiche_echeancier select id, 2026, 10 from fiches_action", "23505");
    exec_fails(pg, "insert into fiche_echeancier select id, 2027, -10 from fiches_action", "23514");
    /* décisions now reference fiches */
    exec_fails(pg,
               "insert into decisions (seance_id, type, objet, fiche_action_id) values ('" SEA1
               "', 'valide_fiche', 'o', '00000000-0000-4000-8000-0000000000ff')",
               "23503");
    /* the representation: maturité derived, money as integers */
    char buf[2048];
    query_text(pg,
               "select (r->>'maturite') || ' ' || (r->'cout_total_ttc_centimes')::text || ' ' || "
               "(r->'echeancier')::text from (select fiche_representation(f) r from "
               "fiches_action f) s",
               NULL, buf, sizeof buf);
    cr_assert_str_eq(buf, "en_maturation 120 [{\"annee\": 2026, \"montant_centimes\": 10}]");
    PQfinish(pg);
}

Test(db, fiche_create_get_list_update_stale)
{
    fiche_schema();
    struct db_pool *pool = make_pool(2, 5000, 10000);
    struct db_error err = {{0}, {0}};
    struct fiche_call c = {.op = OP_CREATE, .id_pvd = T1};
    char *body = fiche_body(
        "1.1", "\"public\": true, \"plan_financement\": [{\"financeur_id\": \"" ORG1
               "\", \"dispositif\": \"autofinancement\", \"nature_financeur\": "
               "\"public\", \"montant_centimes\": 100000}], \"echeancier\": [{\"annee\": "
               "2026, \"montant_centimes\": 100000}]");

    c.json = body;
    cr_assert_eq(fiche_run(pool, &c), DB_OK);
    cr_assert_eq(c.journal_rows, 1);
    cr_assert_eq(c.row.revision, 1);
    cr_assert_str_eq(c.row.id_pvd, T1);
    cr_assert(strstr(c.row.json, "\"etat\": \"brouillon\""), "%s", c.row.json);
    cr_assert(strstr(c.row.json, "\"statut\": \"envisage\""), "%s", c.row.json);
    cr_assert(strstr(c.row.json, "\"cree_par\": \"systeme:test\""), "%s", c.row.json);
    char id1[37];
    snprintf(id1, sizeof id1, "%s", c.row.id);
    free(body);

    /* the same numero in the plan: a conflict, nothing written */
    body = fiche_body("1.1", NULL);
    c.json = body;
    cr_assert_eq(fiche_run(pool, &c), DB_CONFLICT);
    free(body);
    /* an axe of another territoire (R21 by key) */
    body = fiche_body("1.2", "\"axe_id\": \"" AXE2 "\"");
    c.json = body;
    cr_assert_eq(fiche_run(pool, &c), DB_CONFLICT);
    free(body);
    /* unknown territoire */
    body = fiche_body("1.2", NULL);
    c.json = body;
    c.id_pvd = "pvd-84-38-9";
    cr_assert_eq(fiche_run(pool, &c), DB_NOT_FOUND);
    c.id_pvd = T1;
    free(body);
    body = fiche_body("1.2", "\"maitre_ouvrage_id\": \"" ORG2 "\"");
    c.json = body;
    cr_assert_eq(fiche_run(pool, &c), DB_OK);
    free(body);
    cr_assert_eq(count_rows("select count(*) from fiches_action"), 2);
    cr_assert_eq(count_rows("select count(*) from journal where action = 'fiche_action.creer'"), 2);

    struct fiche_row got = {0};
    cr_assert_eq(fiche_get_pooled(pool, id1, &got, &err), DB_OK, "%s", err.message);
    cr_assert_str_eq(got.id, id1);
    cr_assert(strstr(got.json, "\"public\": true"));
    fiche_row_release(&got);
    cr_assert_eq(fiche_get_pooled(pool, "pas-un-uuid", &got, &err), DB_NOT_FOUND);

    /* the row and what decides access to it, in one statement: as fiche_get,
     * fiche_sirens_lire and territoire_scope_load give them one by one */
    struct db_conn *one = NULL;
    cr_assert_eq(db_pool_acquire(pool, &one, &err), DB_OK);
    struct fiche_row alone = {0};
    struct territoire_scope scope, scope_alone;
    char mo[10], mo_alone[10], id_pvd[17], fin[4][10], fin_alone[4][10];
    size_t n = 9, n_alone = 0;
    cr_assert_eq(fiche_get_with_access(one, id1, &got, mo, fin, 4, &n, &scope, &err), DB_OK, "%s",
                 err.message);
    cr_assert_eq(fiche_get(one, id1, &alone, &err), DB_OK);
    cr_assert_str_eq(got.json, alone.json);
    cr_assert_str_eq(got.id_pvd, T1);
    cr_assert_eq(got.revision, alone.revision);
    cr_assert_eq(fiche_sirens_lire(one, id1, id_pvd, mo_alone, fin_alone, 4, &n_alone, &err),
                 DB_OK);
    cr_assert_str_eq(mo, "213800011");
    cr_assert_str_eq(mo, mo_alone);
    cr_assert_eq(n, 1);
    cr_assert_eq(n_alone, 1);
    cr_assert_str_eq(fin[0], fin_alone[0]);
    cr_assert_eq(territoire_scope_load(one, T1, &scope_alone, &err), DB_OK);
    cr_assert_str_eq(scope.id_pvd, T1);
    cr_assert_str_eq(scope.code_departement, scope_alone.code_departement);
    cr_assert_eq(scope.departement_count, scope_alone.departement_count);
    cr_assert_eq(scope.region_count, scope_alone.region_count);
    cr_assert_eq(scope.siren_count, scope_alone.siren_count);
    cr_assert_eq(scope.siren_count, 2); /* commune 38001 and the EPCI */
    for (size_t i = 0; i < scope.siren_count; i++)
        cr_assert_str_eq(scope.sirens[i], scope_alone.sirens[i]);
    fiche_row_release(&got);
    fiche_row_release(&alone);
    cr_assert_eq(fiche_get_with_access(one, "00000000-0000-4000-8000-0000000000ff", &got, mo, fin,
                                       4, &n, &scope, &err),
                 DB_NOT_FOUND);
    cr_assert_null(got.json);
    cr_assert_eq(fiche_get_with_access(one, "pas-un-uuid", &got, mo, fin, 4, &n, &scope, &err),
                 DB_NOT_FOUND);
    db_pool_release(pool, one);

    /* lists: filters and totals */
    struct {
        struct fiche_filtre f;
        size_t total;
    } cases[] = {
        {{.role = "anct_national", .public_ = -1}, 2},
        {{.role = "anct_national", .id_pvd = T1, .public_ = -1}, 2},
        {{.role = "anct_national", .id_pvd = T2, .public_ = -1}, 0},
        {{.role = "anct_national", .departement = "38", .public_ = -1}, 2},
        {{.role = "anct_national", .departement = "69", .public_ = -1}, 0},
        {{.role = "anct_national", .region = "84", .public_ = -1}, 2},
        {{.role = "anct_national", .axe_id = AXE1, .public_ = -1}, 2},
        {{.role = "anct_national", .axe_id = AXE2, .public_ = -1}, 0},
        {{.role = "anct_national", .axe_id = "x", .public_ = -1}, 0},
        {{.role = "anct_national", .etat = "brouillon", .public_ = -1}, 2},
        {{.role = "anct_national", .etat = "en_cours", .public_ = -1}, 0},
        {{.role = "anct_national", .maitre_ouvrage_id = ORG2, .public_ = -1}, 1},
        {{.role = "anct_national", .public_ = 1}, 1},
        {{.role = "anct_national", .public_ = 0}, 1},
        {{.role = "anct_national", .nature_depense = "investissement", .public_ = -1}, 2},
        {{.role = "anct_national", .nature_depense = "etude", .public_ = -1}, 0},
        {{.role = "anct_national", .thematique = "commerce", .public_ = -1}, 0},
        {{.role = "lecteur_national", .public_ = -1}, 2},
        /* fiches_visibles: no role or a perimeter that does not hold them */
        {{.role = NULL, .public_ = -1}, 0},
        {{.role = "prefecture_instructeur", .public_ = -1}, 0},
        {{.role = "financeur", .public_ = -1}, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *json = NULL, last[65];
        bool more = true;
        size_t total = 99;
        cr_assert_eq(fiche_list(pool, &cases[i].f, NULL, 10, &json, last, &more, &total, &err),
                     DB_OK, "%s", err.message);
        cr_expect_eq(total, cases[i].total, "case %zu: %zu", i, total);
        cr_expect_not(more);
        free(json);
    }
    /* keyset: two pages of one */
    struct fiche_filtre all = {.role = "anct_national", .public_ = -1};
    char *json = NULL, last[65], first[65];
    bool more = false;
    size_t total = 0;
    cr_assert_eq(fiche_list(pool, &all, NULL, 1, &json, first, &more, &total, &err), DB_OK);
    cr_assert(more);
    cr_assert_eq(total, 2);
    free(json);
    cr_assert_eq(fiche_list(pool, &all, first, 1, &json, last, &more, &total, &err), DB_OK);
    cr_assert_not(more);
    cr_assert(strcmp(last, first) > 0);
    free(json);

    /* update: revision checked, absent members kept, lists replaced */
    c.op = OP_UPDATE;
    c.id = id1;
    c.revision = 1;
    c.json = "{\"intitule\": \"Nouvelles halles\", \"cout_total_ttc_centimes\": 120000, "
             "\"echeancier\": [{\"annee\": 2026, \"montant_centimes\": 40000}, {\"annee\": 2027, "
             "\"montant_centimes\": 60000}]}";
    cr_assert_eq(fiche_run(pool, &c), DB_OK);
    cr_assert_eq(c.row.revision, 2);
    cr_assert(strstr(c.row.json, "\"intitule\": \"Nouvelles halles\""), "%s", c.row.json);
    cr_assert(strstr(c.row.json, "\"numero\": \"1.1\""), "%s", c.row.json);
    cr_assert(strstr(c.row.json, "\"annee\": 2027"), "%s", c.row.json);
    cr_assert(strstr(c.row.json, "\"dispositif\": \"autofinancement\""), "%s", c.row.json);
    /* stale: nothing written, no journal row */
    c.json = "{\"intitule\": \"Perdu\"}";
    cr_assert_eq(fiche_run(pool, &c), DB_STALE);
    cr_assert_eq(count_rows("select count(*) from fiches_action where intitule = 'Perdu'"), 0);
    cr_assert_eq(count_rows("select count(*) from journal where action like 'fiche_action.%'"), 3);
    /* lines: replace, then append; each bumps the revision */
    c.op = OP_LIGNES;
    c.revision = 2;
    c.json = "[{\"financeur_id\": \"" ORG2 "\", \"dispositif\": \"DETR\", \"nature_financeur\": "
             "\"public\", \"montant_centimes\": 30000, \"assiette_ht_centimes\": 100000, "
             "\"statut\": \"accorde\"}]";
    cr_assert_eq(fiche_run(pool, &c), DB_OK);
    cr_assert_eq(c.row.revision, 3);
    c.op = OP_ADD_LIGNE;
    c.revision = 3;
    c.json =
        "{\"financeur_id\": \"" ORG1 "\", \"dispositif\": \"autofinancement\", "
        "\"nature_financeur\": \"public\", \"montant_centimes\": 70000, \"statut\": \"sollicite\"}";
    cr_assert_eq(fiche_run(pool, &c), DB_OK);
    cr_assert_eq(c.row.revision, 4);
    cr_assert_eq(fiche_run(pool, &c), DB_STALE);
    struct db_conn *conn = NULL;
    cr_assert_eq(db_pool_acquire(pool, &conn, &err), DB_OK);
    cr_assert_eq(fiche_financements_list(conn, id1, &json, &err), DB_OK);
    char *detr = strstr(json, "DETR"), *auto_ = strstr(json, "autofinancement");
    cr_assert(detr && auto_ && detr < auto_, "%s", json);
    free(json);
    cr_assert_eq(fiche_echeancier_list(conn, id1, &json, &err), DB_OK);
    cr_assert_str_eq(json, "[{\"annee\": 2026, \"montant_centimes\": 40000}, {\"annee\": 2027, "
                           "\"montant_centimes\": 60000}]");
    free(json);
    cr_assert_eq(fiche_echeancier_list(conn, ORG1, &json, &err), DB_NOT_FOUND);
    db_pool_release(pool, conn);
    /* échéancier with a year twice: refused, the old one kept */
    c.op = OP_ECHEANCIER;
    c.revision = 4;
    c.json =
        "[{\"annee\": 2026, \"montant_centimes\": 1}, {\"annee\": 2026, \"montant_centimes\": 2}]";
    cr_assert_eq(fiche_run(pool, &c), DB_CONFLICT);
    cr_assert_eq(count_rows("select count(*) from fiche_echeancier"), 2);
    fiche_row_release(&c.row);
    db_pool_free(pool);
}

Test(db, fiche_rule_inputs)
{
    fiche_schema();
    struct db_pool *pool = make_pool(2, 5000, 10000);
    struct fiche_call c = {.op = OP_CREATE, .id_pvd = T1};
    char *body = fiche_body(
        "1.1",
        "\"cout_total_ttc_centimes\": 120000, \"date_debut_prevue\": \"2026-04-01\", "
        "\"date_fin_prevue\": \"2027-12-31\", \"indicateurs\": [\"" IND1 "\"], "
        "\"plan_financement\": [{\"financeur_id\": \"" ORG1 "\", \"dispositif\": "
        "\"autofinancement\", \"nature_financeur\": \"public\", \"montant_centimes\": 30000, "
        "\"statut\": \"accorde\"}, {\"financeur_id\": \"" ORG2 "\", \"dispositif\": "
        "\"DETR\", \"nature_financeur\": \"public\", \"montant_centimes\": 50000, \"statut\": "
        "\"sollicite\"}, {\"financeur_id\": \"" ORG2 "\", \"dispositif\": \"DSIL\", "
        "\"nature_financeur\": \"public\", \"montant_centimes\": 20000, \"statut\": \"refuse\"}], "
        "\"echeancier\": [{\"annee\": 2026, \"montant_centimes\": 60000}]");

    c.json = body;
    cr_assert_eq(fiche_run(pool, &c), DB_OK);
    free(body);
    char id[37];
    snprintf(id, sizeof id, "%s", c.row.id);

    /* Nothing examined it yet; no convention signed. */
    c.op = OP_REGLES;
    c.id = id;
    c.date = (struct date){2026, 6, 1};
    cr_assert_eq(fiche_run(pool, &c), DB_CONFLICT); /* the test's own rollback */
    struct fiche_regles *r = &c.regles;
    cr_assert_str_eq(r->id_pvd, T1);
    cr_assert_eq(r->etat, FICHE_BROUILLON);
    cr_assert_eq(r->revision, 1);
    cr_assert_str_eq(r->numero, "1.1");
    cr_assert_not(r->numero_deja_utilise);
    cr_assert(r->has_axe);
    cr_assert_str_eq(r->axe_id_pvd, T1);
    cr_assert_str_eq(r->commune, "38001");
    cr_assert_eq(r->communes_territoire_count, 1);
    cr_assert_str_eq(r->commune_ptrs[0], "38001");
    cr_assert_eq(r->communes_epci_count, 2);
    cr_assert_str_eq(r->commune_ptrs[1], "38001");
    cr_assert_str_eq(r->commune_ptrs[2], "38003");
    cr_assert_eq(r->seance_count, 0);
    cr_assert_eq(r->couts.cout_total_ht, 100000);
    cr_assert(r->couts.has_cout_total_ttc);
    cr_assert_eq(r->couts.cout_total_ttc, 120000);
    /* the refused line does not count */
    cr_assert_eq(r->plan.ligne_count, 2);
    cr_assert_eq(r->plan.somme_montants, 80000);
    cr_assert_eq(r->plan.base, FICHE_BASE_HT);
    cr_assert_eq(r->ligne_count, 3);
    cr_assert(r->lignes[0].par_maitre_ouvrage);
    cr_assert_not(r->lignes[1].par_maitre_ouvrage);
    cr_assert_eq(r->lignes[2].statut, FINANCEMENT_REFUSE);
    cr_assert(r->dates.has_date_debut_prevue && r->dates.has_date_fin_prevue);
    cr_assert_eq(r->dates.date_fin_prevue.year, 2027);
    cr_assert_eq(r->echeancier_count, 1);
    cr_assert_not_null(rule_report_find(&r->r27, "echeancier-desequilibre"));
    cr_assert_not(r->adhesion_signee);
    cr_assert_not(r->cadre_signee);
    cr_assert_eq(r->indicateurs_sans_mesure, 1);
    cr_assert_not(r->has_decision_abandon);

    struct rule_report report;
    struct fiche_transition_input in;
    rule_report_init(&report);
    fiche_regles_transition_input(r, FICHE_EN_MATURATION, ROLE_COLLECTIVITE_ELU, c.date, NULL, &in);
    cr_assert_eq(fiche_transition_check(&in, &report), 1);
    cr_assert_not_null(rule_report_find(&report, "examen-comite-manquant"));

    /* The séance examined it (comite_seance_id), a décision of a later séance
     * abandons it, the adhésion is signed, the indicateur measured. */
    PGconn *pg = test_connect();
    char sql[1024];
    snprintf(sql, sizeof sql,
             "update fiches_action set comite_seance_id = '" SEA1 "' where id = '%s';"
             "insert into seances (comite_id, date) select id, '2026-07-01' from comites;"
             "insert into decisions (seance_id, type, objet, fiche_action_id) select id, "
             "'abandonne_fiche', 'o', '%s' from seances where date = '2026-07-01';"
             "insert into conventions (type, id_pvd, etat, intitule, cree_par) values "
             "('adhesion', '" T1 "', 'signee', 'A', 'x');"
             "insert into indicateur_mesures (indicateur_id, date, valeur) values ('" IND1
             "', '2026-05-01', 1)",
             id, id);
    exec_ok(pg, sql);
    PQfinish(pg);
    cr_assert_eq(fiche_run(pool, &c), DB_CONFLICT);
    cr_assert_eq(r->seance_count, 2);
    cr_assert_eq(r->seances[0].date.month, 3);
    cr_assert_eq(r->seances[1].date.month, 7);
    cr_assert(r->adhesion_signee);
    cr_assert_eq(r->indicateurs_sans_mesure, 0);
    cr_assert_not(r->has_decision_abandon); /* its séance is after 2026-06-01 */
    rule_report_init(&report);
    fiche_regles_transition_input(r, FICHE_EN_MATURATION, ROLE_COLLECTIVITE_ELU, c.date, NULL, &in);
    cr_assert_eq(fiche_transition_check(&in, &report), 0);
    c.date = (struct date){2026, 7, 1};
    cr_assert_eq(fiche_run(pool, &c), DB_CONFLICT);
    cr_assert(r->has_decision_abandon);

    /* en_maturation → programmee: the plan and the échéancier are off */
    r->etat = FICHE_EN_MATURATION;
    rule_report_init(&report);
    fiche_regles_transition_input(r, FICHE_PROGRAMMEE, ROLE_COLLECTIVITE_AGENT, c.date, NULL, &in);
    cr_assert_gt(fiche_transition_check(&in, &report), 0);
    cr_assert_not_null(rule_report_find(&report, "plan-financement-desequilibre"));
    cr_assert_not_null(rule_report_find(&report, "echeancier-desequilibre"));

    c.id = "00000000-0000-4000-8000-0000000000ff";
    cr_assert_eq(fiche_run(pool, &c), DB_NOT_FOUND);
    fiche_regles_release(&c.regles);
    fiche_row_release(&c.row);
    db_pool_free(pool);
}

static void *fiche_thread(void *arg)
{
    struct fiche_call *c = arg;
    struct db_pool *pool = make_pool(1, 5000, 10000);

    c->result = fiche_run(pool, c);
    atomic_store(&c->done, true);
    db_pool_free(pool);
    return NULL;
}

/* Two writers of one fiche's lines: the second waits for the territoire lock
 * the first holds (here a raw transaction), then sees its revision. */
Test(db, fiche_lines_wait_for_territoire_lock)
{
    fiche_schema();
    struct db_pool *pool = make_pool(1, 5000, 10000);
    struct fiche_call c = {.op = OP_CREATE, .id_pvd = T1};
    char *body = fiche_body("1.1", NULL);

    c.json = body;
    cr_assert_eq(fiche_run(pool, &c), DB_OK);
    free(body);
    db_pool_free(pool);
    char id[37];
    snprintf(id, sizeof id, "%s", c.row.id);
    fiche_row_release(&c.row);

    PGconn *holder = test_connect();
    exec_ok(holder, "begin");
    exec_ok(holder, "select 1 from territoires where id_pvd = '" T1 "' for no key update");

    struct fiche_call w = {.op = OP_LIGNES, .id = id, .revision = 1};
    w.json = "[{\"financeur_id\": \"" ORG1 "\", \"dispositif\": \"autofinancement\", "
             "\"nature_financeur\": \"public\", \"montant_centimes\": 100000}]";
    atomic_init(&w.done, false);
    pthread_t thread;
    cr_assert_eq(pthread_create(&thread, NULL, fiche_thread, &w), 0);
    sleep_ms(500);
    cr_assert_not(atomic_load(&w.done), "the writer did not wait for the territoire lock");
    /* the holder changes the fiche meanwhile: the waiter must then be stale */
    char sql[256];
    snprintf(sql, sizeof sql, "update fiches_action set revision = 2 where id = '%s'", id);
    exec_ok(holder, sql);
    exec_ok(holder, "commit");
    pthread_join(thread, NULL);
    cr_assert(atomic_load(&w.done));
    cr_assert_eq(w.result, DB_STALE);
    cr_assert_eq(count_rows("select count(*) from fiche_financements"), 0);
    fiche_row_release(&w.row);
    PQfinish(holder);
}

Test(db, fiche_candidate_inputs_and_transition)
{
    fiche_schema();
    struct db_pool *pool = make_pool(2, 5000, 10000);
    struct fiche_call c = {.op = OP_CREATE, .id_pvd = T1};
    char *body = fiche_body("1.1", NULL);

    c.json = body;
    cr_assert_eq(fiche_run(pool, &c), DB_OK);
    free(body);
    char id[37];
    snprintf(id, sizeof id, "%s", c.row.id);

    c.op = OP_CANDIDATE;
    c.numero = "1.1";
    c.axe_id = AXE2;
    cr_assert_eq(fiche_run(pool, &c), DB_CONFLICT); /* the test's own rollback */
    cr_assert(c.regles.numero_deja_utilise);
    cr_assert(c.regles.has_axe);
    cr_assert_str_eq(c.regles.axe_id_pvd, T2);
    cr_assert_eq(c.regles.communes_territoire_count, 1);
    cr_assert_eq(c.regles.communes_epci_count, 2);
    c.except_id = id; /* the fiche itself keeps its numero */
    c.axe_id = "00000000-0000-4000-8000-0000000000ff";
    cr_assert_eq(fiche_run(pool, &c), DB_CONFLICT);
    cr_assert_not(c.regles.numero_deja_utilise);
    cr_assert_not(c.regles.has_axe);
    c.id_pvd = T2;
    cr_assert_eq(fiche_run(pool, &c), DB_CONFLICT);
    cr_assert_not(c.regles.numero_deja_utilise);
    cr_assert_eq(c.regles.communes_territoire_count, 0);
    c.id_pvd = "pvd-84-38-9";
    cr_assert_eq(fiche_run(pool, &c), DB_NOT_FOUND);
    fiche_regles_release(&c.regles);

    /* transitions: revision checked; the CHECKs refuse en_cours without a
     * commencement */
    c.op = OP_TRANSITION;
    c.id = id;
    c.to = FICHE_EN_MATURATION;
    c.revision = 2;
    cr_assert_eq(fiche_run(pool, &c), DB_STALE);
    c.revision = 1;
    cr_assert_eq(fiche_run(pool, &c), DB_OK);
    cr_assert_eq(c.row.revision, 2);
    cr_assert(strstr(c.row.json, "\"etat\": \"en_maturation\""), "%s", c.row.json);
    c.to = FICHE_ABANDONNEE;
    c.revision = -1;
    c.motif = "Projet repris par le département";
    cr_assert_eq(fiche_run(pool, &c), DB_OK);
    cr_assert(strstr(c.row.json, "\"motif\": \"Projet repris"), "%s", c.row.json);
    cr_assert_eq(
        count_rows("select count(*) from journal where action = 'fiche_action.transition'"), 2);
    fiche_row_release(&c.row);
    db_pool_free(pool);
}

Test(db, plan_action_update_and_freeze)
{
    fiche_schema();
    struct db_pool *pool = make_pool(2, 5000, 10000);
    struct db_error err = {{0}, {0}};
    struct db_conn *conn = NULL;
    struct plan_action_row plan = {0};

    cr_assert_eq(db_pool_acquire(pool, &conn, &err), DB_OK);
    cr_assert_eq(plan_action_get(conn, T1, &plan, &err), DB_OK, "%s", err.message);
    cr_assert_eq(plan.revision, 0);
    cr_assert_eq(plan.version, 0);
    cr_assert(strstr(plan.json, "\"programme_global\": \"\""), "%s", plan.json);
    plan_action_row_release(&plan);
    cr_assert_eq(plan_action_get(conn, "pvd-84-38-9", &plan, &err), DB_NOT_FOUND);
    db_pool_release(pool, conn);

    struct fiche_call c = {.op = OP_PLAN_UPDATE, .id_pvd = T1, .revision = 0};
    c.json = "{\"programme_global\": \"Revitaliser le centre\", \"perimetres\": "
             "[{\"thematique\": \"habitat\"}]}";
    cr_assert_eq(fiche_run(pool, &c), DB_OK);
    cr_assert_eq(c.plan.revision, 1);
    cr_assert_eq(fiche_run(pool, &c), DB_STALE);
    c.revision = 1;
    c.json = "{\"programme_global\": \"Revitaliser\"}";
    cr_assert_eq(fiche_run(pool, &c), DB_OK);
    cr_assert_eq(c.plan.revision, 2);
    cr_assert(strstr(c.plan.json, "\"thematique\": \"habitat\""), "%s", c.plan.json);

    char *body = fiche_body("1.1", NULL);
    struct fiche_call f = {.op = OP_CREATE, .id_pvd = T1, .json = body};
    cr_assert_eq(fiche_run(pool, &f), DB_OK);
    free(body);
    fiche_row_release(&f.row);

    PGconn *pg = test_connect();
    exec_ok(pg, "insert into decisions (id, seance_id, type, objet) values "
                "('00000000-0000-4000-8000-0000000000e1', '" SEA1 "', 'valide_plan', 'plan'), "
                "('00000000-0000-4000-8000-0000000000e2', '" SEA1 "', 'autre', 'autre')");
    PQfinish(pg);
    c.op = OP_PLAN_FREEZE;
    c.id = "00000000-0000-4000-8000-0000000000e2";
    cr_assert_eq(fiche_run(pool, &c), DB_CONFLICT); /* not a valide_plan décision */
    c.id = "00000000-0000-4000-8000-0000000000e1";
    cr_assert_eq(fiche_run(pool, &c), DB_OK);
    cr_assert_eq(c.plan.version, 1);
    cr_assert(strstr(c.plan.json, "\"date_validation_comite\": \"2026-03-01\""), "%s", c.plan.json);
    cr_assert_eq(fiche_run(pool, &c), DB_CONFLICT); /* that décision froze version 1 already */
    c.id_pvd = T2;
    cr_assert_eq(fiche_run(pool, &c), DB_CONFLICT); /* not T2's comité */
    cr_assert_eq(count_rows("select count(*) from plan_action_versions where version = 1 and "
                            "jsonb_array_length(representation->'fiches') = 1"),
                 1);
    cr_assert_eq(count_rows("select version from plans_action where id_pvd = '" T1 "'"), 1);
    cr_assert_eq(count_rows("select count(*) from journal where action like 'plan_action.%' and "
                            "ressource_type = 'plan_action'"),
                 3);
    plan_action_row_release(&c.plan);
    db_pool_free(pool);
}

/* The maquette's inputs (db/maquette_repository.h): an abandonnee fiche is
 * left out; the other fiches by numero with their lines (by rang, financeur
 * index by nom, par_maitre_ouvrage) and échéancier (by year). */
Test(db, maquette_lire_reads_the_plan_without_abandoned_fiches)
{
    fiche_schema();
    PGconn *pg = test_connect();
    exec_ok(pg,
            "insert into plans_action (id_pvd) values ('" T1 "');" FICHE_COLS "('" T1
            "', 'B', 'Halles', '" AXE1 "', 'D', 'O', '" ORG1 "', '38001', "
            "'investissement', 1000, NULL, 'brouillon', 't'), "
            "('" T1 "', 'A', 'Place', '" AXE1 "', 'D', 'O', '" ORG1 "', '38001', "
            "'investissement', 500, NULL, 'brouillon', 't');"
            "insert into fiches_action (id_pvd, numero, intitule, axe_id, description, objectifs, "
            "maitre_ouvrage_id, localisation_commune_insee, nature_depense, cout_total_ht, etat, "
            "motif, cree_par) values ('" T1 "', 'C', 'Abandon', '" AXE1 "', 'D', 'O', '" ORG1
            "', '38001', 'investissement', 700, 'abandonnee', 'Motif', 't');"
            "insert into fiche_financements (fiche_id, rang, financeur_id, dispositif, "
            "nature_financeur, montant, statut) select f.id, v.rang, v.fin::uuid, v.disp, "
            "'public', v.montant, v.statut from fiches_action f, (values "
            "('B', 1, '" ORG2 "', 'region', 600, 'accorde'), ('B', 0, '" ORG1 "', "
            "'autofinancement', 400, 'solde'), ('A', 0, '" ORG2 "', 'DSIL', 500, 'sollicite'), "
            "('C', 0, '" ORG2 "', 'region', 700, 'accorde')) v(numero, rang, fin, disp, montant, "
            "statut) where f.numero = v.numero;"
            "insert into fiche_echeancier (fiche_id, annee, montant) select f.id, v.annee, "
            "v.montant from fiches_action f, (values ('B', 2026, 300), ('B', 2025, 700), "
            "('A', 2025, 500), ('C', 2025, 700)) v(numero, annee, montant) where f.numero = "
            "v.numero");
    PQfinish(pg);
    struct db_pool *pool = make_pool(1, 5000, 10000);
    struct db_error err = {{0}, {0}};
    struct db_conn *conn = NULL;
    struct maquette_donnees d;
    cr_assert_eq(db_pool_acquire(pool, &conn, &err), DB_OK);
    cr_assert_eq(maquette_lire(conn, T1, &d, &err), DB_OK, "%s", err.message);
    cr_assert_eq(d.axe_count, 1);
    cr_assert_str_eq(d.axes[0].id, AXE1);
    cr_assert_eq(d.fiche_count, 2, "the abandoned fiche is left out");
    cr_assert_str_eq(d.fiche_infos[0].numero, "A");
    cr_assert_str_eq(d.fiche_infos[1].numero, "B");
    cr_assert_eq(d.financeur_count, 2);
    cr_assert_str_eq(d.financeurs[0].nom, "A"); /* by nom: "A" (ORG1) before "CC X" */
    cr_assert_eq(d.fiches[0].ligne_count, 1);
    cr_assert_eq(d.fiches[0].lignes[0].dispositif, DISPOSITIF_DSIL);
    cr_assert_eq(d.fiches[0].lignes[0].financeur, 1);
    cr_assert_not(d.fiches[0].lignes[0].par_maitre_ouvrage);
    cr_assert_eq(d.fiches[1].ligne_count, 2);
    cr_assert_eq(d.fiches[1].lignes[0].montant, 400); /* rang 0 first */
    cr_assert(d.fiches[1].lignes[0].par_maitre_ouvrage);
    cr_assert_eq(d.fiches[1].lignes[0].statut, FINANCEMENT_SOLDE);
    cr_assert_eq(d.fiches[1].lignes[1].statut, FINANCEMENT_ACCORDE);
    cr_assert_eq(d.fiches[1].echeancier_count, 2);
    cr_assert_eq(d.fiches[1].echeancier[0].annee, 2025);
    cr_assert_eq(d.fiches[1].echeancier[1].montant, 300);
    maquette_donnees_release(&d);
    cr_assert_eq(maquette_lire(conn, T2, &d, &err), DB_OK, "%s", err.message);
    cr_assert_eq(d.fiche_count, 0);
    cr_assert_eq(d.axe_count, 1);
    maquette_donnees_release(&d);
    db_pool_release(pool, conn);
    db_pool_free(pool);
}

struct decision_call {
    const char *body;
    struct projet_row row;
};

static enum db_result decision_work(struct db_tx *tx, void *ctx, struct db_error *err)
{
    struct decision_call *c = ctx;
    projet_row_release(&c->row);
    enum db_result r = decision_insert(tx, SEA1, c->body, &c->row, err);
    if (r == DB_OK) {
        struct journal_entry e = {"decision.creer", "decision", c->row.id, NULL, "{}", {0}};
        r = journal_record(tx, &e, err);
    }
    return r;
}

/* decision_insert freezes the plan in the décision's transaction: a
 * valide_plan décision creates version N+1; when the freeze fails, the
 * décision is rolled back with it. */
Test(db, a_valide_plan_decision_and_its_version_commit_or_fail_together)
{
    fiche_schema();
    struct db_pool *pool = make_pool(1, 5000, 10000);
    struct db_error err = {{0}, {0}};
    struct decision_call c = {.body = "{\"type\": \"valide_plan\", \"objet\": \"Plan\"}"};
    cr_assert_eq(
        db_run_mutation(pool, DB_ISOLATION_READ_COMMITTED, &fiche_actor, decision_work, &c, &err),
        DB_OK, "%s", err.message);
    cr_assert_eq(count_rows("select version from plans_action where id_pvd = '" T1 "'"), 1);
    cr_assert_eq(count_rows("select count(*) from plan_action_versions v join decisions d on "
                            "d.id = v.decision_id where v.version = 1 and d.type = 'valide_plan'"),
                 1);
    /* version 2 is taken already (by another décision): the next freeze fails */
    PGconn *pg = test_connect();
    exec_ok(pg, "insert into decisions (id, seance_id, type, objet) values "
                "('00000000-0000-4000-8000-0000000000e9', '" SEA1 "', 'autre', 'x');"
                "insert into plan_action_versions (id_pvd, version, decision_id, "
                "date_validation_comite, representation, cree_par) values ('" T1 "', 2, "
                "'00000000-0000-4000-8000-0000000000e9', '2026-03-01', '{}', 't')");
    PQfinish(pg);
    cr_assert_neq(
        db_run_mutation(pool, DB_ISOLATION_READ_COMMITTED, &fiche_actor, decision_work, &c, &err),
        DB_OK);
    cr_assert_eq(count_rows("select count(*) from decisions where type = 'valide_plan'"), 1,
                 "the décision whose freeze failed was rolled back");
    cr_assert_eq(count_rows("select version from plans_action where id_pvd = '" T1 "'"), 1);
    projet_row_release(&c.row);
    db_pool_free(pool);
}

/* ---- Programme parameters (issue #10 §1) --------------------------------- */

/* The defaults of domain.md, but a 46 000 € cap and one DETR deadline. */
#define PARAMETRES_DOC                                                                             \
    "{\"programme\":{\"date_lancement\":\"2020-10-01\",\"date_fin\":\"2026-03-31\","               \
    "\"fin_cofinancement_cdp\":\"2026-12-31\"},\"chef_projet\":[{\"annee_debut\":2020,"            \
    "\"taux_max\":7500,\"taux_premier_versement\":7500,\"plafond_annuel_centimes\":4600000,"       \
    "\"plafond_annuel_avec_anah_centimes\":5500000,\"financeurs\":{\"anct_etat\":{\"taux_max\":"   \
    "7500,\"plafond_annuel_centimes\":5500000},\"bdt\":{\"taux_max\":2500,"                        \
    "\"plafond_annuel_centimes\":1500000},\"anah\":{\"taux_max\":5000,"                            \
    "\"plafond_annuel_centimes\":4000000}}}],\"delais\":{\"rejet_implicite_mois\":9,"              \
    "\"caducite_annees\":2,\"caducite_prolongation_annees\":1,\"forclusion_annees\":4,"            \
    "\"forclusion_prolongation_annees\":2,\"seuil_commission_detr_centimes\":10000000,"            \
    "\"avance_taux_max\":3000,\"avance_taux_max_garantie\":6000},\"dates_limites_depot\":["        \
    "{\"dispositif\":\"DETR\",\"annee\":2031,\"code_departement\":\"2A\",\"date_limite\":"         \
    "\"2031-01-15\"}]}"

struct parametres_call {
    struct parametres_nouvelle n;
    struct parametres out;
    struct parametres_version_info info;
};

static enum db_result parametres_work(struct db_tx *tx, void *arg, struct db_error *err)
{
    struct parametres_call *c = arg;
    return parametres_creer(tx, &c->n, &c->out, &c->info, err);
}

static long vigueur(struct db_pool *pool, const char *day, struct parametres *p)
{
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    struct date d;
    long version = -1;
    cr_assert(date_parse(day, &d));
    cr_assert_eq(db_pool_acquire(pool, &conn, &err), DB_OK, "%s", err.message);
    cr_assert_eq(parametres_en_vigueur(conn, d, p, &version, &err), DB_OK, "%s", err.message);
    db_pool_release(pool, conn);
    return version;
}

Test(db, parametres_in_force_from_their_date_effet_and_never_before)
{
    fiche_schema();
    struct db_pool *pool = make_pool(1, 5000, 10000);
    struct db_error err = {{0}, {0}};
    struct parametres p, defaults;
    parametres_defaut(&defaults);

    /* nothing stored: the defaults, version 0 */
    cr_assert_eq(vigueur(pool, "2030-06-01", &p), 0);
    cr_assert_eq(memcmp(&p, &defaults, sizeof p), 0);

    struct parametres_call c = {.n = {.date_effet = {2030, 6, 1},
                                      .document_json = PARAMETRES_DOC,
                                      .aujourdhui = {2030, 5, 1},
                                      .version_lue = 0}};
    cr_assert_eq(
        db_run_mutation(pool, DB_ISOLATION_READ_COMMITTED, &fiche_actor, parametres_work, &c, &err),
        DB_OK, "%s", err.message);
    cr_assert_eq(c.info.version, 1);
    cr_assert_str_eq(c.info.cree_par, "systeme:test");
    cr_assert_eq(c.out.chef_projet[0].plafond_annuel, 4600000);
    cr_assert_eq(count_rows("select count(*) from journal where action = 'parametres.modifier' "
                            "and ressource_type = 'parametres' and ressource_id = '1' and avant "
                            "is null and (apres->>'version')::int = 1"),
                 1);

    /* the day before: still the defaults; the day of and after: version 1 */
    cr_assert_eq(vigueur(pool, "2030-05-31", &p), 0);
    cr_assert_eq(memcmp(&p, &defaults, sizeof p), 0);
    cr_assert_eq(vigueur(pool, "2030-06-01", &p), 1);
    cr_assert_eq(p.chef_projet_count, 1);
    cr_assert_eq(p.chef_projet[0].plafond_annuel, 4600000);
    cr_assert_eq(p.chef_projet[0].financeurs[CDP_FINANCEUR_ANAH].plafond_annuel, 4000000);
    cr_assert_eq(p.chef_projet[0].financeurs[CDP_FINANCEUR_BDT].taux_max, 2500);
    cr_assert_eq(p.delais.rejet_implicite_mois, 9);
    cr_assert_eq(p.dates_limites_count, 1);
    cr_assert_eq(p.dates_limites[0].dispositif, SUBVENTION_DETR);
    cr_assert_str_eq(p.dates_limites[0].code_departement, "2A");
    cr_assert_eq(p.dates_limites[0].date_limite.day, 15);
    /* what was stored passes the rules it was checked against */
    struct rule_report rr;
    rule_report_init(&rr);
    cr_assert_eq(parametres_check(&p, &rr), 0);
    cr_assert_eq(vigueur(pool, "2031-01-01", &p), 1);

    /* a stale read: the caller saw version 0 in force on 2030-06-02, now 1 */
    struct parametres_call stale = {.n = {.date_effet = {2030, 7, 1},
                                          .document_json = PARAMETRES_DOC,
                                          .aujourdhui = {2030, 6, 2},
                                          .version_lue = 0}};
    cr_assert_eq(db_run_mutation(pool, DB_ISOLATION_READ_COMMITTED, &fiche_actor, parametres_work,
                                 &stale, &err),
                 DB_STALE);
    cr_assert_eq(count_rows("select count(*) from parametres_versions"), 1);

    /* a second version of the same date_effet wins from that date */
    c.n.aujourdhui = (struct date){2030, 5, 2};
    c.n.document_json = "{\"programme\":{\"date_lancement\":\"2020-10-01\",\"date_fin\":"
                        "\"2026-03-31\",\"fin_cofinancement_cdp\":\"2026-12-31\"},"
                        "\"chef_projet\":[],\"delais\":{},\"dates_limites_depot\":[]}";
    cr_assert_eq(
        db_run_mutation(pool, DB_ISOLATION_READ_COMMITTED, &fiche_actor, parametres_work, &c, &err),
        DB_FAILED, "a document that does not read back is a bug, and rolled back");
    cr_assert_eq(count_rows("select count(*) from parametres_versions"), 1);
    c.n.document_json = PARAMETRES_DOC;
    cr_assert_eq(
        db_run_mutation(pool, DB_ISOLATION_READ_COMMITTED, &fiche_actor, parametres_work, &c, &err),
        DB_OK, "%s", err.message);
    cr_assert_eq(c.info.version, 2);
    cr_assert_eq(vigueur(pool, "2030-06-01", &p), 2);
    cr_assert_eq(vigueur(pool, "2030-05-31", &p), 0);

    /* versions are never updated */
    PGconn *pg = test_connect();
    exec_fails(pg, "update parametres_versions set date_effet = '2030-01-01'", "42501");
    exec_fails(pg, "delete from parametres_versions", "42501");
    PQfinish(pg);
    db_pool_free(pool);
}

struct parametres_thread {
    struct db_pool *pool;
    struct parametres_call call;
    enum db_result result;
};

static void *parametres_thread_main(void *arg)
{
    struct parametres_thread *t = arg;
    struct db_error err = {{0}, {0}};
    t->result = db_run_mutation(t->pool, DB_ISOLATION_READ_COMMITTED, &fiche_actor, parametres_work,
                                &t->call, &err);
    return NULL;
}

/* The version read for If-Match is checked again under the table lock: a
 * writer that waited on another one, which made a version in force on the
 * same day, gets DB_STALE and writes nothing. */
Test(db, parametres_writer_that_waited_sees_the_version_committed_meanwhile)
{
    fiche_schema();
    struct db_pool *pool = make_pool(2, 5000, 10000);
    struct parametres_thread t = {.pool = pool,
                                  .call = {.n = {.date_effet = {2030, 6, 1},
                                                 .document_json = PARAMETRES_DOC,
                                                 .aujourdhui = {2030, 5, 1},
                                                 .version_lue = 0}}};
    PGconn *holder = test_connect();
    exec_ok(holder, "begin; lock table parametres_versions in share row exclusive mode; insert "
                    "into parametres_versions (version, date_effet, document, cree_par) values "
                    "(1, '2030-04-01', '" PARAMETRES_DOC "', 'systeme:autre')");
    pthread_t thread;
    cr_assert_eq(pthread_create(&thread, NULL, parametres_thread_main, &t), 0);
    long waiting = 0;
    for (int i = 0; i < 300 && waiting == 0; i++) {
        sleep_ms(10);
        waiting = count_rows("select count(*) from pg_locks l join pg_database d on d.oid = "
                             "l.database where d.datname = current_database() and not l.granted "
                             "and l.relation = 'parametres_versions'::regclass");
    }
    cr_assert_eq(waiting, 1, "the second writer never waited for the lock");
    exec_ok(holder, "commit");
    pthread_join(thread, NULL);
    PQfinish(holder);
    cr_assert_eq(t.result, DB_STALE);
    cr_assert_eq(count_rows("select count(*) from parametres_versions"), 1);
    cr_assert_eq(count_rows("select count(*) from journal where action = 'parametres.modifier'"),
                 0);
    db_pool_free(pool);
}

/* Issue #10 §1: each clock of a request runs with the delays of the
 * parameters version in force on the date that starts it (migration 0020),
 * not with those in force on `today`. Version 1 (caducité 3 years, R34)
 * takes effect on 2024-06-01: a DETR request notified before keeps the
 * 2-year default, one notified after gets 3 years, on the same `today`;
 * the list filter's SQL and the row read by the service (member "_delais",
 * which api/handlers/demandes.c feeds to demande_etat_effectif) agree. */
Test(db, demande_clocks_use_the_parametres_in_force_on_their_start_date)
{
    fiche_schema();
    PGconn *pg = test_connect();
    char fiche[64];
    exec_ok(pg, "insert into plans_action (id_pvd) values ('" T1 "')");
    exec_ok(pg, "insert into parametres_versions (version, date_effet, document, cree_par) "
                "values (1, '2024-06-01', '{\"delais\": {\"rejet_implicite_mois\": 10, "
                "\"caducite_annees\": 3, \"caducite_prolongation_annees\": 1, "
                "\"forclusion_annees\": 4, \"forclusion_prolongation_annees\": 2}}', 'test')");
    query_text(pg,
               FICHE_COLS "('" T1 "', '1.1', 'I', '" AXE1 "', 'D', 'O', '" ORG1
                          "', '38001', 'etude', 100, 120, 'brouillon', 'x') returning id::text",
               NULL, fiche, sizeof fiche);
    const char *cols = "insert into demandes_subvention (id, id_pvd, dispositif, demandeur_id, "
                       "fiche_id, annee_programmation, intitule, depense_subventionnable_ht, "
                       "montant_sollicite, date_depot, date_decision, date_notification, etat, "
                       "cree_par) values ";
    char sql[1024];
    snprintf(sql, sizeof sql,
             "%s('00000000-0000-4000-8000-0000000000d1', '" T1 "', 'DETR', '" ORG1
             "', '%s', 2024, 'Avant', 100, 50, '2023-12-01', '2024-01-05', '2024-01-10', "
             "'notifiee', 'x'), ('00000000-0000-4000-8000-0000000000d2', '" T1 "', 'DETR', '" ORG1
             "', '%s', 2024, 'Après', 100, 50, '2024-06-15', '2024-06-20', "
             "'2024-07-01', 'notifiee', 'x'), ('00000000-0000-4000-8000-0000000000d3', '" T1
             "', 'FNADT', '" ORG1 "', '%s', 2024, 'R30', 100, 50, '2024-06-02', null, null, "
             "'depose', 'x')",
             cols, fiche, fiche, fiche);
    exec_ok(pg, sql);
#define ETAT(id, day)                                                                              \
    "select count(*) from demandes_subvention x where x.id = "                                     \
    "'00000000-0000-4000-8000-0000000000" id "' and demande_etat_effectif(x, '" day                \
    "', 8, 2, 1, 4, 2) = "
    /* notified 2024-01-10, before version 1: 2 years, caduque from 2026-01-11 */
    cr_expect_eq(count_rows(ETAT("d1", "2026-01-10") "'notifiee'"), 1);
    cr_expect_eq(count_rows(ETAT("d1", "2026-01-11") "'caduque'"), 1);
    /* notified 2024-07-01, version 1 in force: 3 years, not 2 */
    cr_expect_eq(count_rows(ETAT("d2", "2026-07-02") "'notifiee'"), 1);
    cr_expect_eq(count_rows(ETAT("d2", "2027-07-01") "'notifiee'"), 1);
    cr_expect_eq(count_rows(ETAT("d2", "2027-07-02") "'caduque'"), 1);
    /* R30 deposited 2024-06-02: 10 months of version 1, not the default 8 */
    cr_expect_eq(count_rows(ETAT("d3", "2025-02-03") "'depose'"), 1);
    cr_expect_eq(count_rows(ETAT("d3", "2025-04-03") "'rejet_implicite'"), 1);
#undef ETAT

    /* The row the service reads carries each clock's delays (null: defaults). */
    struct db_pool *pool = make_pool(1, 5000, 10000);
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    cr_assert_eq(db_pool_acquire(pool, &conn, &err), DB_OK, "%s", err.message);
    struct demande_row row = {0};
    cr_assert_eq(demande_get(conn, "00000000-0000-4000-8000-0000000000d1", &row, &err), DB_OK, "%s",
                 err.message);
    cr_expect(strstr(row.json, "\"_delais\": {") && strstr(row.json, "\"caducite_annees\": null"),
              "%s", row.json);
    demande_row_release(&row);
    cr_assert_eq(demande_get(conn, "00000000-0000-4000-8000-0000000000d2", &row, &err), DB_OK, "%s",
                 err.message);
    cr_expect(strstr(row.json, "\"caducite_annees\": 3"), "%s", row.json);
    demande_row_release(&row);
    db_pool_release(pool, conn);
    db_pool_free(pool);
    PQfinish(pg);
}

/* R30, R34, R35 are computed twice: in C (domain/demande.c
 * demande_etat_effectif, every read, transition and the sweep's decision) and
 * in SQL (demande_etat_effectif of 0019/0020: the list's etat filter, the
 * sweep's candidates, the open-data export). This table holds them to each
 * other and to the expected state on the day before, the day of and the day
 * after each last day: month ends (8 months from 31 January, clamped to 30
 * September), leap days (29 February + 2 years, + 4 years, + 8 months),
 * the R30 prorogation, the R34/R35 extensions, a commencement or an
 * achèvement on the last day or the day after, dispositifs a clock does not
 * apply to, and a clock started on or after a parameters version's
 * date_effet (its delays) or the day before (the defaults): the C side
 * gets each clock's delays from the table's own reading of that version
 * (horloge_delais), the SQL side from 0020's parametres_delais_au. */
struct horloge_cas {
    const char *dispositif, *etat;
    const char *depot, *accuse, *commencement, *notification, *achevement; /* NULL: none */
    int prorogation_mois;
    bool prol_caducite, prol_forclusion;
    const char *jours[3]; /* the day before, the day of, the day after the last day */
    const char *attendu[3];
};

static const struct horloge_cas horloges[] = {
    /* R30: 8 months from the dépôt, 31 January → 30 September (month end) */
    {"FNADT",
     "depose",
     "2024-01-31",
     NULL,
     NULL,
     NULL,
     NULL,
     0,
     false,
     false,
     {"2024-09-29", "2024-09-30", "2024-10-01"},
     {"depose", "depose", "rejet_implicite"}},
    /* from the accusé de réception, not the dépôt; it ends on a leap day */
    {"FNADT",
     "en_instruction",
     "2023-06-01",
     "2023-06-29",
     NULL,
     NULL,
     NULL,
     0,
     false,
     false,
     {"2024-02-28", "2024-02-29", "2024-03-01"},
     {"en_instruction", "en_instruction", "rejet_implicite"}},
    /* from a leap day */
    {"fonds_vert_recyclage_foncier",
     "depose",
     "2024-02-29",
     NULL,
     NULL,
     NULL,
     NULL,
     0,
     false,
     false,
     {"2024-10-28", "2024-10-29", "2024-10-30"},
     {"depose", "depose", "rejet_implicite"}},
    /* to 28 February of a common year */
    {"fonds_vert_recyclage_foncier",
     "en_instruction",
     "2024-06-30",
     NULL,
     NULL,
     NULL,
     NULL,
     0,
     false,
     false,
     {"2025-02-27", "2025-02-28", "2025-03-01"},
     {"en_instruction", "en_instruction", "rejet_implicite"}},
    /* a prorogation of 3 months: 11 from 31 May 2023 → 30 April 2024 */
    {"FNADT",
     "depose",
     "2023-05-31",
     NULL,
     NULL,
     NULL,
     NULL,
     3,
     false,
     false,
     {"2024-04-29", "2024-04-30", "2024-05-01"},
     {"depose", "depose", "rejet_implicite"}},
    /* R30 is not DETR's: no implicit rejection */
    {"DETR",
     "depose",
     "2023-01-31",
     NULL,
     NULL,
     NULL,
     NULL,
     0,
     false,
     false,
     {"2023-09-29", "2023-09-30", "2023-10-01"},
     {"depose", "depose", "depose"}},
    /* R34: 2 years from a notification on a leap day → 28 February */
    {"DETR",
     "notifiee",
     "2023-10-01",
     NULL,
     NULL,
     "2024-02-29",
     NULL,
     0,
     false,
     false,
     {"2026-02-27", "2026-02-28", "2026-03-01"},
     {"notifiee", "notifiee", "caduque"}},
    /* DSIL with the one-year extension: 3 years */
    {"DSIL",
     "notifiee",
     "2022-12-01",
     NULL,
     NULL,
     "2023-03-15",
     NULL,
     0,
     true,
     false,
     {"2026-03-14", "2026-03-15", "2026-03-16"},
     {"notifiee", "notifiee", "caduque"}},
    /* commenced on the last day: in time; the day after: too late */
    {"DETR",
     "notifiee",
     "2021-12-01",
     NULL,
     "2024-01-10",
     "2022-01-10",
     NULL,
     0,
     false,
     false,
     {"2024-01-09", "2024-01-10", "2024-01-11"},
     {"notifiee", "notifiee", "notifiee"}},
    {"DETR",
     "notifiee",
     "2021-12-01",
     NULL,
     "2024-01-11",
     "2022-01-10",
     NULL,
     0,
     false,
     false,
     {"2024-01-09", "2024-01-10", "2024-01-11"},
     {"notifiee", "notifiee", "caduque"}},
    /* R34 is not FNADT's */
    {"FNADT",
     "notifiee",
     "2021-12-01",
     NULL,
     NULL,
     "2022-01-10",
     NULL,
     0,
     false,
     false,
     {"2024-01-09", "2024-01-10", "2024-01-11"},
     {"notifiee", "notifiee", "notifiee"}},
    /* R35: 4 years from a commencement on a leap day → a leap day */
    {"DETR",
     "engagee",
     "2019-12-01",
     NULL,
     "2020-02-29",
     "2020-01-15",
     NULL,
     0,
     false,
     false,
     {"2024-02-28", "2024-02-29", "2024-03-01"},
     {"engagee", "engagee", "forclose"}},
    /* with the two-year extension: 6 years from 31 August */
    {"DETR",
     "engagee",
     "2019-06-01",
     NULL,
     "2019-08-31",
     "2019-07-01",
     NULL,
     0,
     false,
     true,
     {"2025-08-30", "2025-08-31", "2025-09-01"},
     {"engagee", "engagee", "forclose"}},
    /* achèvement declared on the last day: in time; the day after: too late */
    {"DETR",
     "engagee",
     "2019-12-01",
     NULL,
     "2020-03-02",
     "2020-01-15",
     "2024-03-02",
     0,
     false,
     false,
     {"2024-03-01", "2024-03-02", "2024-03-03"},
     {"engagee", "engagee", "engagee"}},
    {"DETR",
     "engagee",
     "2019-12-01",
     NULL,
     "2020-03-02",
     "2020-01-15",
     "2024-03-03",
     0,
     false,
     false,
     {"2024-03-01", "2024-03-02", "2024-03-03"},
     {"engagee", "engagee", "forclose"}},
    /* R35 is not DSIL's */
    {"DSIL",
     "engagee",
     "2019-12-01",
     NULL,
     "2020-02-29",
     "2020-01-15",
     NULL,
     0,
     false,
     false,
     {"2024-02-28", "2024-02-29", "2024-03-01"},
     {"engagee", "engagee", "engagee"}},
    /* started the day before the version of 2027-01-01 (rejet 10 months, caducité 3
     * years): the defaults; on its date_effet: its delays */
    {"FNADT",
     "depose",
     "2026-12-31",
     NULL,
     NULL,
     NULL,
     NULL,
     0,
     false,
     false,
     {"2027-08-30", "2027-08-31", "2027-09-01"},
     {"depose", "depose", "rejet_implicite"}},
    {"FNADT",
     "depose",
     "2027-01-01",
     NULL,
     NULL,
     NULL,
     NULL,
     0,
     false,
     false,
     {"2027-10-31", "2027-11-01", "2027-11-02"},
     {"depose", "depose", "rejet_implicite"}},
    {"DETR",
     "notifiee",
     "2026-12-01",
     NULL,
     NULL,
     "2027-01-01",
     NULL,
     0,
     false,
     false,
     {"2029-12-31", "2030-01-01", "2030-01-02"},
     {"notifiee", "notifiee", "caduque"}},
};

static struct demande_date horloge_date(const char *s)
{
    struct demande_date d = {false, {0, 0, 0}};
    if (s) {
        cr_assert(date_parse(s, &d.date), "%s", s);
        d.has = true;
    }
    return d;
}

/* The delays of one clock started on `start`: those of the test's version 1
 * from its date_effet (2027-01-01: rejet 10 months, caducité 3 + 1 years,
 * forclusion 4 + 2), parametres_defaut's before (and without a start). */
static void horloge_delais(struct demande_date start, struct parametres_delais *out)
{
    struct parametres p;
    parametres_defaut(&p);
    *out = p.delais;
    if (start.has && date_compare(start.date, (struct date){2027, 1, 1}) >= 0) {
        out->rejet_implicite_mois = 10;
        out->caducite_annees = 3;
        out->caducite_prolongation_annees = 1;
        out->forclusion_annees = 4;
        out->forclusion_prolongation_annees = 2;
    }
}

Test(db, demande_clocks_c_and_sql_agree_on_edge_dates)
{
    fiche_schema();
    PGconn *pg = test_connect();
    char fiche[64], sql[2048], sql_etat[64];
    exec_ok(pg, "insert into plans_action (id_pvd) values ('" T1 "')");
    exec_ok(pg, "insert into parametres_versions (version, date_effet, document, cree_par) "
                "values (1, '2027-01-01', '{\"delais\": {\"rejet_implicite_mois\": 10, "
                "\"caducite_annees\": 3, \"caducite_prolongation_annees\": 1, "
                "\"forclusion_annees\": 4, \"forclusion_prolongation_annees\": 2}}', 'test')");
    query_text(pg,
               FICHE_COLS "('" T1 "', '1.1', 'I', '" AXE1 "', 'D', 'O', '" ORG1
                          "', '38001', 'etude', 100, 120, 'brouillon', 'x') returning id::text",
               NULL, fiche, sizeof fiche);
    struct parametres defaut;
    parametres_defaut(&defaut);
    const struct parametres_delais *d0 = &defaut.delais;
    size_t checked = 0;
    for (size_t i = 0; i < sizeof horloges / sizeof horloges[0]; i++) {
        const struct horloge_cas *c = &horloges[i];
#define Q(x) (x) ? "'" : "", (x) ? (x) : "null", (x) ? "'" : ""
        snprintf(sql, sizeof sql,
                 "insert into demandes_subvention (id, id_pvd, dispositif, demandeur_id, fiche_id, "
                 "annee_programmation, intitule, depense_subventionnable_ht, montant_sollicite, "
                 "date_depot, date_accuse_reception, date_commencement_execution, "
                 "date_notification, date_achevement_declaree, prorogation_mois, "
                 "prorogation_reference, prolongation_caducite_reference, "
                 "prolongation_forclusion_reference, etat, cree_par) values "
                 "('00000000-0000-4000-8000-%012zu', '" T1 "', '%s', '" ORG1 "', '%s', 2024, "
                 "'Horloge', 100, 50, %s%s%s, %s%s%s, %s%s%s, %s%s%s, %s%s%s, %d, %s, %s, %s, "
                 "'%s', 'x')",
                 i + 1, c->dispositif, fiche, Q(c->depot), Q(c->accuse), Q(c->commencement),
                 Q(c->notification), Q(c->achevement), c->prorogation_mois,
                 c->prorogation_mois ? "'Arrêté'" : "null", c->prol_caducite ? "'Arrêté'" : "null",
                 c->prol_forclusion ? "'Arrêté'" : "null", c->etat);
#undef Q
        exec_ok(pg, sql);
        struct demande_echeance_input in;
        memset(&in, 0, sizeof in);
        cr_assert(demande_etat_parse(c->etat, &in.etat));
        cr_assert(subvention_dispositif_parse(c->dispositif, &in.dispositif));
        in.dates.depot = horloge_date(c->depot);
        in.dates.accuse_reception = horloge_date(c->accuse);
        in.dates.commencement_execution = horloge_date(c->commencement);
        in.dates.notification = horloge_date(c->notification);
        in.dates.achevement_declaree = horloge_date(c->achevement);
        in.prorogation_mois = c->prorogation_mois;
        in.prolongation_caducite = c->prol_caducite;
        in.prolongation_forclusion = c->prol_forclusion;
        /* each clock with the version in force on its start date, as 0020 */
        struct parametres_delais delais = *d0, x;
        horloge_delais(in.dates.accuse_reception.has ? in.dates.accuse_reception : in.dates.depot,
                       &x);
        delais.rejet_implicite_mois = x.rejet_implicite_mois;
        horloge_delais(in.dates.notification, &x);
        delais.caducite_annees = x.caducite_annees;
        delais.caducite_prolongation_annees = x.caducite_prolongation_annees;
        horloge_delais(in.dates.commencement_execution, &x);
        delais.forclusion_annees = x.forclusion_annees;
        delais.forclusion_prolongation_annees = x.forclusion_prolongation_annees;
        for (int j = 0; j < 3; j++) {
            struct demande_date today = horloge_date(c->jours[j]);
            struct demande_echeance e;
            const char *in_c =
                demande_etat_name(demande_etat_effectif(&in, &delais, today.date, &e));
            char id[40], param[64];
            snprintf(id, sizeof id, "00000000-0000-4000-8000-%012zu", i + 1);
            snprintf(param, sizeof param, "%s", c->jours[j]);
            snprintf(sql, sizeof sql,
                     "select demande_etat_effectif(x, $1::date, %d, %d, %d, %d, %d) from "
                     "demandes_subvention x where x.id = '%s'",
                     d0->rejet_implicite_mois, d0->caducite_annees,
                     d0->caducite_prolongation_annees, d0->forclusion_annees,
                     d0->forclusion_prolongation_annees, id);
            query_text(pg, sql, param, sql_etat, sizeof sql_etat);
            cr_expect_str_eq(in_c, c->attendu[j], "case %zu (%s %s) on %s: C says %s", i,
                             c->dispositif, c->etat, c->jours[j], in_c);
            cr_expect_str_eq(sql_etat, c->attendu[j], "case %zu (%s %s) on %s: SQL says %s", i,
                             c->dispositif, c->etat, c->jours[j], sql_etat);
            /* the C deadline is the middle day whenever a clock runs to a change */
            if (strcmp(c->attendu[2], c->etat) != 0) {
                char last[11];
                cr_expect(e.has || j == 2, "case %zu: no deadline before it passed", i);
                if (e.has) {
                    date_format(e.dernier_jour, last);
                    cr_expect_str_eq(last, c->jours[1], "case %zu: last day", i);
                }
            }
            checked++;
        }
    }
    cr_assert_eq(checked, 3 * (sizeof horloges / sizeof horloges[0]));
    PQfinish(pg);
}

/* ------------------------------------------- webhook dispatch (issue 11 §2, 0025) */

#define WH_SUB "00000000-0000-4000-8000-0000000000e1"

/* The real schema, a national machine client and its subscription to
 * territoire events at the feed's head. */
static void webhook_schema(PGconn *pg)
{
    size_t count = 0;
    const struct migration *list = migrations_embedded(&count);
    struct db_error err = {{0}, {0}};
    int applied = 0;
    cr_assert_eq(db_migrate(pg, list, count, &applied, &err), DB_OK, "%s", err.message);
    exec_ok(pg, "insert into clients (id, nom, role, secret_sel, secret_empreinte, cree_par) "
                "values ('pvd_000000000000000000000001', 'c', 'anct_national', "
                "decode(repeat('00', 16), 'hex'), decode(repeat('00', 32), 'hex'), 'test');"
                "insert into abonnements (id, client_id, url, types, secret_chiffre, position, "
                "cree_par) select '" WH_SUB "', 'pvd_000000000000000000000001', "
                "'https://x.example', '{territoire}', decode(repeat('00', 60), 'hex'), "
                "pg_snapshot_xmin(pg_current_snapshot())::text || '.0', 'test'");
}

static void journal_rows(PGconn *pg, const char *type, int n)
{
    char sql[400];
    snprintf(sql, sizeof sql,
             "insert into journal (acteur, action, ressource_type, ressource_id, apres) select "
             "'systeme:test', '%s.creer', '%s', g::text, '{}' from generate_series(1, %d) g",
             type, type, n);
    exec_ok(pg, sql);
}

static void wh_dispatch(struct db_pool *pool, size_t *created)
{
    struct db_error err = {{0}, {0}};
    bool more = false;
    enum db_result r = abonnement_dispatch(pool, WH_SUB, 100, created, &more, &err);
    cr_assert_eq(r, DB_OK, "dispatch: %d %s %s", (int)r, err.sqlstate, err.message);
}

/* ------------------------------------------ event feed's cursor (issue 12 §4) */

/* The one connection of a new pool of one (*pool, to free), planning every statement
 * generically, as PostgreSQL may once a named statement has run five times. */
static struct db_conn *generic_plan_conn(struct db_pool **pool)
{
    struct db_conn *conn = NULL;
    *pool = make_pool(1, 1000, 0);
    cr_assert_eq(db_pool_acquire(*pool, &conn, NULL), DB_OK);
    exec_ok(conn->pg, "set plan_cache_mode = force_generic_plan");
    return conn;
}

/* The plan of conn's prepared statement whose text contains `marker`, run
 * with the text parameters `args` (an SQL list), as EXPLAIN prints it. */
static void prepared_plan(struct db_conn *conn, const char *marker, const char *args, char *out,
                          size_t size)
{
    char name[64], sql[512];
    query_text(conn->pg, "select name from pg_prepared_statements where strpos(statement, $1) > 0",
               marker, name, sizeof name);
    snprintf(sql, sizeof sql, "explain (costs off) execute %s(%s)", name, args);
    PGresult *res = PQexec(conn->pg, sql);
    cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s: %s", sql, PQresultErrorMessage(res));
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < PQntuples(res) && used < size; i++)
        used += (size_t)snprintf(out + used, size - used, "%s\n", PQgetvalue(res, i, 0));
    PQclear(res);
}

/* A page of the feed seeks its cursor in journal_xid_idx (an Index Cond)
 * whatever plan PostgreSQL keeps for the prepared statement: in a generic
 * plan, "$8 IS NULL OR (xid, id) > ($8, $9)" was a filter over every row
 * before the cursor. The pages stay the same: from the start, then after a
 * cursor. */
Test(db, evenements_read_seeks_its_cursor_in_a_generic_plan)
{
    fiche_schema();
    PGconn *pg = test_connect();
    exec_ok(pg, "insert into journal (acteur, action, ressource_type, ressource_id, apres) "
                "select 'systeme:test', 'territoire.modifier', 'territoire', 'terr-' || g, "
                "jsonb_build_object('n', g) from generate_series(1, 3000) as g");
    char key50[EVENEMENT_KEY_SIZE], key2900[EVENEMENT_KEY_SIZE], key2950[EVENEMENT_KEY_SIZE];
    const char *nth = "select xid::text || '.' || id::text from journal order by xid, id "
                      "offset $1::int - 1 limit 1";
    query_text(pg, nth, "50", key50, sizeof key50);
    query_text(pg, nth, "2900", key2900, sizeof key2900);
    query_text(pg, nth, "2950", key2950, sizeof key2950);
    PQfinish(pg);

    struct db_pool *pool = NULL;
    struct db_conn *conn = generic_plan_conn(&pool);
    struct db_error err = {{0}, {0}};
    struct journal_visibility v = {.all = true};
    char *json = NULL, last[EVENEMENT_KEY_SIZE];
    bool more = false;
    /* The rows are readable once no older transaction of the cluster is still
     * open (xids are cluster-wide: a parallel test may hold one a moment). */
    for (int tries = 0;; tries++) {
        cr_assert_eq(evenements_read(conn, &v, NULL, NULL, 50, &json, last, &more, &err), DB_OK,
                     "%s", err.message);
        if (last[0] || tries >= 200)
            break;
        free(json);
        sleep_ms(50);
    }
    cr_assert_str_eq(last, key50);
    cr_assert(more);
    free(json);
    cr_assert_eq(evenements_read(conn, &v, NULL, key2900, 50, &json, last, &more, &err), DB_OK,
                 "%s", err.message);
    cr_assert_str_eq(last, key2950);
    cr_assert(more);
    cr_assert_not_null(strstr(json, "{\"n\": 2901}"), "%.200s", json);
    free(json);
    cr_assert_geq(query_long(conn->pg,
                             "select generic_plans from pg_prepared_statements where "
                             "strpos(statement, 'evenement_json') > 0",
                             NULL),
                  1, "the page was read by the generic plan");

    char xid[EVENEMENT_KEY_SIZE], args[256], plan[8192];
    snprintf(xid, sizeof xid, "%s", key2900);
    char *dot = strchr(xid, '.');
    cr_assert_not_null(dot);
    *dot = '\0';
    snprintf(args, sizeof args, "'t', null, null, null, null, 'f', 'f', '%s', '%s', null, '51'",
             xid, dot + 1);
    prepared_plan(conn, "evenement_json", args, plan, sizeof plan);
    bool seek = false;
    for (char *line = strtok(plan, "\n"); line; line = strtok(NULL, "\n"))
        if (strstr(line, "Index Cond:") && strstr(line, "ROW(xid, id) > ROW("))
            seek = true;
    cr_assert(seek, "the cursor is no Index Cond of the generic plan");
    db_pool_release(pool, conn);
    db_pool_free(pool);
}

/* Every list page seeks its cursor (an Index Cond) whatever plan PostgreSQL
 * keeps for the prepared statement, in each order (list_sync_page_sql): in
 * a generic plan, "$n IS NULL OR key > $n" was a filter over every row
 * before the cursor. Pages stay the same: from the start, then after a
 * cursor. */
Test(db, list_pages_seek_their_cursor_in_a_generic_plan)
{
    PGconn *pg = test_connect();
    exec_ok(pg, "create table ls_items (id uuid primary key default gen_random_uuid(), "
                "modifie_le timestamptz not null, n int not null)");
    exec_ok(pg, "create index on ls_items (modifie_le, id)");
    exec_ok(pg, "insert into ls_items (modifie_le, n) select timestamptz '2026-01-01' + "
                "g * interval '1 second', g from generate_series(1, 3000) as g");
    exec_ok(pg, "analyze ls_items");
    PQfinish(pg);

    struct db_pool *pool = NULL;
    struct db_conn *conn = generic_plan_conn(&pool);
    struct db_error err = {{0}, {0}};
    const struct list_sync_columns cols = {"x.modifie_le", "x.id", "uuid", NULL};
    const struct {
        enum list_tri tri;
        const char *second_page_first; /* n of the first row after 50 rows */
        const char *order;             /* marks the page statement in pg_prepared_statements */
    } cases[] = {{LIST_TRI_MODIFIE, "51", " ORDER BY x.modifie_le, x.id LIMIT"},
                 {LIST_TRI_MODIFIE_DESC, "2950", " ORDER BY x.modifie_le DESC, x.id DESC LIMIT"},
                 {LIST_TRI_KEY, NULL, " ORDER BY x.id LIMIT"}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        struct list_sync sync = {cases[k].tri, NULL};
        const char *params[3];
        char *json = NULL, last[65], expected[96];
        bool more = false;
        size_t total = 0;
        cr_assert_eq(list_sync_page(conn, &sync, &cols, "jsonb_build_object('n', x.n)::text",
                                    "FROM ls_items x WHERE true", 1, params, NULL, 50, &json, last,
                                    &more, &total, &err),
                     DB_OK, "%s", err.message);
        cr_assert(more);
        cr_assert_eq(total, 3000);
        free(json);
        char after[65];
        snprintf(after, sizeof after, "%s", last);
        cr_assert_eq(list_sync_page(conn, &sync, &cols, "jsonb_build_object('n', x.n)::text",
                                    "FROM ls_items x WHERE true", 1, params, after, 50, &json, last,
                                    &more, &total, &err),
                     DB_OK, "%s", err.message);
        if (cases[k].second_page_first) {
            snprintf(expected, sizeof expected, "[{\"n\": %s}", cases[k].second_page_first);
            cr_assert(strncmp(json, expected, strlen(expected)) == 0, "tri %d: %.60s",
                      (int)cases[k].tri, json);
        } else {
            char id51[64];
            PGconn *q = test_connect();
            query_text(q, "select n::text from ls_items order by id offset 50 limit 1", NULL, id51,
                       sizeof id51);
            PQfinish(q);
            snprintf(expected, sizeof expected, "[{\"n\": %s}", id51);
            cr_assert(strncmp(json, expected, strlen(expected)) == 0, "by id: %.60s", json);
        }
        free(json);

        char args[128], plan[8192];
        snprintf(args, sizeof args, "null, '%s', '51'", after);
        prepared_plan(conn, cases[k].order, args, plan, sizeof plan);
        cr_assert_not_null(strstr(plan, "Index Cond:"), "tri %d: no seek in\n%s", (int)cases[k].tri,
                           plan);
        cr_assert_null(strstr(plan, "Seq Scan"), "tri %d:\n%s", (int)cases[k].tri, plan);
    }
    db_pool_release(pool, conn);
    db_pool_free(pool);
}

/* A subscription whose types match nothing moves its position past final
 * rows (SKIP_ADVANCE_ROWS), never past a row of a transaction still open:
 * the matching row committed later is delivered. */
Test(db, webhook_dispatch_never_skips_a_row_of_an_open_transaction)
{
    PGconn *pg = test_connect(), *open = test_connect();
    struct db_pool *pool = make_pool(1, 1000, 5000);
    size_t created = 0;
    char buf[64], max_id[32];
    webhook_schema(pg);
    exec_ok(open, "begin");
    journal_rows(open, "territoire", 1);
    journal_rows(pg, "organisation", 1100);
    wh_dispatch(pool, &created);
    cr_assert_eq(created, 0, "the open transaction's row is not readable yet");
    exec_ok(open, "commit");
    wh_dispatch(pool, &created);
    cr_assert_eq(created, 1, "the row committed late is delivered");
    cr_assert_eq(count_rows("select count(*) from livraisons where type = 'territoire.cree'"), 1);

    /* Nothing matches: the position moves to the last final row at once. */
    journal_rows(pg, "organisation", 1100);
    wh_dispatch(pool, &created);
    cr_assert_eq(created, 0);
    query_text(pg, "select max(id)::text from journal", NULL, max_id, sizeof max_id);
    query_text(pg, "select split_part(position, '.', 2) from abonnements", NULL, buf, sizeof buf);
    cr_assert_str_eq(buf, max_id, "the position passed the rows that match nothing");
    journal_rows(pg, "territoire", 2);
    wh_dispatch(pool, &created);
    cr_assert_eq(created, 2, "and the next matches are delivered");
    db_pool_free(pool);
    PQfinish(open);
    PQfinish(pg);
}

/* ---- Freshness stamps (issue 12 §4: db/freshness.h) ----------------------- */

static uint64_t stamp_of(struct db_freshness *f)
{
    uint64_t s = 0;
    cr_assert(db_freshness_stamp(f, &s), "the stamp could not be read");
    cr_assert_neq(s, 0);
    return s;
}

/* The stamp covers the whole cluster, where the other tests write in parallel: an
 * "unchanged" is asserted as "unchanged in at least one of 50 tries". */
static bool unchanged_once(struct db_freshness *f, PGconn *pg, const char *sql_between)
{
    for (int i = 0; i < 50; i++) {
        uint64_t before = stamp_of(f);
        exec_ok(pg, sql_between);
        if (stamp_of(f) == before)
            return true;
    }
    return false;
}

Test(db, freshness_stamp_changes_with_every_write_and_only_then)
{
    PGconn *pg = test_connect(), *other = test_connect();
    exec_ok(pg, "create table t (x int)");
    struct db_freshness *f = db_freshness_new(tdb.conninfo, "pvd-test-fraicheur-1", 2000, 0);
    cr_assert_not_null(f);
    cr_assert(unchanged_once(f, pg, "select count(*) from t"), "a read changes the stamp");
    cr_assert(unchanged_once(f, pg, "begin read only; select * from t; commit"),
              "a read-only transaction changes the stamp");

    uint64_t a = stamp_of(f);
    exec_ok(pg, "insert into t values (1)");
    cr_assert_neq(stamp_of(f), a, "a committed write left the stamp as it was");

    /* A write in progress: the stamp moves when it ends. */
    exec_ok(other, "begin; insert into t values (2)");
    uint64_t c = stamp_of(f);
    exec_ok(other, "commit");
    cr_assert_neq(stamp_of(f), c, "the end of a writing transaction was not seen");

    /* Two writers ending in the reverse order of their ids are both seen. */
    exec_ok(pg, "begin; insert into t values (3)");
    exec_ok(other, "begin; insert into t values (4)");
    uint64_t d = stamp_of(f);
    exec_ok(other, "commit");
    uint64_t e = stamp_of(f);
    cr_assert_neq(e, d, "the later id's commit was not seen");
    exec_ok(pg, "commit");
    cr_assert_neq(stamp_of(f), e, "the earlier id's later commit was not seen");

    struct db_freshness_stats st;
    db_freshness_stats(f, &st);
    cr_assert_geq(st.readings, 10);
    cr_assert_eq(st.readings, st.waits, "one caller at a time: one reading each");
    cr_assert_eq(st.failures, 0);
    db_freshness_free(f);
    PQfinish(other);
    PQfinish(pg);
}

struct stamp_waiter {
    struct db_freshness *f;
    uint64_t stamp;
    bool ok;
};

static void *stamp_waiter_main(void *arg)
{
    struct stamp_waiter *w = arg;
    w->ok = db_freshness_stamp(w->f, &w->stamp);
    return NULL;
}

Test(db, freshness_readings_are_shared_and_begin_after_the_call)
{
    PGconn *pg = test_connect();
    struct db_freshness *f = db_freshness_new(tdb.conninfo, "pvd-test-fraicheur-2", 5000, 0);
    stamp_of(f); /* connected */
    /* Many callers at once: each gets a reading of its own or a shared one. */
    enum { N = 16 };
    pthread_t threads[N];
    struct stamp_waiter w[N];
    struct db_freshness_stats before, after;
    db_freshness_stats(f, &before);
    for (int i = 0; i < N; i++) {
        w[i] = (struct stamp_waiter){f, 0, false};
        cr_assert_eq(pthread_create(&threads[i], NULL, stamp_waiter_main, &w[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(threads[i], NULL);
        cr_assert(w[i].ok);
    }
    db_freshness_stats(f, &after);
    cr_assert_eq(after.waits - before.waits, N);
    cr_assert_leq(after.readings - before.readings, N, "more readings than callers");
    cr_assert_geq(after.readings - before.readings, 1);

    /* A write acknowledged before a call is always seen by it (the reading it gets
     * began after the call), however the calls overlap. */
    exec_ok(pg, "create table t (x int)");
    for (int round = 0; round < 20; round++) {
        uint64_t seen = stamp_of(f);
        exec_ok(pg, "insert into t values (1)");
        cr_assert_neq(stamp_of(f), seen, "round %d: a write before the call not seen", round);
    }
    db_freshness_free(f);
    PQfinish(pg);
}

/* Callers in a loop on one reader while writes are acknowledged one after the
 * other: every stamp a caller gets differs from the stamp of every state it could
 * have seen before its call (pre[j], read before write j, for each write j
 * acknowledged when the call began). Snapshots never come back, whatever the
 * other tests write meanwhile. */
enum { FRESH_WRITES = 40, FRESH_CALLERS = 6 };
/* What the writer publishes to every caller: pre[j] is set before written moves past j. */
struct fresh_writes {
    struct db_freshness *f;
    uint64_t pre[FRESH_WRITES];
    atomic_int written; /* writes acknowledged */
    atomic_bool stop;
};
struct fresh_race {
    struct fresh_writes *w;
    atomic_int checked; /* `written` when this caller's last checked call began */
    int calls, stale;
};

static void *fresh_race_caller(void *arg)
{
    struct fresh_race *r = arg;
    while (!atomic_load(&r->w->stop)) {
        int w = atomic_load(&r->w->written);
        uint64_t s = 0;
        if (!db_freshness_stamp(r->w->f, &s))
            continue;
        for (int j = 0; j < w; j++)
            if (s == r->w->pre[j])
                r->stale++;
        r->calls++;
        atomic_store(&r->checked, w);
    }
    return NULL;
}

Test(db, freshness_concurrent_callers_never_get_a_stamp_from_before_their_call)
{
    PGconn *pg = test_connect();
    exec_ok(pg, "create table t (x int)");
    struct db_freshness *f = db_freshness_new(tdb.conninfo, "pvd-test-fraicheur-4", 5000, 0);
    struct db_freshness *probe = db_freshness_new(tdb.conninfo, "pvd-test-fraicheur-5", 5000, 0);
    static struct fresh_writes shared;
    static struct fresh_race r[FRESH_CALLERS];
    pthread_t threads[FRESH_CALLERS];
    memset(&shared, 0, sizeof shared);
    shared.f = f;
    for (int i = 0; i < FRESH_CALLERS; i++) {
        memset(&r[i], 0, sizeof r[i]);
        r[i].w = &shared;
        cr_assert_eq(pthread_create(&threads[i], NULL, fresh_race_caller, &r[i]), 0);
    }
    for (int j = 0; j < FRESH_WRITES; j++) {
        shared.pre[j] = stamp_of(probe);
        exec_ok(pg, "insert into t values (1)");
        atomic_store(&shared.written, j + 1);
        /* every caller makes a call after this write before the next one */
        for (int i = 0, waited = 0; i < FRESH_CALLERS; i++)
            while (atomic_load(&r[i].checked) < j + 1) {
                cr_assert_lt(waited++, 50000, "caller %d stopped calling", i);
                usleep(100);
            }
    }
    atomic_store(&shared.stop, true);
    int calls = 0;
    for (int i = 0; i < FRESH_CALLERS; i++) {
        pthread_join(threads[i], NULL);
        cr_assert_eq(r[i].stale, 0, "caller %d: %d stamps from before its call", i, r[i].stale);
        calls += r[i].calls;
    }
    struct db_freshness_stats st;
    db_freshness_stats(f, &st);
    cr_log_info("freshness race: %d calls, %llu readings", calls, (unsigned long long)st.readings);
    cr_assert_geq(calls, FRESH_WRITES * FRESH_CALLERS);
    cr_assert_leq(st.readings, st.waits);
    cr_assert_eq(st.failures, 0);
    db_freshness_free(probe);
    db_freshness_free(f);
    PQfinish(pg);
}

/* Bounded staleness (max_age_ms): a recent reading answers at once, until it is too old
 * or this process writes; a strict reader never reuses one. */
Test(db, freshness_max_age_reuses_a_recent_reading_until_a_local_write)
{
    PGconn *pg = test_connect();
    exec_ok(pg, "create table t (x int)");
    struct db_freshness *f = db_freshness_new(tdb.conninfo, "pvd-test-fraicheur-6", 5000, 60000);
    struct db_freshness_stats a, b;
    uint64_t first = stamp_of(f);
    db_freshness_stats(f, &a);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(stamp_of(f), first, "a recent reading was not reused");
    db_freshness_stats(f, &b);
    cr_assert_eq(b.readings, a.readings, "a reading made while a recent one could answer");
    cr_assert_eq(b.reused - a.reused, 5);

    /* A write of this process: the next call reads again, and sees it. */
    exec_ok(pg, "insert into t values (1)");
    db_freshness_written(f);
    uint64_t after = stamp_of(f);
    cr_assert_neq(after, first, "a write of this process not seen after db_freshness_written");
    db_freshness_stats(f, &a);
    cr_assert_eq(a.readings, b.readings + 1);
    db_freshness_free(f);

    /* Too old: read again (1 ms, 5 ms apart). */
    f = db_freshness_new(tdb.conninfo, "pvd-test-fraicheur-7", 5000, 1);
    stamp_of(f);
    struct timespec pause = {0, 5 * 1000 * 1000};
    nanosleep(&pause, NULL);
    exec_ok(pg, "insert into t values (2)");
    uint64_t before = stamp_of(f);
    nanosleep(&pause, NULL);
    exec_ok(pg, "insert into t values (3)");
    cr_assert_neq(stamp_of(f), before, "a reading older than max_age_ms reused");
    db_freshness_stats(f, &a);
    cr_assert_eq(a.readings, 3);
    cr_assert_eq(a.reused, 0);
    db_freshness_free(f);

    /* Strict: db_freshness_written changes nothing, no reading is reused. */
    f = db_freshness_new(tdb.conninfo, "pvd-test-fraicheur-8", 5000, 0);
    stamp_of(f);
    db_freshness_written(f);
    stamp_of(f);
    stamp_of(f);
    db_freshness_stats(f, &a);
    cr_assert_eq(a.readings, 3);
    cr_assert_eq(a.reused, 0);
    db_freshness_written(NULL);
    db_freshness_free(f);
    PQfinish(pg);
}

Test(db, freshness_fails_without_the_database_then_reconnects)
{
    struct db_freshness *none = db_freshness_new("host=/nonexistent port=1", NULL, 500, 0);
    uint64_t s = 7;
    cr_assert_not(db_freshness_stamp(none, &s), "a stamp without a server");
    struct db_freshness_stats st;
    db_freshness_stats(none, &st);
    cr_assert_eq(st.failures, 1);
    db_freshness_free(none);
    cr_assert_not(db_freshness_stamp(NULL, &s));
    cr_assert_null(db_freshness_new(NULL, NULL, 500, 0));

    PGconn *pg = test_connect();
    struct db_freshness *f = db_freshness_new(tdb.conninfo, "pvd-test-fraicheur-3", 2000, 0);
    stamp_of(f);
    int pid = (int)query_long(pg,
                              "select pid from pg_stat_activity where application_name = "
                              "'pvd-test-fraicheur-3' and datname = current_database()",
                              NULL);
    terminate_backend(pid);
    cr_assert_not(db_freshness_stamp(f, &s), "a stamp from a killed session");
    stamp_of(f); /* connected again at the next reading */
    db_freshness_free(f);
    PQfinish(pg);
}
