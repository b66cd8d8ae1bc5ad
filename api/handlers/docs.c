/* The documentation page (issue 11 §4):
 *   GET /api/v1/docs   Redoc's page of the served spec, built at build time and compiled in
 *                      (api/docs_page.h): public, ETag / If-None-Match, the CSP it needs
 *   GET /docs          308 to /api/v1/docs (the address api.md names) */
#include "handlers.h"

#include "../docs_page.h"

void handle_get_docs(struct request_ctx *ctx)
{
    const struct docs_page *page = docs_page_embedded();
    u_map_put(ctx->res->map_header, "Content-Security-Policy", page->csp);
    u_map_put(ctx->res->map_header, "X-Content-Type-Options", "nosniff");
    u_map_put(ctx->res->map_header, "Referrer-Policy", "no-referrer");
    /* Revalidated on every use (the ETag changes with the binary's spec): a 304 is cheap. */
    u_map_put(ctx->res->map_header, "Cache-Control", "no-cache");
    /* 3 MB of HTML, 0.8 MB gzip: compressed at build time, sent by http_encode_response. */
    ctx->gzip_variant = page->html_gzip;
    ctx->gzip_variant_len = page->html_gzip_len;
    respond_conditional(ctx, "text/html; charset=utf-8", page->html, page->html_len, page->etag);
}

void handle_redirect_docs(struct request_ctx *ctx)
{
    u_map_put(ctx->res->map_header, "Location", "/api/v1/docs");
    ulfius_set_empty_body_response(ctx->res, 308);
}
