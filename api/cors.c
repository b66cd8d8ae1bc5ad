/* CORS policy (see cors.h). */
#define _POSIX_C_SOURCE 200809L
#include "cors.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ulfius.h>

#include "xalloc.h"

/* ---- parsing ------------------------------------------------------------ */

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Copies the entry s[0..n) for a message: at most 80 bytes, cut on a UTF-8
 * boundary, control characters shown as '?'. */
static void quote_entry(const char *s, size_t n, char *out, size_t out_size)
{
    size_t max = n > 80 ? 80 : n;
    while (max < n && max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--; /* do not cut a multi-byte character */
    size_t o = 0;
    for (size_t i = 0; i < max && o + 1 < out_size; i++) {
        unsigned char c = (unsigned char)s[i];
        out[o++] = c < 0x20 || c == 0x7F ? '?' : (char)c;
    }
    if (max < n && o + 4 < out_size) {
        memcpy(out + o, "\xE2\x80\xA6", 3); /* … */
        o += 3;
    }
    out[o] = '\0';
}

static void set_error(char *error, size_t error_size, const char *entry, size_t n,
                      const char *reason)
{
    if (error_size == 0)
        return;
    char quoted[100];
    quote_entry(entry, n, quoted, sizeof quoted);
    snprintf(error, error_size,
             "origine « %s » invalide : %s (forme attendue : schéma://hôte[:port], "
             "par exemple https://pvd.example.gouv.fr)",
             quoted, reason);
}

/* Host of a DNS name or IPv4 address: [a-z0-9._-], labels not empty. */
static const char *check_name(const char *h, size_t n)
{
    if (n == 0)
        return "hôte vide";
    if (n > 253)
        return "nom d'hôte trop long (253 caractères au plus)";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];
        if (c >= 'A' && c <= 'Z')
            return "hôte à écrire en minuscules, comme le navigateur l'envoie";
        if (c >= 0x80)
            return "nom de domaine international à écrire sous sa forme xn--";
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_'))
            return "caractère non permis dans l'hôte";
        if (c == '.' && (i == 0 || i + 1 == n || h[i + 1] == '.'))
            return "hôte invalide (point en tête, en fin ou doublé)";
    }
    return NULL;
}

/* Host of an IPv6 literal, brackets included: "[" [0-9a-f:.]+ "]". */
static const char *check_ipv6(const char *h, size_t n)
{
    if (n < 4 || h[n - 1] != ']')
        return "adresse IPv6 invalide";
    bool colon = false;
    for (size_t i = 1; i + 1 < n; i++) {
        char c = h[i];
        if (c >= 'A' && c <= 'F')
            return "adresse IPv6 à écrire en minuscules, comme le navigateur l'envoie";
        if (c == ':')
            colon = true;
        else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == '.'))
            return "adresse IPv6 invalide";
    }
    return colon ? NULL : "adresse IPv6 invalide";
}

/* NULL when s[0..n) is a serialised origin as browsers send it, else why not. */
static const char *check_origin(const char *s, size_t n)
{
    if (n >= CORS_ORIGIN_MAX)
        return "trop longue";
    if (memchr(s, '*', n))
        return "joker « * » non permis : lister chaque origine exactement";
    if (n == 4 && memcmp(s, "null", 4) == 0)
        return "l'origine opaque « null » n'est pas permise";
    size_t scheme_len;
    unsigned default_port;
    if (n >= 8 && memcmp(s, "https://", 8) == 0) {
        scheme_len = 8;
        default_port = 443;
    } else if (n >= 7 && memcmp(s, "http://", 7) == 0) {
        scheme_len = 7;
        default_port = 80;
    } else {
        return "schéma http:// ou https:// en minuscules attendu";
    }
    const char *a = s + scheme_len; /* authority: host[:port] */
    size_t an = n - scheme_len;
    for (size_t i = 0; i < an; i++) {
        if (a[i] == '/' || a[i] == '?' || a[i] == '#')
            return "ni chemin, ni barre finale, ni paramètres après l'hôte et le port";
        if (a[i] == '@')
            return "identifiants (utilisateur@) non permis";
    }
    size_t host_len;
    const char *why;
    if (an > 0 && a[0] == '[') {
        const char *close = memchr(a, ']', an);
        host_len = close ? (size_t)(close - a) + 1 : an;
        why = check_ipv6(a, host_len);
    } else {
        const char *colon = memchr(a, ':', an);
        host_len = colon ? (size_t)(colon - a) : an;
        why = check_name(a, host_len);
    }
    if (why)
        return why;
    if (host_len == an)
        return NULL;
    if (a[host_len] != ':')
        return "hôte invalide";
    const char *p = a + host_len + 1;
    size_t pn = an - host_len - 1;
    unsigned long port = 0;
    if (pn == 0 || pn > 5 || p[0] == '0')
        return "port invalide (entier de 1 à 65535, sans zéro en tête)";
    for (size_t i = 0; i < pn; i++) {
        if (p[i] < '0' || p[i] > '9')
            return "port invalide (entier de 1 à 65535, sans zéro en tête)";
        port = port * 10 + (unsigned long)(p[i] - '0');
    }
    if (port > 65535)
        return "port invalide (entier de 1 à 65535, sans zéro en tête)";
    if (port == default_port)
        return "port par défaut du schéma à omettre : le navigateur ne l'envoie pas dans Origin";
    return NULL;
}

bool cors_config_parse(struct cors_config *config, const char *list, char *error, size_t error_size)
{
    memset(config, 0, sizeof *config);
    if (error_size > 0)
        error[0] = '\0';
    if (list == NULL)
        return true;
    const char *p = list;
    while (is_blank(*p))
        p++;
    if (*p == '\0')
        return true;
    for (;;) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        const char *b = p;
        const char *e = end;
        while (b < e && is_blank(*b))
            b++;
        while (e > b && is_blank(e[-1]))
            e--;
        size_t n = (size_t)(e - b);
        const char *why = n == 0 ? "entrée vide (virgule en trop ?)" : check_origin(b, n);
        if (why == NULL) {
            bool duplicate = false;
            for (size_t i = 0; i < config->count; i++)
                if (strlen(config->origins[i]) == n && memcmp(config->origins[i], b, n) == 0)
                    duplicate = true;
            if (!duplicate) {
                if (config->count == CORS_MAX_ORIGINS) {
                    why = "trop d'origines (32 au plus)";
                } else {
                    memcpy(config->origins[config->count], b, n);
                    config->origins[config->count][n] = '\0';
                    config->count++;
                }
            }
        }
        if (why) {
            set_error(error, error_size, b, n, why);
            memset(config, 0, sizeof *config);
            return false;
        }
        if (comma == NULL)
            return true;
        p = comma + 1;
    }
}

const char *cors_origin_find(const struct cors_config *config, const char *origin)
{
    if (origin == NULL)
        return NULL;
    for (size_t i = 0; i < config->count; i++)
        if (strcmp(config->origins[i], origin) == 0)
            return config->origins[i];
    return NULL;
}

/* ---- decisions ---------------------------------------------------------- */

static void add(struct cors_headers *out, const char *name, const char *value)
{
    if (out->count < CORS_HEADERS_MAX)
        out->items[out->count++] = (struct cors_header){name, value};
}

void cors_apply(const struct cors_config *config, const char *origin, struct cors_headers *out)
{
    out->count = 0;
    if (config->count == 0)
        return;
    const char *listed = cors_origin_find(config, origin);
    if (listed) {
        add(out, "Access-Control-Allow-Origin", listed);
        add(out, "Access-Control-Expose-Headers", CORS_EXPOSE_HEADERS);
    }
    add(out, "Vary", "Origin");
}

enum cors_action cors_decide(const struct cors_config *config, const char *method,
                             const char *origin, const char *request_method,
                             const char *allow_methods, struct cors_headers *out)
{
    if (method == NULL || strcmp(method, "OPTIONS") != 0 || origin == NULL ||
        request_method == NULL) {
        cors_apply(config, origin, out);
        return CORS_CONTINUE;
    }
    out->count = 0;
    const char *listed = cors_origin_find(config, origin);
    if (listed == NULL) {
        if (config->count > 0)
            add(out, "Vary", "Origin");
        return CORS_PREFLIGHT_REFUSED;
    }
    add(out, "Access-Control-Allow-Origin", listed);
    if (allow_methods)
        add(out, "Access-Control-Allow-Methods", allow_methods);
    add(out, "Access-Control-Allow-Headers", CORS_ALLOW_HEADERS);
    add(out, "Access-Control-Max-Age", CORS_MAX_AGE);
    add(out, "Vary", "Origin");
    return CORS_PREFLIGHT_OK;
}

/* ---- ulfius ------------------------------------------------------------- */

/* True when the comma-separated list holds token (case-insensitive). */
static bool list_has(const char *list, const char *token)
{
    size_t n = strlen(token);
    for (const char *p = list; p && *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        size_t len = strcspn(p, ", \t");
        if (len == n && strncasecmp(p, token, n) == 0)
            return true;
        p += len;
    }
    return false;
}

enum cors_action cors_handle(const struct cors_config *config, const struct _u_request *req,
                             const char *allow_methods, struct _u_response *res)
{
    struct cors_headers h;
    enum cors_action action = cors_decide(
        config, req->http_verb, u_map_get_case(req->map_header, "Origin"),
        u_map_get_case(req->map_header, "Access-Control-Request-Method"), allow_methods, &h);
    for (size_t i = 0; i < h.count; i++) {
        const char *name = h.items[i].name;
        const char *value = h.items[i].value;
        const char *present =
            strcmp(name, "Vary") == 0 ? u_map_get_case(res->map_header, name) : NULL;
        if (present && *present && !list_has(present, value)) {
            size_t size = strlen(present) + strlen(value) + 3;
            char *merged = xmalloc(size);
            snprintf(merged, size, "%s, %s", present, value);
            u_map_put(res->map_header, name, merged);
            free(merged);
        } else if (present == NULL || *present == '\0') {
            u_map_put(res->map_header, name, value);
        }
    }
    if (action == CORS_PREFLIGHT_OK)
        ulfius_set_empty_body_response(res, 204);
    return action;
}
