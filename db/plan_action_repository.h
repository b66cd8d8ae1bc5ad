/* Storage of the plan d'action of a territoire (domain.md §1.8) and its
 * frozen versions. Writes take a struct db_tx (db/mutation.h), the
 * territoire's lock first (db/territoire_lock.h), and journal one row. */
#ifndef PVD_DB_PLAN_ACTION_REPOSITORY_H
#define PVD_DB_PLAN_ACTION_REPOSITORY_H

#include "mutation.h"
#include "pool.h"
#include "result.h"

/* ---- Plan d'action (§1.8) ------------------------------------------------ */

/* A territoire's plan: revision, current frozen version (0: never validated)
 * and its representation (plan_action_representation of 0012: id_pvd,
 * programme_global, perimetres, version, date_validation_comite,
 * nombre_fiches, cree_le, modifie_le). */
struct plan_action_row {
    char id_pvd[17];
    long revision;
    long version;
    char *json; /* owned; free with plan_action_row_release (safe on a zeroed row) */
};
void plan_action_row_release(struct plan_action_row *row);

/* The territoire's plan. A territoire whose plan row was never written has
 * an empty plan (revision 0, version 0) as long as the territoire exists.
 * DB_NOT_FOUND: no such territoire. */
enum db_result plan_action_get(struct db_conn *conn, const char *id_pvd,
                               struct plan_action_row *out, struct db_error *err);

/* Writes programme_global (string) and perimetres (array) when present in
 * body_json (absent: kept), the plan's revision being expected_revision (0
 * for a plan never written; < 0: not compared). Journal
 * "plan_action.modifier". DB_NOT_FOUND: no such territoire; DB_STALE. */
enum db_result plan_action_update(struct db_tx *tx, const char *id_pvd, long expected_revision,
                                  const char *body_json, struct plan_action_row *out,
                                  struct db_error *err);

/* Freezes the plan as its next version for comité décision decision_id: a
 * plan_action_versions row holding the plan's representation with every
 * fiche's (by numero) and date_validation_comite the décision's séance date;
 * plans_action.version + 1, revision + 1. Journal "plan_action.valider".
 * The décision must be a valide_plan of a séance of id_pvd's comité:
 * DB_CONFLICT otherwise, or when it already froze a version. DB_NOT_FOUND: no
 * such territoire. */
enum db_result plan_action_freeze(struct db_tx *tx, const char *id_pvd, const char *decision_id,
                                  struct plan_action_row *out, struct db_error *err);

#endif
