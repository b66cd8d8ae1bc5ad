/* Resilience suite: the database pool exhausted, then PostgreSQL killed and restarted,
 * the rate limit, and slow clients (slowloris), against a real server. Run with --jobs 1
 * against a server started with DB_POOL_SIZE=1, DB_ACQUIRE_TIMEOUT_MS=300 and small
 * connection limits and request deadlines (tests/run.sh, resilience_suite).
 *
 * Environment:
 *   PVD_TEST_BASE_URL      the server under test
 *   PVD_TEST_DATABASE_URL  libpq keyword string of the server's database
 *   PVD_TEST_PG            absolute path of deploy/local/pg.sh (PVD_VAR already exported,
 *                          naming the cluster the server uses)
 *   PVD_TEST_MAX_CONNECTIONS, PVD_TEST_PER_ADDRESS, PVD_TEST_HEADERS_TIMEOUT,
 *   PVD_TEST_BODY_TIMEOUT  the server's HTTP_MAX_CONNECTIONS, HTTP_MAX_CONNECTIONS_PER_ADDRESS,
 *                          HTTP_REQUEST_HEADERS_TIMEOUT_SECONDS, HTTP_REQUEST_BODY_TIMEOUT_SECONDS
 *
 * Criterion does not document the order in which it runs the tests of a suite, and the
 * database-down scenario must come last (it kills the cluster), so both scenarios are
 * steps of one test, in sequence. A .fini restarts PostgreSQL and drops the lock if a step
 * fails half-way, so that the runner can still stop the server cleanly. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../support/http_client.h"
#include "../support/tokens.h"

#define DB_DOWN_PROBES       5
#define DB_DOWN_MAX_SECONDS  3.0
#define RECOVERY_MAX_SECONDS 15.0
#define ACQUIRE_MAX_SECONDS  2.0 /* DB_ACQUIRE_TIMEOUT_MS=300, with a wide margin */
#define BLOCKED_TIMEOUT_MS   15000L

static PGconn *lock_conn;
static bool pg_killed;

static const char *env_or_fail(const char *name)
{
    const char *v = getenv(name);
    cr_assert(v != NULL && v[0] != '\0', "%s is not set (see tests/run.sh resilience_suite)", name);
    return v;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs "$PVD_TEST_PG" command; returns its exit status. */
static int pg_command(const char *command)
{
    const char *pg = getenv("PVD_TEST_PG");
    if (pg == NULL)
        return -1;
    char line[1024];
    snprintf(line, sizeof line, "\"%s\" %s >/dev/null", pg, command);
    int rc = system(line);
    return rc != -1 && WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void cleanup(void)
{
    if (lock_conn) {
        PQfinish(lock_conn); /* ends the transaction: the lock goes */
        lock_conn = NULL;
    }
    if (pg_killed) {
        pg_command("start");
        pg_killed = false;
    }
}

static void exec_ok(PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(res);
    cr_assert(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(conn));
    PQclear(res);
}

/* Waits (up to 5 s) until a pvd-api session waits for a lock, i.e. the request in the
 * other thread holds the only pooled connection, blocked behind our lock. */
static bool wait_for_blocked_session(PGconn *conn)
{
    for (int i = 0; i < 100; i++) {
        /* pg_locks is read live (pg_stat_activity would be a per-transaction snapshot) */
        PGresult *res = PQexec(conn, "select count(*) from pg_locks where not granted and "
                                     "relation = 'schema_migrations'::regclass and database = "
                                     "(select oid from pg_database where datname = "
                                     "current_database())");
        bool blocked = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
                       atoi(PQgetvalue(res, 0, 0)) > 0;
        PQclear(res);
        if (blocked)
            return true;
        sleep_ms(50);
    }
    return false;
}

struct blocked_call {
    pthread_t thread;
    struct http_response resp;
    int rc;
};

static void *blocked_readyz(void *arg)
{
    struct blocked_call *call = arg;
    call->rc = http_try_request("GET", "/readyz", NULL, NULL, 0, BLOCKED_TIMEOUT_MS, &call->resp);
    return NULL;
}

static void expect_unavailable(const struct http_response *r, const char *when)
{
    cr_assert_neq(r->status, 500, "%s: /readyz must never answer 500: " HTTP_BODY, when, r->body);
    http_expect_problem(r, 503, "service-indisponible");
    const char *retry = http_header(r, "Retry-After");
    cr_assert(retry != NULL, "%s: 503 without Retry-After", when);
    char *end = NULL;
    long seconds = strtol(retry, &end, 10);
    cr_assert(end != retry && *end == '\0' && seconds >= 1,
              "%s: Retry-After should be a number of seconds >= 1, is \"%s\"", when, retry);
}

static void expect_commune_from_memory(const char *when)
{
    struct http_response r;
    http_get("/api/v1/communes/69248", &r);
    cr_assert_eq(r.status, 200,
                 "%s: /api/v1/communes/69248 should still answer 200 (served "
                 "from memory), got %ld: " HTTP_BODY,
                 when, r.status, r.body);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "nom")), "Thizy-les-Bourgs");
    http_response_release(&r);
}

/* Value of a sample "name value" line of the Prometheus text, or -1. */
static double metric_value(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, name, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    }
    return -1;
}

static double read_metric(const char *name)
{
    struct http_response r;
    http_get("/metrics", &r);
    cr_assert_eq(r.status, 200, "/metrics: %ld", r.status);
    double v = metric_value(r.body, name);
    cr_assert(v >= 0, "/metrics lacks %s: " HTTP_BODY, name, r.body);
    http_response_release(&r);
    return v;
}

static void scenario_pool_exhausted(const char *database_url)
{
    struct http_response r;
    http_get("/readyz", &r);
    cr_assert_eq(r.status, 200, "before the test, /readyz should be 200: " HTTP_BODY, r.body);
    http_response_release(&r);

    lock_conn = PQconnectdb(database_url);
    cr_assert(PQstatus(lock_conn) == CONNECTION_OK, "cannot connect to %s: %s", database_url,
              PQerrorMessage(lock_conn));
    exec_ok(lock_conn, "begin");
    exec_ok(lock_conn, "lock table schema_migrations in access exclusive mode");

    struct blocked_call call;
    memset(&call, 0, sizeof call);
    cr_assert(pthread_create(&call.thread, NULL, blocked_readyz, &call) == 0);
    sleep_ms(200);
    bool blocked = wait_for_blocked_session(lock_conn);
    cr_assert(blocked, "the first /readyz never blocked behind the lock on schema_migrations");

    http_get("/readyz", &r);
    cr_assert(r.seconds < ACQUIRE_MAX_SECONDS,
              "pool exhausted: /readyz took %.3f s, the pool wait is bounded at 300 ms", r.seconds);
    expect_unavailable(&r, "pool exhausted");
    http_response_release(&r);

    expect_commune_from_memory("pool exhausted");
    cr_assert(read_metric("pvd_db_pool_in_use") >= 1, "pvd_db_pool_in_use should be 1");
    cr_assert(read_metric("pvd_db_pool_acquire_timeouts_total") >= 1,
              "pvd_db_pool_acquire_timeouts_total should count the 503");

    exec_ok(lock_conn, "commit");
    PQfinish(lock_conn);
    lock_conn = NULL;

    pthread_join(call.thread, NULL);
    cr_assert(call.rc == 0, "the blocked /readyz got no response: %s", call.resp.error);
    cr_assert_eq(call.resp.status, 200,
                 "the blocked /readyz should finish 200 once the lock is released, got %ld: "
                 "" HTTP_BODY,
                 call.resp.status, call.resp.body);
    http_response_release(&call.resp);

    http_get("/readyz", &r);
    cr_assert_eq(r.status, 200, "after the exhaustion, /readyz: %ld: " HTTP_BODY, r.status, r.body);
    http_response_release(&r);
}

static void scenario_database_down(void)
{
    env_or_fail("PVD_TEST_PG");
    double reconnects_before = read_metric("pvd_db_reconnects_total");

    pg_killed = true;
    cr_assert_eq(pg_command("kill"), 0, "pg.sh kill failed");

    for (int i = 0; i < DB_DOWN_PROBES; i++) {
        struct http_response r;
        int rc = http_try_request("GET", "/readyz", NULL, NULL, 0,
                                  (long)(DB_DOWN_MAX_SECONDS * 1000), &r);
        cr_assert(rc == 0, "database down, probe %d: no answer within %.0f s (%s)", i + 1,
                  DB_DOWN_MAX_SECONDS, r.error);
        char when[64];
        snprintf(when, sizeof when, "database down, probe %d", i + 1);
        expect_unavailable(&r, when);
        http_response_release(&r);
        sleep_ms(100);
    }
    expect_commune_from_memory("database down");
    struct http_response h;
    http_get("/healthz", &h);
    cr_assert_eq(h.status, 200, "database down: /healthz (liveness) should stay 200");
    http_response_release(&h);

    cr_assert_eq(pg_command("start"), 0, "pg.sh start failed");
    pg_killed = false;
    double start = now_seconds();
    long last = 0;
    for (;;) {
        struct http_response r;
        int rc = http_try_request("GET", "/readyz", NULL, NULL, 0, 5000, &r);
        last = rc == 0 ? r.status : -1;
        if (rc == 0 && r.status != 200)
            cr_assert_neq(r.status, 500, "recovering: /readyz answered 500: " HTTP_BODY, r.body);
        http_response_release(&r);
        if (last == 200)
            break;
        cr_assert(now_seconds() - start < RECOVERY_MAX_SECONDS,
                  "/readyz still %ld %.0f s after PostgreSQL came back: the service did not "
                  "recover by itself",
                  last, RECOVERY_MAX_SECONDS);
        sleep_ms(250);
    }
    expect_commune_from_memory("after recovery");
    double reconnects = read_metric("pvd_db_reconnects_total");
    cr_assert(reconnects >= 1 && reconnects > reconnects_before,
              "pvd_db_reconnects_total should have grown (before %.0f, now %.0f)",
              reconnects_before, reconnects);
}

Test(resilience, pool_exhausted_then_database_killed_and_back, .fini = cleanup, .timeout = 120)
{
    http_base_url();
    const char *database_url = env_or_fail("PVD_TEST_DATABASE_URL");
    env_or_fail("PVD_TEST_PG");
    cr_log_info("step 1: pool exhausted");
    scenario_pool_exhausted(database_url);
    cr_log_info("step 2: database killed, then restarted");
    scenario_database_down();
}

/* Rate limit per principal (the server runs with RATE_LIMIT_PER_MINUTE=5):
 * the sixth call in a minute is 429 with Retry-After; another principal is
 * not affected; a second replica keeps its own buckets (per replica). */
Test(resilience, rate_limit_per_principal)
{
    char *mine = token_for("rafale-1"), *other = token_for("rafale-2");
    char mine_header[4400], other_header[4400];
    token_header(mine_header, sizeof mine_header, mine);
    token_header(other_header, sizeof other_header, other);
    const char *headers[] = {mine_header, NULL};
    struct http_response r;
    for (int i = 0; i < 5; i++) {
        http_request("GET", "/api/v1/moi", headers, NULL, 0, &r);
        cr_assert_eq(r.status, 200, "call %d: " HTTP_BODY, i + 1, r.body);
        http_response_release(&r);
    }
    http_request("GET", "/api/v1/moi", headers, NULL, 0, &r);
    http_expect_problem(&r, 429, "trop-de-requetes");
    const char *retry = http_header(&r, "Retry-After");
    cr_assert(retry && atoi(retry) >= 1 && atoi(retry) <= 60, "Retry-After: %s",
              retry ? retry : "(absent)");
    http_response_release(&r);
    const char *other_headers[] = {other_header, NULL};
    http_request("GET", "/api/v1/moi", other_headers, NULL, 0, &r);
    cr_assert_eq(r.status, 200, "another principal keeps its own bucket");
    http_response_release(&r);
    /* The limit is per replica (README "Configuration"): the second server of
     * the same database, its own bucket, still answers this principal, and
     * limits it after its own five calls. */
    cr_assert_geq(http_server_count(), 2, "tests/run.sh starts a second replica");
    http_pin(1);
    for (int i = 0; i < 5; i++) {
        http_request("GET", "/api/v1/moi", headers, NULL, 0, &r);
        cr_assert_eq(r.status, 200, "replica 2, call %d: " HTTP_BODY, i + 1, r.body);
        http_response_release(&r);
    }
    http_request("GET", "/api/v1/moi", headers, NULL, 0, &r);
    http_expect_problem(&r, 429, "trop-de-requetes");
    http_response_release(&r);
    http_pin(-1);
    free(mine);
    free(other);
}

/* ---- slow clients (slowloris, issue #8) ----------------------------------------------
 *
 * The server runs with HTTP_MAX_CONNECTIONS=PVD_TEST_MAX_CONNECTIONS, a cap per address
 * PVD_TEST_PER_ADDRESS, and request deadlines of PVD_TEST_HEADERS_TIMEOUT /
 * PVD_TEST_BODY_TIMEOUT seconds (tests/run.sh resilience_suite). An attacker on 127.0.0.1
 * keeps SLOW_CONNECTIONS connections open (more than the whole server's limit), each
 * sending one header line a second and never ending its headers, and reopens each one
 * that the server closes. Meanwhile a normal client on 127.0.0.2 (the whole 127/8 is
 * loopback on Linux) makes NORMAL_GETS GETs. Without the cap the attacker holds every
 * slot; without the deadlines its connections live as long as it trickles bytes (the idle
 * timeout restarts on each byte). Loopback only, bounded in count and time. */

#define SLOW_CONNECTIONS    100
#define ATTACK_MAX_SECONDS  40.0 /* a safety bound: the attack stops when the GETs are done */
#define TRICKLE_MS          1000
#define REOPEN_MS           500
#define NORMAL_GETS         12
#define NORMAL_TIMEOUT_MS   2500
#define DEADLINE_SLACK_SECS 1.5 /* the watchdog's period (0.25 s) and an ASan server */

static unsigned env_unsigned(const char *name)
{
    const char *v = env_or_fail(name);
    return (unsigned)strtoul(v, NULL, 10);
}

/* The server's port, from PVD_TEST_BASE_URL ("http://127.0.0.1:PORT"). */
static unsigned short server_port(void)
{
    const char *base = http_base_url();
    const char *colon = strrchr(base, ':');
    cr_assert(colon != NULL && strncmp(base, "http://127.0.0.1:", 17) == 0,
              "the slowloris test needs a server on 127.0.0.1, not %s", base);
    return (unsigned short)atoi(colon + 1);
}

/* A TCP connection from source (an IPv4 loopback address) to 127.0.0.1:port; -1 on error.
 * Thread-safe, never asserts. */
static int connect_from(const char *source, unsigned short port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    inet_pton(AF_INET, source, &a.sin_addr);
    struct sockaddr_in to = a;
    to.sin_port = htons(port);
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        connect(fd, (struct sockaddr *)&to, sizeof to) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* True when the server has closed (or reset) fd: a read returns 0 or an error. */
static bool peer_closed(int fd)
{
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 0) <= 0)
        return false;
    char buf[512];
    ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

struct slow_slot {
    int fd; /* -1: closed, reopened at reopen_at */
    double opened, last_sent, reopen_at;
    unsigned lines;
};

struct attack {
    pthread_t thread;
    unsigned short port;
    struct slow_slot slots[SLOW_CONNECTIONS];
    double start;
    atomic_bool stop; /* set by the test once its GETs are done */
    /* results */
    unsigned opened, failed_connects;
    unsigned held_to_deadline; /* lived at least the headers deadline minus 0.5 s */
    double longest;            /* longest life of a connection closed by the server */
    unsigned alive_at_end;     /* still open when the attack stopped */
    double oldest_at_end;      /* age of the oldest of them */
    double headers_timeout;
};

static void slot_open(struct attack *a, struct slow_slot *s, double now)
{
    s->fd = connect_from("127.0.0.1", a->port);
    s->opened = s->last_sent = now;
    s->lines = 0;
    if (s->fd < 0) {
        a->failed_connects++;
        s->reopen_at = now + REOPEN_MS / 1000.0;
        return;
    }
    a->opened++;
    static const char start[] = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    if (send(s->fd, start, sizeof start - 1, MSG_NOSIGNAL) < 0) {
        close(s->fd);
        s->fd = -1;
        s->reopen_at = now + REOPEN_MS / 1000.0;
    }
}

static void slot_closed(struct attack *a, struct slow_slot *s, double now)
{
    double life = now - s->opened;
    if (life > a->longest)
        a->longest = life;
    if (life >= a->headers_timeout - 0.5)
        a->held_to_deadline++;
    close(s->fd);
    s->fd = -1;
    s->reopen_at = now + REOPEN_MS / 1000.0;
}

static void *attack_main(void *arg)
{
    struct attack *a = arg;
    a->start = now_seconds();
    for (size_t i = 0; i < SLOW_CONNECTIONS; i++)
        slot_open(a, &a->slots[i], now_seconds());
    double now = now_seconds();
    while (!atomic_load(&a->stop) && (now = now_seconds()) - a->start < ATTACK_MAX_SECONDS) {
        for (size_t i = 0; i < SLOW_CONNECTIONS; i++) {
            struct slow_slot *s = &a->slots[i];
            if (s->fd < 0) {
                if (now >= s->reopen_at)
                    slot_open(a, s, now);
                continue;
            }
            if (peer_closed(s->fd)) {
                slot_closed(a, s, now);
                continue;
            }
            if (now - s->last_sent >= TRICKLE_MS / 1000.0) {
                char line[64];
                int n = snprintf(line, sizeof line, "X-Lent-%u: encore\r\n", s->lines++);
                s->last_sent = now;
                if (send(s->fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
                    errno != EAGAIN && errno != EWOULDBLOCK)
                    slot_closed(a, s, now);
            }
        }
        sleep_ms(20);
    }
    for (size_t i = 0; i < SLOW_CONNECTIONS; i++) {
        struct slow_slot *s = &a->slots[i];
        if (s->fd < 0)
            continue;
        if (peer_closed(s->fd)) {
            slot_closed(a, s, now);
            continue;
        }
        a->alive_at_end++;
        if (now - s->opened > a->oldest_at_end)
            a->oldest_at_end = now - s->opened;
        close(s->fd);
        s->fd = -1;
    }
    return NULL;
}

/* One GET from 127.0.0.2 with Connection: close; true when a 200 arrived within timeout. */
static bool normal_get(unsigned short port, const char *path, long timeout_ms)
{
    int fd = connect_from("127.0.0.2", port);
    if (fd < 0)
        return false;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char request[256];
    int n = snprintf(request, sizeof request,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
    bool ok = false;
    if (send(fd, request, (size_t)n, MSG_NOSIGNAL) == n) {
        char reply[64] = "";
        size_t got = 0;
        ssize_t r;
        while (got < sizeof reply - 1 && (r = recv(fd, reply + got, sizeof reply - 1 - got, 0)) > 0)
            got += (size_t)r;
        reply[got] = '\0';
        ok = strncmp(reply, "HTTP/1.1 200 ", 13) == 0;
    }
    close(fd);
    return ok;
}

Test(resilience, slowloris_normal_client_served_and_slow_connections_cut, .timeout = 60)
{
    unsigned per_address = env_unsigned("PVD_TEST_PER_ADDRESS");
    unsigned max_connections = env_unsigned("PVD_TEST_MAX_CONNECTIONS");
    cr_assert(SLOW_CONNECTIONS > max_connections && per_address < max_connections,
              "the attack must be able to fill the server without the cap per address");
    static struct attack a;
    memset(&a, 0, sizeof a);
    atomic_init(&a.stop, false);
    a.port = server_port();
    a.headers_timeout = env_unsigned("PVD_TEST_HEADERS_TIMEOUT");
    cr_assert(pthread_create(&a.thread, NULL, attack_main, &a) == 0);

    sleep_ms(1000); /* the attack is in place; it lasts until the last GET is done */
    unsigned answered = 0;
    double gets_start = now_seconds();
    for (int i = 0; i < NORMAL_GETS; i++) {
        double t0 = now_seconds();
        if (normal_get(a.port, "/api/v1/communes/69248", NORMAL_TIMEOUT_MS))
            answered++;
        double spent = now_seconds() - t0;
        if (spent < 0.8)
            sleep_ms((long)((0.8 - spent) * 1000));
    }
    double gets_seconds = now_seconds() - gets_start;
    atomic_store(&a.stop, true);
    pthread_join(a.thread, NULL);

    printf("slowloris: %u of %d normal GETs answered during the attack (%.1f s; %d slow "
           "connections from 127.0.0.1, a header line every %d ms, %u connections opened, "
           "%u held until the %.0f s headers deadline, longest %.1f s; cap %u per address, "
           "%u in all)\n",
           answered, NORMAL_GETS, gets_seconds, SLOW_CONNECTIONS, TRICKLE_MS, a.opened,
           a.held_to_deadline, a.headers_timeout, a.longest, per_address, max_connections);
    fflush(stdout);
    cr_assert_eq(answered, NORMAL_GETS, "only %u of %d normal GETs answered during the attack",
                 answered, NORMAL_GETS);
    cr_assert(a.alive_at_end == 0 || a.oldest_at_end <= a.headers_timeout + DEADLINE_SLACK_SECS,
              "%u slow connections still open at the end of the attack, the oldest after "
              "%.1f s: the headers deadline (%.0f s) did not cut them",
              a.alive_at_end, a.oldest_at_end, a.headers_timeout);
    cr_assert(a.longest <= a.headers_timeout + DEADLINE_SLACK_SECS,
              "a slow connection lived %.1f s, past the %.0f s headers deadline", a.longest,
              a.headers_timeout);
    cr_assert(a.held_to_deadline >= 1,
              "no slow connection was held until the deadline: the test did not exercise it");
}

/* A body that trickles (one byte every 500 ms of an announced 100) is cut at the body
 * deadline, although each byte restarts libmicrohttpd's idle timeout. */
Test(resilience, slow_body_cut_at_its_deadline, .timeout = 30)
{
    double body_timeout = env_unsigned("PVD_TEST_BODY_TIMEOUT");
    unsigned short port = server_port();
    int fd = connect_from("127.0.0.1", port);
    cr_assert(fd >= 0, "connect: %s", strerror(errno));
    static const char head[] = "POST /api/v1/communes HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                               "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n";
    cr_assert(send(fd, head, sizeof head - 1, MSG_NOSIGNAL) == (ssize_t)(sizeof head - 1));
    double start = now_seconds(), closed_after = -1;
    for (int i = 0; i < 99; i++) {
        if (peer_closed(fd)) {
            closed_after = now_seconds() - start;
            break;
        }
        if (send(fd, " ", 1, MSG_NOSIGNAL) < 0) {
            closed_after = now_seconds() - start;
            break;
        }
        if (now_seconds() - start > body_timeout + 2 * DEADLINE_SLACK_SECS)
            break;
        sleep_ms(500);
    }
    close(fd);
    printf("slowloris: a body trickling one byte every 500 ms was cut after %.1f s (body "
           "deadline %.0f s)\n",
           closed_after, body_timeout);
    fflush(stdout);
    cr_assert(closed_after >= 0, "the trickling body was not cut within %.0f s",
              body_timeout + 2 * DEADLINE_SLACK_SECS);
    cr_assert(closed_after >= body_timeout - 0.5 &&
                  closed_after <= body_timeout + DEADLINE_SLACK_SECS,
              "the trickling body was cut after %.1f s, the deadline is %.0f s", closed_after,
              body_timeout);
}
