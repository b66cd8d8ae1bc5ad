/* Storage of the geographic referential: full replacement (import) and full
 * read (the API serves the referential from memory). */
#ifndef PVD_DB_REFERENTIEL_REPOSITORY_H
#define PVD_DB_REFERENTIEL_REPOSITORY_H

#include "../domain/referentiel.h"
#include "pool.h"
#include "result.h"

struct referentiel_counts {
    long inserted;
    long updated;
    long deleted;
};

/* Makes the stored referential equal to *ref (indexed), inside the caller's
 * transaction on conn: rows are inserted, updated only when they differ, and
 * deleted when absent, table by table, so loading the same data twice changes
 * nothing (counts all zero). Records millesime, source and checksum. */
enum db_result referentiel_repository_replace(struct db_conn *conn, const struct referentiel *ref,
                                              const char *source, const char *checksum,
                                              struct referentiel_counts *counts,
                                              struct db_error *err);

/* The stored checksum into out (65 bytes); DB_NOT_FOUND when nothing is loaded. */
enum db_result referentiel_repository_checksum(struct db_conn *conn, char out[65],
                                               struct db_error *err);

/* Reads the stored referential (communes-actuelles only) into *ref, which the
 * caller then indexes and releases with referentiel_release; *checksum_out
 * (65 bytes) receives the checksum. DB_NOT_FOUND when nothing is loaded. */
enum db_result referentiel_repository_load(struct db_conn *conn, struct referentiel *ref,
                                           char checksum_out[65], struct db_error *err);

#endif
