/* Integration tests over HTTP: GET /api/v1/communes/{code_insee} and the name search
 * (q) of GET /api/v1/communes, against the real server and the referential
 * @etalab/decoupage-administratif 6.0.0 (millésime 2026). Read-only, parallel-safe.
 *
 * Expected values come from node_modules/@etalab/decoupage-administratif/data (communes.json,
 * epci.json), e.g. node -e 'const
 * c=require("./node_modules/@etalab/decoupage-administratif/data/communes.json");
 *            console.log(JSON.stringify(c.find(x=>x.code=="69248")))'
 * and, for EPCI membership, epci.json (membres[].code). */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "../support/http_client.h"

/* ---- helpers ------------------------------------------------------------------------- */

static const char *str_at(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static void expect_str(const struct http_response *r, const json_t *obj, const char *key,
                       const char *want)
{
    const char *got = str_at(obj, key);
    cr_assert(got && strcmp(got, want) == 0, "\"%s\" should be \"%s\", is \"%s\": " HTTP_BODY, key,
              want, got ? got : "(absent or not a string)", r->body);
}

static void expect_null(const struct http_response *r, const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    cr_assert(v != NULL && json_is_null(v), "\"%s\" should be present and null: " HTTP_BODY, key,
              r->body);
}

static void expect_int(const struct http_response *r, const json_t *obj, const char *key,
                       json_int_t want)
{
    json_t *v = json_object_get(obj, key);
    cr_assert(json_is_integer(v) && json_integer_value(v) == want,
              "\"%s\" should be %lld: " HTTP_BODY, key, (long long)want, r->body);
}

/* A strong validator: "..." with no W/ prefix (RFC 9110 §8.8.3). */
static void expect_strong_etag(const struct http_response *r)
{
    const char *etag = http_header(r, "ETag");
    cr_assert(etag != NULL, "no ETag on a single object: " HTTP_BODY, r->body);
    size_t n = strlen(etag);
    cr_assert(n >= 3 && etag[0] == '"' && etag[n - 1] == '"',
              "ETag should be a strong, quoted validator: %s", etag);
}

static void get_commune(const char *code, struct http_response *r)
{
    char path[64];
    snprintf(path, sizeof path, "/api/v1/communes/%s", code);
    http_get(path, r);
    http_expect_json_ok(r);
    expect_strong_etag(r);
    expect_str(r, r->json, "code_insee", code);
    expect_int(r, r->json, "millesime", 2026);
}

/* Asserts the codes of a one-page list, in order. */
static void expect_codes(const struct http_response *r, const char *const *codes, size_t n)
{
    json_t *elements = json_object_get(r->json, "elements");
    cr_assert(json_is_array(elements), "no \"elements\" array: " HTTP_BODY, r->body);
    cr_assert_eq(json_array_size(elements), n, "expected %zu elements: " HTTP_BODY, n, r->body);
    for (size_t i = 0; i < n; i++)
        expect_str(r, json_array_get(elements, i), "code_insee", codes[i]);
    expect_int(r, r->json, "total", (json_int_t)n);
    cr_assert(json_is_null(json_object_get(r->json, "suivant")),
              "one page: suivant should be "
              "null: " HTTP_BODY,
              r->body);
}

/* ---- one commune --------------------------------------------------------------------- */

Test(commune, thizy_les_bourgs_with_its_epci_departement_and_region)
{
    struct http_response r;
    get_commune("69248", &r);
    const json_t *c = r.json;
    expect_str(&r, c, "nom", "Thizy-les-Bourgs");
    expect_str(&r, c, "siren", "200033652");
    expect_str(&r, c, "code_departement", "69");
    expect_str(&r, c, "code_region", "84");
    expect_str(&r, c, "epci_siren", "200040566");
    expect_str(&r, c, "zone", "metro");
    expect_int(&r, c, "population", 5771);
    json_t *cp = json_object_get(c, "codes_postaux");
    cr_assert(json_is_array(cp) && json_array_size(cp) == 1 &&
                  strcmp(json_string_value(json_array_get(cp, 0)), "69240") == 0,
              "codes_postaux should be [\"69240\"]: " HTTP_BODY, r.body);
    json_t *epci = json_object_get(c, "epci");
    cr_assert(json_is_object(epci), "epci should be an object: " HTTP_BODY, r.body);
    expect_str(&r, epci, "siren", "200040566");
    expect_str(&r, epci, "nom", "CA de l'Ouest Rhodanien");
    expect_str(&r, epci, "type", "CA");
    json_t *dep = json_object_get(c, "departement");
    expect_str(&r, dep, "code", "69");
    expect_str(&r, dep, "nom", "Rhône");
    json_t *reg = json_object_get(c, "region");
    expect_str(&r, reg, "code", "84");
    expect_str(&r, reg, "nom", "Auvergne-Rhône-Alpes");
    http_response_release(&r);
}

Test(commune, if_none_match_gives_304_without_body)
{
    struct http_response first, again;
    get_commune("69248", &first);
    const char *etag = http_header(&first, "ETag");
    char inm[200];
    snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
    const char *headers[] = {inm, NULL};
    http_request("GET", "/api/v1/communes/69248", headers, NULL, 0, &again);
    cr_assert_eq(again.status, 304, "If-None-Match %s: expected 304, got %ld: " HTTP_BODY, etag,
                 again.status, again.body);
    cr_assert_eq(again.body_len, 0, "304 must have no body: " HTTP_BODY, again.body);
    cr_assert(http_header(&again, "ETag") && strcmp(http_header(&again, "ETag"), etag) == 0,
              "304 should carry the same ETag");
    cr_assert(http_header(&again, "X-Request-Id") != NULL, "304 without X-Request-Id");
    http_response_release(&again);
    http_response_release(&first);
}

Test(commune, if_none_match_weak_list_and_star)
{
    struct http_response first, r;
    get_commune("69248", &first);
    const char *etag = http_header(&first, "ETag");
    char weak[200], list[240];
    snprintf(weak, sizeof weak, "If-None-Match: W/%s", etag);
    snprintf(list, sizeof list, "If-None-Match: \"autre\", %s", etag);
    const char *cases[] = {weak, list, "If-None-Match: *"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *headers[] = {cases[i], NULL};
        http_request("GET", "/api/v1/communes/69248", headers, NULL, 0, &r);
        cr_assert_eq(r.status, 304, "%s: expected 304 (weak comparison), got %ld", cases[i],
                     r.status);
        http_response_release(&r);
    }
    const char *stale[] = {"If-None-Match: \"0000000000000000\"", NULL};
    http_request("GET", "/api/v1/communes/69248", stale, NULL, 0, &r);
    http_expect_json_ok(&r);
    http_response_release(&r);
    http_response_release(&first);
}

Test(commune, etag_is_stable_and_specific)
{
    struct http_response a, b, c;
    get_commune("69248", &a);
    get_commune("69248", &b);
    get_commune("2A004", &c);
    cr_assert_str_eq(http_header(&a, "ETag"), http_header(&b, "ETag"));
    cr_assert_str_neq(http_header(&a, "ETag"), http_header(&c, "ETag"));
    cr_assert_str_eq(a.body, b.body);
    http_response_release(&a);
    http_response_release(&b);
    http_response_release(&c);
}

/* The detail and the list element of a commune are held as shared pieces of
 * one text (api/referentiel_store.c): they must still read as one document
 * each. The list's element is the detail's own first members, byte for byte
 * (the detail adds codes_postaux, departement, region, epci, millesime after
 * them), and the ETag is the FNV-1a 64 of exactly the bytes sent. */
Test(commune, summary_detail_and_etag_agree_byte_for_byte)
{
    const char *codes[] = {"69248", "69123", "29083", "97411", "2A004", "98735"};
    for (size_t i = 0; i < sizeof codes / sizeof *codes; i++) {
        struct http_response d, l;
        get_commune(codes[i], &d);
        unsigned long long h = 1469598103934665603ull;
        for (size_t k = 0; k < d.body_len; k++) {
            h ^= (unsigned char)d.body[k];
            h *= 1099511628211ull;
        }
        char etag[24];
        snprintf(etag, sizeof etag, "\"%016llx\"", h);
        cr_assert_str_eq(http_header(&d, "ETag"), etag, "%s: ETag of other bytes", codes[i]);

        char path[96], start[32];
        snprintf(path, sizeof path, "/api/v1/communes?departement=%s&limite=500",
                 json_string_value(json_object_get(d.json, "code_departement")));
        http_get(path, &l);
        http_expect_json_ok(&l);
        snprintf(start, sizeof start, "{\"code_insee\":\"%s\"", codes[i]);
        const char *el = strstr(l.body, start);
        cr_assert(el != NULL, "%s not in %s: " HTTP_BODY, codes[i], path, l.body);
        size_t n = (size_t)(strchr(el, '}') - el); /* a summary has no nested object */
        cr_assert(n < d.body_len && memcmp(el, d.body, n) == 0 && d.body[n] == ',',
                  "the list's element of %s is not the detail's start: %.*s vs " HTTP_BODY,
                  codes[i], (int)n + 1, el, d.body);
        http_response_release(&d);
        http_response_release(&l);
    }
}

Test(commune, ajaccio_corse_du_sud)
{
    struct http_response r;
    get_commune("2A004", &r);
    expect_str(&r, r.json, "nom", "Ajaccio");
    expect_str(&r, r.json, "code_departement", "2A");
    expect_str(&r, r.json, "code_region", "94");
    expect_int(&r, r.json, "population", 76320);
    expect_str(&r, json_object_get(r.json, "departement"), "nom", "Corse-du-Sud");
    expect_str(&r, json_object_get(r.json, "region"), "nom", "Corse");
    expect_str(&r, json_object_get(r.json, "epci"), "siren", "242010056");
    expect_str(&r, json_object_get(r.json, "epci"), "nom", "CA du Pays Ajaccien");
    json_t *cp = json_object_get(r.json, "codes_postaux");
    cr_assert(json_array_size(cp) == 3 &&
                  strcmp(json_string_value(json_array_get(cp, 0)), "20000") == 0 &&
                  strcmp(json_string_value(json_array_get(cp, 2)), "20167") == 0,
              "codes_postaux should be [20000, 20090, 20167]: " HTTP_BODY, r.body);
    http_response_release(&r);
}

Test(commune, saint_denis_de_la_reunion)
{
    struct http_response r;
    get_commune("97411", &r);
    expect_str(&r, r.json, "nom", "Saint-Denis");
    expect_str(&r, r.json, "code_departement", "974");
    expect_str(&r, r.json, "code_region", "04");
    expect_str(&r, r.json, "zone", "drom");
    expect_str(&r, r.json, "epci_siren", "249740119");
    expect_str(&r, json_object_get(r.json, "departement"), "nom", "La Réunion");
    expect_str(&r, json_object_get(r.json, "epci"), "type", "CA");
    http_response_release(&r);
}

/* Papeete (Polynésie française, a COM): no SIREN, no EPCI in the data. */
Test(commune, papeete_collectivite_d_outre_mer)
{
    struct http_response r;
    get_commune("98735", &r);
    expect_str(&r, r.json, "nom", "Papeete");
    expect_null(&r, r.json, "siren");
    expect_null(&r, r.json, "epci_siren");
    expect_null(&r, r.json, "epci");
    expect_str(&r, r.json, "code_departement", "987");
    expect_str(&r, r.json, "code_region", "987");
    expect_str(&r, r.json, "zone", "com");
    expect_int(&r, r.json, "population", 26654);
    http_response_release(&r);
}

/* Island communes outside any EPCI (absent from every epci.json membres list). */
Test(commune, islands_without_epci)
{
    const char *codes[] = {"29083", "22016"};
    const char *names[] = {"Île-de-Sein", "Île-de-Bréhat"};
    const char *sirens[] = {"212900831", "212200166"};
    for (size_t i = 0; i < 2; i++) {
        struct http_response r;
        get_commune(codes[i], &r);
        expect_str(&r, r.json, "nom", names[i]);
        expect_str(&r, r.json, "siren", sirens[i]);
        expect_str(&r, r.json, "zone", "metro");
        expect_null(&r, r.json, "epci");
        expect_null(&r, r.json, "epci_siren");
        http_response_release(&r);
    }
}

/* 69025 is an old code merged into Thizy-les-Bourgs; 01999 is well formed but unused. */
Test(commune, well_formed_unknown_code_is_404)
{
    const char *paths[] = {"/api/v1/communes/69025", "/api/v1/communes/01999"};
    for (size_t i = 0; i < 2; i++) {
        struct http_response r;
        http_get(paths[i], &r);
        http_expect_problem(&r, 404, "ressource-introuvable");
        http_response_release(&r);
    }
}

Test(commune, malformed_code_is_400_with_pointer)
{
    const char *paths[] = {"/api/v1/communes/6924",    "/api/v1/communes/692480",
                           "/api/v1/communes/2a004",   "/api/v1/communes/2C004",
                           "/api/v1/communes/69%2048", "/api/v1/communes/%C3%A9t%C3%A9"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        struct http_response r;
        http_get(paths[i], &r);
        http_expect_param_error(&r, "/code_insee", "format-invalide");
        http_response_release(&r);
    }
}

Test(commune, unknown_query_parameter_is_400)
{
    struct http_response r;
    http_get("/api/v1/communes/69248?x=1", &r);
    http_expect_param_error(&r, "/x", "parametre-inconnu");
    http_response_release(&r);
    /* A query parameter named like the path parameter must not replace it. */
    http_get("/api/v1/communes/69248?code_insee=75056", &r);
    http_expect_problem(&r, 400, "parametre-invalide");
    http_response_release(&r);
}

/* ---- name search --------------------------------------------------------------------- */

static const char *const chateau_chinon[] = {"58062", "58063"};

Test(search, chateau_chinon_ignores_case_accents_and_hyphens)
{
    const char *paths[] = {
        "/api/v1/communes?q=chateau%20chinon",
        "/api/v1/communes?q=CH%C3%82TEAU-chinon",   /* CHÂTEAU-chinon */
        "/api/v1/communes?q=ch%C3%A2teau+chinon",   /* château chinon, '+' as space */
        "/api/v1/communes?q=chinon%20chat",         /* order-free, word prefixes */
        "/api/v1/communes?q=%20%20Chateau--Chinon", /* separators collapse */
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        struct http_response r;
        http_get(paths[i], &r);
        http_expect_json_ok(&r);
        expect_codes(&r, chateau_chinon, 2);
        expect_str(&r, json_array_get(json_object_get(r.json, "elements"), 0), "nom",
                   "Château-Chinon (Ville)");
        http_response_release(&r);
    }
}

Test(search, word_prefixes_only)
{
    struct http_response r;
    static const char *const thizy[] = {"69248"};
    static const char *const oeuf[] = {"62633"}; /* Œuf-en-Ternois */
    http_get("/api/v1/communes?q=bourgs%20thiz", &r);
    http_expect_json_ok(&r);
    expect_codes(&r, thizy, 1);
    http_response_release(&r);
    http_get("/api/v1/communes?q=hizy", &r); /* not the start of a word */
    http_expect_json_ok(&r);
    expect_codes(&r, NULL, 0);
    http_response_release(&r);
    http_get("/api/v1/communes?q=oeuf", &r);
    http_expect_json_ok(&r);
    expect_codes(&r, oeuf, 1);
    http_response_release(&r);
    http_get("/api/v1/communes?q=%C5%93uf", &r); /* œuf */
    http_expect_json_ok(&r);
    expect_codes(&r, oeuf, 1);
    http_response_release(&r);
}

/* 68 current communes have a name word starting "saint" followed by one starting "etienne"
 * (node: fold = NFD, strip accents, lower case, split on non-alphanumerics). */
Test(search, saint_etienne_total_and_filters_combine)
{
    struct http_response r;
    http_get("/api/v1/communes?q=saint-etienne&limite=5", &r);
    http_expect_json_ok(&r);
    expect_int(&r, r.json, "total", 68);
    cr_assert_eq(json_array_size(json_object_get(r.json, "elements")), 5);
    http_response_release(&r);
    http_get("/api/v1/communes?q=chinon&departement=58", &r);
    http_expect_json_ok(&r);
    expect_codes(&r, chateau_chinon, 2);
    http_response_release(&r);
}

Test(search, invalid_utf8_is_400_on_q)
{
    struct http_response r;
    http_get("/api/v1/communes?q=%C3%28", &r);
    http_expect_param_error(&r, "/q", "caractere-invalide");
    http_response_release(&r);
    http_get("/api/v1/communes?q=abc%FF", &r);
    http_expect_param_error(&r, "/q", NULL);
    http_response_release(&r);
}

Test(search, no_word_is_400_recherche_vide)
{
    const char *paths[] = {"/api/v1/communes?q=--", "/api/v1/communes?q=%20",
                           "/api/v1/communes?q=", "/api/v1/communes?q=%27%20-"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        struct http_response r;
        http_get(paths[i], &r);
        http_expect_param_error(&r, "/q", "recherche-vide");
        http_response_release(&r);
    }
}

/* 100 bytes are accepted, 101 refused. The refusal must not claim the query has no word
 * ("recherche-vide" means "q sans aucun mot" in the contract). */
Test(search, q_length_limit)
{
    char path[256];
    struct http_response r;
    int n = snprintf(path, sizeof path, "/api/v1/communes?q=");
    memset(path + n, 'a', 100);
    path[n + 100] = '\0';
    http_get(path, &r);
    http_expect_json_ok(&r);
    expect_int(&r, r.json, "total", 0);
    http_response_release(&r);
    path[n + 100] = 'a';
    path[n + 101] = '\0';
    http_get(path, &r);
    http_expect_param_error(&r, "/q", NULL);
    const char *code = json_string_value(json_object_get(http_problem_error(&r, "/q"), "code"));
    cr_assert(code && (strcmp(code, "format-invalide") == 0 || strcmp(code, "hors-bornes") == 0),
              "q of 101 bytes: erreurs[].code should be format-invalide or hors-bornes, not "
              "\"%s\": " HTTP_BODY,
              code ? code : "(none)", r.body);
    http_response_release(&r);
}

/* The contract (RechercheNom: maxLength 100, "De 1 à 100 caractères") counts characters:
 * 60 × "é" is 60 characters (120 bytes) and must be accepted. */
Test(search, q_limit_counts_characters)
{
    char path[512];
    int n = snprintf(path, sizeof path, "/api/v1/communes?q=");
    for (int i = 0; i < 60; i++)
        n += snprintf(path + n, sizeof path - (size_t)n, "%%C3%%A9");
    struct http_response r;
    http_get(path, &r);
    http_expect_json_ok(&r);
    expect_int(&r, r.json, "total", 0);
    http_response_release(&r);
}

/* The contract refuses a repeated parameter ("inconnu, répété ou mal formé" → 400, code
 * parametre-repete); it must not be silently merged or reduced to one value. */
Test(search, repeated_parameter_is_400_parametre_repete)
{
    const char *paths[] = {"/api/v1/communes?q=thizy&q=bourgs",
                           "/api/v1/communes?departement=58&departement=69",
                           "/api/v1/communes?limite=5&limite=5"};
    const char *pointers[] = {"/q", "/departement", "/limite"};
    for (size_t i = 0; i < 3; i++) {
        struct http_response r;
        http_get(paths[i], &r);
        http_expect_param_error(&r, pointers[i], "parametre-repete");
        http_response_release(&r);
    }
}
