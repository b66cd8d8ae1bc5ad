/* Integration tests of the verified-token cache (issue 12 §4, api/token_cache.h) over HTTP:
 * a token presented twice is served from the cache the second time (the server's
 * pvd_auth_token_cache_hits_total grows; 0 when the cache is off or not consulted), a token
 * differing from a cached one by its signature is still refused, and the cache never keeps a
 * revoked habilitation in force: the same, cached, token gets 403 once its habilitation is
 * revoked. Other tests run in parallel against the same server, so the counter is compared
 * as "grew by at least one". */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/fixtures.h"
#include "../support/http_client.h"
#include "../support/tokens.h"

static void get_as(const char *header, const char *path, struct http_response *r)
{
    const char *headers[] = {header, NULL};
    http_request("GET", path, headers, NULL, 0, r);
}

Test(token_cache, second_use_of_a_token_is_served_from_the_cache)
{
    /* The cache and its metrics are per process: one server (the api step runs
     * two replicas). */
    http_pin(0);
    cr_assert_gt(fx_metric("pvd_auth_token_cache_capacity"), 0, "AUTH_TOKEN_CACHE_SIZE is on");
    char header[4400];
    fx_grant_header(header, sizeof header, "lecteur_national", "{}");
    unsigned long long hits = fx_metric("pvd_auth_token_cache_hits_total");
    struct http_response r;
    for (int i = 0; i < 2; i++) {
        get_as(header, "/api/v1/conventions?limite=1", &r);
        http_expect_json_ok(&r);
        http_response_release(&r);
    }
    /* The grant's own token (the administrator's) may hit too: at least one hit more. */
    cr_assert_geq(fx_metric("pvd_auth_token_cache_hits_total"), hits + 1);

    /* The same token with another signature: verified (and refused), not served. */
    char bad[4400];
    snprintf(bad, sizeof bad, "%s", header);
    size_t n = strlen(bad);
    bad[n - 2] = bad[n - 2] == 'A' ? 'B' : 'A';
    get_as(bad, "/api/v1/conventions?limite=1", &r);
    http_expect_problem(&r, 401, "non-authentifie");
    http_response_release(&r);
    http_pin(-1);
}

Test(token_cache, a_cached_token_loses_a_revoked_habilitation_at_once)
{
    struct fx_caller admin;
    fx_admin(&admin);
    char sub[80], body[400];
    token_unique_subject(sub, sizeof sub, "cache");
    snprintf(body, sizeof body,
             "{\"issuer\":\"%s\",\"subject\":\"%s\",\"role\":\"lecteur_national\","
             "\"perimetre\":{}}",
             token_issuer(), sub);
    struct http_response r;
    fx_call(&admin, "POST", "/api/v1/habilitations", body, NULL, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    char path[120];
    snprintf(path, sizeof path, "/api/v1/habilitations/%s", fx_str(r.json, "id"));
    http_response_release(&r);

    char *token = token_for(sub);
    char header[4400];
    token_header(header, sizeof header, token);
    free(token);
    unsigned long long hits = fx_metric("pvd_auth_token_cache_hits_total");
    for (int i = 0; i < 2; i++) { /* verified, then from the cache */
        get_as(header, "/api/v1/conventions?limite=1", &r);
        http_expect_json_ok(&r);
        http_response_release(&r);
    }
    cr_assert_geq(fx_metric("pvd_auth_token_cache_hits_total"), hits + 1);

    fx_call(&admin, "GET", path, NULL, NULL, &r);
    char if_match[80];
    snprintf(if_match, sizeof if_match, "If-Match: %s", http_header(&r, "ETag"));
    http_response_release(&r);
    fx_call(&admin, "DELETE", path, NULL, if_match, &r);
    http_expect_json_ok(&r);
    http_response_release(&r);

    /* The token is still in the cache (it is valid), its habilitation no longer is. */
    hits = fx_metric("pvd_auth_token_cache_hits_total");
    get_as(header, "/api/v1/conventions?limite=1", &r);
    http_expect_problem(&r, 403, "interdit");
    http_response_release(&r);
    get_as(header, "/api/v1/moi", &r);
    http_expect_json_ok(&r);
    cr_assert(json_is_null(json_object_get(r.json, "role")), HTTP_BODY, r.body);
    cr_assert(json_is_null(json_object_get(r.json, "habilitation_id")), HTTP_BODY, r.body);
    http_response_release(&r);
    cr_assert_geq(fx_metric("pvd_auth_token_cache_hits_total"), hits + 2);
}
