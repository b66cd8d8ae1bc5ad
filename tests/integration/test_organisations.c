/* Organisations over HTTP (issue 4 §1): communes and EPCI resolved from the
 * referential by SIREN (R42), Luhn (R42, 422), the État without SIREN,
 * duplicates (409), reads, PATCH with If-Match and the journal. SIRENs of
 * the territoires helper's départements only (shared database): 212400014
 * Abjat-sur-Bandiat (24001), 200071819 its EPCI, 212300107 Ahun (23001). */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/http_client.h"
#include "../support/tokens.h"

static char admin_header[4400];

static void call(const char *method, const char *path, const char *body, const char *extra,
                 struct http_response *r)
{
    char *token = token_for("admin-initial");
    token_header(admin_header, sizeof admin_header, token);
    free(token);
    const char *headers[4] = {admin_header, NULL, NULL, NULL};
    size_t n = 1;
    if (body)
        headers[n++] = "Content-Type: application/json";
    if (extra)
        headers[n++] = extra;
    http_request(method, path, headers, body, body ? strlen(body) : 0, r);
}

static const char *field(const struct http_response *r, const char *name)
{
    return json_string_value(json_object_get(r->json, name));
}

static void expect_error(const struct http_response *r, long status, const char *code,
                         const char *pointer)
{
    cr_assert_eq(r->status, status, HTTP_BODY, r->body);
    json_t *e = json_array_get(json_object_get(r->json, "erreurs"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(e, "code")), code, HTTP_BODY, r->body);
    cr_assert_str_eq(json_string_value(json_object_get(e, "pointeur")), pointer, HTTP_BODY,
                     r->body);
}

Test(organisations, commune_resolved_from_the_referential_then_duplicate_409)
{
    struct http_response r;
    call("POST", "/api/v1/organisations", "{\"siren\":\"212400014\",\"nature\":\"commune\"}", NULL,
         &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    cr_assert_str_eq(field(&r, "nom"), "Abjat-sur-Bandiat");
    cr_assert_str_eq(field(&r, "code_insee"), "24001");
    cr_assert_str_eq(field(&r, "code_departement"), "24");
    cr_assert_str_eq(field(&r, "code_region"), "75");
    cr_assert_not_null(http_header(&r, "ETag"));
    char id[64], location[120];
    snprintf(id, sizeof id, "%s", field(&r, "id"));
    snprintf(location, sizeof location, "/api/v1/organisations/%s", id);
    cr_assert_str_eq(http_header(&r, "Location"), location);
    http_response_release(&r);

    call("POST", "/api/v1/organisations",
         "{\"siren\":\"212400014\",\"nature\":\"commune\",\"nom\":\"x\"}", NULL, &r);
    cr_assert_eq(r.status, 409, HTTP_BODY, r.body);
    http_response_release(&r);
    http_get("/api/v1/organisations?siren=212400014", &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    json_t *elements = json_object_get(r.json, "elements");
    cr_assert_eq(json_array_size(elements), 1);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(elements, 0), "id")), id);
    http_response_release(&r);
    http_get(location, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    http_response_release(&r);

    char path[200];
    snprintf(path, sizeof path, "/api/v1/journal?ressource_type=organisation&ressource_id=%s", id);
    call("GET", path, NULL, NULL, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    elements = json_object_get(r.json, "elements");
    cr_assert_eq(json_array_size(elements), 1, HTTP_BODY, r.body);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(elements, 0), "action")),
                     "organisation.creer");
    http_response_release(&r);
}

Test(organisations, epci_resolved_and_rules_of_the_siren)
{
    struct http_response r;
    call("POST", "/api/v1/organisations", "{\"siren\":\"200071819\",\"nature\":\"epci\"}", NULL,
         &r);
    cr_assert(r.status == 201 || r.status == 409, HTTP_BODY, r.body);
    if (r.status == 201)
        cr_assert_null(field(&r, "code_insee"));
    http_response_release(&r);
    /* R42: Luhn. */
    call("POST", "/api/v1/organisations",
         "{\"siren\":\"212400015\",\"nature\":\"association\",\"nom\":\"A\"}", NULL, &r);
    expect_error(&r, 422, "siren-invalide", "/siren");
    cr_assert_str_eq(field(&r, "regle"), "R42");
    http_response_release(&r);
    /* R42: a commune's SIREN must be a commune-actuelle's. */
    call("POST", "/api/v1/organisations", "{\"siren\":\"200071819\",\"nature\":\"commune\"}", NULL,
         &r);
    expect_error(&r, 422, "siren-commune-inconnu", "/siren");
    http_response_release(&r);
    call("POST", "/api/v1/organisations", "{\"siren\":\"212300107\",\"nature\":\"epci\"}", NULL,
         &r);
    expect_error(&r, 422, "siren-epci-inconnu", "/siren");
    http_response_release(&r);
    /* 400: shape, and only the État may omit its SIREN. */
    call("POST", "/api/v1/organisations", "{\"siren\":\"21240001\",\"nature\":\"commune\"}", NULL,
         &r);
    expect_error(&r, 400, "format-invalide", "/siren");
    http_response_release(&r);
    call("POST", "/api/v1/organisations", "{\"nature\":\"bailleur\",\"nom\":\"B\"}", NULL, &r);
    expect_error(&r, 400, "champ-requis", "/siren");
    http_response_release(&r);
    call("POST", "/api/v1/organisations", "{\"nature\":\"ministere\",\"nom\":\"B\"}", NULL, &r);
    cr_assert_eq(r.status, 400, HTTP_BODY, r.body);
    http_response_release(&r);
}

Test(organisations, etat_without_siren_renamed_with_if_match)
{
    struct http_response r;
    call("POST", "/api/v1/organisations",
         "{\"nature\":\"etat\",\"nom\":\"Préfecture de la Creuse\"}", NULL, &r);
    cr_assert_eq(r.status, 201, HTTP_BODY, r.body);
    cr_assert(json_is_null(json_object_get(r.json, "siren")));
    char path[120], im[100];
    snprintf(path, sizeof path, "/api/v1/organisations/%s", field(&r, "id"));
    snprintf(im, sizeof im, "If-Match: %s", http_header(&r, "ETag"));
    http_response_release(&r);
    call("PATCH", path, "{\"nom\":\"Préfecture de la Creuse (Guéret)\"}", NULL, &r);
    cr_assert_eq(r.status, 428, HTTP_BODY, r.body);
    http_response_release(&r);
    call("PATCH", path, "{\"nom\":\"Préfecture de la Creuse (Guéret)\"}", im, &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_str_eq(field(&r, "nom"), "Préfecture de la Creuse (Guéret)");
    http_response_release(&r);
    call("PATCH", path, "{\"nom\":\"Autre\"}", im, &r);
    cr_assert_eq(r.status, 412, HTTP_BODY, r.body);
    http_response_release(&r);
    call("PATCH", path, "{\"nature\":\"autre\"}", "If-Match: *", &r);
    expect_error(&r, 400, "champ-inconnu", "/nature");
    http_response_release(&r);
    http_get("/api/v1/organisations/pas-un-uuid", &r);
    cr_assert_eq(r.status, 400, HTTP_BODY, r.body);
    http_response_release(&r);
    http_get("/api/v1/organisations?nature=etat&limite=1", &r);
    cr_assert_eq(r.status, 200, HTTP_BODY, r.body);
    cr_assert_eq(json_array_size(json_object_get(r.json, "elements")), 1);
    http_response_release(&r);
}
