/* Authority and answers in the read cache (see cached_reads.h). */
#include "cached_reads.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "app.h"
#include "read_cache.h"
#include "routes.h"
#include "xalloc.h"

static uint64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

/* The stamp of ctx's request (read once, at the first call; blocks for the shared round
 * trip): non-zero, or 0 when the cache is off or the stamp could not be read. */
static uint64_t request_stamp(struct request_ctx *ctx)
{
    if (ctx->app->reads == NULL)
        return 0;
    if (!ctx->stamp_read) {
        ctx->stamp_read = true;
        if (!db_freshness_stamp(ctx->app->freshness, &ctx->stamp))
            ctx->stamp = 0;
    }
    return ctx->stamp;
}

/* True when ctx's request may use the cache: on, a CACHED route that may be cached
 * with this configuration, a GET. Other requests (writes above all) read the
 * database as without the cache and never wait for a stamp. */
static bool cacheable(const struct request_ctx *ctx)
{
    enum route_cache kind = ctx->route ? ctx->route->cache : ROUTE_CACHE_NONE;
    return ctx->app->reads != NULL && kind != ROUTE_CACHE_NONE &&
           !(kind == ROUTE_CACHE_READ_POOL && ctx->app->read_pool != NULL) &&
           ctx->req->http_verb != NULL && strcmp(ctx->req->http_verb, "GET") == 0;
}

/* ---- Authority ------------------------------------------------------------ */

/* "a\n" + actor: the key of an authority (answers' keys start with "r\n"). */
static size_t authority_key(const struct principal *p, char key[sizeof p->acteur + 2])
{
    size_t n = strlen(p->acteur);
    key[0] = 'a';
    key[1] = '\n';
    memcpy(key + 2, p->acteur, n);
    return n + 2;
}

static void copy_authority(void *arg, const void *value, size_t len)
{
    struct principal *out = arg;
    const struct principal *stored = value;
    if (len != sizeof *stored)
        die_bug("read cache: an authority of the wrong size");
    out->has_habilitation = stored->has_habilitation;
    memcpy(out->habilitation_id, stored->habilitation_id, sizeof out->habilitation_id);
    memcpy(out->client_id, stored->client_id, sizeof out->client_id);
    out->authz = stored->authz;
}

bool cached_authority_get(struct request_ctx *ctx, struct principal *out)
{
    if (!cacheable(ctx))
        return false;
    uint64_t stamp = request_stamp(ctx);
    if (stamp == 0)
        return false;
    char key[sizeof out->acteur + 2];
    size_t n = authority_key(out, key);
    return read_cache_get(ctx->app->reads, key, n, stamp, now_ms(), copy_authority, out);
}

void cached_authority_put(struct request_ctx *ctx, const struct principal *p)
{
    if (!ctx->stamp_read || ctx->stamp == 0)
        return;
    char key[sizeof p->acteur + 2];
    size_t n = authority_key(p, key);
    read_cache_put(ctx->app->reads, key, n, ctx->stamp, now_ms(), p, sizeof *p);
}

/* ---- Answers -------------------------------------------------------------- */

/* A stored answer: "<etag>\0<content type>\0<header count>\0" then, per header,
 * "<name>\0<value>\0", then the body (the rest). */
struct copied {
    char *bytes; /* owned */
    size_t len;
};

static void copy_out(void *arg, const void *value, size_t len)
{
    struct copied *c = arg;
    c->bytes = xmalloc(len);
    memcpy(c->bytes, value, len);
    c->len = len;
}

static const char *next_string(const char **p, const char *end)
{
    const char *s = *p;
    const char *nul = memchr(s, '\0', (size_t)(end - s));
    if (nul == NULL)
        return NULL;
    *p = nul + 1;
    return s;
}

/* Answers ctx with a stored answer (outside the cache's lock). */
static void replay(struct request_ctx *ctx, const char *value, size_t len)
{
    const char *p = value, *end = p + len;
    const char *etag = next_string(&p, end);
    const char *type = etag ? next_string(&p, end) : NULL;
    const char *count = type ? next_string(&p, end) : NULL;
    if (count == NULL)
        die_bug("read cache: malformed answer");
    for (long i = strtol(count, NULL, 10); i > 0; i--) {
        const char *name = next_string(&p, end);
        const char *val = name ? next_string(&p, end) : NULL;
        if (val == NULL)
            die_bug("read cache: malformed answer");
        u_map_put(ctx->res->map_header, name, val);
    }
    respond_conditional(ctx, type, p, (size_t)(end - p), etag);
}

bool cached_response_begin(struct request_ctx *ctx, struct cached_response *r)
{
    memset(r, 0, sizeof *r);
    struct read_cache *cache = ctx->app->reads;
    if (!cacheable(ctx) || ctx->principal == NULL || ctx->req->http_url == NULL)
        return false;
    uint64_t stamp = request_stamp(ctx);
    if (stamp == 0)
        return false;
    const char *actor = ctx->principal->acteur, *url = ctx->req->http_url;
    size_t route = routes_index(ctx->route);
    size_t cap = 2 + strlen(actor) + 1 + 20 + 1 + strlen(url) + 1;
    r->key = xmalloc(cap);
    int n = snprintf(r->key, cap, "r\n%s\n%zu\n%s", actor, route, url);
    r->key_len = (size_t)n;
    r->eligible = true;
    r->headers_before = ctx->res->map_header->nb_values;
    struct copied answer = {NULL, 0};
    if (read_cache_get(cache, r->key, r->key_len, stamp, now_ms(), copy_out, &answer)) {
        ctx->cached_answer = answer.bytes; /* freed at the request's end: the 304 points in */
        replay(ctx, answer.bytes, answer.len);
        free(r->key);
        r->key = NULL;
        return true;
    }
    return false;
}

/* Writes s and its NUL (the stored answer's fields, see above). */
static void put_string(FILE *f, const char *s)
{
    fwrite(s, 1, strlen(s) + 1, f);
}

static bool kept_header(const char *name)
{
    return strcasecmp(name, "ETag") != 0 && strcasecmp(name, "Content-Type") != 0;
}

void cached_response_end(struct request_ctx *ctx, struct cached_response *r)
{
    struct _u_response *res = ctx->res;
    const struct _u_map *h = res->map_header;
    const char *etag = u_map_get_case(h, "ETag");
    const char *type = u_map_get_case(h, "Content-Type");
    if (r->eligible && res->status == 200 && !ctx->has_problem && etag && type &&
        res->stream_callback == NULL && res->binary_body != NULL) {
        char *answer = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&answer, &len);
        if (f == NULL)
            die_bug("open_memstream failed");
        put_string(f, etag);
        put_string(f, type);
        int kept = 0;
        for (int i = r->headers_before; i < h->nb_values; i++)
            kept += kept_header(h->keys[i]);
        fprintf(f, "%d%c", kept, '\0');
        for (int i = r->headers_before; i < h->nb_values; i++)
            if (kept_header(h->keys[i])) {
                put_string(f, h->keys[i]);
                put_string(f, h->values[i]);
            }
        fwrite(res->binary_body, 1, res->binary_body_length, f);
        if (fclose(f) != 0)
            die_bug("open_memstream failed");
        read_cache_put(ctx->app->reads, r->key, r->key_len, ctx->stamp, now_ms(), answer, len);
        free(answer);
    }
    free(r->key);
    r->key = NULL;
}

char *cached_reads_render_metrics(struct app *app)
{
    struct read_cache_stats st;
    struct db_freshness_stats fr;
    read_cache_stats(app->reads, &st);
    db_freshness_stats(app->freshness, &fr);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL)
        die_bug("open_memstream failed");
    fprintf(f,
            "# HELP pvd_read_cache_hits_total Authorities and answers served from the read "
            "cache.\n"
            "# TYPE pvd_read_cache_hits_total counter\n"
            "pvd_read_cache_hits_total %llu\n"
            "# HELP pvd_read_cache_misses_total Lookups of the read cache that found nothing "
            "current.\n"
            "# TYPE pvd_read_cache_misses_total counter\n"
            "pvd_read_cache_misses_total %llu\n"
            "# HELP pvd_read_cache_stores_total Reads stored in the read cache.\n"
            "# TYPE pvd_read_cache_stores_total counter\n"
            "pvd_read_cache_stores_total %llu\n"
            "# HELP pvd_read_cache_evictions_total Current entries evicted for room.\n"
            "# TYPE pvd_read_cache_evictions_total counter\n"
            "pvd_read_cache_evictions_total %llu\n"
            "# HELP pvd_read_cache_bytes Bytes of keys and values held (READ_CACHE_BYTES at "
            "most).\n"
            "# TYPE pvd_read_cache_bytes gauge\n"
            "pvd_read_cache_bytes %zu\n"
            "# HELP pvd_read_cache_capacity_bytes READ_CACHE_BYTES (0: the cache is off).\n"
            "# TYPE pvd_read_cache_capacity_bytes gauge\n"
            "pvd_read_cache_capacity_bytes %zu\n"
            "# HELP pvd_freshness_readings_total Round trips reading the database's stamp "
            "(shared by the requests waiting for one).\n"
            "# TYPE pvd_freshness_readings_total counter\n"
            "pvd_freshness_readings_total %llu\n"
            "# HELP pvd_freshness_failures_total Readings of the stamp that failed (nothing "
            "cached used by their requests).\n"
            "# TYPE pvd_freshness_failures_total counter\n"
            "pvd_freshness_failures_total %llu\n"
            "# HELP pvd_freshness_waits_total Requests that waited for a reading of the "
            "stamp.\n"
            "# TYPE pvd_freshness_waits_total counter\n"
            "pvd_freshness_waits_total %llu\n"
            "# HELP pvd_freshness_reused_total Requests answered with a recent reading of the "
            "stamp (READ_CACHE_MAX_STALENESS_MS).\n"
            "# TYPE pvd_freshness_reused_total counter\n"
            "pvd_freshness_reused_total %llu\n",
            (unsigned long long)st.hits, (unsigned long long)st.misses,
            (unsigned long long)st.stores, (unsigned long long)st.evictions, st.bytes, st.max_bytes,
            (unsigned long long)fr.readings, (unsigned long long)fr.failures,
            (unsigned long long)fr.waits, (unsigned long long)fr.reused);
    if (fclose(f) != 0)
        die_bug("open_memstream failed");
    return text;
}
