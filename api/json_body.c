/* Strict JSON body parsing (see json_body.h). */
#include "json_body.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

bool json_media_type_ok(const char *ct, bool merge_patch)
{
    static const char merge[] = "application/merge-patch+json";
    if (ct == NULL)
        return false;
    while (*ct == ' ')
        ct++;
    if (strncasecmp(ct, "application/json", 16) == 0)
        ct += 16;
    else if (merge_patch && strncasecmp(ct, merge, sizeof merge - 1) == 0)
        ct += sizeof merge - 1;
    else
        return false;
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

/* French name of a jansson parse failure. */
static const char *json_fault_fr(enum json_error_code code)
{
    switch (code) {
    case json_error_premature_end_of_input:
        return "fin du corps inattendue (valeur incomplète)";
    case json_error_end_of_input_expected:
        return "contenu en trop après la valeur JSON";
    case json_error_invalid_utf8:
        return "texte qui n'est pas de l'UTF-8 valide";
    case json_error_null_character:
    case json_error_null_byte_in_key:
        return "caractère nul interdit";
    case json_error_duplicate_key:
        return "membre en double dans un objet";
    case json_error_numeric_overflow:
        return "nombre hors des limites représentables";
    case json_error_stack_overflow:
        return "imbrication trop profonde";
    default:
        return "syntaxe incorrecte";
    }
}

enum problem_code json_body_parse(const char *content_type, bool merge_patch, const void *data,
                                  size_t len, size_t max_bytes, json_t **out, char *detail,
                                  size_t detail_size)
{
    *out = NULL;
    if (!json_media_type_ok(content_type, merge_patch)) {
        snprintf(detail, detail_size, "Le corps doit être envoyé avec Content-Type: %s.",
                 merge_patch ? "application/json ou application/merge-patch+json"
                             : "application/json");
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
        /* jansson's own text is English and may quote the client's bytes: the
         * detail names the fault in French from its error code instead. */
        snprintf(detail, detail_size, "JSON invalide (ligne %d, colonne %d) : %s.", err.line,
                 err.column, json_fault_fr(json_error_code(&err)));
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
