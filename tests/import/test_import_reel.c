/* The reference case of the bulk import (issue 4 §1): the ANCT's working list
 * tests/data/laureats-pvd-2021.csv (1,607 lines, see its README) imported into
 * its OWN database and server (tests/run.sh import_suite: it claims ~1,000
 * real communes). Steps, in sequence in one test: dry run (every line created
 * or refused with its reason, nothing written), appliquer=true without
 * partiel (422 with the report, nothing written), appliquer=true&partiel=true
 * (the accepted territoires written, one journal row each, in less than
 * 5 s), then the same file again (everything inchange, no journal row).
 * A second test measures the server's memory around 1 MB imports.
 *
 * Environment: PVD_TEST_BASE_URL, PVD_TEST_DATABASE_URL (the server's
 * database), PVD_TEST_LAUREATS_CSV (default tests/data/laureats-pvd-2021.csv),
 * PVD_TEST_SERVER_PID (the server's process, for /proc/<pid>/status). */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/http_client.h"
#include "../support/tokens.h"

#define LINES 1607

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    cr_assert_not_null(buf);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

static void import(const char *auth, const char *query, const char *csv, size_t len,
                   struct http_response *r)
{
    char path[120];
    snprintf(path, sizeof path, "/api/v1/territoires/import%s", query);
    const char *headers[] = {auth, "Content-Type: text/csv", NULL};
    http_request("POST", path, headers, csv, len, r);
}

static long total(const json_t *report, const char *group, const char *name)
{
    return (long)json_integer_value(json_object_get(json_object_get(report, group), name));
}

static long journal_rows(const char *action)
{
    const char *url = getenv("PVD_TEST_DATABASE_URL");
    cr_assert(url, "PVD_TEST_DATABASE_URL must be set");
    PGconn *db = PQconnectdb(url);
    cr_assert_eq(PQstatus(db), CONNECTION_OK, "%s", PQerrorMessage(db));
    const char *params[1] = {action};
    PGresult *res = PQexecParams(db, "SELECT count(*) FROM journal WHERE action = $1", 1, NULL,
                                 params, NULL, NULL, 0);
    cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s", PQerrorMessage(db));
    long n = atol(PQgetvalue(res, 0, 0));
    PQclear(res);
    PQfinish(db);
    return n;
}

static size_t stored_territoires(void)
{
    struct http_response r;
    http_get("/api/v1/territoires?limite=1", &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    size_t n = json_array_size(json_object_get(r.json, "elements"));
    http_response_release(&r);
    return n;
}

/* Every line is reported once, created or refused with a code and a reason. */
/* R2: the four lauréats above 20,000 inhabitants (Challans, L'Isle-sur-la-
 * Sorgue, Le Moule, Sainte-Anne) are created with a warning, never refused. */
static void check_every_line(const json_t *report, long *created, long *missing_id)
{
    json_t *lines = json_object_get(report, "lignes");
    cr_assert_eq(json_array_size(lines), LINES);
    *created = *missing_id = 0;
    size_t i, warned = 0;
    json_t *l;
    bool test_row = false;
    json_array_foreach(lines, i, l)
    {
        const char *res = json_string_value(json_object_get(l, "resultat"));
        json_t *w = json_array_get(json_object_get(l, "avertissements"), 0);
        if (w) {
            cr_assert_str_eq(json_string_value(json_object_get(w, "regle")), "R2");
            cr_assert_str_eq(res, "cree", "R2 never refuses");
            warned++;
        }
        if (strcmp(res, "cree") == 0) {
            (*created)++;
            cr_assert(json_is_null(json_object_get(l, "code")) || !json_object_get(l, "code"));
            continue;
        }
        cr_assert_str_eq(res, "refuse", "line %zu: %s", i, res);
        const char *code = json_string_value(json_object_get(l, "code"));
        const char *motif = json_string_value(json_object_get(l, "motif"));
        cr_assert(code && code[0] && motif && motif[0], "line %zu refused without reason", i);
        if (strcmp(code, "id-pvd-manquant") == 0)
            (*missing_id)++;
        if (strcmp(json_string_value(json_object_get(l, "insee_com")), "999999") == 0) {
            cr_assert_str_eq(code, "insee-com-invalide");
            test_row = true;
        }
    }
    cr_assert(test_row, "the test row 999999 is reported");
    cr_assert_eq(warned, 4, "the four lauréats above 20,000 inhabitants are warned");
}

Test(import_reel, laureats_2021_created_or_refused_then_reimport_changes_nothing, .timeout = 300)
{
    const char *path = getenv("PVD_TEST_LAUREATS_CSV");
    size_t len;
    char *csv = read_file(path && *path ? path : "tests/data/laureats-pvd-2021.csv", &len);
    char *token = token_for("admin-initial");
    char auth[4400];
    token_header(auth, sizeof auth, token);
    free(token);
    struct http_response r;
    long created, missing, created_dry;

    /* Dry run: every line created or refused, nothing written. */
    import(auth, "", csv, len, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert(json_is_false(json_object_get(r.json, "applique")));
    check_every_line(r.json, &created_dry, &missing);
    cr_assert_eq(missing, 585, "585 lines without id_pvd");
    /* Refused: the 585 lines without id_pvd and the test row 999999, nothing
     * else (issue 8 §3: the three territoires of two départements are
     * accepted); 874 territoires (875 distinct ids, less the test row's). */
    cr_assert_eq(total(r.json, "lignes_totaux", "refuse"), 586, HTTP_BODY, r.body);
    cr_assert_eq(created_dry, LINES - 586);
    cr_assert_eq(total(r.json, "territoires_totaux", "cree"), 874);
    cr_assert_gt(created_dry, 900, "most designated communes are created");
    cr_assert_eq(total(r.json, "lignes_totaux", "cree") + total(r.json, "lignes_totaux", "refuse"),
                 LINES);
    long territoires = total(r.json, "territoires_totaux", "cree");
    /* The reasons of the refusals, for the report. */
    json_t *codes = json_object();
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(r.json, "lignes"), i, l)
    {
        const char *code = json_string_value(json_object_get(l, "code"));
        if (code)
            json_object_set_new(codes, code,
                                json_integer(json_integer_value(json_object_get(codes, code)) + 1));
    }
    char *text = json_dumps(codes, JSON_COMPACT | JSON_SORT_KEYS);
    fprintf(stderr, "import réel : refus par code %s\n", text);
    free(text);
    json_decref(codes);
    fprintf(stderr,
            "import réel (essai) : %ld lignes créées, %ld refusées, %ld territoires, %.2f s\n",
            created_dry, total(r.json, "lignes_totaux", "refuse"), territoires, r.seconds);
    http_response_release(&r);
    cr_assert_eq(stored_territoires(), 0, "a dry run writes nothing");

    /* appliquer without partiel: lines are refused, so nothing is written. */
    import(auth, "?appliquer=true", csv, len, &r);
    cr_assert_eq(r.status, 422, HTTP_BODY, r.body);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "code")), "regle-non-respectee");
    json_t *rapport = json_object_get(r.json, "rapport");
    cr_assert_eq(json_array_size(json_object_get(rapport, "lignes")), LINES);
    http_response_release(&r);
    cr_assert_eq(stored_territoires(), 0, "refused: nothing written");
    cr_assert_eq(journal_rows("territoire.creer"), 0);

    /* appliquer + partiel: the accepted territoires, one journal row each. */
    import(auth, "?appliquer=true&partiel=true", csv, len, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert(json_is_true(json_object_get(r.json, "applique")));
    check_every_line(r.json, &created, &missing);
    cr_assert_eq(created, created_dry, "the dry run announced what was done");
    cr_assert_eq(total(r.json, "territoires_totaux", "cree"), territoires);
    fprintf(stderr, "import réel (appliqué) : %ld territoires créés en %.2f s\n", territoires,
            r.seconds);
    cr_log_info("import réel : %ld territoires créés en %.2f s", territoires, r.seconds);
    cr_assert_lt(r.seconds, 5.0, "the real file applied in %.2f s", r.seconds);
    http_response_release(&r);
    cr_assert_eq(journal_rows("territoire.creer"), territoires);

    /* The three territoires of two départements, each scoped to both. */
    static const char *const two[][3] = {{"pvd-84-3873-9", "38", "73"},
                                         {"pvd-44-5455-1", "54", "55"},
                                         {"pvd-75-1923-9", "19", "23"}};
    for (size_t k = 0; k < 3; k++) {
        char p[80];
        snprintf(p, sizeof p, "/api/v1/territoires/%s", two[k][0]);
        http_get(p, &r);
        cr_assert_eq(r.status, 200, "%s: " HTTP_BODY, two[k][0], r.body);
        json_t *d = json_object_get(r.json, "departements");
        cr_assert_eq(json_array_size(d), 2, HTTP_BODY, r.body);
        cr_assert_str_eq(json_string_value(json_array_get(d, 0)), two[k][1], HTTP_BODY, r.body);
        cr_assert_str_eq(json_string_value(json_array_get(d, 1)), two[k][2], HTTP_BODY, r.body);
        cr_assert_eq(json_array_size(json_object_get(r.json, "communes")), 2);
        http_response_release(&r);
    }

    http_get("/api/v1/territoires/pvd-11-78-1", &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "etat")), "designe");
    cr_assert_str_eq(json_string_value(json_object_get(
                         json_array_get(json_object_get(r.json, "communes"), 0), "code_insee")),
                     "78003");
    http_response_release(&r);

    /* The same file again: nothing created or changed, no journal row. */
    import(auth, "?appliquer=true&partiel=true", csv, len, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_eq(total(r.json, "lignes_totaux", "cree"), 0, HTTP_BODY, r.body);
    cr_assert_eq(total(r.json, "lignes_totaux", "modifie"), 0);
    cr_assert_eq(total(r.json, "lignes_totaux", "inchange"), created);
    cr_assert(json_is_false(json_object_get(r.json, "applique")), "nothing to write");
    fprintf(stderr, "import réel (réimport) : %ld lignes inchangées en %.2f s\n", created,
            r.seconds);
    http_response_release(&r);
    cr_assert_eq(journal_rows("territoire.creer"), territoires);
    cr_assert_eq(journal_rows("territoire.modifier"), 0);
    free(csv);
}

/* ---- memory of the import (issue 8 §1) ------------------------------------ */

/* VmRSS and VmHWM of the server, in kB, from /proc/<PVD_TEST_SERVER_PID>/status. */
static void server_memory(long *rss_kb, long *hwm_kb)
{
    const char *pid = getenv("PVD_TEST_SERVER_PID");
    cr_assert(pid && *pid, "PVD_TEST_SERVER_PID must be set (tests/run.sh import_suite)");
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%s/status", pid);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "cannot open %s", path);
    *rss_kb = *hwm_kb = -1;
    while (fgets(line, sizeof line, f)) {
        sscanf(line, "VmRSS: %ld kB", rss_kb);
        sscanf(line, "VmHWM: %ld kB", hwm_kb);
    }
    fclose(f);
    cr_assert(*rss_kb > 0 && *hwm_kb > 0, "VmRSS/VmHWM not found in %s", path);
}

/* Resets the server's VmHWM to its current RSS (Linux clear_refs, value 5). */
static void server_reset_peak(void)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%s/clear_refs", getenv("PVD_TEST_SERVER_PID"));
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot open %s", path);
    cr_assert_eq(fputs("5", f) >= 0 && fclose(f) == 0, true, "cannot reset VmHWM");
}

#define MB_FILE 1000000

/* A lauréats file of at most 1,000,000 bytes (1 MB): the real file's data
 * lines repeated, each copy renumbering its id_pvd so that every copy forms
 * territoires of its own (the copies' communes are refused as duplicates, the
 * first copy's are accepted): many lines, many territoires, many reasons. */
static char *big_csv(const char *real, size_t *len)
{
    char *out = malloc(MB_FILE + 1);
    cr_assert_not_null(out);
    const char *body = strchr(real, '\n') + 1;
    size_t n = (size_t)(body - real);
    memcpy(out, real, n);
    for (int copy = 0;; copy++) {
        for (const char *p = body; *p;) {
            const char *eol = strchr(p, '\n');
            size_t linelen = eol ? (size_t)(eol - p) : strlen(p);
            char line[400];
            cr_assert_lt(linelen, 300);
            const char *semi = memchr(p, ';', linelen);
            const char *dash = NULL;
            for (const char *q = p; q < semi; q++)
                if (*q == '-')
                    dash = q;
            int k;
            if (dash && semi - dash > 1 && semi - dash < 6)
                k = snprintf(line, sizeof line, "%.*s%d%.*s\n", (int)(dash + 1 - p), p,
                             atoi(dash + 1) + 100 * copy, (int)(p + linelen - semi), semi);
            else
                k = snprintf(line, sizeof line, "%.*s\n", (int)linelen, p);
            if (n + (size_t)k > MB_FILE) {
                out[n] = '\0';
                *len = n;
                return out;
            }
            memcpy(out + n, line, (size_t)k);
            n += (size_t)k;
            p = eol ? eol + 1 : p + linelen;
        }
    }
}

struct concurrent_import {
    const char *auth;
    const char *csv;
    size_t len;
    long status;
};

static void *import_thread(void *arg)
{
    struct concurrent_import *c = arg;
    const char *headers[] = {c->auth, "Content-Type: text/csv", NULL};
    struct http_response r;
    c->status = http_try_request("POST", "/api/v1/territoires/import", headers, c->csv, c->len,
                                 120000, &r) == 0
                    ? r.status
                    : -1;
    http_response_release(&r);
    return NULL;
}

/* A 1 MB file costs memory proportional to its size while it is imported,
 * and gives it back (issue 8 §1; before: +53 MB at the peak of one import,
 * +84 MB kept after 6 concurrent ones).
 * - One import peaks < 25 MB above the idle server: its body (1 MB, and the
 *   copy ulfius makes), the parsed rows (~300 bytes each with their
 *   strings, 13,500 rows: ~4 MB), the verdicts (~50 bytes a line) and the
 *   report text (~3 MB, copied once into the response) make ~10 MB; a JSON
 *   tree of the report or per-territoire buffers (the old code) exceed it.
 * - 6 concurrent imports leave the resident memory < 30 MB above where it
 *   was: what glibc may keep in the per-thread arenas of the HTTP workers
 *   (freed, not returned), with room for the noise of other requests; a
 *   leak or a kept report per request (≥ 5 MB each) exceeds it. */
Test(import_reel, memory_of_a_1mb_import_is_bounded_and_returned, .timeout = 300)
{
    const char *path = getenv("PVD_TEST_LAUREATS_CSV");
    size_t real_len, len;
    char *real = read_file(path && *path ? path : "tests/data/laureats-pvd-2021.csv", &real_len);
    char *csv = big_csv(real, &len);
    free(real);
    cr_assert_gt(len, 990000, "a file of about 1 MB (%zu bytes)", len);
    char *token = token_for("admin-initial");
    char auth[4400];
    token_header(auth, sizeof auth, token);
    free(token);
    long rss0, hwm0, rss1, hwm1, rss2, hwm2;
    struct http_response r;

    /* A warm-up request: the first one also loads lazily what every later one uses. */
    const char *tiny = "id_pvd;insee_com\npvd-11-78-1;78003\n";
    import(auth, "", tiny, strlen(tiny), &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    http_response_release(&r);

    server_memory(&rss0, &hwm0);
    server_reset_peak();
    import(auth, "", csv, len, &r);
    cr_assert_eq(r.status, 200, "%.300s", r.body);
    size_t lines = json_array_size(json_object_get(r.json, "lignes"));
    cr_assert_gt(lines, 8000, "every line reported (%zu)", lines);
    http_response_release(&r);
    server_memory(&rss1, &hwm1);

    struct concurrent_import c[6];
    pthread_t threads[6];
    server_reset_peak();
    for (int i = 0; i < 6; i++) {
        c[i] = (struct concurrent_import){auth, csv, len, 0};
        cr_assert_eq(pthread_create(&threads[i], NULL, import_thread, &c[i]), 0);
    }
    for (int i = 0; i < 6; i++) {
        pthread_join(threads[i], NULL);
        cr_assert_eq(c[i].status, 200, "concurrent import %d: %ld", i, c[i].status);
    }
    server_memory(&rss2, &hwm2);
    free(csv);

    double mb = 1024.0;
    fprintf(stderr,
            "import peak RSS: %.1f MB (VmHWM) for one %zu-byte file (%zu lines), %.1f MB during 6 "
            "concurrent ones; RSS before %.1f MB; growth after one: %.1f MB, after 6 concurrent "
            "1 MB imports: %.1f MB\n",
            hwm1 / mb, len, lines, hwm2 / mb, rss0 / mb, (rss1 - rss0) / mb, (rss2 - rss0) / mb);
    cr_assert_lt(hwm1 - rss0, 25 * 1024, "one 1 MB import peaks %.1f MB above the idle server",
                 (hwm1 - rss0) / mb);
    cr_assert_lt(rss2 - rss0, 30 * 1024, "6 concurrent 1 MB imports left the server %.1f MB larger",
                 (rss2 - rss0) / mb);
}
