/* GET /api/v1/journal: the record of every mutation, filtered to the
 * caller's perimeter (issue #3 §5). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../db/journal_repository.h"
#include "../../domain/date.h"
#include "../auth.h"
#include "../cursor.h"
#include "../query.h"
#include "../xalloc.h"
#include "handlers.h"

#define INSTANT_MESSAGE "Instant RFC 3339 attendu (2026-11-26T10:00:00Z)."

/* The query of GET /journal. */
struct journal_query {
    size_t limit;
    struct journal_filter f;
};
#define JQ(member) offsetof(struct journal_query, member)
static const struct query_field journal_query_fields[] = {
    QUERY_PAGE(struct journal_query, limit),
    {.name = "ressource_type", .kind = QUERY_TEXT, .offset = JQ(f.ressource_type)},
    {.name = "ressource_id", .kind = QUERY_TEXT, .offset = JQ(f.ressource_id)},
    {.name = "acteur", .kind = QUERY_TEXT, .offset = JQ(f.acteur)},
    {.name = "du",
     .kind = QUERY_CODE,
     .offset = JQ(f.du),
     .valid = query_is_instant,
     .message = INSTANT_MESSAGE},
    {.name = "au",
     .kind = QUERY_CODE,
     .offset = JQ(f.au),
     .valid = query_is_instant,
     .message = INSTANT_MESSAGE},
    QUERY_FIELDS_END,
};

/* A journal cursor's key is a journal id: 1 to 18 digits always fit its
 * bigint (a cursor is not signed: anything else is refused here). */
static bool journal_key_valid(const char *key)
{
    size_t digits = strspn(key, "0123456789");
    return digits > 0 && digits <= 18 && key[digits] == '\0';
}

void handle_list_journal(struct request_ctx *ctx)
{
    struct journal_query q;
    if (!query_or_reply(ctx, journal_query_fields, &q))
        return;
    size_t limit = q.limit;
    const struct journal_filter f = q.f;
    struct journal_visibility v;
    journal_visibility_of(&ctx->principal->authz, &v);
    char canon[700], key[CURSOR_KEY_MAX + 1];
    snprintf(canon, sizeof canon, "t=%s|i=%s|a=%s|du=%s|au=%s",
             f.ressource_type ? f.ressource_type : "", f.ressource_id ? f.ressource_id : "",
             f.acteur ? f.acteur : "", f.du ? f.du : "", f.au ? f.au : "");
    uint32_t fp = cursor_fingerprint(canon);
    const char *before = NULL;
    if (!query_keyed_cursor_or_reply(ctx, "journal", fp, journal_key_valid, key, &before))
        return;
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    char *json = NULL, last[24];
    bool more = false;
    size_t total = 0;
    enum db_result r = db_pool_acquire(app_read_pool(ctx->app), &conn, &err);
    if (r == DB_OK) {
        r = journal_list(conn, &v, &f, before, limit, &json, last, &more, &total, &err);
        db_pool_release(app_read_pool(ctx->app), conn);
    }
    if (!respond_db_outcome(ctx, r, &err, NULL))
        return;
    respond_page(ctx, journal_query_fields, json, "journal", fp, last, more, total);
    free(json);
}
