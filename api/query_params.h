/* Path and query parameters read from the raw request target, with their
 * bytes and lengths: ulfius decodes %00 into a C string (and so truncates the
 * value) and joins a repeated query parameter with a path parameter of the
 * same name, so neither its decoding nor its map_url is trusted.
 *
 * The rule, for every parameter name and value, path or query: after
 * percent-decoding, it is valid UTF-8 (RFC 3629: no overlong form, no
 * surrogate, nothing above U+10FFFF, no truncated sequence), holds no NUL and
 * no control character (U+0001–U+001F, U+007F, U+0080–U+009F: no identifier,
 * code, date or search text of the API contains one, and a tab or a line
 * break in a URL is log or header injection, never data), and every '%' is
 * followed by two hex digits. Anything else is 400 parametre-invalide, code
 * caractere-invalide, naming the parameter. '+' is a space in a query string
 * (application/x-www-form-urlencoded, as browsers send), itself in a path.
 *
 * No HTTP answer is sent here (see query_params_or_reply in query.h), so that
 * the unit tests and tests/fuzz/fuzz_query.c run it alone. */
#ifndef PVD_API_QUERY_PARAMS_H
#define PVD_API_QUERY_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <ulfius.h>

#include "problem.h"

/* Why a decoded name or value breaks the rule (PARAM_OK: it does not). */
enum param_fault {
    PARAM_OK,
    PARAM_BAD_ESCAPE, /* '%' not followed by two hex digits */
    PARAM_NUL,        /* %00 */
    PARAM_CONTROL,    /* a control character */
    PARAM_NOT_UTF8,   /* not valid UTF-8 */
};

/* Percent-decodes src[0, n) into dst, which has room for n + 1 bytes ('+'
 * becomes ' ' when plus_is_space). dst is NUL-terminated and *len is the
 * decoded length (NULs included). An invalid escape is copied as is. Returns
 * the first fault of the decoded bytes, PARAM_BAD_ESCAPE first. */
enum param_fault param_decode(const char *src, size_t n, bool plus_is_space, char *dst,
                              size_t *len);

/* The fault of s[0, n) as decoded text (never PARAM_BAD_ESCAPE). */
enum param_fault param_text_fault(const char *s, size_t n);

/* One parameter. name and value are decoded, NUL-terminated copies owned by
 * the list; raw_name points into the parsed text (not owned). For a path
 * parameter, name is the template's and raw_name is NULL. */
struct param {
    char *name, *value;
    size_t name_len, value_len;
    const char *raw_name;
    size_t raw_name_len;
    enum param_fault name_fault, value_fault;
};

struct param_list {
    struct param *items;
    size_t count, cap;
};

/* Splits a raw query string (after '?', n bytes, not NUL-terminated) on
 * '&', skips empty pieces, splits each at its first '=' (no '=': the value
 * is "") and decodes both parts into out (appended; start from a zeroed
 * list). Allocation failure aborts. */
void param_query_parse(const char *raw, size_t n, struct param_list *out);

/* Matches the raw path (n bytes, no query) against a ulfius route template
 * ("/api/v1/territoires/:id_pvd/axes-strategiques") the way ulfius does:
 * empty segments skipped, literal segments equal byte for byte, each ":name"
 * one non-empty segment, decoded ('+' kept) into out (appended). False when
 * the path does not match (out unchanged). */
bool param_path_parse(const char *template, const char *raw, size_t n, struct param_list *out);

/* The next non-empty '/'-separated segment of s[*i, n) — empty segments are
 * skipped, as ulfius did ("/a//b/" is "/a/b") — its start and length, *i moved
 * past it; false at the end. Shared by the routing (api/routes.c) and
 * param_path_parse, so that they split a path alike. */
bool param_next_segment(const char *s, size_t n, size_t *i, const char **seg, size_t *len);

/* Frees the items' copies and the array; the list is zeroed. */
void param_list_release(struct param_list *list);

/* True when template has the path parameter ":name". */
bool param_template_has(const char *template, const char *name);

/* A raw parameter name as the client wrote it, for an error: s[0, n) with
 * every byte outside printable ASCII percent-encoded, cut with "..." to fit
 * in out[size] (size ≥ 4). */
void param_display(const char *s, size_t n, char *out, size_t size);

/* Checks every path parameter of template and every query parameter of the
 * request target req->http_url (origin form; an absolute form's scheme and
 * authority are skipped) against the rule above, and that no query parameter
 * has the name of a path parameter (parametre-inconnu: a query parameter
 * never shadows a path one). On success, req->map_url is replaced by the
 * decoded parameters (path ones, then each query name's first value), so
 * that query_get and query_path_param read checked text only; false with
 * errs filled otherwise (map_url untouched). *path_matched is false when the
 * raw path does not match template (then nothing is checked). */
bool param_request_check(const struct _u_request *req, const char *template,
                         struct field_errors *errs, bool *path_matched);

/* The value of the path parameter `name` of template, as stored by
 * param_request_check; a name that is not in template is a bug (aborts). */
const char *param_path_get(const struct _u_request *req, const char *template, const char *name);

/* ---- Declared query parameters ------------------------------------------
 * A route declares its query parameters once, as an array of query_field
 * ended by QUERY_FIELDS_END: query_spec_apply refuses every other name and
 * parses the declared ones into a struct; respond_page (query.h) carries the
 * declared ones into the next page's Link. Path parameters are not declared
 * here (query_path_param reads them). */

enum query_kind {
    QUERY_TEXT,   /* const char *: any (clean) text; absent: NULL */
    QUERY_CODE,   /* const char *: a value .valid accepts; absent: NULL */
    QUERY_INT,    /* int64_t in [.min, .max]; absent: -1 */
    QUERY_BOOL,   /* bool: true or false; absent: false */
    QUERY_LIMIT,  /* size_t (`limite`): 1..QUERY_LIMIT_MAX; absent: QUERY_LIMIT_DEFAULT */
    QUERY_CURSOR, /* accepted, nothing stored: query_cursor_or_reply reads it */
};

#define QUERY_LIMIT_DEFAULT 50
#define QUERY_LIMIT_MAX     500

struct query_field {
    const char *name;
    enum query_kind kind;
    size_t offset;                    /* of the value in the target struct */
    bool (*valid)(const char *value); /* CODE */
    const char *expected;             /* CODE: French, in "« name » doit être <expected>." */
    const char *message;              /* CODE: the whole French message, instead */
    int64_t min, max;                 /* INT */
};
#define QUERY_FIELDS_END                                                                           \
    {                                                                                              \
        .name = NULL                                                                               \
    }
/* A QUERY_CODE parameter: name, offset, validator, expected text. */
#define QUERY_CODE_FIELD(n, off, fn, text)                                                         \
    {                                                                                              \
        .name = (n), .kind = QUERY_CODE, .offset = (off), .valid = (fn), .expected = (text)        \
    }
/* `limite` into type's size_t member, then `curseur`. */
#define QUERY_PAGE(type, member)                                                                   \
    {.name = "limite", .kind = QUERY_LIMIT, .offset = offsetof(type, member)},                     \
    {                                                                                              \
        .name = "curseur", .kind = QUERY_CURSOR                                                    \
    }

/* No query parameter at all (routes that take none). */
extern const struct query_field query_no_params[];

/* Only `limite` and `curseur` (a list without filters), into a query_page. */
struct query_page {
    size_t limit;
};
extern const struct query_field query_page_params[];

/* The first half of query_spec_apply: reports in errs every query parameter
 * of req whose name spec does not declare (parametre-inconnu) and each
 * declared one given twice (parametre-repete), in the order of the query.
 * For a route that checks its parameters' values after another answer (a
 * 404 on its path parameter first). True when no error was added. */
bool query_spec_check_names(const struct _u_request *req, const struct query_field *spec,
                            struct field_errors *errs);

/* Reads the query of req (once param_request_check passed) against spec:
 * reports in errs every parameter whose name spec does not declare
 * (parametre-inconnu) and each declared one given twice (parametre-repete),
 * in the order of the query, then, in spec order, each declared one whose
 * value is not of its kind (format-invalide; hors-bornes for an integer out
 * of bounds), and writes every declared value (or its absent default) into
 * target. True when no error was added. Strings are borrowed from req. */
bool query_spec_apply(const struct _u_request *req, const struct query_field *spec, void *target,
                      struct field_errors *errs);

/* "/" followed by name escaped as an RFC 6901 token ('~' → "~0", '/' →
 * "~1"), cut at a character boundary to fit out[size]. */
void param_pointer(const char *name, char *out, size_t size);

#endif
