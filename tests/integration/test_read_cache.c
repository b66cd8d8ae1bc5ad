/* Integration tests of the replicas' read cache (issue 12 §4: api/read_cache.h,
 * api/cached_reads.h, db/freshness.h) over HTTP, against the suite's servers (the api
 * step runs two replicas of one database, and these tests address each on purpose):
 * - a second identical read is served from the cache (the server's
 *   pvd_read_cache_hits_total grows), with the same body, ETag and 304;
 * - a write through one replica is read back by the next request on the other, every
 *   time (20 rounds, each with the other replica's cache primed first);
 * - a write made in SQL, outside the service, is read back by the next request, every
 *   time (the cache is strict, not invalidated by notifications that could arrive late);
 * - one caller's cached answer is never served to another: a préfecture outside the
 *   perimeter still gets 404 and its own list;
 * - the session reading the stamp killed: reads stay fresh and the cache serves again;
 * - with READ_CACHE_MAX_STALENESS_MS (a server of its own): a recent reading of the stamp
 *   is reused, the replica's own writes are read back at once, a write in SQL once the
 *   bound has passed.
 * Other tests run in parallel against the same servers: counters are compared as
 * "grew". Territoire pvd-75-19-9xx (Corrèze) is used by no other test. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../support/fixtures.h"
#include "../support/http_client.h"
#include "../support/private_server.h"

/* The second server when there is one (the api step), else the first. */
static int other_server(void)
{
    return http_server_count() >= 2 ? 1 : 0;
}

/* Runs statement ($1 = param, or none) on database `name` of the suite's cluster (NULL:
 * the suite's database). */
static void sql_on(const char *name, const char *statement, const char *param)
{
    const char *url = getenv("PVD_TEST_DATABASE_URL");
    cr_assert(url, "PVD_TEST_DATABASE_URL must be set");
    const char *keys[] = {"dbname", name ? "dbname" : NULL, NULL};
    const char *values[] = {url, name, NULL};
    PGconn *db = PQconnectdbParams(keys, values, 1);
    cr_assert_eq(PQstatus(db), CONNECTION_OK, "%s", PQerrorMessage(db));
    PGresult *res = PQexecParams(db, statement, param ? 1 : 0, NULL, &param, NULL, NULL, 0);
    cr_assert(PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK,
              "%s", PQerrorMessage(db));
    PQclear(res);
    PQfinish(db);
}

static void sql(const char *statement, const char *param)
{
    sql_on(NULL, statement, param);
}

/* GET path as c on the pinned server: 200 asserted; its intitule copied. */
static void read_intitule(const struct fx_caller *c, const char *path, char out[200], char etag[64])
{
    struct http_response r;
    fx_call(c, "GET", path, NULL, NULL, &r);
    http_expect_json_ok(&r);
    snprintf(out, 200, "%s", fx_str(r.json, "intitule"));
    if (etag)
        snprintf(etag, 64, "%s", http_header(&r, "ETag"));
    http_response_release(&r);
}

static void patch_intitule(const struct fx_caller *c, const char *path, const char *etag,
                           const char *intitule, char new_etag[64])
{
    char body[200], if_match[100];
    snprintf(body, sizeof body, "{\"intitule\":\"%s\"}", intitule);
    snprintf(if_match, sizeof if_match, "If-Match: %s", etag);
    struct http_response r;
    fx_call(c, "PATCH", path, body, if_match, &r);
    cr_assert_eq(r.status, 200, "PATCH: %ld %s", r.status, r.body);
    snprintf(new_etag, 64, "%s", http_header(&r, "ETag"));
    http_response_release(&r);
}

struct setup {
    struct fx_fiche_territoire t;
    struct fx_caller admin, lecteur;
    char id[37], etag[64], path[120];
};

static void fiche_of(struct setup *s, const char *id_pvd, const char *insee,
                     const char *siren_commune, const char *siren_epci, const char *numero)
{
    http_pin(0);
    fx_admin(&s->admin);
    fx_caller_with(&s->lecteur, "lecteur_national", "{}");
    fx_fiche_territoire(id_pvd, insee, siren_commune, siren_epci, "2026-01-15", &s->t);
    fx_fiche(&s->admin, &s->t, numero, NULL, s->id, s->etag);
    snprintf(s->path, sizeof s->path, "/api/v1/fiches-action/%s", s->id);
}

/* Two identical reads in a row: true when one of them was served from the cache (its
 * authority and its answer: pvd_read_cache_hits_total + 2 at least, on a server that nobody
 * else calls). A write anywhere in the cluster (the other suites write on it) makes a read a
 * miss: the caller tries again. */
static bool read_twice_hits(const struct fx_caller *c, const char *path)
{
    char first[200], again[200], etag1[64], etag2[64];
    unsigned long long hits = fx_metric("pvd_read_cache_hits_total");
    read_intitule(c, path, first, etag1);
    read_intitule(c, path, again, etag2);
    cr_assert_str_eq(again, first);
    cr_assert_str_eq(etag2, etag1);
    return fx_metric("pvd_read_cache_hits_total") >= hits + 2;
}

#define PRIVE_DB "pvd_it_prive_cache"

Test(read_cache, a_second_read_is_served_from_the_cache_until_a_write, .timeout = 120)
{
    pid_t server = private_server_start(PRIVE_DB);
    struct setup s;
    fiche_of(&s, "pvd-75-19-901", "19001", "211900105", "200066645", "1.1");
    cr_assert_gt(fx_metric("pvd_read_cache_capacity_bytes"), 0, "READ_CACHE_BYTES is on");
    bool hit = false;
    for (int i = 0; i < 200 && !hit; i++)
        hit = read_twice_hits(&s.lecteur, s.path);
    cr_assert(hit, "200 pairs of identical reads, never served from the cache");

    /* The conditional read is answered from the cache as by the handler. */
    char etag[64], seen[200], inm[100];
    read_intitule(&s.lecteur, s.path, seen, etag);
    snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
    struct http_response r;
    fx_call(&s.lecteur, "GET", s.path, NULL, inm, &r);
    cr_assert_eq(r.status, 304);
    cr_assert_str_eq(http_header(&r, "ETag"), etag);
    http_response_release(&r);

    /* A list too, with its Link: the same bytes from the cache. */
    char list_path[160];
    snprintf(list_path, sizeof list_path, "/api/v1/fiches-action?id_pvd=%s&limite=1", s.t.id_pvd);
    char second[37];
    fx_fiche(&s.admin, &s.t, "1.2", NULL, second, NULL);
    hit = false;
    for (int i = 0; i < 200 && !hit; i++) {
        struct http_response a, b;
        unsigned long long hits = fx_metric("pvd_read_cache_hits_total");
        fx_call(&s.lecteur, "GET", list_path, NULL, NULL, &a);
        fx_call(&s.lecteur, "GET", list_path, NULL, NULL, &b);
        hit = fx_metric("pvd_read_cache_hits_total") >= hits + 2;
        cr_assert_eq(a.status, 200);
        cr_assert_str_eq(b.body, a.body);
        cr_assert_not_null(http_header(&b, "Link"), "the next page's Link was not kept");
        cr_assert_str_eq(http_header(&b, "Link"), http_header(&a, "Link"));
        cr_assert_str_eq(http_header(&b, "ETag"), http_header(&a, "ETag"));
        http_response_release(&a);
        http_response_release(&b);
    }
    cr_assert(hit, "200 pairs of identical list reads, never served from the cache");

    /* A write: the next read is the new state. */
    char new_etag[64], now_etag[64];
    fx_etag(s.path, s.etag);
    patch_intitule(&s.admin, s.path, s.etag, "Relue après écriture", new_etag);
    read_intitule(&s.lecteur, s.path, seen, now_etag);
    cr_assert_str_eq(seen, "Relue après écriture");
    cr_assert_str_eq(now_etag, new_etag);
    private_server_stop(server, PRIVE_DB);
}

Test(read_cache, a_write_on_one_replica_is_read_on_the_other_every_time)
{
    struct setup s;
    fiche_of(&s, "pvd-75-19-902", "19002", "211900204", "200066744", "1.1");
    int other = other_server();
    char etag[64], seen[200], list_path[160];
    snprintf(etag, sizeof etag, "%s", s.etag);
    snprintf(list_path, sizeof list_path, "/api/v1/fiches-action?id_pvd=%s", s.t.id_pvd);
    for (int i = 0; i < 20; i++) {
        char intitule[64];
        snprintf(intitule, sizeof intitule, "Version %d", i);
        http_pin(other); /* the other replica's cache holds the current state */
        read_intitule(&s.lecteur, s.path, seen, NULL);
        read_intitule(&s.lecteur, s.path, seen, NULL);
        struct http_response r;
        fx_call(&s.lecteur, "GET", list_path, NULL, NULL, &r);
        http_expect_json_ok(&r);
        http_response_release(&r);
        http_pin(0);
        patch_intitule(&s.admin, s.path, etag, intitule, etag);
        http_pin(other);
        read_intitule(&s.lecteur, s.path, seen, NULL);
        cr_assert_str_eq(seen, intitule, "round %d: the other replica served the old state", i);
        fx_call(&s.lecteur, "GET", list_path, NULL, NULL, &r);
        http_expect_json_ok(&r);
        json_t *first = json_array_get(json_object_get(r.json, "elements"), 0);
        cr_assert_str_eq(fx_str(first, "intitule"), intitule, "round %d: stale list", i);
        http_response_release(&r);
    }
    http_pin(-1);
}

Test(read_cache, a_write_made_in_sql_is_read_at_once)
{
    struct setup s;
    fiche_of(&s, "pvd-75-19-903", "19003", "211900303", "200066769", "1.1");
    int other = other_server();
    char seen[200];
    for (int i = 0; i < 20; i++) {
        http_pin(i % 2 ? other : 0);
        read_intitule(&s.lecteur, s.path, seen, NULL);
        read_intitule(&s.lecteur, s.path, seen, NULL);
        char intitule[64];
        snprintf(intitule, sizeof intitule, "Écrit en SQL %d", i);
        char statement[300];
        snprintf(statement, sizeof statement,
                 "update fiches_action set intitule = '%s' where id = $1", intitule);
        sql(statement, s.id);
        read_intitule(&s.lecteur, s.path, seen, NULL);
        cr_assert_str_eq(seen, intitule, "round %d: a write outside the service not seen", i);
    }
    http_pin(-1);
}

Test(read_cache, a_cached_answer_is_never_another_callers)
{
    struct setup s;
    fiche_of(&s, "pvd-75-19-904", "19004", "211900402", "200066751", "1.1");
    struct fx_caller outsider, insider;
    fx_caller_with(&outsider, "prefecture_instructeur", "{\"departements\":[\"23\"]}");
    fx_caller_with(&insider, "prefecture_instructeur", "{\"departements\":[\"19\"]}");
    char seen[200], list_path[160];
    snprintf(list_path, sizeof list_path, "/api/v1/fiches-action?id_pvd=%s", s.t.id_pvd);
    struct http_response r;
    for (int i = 0; i < 3; i++) { /* the national reader's answers are cached */
        read_intitule(&s.lecteur, s.path, seen, NULL);
        fx_call(&s.lecteur, "GET", list_path, NULL, NULL, &r);
        http_expect_json_ok(&r);
        cr_assert_eq(json_integer_value(json_object_get(r.json, "total")), 1);
        http_response_release(&r);
    }
    for (int i = 0; i < 2; i++) {
        fx_call(&outsider, "GET", s.path, NULL, NULL, &r);
        cr_assert(r.status == 404 || r.status == 403, "outside its perimeter: %ld", r.status);
        http_response_release(&r);
        fx_call(&outsider, "GET", list_path, NULL, NULL, &r);
        http_expect_json_ok(&r);
        cr_assert_eq(json_integer_value(json_object_get(r.json, "total")), 0,
                     "another caller's list served");
        http_response_release(&r);
        read_intitule(&insider, s.path, seen, NULL);
    }
    http_pin(-1);
}

Test(read_cache, the_stamp_session_killed_reads_stay_fresh)
{
    struct setup s;
    fiche_of(&s, "pvd-75-19-905", "19005", "211900501", "200043172", "1.1");
    char seen[200], etag[64];
    snprintf(etag, sizeof etag, "%s", s.etag);
    read_intitule(&s.lecteur, s.path, seen, NULL);
    /* Every replica's session reading the stamp killed (a failover, a restart). */
    sql("select pg_terminate_backend(pid, 5000) from pg_stat_activity where "
        "application_name = 'pvd-api-fraicheur' and datname = current_database()",
        NULL);
    for (int i = 0; i < 5; i++) {
        char intitule[64];
        snprintf(intitule, sizeof intitule, "Après reconnexion %d", i);
        http_pin(other_server());
        read_intitule(&s.lecteur, s.path, seen, NULL);
        http_pin(0);
        patch_intitule(&s.admin, s.path, etag, intitule, etag);
        http_pin(other_server());
        read_intitule(&s.lecteur, s.path, seen, NULL);
        cr_assert_str_eq(seen, intitule);
    }
    /* Connected again: the cache serves. */
    bool hit = false;
    for (int i = 0; i < 200 && !hit; i++)
        hit = read_twice_hits(&s.lecteur, s.path);
    cr_assert(hit, "the cache never served again after its stamp session was killed");
    http_pin(-1);
}

#define STALE_DB "pvd_it_prive_staleness"

/* Bounded staleness (READ_CACHE_MAX_STALENESS_MS=400, README "The read cache"). */
Test(read_cache, bounded_staleness_reads_own_writes_and_others_after_the_bound, .timeout = 120)
{
    setenv("READ_CACHE_MAX_STALENESS_MS", "400", 1);
    pid_t server = private_server_start(STALE_DB);
    struct setup s;
    fiche_of(&s, "pvd-75-19-906", "19001", "211900105", "200066645", "1.1");
    char seen[200], etag[64];
    snprintf(etag, sizeof etag, "%s", s.etag);

    /* Reads in a row share a recent reading of the stamp instead of one each. */
    bool reused = false;
    for (int i = 0; i < 20 && !reused; i++) {
        unsigned long long before = fx_metric("pvd_freshness_reused_total");
        for (int k = 0; k < 5; k++)
            read_intitule(&s.lecteur, s.path, seen, NULL);
        reused = fx_metric("pvd_freshness_reused_total") > before;
    }
    cr_assert(reused, "20 series of 5 reads, never a reading of the stamp reused");

    /* This replica's writes: read back by the next request, every time. */
    for (int i = 0; i < 10; i++) {
        char intitule[64];
        snprintf(intitule, sizeof intitule, "Relue sur la même instance %d", i);
        read_intitule(&s.lecteur, s.path, seen, NULL);
        patch_intitule(&s.admin, s.path, etag, intitule, etag);
        read_intitule(&s.lecteur, s.path, seen, NULL);
        cr_assert_str_eq(seen, intitule, "round %d: a write of this replica not read back", i);
    }

    /* A write it did not make (SQL here; another replica alike): read once the bound
     * (400 ms) has passed, whatever was cached before it. */
    for (int i = 0; i < 3; i++) {
        char intitule[64], statement[300];
        snprintf(intitule, sizeof intitule, "Écrit ailleurs %d", i);
        read_intitule(&s.lecteur, s.path, seen, NULL);
        snprintf(statement, sizeof statement,
                 "update fiches_action set intitule = '%s' where id = $1", intitule);
        sql_on(STALE_DB, statement, s.id);
        struct timespec bound = {0, 800 * 1000 * 1000};
        nanosleep(&bound, NULL);
        read_intitule(&s.lecteur, s.path, seen, NULL);
        cr_assert_str_eq(seen, intitule, "round %d: a write made elsewhere not read after 800 ms",
                         i);
    }
    private_server_stop(server, STALE_DB);
}
