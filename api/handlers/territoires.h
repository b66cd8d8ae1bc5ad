/* Shared by the territoire handlers (territoires.c) and the bulk import
 * (territoires_import.c), implemented in territoires_common.c: the final representation and the
 * authorization target of a territoire whose content was checked by domain/territoire.h. */
#ifndef PVD_API_HANDLERS_TERRITOIRES_H
#define PVD_API_HANDLERS_TERRITOIRES_H

#include <jansson.h>
#include <stddef.h>

#include "../../db/mutation.h"
#include "../../domain/authz.h"
#include "../../domain/territoire.h"

/* The representation stored in the database (territoire_representation, a
 * JSON object) with `avertissements` (R2, from its communes' populations)
 * added: a new string (owned, free()). */
char *territoire_render(const char *stored_json);

/* Same, in place, on a parsed representation (borrowed). */
void territoire_add_avertissements(json_t *representation);

/* Authorization target and journal scope of a territoire from its resolved
 * content: départements and régions of its id_pvd and its communes (R43,
 * never its EPCIs'), its id_pvd, its communes' SIRENs and the SIRENs given
 * (its EPCIs'). Views point into `views`
 * and into `resolved`/`sirens`, which must outlive their use. */
struct territoire_views {
    const char *departements[TERRITOIRE_MAX_COMMUNES + 1];
    const char *regions[TERRITOIRE_MAX_COMMUNES + 1];
    const char *sirens[2 * TERRITOIRE_MAX_COMMUNES + TERRITOIRE_MAX_EPCIS + 1];
    const char *territoires[2];
};
struct authz_target territoire_target(const struct territoire_resolved *resolved,
                                      const char *id_pvd, const char *const *sirens,
                                      size_t siren_count, struct territoire_views *views);
struct journal_scope territoire_journal_scope(const struct territoire_views *views);

#endif
