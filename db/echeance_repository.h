/* The automatic edge signee → echue of conventions-cadres (domain.md §2.2:
 * "en vigueur until date_fin; then echue"), applied by the service itself: by
 * `pvd-api echeances` (a cron job) and by the server at start and on each
 * PVD_REFERENTIEL_RELOAD_SECONDS tick. */
#ifndef PVD_DB_ECHEANCE_REPOSITORY_H
#define PVD_DB_ECHEANCE_REPOSITORY_H

#include <stddef.h>

#include "../domain/date.h"
#include "pool.h"
#include "result.h"

/* Moves every signed cadre whose date_fin is before today
 * (convention_echue) to `echue`, one transaction per convention, through the
 * path of every transition (convention_transition_checked: territoire lock,
 * state machine and convention_echue on the locked row, revision + 1, motif
 * "Échue : date de fin du … dépassée."), journaled as
 * "convention.transition" by the actor "systeme:echeances" with its
 * before/after representation and its territoire's scope. A convention that
 * changed meanwhile is left alone. *expired (may be NULL) gets the number
 * moved; at most 500 per call (the next call takes the rest). DB_OK, or the first failure (err
 * filled; those moved before it stay moved). Blocks for the round trips; thread-safe. */
enum db_result echeances_appliquer(struct db_pool *pool, struct date today, size_t *expired,
                                   struct db_error *err);

#endif
