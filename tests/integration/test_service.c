/* Integration tests over HTTP: service routes /healthz, /readyz, /metrics and
 * /api/v1/openapi.json. Read-only, parallel-safe. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "../support/http_client.h"

/* The route table of api/routes.c, in OpenAPI syntax. */
static const char *const routed_paths[] = {"/healthz",
                                           "/readyz",
                                           "/metrics",
                                           "/api/v1/openapi.json",
                                           "/api/v1/regions",
                                           "/api/v1/departements",
                                           "/api/v1/communes",
                                           "/api/v1/communes/{code_insee}",
                                           "/api/v1/epci",
                                           "/api/v1/epci/{siren}",
                                           NULL};

Test(service, healthz)
{
    struct http_response r;
    http_get("/healthz", &r);
    http_expect_json_ok(&r);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "statut")), "ok", HTTP_BODY, r.body);
    http_response_release(&r);
    http_get("/healthz?verbose=1", &r); /* parameters are ignored on service routes */
    http_expect_json_ok(&r);
    http_response_release(&r);
}

Test(service, readyz_reports_database_migrations_and_referential)
{
    struct http_response r;
    http_get("/readyz", &r);
    http_expect_json_ok(&r);
    const json_t *j = r.json;
    cr_assert_str_eq(json_string_value(json_object_get(j, "statut")), "pret", HTTP_BODY, r.body);
    cr_assert_str_eq(json_string_value(json_object_get(j, "base_de_donnees")), "ok");
    cr_assert_str_eq(json_string_value(json_object_get(j, "migrations")), "a_jour");
    json_t *ref = json_object_get(j, "referentiel");
    cr_assert_eq(json_integer_value(json_object_get(ref, "millesime")), 2026, HTTP_BODY, r.body);
    cr_assert_eq(json_integer_value(json_object_get(ref, "communes")), 34969, HTTP_BODY, r.body);
    http_response_release(&r);
}

Test(service, metrics_prometheus_text)
{
    struct http_response warm, r;
    http_get("/api/v1/communes/69248", &warm);
    http_response_release(&warm);
    http_get("/metrics", &r);
    cr_assert_eq(r.status, 200);
    cr_assert(strncmp(r.content_type, "text/plain; version=0.0.4", 25) == 0, "Content-Type: %s",
              r.content_type);
    cr_assert(http_header(&r, "X-Request-Id") != NULL);
    const char *needles[] = {
        "# TYPE pvd_http_requests_total counter",
        "pvd_http_requests_total{",
        "route=\"/api/v1/communes/:code_insee\",status=\"200\"}",
        "# TYPE pvd_http_request_duration_seconds histogram",
        "pvd_http_request_duration_seconds_bucket{",
        "le=\"+Inf\"",
        "pvd_db_pool_size ",
        "pvd_db_pool_in_use ",
        "pvd_db_pool_waiting ",
        "pvd_db_reconnects_total ",
    };
    for (size_t i = 0; i < sizeof needles / sizeof needles[0]; i++)
        cr_assert(strstr(r.body, needles[i]) != NULL, "/metrics lacks \"%s\": " HTTP_BODY,
                  needles[i], r.body);
    http_response_release(&r);
}

Test(service, openapi_json_is_the_3_1_contract_with_every_route)
{
    struct http_response r;
    http_get("/api/v1/openapi.json", &r);
    http_expect_json_ok(&r);
    const char *version = json_string_value(json_object_get(r.json, "openapi"));
    cr_assert(version && strncmp(version, "3.1.", 4) == 0, "openapi: %s",
              version ? version : "(absent)");
    json_t *paths = json_object_get(r.json, "paths");
    cr_assert(json_is_object(paths), "no paths object");
    for (size_t i = 0; routed_paths[i]; i++) {
        json_t *item = json_object_get(paths, routed_paths[i]);
        cr_assert(json_is_object(item), "routed path %s missing from openapi.json",
                  routed_paths[i]);
        cr_assert(json_is_object(json_object_get(item, "get")), "%s has no get operation",
                  routed_paths[i]);
    }
    /* The reverse (every path of the contract is routed) is checked against the route
     * table itself by tests/contract/check_routes.mjs. */
    http_response_release(&r);
}
