/* Connection pool and SQLSTATE mapping: owns every PGconn of the process.
 * Knows nothing about HTTP or the domain, and never logs. */
#include "pool.h"
#include "statements.h"

#include <assert.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DB_POOL_OPTIONS_MAX 512

struct db_pool {
    pthread_mutex_t mutex;
    pthread_cond_t freed; /* signalled when a slot becomes free */
    unsigned size;
    unsigned acquire_timeout_ms;
    char *conninfo;
    char *application_name; /* NULL: not passed */
    char *session_options;  /* value of the `options` keyword; NULL: not sent */
    char *tx_settings;      /* db_pool_transaction_settings; NULL: none */
    struct db_conn *conns;  /* size slots */
    bool *busy;             /* size flags, guarded by mutex */
    unsigned in_use;        /* guarded by mutex, as are the counters below */
    unsigned waiting;
    uint64_t acquire_timeouts;
    uint64_t reconnects;
    uint64_t connect_failures;
    uint64_t released_in_transaction;
};

/* libpq's default notice processor prints to stderr; db/ does not log. */
static void discard_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

void db_error_set(struct db_error *err, const char *sqlstate, const char *fmt, ...)
{
    va_list ap;
    int n;
    size_t len, lead;
    size_t need;
    unsigned char c;

    if (!err)
        return;
    snprintf(err->sqlstate, sizeof err->sqlstate, "%s", sqlstate ? sqlstate : "");
    va_start(ap, fmt);
    n = vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    if (n < 0) {
        err->message[0] = '\0';
        return;
    }
    len = strlen(err->message);
    while (len > 0 && (err->message[len - 1] == '\n' || err->message[len - 1] == '\r'))
        err->message[--len] = '\0';
    if ((size_t)n < sizeof err->message || len == 0)
        return;
    /* Truncated: drop a multi-byte UTF-8 sequence cut in the middle. */
    lead = len;
    while (lead > 0 && ((unsigned char)err->message[lead - 1] & 0xC0) == 0x80)
        lead--;
    if (lead == 0)
        return;
    c = (unsigned char)err->message[lead - 1];
    need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if (len - (lead - 1) < need)
        err->message[lead - 1] = '\0';
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* conninfo's own `options` value, owned, or NULL when absent or unparsable
 * (PQconnectdbParams then reports the parse error itself). */
static char *conninfo_options(const char *conninfo)
{
    PQconninfoOption *opts = NULL;
    PQconninfoOption *o;
    char *errmsg = NULL;
    char *found = NULL;

    opts = PQconninfoParse(conninfo, &errmsg);
    if (!opts)
        goto out;
    for (o = opts; o->keyword; o++) {
        if (strcmp(o->keyword, "options") == 0 && o->val && o->val[0]) {
            found = strdup(o->val);
            break;
        }
    }
out:
    PQfreemem(errmsg);
    PQconninfoFree(opts);
    return found;
}

/* printf into a new string of at most DB_POOL_OPTIONS_MAX bytes; NULL when
 * longer or out of memory. Owned by the caller. */
static char *format_dup(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *format_dup(const char *fmt, ...)
{
    char buf[DB_POOL_OPTIONS_MAX];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof buf)
        return NULL;
    return strdup(buf);
}

struct db_pool *db_pool_new(const struct db_pool_options *options)
{
    struct db_pool *pool = NULL;
    pthread_condattr_t cattr;
    bool cattr_ready = false, cond_ready = false;
    char *user_options = NULL;
    unsigned i;

    if (!options || !options->conninfo || options->size == 0)
        return NULL;
    pool = calloc(1, sizeof *pool);
    if (!pool)
        goto fail;
    pool->size = options->size;
    pool->acquire_timeout_ms = options->acquire_timeout_ms;
    pool->conninfo = strdup(options->conninfo);
    pool->application_name = dup_or_null(options->application_name);
    pool->conns = calloc(options->size, sizeof *pool->conns);
    pool->busy = calloc(options->size, sizeof *pool->busy);
    if (!pool->conninfo || (options->application_name && !pool->application_name) || !pool->conns ||
        !pool->busy)
        goto fail;
    for (i = 0; i < pool->size; i++) {
        pool->conns[i].index = i;
        pool->conns[i].named_statements = !options->transaction_pooler;
    }

    if (options->transaction_pooler) {
        pool->tx_settings =
            format_dup("SET LOCAL statement_timeout = %u;"
                       " SET LOCAL idle_in_transaction_session_timeout = %u",
                       options->statement_timeout_ms, options->idle_in_tx_timeout_ms);
        if (!pool->tx_settings)
            goto fail;
    } else {
        user_options = conninfo_options(options->conninfo);
        pool->session_options =
            format_dup("%s%s-c statement_timeout=%u -c idle_in_transaction_session_timeout=%u"
                       " -c TimeZone=UTC",
                       user_options ? user_options : "", user_options ? " " : "",
                       options->statement_timeout_ms, options->idle_in_tx_timeout_ms);
        if (!pool->session_options)
            goto fail;
    }

    if (pthread_condattr_init(&cattr) != 0)
        goto fail;
    cattr_ready = true;
    if (pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC) != 0)
        goto fail;
    if (pthread_cond_init(&pool->freed, &cattr) != 0)
        goto fail;
    cond_ready = true;
    if (pthread_mutex_init(&pool->mutex, NULL) != 0) /* last step: nothing to undo after it */
        goto fail;
    pthread_condattr_destroy(&cattr);
    free(user_options);
    return pool;

fail:
    if (cattr_ready)
        pthread_condattr_destroy(&cattr);
    if (cond_ready)
        pthread_cond_destroy(&pool->freed);
    free(user_options);
    if (pool) {
        free(pool->conninfo);
        free(pool->application_name);
        free(pool->session_options);
        free(pool->tx_settings);
        free(pool->conns);
        free(pool->busy);
        free(pool);
    }
    return NULL;
}

/* Opens a new PGconn with the pool's settings. Returns NULL with err filled
 * on failure. Called without the pool mutex. */
static PGconn *pool_connect(const struct db_pool *pool, struct db_error *err)
{
    /* Keywords before dbname are defaults that conninfo may override; the
     * ones after it override conninfo (libpq keeps the last value it sees,
     * and skips NULL values, so a NULL application_name sets nothing). */
    const char *const keys[] = {"connect_timeout",
                                "keepalives",
                                "keepalives_idle",
                                "keepalives_interval",
                                "keepalives_count",
                                "dbname",
                                "options",
                                "application_name",
                                NULL};
    const char *const vals[] = {
        "2", "1", "30", "10", "3", pool->conninfo, pool->session_options, pool->application_name,
        NULL};
    PGconn *pg = NULL;

    pg = PQconnectdbParams(keys, vals, 1);
    if (!pg) {
        db_error_set(err, "08001", "out of memory while connecting");
        goto out;
    }
    if (PQstatus(pg) != CONNECTION_OK) {
        db_error_set(err, "08001", "%s", PQerrorMessage(pg));
        PQfinish(pg);
        pg = NULL;
        goto out;
    }
    PQsetNoticeProcessor(pg, discard_notice, NULL);
    if (pool->tx_settings) {
        /* Behind a transaction pooler: a reported parameter, which the pooler
         * replays on every server session this client is given. */
        PGresult *res = PQexec(pg, "SET TimeZone TO 'UTC'");
        bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;

        if (!ok)
            db_error_set(err, "08001", "SET TimeZone: %s", PQerrorMessage(pg));
        PQclear(res);
        if (!ok) {
            PQfinish(pg);
            pg = NULL;
        }
    }
out:
    return pg;
}

static bool conn_needs_connect(const struct db_conn *conn)
{
    return !conn->pg || conn->broken || PQstatus(conn->pg) != CONNECTION_OK;
}

/* An idle pooled connection has nothing to read (the service neither
 * LISTENs nor leaves results unread): pending input means the server spoke
 * first — it terminated the session (a FATAL 57P01 on a shutdown or
 * restart, then the close) or the socket was closed. Such a connection is
 * replaced at acquisition instead of failing the request's first statement
 * (a replica that sat idle through a database restart answered 503 to its
 * next request). Reading the goodbye is not enough to tell: libpq reports
 * the close only on the read after it. Only called on a slot the caller
 * owns. */
static bool conn_idle_and_alive(PGconn *pg)
{
    struct pollfd p = {PQsocket(pg), POLLIN, 0};
    return p.fd >= 0 && poll(&p, 1, 0) == 0;
}

/* Index of a free slot, preferring one that already holds a healthy
 * connection; size when none is free. Called with the mutex held. */
static unsigned pool_find_free(const struct db_pool *pool)
{
    unsigned i, any = pool->size;

    for (i = 0; i < pool->size; i++) {
        if (pool->busy[i])
            continue;
        if (!conn_needs_connect(&pool->conns[i]))
            return i;
        if (any == pool->size)
            any = i;
    }
    return any;
}

static struct timespec deadline_after_ms(unsigned ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* Frees slot i and wakes one waiter. Called with the mutex held. */
static void pool_put_slot(struct db_pool *pool, unsigned i)
{
    pool->busy[i] = false;
    pool->in_use--;
    pthread_cond_signal(&pool->freed);
}

enum db_result db_pool_acquire(struct db_pool *pool, struct db_conn **out, struct db_error *err)
{
    enum db_result result = DB_OK;
    struct timespec deadline;
    struct db_conn *conn;
    bool replacing;
    unsigned i;
    int rc = 0;

    assert(pool && out);
    *out = NULL;
    deadline = deadline_after_ms(pool->acquire_timeout_ms);

    pthread_mutex_lock(&pool->mutex);
    pool->waiting++;
    /* Re-check the predicate after every wake-up, the timeout included. */
    while ((i = pool_find_free(pool)) == pool->size && rc == 0)
        rc = pthread_cond_timedwait(&pool->freed, &pool->mutex, &deadline);
    pool->waiting--;
    if (i == pool->size) {
        pool->acquire_timeouts++;
        pthread_mutex_unlock(&pool->mutex);
        db_error_set(err, NULL, "pool épuisé / pool exhausted: no free connection within %u ms",
                     pool->acquire_timeout_ms);
        result = DB_UNAVAILABLE;
        goto out;
    }
    pool->busy[i] = true;
    pool->in_use++;
    pthread_mutex_unlock(&pool->mutex);

    /* The slot is ours now: connect without holding the mutex. */
    conn = &pool->conns[i];
    if (conn_needs_connect(conn) || !conn_idle_and_alive(conn->pg)) {
        replacing = conn->generation > 0;
        PQfinish(conn->pg);
        conn->pg = pool_connect(pool, err);
        conn->broken = false;
        pthread_mutex_lock(&pool->mutex);
        if (!conn->pg) {
            pool->connect_failures++;
            pool_put_slot(pool, i);
            pthread_mutex_unlock(&pool->mutex);
            result = DB_UNAVAILABLE;
            goto out;
        }
        if (replacing)
            pool->reconnects++;
        pthread_mutex_unlock(&pool->mutex);
        conn->generation++;
    }
    *out = conn;
out:
    return result;
}

void db_pool_release(struct db_pool *pool, struct db_conn *conn)
{
    PGresult *res = NULL;
    bool leaked = false;
    unsigned i;

    assert(pool && conn && conn >= pool->conns && conn < pool->conns + pool->size);
    i = conn->index;

    if (conn->pg && !conn->broken) {
        switch (PQtransactionStatus(conn->pg)) {
        case PQTRANS_IDLE:
            break;
        case PQTRANS_INTRANS:
        case PQTRANS_INERROR:
            leaked = true;
            res = PQexec(conn->pg, "ROLLBACK");
            if (PQresultStatus(res) != PGRES_COMMAND_OK)
                conn->broken = true;
            PQclear(res);
            break;
        default: /* PQTRANS_ACTIVE (unread results) or PQTRANS_UNKNOWN */
            conn->broken = true;
            break;
        }
        if (PQstatus(conn->pg) != CONNECTION_OK)
            conn->broken = true;
    }
    if (conn->broken) {
        PQfinish(conn->pg);
        conn->pg = NULL;
    }

    pthread_mutex_lock(&pool->mutex);
    assert(pool->busy[i]);
    if (leaked)
        pool->released_in_transaction++;
    pool_put_slot(pool, i);
    pthread_mutex_unlock(&pool->mutex);
}

void db_conn_mark_broken(struct db_conn *conn)
{
    if (conn)
        conn->broken = true;
}

enum db_result db_pool_ping(struct db_pool *pool, struct db_error *err)
{
    struct db_conn *conn = NULL;
    PGresult *res = NULL;
    enum db_result result;

    result = db_pool_acquire(pool, &conn, err);
    if (result != DB_OK)
        goto out;
    res = db_exec_params(conn, "select 1", 0, NULL);
    result = db_result_from_pg(conn, res, err);
out:
    PQclear(res);
    if (conn)
        db_pool_release(pool, conn);
    return result;
}

void db_pool_stats(struct db_pool *pool, struct db_pool_stats *out)
{
    pthread_mutex_lock(&pool->mutex);
    out->size = pool->size;
    out->in_use = pool->in_use;
    out->waiting = pool->waiting;
    out->acquire_timeouts = pool->acquire_timeouts;
    out->reconnects = pool->reconnects;
    out->connect_failures = pool->connect_failures;
    out->released_in_transaction = pool->released_in_transaction;
    pthread_mutex_unlock(&pool->mutex);
}

void db_pool_free(struct db_pool *pool)
{
    unsigned i;

    if (!pool)
        return;
    assert(pool->in_use == 0);
    for (i = 0; i < pool->size; i++) {
        PQfinish(pool->conns[i].pg);
        db_statements_free(&pool->conns[i]);
    }
    pthread_cond_destroy(&pool->freed);
    pthread_mutex_destroy(&pool->mutex);
    free(pool->conninfo);
    free(pool->application_name);
    free(pool->session_options);
    free(pool->tx_settings);
    free(pool->conns);
    free(pool->busy);
    free(pool);
}

const char *db_pool_transaction_settings(const struct db_pool *pool)
{
    return pool->tx_settings;
}

static bool sqlstate_is(const char *sqlstate, const char *code)
{
    return sqlstate && strcmp(sqlstate, code) == 0;
}

static bool sqlstate_class(const char *sqlstate, const char *cls)
{
    return sqlstate && strncmp(sqlstate, cls, 2) == 0;
}

enum db_result db_result_from_pg(struct db_conn *conn, const PGresult *res, struct db_error *err)
{
    ExecStatusType status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    const char *sqlstate = NULL;
    const char *message = NULL;
    bool lost;
    enum db_result result;

    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)
        return DB_OK;

    if (res) {
        sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        message = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
        if (!message || !message[0])
            message = PQresultErrorMessage(res); /* libpq's own errors have no fields */
        if (!message || !message[0])
            message = PQresStatus(status);
    } else {
        /* No result at all: the reason is on the connection. */
        message = conn && conn->pg ? PQerrorMessage(conn->pg) : "";
        if (!message[0])
            message = "no result (out of memory or no connection)";
    }

    /* A failure without SQLSTATE is libpq's own (the server sent no error):
     * the connection is gone ("server closed the connection unexpectedly"
     * can come before libpq marks it CONNECTION_BAD), or memory ran out. */
    lost = (conn && (!conn->pg || PQstatus(conn->pg) == CONNECTION_BAD)) ||
           sqlstate_class(sqlstate, "08") || sqlstate_is(sqlstate, "57P01") ||
           sqlstate_is(sqlstate, "57P02") ||
           (res && status == PGRES_FATAL_ERROR && (sqlstate == NULL || sqlstate[0] == '\0'));
    if (lost) {
        db_conn_mark_broken(conn);
        result = DB_UNAVAILABLE;
    } else if (status != PGRES_FATAL_ERROR) {
        /* EMPTY_QUERY, COPY_*, NONFATAL_ERROR, BAD_RESPONSE...: not expected here. */
        result = DB_FAILED;
    } else if (sqlstate_is(sqlstate, "23505") || sqlstate_is(sqlstate, "23503") ||
               sqlstate_is(sqlstate, "23P01")) {
        result = DB_CONFLICT;
    } else if (sqlstate_is(sqlstate, "40001") || sqlstate_is(sqlstate, "40P01")) {
        result = DB_RETRY;
    } else if (sqlstate_is(sqlstate, "57014") || sqlstate_is(sqlstate, "57P03") ||
               sqlstate_class(sqlstate, "53")) {
        result = DB_UNAVAILABLE;
    } else {
        result = DB_FAILED;
    }
    db_error_set(err, sqlstate, "%s", message);
    return result;
}
