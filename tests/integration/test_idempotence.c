/* Idempotency-Key across failures (issue 8 §1): the stored response commits
 * in the write's own transaction, so a write interrupted by a kill -9 of the
 * service or by the loss of its database connection leaves neither the object
 * nor a stuck key, and the client's retry with the same key creates exactly
 * one object and gets its answer; a second request under a key still running
 * is 409; the fingerprint covers the query string.
 *
 * The write is held at a known point by a second PostgreSQL session that
 * inserts, uncommitted, an organisation with the same SIREN: the service's
 * transaction has claimed the key and waits inside its INSERT on that
 * session's transaction (the unique index), which then rolls back. Only the
 * test's own request waits, whatever runs in parallel. Needs PVD_TEST_DATABASE_URL,
 * PVD_TEST_SERVER_BIN and the test identity provider (PVD_TEST_IDP). */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../support/fixtures.h"
#include "../support/http_client.h"
#include "../support/tokens.h"

extern char **environ;

static PGconn *db_connect(void)
{
    const char *url = getenv("PVD_TEST_DATABASE_URL");
    cr_assert(url && *url, "PVD_TEST_DATABASE_URL must be set");
    PGconn *c = PQconnectdb(url);
    cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
    return c;
}

static void db_exec(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    cr_assert(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK,
              "%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
}

static long db_count(PGconn *c, const char *sql, const char *param)
{
    const char *params[1] = {param};
    PGresult *r = PQexecParams(c, sql, 1, NULL, params, NULL, NULL, 0);
    cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(c));
    long n = atol(PQgetvalue(r, 0, 0));
    PQclear(r);
    return n;
}

/* Waits (≤ 10 s) until a backend waits on the transaction of locker; its pid. */
static int wait_for_blocked_insert(PGconn *db, PGconn *locker)
{
    char locker_pid[16];
    snprintf(locker_pid, sizeof locker_pid, "%d", PQbackendPID(locker));
    const char *params[1] = {locker_pid};
    for (int i = 0; i < 200; i++) {
        PGresult *r = PQexecParams(db,
                                   "SELECT pid FROM pg_stat_activity WHERE $1::int = "
                                   "ANY (pg_blocking_pids(pid))",
                                   1, NULL, params, NULL, NULL, 0);
        cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQerrorMessage(db));
        int pid = PQntuples(r) > 0 ? atoi(PQgetvalue(r, 0, 0)) : 0;
        PQclear(r);
        if (pid > 0)
            return pid;
        struct timespec pause = {0, 50 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    cr_assert_fail("the service's INSERT never waited on the test's transaction");
    return 0;
}

/* Holds the SIREN of o in an uncommitted transaction of locker. */
struct org_request;
static void hold_siren(PGconn *locker, const struct org_request *o);

/* A SIREN passing Luhn, unique enough for a test run. */
static void unique_siren(char out[10])
{
    static unsigned counter;
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid() ^ (++counter * 2654435761u);
    for (int i = 0; i < 8; i++)
        out[i] = (char)('0' + rand_r(&seed) % 10);
    out[0] = '9'; /* outside the communes' and EPCI's ranges used elsewhere */
    for (int check = 0; check < 10; check++) {
        out[8] = (char)('0' + check);
        int sum = 0;
        for (int i = 0; i < 9; i++) {
            int d = out[8 - i] - '0';
            if (i % 2 == 1) {
                d *= 2;
                if (d > 9)
                    d -= 9;
            }
            sum += d;
        }
        if (sum % 10 == 0)
            break;
    }
    out[9] = '\0';
}

struct org_request {
    char siren[10];
    char body[300];
    char nom[80];
    char key_header[120];
    char key[80];
};

static void org_request_init(struct org_request *o, const char *label)
{
    unique_siren(o->siren);
    token_unique_subject(o->nom, sizeof o->nom, label);
    token_unique_subject(o->key, sizeof o->key, "cle");
    snprintf(o->key_header, sizeof o->key_header, "Idempotency-Key: %s", o->key);
    snprintf(o->body, sizeof o->body,
             "{\"nature\":\"association\",\"nom\":\"%s\",\"siren\":\"%s\"}", o->nom, o->siren);
}

static void hold_siren(PGconn *locker, const struct org_request *o)
{
    db_exec(locker, "BEGIN");
    const char *params[1] = {o->siren};
    PGresult *r = PQexecParams(locker,
                               "INSERT INTO organisations (siren, nom, nature) "
                               "VALUES ($1, 'verrou du test', 'association')",
                               1, NULL, params, NULL, NULL, 0);
    cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQerrorMessage(locker));
    PQclear(r);
}

/* ---- a request sent from another thread, to another server ---------------- */

struct background_post {
    char url[200];
    const char *auth_header;
    const struct org_request *o;
    long timeout_ms;
    long status; /* 0 when no answer */
    pthread_t thread;
};

static void *background_post_run(void *arg)
{
    struct background_post *p = arg;
    CURL *curl = curl_easy_init();
    struct curl_slist *h = NULL;
    h = curl_slist_append(h, p->auth_header);
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, p->o->key_header);
    curl_easy_setopt(curl, CURLOPT_URL, p->url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, p->o->body);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, p->timeout_ms);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, fwrite);
    FILE *sink = fopen("/dev/null", "w");
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, sink);
    if (curl_easy_perform(curl) == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &p->status);
    fclose(sink);
    curl_slist_free_all(h);
    curl_easy_cleanup(curl);
    return NULL;
}

static void background_post_start(struct background_post *p, const char *base,
                                  const char *auth_header, const struct org_request *o,
                                  long timeout_ms)
{
    snprintf(p->url, sizeof p->url, "%s/api/v1/organisations", base);
    p->auth_header = auth_header;
    p->o = o;
    p->timeout_ms = timeout_ms;
    p->status = 0;
    cr_assert_eq(pthread_create(&p->thread, NULL, background_post_run, p), 0);
}

/* ---- a second service process, to be killed ------------------------------- */

static unsigned free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &len);
    close(s);
    return ntohs(a.sin_port);
}

static bool healthy(const char *base)
{
    char url[200];
    snprintf(url, sizeof url, "%s/healthz", base);
    CURL *curl = curl_easy_init();
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 500L);
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    long status = 0;
    if (curl_easy_perform(curl) == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
    return status == 200;
}

/* Starts `pvd-api serve` on the test database with the test identity
 * provider; its pid, and its base URL in base. */
static pid_t spawn_server(char base[64])
{
    const char *bin = getenv("PVD_TEST_SERVER_BIN");
    const char *url = getenv("PVD_TEST_DATABASE_URL");
    const char *idp = getenv("PVD_TEST_IDP");
    cr_assert(bin && url && idp, "PVD_TEST_SERVER_BIN, PVD_TEST_DATABASE_URL, PVD_TEST_IDP");
    const char *dir = strchr(idp, ' ');
    cr_assert(dir, "PVD_TEST_IDP is \"<binary> <dir>\"");
    unsigned port = free_port();
    snprintf(base, 64, "http://127.0.0.1:%u", port);
    char e_db[600], e_port[32], e_iss[300], e_aud[300], e_jwks[600];
    snprintf(e_db, sizeof e_db, "DATABASE_URL=%s", url);
    snprintf(e_port, sizeof e_port, "HTTP_PORT=%u", port);
    snprintf(e_iss, sizeof e_iss, "AUTH_ISSUER=%s", getenv("PVD_TEST_ISSUER"));
    snprintf(e_aud, sizeof e_aud, "AUTH_AUDIENCE=%s", getenv("PVD_TEST_AUDIENCE"));
    snprintf(e_jwks, sizeof e_jwks, "AUTH_JWKS_FILE=%s/jwks.json", dir + 1);
    char *env[] = {e_db,
                   e_port,
                   e_iss,
                   e_aud,
                   e_jwks,
                   "AUTH_BOOTSTRAP_ADMIN_SUB=admin-initial",
                   "HTTP_BIND_ADDRESS=127.0.0.1",
                   "LOG_LEVEL=error",
                   "RATE_LIMIT_PER_MINUTE=0",
                   "PVD_REFERENTIEL_RELOAD_SECONDS=3600",
                   NULL};
    char *argv[] = {(char *)bin, "serve", NULL};
    pid_t pid;
    cr_assert_eq(posix_spawn(&pid, bin, NULL, NULL, argv, env), 0);
    for (int i = 0; i < 200 && !healthy(base); i++) {
        struct timespec pause = {0, 50 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    cr_assert(healthy(base), "the second server did not start");
    return pid;
}

/* Retries o with its key on the main server: 201, and a second retry replays
 * the same answer; exactly one organisation of that name exists. */
static void expect_one_object_after_retries(PGconn *db, const struct fx_caller *admin,
                                            const struct org_request *o)
{
    struct http_response r1, r2;
    fx_call(admin, "POST", "/api/v1/organisations", o->body, o->key_header, &r1);
    cr_assert_eq(r1.status, 201, "the retry runs the request again: " HTTP_BODY, r1.body);
    fx_call(admin, "POST", "/api/v1/organisations", o->body, o->key_header, &r2);
    cr_assert_eq(r2.status, 201, HTTP_BODY, r2.body);
    cr_assert_str_eq(http_header(&r2, "Idempotent-Replayed"), "true");
    cr_assert_str_eq(r2.body, r1.body);
    cr_assert_str_eq(http_header(&r2, "Location"), http_header(&r1, "Location"));
    http_response_release(&r1);
    http_response_release(&r2);
    cr_assert_eq(db_count(db, "SELECT count(*) FROM organisations WHERE nom = $1", o->nom), 1,
                 "exactly one object");
}

Test(idempotence, a_write_killed_by_kill_9_leaves_no_stuck_key_and_the_retry_creates_one_object,
     .timeout = 60)
{
    struct fx_caller admin;
    struct org_request o;
    char base[64];
    fx_admin(&admin);
    http_base_url();
    org_request_init(&o, "asso-kill9");
    PGconn *locker = db_connect(), *db = db_connect();
    pid_t server = spawn_server(base);

    hold_siren(locker, &o);
    struct background_post p;
    background_post_start(&p, base, admin.header, &o, 20000);
    wait_for_blocked_insert(db, locker);
    /* The service dies in the middle of the write. */
    cr_assert_eq(kill(server, SIGKILL), 0);
    int status;
    cr_assert_eq(waitpid(server, &status, 0), server);
    pthread_join(p.thread, NULL);
    cr_assert_eq(p.status, 0, "the killed server answered %ld", p.status);
    db_exec(locker, "ROLLBACK");

    cr_assert_eq(db_count(db, "SELECT count(*) FROM organisations WHERE nom = $1", o.nom), 0);
    expect_one_object_after_retries(db, &admin, &o);
    PQfinish(locker);
    PQfinish(db);
}

Test(idempotence, a_write_cut_from_its_database_answers_503_and_the_retry_creates_one_object,
     .timeout = 60)
{
    struct fx_caller admin;
    struct org_request o;
    fx_admin(&admin);
    org_request_init(&o, "asso-coupure");
    PGconn *locker = db_connect(), *db = db_connect();

    hold_siren(locker, &o);
    struct background_post p;
    background_post_start(&p, http_base_url(), admin.header, &o, 20000);
    int pid = wait_for_blocked_insert(db, locker);
    char pidtext[16];
    snprintf(pidtext, sizeof pidtext, "%d", pid);
    /* The database goes away under the write (its backend is terminated). */
    cr_assert_eq(db_count(db, "SELECT count(*) FROM pg_terminate_backend($1::int, 5000)", pidtext),
                 1);
    pthread_join(p.thread, NULL);
    cr_assert_eq(p.status, 503);
    db_exec(locker, "ROLLBACK");

    cr_assert_eq(db_count(db, "SELECT count(*) FROM organisations WHERE nom = $1", o.nom), 0);
    expect_one_object_after_retries(db, &admin, &o);
    PQfinish(locker);
    PQfinish(db);
}

Test(idempotence, a_second_request_under_a_key_still_running_is_409_then_gets_the_answer,
     .timeout = 60)
{
    struct fx_caller admin;
    struct org_request o;
    struct http_response r;
    fx_admin(&admin);
    org_request_init(&o, "asso-concurrente");
    PGconn *locker = db_connect(), *db = db_connect();

    hold_siren(locker, &o);
    struct background_post p;
    background_post_start(&p, http_base_url(), admin.header, &o, 20000);
    wait_for_blocked_insert(db, locker);
    fx_call(&admin, "POST", "/api/v1/organisations", o.body, o.key_header, &r);
    fx_expect_error(&r, 409, "conflit", NULL, NULL);
    http_response_release(&r);
    db_exec(locker, "ROLLBACK");
    pthread_join(p.thread, NULL);
    cr_assert_eq(p.status, 201);

    fx_call(&admin, "POST", "/api/v1/organisations", o.body, o.key_header, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    cr_assert_str_eq(http_header(&r, "Idempotent-Replayed"), "true");
    http_response_release(&r);
    cr_assert_eq(db_count(db, "SELECT count(*) FROM organisations WHERE nom = $1", o.nom), 1);
    PQfinish(locker);
    PQfinish(db);
}

/* The fingerprint is method, path, query and body: a dry-run import then the
 * same key with ?appliquer=true is another request (422), not a replay of the
 * dry run. */
Test(idempotence, the_query_string_is_part_of_the_request)
{
    struct fx_caller admin;
    struct http_response r;
    char key[80], key_header[120];
    fx_admin(&admin);
    token_unique_subject(key, sizeof key, "cle-import");
    snprintf(key_header, sizeof key_header, "Idempotency-Key: %s", key);
    const char *csv = "id_pvd;insee_com\npvd-76-46-931;46102\n";
    const char *headers[] = {admin.header, "Content-Type: text/csv", key_header, NULL};
    http_request("POST", "/api/v1/territoires/import", headers, csv, strlen(csv), &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    http_response_release(&r);
    http_request("POST", "/api/v1/territoires/import?appliquer=true", headers, csv, strlen(csv),
                 &r);
    http_expect_problem(&r, 422, "cle-idempotence-reutilisee");
    http_response_release(&r);
    http_get("/api/v1/territoires/pvd-76-46-931", &r);
    cr_assert_eq(r.status, 404, "nothing imported: " HTTP_BODY, r.body);
    http_response_release(&r);
}

/* Several replicas (issue #12 §1; the api step runs two servers on one
 * database): a key claimed through one server is honoured by the other — the
 * same answer replayed, another body refused — and an ETag read on one is
 * checked by the other (412 when stale). With one server, the same holds. */
Test(idempotence, a_key_and_an_etag_hold_across_replicas)
{
    struct fx_caller admin;
    struct org_request o;
    struct http_response first, r;
    fx_admin(&admin);
    org_request_init(&o, "asso-repliques");
    http_pin(0);
    fx_call(&admin, "POST", "/api/v1/organisations", o.body, o.key_header, &first);
    cr_assert_eq(first.status, 201, HTTP_BODY, first.body);
    const char *id = fx_str(first.json, "id");
    const char *etag0 = http_header(&first, "ETag");
    cr_assert(id && etag0);

    http_pin(1);
    fx_call(&admin, "POST", "/api/v1/organisations", o.body, o.key_header, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    cr_assert_str_eq(http_header(&r, "Idempotent-Replayed"), "true");
    cr_assert_str_eq(r.body, first.body);
    http_response_release(&r);
    char other[600];
    snprintf(other, sizeof other,
             "{\"nature\":\"association\",\"nom\":\"%s-bis\",\"siren\":\"%s\"}", o.nom, o.siren);
    fx_call(&admin, "POST", "/api/v1/organisations", other, o.key_header, &r);
    cr_assert_eq(r.status, 422, HTTP_BODY, r.body);
    http_response_release(&r);

    char path[96], if_match[96];
    snprintf(path, sizeof path, "/api/v1/organisations/%s", id);
    snprintf(if_match, sizeof if_match, "If-Match: %s", etag0);
    fx_call(&admin, "PATCH", path, "{\"nom\":\"Renommée sur l'autre\"}", if_match, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    http_response_release(&r);
    http_pin(0);
    fx_call(&admin, "PATCH", path, "{\"nom\":\"Avec l'ancien ETag\"}", if_match, &r);
    cr_assert_eq(r.status, 412, HTTP_BODY, r.body);
    http_response_release(&r);
    http_pin(-1);
    http_response_release(&first);
}
