/* Query parameters and collection envelopes (see query.h). */
#define _POSIX_C_SOURCE 200809L
#include "query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../domain/date.h"
#include "cursor.h"
#include "http.h"
#include "routes.h"
#include "xalloc.h"

const char *query_get(const struct _u_request *req, const char *name)
{
    return u_map_get(req->map_url, name);
}

const char *query_path_param(const struct request_ctx *ctx, const char *name)
{
    return param_path_get(ctx->req, ctx->route->path, name);
}

bool query_params_or_reply(struct request_ctx *ctx)
{
    bool matched;
    FIELD_ERRORS(errs);
    if (param_request_check(ctx->req, ctx->route->path, &errs, &matched))
        return true;
    if (!matched)
        respond_problem(ctx, PROBLEM_ROUTE_INCONNUE, "Aucune route ne correspond à ce chemin.");
    else
        query_errors_or_reply(ctx, &errs);
    return false;
}

static void grow(struct collection *c, size_t n)
{
    if (c->len + n + 1 <= c->cap)
        return;
    while (c->len + n + 1 > c->cap)
        c->cap *= 2;
    c->buf = xrealloc(c->buf, c->cap);
}

static void append(struct collection *c, const char *s, size_t n)
{
    grow(c, n);
    memcpy(c->buf + c->len, s, n);
    c->len += n;
    c->buf[c->len] = '\0';
}

void collection_begin(struct collection *c)
{
    c->cap = 8192;
    c->buf = xmalloc(c->cap);
    c->len = 0;
    c->count = 0;
    append(c, "{\"elements\":[", 13);
}

void collection_add(struct collection *c, const char *json, size_t len)
{
    if (c->count++ > 0)
        append(c, ",", 1);
    append(c, json, len);
}

void collection_end(struct collection *c, const char *next_cursor, size_t total)
{
    char tail[CURSOR_TEXT_MAX + 64];
    int n;
    if (next_cursor)
        n = snprintf(tail, sizeof tail, "],\"suivant\":\"%s\",\"total\":%zu}", next_cursor, total);
    else
        n = snprintf(tail, sizeof tail, "],\"suivant\":null,\"total\":%zu}", total);
    append(c, tail, (size_t)n);
}

void collection_release(struct collection *c)
{
    free(c->buf);
    c->buf = NULL;
    c->len = c->cap = 0;
}

static void append_encoded(struct collection *c, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '~') {
            append(c, s, 1);
        } else {
            char enc[3] = {'%', hex[ch >> 4], hex[ch & 15]};
            append(c, enc, 3);
        }
    }
}

void query_set_next_link(const struct _u_request *req, struct _u_response *res,
                         const struct query_field *spec, const char *next_cursor)
{
    struct collection link = {xmalloc(512), 0, 512, 0};
    link.buf[0] = '\0';
    append(&link, "<", 1);
    append(&link, req->url_path, strlen(req->url_path));
    char sep = '?';
    for (int page = 0; page < 2; page++) { /* the filters, then limite */
        for (const struct query_field *f = spec; f->name; f++) {
            const char *v = query_get(req, f->name);
            if (v == NULL || f->kind == QUERY_CURSOR || (f->kind == QUERY_LIMIT) != page)
                continue;
            append(&link, &sep, 1);
            sep = '&';
            append(&link, f->name, strlen(f->name));
            append(&link, "=", 1);
            append_encoded(&link, v);
        }
    }
    const char *cursor_name = "curseur";
    for (const struct query_field *f = spec; f->name; f++)
        if (f->kind == QUERY_CURSOR)
            cursor_name = f->name;
    append(&link, &sep, 1);
    append(&link, cursor_name, strlen(cursor_name));
    append(&link, "=", 1);
    append_encoded(&link, next_cursor);
    append(&link, ">; rel=\"next\"", 13);
    u_map_put(res->map_header, "Link", link.buf);
    free(link.buf);
}

/* 400 curseur-invalide naming the parameter. */
static void respond_bad_cursor(struct request_ctx *ctx)
{
    FIELD_ERRORS(errs);
    field_errors_add(&errs, "/curseur", "curseur", "curseur-invalide",
                     "Curseur inconnu, altéré ou émis pour d'autres filtres.");
    respond_problem_fields(ctx, PROBLEM_CURSEUR_INVALIDE,
                           "Le curseur de pagination n'est pas valide pour cette liste.", &errs);
}

bool query_cursor_or_reply(struct request_ctx *ctx, const char *scope, uint32_t fingerprint,
                           char key[CURSOR_KEY_MAX + 1], const char **after)
{
    const char *text = query_get(ctx->req, "curseur");
    *after = NULL;
    if (text == NULL)
        return true;
    if (!cursor_decode(text, scope, fingerprint, key)) {
        respond_bad_cursor(ctx);
        return false;
    }
    *after = key;
    return true;
}

void respond_page(struct request_ctx *ctx, const struct query_field *spec,
                  const char *elements_json, const char *scope, uint32_t fingerprint,
                  const char *last_key, bool more, size_t total)
{
    char next[CURSOR_TEXT_MAX];
    bool has_next = more && last_key[0] && cursor_encode(scope, fingerprint, last_key, next);
    size_t cap = strlen(elements_json) + CURSOR_TEXT_MAX + 64;
    char *page = xmalloc(cap);
    int n = snprintf(page, cap, "{\"elements\":%s,\"suivant\":%s%s%s,\"total\":%zu}", elements_json,
                     has_next ? "\"" : "", has_next ? next : "null", has_next ? "\"" : "", total);
    if (has_next)
        query_set_next_link(ctx->req, ctx->res, spec, next);
    respond_list_body(ctx, page, (size_t)n);
    free(page);
}

void respond_list_body(struct request_ctx *ctx, const char *body, size_t len)
{
    char etag[24];
    http_etag(body, len, etag);
    respond_conditional_json(ctx, body, len, etag);
}

const char *query_id_or_reply(struct request_ctx *ctx, bool (*valid)(const char *),
                              const char *expected)
{
    const char *id = query_path_param(ctx, "id");
    FIELD_ERRORS(errs);
    query_spec_apply(ctx->req, query_no_params, NULL, &errs);
    if (id == NULL || !valid(id))
        field_errors_add(&errs, "/id", "id", "format-invalide", "%s", expected);
    if (errs.count == 0)
        return id;
    respond_problem_fields(ctx, PROBLEM_PARAMETRE_INVALIDE, "Paramètre invalide.", &errs);
    return NULL;
}

bool query_is_uuid(const char *s)
{
    static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
    if (!s || strlen(s) != sizeof shape - 1)
        return false;
    for (size_t i = 0; shape[i]; i++) {
        char c = s[i];
        bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (shape[i] == '-' ? c != '-' : !hex)
            return false;
    }
    return true;
}

bool query_is_bool_text(const char *s)
{
    return s && (strcmp(s, "true") == 0 || strcmp(s, "false") == 0);
}

bool query_is_instant(const char *s)
{
    if (!s)
        return false;
    char day[11];
    size_t n = strlen(s);
    if (n < 20 || n > 35 || s[10] != 'T')
        return false;
    memcpy(day, s, 10);
    day[10] = '\0';
    struct date d;
    if (!date_parse(day, &d))
        return false;
    const char *t = s + 11;
    if (!(t[0] >= '0' && t[0] <= '2' && t[1] >= '0' && t[1] <= '9' && t[2] == ':' && t[3] >= '0' &&
          t[3] <= '5' && t[4] >= '0' && t[4] <= '9' && t[5] == ':' && t[6] >= '0' && t[6] <= '5' &&
          t[7] >= '0' && t[7] <= '9'))
        return false;
    if ((t[0] - '0') * 10 + (t[1] - '0') > 23)
        return false;
    t += 8;
    if (*t == '.') {
        t++;
        if (*t < '0' || *t > '9')
            return false;
        while (*t >= '0' && *t <= '9')
            t++;
    }
    if (strcmp(t, "Z") == 0)
        return true;
    return (t[0] == '+' || t[0] == '-') && t[1] >= '0' && t[1] <= '1' && t[2] >= '0' &&
           t[2] <= '9' && t[3] == ':' && t[4] >= '0' && t[4] <= '5' && t[5] >= '0' && t[5] <= '9' &&
           t[6] == '\0';
}

bool query_errors_or_reply(struct request_ctx *ctx, const struct field_errors *errs)
{
    if (errs->count == 0)
        return true;
    respond_problem_fields(ctx, PROBLEM_PARAMETRE_INVALIDE, "Paramètres invalides.", errs);
    return false;
}

bool query_or_reply(struct request_ctx *ctx, const struct query_field *spec, void *target)
{
    FIELD_ERRORS(errs);
    query_spec_apply(ctx->req, spec, target, &errs);
    return query_errors_or_reply(ctx, &errs);
}

bool query_keyed_cursor_or_reply(struct request_ctx *ctx, const char *scope, uint32_t fingerprint,
                                 bool (*valid)(const char *), char key[CURSOR_KEY_MAX + 1],
                                 const char **after)
{
    if (!query_cursor_or_reply(ctx, scope, fingerprint, key, after))
        return false;
    if (!*after || valid(*after))
        return true;
    respond_bad_cursor(ctx);
    return false;
}

bool query_version_key_valid(const char *key)
{
    size_t digits = strspn(key, "0123456789");
    return digits > 0 && digits <= 9 && key[digits] == '\0';
}

bool query_version_or_reply(struct request_ctx *ctx, const char *name, long *out)
{
    const char *text = query_path_param(ctx, name);
    char *end = NULL;
    long v = text ? strtol(text, &end, 10) : 0;
    if (text && end != text && !*end && v >= 1 && v <= 100000 && text[0] != '+' && text[0] != '0') {
        *out = v;
        return true;
    }
    char pointer[64];
    FIELD_ERRORS(errs);
    snprintf(pointer, sizeof pointer, "/%s", name);
    field_errors_add(&errs, pointer, name, "format-invalide",
                     "Numéro de version attendu : entier de 1 à 100000.");
    respond_problem_fields(ctx, PROBLEM_PARAMETRE_INVALIDE, "Paramètre invalide.", &errs);
    return false;
}

bool query_is_tri_modifie(const char *s)
{
    return s && (strcmp(s, "modifie_le") == 0 || strcmp(s, "-modifie_le") == 0);
}

struct list_sync query_sync_list(const struct query_sync *q)
{
    struct list_sync s = {LIST_TRI_KEY, q->modifie_depuis};
    if (q->tri)
        s.tri = q->tri[0] == '-' ? LIST_TRI_MODIFIE_DESC : LIST_TRI_MODIFIE;
    return s;
}

bool query_sync_cursor_or_reply(struct request_ctx *ctx, const char *scope, uint32_t fingerprint,
                                const struct query_sync *q, bool (*valid_id)(const char *),
                                char key[CURSOR_KEY_MAX + 1], const char **after, uint32_t *fp_out)
{
    *fp_out = fingerprint;
    if (q->tri || q->modifie_depuis) {
        char canon[128];
        snprintf(canon, sizeof canon, "%08x|tri=%s|depuis=%s", (unsigned)fingerprint,
                 q->tri ? q->tri : "", q->modifie_depuis ? q->modifie_depuis : "");
        *fp_out = cursor_fingerprint(canon);
    }
    if (!query_cursor_or_reply(ctx, scope, *fp_out, key, after))
        return false;
    if (!*after || (q->tri ? list_sync_key_valid(*after, valid_id) : valid_id(*after)))
        return true;
    respond_bad_cursor(ctx);
    return false;
}
