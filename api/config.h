/* Service configuration: read from the environment once, validated, then
 * immutable. This is the only module that looks at the environment. */
#ifndef PVD_API_CONFIG_H
#define PVD_API_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "cors.h"
#include "log.h"

/* At most this many retries in WEBHOOK_RETRY_SCHEDULE_SECONDS. */
#define WEBHOOK_RETRY_MAX 16

struct app_config {
    unsigned http_port;
    char http_bind_address[64];
    unsigned http_threads;
    unsigned http_max_connections;
    unsigned http_idle_timeout_seconds;
    /* Slowloris (issue #8): connections per client address (0: no cap), and the
     * deadlines for a request's headers (from the connection's accept or the
     * previous request's end) and for its body (from the end of its headers). */
    unsigned http_max_connections_per_address;
    unsigned http_request_headers_timeout_seconds;
    unsigned http_request_body_timeout_seconds;
    size_t http_max_body_bytes;
    size_t import_max_bytes; /* body limit of POST /api/v1/territoires/import */
    char *database_url;      /* secret: never logged */
    unsigned db_pool_size;
    unsigned db_acquire_timeout_ms;
    unsigned db_statement_timeout_ms;
    unsigned db_connect_timeout_seconds;
    /* Issue 12 §2: DATABASE_READ_URL (secret; NULL: every read on the primary),
     * the standby that lists and the event feed read from; DB_POOLER=transaction
     * when DATABASE_URL (and DATABASE_READ_URL) lead to a transaction-mode
     * pooler (db/pool.h: transaction_pooler). */
    char *database_read_url;
    bool db_transaction_pooler;
    unsigned shutdown_grace_seconds;
    enum log_level log_level;
    char problem_base_url[200];
    unsigned referentiel_reload_seconds;
    /* Identity (issue #3). An empty auth_issuer disables user tokens. */
    char auth_issuer[256];
    char auth_audience[256];
    char auth_jwks_file[512];
    char auth_jwks_url[512];
    char auth_bootstrap_admin_sub[256];
    unsigned auth_leeway_seconds;
    /* pvd-api's own tokens (client credentials). An empty signing key file
     * disables /oauth/token. */
    char auth_signing_key_file[512];
    char auth_previous_signing_key_file[512];
    char auth_token_issuer[256];
    unsigned auth_token_ttl_seconds;
    /* Verified-token cache (issue 12 §4, api/token_cache.h): entries, 0 = off; and the
     * longest an entry is served after its verification (never past the token's exp). */
    unsigned auth_token_cache_size;
    unsigned auth_token_cache_ttl_seconds;
    /* Read cache (issue 12 §4, api/read_cache.h): bytes (0 = off), and the longest an
     * entry is served (what changes with the clock alone is seen within it). */
    size_t read_cache_bytes;
    unsigned read_cache_ttl_ms;
    /* 0: strict reads. Otherwise how old (ms) the reading of the database's stamp that
     * validates a cached answer may be: writes through this replica are seen at once,
     * others within it (db/freshness.h). */
    unsigned read_cache_max_staleness_ms;
    /* Abuse and browsers (issue #3 §6). */
    struct cors_config cors;              /* CORS_ALLOWED_ORIGINS (not secret) */
    unsigned rate_limit_per_minute;       /* per principal; 0: no limit */
    unsigned rate_limit_token_per_minute; /* /oauth/token per address + client id; 0: no limit */
    /* Webhooks (issue 11 §2). An empty key file disables them (no creation,
     * no dispatcher). */
    char webhook_key_file[512];            /* WEBHOOK_KEY_FILE: AES-256-GCM key of secrets */
    unsigned webhook_allow_http_localhost; /* 1: http://127.0.0.1 / localhost URLs (tests) */
    unsigned webhook_timeout_seconds;      /* one attempt, connection included */
    unsigned webhook_lease_seconds;        /* a claimed delivery is due again after this */
    unsigned webhook_poll_milliseconds;    /* the dispatcher's period */
    unsigned webhook_retry_schedule[WEBHOOK_RETRY_MAX]; /* seconds before each retry */
    size_t webhook_retry_count; /* retries after the first attempt, then echec_definitif */
};

/* Returns the value of a variable, or NULL when unset. getenv in production,
 * a table in tests. */
typedef const char *(*config_lookup_fn)(const char *name, void *ctx);

/* Fills *config from lookup. On any invalid value returns false and writes
 * one line per bad variable (naming it, never echoing a secret) into errors.
 * `require_database` is false for commands that need no database. On success
 * the caller releases with config_release. */
bool config_load(struct app_config *config, config_lookup_fn lookup, void *ctx,
                 bool require_database, char *errors, size_t errors_size);
void config_release(struct app_config *config);

/* The environment lookup (getenv), for production. */
const char *config_lookup_env(const char *name, void *ctx);

/* Logs the non-secret values at start. */
void config_log_summary(const struct app_config *config);

#endif
