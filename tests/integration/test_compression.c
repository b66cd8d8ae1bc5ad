/* gzip of JSON answers and the ETags of the two variants (issue 11 §4), over HTTP:
 * the gzip answer is the identity answer compressed, byte for byte; small answers, other
 * types and refused codings stay identity; Vary: Accept-Encoding on every JSON answer; the
 * gzip variant's strong ETag differs ("…-gzip") and is accepted back by If-None-Match (304)
 * and by If-Match on a PATCH. The test client sends Accept-Encoding itself and never decodes
 * (libcurl decodes only with CURLOPT_ACCEPT_ENCODING, which it does not set), so the bytes
 * checked are the ones the service sent. gzip bodies are left out of the contract capture
 * (the validator reads JSON bodies). Territoires: département 65 only. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../support/fixtures.h"
#include "../support/http_client.h"

#define GZIP "Accept-Encoding: gzip"

/* GET or HEAD path with up to two extra headers (NULL: none), capture paused when the
 * answer may be gzip. */
static void get(const char *method, const char *path, const char *h1, const char *h2,
                struct http_response *r)
{
    const char *headers[3] = {h1, h1 ? h2 : NULL, NULL};
    bool may_be_gzip =
        (h1 && strstr(h1, "Accept-Encoding")) || (h2 && strstr(h2, "Accept-Encoding"));
    http_capture_pause(may_be_gzip);
    http_request(method, path, headers, NULL, 0, r);
    http_capture_pause(false);
}

/* The gunzipped body of r (owned: free), its length in *len; asserts a valid gzip member
 * that ends exactly where the body ends. */
static char *gunzip(const struct http_response *r, size_t *len)
{
    cr_assert_geq(r->body_len, 18, "not a gzip member: %zu bytes", r->body_len);
    cr_assert(r->body[0] == '\x1f' && r->body[1] == '\x8b', "no gzip magic number");
    size_t cap = r->body_len * 40 + 1024;
    char *out = malloc(cap);
    cr_assert_not_null(out);
    z_stream z;
    memset(&z, 0, sizeof z);
    cr_assert_eq(inflateInit2(&z, 15 + 16), Z_OK);
    z.next_in = (Bytef *)r->body;
    z.avail_in = (uInt)r->body_len;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)cap;
    cr_assert_eq(inflate(&z, Z_FINISH), Z_STREAM_END);
    cr_assert_eq(z.avail_in, 0, "bytes after the gzip member");
    *len = z.total_out;
    inflateEnd(&z);
    return out;
}

/* Asserts the Vary header lists Accept-Encoding. */
static void expect_vary(const struct http_response *r)
{
    const char *vary = http_header(r, "Vary");
    cr_assert(vary && strstr(vary, "Accept-Encoding"), "Vary: %s", vary ? vary : "(absent)");
}

static void expect_identity(const struct http_response *r)
{
    cr_assert_null(http_header(r, "Content-Encoding"), "Content-Encoding: %s",
                   http_header(r, "Content-Encoding"));
}

static void expect_gzip(const struct http_response *r)
{
    const char *ce = http_header(r, "Content-Encoding");
    cr_assert(ce && strcmp(ce, "gzip") == 0, "Content-Encoding: %s", ce ? ce : "(absent)");
}

/* GETs path (auth: an Authorization header or NULL) without, then with Accept-Encoding:
 * gzip; asserts 200 both times, the first identity, the second gzip, both with Vary, and
 * gunzip(second) == first byte for byte. Both answers out (to release). */
static void get_both(const char *path, const char *auth, struct http_response *plain,
                     struct http_response *gz)
{
    get("GET", path, auth, NULL, plain);
    cr_assert_eq(plain->status, 200, HTTP_BODY, plain->body);
    expect_identity(plain);
    expect_vary(plain); /* the identity answer varies too: caches must key on the header */
    get("GET", path, auth ? auth : "Accept-Encoding: gzip, deflate, br",
        auth ? "Accept-Encoding: gzip, deflate, br" : NULL, gz);
    cr_assert_eq(gz->status, 200);
    expect_gzip(gz);
    expect_vary(gz);
    cr_assert_str_eq(gz->content_type, plain->content_type);
    size_t n;
    char *decoded = gunzip(gz, &n);
    cr_assert(n == plain->body_len && memcmp(decoded, plain->body, n) == 0,
              "%s: gunzip(gzip answer) != identity answer", path);
    free(decoded);
    fprintf(stderr, "compression: %s identity %zu bytes, gzip %zu bytes\n", path, plain->body_len,
            gz->body_len);
}

Test(compression, spec_gzip_is_the_identity_answer_compressed)
{
    struct http_response plain, gz, head;
    get_both("/api/v1/openapi.json", NULL, &plain, &gz);
    cr_assert_str_eq(gz.content_type, "application/json");
    cr_assert_lt(gz.body_len * 4, plain.body_len, "compressed %zu of %zu bytes", gz.body_len,
                 plain.body_len);
    /* HEAD: the headers of the GET, Content-Length of the gzip body. */
    get("HEAD", "/api/v1/openapi.json", GZIP, NULL, &head);
    cr_assert_eq(head.status, 200);
    expect_gzip(&head);
    expect_vary(&head);
    char length[32];
    snprintf(length, sizeof length, "%zu", gz.body_len);
    cr_assert_str_eq(http_header(&head, "Content-Length"), length);
    http_response_release(&head);
    http_response_release(&gz);
    http_response_release(&plain);
}

Test(compression, small_answers_and_other_types_are_not_compressed)
{
    struct http_response r;
    get("GET", "/api/v1/communes/69248", GZIP, NULL, &r); /* one commune: a few hundred bytes */
    http_expect_json_ok(&r);
    cr_assert_leq(r.body_len, 1024);
    expect_identity(&r);
    expect_vary(&r);
    http_response_release(&r);
    get("GET", "/api/v1/route-inconnue", GZIP, NULL, &r); /* a problem+json, small */
    http_expect_problem(&r, 404, "route-inconnue");
    expect_identity(&r);
    expect_vary(&r);
    http_response_release(&r);
    get("GET", "/metrics", GZIP, NULL, &r); /* text/plain: left as it is */
    cr_assert_eq(r.status, 200);
    cr_assert_gt(r.body_len, 1024);
    expect_identity(&r);
    http_response_release(&r);
}

Test(compression, accept_encoding_q_values_identity_and_star)
{
    static const struct {
        const char *header;
        bool gzip;
    } cases[] = {
        {"Accept-Encoding: gzip;q=0", false},
        {"Accept-Encoding: br, gzip;q=0, *", false},
        {"Accept-Encoding: identity", false},
        {"Accept-Encoding: ", false},
        {"Accept-Encoding: gzip;q=0.5, identity", false},
        {"Accept-Encoding: *", true},
        {"Accept-Encoding: *;q=0", false},
        {"Accept-Encoding: identity;q=0.2, GZIP;q=0.7", true},
        {"Accept-Encoding: x-gzip", true},
        {"Accept-Encoding: gzip;q=1.5", false}, /* malformed q: refused */
    };
    struct http_response plain;
    get("GET", "/api/v1/openapi.json", NULL, NULL, &plain);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct http_response r;
        get("GET", "/api/v1/openapi.json", cases[i].header, NULL, &r);
        cr_assert_eq(r.status, 200, "%s", cases[i].header);
        expect_vary(&r);
        const char *ce = http_header(&r, "Content-Encoding");
        if (cases[i].gzip) {
            cr_assert(ce && strcmp(ce, "gzip") == 0, "%s: Content-Encoding %s", cases[i].header,
                      ce ? ce : "(absent)");
        } else {
            cr_assert_null(ce, "%s: Content-Encoding %s", cases[i].header, ce);
            cr_assert_eq(r.body_len, plain.body_len, "%s", cases[i].header);
        }
        http_response_release(&r);
    }
    http_response_release(&plain);
}

/* A fiche action (its representation is over 1 KiB) of a new territoire of the
 * département 65 (this suite's), created as the administrator; its path into path. */
static void big_fiche(const struct fx_caller *admin, const char *id_pvd, const char *code_insee,
                      const char *siren_commune, const char *siren_epci, char path[80])
{
    struct fx_fiche_territoire t;
    fx_fiche_territoire(id_pvd, code_insee, siren_commune, siren_epci, "2026-01-15", &t);
    char extra[700] = "\"description\": \"";
    for (int i = 0; i < 60; i++)
        strcat(extra, "Halles. ");
    strcat(extra, "\"");
    char id[37];
    fx_fiche(admin, &t, "1.1", extra, id, NULL);
    snprintf(path, 80, "/api/v1/fiches-action/%s", id);
}

Test(compression, etag_of_each_variant_and_if_none_match_with_either)
{
    struct fx_caller admin;
    fx_admin(&admin);
    char path[80];
    big_fiche(&admin, "pvd-76-65-901", "65286", "216502864", "200069300", path);
    struct http_response plain, gz, r;
    get_both(path, admin.header, &plain, &gz);
    cr_assert_gt(plain.body_len, 1024);
    char etag[64], etag_gz[80];
    snprintf(etag, sizeof etag, "%s", http_header(&plain, "ETag"));
    snprintf(etag_gz, sizeof etag_gz, "%s", http_header(&gz, "ETag"));
    cr_assert_neq(strcmp(etag, etag_gz), 0, "one ETag for two representations: %s", etag);
    char expected[80];
    snprintf(expected, sizeof expected, "%.*s-gzip\"", (int)strlen(etag) - 1, etag);
    cr_assert_str_eq(etag_gz, expected);

    /* Either form revalidates either variant; the 304 carries the validators of the 200
     * it stands for. */
    char inm[100], inm_gz[100];
    snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
    snprintf(inm_gz, sizeof inm_gz, "If-None-Match: %s", etag_gz);
    const char *const accept[] = {NULL, GZIP};
    const char *const sent[] = {inm, inm_gz};
    for (size_t a = 0; a < 2; a++) {
        for (size_t s = 0; s < 2; s++) {
            const char *headers[] = {admin.header, sent[s], accept[a], NULL};
            http_request("GET", path, headers, NULL, 0, &r);
            cr_assert_eq(r.status, 304, "%s / %s: " HTTP_BODY, accept[a] ? accept[a] : "-", sent[s],
                         r.body);
            cr_assert_eq(r.body_len, 0);
            cr_assert_str_eq(http_header(&r, "ETag"), accept[a] ? etag_gz : etag);
            expect_vary(&r);
            http_response_release(&r);
        }
    }
    /* Another ETag, with the suffix or not, is not a match. */
    const char *other[] = {admin.header, GZIP, "If-None-Match: \"0000000000000000-gzip\"", NULL};
    http_capture_pause(true);
    http_request("GET", path, other, NULL, 0, &r);
    http_capture_pause(false);
    cr_assert_eq(r.status, 200);
    expect_gzip(&r);
    http_response_release(&r);
    http_response_release(&gz);
    http_response_release(&plain);
}

Test(compression, if_match_with_the_gzip_etag_on_a_patch)
{
    struct fx_caller admin;
    fx_admin(&admin);
    char path[80];
    big_fiche(&admin, "pvd-76-65-902", "65059", "216500595", "246500482", path);
    struct http_response gz, r;
    get("GET", path, admin.header, GZIP, &gz);
    expect_gzip(&gz);
    char if_match[120];
    snprintf(if_match, sizeof if_match, "If-Match: %s", http_header(&gz, "ETag"));
    cr_assert(strstr(if_match, "-gzip\""), "%s", if_match);
    http_response_release(&gz);

    const char *body = "{\"intitule\":\"Halles rénovées\"}";
    const char *headers[] = {admin.header, "Content-Type: application/json", if_match, NULL};
    http_request("PATCH", path, headers, body, strlen(body), &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_str_eq(fx_str(r.json, "intitule"), "Halles rénovées");
    http_response_release(&r);
    /* The same gzip ETag is stale now: 412, nothing written. */
    const char *again = "{\"intitule\":\"Halles rénovées deux fois\"}";
    http_request("PATCH", path, headers, again, strlen(again), &r);
    http_expect_problem(&r, 412, "precondition-echouee");
    http_response_release(&r);
    get("GET", path, admin.header, NULL, &r);
    cr_assert_str_eq(fx_str(r.json, "intitule"), "Halles rénovées");
    http_response_release(&r);
}

Test(compression, problem_over_1_kib_is_compressed_too)
{
    /* Many invalid query parameters: one problem+json listing each. */
    char path[4000] = "/api/v1/communes?";
    for (int i = 0; i < 40; i++) {
        char p[64];
        snprintf(p, sizeof p, "%sinconnu%d=x", i ? "&" : "", i);
        strcat(path, p);
    }
    struct http_response plain, gz;
    get("GET", path, NULL, NULL, &plain);
    cr_assert_eq(plain.status, 400, HTTP_BODY, plain.body);
    cr_assert_gt(plain.body_len, 1024, "problem of %zu bytes only", plain.body_len);
    expect_identity(&plain);
    get("GET", path, GZIP, NULL, &gz);
    cr_assert_eq(gz.status, 400);
    expect_gzip(&gz);
    expect_vary(&gz);
    cr_assert_str_eq(gz.content_type, "application/problem+json");
    size_t n;
    char *decoded = gunzip(&gz, &n);
    /* The same problem but its request_id: compare everything else. */
    json_t *a = json_loadb(decoded, n, 0, NULL);
    cr_assert_not_null(a);
    json_object_del(a, "request_id");
    json_object_del(plain.json, "request_id");
    cr_assert(json_equal(a, plain.json));
    json_decref(a);
    free(decoded);
    http_response_release(&gz);
    http_response_release(&plain);
}

Test(compression, docs_page_sent_gzip_from_its_build_time_variant)
{
    struct http_response plain, gz, r;
    get_both("/api/v1/docs", NULL, &plain, &gz);
    cr_assert_str_eq(gz.content_type, "text/html; charset=utf-8");
    char etag[64], expected[80], inm[100];
    snprintf(etag, sizeof etag, "%s", http_header(&plain, "ETag"));
    snprintf(expected, sizeof expected, "%.*s-gzip\"", (int)strlen(etag) - 1, etag);
    cr_assert_str_eq(http_header(&gz, "ETag"), expected);
    snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
    get("GET", "/api/v1/docs", GZIP, inm, &r);
    cr_assert_eq(r.status, 304);
    cr_assert_str_eq(http_header(&r, "ETag"), expected);
    http_response_release(&r);
    http_response_release(&gz);
    http_response_release(&plain);
}
