/* Raw path and query parameters (see query_params.h). */
#include "query_params.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The code point of the valid UTF-8 sequence at s[0, n) (n ≥ 1) and its
 * length in *len, or -1 when s does not start with one (RFC 3629). */
static long utf8_next(const unsigned char *s, size_t n, size_t *len)
{
    unsigned char c = s[0];
    size_t need;
    long cp, min;
    if (c < 0x80) {
        *len = 1;
        return c;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2, cp = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3, cp = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return -1; /* continuation byte, overlong lead C0/C1, F5–FF */
    }
    if (n < need)
        return -1;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return -1;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return -1;
    *len = need;
    return cp;
}

enum param_fault param_text_fault(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    enum param_fault fault = PARAM_OK;
    for (size_t i = 0; i < n;) {
        size_t len;
        long cp = utf8_next(p + i, n - i, &len);
        if (cp < 0)
            return PARAM_NOT_UTF8;
        if (cp == 0)
            fault = PARAM_NUL;
        else if (fault == PARAM_OK && (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)))
            fault = PARAM_CONTROL;
        i += len;
    }
    return fault;
}

enum param_fault param_decode(const char *src, size_t n, bool plus_is_space, char *dst, size_t *len)
{
    size_t o = 0;
    bool bad_escape = false;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (src[i] == '%' && i + 2 < n && (hi = hex_value(src[i + 1])) >= 0 &&
            (lo = hex_value(src[i + 2])) >= 0) {
            dst[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            if (src[i] == '%')
                bad_escape = true;
            dst[o++] = plus_is_space && src[i] == '+' ? ' ' : src[i];
        }
    }
    dst[o] = '\0';
    *len = o;
    return bad_escape ? PARAM_BAD_ESCAPE : param_text_fault(dst, o);
}

static struct param *list_push(struct param_list *list)
{
    if (list->count == list->cap) {
        list->cap = list->cap ? 2 * list->cap : 8;
        list->items = xrealloc(list->items, list->cap * sizeof *list->items);
    }
    struct param *p = &list->items[list->count++];
    memset(p, 0, sizeof *p);
    return p;
}

void param_query_parse(const char *raw, size_t n, struct param_list *out)
{
    size_t i = 0;
    while (i < n) {
        const char *piece = raw + i;
        const char *amp = memchr(piece, '&', n - i);
        size_t len = amp ? (size_t)(amp - piece) : n - i;
        i += len + 1;
        if (len == 0)
            continue; /* "a=1&&b=2" */
        const char *eq = memchr(piece, '=', len);
        size_t name_len = eq ? (size_t)(eq - piece) : len;
        const char *value = eq ? eq + 1 : piece + len;
        size_t value_len = eq ? len - name_len - 1 : 0;
        struct param *p = list_push(out);
        p->raw_name = piece;
        p->raw_name_len = name_len;
        p->name = xmalloc(name_len + 1);
        p->value = xmalloc(value_len + 1);
        p->name_fault = param_decode(piece, name_len, true, p->name, &p->name_len);
        p->value_fault = param_decode(value, value_len, true, p->value, &p->value_len);
    }
}

bool param_next_segment(const char *s, size_t n, size_t *i, const char **seg, size_t *len)
{
    while (*i < n && s[*i] == '/')
        (*i)++;
    if (*i >= n)
        return false;
    *seg = s + *i;
    while (*i < n && s[*i] != '/')
        (*i)++;
    *len = (size_t)(s + *i - *seg);
    return true;
}

bool param_path_parse(const char *template, const char *raw, size_t n, struct param_list *out)
{
    size_t t_len = strlen(template), ti = 0, ri = 0, first = out->count;
    const char *t_seg, *r_seg;
    size_t t_seg_len, r_seg_len;
    for (;;) {
        bool has_t = param_next_segment(template, t_len, &ti, &t_seg, &t_seg_len);
        bool has_r = param_next_segment(raw, n, &ri, &r_seg, &r_seg_len);
        if (!has_t && !has_r)
            return true;
        if (has_t != has_r)
            break;
        if (t_seg[0] == ':') {
            struct param *p = list_push(out);
            p->name = xmalloc(t_seg_len);
            memcpy(p->name, t_seg + 1, t_seg_len - 1);
            p->name[t_seg_len - 1] = '\0';
            p->name_len = t_seg_len - 1;
            p->value = xmalloc(r_seg_len + 1);
            p->value_fault = param_decode(r_seg, r_seg_len, false, p->value, &p->value_len);
        } else if (t_seg_len != r_seg_len || memcmp(t_seg, r_seg, t_seg_len) != 0) {
            break;
        }
    }
    while (out->count > first) {
        struct param *p = &out->items[--out->count];
        free(p->name);
        free(p->value);
    }
    return false;
}

void param_list_release(struct param_list *list)
{
    for (size_t i = 0; i < list->count; i++) {
        free(list->items[i].name);
        free(list->items[i].value);
    }
    free(list->items);
    memset(list, 0, sizeof *list);
}

bool param_template_has(const char *template, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = strchr(template, ':'); p; p = strchr(p + 1, ':'))
        if (p[-1] == '/' && strncmp(p + 1, name, n) == 0 && (p[n + 1] == '/' || p[n + 1] == '\0'))
            return true;
    return false;
}

void param_display(const char *s, size_t n, char *out, size_t size)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        bool plain = c > 0x20 && c < 0x7F;
        size_t need = plain ? 1 : 3;
        if (o + need + 1 > size) {
            if (o + 4 > size)
                o = size - 4;
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (plain) {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
}

void param_pointer(const char *name, char *out, size_t size)
{
    size_t o = 0;
    out[o++] = '/';
    for (const unsigned char *p = (const unsigned char *)name; *p;) {
        size_t len = 1;
        while ((p[len] & 0xC0) == 0x80)
            len++; /* one whole character */
        char esc[2] = {'~', *p == '~' ? '0' : '1'};
        bool escaped = *p == '~' || *p == '/';
        size_t need = escaped ? 2 : len;
        if (o + need + 1 > size)
            break;
        memcpy(out + o, escaped ? esc : (const char *)p, need);
        o += need;
        p += len;
    }
    out[o] = '\0';
}

/* A parameter name to show in an error: the decoded name when it is clean
 * text, else what the client wrote, percent-encoded. Cut at a character
 * boundary to fit out[size]. */
static void shown_name(const struct param *p, char *out, size_t size)
{
    if (p->name_fault == PARAM_OK) {
        size_t n = p->name_len;
        if (n >= size) {
            n = size - 1;
            while (n > 0 && ((unsigned char)p->name[n] & 0xC0) == 0x80)
                n--;
        }
        memcpy(out, p->name, n);
        out[n] = '\0';
    } else {
        param_display(p->raw_name, p->raw_name_len, out, size);
    }
}

static const char *fault_text(enum param_fault fault)
{
    switch (fault) {
    case PARAM_BAD_ESCAPE:
        return "a un encodage pourcent invalide (% suivi de deux chiffres hexadécimaux attendu)";
    case PARAM_NUL:
        return "contient le caractère NUL (%00)";
    case PARAM_CONTROL:
        return "contient un caractère de contrôle (tabulation, saut de ligne…)";
    case PARAM_NOT_UTF8:
        return "n'est pas du texte UTF-8 valide";
    case PARAM_OK:
        break;
    }
    return "est invalide";
}

static void add_fault(struct field_errors *errs, const struct param *p, bool path)
{
    char name[40], pointer[64];
    shown_name(p, name, sizeof name);
    param_pointer(name, pointer, sizeof pointer);
    if (p->name_fault != PARAM_OK)
        field_errors_add(errs, pointer, name, "caractere-invalide",
                         "Le nom de paramètre « %s » %s.", name, fault_text(p->name_fault));
    else
        field_errors_add(errs, pointer, name, "caractere-invalide",
                         "La valeur du paramètre de %s « %s » %s.", path ? "chemin" : "requête",
                         name, fault_text(p->value_fault));
}

/* The path and query of the request target (origin or absolute form). */
static void split_target(const char *url, const char **path, size_t *path_len, const char **query,
                         size_t *query_len)
{
    if (url == NULL)
        url = "";
    if (url[0] != '/') {
        const char *scheme_end = strstr(url, "://");
        if (scheme_end) {
            const char *p = scheme_end + 3;
            url = p + strcspn(p, "/?");
        }
    }
    size_t n = strcspn(url, "?");
    *path = url;
    *path_len = n;
    *query = url[n] ? url + n + 1 : url + n;
    *query_len = strlen(*query);
}

bool param_request_check(const struct _u_request *req, const char *template,
                         struct field_errors *errs, bool *path_matched)
{
    const char *path, *query;
    size_t path_len, query_len, errors_before = errs->count + errs->dropped;
    struct param_list path_params = {NULL, 0, 0}, query_params = {NULL, 0, 0};
    split_target(req->http_url, &path, &path_len, &query, &query_len);
    *path_matched = param_path_parse(template, path, path_len, &path_params);
    if (!*path_matched) {
        param_list_release(&path_params);
        return false;
    }
    param_query_parse(query, query_len, &query_params);
    for (size_t i = 0; i < path_params.count; i++)
        if (path_params.items[i].value_fault != PARAM_OK)
            add_fault(errs, &path_params.items[i], true);
    for (size_t i = 0; i < query_params.count; i++) {
        const struct param *q = &query_params.items[i];
        if (q->name_fault != PARAM_OK || q->value_fault != PARAM_OK) {
            add_fault(errs, q, false);
            continue;
        }
        for (size_t k = 0; k < path_params.count; k++) {
            if (strcmp(q->name, path_params.items[k].name) != 0)
                continue;
            char name[40], pointer[64];
            shown_name(q, name, sizeof name);
            param_pointer(name, pointer, sizeof pointer);
            field_errors_add(errs, pointer, name, "parametre-inconnu",
                             "« %s » est un paramètre de chemin : il ne peut pas être donné "
                             "dans la requête.",
                             name);
            break;
        }
    }
    bool ok = errs->count + errs->dropped == errors_before;
    if (ok && req->map_url) {
        u_map_clean(req->map_url);
        u_map_init(req->map_url);
        for (size_t i = 0; i < path_params.count; i++)
            u_map_put(req->map_url, path_params.items[i].name, path_params.items[i].value);
        for (size_t i = 0; i < query_params.count; i++)
            if (!u_map_has_key(req->map_url, query_params.items[i].name))
                u_map_put(req->map_url, query_params.items[i].name, query_params.items[i].value);
    }
    param_list_release(&path_params);
    param_list_release(&query_params);
    return ok;
}

const char *param_path_get(const struct _u_request *req, const char *template, const char *name)
{
    if (!param_template_has(template, name))
        die_bug("path parameter not in the route template");
    return req->map_url ? u_map_get(req->map_url, name) : NULL;
}

bool query_spec_check_names(const struct _u_request *req, const struct query_field *spec,
                            struct field_errors *errs)
{
    size_t before = errs->count + errs->dropped;
    const char *path, *query;
    size_t path_len, query_len;
    struct param_list params = {NULL, 0, 0};
    split_target(req->http_url, &path, &path_len, &query, &query_len);
    param_query_parse(query, query_len, &params);
    for (size_t i = 0; i < params.count; i++) {
        const struct param *p = &params.items[i];
        char name[48], pointer[64];
        shown_name(p, name, sizeof name);
        param_pointer(name, pointer, sizeof pointer);
        bool is_known = false;
        for (const struct query_field *f = spec; f->name && !is_known; f++)
            is_known = p->name_fault == PARAM_OK && strlen(f->name) == p->name_len &&
                       memcmp(p->name, f->name, p->name_len) == 0;
        if (!is_known) {
            field_errors_add(errs, pointer, name, "parametre-inconnu",
                             "Paramètre « %s » inconnu pour cette route.", name);
            continue;
        }
        bool repeated = false;
        for (size_t j = 0; j < i && !repeated; j++)
            repeated = params.items[j].name_len == p->name_len &&
                       memcmp(params.items[j].name, p->name, p->name_len) == 0;
        if (repeated) {
            field_errors_add(errs, pointer, name, "parametre-repete",
                             "Le paramètre « %s » ne peut être donné qu'une fois.", name);
        }
    }
    param_list_release(&params);
    return errs->count + errs->dropped == before;
}

const struct query_field query_no_params[] = {QUERY_FIELDS_END};
const struct query_field query_page_params[] = {QUERY_PAGE(struct query_page, limit),
                                                QUERY_FIELDS_END};

/* s as a decimal integer without sign '+', space or more than 19 digits. */
static bool parse_int(const char *s, int64_t *out)
{
    char *end = NULL;
    if (s[0] == '\0' || s[0] == '+' || s[0] == ' ' || strlen(s) > 19)
        return false;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end != '\0' || errno == ERANGE)
        return false;
    *out = v;
    return true;
}

/* The value of one declared parameter (s: NULL when absent) into slot. */
static void apply_param(const struct query_field *f, const char *s, void *slot,
                        struct field_errors *errs)
{
    char pointer[64];
    int64_t v;
    param_pointer(f->name, pointer, sizeof pointer);
    switch (f->kind) {
    case QUERY_TEXT:
        *(const char **)slot = s;
        return;
    case QUERY_CODE:
        *(const char **)slot = NULL;
        if (s && f->valid(s))
            *(const char **)slot = s;
        else if (s && f->message)
            field_errors_add(errs, pointer, f->name, "format-invalide", "%s", f->message);
        else if (s)
            field_errors_add(errs, pointer, f->name, "format-invalide", "« %s » doit être %s.",
                             f->name, f->expected);
        return;
    case QUERY_INT:
    case QUERY_LIMIT: {
        int64_t min = f->kind == QUERY_LIMIT ? 1 : f->min;
        int64_t max = f->kind == QUERY_LIMIT ? QUERY_LIMIT_MAX : f->max;
        bool parsed = s && parse_int(s, &v);
        if (s && (!parsed || v < min || v > max)) {
            field_errors_add(errs, pointer, f->name, parsed ? "hors-bornes" : "format-invalide",
                             "« %s » doit être un entier entre %lld et %lld.", f->name,
                             (long long)min, (long long)max);
            parsed = false;
        }
        if (f->kind == QUERY_LIMIT)
            *(size_t *)slot = parsed ? (size_t)v : QUERY_LIMIT_DEFAULT;
        else
            *(int64_t *)slot = parsed ? v : -1;
        return;
    }
    case QUERY_BOOL:
        *(bool *)slot = s && strcmp(s, "true") == 0;
        if (s && strcmp(s, "true") != 0 && strcmp(s, "false") != 0)
            field_errors_add(errs, pointer, f->name, "format-invalide",
                             "« %s » vaut true ou false.", f->name);
        return;
    case QUERY_CURSOR:
        return;
    }
}

bool query_spec_apply(const struct _u_request *req, const struct query_field *spec, void *target,
                      struct field_errors *errs)
{
    size_t before = errs->count + errs->dropped;
    query_spec_check_names(req, spec, errs);
    for (const struct query_field *f = spec; f->name; f++) {
        const char *s = req->map_url ? u_map_get(req->map_url, f->name) : NULL;
        apply_param(f, s, (char *)target + f->offset, errs);
    }
    return errs->count + errs->dropped == before;
}
