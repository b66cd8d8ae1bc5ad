/* The referential served from memory: an immutable snapshot loaded from the
 * database, with every representation pre-rendered as JSON, swapped
 * atomically when the stored checksum changes. The referential changes once a
 * year; reads never touch the database. Thread-safe. */
#ifndef PVD_API_REFERENTIEL_STORE_H
#define PVD_API_REFERENTIEL_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "../db/pool.h"
#include "../domain/referentiel.h"

struct rendered {
    char *json;
    size_t len;
    char etag[24]; /* quoted strong ETag of json */
};

struct referentiel_snapshot {
    struct referentiel ref; /* indexed */
    char checksum[65];
    /* Indexed like ref.communes / ref.epcis / ref.regions / ref.departements. */
    struct rendered *commune_resume, *commune_detail;
    struct rendered *epci_resume, *epci_detail;
    struct rendered *region, *departement;
};

struct referentiel_store;

struct referentiel_store *referentiel_store_new(void);
void referentiel_store_free(struct referentiel_store *store);

/* The current snapshot with a reference taken, or NULL when none is loaded.
 * Release with referentiel_snapshot_release. */
struct referentiel_snapshot *referentiel_store_acquire(struct referentiel_store *store);
void referentiel_snapshot_release(struct referentiel_store *store,
                                  struct referentiel_snapshot *snap);

/* Compares the stored checksum with the loaded one and, when it differs,
 * loads and indexes a new snapshot and swaps it in. *changed tells whether a
 * swap happened. DB_NOT_FOUND: nothing imported yet. Other errors leave the
 * current snapshot in place. err receives a French description. */
enum db_result referentiel_store_refresh(struct referentiel_store *store, struct db_pool *pool,
                                         bool *changed, char *err, size_t err_size);

#endif
