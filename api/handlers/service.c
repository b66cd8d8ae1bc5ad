/* Service endpoints: liveness, readiness, metrics and the OpenAPI contract. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../db/migrate.h"
#include "../cached_reads.h"
#include "../migrations.h"
#include "../xalloc.h"
#include "handlers.h"

void handle_get_healthz(struct request_ctx *ctx)
{
    (void)ctx;
    (void)ctx->req;
    static const char body[] = "{\"statut\":\"ok\"}";
    respond_json_raw(ctx->res, 200, body, sizeof body - 1);
}

void handle_get_readyz(struct request_ctx *ctx)
{
    struct app *app = ctx->app;
    if (atomic_load(&app->draining)) {
        respond_unavailable(ctx, "Arrêt en cours : le service ne prend plus de trafic.");
        return;
    }
    struct db_conn *conn = NULL;
    struct db_error err = {{0}, {0}};
    if (db_pool_acquire(app->pool, &conn, &err) != DB_OK) {
        respond_unavailable(ctx, "Base de données injoignable.");
        return;
    }
    size_t count = 0;
    const struct migration *list = migrations_embedded(&count);
    enum db_result r = db_migrations_current(conn->pg, list, count, &err);
    /* Missing or edited migrations carry no SQLSTATE; any database error is an outage. */
    if (r != DB_OK && (err.sqlstate[0] != '\0' || PQstatus(conn->pg) == CONNECTION_BAD))
        r = DB_UNAVAILABLE;
    if (r == DB_UNAVAILABLE)
        db_conn_mark_broken(conn);
    db_pool_release(app->pool, conn);
    if (r != DB_OK) {
        respond_unavailable(ctx, r == DB_UNAVAILABLE ? "Base de données injoignable."
                                                     : "Migrations de la base non à jour.");
        return;
    }
    struct referentiel_snapshot *snap = referentiel_store_acquire(app->referentiel);
    if (snap == NULL) {
        respond_unavailable(ctx, "Référentiel des communes non chargé.");
        return;
    }
    char body[200];
    int n = snprintf(body, sizeof body,
                     "{\"statut\":\"pret\",\"base_de_donnees\":\"ok\",\"migrations\":\"a_jour\","
                     "\"referentiel\":{\"millesime\":%d,\"communes\":%zu}}",
                     snap->ref.millesime, snap->ref.actuelle_count);
    referentiel_snapshot_release(app->referentiel, snap);
    respond_json_raw(ctx->res, 200, body, (size_t)n);
}

void handle_get_metrics(struct request_ctx *ctx)
{
    (void)ctx->req;
    size_t len = 0;
    char *text =
        metrics_render(ctx->app->metrics, ctx->app->pool, atomic_load(&ctx->app->inflight), &len);
    char *parts[2] = {token_cache_render_metrics(ctx->app->tokens),
                      cached_reads_render_metrics(ctx->app)};
    for (size_t i = 0; i < 2; i++) {
        size_t n = strlen(parts[i]);
        text = xrealloc(text, len + n + 1);
        memcpy(text + len, parts[i], n + 1);
        len += n;
        free(parts[i]);
    }
    respond_text(ctx->res, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
    free(text);
}

void handle_get_openapi(struct request_ctx *ctx)
{
    (void)ctx->req;
    ctx->gzip_variant = ctx->app->openapi_json_gzip; /* compressed once at start */
    ctx->gzip_variant_len = ctx->app->openapi_json_gzip_len;
    respond_json_raw(ctx->res, 200, ctx->app->openapi_json, ctx->app->openapi_json_len);
}
