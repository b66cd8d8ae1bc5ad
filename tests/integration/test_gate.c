/* Integration tests of the server's entry gate (api/server.c) added by issue #8: the
 * per-route body limit (body_limit_for: the lauréats import takes PVD_IMPORT_MAX_BYTES,
 * 5 MiB by default, every other route HTTP_MAX_BODY_BYTES, 1 MiB) and the 501 answer to a
 * Transfer-Encoding other than chunked. Read-only (nothing is authenticated, nothing is
 * written), parallel-safe. The server runs with the defaults (tests/run.sh api_suite). */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/http_client.h"

#define IMPORT_PATH      "/api/v1/territoires/import"
#define IMPORT_MAX_BYTES (5u * 1024 * 1024)
#define TWO_MIB          (2u * 1024 * 1024)
#define SIX_MIB          (6u * 1024 * 1024)

/* A CSV body of exactly size bytes: a header line, then lines of padding. */
static char *csv_body(size_t size)
{
    char *body = malloc(size + 1);
    cr_assert(body != NULL);
    static const char head[] = "id_pvd;insee_com\n";
    memcpy(body, head, sizeof head - 1);
    for (size_t i = sizeof head - 1; i < size; i++)
        body[i] = (i % 64 == 63) ? '\n' : 'x';
    body[size] = '\0';
    return body;
}

/* 2 MiB to the import passes the gate (over HTTP_MAX_BODY_BYTES, under the import's own
 * limit): the request reaches the route, which asks for authentication. */
Test(gate, import_takes_two_mebibytes, .timeout = 60)
{
    char *body = csv_body(TWO_MIB);
    const char *headers[] = {"Content-Type: text/csv", NULL};
    struct http_response r;
    http_request("POST", IMPORT_PATH, headers, body, TWO_MIB, &r);
    cr_assert_neq(r.status, 413, "a 2 MiB import was refused by the 1 MiB global limit");
    http_expect_problem(&r, 401, "non-authentifie");
    http_response_release(&r);
    const char *chunked[] = {"Content-Type: text/csv", "Transfer-Encoding: chunked", NULL};
    http_request("POST", IMPORT_PATH, chunked, body, TWO_MIB, &r);
    cr_assert_neq(r.status, 413, "a chunked 2 MiB import was refused by the global limit");
    http_expect_problem(&r, 401, "non-authentifie");
    http_response_release(&r);
    free(body);
}

/* Over the import's limit: 413 on the announced length alone, before any byte of the
 * body; chunked, 413 once past the limit. The detail names the import's limit. */
Test(gate, import_over_its_limit_is_413_before_the_body, .timeout = 60)
{
    char request[512];
    int n = snprintf(request, sizeof request,
                     "POST " IMPORT_PATH " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Content-Type: text/csv\r\nContent-Length: %u\r\n\r\n",
                     SIX_MIB);
    struct http_response r;
    int rc = http_try_raw(request, (size_t)n, 2000, &r);
    cr_assert(rc == 0, "6 MiB announced to the import, no body: no reply within 2 s (%s)", r.error);
    http_expect_problem(&r, 413, "corps-trop-volumineux");
    const char *detail = json_string_value(json_object_get(r.json, "detail"));
    cr_assert(detail && strstr(detail, "5242880"), "detail: %s", detail ? detail : "(none)");
    http_response_release(&r);

    char *body = csv_body(SIX_MIB);
    const char *chunked[] = {"Content-Type: text/csv", "Transfer-Encoding: chunked", NULL};
    http_request("POST", IMPORT_PATH, chunked, body, SIX_MIB, &r);
    http_expect_problem(&r, 413, "corps-trop-volumineux");
    http_response_release(&r);
    /* The limit itself passes the gate. */
    const char *headers[] = {"Content-Type: text/csv", NULL};
    http_request("POST", IMPORT_PATH, headers, body, IMPORT_MAX_BYTES, &r);
    http_expect_problem(&r, 401, "non-authentifie");
    http_response_release(&r);
    free(body);
}

/* Elsewhere the global limit holds: 2 MiB of JSON to another write route, or to the
 * import's path with another method, is 413. */
Test(gate, two_mebibytes_elsewhere_is_413, .timeout = 60)
{
    char *body = malloc(TWO_MIB);
    cr_assert(body != NULL);
    memset(body, ' ', TWO_MIB);
    body[0] = '{';
    body[TWO_MIB - 1] = '}';
    const char *headers[] = {"Content-Type: application/json", NULL};
    static const char *const targets[][2] = {{"POST", "/api/v1/territoires"},
                                             {"POST", "/api/v1/organisations"},
                                             {"PUT", IMPORT_PATH},
                                             {"POST", IMPORT_PATH "/x"}};
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        struct http_response r;
        http_request(targets[i][0], targets[i][1], headers, body, TWO_MIB, &r);
        cr_assert_eq(r.status, 413, "%s %s with 2 MiB: %ld", targets[i][0], targets[i][1],
                     r.status);
        http_expect_problem(&r, 413, "corps-trop-volumineux");
        http_response_release(&r);
    }
    free(body);
}

/* libmicrohttpd decodes only chunked: with another Transfer-Encoding it waited for the
 * client to close (a 15 s hang); the gate answers 501 at once. */
Test(gate, unknown_transfer_encoding_is_501_at_once, .timeout = 30)
{
    static const char *const codings[] = {"gzip", "gzip, chunked", "chunked, gzip", "identity"};
    for (size_t i = 0; i < sizeof codings / sizeof codings[0]; i++) {
        char request[512];
        int n = snprintf(request, sizeof request,
                         "POST /api/v1/organisations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         "Content-Type: application/json\r\nTransfer-Encoding: %s\r\n"
                         "X-Request-Id: te-inconnu-%zu\r\n\r\n",
                         codings[i], i);
        struct http_response r;
        int rc = http_try_raw(request, (size_t)n, 3000, &r);
        cr_assert(rc == 0, "Transfer-Encoding: %s: no complete reply within 3 s (%s)", codings[i],
                  r.error);
        cr_assert(r.seconds < 2.0, "Transfer-Encoding: %s: 501 took %.3f s", codings[i], r.seconds);
        http_expect_problem(&r, 501, "encodage-transfert-non-supporte");
        char want[32];
        snprintf(want, sizeof want, "te-inconnu-%zu", i);
        cr_assert_str_eq(http_header(&r, "X-Request-Id"), want);
        http_response_release(&r);
    }
    /* chunked, in any case, is still decoded. */
    const char *headers[] = {"Content-Type: application/json", "Transfer-Encoding: CHUNKED", NULL};
    struct http_response r;
    http_request("GET", "/api/v1/communes", headers, "{\"a\":1}", 7, &r);
    http_expect_problem(&r, 400, "requete-invalide");
    http_response_release(&r);
}
