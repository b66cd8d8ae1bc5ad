/* Storage of the plan d'action of a territoire (domain.md §1.8) and its
 * frozen versions. Writes take a struct db_tx (db/mutation.h), the
 * territoire's lock first (db/territoire_lock.h), and journal one row. */
#ifndef PVD_DB_PLAN_ACTION_REPOSITORY_H
#define PVD_DB_PLAN_ACTION_REPOSITORY_H

#include <stdbool.h>
#include <stddef.h>

#include "../domain/rules.h"
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

/* The communes named by the perimetres of body_json (a validated PATCH body:
 * perimetres, when present, is an array of objects whose `communes` is an
 * array of INSEE codes) that are not communes of territoire id_pvd
 * (territoire_communes): one "commune-hors-territoire" (regle "") at
 * /perimetres/<i>/communes/<j> each, appended to violations. Call it in the
 * plan's writing transaction after the territoire lock (the territoire PATCH,
 * which changes the communes, takes it too). DB_OK or the failure. */
enum db_result plan_action_perimetres_check(struct db_tx *tx, const char *id_pvd,
                                            const char *body_json, struct rule_report *violations,
                                            struct db_error *err);

/* One keyset page of territoire id_pvd's frozen versions by version, after
 * `after` (0: from the first), at most limit: each element {version,
 * decision_id, date_validation_comite, nombre_fiches, cree_par, cree_le}
 * (the plan itself is read with plan_action_version). *json_out: a JSON
 * array text (owned, free()); last: the version of its last element ("" when
 * empty); *more: whether versions follow; *total: their number. */
enum db_result plan_action_versions(struct db_conn *conn, const char *id_pvd, long after,
                                    size_t limit, char **json_out, char last[24], bool *more,
                                    size_t *total, struct db_error *err);

/* Frozen version `version` of id_pvd's plan: {version, decision_id,
 * date_validation_comite, cree_par, cree_le, plan} where plan is the
 * representation frozen by plan_action_freeze (fiches included). *json_out
 * owned (free()). DB_NOT_FOUND when there is no such version. */
enum db_result plan_action_version(struct db_conn *conn, const char *id_pvd, long version,
                                   char **json_out, struct db_error *err);

/* A décision's representation just inserted in tx (decision_insert): when
 * its type is valide_plan, plan_action_freeze of territoire id_pvd for it, in
 * the same transaction (its failure fails the décision's creation);
 * otherwise nothing. DB_OK or plan_action_freeze's failure. */
enum db_result plan_action_freeze_if_valide_plan(struct db_tx *tx, const char *id_pvd,
                                                 const char *decision_id, struct db_error *err);

#endif
