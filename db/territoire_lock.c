/* The territoire lock (see territoire_lock.h). */
#include "territoire_lock.h"

#include <libpq-fe.h>

#include "pgutil.h"

enum db_result territoire_lock(struct db_tx *tx, const char *id_pvd, struct db_error *err)
{
    const char *params[1] = {id_pvd};
    PGresult *res = NULL;
    enum db_result r =
        pg_exec_first_row(tx->conn, "SELECT 1 FROM territoires WHERE id_pvd = $1 FOR NO KEY UPDATE",
                          1, params, &res, err);
    PQclear(res);
    return r;
}
