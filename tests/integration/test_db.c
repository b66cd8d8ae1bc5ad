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

#include "db/migrate.h"
#include "db/pool.h"
#include "db/transaction.h"

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

    /* libpq cannot know yet: the slot is handed out, and the query fails. */
    cr_assert_eq(db_pool_acquire(pool, &conn, &err), DB_OK);
    cr_assert_eq(conn->generation, 1);
    cr_assert_eq(run(conn, "select 1", NULL, &err), DB_UNAVAILABLE);
    cr_assert(conn->broken);
    db_pool_release(pool, conn);

    cr_assert_eq(db_pool_acquire(pool, &conn, &err), DB_OK, "%s", err.message);
    cr_assert_eq(conn->generation, 2);
    cr_assert_neq(PQbackendPID(conn->pg), pid);
    cr_assert_not(conn->broken);
    cr_assert_eq(run(conn, "select 1", NULL, &err), DB_OK, "%s", err.message);
    db_pool_release(pool, conn);
    db_pool_stats(pool, &stats);
    cr_assert_eq(stats.reconnects, 1);
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
