/* Perimeters in request bodies and what they touch (see perimetre.c). */
#ifndef PVD_API_HANDLERS_PERIMETRE_H
#define PVD_API_HANDLERS_PERIMETRE_H

#include <jansson.h>
#include <stddef.h>

#include "../../domain/authz.h"
#include "../../domain/referentiel.h"
#include "../problem.h"

/* The role names in enum role order, NULL-terminated (JSON_FIELD_ENUM values). */
extern const char *const role_names_all[];

/* The départements and régions a perimeter touches, resolved through the
 * referential (R43: a commune's own département; an EPCI's members'). */
struct perimeter_scope {
    const char *departements[PERIMETER_MAX * 4 + 1];
    size_t departement_count;
    const char *regions[PERIMETER_MAX * 4 + 1];
    size_t region_count;
};

/* Fills *t with the départements and régions p touches: its own, the
 * départements of its régions, a commune's own département and an EPCI's
 * members' (R43). Strings borrowed from p and ref; lists NULL-terminated. */
void perimeter_scope_of(const struct perimeter *p, const struct referentiel *ref,
                        struct perimeter_scope *t);

/* Perimeter of a habilitation or client body (habilitations.c): the lists'
 * format (400 errors), then the rules of the role (422 errors). */
void habilitation_read_perimeter(const json_t *v, struct perimeter *p, struct field_errors *errs);
void habilitation_check_perimeter(enum role role, const struct perimeter *p,
                                  const struct referentiel *ref, struct field_errors *errs);

#endif
