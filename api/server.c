/* HTTP server lifecycle (see server.h).
 *
 * Body-size gate: ulfius reads a whole upload before any callback runs and
 * silently truncates at max_post_body_size. To answer 413 as soon as the
 * headers announce too large a body, this file defines MHD_start_daemon: the
 * executable's definition takes precedence over libmicrohttpd's for ulfius'
 * call, so we receive ulfius' access handler and put gate_access_handler in
 * front of it, then start the daemon through MHD_start_daemon_va. The gate
 * applies the route's body limit (body_limit_for), answers 501 to a
 * Transfer-Encoding other than chunked (libmicrohttpd would otherwise read
 * until the peer closes), and counts in-flight requests for the drain.
 * Covered by the integration tests (413 without sending the body; chunked
 * bodies over the limit; the import's own limit; 501).
 *
 * Slow clients (slowloris, issue #8). libmicrohttpd's idle timeout
 * (HTTP_IDLE_TIMEOUT_SECONDS) restarts on every byte, so a client trickling a
 * header line every few seconds holds its connection forever; a few hundred
 * of them fill HTTP_MAX_CONNECTIONS. Two defences:
 *   - at most HTTP_MAX_CONNECTIONS_PER_ADDRESS simultaneous connections per
 *     client address (libmicrohttpd's MHD_OPTION_PER_IP_CONNECTION_LIMIT: the
 *     connection is accepted then closed at once);
 *   - deadlines per request, whatever the pace of the bytes: its headers must
 *     be complete HTTP_REQUEST_HEADERS_TIMEOUT_SECONDS after the connection's
 *     accept (or after the previous request's end on a kept-alive connection),
 *     its body HTTP_REQUEST_BODY_TIMEOUT_SECONDS after its headers. Once the
 *     body is in, no deadline: the handler runs and the answer is sent.
 * Each connection gets a `struct tracked_conn` (MHD_OPTION_NOTIFY_CONNECTION,
 * STARTED) on one list with its socket and current deadline; the gate moves
 * the deadline (headers complete → body deadline; body complete → none;
 * request completed → headers deadline of the next request). A watchdog
 * thread scans the list four times a second and calls shutdown(SHUT_RDWR) on
 * the socket of an overdue connection: libmicrohttpd then sees the end of the
 * stream and closes the connection itself (its own bookkeeping stays right;
 * we never close an fd that libmicrohttpd owns). Fd reuse: libmicrohttpd
 * (0.9.75, daemon.c: internal_add_connection's failure path and
 * MHD_cleanup_connections) calls NOTIFY_CONNECTION CLOSED before it closes
 * the socket, and the CLOSED callback unlinks the record under the same
 * mutex the watchdog holds while it calls shutdown: an fd on the list is
 * always still the connection's own. */
#define _POSIX_C_SOURCE 200809L
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <ulfius.h>
#include <unistd.h>

#include "cors.h"
#include "http.h"
#include "log.h"
#include "pipeline.h"
#include "routes.h"
#include "xalloc.h"

struct gate {
    MHD_AccessHandlerCallback inner;
    void *inner_cls;
    struct app *app;
};

/* One per request: wraps ulfius' per-request pointer. */
struct gate_request {
    void *inner_con_cls;
    size_t received;
    bool first;
    bool rejected;   /* 413 queued (announced length) */
    bool overflowed; /* chunked body past the limit: discarded, 413 at its end */
    size_t uri_length;
    size_t limit; /* body_limit_for this request, set on the first call */
};

/* ---- per-connection deadlines (see the top of this file) ---------------------------- */

struct tracked_conn {
    struct tracked_conn *prev, *next;
    int fd;
    long long deadline_ms; /* CLOCK_MONOTONIC; 0: none (the request is being handled) */
    bool cut;              /* shutdown already called */
};

#define WATCHDOG_PERIOD_MS 250

static struct {
    pthread_mutex_t lock; /* the list, every deadline, and each shutdown call */
    pthread_cond_t wake;
    struct tracked_conn *head;
    bool stop;
    bool running;
    pthread_t thread;
    unsigned headers_seconds; /* deadline of a new connection's first request */
} watchdog = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, false, false, 0, 0};

static long long monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sets the connection's deadline to now + seconds (0: none). */
static void conn_set_deadline(struct MHD_Connection *connection, unsigned seconds)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct tracked_conn *t = ci ? ci->socket_context : NULL;
    if (t == NULL)
        return;
    long long deadline = seconds ? monotonic_ms() + (long long)seconds * 1000 : 0;
    pthread_mutex_lock(&watchdog.lock);
    t->deadline_ms = deadline;
    pthread_mutex_unlock(&watchdog.lock);
}

static void notify_connection(void *cls, struct MHD_Connection *connection, void **socket_context,
                              enum MHD_ConnectionNotificationCode code)
{
    (void)cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (ci == NULL)
            return;
        struct tracked_conn *t = xcalloc(1, sizeof *t);
        t->fd = ci->connect_fd;
        t->deadline_ms = monotonic_ms() + (long long)watchdog.headers_seconds * 1000;
        pthread_mutex_lock(&watchdog.lock);
        t->next = watchdog.head;
        if (watchdog.head)
            watchdog.head->prev = t;
        watchdog.head = t;
        pthread_mutex_unlock(&watchdog.lock);
        *socket_context = t;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        struct tracked_conn *t = *socket_context;
        if (t == NULL)
            return;
        /* Called before libmicrohttpd closes the socket: once unlinked here, the
         * watchdog cannot touch this fd again. */
        pthread_mutex_lock(&watchdog.lock);
        if (t->prev)
            t->prev->next = t->next;
        else
            watchdog.head = t->next;
        if (t->next)
            t->next->prev = t->prev;
        pthread_mutex_unlock(&watchdog.lock);
        free(t);
        *socket_context = NULL;
    }
}

static void *watchdog_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&watchdog.lock);
    while (!watchdog.stop) {
        long long now = monotonic_ms();
        unsigned cut = 0;
        for (struct tracked_conn *t = watchdog.head; t; t = t->next) {
            if (!t->cut && t->deadline_ms != 0 && now >= t->deadline_ms) {
                shutdown(t->fd, SHUT_RDWR); /* libmicrohttpd sees EOF and closes it */
                t->cut = true;
                cut++;
            }
        }
        if (cut > 0) {
            pthread_mutex_unlock(&watchdog.lock);
            char n[16];
            snprintf(n, sizeof n, "%u", cut);
            log_line(LOG_WARN, NULL, "connexions coupées : requête pas reçue dans le délai",
                     "connexions", n, (const char *)NULL);
            pthread_mutex_lock(&watchdog.lock);
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += WATCHDOG_PERIOD_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        if (!watchdog.stop)
            pthread_cond_timedwait(&watchdog.wake, &watchdog.lock, &until);
    }
    pthread_mutex_unlock(&watchdog.lock);
    return NULL;
}

/* Stops the watchdog thread. Call only once libmicrohttpd's daemon has stopped. */
static void watchdog_stop(void)
{
    if (!watchdog.running)
        return;
    pthread_mutex_lock(&watchdog.lock);
    watchdog.stop = true;
    pthread_cond_signal(&watchdog.wake);
    pthread_mutex_unlock(&watchdog.lock);
    pthread_join(watchdog.thread, NULL);
    watchdog.running = false;
    /* libmicrohttpd has stopped (no callback any more): free what it did not report closed. */
    pthread_mutex_lock(&watchdog.lock);
    struct tracked_conn *t = watchdog.head;
    watchdog.head = NULL;
    pthread_mutex_unlock(&watchdog.lock);
    while (t) {
        struct tracked_conn *next = t->next;
        free(t);
        t = next;
    }
}

#define IMPORT_ROUTE "/api/v1/territoires/import"

size_t body_limit_for(const char *method, const char *url, const struct app_config *cfg)
{
    if (method && url && strcmp(method, "POST") == 0 && strcmp(url, IMPORT_ROUTE) == 0)
        return cfg->import_max_bytes;
    return cfg->http_max_body_bytes;
}

/* Longer request targets get 414 (problem+json) from the gate. Beyond what fits
 * in libmicrohttpd's per-connection memory (32 KiB by default), MHD answers 414
 * itself, with its own body: a reverse proxy should cap URIs before that. */
#define GATE_MAX_URI_BYTES 8192u

/* A chunked upload past the limit is drained (not stored) so that the 413 can
 * be sent once MHD lets us answer; past this much more, the connection is cut. */
#define GATE_DISCARD_MAX_BYTES (64u * 1024 * 1024)

static struct gate the_gate;
static bool gate_armed;

/* Answers a problem from the gate, before ulfius sees the request. */
static enum MHD_Result queue_problem(struct MHD_Connection *connection, struct app *app,
                                     enum problem_code code, const char *detail)
{
    char request_id[129];
    const char *given = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "X-Request-Id");
    if (request_id_is_valid(given))
        snprintf(request_id, sizeof request_id, "%s", given);
    else
        request_id_new(request_id);
    struct problem p = {code, detail, NULL, NULL, request_id, NULL};
    json_t *body = problem_to_json(&p, app->config.problem_base_url);
    char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(body);
    if (text == NULL)
        die_bug("json_dumps failed");
    struct MHD_Response *response =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(response, "Content-Type", "application/problem+json");
    MHD_add_response_header(response, "X-Request-Id", request_id);
    MHD_add_response_header(response, "Connection", "close");
    struct cors_headers cors; /* so that a browser can read the 413/414 */
    cors_apply(&app->config.cors,
               MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "Origin"), &cors);
    for (size_t i = 0; i < cors.count; i++)
        MHD_add_response_header(response, cors.items[i].name, cors.items[i].value);
    int status = problem_status(code);
    enum MHD_Result r = MHD_queue_response(connection, (unsigned)status, response);
    MHD_destroy_response(response);
    metrics_observe(app->metrics, routes_index(NULL), status, 0);
    struct log_access line = {request_id, "-", "(filtre d'entrée)", status, 0, problem_slug(code)};
    log_access(&line);
    return r;
}

static enum MHD_Result queue_too_large(struct MHD_Connection *connection, struct app *app,
                                       size_t limit)
{
    char detail[160];
    snprintf(detail, sizeof detail, "Le corps de la requête dépasse %zu octets.", limit);
    return queue_problem(connection, app, PROBLEM_CORPS_TROP_VOLUMINEUX, detail);
}

static enum MHD_Result gate_access_handler(void *cls, struct MHD_Connection *connection,
                                           const char *url, const char *method, const char *version,
                                           const char *upload_data, size_t *upload_data_size,
                                           void **con_cls)
{
    struct gate *gate = cls;
    struct gate_request *g = *con_cls;
    if (g == NULL)
        return MHD_NO;
    if (g->rejected) {
        *upload_data_size = 0; /* discard what the client still sends */
        return MHD_YES;
    }
    if (g->first) {
        g->first = false;
        /* Headers complete: the body has its own deadline. */
        conn_set_deadline(connection, gate->app->config.http_request_body_timeout_seconds);
        g->limit = body_limit_for(method, url, &gate->app->config);
        if (g->uri_length > GATE_MAX_URI_BYTES) {
            g->rejected = true;
            return queue_problem(connection, gate->app, PROBLEM_URI_TROP_LONGUE,
                                 "La cible de la requête dépasse 8192 octets.");
        }
        /* libmicrohttpd decodes only "chunked" (the whole value, any case); with another
         * coding it would read the body until the client closes. */
        const char *coding =
            MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "Transfer-Encoding");
        if (coding && strcasecmp(coding, "chunked") != 0) {
            g->rejected = true;
            return queue_problem(connection, gate->app, PROBLEM_ENCODAGE_TRANSFERT_NON_SUPPORTE,
                                 "Seul l'encodage de transfert « chunked » est pris en charge.");
        }
        const char *length =
            MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "Content-Length");
        if (length) {
            char *end = NULL;
            errno = 0;
            unsigned long long announced = strtoull(length, &end, 10);
            if (errno == ERANGE || announced > g->limit) {
                g->rejected = true;
                return queue_too_large(connection, gate->app, g->limit);
            }
        }
    } else if (*upload_data_size > 0) {
        g->received += *upload_data_size;
        if (g->received > g->limit) /* chunked upload growing past the limit */
            g->overflowed = true;
        if (g->overflowed) {
            *upload_data_size = 0;
            return g->received > g->limit + GATE_DISCARD_MAX_BYTES ? MHD_NO : MHD_YES;
        }
    } else if (g->overflowed) {
        g->rejected = true;
        return queue_too_large(connection, gate->app, g->limit);
    } else {
        /* Body complete: the handler runs and answers, no deadline. */
        conn_set_deadline(connection, 0);
    }
    return gate->inner(gate->inner_cls, connection, url, method, version, upload_data,
                       upload_data_size, &g->inner_con_cls);
}

static void *gate_uri_logger(void *cls, const char *uri, struct MHD_Connection *connection)
{
    (void)connection;
    struct gate *gate = cls;
    struct gate_request *g = xcalloc(1, sizeof *g);
    g->first = true;
    g->uri_length = strlen(uri);
    g->inner_con_cls = ulfius_uri_logger(NULL, uri);
    atomic_fetch_add(&gate->app->inflight, 1);
    return g;
}

static void gate_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
                           enum MHD_RequestTerminationCode toe)
{
    struct gate *gate = cls;
    struct gate_request *g = *con_cls;
    if (g == NULL)
        return;
    mhd_request_completed(NULL, connection, &g->inner_con_cls, toe);
    /* A kept-alive connection: the next request's headers have their deadline. */
    conn_set_deadline(connection, gate->app->config.http_request_headers_timeout_seconds);
    free(g);
    *con_cls = NULL;
    atomic_fetch_sub(&gate->app->inflight, 1);
}

struct MHD_Daemon *MHD_start_daemon(unsigned int flags, uint16_t port, MHD_AcceptPolicyCallback apc,
                                    void *apc_cls, MHD_AccessHandlerCallback dh, void *dh_cls, ...)
{
    va_list ap;
    va_start(ap, dh_cls);
    struct MHD_Daemon *daemon;
    if (gate_armed) {
        the_gate.inner = dh;
        the_gate.inner_cls = dh_cls;
        daemon = MHD_start_daemon_va(flags, port, apc, apc_cls, gate_access_handler, &the_gate, ap);
    } else {
        daemon = MHD_start_daemon_va(flags, port, apc, apc_cls, dh, dh_cls, ap);
    }
    va_end(ap);
    return daemon;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && msg[n - 1] == '\n')
        msg[--n] = '\0';
    log_line(LOG_WARN, NULL, msg, "source", "libmicrohttpd", (const char *)NULL);
}

struct server {
    struct _u_instance instance;
    struct app *app;
    MHD_socket quiesced;
};

struct server *server_start(struct app *app)
{
    const struct app_config *cfg = &app->config;
    struct server *s = xcalloc(1, sizeof *s);
    s->app = app;
    s->quiesced = MHD_INVALID_SOCKET;
    struct sockaddr_in bind4;
    memset(&bind4, 0, sizeof bind4);
    bind4.sin_family = AF_INET;
    bind4.sin_port = htons((uint16_t)cfg->http_port);
    if (inet_pton(AF_INET, cfg->http_bind_address, &bind4.sin_addr) != 1) {
        log_line(LOG_ERROR, NULL, "HTTP_BIND_ADDRESS n'est pas une adresse IPv4",
                 (const char *)NULL);
        free(s);
        return NULL;
    }
    if (ulfius_init_instance(&s->instance, cfg->http_port, NULL, NULL) != U_OK) {
        free(s);
        return NULL;
    }
    /* Path and query parameters are checked once, before any handler (api/query_params.h),
     * on the raw bytes; ulfius would drop invalid ones silently. */
    s->instance.check_utf8 = 0;
    s->instance.allowed_post_processor = U_POST_PROCESS_NONE;
    s->instance.max_post_body_size = 0; /* the gate enforces HTTP_MAX_BODY_BYTES */
    if (!pipeline_register(&s->instance, app)) {
        ulfius_clean_instance(&s->instance);
        free(s);
        return NULL;
    }
    the_gate.app = app;
    gate_armed = true;
    watchdog.headers_seconds = cfg->http_request_headers_timeout_seconds;
    struct MHD_OptionItem ops[12];
    size_t k = 0;
    /* First, so that libmicrohttpd's messages about the other options come here too. */
    ops[k++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, NULL};
    ops[k++] =
        (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)gate_completed, &the_gate};
    ops[k++] =
        (struct MHD_OptionItem){MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)gate_uri_logger, &the_gate};
    ops[k++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &bind4};
    ops[k++] =
        (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, cfg->http_max_connections, NULL};
    ops[k++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT,
                                       cfg->http_idle_timeout_seconds, NULL};
    if (cfg->http_max_connections_per_address > 0)
        ops[k++] = (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                                           cfg->http_max_connections_per_address, NULL};
    ops[k++] =
        (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)notify_connection, NULL};
    if (cfg->http_threads > 1) /* MHD rejects a pool of one: then one polling thread serves */
        ops[k++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, cfg->http_threads, NULL};
    ops[k] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_USE_ITC;
    int r = ulfius_start_framework_with_mhd_options(&s->instance, flags, ops);
    gate_armed = false;
    if (r != U_OK) {
        char port[16];
        snprintf(port, sizeof port, "%u", cfg->http_port);
        log_line(LOG_ERROR, NULL, "écoute HTTP impossible (port occupé ?)", "port", port,
                 (const char *)NULL);
        ulfius_clean_instance(&s->instance);
        free(s);
        return NULL;
    }
    watchdog.stop = false;
    if (pthread_create(&watchdog.thread, NULL, watchdog_main, NULL) != 0) {
        log_line(LOG_ERROR, NULL, "fil de surveillance des connexions impossible à lancer",
                 (const char *)NULL);
        ulfius_stop_framework(&s->instance);
        ulfius_clean_instance(&s->instance);
        free(s);
        return NULL;
    }
    watchdog.running = true;
    char port[16];
    snprintf(port, sizeof port, "%u", cfg->http_port);
    log_line(LOG_INFO, NULL, "service à l'écoute", "adresse", cfg->http_bind_address, "port", port,
             (const char *)NULL);
    return s;
}

unsigned long server_drain_and_stop(struct server *s, unsigned grace_seconds)
{
    struct app *app = s->app;
    atomic_store(&app->draining, true);
    s->quiesced = MHD_quiesce_daemon(s->instance.mhd_daemon);
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    unsigned long left;
    while ((left = atomic_load(&app->inflight)) > 0) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec >= (time_t)grace_seconds)
            break;
        struct timespec pause = {0, 10 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    ulfius_stop_framework(&s->instance); /* closes every connection: the list is empty */
    watchdog_stop();
    if (s->quiesced != MHD_INVALID_SOCKET)
        close(s->quiesced);
    ulfius_clean_instance(&s->instance);
    free(s);
    return left;
}
