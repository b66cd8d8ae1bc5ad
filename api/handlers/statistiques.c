/* Follow-up figures of the conventions for the préfectures and the ANCT
 * (issue #4 §2): computed over the caller's perimeter with the same filters
 * and the same lateness definition as GET /api/v1/conventions, so that every
 * count equals the total of the matching list. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../db/convention_repository.h"
#include "../../domain/identifiers.h"
#include "../auth.h"
#include "../query.h"
#include "handlers.h"
#include "programme.h"

static bool is_type(const char *s)
{
    enum convention_type t;
    return convention_type_parse(s, &t);
}

/* The query of GET /statistiques/conventions. */
struct statistiques_query {
    const char *type, *departement, *region;
};
static const struct query_field statistiques_query_fields[] = {
    QUERY_CODE_FIELD("type", offsetof(struct statistiques_query, type), is_type,
                     "adhesion ou cadre"),
    QUERY_CODE_FIELD("departement", offsetof(struct statistiques_query, departement),
                     departement_code_is_valid, "un code de département"),
    QUERY_CODE_FIELD("region", offsetof(struct statistiques_query, region), region_code_is_valid,
                     "un code de région"),
    QUERY_FIELDS_END,
};

void handle_get_statistiques_conventions(struct request_ctx *ctx)
{
    struct statistiques_query q;
    if (!query_or_reply(ctx, statistiques_query_fields, &q))
        return;
    const char *type = q.type, *dep = q.departement, *reg = q.region;
    /* The figures are computed over the caller's perimeter: no target. */
    if (authz_decide(&ctx->principal->authz, ACTION_STATISTIQUES_READ, NULL) != AUTHZ_ALLOW) {
        respond_problem(ctx, PROBLEM_INTERDIT,
                        "Les statistiques de suivi sont réservées aux préfectures et à l'ANCT.");
        return;
    }
    struct date today;
    char today_text[11];
    programme_today(&today);
    date_format(today, today_text);
    struct convention_filter f = {role_name(role_reads_as(ctx->principal->authz.role)),
                                  &ctx->principal->authz.perimeter,
                                  type,
                                  NULL,
                                  NULL,
                                  dep,
                                  reg,
                                  NULL,
                                  today_text,
                                  {LIST_TRI_KEY, NULL}};
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    char *json = NULL;
    enum db_result r = db_pool_acquire(ctx->app->pool, &conn, &err);
    if (r == DB_OK) {
        r = convention_statistiques(conn, &f, &json, &err);
        db_pool_release(ctx->app->pool, conn);
    }
    if (r != DB_OK) {
        respond_db_error(ctx, r, &err);
        return;
    }
    char etag[24];
    http_etag(json, strlen(json), etag);
    respond_conditional_json(ctx, json, strlen(json), etag);
    free(json);
}
