/* Unit tests of api/json_body: exact media type, bounded size, one UTF-8
 * JSON object without duplicate keys; each refusal names its problem and
 * gives a French detail. */
#include <criterion/criterion.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "api/json_body.h"

#define JSON_TYPE "application/json"
#define MAX_BYTES 1024
#define DETAIL_SZ 256

struct parsed {
    enum problem_code code;
    json_t *root;
    char detail[DETAIL_SZ];
};

/* Parses a heap copy of exactly len bytes (no NUL after them), so that ASan
 * flags any read past the body. */
static struct parsed parse_bytes(const char *content_type, const char *data, size_t len,
                                 size_t max_bytes)
{
    struct parsed p;
    char *copy = malloc(len ? len : 1);

    cr_assert_not_null(copy);
    if (len)
        memcpy(copy, data, len);
    memset(p.detail, 'x', sizeof p.detail);
    p.root = (json_t *)copy; /* overwritten: checks that *out is always set */
    p.code = json_body_parse(content_type, false, copy, len, max_bytes, &p.root, p.detail,
                             sizeof p.detail);
    free(copy);
    return p;
}

static struct parsed parse(const char *content_type, const char *text)
{
    return parse_bytes(content_type, text, strlen(text), MAX_BYTES);
}

static bool is_utf8(const char *s)
{
    json_t *j = json_string(s);

    if (j == NULL)
        return false;
    json_decref(j);
    return true;
}

static void assert_problem(const struct parsed *p, enum problem_code expected, const char *what)
{
    cr_assert_eq(p->code, expected, "%s: got %s, expected %s", what,
                 p->code == PROBLEM__COUNT ? "success" : problem_slug(p->code),
                 problem_slug(expected));
    cr_assert_null(p->root, "%s: no document on failure", what);
    cr_assert_lt(strnlen(p->detail, sizeof p->detail), sizeof p->detail, "%s: detail", what);
    cr_assert_gt(strlen(p->detail), 0, "%s: empty detail", what);
    cr_assert(is_utf8(p->detail), "%s: detail is not UTF-8", what);
}

static void assert_json_refused(const char *text, const char *what)
{
    struct parsed p = parse(JSON_TYPE, text);

    assert_problem(&p, PROBLEM_JSON_INVALIDE, what);
}

static void assert_json_refused_bytes(const char *data, size_t len, const char *what)
{
    struct parsed p = parse_bytes(JSON_TYPE, data, len, MAX_BYTES);

    assert_problem(&p, PROBLEM_JSON_INVALIDE, what);
}

/* ---- media type -------------------------------------------------------- */

Test(json_media_type, accepted)
{
    cr_assert(json_media_type_ok("application/json", false));
    cr_assert(json_media_type_ok("application/json; charset=utf-8", false));
    cr_assert(json_media_type_ok("APPLICATION/JSON;charset=\"utf-8\"", false));
    cr_assert(json_media_type_ok("Application/Json; Charset=UTF-8", false));
    cr_assert(json_media_type_ok("application/json;charset=utf-8", false));
    cr_assert(json_media_type_ok("application/json ; charset=utf-8 ", false));
}

/* PATCH bodies are JSON Merge Patch documents (RFC 7396): their own media type
 * is accepted there, and only there. */
Test(json_media_type, merge_patch_on_patch_only)
{
    cr_assert(json_media_type_ok("application/merge-patch+json", true));
    cr_assert(json_media_type_ok("Application/Merge-Patch+JSON; charset=utf-8", true));
    cr_assert(json_media_type_ok("application/json", true));
    cr_assert_not(json_media_type_ok("application/merge-patch+json", false));
    cr_assert_not(json_media_type_ok("application/merge-patch+jsonx", true));
    cr_assert_not(json_media_type_ok("application/merge-patch+json; charset=latin1", true));
}

Test(json_media_type, refused)
{
    cr_assert_not(json_media_type_ok(NULL, false));
    cr_assert_not(json_media_type_ok("", false));
    cr_assert_not(json_media_type_ok("application/json; charset=latin1", false));
    cr_assert_not(json_media_type_ok("application/json; charset=iso-8859-1", false));
    cr_assert_not(json_media_type_ok("application/json; charset=utf-16", false));
    cr_assert_not(json_media_type_ok("application/json; charset=utf-8x", false));
    cr_assert_not(json_media_type_ok("application/json; charset=\"utf-8", false));
    cr_assert_not(json_media_type_ok("application/jsonp", false));
    cr_assert_not(json_media_type_ok("application/json-patch+json", false));
    cr_assert_not(json_media_type_ok("application/merge-patch+json", false));
    cr_assert_not(json_media_type_ok("application/problem+json", false));
    cr_assert_not(json_media_type_ok("text/json", false));
    cr_assert_not(json_media_type_ok("text/plain", false));
    cr_assert_not(json_media_type_ok("application/x-www-form-urlencoded", false));
    cr_assert_not(json_media_type_ok("application/json;", false));
    cr_assert_not(json_media_type_ok("application/json; boundary=x", false));
    cr_assert_not(json_media_type_ok("application/json, text/plain", false));
    cr_assert_not(json_media_type_ok("application/json; charset=utf-8; q=1", false));
    cr_assert_not(json_media_type_ok("application/", false));
    cr_assert_not(json_media_type_ok("application", false));
}

Test(json_body, refused_media_type_is_415)
{
    static const char *const refused[] = {
        "application/json; charset=latin1", "application/jsonp", "text/json", "", NULL,
    };

    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        struct parsed p = parse(refused[i], "{\"a\": 1}");

        assert_problem(&p, PROBLEM_TYPE_MEDIA_NON_SUPPORTE, refused[i] ? refused[i] : "NULL");
        cr_assert_not_null(strstr(p.detail, "application/json"), "detail: %s", p.detail);
    }
}

Test(json_body, accepted_media_types_parse)
{
    static const char *const accepted[] = {
        "application/json",
        "application/json; charset=utf-8",
        "APPLICATION/JSON;charset=\"utf-8\"",
    };

    for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++) {
        struct parsed p = parse(accepted[i], "{\"a\": 1}");

        cr_assert_eq(p.code, PROBLEM__COUNT, "%s: %s", accepted[i], p.detail);
        cr_assert(json_is_object(p.root));
        json_decref(p.root);
    }
}

/* ---- size -------------------------------------------------------------- */

Test(json_body, empty_body)
{
    struct parsed p = parse(JSON_TYPE, "");

    assert_problem(&p, PROBLEM_JSON_INVALIDE, "empty");
    p.root = (json_t *)&p;
    p.code =
        json_body_parse(JSON_TYPE, false, NULL, 0, MAX_BYTES, &p.root, p.detail, sizeof p.detail);
    assert_problem(&p, PROBLEM_JSON_INVALIDE, "NULL data");
    assert_json_refused("   \r\n\t ", "blanks only");
}

Test(json_body, over_max_is_413)
{
    char body[MAX_BYTES + 2];
    struct parsed p;

    /* {"a":"aaa...a"} of exactly MAX_BYTES bytes is accepted */
    memset(body, 'a', sizeof body);
    memcpy(body, "{\"a\":\"", 6);
    memcpy(body + MAX_BYTES - 2, "\"}", 2);
    p = parse_bytes(JSON_TYPE, body, MAX_BYTES, MAX_BYTES);
    cr_assert_eq(p.code, PROBLEM__COUNT, "%s", p.detail);
    json_decref(p.root);

    memcpy(body + MAX_BYTES - 2, "a\"}", 3);
    p = parse_bytes(JSON_TYPE, body, MAX_BYTES + 1, MAX_BYTES);
    assert_problem(&p, PROBLEM_CORPS_TROP_VOLUMINEUX, "one byte over");
    cr_assert_not_null(strstr(p.detail, "1024"), "the limit is stated: %s", p.detail);

    p = parse_bytes(JSON_TYPE, body, MAX_BYTES + 1, 0);
    assert_problem(&p, PROBLEM_CORPS_TROP_VOLUMINEUX, "max 0");
}

Test(json_body, media_type_is_checked_before_size)
{
    char body[MAX_BYTES * 2];
    struct parsed p;

    memset(body, ' ', sizeof body);
    p = parse_bytes("text/plain", body, sizeof body, MAX_BYTES);
    assert_problem(&p, PROBLEM_TYPE_MEDIA_NON_SUPPORTE, "text/plain, too large");
}

/* ---- syntax ------------------------------------------------------------ */

Test(json_body, invalid_json_detail_has_line_and_column)
{
    struct parsed p = parse(JSON_TYPE, "{\n  \"nom\": \"Thizy\",\n  \"population\": tru\n}");

    assert_problem(&p, PROBLEM_JSON_INVALIDE, "bad literal");
    cr_assert_not_null(strstr(p.detail, "ligne 3"), "detail: %s", p.detail);
    cr_assert_not_null(strstr(p.detail, "colonne "), "detail: %s", p.detail);
    cr_assert_null(strstr(p.detail, "colonne 0"), "detail: %s", p.detail);
    cr_assert_null(strstr(p.detail, "colonne -"), "detail: %s", p.detail);

    p = parse(JSON_TYPE, "{\"a\": 1,}");
    assert_problem(&p, PROBLEM_JSON_INVALIDE, "trailing comma");
    cr_assert_not_null(strstr(p.detail, "ligne 1"), "detail: %s", p.detail);
    cr_assert_not_null(strstr(p.detail, "syntaxe incorrecte"), "detail: %s", p.detail);
}

/* The detail is French throughout: the fault is named from jansson's error
 * code, never with jansson's English text nor the client's bytes. */
Test(json_body, invalid_json_fault_is_named_in_french)
{
    struct parsed p = parse(JSON_TYPE, "{\"intitule\": ");
    assert_problem(&p, PROBLEM_JSON_INVALIDE, "cut body");
    cr_assert_not_null(strstr(p.detail, "fin du corps inattendue"), "detail: %s", p.detail);
    cr_assert_null(strstr(p.detail, "unexpected"), "detail: %s", p.detail);

    p = parse(JSON_TYPE, "{\"a\": 1} {}");
    assert_problem(&p, PROBLEM_JSON_INVALIDE, "two values");
    cr_assert_not_null(strstr(p.detail, "contenu en trop"), "detail: %s", p.detail);

    p = parse(JSON_TYPE, "{\"a\": 1, \"a\": 2}");
    assert_problem(&p, PROBLEM_JSON_INVALIDE, "duplicate member");
    cr_assert_not_null(strstr(p.detail, "membre en double"), "detail: %s", p.detail);

    p = parse(JSON_TYPE, "{\"a\": \"\xc3\x28\"}");
    assert_problem(&p, PROBLEM_JSON_INVALIDE, "bad UTF-8");
    cr_assert_not_null(strstr(p.detail, "UTF-8"), "detail: %s", p.detail);
}

Test(json_body, malformed_documents)
{
    assert_json_refused("{", "unterminated object");
    assert_json_refused("{\"a\": }", "missing value");
    assert_json_refused("{'a': 1}", "single quotes");
    assert_json_refused("{a: 1}", "bare key");
    assert_json_refused("{\"a\": 01}", "leading zero");
    assert_json_refused("{\"a\": NaN}", "NaN");
    assert_json_refused("{\"a\": 1} {}", "two documents");
    assert_json_refused("{}{}", "two objects");
    assert_json_refused("{} x", "trailing garbage");
    assert_json_refused("{\"a\": \"\t\"}", "raw control character in a string");
    assert_json_refused("{\"a\": 99999999999999999999999}", "integer overflow");
    assert_json_refused("\xef\xbb\xbf{}", "byte order mark");
}

Test(json_body, duplicate_keys_are_refused)
{
    struct parsed p;

    assert_json_refused("{\"a\": 1, \"a\": 2}", "duplicate");
    assert_json_refused("{\"a\": 1, \"b\": 2, \"a\": 1}", "duplicate with the same value");
    assert_json_refused("{\"o\": {\"x\": 1, \"x\": 2}}", "nested duplicate");
    assert_json_refused("{\"l\": [{\"x\": 1, \"x\": 2}]}", "duplicate inside an array");
    assert_json_refused("{\"\\u0061\": 1, \"a\": 2}", "duplicate once unescaped");

    p = parse(JSON_TYPE, "{\"a\": 1, \"A\": 2, \"o\": {\"a\": 3}}");
    cr_assert_eq(p.code, PROBLEM__COUNT, "keys differ by case or level: %s", p.detail);
    cr_assert_eq(json_object_size(p.root), 3);
    json_decref(p.root);
}

/* Refuses each root with json-invalide and a detail saying an object is expected. */
static void assert_roots_refused(const char *const *roots, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        struct parsed p = parse(JSON_TYPE, roots[i]);

        assert_problem(&p, PROBLEM_JSON_INVALIDE, roots[i]);
        cr_assert_not_null(strstr(p.detail, "objet"), "%s: detail \"%s\"", roots[i], p.detail);
    }
}

Test(json_body, array_roots_are_refused)
{
    static const char *const roots[] = {"[]", "[{}]", "[1, 2]", " [ {\"a\": 1} ] "};

    assert_roots_refused(roots, sizeof roots / sizeof roots[0]);
}

/* "42" is a valid JSON text (RFC 8259): the detail must say that an object is
 * expected ("Le corps doit être un objet JSON."), as for an array, not report
 * a syntax error at column 2. */
Test(json_body, scalar_roots_are_refused_as_non_objects)
{
    static const char *const roots[] = {"42", "-1.5", "\"texte\"", "true", "false", "null"};

    assert_roots_refused(roots, sizeof roots / sizeof roots[0]);
}

Test(json_body, invalid_utf8_is_refused)
{
    assert_json_refused("{\"a\": \"\xff\"}", "0xff");
    assert_json_refused("{\"a\": \"caf\xe9\"}", "Latin-1 é");
    assert_json_refused("{\"a\": \"\xc3\"}", "truncated sequence");
    assert_json_refused("{\"a\": \"\xc0\xaf\"}", "overlong /");
    assert_json_refused("{\"a\": \"\xe0\x80\xaf\"}", "overlong 3-byte");
    assert_json_refused("{\"a\": \"\xed\xa0\x80\"}", "UTF-8 encoded surrogate");
    assert_json_refused("{\"a\": \"\xf4\x90\x80\x80\"}", "above U+10FFFF");
    assert_json_refused("{\"\xff\": 1}", "invalid key");
    assert_json_refused("{\"a\": 1}\xff", "invalid byte after the document");
}

Test(json_body, lone_surrogate_escapes_are_refused)
{
    assert_json_refused("{\"a\": \"\\ud800\"}", "lone high surrogate");
    assert_json_refused("{\"a\": \"\\udc00\"}", "lone low surrogate");
    assert_json_refused("{\"a\": \"\\ud800x\"}", "high surrogate then a letter");
}

Test(json_body, nul_is_refused)
{
    static const char raw_nul[] = "{\"a\": \"x\0y\"}";
    static const char nul_after[] = "{\"a\": 1}\0";

    assert_json_refused("{\"a\": \"x\\u0000y\"}", "escaped NUL in a value");
    assert_json_refused("{\"\\u0000\": 1}", "escaped NUL in a key");
    assert_json_refused("{\"a\\u0000b\": 1}", "escaped NUL inside a key");
    assert_json_refused_bytes(raw_nul, sizeof raw_nul - 1, "raw NUL in a string");
    assert_json_refused_bytes(nul_after, sizeof nul_after - 1, "raw NUL after the document");
}

Test(json_body, valid_object_is_returned)
{
    struct parsed p = parse("application/json; charset=utf-8",
                            "{\"nom\": \"L’Étang-Salé\", \"population\": 14464, \"actif\": true,"
                            " \"codes\": [\"97427\"], \"adresse\": {\"code_postal\": \"97427\"},"
                            " \"emoji\": \"\\ud83d\\ude00\", \"vide\": null}");

    cr_assert_eq(p.code, PROBLEM__COUNT, "%s", p.detail);
    cr_assert(json_is_object(p.root));
    cr_assert_eq(json_object_size(p.root), 7);
    cr_assert_str_eq(json_string_value(json_object_get(p.root, "nom")), "L’Étang-Salé");
    cr_assert_eq(json_integer_value(json_object_get(p.root, "population")), 14464);
    cr_assert_str_eq(json_string_value(json_object_get(p.root, "emoji")), "\xf0\x9f\x98\x80");
    cr_assert_eq(p.root->refcount, 1, "the caller owns the only reference");
    json_decref(p.root);
}

/* The detail is shown to clients: it must stay valid UTF-8 whatever bytes
 * the client sent (jansson may quote the offending token). */
Test(json_body, detail_stays_valid_utf8)
{
    char body[400];

    snprintf(body, sizeof body, "{\"a\": %s}",
             "éééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé");
    assert_json_refused(body, "long non-ASCII token");
    assert_json_refused("{\"a\": \xff\xfe}", "invalid bytes as a token");
    assert_json_refused("{\"a\": tru\xc3\xa9}", "token with an accent");
    /* jansson quotes up to 20 bytes of the token, cut after the first byte of
     * the character that ends it: "invalid escape near '"\\<0xC3>'" */
    assert_json_refused("{\"a\": \"\\é\"}", "escape of a non-ASCII character");
    assert_json_refused("{\"a\": \"\\u12é4\"}", "non-ASCII character in \\u escape");
}
