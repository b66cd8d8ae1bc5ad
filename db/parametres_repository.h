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
enum db_result parametres_en_vigueur(struct db_conn *conn, struct date date,
                                     struct parametres *out, long *version,
                                     struct db_error *err);

#endif
