/* libFuzzer target over api/query_params: the parameters of a request
 * target. The first input byte picks a route template, the rest is the raw
 * target ("/path?query", any bytes). Checked: no crash; the decoded length
 * never exceeds the raw one and the copy is NUL-terminated; the fault found
 * agrees with an independent check (jansson's UTF-8 validation, a scan for
 * NUL and controls); a clean parameter percent-encoded again parses back to
 * the same bytes; after param_request_check, either every stored path and
 * query value is clean text and the path parameters are the template's, or
 * every error names a parameter in valid UTF-8 with a pointer starting with
 * '/', and the problem document renders; query_spec_apply of a spec of
 * every kind agrees with its error list and stores only values of their kind.
 * Build: make build/fuzz/fuzz_query. */
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/problem.h"
#include "api/query_params.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const templates[] = {
    "/api/v1/communes",
    "/api/v1/communes/:code_insee",
    "/api/v1/territoires/:id_pvd/axes-strategiques",
    "/api/v1/conventions/:id/versions/:numero",
    "/a/:x/:y/:z",
};
#define TEMPLATE_COUNT (sizeof templates / sizeof templates[0])

static bool is_utf8(const char *s, size_t n)
{
    json_t *j = json_stringn(s, n);
    if (j == NULL)
        return false;
    json_decref(j);
    return true;
}

/* Independent: a control character of valid UTF-8 text (C0, DEL, C1). */
static bool has_control(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n; i++) {
        if ((p[i] > 0 && p[i] < 0x20) || p[i] == 0x7F)
            return true;
        if (p[i] == 0xC2 && i + 1 < n && p[i + 1] >= 0x80 && p[i + 1] <= 0x9F)
            return true;
    }
    return false;
}

static void check_text(const char *s, size_t len, size_t raw_len, enum param_fault fault)
{
    if (len > raw_len || s[len] != '\0')
        abort();
    bool utf8 = is_utf8(s, len), nul = memchr(s, 0, len) != NULL;
    switch (fault) {
    case PARAM_OK:
        if (!utf8 || nul || has_control(s, len))
            abort();
        break;
    case PARAM_NOT_UTF8:
        if (utf8)
            abort();
        break;
    case PARAM_NUL:
        if (!utf8 || !nul)
            abort();
        break;
    case PARAM_CONTROL:
        if (!utf8 || nul || !has_control(s, len))
            abort();
        break;
    case PARAM_BAD_ESCAPE:
        break;
    }
}

static size_t encode(const char *s, size_t n, char *out)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        out[o++] = '%';
        out[o++] = hex[c >> 4];
        out[o++] = hex[c & 15];
    }
    return o;
}

/* Clean parameters, percent-encoded again, parse back to the same bytes. */
static void check_round_trip(const struct param_list *l)
{
    size_t cap = 1;
    for (size_t i = 0; i < l->count; i++)
        cap += 3 * (l->items[i].name_len + l->items[i].value_len) + 2;
    char *raw = malloc(cap);
    size_t n = 0, clean = 0;
    if (raw == NULL)
        abort();
    for (size_t i = 0; i < l->count; i++) {
        const struct param *p = &l->items[i];
        if (p->name_fault != PARAM_OK || p->value_fault != PARAM_OK || p->name_len == 0)
            continue;
        n += encode(p->name, p->name_len, raw + n);
        raw[n++] = '=';
        n += encode(p->value, p->value_len, raw + n);
        raw[n++] = '&';
        clean++;
    }
    struct param_list again = {NULL, 0, 0};
    param_query_parse(raw, n, &again);
    if (again.count != clean)
        abort();
    for (size_t i = 0, k = 0; i < l->count; i++) {
        const struct param *p = &l->items[i];
        if (p->name_fault != PARAM_OK || p->value_fault != PARAM_OK || p->name_len == 0)
            continue;
        const struct param *q = &again.items[k++];
        if (q->name_len != p->name_len || q->value_len != p->value_len ||
            memcmp(q->name, p->name, p->name_len) != 0 ||
            memcmp(q->value, p->value, p->value_len) != 0 || q->name_fault != PARAM_OK ||
            q->value_fault != PARAM_OK)
            abort();
    }
    param_list_release(&again);
    free(raw);
}

static void check_errors(const struct field_errors *errs)
{
    for (size_t i = 0; i < errs->count; i++) {
        const struct field_error *e = &errs->items[i];
        /* an empty name ("?=1") is pointer "/" without "parametre" */
        if (e->pointer[0] != '/' || e->message[0] == '\0' ||
            (e->parameter[0] == '\0') != (strcmp(e->pointer, "/") == 0))
            abort();
        if (!is_utf8(e->pointer, strlen(e->pointer)) ||
            !is_utf8(e->parameter, strlen(e->parameter)) ||
            !is_utf8(e->message, strlen(e->message)))
            abort();
    }
    struct problem problem = {.code = PROBLEM_PARAMETRE_INVALIDE, .errors = errs};
    json_t *body = problem_to_json(&problem, "https://pvd-api.example/problemes/");
    char *text = json_dumps(body, JSON_COMPACT);
    if (text == NULL)
        abort();
    free(text);
    json_decref(body);
}

static bool all_digits(const char *s)
{
    return s[0] != '\0' && strspn(s, "0123456789") == strlen(s);
}

struct declared_values {
    size_t limit;
    const char *q, *code;
    int64_t n;
    bool b;
};
static const struct query_field declared[] = {
    QUERY_PAGE(struct declared_values, limit),
    {.name = "q", .kind = QUERY_TEXT, .offset = offsetof(struct declared_values, q)},
    {.name = "n", .kind = QUERY_INT, .offset = offsetof(struct declared_values, n), .max = 99},
    {.name = "b", .kind = QUERY_BOOL, .offset = offsetof(struct declared_values, b)},
    {.name = "c",
     .kind = QUERY_CODE,
     .offset = offsetof(struct declared_values, code),
     .valid = all_digits,
     .expected = "des chiffres"},
    QUERY_FIELDS_END,
};

/* query_spec_apply on a checked request: its verdict is its error list, and
 * every stored value is of its kind and is the request's own. */
static void check_declared(const struct _u_request *req, struct field_errors *errs)
{
    struct declared_values v;
    memset(&v, 0xA5, sizeof v);
    bool ok = query_spec_apply(req, declared, &v, errs);
    if (ok != (errs->count == 0 && errs->dropped == 0))
        abort();
    if (v.limit < 1 || v.limit > QUERY_LIMIT_MAX || v.n < -1 || v.n > 99)
        abort();
    if (v.q != u_map_get(req->map_url, "q"))
        abort();
    if (v.code && (!all_digits(v.code) || v.code != u_map_get(req->map_url, "c")))
        abort();
    const char *b = u_map_get(req->map_url, "b");
    if (v.b != (b && strcmp(b, "true") == 0))
        abort();
}

static void check_request(const char *template, const char *url)
{
    struct _u_request req;
    struct _u_map map;
    bool matched;
    FIELD_ERRORS(errs);
    memset(&req, 0, sizeof req);
    req.http_url = (char *)url;
    u_map_init(&map);
    req.map_url = &map;
    u_map_put(&map, "sentinelle", "ulfius");
    bool ok = param_request_check(&req, template, &errs, &matched);
    if (ok != (matched && errs.count == 0 && errs.dropped == 0))
        abort();
    if (ok) {
        const char **keys = u_map_enum_keys(&map);
        for (size_t i = 0; keys[i]; i++) {
            const char *v = u_map_get(&map, keys[i]);
            if (!is_utf8(keys[i], strlen(keys[i])) || has_control(keys[i], strlen(keys[i])) ||
                !is_utf8(v, strlen(v)) || has_control(v, strlen(v)))
                abort();
            /* ulfius' own entries are gone; only what the target says is left */
            if (strcmp(keys[i], "sentinelle") == 0 && strcmp(v, "ulfius") == 0)
                abort();
        }
        for (const char *p = strchr(template, ':'); p; p = strchr(p + 1, ':')) {
            char name[32];
            size_t n = strcspn(p + 1, "/");
            snprintf(name, sizeof name, "%.*s", (int)n, p + 1);
            if (param_path_get(&req, template, name) == NULL)
                abort();
        }
    } else if (matched) {
        if (errs.count == 0)
            abort();
        check_errors(&errs);
        if (strcmp(u_map_get(&map, "sentinelle"), "ulfius") != 0)
            abort(); /* untouched on failure */
    }
    FIELD_ERRORS(unknown);
    if (ok)
        check_declared(&req, &unknown);
    else
        query_spec_check_names(&req, declared, &unknown);
    check_errors(&unknown);
    u_map_clean(&map);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const char *template = templates[data[0] % TEMPLATE_COUNT];
    size_t n = size - 1;
    char *raw = malloc(n + 1);
    if (raw == NULL)
        abort();
    memcpy(raw, data + 1, n);
    raw[n] = '\0';

    /* the query part, by length (NULs included) */
    const char *q = memchr(raw, '?', n);
    size_t path_len = q ? (size_t)(q - raw) : n;
    struct param_list l = {NULL, 0, 0};
    if (q)
        param_query_parse(q + 1, n - path_len - 1, &l);
    for (size_t i = 0; i < l.count; i++) {
        const struct param *p = &l.items[i];
        check_text(p->name, p->name_len, p->raw_name_len, p->name_fault);
        check_text(p->value, p->value_len, n, p->value_fault);
        char shown[40], pointer[64];
        param_display(p->raw_name, p->raw_name_len, shown, sizeof shown);
        if (strlen(shown) >= sizeof shown || !is_utf8(shown, strlen(shown)))
            abort();
        param_pointer(shown, pointer, sizeof pointer);
        if (pointer[0] != '/' || !is_utf8(pointer, strlen(pointer)))
            abort();
    }
    check_round_trip(&l);
    param_list_release(&l);

    struct param_list path = {NULL, 0, 0};
    if (param_path_parse(template, raw, path_len, &path))
        for (size_t i = 0; i < path.count; i++)
            check_text(path.items[i].value, path.items[i].value_len, path_len,
                       path.items[i].value_fault);
    else if (path.count != 0)
        abort();
    param_list_release(&path);

    /* ulfius hands a C string: the target up to its first NUL */
    check_request(template, raw);
    free(raw);
    return 0;
}
