/* A pvd-api of one test on a database of its own (see private_server.h). */
#define _POSIX_C_SOURCE 200809L
#include "private_server.h"

#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixtures.h"
#include "http_client.h"

static void admin_sql(const char *sql)
{
    const char *url = getenv("PVD_TEST_DATABASE_URL");
    cr_assert(url && *url, "PVD_TEST_DATABASE_URL must be set");
    PGconn *db = PQconnectdb(url);
    cr_assert_eq(PQstatus(db), CONNECTION_OK, "%s", PQerrorMessage(db));
    PGresult *res = PQexec(db, sql);
    cr_assert_eq(PQresultStatus(res), PGRES_COMMAND_OK, "%s: %s", sql, PQerrorMessage(db));
    PQclear(res);
    PQfinish(db);
}

static void drop_database(const char *name)
{
    char sql[200];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    admin_sql(sql);
}

/* A TCP port nobody listens on now (the kernel's choice). */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

pid_t private_server_start(const char *name)
{
    const char *url = getenv("PVD_TEST_DATABASE_URL"), *bin = getenv("PVD_TEST_SERVER_BIN");
    const char *idp = getenv("PVD_TEST_IDP"), *issuer = getenv("PVD_TEST_ISSUER");
    const char *audience = getenv("PVD_TEST_AUDIENCE");
    cr_assert(url && bin && idp && issuer && audience, "the PVD_TEST_* of tests/run.sh");
    char sql[200], conninfo[600], cmd[1600], jwks[450], key[450], port[8], base[64];
    drop_database(name);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
    admin_sql(sql);
    const char *at = strstr(url, "dbname=");
    cr_assert(at, "PVD_TEST_DATABASE_URL has a dbname");
    snprintf(conninfo, sizeof conninfo, "%.*sdbname=%s", (int)(at - url), url, name);
    snprintf(cmd, sizeof cmd,
             "DATABASE_URL='%s' LOG_LEVEL=warn '%s' import-referentiel "
             "node_modules/@etalab/decoupage-administratif/data 2026 "
             "'@etalab/decoupage-administratif@6.0.0' >/dev/null 2>&1",
             conninfo, bin);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    const char *space = strchr(idp, ' ');
    cr_assert(space, "PVD_TEST_IDP is \"<binary> <dir>\"");
    snprintf(jwks, sizeof jwks, "%s/jwks.json", space + 1);
    snprintf(key, sizeof key, "%s/signing.pem", space + 1);
    snprintf(port, sizeof port, "%d", free_port());
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        /* Its log is kept for a failure's diagnosis (an abort at shutdown says why
         * only on stderr). */
        char log[300];
        snprintf(log, sizeof log, "build/tests/server-private-%s.log", name);
        if (freopen("/dev/null", "w", stdout) == NULL ||
            (freopen(log, "w", stderr) == NULL && freopen("/dev/null", "w", stderr) == NULL))
            _exit(127);
        setenv("HTTP_PORT", port, 1);
        setenv("HTTP_BIND_ADDRESS", "127.0.0.1", 1);
        setenv("LOG_LEVEL", "warn", 1);
        setenv("DATABASE_URL", conninfo, 1);
        setenv("DB_POOL_SIZE", "2", 1);
        setenv("RATE_LIMIT_PER_MINUTE", "0", 1);
        setenv("AUTH_ISSUER", issuer, 1);
        setenv("AUTH_AUDIENCE", audience, 1);
        setenv("AUTH_JWKS_FILE", jwks, 1);
        setenv("AUTH_BOOTSTRAP_ADMIN_SUB", "admin-initial", 1);
        setenv("AUTH_SIGNING_KEY_FILE", key, 1);
        execl(bin, bin, "serve", (char *)NULL);
        _exit(127);
    }
    snprintf(base, sizeof base, "http://127.0.0.1:%s", port);
    setenv("PVD_TEST_BASE_URL", base, 1);
    for (int i = 0; i < 300; i++) { /* up to 30 s on a shared machine */
        struct http_response r;
        int status = 0;
        cr_assert_eq(waitpid(pid, &status, WNOHANG), 0, "the private server exited at start");
        int sent = http_try_request("GET", "/healthz", NULL, NULL, 0, 1000, &r);
        long got = sent == 0 ? r.status : 0;
        http_response_release(&r);
        if (got == 200)
            return pid;
        nanosleep(&(struct timespec){0, 100000000L}, NULL);
    }
    cr_assert_fail("the private server did not answer /healthz in 30 s");
    return pid;
}

void private_server_stop(pid_t pid, const char *name)
{
    int status = 0;
    kill(pid, SIGTERM);
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "private server status %d (its log: build/tests/server-private-%s.log)", status,
              name);
    drop_database(name);
}

long private_server_publish_today(void (*edit)(json_t *doc, void *arg), void *arg)
{
    struct fx_caller anct;
    struct http_response r;
    char if_match[120], today[11];
    fx_caller_with(&anct, "anct_national", "{}");
    fx_call(&anct, "GET", "/api/v1/parametres", NULL, NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    snprintf(if_match, sizeof if_match, "If-Match: %s", http_header(&r, "ETag"));
    json_t *doc = json_deep_copy(r.json);
    http_response_release(&r);
    json_object_del(doc, "version");
    json_object_del(doc, "cree_par");
    json_object_del(doc, "cree_le");
    fx_day(0, today);
    json_object_set_new(doc, "date_effet", json_string(today));
    edit(doc, arg);
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    cr_assert(text);
    fx_call(&anct, "PUT", "/api/v1/parametres", text, if_match, &r);
    free(text);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    long version = (long)json_integer_value(json_object_get(r.json, "version"));
    http_response_release(&r);
    return version;
}
