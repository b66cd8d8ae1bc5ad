/* The territoire lock: how a write whose rule reads other rows of a
 * territoire is serialized with the writes that could break that rule.
 *
 * Lock order (the whole codebase; a deadlock is retried by the runner, but
 * never relied on):
 *   1. the territoire row (territoire_lock, or the territoire PATCH's own
 *      FOR UPDATE of its row);
 *   2. the convention row (FOR UPDATE, its revision compared);
 *   3. the projet / comité object written (axe, indicateur, comité…,
 *      FOR UPDATE);
 *   4. rows merely inserted or deleted under them.
 * A transaction takes each lock at most in this order and keeps it until it
 * ends. Who takes the territoire lock: every convention write
 * (conventions.c, conventions_actions.c, the echue edge), every projet de
 * territoire and comité write (gouvernance.c), the territoire PATCH. */
#ifndef PVD_DB_TERRITOIRE_LOCK_H
#define PVD_DB_TERRITOIRE_LOCK_H

#include "mutation.h"
#include "result.h"

/* Locks territoire id_pvd's row until the end of tx (FOR NO KEY UPDATE: it
 * excludes the other territoire locks and the territoire PATCH, not the
 * inserts of rows referencing the territoire, whose foreign key takes KEY
 * SHARE). Blocks while another transaction holds it. DB_NOT_FOUND when there
 * is no such territoire, DB_OK, or the failure (err filled). */
enum db_result territoire_lock(struct db_tx *tx, const char *id_pvd, struct db_error *err);

#endif
