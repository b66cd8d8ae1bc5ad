/* Unit tests of api/cors: CORS_ALLOWED_ORIGINS parsing (exact origins only,
 * each bad entry named), the headers of a normal response for a listed,
 * unlisted and absent Origin, the preflight decision, and the ulfius helper
 * (204 for an accepted preflight, Vary merged with what is already there). */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>
#include <ulfius.h>

#include "api/cors.h"

#define ERR_SIZE 400

static struct cors_config parse_ok(const char *list)
{
    struct cors_config c;
    char err[ERR_SIZE];

    memset(err, 'x', sizeof err);
    cr_assert(cors_config_parse(&c, list, err, sizeof err), "\"%s\" refused: %s",
              list ? list : "(null)", err);
    cr_assert_str_empty(err);
    return c;
}

/* Asserts that list is refused, with a message quoting `named` and saying `reason`. */
static void assert_refused(const char *list, const char *named, const char *reason)
{
    struct cors_config c;
    char err[ERR_SIZE];
    char quoted[200];

    memset(err, 'x', sizeof err);
    cr_assert_not(cors_config_parse(&c, list, err, sizeof err), "\"%s\" was accepted", list);
    cr_assert_eq(c.count, 0, "a refused list leaves no origin");
    cr_assert_lt(strlen(err), sizeof err);
    snprintf(quoted, sizeof quoted, "« %s »", named);
    cr_assert_not_null(strstr(err, quoted), "error for \"%s\" does not name %s: %s", list, quoted,
                       err);
    cr_assert_not_null(strstr(err, reason), "error for \"%s\" lacks \"%s\": %s", list, reason, err);
}

static const char *header(const struct cors_headers *h, const char *name)
{
    const char *found = NULL;

    for (size_t i = 0; i < h->count; i++) {
        if (strcmp(h->items[i].name, name) == 0) {
            cr_assert_null(found, "header %s twice", name);
            found = h->items[i].value;
        }
    }
    return found;
}

/* ---- parsing ------------------------------------------------------------ */

Test(cors_parse, empty_or_absent_list_means_no_origin)
{
    cr_assert_eq(parse_ok(NULL).count, 0);
    cr_assert_eq(parse_ok("").count, 0);
    cr_assert_eq(parse_ok("  \t ").count, 0);
}

Test(cors_parse, good_lists)
{
    struct cors_config c = parse_ok("http://localhost:5173");
    cr_assert_eq(c.count, 1);
    cr_assert_str_eq(c.origins[0], "http://localhost:5173");

    c = parse_ok(" https://pvd.example.gouv.fr ,http://127.0.0.1:8080,\thttp://[::1]:3000 ");
    cr_assert_eq(c.count, 3);
    cr_assert_str_eq(c.origins[0], "https://pvd.example.gouv.fr");
    cr_assert_str_eq(c.origins[1], "http://127.0.0.1:8080");
    cr_assert_str_eq(c.origins[2], "http://[::1]:3000");

    c = parse_ok("https://xn--prfecture-b4a.example,https://a.fr:8443,http://a.fr:443,"
                 "https://a.fr:80,http://my_host.internal,https://a-b.c-d.fr:65535,http://x:1");
    cr_assert_eq(c.count, 7);
}

Test(cors_parse, duplicates_are_kept_once)
{
    struct cors_config c = parse_ok("https://a.fr, https://b.fr, https://a.fr");
    cr_assert_eq(c.count, 2);
    cr_assert_str_eq(c.origins[1], "https://b.fr");
}

Test(cors_parse, bad_entries_are_named)
{
    assert_refused("https://a.fr/", "https://a.fr/", "barre finale");
    assert_refused("https://a.fr, https://b.fr/app", "https://b.fr/app", "chemin");
    assert_refused("https://a.fr?x=1", "https://a.fr?x=1", "chemin");
    assert_refused("https://a.fr#top", "https://a.fr#top", "chemin");
    assert_refused("*", "*", "joker");
    assert_refused("https://*.example.fr", "https://*.example.fr", "joker");
    assert_refused("a.fr", "a.fr", "schéma");
    assert_refused("ftp://a.fr", "ftp://a.fr", "schéma");
    assert_refused("HTTPS://a.fr", "HTTPS://a.fr", "schéma");
    assert_refused("//a.fr", "//a.fr", "schéma");
    assert_refused("null", "null", "null");
    assert_refused("https://A.fr", "https://A.fr", "minuscules");
    assert_refused("http://[::ABCD]:80", "http://[::ABCD]:80", "minuscules");
    assert_refused("https://préfecture.fr", "https://préfecture.fr", "xn--");
    assert_refused("https://", "https://", "hôte vide");
    assert_refused("https://:8080", "https://:8080", "hôte vide");
    assert_refused("https://a..fr", "https://a..fr", "point");
    assert_refused("https://.a.fr", "https://.a.fr", "point");
    assert_refused("https://a.fr.", "https://a.fr.", "point");
    assert_refused("https://a fr", "https://a fr", "caractère");
    assert_refused("https://user@a.fr", "https://user@a.fr", "identifiants");
    assert_refused("https://a.fr:443", "https://a.fr:443", "port par défaut");
    assert_refused("http://a.fr:80", "http://a.fr:80", "port par défaut");
    assert_refused("https://a.fr:0", "https://a.fr:0", "port invalide");
    assert_refused("https://a.fr:08443", "https://a.fr:08443", "port invalide");
    assert_refused("https://a.fr:65536", "https://a.fr:65536", "port invalide");
    assert_refused("https://a.fr:", "https://a.fr:", "port invalide");
    assert_refused("https://a.fr:84x", "https://a.fr:84x", "port invalide");
    assert_refused("http://[::1", "http://[::1", "IPv6");
    assert_refused("http://[zz::1]", "http://[zz::1]", "IPv6");
    assert_refused("http://[::1]x", "http://[::1]x", "hôte invalide");
}

Test(cors_parse, empty_entries_are_refused)
{
    assert_refused("https://a.fr,,https://b.fr", "", "entrée vide");
    assert_refused("https://a.fr,", "", "entrée vide");
    assert_refused(",https://a.fr", "", "entrée vide");
    assert_refused("https://a.fr, ,https://b.fr", "", "entrée vide");
}

Test(cors_parse, capacity_and_length_limits)
{
    char list[CORS_MAX_ORIGINS * 40 + 64];
    size_t len = 0;

    for (int i = 0; i < CORS_MAX_ORIGINS; i++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%shttp://h%d.fr", i ? "," : "", i);
    cr_assert_eq(parse_ok(list).count, CORS_MAX_ORIGINS);
    snprintf(list + len, sizeof list - len, ",http://one-too-many.fr");
    assert_refused(list, "http://one-too-many.fr", "32 au plus");

    /* A 300-byte host: refused, and the message quotes at most 80 bytes plus an ellipsis. */
    char host[400] = "https://";
    memset(host + 8, 'a', 300);
    host[308] = '\0';
    struct cors_config c;
    char err[ERR_SIZE];
    cr_assert_not(cors_config_parse(&c, host, err, sizeof err));
    cr_assert_not_null(strstr(err, "trop longue"), "%s", err);
    cr_assert_not_null(strstr(err, "a\xE2\x80\xA6 »"), "%s", err);
    cr_assert_null(strstr(err, host), "the whole entry is not echoed");
}

Test(cors_parse, message_is_cut_on_a_character_boundary_and_controls_are_hidden)
{
    /* 78 ASCII bytes then "é" (2 bytes) straddling the 80-byte cut. */
    char entry[200] = "https://";
    memset(entry + 8, 'a', 71);
    strcpy(entry + 79, "\xC3\xA9/suite");
    struct cors_config c;
    char err[ERR_SIZE];
    cr_assert_not(cors_config_parse(&c, entry, err, sizeof err));
    cr_assert_null(strstr(err, "\xC3\xE2"), "cut inside a UTF-8 sequence: %s", err);

    cr_assert_not(cors_config_parse(&c, "https://a.fr/\nx", err, sizeof err));
    cr_assert_null(strchr(err, '\n'), "a newline would split the configuration report");
    cr_assert_not_null(strstr(err, "« https://a.fr/?x »"), "%s", err);
}

Test(cors_parse, small_error_buffers)
{
    struct cors_config c;
    char err[12];

    memset(err, 'x', sizeof err);
    cr_assert_not(cors_config_parse(&c, "https://a.fr/", err, sizeof err));
    cr_assert_lt(strlen(err), sizeof err);
    cr_assert_not(cors_config_parse(&c, "https://a.fr/", NULL, 0));
}

/* ---- normal responses --------------------------------------------------- */

static const char *const ALLOWED = "http://localhost:18090, https://pvd.example.gouv.fr";

Test(cors_apply, listed_origin_gets_allow_origin_expose_and_vary)
{
    struct cors_config c = parse_ok(ALLOWED);
    char origin[] = "https://pvd.example.gouv.fr"; /* request's copy */
    struct cors_headers h;

    cors_apply(&c, origin, &h);
    cr_assert_eq(h.count, 3);
    cr_assert_str_eq(header(&h, "Access-Control-Allow-Origin"), "https://pvd.example.gouv.fr");
    cr_assert_neq(header(&h, "Access-Control-Allow-Origin"), origin,
                  "the value comes from the configuration, not from the request");
    cr_assert_str_eq(
        header(&h, "Access-Control-Expose-Headers"),
        "ETag, Location, X-Request-Id, Link, Retry-After, Idempotent-Replayed, WWW-Authenticate");
    cr_assert_str_eq(header(&h, "Vary"), "Origin");
    cr_assert_null(header(&h, "Access-Control-Allow-Credentials"), "bearer tokens, no cookies");
}

Test(cors_apply, other_or_absent_origin_gets_only_vary)
{
    struct cors_config c = parse_ok(ALLOWED);
    static const char *const others[] = {
        "http://localhost:18091",
        "https://evil.example",
        "HTTPS://PVD.EXAMPLE.GOUV.FR",
        "https://pvd.example.gouv.fr/",
        "https://pvd.example.gouv.fr:443",
        "http://pvd.example.gouv.fr",
        "null",
        "",
        "https://pvd.example.gouv.fr.",
        "http://localhost:18090 ",
    };
    struct cors_headers h;

    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        cors_apply(&c, others[i], &h);
        cr_assert_eq(h.count, 1, "origin \"%s\"", others[i]);
        cr_assert_str_eq(header(&h, "Vary"), "Origin");
    }
    cors_apply(&c, NULL, &h);
    cr_assert_eq(h.count, 1);
    cr_assert_str_eq(header(&h, "Vary"), "Origin");
}

Test(cors_apply, no_configured_origin_adds_nothing)
{
    struct cors_config c = parse_ok("");
    struct cors_headers h = {.count = 99};

    cors_apply(&c, "http://localhost:18090", &h);
    cr_assert_eq(h.count, 0);
    cors_apply(&c, NULL, &h);
    cr_assert_eq(h.count, 0);
}

/* ---- preflight ---------------------------------------------------------- */

Test(cors_preflight, listed_origin_is_accepted)
{
    struct cors_config c = parse_ok(ALLOWED);
    struct cors_headers h;

    cr_assert_eq(
        cors_decide(&c, "OPTIONS", "http://localhost:18090", "DELETE", "GET, HEAD, DELETE", &h),
        CORS_PREFLIGHT_OK);
    cr_assert_eq(h.count, 5);
    cr_assert_str_eq(header(&h, "Access-Control-Allow-Origin"), "http://localhost:18090");
    /* The methods of the requested path, as given: no other is announced. */
    cr_assert_str_eq(header(&h, "Access-Control-Allow-Methods"), "GET, HEAD, DELETE");
    cr_assert_str_eq(header(&h, "Access-Control-Allow-Headers"),
                     "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key, "
                     "X-Request-Id");
    cr_assert_str_eq(header(&h, "Access-Control-Max-Age"), "600");
    cr_assert_str_eq(header(&h, "Vary"), "Origin");
    cr_assert_null(header(&h, "Access-Control-Allow-Credentials"));
}

Test(cors_preflight, path_without_route_announces_no_method)
{
    struct cors_config c = parse_ok(ALLOWED);
    struct cors_headers h;

    cr_assert_eq(cors_decide(&c, "OPTIONS", "http://localhost:18090", "GET", NULL, &h),
                 CORS_PREFLIGHT_OK);
    cr_assert_eq(h.count, 4);
    cr_assert_null(header(&h, "Access-Control-Allow-Methods"));
    cr_assert_str_eq(header(&h, "Access-Control-Allow-Origin"), "http://localhost:18090");
}

Test(cors_preflight, other_origin_is_refused_without_allow_origin)
{
    struct cors_config c = parse_ok(ALLOWED);
    struct cors_headers h;

    cr_assert_eq(cors_decide(&c, "OPTIONS", "http://localhost:18091", "GET", "GET, HEAD", &h),
                 CORS_PREFLIGHT_REFUSED);
    cr_assert_eq(h.count, 1);
    cr_assert_str_eq(header(&h, "Vary"), "Origin");
    cr_assert_null(header(&h, "Access-Control-Allow-Origin"));
    cr_assert_eq(cors_decide(&c, "OPTIONS", "null", "GET", "GET, HEAD", &h),
                 CORS_PREFLIGHT_REFUSED);

    /* No origin configured: every preflight is refused, nothing varies. */
    struct cors_config none = parse_ok(NULL);
    cr_assert_eq(cors_decide(&none, "OPTIONS", "http://localhost:18090", "GET", "GET, HEAD", &h),
                 CORS_PREFLIGHT_REFUSED);
    cr_assert_eq(h.count, 0);
}

Test(cors_preflight, not_a_preflight_goes_to_the_router)
{
    struct cors_config c = parse_ok(ALLOWED);
    struct cors_headers h;

    /* OPTIONS without Access-Control-Request-Method: a plain OPTIONS (405 from the router),
     * with the headers of a normal response. */
    cr_assert_eq(cors_decide(&c, "OPTIONS", "http://localhost:18090", NULL, "GET, HEAD", &h),
                 CORS_CONTINUE);
    cr_assert_str_eq(header(&h, "Access-Control-Allow-Origin"), "http://localhost:18090");
    cr_assert_not_null(header(&h, "Access-Control-Expose-Headers"));
    cr_assert_null(header(&h, "Access-Control-Allow-Methods"));
    /* Without Origin. */
    cr_assert_eq(cors_decide(&c, "OPTIONS", NULL, "GET", "GET, HEAD", &h), CORS_CONTINUE);
    cr_assert_null(header(&h, "Access-Control-Allow-Origin"));
    cr_assert_eq(cors_decide(&c, "OPTIONS", NULL, NULL, "GET, HEAD", &h), CORS_CONTINUE);
    /* Other methods, and methods are case-sensitive. */
    cr_assert_eq(cors_decide(&c, "GET", "http://localhost:18090", "GET", "GET, HEAD", &h),
                 CORS_CONTINUE);
    cr_assert_null(header(&h, "Access-Control-Allow-Methods"));
    cr_assert_eq(cors_decide(&c, "options", "http://localhost:18090", "GET", "GET, HEAD", &h),
                 CORS_CONTINUE);
    cr_assert_eq(cors_decide(&c, NULL, "http://localhost:18090", "GET", "GET, HEAD", &h),
                 CORS_CONTINUE);
    /* An unlisted origin's plain OPTIONS is not refused here either. */
    cr_assert_eq(cors_decide(&c, "OPTIONS", "https://evil.example", NULL, "GET, HEAD", &h),
                 CORS_CONTINUE);
    cr_assert_eq(h.count, 1);
}

/* ---- ulfius helper ------------------------------------------------------ */

struct exchange {
    struct _u_request req;
    struct _u_response res;
};

static void exchange_init(struct exchange *x, const char *method, const char *origin,
                          const char *request_method)
{
    cr_assert_eq(ulfius_init_request(&x->req), U_OK);
    cr_assert_eq(ulfius_init_response(&x->res), U_OK);
    cr_assert_eq(ulfius_set_request_properties(&x->req, U_OPT_HTTP_VERB, method, U_OPT_NONE), U_OK);
    /* Request header names as a client may write them: looked up case-insensitively. */
    if (origin)
        u_map_put(x->req.map_header, "origin", origin);
    if (request_method)
        u_map_put(x->req.map_header, "ACCESS-CONTROL-REQUEST-METHOD", request_method);
}

static void exchange_clean(struct exchange *x)
{
    ulfius_clean_request(&x->req);
    ulfius_clean_response(&x->res);
}

Test(cors_ulfius, accepted_preflight_is_a_204_with_the_headers)
{
    struct cors_config c = parse_ok(ALLOWED);
    struct exchange x;

    exchange_init(&x, "OPTIONS", "http://localhost:18090", "DELETE");
    cr_assert_eq(cors_handle(&c, &x.req, "GET, HEAD, DELETE", &x.res), CORS_PREFLIGHT_OK);
    cr_assert_eq(x.res.status, 204);
    cr_assert_eq(x.res.binary_body_length, 0);
    cr_assert_str_eq(u_map_get(x.res.map_header, "Access-Control-Allow-Origin"),
                     "http://localhost:18090");
    cr_assert_str_eq(u_map_get(x.res.map_header, "Access-Control-Allow-Methods"),
                     "GET, HEAD, DELETE");
    cr_assert_str_eq(u_map_get(x.res.map_header, "Access-Control-Allow-Headers"),
                     CORS_ALLOW_HEADERS);
    cr_assert_str_eq(u_map_get(x.res.map_header, "Access-Control-Max-Age"), "600");
    cr_assert_str_eq(u_map_get(x.res.map_header, "Vary"), "Origin");
    exchange_clean(&x);
}

Test(cors_ulfius, refused_preflight_leaves_the_answer_to_the_caller)
{
    struct cors_config c = parse_ok(ALLOWED);
    struct exchange x;

    exchange_init(&x, "OPTIONS", "https://evil.example", "GET");
    long before = x.res.status;
    cr_assert_eq(cors_handle(&c, &x.req, "GET, HEAD, DELETE", &x.res), CORS_PREFLIGHT_REFUSED);
    cr_assert_eq(x.res.status, before);
    cr_assert_null(u_map_get_case(x.res.map_header, "Access-Control-Allow-Origin"));
    cr_assert_str_eq(u_map_get(x.res.map_header, "Vary"), "Origin");
    exchange_clean(&x);
}

Test(cors_ulfius, normal_request_headers_and_vary_merge)
{
    struct cors_config c = parse_ok(ALLOWED);
    struct exchange x;

    exchange_init(&x, "GET", "https://pvd.example.gouv.fr", NULL);
    u_map_put(x.res.map_header, "Vary", "Accept-Encoding");
    cr_assert_eq(cors_handle(&c, &x.req, "GET, HEAD, DELETE", &x.res), CORS_CONTINUE);
    cr_assert_str_eq(u_map_get(x.res.map_header, "Access-Control-Allow-Origin"),
                     "https://pvd.example.gouv.fr");
    cr_assert_str_eq(u_map_get(x.res.map_header, "Access-Control-Expose-Headers"),
                     CORS_EXPOSE_HEADERS);
    cr_assert_str_eq(u_map_get(x.res.map_header, "Vary"), "Accept-Encoding, Origin");
    /* Twice: Origin is not listed twice. */
    cr_assert_eq(cors_handle(&c, &x.req, "GET, HEAD, DELETE", &x.res), CORS_CONTINUE);
    cr_assert_str_eq(u_map_get(x.res.map_header, "Vary"), "Accept-Encoding, Origin");
    exchange_clean(&x);

    exchange_init(&x, "GET", NULL, NULL);
    u_map_put(x.res.map_header, "Vary", "accept, origin");
    cr_assert_eq(cors_handle(&c, &x.req, "GET, HEAD, DELETE", &x.res), CORS_CONTINUE);
    cr_assert_str_eq(u_map_get(x.res.map_header, "Vary"), "accept, origin");
    cr_assert_null(u_map_get_case(x.res.map_header, "Access-Control-Allow-Origin"));
    exchange_clean(&x);
}
