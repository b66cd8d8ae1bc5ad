/* The documentation page (issue 11 §4) over HTTP: GET /api/v1/docs is the built Redoc page,
 * self-contained (no script, stylesheet or font from a URL), with its CSP, ETag and 304;
 * GET /docs redirects to it (308). Its rendering is checked in Chromium (tests/browser/docs.mjs).
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "../support/http_client.h"

Test(docs, page_is_self_contained_html_with_csp_and_etag)
{
    struct http_response r;
    http_get("/api/v1/docs", &r);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.content_type, "text/html; charset=utf-8");
    cr_assert(strncmp(r.body, "<!DOCTYPE html>", 15) == 0, HTTP_BODY, r.body);
    cr_assert(strstr(r.body, "<html lang=\"fr\">"));
    cr_assert(strstr(r.body, "pvd-api"), "the spec's title is on the page");
    cr_assert(strstr(r.body, "Lister les fiches action"), "an operation's summary is on the page");
    cr_assert_null(strstr(r.body, "<script src"));
    cr_assert_null(strstr(r.body, "<link rel=\"stylesheet\""));
    cr_assert_null(strstr(r.body, "cdn.redocly.com/redoc/v"), "the renderer is inlined");
    const char *csp = http_header(&r, "Content-Security-Policy");
    cr_assert(csp && strncmp(csp, "default-src 'none'; script-src 'sha256-", 39) == 0, "CSP: %s",
              csp ? csp : "(absent)");
    cr_assert_null(strstr(csp, "unsafe-eval"));
    cr_assert_null(strstr(csp, "http"), "no other origin allowed: %s", csp);
    cr_assert_str_eq(http_header(&r, "Cache-Control"), "no-cache");
    const char *etag = http_header(&r, "ETag");
    cr_assert_not_null(etag);
    char inm[100];
    snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
    const char *headers[] = {inm, NULL};
    struct http_response again;
    http_request("GET", "/api/v1/docs", headers, NULL, 0, &again);
    cr_assert_eq(again.status, 304);
    cr_assert_eq(again.body_len, 0);
    cr_assert_str_eq(http_header(&again, "ETag"), etag);
    http_response_release(&again);
    http_response_release(&r);
}

Test(docs, slash_docs_redirects_permanently)
{
    struct http_response r;
    http_get("/docs", &r);
    cr_assert_eq(r.status, 308);
    cr_assert_str_eq(http_header(&r, "Location"), "/api/v1/docs");
    cr_assert_eq(r.body_len, 0);
    http_response_release(&r);
}
