/* Problem registry lookups and RFC 9457 rendering; no HTTP here (see respond.c). */
#include "problem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

struct problem_row {
    const char *slug;
    int status;
    const char *title;
};

static const struct problem_row problem_rows[PROBLEM__COUNT] = {
#define PROBLEM(c, slug, status, title) [c] = {slug, status, title},
#include "problem_codes.def"
#undef PROBLEM
};

const char *problem_slug(enum problem_code code)
{
    return problem_rows[code].slug;
}

int problem_status(enum problem_code code)
{
    return problem_rows[code].status;
}

const char *problem_title(enum problem_code code)
{
    return problem_rows[code].title;
}

static void copy_bounded(char *dst, size_t size, const char *src)
{
    if (src == NULL)
        src = "";
    snprintf(dst, size, "%s", src);
}

void field_errors_add(struct field_errors *errors, const char *pointer, const char *parameter,
                      const char *code, const char *fmt, ...)
{
    if (errors->count >= FIELD_ERRORS_MAX) {
        errors->dropped++;
        return;
    }
    struct field_error *e = &errors->items[errors->count++];
    copy_bounded(e->pointer, sizeof e->pointer, pointer);
    copy_bounded(e->parameter, sizeof e->parameter, parameter);
    copy_bounded(e->code, sizeof e->code, code);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
}

/* Length of the valid UTF-8 sequence at s (RFC 3629: no overlong forms, no
 * surrogates, at most U+10FFFF), or 0 when it is not one. */
static size_t utf8_sequence(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    size_t n = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 ? 2 : 0;
    if (n == 0 || s[0] > 0xF4)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] >= 0xA0) ||
        (s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] >= 0x90))
        return 0;
    return n;
}

/* A JSON string of s in which each byte that does not belong to a valid UTF-8
 * sequence (client input may end up in a message) is replaced by '?'; valid
 * characters are kept. */
static json_t *safe_string(const char *s)
{
    json_t *j = json_string(s);
    if (j)
        return j;
    char *copy = xstrdup(s);
    for (unsigned char *p = (unsigned char *)copy; *p;) {
        size_t n = utf8_sequence(p);
        if (n == 0)
            *p++ = '?';
        else
            p += n;
    }
    j = xjson(json_string(copy));
    free(copy);
    return j;
}

json_t *problem_to_json(const struct problem *problem, const char *base_url)
{
    const struct problem_row *row = &problem_rows[problem->code];
    size_t type_len = strlen(base_url) + strlen(row->slug) + 1;
    char *type = xmalloc(type_len);
    snprintf(type, type_len, "%s%s", base_url, row->slug);

    json_t *body = xjson(json_object());
    json_object_set_new(body, "type", safe_string(type));
    json_object_set_new(body, "title", safe_string(row->title));
    json_object_set_new(body, "status", xjson(json_integer(row->status)));
    json_object_set_new(body, "detail",
                        safe_string(problem->detail ? problem->detail : row->title));
    json_object_set_new(body, "code", safe_string(row->slug));
    free(type);
    if (problem->rule)
        json_object_set_new(body, "regle", safe_string(problem->rule));
    if (problem->instance)
        json_object_set_new(body, "instance", safe_string(problem->instance));
    if (problem->request_id)
        json_object_set_new(body, "request_id", safe_string(problem->request_id));
    if (problem->errors && problem->errors->count > 0) {
        json_t *list = xjson(json_array());
        for (size_t i = 0; i < problem->errors->count; i++) {
            const struct field_error *e = &problem->errors->items[i];
            json_t *item = xjson(json_object());
            json_object_set_new(item, "pointeur", safe_string(e->pointer));
            if (e->parameter[0])
                json_object_set_new(item, "parametre", safe_string(e->parameter));
            json_object_set_new(item, "code", safe_string(e->code));
            json_object_set_new(item, "message", safe_string(e->message));
            json_array_append_new(list, item);
        }
        if (problem->errors->dropped > 0) {
            char message[120];
            snprintf(message, sizeof message, "%zu autre(s) erreur(s) non détaillée(s).",
                     problem->errors->dropped);
            json_t *item = xjson(json_object());
            json_object_set_new(item, "pointeur", safe_string(""));
            json_object_set_new(item, "code", safe_string("autres-erreurs"));
            json_object_set_new(item, "message", safe_string(message));
            json_array_append_new(list, item);
        }
        json_object_set_new(body, "erreurs", list);
    }
    return body;
}
