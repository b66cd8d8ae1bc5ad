/* Prometheus text exposition (see metrics.h). */
#include "metrics.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../db/transaction.h"
#include "xalloc.h"

static const int tracked_statuses[] = {200, 201, 204, 304, 400, 401, 403, 404, 405, 409,
                                       412, 413, 414, 415, 422, 428, 429, 500, 503};
#define STATUS_COUNT (sizeof tracked_statuses / sizeof tracked_statuses[0])
#define STATUS_OTHER STATUS_COUNT

static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                 0.1,    0.25,  0.5,    1.0,   2.5,  5.0};
#define BUCKET_COUNT (sizeof buckets / sizeof buckets[0])

struct route_metrics {
    atomic_ulong by_status[STATUS_COUNT + 1];
    atomic_ulong by_bucket[BUCKET_COUNT + 1];
    atomic_ulong count;
    atomic_ulong micros_sum;
};

struct metrics {
    const char *const *names;
    size_t route_count;
    struct route_metrics *routes; /* route_count + 1 */
};

struct metrics *metrics_new(const char *const *route_names, size_t route_count)
{
    struct metrics *m = xcalloc(1, sizeof *m);
    m->names = route_names;
    m->route_count = route_count;
    m->routes = xcalloc(route_count + 1, sizeof *m->routes);
    return m;
}

void metrics_free(struct metrics *m)
{
    if (m == NULL)
        return;
    free(m->routes);
    free(m);
}

void metrics_observe(struct metrics *m, size_t route, int status, double seconds)
{
    if (route > m->route_count)
        route = m->route_count;
    struct route_metrics *r = &m->routes[route];
    size_t s = STATUS_OTHER;
    for (size_t i = 0; i < STATUS_COUNT; i++)
        if (tracked_statuses[i] == status)
            s = i;
    atomic_fetch_add_explicit(&r->by_status[s], 1, memory_order_relaxed);
    size_t b = BUCKET_COUNT;
    for (size_t i = 0; i < BUCKET_COUNT; i++)
        if (seconds <= buckets[i]) {
            b = i;
            break;
        }
    atomic_fetch_add_explicit(&r->by_bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&r->count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&r->micros_sum, (unsigned long)(seconds * 1e6), memory_order_relaxed);
}

struct out {
    char *buf;
    size_t len, cap;
};

static void outf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void outf(struct out *o, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < o->cap - o->len) {
            o->len += (size_t)n;
            return;
        }
        o->cap *= 2;
        o->buf = xrealloc(o->buf, o->cap);
    }
}

static const char *route_name(const struct metrics *m, size_t i)
{
    return i < m->route_count ? m->names[i] : "(aucune)";
}

char *metrics_render(struct metrics *m, struct db_pool *pool, unsigned long inflight,
                     size_t *len_out)
{
    struct out o = {xmalloc(16384), 0, 16384};
    outf(&o, "# HELP pvd_http_requests_total Requêtes HTTP traitées, par route et statut.\n"
             "# TYPE pvd_http_requests_total counter\n");
    for (size_t i = 0; i <= m->route_count; i++) {
        for (size_t s = 0; s <= STATUS_COUNT; s++) {
            unsigned long v =
                atomic_load_explicit(&m->routes[i].by_status[s], memory_order_relaxed);
            if (v == 0)
                continue;
            if (s == STATUS_OTHER)
                outf(&o, "pvd_http_requests_total{route=\"%s\",status=\"autre\"} %lu\n",
                     route_name(m, i), v);
            else
                outf(&o, "pvd_http_requests_total{route=\"%s\",status=\"%d\"} %lu\n",
                     route_name(m, i), tracked_statuses[s], v);
        }
    }
    outf(&o, "# HELP pvd_http_request_duration_seconds Durée de traitement des requêtes.\n"
             "# TYPE pvd_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i <= m->route_count; i++) {
        struct route_metrics *r = &m->routes[i];
        unsigned long count = atomic_load_explicit(&r->count, memory_order_relaxed);
        if (count == 0)
            continue;
        unsigned long cumulative = 0;
        for (size_t b = 0; b < BUCKET_COUNT; b++) {
            cumulative += atomic_load_explicit(&r->by_bucket[b], memory_order_relaxed);
            outf(&o, "pvd_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %lu\n",
                 route_name(m, i), buckets[b], cumulative);
        }
        cumulative += atomic_load_explicit(&r->by_bucket[BUCKET_COUNT], memory_order_relaxed);
        outf(&o, "pvd_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %lu\n",
             route_name(m, i), cumulative);
        outf(&o, "pvd_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", route_name(m, i),
             (double)atomic_load_explicit(&r->micros_sum, memory_order_relaxed) / 1e6);
        outf(&o, "pvd_http_request_duration_seconds_count{route=\"%s\"} %lu\n", route_name(m, i),
             cumulative);
    }
    outf(&o,
         "# HELP pvd_http_requests_in_flight Requêtes en cours.\n"
         "# TYPE pvd_http_requests_in_flight gauge\npvd_http_requests_in_flight %lu\n",
         inflight);
    if (pool) {
        struct db_pool_stats st;
        db_pool_stats(pool, &st);
        outf(&o,
             "# HELP pvd_db_pool_size Connexions PostgreSQL du pool.\n"
             "# TYPE pvd_db_pool_size gauge\npvd_db_pool_size %u\n"
             "# HELP pvd_db_pool_in_use Connexions utilisées.\n"
             "# TYPE pvd_db_pool_in_use gauge\npvd_db_pool_in_use %u\n"
             "# HELP pvd_db_pool_waiting Requêtes en attente d'une connexion.\n"
             "# TYPE pvd_db_pool_waiting gauge\npvd_db_pool_waiting %u\n"
             "# HELP pvd_db_pool_acquire_timeouts_total Attentes de connexion expirées (503).\n"
             "# TYPE pvd_db_pool_acquire_timeouts_total counter\n"
             "pvd_db_pool_acquire_timeouts_total %llu\n"
             "# HELP pvd_db_reconnects_total Connexions PostgreSQL rétablies.\n"
             "# TYPE pvd_db_reconnects_total counter\npvd_db_reconnects_total %llu\n"
             "# HELP pvd_db_transaction_retries_total Transactions rejouées (40001, 40P01).\n"
             "# TYPE pvd_db_transaction_retries_total counter\n"
             "pvd_db_transaction_retries_total %lu\n",
             st.size, st.in_use, st.waiting, (unsigned long long)st.acquire_timeouts,
             (unsigned long long)st.reconnects, db_transaction_retries());
    }
    *len_out = o.len;
    return o.buf;
}
