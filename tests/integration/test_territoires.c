/* Integration tests over HTTP: /api/v1/epci, /api/v1/epci/{siren}, /api/v1/regions and
 * /api/v1/departements. Read-only, parallel-safe.
 *
 * Expected values from @etalab/decoupage-administratif 6.0.0:
 *   node -e 'const D="./node_modules/@etalab/decoupage-administratif/data/";
 *     const c=require(D+"communes.json").filter(x=>x.type=="commune-actuelle");
 *     const e=require(D+"epci.json"), by=new Map(c.map(x=>[x.code,x]));
 *     const deps=E=>[...new Set(E.membres.map(m=>by.get(m.code).departement))].sort();
 *     console.log(e.length, e.filter(E=>deps(E).includes("58")).length,
 *       e.filter(E=>deps(E).includes("89")).length,
 *       require(D+"regions.json").length, require(D+"departements.json").length)'
 * giving 1255 EPCI, 13 with a member in 58, 16 in 89; 26 régions, 109 départements (12 in
 * région 84). 200067130 (CC de Puisaye-Forterre) has members in 58 and 89. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/http_client.h"

static const char *str_at(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static json_t *elements_of(const struct http_response *r)
{
    json_t *e = json_object_get(r->json, "elements");
    cr_assert(json_is_array(e), "\"elements\" should be an array: " HTTP_BODY, r->body);
    return e;
}

static json_int_t total_of(const struct http_response *r)
{
    json_t *t = json_object_get(r->json, "total");
    cr_assert(json_is_integer(t), "\"total\" should be an integer: " HTTP_BODY, r->body);
    return json_integer_value(t);
}

/* Index of the element whose key equals value, or -1. */
static long find_element(const struct http_response *r, const char *key, const char *value)
{
    size_t i;
    json_t *e;
    json_array_foreach(elements_of(r), i, e)
    {
        const char *v = str_at(e, key);
        if (v && strcmp(v, value) == 0)
            return (long)i;
    }
    return -1;
}

static bool array_has_string(const json_t *array, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(array, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
            return true;
    }
    return false;
}

/* Elements sorted strictly by key (binary order), one page, no Link. */
static void expect_single_sorted_page(const struct http_response *r, const char *key, size_t count)
{
    json_t *elements = elements_of(r);
    cr_assert_eq(json_array_size(elements), count, HTTP_BODY, r->body);
    cr_assert_eq(total_of(r), (json_int_t)count);
    cr_assert(json_is_null(json_object_get(r->json, "suivant")), "suivant should be null");
    cr_assert(http_header(r, "Link") == NULL, "one page: no Link header");
    for (size_t i = 1; i < count; i++) {
        const char *a = str_at(json_array_get(elements, i - 1), key);
        const char *b = str_at(json_array_get(elements, i), key);
        cr_assert(a && b && strcmp(a, b) < 0, "not sorted by %s: %s then %s", key, a, b);
    }
}

/* ---- EPCI ---------------------------------------------------------------------------- */

Test(epci, list_total_and_default_page)
{
    struct http_response r;
    http_get("/api/v1/epci", &r);
    http_expect_json_ok(&r);
    cr_assert_eq(total_of(&r), 1255, HTTP_BODY, r.body);
    cr_assert_eq(json_array_size(elements_of(&r)), 50);
    cr_assert_str_eq(str_at(json_array_get(elements_of(&r), 0), "siren"), "200000172");
    cr_assert(json_is_string(json_object_get(r.json, "suivant")));
    cr_assert(http_header(&r, "Link") != NULL, "Link header on a non-last page");
    http_response_release(&r);
}

Test(epci, all_pages_yield_1255_increasing_sirens)
{
    char path[1024] = "/api/v1/epci?limite=500";
    char last[16] = "";
    size_t count = 0, pages = 0;
    for (;;) {
        struct http_response r;
        http_get(path, &r);
        http_expect_json_ok(&r);
        pages++;
        cr_assert_eq(total_of(&r), 1255);
        size_t i;
        json_t *e;
        json_array_foreach(elements_of(&r), i, e)
        {
            const char *siren = str_at(e, "siren");
            cr_assert(siren && strlen(siren) == 9, "bad siren on page %zu", pages);
            cr_assert(strcmp(last, siren) < 0, "sirens not increasing: %s then %s", last, siren);
            snprintf(last, sizeof last, "%s", siren);
            count++;
        }
        const char *next = str_at(r.json, "suivant");
        if (next == NULL) {
            cr_assert(http_header(&r, "Link") == NULL, "last page: no Link");
            http_response_release(&r);
            break;
        }
        cr_assert(http_header(&r, "Link") != NULL, "non-last page: Link");
        snprintf(path, sizeof path, "/api/v1/epci?limite=500&curseur=%s", next);
        http_response_release(&r);
        cr_assert(pages < 10);
    }
    cr_assert_eq(count, 1255);
    cr_assert_eq(pages, 3);
}

/* An EPCI straddling two départements appears under each of them. */
Test(epci, departement_filter_includes_straddling_epci)
{
    struct http_response r58, r89;
    http_get("/api/v1/epci?departement=58&limite=500", &r58);
    http_get("/api/v1/epci?departement=89&limite=500", &r89);
    http_expect_json_ok(&r58);
    http_expect_json_ok(&r89);
    cr_assert_eq(total_of(&r58), 13, HTTP_BODY, r58.body);
    cr_assert_eq(total_of(&r89), 16, HTTP_BODY, r89.body);
    size_t i;
    json_t *e;
    json_array_foreach(elements_of(&r58), i, e)
    {
        cr_assert(array_has_string(json_object_get(e, "departements"), "58"),
                  "EPCI %s listed under 58 without a member there", str_at(e, "siren"));
    }
    long a = find_element(&r58, "siren", "200067130");
    long b = find_element(&r89, "siren", "200067130");
    cr_assert(a >= 0 && b >= 0, "CC de Puisaye-Forterre should be listed under 58 and 89");
    json_t *deps = json_object_get(json_array_get(elements_of(&r58), (size_t)a), "departements");
    cr_assert(json_array_size(deps) == 2 && array_has_string(deps, "58") &&
                  array_has_string(deps, "89"),
              "departements of 200067130 should be [58, 89]");
    http_response_release(&r58);
    http_response_release(&r89);
}

Test(epci, list_refusals)
{
    const char *paths[] = {"/api/v1/epci?departement=20", "/api/v1/epci?limite=0",
                           "/api/v1/epci?limite=501", "/api/v1/epci?region=84"};
    const char *pointers[] = {"/departement", "/limite", "/limite", "/region"};
    const char *codes[] = {"format-invalide", "hors-bornes", "hors-bornes", "parametre-inconnu"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        struct http_response r;
        http_get(paths[i], &r);
        http_expect_param_error(&r, pointers[i], codes[i]);
        http_response_release(&r);
    }
}

Test(epci, cursor_bound_to_departement)
{
    struct http_response r;
    http_get("/api/v1/epci?departement=58&limite=5", &r);
    http_expect_json_ok(&r);
    const char *next = str_at(r.json, "suivant");
    cr_assert(next != NULL);
    char path[800];
    snprintf(path, sizeof path, "/api/v1/epci?departement=69&limite=5&curseur=%s", next);
    http_response_release(&r);
    http_get(path, &r);
    http_expect_param_error(&r, "/curseur", "curseur-invalide");
    http_response_release(&r);
    http_get("/api/v1/epci?curseur=Zm9v", &r);
    http_expect_param_error(&r, "/curseur", "curseur-invalide");
    http_response_release(&r);
}

Test(epci, ouest_rhodanien_with_31_members)
{
    struct http_response r;
    http_get("/api/v1/epci/200040566", &r);
    http_expect_json_ok(&r);
    const json_t *e = r.json;
    cr_assert_str_eq(str_at(e, "siren"), "200040566");
    cr_assert_str_eq(str_at(e, "nom"), "CA de l'Ouest Rhodanien");
    cr_assert_str_eq(str_at(e, "type"), "CA");
    cr_assert_str_eq(str_at(e, "mode_financement"), "FPU");
    cr_assert_eq(json_integer_value(json_object_get(e, "population_totale")), 52085);
    cr_assert_eq(json_integer_value(json_object_get(e, "population_municipale")), 50935);
    cr_assert_eq(json_integer_value(json_object_get(e, "nombre_membres")), 31);
    cr_assert_eq(json_integer_value(json_object_get(e, "millesime")), 2026);
    json_t *deps = json_object_get(e, "departements");
    cr_assert(json_array_size(deps) == 1 && array_has_string(deps, "69"), HTTP_BODY, r.body);
    json_t *membres = json_object_get(e, "membres");
    cr_assert_eq(json_array_size(membres), 31, HTTP_BODY, r.body);
    bool thizy = false;
    for (size_t i = 0; i < json_array_size(membres); i++) {
        const json_t *m = json_array_get(membres, i);
        const char *code = str_at(m, "code_insee");
        if (i > 0)
            cr_assert(strcmp(str_at(json_array_get(membres, i - 1), "code_insee"), code) < 0,
                      "membres not sorted by code_insee");
        if (code && strcmp(code, "69248") == 0) {
            thizy = true;
            cr_assert_str_eq(str_at(m, "nom"), "Thizy-les-Bourgs");
            cr_assert_str_eq(str_at(m, "siren"), "200033652");
            /* INSEE municipal population of the commune, not the DGCL figure */
            cr_assert_eq(json_integer_value(json_object_get(m, "population")), 5771);
        }
    }
    cr_assert(thizy, "69248 should be a member of 200040566");
    const char *etag = http_header(&r, "ETag");
    cr_assert(etag && etag[0] == '"', "EPCI needs a strong ETag");
    char inm[200];
    snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
    const char *headers[] = {inm, NULL};
    struct http_response again;
    http_request("GET", "/api/v1/epci/200040566", headers, NULL, 0, &again);
    cr_assert_eq(again.status, 304, "expected 304, got %ld", again.status);
    cr_assert_eq(again.body_len, 0);
    http_response_release(&again);
    http_response_release(&r);
}

Test(epci, list_element_matches_detail)
{
    struct http_response list, one;
    http_get("/api/v1/epci?departement=69&limite=500", &list);
    http_get("/api/v1/epci/200040566", &one);
    http_expect_json_ok(&list);
    http_expect_json_ok(&one);
    long i = find_element(&list, "siren", "200040566");
    cr_assert(i >= 0, "200040566 should be listed under 69");
    json_t *resume = json_array_get(elements_of(&list), (size_t)i);
    const char *key;
    json_t *value;
    json_object_foreach(resume, key, value)
    {
        cr_assert(json_equal(value, json_object_get(one.json, key)),
                  "member %s differs between the list and the detail", key);
    }
    http_response_release(&list);
    http_response_release(&one);
}

Test(epci, bad_siren_is_400)
{
    const char *paths[] = {"/api/v1/epci/123", "/api/v1/epci/200040567", "/api/v1/epci/abcdefghi",
                           "/api/v1/epci/2000405660"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        struct http_response r;
        http_get(paths[i], &r);
        http_expect_param_error(&r, "/siren", "format-invalide");
        http_response_release(&r);
    }
}

/* 200033652: valid SIREN (of the commune Thizy-les-Bourgs), not an EPCI. */
Test(epci, unknown_valid_siren_is_404)
{
    struct http_response r;
    http_get("/api/v1/epci/200033652", &r);
    http_expect_problem(&r, 404, "ressource-introuvable");
    http_response_release(&r);
}

/* ---- régions and départements --------------------------------------------------------- */

Test(regions, all_26_in_one_page)
{
    struct http_response r;
    http_get("/api/v1/regions", &r);
    http_expect_json_ok(&r);
    expect_single_sorted_page(&r, "code", 26);
    json_t *first = json_array_get(elements_of(&r), 0);
    cr_assert_str_eq(str_at(first, "code"), "01");
    cr_assert_str_eq(str_at(first, "nom"), "Guadeloupe");
    cr_assert_str_eq(str_at(first, "zone"), "drom");
    long i = find_element(&r, "code", "84");
    cr_assert(i >= 0);
    json_t *ara = json_array_get(elements_of(&r), (size_t)i);
    cr_assert_str_eq(str_at(ara, "nom"), "Auvergne-Rhône-Alpes");
    cr_assert_str_eq(str_at(ara, "chef_lieu"), "69123");
    cr_assert_str_eq(str_at(ara, "zone"), "metro");
    http_response_release(&r);
}

Test(regions, no_parameter_accepted)
{
    struct http_response r;
    http_get("/api/v1/regions?limite=10", &r);
    http_expect_param_error(&r, "/limite", "parametre-inconnu");
    http_response_release(&r);
}

Test(departements, all_109_in_binary_order)
{
    struct http_response r;
    http_get("/api/v1/departements", &r);
    http_expect_json_ok(&r);
    expect_single_sorted_page(&r, "code", 109);
    long i29 = find_element(&r, "code", "29"), i2a = find_element(&r, "code", "2A");
    long i2b = find_element(&r, "code", "2B"), i30 = find_element(&r, "code", "30");
    cr_assert(i29 >= 0 && i2a == i29 + 1 && i2b == i2a + 1 && i30 == i2b + 1,
              "expected 29, 2A, 2B, 30 in a row");
    json_t *rhone = json_array_get(elements_of(&r), (size_t)find_element(&r, "code", "69"));
    cr_assert_str_eq(str_at(rhone, "nom"), "Rhône");
    cr_assert_str_eq(str_at(rhone, "code_region"), "84");
    cr_assert_str_eq(str_at(rhone, "chef_lieu"), "69123");
    http_response_release(&r);
}

Test(departements, region_filter)
{
    struct http_response r;
    http_get("/api/v1/departements?region=84", &r);
    http_expect_json_ok(&r);
    expect_single_sorted_page(&r, "code", 12);
    size_t i;
    json_t *d;
    json_array_foreach(elements_of(&r), i, d)
    {
        cr_assert_str_eq(str_at(d, "code_region"), "84");
    }
    http_response_release(&r);
    http_get("/api/v1/departements?region=99", &r); /* well formed, unknown: empty */
    http_expect_json_ok(&r);
    expect_single_sorted_page(&r, "code", 0);
    http_response_release(&r);
}

Test(departements, refusals)
{
    const char *paths[] = {"/api/v1/departements?region=ab", "/api/v1/departements?region=8",
                           "/api/v1/departements?region=8400", "/api/v1/departements?code=69"};
    const char *pointers[] = {"/region", "/region", "/region", "/code"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        struct http_response r;
        http_get(paths[i], &r);
        http_expect_param_error(&r, pointers[i], NULL);
        http_response_release(&r);
    }
}
