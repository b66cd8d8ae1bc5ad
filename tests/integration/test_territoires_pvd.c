/* Territoires PVD over HTTP (issue 4 §1): creation and reading, every rule's
 * refusal (R1, R3, R42, id_pvd, a commune in two territoires) or warning
 * (R2), R43 for préfectures, PATCH with If-Match, lists and the journal.
 * Reserved data (tests run in parallel on one database): one territoire and
 * commune per test, id_pvd numbers ≥ 900, never départements 58, 71, 03, 39
 * or 15. Real referential facts (millésime 2026) used below: 01001
 * L'Abergement-Clémenciat in CA 200069193; 07001 Accons and 07006 in CC
 * 200041465; 12001 Agen-d'Aveyron in 241200658; 84054 L'Isle-sur-la-Sorgue
 * (20 244 inhabitants); 97502 Saint-Pierre (Saint-Pierre-et-Miquelon, a COM);
 * 32027 (Gers) in the CC d'Aire-sur-l'Adour 200030435, whose other members
 * are in the Landes (40). */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/http_client.h"
#include "../support/tokens.h"

struct caller {
    char header[4400];
};

static void caller_init(struct caller *c, const char *sub)
{
    char *token = token_for(sub);
    token_header(c->header, sizeof c->header, token);
    free(token);
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

static void admin(struct caller *c)
{
    caller_init(c, "admin-initial");
}

/* A préfecture_instructeur of these départements (JSON array text). */
static void prefecture(struct caller *c, const char *departements)
{
    struct caller a;
    char sub[80], body[600];
    admin(&a);
    token_unique_subject(sub, sizeof sub, "pref-terr");
    snprintf(body, sizeof body,
             "{\"issuer\":\"%s\",\"subject\":\"%s\",\"role\":\"prefecture_instructeur\","
             "\"perimetre\":{\"departements\":%s}}",
             token_issuer(), sub, departements);
    struct http_response r;
    call(&a, "POST", "/api/v1/habilitations", body, NULL, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    http_response_release(&r);
    caller_init(c, sub);
}

/* Asserts a 422 regle-non-respectee carrying code at pointer. */
static void expect_rule(const struct http_response *r, const char *regle, const char *code,
                        const char *pointer)
{
    cr_assert_eq(r->status, 422, HTTP_BODY, r->body);
    cr_assert_str_eq(json_string_value(json_object_get(r->json, "code")), "regle-non-respectee");
    if (regle)
        cr_assert_str_eq(json_string_value(json_object_get(r->json, "regle")), regle, HTTP_BODY,
                         r->body);
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(r->json, "erreurs"), i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "code")), code) == 0 &&
            strcmp(json_string_value(json_object_get(e, "pointeur")), pointer) == 0)
            return;
    }
    cr_assert_fail("no error %s at %s: " HTTP_BODY, code, pointer, r->body);
}

static long journal_count(const struct caller *a, const char *id_pvd, const char *action)
{
    char path[200];
    struct http_response r;
    snprintf(path, sizeof path, "/api/v1/journal?ressource_type=territoire&ressource_id=%s",
             id_pvd);
    call(a, "GET", path, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    long n = 0;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(r.json, "elements"), i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "action")), action) == 0)
            n++;
    }
    http_response_release(&r);
    return n;
}

Test(territoires_pvd, create_then_read_with_etag_and_journal)
{
    struct caller a;
    struct http_response r;
    admin(&a);
    call(&a, "POST", "/api/v1/territoires",
         "{\"id_pvd\":\"pvd-84-01-901\",\"nom\":\"L'Abergement-Clémenciat\","
         "\"communes\":[\"01001\"],\"date_designation\":\"2020-12-15\"}",
         NULL, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    cr_assert_str_eq(http_header(&r, "Location"), "/api/v1/territoires/pvd-84-01-901");
    const char *etag = http_header(&r, "ETag");
    cr_assert_not_null(etag);
    char etag_copy[64];
    snprintf(etag_copy, sizeof etag_copy, "%s", etag);
    json_t *t = r.json;
    cr_assert_str_eq(json_string_value(json_object_get(t, "etat")), "designe");
    cr_assert_str_eq(json_string_value(json_object_get(t, "code_departement")), "01");
    cr_assert_str_eq(json_string_value(json_object_get(t, "code_region")), "84");
    cr_assert_str_eq(json_string_value(json_object_get(t, "date_designation")), "2020-12-15");
    json_t *c = json_array_get(json_object_get(t, "communes"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(c, "code_insee")), "01001");
    cr_assert_str_eq(json_string_value(json_object_get(c, "siren")), "210100012");
    /* EPCIs default to the communes' in the referential. */
    json_t *e = json_array_get(json_object_get(t, "epcis"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(e, "siren")), "200069193");
    cr_assert_eq(json_array_size(json_object_get(t, "avertissements")), 0);
    http_response_release(&r);

    http_get("/api/v1/territoires/pvd-84-01-901", &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_str_eq(http_header(&r, "ETag"), etag_copy);
    http_response_release(&r);
    char inm[100];
    snprintf(inm, sizeof inm, "If-None-Match: %s", etag_copy);
    const char *h[] = {inm, NULL};
    http_request("GET", "/api/v1/territoires/pvd-84-01-901", h, NULL, 0, &r);
    cr_assert_eq(r.status, 304);
    http_response_release(&r);
    cr_assert_eq(journal_count(&a, "pvd-84-01-901", "territoire.creer"), 1);

    /* The same id again: 409, nothing written. */
    call(&a, "POST", "/api/v1/territoires",
         "{\"id_pvd\":\"pvd-84-01-901\",\"communes\":[\"01001\"]}", NULL, &r);
    cr_assert_eq(r.status, 409, HTTP_BODY, r.body);
    http_response_release(&r);
    cr_assert_eq(journal_count(&a, "pvd-84-01-901", "territoire.creer"), 1);
}

Test(territoires_pvd, grouped_candidature_and_a_commune_in_one_territoire_only)
{
    struct caller a;
    struct http_response r;
    admin(&a);
    call(&a, "POST", "/api/v1/territoires",
         "{\"id_pvd\":\"pvd-84-07-901\",\"communes\":[\"07001\",\"07006\"],"
         "\"epcis\":[\"200041465\"]}",
         NULL, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    cr_assert_eq(json_array_size(json_object_get(r.json, "communes")), 2);
    http_response_release(&r);
    call(&a, "POST", "/api/v1/territoires",
         "{\"id_pvd\":\"pvd-84-07-902\",\"communes\":[\"07012\",\"07006\"]}", NULL, &r);
    expect_rule(&r, NULL, "commune-deja-dans-un-territoire", "/communes/1");
    http_response_release(&r);
    http_get("/api/v1/territoires/pvd-84-07-902", &r);
    cr_assert_eq(r.status, 404, "nothing written");
    http_response_release(&r);
}

Test(territoires_pvd, r1_each_commune_member_of_one_of_its_epcis)
{
    struct caller a;
    struct http_response r;
    admin(&a);
    call(&a, "POST", "/api/v1/territoires",
         "{\"id_pvd\":\"pvd-76-12-901\",\"communes\":[\"12001\"],\"epcis\":[\"200041465\"]}", NULL,
         &r);
    expect_rule(&r, "R1", "commune-hors-epci", "/communes/0");
    http_response_release(&r);
    call(&a, "POST", "/api/v1/territoires", "{\"id_pvd\":\"pvd-76-12-901\",\"communes\":[]}", NULL,
         &r);
    expect_rule(&r, "R1", "territoire-sans-commune", "/communes");
    http_response_release(&r);
    http_get("/api/v1/territoires/pvd-76-12-901", &r);
    cr_assert_eq(r.status, 404, "nothing written");
    http_response_release(&r);
}

Test(territoires_pvd, r2_population_above_20000_is_a_warning_only)
{
    struct caller a;
    struct http_response r;
    admin(&a);
    call(&a, "POST", "/api/v1/territoires",
         "{\"id_pvd\":\"pvd-93-84-901\",\"communes\":[\"84054\"]}", NULL, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    json_t *w = json_array_get(json_object_get(r.json, "avertissements"), 0);
    cr_assert_not_null(w, HTTP_BODY, r.body);
    cr_assert_str_eq(json_string_value(json_object_get(w, "regle")), "R2");
    cr_assert_str_eq(json_string_value(json_object_get(w, "code")), "population-superieure-seuil");
    cr_assert_str_eq(json_string_value(json_object_get(w, "pointeur")), "/communes/0");
    http_response_release(&r);
    http_get("/api/v1/territoires?commune=84054", &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    json_t *t = json_array_get(json_object_get(r.json, "elements"), 0);
    cr_assert_eq(json_array_size(json_object_get(t, "avertissements")), 1, HTTP_BODY, r.body);
    http_response_release(&r);
}

Test(territoires_pvd, r3_no_commune_outside_metropole_and_drom)
{
    struct caller a;
    struct http_response r;
    admin(&a);
    call(&a, "POST", "/api/v1/territoires",
         "{\"id_pvd\":\"pvd-97-975-901\",\"communes\":[\"97502\"]}", NULL, &r);
    expect_rule(&r, NULL, "commune-hors-programme", "/communes/0");
    http_response_release(&r);
}

Test(territoires_pvd, r42_unknown_commune_unknown_epci_and_luhn)
{
    struct caller a;
    struct http_response r;
    admin(&a);
    call(&a, "POST", "/api/v1/territoires",
         "{\"id_pvd\":\"pvd-75-23-909\",\"communes\":[\"23999\"],\"epcis\":[\"200067189\"]}", NULL,
         &r);
    expect_rule(&r, "R42", "commune-inconnue", "/communes/0");
    http_response_release(&r);
    call(&a, "POST", "/api/v1/territoires",
         "{\"id_pvd\":\"pvd-75-23-909\",\"communes\":[\"23002\"],\"epcis\":[\"200067188\"]}", NULL,
         &r);
    expect_rule(&r, "R42", "siren-invalide", "/epcis/0");
    http_response_release(&r);
    call(&a, "POST", "/api/v1/territoires",
         "{\"id_pvd\":\"pvd-75-23-909\",\"communes\":[\"23002\"],\"epcis\":[\"215800624\"]}", NULL,
         &r);
    expect_rule(&r, "R42", "epci-inconnu", "/epcis/0");
    http_response_release(&r);
}

Test(territoires_pvd, bad_input_is_400_with_a_pointer)
{
    struct caller a;
    struct http_response r;
    admin(&a);
    call(
        &a, "POST", "/api/v1/territoires",
        "{\"id_pvd\":\"pvd-84-3873-9\",\"communes\":[\"1001\"],\"date_designation\":\"2023-02-29\","
        "\"x\":1}",
        NULL, &r);
    cr_assert_eq(r.status, 400, HTTP_BODY, r.body);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "code")), "champs-invalides");
    const char *want[] = {"/id_pvd", "/communes/0", "/date_designation", "/x"};
    for (size_t k = 0; k < 4; k++) {
        bool found = false;
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(r.json, "erreurs"), i, e)
        {
            found =
                found || strcmp(json_string_value(json_object_get(e, "pointeur")), want[k]) == 0;
        }
        cr_assert(found, "%s: " HTTP_BODY, want[k], r.body);
    }
    http_response_release(&r);
    http_get("/api/v1/territoires/pvd-1-2", &r);
    cr_assert_eq(r.status, 400, HTTP_BODY, r.body);
    http_response_release(&r);
}

Test(territoires_pvd, id_pvd_coherent_with_its_communes)
{
    struct caller a;
    struct http_response r;
    admin(&a);
    /* Aveyron (12) is in Occitanie (76), not 84. */
    call(&a, "POST", "/api/v1/territoires",
         "{\"id_pvd\":\"pvd-84-12-901\",\"communes\":[\"12002\"]}", NULL, &r);
    expect_rule(&r, NULL, "id-pvd-incoherent", "/id_pvd");
    http_response_release(&r);
    /* The département of the id is none of its communes'. */
    call(&a, "POST", "/api/v1/territoires",
         "{\"id_pvd\":\"pvd-76-46-901\",\"communes\":[\"12002\"]}", NULL, &r);
    expect_rule(&r, NULL, "id-pvd-incoherent", "/id_pvd");
    http_response_release(&r);
}

Test(territoires_pvd, r43_prefecture_of_the_departement_only_never_of_the_epci)
{
    struct caller landes, gers, a;
    struct http_response r;
    admin(&a);
    prefecture(&landes, "[\"40\"]");
    prefecture(&gers, "[\"32\"]");
    const char *body = "{\"id_pvd\":\"pvd-76-32-901\",\"communes\":[\"32027\"],"
                       "\"epcis\":[\"200030435\"]}";
    /* The EPCI straddles the Gers and the Landes: the Landes may not act. */
    call(&landes, "POST", "/api/v1/territoires", body, NULL, &r);
    cr_assert_eq(r.status, 403, HTTP_BODY, r.body);
    http_response_release(&r);
    call(&gers, "POST", "/api/v1/territoires", body, NULL, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    char im[100];
    snprintf(im, sizeof im, "If-Match: %s", http_header(&r, "ETag"));
    http_response_release(&r);
    call(&landes, "PATCH", "/api/v1/territoires/pvd-76-32-901", "{\"nom\":\"Aire\"}", im, &r);
    cr_assert_eq(r.status, 403, HTTP_BODY, r.body);
    http_response_release(&r);
    call(&gers, "PATCH", "/api/v1/territoires/pvd-76-32-901", "{\"nom\":\"Le Houga\"}", im, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    http_response_release(&r);
    cr_assert_eq(journal_count(&a, "pvd-76-32-901", "territoire.modifier"), 1);
}

Test(territoires_pvd, patch_needs_if_match_and_rechecks_every_rule)
{
    struct caller a;
    struct http_response r;
    admin(&a);
    call(&a, "POST", "/api/v1/territoires",
         "{\"id_pvd\":\"pvd-75-23-901\",\"communes\":[\"23001\"]}", NULL, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    char im[100], stale[100];
    snprintf(im, sizeof im, "If-Match: %s", http_header(&r, "ETag"));
    http_response_release(&r);
    call(&a, "PATCH", "/api/v1/territoires/pvd-75-23-901", "{\"nom\":\"Ahun\"}", NULL, &r);
    cr_assert_eq(r.status, 428, HTTP_BODY, r.body);
    http_response_release(&r);
    call(
        &a, "PATCH", "/api/v1/territoires/pvd-75-23-901",
        "{\"nom\":\"Ahun\",\"communes\":[\"23001\",\"23007\"],\"date_designation\":\"2021-03-01\"}",
        im, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_eq(json_array_size(json_object_get(r.json, "communes")), 2);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "nom")), "Ahun");
    snprintf(stale, sizeof stale, "%s", im);
    snprintf(im, sizeof im, "If-Match: %s", http_header(&r, "ETag"));
    http_response_release(&r);
    call(&a, "PATCH", "/api/v1/territoires/pvd-75-23-901", "{\"nom\":\"Autre\"}", stale, &r);
    cr_assert_eq(r.status, 412, HTTP_BODY, r.body);
    http_response_release(&r);
    /* R1 again: a commune of another EPCI. */
    call(&a, "PATCH", "/api/v1/territoires/pvd-75-23-901", "{\"communes\":[\"23001\",\"19001\"]}",
         im, &r);
    expect_rule(&r, "R1", "commune-hors-epci", "/communes/1");
    http_response_release(&r);
    call(&a, "PATCH", "/api/v1/territoires/pvd-75-23-901",
         "{\"date_sortie\":\"2020-01-01\",\"date_designation\":\"2021-03-01\"}", im, &r);
    expect_rule(&r, NULL, "dates-incoherentes", "/date_sortie");
    http_response_release(&r);
    call(&a, "PATCH", "/api/v1/territoires/pvd-75-23-901", "{\"date_sortie\":\"2025-06-30\"}", im,
         &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "etat")), "sorti");
    http_response_release(&r);
    cr_assert_eq(journal_count(&a, "pvd-75-23-901", "territoire.modifier"), 2);
}

Test(territoires_pvd, list_filters_and_keyset_paging)
{
    struct caller a;
    struct http_response r;
    admin(&a);
    call(&a, "POST", "/api/v1/territoires",
         "{\"id_pvd\":\"pvd-75-24-901\",\"communes\":[\"24001\"]}", NULL, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    http_response_release(&r);
    call(&a, "POST", "/api/v1/territoires",
         "{\"id_pvd\":\"pvd-75-24-902\",\"communes\":[\"24002\"]}", NULL, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    http_response_release(&r);
    http_get("/api/v1/territoires?departement=24&limite=1", &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    json_t *t = json_array_get(json_object_get(r.json, "elements"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(t, "id_pvd")), "pvd-75-24-901");
    const char *next = json_string_value(json_object_get(r.json, "suivant"));
    cr_assert_not_null(next, HTTP_BODY, r.body);
    char path[300];
    snprintf(path, sizeof path, "/api/v1/territoires?departement=24&limite=1&curseur=%s", next);
    http_response_release(&r);
    http_get(path, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    t = json_array_get(json_object_get(r.json, "elements"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(t, "id_pvd")), "pvd-75-24-902");
    http_response_release(&r);
    http_get("/api/v1/territoires?epci=200071819&etat=designe", &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_geq(json_array_size(json_object_get(r.json, "elements")), 1, HTTP_BODY, r.body);
    http_response_release(&r);
    http_get("/api/v1/territoires?etat=inconnu", &r);
    cr_assert_eq(r.status, 400, HTTP_BODY, r.body);
    http_response_release(&r);
}
