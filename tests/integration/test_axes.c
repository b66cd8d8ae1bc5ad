/* Projet de territoire over HTTP: axes stratégiques, indicateurs and mesures
 * with their refusals (duplicates 409, unknown partenaires 422, decimal
 * strings 400, impossible dates 400, a cible before its référence 422, a
 * mesure in the future 422), If-Match (428/412), the perimeter (404 outside,
 * 403 inside without the right) and the journal. Each test has its own
 * territoire in the Jura (39) or the Cantal (15), ids pvd-*-9xx. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/fixtures.h"
#include "../support/http_client.h"

static void axes_path(char *out, size_t size, const char *id_pvd)
{
    snprintf(out, size, "/api/v1/territoires/%s/axes-strategiques", id_pvd);
}

Test(axes, create_read_list_update_delete_with_journal)
{
    struct fx_caller admin;
    struct http_response r;
    char path[160], id[37], etag[64], one[160], partenaire[37], if_match[100], body[600];
    fx_admin(&admin);
    fx_territoire("pvd-27-39-901", "39478", "200026573");
    fx_organisation("213904782", "commune", "Saint-Claude", partenaire);
    axes_path(path, sizeof path, "pvd-27-39-901");
    snprintf(body, sizeof body,
             "{\"numero\":1,\"intitule\":\"Redynamiser le centre\",\"enjeux\":\"Vacance "
             "commerciale\",\"partenaires\":[\"%s\"],\"echelle\":\"commune\"}",
             partenaire);
    fx_call(&admin, "POST", path, body, NULL, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(r.json, "id")));
    snprintf(etag, sizeof etag, "%s", http_header(&r, "ETag"));
    snprintf(one, sizeof one, "/api/v1/axes-strategiques/%s", id);
    cr_assert_str_eq(http_header(&r, "Location"), one);
    cr_assert_eq(json_integer_value(json_object_get(r.json, "nombre_indicateurs")), 0);
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(r.json, "partenaires"), 0)),
                     partenaire);
    http_response_release(&r);

    fx_call(&admin, "GET", one, NULL, NULL, &r);
    http_expect_json_ok(&r);
    cr_assert_str_eq(http_header(&r, "ETag"), etag);
    http_response_release(&r);

    /* numero is unique per territoire */
    fx_call(&admin, "POST", path,
            "{\"numero\":1,\"intitule\":\"Autre\",\"enjeux\":\"Autres enjeux\"}", NULL, &r);
    http_expect_problem(&r, 409, "conflit");
    http_response_release(&r);

    fx_call(&admin, "POST", path,
            "{\"numero\":2,\"intitule\":\"Habitat\",\"enjeux\":\"Logements vacants\"}", NULL, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    http_response_release(&r);
    fx_call(&admin, "GET", path, NULL, NULL, &r);
    http_expect_json_ok(&r);
    json_t *elements = json_object_get(r.json, "elements");
    cr_assert_eq(json_array_size(elements), 2, HTTP_BODY, r.body);
    cr_assert_eq(json_integer_value(json_object_get(r.json, "total")), 2, HTTP_BODY, r.body);
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(elements, 0), "numero")), 1);
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(elements, 1), "numero")), 2);
    http_response_release(&r);
    char page[200];
    snprintf(page, sizeof page, "%s?limite=1", path);
    fx_call(&admin, "GET", page, NULL, NULL, &r);
    http_expect_json_ok(&r);
    cr_assert(json_is_string(json_object_get(r.json, "suivant")), HTTP_BODY, r.body);
    /* total counts every page, not this one */
    cr_assert_eq(json_integer_value(json_object_get(r.json, "total")), 2, HTTP_BODY, r.body);
    /* the Link target carries the query, never the path parameter: it leads
     * to the next page (it carried ?id_pvd=…, which is 400 on this route) */
    char target[512];
    http_next_link(&r, target, sizeof target);
    cr_assert_null(strstr(target, "id_pvd="), "Link target: %s", target);
    http_response_release(&r);
    fx_call(&admin, "GET", target, NULL, NULL, &r);
    http_expect_json_ok(&r);
    elements = json_object_get(r.json, "elements");
    cr_assert_eq(json_array_size(elements), 1, HTTP_BODY, r.body);
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(elements, 0), "numero")), 2);
    http_response_release(&r);

    /* PATCH: If-Match required, stale refused, merge patch applied */
    fx_call(&admin, "PATCH", one, "{\"intitule\":\"Centre-bourg\"}", NULL, &r);
    http_expect_problem(&r, 428, "precondition-requise");
    http_response_release(&r);
    fx_call(&admin, "PATCH", one, "{\"intitule\":\"Centre-bourg\"}", "If-Match: \"0000\"", &r);
    http_expect_problem(&r, 412, "precondition-echouee");
    http_response_release(&r);
    snprintf(if_match, sizeof if_match, "If-Match: %s", etag);
    fx_call(&admin, "PATCH", one, "{\"numero\":2}", if_match, &r);
    http_expect_problem(&r, 409, "conflit");
    http_response_release(&r);
    fx_call(&admin, "PATCH", one, "{\"intitule\":\"Centre-bourg\",\"echelle\":null,\"id\":\"x\"}",
            if_match, &r);
    fx_expect_error(&r, 400, "champs-invalides", "/id", "champ-inconnu");
    http_response_release(&r);
    {
        /* a JSON Merge Patch document may say so (RFC 7396); a POST body may not */
        const char *headers[] = {admin.header, "Content-Type: application/merge-patch+json",
                                 if_match, NULL};
        const char *patch = "{\"intitule\":\"Centre-bourg\",\"echelle\":null}";
        http_request("PATCH", one, headers, patch, strlen(patch), &r);
        const char *post_headers[] = {admin.header, "Content-Type: application/merge-patch+json",
                                      NULL};
        struct http_response refused;
        http_request("POST", path, post_headers, patch, strlen(patch), &refused);
        http_expect_problem(&refused, 415, "type-media-non-supporte");
        http_response_release(&refused);
    }
    http_expect_json_ok(&r);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "intitule")), "Centre-bourg");
    cr_assert(json_is_null(json_object_get(r.json, "echelle")));
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "enjeux")), "Vacance commerciale");
    cr_assert_str_neq(http_header(&r, "ETag"), etag);
    snprintf(etag, sizeof etag, "%s", http_header(&r, "ETag"));
    http_response_release(&r);
    /* the old ETag is stale now */
    fx_call(&admin, "DELETE", one, NULL, if_match, &r);
    http_expect_problem(&r, 412, "precondition-echouee");
    http_response_release(&r);
    snprintf(if_match, sizeof if_match, "If-Match: %s", etag);
    fx_call(&admin, "DELETE", one, NULL, if_match, &r);
    cr_assert_eq(r.status, 204, HTTP_BODY, r.body);
    http_response_release(&r);
    fx_call(&admin, "GET", one, NULL, NULL, &r);
    http_expect_problem(&r, 404, "ressource-introuvable");
    http_response_release(&r);

    cr_assert_eq(fx_journal_count("axe_strategique", id, "axe_strategique.creer"), 1);
    cr_assert_eq(fx_journal_count("axe_strategique", id, "axe_strategique.modifier"), 1);
    cr_assert_eq(fx_journal_count("axe_strategique", id, "axe_strategique.supprimer"), 1);

    /* total counts every page of the same filters, on the lists that take filters from SQL */
    struct {
        const char *path;
        json_int_t total;
    } lists[] = {
        {"/api/v1/territoires?commune=39478&limite=1", 1},
        {"/api/v1/organisations?siren=213904782&limite=1", 1},
        {NULL, 3},
    };
    char journal[200];
    snprintf(journal, sizeof journal,
             "/api/v1/journal?ressource_type=axe_strategique&ressource_id=%s&limite=1", id);
    lists[2].path = journal;
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        fx_call(&admin, "GET", lists[i].path, NULL, NULL, &r);
        http_expect_json_ok(&r);
        cr_assert_eq(json_array_size(json_object_get(r.json, "elements")), 1, HTTP_BODY, r.body);
        cr_assert_eq(json_integer_value(json_object_get(r.json, "total")), lists[i].total,
                     "%s: " HTTP_BODY, lists[i].path, r.body);
        http_response_release(&r);
    }
}

Test(axes, bad_bodies_are_refused_and_nothing_is_written)
{
    struct fx_caller admin;
    struct http_response r;
    char path[160];
    fx_admin(&admin);
    fx_territoire("pvd-84-15-903", "15187", "200066660");
    axes_path(path, sizeof path, "pvd-84-15-903");
    fx_call(&admin, "POST", path,
            "{\"numero\":100,\"intitule\":\"\",\"echelle\":\"canton\",\"partenaires\":[\"x\"]}",
            NULL, &r);
    fx_expect_error(&r, 400, "champs-invalides", "/numero", NULL);
    fx_expect_error(&r, 400, "champs-invalides", "/intitule", NULL);
    fx_expect_error(&r, 400, "champs-invalides", "/enjeux", "champ-requis");
    fx_expect_error(&r, 400, "champs-invalides", "/echelle", NULL);
    fx_expect_error(&r, 400, "champs-invalides", "/partenaires/0", "format-invalide");
    http_response_release(&r);
    fx_call(&admin, "POST", path,
            "{\"numero\":3,\"intitule\":\"Mobilités\",\"enjeux\":\"Gare\",\"partenaires\":"
            "[\"6f1c0e9a-4b2d-4e0f-8a7c-3b5d9e1f2a3b\"]}",
            NULL, &r);
    fx_expect_error(&r, 422, "regle-non-respectee", "/partenaires/0", "organisation-inconnue");
    http_response_release(&r);
    fx_call(&admin, "GET", path, NULL, NULL, &r);
    http_expect_json_ok(&r);
    cr_assert_eq(json_array_size(json_object_get(r.json, "elements")), 0, HTTP_BODY, r.body);
    http_response_release(&r);
    fx_call(&admin, "GET", "/api/v1/territoires/pvd-84-15-999/axes-strategiques", NULL, NULL, &r);
    http_expect_problem(&r, 404, "ressource-introuvable");
    http_response_release(&r);
    fx_call(&admin, "GET", "/api/v1/axes-strategiques/pas-un-uuid", NULL, NULL, &r);
    http_expect_param_error(&r, "/id", "format-invalide");
    http_response_release(&r);
}

Test(axes, indicateurs_decimal_strings_dates_and_mesures)
{
    struct fx_caller admin;
    struct http_response r;
    char path[160], axe[37], ind[37], etag[64], one[160], mesures[200], if_match[100];
    fx_admin(&admin);
    fx_territoire("pvd-27-39-902", "39097", "200069623");
    axes_path(path, sizeof path, "pvd-27-39-902");
    fx_create(&admin, path, "{\"numero\":1,\"intitule\":\"Commerce\",\"enjeux\":\"Vacance\"}", axe,
              NULL);
    snprintf(path, sizeof path, "/api/v1/axes-strategiques/%s/indicateurs", axe);

    /* values are decimal strings, never binary floats; dates are real */
    fx_call(&admin, "POST", path,
            "{\"type\":\"resultat\",\"libelle\":\"Vacance\",\"unite\":\"%\",\"valeur_reference\":"
            "18.5,\"valeur_cible\":\"1e3\",\"date_reference\":\"2023-02-29\"}",
            NULL, &r);
    fx_expect_error(&r, 400, "champs-invalides", "/valeur_reference", NULL);
    fx_expect_error(&r, 400, "champs-invalides", "/valeur_cible", NULL);
    fx_expect_error(&r, 400, "champs-invalides", "/date_reference", NULL);
    http_response_release(&r);
    fx_call(
        &admin, "POST", path,
        "{\"type\":\"impact\",\"libelle\":\"Vacance\",\"unite\":\"%\",\"valeur_cible\":\"1,5\"}",
        NULL, &r);
    fx_expect_error(&r, 400, "champs-invalides", "/type", NULL);
    fx_expect_error(&r, 400, "champs-invalides", "/valeur_cible", NULL);
    http_response_release(&r);
    fx_call(&admin, "POST", path,
            "{\"type\":\"resultat\",\"libelle\":\"Vacance\",\"unite\":\"%\",\"date_reference\":"
            "\"2022-06-30\",\"date_cible\":\"2021-12-31\"}",
            NULL, &r);
    fx_expect_error(&r, 422, "regle-non-respectee", "/date_cible",
                    "date-cible-anterieure-reference");
    http_response_release(&r);

    fx_call(&admin, "POST", path,
            "{\"type\":\"resultat\",\"libelle\":\"Taux de vacance commerciale\",\"unite\":\"%\","
            "\"valeur_reference\":\"18.50\",\"date_reference\":\"2021-06-30\",\"valeur_cible\":"
            "\"-0.000001\",\"date_cible\":\"2026-12-31\"}",
            NULL, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    snprintf(ind, sizeof ind, "%s", json_string_value(json_object_get(r.json, "id")));
    snprintf(etag, sizeof etag, "%s", http_header(&r, "ETag"));
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "valeur_reference")), "18.50");
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "valeur_cible")), "-0.000001");
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "id_pvd")), "pvd-27-39-902");
    http_response_release(&r);

    /* the axe shows its indicateur (R9 readiness) */
    char axe_path[160];
    snprintf(axe_path, sizeof axe_path, "/api/v1/axes-strategiques/%s", axe);
    fx_call(&admin, "GET", axe_path, NULL, NULL, &r);
    http_expect_json_ok(&r);
    cr_assert_eq(json_integer_value(json_object_get(r.json, "nombre_indicateurs")), 1);
    cr_assert_str_eq(
        json_string_value(json_array_get(json_object_get(r.json, "types_indicateurs"), 0)),
        "resultat");
    http_response_release(&r);
    fx_call(&admin, "GET", path, NULL, NULL, &r);
    http_expect_json_ok(&r);
    cr_assert_eq(json_array_size(json_object_get(r.json, "elements")), 1);
    http_response_release(&r);

    /* mesures: one per date, never in the future */
    snprintf(mesures, sizeof mesures, "/api/v1/indicateurs/%s/mesures", ind);
    fx_call(&admin, "POST", mesures, "{\"date\":\"2099-01-01\",\"valeur\":\"12\"}", NULL, &r);
    fx_expect_error(&r, 422, "regle-non-respectee", "/date", "date-mesure-future");
    http_response_release(&r);
    fx_call(&admin, "POST", mesures, "{\"date\":\"2024-06-30\",\"valeur\":12}", NULL, &r);
    fx_expect_error(&r, 400, "champs-invalides", "/valeur", NULL);
    http_response_release(&r);
    fx_call(&admin, "POST", mesures,
            "{\"date\":\"2024-06-30\",\"valeur\":\"16.2\",\"source\":\"Relevé\"}", NULL, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    cr_assert_not_null(http_header(&r, "ETag"));
    char mesure[37];
    snprintf(mesure, sizeof mesure, "%s", json_string_value(json_object_get(r.json, "id")));
    http_response_release(&r);
    fx_call(&admin, "POST", mesures, "{\"date\":\"2024-06-30\",\"valeur\":\"16\"}", NULL, &r);
    http_expect_problem(&r, 409, "conflit");
    http_response_release(&r);
    fx_call(&admin, "POST", mesures, "{\"date\":\"2023-06-30\",\"valeur\":\"17\"}", NULL, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    http_response_release(&r);
    fx_call(&admin, "GET", mesures, NULL, NULL, &r);
    http_expect_json_ok(&r);
    json_t *elements = json_object_get(r.json, "elements");
    cr_assert_eq(json_array_size(elements), 2);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(elements, 0), "date")),
                     "2023-06-30");
    http_response_release(&r);
    cr_assert_eq(fx_journal_count("indicateur_mesure", mesure, "indicateur_mesure.creer"), 1);

    /* PATCH with a merge patch: null removes a value */
    snprintf(one, sizeof one, "/api/v1/indicateurs/%s", ind);
    fx_etag(one, etag);
    snprintf(if_match, sizeof if_match, "If-Match: %s", etag);
    fx_call(&admin, "PATCH", one, "{\"valeur_cible\":null,\"libelle\":\"Vacance\"}", if_match, &r);
    http_expect_json_ok(&r);
    cr_assert(json_is_null(json_object_get(r.json, "valeur_cible")));
    cr_assert_str_eq(
        json_string_value(json_object_get(json_object_get(r.json, "derniere_mesure"), "valeur")),
        "16.2");
    snprintf(etag, sizeof etag, "%s", http_header(&r, "ETag"));
    http_response_release(&r);
    cr_assert_eq(fx_journal_count("indicateur", ind, "indicateur.creer"), 1);
    cr_assert_eq(fx_journal_count("indicateur", ind, "indicateur.modifier"), 1);
    snprintf(if_match, sizeof if_match, "If-Match: %s", etag);
    fx_call(&admin, "DELETE", one, NULL, if_match, &r);
    cr_assert_eq(r.status, 204, HTTP_BODY, r.body);
    http_response_release(&r);
    fx_call(&admin, "GET", mesures, NULL, NULL, &r);
    http_expect_problem(&r, 404, "ressource-introuvable");
    http_response_release(&r);
    cr_assert_eq(fx_journal_count("indicateur", ind, "indicateur.supprimer"), 1);
}

Test(axes, perimeter_hides_outside_and_forbids_writes_to_prefectures)
{
    struct fx_caller admin, agent, pref, pref_out, financeur_out;
    struct http_response r;
    char path[160], axe[37], one[160];
    fx_admin(&admin);
    fx_territoire("pvd-84-15-904", "15012", "241500230");
    fx_caller_with(&agent, "collectivite_agent", "{\"sirens\":[\"211500129\"]}");
    fx_caller_with(&pref, "prefecture_instructeur", "{\"departements\":[\"15\"]}");
    fx_caller_with(&pref_out, "prefecture_instructeur", "{\"departements\":[\"39\"]}");
    fx_caller_with(&financeur_out, "financeur", "{\"sirens\":[\"200033652\"]}");
    axes_path(path, sizeof path, "pvd-84-15-904");
    const char *body = "{\"numero\":4,\"intitule\":\"Services\",\"enjeux\":\"France services\"}";
    fx_call(&pref, "POST", path, body, NULL, &r);
    http_expect_problem(&r, 403, "interdit");
    http_response_release(&r);
    fx_call(&pref_out, "POST", path, body, NULL, &r);
    http_expect_problem(&r, 404, "ressource-introuvable");
    http_response_release(&r);
    fx_create(&agent, path, body, axe, NULL);
    snprintf(one, sizeof one, "/api/v1/axes-strategiques/%s", axe);
    fx_call(&pref, "GET", one, NULL, NULL, &r);
    http_expect_json_ok(&r);
    http_response_release(&r);
    fx_call(&pref_out, "GET", one, NULL, NULL, &r);
    http_expect_problem(&r, 404, "ressource-introuvable");
    http_response_release(&r);
    fx_call(&financeur_out, "GET", path, NULL, NULL, &r);
    http_expect_problem(&r, 404, "ressource-introuvable");
    http_response_release(&r);
}

Test(axes, idempotency_key_replays_the_creation)
{
    struct fx_caller admin;
    struct http_response r1, r2;
    char path[160];
    fx_admin(&admin);
    fx_territoire("pvd-27-39-905", "39368", "243900479");
    axes_path(path, sizeof path, "pvd-27-39-905");
    const char *body = "{\"numero\":7,\"intitule\":\"Patrimoine\",\"enjeux\":\"Lunetterie\"}";
    fx_call(&admin, "POST", path, body, "Idempotency-Key: axe-905-7", &r1);
    cr_assert_eq(r1.status, 201, HTTP_BODY, r1.body);
    fx_call(&admin, "POST", path, body, "Idempotency-Key: axe-905-7", &r2);
    cr_assert_eq(r2.status, 201, HTTP_BODY, r2.body);
    cr_assert_str_eq(r1.body, r2.body);
    http_response_release(&r1);
    http_response_release(&r2);
    fx_call(&admin, "GET", path, NULL, NULL, &r1);
    cr_assert_eq(json_array_size(json_object_get(r1.json, "elements")), 1, HTTP_BODY, r1.body);
    http_response_release(&r1);
}

/* ---- A write that finds its object changed under the lock --------------- */

/* The PATCH read the axe (its If-Match matched) before another session,
 * holding the axe's row, changed it: the write finds the change under its
 * lock and answers 412 with the current ETag (the spec's 412 carries it),
 * writing nothing. */
Test(axes, a_change_found_under_the_lock_is_412_with_the_current_etag)
{
    struct fx_caller admin;
    struct http_response r;
    char path[160], id[37], one[160], if_match[100];
    fx_admin(&admin);
    fx_territoire("pvd-27-39-912", "39013", "200071595");
    axes_path(path, sizeof path, "pvd-27-39-912");
    fx_call(&admin, "POST", path, "{\"numero\":1,\"intitule\":\"Habitat\",\"enjeux\":\"Vacance\"}",
            NULL, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(r.json, "id")));
    snprintf(if_match, sizeof if_match, "If-Match: %s", http_header(&r, "ETag"));
    snprintf(one, sizeof one, "/api/v1/axes-strategiques/%s", id);
    http_response_release(&r);

    struct http_response patch;
    fx_call_while_held(&admin, "PATCH", one, "{\"intitule\":\"Centre-bourg\"}", if_match,
                       "UPDATE axes_strategiques SET intitule = 'Changé ailleurs', "
                       "revision = revision + 1 WHERE id = $1::uuid",
                       id, &patch);
    char current[64];
    fx_expect_stale(&patch, "relisez-la (ETag)", current);
    fx_call(&admin, "GET", one, NULL, NULL, &r);
    http_expect_json_ok(&r);
    cr_assert_str_eq(current, http_header(&r, "ETag"));
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "intitule")), "Changé ailleurs",
                     "nothing written by the PATCH");
    http_response_release(&r);
    http_response_release(&patch);
}
