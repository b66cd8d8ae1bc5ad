/* Integration tests over HTTP: refusals common to every route (unknown route, method not
 * allowed, HEAD, request bodies, size limit, media type), the X-Request-Id rules and the
 * shape of problem documents. Read-only, parallel-safe.
 *
 * The server runs with the default HTTP_MAX_BODY_BYTES (1 MiB = 1048576 bytes), as
 * tests/run.sh starts it. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/fixtures.h"
#include "../support/http_client.h"

#define MAX_BODY_BYTES 1048576u
#define BIG_BODY_BYTES 2000000u

/* One sample path per route of api/routes.c. */
static const char *const route_samples[] = {"/healthz",
                                            "/readyz",
                                            "/metrics",
                                            "/api/v1/openapi.json",
                                            "/api/v1/regions",
                                            "/api/v1/departements",
                                            "/api/v1/communes",
                                            "/api/v1/communes/69248",
                                            "/api/v1/epci",
                                            "/api/v1/epci/200040566",
                                            NULL};

static bool request_id_chars_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

static char *big_json_body(size_t n)
{
    char *body = malloc(n);
    cr_assert(body != NULL);
    memset(body, ' ', n);
    body[0] = '{';
    body[n - 1] = '}';
    return body;
}

/* ---- routing ------------------------------------------------------------------------- */

Test(erreurs, unknown_route_is_404_route_inconnue)
{
    const char *paths[] = {"/nope",
                           "/api/v1",
                           "/api/v2/communes",
                           "/api/v1/commune/69248",
                           "/api/v1/communes/69248/extra",
                           "/",
                           "/api/v1/laureats",
                           "/api/v1/territoire"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        struct http_response r;
        http_get(paths[i], &r);
        http_expect_problem(&r, 404, "route-inconnue");
        http_response_release(&r);
    }
    struct http_response r;
    http_request("POST", "/nope", NULL, NULL, 0, &r); /* unknown path: 404, not 405 */
    http_expect_problem(&r, 404, "route-inconnue");
    http_response_release(&r);
}

/* The table routes every request (api/routes.h, routes_match): empty segments
 * are skipped as ulfius did, segments compare whole and case-sensitive, a
 * known path with another method (any token) is 405, and a 405 is computed on
 * the same matching as the routing. */
Test(erreurs, routing_matches_whole_segments)
{
    struct http_response plain, odd;
    http_get("/api/v1/communes/69248", &plain);
    cr_assert_eq(plain.status, 200);
    const char *same[] = {"/api/v1//communes/69248", "/api/v1/communes/69248/",
                          "//api/v1/communes//69248//"};
    http_capture_pause(true); /* the contract names the canonical spelling only */
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        http_get(same[i], &odd);
        cr_assert_eq(odd.status, 200, "%s: %ld", same[i], odd.status);
        cr_assert(odd.body_len == plain.body_len && memcmp(odd.body, plain.body, odd.body_len) == 0,
                  "%s: not the commune's body", same[i]);
        http_response_release(&odd);
    }
    http_capture_pause(false);
    http_response_release(&plain);
    const char *unknown[] = {"/API/v1/communes/69248", "/api/v1/communesx/69248",
                             "/api/v1/commune/69248", "/api/v1/communes/69248/x"};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        http_get(unknown[i], &odd);
        http_expect_problem(&odd, 404, "route-inconnue");
        http_response_release(&odd);
    }
    const char *methods[] = {"PROPFIND", "DELETE"};
    for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
        http_request(methods[m], "//api/v1//communes/", NULL, NULL, 0, &odd);
        http_expect_problem(&odd, 405, "methode-non-autorisee");
        cr_assert_str_eq(http_header(&odd, "Allow"), "GET, HEAD");
        http_response_release(&odd);
    }
}

Test(erreurs, other_methods_are_405_with_allow)
{
    const char *methods[] = {"POST", "PUT", "DELETE", "PATCH"};
    for (size_t p = 0; route_samples[p]; p++) {
        for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
            struct http_response r;
            http_request(methods[m], route_samples[p], NULL, NULL, 0, &r);
            http_expect_problem(&r, 405, "methode-non-autorisee");
            const char *allow = http_header(&r, "Allow");
            cr_assert(allow && strcmp(allow, "GET, HEAD") == 0,
                      "%s %s: Allow should be \"GET, HEAD\", is \"%s\"", methods[m],
                      route_samples[p], allow ? allow : "(absent)");
            http_response_release(&r);
        }
    }
}

Test(erreurs, post_with_json_body_on_get_route_is_405)
{
    const char *headers[] = {"Content-Type: application/json", NULL};
    struct http_response r;
    http_request("POST", "/api/v1/communes", headers, "{}", 2, &r);
    http_expect_problem(&r, 405, "methode-non-autorisee");
    cr_assert_str_eq(http_header(&r, "Allow"), "GET, HEAD");
    http_response_release(&r);
}

Test(erreurs, head_is_answered_like_get_without_body)
{
    for (size_t p = 0; route_samples[p]; p++) {
        struct http_response get, head;
        http_get(route_samples[p], &get);
        http_request("HEAD", route_samples[p], NULL, NULL, 0, &head);
        cr_assert_eq(head.status, get.status, "HEAD %s: %ld, GET gave %ld", route_samples[p],
                     head.status, get.status);
        cr_assert_eq(head.status, 200, "HEAD %s: %ld", route_samples[p], head.status);
        cr_assert_eq(head.body_len, 0, "HEAD %s must have no body", route_samples[p]);
        cr_assert(http_header(&head, "X-Request-Id") != NULL, "HEAD %s without X-Request-Id",
                  route_samples[p]);
        cr_assert_str_eq(head.content_type, get.content_type, "HEAD %s: Content-Type",
                         route_samples[p]);
        const char *etag_get = http_header(&get, "ETag");
        const char *etag_head = http_header(&head, "ETag");
        cr_assert((etag_get == NULL) == (etag_head == NULL) &&
                      (etag_get == NULL || strcmp(etag_get, etag_head) == 0),
                  "HEAD %s: ETag should be the GET's", route_samples[p]);
        http_response_release(&get);
        http_response_release(&head);
    }
}

/* ---- request bodies ------------------------------------------------------------------ */

Test(corps, get_with_text_body_is_415)
{
    const char *headers[] = {"Content-Type: text/plain", NULL};
    struct http_response r;
    http_request("GET", "/api/v1/communes/69248", headers, "bonjour", 7, &r);
    http_expect_problem(&r, 415, "type-media-non-supporte");
    http_response_release(&r);
}

Test(corps, get_with_json_body_is_400)
{
    const char *headers[] = {"Content-Type: application/json", NULL};
    struct http_response r;
    http_request("GET", "/api/v1/communes/69248", headers, "{\"a\":1}", 7, &r);
    http_expect_problem(&r, 400, "requete-invalide");
    http_response_release(&r);
    const char *chunked[] = {"Content-Type: application/json", "Transfer-Encoding: chunked", NULL};
    http_request("GET", "/api/v1/communes", chunked, "{\"a\":1}", 7, &r);
    http_expect_problem(&r, 400, "requete-invalide");
    http_response_release(&r);
}

Test(corps, two_megabyte_body_is_413)
{
    char *body = big_json_body(BIG_BODY_BYTES);
    const char *headers[] = {"Content-Type: application/json", "X-Request-Id: gros-corps-413",
                             NULL};
    struct http_response r;
    http_request("POST", "/api/v1/communes", headers, body, BIG_BODY_BYTES, &r);
    http_expect_problem(&r, 413, "corps-trop-volumineux");
    cr_assert_str_eq(http_header(&r, "X-Request-Id"), "gros-corps-413");
    http_response_release(&r);
    http_request("GET", "/api/v1/communes/69248", headers, body, BIG_BODY_BYTES, &r);
    http_expect_problem(&r, 413, "corps-trop-volumineux");
    http_response_release(&r);
    free(body);
}

/* The limit itself is allowed through the gate (then refused: GET takes no body); one byte
 * more is 413. */
Test(corps, limit_is_exact)
{
    char *body = big_json_body(MAX_BODY_BYTES + 1);
    const char *headers[] = {"Content-Type: application/json", NULL};
    struct http_response r;
    http_request("GET", "/api/v1/communes", headers, body, MAX_BODY_BYTES, &r);
    http_expect_problem(&r, 400, "requete-invalide");
    http_response_release(&r);
    http_request("GET", "/api/v1/communes", headers, body, MAX_BODY_BYTES + 1, &r);
    http_expect_problem(&r, 413, "corps-trop-volumineux");
    http_response_release(&r);
    free(body);
}

/* The 413 must be sent on the announced length alone, before any byte of the body. */
Test(corps, too_large_announced_length_is_413_before_the_body, .timeout = 10)
{
    const char *methods[] = {"POST", "GET"};
    for (size_t i = 0; i < 2; i++) {
        char request[512];
        int n = snprintf(request, sizeof request,
                         "%s /api/v1/communes HTTP/1.1\r\n"
                         "Host: 127.0.0.1\r\n"
                         "Content-Type: application/json\r\n"
                         "Content-Length: %u\r\n"
                         "X-Request-Id: brut-413-%s\r\n"
                         "\r\n",
                         methods[i], BIG_BODY_BYTES, methods[i]);
        struct http_response r;
        int rc = http_try_raw(request, (size_t)n, 2000, &r);
        cr_assert(rc == 0,
                  "%s with Content-Length %u and no body: no complete reply within 2 s "
                  "(%s); got: " HTTP_BODY,
                  methods[i], BIG_BODY_BYTES, r.error, r.body);
        cr_assert(r.seconds < 2.0, "413 took %.3f s", r.seconds);
        http_expect_problem(&r, 413, "corps-trop-volumineux");
        char want[64];
        snprintf(want, sizeof want, "brut-413-%s", methods[i]);
        cr_assert_str_eq(http_header(&r, "X-Request-Id"), want);
        http_response_release(&r);
    }
}

Test(corps, chunked_two_megabytes_is_413, .timeout = 30)
{
    char *body = big_json_body(BIG_BODY_BYTES);
    const char *headers[] = {"Content-Type: application/json", "Transfer-Encoding: chunked", NULL};
    struct http_response r;
    http_request("POST", "/api/v1/communes", headers, body, BIG_BODY_BYTES, &r);
    http_expect_problem(&r, 413, "corps-trop-volumineux");
    http_response_release(&r);
    http_request("GET", "/api/v1/communes/69248", headers, body, BIG_BODY_BYTES, &r);
    http_expect_problem(&r, 413, "corps-trop-volumineux");
    http_response_release(&r);
    free(body);
}

/* The service answers every error with problem+json, libmicrohttpd's own included. 414 is
 * documented in x-reponses-generiques (uri-trop-longue). */
/* A request target over 8 KiB gets the gate's 414 problem. */
Test(erreurs, too_long_uri_is_414_problem, .timeout = 10)
{
    size_t q = 20000;
    char *request = malloc(q + 256);
    cr_assert(request != NULL);
    int n = snprintf(request, 64, "GET /api/v1/communes?q=");
    memset(request + n, 'a', q);
    n += (int)q;
    n += snprintf(request + n, 200,
                  " HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-Id: uri-longue\r\n\r\n");
    struct http_response r;
    int rc = http_try_raw(request, (size_t)n, 5000, &r);
    cr_assert(rc == 0 || r.status > 0, "no reply to a 20 kB URI: %s", r.error);
    http_expect_problem(&r, 414, "uri-trop-longue");
    http_response_release(&r);
    free(request);
}

/* Requests that libmicrohttpd itself refuses before any application code runs (a
 * request line larger than its per-connection memory, a header line without a colon)
 * get its own short HTML answer: known limitation, documented in the README (cap such
 * requests at the reverse proxy). The status is right and the service keeps serving. */
static void expect_refused_then_alive(const char *request, size_t len, long status)
{
    struct http_response r;
    http_capture_pause(true);
    int rc = http_try_raw(request, len, 5000, &r);
    http_capture_pause(false);
    cr_assert(rc == 0 || r.status > 0, "no reply: %s", r.error);
    cr_assert_eq(r.status, status, "status %ld, expected %ld", r.status, status);
    http_response_release(&r);
    http_get("/healthz", &r);
    cr_assert_eq(r.status, 200, "the service must keep serving");
    http_response_release(&r);
}

Test(erreurs, huge_uri_refused_by_libmicrohttpd, .timeout = 10)
{
    size_t q = 200000;
    char *request = malloc(q + 256);
    cr_assert(request != NULL);
    int n = snprintf(request, 64, "GET /api/v1/communes?q=");
    memset(request + n, 'a', q);
    n += (int)q;
    n += snprintf(request + n, 200, " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    expect_refused_then_alive(request, (size_t)n, 414);
    free(request);
}

Test(erreurs, malformed_header_refused_by_libmicrohttpd, .timeout = 10)
{
    static const char request[] = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                  "Ligne sans deux-points\r\n\r\n";
    expect_refused_then_alive(request, sizeof request - 1, 400);
}

/* ---- X-Request-Id -------------------------------------------------------------------- */

static void expect_echo(const char *id)
{
    char header[400];
    snprintf(header, sizeof header, "X-Request-Id: %s", id);
    const char *headers[] = {header, NULL};
    struct http_response r;
    http_request("GET", "/healthz", headers, NULL, 0, &r);
    cr_assert_eq(r.status, 200);
    const char *got = http_header(&r, "X-Request-Id");
    cr_assert(got && strcmp(got, id) == 0,
              "X-Request-Id \"%s\" (%zu chars) should be echoed, "
              "got \"%s\"",
              id, strlen(id), got ? got : "(absent)");
    http_response_release(&r);
}

static void expect_replaced(const char *id)
{
    char header[400];
    snprintf(header, sizeof header, "X-Request-Id: %s", id);
    const char *headers[] = {header, NULL};
    struct http_response r;
    http_request("GET", "/api/v1/communes/6924", headers, NULL, 0, &r);
    http_expect_problem(&r, 400, "parametre-invalide");
    const char *got = http_header(&r, "X-Request-Id");
    cr_assert(got && strcmp(got, id) != 0 && request_id_chars_ok(got),
              "invalid X-Request-Id \"%s\" should be replaced by a valid one, got \"%s\"", id,
              got ? got : "(absent)");
    http_response_release(&r);
}

Test(request_id, valid_ids_are_echoed)
{
    expect_echo("abc");
    expect_echo("Req-2026.11_26-0001");
    char id[129];
    memset(id, 'x', 64);
    id[64] = '\0';
    expect_echo(id);
}

/* The contract (components/headers/X-Request-Id): reused when it matches
 * ^[A-Za-z0-9._-]{1,128}$. */
Test(request_id, ids_up_to_128_chars_are_echoed)
{
    char id[129];
    memset(id, 'a', 100);
    id[100] = '\0';
    expect_echo(id);
    memset(id, 'b', 128);
    id[128] = '\0';
    expect_echo(id);
}

Test(request_id, invalid_ids_are_replaced)
{
    char id[201];
    memset(id, 'a', 200);
    id[200] = '\0';
    expect_replaced(id);
    memset(id, 'c', 129);
    id[129] = '\0';
    expect_replaced(id);
    expect_replaced("abc def");
    expect_replaced("a/b");
    expect_replaced("\xc3\xa9t\xc3\xa9");
    expect_replaced("x;y");
}

Test(request_id, created_when_absent_and_unique)
{
    struct http_response a, b;
    http_get("/healthz", &a);
    http_get("/healthz", &b);
    const char *ia = http_header(&a, "X-Request-Id"), *ib = http_header(&b, "X-Request-Id");
    cr_assert(ia && ib && request_id_chars_ok(ia) && request_id_chars_ok(ib));
    cr_assert_str_neq(ia, ib, "two requests got the same generated id");
    http_response_release(&a);
    http_response_release(&b);
}

/* Present on every response, errors included, and equal to the problem's request_id. */
Test(request_id, on_every_response)
{
    const char *paths[] = {"/healthz",
                           "/readyz",
                           "/metrics",
                           "/api/v1/openapi.json",
                           "/api/v1/communes/69248",
                           "/api/v1/communes/6924",
                           "/api/v1/communes/69025",
                           "/api/v1/communes?limite=0",
                           "/api/v1/communes?curseur=abc",
                           "/nope",
                           NULL};
    const char *headers[] = {"X-Request-Id: partout-42", NULL};
    for (size_t i = 0; paths[i]; i++) {
        struct http_response r;
        http_request("GET", paths[i], headers, NULL, 0, &r);
        const char *got = http_header(&r, "X-Request-Id");
        cr_assert(got && strcmp(got, "partout-42") == 0, "GET %s (%ld): X-Request-Id \"%s\"",
                  paths[i], r.status, got ? got : "(absent)");
        if (r.status >= 400) {
            const char *rid = json_string_value(json_object_get(r.json, "request_id"));
            cr_assert(rid && strcmp(rid, "partout-42") == 0, "GET %s: request_id: " HTTP_BODY,
                      paths[i], r.body);
        }
        http_response_release(&r);
    }
    struct http_response r;
    http_request("DELETE", "/api/v1/regions", headers, NULL, 0, &r);
    cr_assert_str_eq(http_header(&r, "X-Request-Id"), "partout-42");
    http_response_release(&r);
    http_request("HEAD", "/api/v1/regions", headers, NULL, 0, &r);
    cr_assert_str_eq(http_header(&r, "X-Request-Id"), "partout-42");
    http_response_release(&r);
}

/* ---- problem documents --------------------------------------------------------------- */

/* Each problem carries the fixed title of its code (table of the API description). */
Test(problemes, titles_are_fixed_by_code)
{
    struct {
        const char *method, *path;
        long status;
        const char *code, *title;
    } cases[] = {
        {"GET", "/nope", 404, "route-inconnue", "Route inconnue"},
        {"DELETE", "/api/v1/communes", 405, "methode-non-autorisee", "Méthode non autorisée"},
        {"GET", "/api/v1/communes?limite=0", 400, "parametre-invalide", "Paramètre invalide"},
        {"GET", "/api/v1/communes?curseur=abc", 400, "curseur-invalide",
         "Curseur de pagination invalide"},
        {"GET", "/api/v1/epci/200033652", 404, "ressource-introuvable", "Ressource introuvable"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct http_response r;
        http_request(cases[i].method, cases[i].path, NULL, NULL, 0, &r);
        http_expect_problem(&r, cases[i].status, cases[i].code);
        const char *title = json_string_value(json_object_get(r.json, "title"));
        cr_assert(title && strcmp(title, cases[i].title) == 0, "%s %s: title \"%s\"",
                  cases[i].method, cases[i].path, title ? title : "(absent)");
        const char *type = json_string_value(json_object_get(r.json, "type"));
        cr_assert(type && strncmp(type, "https://", 8) == 0, "type should be an absolute URI");
        http_response_release(&r);
    }
}

/* Client bytes that are not UTF-8 (or cut inside a character) must not corrupt the French
 * text around them: the message about the parameter keeps its accents; a name that is not
 * UTF-8 is shown as the client wrote it (percent-encoded). */
Test(problemes, french_text_survives_bad_client_bytes)
{
    char long_name[400];
    int n = snprintf(long_name, sizeof long_name, "/api/v1/regions?a");
    for (int i = 0; i < 40; i++)
        n += snprintf(long_name + n, sizeof long_name - (size_t)n, "%%C3%%A9");
    snprintf(long_name + n, sizeof long_name - (size_t)n, "=1");
    const char *paths[] = {"/api/v1/regions?%C3%28=1", long_name};
    const char *codes[] = {"caractere-invalide", "parametre-inconnu"};
    const char *words[] = {"paramètre « %C3%28 » n'est pas du texte UTF-8", "Paramètre « aé"};
    for (size_t i = 0; i < 2; i++) {
        struct http_response r;
        http_get(paths[i], &r);
        http_expect_problem(&r, 400, "parametre-invalide");
        json_t *item = json_array_get(json_object_get(r.json, "erreurs"), 0);
        const char *code = json_string_value(json_object_get(item, "code"));
        const char *message = json_string_value(json_object_get(item, "message"));
        cr_assert(code && strcmp(code, codes[i]) == 0, HTTP_BODY, r.body);
        cr_assert(message && strstr(message, words[i]),
                  "GET %s: message should contain \"%s\": " HTTP_BODY, paths[i], words[i], r.body);
        http_response_release(&r);
    }
}

/* ---- parameters that are not clean text (issue #8) ----------------------------------- */

/* Every path and query parameter, decoded, is UTF-8 without NUL or control character:
 * otherwise 400 parametre-invalide naming it (code caractere-invalide), before any handler
 * reads it: never a 5xx (PostgreSQL refuses such text, SQLSTATE 22021), never a value cut at
 * a NUL. The first five are the findings of the issue. */
Test(parametres, bytes_that_are_not_clean_text_are_400_naming_the_parameter)
{
    static const struct {
        const char *method, *path, *pointer;
    } cases[] = {
        {"GET", "/api/v1/territoires/%c0%af/axes-strategiques", "/id_pvd"},
        {"GET", "/api/v1/habilitations?issuer=%c0%af", "/issuer"},
        {"GET", "/api/v1/comites?id_pvd=%c0%af", "/id_pvd"},
        {"GET", "/api/v1/journal?acteur=%c0%af", "/acteur"},
        {"GET", "/api/v1/territoires?departement=58%00zz", "/departement"},
        {"GET", "/api/v1/journal?ressource_id=%ed%a0%80", "/ressource_id"}, /* surrogate */
        {"GET", "/api/v1/journal?ressource_type=convention%e2%82", "/ressource_type"}, /* cut */
        {"GET", "/api/v1/organisations?nature=%f4%90%80%80", "/nature"}, /* > U+10FFFF */
        {"GET", "/api/v1/communes?q=saint%0adenis", "/q"},               /* line feed */
        {"GET", "/api/v1/communes?q=saint%09denis", "/q"},               /* tab */
        {"GET", "/api/v1/communes?q=saint%c2%85denis", "/q"},            /* C1 control */
        {"GET", "/api/v1/communes?q=100%25%zz", "/q"},                   /* bad escape */
        {"GET", "/api/v1/communes/69%00248", "/code_insee"},
        {"GET", "/api/v1/epci/%ff", "/siren"},
        {"GET", "/api/v1/conventions/%c0%af/versions/1", "/id"},
        {"GET", "/api/v1/conventions/00000000-0000-0000-0000-000000000000/versions/1%00",
         "/numero"},
        {"GET", "/api/v1/habilitations/%c0%af", "/id"},
        {"GET", "/api/v1/axes-strategiques/%80/indicateurs", "/id"},
        {"POST", "/api/v1/territoires/%c0%af/axes-strategiques", "/id_pvd"},
        {"PATCH", "/api/v1/comites/%00", "/id"},
        {"DELETE", "/api/v1/indicateurs/%c0%af", "/id"},
    };
    struct fx_caller admin;
    fx_admin(&admin);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct http_response r;
        bool body = strcmp(cases[i].method, "POST") == 0 || strcmp(cases[i].method, "PATCH") == 0;
        fx_call(&admin, cases[i].method, cases[i].path, body ? "{}" : NULL,
                strcmp(cases[i].method, "GET") == 0 ? NULL : "If-Match: *", &r);
        cr_assert_eq(r.status, 400, "%s %s: %ld " HTTP_BODY, cases[i].method, cases[i].path,
                     r.status, r.body);
        http_expect_param_error(&r, cases[i].pointer, "caractere-invalide");
        cr_assert_null(http_header(&r, "Retry-After"), "%s", cases[i].path);
        http_response_release(&r);
    }
}

/* A parameter name that is not clean text is named as the client wrote it. */
Test(parametres, bad_parameter_name_is_shown_as_written)
{
    struct http_response r;
    http_get("/api/v1/communes?%c0%af=1&a%00b=2", &r);
    http_expect_param_error(&r, "/%c0%af", "caractere-invalide");
    http_expect_param_error(&r, "/a%00b", "caractere-invalide");
    http_response_release(&r);
}

/* Clean text passes: '+' is a space in a query, UTF-8 letters are kept. */
Test(parametres, clean_text_passes)
{
    struct http_response r;
    http_get("/api/v1/communes?q=saint+%C3%A9tienne&limite=1", &r);
    http_expect_json_ok(&r);
    cr_assert_gt(json_integer_value(json_object_get(r.json, "total")), 0, HTTP_BODY, r.body);
    http_response_release(&r);
}

/* ulfius puts path and query parameters in one map: a query parameter named like a path
 * parameter is refused (parametre-inconnu), and the handler reads the path. */
Test(parametres, query_parameter_never_shadows_a_path_parameter)
{
    struct fx_caller admin;
    struct http_response r;
    fx_admin(&admin);
    fx_territoire("pvd-27-70-950", "70001", "200041861");
    fx_call(&admin, "GET", "/api/v1/territoires/pvd-27-70-950/axes-strategiques", NULL, NULL, &r);
    http_expect_json_ok(&r);
    http_response_release(&r);
    static const char *const paths[] = {
        "/api/v1/territoires/pvd-27-70-950/axes-strategiques?id_pvd=pvd-27-70-950",
        "/api/v1/territoires/pvd-27-70-950/axes-strategiques?id_pvd=pvd-27-39-901",
        "/api/v1/territoires/pvd-27-70-950?id_pvd=pvd-27-70-950",
        "/api/v1/communes/69248?code_insee=69248",
    };
    static const char *const pointers[] = {"/id_pvd", "/id_pvd", "/id_pvd", "/code_insee"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        fx_call(&admin, "GET", paths[i], NULL, NULL, &r);
        cr_assert_eq(r.status, 400, "%s: %ld " HTTP_BODY, paths[i], r.status, r.body);
        http_expect_param_error(&r, pointers[i], "parametre-inconnu");
        http_response_release(&r);
    }
    fx_call(&admin, "POST",
            "/api/v1/territoires/pvd-27-70-950/axes-strategiques?id_pvd=pvd-27-39-901",
            "{\"numero\":1,\"intitule\":\"Centre\",\"enjeux\":\"Vacance\"}", NULL, &r);
    http_expect_param_error(&r, "/id_pvd", "parametre-inconnu");
    http_response_release(&r);
    fx_call(&admin, "GET", "/api/v1/territoires/pvd-27-70-950/axes-strategiques", NULL, NULL, &r);
    http_expect_json_ok(&r);
    cr_assert_eq(json_array_size(json_object_get(r.json, "elements")), 0, "nothing written");
    http_response_release(&r);
}
