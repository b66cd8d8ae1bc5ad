/* Integration tests over HTTP: filters and keyset pagination of GET /api/v1/communes.
 * Read-only, parallel-safe.
 *
 * Expected totals are computed from @etalab/decoupage-administratif 6.0.0 (current
 * communes only, i.e. type "commune-actuelle"), with:
 *   node -e 'const D="./node_modules/@etalab/decoupage-administratif/data/";
 *     const c=require(D+"communes.json").filter(x=>x.type=="commune-actuelle");
 *     const e=require(D+"epci.json"); const m=new Map();
 *     for (const E of e) for (const mb of E.membres) m.set(mb.code, E.code);
 *     const n=f=>c.filter(f).length;
 *     console.log(c.length, n(x=>x.departement=="58"), n(x=>x.region=="27"),
 *       n(x=>m.get(x.code)=="200040566"), n(x=>x.population>=100000),
 *       n(x=>x.population!=null&&x.population<=50), ...)'
 * giving: all 34969; departement 58: 309; 69: 266; 2A: 124; 974: 24; region 27: 3685;
 * region 94: 360; epci 200040566: 31; population_min=100000: 42; population_max=50: 944;
 * departement 69 with 2500 <= population <= 20000: 93; region 84 with population >= 10000:
 * 108; epci 200040566 with population >= 1000: 13. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/http_client.h"

#define COMMUNES_ACTUELLES 34969

static json_int_t total_of(const struct http_response *r)
{
    json_t *t = json_object_get(r->json, "total");
    cr_assert(json_is_integer(t), "\"total\" should be an integer: " HTTP_BODY, r->body);
    return json_integer_value(t);
}

static json_t *elements_of(const struct http_response *r)
{
    json_t *e = json_object_get(r->json, "elements");
    cr_assert(json_is_array(e), "\"elements\" should be an array: " HTTP_BODY, r->body);
    return e;
}

static const char *suivant_of(const struct http_response *r)
{
    json_t *s = json_object_get(r->json, "suivant");
    cr_assert(s != NULL && (json_is_null(s) || json_is_string(s)),
              "\"suivant\" should be a string or null: " HTTP_BODY, r->body);
    return json_string_value(s);
}

/* GET path, 200, then: total == want_total, every element's key equals want (when key is
 * not NULL), page size == want_count. */
static void expect_filtered(const char *path, json_int_t want_total, size_t want_count,
                            const char *key, const char *want)
{
    struct http_response r;
    http_get(path, &r);
    http_expect_json_ok(&r);
    cr_assert_eq(total_of(&r), want_total, "%s: total should be %lld: " HTTP_BODY, path,
                 (long long)want_total, r.body);
    json_t *elements = elements_of(&r);
    cr_assert_eq(json_array_size(elements), want_count, "%s: page should hold %zu elements", path,
                 want_count);
    size_t i;
    json_t *c;
    json_array_foreach(elements, i, c)
    {
        if (key == NULL)
            break;
        const char *v = json_string_value(json_object_get(c, key));
        cr_assert(v && strcmp(v, want) == 0, "%s: element %zu has %s \"%s\", expected \"%s\"", path,
                  i, key, v ? v : "(absent)", want);
    }
    http_response_release(&r);
}

/* Every element's population p satisfies min <= p <= max (-1: no bound), p not null. */
static void expect_population(const char *path, json_int_t want_total, long long min, long long max,
                              const char *key, const char *want)
{
    struct http_response r;
    http_get(path, &r);
    http_expect_json_ok(&r);
    cr_assert_eq(total_of(&r), want_total, "%s: total should be %lld: " HTTP_BODY, path,
                 (long long)want_total, r.body);
    size_t i;
    json_t *c;
    json_array_foreach(elements_of(&r), i, c)
    {
        json_t *p = json_object_get(c, "population");
        cr_assert(json_is_integer(p), "%s: element %zu without population", path, i);
        long long v = json_integer_value(p);
        cr_assert((min < 0 || v >= min) && (max < 0 || v <= max),
                  "%s: element %zu has population %lld", path, i, v);
        if (key) {
            const char *s = json_string_value(json_object_get(c, key));
            cr_assert(s && strcmp(s, want) == 0, "%s: element %zu has %s \"%s\"", path, i, key,
                      s ? s : "(absent)");
        }
    }
    http_response_release(&r);
}

/* ---- filters ------------------------------------------------------------------------- */

Test(filtres, departement_58)
{
    expect_filtered("/api/v1/communes?departement=58&limite=500", 309, 309, "code_departement",
                    "58");
}

Test(filtres, departement_69)
{
    expect_filtered("/api/v1/communes?departement=69&limite=500", 266, 266, "code_departement",
                    "69");
}

Test(filtres, corse_and_reunion_codes_are_strings)
{
    expect_filtered("/api/v1/communes?departement=2A&limite=500", 124, 124, "code_departement",
                    "2A");
    expect_filtered("/api/v1/communes?departement=974&limite=500", 24, 24, "code_departement",
                    "974");
    expect_filtered("/api/v1/communes?departement=974&limite=500", 24, 24, "zone", "drom");
}

Test(filtres, region)
{
    expect_filtered("/api/v1/communes?region=27&limite=500", 3685, 500, "code_region", "27");
    expect_filtered("/api/v1/communes?region=94&limite=500", 360, 360, "code_region", "94");
}

Test(filtres, epci_ouest_rhodanien_has_31_members)
{
    expect_filtered("/api/v1/communes?epci=200040566&limite=100", 31, 31, "epci_siren",
                    "200040566");
}

Test(filtres, population_bounds)
{
    expect_population("/api/v1/communes?population_min=100000&limite=100", 42, 100000, -1, NULL,
                      NULL);
    expect_population("/api/v1/communes?population_max=50&limite=500", 944, -1, 50, NULL, NULL);
    /* Bounds are inclusive: Thizy-les-Bourgs has exactly 5771 inhabitants. */
    expect_filtered("/api/v1/communes?epci=200040566&population_min=5771&population_max=5771", 1, 1,
                    "code_insee", "69248");
}

Test(filtres, combined)
{
    expect_population(
        "/api/v1/communes?departement=69&population_min=2500&population_max=20000&limite=500", 93,
        2500, 20000, "code_departement", "69");
    expect_population("/api/v1/communes?region=84&population_min=10000&limite=500", 108, 10000, -1,
                      "code_region", "84");
    expect_population("/api/v1/communes?epci=200040566&population_min=1000&limite=500", 13, 1000,
                      -1, "epci_siren", "200040566");
    expect_filtered("/api/v1/communes?departement=58&region=84", 0, 0, NULL, NULL);
}

/* "Un code de filtre bien formé mais inconnu donne une collection vide." 200033652 is the
 * SIREN of the commune Thizy-les-Bourgs (valid Luhn key), not of an EPCI. */
Test(filtres, well_formed_unknown_code_gives_empty_collection)
{
    expect_filtered("/api/v1/communes?region=99", 0, 0, NULL, NULL);
    expect_filtered("/api/v1/communes?epci=200033652", 0, 0, NULL, NULL);
}

/* PopulationMin/PopulationMax: integer, minimum 0, maximum 2147483647 in the contract. */
Test(filtres, population_up_to_contract_maximum_is_accepted)
{
    expect_filtered("/api/v1/communes?population_min=2147483647", 0, 0, NULL, NULL);
    expect_filtered("/api/v1/communes?population_min=200000000", 0, 0, NULL, NULL);
}

Test(filtres, population_min_above_max_is_400_incoherent)
{
    struct http_response r;
    http_get("/api/v1/communes?population_min=10000&population_max=500", &r);
    /* The contract: "parametre-invalide (pointeur /population_min)". */
    http_expect_param_error(&r, "/population_min", "incoherent");
    http_response_release(&r);
}

Test(filtres, bad_population_is_400)
{
    const char *values[] = {"-1", "abc", "1.5", "", "%2B5", "99999999999999999999"};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        char path[128];
        snprintf(path, sizeof path, "/api/v1/communes?population_max=%s", values[i]);
        struct http_response r;
        http_get(path, &r);
        http_expect_param_error(&r, "/population_max", NULL);
        http_response_release(&r);
    }
}

Test(filtres, bad_departement_is_400)
{
    const char *values[] = {"20", "2a", "96", "1", "069", "970", "97", "abc"};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        char path[128];
        snprintf(path, sizeof path, "/api/v1/communes?departement=%s", values[i]);
        struct http_response r;
        http_get(path, &r);
        http_expect_param_error(&r, "/departement", "format-invalide");
        http_response_release(&r);
    }
}

Test(filtres, bad_region_and_epci_are_400)
{
    struct http_response r;
    http_get("/api/v1/communes?region=ab", &r);
    http_expect_param_error(&r, "/region", "format-invalide");
    http_response_release(&r);
    http_get("/api/v1/communes?epci=200040567", &r); /* Luhn key broken (last digit +1) */
    http_expect_param_error(&r, "/epci", "format-invalide");
    http_response_release(&r);
    http_get("/api/v1/communes?epci=20004056", &r);
    http_expect_param_error(&r, "/epci", "format-invalide");
    http_response_release(&r);
}

Test(filtres, unknown_parameter_is_400_parametre_inconnu)
{
    struct http_response r;
    http_get("/api/v1/communes?nom=Thizy", &r);
    http_expect_param_error(&r, "/nom", "parametre-inconnu");
    http_response_release(&r);
    http_get("/api/v1/communes?Departement=69", &r); /* names are case-sensitive */
    http_expect_param_error(&r, "/Departement", "parametre-inconnu");
    http_response_release(&r);
}

/* Every bad parameter is reported, not only the first. */
Test(filtres, every_bad_parameter_is_reported)
{
    struct http_response r;
    http_get("/api/v1/communes?departement=20&limite=0&foo=1", &r);
    http_expect_problem(&r, 400, "parametre-invalide");
    cr_assert_eq(json_array_size(json_object_get(r.json, "erreurs")), 3, HTTP_BODY, r.body);
    cr_assert(http_problem_error(&r, "/departement") && http_problem_error(&r, "/limite") &&
                  http_problem_error(&r, "/foo"),
              HTTP_BODY, r.body);
    http_response_release(&r);
}

Test(filtres, bad_limite_is_400)
{
    const char *values[] = {"0", "501", "abc", "-1", "1.5", "", "1e2"};
    const char *codes[] = {"hors-bornes",     "hors-bornes",     "format-invalide", NULL,
                           "format-invalide", "format-invalide", "format-invalide"};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        char path[128];
        snprintf(path, sizeof path, "/api/v1/communes?limite=%s", values[i]);
        struct http_response r;
        http_get(path, &r);
        http_expect_param_error(&r, "/limite", codes[i]);
        http_response_release(&r);
    }
}

Test(filtres, limite_bounds_are_accepted)
{
    expect_filtered("/api/v1/communes?limite=1", COMMUNES_ACTUELLES, 1, NULL, NULL);
    expect_filtered("/api/v1/communes?limite=500", COMMUNES_ACTUELLES, 500, NULL, NULL);
}

/* ---- cursors ------------------------------------------------------------------------- */

/* The "suivant" of path's first page (copied into out). */
static void first_cursor(const char *path, char *out, size_t size)
{
    struct http_response r;
    http_get(path, &r);
    http_expect_json_ok(&r);
    const char *s = suivant_of(&r);
    cr_assert(s != NULL, "%s: first page should have a next cursor: " HTTP_BODY, path, r.body);
    cr_assert(strlen(s) < size);
    snprintf(out, size, "%s", s);
    http_response_release(&r);
}

static void expect_bad_cursor(const char *path)
{
    struct http_response r;
    http_get(path, &r);
    http_expect_param_error(&r, "/curseur", "curseur-invalide");
    http_response_release(&r);
}

Test(curseur, garbage_and_tampered_cursors_are_400)
{
    char cursor[600], path[800];
    expect_bad_cursor("/api/v1/communes?curseur=xyz");
    expect_bad_cursor("/api/v1/communes?curseur=");
    struct http_response r; /* not text: refused before the cursor is read */
    http_get("/api/v1/communes?curseur=%00", &r);
    http_expect_param_error(&r, "/curseur", "caractere-invalide");
    http_response_release(&r);
    expect_bad_cursor("/api/v1/communes?curseur=djF8Y29tbXVuZXN8MDAwMDAwMDB8NjkwMDE");
    first_cursor("/api/v1/communes?limite=2", cursor, sizeof cursor);
    /* flip one character of a valid cursor */
    size_t n = strlen(cursor);
    cursor[n / 2] = cursor[n / 2] == 'A' ? 'B' : 'A';
    snprintf(path, sizeof path, "/api/v1/communes?limite=2&curseur=%s", cursor);
    expect_bad_cursor(path);
}

Test(curseur, cursor_is_bound_to_its_filters)
{
    char cursor[600], path[800];
    first_cursor("/api/v1/communes?departement=58&limite=10", cursor, sizeof cursor);
    snprintf(path, sizeof path, "/api/v1/communes?departement=69&limite=10&curseur=%s", cursor);
    expect_bad_cursor(path);
    snprintf(path, sizeof path, "/api/v1/communes?limite=10&curseur=%s", cursor);
    expect_bad_cursor(path);
    snprintf(path, sizeof path, "/api/v1/epci?departement=58&limite=10&curseur=%s", cursor);
    expect_bad_cursor(path);
    /* same filters, another limite: allowed */
    snprintf(path, sizeof path, "/api/v1/communes?departement=58&limite=3&curseur=%s", cursor);
    struct http_response r;
    http_get(path, &r);
    http_expect_json_ok(&r);
    cr_assert_eq(json_array_size(elements_of(&r)), 3);
    const char *first =
        json_string_value(json_object_get(json_array_get(elements_of(&r), 0), "code_insee"));
    cr_assert_str_eq(first, "58011", "page 2 of departement=58 by 10 starts at the 11th commune");
    http_response_release(&r);
}

/* ---- pagination ---------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

Test(pagination, every_current_commune_once_in_increasing_order, .timeout = 120)
{
    char path[1024] = "/api/v1/communes?limite=500";
    char **codes = calloc(COMMUNES_ACTUELLES + 1000, sizeof *codes);
    size_t count = 0, pages = 0;
    cr_assert(codes != NULL);
    for (;;) {
        struct http_response r;
        http_get(path, &r);
        http_expect_json_ok(&r);
        pages++;
        cr_assert_eq(total_of(&r), COMMUNES_ACTUELLES, "page %zu: total", pages);
        size_t i;
        json_t *c;
        json_array_foreach(elements_of(&r), i, c)
        {
            const char *code = json_string_value(json_object_get(c, "code_insee"));
            cr_assert(code != NULL, "page %zu element %zu without code_insee", pages, i);
            cr_assert(count < COMMUNES_ACTUELLES + 1000, "too many communes");
            if (count > 0)
                cr_assert(strcmp(codes[count - 1], code) < 0,
                          "codes not strictly increasing: %s then %s (page %zu)", codes[count - 1],
                          code, pages);
            codes[count++] = strdup(code);
        }
        const char *next = suivant_of(&r);
        const char *link = http_header(&r, "Link");
        if (next == NULL) {
            cr_assert(link == NULL, "last page must have no Link header, has %s", link);
            http_response_release(&r);
            break;
        }
        cr_assert_eq(json_array_size(elements_of(&r)), 500, "a non-last page is full");
        char want[1024];
        snprintf(want, sizeof want, "</api/v1/communes?limite=500&curseur=%s>; rel=\"next\"", next);
        cr_assert(link != NULL && strcmp(link, want) == 0, "Link should be %s, is %s", want,
                  link ? link : "(absent)");
        snprintf(path, sizeof path, "/api/v1/communes?limite=500&curseur=%s", next);
        http_response_release(&r);
        cr_assert(pages < 100, "pagination does not end");
    }
    cr_assert_eq(count, COMMUNES_ACTUELLES, "pages yielded %zu communes", count);
    cr_assert_eq(pages, 70);
    qsort(codes, count, sizeof *codes, cmp_str);
    for (size_t i = 1; i < count; i++)
        cr_assert(strcmp(codes[i - 1], codes[i]) != 0, "duplicate %s", codes[i]);
    cr_assert_str_eq(codes[0], "01001");
    cr_assert_str_eq(codes[count - 1], "98901");
    for (size_t i = 0; i < count; i++)
        free(codes[i]);
    free(codes);
}

Test(pagination, default_limite_is_50)
{
    struct http_response r;
    http_get("/api/v1/communes", &r);
    http_expect_json_ok(&r);
    cr_assert_eq(json_array_size(elements_of(&r)), 50, HTTP_BODY, r.body);
    cr_assert_eq(total_of(&r), COMMUNES_ACTUELLES);
    cr_assert(suivant_of(&r) != NULL);
    cr_assert_str_eq(
        json_string_value(json_object_get(json_array_get(elements_of(&r), 0), "code_insee")),
        "01001");
    const char *link = http_header(&r, "Link");
    cr_assert(link && strncmp(link, "</api/v1/communes?curseur=", 26) == 0 &&
                  strstr(link, ">; rel=\"next\""),
              "Link: %s", link ? link : "(absent)");
    http_response_release(&r);
}

/* The Link target keeps the filters and limite; following it gives the same page as
 * following "suivant". */
Test(pagination, link_and_suivant_lead_to_the_same_page)
{
    struct http_response p1, via_link, via_cursor;
    http_get("/api/v1/communes?departement=58&q=saint&limite=7", &p1);
    http_expect_json_ok(&p1);
    const char *next = suivant_of(&p1);
    cr_assert(next, "page 1 should have suivant: " HTTP_BODY, p1.body);
    char target[1024];
    http_next_link(&p1, target, sizeof target);
    cr_assert(strncmp(target, "/api/v1/communes?", 17) == 0, "relative target: %s", target);
    cr_assert(strstr(target, "departement=58") && strstr(target, "q=saint") &&
                  strstr(target, "limite=7") && strstr(target, "curseur="),
              "Link target should keep the filters and limite: %s", target);
    http_get(target, &via_link);
    http_expect_json_ok(&via_link);
    char path[1024];
    snprintf(path, sizeof path, "/api/v1/communes?departement=58&q=saint&limite=7&curseur=%s",
             next);
    http_get(path, &via_cursor);
    http_expect_json_ok(&via_cursor);
    cr_assert_str_eq(via_link.body, via_cursor.body);
    cr_assert_eq(json_array_size(elements_of(&via_link)), 7);
    cr_assert_eq(total_of(&via_link), total_of(&p1));
    http_response_release(&p1);
    http_response_release(&via_link);
    http_response_release(&via_cursor);
}

/* 124 communes in 2A, by 62: the second page is the last (no empty third page). */
Test(pagination, exact_multiple_ends_without_empty_page)
{
    char cursor[600], path[800];
    first_cursor("/api/v1/communes?departement=2A&limite=62", cursor, sizeof cursor);
    snprintf(path, sizeof path, "/api/v1/communes?departement=2A&limite=62&curseur=%s", cursor);
    struct http_response r;
    http_get(path, &r);
    http_expect_json_ok(&r);
    cr_assert_eq(json_array_size(elements_of(&r)), 62);
    cr_assert(suivant_of(&r) == NULL, "last page: suivant null: " HTTP_BODY, r.body);
    cr_assert(http_header(&r, "Link") == NULL, "last page: no Link");
    http_response_release(&r);
}
