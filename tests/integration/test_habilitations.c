/* Habilitations and the journal over HTTP: who may grant what, on which
 * perimeter (R43), the refusals, revocation with If-Match, and exactly one
 * journal row per mutation with its before/after. Each test uses subjects of
 * its own (tests run in parallel against one database). */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/http_client.h"
#include "../support/tokens.h"

#define ADMIN "admin-initial"
/* Real communes of the referential: 58062 Château-Chinon (Ville), Nièvre (58);
 * 69248 Thizy-les-Bourgs, Rhône (69). */
#define SIREN_58 "215800624"
#define SIREN_69 "200033652"

struct caller {
    char *token;
    char header[4400];
};

static void caller_init(struct caller *c, const char *sub)
{
    c->token = token_for(sub);
    token_header(c->header, sizeof c->header, c->token);
}

static void caller_release(struct caller *c)
{
    free(c->token);
}

static void call(const struct caller *c, const char *method, const char *path, const char *body,
                 const char *extra_header, struct http_response *r)
{
    const char *headers[4] = {c->header, NULL, NULL, NULL};
    size_t n = 1;
    if (body)
        headers[n++] = "Content-Type: application/json";
    if (extra_header)
        headers[n++] = extra_header;
    http_request(method, path, headers, body, body ? strlen(body) : 0, r);
}

/* POSTs a habilitation; returns the response (caller releases). */
static void grant(const struct caller *c, const char *subject, const char *role,
                  const char *perimetre, struct http_response *r)
{
    char body[1024];
    snprintf(body, sizeof body,
             "{\"issuer\":\"%s\",\"subject\":\"%s\",\"role\":\"%s\",\"perimetre\":%s}",
             token_issuer(), subject, role, perimetre);
    call(c, "POST", "/api/v1/habilitations", body, NULL, r);
}

static char *grant_ok(const struct caller *c, const char *subject, const char *role,
                      const char *perimetre)
{
    struct http_response r;
    grant(c, subject, role, perimetre, &r);
    cr_assert_eq(r.status, 201, "grant %s %s: " HTTP_BODY, role, perimetre, r.body);
    const char *id = json_string_value(json_object_get(r.json, "id"));
    cr_assert(id);
    char location[80];
    snprintf(location, sizeof location, "/api/v1/habilitations/%s", id);
    cr_assert_str_eq(http_header(&r, "Location"), location);
    cr_assert_not_null(http_header(&r, "ETag"));
    char *copy = strdup(id);
    http_response_release(&r);
    return copy;
}

/* Journal rows about one resource, read directly from PostgreSQL. */
static int journal_rows(const char *resource_id, const char *action)
{
    const char *url = getenv("PVD_TEST_DATABASE_URL");
    cr_assert(url, "PVD_TEST_DATABASE_URL must be set");
    PGconn *db = PQconnectdb(url);
    cr_assert_eq(PQstatus(db), CONNECTION_OK, "%s", PQerrorMessage(db));
    const char *params[2] = {resource_id, action};
    PGresult *res = PQexecParams(db,
                                 "SELECT count(*) FROM journal WHERE ressource_id = $1 AND "
                                 "($2::text IS NULL OR action = $2)",
                                 2, NULL, params, NULL, NULL, 0);
    cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s", PQerrorMessage(db));
    int n = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    PQfinish(db);
    return n;
}

Test(habilitations, admin_grants_a_prefecture_and_the_journal_records_it)
{
    struct caller admin, pref;
    char sub[64];
    token_unique_subject(sub, sizeof sub, "pref58");
    caller_init(&admin, ADMIN);
    char *id = grant_ok(&admin, sub, "prefecture_instructeur", "{\"departements\":[\"58\"]}");
    cr_assert_eq(journal_rows(id, NULL), 1, "exactly one journal row per mutation");
    cr_assert_eq(journal_rows(id, "habilitation.accorder"), 1);

    caller_init(&pref, sub);
    struct http_response r;
    call(&pref, "GET", "/api/v1/moi", NULL, NULL, &r);
    http_expect_json_ok(&r);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "role")), "prefecture_instructeur");
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "habilitation_id")), id);
    http_response_release(&r);

    /* The journal entry, read through the API by the administrator. */
    char path[160];
    snprintf(path, sizeof path, "/api/v1/journal?ressource_type=habilitation&ressource_id=%s", id);
    call(&admin, "GET", path, NULL, NULL, &r);
    http_expect_json_ok(&r);
    json_t *elements = json_object_get(r.json, "elements");
    cr_assert_eq(json_array_size(elements), 1, HTTP_BODY, r.body);
    json_t *e = json_array_get(elements, 0);
    cr_assert_str_eq(json_string_value(json_object_get(e, "action")), "habilitation.accorder");
    cr_assert(json_is_null(json_object_get(e, "avant")));
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(e, "apres"), "subject")),
                     sub);
    cr_assert_str_eq(json_string_value(json_object_get(e, "acteur_subject")), ADMIN);
    cr_assert_str_eq(json_string_value(json_object_get(e, "role")), "anct_national");
    http_response_release(&r);
    free(id);
    caller_release(&admin);
    caller_release(&pref);
}

Test(habilitations, prefecture_grants_collectivite_roles_inside_its_departements_only)
{
    struct caller admin, pref;
    char pref_sub[64], agent_sub[64], other_sub[64];
    token_unique_subject(pref_sub, sizeof pref_sub, "pref58");
    token_unique_subject(agent_sub, sizeof agent_sub, "agent58");
    token_unique_subject(other_sub, sizeof other_sub, "agent69");
    caller_init(&admin, ADMIN);
    free(grant_ok(&admin, pref_sub, "prefecture_instructeur", "{\"departements\":[\"58\"]}"));
    caller_init(&pref, pref_sub);

    char *id = grant_ok(&pref, agent_sub, "collectivite_agent", "{\"sirens\":[\"" SIREN_58 "\"]}");
    struct http_response r;
    /* R43: a commune of the Rhône is outside the Nièvre préfecture's perimeter. */
    grant(&pref, other_sub, "collectivite_agent", "{\"sirens\":[\"" SIREN_69 "\"]}", &r);
    http_expect_problem(&r, 403, "interdit");
    http_response_release(&r);
    /* Nobody grants above their own rank. */
    grant(&pref, other_sub, "anct_national", "{}", &r);
    http_expect_problem(&r, 403, "interdit");
    http_response_release(&r);
    grant(&pref, other_sub, "prefecture_instructeur", "{\"departements\":[\"58\"]}", &r);
    http_expect_problem(&r, 403, "interdit");
    http_response_release(&r);
    grant(&pref, other_sub, "lecteur_national", "{}", &r);
    http_expect_problem(&r, 403, "interdit");
    http_response_release(&r);
    /* A national role has an empty perimeter. */
    grant(&admin, other_sub, "lecteur_national", "{\"departements\":[\"58\"]}", &r);
    http_expect_problem(&r, 422, "regle-non-respectee");
    cr_assert_str_eq(json_string_value(json_object_get(
                         json_array_get(json_object_get(r.json, "erreurs"), 0), "code")),
                     "perimetre-incompatible", HTTP_BODY, r.body);
    http_response_release(&r);

    /* It reads what it granted, and lists only habilitations of its départements. */
    char path[120];
    snprintf(path, sizeof path, "/api/v1/habilitations/%s", id);
    call(&pref, "GET", path, NULL, NULL, &r);
    http_expect_json_ok(&r);
    http_response_release(&r);
    call(&pref, "GET", "/api/v1/habilitations?limite=500", NULL, NULL, &r);
    http_expect_json_ok(&r);
    size_t i;
    json_t *h;
    bool seen = false;
    json_array_foreach(json_object_get(r.json, "elements"), i, h)
    {
        const char *role = json_string_value(json_object_get(h, "role"));
        cr_assert(strcmp(role, "anct_national") != 0, "an anct habilitation is outside 58");
        seen = seen || strcmp(json_string_value(json_object_get(h, "id")), id) == 0;
    }
    cr_assert(seen, "the list shows the collectivité habilitation granted in 58");
    http_response_release(&r);
    free(id);
    caller_release(&admin);
    caller_release(&pref);
}

Test(habilitations, another_departement_does_not_see_it)
{
    struct caller admin, pref42;
    char sub42[64], agent[64];
    token_unique_subject(sub42, sizeof sub42, "pref42");
    token_unique_subject(agent, sizeof agent, "agent58");
    caller_init(&admin, ADMIN);
    free(grant_ok(&admin, sub42, "prefecture_instructeur", "{\"departements\":[\"42\"]}"));
    char *id = grant_ok(&admin, agent, "collectivite_agent", "{\"sirens\":[\"" SIREN_58 "\"]}");
    caller_init(&pref42, sub42);
    char path[120];
    snprintf(path, sizeof path, "/api/v1/habilitations/%s", id);
    struct http_response r;
    call(&pref42, "GET", path, NULL, NULL, &r);
    http_expect_problem(&r, 404, "ressource-introuvable");
    http_response_release(&r);
    call(&pref42, "DELETE", path, NULL, "If-Match: *", &r);
    http_expect_problem(&r, 404, "ressource-introuvable");
    http_response_release(&r);
    free(id);
    caller_release(&admin);
    caller_release(&pref42);
}

Test(habilitations, revocation_needs_the_current_etag_and_is_journaled)
{
    struct caller admin;
    char sub[64];
    token_unique_subject(sub, sizeof sub, "agent");
    caller_init(&admin, ADMIN);
    char *id = grant_ok(&admin, sub, "collectivite_elu", "{\"sirens\":[\"" SIREN_58 "\"]}");
    char path[120];
    snprintf(path, sizeof path, "/api/v1/habilitations/%s", id);
    struct http_response r;
    call(&admin, "DELETE", path, NULL, NULL, &r);
    http_expect_problem(&r, 428, "precondition-requise");
    http_response_release(&r);
    call(&admin, "DELETE", path, NULL, "If-Match: \"0123456789abcdef\"", &r);
    http_expect_problem(&r, 412, "precondition-echouee");
    http_response_release(&r);
    call(&admin, "GET", path, NULL, NULL, &r);
    char if_match[64];
    snprintf(if_match, sizeof if_match, "If-Match: %s", http_header(&r, "ETag"));
    http_response_release(&r);
    call(&admin, "DELETE", path, NULL, if_match, &r);
    http_expect_json_ok(&r);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "etat")), "revoquee");
    http_response_release(&r);
    call(&admin, "DELETE", path, NULL, "If-Match: *", &r);
    http_expect_problem(&r, 409, "conflit");
    http_response_release(&r);
    cr_assert_eq(journal_rows(id, NULL), 2, "grant + revoke = two rows, refusals none");
    cr_assert_eq(journal_rows(id, "habilitation.revoquer"), 1);
    /* The revoked identity no longer has a habilitation. */
    struct caller gone;
    caller_init(&gone, sub);
    call(&gone, "GET", "/api/v1/habilitations", NULL, NULL, &r);
    http_expect_problem(&r, 403, "interdit");
    http_response_release(&r);
    caller_release(&gone);
    free(id);
    caller_release(&admin);
}

Test(habilitations, bad_bodies_and_broken_rules_write_nothing)
{
    struct caller admin;
    char sub[64];
    token_unique_subject(sub, sizeof sub, "refus");
    caller_init(&admin, ADMIN);
    struct http_response r;
    char body[512];
    snprintf(body, sizeof body,
             "{\"issuer\":\"%s\",\"subject\":\"%s\",\"role\":\"maire\",\"perimetre\":{"
             "\"departements\":[\"20\"]},\"valide_du\":\"2023-02-29\",\"zzz\":1}",
             token_issuer(), sub);
    call(&admin, "POST", "/api/v1/habilitations", body, NULL, &r);
    http_expect_problem(&r, 400, "champs-invalides");
    json_t *errs = json_object_get(r.json, "erreurs");
    cr_assert_geq(json_array_size(errs), 4, "every bad field: " HTTP_BODY, r.body);
    http_response_release(&r);
    grant(&admin, sub, "prefecture_instructeur", "{\"sirens\":[\"" SIREN_58 "\"]}", &r);
    http_expect_problem(&r, 422, "regle-non-respectee");
    http_response_release(&r);
    grant(&admin, sub, "collectivite_agent", "{\"sirens\":[\"732829320\"]}", &r);
    http_expect_problem(&r, 422, "regle-non-respectee");
    http_response_release(&r);
    call(&admin, "POST", "/api/v1/habilitations", "[1]", NULL, &r);
    http_expect_problem(&r, 400, "json-invalide");
    http_response_release(&r);
    const char *text_headers[] = {admin.header, "Content-Type: text/plain", NULL};
    http_request("POST", "/api/v1/habilitations", text_headers, "x", 1, &r);
    http_expect_problem(&r, 415, "type-media-non-supporte");
    http_response_release(&r);
    /* Nothing was written for this subject. */
    char path[200];
    snprintf(path, sizeof path, "/api/v1/habilitations?subject=%s", sub);
    call(&admin, "GET", path, NULL, NULL, &r);
    http_expect_json_ok(&r);
    cr_assert_eq(json_array_size(json_object_get(r.json, "elements")), 0);
    http_response_release(&r);
    /* A second active habilitation for one identity is a conflict. */
    free(grant_ok(&admin, sub, "collectivite_agent", "{\"sirens\":[\"" SIREN_58 "\"]}"));
    grant(&admin, sub, "collectivite_agent", "{\"sirens\":[\"" SIREN_58 "\"]}", &r);
    http_expect_problem(&r, 409, "conflit");
    http_response_release(&r);
    caller_release(&admin);
}

Test(habilitations, no_habilitation_means_403_everywhere_but_moi)
{
    struct caller nobody;
    char sub[64];
    token_unique_subject(sub, sizeof sub, "inconnu");
    caller_init(&nobody, sub);
    struct http_response r;
    call(&nobody, "GET", "/api/v1/habilitations", NULL, NULL, &r);
    http_expect_problem(&r, 403, "interdit");
    http_response_release(&r);
    call(&nobody, "GET", "/api/v1/journal", NULL, NULL, &r);
    http_expect_problem(&r, 403, "interdit");
    http_response_release(&r);
    call(&nobody, "GET", "/api/v1/moi", NULL, NULL, &r);
    http_expect_json_ok(&r);
    http_response_release(&r);
    caller_release(&nobody);
}

Test(journal, is_append_only_even_for_the_owner)
{
    const char *url = getenv("PVD_TEST_DATABASE_URL");
    cr_assert(url);
    PGconn *db = PQconnectdb(url);
    cr_assert_eq(PQstatus(db), CONNECTION_OK);
    /* a row the API may list (other tests read the journal): a documented action and type */
    PGresult *res = PQexec(db, "INSERT INTO journal (acteur, action, ressource_type, "
                               "ressource_id) VALUES ('systeme:test', 'habilitation.accorder', "
                               "'habilitation', 'essai-ajout-seul')");
    cr_assert_eq(PQresultStatus(res), PGRES_COMMAND_OK, "%s", PQerrorMessage(db));
    PQclear(res);
    res = PQexec(db,
                 "UPDATE journal SET acteur = 'falsifie' WHERE ressource_id = 'essai-ajout-seul'");
    cr_assert_eq(PQresultStatus(res), PGRES_FATAL_ERROR, "UPDATE must be refused");
    PQclear(res);
    res = PQexec(db, "DELETE FROM journal WHERE ressource_id = 'essai-ajout-seul'");
    cr_assert_eq(PQresultStatus(res), PGRES_FATAL_ERROR, "DELETE must be refused");
    PQclear(res);
    PQfinish(db);
}

Test(journal, bad_parameters_are_400)
{
    struct caller admin;
    caller_init(&admin, ADMIN);
    struct http_response r;
    call(&admin, "GET", "/api/v1/journal?du=hier", NULL, NULL, &r);
    http_expect_problem(&r, 400, "parametre-invalide");
    http_response_release(&r);
    call(&admin, "GET", "/api/v1/journal?curseur=abc", NULL, NULL, &r);
    http_expect_problem(&r, 400, "curseur-invalide");
    http_response_release(&r);
    call(&admin, "GET", "/api/v1/journal?du=2026-01-01T00:00:00Z&limite=1", NULL, NULL, &r);
    http_expect_json_ok(&r);
    http_response_release(&r);
    caller_release(&admin);
}

/* A cursor is not signed: one made by hand, well formed for its list and
 * filters (none), whose key SQL cannot take is refused as a cursor — never
 * handed to PostgreSQL (22003, 22P02): not a 500, nor a 503 that monitoring
 * reads as an outage. */
Test(journal, hand_made_cursor_keys_sql_cannot_take_are_400_not_5xx)
{
    static const char *const paths[] = {
        /* base64url("v1|journal|2cc02ab9|99999999999999999999999"): beyond bigint
         * (fingerprint of "t=|i=|a=|du=|au=") */
        "/api/v1/journal?curseur=djF8am91cm5hbHwyY2MwMmFiOXw5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OQ",
        /* base64url("v1|habilitations|18e7d4d8|pas-un-uuid") (fingerprint of
         * "i=|s=|r=|e=") */
        "/api/v1/habilitations?curseur=djF8aGFiaWxpdGF0aW9uc3wxOGU3ZDRkOHxwYXMtdW4tdXVpZA",
    };
    struct caller admin;
    caller_init(&admin, ADMIN);
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        struct http_response r;
        call(&admin, "GET", paths[i], NULL, NULL, &r);
        http_expect_problem(&r, 400, "curseur-invalide");
        http_response_release(&r);
    }
    caller_release(&admin);
}

/* Idempotency-Key (api.md): the same POST replayed returns the first response
 * and creates nothing; the same key with another body is 422. */
Test(habilitations, idempotency_key_replays_the_first_response)
{
    struct caller admin;
    char sub[64], other[64], body[512], other_body[512], key[96];
    token_unique_subject(sub, sizeof sub, "idem");
    token_unique_subject(other, sizeof other, "idem-autre");
    token_unique_subject(key, sizeof key, "Idempotency-Key: cle");
    caller_init(&admin, ADMIN);
    snprintf(body, sizeof body,
             "{\"issuer\":\"%s\",\"subject\":\"%s\",\"role\":\"collectivite_agent\","
             "\"perimetre\":{\"sirens\":[\"" SIREN_58 "\"]}}",
             token_issuer(), sub);
    snprintf(other_body, sizeof other_body,
             "{\"issuer\":\"%s\",\"subject\":\"%s\",\"role\":\"collectivite_agent\","
             "\"perimetre\":{\"sirens\":[\"" SIREN_58 "\"]}}",
             token_issuer(), other);
    struct http_response first, again, r;
    call(&admin, "POST", "/api/v1/habilitations", body, key, &first);
    cr_assert_eq(first.status, 201, HTTP_BODY, first.body);
    call(&admin, "POST", "/api/v1/habilitations", body, key, &again);
    cr_assert_eq(again.status, 201, "the replay has the first status: " HTTP_BODY, again.body);
    cr_assert_str_eq(again.body, first.body, "the replay has the first body");
    cr_assert_str_eq(http_header(&again, "Location"), http_header(&first, "Location"));
    cr_assert_str_eq(http_header(&again, "Idempotent-Replayed"), "true");
    const char *id = json_string_value(json_object_get(first.json, "id"));
    cr_assert_eq(journal_rows(id, NULL), 1, "the replay wrote nothing");
    call(&admin, "POST", "/api/v1/habilitations", other_body, key, &r);
    http_expect_problem(&r, 422, "cle-idempotence-reutilisee");
    http_response_release(&r);
    call(&admin, "POST", "/api/v1/habilitations", other_body, "Idempotency-Key: deux mots", &r);
    cr_assert_eq(r.status, 400, "a key with a space is refused: " HTTP_BODY, r.body);
    http_response_release(&r);
    http_response_release(&first);
    http_response_release(&again);
    caller_release(&admin);
}
