/* Territoires PVD over HTTP (issue 4 §1): creation and reading, every rule's
 * refusal (R1, R3, R42, id_pvd, a commune in two territoires) or warning
 * (R2), R43 for préfectures, PATCH with If-Match, lists and the journal.
 * Reserved data (tests run in parallel on one database): one territoire and
 * commune per test, id_pvd numbers ≥ 900, never départements 58, 71, 03, 39
 * or 15. Real referential facts (millésime 2026) used below: 01001
 * L'Abergement-Clémenciat in CA 200069193 (whose most populous member is
 * 01093 Châtillon-sur-Chalaronne, SIREN 210100939); 07001 Accons and 07006 in
 * CC 200041465; 12001 Agen-d'Aveyron in 241200658; 84054 L'Isle-sur-la-Sorgue
 * (20 244 inhabitants); 97502 Saint-Pierre (Saint-Pierre-et-Miquelon, a COM);
 * 32027 (Gers) in the CC d'Aire-sur-l'Adour 200030435, whose other members
 * are in the Landes (40); Le Pont-de-Beauvoisin 38315 (Isère, CC Les Vals du
 * Dauphiné 200068567, whose most populous member is La Tour-du-Pin 38509) and
 * 73204 (Savoie, CC Val Guiers 247300528); 56010 Baud, listed by the ANCT in
 * 2021 with the CC Centre Morbihan Communauté 200067221, since split: Baud is
 * in the CC Baud Communauté 200096675 (of which it is the most populous). */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/fixtures.h"
#include "../support/http_client.h"
#include "../support/tokens.h"

/* A préfecture_instructeur of these départements (JSON array text). */
static void prefecture(struct fx_caller *c, const char *departements)
{
    char perimetre[400];
    snprintf(perimetre, sizeof perimetre, "{\"departements\":%s}", departements);
    fx_grant_header(c->header, sizeof c->header, "prefecture_instructeur", perimetre);
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

static long journal_count(const struct fx_caller *a, const char *id_pvd, const char *action)
{
    char path[200];
    struct http_response r;
    snprintf(path, sizeof path, "/api/v1/journal?ressource_type=territoire&ressource_id=%s",
             id_pvd);
    fx_call(a, "GET", path, NULL, NULL, &r);
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
    struct fx_caller a;
    struct http_response r;
    fx_admin(&a);
    fx_call(&a, "POST", "/api/v1/territoires",
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
    /* Issue 8 §3: its départements, and the ville principale an ORT cadre needs (R6): the
     * most populous member of its first EPCI, Châtillon-sur-Chalaronne. */
    json_t *deps = json_object_get(t, "departements");
    cr_assert_eq(json_array_size(deps), 1, HTTP_BODY, r.body);
    cr_assert_str_eq(json_string_value(json_array_get(deps, 0)), "01");
    json_t *vp = json_object_get(t, "ville_principale");
    cr_assert_str_eq(json_string_value(json_object_get(vp, "code_insee")), "01093", HTTP_BODY,
                     r.body);
    cr_assert_str_eq(json_string_value(json_object_get(vp, "nom")), "Châtillon-sur-Chalaronne");
    cr_assert_str_eq(json_string_value(json_object_get(vp, "siren")), "210100939");
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
    /* The journal entry carries the commune's SIREN: its collectivité reads it. */
    struct fx_caller agent;
    fx_grant_header(agent.header, sizeof agent.header, "collectivite_agent",
                    "{\"sirens\":[\"210100012\"]}");
    cr_assert_eq(journal_count(&agent, "pvd-84-01-901", "territoire.creer"), 1);

    /* The same id again: 409, nothing written. */
    fx_call(&a, "POST", "/api/v1/territoires",
            "{\"id_pvd\":\"pvd-84-01-901\",\"communes\":[\"01001\"]}", NULL, &r);
    cr_assert_eq(r.status, 409, HTTP_BODY, r.body);
    http_response_release(&r);
    cr_assert_eq(journal_count(&a, "pvd-84-01-901", "territoire.creer"), 1);
}

Test(territoires_pvd, grouped_candidature_and_a_commune_in_one_territoire_only)
{
    struct fx_caller a;
    struct http_response r;
    fx_admin(&a);
    fx_call(&a, "POST", "/api/v1/territoires",
            "{\"id_pvd\":\"pvd-84-07-901\",\"communes\":[\"07001\",\"07006\"],"
            "\"epcis\":[\"200041465\"]}",
            NULL, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    cr_assert_eq(json_array_size(json_object_get(r.json, "communes")), 2);
    http_response_release(&r);
    fx_call(&a, "POST", "/api/v1/territoires",
            "{\"id_pvd\":\"pvd-84-07-902\",\"communes\":[\"07012\",\"07006\"]}", NULL, &r);
    expect_rule(&r, NULL, "commune-deja-dans-un-territoire", "/communes/1");
    http_response_release(&r);
    http_get("/api/v1/territoires/pvd-84-07-902", &r);
    cr_assert_eq(r.status, 404, "nothing written");
    http_response_release(&r);
}

Test(territoires_pvd, r1_each_commune_member_of_one_of_its_epcis)
{
    struct fx_caller a;
    struct http_response r;
    fx_admin(&a);
    fx_call(&a, "POST", "/api/v1/territoires",
            "{\"id_pvd\":\"pvd-76-12-901\",\"communes\":[\"12001\"],\"epcis\":[\"200041465\"]}",
            NULL, &r);
    expect_rule(&r, "R1", "commune-hors-epci", "/communes/0");
    http_response_release(&r);
    fx_call(&a, "POST", "/api/v1/territoires", "{\"id_pvd\":\"pvd-76-12-901\",\"communes\":[]}",
            NULL, &r);
    expect_rule(&r, "R1", "territoire-sans-commune", "/communes");
    http_response_release(&r);
    http_get("/api/v1/territoires/pvd-76-12-901", &r);
    cr_assert_eq(r.status, 404, "nothing written");
    http_response_release(&r);
}

Test(territoires_pvd, r2_population_above_20000_is_a_warning_only)
{
    struct fx_caller a;
    struct http_response r;
    fx_admin(&a);
    fx_call(&a, "POST", "/api/v1/territoires",
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
    struct fx_caller a;
    struct http_response r;
    fx_admin(&a);
    fx_call(&a, "POST", "/api/v1/territoires",
            "{\"id_pvd\":\"pvd-97-975-901\",\"communes\":[\"97502\"]}", NULL, &r);
    expect_rule(&r, NULL, "commune-hors-programme", "/communes/0");
    http_response_release(&r);
    /* A DROM is in: Grand'Rivière (Martinique, 972, région 02), codes as strings. */
    fx_call(&a, "POST", "/api/v1/territoires",
            "{\"id_pvd\":\"pvd-02-972-901\",\"communes\":[\"97211\"]}", NULL, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "code_departement")), "972");
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "code_region")), "02");
    http_response_release(&r);
}

Test(territoires_pvd, r42_unknown_commune_unknown_epci_and_luhn)
{
    struct fx_caller a;
    struct http_response r;
    fx_admin(&a);
    fx_call(&a, "POST", "/api/v1/territoires",
            "{\"id_pvd\":\"pvd-75-23-909\",\"communes\":[\"23999\"],\"epcis\":[\"200067189\"]}",
            NULL, &r);
    expect_rule(&r, "R42", "commune-inconnue", "/communes/0");
    http_response_release(&r);
    fx_call(&a, "POST", "/api/v1/territoires",
            "{\"id_pvd\":\"pvd-75-23-909\",\"communes\":[\"23002\"],\"epcis\":[\"200067188\"]}",
            NULL, &r);
    expect_rule(&r, "R42", "siren-invalide", "/epcis/0");
    http_response_release(&r);
    fx_call(&a, "POST", "/api/v1/territoires",
            "{\"id_pvd\":\"pvd-75-23-909\",\"communes\":[\"23002\"],\"epcis\":[\"215800624\"]}",
            NULL, &r);
    expect_rule(&r, "R42", "epci-inconnu", "/epcis/0");
    http_response_release(&r);
}

Test(territoires_pvd, bad_input_is_400_with_a_pointer)
{
    struct fx_caller a;
    struct http_response r;
    fx_admin(&a);
    fx_call(&a, "POST", "/api/v1/territoires",
            "{\"id_pvd\":\"pvd-84-38739-9\",\"communes\":[\"1001\"],\"date_designation\":\"2023-02-"
            "29\","
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
    struct fx_caller a;
    struct http_response r;
    fx_admin(&a);
    /* Aveyron (12) is in Occitanie (76), not 84. */
    fx_call(&a, "POST", "/api/v1/territoires",
            "{\"id_pvd\":\"pvd-84-12-901\",\"communes\":[\"12002\"]}", NULL, &r);
    expect_rule(&r, NULL, "id-pvd-incoherent", "/id_pvd");
    http_response_release(&r);
    /* The département of the id is none of its communes'. */
    fx_call(&a, "POST", "/api/v1/territoires",
            "{\"id_pvd\":\"pvd-76-46-901\",\"communes\":[\"12002\"]}", NULL, &r);
    expect_rule(&r, NULL, "id-pvd-incoherent", "/id_pvd");
    http_response_release(&r);
}

Test(territoires_pvd, r43_prefecture_of_the_departement_only_never_of_the_epci)
{
    struct fx_caller landes, gers, a;
    struct http_response r;
    fx_admin(&a);
    prefecture(&landes, "[\"40\"]");
    prefecture(&gers, "[\"32\"]");
    const char *body = "{\"id_pvd\":\"pvd-76-32-901\",\"communes\":[\"32027\"],"
                       "\"epcis\":[\"200030435\"]}";
    /* The EPCI straddles the Gers and the Landes: the Landes may not act. */
    fx_call(&landes, "POST", "/api/v1/territoires", body, NULL, &r);
    cr_assert_eq(r.status, 403, HTTP_BODY, r.body);
    http_response_release(&r);
    fx_call(&gers, "POST", "/api/v1/territoires", body, NULL, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    char im[100];
    snprintf(im, sizeof im, "If-Match: %s", http_header(&r, "ETag"));
    http_response_release(&r);
    fx_call(&landes, "PATCH", "/api/v1/territoires/pvd-76-32-901", "{\"nom\":\"Aire\"}", im, &r);
    cr_assert_eq(r.status, 403, HTTP_BODY, r.body);
    http_response_release(&r);
    fx_call(&gers, "PATCH", "/api/v1/territoires/pvd-76-32-901", "{\"nom\":\"Le Houga\"}", im, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    http_response_release(&r);
    cr_assert_eq(journal_count(&a, "pvd-76-32-901", "territoire.modifier"), 1);
}

Test(territoires_pvd, patch_needs_if_match_and_rechecks_every_rule)
{
    struct fx_caller a;
    struct http_response r;
    fx_admin(&a);
    fx_call(&a, "POST", "/api/v1/territoires",
            "{\"id_pvd\":\"pvd-75-23-901\",\"communes\":[\"23001\"]}", NULL, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    char im[100], stale[100];
    snprintf(im, sizeof im, "If-Match: %s", http_header(&r, "ETag"));
    http_response_release(&r);
    fx_call(&a, "PATCH", "/api/v1/territoires/pvd-75-23-901", "{\"nom\":\"Ahun\"}", NULL, &r);
    cr_assert_eq(r.status, 428, HTTP_BODY, r.body);
    http_response_release(&r);
    fx_call(
        &a, "PATCH", "/api/v1/territoires/pvd-75-23-901",
        "{\"nom\":\"Ahun\",\"communes\":[\"23001\",\"23007\"],\"date_designation\":\"2021-03-01\"}",
        im, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_eq(json_array_size(json_object_get(r.json, "communes")), 2);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "nom")), "Ahun");
    snprintf(stale, sizeof stale, "%s", im);
    snprintf(im, sizeof im, "If-Match: %s", http_header(&r, "ETag"));
    http_response_release(&r);
    fx_call(&a, "PATCH", "/api/v1/territoires/pvd-75-23-901", "{\"nom\":\"Autre\"}", stale, &r);
    cr_assert_eq(r.status, 412, HTTP_BODY, r.body);
    http_response_release(&r);
    /* R1 again: a commune of another EPCI. */
    fx_call(&a, "PATCH", "/api/v1/territoires/pvd-75-23-901",
            "{\"communes\":[\"23001\",\"19001\"]}", im, &r);
    expect_rule(&r, "R1", "commune-hors-epci", "/communes/1");
    http_response_release(&r);
    fx_call(&a, "PATCH", "/api/v1/territoires/pvd-75-23-901",
            "{\"date_sortie\":\"2020-01-01\",\"date_designation\":\"2021-03-01\"}", im, &r);
    expect_rule(&r, NULL, "dates-incoherentes", "/date_sortie");
    http_response_release(&r);
    fx_call(&a, "PATCH", "/api/v1/territoires/pvd-75-23-901", "{\"date_sortie\":\"2025-06-30\"}",
            im, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "etat")), "sorti");
    http_response_release(&r);
    cr_assert_eq(journal_count(&a, "pvd-75-23-901", "territoire.modifier"), 2);
}

Test(territoires_pvd, list_filters_and_keyset_paging)
{
    struct fx_caller a;
    struct http_response r;
    fx_admin(&a);
    fx_call(&a, "POST", "/api/v1/territoires",
            "{\"id_pvd\":\"pvd-75-24-901\",\"communes\":[\"24001\"]}", NULL, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    http_response_release(&r);
    fx_call(&a, "POST", "/api/v1/territoires",
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

/* ---- Bulk import (small files; the real one: tests/import) ------------- */

static void import_csv(const struct fx_caller *c, const char *query, const char *csv,
                       const char *content_type, struct http_response *r)
{
    char path[120];
    snprintf(path, sizeof path, "/api/v1/territoires/import%s", query);
    const char *headers[] = {c->header, content_type, NULL};
    http_request("POST", path, headers, csv, strlen(csv), r);
}

static const char *line_field(const json_t *report, size_t i, const char *name)
{
    return json_string_value(
        json_object_get(json_array_get(json_object_get(report, "lignes"), i), name));
}

static long line_total(const json_t *report, const char *name)
{
    return (long)json_integer_value(
        json_object_get(json_object_get(report, "lignes_totaux"), name));
}

Test(territoires_pvd, import_dry_run_writes_nothing_then_applies_then_reimport_is_inchange)
{
    struct fx_caller a;
    struct http_response r;
    fx_admin(&a);
    /* BOM, ',' separator, CRLF, RFC 4180 quoting with a separator, a doubled
     * quote and a line break inside fields; extra columns ignored. */
    const char *csv = "\xEF\xBB\xBF"
                      "\"id_pvd\",\"insee_com\",\"lib_com\",\"pop\",\"siren_epci\"\r\n"
                      "pvd-75-87-901,87001,\"Aixe-sur-Vienne, \"\"la\"\"\",5800,248719288\r\n"
                      "pvd-75-87-901,87015,\"Bos-\nmie\",1000,248719288\r\n";
    import_csv(&a, "", csv, "Content-Type: text/csv; charset=utf-8", &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert(json_is_false(json_object_get(r.json, "applique")));
    cr_assert_eq(line_total(r.json, "cree"), 2, HTTP_BODY, r.body);
    cr_assert_str_eq(line_field(r.json, 0, "resultat"), "cree");
    cr_assert_eq(json_integer_value(json_object_get(
                     json_array_get(json_object_get(r.json, "lignes"), 1), "ligne")),
                 3);
    http_response_release(&r);
    http_get("/api/v1/territoires/pvd-75-87-901", &r);
    cr_assert_eq(r.status, 404, "a dry run writes nothing");
    http_response_release(&r);

    import_csv(&a, "?appliquer=true", csv, "Content-Type: text/csv", &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert(json_is_true(json_object_get(r.json, "applique")));
    http_response_release(&r);
    http_get("/api/v1/territoires/pvd-75-87-901", &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_eq(json_array_size(json_object_get(r.json, "communes")), 2);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "nom")),
                     "Aixe-sur-Vienne, \"la\", Bos-\nmie");
    http_response_release(&r);
    cr_assert_eq(journal_count(&a, "pvd-75-87-901", "territoire.creer"), 1);

    import_csv(&a, "?appliquer=true", csv, "Content-Type: text/csv", &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_eq(line_total(r.json, "inchange"), 2, HTTP_BODY, r.body);
    cr_assert(json_is_false(json_object_get(r.json, "applique")));
    http_response_release(&r);
    cr_assert_eq(journal_count(&a, "pvd-75-87-901", "territoire.creer"), 1);
    cr_assert_eq(journal_count(&a, "pvd-75-87-901", "territoire.modifier"), 0);

    /* A changed composition: modifie, journaled. */
    import_csv(&a, "?appliquer=true", "id_pvd;insee_com\npvd-75-87-901;87001\n",
               "Content-Type: text/csv", &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_str_eq(line_field(r.json, 0, "resultat"), "modifie");
    http_response_release(&r);
    cr_assert_eq(journal_count(&a, "pvd-75-87-901", "territoire.modifier"), 1);
}

Test(territoires_pvd, import_all_or_nothing_unless_partiel)
{
    struct fx_caller a;
    struct http_response r;
    fx_admin(&a);
    const char *csv = "id_pvd;insee_com;lib_com\n"
                      "pvd-76-09-901;09001;Aigues-Juntes\n"
                      "pvd-76-48-901;48001;Albaret-le-Comtal\n"
                      "pvd-76-48-901;48999;Inconnue\n"
                      ";09002;Aigues-Vives\n";
    import_csv(&a, "?appliquer=true", csv, "Content-Type: text/csv", &r);
    cr_assert_eq(r.status, 422, HTTP_BODY, r.body);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "code")), "regle-non-respectee");
    json_t *rapport = json_object_get(r.json, "rapport");
    cr_assert_str_eq(line_field(rapport, 0, "resultat"), "cree");
    cr_assert_str_eq(line_field(rapport, 1, "code"), "territoire-refuse");
    cr_assert_str_eq(line_field(rapport, 2, "code"), "commune-inconnue");
    cr_assert_str_eq(line_field(rapport, 3, "code"), "id-pvd-manquant");
    http_response_release(&r);
    http_get("/api/v1/territoires/pvd-76-09-901", &r);
    cr_assert_eq(r.status, 404, "refused: nothing written");
    http_response_release(&r);

    import_csv(&a, "?appliquer=true&partiel=true", csv, "Content-Type: text/csv", &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_eq(line_total(r.json, "cree"), 1);
    cr_assert_eq(line_total(r.json, "refuse"), 3);
    http_response_release(&r);
    http_get("/api/v1/territoires/pvd-76-09-901", &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    http_response_release(&r);
    http_get("/api/v1/territoires/pvd-76-48-901", &r);
    cr_assert_eq(r.status, 404);
    http_response_release(&r);
}

Test(territoires_pvd, import_by_a_prefecture_refuses_lines_outside_its_departements)
{
    struct fx_caller pref;
    struct http_response r;
    prefecture(&pref, "[\"43\"]");
    const char *csv = "id_pvd;insee_com\npvd-84-43-901;43001\npvd-94-2A-901;2A001\n";
    import_csv(&pref, "", csv, "Content-Type: text/csv", &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_str_eq(line_field(r.json, 0, "resultat"), "cree");
    cr_assert_str_eq(line_field(r.json, 1, "resultat"), "refuse");
    cr_assert_str_eq(line_field(r.json, 1, "code"), "hors-perimetre");
    http_response_release(&r);
}

Test(territoires_pvd, import_bad_requests)
{
    struct fx_caller a;
    struct http_response r;
    fx_admin(&a);
    import_csv(&a, "", "id_pvd;insee_com\n", "Content-Type: application/json", &r);
    cr_assert_eq(r.status, 415, HTTP_BODY, r.body);
    http_response_release(&r);
    import_csv(&a, "", "id;commune\npvd-1;46001\n", "Content-Type: text/csv", &r);
    cr_assert_eq(r.status, 400, HTTP_BODY, r.body);
    cr_assert_str_eq(json_string_value(json_object_get(
                         json_array_get(json_object_get(r.json, "erreurs"), 0), "code")),
                     "colonne-obligatoire-absente");
    http_response_release(&r);
    import_csv(&a, "", "id_pvd;insee_com\n\"pvd-76-46-901;46001\n", "Content-Type: text/csv", &r);
    cr_assert_eq(r.status, 400, HTTP_BODY, r.body);
    http_response_release(&r);
    import_csv(&a, "?appliquer=oui", "id_pvd;insee_com\n", "Content-Type: text/csv", &r);
    cr_assert_eq(r.status, 400, HTTP_BODY, r.body);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "code")), "parametre-invalide");
    http_response_release(&r);
}

Test(territoires_pvd, idempotency_key_replays_the_creation_and_creates_nothing_more)
{
    struct fx_caller a;
    struct http_response r1, r2;
    fx_admin(&a);
    char key[80], header[120];
    token_unique_subject(key, sizeof key, "cle-terr");
    snprintf(header, sizeof header, "Idempotency-Key: %s", key);
    const char *body = "{\"id_pvd\":\"pvd-76-46-902\",\"communes\":[\"46001\"]}";
    fx_call(&a, "POST", "/api/v1/territoires", body, header, &r1);
    cr_assert_eq(r1.status, 201, HTTP_BODY, r1.body);
    fx_call(&a, "POST", "/api/v1/territoires", body, header, &r2);
    cr_assert_eq(r2.status, 201, HTTP_BODY, r2.body);
    cr_assert_str_eq(http_header(&r2, "Idempotent-Replayed"), "true");
    cr_assert_str_eq(r2.body, r1.body);
    cr_assert_str_eq(http_header(&r2, "ETag"), http_header(&r1, "ETag"));
    http_response_release(&r1);
    http_response_release(&r2);
    cr_assert_eq(journal_count(&a, "pvd-76-46-902", "territoire.creer"), 1);
}

/* Issue 8 §3: the real territoire pvd-84-3873-9 spans the Isère (38) and the
 * Savoie (73): accepted, it shows both départements, the list by
 * département finds it under 73, both préfectures act on it and the 71 does
 * not; its ville principale (R6) is named. */
Test(territoires_pvd, a_territoire_of_two_departements_is_scoped_to_both)
{
    struct fx_caller a, isere, savoie, saone;
    struct http_response r;
    fx_admin(&a);
    prefecture(&isere, "[\"38\"]");
    prefecture(&savoie, "[\"73\"]");
    prefecture(&saone, "[\"71\"]");
    const char *body = "{\"id_pvd\":\"pvd-84-3873-9\",\"communes\":[\"38315\",\"73204\"],"
                       "\"epcis\":[\"200068567\",\"247300528\"]}";
    fx_call(&saone, "POST", "/api/v1/territoires", body, NULL, &r);
    cr_assert_eq(r.status, 403, HTTP_BODY, r.body);
    http_response_release(&r);
    fx_call(&savoie, "POST", "/api/v1/territoires", body, NULL, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    json_t *d = json_object_get(r.json, "departements");
    cr_assert_eq(json_array_size(d), 2, HTTP_BODY, r.body);
    cr_assert_str_eq(json_string_value(json_array_get(d, 0)), "38");
    cr_assert_str_eq(json_string_value(json_array_get(d, 1)), "73");
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "code_departement")), "38");
    json_t *vp = json_object_get(r.json, "ville_principale");
    cr_assert_str_eq(json_string_value(json_object_get(vp, "code_insee")), "38509", HTTP_BODY,
                     r.body);
    cr_assert_str_eq(json_string_value(json_object_get(vp, "nom")), "La Tour-du-Pin");
    cr_assert_str_eq(json_string_value(json_object_get(vp, "siren")), "213805096");
    char im[100];
    snprintf(im, sizeof im, "If-Match: %s", http_header(&r, "ETag"));
    http_response_release(&r);

    http_get("/api/v1/territoires?departement=73&limite=500", &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    bool listed = false;
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(r.json, "elements"), i, t)
    {
        listed =
            listed || strcmp(json_string_value(json_object_get(t, "id_pvd")), "pvd-84-3873-9") == 0;
    }
    cr_assert(listed, "?departement=73 lists it: " HTTP_BODY, r.body);
    http_response_release(&r);

    fx_call(&saone, "PATCH", "/api/v1/territoires/pvd-84-3873-9", "{\"nom\":\"Non\"}", im, &r);
    cr_assert(r.status == 403 || r.status == 404, HTTP_BODY, r.body);
    http_response_release(&r);
    fx_call(&isere, "PATCH", "/api/v1/territoires/pvd-84-3873-9",
            "{\"nom\":\"Le Pont-de-Beauvoisin\"}", im, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    snprintf(im, sizeof im, "If-Match: %s", http_header(&r, "ETag"));
    http_response_release(&r);
    fx_call(&savoie, "PATCH", "/api/v1/territoires/pvd-84-3873-9",
            "{\"nom\":\"Les deux Pont-de-Beauvoisin\"}", im, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    http_response_release(&r);
    cr_assert_eq(journal_count(&a, "pvd-84-3873-9", "territoire.modifier"), 2);
    /* The journal rows carry both départements: each préfecture sees them. */
    cr_assert_eq(journal_count(&isere, "pvd-84-3873-9", "territoire.modifier"), 2);
    cr_assert_eq(journal_count(&savoie, "pvd-84-3873-9", "territoire.modifier"), 2);
}

/* Issue 8 §3: a line whose EPCI changed since the file (56010 with
 * 200067221, split since) is accepted on the commune's current EPCI, with a
 * warning epci-modifie naming both SIRENs. */
Test(territoires_pvd, import_takes_the_current_epci_of_a_commune_with_a_warning)
{
    struct fx_caller a;
    struct http_response r;
    fx_admin(&a);
    const char *csv = "id_pvd;insee_com;lib_com;insee_dep;siren_epci\n"
                      "pvd-53-56-901;56010;Baud;56;200067221\n";
    import_csv(&a, "", csv, "Content-Type: text/csv", &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_str_eq(line_field(r.json, 0, "resultat"), "cree", HTTP_BODY, r.body);
    json_t *w = json_array_get(
        json_object_get(json_array_get(json_object_get(r.json, "lignes"), 0), "avertissements"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(w, "code")), "epci-modifie", HTTP_BODY,
                     r.body);
    cr_assert_str_eq(json_string_value(json_object_get(w, "pointeur")), "/lignes/2");
    const char *m = json_string_value(json_object_get(w, "message"));
    cr_assert(strstr(m, "200067221") && strstr(m, "200096675"), "%s", m);
    http_response_release(&r);
    import_csv(&a, "?appliquer=true", csv, "Content-Type: text/csv", &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    http_response_release(&r);
    http_get("/api/v1/territoires/pvd-53-56-901", &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    json_t *epcis = json_object_get(r.json, "epcis");
    cr_assert_eq(json_array_size(epcis), 1);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(epcis, 0), "siren")),
                     "200096675");
    cr_assert_str_eq(
        json_string_value(json_object_get(json_object_get(r.json, "ville_principale"), "nom")),
        "Baud");
    http_response_release(&r);
    /* The same file again: inchange (the current EPCI is what was written). */
    import_csv(&a, "?appliquer=true", csv, "Content-Type: text/csv", &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_str_eq(line_field(r.json, 0, "resultat"), "inchange", HTTP_BODY, r.body);
    http_response_release(&r);
}

/* The report is written as JSON text (issue 8 §1): what a line holds comes
 * back exactly, quotes, backslashes, control characters and non-ASCII
 * included. */
Test(territoires_pvd, import_report_escapes_what_the_file_holds)
{
    struct fx_caller a;
    struct http_response r;
    fx_admin(&a);
    const char *csv = "id_pvd;insee_com\n"
                      "\"pvd-\\\"\"x\u00e9\u2028\";\"7\"\"8\\0\t03\x01\"\n";
    import_csv(&a, "", csv, "Content-Type: text/csv", &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_not_null(r.json, "the report is JSON: " HTTP_BODY, r.body);
    cr_assert_str_eq(line_field(r.json, 0, "insee_com"), "7\"8\\0\t03\x01", HTTP_BODY, r.body);
    cr_assert_str_eq(line_field(r.json, 0, "id_pvd"), "pvd-\\\"x\u00e9\u2028");
    cr_assert_str_eq(line_field(r.json, 0, "code"), "insee-com-invalide");
    const char *motif = line_field(r.json, 0, "motif");
    cr_assert(motif && strstr(motif, "7\"8\\0\t03\x01"), HTTP_BODY, r.body);
    http_response_release(&r);
}

/* The PATCH read the territoire (its If-Match matched) before another
 * session, holding the row, changed it: the write finds the revision moved
 * under its lock (DB_STALE) and answers 412, writing nothing. */
Test(territoires_pvd, a_change_found_under_the_lock_is_412)
{
    struct fx_caller a;
    struct http_response r;
    fx_admin(&a);
    fx_call(&a, "POST", "/api/v1/territoires",
            "{\"id_pvd\":\"pvd-75-86-951\",\"communes\":[\"86001\"]}", NULL, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    char im[100];
    snprintf(im, sizeof im, "If-Match: %s", http_header(&r, "ETag"));
    http_response_release(&r);
    fx_call_while_held(&a, "PATCH", "/api/v1/territoires/pvd-75-86-951", "{\"nom\":\"Mien\"}", im,
                       "UPDATE territoires SET nom = 'Changé ailleurs', revision = revision + 1 "
                       "WHERE id_pvd = $1",
                       "pvd-75-86-951", &r);
    char current[64];
    fx_expect_stale(&r, "Le territoire a été modifié entre-temps", current);
    http_response_release(&r);
    fx_call(&a, "GET", "/api/v1/territoires/pvd-75-86-951", NULL, NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_str_eq(current, http_header(&r, "ETag"));
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "nom")), "Changé ailleurs",
                     "nothing written by the PATCH");
    http_response_release(&r);
}
