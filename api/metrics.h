/* Prometheus metrics: requests by route and status, latency histogram by
 * route, and database pool gauges. Lock-free counters; thread-safe. */
#ifndef PVD_API_METRICS_H
#define PVD_API_METRICS_H

#include <stddef.h>

#include "../db/pool.h"

struct metrics;

/* route_count routes, named by their templates (borrowed for the metrics'
 * lifetime); index route_count is "unmatched". NULL never (aborts on OOM). */
struct metrics *metrics_new(const char *const *route_names, size_t route_count);
void metrics_free(struct metrics *m);

/* route: index in the table, or route_count for an unmatched request. */
void metrics_observe(struct metrics *m, size_t route, int status, double seconds);

/* Renders the exposition text (owned by the caller, free()). pool may be NULL. */
char *metrics_render(struct metrics *m, struct db_pool *pool, unsigned long inflight,
                     size_t *len_out);

#endif
