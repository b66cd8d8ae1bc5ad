/* Machine clients over HTTP (RFC 6749 §4.4): creation by the ANCT (secret
 * shown once), a token from /oauth/token by HTTP Basic or form fields, a call
 * inside and outside the client's perimeter, RFC 6749 §5.2 errors, rotation
 * and revocation (the client's tokens stop working at once), the JWKS. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/http_client.h"
#include "../support/tokens.h"

#define ADMIN "admin-initial"

struct client {
    char id[64];
    char secret[128];
    char etag[64];
};

static void admin_header(char *out, size_t size)
{
    char *token = token_for(ADMIN);
    token_header(out, size, token);
    free(token);
}

static void create_client(const char *role, const char *perimetre, struct client *c)
{
    char auth[4400], body[512];
    admin_header(auth, sizeof auth);
    snprintf(body, sizeof body,
             "{\"nom\":\"Système de la préfecture\",\"role\":\"%s\","
             "\"perimetre\":%s}",
             role, perimetre);
    const char *headers[] = {auth, "Content-Type: application/json", NULL};
    struct http_response r;
    http_request("POST", "/api/v1/clients", headers, body, strlen(body), &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    snprintf(c->id, sizeof c->id, "%s", json_string_value(json_object_get(r.json, "id")));
    snprintf(c->secret, sizeof c->secret, "%s",
             json_string_value(json_object_get(r.json, "secret")));
    cr_assert(strncmp(c->secret, "pvds_", 5) == 0);
    http_response_release(&r);
    /* The secret is shown once: reading the client never shows it. */
    char path[96];
    snprintf(path, sizeof path, "/api/v1/clients/%s", c->id);
    const char *get_headers[] = {auth, NULL};
    http_request("GET", path, get_headers, NULL, 0, &r);
    http_expect_json_ok(&r);
    cr_assert_null(json_object_get(r.json, "secret"));
    snprintf(c->etag, sizeof c->etag, "%s", http_header(&r, "ETag"));
    http_response_release(&r);
}

/* Token by HTTP Basic (basic) or by form fields. Returns the status; *token owned. */
static long get_token(const struct client *c, const char *secret, bool basic, char **token)
{
    char body[512], auth[512];
    const char *headers[3] = {"Content-Type: application/x-www-form-urlencoded", NULL, NULL};
    if (basic) {
        char user[256], b64[400];
        snprintf(user, sizeof user, "%s:%s", c->id, secret);
        /* base64 of user:secret */
        static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        size_t n = strlen(user), o = 0;
        for (size_t i = 0; i < n; i += 3) {
            unsigned v = (unsigned)(unsigned char)user[i] << 16 |
                         (i + 1 < n ? (unsigned)(unsigned char)user[i + 1] << 8 : 0) |
                         (i + 2 < n ? (unsigned char)user[i + 2] : 0);
            b64[o++] = a[(v >> 18) & 63];
            b64[o++] = a[(v >> 12) & 63];
            b64[o++] = i + 1 < n ? a[(v >> 6) & 63] : '=';
            b64[o++] = i + 2 < n ? a[v & 63] : '=';
        }
        b64[o] = '\0';
        snprintf(auth, sizeof auth, "Authorization: Basic %s", b64);
        headers[1] = auth;
        snprintf(body, sizeof body, "grant_type=client_credentials");
    } else {
        snprintf(body, sizeof body, "grant_type=client_credentials&client_id=%s&client_secret=%s",
                 c->id, secret);
    }
    struct http_response r;
    http_request("POST", "/api/v1/oauth/token", headers, body, strlen(body), &r);
    long status = r.status;
    *token = NULL;
    if (status == 200) {
        cr_assert_str_eq(json_string_value(json_object_get(r.json, "token_type")), "Bearer");
        cr_assert_eq(json_integer_value(json_object_get(r.json, "expires_in")), 3600);
        *token = strdup(json_string_value(json_object_get(r.json, "access_token")));
        cr_assert_str_eq(http_header(&r, "Cache-Control"), "no-store");
    } else {
        cr_assert_not_null(json_string_value(json_object_get(r.json, "error")),
                           "RFC 6749 §5.2 error body: " HTTP_BODY, r.body);
    }
    http_response_release(&r);
    return status;
}

static long call_with(const char *token, const char *path)
{
    char auth[4400];
    token_header(auth, sizeof auth, token);
    const char *headers[] = {auth, NULL};
    struct http_response r;
    http_request("GET", path, headers, NULL, 0, &r);
    long status = r.status;
    http_response_release(&r);
    return status;
}

/* Journal rows about one client (action NULL: any), and whether any of them
 * mentions a secret. */
static int journal_rows(const char *id, const char *action, bool *mentions_secret)
{
    const char *url = getenv("PVD_TEST_DATABASE_URL");
    cr_assert(url, "PVD_TEST_DATABASE_URL must be set");
    PGconn *db = PQconnectdb(url);
    cr_assert_eq(PQstatus(db), CONNECTION_OK, "%s", PQerrorMessage(db));
    const char *params[2] = {id, action};
    PGresult *res =
        PQexecParams(db,
                     "SELECT count(*), coalesce(bool_or((coalesce(avant::text, '') || "
                     "coalesce(apres::text, '')) ~ '(pvds_|secret_sel|secret_empreinte)'), "
                     "false) FROM journal "
                     "WHERE ressource_type = 'client' AND ressource_id = $1 AND "
                     "($2::text IS NULL OR action = $2)",
                     2, NULL, params, NULL, NULL, 0);
    cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s", PQerrorMessage(db));
    int n = atoi(PQgetvalue(res, 0, 0));
    if (mentions_secret)
        *mentions_secret = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
    PQclear(res);
    PQfinish(db);
    return n;
}

Test(clients, a_client_gets_a_token_and_acts_within_its_perimeter)
{
    struct client c;
    create_client("prefecture_instructeur", "{\"departements\":[\"58\"]}", &c);
    char *token = NULL;
    cr_assert_eq(get_token(&c, c.secret, true, &token), 200);
    cr_assert_eq(call_with(token, "/api/v1/moi"), 200);
    /* Inside its perimeter: the journal of its département (200). Outside: clients
     * administration is the ANCT's only (403). */
    cr_assert_eq(call_with(token, "/api/v1/journal"), 200);
    cr_assert_eq(call_with(token, "/api/v1/clients"), 403);
    free(token);
    cr_assert_eq(get_token(&c, c.secret, false, &token), 200, "form-field authentication");
    free(token);
    bool secret_in_journal = true;
    cr_assert_eq(journal_rows(c.id, "client.creer", &secret_in_journal), 1,
                 "one journal row for the creation, none for tokens");
    cr_assert_eq(journal_rows(c.id, NULL, NULL), 1);
    cr_assert_not(secret_in_journal, "the journal never holds the secret nor its digest");
}

Test(clients, token_errors_follow_rfc6749)
{
    struct client c;
    create_client("financeur", "{\"sirens\":[\"215800624\"]}", &c);
    char *token = NULL;
    cr_assert_eq(get_token(&c, "pvds_faux", true, &token), 401);
    struct client unknown = c;
    snprintf(unknown.id, sizeof unknown.id, "pvd_000000000000000000000000");
    cr_assert_eq(get_token(&unknown, c.secret, false, &token), 401);
    const char *form[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
    struct http_response r;
    http_request("POST", "/api/v1/oauth/token", form, "grant_type=password", 19, &r);
    cr_assert_eq(r.status, 400);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "error")), "unsupported_grant_type");
    http_response_release(&r);
    const char *json[] = {"Content-Type: application/json", NULL};
    http_request("POST", "/api/v1/oauth/token", json, "{}", 2, &r);
    cr_assert_eq(r.status, 400);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "error")), "invalid_request");
    http_response_release(&r);
}

Test(clients, rotation_and_revocation)
{
    struct client c;
    create_client("collectivite_agent", "{\"sirens\":[\"215800624\"]}", &c);
    char auth[4400], path[120], if_match[96];
    admin_header(auth, sizeof auth);
    char *token = NULL;
    cr_assert_eq(get_token(&c, c.secret, true, &token), 200);

    snprintf(path, sizeof path, "/api/v1/clients/%s/secret", c.id);
    snprintf(if_match, sizeof if_match, "If-Match: %s", c.etag);
    const char *headers[] = {auth, if_match, NULL};
    struct http_response r;
    http_request("POST", path, headers, NULL, 0, &r);
    http_expect_json_ok(&r);
    char new_secret[128];
    snprintf(new_secret, sizeof new_secret, "%s",
             json_string_value(json_object_get(r.json, "secret")));
    http_response_release(&r);
    char *unused = NULL;
    cr_assert_eq(get_token(&c, c.secret, true, &unused), 401, "the old secret no longer works");
    cr_assert_eq(get_token(&c, new_secret, true, &unused), 200);
    free(unused);

    snprintf(path, sizeof path, "/api/v1/clients/%s", c.id);
    const char *get_headers[] = {auth, NULL};
    http_request("GET", path, get_headers, NULL, 0, &r);
    snprintf(if_match, sizeof if_match, "If-Match: %s", http_header(&r, "ETag"));
    http_response_release(&r);
    http_request("DELETE", path, get_headers, NULL, 0, &r);
    http_expect_problem(&r, 428, "precondition-requise");
    http_response_release(&r);
    http_request("DELETE", path, headers, NULL, 0, &r);
    http_expect_json_ok(&r);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "etat")), "revoque");
    http_response_release(&r);
    cr_assert_eq(journal_rows(c.id, "client.renouveler_secret", NULL), 1);
    cr_assert_eq(journal_rows(c.id, "client.revoquer", NULL), 1);
    cr_assert_eq(journal_rows(c.id, NULL, NULL), 3, "create + rotate + revoke, refusals none");
    /* A revoked client's tokens stop working at once. */
    cr_assert_eq(call_with(token, "/api/v1/moi"), 401);
    cr_assert_eq(get_token(&c, new_secret, true, &unused), 401);
    free(token);
}

Test(clients, bad_expiry_and_bad_client_ids_are_client_errors)
{
    char auth[4400];
    admin_header(auth, sizeof auth);
    const char *headers[] = {auth, "Content-Type: application/json", NULL};
    const char *body = "{\"nom\":\"x\",\"role\":\"financeur\",\"perimetre\":{\"sirens\":"
                       "[\"215800624\"]},\"expire_le\":\"2026-13-45T00:00:00Z\"}";
    struct http_response r;
    http_request("POST", "/api/v1/clients", headers, body, strlen(body), &r);
    http_expect_problem(&r, 400, "champs-invalides");
    http_response_release(&r);
    const char *form[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
    const char *bad = "grant_type=client_credentials&client_id=%FF&client_secret=x";
    http_request("POST", "/api/v1/oauth/token", form, bad, strlen(bad), &r);
    cr_assert_eq(r.status, 401, "a client id that is not UTF-8 is an unknown client: " HTTP_BODY,
                 r.body);
    http_response_release(&r);
    const char *get_headers[] = {auth, NULL};
    http_request("GET", "/api/v1/clients/pas-un-id", get_headers, NULL, 0, &r);
    http_expect_problem(&r, 400, "parametre-invalide");
    http_response_release(&r);
}

Test(clients, only_the_anct_manages_clients)
{
    char *token = token_for("personne-sans-role");
    cr_assert_eq(call_with(token, "/api/v1/clients"), 403);
    free(token);
}

Test(clients, jwks_is_public_and_has_no_private_member)
{
    struct http_response r;
    http_get("/api/v1/.well-known/jwks.json", &r);
    http_expect_json_ok(&r);
    json_t *keys = json_object_get(r.json, "keys");
    cr_assert_geq(json_array_size(keys), 1);
    json_t *k = json_array_get(keys, 0);
    cr_assert_str_eq(json_string_value(json_object_get(k, "kty")), "EC");
    cr_assert_null(json_object_get(k, "d"), "never the private key");
    http_response_release(&r);
}

/* POST body with token (a machine's) or auth (a full header); returns the
 * response in *r. */
static void post_as(const char *auth, const char *path, const char *body, struct http_response *r)
{
    const char *headers[] = {auth, "Content-Type: application/json", NULL};
    http_request("POST", path, headers, body, strlen(body), r);
}

/* Issue 8 §1: an anct_national machine client reads and revokes, but only a
 * person creates clients, rotates secrets and grants a national role. */
Test(clients, an_anct_machine_issues_no_credential_nor_national_role)
{
    struct client c, target;
    create_client("anct_national", "{}", &c);
    create_client("financeur", "{\"sirens\":[\"215800624\"]}", &target);
    char *token = NULL, auth[4400], person[4400], body[600], sub[80], path[120], im[100];
    cr_assert_eq(get_token(&c, c.secret, true, &token), 200);
    token_header(auth, sizeof auth, token);
    admin_header(person, sizeof person);
    cr_assert_eq(call_with(token, "/api/v1/clients"), 200, "it still lists clients");
    struct http_response r;
    post_as(auth, "/api/v1/clients",
            "{\"nom\":\"Portail\",\"role\":\"financeur\",\"perimetre\":{\"sirens\":"
            "[\"215800624\"]}}",
            &r);
    http_expect_problem(&r, 403, "interdit");
    cr_assert(strstr(json_string_value(json_object_get(r.json, "detail")), "client machine"),
              HTTP_BODY, r.body);
    http_response_release(&r);
    snprintf(path, sizeof path, "/api/v1/clients/%s/secret", target.id);
    snprintf(im, sizeof im, "If-Match: %s", target.etag);
    const char *rotate[] = {auth, im, NULL};
    http_request("POST", path, rotate, NULL, 0, &r);
    http_expect_problem(&r, 403, "interdit");
    http_response_release(&r);
    static const char *const national[] = {"anct_national", "lecteur_national"};
    for (size_t i = 0; i < 2; i++) {
        token_unique_subject(sub, sizeof sub, national[i]);
        snprintf(body, sizeof body,
                 "{\"issuer\":\"%s\",\"subject\":\"%s\",\"role\":\"%s\",\"perimetre\":{}}",
                 token_issuer(), sub, national[i]);
        post_as(auth, "/api/v1/habilitations", body, &r);
        http_expect_problem(&r, 403, "interdit");
        cr_assert(strstr(json_string_value(json_object_get(r.json, "detail")), "rôle national"),
                  HTTP_BODY, r.body);
        http_response_release(&r);
        /* A person may. */
        post_as(person, "/api/v1/habilitations", body, &r);
        cr_assert_eq(r.status, 201, "%s by a person: " HTTP_BODY, national[i], r.body);
        http_response_release(&r);
    }
    /* The machine still grants a collectivité role. */
    token_unique_subject(sub, sizeof sub, "agent");
    snprintf(body, sizeof body,
             "{\"issuer\":\"%s\",\"subject\":\"%s\",\"role\":\"collectivite_agent\","
             "\"perimetre\":{\"sirens\":[\"215800624\"]}}",
             token_issuer(), sub);
    post_as(auth, "/api/v1/habilitations", body, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    http_response_release(&r);
    cr_assert_eq(journal_rows(target.id, "client.renouveler_secret", NULL), 0);
    free(token);
}

/* Issue 8 §1: lecteur_national, for portals that sync everything: a machine
 * client reads the programme everywhere, administers nothing and writes
 * nothing (403, never 404), and its journal leaves out the administration's
 * entries. */
Test(clients, a_lecteur_national_reads_everything_and_writes_nothing)
{
    struct client c;
    create_client("lecteur_national", "{}", &c);
    char *token = NULL, auth[4400];
    cr_assert_eq(get_token(&c, c.secret, true, &token), 200);
    token_header(auth, sizeof auth, token);
    cr_assert_eq(call_with(token, "/api/v1/moi"), 200);
    cr_assert_eq(call_with(token, "/api/v1/conventions"), 200);
    cr_assert_eq(call_with(token, "/api/v1/statistiques/conventions"), 200);
    cr_assert_eq(call_with(token, "/api/v1/comites"), 200);
    cr_assert_eq(call_with(token, "/api/v1/habilitations"), 403);
    cr_assert_eq(call_with(token, "/api/v1/clients"), 403);
    struct http_response r;
    const char *headers[] = {auth, NULL};
    http_request("GET", "/api/v1/journal?limite=500", headers, NULL, 0, &r);
    http_expect_json_ok(&r);
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(r.json, "elements"), i, e)
    {
        const char *type = json_string_value(json_object_get(e, "ressource_type"));
        cr_assert(strcmp(type, "habilitation") != 0 && strcmp(type, "client") != 0,
                  "administration entry %s in the lecteur's journal", type);
    }
    http_response_release(&r);
    http_request("GET", "/api/v1/journal?ressource_type=client", headers, NULL, 0, &r);
    http_expect_json_ok(&r);
    cr_assert_eq(json_array_size(json_object_get(r.json, "elements")), 0, HTTP_BODY, r.body);
    http_response_release(&r);
    post_as(auth, "/api/v1/organisations", "{\"nature\":\"etat\",\"nom\":\"Lecteur\"}", &r);
    http_expect_problem(&r, 403, "interdit");
    http_response_release(&r);
    post_as(auth, "/api/v1/territoires", "{\"id_pvd\":\"pvd-27-58-999\",\"communes\":[\"58062\"]}",
            &r);
    http_expect_problem(&r, 403, "interdit");
    http_response_release(&r);
    free(token);
}
