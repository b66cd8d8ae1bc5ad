/* What authentication and the request pipeline keep in the read cache
 * (api/read_cache.h, issue 12 §4), and how it is served again.
 *
 * Strict: a request uses nothing remembered unless the database's stamp read after
 * it arrived (db/freshness.h, one shared round trip) equals the stamp read before
 * the remembered read began — no writing transaction ended in between, whichever
 * replica or client made it. So a write acknowledged before a request arrives is
 * always seen by it, as without the cache; what the cache saves is the reads
 * themselves, not the round trip that proves them current. Concurrent requests share
 * that round trip.
 *
 * - A caller's authority: the habilitation in force read for a person (or its
 *   absence), a machine client's row, keyed by the journal's actor
 *   ("oidc:<iss>|<sub>", "client:<id>").
 * - The 200 answer of a route marked CACHED (api/routes.c) to a GET, keyed by the
 *   caller's actor, the route and the request's URL (path and query as sent): its
 *   body, ETag, Content-Type and the headers its handler set (Link). Served again
 *   through respond_conditional, so If-None-Match gets its 304 as from the handler;
 *   compression, CORS, the request id, rate limits, metrics and the access line are
 *   the pipeline's as for any request. HEAD is never served from the cache, nor a
 *   CACHED_RP route when DATABASE_READ_URL is set.
 * With the cache off (READ_CACHE_BYTES=0), every function here does nothing and
 * every lookup misses, without any round trip. */
#ifndef PVD_API_CACHED_READS_H
#define PVD_API_CACHED_READS_H

#include <stdbool.h>
#include <stdint.h>

#include "auth.h"
#include "http.h"

struct app;

/* The authority of the caller whose actor is out->acteur (filled), from the cache:
 * true and out's authority members (has_habilitation, habilitation_id, client_id,
 * authz) set on a hit; false, out untouched. */
bool cached_authority_get(struct request_ctx *ctx, struct principal *out);
/* Stores p's authority under p->acteur with the request's stamp (read before the
 * database read that gave p: call cached_authority_get first). */
void cached_authority_put(struct request_ctx *ctx, const struct principal *p);

/* A read about to run for ctx (route, caller, URL): filled by cached_response_begin,
 * used by cached_response_end. */
struct cached_response {
    bool eligible;      /* a CACHED route, GET, an authenticated caller, a stamp */
    int headers_before; /* response headers present before the handler */
    char *key;          /* owned: freed by cached_response_end */
    size_t key_len;
};

/* True when the answer was served from the cache (nothing else to do); false when the
 * handler must run, then cached_response_end. */
bool cached_response_begin(struct request_ctx *ctx, struct cached_response *r);
/* Stores the handler's answer when it is a 200 with an ETag; frees r's key always. */
void cached_response_end(struct request_ctx *ctx, struct cached_response *r);

/* The Prometheus lines of the cache and of the stamp's readings (owned by the
 * caller, free()); never NULL (aborts when memory is exhausted). */
char *cached_reads_render_metrics(struct app *app);

#endif
