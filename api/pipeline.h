/* The pipeline every request goes through, in this order: CORS (preflights
 * answered), authentication (non-public routes: a valid bearer token, else
 * 401), rate limit per principal (429), habilitation in force (habilitated
 * routes, else 403), path and query parameters checked (400: UTF-8, no NUL
 * nor control, no query parameter shadowing a path one), no body where none
 * is expected (400/415), then the
 * route's handler — under its Idempotency-Key when the route replays keys
 * (api/idempotency.h). Each step either answers or lets the request go on;
 * the access line and the metrics are written for every request. */
#ifndef PVD_API_PIPELINE_H
#define PVD_API_PIPELINE_H

#include <ulfius.h>

#include "app.h"
#include "routes.h"

/* Checks each row of the route table (api/routes.h) — a non-public route
 * declares its action, only an authenticated POST replays Idempotency-Key,
 * only an authenticated GET is cached, no row is shadowed by an earlier one —
 * then registers pipeline_dispatch as ulfius' one endpoint, for every method
 * and path. False, with a log line naming the route, on the first failure. */
bool pipeline_register(struct _u_instance *instance, struct app *app);

/* ulfius callback of every request; user_data is the struct app. Routes the
 * request through the table (routes_match: GET rows also answer HEAD) and
 * the pipeline; a request no row serves gets its CORS preflight answer, 405
 * with Allow for a known path, else 404. Always U_CALLBACK_COMPLETE: every
 * outcome is answered. */
int pipeline_dispatch(const struct _u_request *req, struct _u_response *res, void *user_data);

#endif
