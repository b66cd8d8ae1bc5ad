/* The webhook dispatcher (issue 11 §2): one thread of `pvd-api serve`, with
 * its own database connection, that turns the event feed into deliveries
 * (db/abonnement_repository.h abonnement_dispatch) and sends the due ones
 * (Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature),
 * retrying on the configured schedule. Several processes on one database
 * share the work through row locks (SKIP LOCKED) and leases. */
#ifndef PVD_API_WEBHOOKS_H
#define PVD_API_WEBHOOKS_H

#include "app.h"

struct webhook_dispatcher;

/* Starts the thread when app->webhooks_enabled (NULL otherwise, or when the
 * thread or its pool cannot be made: logged). app is borrowed until
 * webhook_dispatcher_stop. */
struct webhook_dispatcher *webhook_dispatcher_start(struct app *app);

/* Stops the thread: an attempt in progress is abandoned (the delivery is
 * due again at once), the thread joined, everything freed. NULL: no-op. */
void webhook_dispatcher_stop(struct webhook_dispatcher *d);

/* Whether url may be subscribed (issue 11 §2 URL rules): https, or http on
 * 127.0.0.1 / localhost when allow_http_localhost; a host; no user
 * information nor fragment; at most 2048 bytes, printable ASCII. On false,
 * why (French) into reason (size bytes). */
bool webhook_url_acceptable(const char *url, bool allow_http_localhost, char *reason, size_t size);

#endif
