/* The documentation page compiled into the binary (generated at build time:
 * Redoc rendered from the served spec by the pinned Redocly CLI, its renderer
 * inlined; deploy/build/docs_embed.mjs). */
#ifndef PVD_API_DOCS_PAGE_H
#define PVD_API_DOCS_PAGE_H

#include <stddef.h>

struct docs_page {
    const char *html; /* UTF-8, html_len bytes (NUL-terminated) */
    size_t html_len;
    const unsigned char *html_gzip; /* html compressed (gzip, level 9), html_gzip_len bytes */
    size_t html_gzip_len;
    const char *etag; /* strong ETag of html: "…" (16 hex digits of its SHA-256) */
    const char *csp;  /* Content-Security-Policy the page needs: inline scripts by hash,
                       * nothing from another origin */
};

/* The page. Static storage. */
const struct docs_page *docs_page_embedded(void);

#endif
