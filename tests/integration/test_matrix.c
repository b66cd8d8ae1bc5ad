/* The authorization matrix over HTTP, generated from the route table
 * (`pvd-api routes --details`): every non-public route × every role × a
 * target inside / outside the caller's perimeter (plus no token and a token
 * without habilitation), asserting the status api.md prescribes: 401 without
 * credentials, 403 without habilitation or for an action the role may not do
 * on an object it may read, 404 outside the perimeter on reads. A route whose
 * method and action have no row in `expectations` fails the test, so a new
 * route cannot escape the matrix. Needs PVD_TEST_SERVER_BIN (the pvd-api binary). */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/http_client.h"
#include "../support/tokens.h"

enum who {
    WHO_ANCT,
    WHO_PREF_DEP, /* prefecture_instructeur */
    WHO_PREF_REG, /* prefecture_region */
    WHO_AGENT,    /* collectivite_agent */
    WHO_ELU,      /* collectivite_elu */
    WHO_FINANCEUR,
    WHO__COUNT
};
static const char *const who_names[] = {"anct_national",     "prefecture_instructeur",
                                        "prefecture_region", "collectivite_agent",
                                        "collectivite_elu",  "financeur"};

/* Perimeters: "inside" principals hold the Nièvre (58, région 27) or the commune
 * Château-Chinon (Ville) 215800624; "outside" ones the Rhône (69, région 84) or
 * Thizy-les-Bourgs 200033652. The target objects are in the Nièvre. */
static const char *const inside_perimeter[] = {
    "{}",
    "{\"departements\":[\"58\"]}",
    "{\"regions\":[\"27\"]}",
    "{\"sirens\":[\"215800624\"]}",
    "{\"sirens\":[\"215800624\"]}",
    "{\"sirens\":[\"215800624\"]}",
};
static const char *const outside_perimeter[] = {
    "{}",
    "{\"departements\":[\"69\"]}",
    "{\"regions\":[\"84\"]}",
    "{\"sirens\":[\"200033652\"]}",
    "{\"sirens\":[\"200033652\"]}",
    "{\"sirens\":[\"200033652\"]}",
};

/* Expected status per (method, action): [who][0] inside, [who][1] outside. */
struct expectation {
    const char *method;
    const char *action;
    int status[WHO__COUNT][2];
};

/* clang-format off */
static const struct expectation expectations[] = {
    /*                                          anct        pref_dep    pref_reg    agent       elu         financeur */
    {"GET",    "moi.lire",              {{200, 200}, {200, 200}, {200, 200}, {200, 200}, {200, 200}, {200, 200}}},
    /* list: préfectures see their perimeter's; other roles may not list */
    {"GET",    "habilitation.lire",     {{200, 200}, {200, 200}, {200, 200}, {403, 403}, {403, 403}, {403, 403}}},
    {"POST",   "habilitation.accorder", {{201, 201}, {201, 403}, {403, 403}, {403, 403}, {403, 403}, {403, 403}}},
    {"DELETE", "habilitation.revoquer", {{200, 200}, {200, 404}, {403, 404}, {403, 404}, {403, 404}, {403, 404}}},
    {"GET",    "journal.lire",          {{200, 200}, {200, 200}, {200, 200}, {200, 200}, {200, 200}, {200, 200}}},
    {"GET",    "client.gerer",          {{200, 200}, {403, 403}, {403, 403}, {403, 403}, {403, 403}, {403, 403}}},
    {"POST",   "client.gerer",          {{201, 201}, {403, 403}, {403, 403}, {403, 403}, {403, 403}, {403, 403}}},
    {"DELETE", "client.gerer",          {{200, 200}, {403, 403}, {403, 403}, {403, 403}, {403, 403}, {403, 403}}},
};
/* The read of one habilitation by id (GET …/:id) differs from the list. */
static const int read_one[WHO__COUNT][2] = {
    {200, 200}, {200, 404}, {200, 404}, {403, 404}, {403, 404}, {403, 404}};
/* clang-format on */

struct principal_fixture {
    char header[4400];
};

static struct principal_fixture fixtures[WHO__COUNT][2];
static char admin_header[4400];

static void post_json(const char *auth, const char *path, const char *body, struct http_response *r)
{
    const char *headers[] = {auth, "Content-Type: application/json", NULL};
    http_request("POST", path, headers, body, strlen(body), r);
}

static void make_principal(enum who w, int outside, struct principal_fixture *f)
{
    char sub[80], body[600];
    token_unique_subject(sub, sizeof sub, who_names[w]);
    if (w != WHO_ANCT || outside) {
        snprintf(body, sizeof body,
                 "{\"issuer\":\"%s\",\"subject\":\"%s\",\"role\":\"%s\",\"perimetre\":%s}",
                 token_issuer(), sub, who_names[w],
                 outside ? outside_perimeter[w] : inside_perimeter[w]);
        struct http_response r;
        post_json(admin_header, "/api/v1/habilitations", body, &r);
        cr_assert_eq(r.status, 201, "fixture %s: " HTTP_BODY, who_names[w], r.body);
        http_response_release(&r);
    } else {
        snprintf(sub, sizeof sub, "admin-initial");
    }
    char *token = token_for(sub);
    token_header(f->header, sizeof f->header, token);
    free(token);
}

static void setup_fixtures(void)
{
    char *admin = token_for("admin-initial");
    token_header(admin_header, sizeof admin_header, admin);
    free(admin);
    for (int w = 0; w < WHO__COUNT; w++)
        for (int o = 0; o < 2; o++)
            make_principal((enum who)w, o, &fixtures[w][o]);
}

/* A fresh target in the Nièvre: a collectivité habilitation on 215800624. */
static void new_target_habilitation(char id[64], char etag[64])
{
    char sub[80], body[600];
    token_unique_subject(sub, sizeof sub, "cible");
    snprintf(body, sizeof body,
             "{\"issuer\":\"%s\",\"subject\":\"%s\",\"role\":\"collectivite_agent\","
             "\"perimetre\":{\"sirens\":[\"215800624\"]}}",
             token_issuer(), sub);
    struct http_response r;
    post_json(admin_header, "/api/v1/habilitations", body, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    snprintf(id, 64, "%s", json_string_value(json_object_get(r.json, "id")));
    snprintf(etag, 64, "%s", http_header(&r, "ETag"));
    http_response_release(&r);
}

static void new_target_client(char id[64], char etag[64])
{
    struct http_response r;
    post_json(
        admin_header, "/api/v1/clients",
        "{\"nom\":\"cible\",\"role\":\"financeur\",\"perimetre\":{\"sirens\":[\"215800624\"]}}",
        &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    snprintf(id, 64, "%s", json_string_value(json_object_get(r.json, "id")));
    snprintf(etag, 64, "%s", http_header(&r, "ETag"));
    http_response_release(&r);
}

/* Performs the route for this caller; returns the status. */
static long exercise(const char *method, const char *path, const char *action, const char *auth)
{
    char id[64], etag[64], url[200], if_match[100], body[600], sub[80];
    const char *headers[4] = {auth, NULL, NULL, NULL};
    const char *payload = NULL;
    snprintf(url, sizeof url, "%s", path);
    if (strstr(path, "/habilitations/:id")) {
        new_target_habilitation(id, etag);
        snprintf(url, sizeof url, "/api/v1/habilitations/%s", id);
    } else if (strstr(path, "/clients/:id")) {
        new_target_client(id, etag);
        snprintf(url, sizeof url, "/api/v1/clients/%s%s", id,
                 strstr(path, "/secret") ? "/secret" : "");
    }
    if (strcmp(method, "DELETE") == 0 || strstr(path, "/secret")) {
        snprintf(if_match, sizeof if_match, "If-Match: %s", etag);
        headers[auth ? 1 : 0] = if_match;
    }
    if (strcmp(method, "POST") == 0 && strcmp(action, "habilitation.accorder") == 0) {
        token_unique_subject(sub, sizeof sub, "accorde");
        snprintf(body, sizeof body,
                 "{\"issuer\":\"%s\",\"subject\":\"%s\",\"role\":\"collectivite_agent\","
                 "\"perimetre\":{\"sirens\":[\"215800624\"]}}",
                 token_issuer(), sub);
        payload = body;
    } else if (strcmp(method, "POST") == 0 && strcmp(path, "/api/v1/clients") == 0) {
        payload =
            "{\"nom\":\"m\",\"role\":\"financeur\",\"perimetre\":{\"sirens\":[\"215800624\"]}}";
    }
    if (payload) {
        size_t n = 0;
        while (headers[n])
            n++;
        headers[n] = "Content-Type: application/json";
    }
    const char *const *h = auth || headers[0] ? headers : NULL;
    struct http_response r;
    http_request(method, url, h, payload, payload ? strlen(payload) : 0, &r);
    long status = r.status;
    http_response_release(&r);
    return status;
}

static int expected_status(const char *method, const char *path, const char *action, int who,
                           int outside, bool *known)
{
    *known = true;
    if (strcmp(method, "GET") == 0 && strstr(path, "/habilitations/:id"))
        return read_one[who][outside];
    if (strcmp(method, "POST") == 0 && strstr(path, "/clients/:id/secret"))
        return who == WHO_ANCT ? 200 : 403;
    for (size_t i = 0; i < sizeof expectations / sizeof expectations[0]; i++)
        if (strcmp(expectations[i].method, method) == 0 &&
            strcmp(expectations[i].action, action) == 0)
            return expectations[i].status[who][outside];
    *known = false;
    return 0;
}

Test(matrice, every_route_every_role_inside_and_outside, .timeout = 0)
{
    const char *bin = getenv("PVD_TEST_SERVER_BIN");
    cr_assert(bin && *bin, "PVD_TEST_SERVER_BIN must name the pvd-api binary");
    char cmd[600], line[400];
    snprintf(cmd, sizeof cmd, "%s routes --details", bin);
    FILE *p = popen(cmd, "r");
    cr_assert(p);
    setup_fixtures();
    char *token = token_for("sans-habilitation-matrice");
    char no_habilitation[4400];
    token_header(no_habilitation, sizeof no_habilitation, token);
    free(token);
    int checked = 0, routes = 0;
    while (fgets(line, sizeof line, p)) {
        char method[16], path[200], access[16], action[64];
        if (sscanf(line, "%15s %199s %15s %63s", method, path, access, action) != 4)
            continue;
        if (strcmp(access, "public") == 0)
            continue;
        routes++;
        /* No credentials: 401, whatever the route. */
        cr_assert_eq(exercise(method, path, action, NULL), 401, "%s %s without a token", method,
                     path);
        /* A valid token without habilitation: 403, except /moi. */
        long none = exercise(method, path, action, no_habilitation);
        cr_assert_eq(none, strcmp(access, "identifie") == 0 ? 200 : 403,
                     "%s %s with no habilitation: %ld", method, path, none);
        for (int w = 0; w < WHO__COUNT; w++) {
            for (int o = 0; o < 2; o++) {
                bool known;
                int want = expected_status(method, path, action, w, o, &known);
                cr_assert(known, "route %s %s (%s) has no row in the authorization matrix", method,
                          path, action);
                long got = exercise(method, path, action, fixtures[w][o].header);
                cr_assert_eq(got, want, "%s %s as %s %s: got %ld, want %d", method, path,
                             who_names[w], o ? "outside" : "inside", got, want);
                checked++;
            }
        }
    }
    pclose(p);
    cr_assert_gt(routes, 10, "the route table was read");
    cr_log_info("authorization matrix: %d routes, %d role×perimeter cases", routes, checked);
}
