/* Event type lists (see evenement_types.h). */
#include "evenement_types.h"

#include <string.h>

#include "../db/pgutil.h"

bool evenement_type_valid(const char *s, size_t n)
{
    size_t dots = 0;
    if (n == 0 || n > 64 || s[0] == '.' || s[n - 1] == '.')
        return false;
    for (size_t k = 0; k < n; k++) {
        if (s[k] == '.')
            dots++;
        else if (!((s[k] >= 'a' && s[k] <= 'z') || s[k] == '_'))
            return false;
    }
    return dots <= 1;
}

bool evenement_types_literal(const char *types, char *out, size_t size)
{
    size_t len = 0, count = 0;
    if (size < 3)
        return false;
    out[len++] = '{';
    for (const char *p = types;; count++) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (count >= EVENEMENT_TYPES_MAX || !evenement_type_valid(p, n) || len + n + 4 >= size)
            return false;
        if (count)
            out[len++] = ',';
        out[len++] = '"';
        memcpy(out + len, p, n);
        len += n;
        out[len++] = '"';
        if (!comma)
            break;
        p = comma + 1;
    }
    out[len++] = '}';
    out[len] = '\0';
    return true;
}

enum db_result evenement_types_unknown(struct db_conn *conn, const char *types, char *unknown,
                                       size_t size, struct db_error *err)
{
    return pg_one_text(
        conn,
        "SELECT coalesce(string_agg(t, ',' ORDER BY o), '') FROM unnest($1::text[]) WITH "
        "ORDINALITY AS u(t, o) WHERE t NOT IN (SELECT ressource_type FROM evenement_ressources "
        "UNION ALL SELECT ressource_type || '.' || n || CASE WHEN n = 'transition' THEN '' ELSE "
        "accord END FROM evenement_ressources, unnest(ARRAY['cree', 'modifie', 'transition', "
        "'signe', 'supprime']) AS n)",
        types, unknown, size, err);
}
