/* The referential served from memory: an immutable snapshot loaded from the
 * database, with every representation pre-rendered as JSON, swapped
 * atomically when the stored checksum changes. The referential changes once a
 * year; reads never touch the database. Thread-safe. */
#ifndef PVD_API_REFERENTIEL_STORE_H
#define PVD_API_REFERENTIEL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../db/pool.h"
#include "../domain/referentiel.h"
struct collection; /* query.h */

/* A pre-rendered representation: its bytes are piece a then piece b (b_len
 * 0: none), both inside the snapshot's text, where member names are coded
 * (read them with the functions below). Pieces are shared: a commune's
 * summary is the start of its detail, and the tail of a detail (its
 * département, région, EPCI and millésime) is stored once for every commune
 * that has the same. */
struct rendered {
    uint32_t a_off, a_len, b_off, b_len;
    uint64_t etag_hash; /* of the whole text: http_etag_format gives its ETag */
};

struct referentiel_snapshot {
    struct referentiel ref; /* indexed; the communes' codes_postaux are released once
                               rendered (codes_postaux_count 0): they live in the text */
    char checksum[65];
    char *text; /* the bytes of every representation, in one allocation, coded */
    /* Indexed like ref.communes / ref.epcis / ref.regions / ref.departements. */
    struct rendered *commune_resume, *commune_detail;
    struct rendered *epci_resume, *epci_detail;
    struct rendered *region, *departement;
};

/* The length of r's text. */
size_t rendered_len(const struct referentiel_snapshot *snap, const struct rendered *r);
/* Copies r's text into out (rendered_len(r) bytes, no NUL). */
void rendered_copy(const struct referentiel_snapshot *snap, const struct rendered *r, char *out);
/* Adds r's text to c as one element. */
void rendered_collection_add(const struct referentiel_snapshot *snap, const struct rendered *r,
                             struct collection *c);

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
