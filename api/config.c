/* Environment → struct app_config, strictly parsed (see config.h). */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "laureats_csv.h"
#include "xalloc.h"

struct errors_out {
    char *buf;
    size_t size;
    size_t len;
    int count;
};

static void report(struct errors_out *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void report(struct errors_out *out, const char *fmt, ...)
{
    out->count++;
    if (out->size == 0 || out->len + 1 >= out->size)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out->buf + out->len, out->size - out->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    out->len += (size_t)n;
    if (out->len >= out->size)
        out->len = out->size - 1;
    else if (out->len + 1 < out->size) {
        out->buf[out->len++] = '\n';
        out->buf[out->len] = '\0';
    }
}

/* Unsigned integer in [min, max]; absent → def. */
static void read_uint(struct errors_out *errs, config_lookup_fn lookup, void *ctx, const char *name,
                      unsigned long long def, unsigned long long min, unsigned long long max,
                      unsigned long long *out)
{
    const char *s = lookup(name, ctx);
    *out = def;
    if (s == NULL)
        return;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno == ERANGE || v < min || v > max) {
        report(errs, "%s: entier attendu entre %llu et %llu (reçu « %.40s »)", name, min, max, s);
        return;
    }
    *out = v;
}

static void read_string(struct errors_out *errs, config_lookup_fn lookup, void *ctx,
                        const char *name, const char *def, char *out, size_t out_size)
{
    const char *s = lookup(name, ctx);
    if (s == NULL)
        s = def;
    if (strlen(s) >= out_size) {
        report(errs, "%s: valeur trop longue (au plus %zu caractères)", name, out_size - 1);
        s = def;
    }
    snprintf(out, out_size, "%s", s);
}

/* Reads NAME or NAME_FILE (a file holding the secret, as with Docker and
 * Kubernetes secrets); returns an owned string or NULL. */
static char *read_secret(struct errors_out *errs, config_lookup_fn lookup, void *ctx,
                         const char *name)
{
    char file_var[64];
    snprintf(file_var, sizeof file_var, "%s_FILE", name);
    const char *direct = lookup(name, ctx);
    const char *path = lookup(file_var, ctx);
    if (direct && path) {
        report(errs, "%s et %s sont tous deux définis: n'en garder qu'un", name, file_var);
        return NULL;
    }
    if (direct)
        return xstrdup(direct);
    if (path == NULL)
        return NULL;
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        report(errs, "%s: fichier illisible", file_var);
        return NULL;
    }
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    bool longer = n == sizeof buf - 1 && fgetc(f) != EOF;
    fclose(f);
    if (longer) {
        report(errs, "%s: fichier trop long (4 Kio au plus)", file_var);
        return NULL;
    }
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    return xstrdup(buf);
}

/* The numeric settings: name, default, bounds, and where the value goes. */
struct number_setting {
    const char *name;
    unsigned long long def, min, max;
    size_t offset;
    bool is_size; /* size_t member, else unsigned */
};

#define SETTING(name, def, min, max, member)                                                       \
    {                                                                                              \
        name, def, min, max, offsetof(struct app_config, member), false                            \
    }

static const struct number_setting numbers[] = {
    SETTING("HTTP_PORT", 8080, 1, 65535, http_port),
    SETTING("HTTP_THREADS", 4, 1, 256, http_threads),
    SETTING("HTTP_MAX_CONNECTIONS", 256, 1, 100000, http_max_connections),
    SETTING("HTTP_IDLE_TIMEOUT_SECONDS", 15, 1, 3600, http_idle_timeout_seconds),
    SETTING("HTTP_MAX_CONNECTIONS_PER_ADDRESS", 32, 0, 100000, http_max_connections_per_address),
    SETTING("HTTP_REQUEST_HEADERS_TIMEOUT_SECONDS", 10, 1, 3600,
            http_request_headers_timeout_seconds),
    SETTING("HTTP_REQUEST_BODY_TIMEOUT_SECONDS", 60, 1, 3600, http_request_body_timeout_seconds),
    {"HTTP_MAX_BODY_BYTES", 1048576, 1024, 64ull * 1024 * 1024,
     offsetof(struct app_config, http_max_body_bytes), true},
    /* At most the CSV parser's own cap (LAUREATS_CSV_MAX_BYTES, 5 MiB). */
    {"PVD_IMPORT_MAX_BYTES", LAUREATS_CSV_MAX_BYTES, 1024, LAUREATS_CSV_MAX_BYTES,
     offsetof(struct app_config, import_max_bytes), true},
    SETTING("DB_POOL_SIZE", 4, 1, 512, db_pool_size),
    SETTING("DB_ACQUIRE_TIMEOUT_MS", 2000, 1, 600000, db_acquire_timeout_ms),
    SETTING("DB_STATEMENT_TIMEOUT_MS", 5000, 1, 3600000, db_statement_timeout_ms),
    SETTING("DB_CONNECT_TIMEOUT_SECONDS", 5, 1, 3600, db_connect_timeout_seconds),
    SETTING("SHUTDOWN_GRACE_SECONDS", 20, 0, 3600, shutdown_grace_seconds),
    SETTING("PVD_REFERENTIEL_RELOAD_SECONDS", 300, 1, 86400, referentiel_reload_seconds),
    SETTING("AUTH_LEEWAY_SECONDS", 60, 0, 300, auth_leeway_seconds),
    SETTING("AUTH_TOKEN_TTL_SECONDS", 3600, 60, 86400, auth_token_ttl_seconds),
    SETTING("AUTH_TOKEN_CACHE_SIZE", 4096, 0, 1000000, auth_token_cache_size),
    SETTING("AUTH_TOKEN_CACHE_TTL_SECONDS", 300, 1, 86400, auth_token_cache_ttl_seconds),
    {"READ_CACHE_BYTES", 8u * 1024 * 1024, 0, 1024ull * 1024 * 1024,
     offsetof(struct app_config, read_cache_bytes), true},
    SETTING("READ_CACHE_TTL_MS", 1000, 1, 60000, read_cache_ttl_ms),
    SETTING("READ_CACHE_MAX_STALENESS_MS", 0, 0, 60000, read_cache_max_staleness_ms),
    SETTING("RATE_LIMIT_PER_MINUTE", 600, 0, 1000000, rate_limit_per_minute),
    SETTING("RATE_LIMIT_TOKEN_PER_MINUTE", 30, 0, 1000000, rate_limit_token_per_minute),
    SETTING("WEBHOOK_ALLOW_HTTP_LOCALHOST", 0, 0, 1, webhook_allow_http_localhost),
    SETTING("WEBHOOK_TIMEOUT_SECONDS", 10, 1, 60, webhook_timeout_seconds),
    SETTING("WEBHOOK_LEASE_SECONDS", 60, 2, 3600, webhook_lease_seconds),
    SETTING("WEBHOOK_POLL_MILLISECONDS", 500, 10, 60000, webhook_poll_milliseconds),
};

/* The string settings: name, default, destination. */
struct string_setting {
    const char *name;
    const char *def;
    size_t offset;
    size_t size;
};
#define STRING_SETTING(name, def, member)                                                          \
    {                                                                                              \
        name, def, offsetof(struct app_config, member), sizeof(((struct app_config *)0)->member)   \
    }

static const struct string_setting strings[] = {
    STRING_SETTING("HTTP_BIND_ADDRESS", "0.0.0.0", http_bind_address),
    STRING_SETTING("PVD_PROBLEM_BASE_URL", "https://pvd-api.example/problemes/", problem_base_url),
    STRING_SETTING("AUTH_ISSUER", "", auth_issuer),
    STRING_SETTING("AUTH_AUDIENCE", "", auth_audience),
    STRING_SETTING("AUTH_JWKS_FILE", "", auth_jwks_file),
    STRING_SETTING("AUTH_JWKS_URL", "", auth_jwks_url),
    STRING_SETTING("AUTH_BOOTSTRAP_ADMIN_SUB", "", auth_bootstrap_admin_sub),
    STRING_SETTING("AUTH_SIGNING_KEY_FILE", "", auth_signing_key_file),
    STRING_SETTING("AUTH_PREVIOUS_SIGNING_KEY_FILE", "", auth_previous_signing_key_file),
    STRING_SETTING("AUTH_TOKEN_ISSUER", "urn:pvd-api", auth_token_issuer),
    STRING_SETTING("WEBHOOK_KEY_FILE", "", webhook_key_file),
};

/* The Standard Webhooks schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h
 * (about 28 h after the first attempt). */
#define WEBHOOK_RETRY_DEFAULT "5,300,1800,7200,18000,36000,36000"

/* WEBHOOK_RETRY_SCHEDULE_SECONDS: 1 to WEBHOOK_RETRY_MAX comma-separated
 * delays, each 1 to 86400 seconds. */
static void read_retry_schedule(struct errors_out *errs, config_lookup_fn lookup, void *ctx,
                                struct app_config *config)
{
    const char *s = lookup("WEBHOOK_RETRY_SCHEDULE_SECONDS", ctx);
    if (s == NULL)
        s = WEBHOOK_RETRY_DEFAULT;
    size_t count = 0;
    const char *p = s;
    for (;;) {
        char *end = NULL;
        errno = 0;
        unsigned long v = *p >= '0' && *p <= '9' ? strtoul(p, &end, 10) : 0;
        if (end == NULL || errno == ERANGE || v < 1 || v > 86400 || count == WEBHOOK_RETRY_MAX ||
            (*end != ',' && *end != '\0')) {
            report(errs,
                   "WEBHOOK_RETRY_SCHEDULE_SECONDS: 1 à %d délais en secondes (1 à 86400) séparés "
                   "par des virgules attendus (reçu « %.60s »)",
                   WEBHOOK_RETRY_MAX, s);
            config->webhook_retry_count = 0;
            return;
        }
        config->webhook_retry_schedule[count++] = (unsigned)v;
        if (*end == '\0')
            break;
        p = end + 1;
    }
    config->webhook_retry_count = count;
}

bool config_load(struct app_config *config, config_lookup_fn lookup, void *ctx,
                 bool require_database, char *errors, size_t errors_size)
{
    struct errors_out errs = {errors, errors_size, 0, 0};
    unsigned long long v;
    memset(config, 0, sizeof *config);
    if (errors_size)
        errors[0] = '\0';

    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
        const struct number_setting *n = &numbers[i];
        read_uint(&errs, lookup, ctx, n->name, n->def, n->min, n->max, &v);
        if (n->is_size)
            *(size_t *)((char *)config + n->offset) = (size_t)v;
        else
            *(unsigned *)((char *)config + n->offset) = (unsigned)v;
    }
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
        read_string(&errs, lookup, ctx, strings[i].name, strings[i].def,
                    (char *)config + strings[i].offset, strings[i].size);
    config->database_url = read_secret(&errs, lookup, ctx, "DATABASE_URL");
    if (config->database_url && config->database_url[0] == '\0') {
        free(config->database_url);
        config->database_url = NULL;
    }
    if (require_database && config->database_url == NULL)
        report(&errs, "DATABASE_URL: obligatoire et non vide (chaîne de connexion libpq)");
    config->database_read_url = read_secret(&errs, lookup, ctx, "DATABASE_READ_URL");
    if (config->database_read_url && config->database_read_url[0] == '\0') {
        free(config->database_read_url);
        config->database_read_url = NULL;
    }
    const char *pooler = lookup("DB_POOLER", ctx);
    config->db_transaction_pooler = pooler && strcmp(pooler, "transaction") == 0;
    if (pooler && !config->db_transaction_pooler && strcmp(pooler, "none") != 0)
        report(&errs, "DB_POOLER: none ou transaction attendu (reçu « %.20s »)", pooler);

    const char *level = lookup("LOG_LEVEL", ctx);
    config->log_level = LOG_INFO;
    if (level && !log_level_parse(level, &config->log_level))
        report(&errs, "LOG_LEVEL: debug, info, warn ou error attendu (reçu « %.20s »)", level);

    if (strncmp(config->problem_base_url, "https://", 8) != 0 &&
        strncmp(config->problem_base_url, "http://", 7) != 0)
        report(&errs, "PVD_PROBLEM_BASE_URL: URL http(s) attendue");
    char cors_error[300];
    if (!cors_config_parse(&config->cors, lookup("CORS_ALLOWED_ORIGINS", ctx), cors_error,
                           sizeof cors_error))
        report(&errs, "CORS_ALLOWED_ORIGINS: %s", cors_error);

    if (config->auth_issuer[0]) {
        if (!config->auth_audience[0])
            report(&errs, "AUTH_AUDIENCE: obligatoire quand AUTH_ISSUER est défini");
        if (!config->auth_jwks_file[0] == !config->auth_jwks_url[0])
            report(&errs, "AUTH_JWKS_FILE ou AUTH_JWKS_URL: exactement un des deux quand "
                          "AUTH_ISSUER est défini");
    } else if (config->auth_bootstrap_admin_sub[0]) {
        report(&errs, "AUTH_BOOTSTRAP_ADMIN_SUB: exige AUTH_ISSUER (l'administrateur est un "
                      "sujet de ce fournisseur)");
    }
    if (config->auth_jwks_url[0] && strncmp(config->auth_jwks_url, "https://", 8) != 0 &&
        strncmp(config->auth_jwks_url, "http://", 7) != 0)
        report(&errs, "AUTH_JWKS_URL: URL http(s) attendue");

    read_retry_schedule(&errs, lookup, ctx, config);
    if (config->webhook_lease_seconds <= config->webhook_timeout_seconds)
        report(&errs, "WEBHOOK_LEASE_SECONDS: doit dépasser WEBHOOK_TIMEOUT_SECONDS (une livraison "
                      "en cours ne redevient due qu'après la fin de sa tentative)");

    if (errs.count > 0) {
        config_release(config);
        return false;
    }
    return true;
}

static void wipe_secret(char **secret)
{
    if (*secret) {
        memset(*secret, 0, strlen(*secret));
        free(*secret);
        *secret = NULL;
    }
}

void config_release(struct app_config *config)
{
    wipe_secret(&config->database_url);
    wipe_secret(&config->database_read_url);
}

const char *config_lookup_env(const char *name, void *ctx)
{
    (void)ctx;
    return getenv(name);
}

void config_log_summary(const struct app_config *c)
{
    char port[16], threads[16], conns[16], idle[16], body[24], pool[16], acq[16], stmt[16];
    char per_address[16], headers_timeout[16], body_timeout[16], import_max[24];
    snprintf(port, sizeof port, "%u", c->http_port);
    snprintf(threads, sizeof threads, "%u", c->http_threads);
    snprintf(conns, sizeof conns, "%u", c->http_max_connections);
    snprintf(idle, sizeof idle, "%u", c->http_idle_timeout_seconds);
    snprintf(body, sizeof body, "%zu", c->http_max_body_bytes);
    snprintf(per_address, sizeof per_address, "%u", c->http_max_connections_per_address);
    snprintf(headers_timeout, sizeof headers_timeout, "%u",
             c->http_request_headers_timeout_seconds);
    snprintf(body_timeout, sizeof body_timeout, "%u", c->http_request_body_timeout_seconds);
    snprintf(import_max, sizeof import_max, "%zu", c->import_max_bytes);
    snprintf(pool, sizeof pool, "%u", c->db_pool_size);
    snprintf(acq, sizeof acq, "%u", c->db_acquire_timeout_ms);
    snprintf(stmt, sizeof stmt, "%u", c->db_statement_timeout_ms);
    char cache_bytes[24], cache_ttl[16], staleness[16];
    snprintf(cache_bytes, sizeof cache_bytes, "%zu", c->read_cache_bytes);
    snprintf(cache_ttl, sizeof cache_ttl, "%u", c->read_cache_ttl_ms);
    snprintf(staleness, sizeof staleness, "%u", c->read_cache_max_staleness_ms);
    log_line(LOG_INFO, NULL, "configuration", "HTTP_PORT", port, "HTTP_BIND_ADDRESS",
             c->http_bind_address, "HTTP_THREADS", threads, "HTTP_MAX_CONNECTIONS", conns,
             "HTTP_IDLE_TIMEOUT_SECONDS", idle, "HTTP_MAX_BODY_BYTES", body,
             "HTTP_MAX_CONNECTIONS_PER_ADDRESS", per_address,
             "HTTP_REQUEST_HEADERS_TIMEOUT_SECONDS", headers_timeout,
             "HTTP_REQUEST_BODY_TIMEOUT_SECONDS", body_timeout, "PVD_IMPORT_MAX_BYTES", import_max,
             "DB_POOL_SIZE", pool, "DB_ACQUIRE_TIMEOUT_MS", acq, "DB_STATEMENT_TIMEOUT_MS", stmt,
             "DB_POOLER", c->db_transaction_pooler ? "transaction" : "none", "DATABASE_READ_URL",
             c->database_read_url ? "défini" : "absent", "READ_CACHE_BYTES", cache_bytes,
             "READ_CACHE_TTL_MS", cache_ttl, "READ_CACHE_MAX_STALENESS_MS", staleness,
             (const char *)NULL);
}
