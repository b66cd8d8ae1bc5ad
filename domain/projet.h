/* Value checks of the projet de territoire and of its governance (domain.md
 * §1.7, §1.13): decimal strings of indicateurs and mesures, the dates of an
 * indicateur and of a mesure, a décision's convention. Pure: today's date and
 * the territoires to compare are passed in. R9 and R40 themselves are in
 * convention.h (convention_r9_check, comite_r40_check). */
#ifndef PVD_DOMAIN_PROJET_H
#define PVD_DOMAIN_PROJET_H

#include <stdbool.h>
#include <stddef.h>

#include "date.h"
#include "rules.h"

/* Integer digits and fractional digits a decimal string may carry. */
#define PROJET_DECIMAL_ENTIERS  15
#define PROJET_DECIMAL_FRACTION 6

/* A decimal string as api.md wants values exchanged ("12", "-3.5",
 * "0.125"): an optional '-', 1 to 15 digits, optionally '.' and 1 to 6
 * digits. No '+', exponent, spaces, comma, or leading/trailing dot. NULL:
 * false. */
bool projet_decimal_is_valid(const char *s);

/* §1.7: an indicateur's date_cible is not before its date_reference when
 * both are given: "date-cible-anterieure-reference" at /date_cible. Returns
 * the number of violations appended (0 or 1). */
size_t indicateur_dates_check(bool has_reference, struct date date_reference, bool has_cible,
                              struct date date_cible, struct rule_report *violations);

/* §1.7 (issue 4 §3): a mesure records an observed value, so its date is not
 * after today: "date-mesure-future" at /date. Returns 0 or 1. */
size_t indicateur_mesure_date_check(struct date date, struct date today,
                                    struct rule_report *violations);

/* §1.13: a décision that names a convention names one of the territoire of
 * its séance's comité: "convention-inconnue" at /convention_id when
 * convention_id_pvd is NULL (no such convention), "convention-autre-
 * territoire" when it differs from seance_id_pvd. Returns 0 or 1. */
size_t decision_convention_check(const char *convention_id_pvd, const char *seance_id_pvd,
                                 struct rule_report *violations);

#endif
