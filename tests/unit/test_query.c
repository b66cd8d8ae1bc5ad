/* Unit tests of api/query_params: percent-decoding of path and query
 * parameters with their lengths, the clean-text rule (UTF-8, no NUL, no
 * control character), the path matched against its route template, the
 * check of a whole request and the accessor of path parameters that a query
 * parameter cannot shadow. */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "api/query_params.h"

/* Decodes a query piece (n = strlen(s)) and returns its fault. */
static enum param_fault decode(const char *s, char *out, size_t *len)
{
    return param_decode(s, strlen(s), true, out, len);
}

Test(params_decode, percent_plus_and_lengths)
{
    char out[64];
    size_t len;
    cr_assert_eq(decode("saint+%C3%A9tienne", out, &len), PARAM_OK);
    cr_assert_str_eq(out, "saint étienne");
    cr_assert_eq(len, strlen("saint étienne"));
    cr_assert_eq(param_decode("a+b", 3, false, out, &len), PARAM_OK, "'+' is itself in a path");
    cr_assert_str_eq(out, "a+b");
    cr_assert_eq(decode("%2b%2F%7e", out, &len), PARAM_OK);
    cr_assert_str_eq(out, "+/~");
    cr_assert_eq(decode("", out, &len), PARAM_OK);
    cr_assert_eq(len, 0);
}

Test(params_decode, nul_is_kept_in_the_length_and_refused)
{
    char out[64];
    size_t len;
    cr_assert_eq(decode("58%00zz", out, &len), PARAM_NUL);
    cr_assert_eq(len, 5, "the value is not cut at the NUL");
    cr_assert_eq(memcmp(out, "58\0zz", 5), 0);
    cr_assert_eq(decode("%00", out, &len), PARAM_NUL);
}

Test(params_decode, invalid_utf8_is_refused)
{
    static const char *const bad[] = {
        "%c0%af",       /* overlong '/' */
        "%e0%80%af",    /* overlong, 3 bytes */
        "%f0%80%80%af", /* overlong, 4 bytes */
        "%ed%a0%80",    /* surrogate U+D800 */
        "%ed%bf%bf",    /* surrogate U+DFFF */
        "%f4%90%80%80", /* U+110000 */
        "%f5%80%80%80", /* lead byte F5 */
        "%ff",          /* never in UTF-8 */
        "%80",          /* lone continuation byte */
        "abc%e2%82",    /* truncated sequence at the end */
        "%e2%82abc",    /* truncated sequence before ASCII */
        "%c3",          /* truncated 2-byte sequence */
        "%c3%c3%a9",    /* lead byte then lead byte */
        "%f0%9f%98",    /* truncated 4-byte sequence */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char out[64];
        size_t len;
        cr_assert_eq(decode(bad[i], out, &len), PARAM_NOT_UTF8, "%s", bad[i]);
    }
}

Test(params_decode, valid_utf8_passes)
{
    static const char *const good[] = {"%c3%a9",    "%e2%82%ac", "%f0%9f%98%80", "%f4%8f%bf%bf",
                                       "%ee%80%80", "%ef%bf%bd", "%c2%a0",       "%e2%80%a8"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        char out[64];
        size_t len;
        cr_assert_eq(decode(good[i], out, &len), PARAM_OK, "%s", good[i]);
    }
}

Test(params_decode, control_characters_are_refused)
{
    static const char *const bad[] = {"a%09b",  "a%0ab",  "a%0d",   "%1f", "%7f",
                                      "%c2%80", "%c2%85", "%c2%9f", "a\tb"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char out[64];
        size_t len;
        cr_assert_eq(decode(bad[i], out, &len), PARAM_CONTROL, "%s", bad[i]);
    }
}

Test(params_decode, bad_escapes_are_refused_and_kept)
{
    static const char *const bad[] = {"%", "100%", "%zz", "%4", "%%41", "%g0", "a%2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char out[64];
        size_t len;
        cr_assert_eq(decode(bad[i], out, &len), PARAM_BAD_ESCAPE, "%s", bad[i]);
    }
    char out[64];
    size_t len;
    decode("%%41", out, &len);
    cr_assert_str_eq(out, "%A");
}

Test(params_query, split_on_ampersand_and_first_equal)
{
    static const char raw[] = "a=1&&b=&c&d=x=y&+e%20=%2B&a=2";
    struct param_list l = {NULL, 0, 0};
    param_query_parse(raw, strlen(raw), &l);
    cr_assert_eq(l.count, 6);
    static const char *const names[] = {"a", "b", "c", "d", " e ", "a"};
    static const char *const values[] = {"1", "", "", "x=y", "+", "2"};
    for (size_t i = 0; i < l.count; i++) {
        cr_assert_str_eq(l.items[i].name, names[i]);
        cr_assert_str_eq(l.items[i].value, values[i]);
        cr_assert_eq(l.items[i].name_fault, PARAM_OK);
        cr_assert_eq(l.items[i].value_fault, PARAM_OK);
    }
    cr_assert_eq(l.items[4].raw_name_len, 5);
    cr_assert_eq(strncmp(l.items[4].raw_name, "+e%20", 5), 0);
    param_list_release(&l);
    cr_assert_eq(l.count, 0);
}

Test(params_query, the_length_bounds_the_parse)
{
    static const char raw[] = "a=1&b=%00"; /* only "a=1&b=%0" is given */
    struct param_list l = {NULL, 0, 0};
    param_query_parse(raw, strlen(raw) - 1, &l);
    cr_assert_eq(l.count, 2);
    cr_assert_eq(l.items[1].value_fault, PARAM_BAD_ESCAPE);
    param_list_release(&l);
}

Test(params_path, matches_like_ulfius_and_decodes_parameters)
{
    static const char tpl[] = "/api/v1/territoires/:id_pvd/axes-strategiques";
    struct param_list l = {NULL, 0, 0};
    const char *p = "/api/v1/territoires/pvd-27-58-1/axes-strategiques";
    cr_assert(param_path_parse(tpl, p, strlen(p), &l));
    cr_assert_eq(l.count, 1);
    cr_assert_str_eq(l.items[0].name, "id_pvd");
    cr_assert_str_eq(l.items[0].value, "pvd-27-58-1");
    param_list_release(&l);

    p = "//api/v1/territoires/a%2Fb+c/axes-strategiques/"; /* empty segments skipped */
    cr_assert(param_path_parse(tpl, p, strlen(p), &l));
    cr_assert_str_eq(l.items[0].value, "a/b+c");
    param_list_release(&l);

    p = "/api/v1/territoires/%c0%af/axes-strategiques";
    cr_assert(param_path_parse(tpl, p, strlen(p), &l));
    cr_assert_eq(l.items[0].value_fault, PARAM_NOT_UTF8);
    param_list_release(&l);

    static const char *const other[] = {"/api/v1/territoires/x", "/api/v1/territoires/x/axes",
                                        "/api/v1/%74erritoires/x/axes-strategiques",
                                        "/api/v1/territoires/x/axes-strategiques/y", ""};
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
        cr_assert_not(param_path_parse(tpl, other[i], strlen(other[i]), &l), "%s", other[i]);
        cr_assert_eq(l.count, 0);
    }
    param_list_release(&l);
}

Test(params_path, template_names)
{
    static const char tpl[] = "/api/v1/conventions/:id/versions/:numero";
    cr_assert(param_template_has(tpl, "id"));
    cr_assert(param_template_has(tpl, "numero"));
    cr_assert_not(param_template_has(tpl, "i"));
    cr_assert_not(param_template_has(tpl, "versions"));
    cr_assert_not(param_template_has("/api/v1/communes", "id"));
}

/* A request as ulfius hands it to a callback: the raw target and map_url. */
struct fake {
    struct _u_request req;
    struct _u_map map;
};

static void fake_init(struct fake *f, const char *url)
{
    memset(f, 0, sizeof *f);
    f->req.http_url = strdup(url);
    u_map_init(&f->map);
    f->req.map_url = &f->map;
}

static void fake_release(struct fake *f)
{
    free(f->req.http_url);
    u_map_clean(&f->map);
}

static const struct field_error *error_at(const struct field_errors *e, const char *pointer)
{
    for (size_t i = 0; i < e->count; i++)
        if (strcmp(e->items[i].pointer, pointer) == 0)
            return &e->items[i];
    return NULL;
}

Test(params_request, clean_parameters_replace_ulfius_map)
{
    static const char tpl[] = "/api/v1/conventions/:id/versions/:numero";
    struct fake f;
    bool matched;
    FIELD_ERRORS(errs);
    fake_init(&f, "/api/v1/conventions/abc/versions/2?limite=5&q=a+%C3%A9&limite=6");
    u_map_put(&f.map, "id", "ulfius-value");
    u_map_put(&f.map, "stale", "x");
    cr_assert(param_request_check(&f.req, tpl, &errs, &matched));
    cr_assert(matched);
    cr_assert_eq(errs.count, 0);
    cr_assert_str_eq(param_path_get(&f.req, tpl, "id"), "abc");
    cr_assert_str_eq(param_path_get(&f.req, tpl, "numero"), "2");
    cr_assert_str_eq(u_map_get(&f.map, "limite"), "5", "the first value, not ulfius' \"5,6\"");
    cr_assert_str_eq(u_map_get(&f.map, "q"), "a é");
    cr_assert_null(u_map_get(&f.map, "stale"));
    fake_release(&f);
}

Test(params_request, query_parameter_never_shadows_a_path_parameter)
{
    static const char tpl[] = "/api/v1/territoires/:id_pvd/axes-strategiques";
    struct fake f;
    bool matched;
    FIELD_ERRORS(errs);
    fake_init(&f, "/api/v1/territoires/pvd-27-58-1/axes-strategiques?id_pvd=pvd-27-71-2");
    u_map_put(&f.map, "id_pvd", "pvd-27-71-2"); /* what ulfius may leave */
    cr_assert_not(param_request_check(&f.req, tpl, &errs, &matched));
    cr_assert(matched);
    cr_assert_eq(errs.count, 1);
    cr_assert_str_eq(errs.items[0].pointer, "/id_pvd");
    cr_assert_str_eq(errs.items[0].parameter, "id_pvd");
    cr_assert_str_eq(errs.items[0].code, "parametre-inconnu");
    fake_release(&f);

    /* without the query parameter, the path value is read, whatever ulfius stored */
    FIELD_ERRORS(ok);
    fake_init(&f, "/api/v1/territoires/pvd-27-58-1/axes-strategiques?limite=2");
    u_map_put(&f.map, "id_pvd", "pvd-27-71-2");
    cr_assert(param_request_check(&f.req, tpl, &ok, &matched));
    cr_assert_str_eq(param_path_get(&f.req, tpl, "id_pvd"), "pvd-27-58-1");
    fake_release(&f);
}

Test(params_request, every_bad_parameter_is_named)
{
    static const char tpl[] = "/api/v1/communes/:code_insee";
    struct fake f;
    bool matched;
    FIELD_ERRORS(errs);
    fake_init(&f, "/api/v1/communes/69%00248?acteur=%c0%af&ok=1&%ff=2&a/b~c=%0a&x=%zz");
    u_map_put(&f.map, "acteur", "kept");
    cr_assert_not(param_request_check(&f.req, tpl, &errs, &matched));
    cr_assert(matched);
    cr_assert_eq(errs.count, 5);
    static const char *const pointers[] = {"/code_insee", "/acteur", "/%ff", "/a~1b~0c", "/x"};
    static const char *const names[] = {"code_insee", "acteur", "%ff", "a/b~c", "x"};
    for (size_t i = 0; i < 5; i++) {
        const struct field_error *e = error_at(&errs, pointers[i]);
        cr_assert_not_null(e, "%s", pointers[i]);
        cr_assert_str_eq(e->parameter, names[i]);
        cr_assert_str_eq(e->code, "caractere-invalide");
    }
    cr_assert_str_eq(u_map_get(&f.map, "acteur"), "kept", "map_url untouched on failure");
    fake_release(&f);
}

Test(params_request, unmatched_path_and_absolute_form)
{
    struct fake f;
    bool matched;
    FIELD_ERRORS(errs);
    fake_init(&f, "/api/v1/territoires/x%2Faxes-strategiques");
    cr_assert_not(param_request_check(&f.req, "/api/v1/territoires/:id_pvd/axes-strategiques",
                                      &errs, &matched));
    cr_assert_not(matched);
    fake_release(&f);
    fake_init(&f, "http://h:8080/api/v1/communes/69248?limite=1");
    cr_assert(param_request_check(&f.req, "/api/v1/communes/:code_insee", &errs, &matched));
    cr_assert_str_eq(param_path_get(&f.req, "/api/v1/communes/:code_insee", "code_insee"), "69248");
    fake_release(&f);
}

Test(params_known, unknown_and_repeated)
{
    struct page {
        size_t limit;
    };
    static const struct query_field spec[] = {QUERY_PAGE(struct page, limit), QUERY_FIELDS_END};
    struct fake f;
    FIELD_ERRORS(errs);
    fake_init(&f, "/x?limite=1&nope=2&limite=3&%c3%28=4&curseur");
    cr_assert_not(query_spec_check_names(&f.req, spec, &errs));
    cr_assert_eq(errs.count, 3);
    cr_assert_str_eq(errs.items[0].code, "parametre-inconnu");
    cr_assert_str_eq(errs.items[0].parameter, "nope");
    cr_assert_str_eq(errs.items[1].code, "parametre-repete");
    cr_assert_str_eq(errs.items[1].pointer, "/limite");
    cr_assert_str_eq(errs.items[2].parameter, "%c3%28");
    fake_release(&f);
}

Test(params_display, names_fit_and_stay_text)
{
    char out[16], pointer[12];
    param_display("a\x01%c0 b\xff", 8, out, sizeof out);
    cr_assert_str_eq(out, "a%01%c0%20b%FF");
    param_display("0123456789abcdefghij", 20, out, sizeof out);
    cr_assert_str_eq(out, "0123456789ab...");
    param_pointer("é/~éééé", pointer, sizeof pointer);
    cr_assert_str_eq(pointer, "/é~1~0éé", "cut between characters");
}

/* ---- declared query parameters: query_spec_apply ----------------------- */

static bool is_dep(const char *s)
{
    return strlen(s) == 2 && s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9';
}

struct list_query {
    size_t limit;
    const char *departement, *etat, *texte;
    int64_t population;
    bool appliquer;
};
#define LQ(member) offsetof(struct list_query, member)
static const struct query_field list_fields[] = {
    QUERY_PAGE(struct list_query, limit),
    {.name = "departement",
     .kind = QUERY_CODE,
     .offset = LQ(departement),
     .valid = is_dep,
     .expected = "un code de département"},
    {.name = "etat",
     .kind = QUERY_CODE,
     .offset = LQ(etat),
     .valid = is_dep,
     .message = "État inconnu."},
    {.name = "texte", .kind = QUERY_TEXT, .offset = LQ(texte)},
    {.name = "population", .kind = QUERY_INT, .offset = LQ(population), .min = 0, .max = 1000},
    {.name = "appliquer", .kind = QUERY_BOOL, .offset = LQ(appliquer)},
    QUERY_FIELDS_END,
};

/* param_request_check then query_spec_apply of list_fields on url. */
static bool apply_list(struct fake *f, const char *url, struct list_query *q,
                       struct field_errors *errs)
{
    bool matched;
    fake_init(f, url);
    cr_assert(param_request_check(&f->req, "/x", errs, &matched), "%s", url);
    memset(q, 0x5A, sizeof *q);
    bool ok = query_spec_apply(&f->req, list_fields, q, errs);
    cr_assert_eq(ok, errs->count == 0);
    return ok;
}

Test(query_spec, absent_parameters_take_their_defaults)
{
    struct fake f;
    struct list_query q;
    FIELD_ERRORS(errs);
    cr_assert(apply_list(&f, "/x", &q, &errs));
    cr_assert_eq(q.limit, QUERY_LIMIT_DEFAULT);
    cr_assert_null(q.departement);
    cr_assert_null(q.etat);
    cr_assert_null(q.texte);
    cr_assert_eq(q.population, -1);
    cr_assert_not(q.appliquer);
    fake_release(&f);
}

Test(query_spec, every_kind_is_read)
{
    struct fake f;
    struct list_query q;
    FIELD_ERRORS(errs);
    cr_assert(apply_list(&f,
                         "/x?limite=500&departement=58&etat=21&texte=Saint+%C3%89tienne"
                         "&population=0&appliquer=true&curseur=abc",
                         &q, &errs));
    cr_assert_eq(q.limit, 500);
    cr_assert_str_eq(q.departement, "58");
    cr_assert_str_eq(q.etat, "21");
    cr_assert_str_eq(q.texte, "Saint Étienne");
    cr_assert_eq(q.population, 0);
    cr_assert(q.appliquer);
    fake_release(&f);
    cr_assert(apply_list(&f, "/x?appliquer=false&limite=1&population=1000", &q, &errs));
    cr_assert_not(q.appliquer);
    cr_assert_eq(q.limit, 1);
    cr_assert_eq(q.population, 1000);
    fake_release(&f);
}

Test(query_spec, every_bad_value_is_reported_in_spec_order)
{
    struct fake f;
    struct list_query q;
    FIELD_ERRORS(errs);
    cr_assert_not(apply_list(&f,
                             "/x?appliquer=oui&population=1001&etat=x&departement=5A"
                             "&limite=0&texte=",
                             &q, &errs));
    cr_assert_eq(errs.count, 5);
    cr_assert_str_eq(errs.items[0].pointer, "/limite");
    cr_assert_str_eq(errs.items[0].code, "hors-bornes");
    cr_assert_str_eq(errs.items[0].message, "« limite » doit être un entier entre 1 et 500.");
    cr_assert_str_eq(errs.items[1].parameter, "departement");
    cr_assert_str_eq(errs.items[1].code, "format-invalide");
    cr_assert_str_eq(errs.items[1].message, "« departement » doit être un code de département.");
    cr_assert_str_eq(errs.items[2].pointer, "/etat");
    cr_assert_str_eq(errs.items[2].message, "État inconnu.", "the declared message, whole");
    cr_assert_str_eq(errs.items[3].pointer, "/population");
    cr_assert_str_eq(errs.items[3].code, "hors-bornes");
    cr_assert_str_eq(errs.items[4].pointer, "/appliquer");
    cr_assert_str_eq(errs.items[4].message, "« appliquer » vaut true ou false.");
    /* a refused value is not stored: the default stands */
    cr_assert_eq(q.limit, QUERY_LIMIT_DEFAULT);
    cr_assert_null(q.departement);
    cr_assert_null(q.etat);
    cr_assert_eq(q.population, -1);
    cr_assert_str_eq(q.texte, "", "any text is a TEXT");
    fake_release(&f);
}

Test(query_spec, integers_are_plain_decimals)
{
    static const char *const bad[] = {"/x?limite=+5", "/x?limite=%205", "/x?limite=5a",
                                      "/x?limite=", "/x?limite=99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct fake f;
        struct list_query q;
        FIELD_ERRORS(errs);
        cr_assert_not(apply_list(&f, bad[i], &q, &errs), "%s", bad[i]);
        cr_assert_eq(errs.count, 1, "%s", bad[i]);
        cr_assert_str_eq(errs.items[0].code, "format-invalide", "%s", bad[i]);
        fake_release(&f);
    }
}

Test(query_spec, undeclared_and_repeated_names_come_first)
{
    struct fake f;
    struct list_query q;
    FIELD_ERRORS(errs);
    cr_assert_not(apply_list(&f, "/x?limite=0&inconnu=1&texte=a&texte=b", &q, &errs));
    cr_assert_eq(errs.count, 3);
    cr_assert_str_eq(errs.items[0].code, "parametre-inconnu");
    cr_assert_str_eq(errs.items[0].message, "Paramètre « inconnu » inconnu pour cette route.");
    cr_assert_str_eq(errs.items[1].code, "parametre-repete");
    cr_assert_str_eq(errs.items[1].pointer, "/texte");
    cr_assert_str_eq(errs.items[2].pointer, "/limite");
    cr_assert_str_eq(q.texte, "a", "the first value");
    fake_release(&f);
}

Test(query_spec, no_params_refuses_every_name)
{
    struct fake f;
    bool matched;
    FIELD_ERRORS(errs);
    fake_init(&f, "/x/abc?limite=1");
    cr_assert(param_request_check(&f.req, "/x/:id", &errs, &matched));
    cr_assert_not(query_spec_apply(&f.req, query_no_params, NULL, &errs));
    cr_assert_eq(errs.count, 1);
    cr_assert_str_eq(errs.items[0].parameter, "limite");
    fake_release(&f);
    FIELD_ERRORS(none);
    fake_init(&f, "/x/abc");
    cr_assert(param_request_check(&f.req, "/x/:id", &none, &matched));
    cr_assert(query_spec_apply(&f.req, query_no_params, NULL, &none),
              "a path parameter is not a query parameter");
    fake_release(&f);
}
