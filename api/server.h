/* The HTTP server: ulfius over libmicrohttpd in epoll mode with a thread pool,
 * explicit limits, a body-size gate that answers 413 before reading an
 * oversized body, in-flight accounting, and graceful drain. */
#ifndef PVD_API_SERVER_H
#define PVD_API_SERVER_H

#include <stdbool.h>

#include "app.h"

struct server;

/* Starts listening on config's address and port. NULL (logged) when the
 * address is busy or the routes cannot be registered. */
struct server *server_start(struct app *app);

/* Stops accepting connections, waits until in-flight requests finish or
 * grace_seconds pass, then stops and frees. Returns the number of requests
 * still in flight when the grace period expired (0 on a clean drain). */
unsigned long server_drain_and_stop(struct server *server, unsigned grace_seconds);

#endif
