/* Shared readings of the database's snapshot (see freshness.h). */
#include "freshness.h"

#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct db_freshness {
    char *conninfo;
    char *application_name;
    unsigned timeout_ms;
    pthread_mutex_t lock;
    pthread_cond_t done;
    /* Under lock. Readings are numbered from 1; `started` readings began,
     * `ended` ended (ended == started, or started - 1 while one is in flight). */
    uint64_t started, ended;
    bool ok;        /* the last ended reading succeeded */
    uint64_t stamp; /* its stamp */
    uint64_t failures, waits, reused;
    /* Bounded staleness (max_age_ms > 0): when the last ended reading began
     * (CLOCK_MONOTONIC ms) and the count of db_freshness_written calls then. */
    unsigned max_age_ms;
    uint64_t written, last_began_ms, last_began_written;
    PGconn *pg; /* used only by the thread doing the reading in flight */
};

static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

struct db_freshness *db_freshness_new(const char *conninfo, const char *application_name,
                                      unsigned timeout_ms, unsigned max_age_ms)
{
    if (conninfo == NULL)
        return NULL;
    struct db_freshness *f = calloc(1, sizeof *f);
    if (f == NULL)
        return NULL;
    f->conninfo = strdup(conninfo);
    f->application_name = dup_or_null(application_name);
    f->timeout_ms = timeout_ms ? timeout_ms : 1;
    f->max_age_ms = max_age_ms;
    if (f->conninfo == NULL || (application_name && f->application_name == NULL) ||
        pthread_mutex_init(&f->lock, NULL) != 0) {
        free(f->conninfo);
        free(f->application_name);
        free(f);
        return NULL;
    }
    if (pthread_cond_init(&f->done, NULL) != 0) {
        pthread_mutex_destroy(&f->lock);
        free(f->conninfo);
        free(f->application_name);
        free(f);
        return NULL;
    }
    return f;
}

void db_freshness_free(struct db_freshness *f)
{
    if (f == NULL)
        return;
    if (f->pg)
        PQfinish(f->pg);
    pthread_cond_destroy(&f->done);
    pthread_mutex_destroy(&f->lock);
    free(f->conninfo);
    free(f->application_name);
    free(f);
}

/* Opens the session when there is none. Only the thread doing the reading. */
static bool connected(struct db_freshness *f)
{
    if (f->pg && PQstatus(f->pg) == CONNECTION_OK)
        return true;
    if (f->pg)
        PQfinish(f->pg);
    /* Keywords before dbname are defaults conninfo may override (as db/pool.c). */
    const char *keys[] = {"connect_timeout", "keepalives",       "keepalives_idle",
                          "dbname",          "application_name", NULL};
    const char *values[] = {"2", "1", "30", f->conninfo, f->application_name, NULL};
    f->pg = PQconnectdbParams(keys, values, 1);
    if (f->pg == NULL)
        return false;
    if (PQstatus(f->pg) != CONNECTION_OK) {
        PQfinish(f->pg);
        f->pg = NULL;
        return false;
    }
    PQsetNoticeProcessor(f->pg, quiet, NULL);
    return true;
}

static uint64_t now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
}

/* Waits for the answer of the query sent, at most timeout_ms since start_ms (no
 * statement_timeout: a transaction-mode pooler refuses the startup option and
 * would carry a SET to other clients). NULL on timeout or failure. */
static PGresult *answer(struct db_freshness *f, uint64_t start_ms)
{
    while (PQisBusy(f->pg)) {
        long long left = (long long)f->timeout_ms - (long long)(now_ms() - start_ms);
        if (left <= 0)
            return NULL;
        struct pollfd p = {PQsocket(f->pg), POLLIN, 0};
        if (poll(&p, 1, (int)left) < 0)
            continue; /* EINTR */
        if (PQconsumeInput(f->pg) == 0)
            return NULL;
    }
    PGresult *res = PQgetResult(f->pg);
    PGresult *extra;
    while ((extra = PQgetResult(f->pg)) != NULL) /* the end of the command */
        PQclear(extra);
    return res;
}

/* One round trip: the hash of the snapshot, 0 on failure (the session is then
 * closed: a late answer must not be read as the next one's). */
static uint64_t read_stamp(struct db_freshness *f)
{
    uint64_t start_ms = now_ms();
    if (!connected(f))
        return 0;
    uint64_t stamp = 0;
    if (PQsendQuery(f->pg, "SELECT hashtextextended(pg_current_snapshot()::text, 0)")) {
        PGresult *res = answer(f, start_ms);
        if (res && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
            stamp = (uint64_t)strtoll(PQgetvalue(res, 0, 0), NULL, 10);
            if (stamp == 0)
                stamp = 1;
        }
        PQclear(res);
    }
    if (stamp == 0) {
        PQfinish(f->pg);
        f->pg = NULL;
    }
    return stamp;
}

/* Under f->lock: the last reading may answer a call now (bounded staleness). */
static bool recent_enough(const struct db_freshness *f)
{
    return f->max_age_ms > 0 && f->ended > 0 && f->ok && f->last_began_written == f->written &&
           now_ms() - f->last_began_ms < f->max_age_ms;
}

bool db_freshness_stamp(struct db_freshness *f, uint64_t *stamp)
{
    if (f == NULL)
        return false;
    pthread_mutex_lock(&f->lock);
    f->waits++;
    if (recent_enough(f)) {
        f->reused++;
        *stamp = f->stamp;
        pthread_mutex_unlock(&f->lock);
        return true;
    }
    /* The first reading that begins after now: the next to start. */
    uint64_t need = f->started + 1;
    while (f->ended < need) {
        if (f->started == f->ended) { /* none in flight: this thread reads */
            uint64_t mine = ++f->started;
            /* Taken before the query is sent: the reading began later than this. */
            uint64_t began_ms = now_ms(), began_written = f->written;
            pthread_mutex_unlock(&f->lock);
            uint64_t s = read_stamp(f);
            pthread_mutex_lock(&f->lock);
            f->ended = mine;
            f->ok = s != 0;
            f->stamp = s;
            f->last_began_ms = began_ms;
            f->last_began_written = began_written;
            if (s == 0)
                f->failures++;
            pthread_cond_broadcast(&f->done);
        } else {
            pthread_cond_wait(&f->done, &f->lock);
        }
    }
    bool ok = f->ok;
    *stamp = f->stamp;
    pthread_mutex_unlock(&f->lock);
    return ok;
}

void db_freshness_written(struct db_freshness *f)
{
    if (f == NULL || f->max_age_ms == 0)
        return;
    pthread_mutex_lock(&f->lock);
    f->written++;
    pthread_mutex_unlock(&f->lock);
}

void db_freshness_stats(struct db_freshness *f, struct db_freshness_stats *out)
{
    memset(out, 0, sizeof *out);
    if (f == NULL)
        return;
    pthread_mutex_lock(&f->lock);
    out->readings = f->ended;
    out->failures = f->failures;
    out->waits = f->waits;
    out->reused = f->reused;
    pthread_mutex_unlock(&f->lock);
}
