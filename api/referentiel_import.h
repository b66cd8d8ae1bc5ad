/* `pvd-api import-referentiel DIR MILLESIME`: loads the JSON files of the
 * npm package @etalab/decoupage-administratif (regions.json,
 * departements.json, communes.json, epci.json in DIR) into the database, in
 * one transaction. */
#ifndef PVD_API_REFERENTIEL_IMPORT_H
#define PVD_API_REFERENTIEL_IMPORT_H

#include <stddef.h>

#include "../db/pool.h"
#include "../domain/referentiel.h"

/* Parses the four files of dir into *ref (not yet indexed). On failure returns
 * false and writes into err a French sentence naming the file, the entry's
 * position and code, and the field at fault. ref is released on failure. */
bool referentiel_parse_dir(const char *dir, int millesime, struct referentiel *ref, char *err,
                           size_t err_size);

/* Parses, checks and stores. Returns the process exit status (0 success),
 * printing a summary (or the error) as log lines. `source` names the data
 * (package and version), recorded with the millésime. */
int referentiel_import_run(struct db_pool *pool, const char *dir, int millesime,
                           const char *source);

#endif
