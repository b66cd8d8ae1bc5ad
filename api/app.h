/* The composition root's state, passed to every handler. Immutable after
 * start except for the thread-safe members (pool, store, metrics, flags). */
#ifndef PVD_API_APP_H
#define PVD_API_APP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "../db/freshness.h"
#include "../db/pool.h"
#include "config.h"
#include "metrics.h"
#include "jwt.h"
#include "jwt_signer.h"
#include "rate_limit.h"
#include "read_cache.h"
#include "referentiel_store.h"
#include "token_cache.h"

struct app {
    struct app_config config;
    struct db_pool *pool;
    /* Issue 12 §2: DATABASE_READ_URL's pool (a standby), NULL when unset; use
     * app_read_pool. Only reads outside any writing transaction go there. */
    struct db_pool *read_pool;
    struct referentiel_store *referentiel;
    struct metrics *metrics;
    const char *openapi_json; /* embedded contract, served as is */
    size_t openapi_json_len;
    /* openapi_json compressed once at start (gzip, owned: freed at exit), sent to
     * clients that accept gzip; NULL when zlib failed (then compressed per answer). */
    unsigned char *openapi_json_gzip;
    size_t openapi_json_gzip_len;
    atomic_bool draining;       /* set on SIGTERM: /readyz answers 503 */
    atomic_ulong inflight;      /* requests between URI log and completion */
    struct jwt_verifier *users; /* OIDC provider's tokens; NULL when AUTH_ISSUER is unset */
    /* pvd-api's own tokens; NULL when AUTH_SIGNING_KEY_FILE is unset. */
    struct jwt_signer *signer;
    struct jwt_signer *previous_signer;
    struct jwt_verifier *clients;
    char *jwks_json;                     /* public keys of signer and previous_signer */
    struct rate_limiter *rate_principal; /* RATE_LIMIT_PER_MINUTE, per principal */
    struct rate_limiter *rate_token;     /* RATE_LIMIT_TOKEN_PER_MINUTE, /oauth/token */
    /* Webhooks (issue 11 §2): the key of WEBHOOK_KEY_FILE sealing the
     * subscriptions' secrets; disabled when the file is not configured. */
    bool webhooks_enabled;
    unsigned char webhook_key[32];
    struct token_cache *tokens; /* AUTH_TOKEN_CACHE_SIZE; NULL when 0 (off) */
    /* Issue 12 §4: READ_CACHE_BYTES; NULL when off (api/read_cache.h), and the
     * shared readings of the database's stamp that validate it (db/freshness.h;
     * NULL when the cache is off). */
    struct read_cache *reads;
    struct db_freshness *freshness;
};

/* The pool for list pages and the event feed: the read replica when
 * DATABASE_READ_URL is set, else the primary's. Its data may lag behind the
 * primary's (README: read replica); never use it for a read that a write
 * depends on. */
static inline struct db_pool *app_read_pool(const struct app *app)
{
    return app->read_pool ? app->read_pool : app->pool;
}

#endif
