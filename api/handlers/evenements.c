/* GET /api/v1/evenements and GET /api/v1/public/evenements: the event feed
 * (issue #11 §1, migration 0021, db/journal_repository.h evenements_read).
 * Oldest first; `apres` is the opaque position after the last event read
 * ("<xid>.<id>" in a cursor), returned in every page as `suivant` even when
 * the feed is caught up, so that a client stores it and asks again later.
 * `depuis=maintenant` gives the position of now without events (a client
 * takes it before a full read, then follows the feed from it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../db/journal_repository.h"
#include "../../db/pgutil.h"
#include "../auth.h"
#include "../cursor.h"
#include "../evenement_types.h"
#include "../query.h"
#include "../xalloc.h"
#include "handlers.h"

struct evenements_query {
    size_t limit;
    const char *types;
    const char *depuis;
};

static bool is_maintenant(const char *v)
{
    return strcmp(v, "maintenant") == 0;
}

#define EQ(member) offsetof(struct evenements_query, member)
static const struct query_field evenements_query_fields[] = {
    {.name = "types", .kind = QUERY_TEXT, .offset = EQ(types)},
    {.name = "depuis",
     .kind = QUERY_CODE,
     .offset = EQ(depuis),
     .valid = is_maintenant,
     .message = "Seule valeur admise : « maintenant » (la position actuelle du flux)."},
    {.name = "limite", .kind = QUERY_LIMIT, .offset = EQ(limit)},
    {.name = "apres", .kind = QUERY_CURSOR}, /* read with query_get */
    QUERY_FIELDS_END,
};

/* "<xid>.<id>": 1 to 19 digits each (xid8 and bigint both hold them). */
static bool evenement_key_valid(const char *key)
{
    size_t x = strspn(key, "0123456789");
    if (x == 0 || x > 19 || key[x] != '.')
        return false;
    size_t i = strspn(key + x + 1, "0123456789");
    return i > 0 && i <= 19 && key[x + 1 + i] == '\0';
}

/* 400 naming the query parameter `name`: problem `problem`, error `code`. */
static void reply_bad_parameter(struct request_ctx *ctx, enum problem_code problem,
                                const char *name, const char *code, const char *message)
{
    FIELD_ERRORS(errs);
    char pointer[64];
    param_pointer(name, pointer, sizeof pointer);
    field_errors_add(&errs, pointer, name, code, "%s", message);
    respond_problem_fields(ctx, problem, "Paramètre de requête invalide.", &errs);
}

/* The feed, as the caller may see it (v) or public (v NULL). */
static void evenements_feed(struct request_ctx *ctx, const struct journal_visibility *v,
                            const char *scope)
{
    struct evenements_query q;
    if (!query_or_reply(ctx, evenements_query_fields, &q))
        return;
    /* A position is valid for either feed's filters: a client may change
     * `types` without losing its place. */
    uint32_t fp = cursor_fingerprint(scope);
    char key[CURSOR_KEY_MAX + 1], types[EVENEMENT_TYPES_LITERAL_SIZE];
    const char *after = NULL, *apres = query_get(ctx->req, "apres");
    if (apres && q.depuis) {
        reply_bad_parameter(ctx, PROBLEM_PARAMETRE_INVALIDE, "depuis", "parametres-incompatibles",
                            "« depuis » et « apres » s'excluent.");
        return;
    }
    if (apres) {
        if (!cursor_decode(apres, scope, fp, key) || !evenement_key_valid(key)) {
            reply_bad_parameter(ctx, PROBLEM_CURSEUR_INVALIDE, "apres", "curseur-invalide",
                                "Position inconnue ou altérée : reprendre le « suivant » d'une "
                                "page de ce flux.");
            return;
        }
        after = key;
    }
    if (q.types && !evenement_types_literal(q.types, types, sizeof types)) {
        reply_bad_parameter(ctx, PROBLEM_PARAMETRE_INVALIDE, "types", "format-invalide",
                            "Liste de types attendue, séparés par des virgules (au plus 32), "
                            "par exemple « fiche_action.modifiee,territoire ».");
        return;
    }
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    char *json = NULL, last[EVENEMENT_KEY_SIZE] = "", unknown[EVENEMENT_TYPES_LITERAL_SIZE] = "";
    bool more = false;
    enum db_result r = db_pool_acquire(app_read_pool(ctx->app), &conn, &err);
    if (r == DB_OK && q.types)
        r = evenement_types_unknown(conn, types, unknown, sizeof unknown, &err);
    if (r == DB_OK && unknown[0] == '\0') {
        if (q.depuis)
            r = evenements_head(conn, last, &err);
        else
            r = evenements_read(conn, v, q.types ? types : NULL, after, q.limit, &json, last, &more,
                                &err);
    }
    if (conn)
        db_pool_release(app_read_pool(ctx->app), conn);
    if (!respond_db_outcome(ctx, r, &err, NULL)) {
        free(json);
        return;
    }
    if (unknown[0]) {
        char message[sizeof unknown + 64];
        snprintf(message, sizeof message, "Types d'événement inconnus : %s.", unknown);
        reply_bad_parameter(ctx, PROBLEM_PARAMETRE_INVALIDE, "types", "valeur-inconnue", message);
        return;
    }
    /* Caught up: the position stays where the client was. */
    const char *position = last[0] ? last : after;
    char next[CURSOR_TEXT_MAX] = "";
    if (position && !cursor_encode(scope, fp, position, next))
        next[0] = '\0';
    size_t cap = (json ? strlen(json) : 2) + sizeof next + 64;
    char *body = xmalloc(cap);
    int n = snprintf(body, cap, "{\"elements\":%s,\"suivant\":%s%s%s,\"a_jour\":%s}",
                     json ? json : "[]", next[0] ? "\"" : "", next[0] ? next : "null",
                     next[0] ? "\"" : "", more ? "false" : "true");
    free(json);
    if (more)
        query_set_next_link(ctx->req, ctx->res, evenements_query_fields, next);
    respond_json_raw(ctx->res, 200, body, (size_t)n);
    free(body);
}

void handle_list_evenements(struct request_ctx *ctx)
{
    struct journal_visibility v;
    journal_visibility_of(&ctx->principal->authz, &v);
    evenements_feed(ctx, &v, "evenements");
}

void handle_list_evenements_publics(struct request_ctx *ctx)
{
    evenements_feed(ctx, NULL, "evenements-publics");
}
