/* Storage of the programme parameters (issue #10 §1, domain/parametres.h):
 * versions with the date they take effect, never updated, so that a decision
 * keeps the parameters in force on its date. The first helper of issue #10
 * writes db/parametres_repository.c; the others read through this header.
 *
 * Representation (JSON, every money member in _centimes, rates in
 * ten-thousandths as integers): the one parametres_check (domain) points into
 * — see domain/parametres.h for its members. */
#ifndef PVD_DB_PARAMETRES_REPOSITORY_H
#define PVD_DB_PARAMETRES_REPOSITORY_H

#include <stdbool.h>

#include "../domain/date.h"
#include "../domain/parametres.h"
#include "mutation.h"
#include "pool.h"
#include "result.h"

/* The parameters in force on `date`: the version with the latest
 * date_effet ≤ date; when none is stored (a fresh database), the defaults of
 * parametres_defaut with *version 0. Works with any connection and
 * transaction state: a rule checked inside a writing transaction reads them
 * with that transaction's connection. DB_FAILED: a stored document that
 * does not parse (a bug). */
enum db_result parametres_en_vigueur(struct db_conn *conn, struct date date, struct parametres *out,
                                     long *version, struct db_error *err);

/* ---- The routes of /api/v1/parametres (issue #10 §1) --------------------
 * Storage: table parametres_versions (migration 0017), one row per version,
 * never updated. The document column holds the canonical JSON the API
 * renders from a struct that parametres_check accepted (api/parametres_json.h);
 * this module reads it back into a struct parametres with PostgreSQL's JSON
 * operators (members as text, parsed strictly here), so that the db layer
 * needs no JSON library and parametres_en_vigueur serves every caller. */

/* A version's metadata. For the defaults (nothing stored): version 0,
 * date_effet {0}, cree_par and cree_le "". */
struct parametres_version_info {
    long version;
    struct date date_effet;
    char cree_par[640]; /* the journal actor that created it */
    char cree_le[32];   /* UTC instant, "YYYY-MM-DDTHH:MM:SS.mmmZ" */
};

/* parametres_en_vigueur with the version's metadata (*info may not be
 * NULL). Same outcomes. */
enum db_result parametres_version_en_vigueur(struct db_conn *conn, struct date date,
                                             struct parametres *out,
                                             struct parametres_version_info *info,
                                             struct db_error *err);

/* Stored version `version` (≥ 1) into *out and *info: DB_OK, DB_NOT_FOUND
 * when there is none, DB_FAILED when its document does not parse (a bug). */
enum db_result parametres_version_lire(struct db_conn *conn, long version, struct parametres *out,
                                       struct parametres_version_info *info, struct db_error *err);

/* The parameters of version `version` as a rule reads them: the defaults
 * (parametres_defaut) for 0, else the stored version. For a rule that keeps
 * the version it was first checked with (a poste's funding year, migration
 * 0024). DB_FAILED: no such version (versions are never deleted: a bug) or
 * its document does not parse. */
enum db_result parametres_de_version(struct db_conn *conn, long version, struct parametres *out,
                                     struct db_error *err);

/* One keyset page of the stored versions by version number, after `after`
 * (0: from the first), at most limit: *json_out (owned, free()) a JSON array
 * of {"version", "date_effet", "cree_par", "cree_le"}, last the last
 * version's number as text ("" when empty), *more whether versions follow,
 * *total their number. */
enum db_result parametres_versions(struct db_conn *conn, long after, size_t limit, char **json_out,
                                   char last[24], bool *more, size_t *total, struct db_error *err);

/* The required pieces stored with version `version` (api/parametres_json.h:
 * "pieces_requises"), as JSON text in *json_out (owned, free()): "[]" for
 * version 0 (the defaults) and for a document without them. DB_NOT_FOUND:
 * no such version. */
enum db_result parametres_pieces_requises(struct db_conn *conn, long version, char **json_out,
                                          struct db_error *err);

/* A new version (borrowed fields). */
struct parametres_nouvelle {
    struct date date_effet;
    /* the canonical JSON object of a struct parametres that parametres_check
     * accepted (api/parametres_json.h: parametres_json_document), with its
     * "pieces_requises" */
    const char *document_json;
    /* the date "today" of the caller's read, and the version then in force
     * (0: the defaults), whose ETag the caller's If-Match matched */
    struct date aujourdhui;
    long version_lue;
};

/* Inserts version max + 1 under a table lock (one writer at a time; readers
 * are not blocked), creator tx's actor, and journals it ("parametres.modifier",
 * ressource "parametres", id the version number; avant the document in force
 * on date_effet before, apres the new one, each with its version and
 * date_effet). DB_STALE (nothing written) when the version in force on
 * n->aujourdhui is no longer n->version_lue. DB_OK: *out and *info are the
 * stored version as read back. */
enum db_result parametres_creer(struct db_tx *tx, const struct parametres_nouvelle *n,
                                struct parametres *out, struct parametres_version_info *info,
                                struct db_error *err);

#endif
