/* pvd-api entry point: start-up and shutdown sequences of each command.
 *   pvd-api [serve]                          migrate, load the referential, serve
 *   pvd-api migrate                          apply the database migrations
 *   pvd-api import-referentiel DIR MILLESIME [SOURCE]
 *   pvd-api routes                           print the route table
 *   pvd-api healthcheck                      GET /healthz on HTTP_PORT (exit 0 when 200)
 *   pvd-api gen-key FILE                     a new ES256 signing key (kept if FILE exists)
 *   pvd-api gen-webhook-key FILE             a new key of webhook secrets (kept if FILE exists) */
#define _POSIX_C_SOURCE 200809L
#include <malloc.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ulfius.h>

#include "../db/echeance_repository.h"
#include "../db/migrate.h"
#include "../db/pool.h"
#include "app.h"
#include "config.h"
#include "content_coding.h"
#include "handlers/demandes.h"
#include "handlers/programme.h"
#include "jwt.h"
#include "jwt_keys.h"
#include "jwt_signer.h"
#include "log.h"
#include "migrations.h"
#include "referentiel_import.h"
#include "referentiel_store.h"
#include "routes.h"
#include "server.h"
#include "webhook_crypto.h"
#include "webhooks.h"
#include "xalloc.h"

static int usage(void)
{
    fprintf(stderr, "usage: pvd-api [serve | migrate | import-referentiel DIR MILLESIME [SOURCE] | "
                    "echeances | routes | healthcheck | gen-key FILE | gen-webhook-key FILE]\n");
    return 2;
}

static bool load_config(struct app_config *config, bool require_database)
{
    char errors[4096];
    if (config_load(config, config_lookup_env, NULL, require_database, errors, sizeof errors)) {
        log_set_level(config->log_level);
        return true;
    }
    for (char *line = strtok(errors, "\n"); line; line = strtok(NULL, "\n"))
        log_line(LOG_ERROR, NULL, "configuration invalide", "erreur", line, (const char *)NULL);
    return false;
}

static struct db_pool *open_pool_at(const struct app_config *config, const char *url, unsigned size,
                                    const char *application_name)
{
    struct db_pool_options options = {
        url,
        size,
        config->db_acquire_timeout_ms,
        config->db_statement_timeout_ms,
        60000,
        application_name,
        config->db_transaction_pooler,
    };
    return db_pool_new(&options);
}

static struct db_pool *open_pool(const struct app_config *config, unsigned size)
{
    return open_pool_at(config, config->database_url, size, "pvd-api");
}

/* Waits up to DB_CONNECT_TIMEOUT_SECONDS for the database, then applies the
 * embedded migrations. */
static bool migrate(struct db_pool *pool, const struct app_config *config)
{
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    time_t deadline = time(NULL) + (time_t)config->db_connect_timeout_seconds;
    while (db_pool_acquire(pool, &conn, &err) != DB_OK) {
        if (time(NULL) >= deadline) {
            log_line(LOG_ERROR, NULL, "base de données injoignable au démarrage", "erreur",
                     err.message, (const char *)NULL);
            return false;
        }
        struct timespec pause = {0, 200 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    size_t count = 0;
    int applied = 0;
    const struct migration *list = migrations_embedded(&count);
    if (config->db_transaction_pooler) {
        /* db_migrate's session advisory lock cannot work through a transaction
         * pooler: only check, the migrations run on PostgreSQL directly. */
        enum db_result current = db_migrations_current(conn->pg, list, count, &err);
        db_pool_release(pool, conn);
        if (current == DB_OK)
            return true;
        log_line(LOG_ERROR, NULL,
                 "schéma pas à jour : avec DB_POOLER=transaction, lancer d'abord pvd-api migrate "
                 "sur PostgreSQL directement (sans pooler)",
                 "erreur", err.message, (const char *)NULL);
        return false;
    }
    enum db_result r = db_migrate(conn->pg, list, count, &applied, &err);
    db_pool_release(pool, conn);
    if (r != DB_OK) {
        log_line(LOG_ERROR, NULL, "migrations refusées", "erreur", err.message, "sqlstate",
                 err.sqlstate, (const char *)NULL);
        return false;
    }
    char n[16], total[16];
    snprintf(n, sizeof n, "%d", applied);
    snprintf(total, sizeof total, "%zu", count);
    log_line(LOG_INFO, NULL, "migrations à jour", "appliquees", n, "connues", total,
             (const char *)NULL);
    return true;
}

static void refresh_referentiel(struct app *app)
{
    bool changed = false;
    char err[300];
    enum db_result r =
        referentiel_store_refresh(app->referentiel, app->pool, &changed, err, sizeof err);
    if (r == DB_OK && changed)
        log_line(LOG_INFO, NULL, "référentiel chargé en mémoire", (const char *)NULL);
    else if (r == DB_NOT_FOUND)
        log_line(LOG_WARN, NULL, "référentiel non importé : lancer pvd-api import-referentiel",
                 (const char *)NULL);
    else if (r != DB_OK)
        log_line(LOG_WARN, NULL, "rechargement du référentiel impossible", "erreur", err,
                 (const char *)NULL);
}

/* The OIDC provider's verifier, when AUTH_ISSUER is set: keys from
 * AUTH_JWKS_FILE, or fetched from AUTH_JWKS_URL now (and again on an unknown
 * kid, at most once a minute). False, logged, when the keys cannot be had. */
static bool setup_users(struct app *app)
{
    const struct app_config *c = &app->config;
    char err[300] = "";
    if (!c->auth_issuer[0]) {
        log_line(LOG_WARN, NULL, "AUTH_ISSUER non défini : seules les routes publiques répondent",
                 (const char *)NULL);
        return true;
    }
    app->users = jwt_verifier_new(c->auth_issuer, c->auth_audience, c->auth_leeway_seconds);
    if (app->users == NULL)
        return false;
    bool ok;
    if (c->auth_jwks_file[0]) {
        FILE *f = fopen(c->auth_jwks_file, "r");
        char *text = NULL;
        size_t len = 0;
        ok = false;
        if (f) {
            text = xmalloc(JWT_JWKS_MAX_BYTES + 1);
            len = fread(text, 1, JWT_JWKS_MAX_BYTES + 1, f);
            fclose(f);
            if (len <= JWT_JWKS_MAX_BYTES) {
                text[len] = '\0';
                ok = jwt_verifier_set_jwks(app->users, text, err, sizeof err);
            } else {
                snprintf(err, sizeof err, "fichier trop grand");
            }
            free(text);
        } else {
            snprintf(err, sizeof err, "fichier illisible");
        }
    } else {
        ok = jwt_verifier_set_jwks_url(app->users, c->auth_jwks_url, err, sizeof err) &&
             jwt_verifier_fetch_jwks(app->users, time(NULL), err, sizeof err);
    }
    if (!ok)
        log_line(LOG_ERROR, NULL, "clés du fournisseur d'identité inutilisables", "erreur", err,
                 (const char *)NULL);
    return ok;
}

static struct jwt_signer *load_signer(const char *path)
{
    char err[300] = "";
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        log_line(LOG_ERROR, NULL, "clé de signature illisible", "fichier", path,
                 (const char *)NULL);
        return NULL;
    }
    char *pem = xmalloc(16384);
    size_t len = fread(pem, 1, 16383, f);
    fclose(f);
    pem[len] = '\0';
    struct jwt_signer *s = jwt_signer_new_from_pem(pem, len, err, sizeof err);
    memset(pem, 0, 16384); /* the private key */
    free(pem);
    if (s == NULL)
        log_line(LOG_ERROR, NULL, "clé de signature refusée", "fichier", path, "erreur", err,
                 (const char *)NULL);
    return s;
}

/* pvd-api's own token issuer (client credentials): the signing key, the
 * previous one during a rotation, the public JWKS, and the verifier of the
 * tokens it issues. Disabled (true) when AUTH_SIGNING_KEY_FILE is unset. */
static bool setup_signer(struct app *app)
{
    const struct app_config *c = &app->config;
    char err[300] = "";
    if (!c->auth_signing_key_file[0]) {
        log_line(LOG_WARN, NULL,
                 "AUTH_SIGNING_KEY_FILE non défini : pas de jetons pour les clients machine",
                 (const char *)NULL);
        return true;
    }
    app->signer = load_signer(c->auth_signing_key_file);
    if (app->signer == NULL)
        return false;
    if (c->auth_previous_signing_key_file[0] &&
        (app->previous_signer = load_signer(c->auth_previous_signing_key_file)) == NULL)
        return false;
    const struct jwt_signer *list[2] = {app->signer, app->previous_signer};
    app->jwks_json = jwt_jwks_public_json(list, app->previous_signer ? 2 : 1);
    app->clients =
        jwt_verifier_new(c->auth_token_issuer, c->auth_token_issuer, c->auth_leeway_seconds);
    if (app->jwks_json == NULL || app->clients == NULL ||
        !jwt_verifier_set_jwks(app->clients, app->jwks_json, err, sizeof err)) {
        log_line(LOG_ERROR, NULL, "émetteur de jetons inutilisable", "erreur", err,
                 (const char *)NULL);
        return false;
    }
    return true;
}

/* Webhooks (issue 11 §2): the key sealing the subscriptions' secrets.
 * Disabled (true) when WEBHOOK_KEY_FILE is unset; false, logged, when the
 * file is unusable. */
static bool setup_webhooks(struct app *app)
{
    char err[200] = "";
    if (!app->config.webhook_key_file[0]) {
        log_line(LOG_WARN, NULL, "WEBHOOK_KEY_FILE non défini : pas de webhooks",
                 (const char *)NULL);
        return true;
    }
    if (!webhook_key_load(app->config.webhook_key_file, app->webhook_key, err, sizeof err)) {
        log_line(LOG_ERROR, NULL, "clé des webhooks refusée", "fichier",
                 app->config.webhook_key_file, "erreur", err, (const char *)NULL);
        return false;
    }
    app->webhooks_enabled = true;
    return true;
}

/* The service's automatic edges (db/echeance_repository.h; the demandes de
 * subvention's date-driven states, handlers/demandes.h): logs what it did.
 * true when the database answered. */
static bool apply_echeances(struct db_pool *pool)
{
    struct date today;
    size_t expired = 0;
    struct db_error err = {{0}, {0}};
    programme_today(&today);
    if (echeances_appliquer(pool, today, &expired, &err) != DB_OK) {
        log_line(LOG_WARN, NULL, "échéances non appliquées", "erreur", err.message,
                 (const char *)NULL);
        return false;
    }
    if (expired) {
        char n[24];
        snprintf(n, sizeof n, "%zu", expired);
        log_line(LOG_INFO, NULL, "conventions-cadres échues", "nombre", n, (const char *)NULL);
    }
    size_t demandes = 0;
    if (demandes_echeances_appliquer(pool, today, &demandes, &err) != DB_OK) {
        log_line(LOG_WARN, NULL, "échéances des demandes non appliquées", "erreur", err.message,
                 (const char *)NULL);
        return false;
    }
    if (demandes) {
        char n[24];
        snprintf(n, sizeof n, "%zu", demandes);
        log_line(LOG_INFO, NULL, "demandes de subvention à échéance", "nombre", n,
                 (const char *)NULL);
    }
    return true;
}

/* glibc's allocator for a long-running server held to 64 MB (README
 * "Deployment and scaling"): a block of 128 KB or more (a page of the event
 * feed, the referential's text) is mapped and unmapped on its own, where the
 * default threshold rises to the largest block freed (up to 32 MB) and keeps
 * such blocks in the heaps of the request threads. Measured with a reload
 * after 160 pages of 500 events and conventions: VmHWM 80.5 -> 65.8 MB before
 * the referential's text was made compact (M_ARENA_MAX 2 saved 1 to 3 MB more
 * but cost 5-7 % of CPU per request: not set). */
static void allocator_setup(void)
{
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
}

/* The read cache and the readings of the database's stamp that validate it
 * (issue 12 §4); both stay NULL when READ_CACHE_BYTES is 0. */
static void start_read_cache(struct app *app)
{
    app->reads = read_cache_new(app->config.read_cache_bytes, app->config.read_cache_ttl_ms);
    if (app->reads == NULL)
        return;
    app->freshness = db_freshness_new(app->config.database_url, "pvd-api-fraicheur",
                                      app->config.db_acquire_timeout_ms,
                                      app->config.read_cache_max_staleness_ms);
    if (app->freshness == NULL)
        die_bug("db_freshness_new failed");
}

static int cmd_serve(void)
{
    allocator_setup();
    struct app app;
    memset(&app, 0, sizeof app);
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGHUP);
    /* Before any thread exists, so MHD's threads inherit the mask. */
    pthread_sigmask(SIG_BLOCK, &signals, NULL);

    if (!load_config(&app.config, true))
        return 1;
    config_log_summary(&app.config);
    app.pool = open_pool(&app.config, app.config.db_pool_size);
    if (app.config.database_read_url)
        app.read_pool = open_pool_at(&app.config, app.config.database_read_url,
                                     app.config.db_pool_size, "pvd-api-lecture");
    if (app.pool == NULL || (app.config.database_read_url && app.read_pool == NULL) ||
        !migrate(app.pool, &app.config)) {
        db_pool_free(app.pool);
        db_pool_free(app.read_pool);
        config_release(&app.config);
        return 1;
    }
    size_t route_count = 0;
    const struct route *table = routes_table(&route_count);
    const char **names = xcalloc(route_count, sizeof *names);
    for (size_t i = 0; i < route_count; i++)
        names[i] = table[i].path;
    app.metrics = metrics_new(names, route_count);
    struct rate_limit_options per_principal = {app.config.rate_limit_per_minute, 0, 0, 0};
    struct rate_limit_options per_client = {app.config.rate_limit_token_per_minute, 0, 0, 0};
    app.rate_principal = rate_limiter_new(&per_principal);
    app.rate_token = rate_limiter_new(&per_client);
    if (app.rate_principal == NULL || app.rate_token == NULL)
        die_bug("rate_limiter_new failed");
    app.tokens =
        token_cache_new(app.config.auth_token_cache_size, app.config.auth_token_cache_ttl_seconds);
    start_read_cache(&app);
    app.referentiel = referentiel_store_new();
    app.openapi_json = openapi_embedded(&app.openapi_json_len);
    content_coding_gzip(app.openapi_json, app.openapi_json_len, &app.openapi_json_gzip,
                        &app.openapi_json_gzip_len);
    refresh_referentiel(&app);
    apply_echeances(app.pool);

    int status = 0;
    struct server *server =
        setup_users(&app) && setup_signer(&app) && setup_webhooks(&app) ? server_start(&app) : NULL;
    if (server == NULL) {
        status = 1;
    } else {
        struct webhook_dispatcher *webhooks = webhook_dispatcher_start(&app);
        for (;;) {
            struct timespec wait = {(time_t)app.config.referentiel_reload_seconds, 0};
            int sig = sigtimedwait(&signals, NULL, &wait);
            if (sig == SIGINT || sig == SIGTERM)
                break;
            if (sig < 0 || sig == SIGHUP) { /* timeout, or SIGHUP: new referential, due dates */
                refresh_referentiel(&app);
                apply_echeances(app.pool);
            }
        }
        log_line(LOG_INFO, NULL, "arrêt demandé : fin des requêtes en cours", (const char *)NULL);
        webhook_dispatcher_stop(webhooks);
        unsigned long cut = server_drain_and_stop(server, app.config.shutdown_grace_seconds);
        char n[24];
        snprintf(n, sizeof n, "%lu", cut);
        log_line(cut ? LOG_WARN : LOG_INFO, NULL, "service arrêté", "requetes_interrompues", n,
                 (const char *)NULL);
        status = cut ? 1 : 0;
    }
    OPENSSL_cleanse(app.webhook_key, sizeof app.webhook_key);
    jwt_verifier_free(app.users);
    jwt_verifier_free(app.clients);
    jwt_signer_free(app.signer);
    jwt_signer_free(app.previous_signer);
    free(app.jwks_json);
    free(app.openapi_json_gzip);
    referentiel_store_free(app.referentiel);
    metrics_free(app.metrics);
    rate_limiter_free(app.rate_principal);
    rate_limiter_free(app.rate_token);
    token_cache_free(app.tokens);
    db_freshness_free(app.freshness);
    read_cache_free(app.reads);
    free(names);
    db_pool_free(app.pool);
    db_pool_free(app.read_pool);
    config_release(&app.config);
    return status;
}

/* `pvd-api echeances`: applies the automatic edges once (for a cron job). */
static int cmd_echeances(void)
{
    struct app_config config;
    if (!load_config(&config, true))
        return 1;
    struct db_pool *pool = open_pool(&config, 1);
    int status = pool && apply_echeances(pool) ? 0 : 1;
    db_pool_free(pool);
    config_release(&config);
    return status;
}

static int cmd_migrate(void)
{
    struct app_config config;
    if (!load_config(&config, true))
        return 1;
    struct db_pool *pool = open_pool(&config, 1);
    int status = pool && migrate(pool, &config) ? 0 : 1;
    db_pool_free(pool);
    config_release(&config);
    return status;
}

static int cmd_import(int argc, char **argv)
{
    if (argc < 4)
        return usage();
    char *end = NULL;
    long millesime = strtol(argv[3], &end, 10);
    if (*end != '\0' || millesime < 2000 || millesime > 2100) {
        log_line(LOG_ERROR, NULL, "millésime invalide (année attendue)", (const char *)NULL);
        return 2;
    }
    struct app_config config;
    if (!load_config(&config, true))
        return 1;
    struct db_pool *pool = open_pool(&config, 1);
    int status = 1;
    if (pool && migrate(pool, &config))
        status = referentiel_import_run(pool, argv[2], (int)millesime,
                                        argc > 4 ? argv[4] : "@etalab/decoupage-administratif");
    db_pool_free(pool);
    config_release(&config);
    return status;
}

/* A key generator: writes a new key into path (mode 0600); false with the
 * reason in err. */
typedef bool (*key_generator)(const char *path, char *err, size_t err_size);

/* `pvd-api gen-key FILE` (an ES256 signing key) and `gen-webhook-key FILE`
 * (the key sealing webhook secrets): never overwrite an existing file (exit
 * 0 when FILE already exists). */
static int cmd_gen(int argc, char **argv, key_generator generate, const char *created)
{
    char err[300] = "";
    if (argc < 3)
        return usage();
    FILE *existing = fopen(argv[2], "r");
    if (existing) {
        fclose(existing);
        return 0;
    }
    if (!generate(argv[2], err, sizeof err)) {
        log_line(LOG_ERROR, NULL, "génération de clé impossible", "erreur", err,
                 (const char *)NULL);
        return 1;
    }
    log_line(LOG_INFO, NULL, created, "fichier", argv[2], (const char *)NULL);
    return 0;
}

static int cmd_healthcheck(void)
{
    struct app_config config;
    if (!load_config(&config, false))
        return 1;
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/healthz", config.http_port);
    config_release(&config);
    struct _u_request req;
    struct _u_response res;
    ulfius_init_request(&req);
    ulfius_init_response(&res);
    ulfius_set_request_properties(&req, U_OPT_HTTP_VERB, "GET", U_OPT_HTTP_URL, url, U_OPT_TIMEOUT,
                                  3UL, U_OPT_NONE);
    int ok = ulfius_send_http_request(&req, &res) == U_OK && res.status == 200;
    ulfius_clean_request(&req);
    ulfius_clean_response(&res);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    if (ulfius_global_init() != U_OK || !jwt_global_init())
        return 1;
    log_bridge_ulfius();
    const char *cmd = argc > 1 ? argv[1] : "serve";
    int status;
    if (strcmp(cmd, "serve") == 0)
        status = cmd_serve();
    else if (strcmp(cmd, "migrate") == 0)
        status = cmd_migrate();
    else if (strcmp(cmd, "echeances") == 0)
        status = cmd_echeances();
    else if (strcmp(cmd, "import-referentiel") == 0)
        status = cmd_import(argc, argv);
    else if (strcmp(cmd, "routes") == 0) {
        routes_print(argc > 2 && strcmp(argv[2], "--details") == 0);
        status = 0;
    } else if (strcmp(cmd, "healthcheck") == 0)
        status = cmd_healthcheck();
    else if (strcmp(cmd, "gen-key") == 0)
        status = cmd_gen(argc, argv, jwt_generate_es256_pem, "clé de signature ES256 créée");
    else if (strcmp(cmd, "gen-webhook-key") == 0)
        status = cmd_gen(argc, argv, webhook_key_generate, "clé des webhooks créée");
    else
        status = usage();
    jwt_global_close();
    ulfius_global_close();
    return status;
}
