/* Identity over HTTP: bearer tokens minted by the test identity provider
 * (build/bin/test-idp, keys generated per run), /api/v1/moi, and each refusal
 * of a token (401 with WWW-Authenticate). Needs PVD_TEST_IDP ("<test-idp
 * binary> <dir>"), PVD_TEST_ISSUER and PVD_TEST_AUDIENCE, as tests/run.sh sets. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/http_client.h"
#include "../support/tokens.h"

#define BOOTSTRAP_SUB "admin-initial"

static const char *env_or_fail(const char *name)
{
    const char *v = getenv(name);
    cr_assert(v && *v, "%s must be set (see tests/run.sh)", name);
    return v;
}

static char *mint(const char *issuer, const char *audience, const char *sub, long ttl, long offset)
{
    return token_mint(issuer, audience, sub, ttl, offset);
}

static char *mint_valid(const char *sub)
{
    return token_for(sub);
}

static void get_moi(const char *authorization, struct http_response *r)
{
    char header[10000];
    const char *headers[] = {header, NULL};
    if (authorization == NULL) {
        http_get("/api/v1/moi", r);
        return;
    }
    snprintf(header, sizeof header, "Authorization: %s", authorization);
    http_request("GET", "/api/v1/moi", headers, NULL, 0, r);
}

static void expect_refused(const char *authorization, bool invalid_token)
{
    struct http_response r;
    get_moi(authorization, &r);
    http_expect_problem(&r, 401, "non-authentifie");
    const char *challenge = http_header(&r, "WWW-Authenticate");
    cr_assert(challenge && strncmp(challenge, "Bearer realm=\"pvd-api\"", 22) == 0,
              "WWW-Authenticate: %s", challenge ? challenge : "(absent)");
    if (invalid_token)
        cr_assert(strstr(challenge, "error=\"invalid_token\""), "challenge: %s", challenge);
    else
        cr_assert_null(strstr(challenge, "error="), "no error without a token: %s", challenge);
    http_response_release(&r);
}

static void expect_token_refused(const char *token)
{
    char authorization[10000];
    snprintf(authorization, sizeof authorization, "Bearer %s", token);
    expect_refused(authorization, true);
}

Test(identite, moi_without_token_is_401_with_challenge)
{
    expect_refused(NULL, false);
}

Test(identite, malformed_authorization_headers_are_401)
{
    expect_refused("Basic YWxpY2U6c2VjcmV0", true);
    expect_refused("Bearer", true);
    expect_refused("Bearer ", true);
    expect_token_refused("pas.un.jeton");
    expect_token_refused("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.");
}

Test(identite, valid_token_without_habilitation_gets_moi_without_role)
{
    char *token = mint_valid("agent-sans-habilitation");
    char authorization[4200];
    snprintf(authorization, sizeof authorization, "Bearer %s", token);
    struct http_response r;
    get_moi(authorization, &r);
    http_expect_json_ok(&r);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "subject")),
                     "agent-sans-habilitation");
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "issuer")),
                     env_or_fail("PVD_TEST_ISSUER"));
    cr_assert(json_is_null(json_object_get(r.json, "role")), "no habilitation: role null");
    cr_assert(json_is_null(json_object_get(r.json, "perimetre")));
    cr_assert(json_is_false(json_object_get(r.json, "administrateur_initial")));
    http_response_release(&r);
    free(token);
}

Test(identite, bootstrap_admin_is_anct_national)
{
    char *token = mint_valid(BOOTSTRAP_SUB);
    char authorization[4200];
    snprintf(authorization, sizeof authorization, "Bearer %s", token);
    struct http_response r;
    get_moi(authorization, &r);
    http_expect_json_ok(&r);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "role")), "anct_national");
    cr_assert(json_is_true(json_object_get(r.json, "administrateur_initial")));
    http_response_release(&r);
    free(token);
}

Test(identite, expired_and_not_yet_valid_tokens_are_refused)
{
    const char *iss = env_or_fail("PVD_TEST_ISSUER"), *aud = env_or_fail("PVD_TEST_AUDIENCE");
    char *expired = mint(iss, aud, "alice", 10, -3600); /* expired an hour ago */
    char *future = mint(iss, aud, "alice", 3600, 3600); /* valid from in an hour */
    char *leeway = mint(iss, aud, "alice", 10, -40);    /* expired 30 s ago: within 60 s */
    expect_token_refused(expired);
    expect_token_refused(future);
    char authorization[4200];
    snprintf(authorization, sizeof authorization, "Bearer %s", leeway);
    struct http_response r;
    get_moi(authorization, &r);
    cr_assert_eq(r.status, 200, "a token expired 30 s ago is within the 60 s leeway");
    http_response_release(&r);
    free(expired);
    free(future);
    free(leeway);
}

Test(identite, wrong_issuer_or_audience_is_refused)
{
    const char *iss = env_or_fail("PVD_TEST_ISSUER"), *aud = env_or_fail("PVD_TEST_AUDIENCE");
    char *other_iss = mint("https://autre-fournisseur.example", aud, "alice", 3600, 0);
    char *other_aud = mint(iss, "un-autre-service", "alice", 3600, 0);
    expect_token_refused(other_iss);
    expect_token_refused(other_aud);
    free(other_iss);
    free(other_aud);
}

Test(identite, tampered_and_oversized_tokens_are_refused)
{
    char *token = mint_valid("alice");
    char *dot = strchr(token, '.');
    cr_assert(dot);
    /* Change one character of the payload: the signature no longer matches. */
    dot[5] = dot[5] == 'A' ? 'B' : 'A';
    expect_token_refused(token);
    free(token);
    char *big = malloc(9001);
    memset(big, 'a', 9000);
    big[9000] = '\0';
    expect_token_refused(big);
    free(big);
}

Test(identite, public_routes_stay_public)
{
    struct http_response r;
    http_get("/api/v1/communes/69248", &r);
    cr_assert_eq(r.status, 200);
    http_response_release(&r);
}
