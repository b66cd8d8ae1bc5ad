/* The migrations and the OpenAPI document compiled into the binary
 * (generated at build time from the SQL files of db/migrations and from
 * build/openapi.json, the bundle of openapi/openapi.yaml and the files it includes). */
#ifndef PVD_API_MIGRATIONS_H
#define PVD_API_MIGRATIONS_H

#include <stddef.h>

#include "../db/migrate.h"

/* The embedded migrations, sorted by version. Static storage. */
const struct migration *migrations_embedded(size_t *count);

/* The OpenAPI contract as JSON. Static storage. */
const char *openapi_embedded(size_t *len);

#endif
