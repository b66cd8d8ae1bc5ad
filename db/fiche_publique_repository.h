/* The open-data read of fiches action (issue #9 §1): the fiches their
 * collectivité marked `public`, in their public projection
 * (fiche_publique_representation of migration 0016: public fields only,
 * never a person's data), for the routes without a token
 * (/api/v1/public/fiches-action). Read only; a fiche that is not public is
 * not found here, exactly as one that does not exist. */
#ifndef PVD_DB_FICHE_PUBLIQUE_REPOSITORY_H
#define PVD_DB_FICHE_PUBLIQUE_REPOSITORY_H

#include <stdbool.h>
#include <stddef.h>

#include "pool.h"
#include "result.h"

/* The public projection of fiche `id` into *json_out (JSON object text,
 * owned, free()). DB_NOT_FOUND when no fiche has this id, it is not public,
 * or id is not a UUID (*json_out NULL then, as on any failure). */
enum db_result fiche_publique_get(struct db_pool *pool, const char *id, char **json_out,
                                  struct db_error *err);

/* List filters (SQL function fiches_publiques of 0016); NULL members do not
 * filter. The handler validated each: id_pvd a territoire id, departement
 * and region codes (matching the territoire's own or one of its communes'),
 * thematique, nature_depense and etat wire names, axe_id a UUID (a value of
 * another form is DB_FAILED: a bug of the caller). */
struct fiche_publique_filtre {
    const char *id_pvd;
    const char *departement;
    const char *region;
    const char *thematique;
    const char *nature_depense;
    const char *etat;
    const char *axe_id;
};

/* One keyset page of public fiches ordered by id, after `after` (a UUID, as
 * the handler decoded it from the cursor; NULL: first page), at most limit,
 * on one pooled connection. *json_out: JSON array text of projections
 * (owned, free(); NULL on failure); last_key: id of its last element (""
 * when empty); *more: whether more follow; *total: count of every page with
 * the same filters. */
enum db_result fiche_publique_list(struct db_pool *pool, const struct fiche_publique_filtre *f,
                                   const char *after, size_t limit, char **json_out,
                                   char last_key[37], bool *more, size_t *total,
                                   struct db_error *err);

#endif
