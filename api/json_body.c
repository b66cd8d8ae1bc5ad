/* Strict JSON body parsing (see json_body.h). */
#include "json_body.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

bool json_media_type_ok(const char *ct)
{
    if (ct == NULL)
        return false;
    while (*ct == ' ')
        ct++;
    if (strncasecmp(ct, "application/json", 16) != 0)
        return false;
    ct += 16;
    while (*ct == ' ')
        ct++;
    if (*ct == '\0')
        return true;
    if (*ct++ != ';')
        return false;
    while (*ct == ' ')
        ct++;
    if (strncasecmp(ct, "charset=", 8) != 0)
        return false;
    ct += 8;
    if (*ct == '"') {
        if (strncasecmp(ct, "\"utf-8\"", 7) != 0)
            return false;
        ct += 7;
    } else {
        if (strncasecmp(ct, "utf-8", 5) != 0)
            return false;
        ct += 5;
    }
    while (*ct == ' ')
        ct++;
    return *ct == '\0';
}

enum problem_code json_body_parse(const char *content_type, const void *data, size_t len,
                                  size_t max_bytes, json_t **out, char *detail, size_t detail_size)
{
    *out = NULL;
    if (!json_media_type_ok(content_type)) {
        snprintf(detail, detail_size,
                 "Le corps doit être envoyé avec Content-Type: application/json.");
        return PROBLEM_TYPE_MEDIA_NON_SUPPORTE;
    }
    if (len > max_bytes) {
        snprintf(detail, detail_size, "Le corps de la requête dépasse %zu octets.", max_bytes);
        return PROBLEM_CORPS_TROP_VOLUMINEUX;
    }
    if (len == 0 || data == NULL) {
        snprintf(detail, detail_size,
                 "Le corps de la requête est vide : un objet JSON est attendu.");
        return PROBLEM_JSON_INVALIDE;
    }
    json_error_t err;
    json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
    if (root == NULL) {
        /* jansson may quote a piece of the client's bytes, possibly cut inside a
         * character: keep its ASCII text only, so the detail stays valid UTF-8. */
        for (char *p = err.text; *p; p++)
            if ((unsigned char)*p >= 0x80)
                *p = '?';
        snprintf(detail, detail_size, "JSON invalide (ligne %d, colonne %d) : %.120s", err.line,
                 err.column, err.text);
        return PROBLEM_JSON_INVALIDE;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        snprintf(detail, detail_size, "Le corps doit être un objet JSON ({…}).");
        return PROBLEM_JSON_INVALIDE;
    }
    *out = root;
    return PROBLEM__COUNT;
}
