/* The webhook dispatcher (see webhooks.h). */
#include "webhooks.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "../db/abonnement_repository.h"
#include "log.h"
#include "webhook_crypto.h"
#include "xalloc.h"

/* Events turned into deliveries per subscription and transaction, and
 * rounds per subscription and period (the rest waits for the next one). */
#define DISPATCH_BATCH  100
#define DISPATCH_ROUNDS 10
/* Deliveries claimed at once. */
#define CLAIM_BATCH 16
#define URL_MAX     2048

struct webhook_dispatcher {
    struct app *app;
    struct db_pool *pool;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    atomic_bool stopping;
};

bool webhook_url_acceptable(const char *url, bool allow_http_localhost, char *reason, size_t size)
{
    size_t n = strlen(url);
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)url[i] <= 0x20 || (unsigned char)url[i] >= 0x7f) {
            snprintf(reason, size,
                     "Caractère non admis dans l'URL (ASCII imprimable, sans espace).");
            return false;
        }
    }
    if (n == 0 || n > URL_MAX) {
        snprintf(reason, size, "URL de 1 à %d caractères attendue.", URL_MAX);
        return false;
    }
    CURLU *h = curl_url();
    char *scheme = NULL, *host = NULL, *user = NULL, *fragment = NULL;
    bool parsed = h && curl_url_set(h, CURLUPART_URL, url, 0) == CURLUE_OK &&
                  curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
                  curl_url_get(h, CURLUPART_HOST, &host, 0) == CURLUE_OK;
    bool has_user = h && curl_url_get(h, CURLUPART_USER, &user, 0) == CURLUE_OK;
    bool has_fragment = h && curl_url_get(h, CURLUPART_FRAGMENT, &fragment, 0) == CURLUE_OK;
    bool ok = false;
    if (!parsed || host[0] == '\0')
        snprintf(reason, size, "URL absolue attendue (https://hôte/chemin).");
    else if (has_user || has_fragment)
        snprintf(reason, size, "L'URL ne porte ni identifiants (utilisateur@) ni fragment (#).");
    else if (strcmp(scheme, "https") == 0)
        ok = true;
    else if (strcmp(scheme, "http") == 0 && allow_http_localhost &&
             (strcmp(host, "127.0.0.1") == 0 || strcmp(host, "localhost") == 0))
        ok = true;
    else
        snprintf(reason, size, "Seules les URL https sont acceptées.");
    curl_free(scheme);
    curl_free(host);
    curl_free(user);
    curl_free(fragment);
    curl_url_cleanup(h);
    return ok;
}

/* ---- sending ------------------------------------------------------------------- */

struct attempt {
    struct webhook_dispatcher *d;
    bool refused_address; /* the guard refused where the host resolved */
};

/* Loopback, private, link-local, shared, multicast and reserved IPv4. */
static bool ipv4_is_internal(uint32_t a, bool *loopback)
{
    *loopback = (a >> 24) == 127;
    return (a >> 24) == 0 || (a >> 24) == 10 || (a >> 24) == 127 || (a >> 20) == 0xac1 ||
           (a >> 16) == 0xc0a8 || (a >> 16) == 0xa9fe || (a >> 22) == (100u << 2 | 1) ||
           (a >> 28) >= 0xe;
}

/* SSRF guard, on the address actually connected to (after DNS, on every
 * redirect-free attempt): no internal address, except loopback when
 * WEBHOOK_ALLOW_HTTP_LOCALHOST (tests). */
static curl_socket_t open_socket(void *data, curlsocktype purpose, struct curl_sockaddr *a)
{
    struct attempt *at = data;
    bool loopback = false, internal = true;
    (void)purpose;
    if (a->family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&a->addr;
        internal = ipv4_is_internal(ntohl(in->sin_addr.s_addr), &loopback);
    } else if (a->family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&a->addr;
        const unsigned char *b = in6->sin6_addr.s6_addr;
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(b, mapped, 12) == 0) {
            uint32_t v4 =
                (uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 | b[15];
            internal = ipv4_is_internal(v4, &loopback);
        } else {
            loopback = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
            internal = loopback || IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr) ||
                       (b[0] & 0xfe) == 0xfc || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) ||
                       b[0] == 0xff;
        }
    }
    if (internal && !(loopback && at->d->app->config.webhook_allow_http_localhost)) {
        at->refused_address = true;
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype, a->protocol);
}

static size_t discard(char *ptr, size_t size, size_t nmemb, void *data)
{
    (void)ptr;
    (void)data;
    return size * nmemb;
}

static int abort_when_stopping(void *data, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t e)
{
    struct attempt *at = data;
    (void)a, (void)b, (void)c, (void)e;
    return atomic_load(&at->d->stopping) ? 1 : 0;
}

/* POSTs one delivery; the HTTP status (0 when none came back, error then
 * says why). */
static long post(struct webhook_dispatcher *d, const struct livraison_due *l, const char *signature,
                 long long timestamp, char *error, size_t error_size, bool *stopped)
{
    const struct app_config *c = &d->app->config;
    char id_header[64], ts_header[48], sig_header[80];
    snprintf(id_header, sizeof id_header, "webhook-id: %s", l->evenement_id);
    snprintf(ts_header, sizeof ts_header, "webhook-timestamp: %lld", timestamp);
    snprintf(sig_header, sizeof sig_header, "webhook-signature: %s", signature);
    struct curl_slist *headers = NULL;
    const char *list[] = {"Content-Type: application/json",
                          "Expect:",
                          "User-Agent: pvd-api-webhooks",
                          id_header,
                          ts_header,
                          sig_header};
    for (size_t i = 0; i < sizeof list / sizeof list[0]; i++) {
        struct curl_slist *next = curl_slist_append(headers, list[i]);
        if (next == NULL)
            die_bug("curl_slist_append failed");
        headers = next;
    }
    struct attempt at = {d, false};
    CURL *h = curl_easy_init();
    if (h == NULL)
        die_bug("curl_easy_init failed");
    curl_easy_setopt(h, CURLOPT_URL, l->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    /* No proxy from the environment: the SSRF check must see the receiver's
     * own address. */
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->webhook_timeout_seconds * 1000L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)c->webhook_timeout_seconds * 1000L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, l->corps);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(l->corps));
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &at);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, abort_when_stopping);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &at);
    CURLcode rc = curl_easy_perform(h);
    long status = 0;
    *stopped = rc == CURLE_ABORTED_BY_CALLBACK;
    if (rc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    else if (at.refused_address)
        snprintf(error, error_size, "adresse interne refusée (protection SSRF)");
    else
        snprintf(error, error_size, "%s", curl_easy_strerror(rc));
    curl_easy_cleanup(h);
    curl_slist_free_all(headers);
    return status;
}

/* Sends one claimed delivery and records its outcome. */
static void deliver(struct webhook_dispatcher *d, struct db_conn *conn,
                    const struct livraison_due *l)
{
    const struct app_config *c = &d->app->config;
    unsigned char secret[WEBHOOK_SECRET_BYTES];
    char signature[WEBHOOK_SIGNATURE_SIZE], error[256] = "";
    long long now = (long long)time(NULL);
    long status = 0;
    bool stopped = false;
    if (!webhook_secret_open(d->app->webhook_key, l->sealed, secret)) {
        snprintf(error, sizeof error, "secret indéchiffrable (WEBHOOK_KEY_FILE a changé ?)");
    } else {
        webhook_sign(secret, sizeof secret, l->evenement_id, now, l->corps, strlen(l->corps),
                     signature);
        OPENSSL_cleanse(secret, sizeof secret);
        status = post(d, l, signature, now, error, sizeof error, &stopped);
        if (status && (status < 200 || status > 299))
            snprintf(error, sizeof error, "réponse HTTP %ld", status);
    }
    bool delivered = status >= 200 && status <= 299;
    size_t done = (size_t)(l->tentatives > 0 ? l->tentatives : 1) - 1;
    long retry_in = stopped                         ? 0
                    : done < c->webhook_retry_count ? (long)c->webhook_retry_schedule[done]
                                                    : -1;
    struct db_error err = {{0}, {0}};
    if (livraison_record(conn, l->id, l->tentatives, delivered, status, delivered ? NULL : error,
                         retry_in, &err) != DB_OK)
        log_line(LOG_WARN, NULL, "webhook : résultat de livraison non enregistré", "livraison",
                 l->id, "erreur", err.message, (const char *)NULL);
    else if (!delivered && retry_in < 0)
        log_line(LOG_WARN, NULL, "webhook : livraison abandonnée (echec_definitif)", "livraison",
                 l->id, "erreur", error, (const char *)NULL);
}

/* ---- the loop ------------------------------------------------------------------ */

/* Both return false when the database failed (logged). */
static bool dispatch_all(struct webhook_dispatcher *d)
{
    char(*ids)[37] = NULL;
    size_t count = 0;
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    enum db_result r = db_pool_acquire(d->pool, &conn, &err);
    if (r == DB_OK) {
        r = abonnements_actifs(conn, &ids, &count, &err);
        db_pool_release(d->pool, conn);
    }
    if (r != DB_OK) {
        log_line(LOG_WARN, NULL, "webhook : abonnements illisibles", "erreur", err.message,
                 (const char *)NULL);
        return false;
    }
    bool ok = true;
    for (size_t i = 0; i < count && !atomic_load(&d->stopping); i++) {
        bool more = true;
        for (int round = 0; more && round < DISPATCH_ROUNDS; round++) {
            size_t created = 0;
            if (abonnement_dispatch(d->pool, ids[i], DISPATCH_BATCH, &created, &more, &err) !=
                DB_OK) {
                log_line(LOG_WARN, NULL, "webhook : événements non distribués", "abonnement",
                         ids[i], "erreur", err.message, (const char *)NULL);
                ok = false;
                break;
            }
        }
    }
    free(ids);
    return ok;
}

static bool send_due(struct webhook_dispatcher *d, struct db_conn *conn)
{
    size_t count = CLAIM_BATCH;
    while (count == CLAIM_BATCH && !atomic_load(&d->stopping)) {
        struct livraison_due *due = NULL;
        struct db_error err = {{0}, {0}};
        if (livraisons_claim(conn, d->app->config.webhook_lease_seconds, CLAIM_BATCH, &due, &count,
                             &err) != DB_OK) {
            log_line(LOG_WARN, NULL, "webhook : livraisons dues illisibles", "erreur", err.message,
                     (const char *)NULL);
            return false;
        }
        for (size_t i = 0; i < count; i++)
            deliver(d, conn, &due[i]);
        livraisons_due_release(due, count);
    }
    return true;
}

/* After a database failure, the next round waits this long (one warning
 * per round, not one per period, while the database is down). */
#define FAILURE_PAUSE_MS 5000

static void *run(void *arg)
{
    struct webhook_dispatcher *d = arg;
    while (!atomic_load(&d->stopping)) {
        /* One connection: dispatch_all takes it for each of its
         * transactions, send_due after it. */
        bool ok = dispatch_all(d);
        struct db_conn *conn = NULL;
        struct db_error err = {{0}, {0}};
        if (ok && db_pool_acquire(d->pool, &conn, &err) == DB_OK) {
            ok = send_due(d, conn);
            db_pool_release(d->pool, conn);
        } else {
            ok = false;
        }
        unsigned period = d->app->config.webhook_poll_milliseconds;
        if (!ok && period < FAILURE_PAUSE_MS)
            period = FAILURE_PAUSE_MS;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += period / 1000;
        until.tv_nsec += (long)(period % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&d->lock);
        if (!atomic_load(&d->stopping))
            pthread_cond_timedwait(&d->wake, &d->lock, &until);
        pthread_mutex_unlock(&d->lock);
    }
    return NULL;
}

struct webhook_dispatcher *webhook_dispatcher_start(struct app *app)
{
    if (!app->webhooks_enabled)
        return NULL;
    struct webhook_dispatcher *d = xcalloc(1, sizeof *d);
    d->app = app;
    struct db_pool_options options = {app->config.database_url,
                                      1,
                                      app->config.db_acquire_timeout_ms,
                                      app->config.db_statement_timeout_ms,
                                      60000,
                                      "pvd-api-webhooks",
                                      app->config.db_transaction_pooler};
    d->pool = db_pool_new(&options);
    atomic_init(&d->stopping, false);
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->wake, NULL);
    if (d->pool == NULL || pthread_create(&d->thread, NULL, run, d) != 0) {
        log_line(LOG_ERROR, NULL, "webhook : répartiteur non démarré", (const char *)NULL);
        db_pool_free(d->pool);
        pthread_mutex_destroy(&d->lock);
        pthread_cond_destroy(&d->wake);
        free(d);
        return NULL;
    }
    return d;
}

void webhook_dispatcher_stop(struct webhook_dispatcher *d)
{
    if (d == NULL)
        return;
    pthread_mutex_lock(&d->lock);
    atomic_store(&d->stopping, true);
    pthread_cond_signal(&d->wake);
    pthread_mutex_unlock(&d->lock);
    pthread_join(d->thread, NULL);
    db_pool_free(d->pool);
    pthread_mutex_destroy(&d->lock);
    pthread_cond_destroy(&d->wake);
    free(d);
}
