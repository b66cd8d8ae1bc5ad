/* The HTTP server: ulfius over libmicrohttpd in epoll mode with a thread pool,
 * explicit limits, a body-size gate that answers 413 before reading an
 * oversized body, a connection cap per client address and deadlines for a
 * request's headers and body (slow clients), in-flight accounting, and
 * graceful drain. One server per process. */
#ifndef PVD_API_SERVER_H
#define PVD_API_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "app.h"

struct server;

/* The body limit of a request, in bytes: where each route's limit lives.
 * POST /api/v1/territoires/import: config->import_max_bytes
 * (PVD_IMPORT_MAX_BYTES); any other request: config->http_max_body_bytes
 * (HTTP_MAX_BODY_BYTES). url is the path without its query string, as
 * libmicrohttpd gives it to the access handler. Pure; never fails. */
size_t body_limit_for(const char *method, const char *url, const struct app_config *config);

/* Starts listening on config's address and port, and the thread that cuts
 * connections past their request deadlines. NULL (logged) when the address is
 * busy, the routes cannot be registered or the thread cannot start. */
struct server *server_start(struct app *app);

/* Stops accepting connections, waits until in-flight requests finish or
 * grace_seconds pass, then stops and frees. Returns the number of requests
 * still in flight when the grace period expired (0 on a clean drain). */
unsigned long server_drain_and_stop(struct server *server, unsigned grace_seconds);

#endif
