/* Journal reads (see journal_repository.h). */
#include "journal_repository.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "habilitation_repository.h"
#include "pgutil.h"

/* The entries a list shows, filtered by $1 … $10 (page and count). */
#define JOURNAL_LIST_FROM                                                                          \
    "FROM journal j WHERE ($1::bool OR j.departements && "                                         \
    "$2::text[] OR j.regions && $3::text[] OR j.sirens && $4::text[] OR j.territoires && "         \
    "$5::text[]) AND ($6::text IS NULL OR j.ressource_type = $6) AND ($7::text IS NULL OR "        \
    "j.ressource_id = $7) AND ($8::text IS NULL OR j.acteur = $8) AND ($9::timestamptz IS "        \
    "NULL OR j.instant >= $9::timestamptz) AND ($10::timestamptz IS NULL OR j.instant < "          \
    "$10::timestamptz) AND NOT ($11::bool AND j.ressource_type IN ('habilitation', 'client'))"

enum db_result journal_list(struct db_conn *conn, const struct journal_visibility *v,
                            const struct journal_filter *f, const char *before, size_t limit,
                            char **json_out, char last_id[24], bool *more, size_t *total,
                            struct db_error *err)
{
    char *deps = v->departements ? pg_code_array_literal(&v->departements->departements[0][0], 4,
                                                         v->departements->departement_count)
                                 : NULL;
    char *regs =
        v->regions ? pg_code_array_literal(&v->regions->regions[0][0], 4, v->regions->region_count)
                   : NULL;
    char *sirens = v->sirens
                       ? pg_code_array_literal(&v->sirens->sirens[0][0], 10, v->sirens->siren_count)
                       : NULL;
    char *terrs = v->territoires ? pg_code_array_literal(&v->territoires->territoires[0][0], 17,
                                                         v->territoires->territoire_count)
                                 : NULL;
    char limit_text[24];
    snprintf(limit_text, sizeof limit_text, "%zu", limit + 1);
    const char *params[13] = {v->all ? "t" : "f",
                              deps,
                              regs,
                              sirens,
                              terrs,
                              f->ressource_type,
                              f->ressource_id,
                              f->acteur,
                              f->du,
                              f->au,
                              v->sans_administration ? "t" : "f",
                              before,
                              limit_text};
    *json_out = NULL;
    last_id[0] = '\0';
    *more = false;
    PGresult *res = PQexecParams(
        conn->pg,
        "SELECT j.id::text, jsonb_build_object('id', j.id::text, 'instant', horodatage(j.instant), "
        "'acteur', j.acteur, 'acteur_issuer', j.acteur_issuer, 'acteur_subject', j.acteur_subject, "
        "'client_id', j.client_id, 'role', j.role, 'action', j.action, 'ressource_type', "
        "j.ressource_type, 'ressource_id', j.ressource_id, 'avant', j.avant, 'apres', j.apres, "
        "'request_id', j.request_id, 'departements', to_jsonb(j.departements), 'regions', "
        "to_jsonb(j.regions), 'sirens', to_jsonb(j.sirens), 'territoires', "
        "to_jsonb(j.territoires))::text " JOURNAL_LIST_FROM
        " AND ($12::bigint IS NULL OR j.id < $12::bigint) ORDER BY j.id DESC LIMIT $13::int",
        13, NULL, params, NULL, NULL, 0);
    enum db_result r = db_result_from_pg(conn, res, err);
    if (r == DB_OK && !pg_json_page(res, limit, json_out, last_id, 24, more))
        r = DB_FAILED;
    PQclear(res);
    if (r == DB_OK)
        r = pg_count(conn, "SELECT count(*) " JOURNAL_LIST_FROM, 11, params, total, err);
    free(deps);
    free(regs);
    free(sirens);
    free(terrs);
    return r;
}
